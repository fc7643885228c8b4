# %% [markdown]
# # 08 — VAE versus GAN (Q3.1)
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dgm-course/deep-generative-models/blob/main/notebooks/08_vae_vs_gan.ipynb)
# [![Launch on Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/dgm-course/deep-generative-models/main?urlpath=lab/tree/notebooks/08_vae_vs_gan.ipynb)
# · [read it with all outputs on the course website](https://dgm-course.github.io/deep-generative-models/notebooks/08_vae_vs_gan.html)
#
# Two generative models of the same images: the VAE of notebook 05 and the GAN of notebook 07.
# Both turn Gaussian noise into images, but they are trained for different things, they can
# answer different questions, and their samples differ in characteristic ways. This notebook
# puts them side by side and **measures** the difference instead of only looking at it.
#
# **You will learn**
#
# - what each model optimises and what each can evaluate;
# - to compare sample quality with a Fréchet distance on the features of a classifier trained on
#   the same data, next to a real-vs-real floor computed with as many images — and to write that
#   distance yourself;
# - why a score needs several seeds, and how the distance's bias depends on the number of samples
#   (FD against 1/n, FD∞);
# - to measure coverage with precision and recall in feature space, beside the class histogram;
# - to check samples for memorisation with their nearest training images;
# - why discrete data are hard for a GAN and discrete latent variables hard for a VAE, with a
#   numerical look at each.
#
# **Question**
#
# - **Q3.1** Compare the VAE and the GAN: what does each optimise, what can each evaluate, how
#   good are their samples (measured, not only by eye), and how would each cope with discrete data
#   or a discrete latent space?
#
# The question is taken apart in five steps below, each with a prompt to answer first; the
# worked answers are collapsed. Rough times: objectives 10 min, the Fréchet distance and its
# exercise 20 min, seeds and sample size 10 min, coverage 10 min, memorisation 5 min, discrete data
# and latents 15 min.

# %%
# Google Colab only (elsewhere this cell does nothing): fetch the course, install it, enable its sliders.
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    COURSE_DIR = "/content/deep-generative-models"
    if not os.path.isdir(COURSE_DIR):
        subprocess.run(["git", "clone", "--quiet", "--depth=1", "--branch=main",
                        "https://github.com/dgm-course/deep-generative-models.git", COURSE_DIR], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--editable", COURSE_DIR], check=True)
    sys.path.insert(0, COURSE_DIR)
    from course_utils.course.colab import setup_colab

    setup_colab(COURSE_DIR)

# %% [markdown]
# ## Setup
# The models are the runs of notebooks 05 (the z = 20 VAE) and 07 (the GAN): the settings live in
# `course_utils.course.runs` (`vae_config`, `vae_data`, `gan_config`). In full mode on Fashion-MNIST the
# course's reference models of those runs are loaded (one line says what each is), the ones 05 and 07
# load. To compare models you trained yourself, set `TRAIN_HERE = True` here *and* in 05 and 07 and run
# those first: the training functions then find them in the checkpoint cache (otherwise they are
# trained here, which takes as long as there). On MNIST there are no reference models: the models 05
# and 07 trained are found in the cache. The evaluation classifier is `course_utils.evaluation`'s, the
# one notebook 07 used: in full mode on Fashion-MNIST the shipped one, with `TRAIN_HERE = True` too (it is
# the yardstick, not a model compared; a classifier trained with `train_classifier(..., train_here=True)`
# is used only where it is passed in).
# Numbers measured over several seeds come from `benchmarks/results/seeds.json`
# (`course_utils.course.results`), which `benchmarks/seeds.py` writes, on Fashion-MNIST: the
# course's default data set. On MNIST (`COURSE_DATASET=mnist`) they are not printed beside your run.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.stats import chi2

from course_utils import evaluation
from course_utils.core import (
    get_device,
    load_data,
    pick,
    quick_mode,
    seed_everything,
    set_threads,
    show_grid,
    use_reference_models,
)
from course_utils.course import classifier_config, gan_config, n_eval, record, results, vae_config, vae_data
from course_utils.evaluation import (
    categorical_latent_gradients,
    coverage_figure,
    fd_against_n,
    frechet_distance,
    frechet_distance_gaussians,
    gradient_through_rounding,
    model_samples,
    near_copies,
    neighbours_figure,
    per_image_elbo,
    reference_features,
    score_models,
    scores_figure,
    scores_table,
    side_by_side_figure,
    train_classifier,
    training_neighbours,
)
from course_utils.exercises import check_frechet_distance
from course_utils.gan import train_gan
from course_utils.vae import elbo, evaluation_images, train_vae

TRAIN_HERE = False  # True (then re-run this cell): use the VAE and GAN trained here; in full mode on Fashion-MNIST
# the shipped classifier still loads (quick mode and MNIST use the one 07 trained)
use_reference_models(not TRAIN_HERE)  # this kernel only; COURSE_TRAIN_HERE=1 in the environment: every notebook
set_threads()
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
# **Predict first:** which model's samples will look sharper, and which will look more varied?

# %%
samples = model_samples(vae, generator, n_eval())
fig = side_by_side_figure(samples, data.test.images)
plt.show()

# %% [markdown]
# Which is "better" is hard to say by eye; the rest of this notebook measures it.
#
# ## 1. What each model optimises, and what each can evaluate (about 10 minutes)
#
# **Answer first.** Write down the objective each model is trained with (notebooks 04–07). Which
# of the two can tell you how likely a given image is? Which has a way back from an image to a
# latent code? For the GAN, be precise: *which* divergence does the course's GAN minimise, given
# that its generator uses the non-saturating loss of notebook 06?
#
# One consequence you can compute: the VAE scores any given image. The test ELBO, and the test
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
show_grid(data.test.take(order[-8:]), nrow=8, ax=axes[0],
          title=f"highest ELBO: {image_elbo[order[-1]]:.0f} ... {image_elbo[order[-8]]:.0f} nats")
show_grid(data.test.take(order[:8]), nrow=8, ax=axes[1],
          title=f"lowest ELBO: {image_elbo[order[0]]:.0f} ... {image_elbo[order[7]]:.0f} nats")
fig.suptitle("Test images the VAE finds most and least likely (ELBO, 10 samples of z each)")
fig.tight_layout()
plt.show()
ink = data.test.subset(len(image_elbo)).images.sum(1)  # the images x_test was binarized from, in order
corr = np.corrcoef(ink.numpy(), image_elbo.numpy())[0, 1]
print(f"correlation between an image's total ink (sum of pixel values) and its ELBO: {corr:.2f}")

# %% [markdown]
# <details><summary><b>Worked answer: objectives and what each can evaluate</b></summary>
#
# - The **VAE** maximises the ELBO, a **lower bound on the log-likelihood** `log p(x)` of the
#   training images (notebook 04). Its decoder defines a density `p(x|z)`, so the model assigns a
#   (bounded) probability to *every* image, real or not — the figure above ranks test images by it,
#   and the printed correlation says how much of that ranking is the amount of ink (a likelihood
#   counts bits, not quality) — and it has an encoder `q(z|x)` from images back to latent codes.
# - The **GAN** plays the game of notebook 06. For the *minimax* loss, an optimal discriminator
#   turns the generator's objective into `−log 4 + 2 JSD(p_data, p_g)`. The course's GAN trains its
#   generator with the **non-saturating** loss instead; with D\* held fixed its gradient is that of
#   `KL(p_g ‖ p_data) − 2 JSD` (Arjovsky & Bottou 2017; notebook 06), a mode-seeking objective, and
#   the game is no longer zero-sum. Either way the divergence is estimated only through a classifier
#   that is trained alongside, never optimal. `p_g` is defined implicitly by sampling `G(z)`: there is
#   **no density** to evaluate and no encoder. `D(x)` is not a density either (at the optimum it is
#   1/2 everywhere).
# - So the VAE can score images (likelihood comparisons with other models, bits per dimension); the
#   GAN cannot say how likely an image is. What both can do is sample — so compare the samples.
# - A caveat before using that score for **outlier or anomaly detection**: a high likelihood does
#   not mean "looks like the training data". Likelihood-based detection of out-of-distribution images
#   is known to fail, and the canonical example is this course's pair of data sets: Nalisnick et al.
#   (2019) found deep generative models, VAEs among them, trained on Fashion-MNIST giving MNIST's
#   test images a *higher* likelihood than Fashion-MNIST's own. The correlation with ink printed
#   above shows part of the reason: a likelihood counts bits, and how many an image costs depends on
#   its simplicity as well as on its kind.
# </details>

# %% [markdown]
# ## 2. Measuring sample quality: the Fréchet distance (about 20 minutes)
#
# "GANs can only be judged by eye" is outdated. The standard measure (FID, Heusel et al. 2017)
# fits a Gaussian to the features of real images and one to the features of generated images, and
# computes the Fréchet distance between the two Gaussians — the **squared** 2-Wasserstein distance
# W2² between them (a squared metric, not a metric: W2, its square root, is the metric):
#
# $$\mathrm{FD} = \lVert\mu_r - \mu_g\rVert^2 + \mathrm{tr}\,\Sigma_r + \mathrm{tr}\,\Sigma_g
#   - 2\,\mathrm{tr}\Big[\big(\Sigma_r^{1/2}\,\Sigma_g\,\Sigma_r^{1/2}\big)^{1/2}\Big].$$
#
# The last term is the trace of a *matrix* square root. FID uses an ImageNet network's features;
# for 28×28 images the course uses the penultimate layer of a small CNN trained on the same data
# (`course_utils.evaluation.Classifier`). Lower is better, and 0 only for identical statistics.
#
# ### Exercise — the Fréchet distance between two feature sets
#
# Write the distance between two feature sets of shape (N, d): each set's Gaussian has the set's
# mean and its **unbiased** covariance (divide by N − 1). `scipy.linalg.sqrtm` and
# `torch.linalg.eigvalsh` are fair game. The check names the usual slips: the square root of the
# trace instead of the trace of the matrix square root, an elementwise square root, biased
# covariances, covariances of the wrong shape.

# %%
def my_frechet_distance(feats_a, feats_b):
    """Fréchet distance between the Gaussians (mean, unbiased covariance) of two feature sets (N, d): a float."""
    ### BEGIN SOLUTION
    import scipy.linalg

    mu_a, mu_b = feats_a.mean(0), feats_b.mean(0)
    cov_a, cov_b = torch.cov(feats_a.T), torch.cov(feats_b.T)
    cross = scipy.linalg.sqrtm((cov_a @ cov_b).numpy()).real.trace()
    return float(((mu_a - mu_b) ** 2).sum() + cov_a.trace() + cov_b.trace() - 2 * cross)
    ### END SOLUTION

# %%
# Autograded check: 2 points
# NBVAL_CHECK_OUTPUT
check_frechet_distance(my_frechet_distance)

# %% [markdown]
# The course's version computes the cross term from a symmetric eigenproblem (the eigenvalues of
# `Σ_a^{1/2} Σ_b Σ_a^{1/2}` equal those of `Σ_a Σ_b`). A check on two Gaussians whose distance is
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
# The last line is the caveat: two *samples* of one distribution have a Fréchet distance above 0 —
# the estimate is biased upwards, and the bias depends on the number of samples. So a model's
# score means something only next to a **floor computed with as many samples**: here the distance
# between that many held-out real images and the test set, scored exactly like a model.
#
# **The classifier.** Trained on the same data (its test accuracy is printed); its 128-dimensional
# penultimate layer is the feature space.

# %%
classifier = train_classifier(data, classifier_config())
record("evaluation classifier test accuracy", classifier.test_accuracy)
print(f"classifier test accuracy: {classifier.test_accuracy:.3f}")

# %% [markdown]
# **The scores.** Each model's samples against the test images, and — as the reference row —
# held-out real images scored exactly like the models, with as many images as samples: its
# distance *is* the floor at this n. Precision and recall are explained in section 4; the class TV
# is the total variation between the samples' class histogram and that of the test images.
#
# **Predict first:** which model will have the lower distance? Will either come near the floor?
# And, for the two columns section 4 explains: which model will have the higher **precision** (the
# share of its samples that land among real images' features: do samples look real?), and which the
# higher **recall** (the share of real images that its samples reach: is all of the data covered)?

# %%
scores = score_models(samples, data, classifier)
print(f"{n_eval()} samples per model, features of the course's classifier\n")
print(scores_table(scores))
record("VAE Fréchet distance (classifier features)", scores["VAE"]["fd"])
record("GAN Fréchet distance (classifier features)", scores["GAN"]["fd"])
record("Fréchet distance floor (real vs real)", scores["GAN"]["fd_real_floor"])
for name in ("VAE", "GAN"):
    record(f"{name} precision (classifier features, k = 3)", scores[name]["precision"])
    record(f"{name} recall (classifier features, k = 3)", scores[name]["recall"])
fig = scores_figure(scores)
plt.show()

# %% [markdown]
# **Is the score measuring anything?** Damage real images a little and the distance must grow:

# %%
real = data.val.subset(min(n_eval(), 2000)).images  # converts only these
base = frechet_distance(classifier.features(real), reference_features(classifier, data))
print(f"held-out real images ({len(real)})   : {base:7.2f}")
for kind, strength in [("noise", 0.1), ("noise", 0.3), ("blur", 1.0)]:
    damaged = evaluation.corrupt(real, kind, strength)
    fd = frechet_distance(classifier.features(damaged), reference_features(classifier, data))
    print(f"same, {kind} {strength:<4}            : {fd:7.2f}")

# %% [markdown]
# ## 3. One run is not a result: seeds and sample size (about 10 minutes)
#
# **Predict first.** Train the same GAN again with another seed: by how much would you expect its
# distance to move? And the VAE's? If you scored 1 000 samples instead of 10 000, would the
# distance go up or down?
#
# `benchmarks/seeds.py` trains notebook 05's VAE and notebook 07's GAN with three seeds each
# (within a model nothing else changed; seed 0 has this notebook's full-mode settings, though a run on
# another machine, thread count or precision is a different draw) on Fashion-MNIST and
# scores each as above with 10 000 samples. Each model's three seeds were run together (where and
# when: printed under the table):

# %%
seeds = results.load("seeds")
summary = seeds["summary"]


def mean_sd(entry, f=".3f"):
    """'mean ± sd' of a summary entry (just the mean when the file holds a single seed)."""
    return f"{entry['mean']:{f}}" + (f" ± {entry['sd']:{f}}" if entry["sd"] is not None else "")


why = results.not_comparable("seeds", data.name)  # a sentence when this run is on another data set
if why:
    print(why)
else:
    print(f"{'':5} {'seeds':>9} {'Fréchet distance':>22} {'precision':>15} {'recall':>15} {'FD_inf':>15}")
    for model in ("vae", "gan"):
        s = summary[model]
        print(f"{model.upper():5} {str(s['seeds']):>9} {mean_sd(s['fd'], '.1f'):>22} {mean_sd(s['precision']):>15} "
              f"{mean_sd(s['recall']):>15} {mean_sd(s['fd_inf'], '.1f'):>15}")
    ref = seeds["reference"]["real_held_out"]
    print(f"{'real':5} {'':>9} {ref['fd']:>22.2f} {ref['precision']:>15.3f} {ref['recall']:>15.3f} "
          f"{ref['fd_vs_n']['fd_inf']:>15.2f}   (10 000 held-out real images: the floor)")
    for model in ("vae", "gan"):  # an sd from 3 seeds is itself very uncertain: its 95% interval (normal runs)
        s = summary[model]["fd"]
        if s["sd"] is not None and s["n_seeds"] > 1:
            dof = s["n_seeds"] - 1
            low, high = (s["sd"] * np.sqrt(dof / chi2.ppf(q, dof)) for q in (0.975, 0.025))
            print(f"{model.upper()}: sd of the Fréchet distance {s['sd']:.1f} from {s['n_seeds']} seeds; "
                  f"95% interval for the true sd [{low:.1f}, {high:.1f}]")
    if "test_elbo" in summary["vae"]:
        print(f"VAE test ELBO over the seeds: {mean_sd(summary['vae']['test_elbo'], '.2f')} nats")
    for model in ("vae", "gan"):  # each model's rows carry their own machine, date and precision
        rows = [r for r in seeds["runs"] if r["model"] == model]
        made = sorted({(r["machine"].split(",")[0], r["date"][:10], r.get("matmul_precision", "not recorded"))
                       for r in rows})
        print(f"{model.upper()} rows: " + "; ".join(f"{m}, {d}, matrix products in {p}" for m, d, p in made))
    where = results.provenance("seeds")  # the machine, date and command of the last seeds.py run
    print(f"({results.dataset_name(results.dataset('seeds'))}; last run: {where})")

# %% [markdown]
# **FD against 1/n.** The bias of the estimate shrinks roughly like `1/n`, so Chong & Forsyth (2020)
# compute the distance at several n, fit `FD(n) = FD∞ + slope / n` and report the intercept `FD∞`:
# the distance with the sample-size bias removed. Below, matched random subsets (n samples against n
# test images) for this notebook's two models and for held-out real images, with the fitted lines:

# %%
test_feats = reference_features(classifier, data)
curves = {name: fd_against_n(classifier.features(images), test_feats, seed=0) for name, images in samples.items()}
curves["real (held out)"] = fd_against_n(classifier.features(data.val.subset(n_eval()).images), test_feats,
                                         seed=0)
fig, axes = plt.subplots(1, 3, figsize=(13, 3.3))
for ax, (name, c) in zip(axes, curves.items(), strict=True):
    inv = 1 / np.asarray(c["n"])
    ax.errorbar(inv, c["fd_mean"], yerr=c["fd_sd"], fmt="o", label="matched subsets (mean ± sd)")
    line = np.linspace(0, inv.max(), 50)
    ax.plot(line, c["fd_inf"] + c["slope"] * line, "--", label=f"fit: FD∞ = {c['fd_inf']:.2f}")
    ax.set_xlabel("1 / n")
    ax.set_ylabel("Fréchet distance")
    ax.set_title(name)
    ax.legend(fontsize=8)
fig.suptitle("Fréchet distance against 1/n and its extrapolation to n = ∞ (Chong & Forsyth 2020)")
fig.tight_layout()
plt.show()
for name, c in curves.items():
    print(f"{name:<16} FD at n = {c['n'][-1]}: {c['fd_mean'][-1]:8.2f}; FD∞ = {c['fd_inf']:8.2f}; "
          f"at n = {c['n'][0]}: {c['fd_mean'][0]:8.2f}")

# %% [markdown]
# <details><summary><b>Worked answer: seeds and sample size</b></summary>
#
# Read the seed table: both distances move between seeds, the VAE's over a wider range than the GAN's
# here in absolute terms (relative to its size, the GAN's moved more in these three seeds). Whether the VAE's spread is
# really the larger, three seeds cannot say: the printed 95% intervals of the two standard deviations
# overlap — with three seeds a standard deviation is itself very uncertain (each interval spans about
# a factor of 12). (Before notebook 07's average of G was added, the assignment's recipe moved by tens
# between runs: 07 prints those runs.) What three seeds do show is that the gap between the two models
# is many times either spread, so their ranking is no accident of the seed. Report a recipe with its
# spread over seeds, and compare two recipes by more than their seed spread. The VAE's test ELBO over
# the same seeds moves by a fraction of a nat (a different metric: do not set it against the GAN's
# distance).
#
# Fewer samples give a *larger* distance between two samples of the same distribution: the held-out
# real images' distance grows as n shrinks and extrapolates to about 0 (the floor is pure bias; a
# slightly negative intercept is the fit's noise, since a distance cannot be negative). The
# estimator is biased *upward* at every n: already its mean term, the squared distance between the
# two sample means, exceeds the true one by `tr Σ_a/n + tr Σ_b/n` on average.
# For the two models the bias is small next to the distance itself, and FD∞ differs from the
# distance at n = 10 000 by little compared with the gap between the models. Read the extrapolation
# with that in mind: an upward bias means FD∞ should lie *below* the distance at the largest n, yet
# in `seeds.json` (full mode, Fashion-MNIST) all three VAE fits, and one of the three GAN fits, give an
# FD∞ above the distance at n = 10 000 — for both models the 1/n trend is at the level of the scatter of
# the subsets, and the difference between FD∞ and FD(10 000) is noise. A floor must be computed with the same n as the
# models; FD∞ helps compare results at different n only where the 1/n trend stands out of that noise.
# </details>

# %% [markdown]
# **Seeds are one source of spread; the yardstick is another.** `benchmarks/yardstick.py` scored the
# reference models' samples — section 2's, in full mode on Fashion-MNIST — with the shipped classifier,
# with its settings and seed trained again on another thread count, and with two other seeds (printed
# below, from `benchmarks/results/yardstick.json`). The same seed retrained moves the distances a little
# (the VAE's precision by several hundredths); another seed moves each distance, and the VAE's recall, by
# more than the three training seeds of `seeds.json` move them, while the VAE's distance stays about
# the same multiple of the GAN's. So compare distances, precisions and recalls only when one network
# measured them — the course ships this one and loads it even with `TRAIN_HERE = True` — and trust the
# order of two models more than the size of their gap.

# %%
why = results.not_comparable("yardstick", data.name)
if why:
    print(why)
else:
    for row in results.load("yardstick")["rows"]:
        label = ("shipped (seed 0)" if row["shipped"] else "seed 0 trained again" if row["retrained_here"]
                 else f"seed {row['classifier_seed']}")
        vae, gan = row["VAE"], row["GAN"]
        print(f"classifier {label:<21} VAE: distance {vae['fd']:6.1f}, precision {vae['precision']:.3f}, recall "
              f"{vae['recall']:.3f} | GAN: distance {gan['fd']:5.1f}, precision {gan['precision']:.3f}, recall "
              f"{gan['recall']:.3f} | floor {row['real (held out)']['fd']:.2f} | VAE / GAN {vae['fd'] / gan['fd']:.1f}")
    print(f"({results.dataset_name(results.dataset('yardstick'))}, {results.provenance('yardstick')})")

# %% [markdown]
# ## 4. Coverage: precision, recall and the class histogram (about 10 minutes)
#
# A model can have realistic samples and still miss part of the data — a generator that only
# produces a few kinds of item can fool a discriminator that looks at one image at a time.
# **Improved precision and recall** (Kynkäänniemi et al. 2019) measure the two separately in the
# classifier's feature space: around each real image's features put a ball reaching to its 3rd
# nearest real neighbour; **precision** is the fraction of samples inside some real ball (are the
# samples realistic?). Swap the roles for **recall**: the fraction of real images inside some
# sample's ball (is every part of the data covered?). Both sets have the same size, since the radii
# depend on it; the held-out real row shows what real images reach.
#
# You predicted precision and recall before section 2's table; compare your prediction with that
# table and with the seed table of section 3.
#
# The class histogram is a coarser view: the classifier assigns each sample a class, and the total
# variation distance compares the mix with the real test images' (0: the same mix, 1: no class in
# common). **Predict first:** will either model nearly drop a whole class? Below, this run's
# histograms, then each seed's smallest and largest class in `seeds.json` (full mode):

# %%
fig = coverage_figure(scores, data.class_names)
plt.show()
for name, s in scores.items():
    fractions = np.asarray(s["class_histogram"]) / s["n_samples"]
    print(f"{name:<16} total variation to the test images' class mix {s['class_tv']:.3f}; smallest class "
          f"{100 * fractions.min():.1f}% ({data.class_names[int(fractions.argmin())]}), largest "
          f"{100 * fractions.max():.1f}% ({data.class_names[int(fractions.argmax())]})")
why = results.not_comparable("seeds", data.name)
if why:
    print(why)
else:
    ref = seeds["reference"]["real_held_out"]
    real_fractions = np.asarray(ref["class_histogram"]) / ref["n_samples"]
    for run in seeds["runs"]:
        f = np.asarray(run["class_histogram"]) / sum(run["class_histogram"])
        lo, hi = int(f.argmin()), int(f.argmax())
        print(f"seeds.json {run['model'].upper()} seed {run['seed']}: smallest {data.class_names[lo]} "
              f"{100 * f[lo]:.2f}% (held-out real {100 * real_fractions[lo]:.1f}%), "
              f"largest {data.class_names[hi]} {100 * f[hi]:.1f}% "
              f"(held-out real {100 * real_fractions[hi]:.1f}%)")
    print(f"({results.dataset_name(results.dataset('seeds'))}, {results.provenance('seeds')})")

# %% [markdown]
# <details><summary><b>Worked answer: coverage</b></summary>
#
# The usual story — "the VAE covers all modes, the GAN drops them" — comes from the objectives: the
# VAE's likelihood bound punishes any training image it cannot explain, while the GAN's generator is
# only punished for fakes the discriminator can spot, and its non-saturating loss is mode-seeking
# (notebook 06). Whether a *particular* pair of models shows it is a measurement, and the two
# measurements here disagree in an instructive way:
#
# - The **class histograms** distort the real mix differently. In the full-mode runs on
#   Fashion-MNIST (`seeds.json`, printed above) the GAN's histogram is the closer of the two to the real
#   mix by total variation, in every seed: its smallest class, Sandal, keeps about 6% of its samples
#   (held-out real images: about 10%), and no class gets more than 14%. The VAE's is farther: Shirt
#   falls to 2–3% of its samples (held-out real images: about 9%) while Pullover rises to 18–22%, and
#   Sandal falls to 4–5% (held-out: about 10%). So the histogram shows no class dropped by either
#   model, and the VAE, not the GAN, comes nearest to losing one. Shirt and Pullover are among the
#   classes the classifier confuses most, so part of their shift may be the classifier's reading of
#   blurry samples; Sandal, which it reads well, shows the distortion is not only the classifier's.
#   A test like "at least 1% of the samples in every class" (`classes_covered`) would hide even that:
#   a class with 3% of the samples instead of 9% has lost two thirds of its share and still counts as
#   present. What a class histogram cannot see is dropping *within* a class (only some kinds of shirt,
#   say).
# - **Recall** sees coverage inside the classes. In the full-mode runs on Fashion-MNIST (section 3's
#   table, all seeds) the GAN's recall is under a quarter of the VAE's, and both are far below the
#   held-out real images': the GAN's samples reach only a small part of the real images' feature space,
#   also inside the classes its histogram gets about right — this is what recall adds to the histogram
#   — while the VAE's blurry samples spread wider. Precision goes the other way: the GAN's is higher
#   than the VAE's, and higher even than held-out real images', consistent with samples that stay in
#   dense, typical regions of the feature space (notebook 07's answer to Q2.6; not tested here) — high
#   precision with low recall describes samples that are typical but not diverse.
#
# So in the full-mode runs on Fashion-MNIST the folklore holds only in part: the class histogram shows
# the GAN keeping every class, with a milder distortion of the mix than the VAE's, while
# recall, in every seed, shows how little of the data the GAN covers within the classes — the right
# kinds of item, in too few variations.
# Caveat: everything here is seen through one classifier. Its verdict on a blurry or speckled sample
# is itself uncertain (on Fashion-MNIST e.g. "shirt" against "pullover"), and another feature space would give other
# numbers; k-NN radii also depend on k and on the number of samples.
# </details>

# %% [markdown]
# ## 5. Memorisation: the nearest training images (about 5 minutes)
#
# A low distance could also come from a model that copies training images. **Predict first:** how
# far would a copy be from its nearest training image? Each model's first samples, with their
# nearest training images in pixel space and in the classifier's feature space, and the median
# distance for 1 000 samples (200 in quick mode) against that of held-out real images:

# %%
for name, images in samples.items():
    fig = neighbours_figure(images[:8], data, classifier, title=f"{name} samples")
    plt.show()
m = pick(1000, 200)  # images whose neighbours are searched (quick mode: fewer)
searched = {name: images[:m] for name, images in {**samples, "held-out real": data.test.subset(m).images}.items()}
medians = {name: training_neighbours(images, data, classifier) for name, images in searched.items()}
for name, nb in medians.items():
    print(f"{name:<14} median distance to the nearest training image: pixels {nb['pixel'][0][:m, 0].median():6.2f}, "
          f"features {nb['feature'][0][:m, 0].median():6.2f}")

# %% [markdown]
# A copying model would sit far below the held-out real images on both distances; one that only
# produces images *unlike* any training image would sit far above. But a median can hide a minority of
# copies, and closeness can also come from the samples themselves (a typical or a blurry image is close
# to many images). A direct count: the share of each model's samples closer to their nearest training
# image than 99% of held-out validation images are — about 1% for held-out real images by construction,
# about the share it copies for a copier:

# %%
copies = near_copies(searched, data, classifier, neighbours=medians)  # the neighbours above, not searched again
for name, c in copies.items():
    print(f"{name:<14} closer to a training image than 99% of held-out images: pixels "
          f"{100 * c['pixel']['fraction']:4.1f}%, features {100 * c['feature']['fraction']:4.1f}%")

# %% [markdown]
#
# <details><summary><b>Worked answer: memorisation</b></summary>
#
# In the full-mode runs on Fashion-MNIST (printed above for this notebook's models; every seed's medians
# are in `seeds.json` as `nn_pixel_median` and `nn_feature_median`, and the GAN seeds' counts as
# `near_copies`):
#
# - the VAE's samples are about as far from their nearest training image in pixels as held-out real
#   images are, and farther in features — they are less typical of the data;
# - the GAN's samples are *closer* to their nearest training image in pixels than held-out real images
#   are, and about as close in features. Alone, that could look like copying. But the count finds no
#   more near-copies among them than among held-out images: they sit close to training images without
#   being copies of any. (In pixels the count catches only near-exact copies — one pixel of shift moves a
#   copy far away — hence the same count in the classifier's features.)
#
# So there is no sign of copying in either model. The figures show the same: the nearest training
# images are similar items, not duplicates. Pixel distance alone can mislead: a blurry image is close to
# many training images in pixels (the VAE's pixel median is near the real images') — which is why the
# feature-space neighbour and the near-copy count are shown too.
# </details>
#
# ## 6. Discrete data and discrete latents (about 15 minutes)
#
# **Predict first.** (a) The GAN's discriminator passes its gradient back through the generated
# sample into G. What happens to that gradient if G's output is made discrete — rounded, or sampled?
# (b) The VAE's encoder is trained through the reparameterization `z = μ + σ ⊙ ε`. What happens if
# z is a category?
#
# A tiny generator of 8 pixel probabilities, scored by a fixed linear "discriminator":

# %%
# NBVAL_CHECK_OUTPUT
for output, norm in gradient_through_rounding(seed=0).items():
    print(f"G outputs {output:<28}: |d score / d weights| = {norm:.4f}")

# %%
print(inspect.getsource(gradient_through_rounding))  # how the table was made

# %% [markdown]
# And a categorical latent on a toy objective `E_{k ~ Cat(softmax(logits))}[f(k)]` with
# `f = (0, 1, 4, 9)`, where the exact gradient is known: the score-function estimator and the
# Gumbel-softmax relaxation (a continuous "soft one-hot" sample at temperature 0.5), each averaged
# over 20 000 samples:

# %%
# NBVAL_CHECK_OUTPUT
r = categorical_latent_gradients(n_samples=20000, temperature=0.5, seed=0)
fmt = lambda v: " ".join(f"{x:7.3f}" for x in v)  # noqa: E731
print(f"exact gradient                 : {fmt(r['exact'])}")
print(f"score function, mean of 20 000 : {fmt(r['reinforce_mean'])}   (per-sample std {fmt(r['reinforce_std'])})")
print(f"Gumbel-softmax, mean of 20 000 : {fmt(r['gumbel_mean'])}   (per-sample std {fmt(r['gumbel_std'])})")

# %% [markdown]
# <details><summary><b>Worked answer: discrete data and latents</b></summary>
#
# **A GAN with discrete data** (text, binary images): with discrete outputs backpropagation gives
# the generator exactly zero gradient — rounding and sampling are piecewise constant, so the
# gradient reaching G's weights through them is exactly zero (first table). Generating gray values
# instead does not sidestep the problem for truly binary data: a discriminator can tell at once that
# a pixel of 0.6 is not 0 or 1, so it can reject every fake whatever G does with its gray values;
# continuous outputs work only with care (e.g. WGAN-GP's softmax outputs for text, Gulrajani et al.
# 2017). The workarounds
# are the score-function (REINFORCE) estimator, as in SeqGAN, or continuous relaxations (Gumbel-softmax). The course's
# GAN models *gray* images, whose pixels are continuous, so it never meets the problem. The
# **VAE** has none: the data are observed, never generated inside the loss, and its decoder simply
# defines a distribution over discrete values — notebook 05's VAE models binary images with
# Bernoulli pixels. (For *continuous* models of discrete data such as 8-bit pixels, likelihoods
# are made meaningful by dequantization — adding uniform noise — and reported in bits per
# dimension; Theis et al. 2016.)
#
# **A VAE with a discrete latent** (a categorical z): the reparameterization exists only for
# continuous z; a categorical sample is an integer with no path back to the encoder's logits. In the
# second table the score-function average matches the exact gradient but each single estimate is
# noisy; the Gumbel-softmax estimates are steadier but their average is off (biased). Exact summation
# over a small number of categories is the third option.
#
# **A GAN with a discrete latent** has no gradient problem — z is only an input to G, never
# differentiated — but a different one: with *only* a discrete z taking K values, `p_g` has at most K
# atoms, K distinct images. So discrete codes are combined with continuous noise: conditional GANs
# feed a one-hot class label next to z, and InfoGAN (Chen et al. 2016) adds discrete and continuous
# codes it learns to make interpretable.
# </details>

# %% [markdown]
# <details><summary><b>Worked answer (Q3.1), all together</b></summary>
#
# **What they optimise.** The VAE maximises the ELBO, a lower bound on the log-likelihood of the
# data: an explicit model `p(x|z)p(z)` with an approximate posterior `q(z|x)`. The GAN trains a
# generator against a discriminator; with an optimal discriminator the minimax loss would make G
# minimise `2 JSD(p_data, p_g) − log 4`, and the non-saturating loss the course uses follows
# `KL(p_g ‖ p_data) − 2 JSD` instead (mode-seeking; notebook 06).
#
# **What they can evaluate.** The VAE gives a bound on (and, with importance sampling, an estimate
# of) `log p(x)` for any image, and an encoder from images to latent codes. The GAN gives neither:
# no likelihood, no inference of z from x; only samples (and a discriminator that is not a density).
#
# **Samples, measured.** GAN samples have crisp outlines, VAE samples (decoder means) are blurry,
# because the VAE's pixel-wise likelihood rewards hedging and the discriminator punishes blur. This
# is measurable: the Fréchet distance on the features of a classifier trained on the same data, next
# to a floor computed with as many held-out real images, over several seeds (section 3: the GAN's
# distance is lower than the VAE's by much more than either's seed spread, and both are far above
# the floor). Coverage is measured with precision and recall in the same feature space and with the
# class histogram (section 4), memorisation with nearest training images (section 5).
#
# **Discrete data and latents.** Discrete data are hard for a GAN (no gradient through a discrete
# sample; gray outputs do not fool a discriminator on binary data) and easy for a VAE (a discrete
# likelihood). Discrete latents are hard for a VAE (no reparameterization: score function, relaxations
# or summation) and easy for a GAN as inputs, though a purely discrete z gives only finitely many
# images, so they are combined with continuous noise (conditional GANs, InfoGAN).
#
# **When to choose which.** The VAE when likelihoods, an encoder or a representation matter
# (density estimation, compression; for anomaly detection only with care — a Fashion-MNIST model can
# give MNIST images a higher likelihood, section 1); the GAN when sample sharpness matters most
# and a likelihood is not needed.
# </details>

# %% [markdown]
# ## Summary
#
# - VAE: an explicit likelihood bound and an encoder; blurry samples. GAN: an implicit model trained
#   by a game (here with the non-saturating, mode-seeking loss); sharper samples, no likelihood.
# - Sample quality is measured, not eyeballed: the Fréchet distance on the course classifier's
#   features, next to a floor at the same n, over several seeds; FD∞ extrapolates the sample-size
#   bias away where the distance is linear in 1/n (for both models here the extrapolation is noise).
# - Coverage: precision and recall in feature space, beside the class histogram (which cannot see
#   within-class dropping); memorisation: nearest training images.
# - Discrete data break the GAN's gradient path; discrete latents break the VAE's reparameterization,
#   and a GAN needs continuous noise next to them.
