# %% [markdown]
# # 03 — The KL divergence between Gaussians (Q1.5)
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dgm-course/deep-generative-models/blob/main/notebooks/03_kl_divergence.ipynb)
# [![Launch on Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/dgm-course/deep-generative-models/main?urlpath=lab/tree/notebooks/03_kl_divergence.ipynb)
# · [read it with all outputs on the course website](https://dgm-course.github.io/deep-generative-models/notebooks/03_kl_divergence.html)
#
# The VAE's loss has a term that pulls every approximate posterior q(z|x) towards the
# prior p(z) = N(0, I). That term is a **Kullback–Leibler divergence**, and for
# Gaussians it has a closed form. This notebook derives it, checks it three ways,
# turns it into the function the VAE uses, and looks at what kind of quantity the KL is.
#
# **You will learn**
#
# - to derive `KL(q‖p)` for two univariate Gaussians step by step, and to spot the
#   classic slip `log(σ_p²/σ_q²)` with a numerical check;
# - which `(μ_q, σ_q²)` make the KL to N(0, 1) small or large, and whether it can be infinite
#   for σ_q > 0;
# - the closed form against the standard normal used in the VAE, and how a diagonal
#   Gaussian's KL relates to the per-dimension KLs (exercise);
# - to prove `KL ≥ 0` for any two distributions, and to test whether the KL is a distance
#   (symmetry, the triangle inequality);
# - what the two directions of the KL, `KL(p‖q)` and `KL(q‖p)`, do when one Gaussian is fitted
#   to a two-mode distribution.
#
# **Questions**
#
# - **Q1.5** Derive `KL(q‖p)` for `q = N(μ_q, σ_q²)` and `p = N(μ_p, σ_p²)`.
# - **Q1.5a** Give an example of `(μ_q, σ_q²)` whose KL to `N(0, 1)` is small, and one whose KL is
#   large. What are the values?
# - **Q1.5b** Write the closed form of `KL(q‖p)` for `p = N(0, 1)`, and for a diagonal Gaussian
#   `q = N(μ, diag(σ²))` against `N(0, I)`. Implement it (exercise).
#
# Each question starts with a *derive* or *predict first* prompt; the worked answers stay
# collapsed until you open them. Units: every KL here is in **nats** (natural logarithms).
# About 45 minutes.

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
# The code behind this notebook lives in `course_utils.toys.gaussians` (Gaussians, three ways of
# computing the KL), `course_utils.toys.kl_directions` (forward versus reverse KL) and
# `course_utils.vae.losses` (the VAE's loss pieces). Nothing here depends on the data set or on
# quick mode: every number below is exact or comes from a seeded Monte Carlo run.

# %%
import inspect

import matplotlib.pyplot as plt
import torch
from torch.distributions import Independent, Normal, kl_divergence

from course_utils.core import quick_mode, seed_everything, set_threads
from course_utils.course import record
from course_utils.exercises import check_kl_std_normal
from course_utils.toys import (
    Mixture1D,
    fit_forward,
    fit_reverse,
    forward_kl,
    kl_monte_carlo,
    kl_normal,
    kl_symbolic,
    kl_symbolic_expanded,
    kl_torch,
    normal_log_pdf,
    reverse_kl,
)
from course_utils.widgets import KLDirectionExplorer, KLExplorer

set_threads()
seed_everything(0)
print("quick mode:", quick_mode())

# %% [markdown]
# ## Q1.5 — Deriving the KL between two univariate Gaussians (about 15 minutes)
#
# By definition, `KL(q‖p) = E_{z~q}[log q(z) − log p(z)]`.
#
# **Derive first.** Write out `log q(z)` and `log p(z)` for the two Gaussians, subtract, and take
# the expectation under q. Which two moments of q do you need? Write your result as a function
# of `μ_q, σ_q, μ_p, σ_p`.
#
# **Check your result numerically** before you open the worked answer: the cell below estimates
# the KL for `q = N(1, 0.5²)` and `p = N(0, 1)` by Monte Carlo, averaging `log q(z) − log p(z)` over
# 200 000 seeded samples of q. Put the same numbers into your formula: does it agree within the
# printed standard error?

# %%
# NBVAL_CHECK_OUTPUT
mu_q, sigma_q, mu_p, sigma_p = 1.0, 0.5, 0.0, 1.0
mc, se = kl_monte_carlo(mu_q, sigma_q, mu_p, sigma_p, n=200_000, generator=torch.Generator().manual_seed(1))
print(f"Monte Carlo estimate of KL(N(1, 0.5²) ‖ N(0, 1)): {mc:.4f} ± {se:.4f} nats")

# %% [markdown]
# <details><summary><b>Worked answer (Q1.5)</b></summary>
#
# The log-densities are
#
# $$\log q(z) = -\log\sigma_q - \tfrac12\log 2\pi - \frac{(z-\mu_q)^2}{2\sigma_q^2},\qquad
#   \log p(z) = -\log\sigma_p - \tfrac12\log 2\pi - \frac{(z-\mu_p)^2}{2\sigma_p^2}.$$
#
# **Step 1 — subtract.** The `log 2π` terms cancel:
#
# $$\log q(z) - \log p(z) = \log\frac{\sigma_p}{\sigma_q}
#   - \frac{(z-\mu_q)^2}{2\sigma_q^2} + \frac{(z-\mu_p)^2}{2\sigma_p^2}.$$
#
# **Step 2 — take expectations under q.** Two moments of q are all we need:
# `E_q[(z − μ_q)²] = σ_q²` (the variance), and, writing `z − μ_p = (z − μ_q) + (μ_q − μ_p)`,
# `E_q[(z − μ_p)²] = σ_q² + (μ_q − μ_p)²` (the cross term has mean zero).
#
# **Step 3 — collect.**
#
# $$\mathrm{KL}(q\,\|\,p) = \log\frac{\sigma_p}{\sigma_q}
#   + \frac{\sigma_q^2 + (\mu_q-\mu_p)^2}{2\sigma_p^2} - \frac12 .$$
#
# **The trap.** The first term is `log(σ_p/σ_q)`, a ratio of *standard deviations*. Writing
# `log(σ_p²/σ_q²)` — easy to do when the densities are written with variances — doubles it. The
# cell after this answer checks both against the Monte Carlo estimate. The KL is 0 exactly when
# `μ_q = μ_p` and `σ_q = σ_p`, and positive otherwise (proved in general below).
# </details>

# %% [markdown]
# **The trap, numerically.** The closed form with `log(σ_p/σ_q)` (the course's `kl_normal`) and the
# same formula with `log(σ_p²/σ_q²)`, against the Monte Carlo estimate above (an unbiased estimate
# of the true KL):

# %%
# NBVAL_CHECK_OUTPUT
right = kl_normal(mu_q, sigma_q, mu_p, sigma_p).item()
wrong = (torch.log(torch.tensor(sigma_p**2 / sigma_q**2))
         + (sigma_q**2 + (mu_q - mu_p) ** 2) / (2 * sigma_p**2) - 0.5).item()
print(f"closed form with log(σp/σq)   : {right:.4f} nats")
print(f"same with log(σp²/σq²) (wrong): {wrong:.4f} nats")
print(f"Monte Carlo, 200k samples     : {mc:.4f} ± {se:.4f} nats")
print("Monte Carlo agrees with log(σp/σq):", abs(mc - right) < 4 * se, "| with log(σp²/σq²):", abs(mc - wrong) < 4 * se)

# %% [markdown]
# ### Three ways: closed form, Monte Carlo, `torch.distributions`
#
# PyTorch registers closed-form KLs for pairs of distributions;
# `torch.distributions.kl_divergence(Normal(μ_q, σ_q), Normal(μ_p, σ_p))` is a third,
# independent implementation. The table compares all three on a few pairs, including
# pairs where `p` is not the standard normal. `Normal` takes the **standard deviation**
# (`scale`), not the variance — the same convention as `kl_normal`.

# %%
print(inspect.getsource(kl_monte_carlo))

# %%
# NBVAL_CHECK_OUTPUT
pairs = [(0.0, 1.0, 0.0, 1.0), (1.0, 0.5, 0.0, 1.0), (-2.0, 2.0, 0.0, 1.0), (0.5, 0.3, 1.0, 2.0), (3.0, 1.0, -1.0, 0.5)]
generator = torch.Generator().manual_seed(2)
print(f"{'mu_q':>5} {'sig_q':>5} {'mu_p':>5} {'sig_p':>5} | {'closed':>8} {'torch':>8} {'Monte Carlo':>17}")
for mq, sq, mp, sp in pairs:
    closed = kl_normal(mq, sq, mp, sp).item()
    via_torch = kl_torch(mq, sq, mp, sp).item()
    mc_pair, se_pair = kl_monte_carlo(mq, sq, mp, sp, n=100_000, generator=generator)
    assert abs(closed - via_torch) < 1e-10 and abs(closed - mc_pair) < 5 * se_pair + 1e-12
    print(f"{mq:5.1f} {sq:5.1f} {mp:5.1f} {sp:5.1f} | {closed:8.4f} {via_torch:8.4f} {mc_pair:8.4f} ± {se_pair:.4f}")

# %% [markdown]
# **Symbolic check (optional).** If `sympy` is installed, `kl_symbolic()` integrates
# `q(z) log(q(z)/p(z))` over the real line and compares the result with the formula above (the
# last line printed is their difference after simplification; 0 means identical). sympy's
# simplified result puts everything over the common denominator `2σ_p²`, where the first term
# hides as `σ_p² log(σ_p²/σ_q²) / (2σ_p²)`: the ½ in front of `log(σ_p²/σ_q²)` is easy to miss there.
# Expanded term by term, it reads `log(σ_p) − log(σ_q)`, the log of the ratio of standard
# deviations.

# %%
symbolic = kl_symbolic()
if symbolic is None:
    print("sympy is not installed: skipping the symbolic check (pip install sympy to run it).")
else:
    expression, difference = symbolic
    print("KL from sympy, simplified:", expression)
    print("KL from sympy, expanded  :", kl_symbolic_expanded(expression))
    print("difference to the closed form:", difference)

# %% [markdown]
# ## Q1.5a — Small and large KL to N(0, 1) (about 5 minutes)
#
# **Predict first.** Which `q = N(μ_q, σ_q²)` is "close" to N(0, 1)? Pick one pair `(μ_q, σ_q²)`
# you expect to give a small KL and one you expect to give a large one, and estimate both values
# with your formula. Can the KL be infinite for some `σ_q > 0`? (The question gives the
# **variance** `σ_q²`; the formula needs its square root.) Then compare with these:

# %%
# NBVAL_CHECK_OUTPUT
examples = {"small": (0.0, 1.0), "also small": (0.1, 0.9), "large": (5.0, 0.01), "larger": (10.0, 0.0001),
            "wide": (0.0, 100.0)}
for name, (mean, variance) in examples.items():
    kl = kl_normal(mean, variance**0.5).item()
    print(f"{name:>10}: mu_q = {mean:5.1f}, sigma_q^2 = {variance:<7g} -> KL(q || N(0,1)) = {kl:8.4f} nats")
record("KL(N(5, 0.01) || N(0, 1))", kl_normal(5.0, 0.1).item(), "nats")

# %% [markdown]
# The two densities of the examples, and the whole landscape: the KL to N(0, 1) as a function of
# `μ_q` and `σ_q`.

# %%
z = torch.linspace(-4, 7, 1101, dtype=torch.float64)
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
for ax, (name, (mean, variance)) in zip(axes, [("small", (0.1, 0.9)), ("large", (5.0, 0.01))], strict=True):
    ax.plot(z, normal_log_pdf(z, 0.0, 1.0).exp(), label="p = N(0, 1)")
    ax.plot(z, normal_log_pdf(z, mean, variance**0.5).exp(), label=f"q = N({mean}, {variance})")
    ax.set_title(f"{name} KL: {kl_normal(mean, variance**0.5).item():.2f} nats")
    ax.set_xlabel("z")
    ax.set_ylabel("density")
    ax.legend()
plt.show()

# %%
mus = torch.linspace(-3, 3, 121, dtype=torch.float64)
sigmas = torch.linspace(0.05, 3, 119, dtype=torch.float64)
M, S = torch.meshgrid(mus, sigmas, indexing="xy")
K = kl_normal(M, S)
fig, ax = plt.subplots(figsize=(6, 4))
levels = [0.1, 0.25, 0.5, 1, 2, 3, 5]
cs = ax.contour(M, S, K, levels=levels, cmap="viridis")
ax.clabel(cs, fmt="%g")
ax.plot([0], [1], "k*", markersize=10, label="q = p: KL = 0")
ax.set_xlabel("μ_q")
ax.set_ylabel("σ_q (standard deviation)")
ax.set_title("KL(N(μ_q, σ_q²) ‖ N(0, 1)) [nats]")
ax.legend(loc="upper right")
plt.show()

# %% [markdown]
# What to look at: the minimum, 0, is at `(0, 1)`; the contours are not symmetric in σ_q —
# shrinking q and widening it by the same factor cost different amounts. Which costs more? The
# section "KL is not a distance" below measures it.
#
# <details><summary><b>Worked answer (Q1.5a)</b></summary>
#
# - Small: `(μ_q, σ_q²) = (0, 1)` gives `KL = 0` (q equals p); `(0.1, 0.9)` gives about 0.008 nats.
# - Large: `(μ_q, σ_q²) = (5, 0.01)`, i.e. `σ_q = 0.1`, gives
#   `KL = −log 0.1 + (0.01 + 25)/2 − 1/2 = 2.303 + 12.505 − 0.5 ≈ 14.31` nats: q sits five prior
#   standard deviations away and is ten times narrower.
#
# Large but finite: for any `σ_q > 0` and any `μ_q` every term is finite. The KL grows without bound
# in three ways: as `σ_q → 0` (like `−log σ_q`), as `σ_q → ∞` (like `σ_q²/2`: the "wide" row,
# `(μ_q, σ_q²) = (0, 100)`, gives `−log 10 + 100/2 − 1/2 ≈ 47.2` nats), and as `|μ_q| → ∞` (like `μ_q²/2`).
# </details>

# %% [markdown]
# ## Q1.5b — The closed form against N(0, I) (about 10 minutes)
#
# **Derive first.** Put `μ_p = 0` and `σ_p = 1` into your result of Q1.5. Then take a diagonal
# Gaussian `q = N(μ, diag(σ²))` in D dimensions and `p = N(0, I)`: how does the KL of the
# D-dimensional Gaussians relate to the D one-dimensional KLs? (Hint: both densities factorise.)
#
# ### Exercise — `kl_to_standard_normal`
# Implement the KL of a diagonal Gaussian to N(0, I) for a batch: `mu` and `sigma` have shape
# `(N, D)` (`sigma` is the standard deviation); return one KL per example, shape `(N,)`, in the
# dtype of the inputs. The VAE's loss differentiates it, so keep it a differentiable function of
# `mu` and `sigma`. The check names the usual slips (sign, σ vs σ², a missing log, a missing
# constant or ½, a detached result, another dtype).

# %%
def kl_to_standard_normal(mu, sigma):
    """KL( N(mu, diag(sigma^2)) || N(0, I) ) for each row of mu, sigma (shape (N, D)) -> (N,), in nats."""
    ### BEGIN SOLUTION
    return (-torch.log(sigma) + 0.5 * (sigma**2 + mu**2) - 0.5).sum(dim=-1)
    ### END SOLUTION

# %%
# Autograded check: 1 point
# NBVAL_CHECK_OUTPUT
check_kl_std_normal(kl_to_standard_normal)

# %% [markdown]
# **Check it against the other two ways, in several dimensions.** `Independent(Normal(μ, σ), 1)`
# is PyTorch's diagonal Gaussian; its KL to `N(0, I)` should equal your function and the sum of
# the univariate closed forms.

# %%
# NBVAL_CHECK_OUTPUT
g = torch.Generator().manual_seed(3)
mu = torch.randn(3, 4, generator=g, dtype=torch.float64)
sigma = 0.3 + torch.rand(3, 4, generator=g, dtype=torch.float64)
yours = kl_to_standard_normal(mu, sigma)
per_dim_sum = kl_normal(mu, sigma).sum(-1)
prior = Independent(Normal(torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)), 1)
via_torch = kl_divergence(Independent(Normal(mu, sigma), 1), prior)
for row in range(3):
    print(f"example {row}: yours {yours[row]:.5f} | sum of 1-D closed forms {per_dim_sum[row]:.5f} "
          f"| torch {via_torch[row]:.5f} nats")

# %% [markdown]
# The course's implementations, for comparison with yours: the general univariate closed form
# (`course_utils.toys.gaussians.kl_normal`) and the VAE's diagonal version
# (`course_utils.vae.losses.kl_std_normal`).

# %%
from course_utils.vae.losses import kl_std_normal  # noqa: E402

print(inspect.getsource(kl_normal))
print(inspect.getsource(kl_std_normal))

# %% [markdown]
# <details><summary><b>Worked answer (Q1.5b)</b></summary>
#
# With `p = N(0, 1)`:
#
# $$\mathrm{KL}\big(N(\mu_q,\sigma_q^2)\,\|\,N(0,1)\big) = -\log\sigma_q + \frac{\sigma_q^2 + \mu_q^2}{2} - \frac12
#   = -\frac12\left(1 + \log\sigma_q^2 - \mu_q^2 - \sigma_q^2\right).$$
#
# The second form is the one in the VAE paper; `log σ_q² = 2 log σ_q`, so the two agree.
#
# For `q = N(μ, diag(σ²))` and `p = N(0, I)` in D dimensions, both densities factorise over
# dimensions, so `log q(z) − log p(z)` is a sum of D one-dimensional terms, each depending on one
# coordinate; the expectation of a sum is the sum of the expectations. Hence the KL is the
# **sum** over dimensions (not the mean):
#
# $$\mathrm{KL}\big(N(\mu, \mathrm{diag}\,\sigma^2)\,\|\,N(0, I)\big)
#   = \sum_{j=1}^{D}\left(-\log\sigma_j + \frac{\sigma_j^2 + \mu_j^2}{2} - \frac12\right).$$
#
# In code: `(-torch.log(sigma) + 0.5 * (sigma**2 + mu**2) - 0.5).sum(-1)`, or the assignment's
# `-0.5 * (1 + torch.log(sigma**2) - mu**2 - sigma**2).sum(-1)`. Each term is ≥ 0 (the function
# `−log s + s²/2 − 1/2` has its minimum 0 at `s = 1`, and `μ²/2 ≥ 0`), so this KL is never negative.
# </details>

# %% [markdown]
# ## KL ≥ 0, for any two distributions (about 5 minutes)
#
# The KL to N(0, I) is a sum of non-negative terms — but is `KL(q‖p) ≥ 0` for *every* pair of
# distributions, Gaussian or not?
#
# **Prove it first.** Write `−KL(q‖p) = E_q[log(p(z)/q(z))]` and use Jensen's inequality for the
# concave `log`. What is `E_q[p(z)/q(z)]`? When does equality hold?
#
# A numerical look at the two sides of the inequality, for `q = N(0, 1.5²)` and a `p` that is not
# Gaussian at all (a two-mode mixture), from 200 000 samples of q:

# %%
# NBVAL_CHECK_OUTPUT
p_mix = Mixture1D.bimodal(separation=3.0, weight=0.3)
zq = 1.5 * torch.randn(200_000, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
ratio = (p_mix.log_prob(zq) - normal_log_pdf(zq, 0.0, 1.5)).exp()     # p(z)/q(z) at samples of q
exact = -float(reverse_kl(p_mix, 0.0, 1.5))
print(f"E_q[log p/q] = {ratio.log().mean().item():+.4f}   (= -KL(q‖p); exact: {exact:+.4f})")
print(f"log E_q[p/q] = {ratio.mean().log().item():+.4f}   "
      f"(Monte Carlo standard error of E_q[p/q]: {(ratio.std() / len(ratio) ** 0.5).item():.4f})")

# %% [markdown]
# <details><summary><b>Worked answer (KL ≥ 0)</b></summary>
#
# Because `log` is concave, Jensen's inequality gives `E[log Y] ≤ log E[Y]`. With `Y = p(z)/q(z)`
# and `z ~ q`:
#
# $$-\mathrm{KL}(q\,\|\,p) = \mathbb{E}_q\!\left[\log\frac{p(z)}{q(z)}\right]
#   \le \log \mathbb{E}_q\!\left[\frac{p(z)}{q(z)}\right] = \log \int_{q(z) > 0} q(z)\frac{p(z)}{q(z)}\,dz
#   = \log \int_{q(z) > 0} p(z)\,dz \le \log 1 = 0 .$$
#
# The expectation under q only sees points where `q > 0`, so the last integral is the mass p puts
# there: 1 when p has no mass outside q's support (as in the cell), less than 1 otherwise — either
# way `≤ 1`, and the bound holds. So `KL(q‖p) ≥ 0` (Gibbs' inequality). The log is strictly concave,
# so equality needs `p/q` constant wherever q has mass, and the last step needs p to have no mass
# outside q's support; both integrate to 1, so the constant is 1: `KL = 0` exactly when `q = p`
# (almost everywhere). (If p is 0 on a set where q has mass, the KL is +∞, which is ≥ 0 too.) The
# cell shows the two sides: the average of the log ratio is negative, the log of the average is 0
# up to Monte Carlo error.
# </details>

# %% [markdown]
# ## KL is not a distance (about 5 minutes)
#
# A distance (a metric) `d` is symmetric, `d(q, p) = d(p, q)`, and satisfies the triangle
# inequality, `d(a, c) ≤ d(a, b) + d(b, c)`.
#
# **Predict first.** For a narrow `q = N(0, 0.3²)` and `p = N(0, 1)`, which is larger, `KL(q‖p)` or
# `KL(p‖q)`? With p = N(0, 1), which costs more in `KL(q‖p)`: a q twice as narrow as p, or twice as
# wide — and in `KL(p‖q)`? (The growth rates of Q1.5a's answer settle it for very large factors; is
# it the same for a factor of 2, and for every factor?) And for the three Gaussians `N(0, 1)`,
# `N(1, 1)`, `N(2, 1)`, compare `KL(N(0,1)‖N(2,1))` with `KL(N(0,1)‖N(1,1)) + KL(N(1,1)‖N(2,1))`
# (your formula of Q1.5 makes this a one-liner).

# %%
# NBVAL_CHECK_OUTPUT
for (mq, sq), (mp, sp) in [((0.0, 0.3), (0.0, 1.0)), ((2.0, 0.5), (0.0, 1.0)), ((5.0, 0.1), (0.0, 1.0)),
                           ((0.0, 0.5), (0.0, 1.0)), ((0.0, 2.0), (0.0, 1.0))]:
    forward, reverse = kl_normal(mq, sq, mp, sp).item(), kl_normal(mp, sp, mq, sq).item()
    print(f"q = N({mq}, {sq}²), p = N({mp}, {sp}²): KL(q‖p) = {forward:8.4f}   KL(p‖q) = {reverse:8.4f} nats")
direct = kl_normal(0.0, 1.0, 2.0, 1.0).item()
via_middle = kl_normal(0.0, 1.0, 1.0, 1.0).item() + kl_normal(1.0, 1.0, 2.0, 1.0).item()
print(f"triangle: KL(N(0,1)‖N(2,1)) = {direct:.4f}  >  KL(N(0,1)‖N(1,1)) + KL(N(1,1)‖N(2,1)) = {via_middle:.4f}")

# %% [markdown]
# <details><summary><b>Worked answer (not a distance)</b></summary>
#
# **Not symmetric.** `KL(p‖q)` is much larger when q is narrow, because p puts mass where q has
# almost none, and the KL's expectation is under its *first* argument. In general
# `KL(q‖p) ≠ KL(p‖q)`.
#
# **Shrinking versus widening.** With p = N(0, 1), `KL(q‖p)` charges about 0.32 nats for a q twice
# as narrow (σ_q = 0.5) and about 0.81 nats for one twice as wide (σ_q = 2); `KL(p‖q)` charges the same
# two amounts the other way round. The same holds for every factor k > 1, not just 2: write
# `f(s) = −log s + s²/2 − ½` for the KL of `N(0, s²)` to `N(0, 1)`; then
# `f(k) − f(1/k) = (k² − k⁻²)/2 − 2 log k` is 0 at k = 1 and has the derivative `(k² − 1)²/k³ ≥ 0`, so
# in `KL(q‖p)` widening by a factor k costs more than shrinking by the same factor, and in `KL(p‖q)`
# the other way round.
#
# In `KL(q‖p)` — the direction the VAE minimises — a q that spills outside p costs more than one that
# stays inside it. That alone does not make its minimiser narrow: when q's family contains p (a
# Gaussian q for a Gaussian p), both directions recover p exactly. It matters when q *cannot* match p.
# Then the reverse fit often errs on the narrow side: notebook 04's best diagonal q for a correlated
# Gaussian posterior takes the posterior's *conditional* variances, smaller than its marginal ones.
# Not always, though: the next section finds a wide reverse fit between two modes.
#
# **No triangle inequality.** For equal variances the closed form gives
# `KL(N(μ_1, σ²)‖N(μ_2, σ²)) = (μ_1 − μ_2)²/(2σ²)` — a *squared* distance. So
# `KL(N(0,1)‖N(2,1)) = 4/2 = 2`, while going through `N(1,1)` costs `1/2 + 1/2 = 1`: the direct
# route is longer than the detour. The KL is a *divergence*: it is ≥ 0 and 0 only for equal
# distributions, but it is not a metric (and neither is its symmetrised sum, by the same example).
# </details>

# %% [markdown]
# ## Forward versus reverse KL (about 10 minutes)
#
# The asymmetry matters when q cannot match p. Fit a single Gaussian q to a distribution p with
# two well-separated modes, once by minimising `KL(p‖q)` (the *forward* KL, expectation under p) and
# once by minimising `KL(q‖p)` (the *reverse* KL, expectation under q).
#
# **Predict first.** Which direction puts q between the two modes, wide enough to cover both?
# Which puts it on one mode? (Ask: which direction is infinite-ish when q has no mass where p has,
# and which when q has mass where p has none?)
#
# The fits (`course_utils.toys.kl_directions`): the forward fit is computed directly (the worked
# answer derives how); the reverse KL is minimised numerically from three starting points (on each
# component and at the forward fit), and each local minimum found is kept.

# %%
# NBVAL_CHECK_OUTPUT
p_two = Mixture1D.bimodal(separation=5.0, weight=0.6, std=0.6)
fwd = fit_forward(p_two)
rev = fit_reverse(p_two)
print(f"p: modes at {p_two.means} with std {p_two.stds[0]}, weights {p_two.weights}")
print(f"forward fit, argmin KL(p‖q): N({fwd[0]:.3f}, {fwd[1]:.3f}²)   KL(p‖q) = {float(forward_kl(p_two, *fwd)):.3f}, "
      f"KL(q‖p) = {float(reverse_kl(p_two, *fwd)):.3f} nats")
for k, (m, s, kl) in enumerate(rev):
    print(f"reverse fit, local minimum {k + 1}: N({m:.3f}, {s:.3f}²)   KL(p‖q) = {float(forward_kl(p_two, m, s)):.3f}, "
          f"KL(q‖p) = {kl:.3f} nats")

# %%
zz = torch.linspace(-7, 7, 1401, dtype=torch.float64)
fig, ax = plt.subplots(figsize=(8, 3.6))
ax.plot(zz, p_two.log_prob(zz).exp(), color="k", lw=2, label="p: a two-mode mixture")
ax.plot(zz, normal_log_pdf(zz, *fwd).exp(), color="C0", label="q minimising KL(p‖q) (forward)")
for k, (m, s, _) in enumerate(rev):
    label = {0: "q minimising KL(q‖p) (reverse)", 1: "other local minima of KL(q‖p)"}.get(k)
    ax.plot(zz, normal_log_pdf(zz, m, s).exp(), color="C3", ls="-" if k == 0 else "--", label=label)
ax.set_xlabel("z")
ax.set_ylabel("density")
ax.set_title("One Gaussian fitted to a bimodal p, both ways")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
plt.show()

# %% [markdown]
# **Explore.** Move the two modes apart and together, and change their weights. *Predict first:*
# when the modes overlap, how do the two fits compare? As they separate, does the best reverse fit
# always sit on one mode, and how many local minima does `KL(q‖p)` have along the way? The plot
# draws the best reverse fit solid and every other local minimum found dashed. The callback is
# `course_utils.widgets.vae.KLDirectionExplorer.update`; the cell after it lists the reverse fits for a
# few separations and weights.

# %%
directions = KLDirectionExplorer(separation=5.0, weight=0.6)
directions

# %%
# NBVAL_CHECK_OUTPUT
for weight in (0.5, 0.6):
    for separation in (2.0, 3.0, 4.0, 5.0, 7.0):
        fits = fit_reverse(Mixture1D.bimodal(separation=separation, weight=weight, std=0.6))
        shown = "; ".join(f"N({m:+.2f}, {s:.2f}²) KL {kl:.3f}" for m, s, kl in fits)
        count = f"{len(fits)} local minim{'um' if len(fits) == 1 else 'a'}"
        print(f"weight {weight}, separation {separation}: {count}, best first: {shown}")

# %% [markdown]
# <details><summary><b>Worked answer (forward versus reverse)</b></summary>
#
# - **Forward**, `KL(p‖q) = E_p[log p − log q]`: where p has mass and q has almost none,
#   `−log q` is huge, so the minimiser must put mass everywhere p does — it is *mass-covering*
#   (zero-avoiding). For a Gaussian q the minimiser matches p's mean and variance (the derivatives
#   of `−E_p[log q]` in μ and σ vanish there), which puts q between the modes, wide, with much of
#   its mass where p has little.
# - **Reverse**, `KL(q‖p) = E_q[log q − log p]`: q is only judged where q itself has mass, and is
#   punished where p is small there, so it is *mode-seeking* (zero-forcing): with well-separated modes
#   each mode gives a local minimum, with q about the size of that mode, and the rest of p is ignored.
#   It does not always pick a mode. When the modes overlap (separation 2 in the list) there is one
#   minimum, between them and close to the forward fit. Further apart, a wide q between the modes
#   can be a local minimum as well as the two on the modes, and at intermediate separations it can
#   be the best one: for separation 3 and equal weights it has a KL of 0.481 nats against 0.666 for
#   q on either mode; at the default above (separation 5, weight 0.6) there are three local minima,
#   one on each mode and a wide one between. Which one an optimiser finds depends on where it starts.
#
# The VAE's gap is `KL(q(z|x)‖p(z|x))`, the **reverse** direction (notebook 04): an encoder that
# cannot represent the posterior's shape pays for every bit of mass it puts where the posterior is
# small, so it often under-covers it — too narrow, or on one mode — though, as the list shows, a wide
# q between two modes can be a reverse-KL minimum too. Notebook 04 shows the narrow case for a
# correlated posterior: the best diagonal q is narrower than the posterior's marginals.
#
# **Maximum likelihood is the forward direction.** Fitting a model `p_θ` to data by maximum
# likelihood maximises `E_{p_data}[log p_θ(x)] = −H(p_data) − KL(p_data ‖ p_θ)`; the entropy does not
# depend on θ, so it minimises the forward `KL(p_data ‖ p_θ)` — mass-covering: a model that gives
# some real images almost no probability pays heavily. The VAE's decoder is trained this way
# (through a bound on the likelihood); a GAN is not. Q3.1 (notebook 08) compares what the two
# kinds of training produce.
# </details>

# %% [markdown]
# ## Explore: μ_q and σ_q against N(0, 1)
#
# Move the sliders: the plot shows q and p, and the box at its top left (and the line under the
# plot) gives both KLs. Find a q with `KL(q‖p) ≈ 1` nat in three different ways: by shifting q, by
# shrinking it, and by widening it. The callback is
# `course_utils.widgets.vae.KLExplorer.update`; the time it took is shown under the plot.

# %%
explorer = KLExplorer(mu_p=0.0, sigma_p=1.0, mu_q=1.0, sigma_q=0.5)
explorer

# %% [markdown]
# ## Summary
#
# - `KL(N(μ_q, σ_q²) ‖ N(μ_p, σ_p²)) = log(σ_p/σ_q) + (σ_q² + (μ_q − μ_p)²)/(2σ_p²) − 1/2` — with
#   `log(σ_p/σ_q)`, confirmed by Monte Carlo, `torch.distributions` and sympy.
# - Against N(0, I) and for a diagonal Gaussian: `Σ_j (−log σ_j + (σ_j² + μ_j²)/2 − 1/2)`, a sum over
#   dimensions.
# - Small: `(0, 1) → 0`; large but finite: `(5, 0.01) → 14.31` nats; the KL grows without bound as
#   σ_q → 0, as σ_q → ∞ and as |μ_q| → ∞.
# - `KL ≥ 0` for any two distributions (Jensen), with equality only for equal ones; but it is a
#   divergence, not a metric: not symmetric, and no triangle inequality.
# - Fitting one Gaussian to two modes: `KL(p‖q)` covers both (moment matching; maximum likelihood
#   minimises this direction); `KL(q‖p)` — the VAE's direction — has a local minimum on each
#   well-separated mode and can prefer a wide q between modes at intermediate separations; when q's
#   family contains p both directions recover p, and when it cannot match p the reverse fit often
#   errs on the narrow side (a diagonal q on a correlated Gaussian, notebook 04).
#
# Next: notebook 04 uses this KL as the regularization term of the ELBO.
