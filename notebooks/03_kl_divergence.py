# %% [markdown]
# # 03 — The KL divergence between Gaussians (Q1.5)
#
# The VAE's loss has a term that pulls every approximate posterior q(z|x) towards the
# prior p(z) = N(0, I). That term is a **Kullback–Leibler divergence**, and for
# Gaussians it has a closed form. This notebook derives it, checks it three ways,
# and turns it into the function the VAE uses.
#
# **You will learn**
#
# - to derive `KL(q‖p)` for two univariate Gaussians step by step, and to spot the
#   classic slip `log(σ_p²/σ_q²)` with a numerical check;
# - which `(μ_q, σ_q²)` make the KL to N(0, 1) small or large, and why it is always finite
#   for σ_q > 0;
# - the closed form against the standard normal used in the VAE, and why a diagonal
#   Gaussian's KL is a sum over dimensions;
# - that KL is not symmetric: `KL(q‖p) ≠ KL(p‖q)`.
#
# **Questions**
#
# - **Q1.5** Derive `KL(q‖p)` for `q = N(μ_q, σ_q²)` and `p = N(μ_p, σ_p²)`.
# - **Q1.5a** Give an example of `(μ_q, σ_q²)` whose KL to `N(0, 1)` is small, and one whose KL is
#   large (but finite). What are the values?
# - **Q1.5b** Write the closed form of `KL(q‖p)` for `p = N(0, 1)`, and for a diagonal Gaussian
#   `q = N(μ, diag(σ²))` against `N(0, I)`. Implement it (exercise).
#
# Units: every KL here is in **nats** (natural logarithms).

# %% [markdown]
# ## Setup
# The code behind this notebook lives in `course_utils.toys.gaussians` (univariate Gaussians,
# three ways of computing the KL) and `course_utils.vae.losses` (the VAE's loss pieces).
# Nothing here depends on the data set or on quick mode: every number below is exact or
# comes from a seeded Monte Carlo run.

# %%
import inspect

import matplotlib.pyplot as plt
import torch
from torch.distributions import Independent, Normal, kl_divergence

from course_utils.core import quick_mode, seed_everything
from course_utils.exercises import check_kl_std_normal
from course_utils.toys import kl_monte_carlo, kl_normal, kl_symbolic, kl_torch, normal_log_pdf
from course_utils.widgets import KLExplorer

seed_everything(0)
print("quick mode:", quick_mode())

# %% [markdown]
# ## Q1.5 — Deriving the KL between two univariate Gaussians
#
# By definition, `KL(q‖p) = E_{z~q}[log q(z) − log p(z)]`. Write out both log-densities:
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
# `log(σ_p²/σ_q²)` — easy to do when the densities are written with variances — doubles it.
# The next cells show the course's implementation and then check it numerically.

# %%
print(inspect.getsource(kl_normal))

# %% [markdown]
# **A numerical check of the trap.** For `q = N(1, 0.5²)` and `p = N(0, 1)`, compare the
# closed form with `log(σ_p/σ_q)`, the same formula with `log(σ_p²/σ_q²)`, and a Monte Carlo
# estimate of `E_q[log q(z) − log p(z)]` from 200 000 seeded samples. Look at which of the
# two formulas the Monte Carlo estimate (an unbiased estimate of the true KL) agrees with.

# %%
# NBVAL_CHECK_OUTPUT
mu_q, sigma_q, mu_p, sigma_p = 1.0, 0.5, 0.0, 1.0
right = kl_normal(mu_q, sigma_q, mu_p, sigma_p).item()
wrong = (torch.log(torch.tensor(sigma_p**2 / sigma_q**2))
         + (sigma_q**2 + (mu_q - mu_p) ** 2) / (2 * sigma_p**2) - 0.5).item()
mc, se = kl_monte_carlo(mu_q, sigma_q, mu_p, sigma_p, n=200_000, generator=torch.Generator().manual_seed(1))
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
    mc, se = kl_monte_carlo(mq, sq, mp, sp, n=100_000, generator=generator)
    assert abs(closed - via_torch) < 1e-10 and abs(closed - mc) < 5 * se + 1e-12
    print(f"{mq:5.1f} {sq:5.1f} {mp:5.1f} {sp:5.1f} | {closed:8.4f} {via_torch:8.4f} {mc:8.4f} ± {se:.4f}")

# %% [markdown]
# **Symbolic check (optional).** If `sympy` is installed, `kl_symbolic()` integrates
# `q(z) log(q(z)/p(z))` over the real line and compares the result with the formula above;
# the second value printed is their difference after simplification (0 means identical).
# Notice that sympy writes the first term as `½ log(σ_p²/σ_q²)` — which *is* `log(σ_p/σ_q)`;
# the trap is dropping the ½.

# %%
symbolic = kl_symbolic()
if symbolic is None:
    print("sympy is not installed: skipping the symbolic check (pip install sympy to run it).")
else:
    expression, difference = symbolic
    print("KL from sympy:", expression)
    print("difference to the closed form:", difference)

# %% [markdown]
# <details><summary><b>Worked answer (Q1.5)</b></summary>
#
# $$\mathrm{KL}\big(N(\mu_q,\sigma_q^2)\,\|\,N(\mu_p,\sigma_p^2)\big)
#   = \log\frac{\sigma_p}{\sigma_q} + \frac{\sigma_q^2 + (\mu_q-\mu_p)^2}{2\sigma_p^2} - \frac12 .$$
#
# Derivation: subtract the log-densities (the `log 2π` cancels), take the expectation under q
# using `E_q[(z−μ_q)²] = σ_q²` and `E_q[(z−μ_p)²] = σ_q² + (μ_q−μ_p)²`. The first term is
# `log(σ_p/σ_q)`, not `log(σ_p²/σ_q²)`; the Monte Carlo estimate above agrees only with the
# former. It is 0 exactly when `μ_q = μ_p` and `σ_q = σ_p`, and positive otherwise.
# </details>

# %% [markdown]
# ## Q1.5a — Small and large KL to N(0, 1)
#
# Before computing anything, guess: which q is "close" to N(0, 1)? The KL penalises two
# things: a mean far from 0 (the `μ_q²/2` term) and a width different from 1 (the
# `−log σ_q + σ_q²/2` terms, minimal at σ_q = 1). Try a few pairs `(μ_q, σ_q²)` — note that
# the question gives the **variance** `σ_q²`; the formula needs its square root.

# %%
# NBVAL_CHECK_OUTPUT
examples = {"small": (0.0, 1.0), "also small": (0.1, 0.9), "large": (5.0, 0.01), "larger": (10.0, 0.0001)}
for name, (mean, variance) in examples.items():
    kl = kl_normal(mean, variance**0.5).item()
    print(f"{name:>10}: mu_q = {mean:5.1f}, sigma_q^2 = {variance:<7g} -> KL(q || N(0,1)) = {kl:8.4f} nats")

# %% [markdown]
# What to look at: `(0, 1)` gives exactly 0 (q *is* p); `(5, 0.01)` gives about 14.3 nats —
# large, because q sits five prior standard deviations away and is ten times narrower — but
# finite. The KL to N(0, 1) is finite for **every** `σ_q > 0`: it grows like `μ_q²/2` in the
# mean and like `−log σ_q` as q becomes a spike. The two densities of the examples:

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

# %% [markdown]
# The whole landscape: the KL to N(0, 1) as a function of `μ_q` and `σ_q`. The minimum, 0, is
# at `(0, 1)`; the contours are not symmetric in σ_q (shrinking q is penalised differently
# from widening it).

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
# <details><summary><b>Worked answer (Q1.5a)</b></summary>
#
# - Small: `(μ_q, σ_q²) = (0, 1)` gives `KL = 0` (q equals p); `(0.1, 0.9)` gives about 0.008 nats.
# - Large: `(μ_q, σ_q²) = (5, 0.01)`, i.e. `σ_q = 0.1`, gives
#   `KL = −log 0.1 + (0.01 + 25)/2 − 1/2 = 2.303 + 12.505 − 0.5 ≈ 14.31` nats.
#
# Large but finite: for any `σ_q > 0` every term is finite; the KL only diverges as
# `σ_q → 0` (like `−log σ_q`) or `|μ_q| → ∞` (like `μ_q²/2`).
# </details>

# %% [markdown]
# ## Q1.5b — The closed form against N(0, I)
#
# Put `μ_p = 0` and `σ_p = 1` into the general formula:
#
# $$\mathrm{KL}\big(N(\mu_q,\sigma_q^2)\,\|\,N(0,1)\big) = -\log\sigma_q + \frac{\sigma_q^2 + \mu_q^2}{2} - \frac12
#   = -\frac12\left(1 + \log\sigma_q^2 - \mu_q^2 - \sigma_q^2\right).$$
#
# The second form is the one in the VAE paper; note `log σ_q² = 2 log σ_q`, so the two agree.
#
# **Diagonal Gaussians.** For `q = N(μ, diag(σ²))` and `p = N(0, I)` in D dimensions, both
# densities factorise over dimensions, so `log q(z) − log p(z)` is a sum of D one-dimensional
# terms, each depending on one coordinate; the expectation of a sum is the sum of the
# expectations. Hence the KL is the **sum** over dimensions (not the mean):
#
# $$\mathrm{KL}\big(N(\mu, \mathrm{diag}\,\sigma^2)\,\|\,N(0, I)\big)
#   = \sum_{j=1}^{D}\left(-\log\sigma_j + \frac{\sigma_j^2 + \mu_j^2}{2} - \frac12\right).$$
#
# ### Exercise — `kl_to_standard_normal`
# Implement it for a batch: `mu` and `sigma` have shape `(N, D)` (`sigma` is the standard
# deviation); return one KL per example, shape `(N,)`. The check tries your function on
# fixed inputs and names the usual slips (sign, σ vs σ², a missing log, a mean instead of a sum).

# %%
# NBVAL_CHECK_OUTPUT
def kl_to_standard_normal(mu, sigma):
    """KL( N(mu, diag(sigma^2)) || N(0, I) ) for each row of mu, sigma (shape (N, D)) -> (N,), in nats."""
    ### BEGIN SOLUTION
    return (-torch.log(sigma) + 0.5 * (sigma**2 + mu**2) - 0.5).sum(dim=-1)
    ### END SOLUTION


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
# The VAE's loss uses the same formula from the package, `course_utils.vae.losses.kl_std_normal` —
# read it and compare with yours:

# %%
from course_utils.vae.losses import kl_std_normal

print(inspect.getsource(kl_std_normal))

# %% [markdown]
# <details><summary><b>Worked answer (Q1.5b)</b></summary>
#
# With `p = N(0, 1)`: `KL = −log σ_q + (σ_q² + μ_q²)/2 − 1/2 = −½(1 + log σ_q² − μ_q² − σ_q²)`.
#
# For a diagonal Gaussian against `N(0, I)` the KL is the sum over dimensions,
# `Σ_j (−log σ_j + (σ_j² + μ_j²)/2 − 1/2)`, because both densities factorise and the
# expectation of a sum of per-dimension terms is the sum of their expectations. In code:
# `(-torch.log(sigma) + 0.5 * (sigma**2 + mu**2) - 0.5).sum(-1)`.
#
# Sign check: each term is ≥ 0 (the function `−log s + s²/2 − 1/2` has its minimum 0 at `s = 1`),
# so the KL is never negative.
# </details>

# %% [markdown]
# ## KL is not a distance: it is not symmetric
#
# A distance satisfies `d(q, p) = d(p, q)`. The KL does not. Compare both directions for a
# narrow q and a wide p:

# %%
# NBVAL_CHECK_OUTPUT
for (mq, sq), (mp, sp) in [((0.0, 0.3), (0.0, 1.0)), ((2.0, 0.5), (0.0, 1.0)), ((5.0, 0.1), (0.0, 1.0))]:
    forward, reverse = kl_normal(mq, sq, mp, sp).item(), kl_normal(mp, sp, mq, sq).item()
    print(f"q = N({mq}, {sq}²), p = N({mp}, {sp}²): KL(q‖p) = {forward:8.4f}   KL(p‖q) = {reverse:8.4f} nats")

# %% [markdown]
# What to look at: `KL(p‖q)` is much larger when q is narrow, because `p` puts mass where `q`
# has almost none. This asymmetry matters in the next notebook: the ELBO's gap is
# `KL(q‖p(z|x))` — in that direction, q is punished for putting mass where the posterior has
# none, not the other way round.
#
# ## Explore: μ_q and σ_q against N(0, 1)
#
# Move the sliders: the plot shows q and p, the title both KLs. Find a q with `KL(q‖p) ≈ 1`
# nat in two different ways (shifting versus shrinking). The callback is
# `course_utils.widgets.vae.KLExplorer.update`; it redraws in a few tens of milliseconds.

# %%
explorer = KLExplorer(mu_p=0.0, sigma_p=1.0, mu_q=1.0, sigma_q=0.5)
explorer.widget

# %% [markdown]
# ## Summary
#
# - `KL(N(μ_q, σ_q²) ‖ N(μ_p, σ_p²)) = log(σ_p/σ_q) + (σ_q² + (μ_q − μ_p)²)/(2σ_p²) − 1/2` — with
#   `log(σ_p/σ_q)`, confirmed by Monte Carlo and `torch.distributions`.
# - Against N(0, I) and for a diagonal Gaussian: `Σ_j (−log σ_j + (σ_j² + μ_j²)/2 − 1/2)`, a sum over dimensions.
# - Small: `(0, 1) → 0`; large but finite: `(5, 0.01) → 14.31` nats.
# - KL is a divergence, not a metric: it is not symmetric.
#
# Next: notebook 04 uses this KL as the regularization term of the ELBO.
