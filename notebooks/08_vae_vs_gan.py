# %% [markdown]
# # 08 — VAE versus GAN (Q3.1)
#
# Two generative models of the same images: the VAE of notebook 05 and the GAN of notebook 07.
# Both turn Gaussian noise into images, but they are trained for different things, they can
# answer different questions, and their samples differ in characteristic ways. This notebook
# puts them side by side and **measures** the difference instead of only looking at it.
#
# **You will learn**
#
# - what each model optimises and what each can evaluate (a likelihood bound; none);
# - to compare sample quality with a Fréchet distance on the features of a classifier trained on
#   the same data, next to the real-vs-real floor — GANs are not "only judged by eye";
# - to check mode coverage with the class histogram of the samples;
# - why discrete data are hard for a GAN and discrete latent variables hard for a VAE, with a
#   numerical look at each.
#
# **Question**
#
# - **Q3.1** Compare the VAE and the GAN: what does each optimise, what can each evaluate, how
#   good are their samples (measured, not only by eye), and how would each cope with discrete data
#   or a discrete latent space?

# %% [markdown]
# ## Setup
# The models are the ones notebooks 05 (the z = 20 VAE) and 07 (the GAN) trained: the settings
# live in `course_utils.course.runs` (`vae_config`, `vae_data`, `gan_config`), so the engines'
# training functions find them in the checkpoint cache and nothing is trained again (run 05 and 07
# first; otherwise they are trained here, which takes as long as there). The evaluation
# classifier is `course_utils.evaluation`'s, trained once and cached (notebook 07 already used it).

# %%
import inspect

import matplotlib.pyplot as plt
import torch

from course_utils import evaluation
from course_utils.core import get_device, load_data, quick_mode, seed_everything, show_grid
from course_utils.course import classifier_config, gan_config, n_eval, record, vae_config, vae_data
from course_utils.evaluation import (
    categorical_latent_gradients,
    class_distance,
    coverage_figure,
    frechet_distance,
    frechet_distance_gaussians,
    gradient_through_rounding,
    model_samples,
    per_image_elbo,
    score_models,
    scores_figure,
    scores_table,
    side_by_side_figure,
    train_classifier,
)
from course_utils.gan import train_gan
from course_utils.vae import elbo, evaluation_images, train_vae

seed_everything(0)
data = load_data(pixels="gray")
print(data, "| device:", get_device(), "| quick mode:", quick_mode())

# %%
vae, vae_history = train_vae(vae_config(), vae_data(load_data(data.name, pixels="dynamic", verbose=False)))
generator, discriminator, gan_history = train_gan(gan_config(), data)
print(f"VAE: z = {vae.config.z_dim}, {len(vae_history)} epochs | GAN: z = {generator.latent_dim}, "
      f"{len(gan_history)} epochs")

# %% [markdown]
# ## Samples side by side
#
# The VAE's samples are the decoder's Bernoulli means `f(z)` for `z ~ N(0, I)` (what figures
# usually show; a binary draw from them would add salt-and-pepper noise); the GAN's are `G(z)`
# mapped from [−1, 1] to [0, 1]. Both from the same seed, both in [0, 1] like the data.

# %%
samples = model_samples(vae, generator, n_eval())
fig = side_by_side_figure(samples, data.test.images)
plt.show()

# %% [markdown]
# What to look at: the VAE's samples are smooth and blurry — averages over what the decoder is
# unsure about — while the GAN's have crisper outlines but a speckled, high-contrast texture.
# Which is "better" is hard to say by eye: the rest of this notebook measures it.
#
# ## What each model optimises
#
# - The **VAE** maximises the ELBO, a **lower bound on the log-likelihood** `log p(x)` of the
#   training images (notebook 04). Its decoder defines a density `p(x|z)`, so the model assigns a
#   (bounded) probability to *every* image, real or not, and it has an encoder `q(z|x)` from images
#   back to latent codes.
# - The **GAN** plays the minimax game of notebook 06. With an optimal discriminator the generator
#   minimises `−log 4 + 2 JSD(p_data, p_g)`: a divergence between distributions estimated only
#   through a classifier. `p_g` is defined implicitly by sampling `G(z)`; there is **no density**
#   to evaluate and no encoder. `D(x)` is not a density either: at the optimum it is 1/2 everywhere.
#
# A consequence you can compute: the VAE scores any given image. The test ELBO, and the test
# images it finds most and least likely:

# %%
x_test = evaluation_images(data.test, binarize=True, n=n_eval())
test_elbo = elbo(vae, x_test)
print(f"VAE test ELBO on {len(x_test)} binarized test images: {test_elbo['elbo']:.2f} nats per image "
      f"(reconstruction {test_elbo['reconstruction']:.2f}, KL {test_elbo['regularization']:.2f})")
record("VAE test ELBO (notebook 08 images)", test_elbo["elbo"], "nats")
image_elbo = per_image_elbo(vae, x_test[:2000])
order = image_elbo.argsort()
fig, axes = plt.subplots(1, 2, figsize=(11, 1.9))
show_grid(data.test.images[order[-8:]], nrow=8, ax=axes[0],
          title=f"highest ELBO: {image_elbo[order[-1]]:.0f} ... {image_elbo[order[-8]]:.0f} nats")
show_grid(data.test.images[order[:8]], nrow=8, ax=axes[1],
          title=f"lowest ELBO: {image_elbo[order[0]]:.0f} ... {image_elbo[order[7]]:.0f} nats")
fig.suptitle("Test images the VAE finds most and least likely (ELBO, 10 samples of z each)")
fig.tight_layout()
plt.show()

# %% [markdown]
# Simple, sparse images (few ink pixels) get the highest bound, large detailed ones the lowest —
# a likelihood counts bits, not quality. The GAN has no counterpart: it cannot say how likely an
# image is, cannot detect an outlier by likelihood, and cannot be compared with other likelihood
# models by `log p(x)`. What it *can* do, like the VAE, is sample — so compare the samples.
#
# ## Measuring sample quality: the Fréchet distance
#
# "GANs can only be judged by eye" is outdated. The standard measure (FID) fits a Gaussian to the
# features of real images and one to the features of generated images, and computes the Fréchet
# distance between the two Gaussians:
#
# $$\mathrm{FD} = \lVert\mu_r - \mu_g\rVert^2 + \mathrm{tr}\,\Sigma_r + \mathrm{tr}\,\Sigma_g
#   - 2\,\mathrm{tr}\big(\Sigma_r^{1/2}\Sigma_g\Sigma_r^{1/2}\big)^{1/2}.$$
#
# FID uses an ImageNet network's features; for 28×28 images the course uses the penultimate layer of
# a small CNN trained on the same data (`course_utils.evaluation.Classifier`). Lower is better, and
# 0 only for identical statistics. A quick check of the formula on two Gaussians whose distance is
# known: for diagonal covariances it reduces to `Σ (μ_r − μ_g)² + Σ (σ_r − σ_g)²`:

# %%
print(inspect.getsource(frechet_distance_gaussians))

# %%
# NBVAL_CHECK_OUTPUT
mu_a, sd_a = torch.tensor([0.0, 1.0, -2.0], dtype=torch.float64), torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)
mu_b, sd_b = torch.tensor([0.5, 1.0, 0.0], dtype=torch.float64), torch.tensor([1.0, 1.0, 1.5], dtype=torch.float64)
by_formula = frechet_distance_gaussians(mu_a, torch.diag(sd_a**2), mu_b, torch.diag(sd_b**2))
by_hand = ((mu_a - mu_b) ** 2).sum() + ((sd_a - sd_b) ** 2).sum()
print(f"Fréchet distance: {by_formula:.6f} | by hand: {by_hand:.6f}")
g = torch.Generator().manual_seed(0)
sample_a = mu_a + sd_a * torch.randn(20000, 3, generator=g, dtype=torch.float64)
sample_b = mu_b + sd_b * torch.randn(20000, 3, generator=g, dtype=torch.float64)
print(f"from 20 000 samples of each: {frechet_distance(sample_a, sample_b):.3f}")
print(f"two samples of the same Gaussian: {frechet_distance(sample_a[:10000], sample_a[10000:]):.3f}")

# %% [markdown]
# The last line is the important caveat: two *samples* of the same distribution have a Fréchet
# distance above 0 — the estimate is biased upwards, and the bias depends on the number of samples.
# So a model's score means something only next to the **floor**: the distance between two sets of
# real images of the same size (here held-out training images against the test set).
#
# **The classifier.** Trained on the same data (its test accuracy is printed); its 128-dimensional
# penultimate layer is the feature space.

# %%
classifier = train_classifier(data, classifier_config())
record("evaluation classifier test accuracy", classifier.test_accuracy)
print(f"classifier test accuracy: {classifier.test_accuracy:.3f}")

# %% [markdown]
# **The scores.** Each model's samples against the test images, the floor, and — as a reference
# row — held-out real images scored exactly like the models (with as many images as samples):

# %%
scores = score_models(samples, data, classifier)
print(f"{n_eval()} samples per model, features of the course's classifier\n")
print(scores_table(scores))
record("VAE Fréchet distance (classifier features)", scores["VAE"]["fd"])
record("GAN Fréchet distance (classifier features)", scores["GAN"]["fd"])
record("Fréchet distance floor (real vs real)", scores["GAN"]["fd_real_floor"])
record("VAE classes covered", scores["VAE"]["classes_covered"], "of 10")
record("GAN classes covered", scores["GAN"]["classes_covered"], "of 10")
fig = scores_figure(scores)
plt.show()

# %% [markdown]
# Read the table: the lower a model's distance, the closer its samples' feature statistics are to
# real images'; the floor is what a perfect sampler would score with this many samples. In the
# course's full-mode run on Fashion-MNIST the GAN scores about 141 and the VAE about 325, against a
# floor below 1: the GAN's samples are measurably closer to the data than the VAE's blurry means,
# and both are far from real. (In quick mode both models are barely trained and the numbers mean
# little.)
#
# **Is the score measuring anything?** Damage real images a little and the distance must grow:

# %%
real = data.val.images[: min(n_eval(), 2000)]
base = frechet_distance(classifier.features(real), evaluation.reference_features(classifier, data))
print(f"held-out real images ({len(real)})   : {base:7.2f}")
for kind, strength in [("noise", 0.1), ("noise", 0.3), ("blur", 1.0)]:
    damaged = evaluation.corrupt(real, kind, strength)
    fd = frechet_distance(classifier.features(damaged), evaluation.reference_features(classifier, data))
    print(f"same, {kind} {strength:<4}            : {fd:7.2f}")

# %% [markdown]
# ## Mode coverage
#
# A model can have sharp samples and still miss part of the data — a GAN that only produces a few
# classes can fool a discriminator that looks at one image at a time. The classifier assigns each
# sample a class; the histogram shows how the samples spread over the 10 classes, next to real images:

# %%
fig = coverage_figure(scores, data.class_names)
plt.show()
reference = scores["real (held out)"]["class_histogram"]
for name, s in scores.items():
    print(f"{name:<16} {s['classes_covered']}/10 classes with at least 1% of the samples; largest class share "
          f"{max(s['class_histogram']) / s['n_samples']:.2f}; total variation to the real class mix "
          f"{class_distance(s['class_histogram'], reference):.2f}")

# %% [markdown]
# What to look at: bars far above 1/10 mean over-produced classes, bars near 0 dropped modes; the
# total variation distance summarises the mismatch (0: the real class mix, 1: no class in common).
# The VAE's objective, a likelihood bound, punishes missing any training image heavily (its
# `log p(x)` would be very negative there), so it is pushed to spread over all classes — at the
# price of blur. The GAN's generator is only punished for fakes the discriminator can spot, not for
# what it never produces, so GANs are prone to **mode dropping**. In the course's full-mode run both
# models put at least 1% of their samples in every class, but neither reproduces the real class mix:
# each over-produces some classes and under-produces others. (Caveat: the classifier's verdict on a
# blurry or speckled sample is itself uncertain — e.g. "shirt" against "pullover".)
#
# ## Discrete data and discrete latents
#
# **A GAN with discrete data** (text, binary images): the generator's output would have to be
# discrete — rounded, or sampled. The discriminator's gradient must flow back *through* the
# generated sample into G's weights, and rounding or sampling is piecewise constant: its gradient
# is zero. A tiny generator of 8 pixel probabilities, scored by a fixed linear "discriminator":

# %%
print(inspect.getsource(gradient_through_rounding))

# %%
# NBVAL_CHECK_OUTPUT
for output, norm in gradient_through_rounding(seed=0).items():
    print(f"G outputs {output:<28}: |d score / d weights| = {norm:.4f}")

# %% [markdown]
# With discrete outputs the generator receives no signal at all. (Workarounds exist — the
# score-function/REINFORCE estimator as in SeqGAN, or Gumbel-softmax relaxations — and this course's
# GAN sidesteps the problem by generating gray values in [−1, 1].) The **VAE** has no such problem:
# the data are observed, never generated inside the loss, and the decoder simply defines a
# distribution over discrete values — the VAE of notebook 05 models *binary* images with Bernoulli
# pixels.
#
# **A VAE with a discrete latent** (e.g. a categorical z): the ELBO needs
# `∇_φ E_{q_φ(z|x)}[·]`, and the reparameterization `z = μ + σ ⊙ ε` exists only for continuous z. A
# categorical sample is an integer with no path back to the encoder's logits. The options, on a toy
# objective `E_{k ~ Cat(softmax(logits))}[f(k)]` with `f = (0, 1, 4, 9)` where the exact gradient
# is known: the score-function estimator (unbiased but noisy) and the Gumbel-softmax relaxation
# (a continuous "soft one-hot" sample at temperature 0.5: low variance but biased).

# %%
# NBVAL_CHECK_OUTPUT
r = categorical_latent_gradients(n_samples=20000, temperature=0.5, seed=0)
fmt = lambda v: " ".join(f"{x:7.3f}" for x in v)  # noqa: E731
print(f"exact gradient                 : {fmt(r['exact'])}")
print(f"score function, mean of 20 000 : {fmt(r['reinforce_mean'])}   (per-sample std {fmt(r['reinforce_std'])})")
print(f"Gumbel-softmax, mean of 20 000 : {fmt(r['gumbel_mean'])}   (per-sample std {fmt(r['gumbel_std'])})")

# %% [markdown]
# The score-function average matches the exact gradient but each single estimate is noisy; the
# Gumbel-softmax estimates are steadier but their average is off (biased). A **GAN** has no
# problem with a discrete latent: z is only an input to G, never differentiated with respect to
# anything (conditional GANs feed one-hot class labels this way).
#
# <details><summary><b>Worked answer (Q3.1)</b></summary>
#
# **What they optimise.** The VAE maximises the ELBO, a lower bound on the log-likelihood of the
# data: an explicit probabilistic model `p(x|z)p(z)` with an approximate posterior `q(z|x)`. The GAN
# trains a generator against a discriminator in a minimax game; with an optimal discriminator this
# minimises the Jensen–Shannon divergence between `p_data` and the implicit `p_g` (notebook 06).
#
# **What they can evaluate.** The VAE gives a bound on (and, with importance sampling, an estimate
# of) `log p(x)` for any image, and an encoder from images to latent codes. The GAN gives neither: no
# likelihood, no inference of z from x; only samples (and a discriminator that is not a density).
#
# **Samples, measured.** GAN samples have crisp outlines, VAE samples (decoder means) are blurry,
# because the VAE's pixel-wise likelihood rewards hedging and the discriminator punishes blur. This
# is measurable rather than a matter of taste: the Fréchet distance on the features of a classifier
# trained on the same data, always next to the real-vs-real floor (in the full-mode run on
# Fashion-MNIST: GAN ≈ 141, VAE ≈ 325, floor ≈ 0.8 — the GAN is closer to the data, both are far
# from real). Mode coverage is measured with the same classifier's class histogram: the
# likelihood objective pushes the VAE to cover every class, while a GAN is prone to dropping modes;
# in this run both cover all 10 classes, each with an uneven mix.
#
# **Discrete data.** Hard for a GAN: gradients must pass from D through the generated sample into G,
# and a discrete sample (rounded or sampled) has zero gradient — workarounds are REINFORCE or
# continuous relaxations. Easy for a VAE: the decoder just defines a discrete likelihood (Bernoulli
# pixels here).
#
# **Discrete latents.** Hard for a VAE: the reparameterization trick needs a continuous z; with a
# categorical z one needs the high-variance score-function estimator, a biased relaxation
# (Gumbel-softmax) or exact summation over a small number of states. Easy for a GAN: z is only an
# input to G.
#
# **When to choose which.** The VAE when likelihoods, an encoder/representation or full coverage
# matter (density estimation, anomaly detection, compression); the GAN when sample sharpness matters
# most and a likelihood is not needed.
# </details>

# %% [markdown]
# ## Summary
#
# - VAE: explicit likelihood bound, an encoder, full coverage, blurry samples. GAN: implicit model,
#   sharp samples, no likelihood, prone to dropping modes.
# - Sample quality is measured, not eyeballed: Fréchet distance on the course classifier's features,
#   always next to the real-vs-real floor (the estimate is biased by the sample size), and class
#   coverage from the same classifier.
# - Discrete data break the GAN's gradient path; discrete latents break the VAE's reparameterization.
