# %% [markdown]
# # 04 — The ELBO and the reparameterization trick (Q1.6–Q1.11)
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dgm-course/deep-generative-models/blob/main/notebooks/04_elbo_reparameterization.ipynb)
# [![Launch on Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/dgm-course/deep-generative-models/main?urlpath=lab/tree/notebooks/04_elbo_reparameterization.ipynb)
# · [read it with all outputs on the course website](https://dgm-course.github.io/deep-generative-models/notebooks/04_elbo_reparameterization.html)
#
# Notebook 02 showed that `log p(x)` of a VAE cannot be estimated well by sampling the prior;
# notebook 03 gave the KL divergence between Gaussians. Here the two meet: an approximate
# posterior `q(z|x)` turns `log p(x)` into a tractable **lower bound**, the ELBO, which the VAE
# maximizes. Then we make its gradient computable with the **reparameterization trick**.
#
# **You will learn**
#
# - the identity `log p(x) − KL(q(z|x) ‖ p(z|x)) = E_q[log p(x|z)] − KL(q(z|x) ‖ p(z))`, two ways
#   (Bayes' rule and Jensen's inequality), why the right side is a lower bound, and to check it to
#   four decimals on a model where everything is exact — with your own KL between full-covariance
#   Gaussians (the harder exercise);
# - what goes wrong with the tempting `log E_q[p(x|z)]` in place of `E_q[log p(x|z)]`;
# - why we optimize a bound at all, and what happens when the bound is pushed up;
# - what each of the two terms of the VAE loss does, how to read them as the cost of a code, inactive
#   latent units, and the per-example loss with a Bernoulli decoder (exercise);
# - whether gradients pass through a sample of q, and how to make them (exercise), and how the
#   resulting gradient's variance compares with the score function's — and under which conditions.
#
# **Questions**
#
# - **Q1.6** Show `log p(x_n) − KL(q(Z|x_n) ‖ p(Z|x_n)) = E_{q(z|x_n)}[log p(x_n|Z)] − KL(q(Z|x_n) ‖ p(Z))`.
#   Why is the right-hand side a lower bound on `log p(x_n)`?
# - **Q1.7** Why must we optimize the lower bound instead of `log p(x_n)` directly?
# - **Q1.8** What can happen to `log p(x_n)` and to `KL(q(Z|x_n) ‖ p(Z|x_n))` when the lower bound is pushed up?
# - **Q1.9** Name the two terms of the loss and say what each does.
# - **Q1.10** Write the per-example loss for one sample z and a Bernoulli decoder.
# - **Q1.11** Why can we not backpropagate through a sample of `q(z|x)`, and how does the
#   reparameterization trick solve it?
#
# Each question starts with a *derive* or *predict first* prompt; the worked answers stay
# collapsed until you open them. About 90 minutes.

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
# Exact ELBOs, posteriors and `log p(x)` come from `course_utils.toys.linear_gaussian.LinearGaussian`;
# the comparisons from `course_utils.toys.elbo_gap`; the gradient estimators from
# `course_utils.toys.gradient_estimators`; the VAE's loss pieces from `course_utils.vae.losses` and
# the latent-usage numbers from `course_utils.vae.metrics`. Quick mode only shortens the optimisation
# demo and the sample counts of the plots, and trains the VAE of Q1.9 differently (full mode: all images
# for 15 epochs at batches of 256 and a peak learning rate of 3e-3 decaying along a cosine — notebook
# 05's recipe, shorter; quick mode: 3 000 images for 5 epochs at the assignment's batches of 128 and
# rate 1e-3, with the same decay).
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
import torch.nn.functional as F
from torch.distributions import Normal

from course_utils.core import load_data, pick, quick_mode, seed_everything, set_threads, use_reference_models
from course_utils.course import intro_data, record, usage_vae_config
from course_utils.exercises import check_kl_gaussians, check_per_example_loss, check_reparameterize
from course_utils.toys import (
    LinearGaussian,
    ascend_elbo,
    best_diagonal_gap,
    cosine_gradient_variances,
    elbo_gradient_estimates,
    elbo_table,
    gradient_statistics,
    jensen_trap,
    posterior_correlation,
    reparameterization_gradients,
    score_function_gradients,
)
from course_utils.toys.gradient_estimators import (
    expected_squared_distance,
    quadratic_gradient_variances,
    squared_distance,
)
from course_utils.vae import VAE, VAEConfig, evaluation_images, latent_usage, train_vae

TRAIN_HERE = False  # True (then re-run this cell): train the models here, not load the course's reference models
use_reference_models(not TRAIN_HERE)  # this kernel only; COURSE_TRAIN_HERE=1 in the environment: every notebook
set_threads()
seed_everything(0)
print("quick mode:", quick_mode())

# %% [markdown]
# ## Q1.6 — The evidence lower bound (about 25 minutes)
#
# **Derive first**, two ways.
#
# 1. Start from `KL(q(z|x) ‖ p(z|x))`, write the posterior with Bayes' rule,
#    `p(z|x) = p(x|z) p(z) / p(x)`, and rearrange until you reach the identity of Q1.6. Why does the
#    identity make the right side a lower bound on `log p(x)`, and how large is the gap?
# 2. Write `log p(x) = log ∫ p(x, z) dz` as the log of an expectation under q, and apply Jensen's
#    inequality. Which bound do you get?
#
# Then check it on a model where everything is exact: a linear-Gaussian model with `z ∈ R²`,
# `x ∈ R⁴`. Its latents are independent *a priori* (`p(z) = N(0, I)`), but the two columns of W point
# in nearly the same direction, so the data cannot tell `z_1` and `z_2` apart well: the *posterior*
# couples them.

# %%
# NBVAL_CHECK_OUTPUT
g = torch.Generator().manual_seed(0)
W = torch.randn(4, 2, generator=g, dtype=torch.float64)
W[:, 1] = 0.8 * W[:, 0] + 0.3 * W[:, 1]          # nearly collinear columns
model = LinearGaussian(W, torch.zeros(4, dtype=torch.float64), noise_std=0.5)
x, _ = model.sample(4, generator=torch.Generator().manual_seed(1))
post_mean, post_cov = model.posterior(x)
cosine = (W[:, 0] @ W[:, 1] / (W[:, 0].norm() * W[:, 1].norm())).item()
rho = posterior_correlation(model)
print(f"cosine between W's columns: {cosine:.3f}; posterior correlation of z_1 and z_2: rho = {rho:.3f}")

# %% [markdown]
# ### Exercise (harder) — `kl_gaussians`
# To check the identity you need `KL(q ‖ p(z|x))` between a diagonal q and a *correlated* Gaussian
# posterior. Write the KL between two Gaussians with full covariance matrices,
# `KL(N(μ_q, Σ_q) ‖ N(μ_p, Σ_p))`, in d dimensions. Derive it as in notebook 03; you will need
# `E_q[(z − m)ᵀ A (z − m)] = tr(A Σ_q) + (μ_q − m)ᵀ A (μ_q − m)` for a symmetric matrix A.
# `mu_*` have shape `(..., d)` and `cov_*` shape `(..., d, d)`: the function must work for one pair
# and for a batch of pairs (leading dimensions), in the dtype of the inputs — including float32
# pairs in 20 dimensions with standard deviations around 0.05, as a VAE's posteriors can have.

# %%
def kl_gaussians(mu_q, cov_q, mu_p, cov_p):
    """KL( N(mu_q, cov_q) || N(mu_p, cov_p) ) for full covariances; mu (..., d), cov (..., d, d) -> (...)."""
    ### BEGIN SOLUTION
    d = mu_q.shape[-1]
    inv_p = torch.linalg.inv(cov_p)
    diff = (mu_p - mu_q).unsqueeze(-1)
    trace = torch.diagonal(inv_p @ cov_q, dim1=-2, dim2=-1).sum(-1)
    mahalanobis = (diff.transpose(-2, -1) @ inv_p @ diff)[..., 0, 0]
    return 0.5 * (trace + mahalanobis - d + torch.logdet(cov_p) - torch.logdet(cov_q))
    ### END SOLUTION

# %%
# Autograded check: 2 points
# NBVAL_CHECK_OUTPUT
check_kl_gaussians(kl_gaussians)

# %% [markdown]
# <details><summary><b>Worked answer (kl_gaussians)</b></summary>
#
# With `log N(z; μ, Σ) = −½ [d log 2π + log det Σ + (z − μ)ᵀ Σ⁻¹ (z − μ)]`, the `log 2π` terms cancel in
# `log q − log p`, and the expected quadratic forms under q are
# `E_q[(z − μ_q)ᵀ Σ_q⁻¹ (z − μ_q)] = tr(Σ_q⁻¹ Σ_q) = d` and
# `E_q[(z − μ_p)ᵀ Σ_p⁻¹ (z − μ_p)] = tr(Σ_p⁻¹ Σ_q) + (μ_p − μ_q)ᵀ Σ_p⁻¹ (μ_p − μ_q)`. Hence
#
# $$\mathrm{KL}(q\,\|\,p) = \tfrac12\Big[\operatorname{tr}(\Sigma_p^{-1}\Sigma_q)
#   + (\mu_p-\mu_q)^\top\Sigma_p^{-1}(\mu_p-\mu_q) - d + \log\det\Sigma_p - \log\det\Sigma_q\Big].$$
#
# In one dimension it is notebook 03's formula (`½ log(σ_p²/σ_q²) = log(σ_p/σ_q)`). In code, batched:
# `torch.linalg.inv` (or, more stable, a Cholesky factor and `torch.cholesky_solve`), the trace as
# `torch.diagonal(A, dim1=-2, dim2=-1).sum(-1)` (`torch.trace` takes one matrix only) and
# `torch.logdet`. Typical slips: the inverse of the wrong covariance in the trace, `log det` replaced
# by the logs of the diagonal entries (true only for diagonal matrices), the `−d` or the `½` dropped —
# and `torch.log(torch.det(Σ))`, right in three dimensions but not for the check's 20-dimensional
# float32 covariances, whose determinants (about 10⁻⁵³) are below float32's smallest number while
# their log-determinants are ordinary numbers.
# </details>

# %% [markdown]
# **The identity, checked.** For four choices of a diagonal Gaussian q, the table compares the gap
# `log p(x) − ELBO` (both exact) with `KL(q ‖ p(z|x))` from the exact posterior, computed twice:
# by `torch.distributions` and by your `kl_gaussians`.

# %%
print(inspect.getsource(LinearGaussian.elbo))

# %%
# NBVAL_CHECK_OUTPUT
best_mu, best_sigma = model.best_diagonal_q(x)
ones = torch.ones_like(post_mean)
candidates = {
    "q = prior N(0, I)": (0 * ones, ones),
    "posterior mean, std 1": (post_mean, ones),
    "posterior mean, marginal stds": (post_mean, post_cov.diagonal().sqrt() * ones),
    "best diagonal q": (best_mu, best_sigma),
}
print(f"{'q(z|x)':30s} {'log p(x)':>9} {'ELBO':>9} {'gap':>8} {'KL (torch)':>11} {'KL (yours)':>11}"
      "   (nats, mean of 4 points)")
for name, log_px, elbo, gap, kl, yours in elbo_table(model, x, candidates, kl_fn=kl_gaussians):
    print(f"{name:30s} {log_px:9.4f} {elbo:9.4f} {gap:8.4f} {kl:11.4f} {yours:11.4f}")
print(f"\nbest diagonal q, closed form: -1/2 log(1 - rho^2) = {-0.5 * math.log(1 - rho**2):.4f} nats "
      f"(from the precision matrix: {best_diagonal_gap(model):.4f})")
std_ratio = best_sigma[0] / post_cov.diagonal().sqrt()
print("best diagonal q's standard deviations / the posterior's marginal ones: "
      + ", ".join(f"{r:.3f}" for r in std_ratio.tolist()) + f"   (sqrt(1 - rho^2) = {math.sqrt(1 - rho**2):.3f})")
record("ELBO gap of the best diagonal q (linear-Gaussian model of Q1.6)", best_diagonal_gap(model), "nats")

# %% [markdown]
# What to look at: in every row `gap = KL(q ‖ posterior)` to four decimals, and the ELBO never
# exceeds `log p(x)`. A diagonal q cannot represent the correlation, so even the best one leaves a
# gap, `−½ log(1 − ρ²)`, which with ρ ≈ −0.94 is about one nat. Matching the posterior's *marginal*
# standard deviations is much worse than the narrower "best diagonal" q. The posterior has one mode,
# so nothing here is mode-seeking: the reverse KL of notebook 03 charges q for mass where the
# posterior is small, and a product of two independent Gaussians cannot follow the posterior's
# narrow, tilted ridge. The best it can do is take the posterior's *conditional* variances,
# `1/Λ_jj = Σ_jj (1 − ρ²)` (Λ the posterior's precision matrix, Σ its covariance), so its standard
# deviations are `sqrt(1 − ρ²)` times the marginal ones — about a third here, as the last printed line
# shows. (That same best diagonal q, used as an importance-sampling proposal for `log p(x)`, gives
# weights of infinite variance: notebook 02's four-proposal table.)
#
# **The expectation of what?** Some write-ups put `log E_q[p(x|z)]` where `E_q[log p(x|z)]` belongs.
# *Predict first:* which of the two is larger? Can `log E_q[p(x|z)] − KL(q ‖ p(z))` exceed `log p(x)`?
# Take q the *exact* posterior, where the ELBO equals `log p(x)`, and compare the two versions — in
# closed form (for this model `E_q[p(x|z)]` is a Gaussian density in x; `course_utils.toys.elbo_gap.jensen_trap`
# computes both versions), and both first terms also by Monte Carlo from 200 000 samples of q:

# %%
# NBVAL_CHECK_OUTPUT
trap = jensen_trap(model, x)
print(f"{'point':>5} {'log p(x)':>10} {'E_q[log p(x|z)] - KL':>22} {'log E_q[p(x|z)] - KL':>22} "
      f"{'trap - log p(x)':>16}")
for n in range(len(x)):
    print(f"{n:5d} {trap['log_px'][n]:10.4f} {trap['elbo'][n]:22.4f} {trap['trap'][n]:22.4f} "
          f"{trap['trap'][n] - trap['log_px'][n]:+16.4f}")
eps = torch.randn(200_000, 1, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
z = post_mean[:1] + eps @ torch.linalg.cholesky(post_cov).T     # samples of the exact posterior of point 0
log_lik = model.log_px_given_z(x[:1], z)[:, 0]
log_mean_lik = (torch.logsumexp(log_lik, 0) - math.log(len(log_lik))).item()
print(f"point 0 by Monte Carlo: E_q[log p(x|z)] = {log_lik.mean().item():.4f} (closed form "
      f"{trap['expected_log_lik'][0]:.4f}), log E_q[p(x|z)] = {log_mean_lik:.4f} "
      f"(closed form {trap['log_expected_lik'][0]:.4f})")

# %% [markdown]
# What to look at: with the exact posterior the ELBO column equals `log p(x)` (the gap is 0), while
# the trap is *above* `log p(x)` for every point: it is not a lower bound at all. By Jensen's
# inequality `log E_q[p(x|z)] ≥ E_q[log p(x|z)]`, so the trap is never below the ELBO. With q the exact
# posterior the ELBO *is* `log p(x)`, so the trap's excess over `log p(x)` is exactly that Jensen gap,
# `log E_q[p(x|z)] − E_q[log p(x|z)] ≥ 0`, for every model and every x — not only here. Nor is the trap
# an upper bound: with q = p(z) its KL is 0 and `E_{p(z)}[p(x|z)] = p(x)`, so it equals `log p(x)`, and
# with a q far from the posterior (all its mass where `p(x|z)` is tiny) it falls below. It bounds
# nothing.
#
# <details><summary><b>Worked answer (Q1.6)</b></summary>
#
# **By Bayes' rule.** With `p(z|x) = p(x|z) p(z)/p(x)`:
#
# $$\mathrm{KL}(q(z|x)\,\|\,p(z|x)) = \mathbb{E}_q\!\left[\log q(z|x) - \log p(x|z) - \log p(z)\right] + \log p(x),$$
#
# since `log p(x)` does not depend on z and leaves the expectation. Move it to the left and split the rest:
#
# $$\log p(x) - \mathrm{KL}(q(z|x)\,\|\,p(z|x))
#  = \mathbb{E}_q[\log p(x|z)] - \mathbb{E}_q\!\left[\log\frac{q(z|x)}{p(z)}\right]
#  = \underbrace{\mathbb{E}_q[\log p(x|z)] - \mathrm{KL}(q(z|x)\,\|\,p(z))}_{\text{ELBO}} .$$
#
# It is a lower bound because `KL(q ‖ p(z|x)) ≥ 0` (notebook 03: Jensen, Gibbs' inequality), so
# `ELBO = log p(x) − KL(q ‖ p(z|x)) ≤ log p(x)`, with the gap exactly `KL(q ‖ p(z|x))` and equality
# exactly when `q(z|x) = p(z|x)`.
#
# **By Jensen.** For any q with mass wherever the posterior has,
#
# $$\log p(x) = \log \int q(z|x)\,\frac{p(x, z)}{q(z|x)}\,dz = \log \mathbb{E}_q\!\left[\frac{p(x,z)}{q(z|x)}\right]
#   \ge \mathbb{E}_q\!\left[\log \frac{p(x,z)}{q(z|x)}\right]
#   = \mathbb{E}_q[\log p(x|z)] - \mathrm{KL}(q(z|x)\,\|\,p(z)),$$
#
# because log is concave; the last step splits `p(x, z) = p(x|z) p(z)`. Both routes give the same
# bound; the first also names the gap.
#
# **Traps.** The expectation is of `log p(x|z)`. Replacing it by `log E_q[p(x|z)]` gives a number
# that is larger (Jensen again) and, as the table shows, can exceed `log p(x)`: the bound is gone.
# And KL is a *divergence*, not a distance — it is not symmetric (notebook 03), and the gap is
# `KL(q ‖ posterior)` in that direction.
# </details>

# %% [markdown]
# ## Q1.7 — Why optimize a bound? (about 5 minutes)
#
# **Predict first.** To maximize `log p(x)` of a VAE directly, what would you have to compute at
# every training step, and which notebook showed how well that goes? What does the ELBO need instead?
#
# <details><summary><b>Worked answer (Q1.7)</b></summary>
#
# Because `log p(x_n)` and the posterior `p(z|x_n)` are intractable for a non-linear decoder:
# `log p(x) = log ∫ p(x|z) p(z) dz` is an integral over the latent space through a neural network
# with no closed form; its naive Monte Carlo estimate needs about `exp(KL(p(z|x) ‖ p(z)))` prior
# samples before it is even roughly right, a number that grows exponentially with the number of latent
# dimensions the data inform (notebook 02); and the posterior `p(z|x) = p(x|z) p(z)/p(x)` contains the
# same integral as its normaliser. The ELBO needs neither: `E_q[log p(x|z)]` is estimated from one
# sample of q, with modest variance whatever q is (it averages log-likelihoods, not likelihoods), and
# `KL(q ‖ p(z))` is in closed form (notebook 03) — both computable and differentiable. How close q is
# to the posterior decides how tight the bound is, not whether it can be computed.
# </details>

# %% [markdown]
# ## Q1.8 — What happens when the bound goes up? (about 10 minutes)
#
# **Predict first.** The demo below runs gradient ascent on the ELBO of a linear-Gaussian model in
# three phases: first only the diagonal q's of twenty data points move, then only the model's
# parameters (W, b), then both. For each phase, predict what happens to `log p(x)` and to the gap
# `KL(q ‖ p(z|x))`.

# %%
print(inspect.getsource(ascend_elbo))

# %%
steps = pick(150, 60)
history = ascend_elbo(LinearGaussian.random(5, 2, noise_std=0.5, seed=0),
                      LinearGaussian.random(5, 2, noise_std=0.5, seed=7), steps_per_phase=steps, lr=0.05)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
t = range(len(history["elbo"]))
axes[0].plot(t, history["log_px"], label="log p(x)")
axes[0].plot(t, history["elbo"], label="ELBO")
axes[0].set_ylabel("nats (mean over 20 points)")
axes[0].set_title("log p(x) and the ELBO")
axes[1].plot(t, history["gap"], color="C2", label="gap = KL(q ‖ p(z|x))")
axes[1].set_yscale("log")
axes[1].set_ylabel("nats")
axes[1].set_title("the gap log p(x) − ELBO")
for ax in axes:
    for k, phase in enumerate(["q only", "model only", "both"]):
        ax.axvspan(k * steps, (k + 1) * steps, color=f"C{k + 4}", alpha=0.08)
        ax.text((k + 0.5) * steps, 0.97, phase, transform=ax.get_xaxis_transform(), ha="center", va="top",
                fontsize=9)
    ax.set_xlabel("gradient step")
axes[0].legend(loc="lower right")
axes[1].legend(loc="lower left")
fig.tight_layout()
plt.show()
for k, phase in enumerate(["q only", "model only", "both"]):
    part = {key: history[key][k * steps:(k + 1) * steps] for key in ("log_px", "elbo", "gap")}
    peak = max(range(steps), key=lambda i: part["log_px"][i])
    elbo_falls = any(b < a - 1e-12 for a, b in zip(part["elbo"][:-1], part["elbo"][1:], strict=True))
    print(f"{phase:>10}: log p(x) {part['log_px'][0]:7.3f} -> {part['log_px'][-1]:7.3f} "
          f"(highest {part['log_px'][peak]:7.3f} at step {k * steps + peak}); "
          f"gap {part['gap'][0]:6.3f} -> {part['gap'][-1]:6.3f}; "
          f"the ELBO {'falls at some step' if elbo_falls else 'rises at every step'}")

# %% [markdown]
# What to look at: while only q moves, `log p(x)` is flat and the ELBO climbs towards it — the
# gap shrinks. While only the model moves, `log p(x)` rises over the phase, but the gap *grows*: the
# model's posterior moves away from the q that was fitted to it. When both move, both effects happen
# together: `log p(x)` rises and the gap shrinks. The ELBO rises at every step of every phase; the
# other two curves need not be monotone. In full mode (150 steps per phase) `log p(x)` peaks before
# the end of the model-only phase and then falls by a few hundredths of a nat while the ELBO keeps
# rising — the gap falls by more, the case the worked answer below warns about (the printout gives
# the peak; on the plot's scale the dip is invisible). In quick mode (60 steps per phase) that phase
# ends before the peak.
#
# The first two phases are one round of **variational EM**, each done by gradient steps: an E-step
# fits q to the current model's posterior (exactly, in classical EM; within the variational family
# here), an M-step improves the model with q held fixed; alternating exact E- and M-steps never
# lowers the ELBO. A VAE does neither step to completion: it takes one gradient step on both at
# once — the third phase. And it has no separate q per data point, as this demo has: one encoder
# network outputs q for every x, which is **amortized inference**. The ELBO it loses because the
# encoder's q is worse than the best q of the family for that x is the *amortization gap*, on top of
# the *approximation gap* of the family itself (Cremer et al., 2018); the best diagonal q of Q1.6
# shows the approximation gap alone.
#
# <details><summary><b>Worked answer (Q1.8)</b></summary>
#
# Since `ELBO = log p(x_n) − KL(q(Z|x_n) ‖ p(Z|x_n))`, an increase of the ELBO means that
# `log p(x_n)` increases (the generative model explains the data better), and/or
# `KL(q(Z|x_n) ‖ p(Z|x_n))` decreases (the approximate posterior moves closer to the true
# posterior). In the demo: optimizing q alone leaves `log p(x)` unchanged and shrinks the KL;
# optimizing the model raises `log p(x)` (here while the KL grows, since q lags behind); jointly,
# both (the VAE's way, with an encoder in place of a q per point). A rising ELBO can even come with
# a *falling* `log p(x)`, if the gap falls by more. (This question is about these two quantities —
# not about the two terms of the loss, which are Q1.9.)
# </details>

# %% [markdown]
# ## Q1.9 — The two terms of the loss (about 15 minutes)
#
# The VAE minimizes the negative ELBO, averaged over the data,
#
# $$\mathcal{L}(x) = -\mathbb{E}_{q_\phi(z|x)}[\log p_\theta(x|z)] + \mathrm{KL}(q_\phi(z|x)\,\|\,p(z)) .$$
#
# **Predict first.** Name the two terms. What would an encoder and decoder do if the loss were only
# the first term? Only the second? On an untrained VAE, which term do you expect to be large?
#
# Then look at one batch of an **untrained** VAE (random binary inputs stand in for images here),
# each term averaged over the batch:

# %%
vae = VAE(VAEConfig(z_dim=20))
x_batch = torch.bernoulli(torch.full((8, 784), 0.3), generator=torch.Generator().manual_seed(0))
untrained = latent_usage(vae, x_batch, seed=1)
print(f"first term, -E_q[log p(x|z)] (one sample of z): {untrained['distortion']:.1f} nats per example")
print(f"second term, KL(q(z|x) || p(z))                : {untrained['rate']:.2f} nats per example")

# %% [markdown]
# <details><summary><b>Worked answer (Q1.9)</b></summary>
#
# - **Reconstruction** `−E_{q(z|x)}[log p(x|z)]`: the expected negative log-likelihood of the input
#   under the decoder when z comes from the encoder. Minimizing it makes codes informative: the
#   decoder must reproduce x from z. Alone, it would let the encoder use arbitrarily precise codes
#   anywhere in latent space (an ordinary autoencoder), and nothing would make samples from the prior
#   decode to realistic images.
# - **Regularization** `KL(q(z|x) ‖ p(z))`: keeps each approximate posterior close to the prior
#   N(0, I). It stops the encoder from using arbitrarily precise, far-apart codes, and keeps the
#   region of latent space that the encoder uses close to the one the prior samples from — so that
#   a `z ~ p(z)` tends to land where the decoder was trained. Alone, it is minimised by
#   `q(z|x) = p(z)` for every x: a code that says nothing about x.
#
# On the untrained VAE above the reconstruction term is large and the KL small: the decoder cannot
# reproduce anything yet, and the encoder's q is still close to the prior.
# </details>

# %% [markdown]
# **Rate and distortion.** Read the two terms as a code, averaged over the data. The average KL term
# is the *rate* R and the average reconstruction term the *distortion* D — how badly the decoder
# reproduces x from the code; the negative ELBO is `D + R`. The rate is not itself the information
# the code carries: with `q(z) = E_x q(z|x)`, the encoder's *aggregate posterior*,
# `E_x KL(q(z|x) ‖ p(z)) = I_q(x; z) + KL(q(z) ‖ p(z))`, where `I_q(x; z)` is the mutual information
# between an image and its code under the encoder — so the rate is an upper bound on how many nats
# the code carries about x, and it exceeds that by how far the codes of all images together are from
# the prior. (For one x, `KL(q(z|x) ‖ p(z))` is a cost, not an amount of information.) Per latent
# coordinate j, the rate splits into `KL(q(z_j|x) ‖ p(z_j))`: a coordinate whose q is the prior for
# every image, `q(z_j|x) = p(z_j)`, costs nothing and carries nothing — an **inactive unit**. A unit's
# *activity* is the variance over images of its encoder mean, `Var_x(μ_j(x))` (Burda et al., 2016,
# call a unit active when it exceeds 0.01).
#
# **Predict first.** In a VAE with 50 latent coordinates trained on these images, will all 50 be
# used? Then measure it (the VAE is trained here -- in full mode its reference model is loaded):

# %%
data = load_data(pixels="dynamic")
data = intro_data(data)  # all training images in full mode, 3 000 in quick mode
vae50, _ = train_vae(usage_vae_config(), data)  # full mode: full_config(50, epochs=15); quick: 5 epochs
x_val = evaluation_images(data.val, binarize=True)
usage = latent_usage(vae50, x_val)
print(f"rate R = {usage['rate']:.1f} nats, distortion D = {usage['distortion']:.1f} nats, "
      f"-ELBO = R + D = {usage['rate'] + usage['distortion']:.1f} nats per image ({data.pretty_name})")
print(f"active units (activity > {usage['threshold']}): {usage['n_active']} of {vae50.z_dim}")
activity = usage["activity"]
counts = {t: int((activity > t).sum()) for t in (0.005, 0.05)}
share = (usage["kl_per_dim"][activity > 0.05].sum() / usage["kl_per_dim"].sum()).item()
print(f"with another threshold: {counts[0.005]} above 0.005, {counts[0.05]} above 0.05 "
      f"(those {counts[0.05]} carry {share:.0%} of the rate)")
inactive_kl = usage["kl_per_dim"][~usage["active"]]
if len(inactive_kl):
    print(f"inactive units: mean KL between {inactive_kl.min().item():.1e} and {inactive_kl.max().item():.1e} nats; "
          f"active units: at least {usage['kl_per_dim'][usage['active']].min().item():.1e} nats")
# mean KL_j >= 1/2 E_x[mu_j^2] >= 1/2 Var_x(mu_j); `activity` divides by N - 1, the population variance by N
n_val = len(x_val)
bound = usage["kl_per_dim"] - 0.5 * usage["activity"] * (n_val - 1) / n_val
print(f"mean KL_j - activity_j / 2 >= 0 for every coordinate: {bool((bound >= -1e-9).all())}")
record("active latent units of a z = 50 VAE (notebook 04)", usage["n_active"], "units")
record("latent units of the z = 50 VAE with activity above 0.005 (notebook 04)", counts[0.005], "units")
record("latent units of the z = 50 VAE with activity above 0.05 (notebook 04)", counts[0.05], "units")
record("share of the z = 50 VAE's rate in units with activity above 0.05 (notebook 04)", share)

order = torch.argsort(usage["kl_per_dim"], descending=True)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
axes[0].bar(range(vae50.z_dim), usage["kl_per_dim"][order])
axes[0].set_xlabel("latent coordinate (sorted by KL)")
axes[0].set_ylabel("mean KL(q(z_j|x) ‖ p(z_j)) [nats]")
axes[0].set_title("the rate, coordinate by coordinate")
axes[1].bar(range(vae50.z_dim), usage["activity"][order], color="C1")
axes[1].axhline(usage["threshold"], color="k", ls="--", lw=1, label="activity threshold 0.01")
axes[1].set_yscale("log")
axes[1].set_xlabel("latent coordinate (same order)")
axes[1].set_ylabel("Var over images of μ_j(x)")
axes[1].set_title("activity")
axes[1].legend()
fig.suptitle(f"Latent usage of a z = 50 VAE on {len(data.val)} validation images ({data.pretty_name})")
fig.tight_layout()
plt.show()

# %% [markdown]
# What to look at: a coordinate with a small KL also has an encoder mean that hardly moves between
# images. That is no coincidence of this run: per coordinate,
# `KL(q(z_j|x) ‖ p(z_j)) = μ_j²/2 + (σ_j²/2 − log σ_j − ½) ≥ μ_j²/2`, since the bracket is ≥ 0 for every
# σ_j; averaged over images, `mean KL_j ≥ ½ E_x[μ_j²] ≥ ½ Var_x(μ_j)` — half the activity (the last
# printed line checks it). So a small KL forces a small activity. The converse need not hold: a
# coordinate could keep its mean fixed and still pay KL through σ_j ≠ 1.
#
# How many units switch off depends on the data set, on the training, on the seed and on the threshold.
# In the course's full-mode run on Fashion-MNIST (all 50 000 training images, 15 epochs at batch 256 and a
# peak rate of 3e-3; `benchmarks/results/notebooks.json`) about 25 of the 50 coordinates end up below the
# threshold — inactive (when a run finds inactive units, the cell prints the range of their mean KLs).
# Three seeds of that recipe left between 22 and 27 units inactive, and three of the longer one the
# course trained before (20 epochs at the assignment's batches of 128 and rate 1e-3) between 11 and 22
# (`benchmarks/results/vae_recipes.json`, counted on the same validation images): the count belongs to
# one trained model, not to the data alone. It also belongs to the threshold: the line printed after the
# count ("with another threshold") counts at 0.005 and at 0.05 too. Where the activities fall into two
# well-separated groups the counts agree; in the course's full-mode run they do not — about 35 units
# lie above 0.005 and about 15 above 0.05, and those 15 carry nearly all of the rate — so read the
# log-scale chart, not only the count.
# In the course's quick-mode run on Fashion-MNIST (3 000 images, 5 epochs at the assignment's batches
# and rate) none falls below the threshold. That run sees 3 000 of the 50 000 images, makes a fiftieth
# as many image presentations (15 000 against 750 000) and about a twenty-fifth as many optimiser steps
# (120 against 2 940), with other batches and another rate; the course has not separated these effects,
# and the quick-mode count comes from one seeded run. On MNIST the counts may differ; the course has not
# measured them there.
#
# <details><summary><b>Worked answer (rate, distortion and inactive units)</b></summary>
#
# **Rate/distortion.** Averaged over the data, the KL term is the rate R (it upper-bounds the mutual
# information between x and z under the encoder), the reconstruction term the distortion D, and the
# VAE minimises `D + R`; weighting the rate (`D + β R`, the β-VAE) moves along the trade-off. In a
# trained VAE some units can end up inactive: `q(z_j|x) ≈ p(z_j)` for every x and their KL near 0 —
# the "posterior collapse" of single units. The trade-off is one reading of it (a unit stays in use
# when what it buys in distortion exceeds what it costs in rate), but not the whole story. Collapse can be a property of
# the maximum-likelihood solution itself: for a VAE with a linear-Gaussian decoder the optimum of
# the ELBO is probabilistic PCA's maximum-likelihood solution, and there, for a given observation-noise
# variance σ², every latent direction whose data variance is below σ² is switched off (Lucas et al.,
# 2019) — no fault of the bound. And it depends on optimisation: units that the KL term switches
# off early in training may never recover, which remedies such as KL warm-up (the KL's weight grown
# from 0) and free bits (no KL penalty below a floor per unit) address.
# </details>

# %% [markdown]
# ## Q1.10 — The per-example loss (about 15 minutes)
#
# **Derive first.** With one sample `z ~ q(z|x_n)`, a Bernoulli decoder with pixel means
# `f = f_θ(z)` and a Gaussian encoder `q = N(μ, diag σ²)`, write `L_n`, the negative ELBO of one
# example, as an explicit formula: the first term in terms of `x_n` and `f`, the second with the
# closed form of notebook 03. Which sums are over pixels, which over latent dimensions, and where
# does the batch average come in? Which sign does the KL term have?
#
# ### Exercise — `per_example_loss`
# Implement `L_n` for a batch: `x` (N, 784) binary, `logits` (N, 784) — the decoder's outputs
# *before* the sigmoid, `f = sigmoid(logits)` — and the encoder's `mu`, `sigma` (N, D). Return shape
# `(N,)`. Decoders produce confident pixels, with logits of ±30 and beyond: your loss must stay
# finite and correct there, computing in float32 (float32 inputs give a float32 result). Training
# differentiates it, so keep it differentiable.

# %%
def per_example_loss(x, logits, mu, sigma):
    """The one-sample negative ELBO of each example: reconstruction + KL, shape (N,)."""
    ### BEGIN SOLUTION
    reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=-1)
    kl = -0.5 * (1 + torch.log(sigma**2) - mu**2 - sigma**2).sum(dim=-1)
    return reconstruction + kl
    ### END SOLUTION

# %%
# Autograded check: 2 points
# NBVAL_CHECK_OUTPUT
check_per_example_loss(per_example_loss)

# %% [markdown]
# Your loss against the package's `negative_elbo` on a small random batch, and the batch average
# that training minimizes:

# %%
# NBVAL_CHECK_OUTPUT
from course_utils.vae import kl_std_normal, negative_elbo  # noqa: E402

g = torch.Generator().manual_seed(5)
x_check = torch.bernoulli(torch.full((4, 784), 0.4), generator=g)
logits_check = torch.randn(4, 784, generator=g)
mu_check, sigma_check = torch.randn(4, 3, generator=g), 0.5 + torch.rand(4, 3, generator=g)
yours = per_example_loss(x_check, logits_check, mu_check, sigma_check)
package = negative_elbo(x_check, logits_check, mu_check, sigma_check)["loss"]
print("yours  :", [round(v, 3) for v in yours.tolist()])
print("package:", [round(v, 3) for v in package.tolist()])
print(f"batch loss (mean over the 4 examples): {yours.mean().item():.3f} nats")

# %% [markdown]
# **The sign of the KL term**, numerically: `−½ Σ(1 + log σ² − μ² − σ²)` against `+½ Σ(…)` and the
# closed-form KL:

# %%
# NBVAL_CHECK_OUTPUT
mu_ex = torch.tensor([[0.5, -1.0, 0.0]])
sigma_ex = torch.tensor([[0.8, 1.5, 1.0]])
terms = (1 + torch.log(sigma_ex**2) - mu_ex**2 - sigma_ex**2).sum().item()
print(f"-1/2 sum(1 + log s^2 - m^2 - s^2) = {-0.5 * terms:.4f}")
print(f"+1/2 sum(1 + log s^2 - m^2 - s^2) = {+0.5 * terms:.4f}")
print(f"KL(q || N(0, I)) (closed form)    = {kl_std_normal(mu_ex, sigma_ex).item():.4f}")

# %% [markdown]
# <details><summary><b>Worked answer (Q1.10)</b></summary>
#
# With one sample `z^(n) ~ q(z|x_n)` and `f = f_θ(z^(n))`:
#
# $$L_n = -\sum_{m=1}^{784}\big[x_{n,m}\log f_m + (1-x_{n,m})\log(1-f_m)\big]
#   - \frac12\sum_{j=1}^{D}\big(1 + \log\sigma_{n,j}^2 - \mu_{n,j}^2 - \sigma_{n,j}^2\big),
#   \qquad \mathcal{L} = \frac1N\sum_n L_n .$$
#
# The first sum is the binary cross-entropy summed over pixels (the one-sample estimate of the
# reconstruction term); the second is `KL(q ‖ N(0, I))` in closed form — with a **minus** in front
# of `½ Σ(1 + …)`, as the numerical check shows (with a plus it would be minus the KL and the model
# would be rewarded for moving away from the prior). Sum over pixels and latent dimensions, average
# over the batch. In code: `F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)`
# — with `reduction="none"`, since the default `"mean"` averages over pixels *and* examples — plus
# the KL. Writing `x log f + (1 − x) log(1 − f)` with `f = sigmoid(l)` fails at large logits: in
# float32 f rounds to exactly 1 from a logit of about 17, so `log(1 − f) = −∞` (and `0 · (−∞) = NaN`
# where x = 1). `log(1 + exp(l))` written out directly fails too (`exp` overflows float32 beyond a
# logit of about 88), and converting to float64 only moves that limit. `binary_cross_entropy_with_logits`
# uses `log(1 + e^l)` in a stable form.
# </details>

# %% [markdown]
# ## Q1.11 — The reparameterization trick (about 20 minutes)
#
# Training needs the gradient of `E_{q_φ(z|x)}[log p_θ(x|z)]` with respect to the encoder's
# parameters φ. That expectation is a perfectly differentiable function of φ.
#
# **Predict first.** If you draw `z ~ N(μ, σ²)` with PyTorch's sampler and backpropagate
# `log p(x|z)`, what reaches μ and σ? Then: how could you write the *same* random z so that it is a
# differentiable function of μ and σ?

# %%
# NBVAL_CHECK_OUTPUT
mu_q = torch.tensor([0.5], requires_grad=True)
sigma_q = torch.tensor([1.2], requires_grad=True)
torch.manual_seed(0)
print("Normal.sample() : requires_grad =", Normal(mu_q, sigma_q).sample().requires_grad)
print("Normal.rsample(): requires_grad =", Normal(mu_q, sigma_q).rsample().requires_grad, "(reparameterized)")

# %% [markdown]
# A drawn sample is just a number: it carries no record of how it depended on μ and σ, so autograd
# has nothing to differentiate. `rsample()` is the fix you are asked to write.
#
# ### Exercise — `reparameterize`
# Given `mu`, `sigma` (the standard deviation) and noise `eps ~ N(0, I)`, all of shape (N, D), return
# a sample of `N(mu, diag(sigma²))` made from that `eps`, in the dtype of the inputs, such that
# gradients reach `mu` and `sigma`.

# %%
def reparameterize(mu, sigma, eps):
    """A sample of N(mu, diag(sigma^2)) made from the given eps ~ N(0, I), differentiable in mu and sigma."""
    ### BEGIN SOLUTION
    return mu + sigma * eps
    ### END SOLUTION

# %%
# Autograded check: 1 point
# NBVAL_CHECK_OUTPUT
check_reparameterize(reparameterize)

# %% [markdown]
# The VAE uses the same line (`course_utils.vae.model.VAE.reparameterize`):

# %%
print(inspect.getsource(VAE.reparameterize))

# %% [markdown]
# ### Why not the score function? Gradient variance
#
# Sampling does not make the gradient *impossible*: the score-function (REINFORCE) identity
# `∇_μ E_q[f(z)] = E_q[f(z) ∇_μ log q(z)]` needs only values of f, and since `E_q[∇ log q] = 0`, any
# constant b can be subtracted from f without bias (a *baseline*, or control variate). All three
# estimators — plain score function, score function with a baseline, reparameterized — are unbiased;
# they differ in variance.
#
# **Predict first.** On `f(z) = Σ_i (z_i − 1)²` with `z ~ N(0, I_D)` (exact gradient −2 in every
# coordinate), how do you expect each estimator's variance to grow with D?
#
# The conditions of this first comparison: a smooth quadratic f whose gradient is cheap; plain
# REINFORCE uses no baseline; the baseline is the exact `E_q[f] = Σ_i (σ_i² + (μ_i − 1)²)` (in
# practice it is estimated, e.g. by a running average); 10 000 one-sample estimates each, from the
# same noise. The table's variances are per coordinate: each coordinate of the gradient has its own
# one-sample estimate, and the table averages their variances over the D coordinates.

# %%
print(inspect.getsource(score_function_gradients))
print(inspect.getsource(reparameterization_gradients))

# %%
# NBVAL_CHECK_OUTPUT
print(f"{'dim':>4} | {'score function':>22} | {'with baseline':>20} | {'reparameterized':>20}")
print(f"{'':>4} | {'mean':>10} {'variance':>11} | {'mean':>8} {'variance':>11} | {'mean':>8} {'variance':>11}")
quadratic = {}
for dim in (1, 10, 100):
    s = quadratic[dim] = gradient_statistics(dim, n=10_000, seed=0)
    print(f"{dim:4d} | {s['score_mean']:10.3f} {s['score_var']:11.1f} | {s['baseline_mean']:8.3f} "
          f"{s['baseline_var']:11.1f} | {s['reparam_mean']:8.3f} {s['reparam_var']:11.3f}")
exact = {dim: quadratic_gradient_variances(dim) for dim in (1, 10, 100)}
print("exact variances per coordinate (score function, with baseline, reparameterized): "
      + "; ".join(f"D = {dim}: {e['score']:.0f}, {e['baseline']:.0f}, {e['reparam']:.0f}" for dim, e in exact.items()))
q100, e100 = quadratic[100], exact[100]
print(f"at dim 100 the baseline lowers the score function's variance "
      f"{q100['score_var'] / q100['baseline_var']:.0f}-fold (exactly {e100['score'] / e100['baseline']:.1f}-fold); "
      f"the reparameterized estimator's is lower by another {q100['baseline_var'] / q100['reparam_var']:.0f}-fold "
      f"(exactly {e100['baseline'] / e100['reparam']:.0f}-fold)")

# %% [markdown]
# The variances as a function of the dimension, and the distribution of one-sample estimates in
# 20 dimensions (all of them: the x axis spans every estimate, and the y axis counts estimates on a
# log scale, so none is cut off):

# %%
dims = [1, 2, 5, 10, 20, 50, 100]
n = pick(10_000, 2_000)
stats = [gradient_statistics(d, n=n, seed=1) for d in dims]
f = squared_distance(1.0)
mu20, sigma20 = torch.zeros(20, dtype=torch.float64), torch.ones(20, dtype=torch.float64)
sf20 = score_function_gradients(f, mu20, sigma20, n, torch.Generator().manual_seed(2))[:, 0]
bl20 = score_function_gradients(f, mu20, sigma20, n, torch.Generator().manual_seed(2),
                                baseline=expected_squared_distance(mu20, sigma20))[:, 0]
rp20 = reparameterization_gradients(f, mu20, sigma20, n, torch.Generator().manual_seed(2))[:, 0]
fig, axes = plt.subplots(1, 2, figsize=(12, 3.9))
axes[0].plot(dims, [s["score_var"] for s in stats], "o-", label="score function (REINFORCE)")
axes[0].plot(dims, [s["baseline_var"] for s in stats], "^-", label="score function with baseline E_q[f]")
axes[0].plot(dims, [s["reparam_var"] for s in stats], "s-", label="reparameterization")
axes[0].set_xscale("log")
axes[0].set_yscale("log")
axes[0].set_xlabel("dimension D of z")
axes[0].set_ylabel("variance of a one-sample estimate\n(per coordinate)")
axes[0].set_title("Gradient variance, E[Σ(z_i − 1)²], z ~ N(0, I)")
axes[0].legend(fontsize=8)
every = torch.cat([sf20, bl20, rp20])
bins = torch.linspace(every.min().item(), every.max().item(), 151)
for values, label in ((sf20, "score function"), (bl20, "with baseline"), (rp20, "reparameterization")):
    axes[1].hist(values.numpy(), bins=bins.numpy(), alpha=0.55, label=label)
axes[1].set_yscale("log")
axes[1].axvline(-2.0, color="k", ls="--", label="exact gradient −2")
axes[1].set_xlabel("one-sample estimate of ∂/∂μ₁")
axes[1].set_ylabel(f"count (of {n} estimates each)")
axes[1].set_title("All estimates in 20 dimensions")
axes[1].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# What to look at: all variances here are per coordinate (the whole gradient vector's add up to D
# times as much). Exactly, from Gaussian moments (`quadratic_gradient_variances`, printed under the
# table): the reparameterized estimator's variance is 4 whatever the dimension (its estimate is
# `2(z_1 − 1)`); the plain score function's grows *quadratically*, `4D² + 14D + 12`, because every
# coordinate's estimate is multiplied by the whole `f(z)`, whose mean `2D` and whose fluctuations both
# grow with D — reaching about ten thousand times 4 at D = 100. The baseline removes the constant part
# of `f` and with it the quadratic growth — at D = 100 it lowers the variance about 68-fold — but what
# is left still grows *linearly*, `18 + 6(D − 1)`, because `f(z) − E[f]` still sums D independent
# fluctuations. At D = 100 it is still orders of magnitude above the reparameterized one. The sampled
# variances of the first table lie within a tenth of these exact values. All three histograms are
# centred on −2.
#
# **On an ELBO.** The quadratic is a toy. The same three estimators of the gradient of the
# linear-Gaussian model's actual ELBO (point 0 of Q1.6), in the encoder's mean μ *and* standard
# deviation σ, for two choices of q — the prior, and the best diagonal q, where the exact gradient
# is 0 — next to the exact gradient (autograd of the closed-form ELBO). The KL term's gradient is
# exact in all three; only `∇ E_q[log p(x|z)]` is estimated, from the same 10 000 noise draws.

# %%
print(inspect.getsource(elbo_gradient_estimates))

# %%
# NBVAL_CHECK_OUTPUT
columns = ["d/dmu_1", "d/dmu_2", "d/dsigma_1", "d/dsigma_2"]
ratios = {}
prior_q = (torch.zeros(1, 2, dtype=torch.float64), torch.ones(1, 2, dtype=torch.float64))
for name, (mu0, sigma0) in {"q = prior": prior_q, "best diagonal q": (best_mu[:1], best_sigma[:1])}.items():
    est = elbo_gradient_estimates(model, x[:1], mu0, sigma0, 10_000, torch.Generator().manual_seed(3))
    print(f"{name}: exact gradient " + ", ".join(f"{c} = {v:+.3f}" for c, v in zip(columns, est["exact"], strict=True)))
    for key, label in (("score", "score function"), ("baseline", "with baseline"), ("reparam", "reparameterized")):
        mean, var = est[key].mean(0), est[key].var(0)
        print(f"  {label:16s} mean " + " ".join(f"{v:+8.3f}" for v in mean) + "   variance "
              + " ".join(f"{v:9.1f}" for v in var))
    ratios[name] = (est["baseline"].var(0) / est["reparam"].var(0)).tolist()
    z_score = max(((est[k].mean(0) - est["exact"]).abs() / (est[k].var(0) / 10_000).sqrt()).max().item()
                  for k in ("score", "baseline", "reparam"))
    print("  variance with baseline / reparameterized: " + ", ".join(f"{r:.1f}" for r in ratios[name])
          + f"; largest |mean - exact| of the three: {z_score:.1f} standard errors")

# %% [markdown]
# What to look at: all three means agree with the exact gradient within three standard errors
# (a standard error is `sqrt(variance / 10 000)`): all three are unbiased. The reparameterized
# estimator still has the lowest variance in every coordinate, and the plain score function the
# highest, but on this ELBO the baseline version is only about 3 to 11 times worse than the
# reparameterized one — not the orders of magnitude of the 100-dimensional quadratic. Here z has two
# dimensions, and the quadratic toy gives ratios in the same range at low dimension: exactly 4.5 at
# D = 1 and 18 at D = 10 (the exact variances printed above). How large the advantage is depends on
# the dimension, on f, on how far q's mean is from f's optimum in units of q's standard deviation
# (for a one-dimensional quadratic centred at a, the ratio is `2.5 + 2 (μ − a)²/σ²`, whatever its
# curvature), and on how good the baseline is.
#
# **Is the reparameterized estimator always better for a smooth f?** *Predict first:* take
# `f(z) = cos(ωz)` with `z ~ N(μ, 1)` at μ = 0 — smooth for every ω — and the gradient in μ. As ω grows,
# what happens to each estimator's variance? (The reparameterized estimate is `−ω sin(ωz)`; the score
# function's is `cos(ωz) z`.)
#
# The cell gives each variance in closed form (Gaussian moments) and from 100 000 one-sample
# estimates (`cosine_gradient_variances`):

# %%
# NBVAL_CHECK_OUTPUT
print(f"{'omega':>5} | {'score function':>18} | {'with baseline E[f]':>18} | {'reparameterized':>18}")
print(f"{'':>5} | {'exact':>8} {'sampled':>9} | {'exact':>8} {'sampled':>9} | {'exact':>8} {'sampled':>9}")
for omega in (0.5, 1.0, 2.0, 4.0):
    c = cosine_gradient_variances(omega, n=100_000, seed=0)
    print(f"{omega:5.1f} | {c['score']:8.3f} {c['score_mc']:9.3f} | {c['baseline']:8.3f} {c['baseline_mc']:9.3f} | "
          f"{c['reparam']:8.3f} {c['reparam_mc']:9.3f}")

# %% [markdown]
# What to look at: for ω = 0.5 the reparameterized variance is about a tenth of the plain score
# function's; for ω = 1 it is already larger, and for ω = 4 it is 16 times larger (8.0 against 0.50).
# The reparameterized estimate carries the derivative `f′`, whose size grows like ω, while the score
# function's only carries values of f, which stay between −1 and 1. There is no general ordering of
# the two (Mohamed et al., 2020, discuss when each wins): the reparameterized estimator tends to win
# when f varies slowly on the scale of q's standard deviation — and in many dimensions, where the
# plain score function multiplies every coordinate's estimate by the whole of f. Even the baseline
# is no free lunch: at ω = 1 subtracting `E[f]` *raises* the score function's variance. `E[f]` is not
# the best constant: with the score `s = z − μ`, the variance of `(f − b) s` is smallest at
# `b* = E[f s²]/E[s²]`, here `E[cos(ωz) z²] = (1 − ω²) e^{−ω²/2}` — which is 0 at ω = 1, so there
# the best baseline is none at all.
#
# <details><summary><b>Worked answer (Q1.11)</b></summary>
#
# Training needs `∇_φ E_{q_φ(z|x)}[log p_θ(x|z)]`. The expectation is a differentiable function of φ,
# but a z drawn from `q_φ` by a random number generator is a number with no record of how it depended
# on φ, so backpropagation from the decoder's loss stops at z and never reaches the encoder (in
# PyTorch, `.sample()` has no gradient). The reparameterization trick writes the same random variable
# as `z = μ_φ(x) + σ_φ(x) ⊙ ε` with `ε ~ N(0, I)` drawn independently of φ: the randomness is moved into
# an input, z is a deterministic differentiable function of φ, and
# `∇_φ E_q[log p(x|z)] = E_ε[∇_φ log p(x | μ_φ + σ_φ ⊙ ε)]`, estimated with one ε per example.
#
# **What it needs.** A way to write a sample of q as a differentiable function `z = g_φ(ε)` of the
# parameters and of noise ε whose distribution does not depend on φ, and a `log p(x|z)` that is
# differentiable in z. The location-scale form `μ + σ ⊙ ε` is one such g (Gaussian, Laplace, ...);
# others are an inverse CDF, `z = F_φ⁻¹(u)` with u uniform, compositions of such maps (normalising
# flows), and implicit reparameterization for distributions like the Gamma or the Beta, whose
# inverse CDF has no closed form (Figurnov et al., 2018). It fails for **discrete** z: no
# differentiable path leads from φ to a sample that jumps between values, so one falls back on the
# score function or on continuous relaxations (e.g. Gumbel-softmax), which are biased. The prior
# enters only through `KL(q ‖ p(z))`: with a Gaussian prior it is in closed form; with another prior
# whose log-density is differentiable, `E_q[log q(z) − log p(z)]` is estimated from the same
# reparameterized samples, which needs `∇_z log p(z)`.
#
# **Its variance.** The score-function estimator avoids differentiating through the sample. In the
# quadratic and ELBO examples above its variance without a baseline is far larger than the
# reparameterized one's and grows with the dimension, and the baseline `E[f]` reduces it a lot but
# not to the reparameterized level. In the cosine example the order reverses for ω ≥ 1 (the plain
# score function has the smaller variance), and the baseline `E[f]` even raises the variance at
# ω = 1 and 2. So there is no law: the reparameterized estimator tends to win when f varies slowly on
# the scale of σ. For VAEs it is the usual choice: their decoders' `log p(x|z)` is differentiable in
# z, one sample per example is what Kingma & Welling (2014) use, and the plain score function
# multiplies every coordinate's estimate by the whole of `log p(x|z)`, so its variance tends to grow
# with the number of latent dimensions unless a good baseline is found.
# </details>

# %% [markdown]
# ## Summary
#
# - `log p(x) − KL(q ‖ p(z|x)) = E_q[log p(x|z)] − KL(q ‖ p(z))` (Bayes' rule, or Jensen): the ELBO is a
#   lower bound with gap exactly `KL(q ‖ posterior)` — checked to four decimals with your
#   full-covariance KL; a diagonal q leaves `−½ log(1 − ρ²)` on a correlated 2-D posterior.
#   `log E_q[p(x|z)]` in place of `E_q[log p(x|z)]` is not a bound.
# - We optimize it because `p(x)` and `p(z|x)` are intractable; pushing it up raises `log p(x)`
#   and/or lowers `KL(q ‖ p(z|x))`.
# - Loss = distortion `−E_q[log p(x|z)]` + rate `KL(q ‖ p(z))`; a unit whose q is the prior for every
#   x costs no rate and carries nothing (inactive; in a trained VAE such units have KLs near 0). Per
#   example `L_n = BCE summed over pixels − ½ Σ_j(1 + log σ_j² − μ_j² − σ_j²)`, averaged over the batch.
# - `z = μ + σ ⊙ ε` makes the sample differentiable (any differentiable sampling path `z = g_φ(ε)` does;
#   discrete z has none). In the quadratic and ELBO examples its gradient's variance was lower than
#   the score function's — by orders of magnitude on a high-dimensional quadratic without a
#   baseline, by less with a baseline or in two dimensions; for an f that varies quickly on the scale
#   of σ, such as `cos(ωz)` with ω ≥ 1, it was higher than the plain score function's.
#
# Next: notebook 05 trains the VAE.
