# %% [markdown]
# # 02 — The naive Monte Carlo estimate of log p(x) (Q1.4)
#
# To train or compare latent variable models by maximum likelihood we need
# `log p(x) = log ∫ p(x|z) p(z) dz`. For the VAE this integral has no closed form. The
# obvious fix is Monte Carlo: average `p(x|z)` over samples from the prior. This notebook
# implements that estimator and shows, with a model whose `log p(x)` is known exactly, why
# it fails as soon as the latent space has more than a few dimensions.
#
# **You will learn**
#
# - to write the naive estimator `log p(x) ≈ log (1/M) Σ_m p(x|z_m)`, `z_m ~ p(z)`, in log
#   space with `logsumexp` (exercise), and why the log space matters;
# - why it is inefficient: almost every prior sample explains x terribly, and the number
#   of samples needed grows like `exp(KL(p(z|x) ‖ p(z)))` — exponentially in the latent
#   dimension;
# - that sampling z from the encoder `q(z|x)` instead (importance sampling) fixes it.
#
# **Questions**
#
# - **Q1.4a** Write down a Monte Carlo estimate of `log p(x_n)` using samples `z^(m) ~ p(z)`.
# - **Q1.4b** Why is this estimator inefficient? How does the problem scale with the
#   dimension of z?

# %% [markdown]
# ## Setup
# The estimators come from `course_utils.vae.estimators` (`naive_log_px`, `iw_log_px`), the
# exact model from `course_utils.toys.linear_gaussian` (`LinearGaussian`) and the trained VAEs
# from `course_utils.vae.train`. Quick mode uses fewer samples,
# fewer images and barely trained VAEs; the linear-Gaussian results are the same in both modes.

# %%
import dataclasses
import inspect
import math

import matplotlib.pyplot as plt
import torch
from torch.distributions import MultivariateNormal, kl_divergence

from course_utils.core import load_data, pick, quick_mode, seed_everything
from course_utils.exercises import check_naive_log_px
from course_utils.toys import LinearGaussian
from course_utils.vae import VAEConfig, estimators, evaluation_images, train_vae, vae_iw_log_px, vae_naive_log_px
from course_utils.widgets import MonteCarloExplorer

seed_everything(0)
print("quick mode:", quick_mode())

# %% [markdown]
# ## Q1.4a — The estimator
#
# Because `p(x) = E_{z~p(z)}[p(x|z)]`, the law of large numbers gives, with `z^(m) ~ p(z)`,
#
# $$\log p(x_n) \approx \log \frac1M \sum_{m=1}^{M} p(x_n \mid z^{(m)})
#   = \operatorname{logsumexp}_m\big(\log p(x_n \mid z^{(m)})\big) - \log M .$$
#
# Two details matter.
#
# 1. **Average the probabilities, then take the log.** `log` of the average is not the
#    average of the logs: `E[log p(x|z)] ≤ log E[p(x|z)]` (Jensen), so averaging log-likelihoods
#    estimates a different, smaller number.
# 2. **Stay in log space.** For a 784-pixel image, `log p(x|z)` is hundreds of nats below 0,
#    and `exp(−800)` is 0 in floating point. `logsumexp` factors out the largest term first.

# %%
# NBVAL_CHECK_OUTPUT
log_lik = torch.tensor([-800.0, -805.0, -790.0])  # log p(x|z_m) for M = 3 samples, as for an image
print("exp(log p(x|z)):", torch.exp(log_lik).tolist())
print("log(mean(exp(.))):", torch.log(torch.exp(log_lik).mean()).item())
print(f"logsumexp(.) - log M: {(torch.logsumexp(log_lik, 0) - math.log(3)).item():.4f}")
print(f"mean of the logs (a different quantity): {log_lik.mean().item():.4f}")

# %% [markdown]
# ### Exercise — `naive_log_px`
# Given `log_px_given_z` of shape `(M, N)` — entry `[m, n]` is `log p(x_n | z^(m))` with
# `z^(m) ~ p(z)` — return the naive estimate of `log p(x_n)` for each n, shape `(N,)`.

# %%
# NBVAL_CHECK_OUTPUT
def naive_log_px(log_px_given_z):
    """log (1/M) sum_m p(x_n | z_m) from log p(x_n | z_m) of shape (M, N); returns (N,)."""
    ### BEGIN SOLUTION
    M = log_px_given_z.shape[0]
    return torch.logsumexp(log_px_given_z, dim=0) - math.log(M)
    ### END SOLUTION


check_naive_log_px(naive_log_px)

# %% [markdown]
# ## A model where the truth is known
#
# `LinearGaussian` is the linear-Gaussian model of notebook 01 (`z ~ N(0, I_d)`,
# `x = W z + b + ε`): `log p(x)` is exact, so the estimator's error can be measured. Read how
# `log p(x|z)` and the exact `log p(x)` are computed:

# %%
print(inspect.getsource(LinearGaussian.log_px_given_z))
print(inspect.getsource(LinearGaussian.log_px))

# %% [markdown]
# Your estimator on a model with d = 2 latent dimensions and 30 observed ones, for three data
# points, with M = 1 000 prior samples, next to the exact value and the package's
# `estimators.naive_log_px` (which draws the samples in memory-bounded chunks):

# %%
# NBVAL_CHECK_OUTPUT
model = LinearGaussian.random(x_dim=30, z_dim=2, noise_std=0.5, seed=2)
x, _ = model.sample(3, generator=torch.Generator().manual_seed(102))
z = torch.randn(1000, 3, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
yours = naive_log_px(model.log_px_given_z(x, z))
package = estimators.naive_log_px(x, model.log_px_given_z, z_dim=2, num_samples=1000,
                                  generator=torch.Generator().manual_seed(0))
for n in range(3):
    print(f"x_{n}: exact {model.log_px(x)[n]:.3f} | yours {yours[n]:.3f} | package {package[n]:.3f} nats")

# %% [markdown]
# <details><summary><b>Worked answer (Q1.4a)</b></summary>
#
# $$\log p(x_n) = \log \mathbb{E}_{p(z)}[p(x_n|z)]
#   \approx \log \frac1M \sum_{m=1}^M p(x_n|z^{(m)}),\qquad z^{(m)} \sim p(z) = N(0, I),$$
#
# computed as `torch.logsumexp(log_px_given_z, dim=0) - math.log(M)`, where for the VAE
# `log p(x_n|z) = Σ_pixels [x log f(z) + (1−x) log(1−f(z))]`. The estimate of `p(x)` is unbiased;
# its log is biased low (Jensen) but consistent as M → ∞. Averaging `log p(x|z)` instead
# estimates `E_{p(z)}[log p(x|z)]`, a different (smaller) quantity, and `log(mean(exp(·)))`
# underflows to −∞ for images.
# </details>

# %% [markdown]
# ## Q1.4b — Why it is inefficient
#
# The estimator is importance sampling for the integral `∫ p(x|z) p(z) dz` with the prior as
# proposal. The samples that matter are those where `p(x|z)` is large — where the **posterior**
# `p(z|x)` lives. When the posterior is much narrower than the prior, almost no prior sample
# lands there. A standard result on importance sampling (Chatterjee & Diaconis, 2018) is that
# the number of samples needed is about `exp(KL(target ‖ proposal))`, here
# `exp(KL(p(z|x) ‖ p(z)))`. Each latent dimension in which x is informative adds to that KL, so
# the number of samples grows **exponentially with the latent dimension**.
#
# **Numbers.** For one data point of linear-Gaussian models with d = 1 … 20: the exact KL from
# posterior to prior, `exp(KL)`, the *effective sample size* of M = 10 000 prior samples
# (`(Σw)²/Σw²` with weights `w_m = p(x|z_m)`; it counts how many samples actually contribute),
# and the error of the naive estimate with those samples.

# %%
# NBVAL_CHECK_OUTPUT
dims = [1, 2, 5, 10, 20]
M = 10_000
print(f"{'d':>3} {'log p(x)':>9} {'KL(post||prior)':>16} {'exp(KL)':>9} {'ESS of 10k':>11} {'naive - exact':>14}")
setups = {}
for d in dims:
    model = LinearGaussian.random(x_dim=30, z_dim=d, noise_std=0.5, seed=d)
    x, _ = model.sample(1, generator=torch.Generator().manual_seed(100 + d))
    mean, cov = model.posterior(x)
    kl = kl_divergence(MultivariateNormal(mean[0], cov),
                       MultivariateNormal(torch.zeros(d, dtype=cov.dtype), torch.eye(d, dtype=cov.dtype))).item()
    z = torch.randn(M, 1, d, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    log_w = model.log_px_given_z(x, z)[:, 0]
    ess = (1 / (torch.softmax(log_w, 0) ** 2).sum()).item()
    exact = model.log_px(x)[0].item()
    error = naive_log_px(log_w[:, None])[0].item() - exact
    setups[d] = (model, x, exact)
    print(f"{d:3d} {exact:9.2f} {kl:16.2f} {math.exp(kl):9.1e} {ess:11.1f} {error:14.2f}")

# %% [markdown]
# What to look at: with d = 1 or 2 a few hundred of the 10 000 samples contribute and the
# estimate is right to a few hundredths of a nat. At d = 5 the KL is about 10 nats, `exp(KL)`
# is in the tens of thousands, one sample carries nearly all the weight, and the estimate is
# nats too low. At d = 10 and 20 you would need some 10¹⁰ to 10¹⁶ samples — for a single
# data point; the estimate is off by a hundred nats or more — and always **too low** (the rare samples
# that would fix it are never drawn).
#
# **The estimate as M grows.** Five independent runs per dimension, M from 1 to 2¹⁷, plotted
# as the error `naive estimate − exact log p(x)` (0 is perfect; the y axis is linear between −1
# and 1 nat and logarithmic beyond, so errors of hundreds of nats fit on the same plot).
# Quick mode stops at 2¹⁴ samples.

# %%
max_log2 = pick(17, 14)
steps = sorted({int(round(2 ** (k / 2))) for k in range(0, 2 * max_log2 + 1)})
fig, ax = plt.subplots(figsize=(8, 4.5))
for i, d in enumerate(dims):
    model, x, exact = setups[d]
    for run in range(5):
        z = torch.randn(2 ** max_log2, 1, d, generator=torch.Generator().manual_seed(10 + run), dtype=torch.float64)
        log_w = model.log_px_given_z(x, z)[:, 0]
        errors = [naive_log_px(log_w[:m, None])[0].item() - exact for m in steps]
        ax.plot(steps, errors, color=f"C{i}", alpha=0.7, lw=1, label=f"d = {d}" if run == 0 else None)
ax.axhline(0.0, color="k", ls="--", lw=1)
ax.set_xscale("log")
ax.set_yscale("symlog", linthresh=1.0)
ax.set_xlabel("number of prior samples M")
ax.set_ylabel("naive estimate − exact log p(x) [nats]")
ax.set_title("Error of the naive estimate, 5 runs per latent dimension d (linear-Gaussian model)")
ax.legend(title="latent dimension", loc="upper left", bbox_to_anchor=(1.01, 1.0))
plt.show()

# %% [markdown]
# What to look at: for d = 1 and 2 every run settles at 0 after a few hundred samples. For
# d = 5 the runs are still jumping around (and a lucky sample can even overshoot). For d = 10
# and 20 the error is hundreds of nats and shrinks only in rare jumps, whenever one sample lands
# a little closer to the posterior — no practical M will do.
#
# ### On a trained VAE: naive versus importance sampling
#
# The cure is to sample where the posterior is: draw `z` from a proposal close to `p(z|x)` and
# reweight, `log p(x) ≈ log (1/k) Σ_i p(x|z_i) p(z_i)/q(z_i|x)`, `z_i ~ q(z|x)`. The VAE's encoder
# provides exactly such a `q(z|x)` — this is the importance-weighted (IW) estimate:

# %%
print(inspect.getsource(estimators.iw_log_px))

# %% [markdown]
# Train two VAEs, with z = 2 and z = 20 (cached; notebook 05 trains them longer), and estimate
# `log p(x)` for a few binarized test images with both estimators and a growing number of
# samples. Quick mode: tiny training and fewer samples — the shapes of the curves, not the values,
# are the point there.

# %%
data = load_data(pixels="dynamic")
data = dataclasses.replace(data, train=data.train.subset(pick(None, 3000)), val=data.val.subset(pick(None, 500)))
vaes = {z_dim: train_vae(VAEConfig(z_dim=z_dim, epochs=pick(5, 1)), data)[0] for z_dim in (2, 20)}
x_test = evaluation_images(data.test, binarize=True, n=pick(20, 5))
sample_counts = [1, 10, 100, 1000] + pick([10_000], [])
print(f"{len(x_test)} test images; sample counts {sample_counts}")

# %%
results = {}
for z_dim, vae in vaes.items():
    for name, estimate in (("naive (prior)", vae_naive_log_px), ("IW (encoder)", vae_iw_log_px)):
        values = [estimate(vae, x_test, k, generator=torch.Generator().manual_seed(0)).mean().item()
                  for k in sample_counts]
        results[(z_dim, name)] = values
        print(f"z = {z_dim:2d}, {name:13s}: " + ", ".join(f"{v:8.1f}" for v in values) + "  nats (mean over images)")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for ax, z_dim in zip(axes, (2, 20), strict=True):
    for name, style in (("naive (prior)", "o-"), ("IW (encoder)", "s-")):
        ax.plot(sample_counts, results[(z_dim, name)], style, label=name)
    ax.set_xscale("log")
    ax.set_xlabel("number of samples (M or k)")
    ax.set_ylabel("mean estimate of log p(x) [nats]")
    ax.set_title(f"VAE with z = {z_dim}")
    ax.legend()
fig.suptitle(f"Naive versus importance-weighted estimates on {len(x_test)} test images ({data.pretty_name})")
fig.tight_layout()
plt.show()

# %% [markdown]
# What to look at: with z = 2 both estimators agree once M is in the hundreds — a 2-D prior
# is small enough to cover. With z = 20 the naive estimate stays far below the IW estimate
# even with the most samples, and keeps creeping up: it has not converged. The IW estimate is
# nearly flat from k = 10 on, because the encoder puts its samples where `p(x|z)` is large.
# (Both are lower bounds in expectation, so the higher one is closer to the truth.)
#
# <details><summary><b>Worked answer (Q1.4b)</b></summary>
#
# Samples from the prior rarely fall where the posterior `p(z|x)` has its mass, so almost all
# terms `p(x|z^(m))` are negligible and the average is dominated by a few (or zero) lucky
# samples: the estimator has enormous variance, and its log is far too low for any feasible M.
# The number of samples needed scales roughly like `exp(KL(p(z|x) ‖ p(z)))`. Since the
# posterior concentrates in every latent dimension the data inform, this KL grows about linearly
# with the latent dimension, so the required M grows **exponentially** with dim(z) — the curse
# of dimensionality. The table shows it: KL ≈ 3, 4, 10, 24, 37 nats for d = 1, 2, 5, 10, 20, and
# the estimate fails from d = 5 on; on the VAE, z = 20 is hopeless for the naive estimator while
# importance sampling with the encoder `q(z|x)` as proposal converges with few samples. That is
# the motivation for the encoder and the ELBO (notebook 04).
# </details>

# %% [markdown]
# ## Explore: number of samples and latent dimension
#
# The slider `log₂ M` sets the number of prior samples, `latent d` the latent dimension of the
# linear-Gaussian model (one data point each). The plot shows the naive estimate after each
# number of samples and the exact value. (Everything is precomputed when the widget is built,
# so moving a slider only slices and redraws — `course_utils.widgets.vae.MonteCarloExplorer`.)

# %%
explorer = MonteCarloExplorer(dims=(1, 2, 5, 10, 20), max_log2=pick(16, 12))
explorer.widget

# %% [markdown]
# ## Summary
#
# - Naive estimate: `log p(x) ≈ logsumexp_m log p(x|z_m) − log M`, `z_m ~ p(z)` — in log space.
# - It needs about `exp(KL(p(z|x) ‖ p(z)))` samples: exponential in the latent dimension; in
#   practice hopeless beyond a handful of dimensions, and always biased low when it fails.
# - Sampling from an approximate posterior `q(z|x)` (importance sampling) fixes the problem —
#   which is why the VAE has an encoder. Notebook 04 turns `q(z|x)` into a training objective.
