# %% [markdown]
# # 01 — Latent variable models (Q1.1–Q1.3)
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dgm-course/deep-generative-models/blob/main/notebooks/01_latent_variable_models.ipynb)
# [![Launch on Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/dgm-course/deep-generative-models/main?urlpath=lab/tree/notebooks/01_latent_variable_models.ipynb)
# · [read it with all outputs on the course website](https://dgm-course.github.io/deep-generative-models/notebooks/01_latent_variable_models.html)
#
# A latent variable model explains each image x by an unobserved code z: first draw z
# from a simple prior, then draw x from a distribution that depends on z,
#
# $$p(x) = \int p(x \mid z)\, p(z)\, dz, \qquad p(z) = N(0, I).$$
#
# Factor analysis, probabilistic PCA and the variational autoencoder (VAE) are all of
# this form; Q1.1 asks what else they share and where they part.
#
# **You will learn**
#
# - what the VAE shares with factor analysis and probabilistic PCA (PPCA) and how it differs —
#   on the images, by fitting PPCA in closed form and sampling it next to a VAE;
# - to draw samples from a VAE's generative model step by step (exercise);
# - why a standard-normal prior is less of a restriction than it looks — and where, in many
#   dimensions, such a prior actually puts its samples.
#
# **Questions**
#
# - **Q1.1** How does the VAE compare with factor analysis / probabilistic PCA?
# - **Q1.2** How do we sample from the VAE's generative model (ancestral sampling)?
# - **Q1.3** Why is a standard-normal prior `p(z) = N(0, I_D)` not a restrictive assumption?
#
# Each question comes with a short *predict first* prompt: write your answer down before you run
# the cells that follow, then compare with the worked answer, which stays collapsed until you open it.
# About 35 minutes in all.

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
#
# The data set is chosen in one place, `course_utils.core.data.load_data` (MNIST when
# available, else Fashion-MNIST; set `COURSE_DATASET` to choose). `pixels="dynamic"`
# keeps gray intensities in [0, 1] and binarizes each training batch afresh.
# Quick mode (`COURSE_QUICK=1`, read by `course_utils.core.runtime.pick`) uses a subset of
# the training images and one epoch, so the notebook runs in seconds; the default
# (full mode) trains for real.

# %%
import dataclasses
import inspect

import matplotlib.pyplot as plt
import torch

from course_utils.core import load_data, pick, quick_mode, seed_everything, set_threads, show_grid
from course_utils.course import record
from course_utils.exercises import check_sample_pixels
from course_utils.toys import LinearGaussian, fit_ppca, linearity_gap, mean_image, radius_table, ring_map
from course_utils.vae import VAEConfig, train_vae
from course_utils.widgets import LatentExplorer

set_threads()
seed_everything(0)
data = load_data(pixels="dynamic")
# quick mode: the first few thousand training images; full mode: all of them
data = dataclasses.replace(data, train=data.train.subset(pick(None, 3000)), val=data.val.subset(pick(None, 500)))
print(data, "| quick mode:", quick_mode())

# %% [markdown]
# ## Q1.1 — VAE versus factor analysis and probabilistic PCA (about 10 minutes)
#
# Factor analysis (FA), probabilistic PCA (PPCA) and the VAE are all latent variable models
# `p(x) = ∫ p(x|z) p(z) dz` with the prior `p(z) = N(0, I)`.
#
# **Predict first.** Write down `p(x|z)` for each of the three models. In which is the mean of x
# given z a *linear* function of z? For which can you write `p(x)` and the posterior `p(z|x)` in
# closed form, and which can you *fit* in closed form — and what does the VAE pay for not having them?
#
# The cells below fit PPCA to the images in closed form, train a small VAE with the same latent
# dimension, and sample both. PPCA's maximum-likelihood fit (Tipping & Bishop, 1999) comes from an
# eigendecomposition of the data covariance: read it.

# %%
print(inspect.getsource(fit_ppca))

# %% [markdown]
# First a sanity check on data whose generating model we know: sample 5 000 points from a
# linear-Gaussian model with q = 2 latent dimensions, D = 10 observed ones and noise standard
# deviation 0.3, then fit PPCA. The fitted noise level and the exact log-likelihood per point
# should match the truth.

# %%
# NBVAL_CHECK_OUTPUT
truth = LinearGaussian.random(x_dim=10, z_dim=2, noise_std=0.3, seed=0)
x_synthetic, _ = truth.sample(5000, generator=torch.Generator().manual_seed(1))
fitted = fit_ppca(x_synthetic, q=2)
print(f"noise std: true 0.300, fitted {fitted.noise_std[0].item():.3f}")
print(f"log p(x) per point [nats]: true model {truth.log_px(x_synthetic).mean().item():.3f}, "
      f"fitted PPCA {fitted.log_px(x_synthetic).mean().item():.3f}")

# %% [markdown]
# Now fit PPCA with q = 20 latent dimensions to the training images (gray values, flattened
# to 784 numbers) and draw samples by ancestral sampling: `z ~ N(0, I)`, then
# `x = W z + μ + σ ε`. The noise-free means `W z + μ` come first, the full samples after Q1.2.

# %%
ppca = fit_ppca(data.train.images, q=20)
g = torch.Generator().manual_seed(0)
z = torch.randn(16, 20, generator=g, dtype=torch.float64)
ppca_means = mean_image(ppca, z)
ppca_samples = ppca_means + ppca.noise_std * torch.randn(16, 784, generator=g, dtype=torch.float64)
print(f"PPCA noise std σ = {ppca.noise_std[0].item():.3f} (pixel values are in [0, 1]; {data.pretty_name})")

# %% [markdown]
# Next, a VAE with the same latent dimension. Its code is in `course_utils.vae.model` (notebook 05
# builds it piece by piece); here we only train it. Training results are cached: a second run
# with the same settings loads the model instead of training again.

# %%
config = VAEConfig(z_dim=20, epochs=pick(5, 1))
print(config)
vae, history = train_vae(config, data)
print(f"validation ELBO after {len(history)} epoch(s): {history.last['val_elbo']:.1f} nats per image "
      f"({data.pretty_name})")

# %% [markdown]
# **PPCA versus VAE samples.** Before you look: the two models differ in *three* ways here, not one —
#
# 1. the mean of x given z: affine `W z + μ` for PPCA, a neural network `f_θ(z)` for the VAE;
# 2. the likelihood and the data it models: PPCA is Gaussian on the gray values (so each sample
#    adds independent noise `σ ε` to every pixel, and values outside [0, 1] are possible); the
#    VAE is Bernoulli on *binarized* pixels, and its mean image `f_θ(z)` is a grid of
#    probabilities, not gray values;
# 3. the fit: PPCA is the exact maximum-likelihood solution; the VAE is trained for a few epochs
#    of stochastic gradient steps on a bound (one epoch on a subset in quick mode).
#
# A side-by-side picture cannot tell which difference causes what it shows. Look only for what it
# does show, and use the number below the figure for difference 1. The figure puts means beside
# means: the mean of x given z for 16 draws of z from each model. (Samples beside samples come
# after Q1.2, which asks how a VAE sample is drawn.)

# %%
with torch.no_grad():
    vae_means = vae.decode(torch.randn(16, 20, generator=torch.Generator().manual_seed(0)))
fig, axes = plt.subplots(1, 2, figsize=(8, 3.8))
show_grid(ppca_means.clamp(0, 1), nrow=4, ax=axes[0], title="PPCA means W z + μ")
show_grid(vae_means, nrow=4, ax=axes[1], title="VAE means f(z)")
fig.suptitle(f"Means of x given z ~ N(0, I), z ∈ R^20 ({data.pretty_name})")
plt.show()
outside = ((ppca_means < 0) | (ppca_means > 1)).double().mean().item()
print(f"PPCA means: {100 * outside:.1f}% of the pixel values lie outside [0, 1] (clamped for display); "
      f"VAE means: all in [0, 1] (a sigmoid's output).")

# %% [markdown]
# What the figure shows: PPCA's means are sums of fixed templates (the eigen-images) whose values
# can leave [0, 1] (the printed fraction). The VAE's means are grids of probabilities of binary
# pixels, not gray values. Whether the VAE's images look better also depends on how long it trained
# (quick mode: very little) — not only on difference 1.
#
# **Linear versus non-linear, as a number.** An affine map satisfies
# `f(z₁ + z₂) − f(0) = (f(z₁) − f(0)) + (f(z₂) − f(0))`. `linearity_gap` measures the relative
# violation (0 for an affine map, up to rounding). Apply it to what difference 1 is about: the
# mean function *before* the likelihood's link. The VAE's pixel probabilities are
# `sigmoid(logits)`, and the sigmoid belongs to the Bernoulli likelihood (difference 2): a model
# with *linear* logits `W z + b` and Bernoulli pixels — logistic PCA, say — has it too.
# So the cell measures each decoder twice, on its probabilities and on its logits (the Bernoulli's
# natural parameter), and adds such a linear-logit decoder with random weights for comparison.

# %%
g = torch.Generator().manual_seed(3)
z1, z2 = torch.randn(20, generator=g), torch.randn(20, generator=g)
linear_logits = torch.nn.Linear(20, 784)  # a decoder with linear logits W z + b, random weights
with torch.no_grad():
    w_gen = torch.Generator().manual_seed(4)
    linear_logits.weight.copy_(torch.randn(784, 20, generator=w_gen) / 20 ** 0.5)
    linear_logits.bias.copy_(torch.randn(784, generator=w_gen))
gaps = {
    "PPCA, mean W z + μ": linearity_gap(lambda v: mean_image(ppca, v), z1, z2),
    "linear logits, probabilities sigmoid(W z + b)": linearity_gap(lambda v: torch.sigmoid(linear_logits(v)), z1, z2),
    "linear logits, logits W z + b": linearity_gap(linear_logits, z1, z2),
    "VAE decoder, probabilities f(z)": linearity_gap(vae.decode, z1, z2),
    "VAE decoder, logits": linearity_gap(vae.decode_logits, z1, z2),
}
for name, gap in gaps.items():
    print(f"{name:46s}: linearity gap {gap:.1e}")
record("VAE validation ELBO (z = 20, notebook 01's short run)", history.last["val_elbo"], "nats")

# %% [markdown]
# <details><summary><b>Worked answer (Q1.1)</b></summary>
#
# | model | p(x \| z) | mean of x given z |
# |---|---|---|
# | factor analysis | `N(W z + μ, Ψ)`, Ψ diagonal | **linear** (affine) in z |
# | probabilistic PCA | `N(W z + μ, σ² I)` (FA with isotropic noise) | **linear** (affine) in z |
# | VAE (this course) | `Bernoulli(f_θ(z))` per pixel | **non-linear**: a neural network `f_θ` |
#
# **Same:** all three are latent variable models `p(x) = ∫ p(x|z) p(z) dz` with a Gaussian
# prior `p(z) = N(0, I)` on a lower-dimensional code z, and all generate data by ancestral
# sampling (first z, then x given z).
#
# **Different:** factor analysis and PPCA are *linear-Gaussian*: `x = W z + μ + ε`, with
# `ε ~ N(0, Ψ)`, Ψ diagonal for FA, `Ψ = σ² I` for PPCA (PPCA is FA with isotropic noise).
# Hence, for both, `p(x) = N(μ, W Wᵀ + Ψ)` and the posterior `p(z|x)` are Gaussian and available in
# closed form. *Fitting* differs: PPCA's maximum-likelihood W and σ² come in closed form from an
# eigendecomposition of the data covariance (Tipping & Bishop, 1999), while factor analysis, with
# its per-pixel noise variances, has no closed-form fit and is fitted iteratively, classically by
# EM. In the VAE the mean of `p(x|z)` is a **non-linear** neural network `f_θ(z)` (and here the
# likelihood is Bernoulli on binarized pixels, not Gaussian on gray values), so `p(x)` and `p(z|x)`
# are intractable; the VAE learns an approximate posterior `q_φ(z|x)` (the encoder) and maximizes a
# lower bound (notebook 04).
#
# The training method is not what separates them: a VAE whose decoder is linear-Gaussian (and
# whose encoder is linear with a diagonal Gaussian q) has PPCA's maximum-likelihood solution as
# the global maximum of its bound, and the bound is tight there (Lucas et al., 2019). What the VAE
# adds is the non-linear decoder (and, here, a different likelihood).
#
# The linearity gap *on the logits* isolates the first difference: at rounding level for PPCA and
# for the decoder with linear logits, far above it for the VAE's network. On the probabilities even
# the linear-logit decoder is far from affine — the sigmoid is the Bernoulli likelihood's link, not
# the mean function's non-linearity. The sample figure mixes all three differences (mean function,
# likelihood and data, fit), so it is no proof that non-linearity alone makes better images. Nor
# can the two models' log-likelihoods be compared directly: PPCA's is a *density* over 784 real
# numbers, the VAE's a *probability* of 784 binary pixels.
# </details>

# %% [markdown]
# ## Q1.2 — Ancestral sampling, step by step (about 10 minutes)
#
# **Predict first.** The VAE's generative model is `z ~ N(0, I_D)` and `x | z ~ Bernoulli(f_θ(z))`
# pixel by pixel. Write down, in order, the steps that turn random numbers into one binary image.
# Which of these is a *sample* of x: `f_θ(z)`, the image `f_θ(z) > 0.5`, or something else?
#
# ### Exercise — `sample_pixels`
# Given `probs` (any shape, values in [0, 1]) and a `torch.Generator`, return a tensor of the same
# shape and dtype with `x_m = 1` with probability `probs_m` and 0 otherwise, independently per
# pixel, with all randomness taken from `generator` (so the same seed reproduces the sample).

# %%
def sample_pixels(probs, generator):
    """One Bernoulli draw per pixel: x_m = 1 with probability probs_m (same shape as probs)."""
    ### BEGIN SOLUTION
    return torch.bernoulli(probs, generator=generator)
    ### END SOLUTION

# %%
# Autograded check: 1 point
# NBVAL_CHECK_OUTPUT
check_sample_pixels(sample_pixels)

# %% [markdown]
# Now the whole generative process with the trained decoder, step by step. The printed shapes are
# what to check in your own code: 16 latent vectors of 20 numbers, 16 images of 784 probabilities,
# 16 binary images.

# %%
# NBVAL_CHECK_OUTPUT
g = torch.Generator().manual_seed(0)
z = torch.randn(16, vae.z_dim, generator=g)                 # step 1: z ~ N(0, I)
with torch.no_grad():
    probs = vae.decode(z)                                     # step 2: f(z) = sigmoid(decoder logits)
x = sample_pixels(probs, g)                                   # step 3: x_m ~ Bernoulli(f(z)_m)
print("z     :", tuple(z.shape), "standard normal")
print("f(z)  :", tuple(probs.shape), "values in [0, 1]:", bool(((probs >= 0) & (probs <= 1)).all()))
print("x     :", tuple(x.shape), "values:", sorted(set(x.unique().tolist())))

# %% [markdown]
# What to look at: the means `f(z)` are gray images (every pixel a probability); the Bernoulli
# samples are speckled binary images. Figures of "VAE samples" usually show the means, because the pixel noise carries
# no information about z. The third panel puts PPCA's samples of Q1.1 beside them — samples beside
# samples: a PPCA sample adds independent Gaussian noise `σ ε` to every pixel of its mean, a VAE
# sample draws every pixel from a Bernoulli with its mean; both are noisier than their means, in
# different ways.

# %%
fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
show_grid(probs, nrow=4, ax=axes[0], title="VAE, step 2: pixel probabilities f(z)")
show_grid(x, nrow=4, ax=axes[1], title="VAE, step 3: one Bernoulli sample x")
show_grid(ppca_samples.clamp(0, 1), nrow=4, ax=axes[2], title="PPCA samples W z + μ + σ ε (Q1.1)")
fig.suptitle(f"Ancestral samples, z ∈ R^20 ({data.pretty_name})")
plt.show()

# %% [markdown]
# <details><summary><b>Worked answer (Q1.2)</b></summary>
#
# Ancestral sampling follows the arrows of the model `z → x`:
# (1) draw `z ~ N(0, I_D)`; (2) pass it through the decoder to get `f_θ(z) ∈ (0,1)^784`;
# (3) for every pixel m independently draw `x_m ~ Bernoulli(f_θ(z)_m)` (e.g.
# `torch.bernoulli(f, generator=g)`, or `(u < f).to(f.dtype)` with `u` uniform from the same
# generator). Thresholding `f > 0.5` or returning `f` itself are not samples, and a function that
# makes its own generator (or re-seeds the one it is given) returns the same "sample" every time.
# The code is `course_utils.vae.model.VAE.sample_prior` (with `binary=True` for step 3).
# </details>

# %% [markdown]
# ## Q1.3 — Why N(0, I) is not a restrictive prior (about 5 minutes)
#
# A Gaussian is a simple, unimodal blob; images are not.
#
# **Predict first.** Take 2-D standard normal samples z and the fixed function
# `g(z) = z/10 + z/‖z‖`. Sketch what the points `g(z)` look like. Then answer Q1.3: why does
# the prior not have to look like the data?

# %%
print(inspect.getsource(ring_map))

# %%
# NBVAL_CHECK_OUTPUT
z = torch.randn(5000, 2, generator=torch.Generator().manual_seed(0))
ring = ring_map(z)
radius_in, radius_out = z.norm(dim=1), ring.norm(dim=1)
for name, radius in (("|z|   ", radius_in), ("|g(z)|", radius_out)):
    inside = (radius < 0.5).float().mean()
    print(f"{name} : mean {radius.mean():.3f}, std {radius.std():.3f}, fraction inside radius 0.5: {inside:.3f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 4.2))
axes[0].scatter(z[:, 0], z[:, 1], s=2, alpha=0.4)
axes[0].set_title("z ~ N(0, I): samples of the prior")
axes[1].scatter(ring[:, 0], ring[:, 1], s=2, alpha=0.4, color="C1")
axes[1].set_title("g(z) = z/10 + z/|z|: a ring")
for ax, name in zip(axes, ["z", "g(z)"], strict=True):
    ax.set_xlabel(f"{name}, coordinate 1")
    ax.set_ylabel(f"{name}, coordinate 2")
    ax.set_aspect("equal")
    ax.set_xlim(-3.5, 3.5)
    ax.set_ylim(-3.5, 3.5)
plt.show()

# %% [markdown]
# What to look at: the prior's *density* is highest at the centre, yet only the fraction printed
# above of its samples lies inside radius 0.5 — a small disc holds little mass even where the
# density peaks. The mapped points avoid the centre entirely (`|g(z)| = |z|/10 + 1 ≥ 1`, so none
# lies inside radius 0.5). Nothing about the prior changed — only the function.
#
# ### Density is not mass (about 5 minutes)
#
# In two dimensions the prior's samples still crowd around the centre. A VAE's latent space has
# twenty dimensions or more.
#
# **Predict first.** For `z ~ N(0, I_D)` with D = 20: what fraction of samples lies within distance 2
# of the origin, the region where the density is highest? How far from the origin is a typical
# sample? Is `z = 0`, the prior's mean and mode, a typical latent point?
#
# The cell gives `P(|z| < 2)` and the mean radius `E|z|` exactly (`|z|²` is chi-square with D degrees
# of freedom: `course_utils.toys.typicality`) and from 100 000 samples, for D = 2, 20 and 50.

# %%
# NBVAL_CHECK_OUTPUT
print(f"{'D':>3} | {'P(|z| < 2) exact':>17} {'sampled':>9} | {'E|z| exact':>10} {'sampled':>8} | {'sqrt(D)':>7} "
      f"| {'sd of |z|':>9} | {'log p(0) - log p(z) at |z| = sqrt(D)':>36}")
for dim, row in radius_table(dims=(2, 20, 50), radius=2.0, n=100_000, seed=0).items():
    print(f"{dim:3d} | {row['inside']:17.2g} {row['inside_mc']:9.2g} | {row['mean_radius']:10.2f} "
          f"{row['mean_radius_mc']:8.2f} | {row['sqrt_dim']:7.2f} | {row['radius_std']:9.2f} | "
          f"{row['log_density_ratio']:36.0f}")

# %% [markdown]
# <details><summary><b>Worked answer (density is not mass)</b></summary>
#
# In 20 dimensions about 5 in 100 000 samples lie within radius 2; in 50 dimensions (sampled: none
# of 100 000) about 3 in 10¹⁹. A typical sample lies at distance about `√D` from the origin (4.4 for
# D = 20), in a shell whose thickness, the standard deviation of `|z|`, is about 0.7 for every D in
# the table (it tends to `1/√2` as D grows) while the radius grows like `√D`.
# The density at the origin is `e^{D/2}` times the density on that shell (`e^{10}` ≈ 22 000 for
# D = 20), but the shell's volume is larger by far more, so the shell holds almost all the mass.
# (The mass within radius r is the density times the volume there, and the volume of a thin shell
# of radius r grows like `r^{D−1}`.)
#
# So `z = 0` is the prior's mode and mean, yet practically no sample comes near it: it is not a
# typical latent point, and neither is anything in the ball where the density is highest. A
# decoder is trained on typical points — codes of norm about `√D` — and the all-zero code may decode
# to something it has rarely been asked about. Notebook 07 meets this again: the straight line
# between two typical points passes closer to the origin than its ends (for two independent prior
# draws its midpoint has a norm of about `√(D/2)`, not `√D`), through latent points of atypically
# small norm.
# </details>
#
# <details><summary><b>Worked answer (Q1.3)</b></summary>
#
# The prior is only the input to the decoder. For any target distribution there is a
# (measurable) function mapping `N(0, I_D)` onto it — e.g. through the Gaussian CDF to
# uniforms, then through (conditional) inverse CDFs; the ring above is a hand-made example. A neural
# network decoder `f_θ` is a flexible function approximator, so it can *learn* such a
# transformation: the first layers turn the Gaussian into whatever latent structure (clusters,
# curves) the data need, and the rest produces images. Choosing `N(0, I)` therefore costs
# little expressiveness and buys two things: trivial ancestral sampling (draw independent
# standard normals), and, with a Gaussian encoder q(z|x), a closed-form KL term in the loss
# (notebook 03). (The reparameterization trick of notebook 04 is *not* among them: it needs a
# way to write a sample of the *encoder's* q as a differentiable function of its parameters and
# of parameter-free noise — `z = μ + σ ⊙ ε` for a Gaussian — and with another prior whose
# log-density can be evaluated, the KL term, no longer in closed form, can be estimated from the
# same samples.)
#
# **Where "not restrictive" stops.** The ring map is not continuous at `z = 0`; a neural network
# decoder is. A continuous function maps a connected set onto a connected set, so the decoder's
# mean images `f_θ(z)`, z anywhere in latent space, form one connected set: between the images of
# two classes runs a path of in-between images, which the decoder can make unlikely (squeezing
# little prior mass onto it) but not remove. Seen from the other side, the encoder's codes of the
# data — the *aggregate posterior* — need not fill the prior: they can leave regions of latent space
# with prior mass but no data, where sampled codes decode to something unlike any image. Notebook
# 05 plots the encoder's codes of test images over the prior, where you can look for both.
# </details>

# %% [markdown]
# ## Explore: move through the latent space
#
# Five sliders set the first five coordinates of z; the other 15 stay at the values of one draw
# from the prior (the sliders start at that draw's values too). They do not stay at 0: the point
# with all 20 coordinates at 0 is the prior's mean and the peak of its density, but, as the table
# above showed, practically no sample of the prior lies near it. The image is the decoder's mean `f_θ(z)`.
# Which coordinates change the image most? Go beyond ±2: each coordinate of a prior sample lies
# there only about one time in twenty, and the decoder has seen few such points. Then set all five
# sliders to 0, the most likely value of each coordinate: does the image become more typical of the
# data, or less? (The callback is `course_utils.widgets.vae.LatentExplorer.update`; the time it took is
# shown under the image.)

# %%
typical_z = torch.randn(vae.z_dim, generator=torch.Generator().manual_seed(5))
explorer = LatentExplorer(vae.decode, vae.z_dim, coords=range(5), base=typical_z,
                          title="z[0..4] of the z = 20 VAE; z[5..19] from one prior draw")
explorer

# %% [markdown]
# ## Summary
#
# - FA, PPCA and the VAE are latent variable models with a `N(0, I)` prior; FA/PPCA are
#   linear-Gaussian (`p(x)` and `p(z|x)` in closed form; PPCA is also *fitted* in closed form, FA
#   iteratively, e.g. by EM), the VAE's decoder is a non-linear network (intractable
#   posterior and likelihood); here they also differ in likelihood (Gaussian on gray values vs
#   Bernoulli on binary pixels) and in how they are fitted.
# - Ancestral sampling: `z ~ N(0, I)`, `f_θ(z)`, `x_m ~ Bernoulli(f_θ(z)_m)` per pixel.
# - A standard-normal prior is not very restrictive: a flexible decoder maps it onto complicated
#   shapes (though a continuous decoder cannot tear it into disconnected pieces); it buys easy
#   sampling and a closed-form KL.
# - In D dimensions the prior's density peaks at 0 but its mass lies in a thin shell of radius about
#   `√D`: `z = 0` is not a typical latent point.
#
# Next: notebook 02 asks how to *evaluate* `p(x)` for a VAE — and why the obvious Monte
# Carlo estimate fails.
