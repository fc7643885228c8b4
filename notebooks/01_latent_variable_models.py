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
# The data set is chosen in one place, `course_utils.core.data.load_data`: Fashion-MNIST by default
# (every reference number of the course was measured on it); set `COURSE_DATASET=mnist` for MNIST,
# whose numbers then differ from the quoted ones. `pixels="dynamic"`
# keeps gray intensities in [0, 1] and binarizes each training batch afresh.
# Quick mode (`COURSE_QUICK=1`, read by `course_utils.core.runtime.pick`) uses a subset of
# the training images and one epoch, so the notebook runs in seconds; the default
# (full mode) uses the real run: 5 epochs on all 50 000 training images.
# On Fashion-MNIST, full mode loads the course's **reference models** -- runs with these settings, trained
# once (in float32, stored in float16) and shipped in `course_utils/reference/` -- and prints one line
# saying what each is and how long it took to train. `TRAIN_HERE = True` in the cell below (then re-run
# it; it holds for this notebook's kernel only, `COURSE_TRAIN_HERE=1` for every notebook) trains them
# here instead: then they are cached, and an interrupted run resumes. On MNIST there are none: full
# mode trains here.

# %%
import inspect
import math

import matplotlib.pyplot as plt
import torch

from course_utils.core import load_data, quick_mode, seed_everything, set_threads, show_grid, use_reference_models
from course_utils.course import intro_data, intro_vae_config, record
from course_utils.exercises import check_sample_pixels
from course_utils.toys import (
    LinearGaussian,
    fit_ppca,
    linearity_gap,
    mean_image,
    mean_radius,
    radius_cdf,
    radius_table,
    ring_map,
)
from course_utils.vae import evaluation_images, train_vae
from course_utils.widgets import LatentExplorer

TRAIN_HERE = False  # True (then re-run this cell): train the models here, not load the course's reference models
use_reference_models(not TRAIN_HERE)  # this kernel only; COURSE_TRAIN_HERE=1 in the environment: every notebook
set_threads()
seed_everything(0)
data = load_data(pixels="dynamic")
data = intro_data(data)  # quick mode: the first 3 000 training images; full mode: all of them
print(data, "| quick mode:", quick_mode())

# %% [markdown]
# ## Q1.1 — VAE versus factor analysis and probabilistic PCA (about 10 minutes)
#
# Factor analysis (FA), probabilistic PCA (PPCA) and the VAE are all latent variable models
# `p(x) = ∫ p(x|z) p(z) dz` with the prior `p(z) = N(0, I)`.
#
# **Predict first.** Write down `p(x|z)` for each of the three models. In which is the mean of x
# given z a *linear* function of z? For which can you write `p(x)` and the posterior `p(z|x)` in
# closed form — and what does the VAE pay for not having them? PPCA's maximum-likelihood fit
# (Tipping & Bishop, 1999), printed below, is in closed form: can factor analysis be fitted the same way?
#
# The cells below fit PPCA to the images, train a small VAE with the same latent dimension, and
# sample both.

# %%
print(inspect.getsource(fit_ppca))

# %% [markdown]
# First a sanity check on data whose generating model we know: sample 5 000 points from a
# linear-Gaussian model with q = 2 latent dimensions, D = 10 observed ones and noise standard
# deviation 0.3, then fit PPCA. The fitted noise level and the exact log-likelihood per point
# should match the truth's up to sampling error — and the fitted model's log-likelihood on these
# points is at least the true model's, since maximum likelihood maximises it on exactly these points
# (an in-sample likelihood flatters the fit).

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
# builds it piece by piece); here we only train it -- or, in full mode, load its reference model. A model
# trained here is cached: a second run with the same settings loads it instead of training again.

# %%
config = intro_vae_config(20)  # VAEConfig(z_dim=20, epochs=5), 1 epoch in quick mode
print(config)
vae, history = train_vae(config, data)
print(f"validation ELBO after {len(history)} epoch(s): {history.last['val_elbo']:.1f} nats per image "
      f"({data.pretty_name})")

# %% [markdown]
# **PPCA versus VAE samples.** Before you look: the two models differ in *three* ways here, not one —
#
# 1. the natural parameter of `p(x|z)` as a function of z (for PPCA the mean, for a Bernoulli the
#    logits): affine `W z + μ` for PPCA, a neural network's logits for the VAE;
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
# natural parameter η(z) of `p(x|z)`, the quantity a generalised linear model keeps linear — `W z + μ`
# for PPCA (a Gaussian's natural parameter is its mean), the logits for a Bernoulli decoder. The
# VAE's pixel probabilities, the mean `E[x|z]`, are `sigmoid(logits)`: the sigmoid is the inverse of
# the Bernoulli's logit link, so a model with *linear* logits `W z + b` and Bernoulli pixels —
# logistic PCA, say — has a non-linear `E[x|z]` too. So the cell measures each decoder twice, on its
# probabilities and on its logits, and adds such a linear-logit decoder with random weights for
# comparison.

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
# | model | p(x \| z) | mean of x given z | natural parameter of p(x \| z) |
# |---|---|---|---|
# | factor analysis | `N(W z + μ, Ψ)`, Ψ diagonal | **linear** (affine) in z | the mean: affine |
# | probabilistic PCA | `N(W z + μ, σ² I)` (FA with isotropic noise) | **linear** (affine) in z | the mean: affine |
# | VAE (this course) | `Bernoulli(f_θ(z))` per pixel | **non-linear**: `sigmoid(network)` | the logits: a network |
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
# EM. These closed forms need both a linear mean and Gaussian noise. In the VAE the logits of
# `p(x|z)` are a **non-linear** neural network, and the likelihood is Bernoulli on binarized pixels;
# either alone makes `p(x)` and `p(z|x)` intractable — even with linear logits (logistic PCA), a
# Gaussian prior and a Bernoulli likelihood are not conjugate. The VAE learns an approximate
# posterior `q_φ(z|x)` (the encoder) and maximizes a lower bound (notebook 04).
#
# The training method is not what separates them: a VAE whose decoder is linear-Gaussian (and
# whose encoder is linear with a diagonal Gaussian q) has PPCA's maximum-likelihood solution as
# the global maximum of its bound, and the bound is tight there (Lucas et al., 2019). What the VAE
# adds is the non-linear decoder (and, here, a different likelihood).
#
# The linearity gap *on the logits* isolates the first difference: at rounding level for PPCA and
# for the decoder with linear logits, far above it for the VAE's network. On the probabilities even
# the linear-logit decoder is far from affine: the sigmoid, the inverse of the logit link, makes
# `E[x|z]` non-linear whenever the likelihood is Bernoulli, so models are compared on their
# natural parameter, not on `E[x|z]`. The sample figure mixes all three differences (mean function,
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

# %% [markdown]
# ### Exercise — `sample_pixels`
# Given `probs = f_θ(z)` (any shape, values in [0, 1]) and a `torch.Generator`, return one sample
# of x from `p(x|z)`, a tensor of the same shape and dtype as `probs`, with all randomness taken from
# `generator` (so the same seed reproduces the sample).

# %%
def sample_pixels(probs, generator):
    """One sample of x from p(x|z), given the decoder's pixel probabilities probs = f(z) (same shape and dtype)."""
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
# samples are speckled binary images. Figures of "VAE samples" usually show the means `f(z)`. That
# is a convention: the model's actual samples are the speckled binary images, and the
# log-likelihoods of notebooks 02 and 05 are computed for binary images like them. Showing means
# hides a real weakness of this decoder: given z its pixels are independent, so it cannot model
# correlated pixel detail. The third panel puts PPCA's samples of Q1.1 beside them — samples beside
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
# What to look at: the prior's *density* is highest at the centre, and the disc of radius 0.5 there
# holds about density × area of the samples (the fraction printed above) — in two dimensions,
# nothing surprising: the centre is a typical region. The surprise comes with dimension, below. The
# mapped points avoid the centre entirely (`|g(z)| = |z|/10 + 1 ≥ 1`, so none
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
# the table (it tends to `1/√2` as D grows) while the radius grows like `√D`. So the shell is thin
# *relative to its radius* only when D is large: in D = 2 (the table's first row) it is not, and
# samples near 0 are common.
# The density at the origin is `e^{D/2}` times the density on that shell (`e^{10}` ≈ 22 000 for
# D = 20), but the shell's volume is larger by far more, so the shell holds almost all the mass.
# (The mass in a thin shell at radius r is the density there times the shell's volume, which grows
# like `r^{D−1}`: it is proportional to `r^{D−1} e^{−r²/2} dr`, which peaks at `r = √(D−1)`.)
#
# So in 20 dimensions `z = 0` is the prior's mode and mean, yet practically no sample comes near it:
# it is not a typical latent point, and neither is anything in the ball where the density is
# highest. The decoder, though, is not trained on prior samples but on the encoder's codes
# `z ~ q(z|x)`. Where their distribution (the aggregate posterior) matches the prior, they too have a
# norm of about `√D` and almost none lies near 0, and what the decoder makes of `z = 0` is
# interpolation between codes it was trained on; how closely they match depends on training (the
# cell below measures it for this run's VAE). Notebook 07 meets this again: the straight line
# between two typical points passes closer to the origin than its ends (for two independent prior
# draws its midpoint has a norm of about `√(D/2)`, not `√D`), through latent points of atypically
# small norm.
# </details>

# %%
# the encoder's codes z ~ q(z|x) of 500 validation images (one draw each), against the prior's shell
with torch.no_grad():
    mu, sigma = vae.encode(evaluation_images(data.val, binarize=True, n=500))
    codes = mu + sigma * torch.randn(mu.shape, generator=torch.Generator().manual_seed(6))
norms = codes.norm(dim=1)
print(f"|z| for z ~ q(z|x) ({data.pretty_name}, this run's VAE): mean {norms.mean():.2f}, sd {norms.std():.2f}, "
      f"fraction within radius 2: {(norms < 2).float().mean():.3f}")
print(f"|z| for z ~ p(z) = N(0, I_20)           : mean {mean_radius(20):.2f}, "
      f"sd {math.sqrt(20 - mean_radius(20) ** 2):.2f}, fraction within radius 2: {radius_cdf(20, 2.0):.1e}")

# %% [markdown]
# <details><summary><b>Worked answer (Q1.3)</b></summary>
#
# The prior is only the input to the decoder. For any target distribution there is a
# (measurable) function mapping `N(0, I_D)` onto it — e.g. through the Gaussian CDF to
# uniforms, then through (conditional) inverse CDFs; the ring above is a hand-made example. A neural
# network decoder `f_θ` is a flexible function approximator, so it can *learn* such a
# transformation (nothing says it factors into a "make structure" and a "draw images" stage).
# Choosing `N(0, I)` therefore costs
# little expressiveness and buys two things: trivial ancestral sampling (draw independent
# standard normals), and, with a Gaussian encoder q(z|x), a closed-form KL term in the loss
# (notebook 03). (The reparameterization trick of notebook 04 is *not* among them: it needs a
# way to write a sample of the *encoder's* q as a differentiable function of its parameters and
# of parameter-free noise — `z = μ + σ ⊙ ε` for a Gaussian — and with another prior whose
# log-density can be evaluated, the KL term, no longer in closed form, can be estimated from the
# same samples.)
#
# **Where "not restrictive" stops.** Two limits, both about the decoder being continuous. First,
# dimension: the CDF construction needs as many uniforms as the target has dimensions, so to fill
# 784-dimensional pixel space it needs a 784-dimensional z; from a 20-dimensional z only a
# discontinuous, space-filling map would do. A neural network is continuous (Lipschitz), so its mean images
# `f_θ(z)` lie on a set of dimension at most 20 inside the 784-dimensional pixel space; the
# likelihood — here independent Bernoulli pixels — supplies all the rest of the variation. That is
# why the choice of likelihood matters for what the model can express. Second, connectedness. The
# ring map happens not to be continuous at `z = 0`, but a ring is connected, and a continuous map
# can produce it too (for example `(1 + z₂/10)(cos 2πΦ(z₁), sin 2πΦ(z₁))`, Φ the Gaussian CDF). What
# no continuous map can do is tear the prior into disconnected pieces: it maps a connected set onto
# a connected set, so the decoder's
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
# there only about one time in twenty. Then set all five sliders to 0, the most likely value of each
# coordinate. **Predict first:** does that make z an atypical point of the prior, like `z = 0`? How
# much does the image change? (The callback is `course_utils.widgets.vae.LatentExplorer.update`; the time it took is
# shown under the image.)

# %%
typical_z = torch.randn(vae.z_dim, generator=torch.Generator().manual_seed(5))
explorer = LatentExplorer(vae.decode, vae.z_dim, coords=range(5), base=typical_z,
                          title="z[0..4] of the z = 20 VAE; z[5..19] from one prior draw")
explorer

# %% [markdown]
# <details><summary><b>Worked answer (five coordinates at 0)</b></summary>
#
# No. Typicality is a property of the whole vector, not of each coordinate: 0 is a typical value of
# one coordinate (a standard normal lies within ±0.5 of it 38 times in 100). Setting five of the
# twenty coordinates to 0 removes, on average, five of the twenty unit contributions to `‖z‖²`, so
# the norm falls from about `√20 ≈ 4.5` to about `√15 ≈ 3.9` — still inside the D = 20 shell of the
# table (sd about 0.7). Only when all twenty coordinates are near 0 is the point atypical, and no
# setting of these sliders does that. How much the image changes depends on the trained decoder;
# for this seed's base draw, compare the norms the cell below prints.
# </details>

# %%
# NBVAL_CHECK_OUTPUT
zeroed = typical_z.clone()
zeroed[:5] = 0.0
print(f"|z| of the base draw: {typical_z.norm():.2f}; with z[0..4] = 0: {zeroed.norm():.2f} "
      f"(the D = 20 shell: E|z| = {mean_radius(20):.2f}, sd {math.sqrt(20 - mean_radius(20) ** 2):.2f})")

# %% [markdown]
# ## Summary
#
# - FA, PPCA and the VAE are latent variable models with a `N(0, I)` prior; FA/PPCA are
#   linear-Gaussian (`p(x)` and `p(z|x)` in closed form; PPCA is also *fitted* in closed form, FA
#   iteratively, e.g. by EM). Closed forms need a linear mean *and* Gaussian noise: the VAE's
#   non-linear decoder, and its Bernoulli likelihood even with linear logits, each make the
#   posterior and the likelihood intractable; here they also differ in how they are fitted.
# - Ancestral sampling: `z ~ N(0, I)`, `f_θ(z)`, `x_m ~ Bernoulli(f_θ(z)_m)` per pixel.
# - A standard-normal prior is not very restrictive: a flexible decoder maps it onto complicated
#   shapes (though a continuous decoder cannot tear it into disconnected pieces); it buys easy
#   sampling and a closed-form KL.
# - The prior's density peaks at 0, but in many dimensions (already at D = 20) its mass lies in a
#   shell of radius about `√D` and constant thickness (about 0.7), thin relative to its radius: then
#   `z = 0` is not a typical latent point (in D = 2 it still is). Typicality is a property of the
#   whole vector, not of single coordinates.
#
# Next: notebook 02 asks how to *evaluate* `p(x)` for a VAE — and why the obvious Monte
# Carlo estimate fails.
