# %% [markdown]
# # 05 — The variational autoencoder (Q1.12–Q1.15)
#
# Everything is in place: a latent variable model with a non-linear decoder (01), an
# encoder `q(z|x)` because the prior is a bad proposal (02), a closed-form KL (03), and a
# differentiable one-sample ELBO (04). This notebook builds the VAE from `course_utils`,
# trains it on the images and produces the assignment's three figures.
#
# **You will learn**
#
# - the architecture — encoder, decoder, loss, optimiser — and where each piece lives in the package;
# - to read the training and validation ELBO curves;
# - how samples improve during training;
# - what a 2-D latent space learns: the data manifold on a grid of Gaussian quantiles;
# - to report a VAE's quality: the test ELBO and an importance-weighted estimate of log p(x).
#
# **Questions**
#
# - **Q1.12** Build the VAE: encoder 784 → 500 (ReLU) → mean and standard deviation of z;
#   decoder z → 500 (ReLU) → 784 Bernoulli means; trained with Adam on the negative ELBO.
# - **Q1.13** Plot the training and validation ELBO per epoch.
# - **Q1.14** Show samples from the model at the start, the middle and the end of training.
# - **Q1.15** Train with z = 2 and plot the learned data manifold: decoder means on a grid of
#   latent points placed at Gaussian quantiles.

# %% [markdown]
# ## Setup
# The data set is chosen in `course_utils.core.data.load_data` (MNIST, or Fashion-MNIST offline).
# Full mode (the default) trains on all 50 000 training images: the z = 20 model for 100 epochs
# with a cosine learning-rate decay (the recipe behind `benchmarks/results/vae.json`, about 5–8
# minutes on a laptop CPU), the z = 2 model for 15 epochs; both are then cached. Quick mode
# (`COURSE_QUICK=1`) trains 2 epochs on 3 000 images so the notebook runs in seconds (and the
# figures look accordingly). The runs are defined once, in `course_utils.course.runs`.

# %%
import inspect

import matplotlib.pyplot as plt
import torch

from course_utils.core import get_device, load_data, pick, quick_mode, seed_everything
from course_utils.course import record, vae2_config, vae_config, vae_data
from course_utils.exercises import check_gaussian_quantiles
from course_utils.vae import (
    VAE,
    VAEConfig,
    evaluate_vae,
    evaluation_images,
    gaussian_quantile_grid,
    make_step,
    plot_elbo_curves,
    plot_manifold,
    plot_reconstructions,
    plot_samples_at_epochs,
    train_vae,
)
from course_utils.widgets import LatentExplorer, ReconstructionExplorer

seed_everything(0)
data = load_data(pixels="dynamic")
data = vae_data(data)  # all images in full mode, a subset in quick mode (course_utils.course.runs)
print(data, "| device:", get_device(), "| quick mode:", quick_mode())

# %% [markdown]
# ## Q1.12 — The model
#
# Every knob of a run is a field of `VAEConfig`; the defaults are the assignment's:

# %%
# NBVAL_CHECK_OUTPUT
print(VAEConfig())

# %% [markdown]
# The network. The encoder outputs, for each image, the mean `μ(x)` (a linear layer) and the
# standard deviation `σ(x)` (a softplus, so it is positive) of `q(z|x) = N(μ, diag σ²)` — one
# output layer of size 2·z split in two. The decoder outputs 784 **logits**; `sigmoid(logits)`
# are the Bernoulli means `f_θ(z)`. The loss is computed from the logits, which is numerically
# stable where `f` rounds to 0 or 1.

# %%
print(inspect.getsource(VAE._encode))
print(inspect.getsource(VAE.decode_logits))
print(inspect.getsource(VAE.forward))

# %%
# NBVAL_CHECK_OUTPUT
model = VAE(VAEConfig())
print(model)
print(f"parameters: {sum(p.numel() for p in model.parameters()):,}")

# %% [markdown]
# One training step — encode, reparameterize, decode, the negative ELBO averaged over the batch
# (your `per_example_loss` of notebook 04 is `negative_elbo(...)["loss"]`), a check that the loss
# is finite, then an Adam step. On a CPU with bfloat16 instructions (recent AMD EPYC/Ryzen, Intel
# Xeon) `precision="auto"` runs the matrix products in bfloat16 under `torch.autocast`, 1.3–1.5×
# faster here with the same test ELBO; the weights, the loss and all evaluation stay float32.
# `VAEConfig(precision="float32")` turns it off.

# %%
print(inspect.getsource(make_step))

# %% [markdown]
# <details><summary><b>Worked answer (Q1.12)</b></summary>
#
# - Encoder `q_φ(z|x)`: `x ∈ {0,1}^784 → Linear(784, 500) → ReLU → Linear(500, 2·z)`, split into the
#   mean `μ` (linear) and `σ = softplus(·)` (positive; a log-variance output with `σ = exp(½ logvar)`
#   is the common alternative).
# - Decoder `p_θ(x|z)`: `z → Linear(z, 500) → ReLU → Linear(500, 784)` logits; `f = sigmoid(logits)`
#   are the Bernoulli means.
# - Loss: the batch mean of `L_n` (Q1.10), one reparameterized sample `z = μ + σ ⊙ ε` per image,
#   reconstruction from the logits (`binary_cross_entropy_with_logits`, summed over pixels) and the
#   closed-form KL. Optimiser: Adam, learning rate 1e-3, batches of 128; here the learning rate
#   decays along a cosine over the epochs (`lr_schedule="cosine"`), which converges in fewer
#   epochs. 815 824 parameters for z = 20.
# </details>

# %% [markdown]
# ## Training (z = 20)
#
# `train_vae` runs the shared training loop (`course_utils.core.training.fit`), records the training
# ELBO (averaged over each epoch's batches) and the validation ELBO (after each epoch), and keeps
# sample grids at fixed latent points at epoch 0, the middle and the end. A finished run is cached
# under a key made of every setting and the data set, so re-running this cell loads it.
# Ctrl-C (or the stop button) stops after the current step and returns the model as it is.

# %%
config20 = vae_config()  # the tuned recipe: 100 epochs, cosine learning rate (course_utils.course.runs)
print(config20)
vae20, history20 = train_vae(config20, data)

# %% [markdown]
# ## Q1.13 — The ELBO during training
#
# What to look at: both curves rise quickly and then flatten. The training ELBO of an epoch is
# an average over batches while the model was still improving, so early on it lies *below* the
# validation ELBO measured after the epoch. A validation curve that turns down while the
# training curve keeps rising would be overfitting; with 50 000 images and dynamic binarization
# it does not happen here. The right panels split the (negative) ELBO into its two terms:
# the reconstruction term falls, while the KL *rises* — the encoder learns to put information
# into z, which costs KL.

# %%
fig = plot_elbo_curves(history20, show_parts=True,
                       title=f"ELBO per epoch, z = 20 ({data.pretty_name}; nats per image, higher is better)")
plt.show()

# %% [markdown]
# <details><summary><b>Worked answer (Q1.13)</b></summary>
#
# The figure above (one plot, both curves; in full mode). The ELBO rises steeply in the first
# epoch or two and then slowly; the training and validation curves stay close, so the model does
# not overfit in this budget. Early on the training ELBO is below the validation ELBO because it
# averages over an epoch during which the model improved. Values are nats per image (negative;
# higher is better); the decomposition shows reconstruction improving and the KL term growing as
# the latent code carries more information.
# </details>

# %% [markdown]
# ## Q1.14 — Samples during training
#
# The same 64 latent points `z ~ N(0, I)` decoded before training, at the middle and at the end
# (decoder means `f_θ(z)`):

# %%
fig = plot_samples_at_epochs(history20, title=f"Samples of the z = 20 VAE during training ({data.pretty_name})")
plt.show()

# %% [markdown]
# <details><summary><b>Worked answer (Q1.14)</b></summary>
#
# Before training the decoder outputs gray noise around 0.5 (random weights). After a few epochs
# the samples are recognisable but blurry; at the end they are sharper and more varied. They stay
# somewhat blurry because they are *means* of a factorized Bernoulli: where the model is unsure
# whether a pixel is on, it shows gray instead of committing; and some latent points from the prior
# fall where the encoder put little mass, giving implausible mixtures.
# </details>

# %% [markdown]
# ## Q1.15 — The learned manifold of a 2-D latent space
#
# With z = 2 the whole latent space can be drawn. We decode a grid of latent points; the grid is
# placed at **quantiles of N(0, 1)** in each coordinate: evenly spaced *probabilities* mapped
# through the inverse CDF, so that every grid cell holds the same prior probability — dense near
# 0, sparse in the tails, where the prior rarely sends z.
#
# ### Exercise — `gaussian_quantiles`
# Return the `n` values `Φ⁻¹(p_i)` for `p_i = linspace(0.05, 0.95, n)`, where `Φ⁻¹` is the inverse
# CDF of N(0, 1) (`torch.distributions.Normal(0, 1).icdf`). Shape `(n,)`.

# %%
# NBVAL_CHECK_OUTPUT
def gaussian_quantiles(n):
    """N(0, 1) quantiles at n evenly spaced probabilities from 0.05 to 0.95."""
    ### BEGIN SOLUTION
    p = torch.linspace(0.05, 0.95, n)
    return torch.distributions.Normal(0.0, 1.0).icdf(p)
    ### END SOLUTION


check_gaussian_quantiles(gaussian_quantiles)
print("n = 7:", [round(v, 3) for v in gaussian_quantiles(7).tolist()])

# %% [markdown]
# The package's version, used by the figure, is the same:

# %%
print(inspect.getsource(gaussian_quantile_grid))

# %% [markdown]
# Train the z = 2 VAE (same settings, only the latent dimension differs):

# %%
config2 = vae2_config()  # 15 epochs: enough for a readable 2-D manifold
vae2, history2 = train_vae(config2, data)
print(f"final validation ELBO: z = 2: {history2.last['val_elbo']:.1f}, z = 20: {history20.last['val_elbo']:.1f} nats")

# %%
fig = plot_manifold(vae2, n=20, title=f"Learned manifold of the z = 2 VAE ({data.pretty_name}): "
                                      "decoder means on a 20x20 grid of N(0,1) quantiles")
plt.show()

# %% [markdown]
# What to look at: neighbouring images change smoothly — the decoder is a continuous function of
# z — and different regions hold different classes, with transitions (morphs) between them. Two
# numbers can only encode so much: the z = 2 model's ELBO is lower than the z = 20 model's.
#
# <details><summary><b>Worked answer (Q1.15)</b></summary>
#
# The figure above: for `p = linspace(0.05, 0.95, 20)` in each coordinate, `z = (Φ⁻¹(p_i), Φ⁻¹(p_j))`,
# and the decoder means `f_θ(z)` tiled into one image. Using quantiles instead of an even grid in z
# spends the grid points where the prior (and hence, thanks to the KL term, the aggregate of the
# encoder's codes) has its mass. The manifold is smooth and organised by class, with continuous
# transitions; with only two latent dimensions the images are blurrier and the ELBO lower than
# with z = 20.
# </details>

# %% [markdown]
# ## Explore: latent sliders and reconstructions
#
# **z = 2:** two sliders span the whole latent space of the manifold above.

# %%
explorer2 = LatentExplorer(vae2.decode, 2, title="z = 2 VAE: (z[0], z[1])")
explorer2.widget

# %% [markdown]
# **z = 20:** the sliders move five of the twenty coordinates; the other fifteen stay at the
# encoder's mean for the first test image, so you explore the neighbourhood of a real image.

# %%
x_test = evaluation_images(data.test, binarize=True, n=pick(2000, 200))
with torch.no_grad():
    base, _ = vae20.encode(x_test[:1])
explorer20 = LatentExplorer(vae20.decode, 20, coords=range(5), base=base[0],
                            title="z = 20 VAE around test image 0: z[0..4]")
explorer20.widget

# %% [markdown]
# **Reconstructions:** pick a test image; the VAE encodes it (mean of q(z|x)) and decodes.

# %%
fig = plot_reconstructions(vae20, x_test, n=10, title="z = 20: test images and their reconstructions")
plt.show()
ReconstructionExplorer(vae20, x_test).widget

# %% [markdown]
# ## Reporting the model: test ELBO and importance-weighted log-likelihood
#
# The ELBO is a lower bound; the importance-weighted estimate with k samples from the encoder
# (notebook 02) is a tighter one that approaches `log p(x)` as k grows. Both on one fixed
# binarization of the test images (full mode: k = 1 000 on the first 2 000 test images, and the
# ELBO on all 10 000; quick mode: k = 50 on 200 images, the ELBO on 1 000).

# %%
k = pick(1000, 50)
results = {}
for name, vae in (("z = 20", vae20), ("z = 2", vae2)):
    elbo_all = evaluate_vae(vae, data.test, iw_k=0, n_images=pick(None, 1000), progress=False)
    iw = evaluate_vae(vae, data.test, iw_k=k, n_images=len(x_test), progress=False)
    results[name] = (elbo_all["elbo"], iw["elbo"], iw["iw_ll"])
    record(f"test ELBO ({name})", elbo_all["elbo"], "nats")
    record(f"test IW log-likelihood ({name}, k={k}, {len(x_test)} images)", iw["iw_ll"], "nats")
print(f"{'model':7s} {'test ELBO':>16} {'ELBO (IW images)':>17} {'IW log p(x), k=' + str(k):>20}")
for name, (elbo_all, elbo_sub, iw_ll) in results.items():
    print(f"{name:7s} {elbo_all:16.2f} {elbo_sub:17.2f} {iw_ll:20.2f}")

# %% [markdown]
# What to look at: on the same images the importance-weighted estimate lies above the ELBO (by a
# few nats in full mode) — most of that difference is the gap `KL(q ‖ p(z|x))` of notebook 04,
# which the encoder does not close. In full mode the z = 20 model beats the z = 2 model by
# more than 20 nats on both.
#
# ## Summary
#
# - The VAE is an encoder `q_φ(z|x) = N(μ, diag σ²)` and a Bernoulli decoder `f_θ(z)`, trained with
#   Adam on the one-sample negative ELBO via the reparameterization trick.
# - The ELBO rises fast and then slowly; reconstruction improves while the KL term grows.
# - Samples sharpen over training; a 2-D latent space learns a smooth manifold organised by class.
# - Report the test ELBO and an importance-weighted log-likelihood; the difference is the
#   approximate posterior's gap.
