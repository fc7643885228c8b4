# %% [markdown]
# # 02 — The naive Monte Carlo estimate of log p(x) (Q1.4)
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dgm-course/deep-generative-models/blob/main/notebooks/02_naive_monte_carlo.ipynb)
# [![Launch on Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/dgm-course/deep-generative-models/main?urlpath=lab/tree/notebooks/02_naive_monte_carlo.ipynb)
# · [read it with all outputs on the course website](https://dgm-course.github.io/deep-generative-models/notebooks/02_naive_monte_carlo.html)
#
# To train or compare latent variable models by maximum likelihood we need
# `log p(x) = log ∫ p(x|z) p(z) dz`. For the VAE this integral has no closed form. The
# obvious fix is Monte Carlo: average `p(x|z)` over samples from the prior. This notebook
# implements that estimator and measures, with a model whose `log p(x)` is known exactly, how many
# samples it needs for latent spaces of 1 to 20 dimensions.
#
# **You will learn**
#
# - to write the naive Monte Carlo estimate of `log p(x)` so that it survives log-likelihoods
#   of hundreds of nats (exercise);
# - why it is inefficient, and what sets the number of samples it needs — measured on a model
#   where `log p(x)` is exact;
# - what sampling z from an approximate posterior `q(z|x)` instead (importance sampling) changes —
#   and how good a proposal the q that a VAE learns is.
#
# **Questions**
#
# - **Q1.4a** Write down a Monte Carlo estimate of `log p(x_n)` using samples `z^(m) ~ p(z)`.
# - **Q1.4b** Why is this estimator inefficient? How does the problem scale with the
#   dimension of z?
#
# Each question starts with a *predict first* prompt; the worked answers stay collapsed until you
# open them. About 45 minutes.

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
# The estimators come from `course_utils.vae.estimators` (`naive_log_px`, `iw_log_px`), the
# exact model from `course_utils.toys.linear_gaussian` (`LinearGaussian`) and the trained VAEs
# from `course_utils.vae.train`. Quick mode uses fewer samples,
# fewer images and barely trained VAEs; the linear-Gaussian results are the same in both modes.
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

from course_utils.core import load_data, pick, quick_mode, seed_everything, set_threads, use_reference_models
from course_utils.course import intro_data, intro_vae_config, record
from course_utils.exercises import check_naive_log_px
from course_utils.toys import (
    LinearGaussian,
    collinear_model,
    effective_sample_size,
    ess_summary,
    iw_errors,
    iw_proposals,
    naive_setup,
    running_errors,
    weight_variance_margin,
)
from course_utils.toys.elbo_gap import PROPOSAL_LABELS
from course_utils.toys.naive_mc import convergence_summary
from course_utils.vae import estimators, evaluation_images, train_vae, vae_iw_log_px, vae_naive_log_px
from course_utils.vae.losses import kl_std_normal
from course_utils.widgets import MonteCarloExplorer

TRAIN_HERE = False  # True (then re-run this cell): train the models here, not load the course's reference models
use_reference_models(not TRAIN_HERE)  # this kernel only; COURSE_TRAIN_HERE=1 in the environment: every notebook
set_threads()
seed_everything(0)
print("quick mode:", quick_mode())

# %% [markdown]
# ## Q1.4a — The estimator (about 10 minutes)
#
# **Predict first.** Write `p(x)` as an expectation over the prior, and from that a Monte Carlo
# estimate of `log p(x_n)` with M samples `z^(m) ~ p(z)`. Then: for an image, `log p(x|z)` is
# hundreds of nats below zero. What is `exp(−800)` in floating point, and what does that do to your
# estimate if you compute it the way you wrote it?
#
# Check the second part here:

# %%
# NBVAL_CHECK_OUTPUT
log_lik = torch.tensor([-800.0, -805.0, -790.0], dtype=torch.float64)  # log p(x|z_m), M = 3, as for an image
print("exp(log p(x|z)) in float64:", torch.exp(log_lik).tolist())
print("the log of their mean      :", torch.log(torch.exp(log_lik).mean()).item())
print(f"the smallest positive float64: exp({math.log(math.ulp(0.0)):.1f}); "
      f"float32: exp({math.log(torch.finfo(torch.float32).smallest_normal * 2 ** -23):.1f})")

# %% [markdown]
# ### Exercise — `naive_log_px`
# Given `log_px_given_z` of shape `(M, N)` — entry `[m, n]` is `log p(x_n | z^(m))` with
# `z^(m) ~ p(z)` — return the naive estimate of `log p(x_n)` for each n, shape `(N,)`, in the
# dtype of the input. It must be right for any M, for log-likelihoods of −1000 nats, and for float32
# batches whose images lie hundreds of nats apart (as a batch of real images does).

# %%
def naive_log_px(log_px_given_z):
    """The naive estimate of log p(x_n) from log p(x_n | z_m) of shape (M, N), z_m ~ p(z); returns (N,)."""
    ### BEGIN SOLUTION
    M = log_px_given_z.shape[0]
    return torch.logsumexp(log_px_given_z, dim=0) - math.log(M)
    ### END SOLUTION

# %%
# Autograded check: 1 point
# NBVAL_CHECK_OUTPUT
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
# Look at the three rows: is every estimate below the exact value? If not, does that contradict
# Jensen's inequality, which says the estimate is biased low? Decide before you open the answer.

# %% [markdown]
# <details><summary><b>Worked answer (Q1.4a)</b></summary>
#
# Because `p(x) = ∫ p(x|z) p(z) dz = E_{z~p(z)}[p(x|z)]`, the law of large numbers gives
#
# $$\log p(x_n) \approx \log \frac1M \sum_{m=1}^M p(x_n|z^{(m)})
#   = \operatorname{logsumexp}_m\big(\log p(x_n \mid z^{(m)})\big) - \log M,
#   \qquad z^{(m)} \sim p(z) = N(0, I),$$
#
# computed as `torch.logsumexp(log_px_given_z, dim=0) - math.log(M)`, where for the VAE
# `log p(x_n|z) = Σ_pixels [x log f(z) + (1−x) log(1−f(z))]`. Two details matter:
#
# 1. **Average the probabilities, then take the log.** Averaging `log p(x|z)` instead estimates
#    `E_{p(z)}[log p(x|z)]`, which by Jensen's inequality is below `log E[p(x|z)] = log p(x)`: a
#    different number. It has a name: it is the ELBO of notebook 04 with the prior as q (the KL term
#    `KL(p(z) ‖ p(z))` is 0), below `log p(x)` by `KL(p(z) ‖ p(z|x))` — the first row of notebook
#    04's table, about 40 nats below `log p(x)` there. (Note the direction: this gap is
#    `KL(p(z) ‖ p(z|x))`; the naive estimator's cost, in Q1.4b, depends on the reverse,
#    `KL(p(z|x) ‖ p(z))`, and the two differ.)
# 2. **Stay in log space.** `exp(−800)` is 0 even in float64, so `log(mean(exp(·)))` is −∞ for
#    images. `logsumexp` factors out the largest term first — each image's own, over its M samples:
#    `log Σ e^{a_m} = a_max + log Σ e^{a_m − a_max}`, where every exponent is ≤ 0 and one is 0. (A
#    maximum shared by all images underflows for images hundreds of nats below it; subtracting
#    anything smaller than the maximum, such as the mean, can overflow.)
#
# The average inside the log is an unbiased estimate of `p(x)`. Its log is not unbiased: by
# Jensen, `E[log p̂] ≤ log E[p̂] = log p(x)`, so the estimate is biased low *in expectation* — a
# single run can still land above the truth (the plot below shows runs that do). It is consistent:
# it converges to `log p(x)` as M → ∞.
#
# It is also the simplest case of importance sampling: with a proposal q, `p(x) = E_q[p(x, z)/q(z)]`,
# and the *importance-weighted* estimate `log (1/M) Σ_m p(x, z_m)/q(z_m)`, `z_m ~ q`, is the naive
# estimate when q is the prior (the weights `p(x, z)/p(z)` are then `p(x|z)`). With a better q the
# same formula is the IW estimate used below.
# </details>

# %% [markdown]
# ## Q1.4b — Why it is inefficient (about 30 minutes)
#
# **Predict first.** The average inside the log is an unbiased estimate of `p(x)`. Why can it still
# be useless for every M you can afford? Which samples z contribute most to the sum, and how often
# does a draw from the prior produce one? Guess how the M you need grows with the latent dimension d.
#
# **Numbers.** For one data point of a linear-Gaussian model with d = 1 … 20 latent dimensions
# (the same model family as notebook 01; `naive_setup(d)` draws the model with seed d), the table
# gives the exact `log p(x)`; two exact divergences from the posterior to the prior — the KL, with
# `exp(KL)`, and the chi-square divergence as `1 + χ² = E_prior[w²] / E_prior[w]²`, the second moment
# of the normalised weights `w_m = p(x|z_m)`; the *effective sample size* of M = 10 000 prior samples
# (`(Σw)²/Σw²`; it counts how many samples actually contribute); and the error of the naive estimate
# with those samples. (How the two divergences enter is part of the worked answer.)

# %%
print(inspect.getsource(naive_setup))

# %%
# NBVAL_CHECK_OUTPUT
dims = [1, 2, 5, 10, 20]
M = 10_000
print(f"{'d':>3} {'log p(x)':>9} {'KL(post||prior)':>16} {'exp(KL)':>9} {'1 + chi^2':>9} {'ESS of 10k':>11} "
      f"{'naive - exact':>14}")
setups, table = {}, {}
for d in dims:
    case = setups[d] = naive_setup(d)
    log_w = case.log_w(torch.randn(M, 1, d, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    error = naive_log_px(log_w[:, None])[0].item() - case.exact
    table[d] = {"ess": effective_sample_size(log_w), "error": error}
    print(f"{d:3d} {case.exact:9.2f} {case.kl:16.2f} {math.exp(case.kl):9.1e} {case.one_plus_chi2:9.1e} "
          f"{table[d]['ess']:11.1f} {error:14.2f}")
record("naive estimate minus exact log p(x) (d = 20, M = 10 000)", table[20]["error"], "nats")

# %% [markdown]
# What to look at: `exp(KL)` grows from about 20 to about 10¹⁶ between d = 1 and d = 20, and
# `1 + χ²` from about 20 to about 10¹⁷; it is never below `exp(KL)` (the worked answer says why the
# two columns matter). With M = 10 000 the effective sample size is in the hundreds for d = 1
# and about a hundred for d = 2, and the error is below a tenth of a nat; from d = 5 on
# one sample carries nearly all the weight (an ESS between 1 and 2) and the estimate is nats
# (d = 5) to hundreds of nats (d = 20) too low.
#
# An ESS of 1–2 is noise, not a measurement: it only says that one weight dominates, not how far
# the dominating sample is from the posterior. Here d = 20 shows a *larger* ESS than d = 10, yet its
# error is about twice as large.
#
# (The KL also grows from row to row, but the rows are not one model with more latent
# dimensions: each d has its own random W, so the table shows the trend, not a law. For a trained
# VAE, what matters is how many latent dimensions the data actually inform — its *active* units,
# notebook 04.)
#
# **The estimate as M grows.** Five independent runs per dimension, M from 1 to 2¹⁷, plotted
# as the error `naive estimate − exact log p(x)` (0 is perfect; the y axis is linear between −1
# and 1 nat and logarithmic beyond, so errors of hundreds of nats fit on the same plot). The same
# runs in quick and full mode (they are cheap).

# %%
max_log2 = 17
steps = torch.tensor(sorted({int(round(2 ** (k / 2))) for k in range(0, 2 * max_log2 + 1)}))
errors = {d: running_errors(setups[d], runs=5, max_log2=max_log2) for d in dims}
fig, ax = plt.subplots(figsize=(8, 4.5))
for i, d in enumerate(dims):
    for run in range(5):
        ax.plot(steps, errors[d][run, steps - 1], color=f"C{i}", alpha=0.7, lw=1,
                label=f"d = {d}" if run == 0 else None)
ax.axhline(0.0, color="k", ls="--", lw=1)
ax.set_xscale("log")
ax.set_yscale("symlog", linthresh=1.0)
ax.set_xlabel("number of prior samples M")
ax.set_ylabel("naive estimate − exact log p(x) [nats]")
ax.set_title("Error of the naive estimate, 5 runs per latent dimension d (linear-Gaussian model)")
ax.legend(title="latent dimension", loc="upper left", bbox_to_anchor=(1.01, 1.0))
plt.show()

# %% [markdown]
# The same runs in numbers: at M = 256, the largest |error| over the five runs and the largest
# overshoot *above* the truth; the M from which all five runs stay within 0.05 nats; and, next to
# it, `(1 + χ²) / 0.05²` from the table's chi-square column (the worked answer explains it).

# %%
# NBVAL_CHECK_OUTPUT
summary = convergence_summary(dims, runs=5, max_log2=max_log2, at=256)
print(f"{'d':>3} {'max |error|, M=256':>19} {'max overshoot, M=256':>21} {'all within 0.05 nats from M =':>30} "
      f"{'(1 + chi^2) / 0.05^2':>21}")
for d, row in summary.items():
    settled = ("not by 2^17" if row["settled_from"] is None
               else f"{row['settled_from']} (2^{row['settled_from_log2']:.1f})")
    print(f"{d:3d} {row['max_abs_error_at']:19.2f} {row['max_overshoot_at']:+21.2f} {settled:>30} "
          f"{setups[d].one_plus_chi2 / 0.05 ** 2:21.1e}")

# %% [markdown]
# What to look at: even for d = 1 and 2 the runs do not settle after a few hundred samples — at
# M = 256 the d = 2 runs are off by up to 0.7 nats, in both directions, and all five stay within
# 0.05 nats of the truth only from M ≈ 11 000 (d = 1) and M ≈ 115 000 (d = 2). Some runs lie
# *above* the truth: the estimate is biased low only in expectation (Jensen, in the worked answer
# of Q1.4a), and a run that happened to draw a lucky sample overshoots. For d = 5 the runs are
# still off by tenths of a nat after 2¹⁷ samples. For d = 10 and 20 the error after 2¹⁷ samples is
# tens to hundreds of nats and shrinks only in rare jumps, whenever one sample lands a little closer
# to the posterior — no practical M will do. The last column, `(1 + χ²)/0.05²`, is of the same order
# as the observed M for d = 1 and within a factor of about three of it for d = 2 (the observed M asks
# more: all five runs, at every larger M); for d = 5 it is far beyond 2¹⁷, where no run settled.
#
# ### A better proposal — and how good is the VAE's?
#
# The cure is to sample where the posterior is: draw `z` from a proposal q close to `p(z|x)` and
# reweight, `log p(x) ≈ log (1/k) Σ_i p(x|z_i) p(z_i)/q(z_i|x)`, `z_i ~ q(z|x)` — the
# importance-weighted (IW) estimate:

# %%
print(inspect.getsource(estimators.iw_log_px))

# %% [markdown]
# A VAE has such a q: its encoder. But the encoder is trained to maximise the ELBO, which means
# minimising `KL(q(z|x) ‖ p(z|x))` — the reverse KL of notebook 03.
#
# **Predict first.** Is the q with the best ELBO also the best proposal for importance sampling?
# Which matters more for a proposal: to sit where the posterior has its mass, or not to be
# narrower than the posterior anywhere? (Recall which way notebook 03's reverse-KL fits err.)

# %% [markdown]
# A test where everything is exact: notebook 04's linear-Gaussian model (`collinear_model`), whose
# 2-D posterior has a correlation of about −0.94, and four Gaussian proposals for its first data
# point (`iw_proposals`): the diagonal q with the best ELBO (what a perfect diagonal-Gaussian encoder
# would output), a diagonal q at the posterior mean with the posterior's marginal standard
# deviations, the prior (the naive estimate), and the posterior with its covariance doubled. For
# each, the IW error over 50 seeded runs (mean ± standard deviation, nats), and the smallest
# eigenvalue of `2 Λ − Σ_q⁻¹` (Λ the posterior precision, Σ_q the proposal's covariance); the worked
# answer says what its sign means.

# %%
# NBVAL_CHECK_OUTPUT
lg_model, lg_x = collinear_model()
ks = (1, 10, 100, 1000, 10_000)
print(f"{'proposal':27s} {'2Λ - Σq⁻¹ min eig':>17} | " + " | ".join(f"{'k = ' + str(k):>15}" for k in ks))
for key, (mean_q, cov_q) in iw_proposals(lg_model, lg_x[:1]).items():
    err = iw_errors(lg_model, lg_x[:1], mean_q, cov_q, ks=ks, seeds=range(50))
    print(f"{PROPOSAL_LABELS[key]:27s} {weight_variance_margin(lg_model, cov_q):17.2f} | "
          + " | ".join(f"{m:+7.2f} ± {s:5.2f}" for m, s in zip(err.mean(0).tolist(), err.std(0).tolist(),
                                                                strict=True)))

# %% [markdown]
# <details><summary><b>Worked answer (the encoder as a proposal)</b></summary>
#
# No. The best-ELBO diagonal q sits where the posterior is, but it is narrower than the posterior
# along the posterior's long diagonal axis (notebook 04 shows why a reverse-KL fit does this). A
# Gaussian proposal that is too narrow for its Gaussian target — precisely, when `2Λ − Σ_q⁻¹` is not
# positive definite; in one dimension, when its standard deviation is below the target's divided
# by √2 — gives importance weights of *infinite variance*: its eigenvalue column is negative.
# Then the estimate is dominated by rare samples in q's thin tails, and its error shrinks only
# slowly and erratically with k — in the table its mean error is still about −0.3 nats at
# k = 10 000, while the wider diagonal q, the prior, and the inflated posterior are all within a few
# hundredths of a nat there. The wider diagonal q has a *worse* ELBO and is a *better* proposal.
# In these two dimensions even the prior beats it at large k — the prior's trouble is dimension
# (the table above), not its tails.
#
# So a proposal must not be much narrower than its target anywhere: narrower by more than a factor
# √2 in some direction makes the weights' variance infinite. Wider keeps the variance finite but is
# not free: every unnecessary factor of width costs samples, multiplied across directions. For a
# Gaussian target and a proposal r times as wide in each of 20 directions, `1 + χ² = (r²/√(2r² − 1))²⁰`
# (`scaled_proposal_chi2`): about 40 for r = 1.5 and about 3 900 for r = 2 — and the prior, wider than
# the posterior in every informed direction, is the extreme case (the `1 + χ²` column of the first
# table). Narrow costs faster than wide: r = 0.9 gives only 1.8, r = 0.8 about 45, r = 0.75 about
# 11 000, and below `1/√2` it is infinite.
#
# A VAE's encoder, fitted by the mode-seeking reverse KL (notebook 03), tends to err on the narrow
# side. IW with the encoder replaces the prior–posterior mismatch by the q–posterior mismatch, usually
# much smaller; but that mismatch also compounds over dimensions, and a q too narrow in some
# direction makes the variance infinite — then the error shrinks slowly and erratically with k, and
# IW can need more samples than the ELBO suggests.
# </details>
#
# ### On a trained VAE: naive versus importance sampling

# %% [markdown]
# Train (full mode: load) two VAEs, with z = 2 and z = 20, 5 epochs each (1 in quick mode; notebook 05 trains
# them longer), and estimate
# `log p(x)` for a few binarized test images with both estimators and a growing number of
# samples. Quick mode: tiny training and fewer samples, so its numbers differ from full mode's; the
# lines printed under the figure say what this run shows.

# %%
data = load_data(pixels="dynamic")
data = intro_data(data)  # all training images in full mode, 3 000 in quick mode
vaes = {z_dim: train_vae(intro_vae_config(z_dim), data)[0] for z_dim in (2, 20)}
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
        print(f"z = {z_dim:2d}, {name:13s}: " + ", ".join(f"{v:8.1f}" for v in values)
              + f"  nats (mean over {data.pretty_name} test images)")

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
first, last = sample_counts[0], sample_counts[-1]
for z_dim in (2, 20):
    naive, iw = results[(z_dim, "naive (prior)")], results[(z_dim, "IW (encoder)")]
    with torch.no_grad():
        kl_q = kl_std_normal(*vaes[z_dim].encode(x_test)).mean().item()
    print(f"z = {z_dim:2d}: mean KL(q(z|x) || p(z)) = {kl_q:5.1f} nats; "
          f"IW - naive = {iw[0] - naive[0]:6.1f} nats at {first} sample(s), {iw[-1] - naive[-1]:6.1f} nats "
          f"at {last}; from {sample_counts[-2]} to {last} samples the naive "
          f"estimate moved {naive[-1] - naive[-2]:+.1f} nats, the IW estimate {iw[-1] - iw[-2]:+.1f} nats")
    record(f"IW minus naive estimate at k = {last} (z = {z_dim}, notebook 02)", iw[-1] - naive[-1], "nats")

# %% [markdown]
# What to look at: the lines printed under the figure give, for each VAE, the encoder's average
# `KL(q(z|x) ‖ p(z))` over the test images — a stand-in for the `KL(p(z|x) ‖ p(z))` that sets the
# naive estimate's cost —, the gap between the IW and the naive estimate at the fewest and at the
# most samples, and how much each estimate still moved over the last tenfold increase in samples.
# An estimate that still moves by nats there has not converged; where the naive estimate has come
# up to the IW estimate, prior samples have covered the posteriors. Whether they can depends on that
# KL, not on the latent dimension as such: a 2-D VAE whose posteriors are narrow and far from the
# origin can need as many prior samples as a 20-D one. The KL changes with training, so quick mode
# (barely trained VAEs) and full mode print different numbers, and in quick mode the two panels can
# look alike. Both estimates are lower bounds *in expectation*, so on average the higher one is
# closer to the truth; a single estimate can lie above `log p(x)`, so comparing two single numbers
# is evidence, not proof.
#
# <details><summary><b>Worked answer (Q1.4b)</b></summary>
#
# The estimator is importance sampling for the integral `∫ p(x|z) p(z) dz` with the prior as the
# proposal. Samples from the prior rarely fall where the posterior `p(z|x)` has its mass, so almost
# all terms `p(x|z^(m))` are negligible and the average is dominated by a few (or zero) lucky
# samples: the estimator has enormous variance, and its log is far too low for any feasible M.
#
# How many samples are needed? Two results on importance sampling answer two questions.
#
# - **A threshold.** Below about `exp(KL(target ‖ proposal))` samples — here `exp(KL(p(z|x) ‖ p(z)))` —
#   the estimate is typically off by a lot (nats, not hundredths); from roughly that many on it can
#   start to be right (Chatterjee & Diaconis, 2018, prove a precise version when log w is
#   concentrated around its mean).
# - **An accuracy.** The normalised weights `w/E[w]` have variance `χ²(p(z|x) ‖ p(z))`, the chi-square
#   divergence, so the average of M of them has a relative standard deviation of exactly `√(χ²/M)`.
#   Once that is small (M ≫ χ²) it is also about the error of the log in nats, so `M ≈ (1 + χ²)/ε²`
#   samples are enough for an error of about ε nats (for large χ², `1 + χ²` and χ² are the same).
#   Enough, not always necessary: this is Chebyshev's bound, and when the weights are heavy-tailed χ²
#   can be far larger than `exp(KL)`, while Chatterjee & Diaconis show that about `exp(KL)` samples,
#   times a factor set by the accuracy asked for and by how concentrated log w is, can already do.
#   Always `1 + χ² ≥ exp(KL)` (Jensen's inequality). With this notebook's Gaussian models the
#   χ² rule is also about what is needed: for d = 1 the threshold is about 20 samples, while an
#   accuracy of 0.05 nats needs about ten thousand — the order of the M at which the five runs
#   settled.
#
# Both costs grow **exponentially** with the KL (and with `log(1 + χ²)`), not with the dimension as
# such. The dimension enters through the KL: in this linear-Gaussian model the posterior is narrower
# than the prior in every latent direction the data inform (for any model this holds on average
# over x — the prior's variance is the average posterior variance plus the variance of the
# posterior mean — though for one x a non-linear model's posterior can be wider, or multimodal, in
# some direction); both that narrowing and the posterior mean's offset from 0 add to the KL, and
# directions that are independent under both distributions add their KLs and multiply their
# `1 + χ²`. In the table's models each dimension adds about two to three nats. So the cost grows
# exponentially with the number of informed latent dimensions when each adds a comparable amount —
# the curse of dimensionality — while one sharply informed dimension can cost as much as several
# loose ones. (In the table each d is a different random model, so its divergences show the trend,
# not a law; for a trained VAE it is the number of active latent units, and how sharply each is
# informed, that counts.) The table and the plot show the consequence: for d = 1 and 2 the
# estimate is within a nat from about two hundred samples on, but all five runs stay within 0.05 nats
# only from about 11 000 (d = 1) and 115 000 (d = 2) samples; from d = 5 on it fails. On the VAE
# with z = 20 the naive estimate stays below the IW estimate with the encoder as the proposal by the
# gap printed under the figure. That is the motivation for the encoder and the ELBO (notebook 04).
# The encoder is usually a far better proposal than the prior, not an ideal one — fitted by the
# reverse KL, it tends to be too narrow, as the four-proposal table showed — and the IW estimate
# itself becomes a training objective: *importance-weighted autoencoders* (IWAE, Burda et al.,
# 2016) maximise `E[IW_k]`, a lower bound on `log p(x)` that rises with k, tighter than the ELBO
# (which is `E[IW_1]`).
# </details>

# %% [markdown]
# ## Explore: number of samples and latent dimension
#
# The slider `log₂ M` sets the number of prior samples, `latent d` the latent dimension. The models
# and data points are those of the table, and the five runs those of the plot above (the table's
# M = 10 000 column used other samples), so the runs' numbers match the plot: the plot shows each
# run's naive estimate after every number of samples and the exact value; the text below it gives
# `KL(p(z|x) ‖ p(z))`, `exp(KL)`, and each run's error and effective sample size at the chosen M.
#
# **Predict first.** The ESS is read as "this many samples' worth of information". If that reading
# is right, about how large (in nats) is the error of an estimate with an ESS of 10? For d = 1 and 2,
# find the M at which each run's ESS first exceeds 10 and compare the runs' errors there with your
# guess. For d = 5, does any run reach an ESS of 10? If not, how large are its errors? And what did
# the table show about the ESS for d = 10 and 20?
# (Everything is precomputed when the widget is built, so moving a slider only slices and redraws —
# `course_utils.widgets.vae.MonteCarloExplorer`. Quick mode stops at 2¹⁴; the cell below it uses the
# runs up to 2¹⁷ in both modes.)

# %%
explorer = MonteCarloExplorer(dims=(1, 2, 5, 10, 20), max_log2=pick(17, 14))
explorer

# %%
# NBVAL_CHECK_OUTPUT
ess_rows = ess_summary(dims=(1, 2, 5), runs=5, max_log2=17, threshold=10.0)
for d, row in ess_rows.items():
    firsts = ", ".join("never" if m is None else str(m) for m in row["first_m_above"])
    at_first = [abs(e) for e in row["error_at_first_m"] if e is not None]
    worst = f"{max(at_first):.2f} nats" if at_first else "-"
    print(f"d = {d}: first M with ESS > 10, per run: {firsts}; largest |error| there: {worst}; at 2^17: ESS "
          f"{min(row['ess_at_max']):.1f} to {max(row['ess_at_max']):.1f} (M/(1 + chi^2) = "
          f"{2 ** 17 / setups[d].one_plus_chi2:.1f}), |error| "
          f"{min(abs(e) for e in row['errors_at_max']):.2f} to {max(abs(e) for e in row['errors_at_max']):.2f} nats")

# %% [markdown]
# <details><summary><b>Worked answer (the ESS)</b></summary>
#
# For d = 1 every run passes an ESS of 10 after a few hundred samples, and for d = 2 after several
# hundred to about a thousand; at that moment some runs are still off by tenths of a nat. That is
# what "ten samples' worth" predicts. While the weights are well behaved (M ≫ χ²), the ESS is about
# `M/(1 + χ²)` (the printout compares the two at 2¹⁷) and the error about `√(χ²/M)` nats, so the
# error is about `1/√ESS`: about 0.3 nats at an ESS of 10, and 0.05 nats needs an ESS of about 400.
# For d = 5 no run reaches an ESS of 10 even after 2¹⁷ samples, while the errors at 2¹⁷ range from
# about a tenth to about six tenths of a nat — still of the order of `1/√ESS`.
#
# Where the ESS fails is weight the draws have missed. It is computed from the same weights as the
# estimate, so it says how evenly the drawn weights are spread, not how much weight was never drawn.
# When one weight dominates (d = 10 and 20 in the table) it is between 1 and 2 whatever the error —
# there the larger ESS went with the larger error —, so it says "unreliable" without saying by how
# much. And when the draws miss part of the target altogether (a posterior mode the proposal never
# visits), the ESS can look fine while the estimate is wrong: a large ESS is necessary for a
# reliable estimate, not sufficient.
# </details>

# %% [markdown]
# ## Summary
#
# - Naive estimate: `log p(x) ≈ logsumexp_m log p(x|z_m) − log M`, `z_m ~ p(z)` — in log space; it is
#   importance sampling with the prior as the proposal. Averaging the logs instead gives the ELBO
#   with q = prior, a different (lower) number.
# - Below about `exp(KL(p(z|x) ‖ p(z)))` samples it is typically off by nats; once M ≫ χ², its error
#   is about `√(χ²/M)` nats, so about `(1 + χ²(p(z|x) ‖ p(z)))/ε²` samples suffice for an error of
#   about ε nats (with this notebook's Gaussian weights, about that many are also needed). The cost
#   is set by how far the posterior is from the prior, not by the dimension as such; but each latent
#   dimension the data inform adds to the KL, so in practice the estimate is hopeless beyond a
#   handful of informed dimensions. It is biased low in expectation (Jensen), though single runs can
#   overshoot. While the weights are well behaved its error is about `1/√ESS` nats; the ESS cannot
#   see weight the draws missed.
# - Sampling from an approximate posterior `q(z|x)` instead (importance sampling) makes the cost
#   depend on how far the posterior is from q, not from the prior — the motivation for the VAE's
#   encoder. A good proposal must not be much narrower than the posterior anywhere (by more than a
#   factor √2 in some direction, the weights' variance is infinite), and every unnecessary factor of
#   width costs samples too; the encoder, fitted by the reverse KL, tends to be too narrow, so IW
#   with it can need more samples than its ELBO suggests. Notebook 04 turns `q(z|x)` into a training
#   objective; IWAE trains on the IW bound itself.
