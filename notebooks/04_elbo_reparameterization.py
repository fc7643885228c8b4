# %% [markdown]
# # 04 — The ELBO and the reparameterization trick (Q1.6–Q1.11)
#
# Notebook 02 showed that `log p(x)` of a VAE cannot be estimated well by sampling the prior;
# notebook 03 gave the KL divergence between Gaussians. Here the two meet: an approximate
# posterior `q(z|x)` turns `log p(x)` into a tractable **lower bound**, the ELBO, which the VAE
# maximizes. Then we make its gradient computable with the **reparameterization trick**.
#
# **You will learn**
#
# - the identity `log p(x) − KL(q(z|x) ‖ p(z|x)) = E_q[log p(x|z)] − KL(q(z|x) ‖ p(z))`, why the
#   right side is a lower bound, and to check it to the last digit on a model where everything
#   is exact;
# - why we optimize a bound at all, and what happens when the bound is pushed up;
# - the two terms of the VAE loss and the per-example loss with a Bernoulli decoder (exercise),
#   including the sign of the KL term;
# - why sampling blocks gradients, how `z = μ + σ ⊙ ε` fixes it (exercise), and how much lower
#   the variance of the reparameterized gradient is than the score-function gradient's.
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

# %% [markdown]
# ## Setup
# Exact ELBOs, posteriors and `log p(x)` come from `course_utils.toys.linear_gaussian.LinearGaussian`;
# the comparisons from `course_utils.toys.elbo_gap`; the gradient estimators from
# `course_utils.toys.gradient_estimators`; the VAE's loss pieces from `course_utils.vae.losses`.
# Quick mode only shortens the optimisation demo and the sample counts of the plots.

# %%
import inspect
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch.distributions import Normal

from course_utils.core import pick, quick_mode, seed_everything
from course_utils.exercises import check_per_example_loss, check_reparameterize
from course_utils.toys import (
    LinearGaussian,
    ascend_elbo,
    elbo_table,
    gradient_statistics,
    reparameterization_gradients,
    score_function_gradients,
)
from course_utils.toys.gradient_estimators import squared_distance
from course_utils.vae import VAE, VAEConfig, kl_std_normal, negative_elbo

seed_everything(0)
print("quick mode:", quick_mode())

# %% [markdown]
# ## Q1.6 — The evidence lower bound
#
# Start from the KL between an approximate posterior `q(z|x)` and the true posterior
# `p(z|x) = p(x|z) p(z) / p(x)` (Bayes' rule):
#
# $$\mathrm{KL}(q(z|x)\,\|\,p(z|x)) = \mathbb{E}_q\!\left[\log q(z|x) - \log p(x|z) - \log p(z) + \log p(x)\right].$$
#
# `log p(x)` does not depend on z, so it leaves the expectation. Rearranging,
#
# $$\log p(x) - \mathrm{KL}(q(z|x)\,\|\,p(z|x))
#  = \mathbb{E}_q[\log p(x|z)] - \mathbb{E}_q\!\left[\log\frac{q(z|x)}{p(z)}\right]
#  = \underbrace{\mathbb{E}_q[\log p(x|z)] - \mathrm{KL}(q(z|x)\,\|\,p(z))}_{\text{ELBO}} .$$
#
# Since `KL(q ‖ p(z|x)) ≥ 0`, the right side is `≤ log p(x)`: a **lower bound** on the
# evidence, with the gap equal to exactly `KL(q(z|x) ‖ p(z|x))`.
#
# Two traps: the expectation is of **`log p(x|z)`**, not of `p(x|z)`; and KL is a
# *divergence*, not a distance — it is not symmetric (notebook 03), and the bound involves
# `KL(q ‖ posterior)` in that direction.
#
# **Checking it numerically.** On a linear-Gaussian model (`z ∈ R²`, `x ∈ R⁴`, with strongly
# correlated latents) everything is exact: `log p(x)`, the posterior, and the ELBO of any
# diagonal Gaussian q. For four choices of q we compare the gap `log p(x) − ELBO` with
# `KL(q ‖ p(z|x))` computed separately by `torch.distributions` from the exact posterior.

# %%
print(inspect.getsource(LinearGaussian.elbo))

# %%
# NBVAL_CHECK_OUTPUT
g = torch.Generator().manual_seed(0)
W = torch.randn(4, 2, generator=g, dtype=torch.float64)
W[:, 1] = 0.8 * W[:, 0] + 0.3 * W[:, 1]          # correlated latents: the posterior is a tilted ellipse
model = LinearGaussian(W, torch.zeros(4, dtype=torch.float64), noise_std=0.5)
x, _ = model.sample(4, generator=torch.Generator().manual_seed(1))
post_mean, post_cov = model.posterior(x)
best_mu, best_sigma = model.best_diagonal_q(x)
ones = torch.ones_like(post_mean)
candidates = {
    "q = prior N(0, I)": (0 * ones, ones),
    "posterior mean, std 1": (post_mean, ones),
    "posterior mean, marginal stds": (post_mean, post_cov.diagonal().sqrt() * ones),
    "best diagonal q": (best_mu, best_sigma),
}
print(f"{'q(z|x)':30s} {'log p(x)':>9} {'ELBO':>9} {'gap':>9} {'KL(q||post)':>12}   (nats, mean of 4 points)")
for name, log_px, elbo, gap, kl in elbo_table(model, x, candidates):
    print(f"{name:30s} {log_px:9.4f} {elbo:9.4f} {gap:9.4f} {kl:12.4f}")

# %% [markdown]
# What to look at: in every row `gap = KL(q ‖ posterior)` to four decimals, and the ELBO never
# exceeds `log p(x)`. A diagonal q cannot represent the tilted posterior, so even the best one
# leaves a gap of about one nat. Notice too that matching the posterior's *marginal* standard
# deviations is much worse than the narrower "best diagonal" q: `KL(q ‖ p)` punishes q for
# putting mass where the posterior has little — the asymmetry of notebook 03 at work.
#
# **Trap: `E_q[log p(x|z)]`, not `log E_q[p(x|z)]`.** Estimate both from a million samples of the
# best diagonal q for the first point. They differ (Jensen's inequality), and only the first,
# minus `KL(q ‖ p(z))`, is the ELBO.

# %%
# NBVAL_CHECK_OUTPUT
eps = torch.randn(1_000_000, 1, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
z = best_mu[:1] + best_sigma[:1] * eps                      # a million samples of q for the first point
log_lik = model.log_px_given_z(x[:1], z)[:, 0]
expected_log, standard_error = log_lik.mean().item(), (log_lik.std() / math.sqrt(len(log_lik))).item()
log_expected = (torch.logsumexp(log_lik, 0) - math.log(len(log_lik))).item()
kl_prior = kl_std_normal(best_mu[:1], best_sigma[:1]).item()
print(f"E_q[log p(x|z)]             = {expected_log:.3f} nats")
print(f"log E_q[p(x|z)]             = {log_expected:.3f} nats   (larger, by Jensen)")
print(f"E_q[log p(x|z)] - KL(q||p)  = {expected_log - kl_prior:.3f} ± {standard_error:.3f} (Monte Carlo)"
      f"  vs exact ELBO {model.elbo(x[:1], best_mu[:1], best_sigma[:1]).item():.3f}")
print(f"log p(x)                    = {model.log_px(x[:1]).item():.3f}")

# %% [markdown]
# <details><summary><b>Worked answer (Q1.6)</b></summary>
#
# Using `p(z|x) = p(x|z) p(z)/p(x)`:
# `KL(q(z|x) ‖ p(z|x)) = E_q[log q(z|x) − log p(z|x)] = E_q[log q(z|x) − log p(x|z) − log p(z)] + log p(x)`.
# Move `log p(x)` to the left and split the rest:
# `log p(x) − KL(q ‖ p(z|x)) = E_q[log p(x|z)] − E_q[log q(z|x) − log p(z)] = E_q[log p(x|z)] − KL(q(z|x) ‖ p(z))`.
#
# It is a lower bound because `KL(q ‖ p(z|x)) ≥ 0` (Gibbs' inequality), so
# `ELBO = log p(x) − KL(q ‖ p(z|x)) ≤ log p(x)`, with equality exactly when `q(z|x) = p(z|x)`.
# The table confirms the gap equals `KL(q ‖ posterior)` for every q. The expectation is of
# `log p(x|z)`; `log E_q[p(x|z)]` is a different, larger number.
# </details>

# %% [markdown]
# ## Q1.7 — Why optimize a bound?
#
# `log p(x) = log ∫ p(x|z) p(z) dz` needs an integral over all z through a neural network —
# no closed form, and notebook 02 showed Monte Carlo with prior samples is hopeless in 20
# dimensions. The posterior `p(z|x) = p(x|z)p(z)/p(x)` needs the same `p(x)`. The ELBO needs
# neither: `E_q[log p(x|z)]` is estimated with a sample from `q` (which lands where the
# posterior is), and `KL(q ‖ p(z))` is in closed form (notebook 03).
#
# <details><summary><b>Worked answer (Q1.7)</b></summary>
#
# Because `log p(x_n)` and the posterior `p(z|x_n)` are intractable for a non-linear decoder: the
# marginal likelihood is an integral over the latent space with no closed form, its naive
# Monte Carlo estimate needs exponentially many samples in dim(z), and the posterior contains
# the same integral as its normaliser. The ELBO replaces them with quantities we can compute
# and differentiate: a one-sample estimate of `E_q[log p(x|z)]` and a closed-form KL to the prior.
# </details>

# %% [markdown]
# ## Q1.8 — What happens when the bound goes up?
#
# `ELBO = log p(x) − KL(q ‖ p(z|x))`, so the ELBO can rise because `log p(x)` rises (a better
# model), because `KL(q ‖ p(z|x))` falls (a better approximate posterior), or both. Watch it on
# the linear-Gaussian model: twenty data points from a "true" model, a wrong initial model, and a
# diagonal q per point. Gradient ascent on the ELBO in three phases: first only q moves, then
# only the model (W, b), then both.

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

# %% [markdown]
# What to look at: while only q moves, `log p(x)` is flat and the ELBO climbs towards it — the
# gap `KL(q ‖ p(z|x))` shrinks (better approximate posterior). While only the model moves,
# `log p(x)` rises a lot — the model gets better — but the gap *grows*, because q was fitted to the
# old model's posterior. When both move, both effects happen together. (A rising ELBO could even come with a
# *falling* `log p(x)` — but then the gap must fall by more, since ELBO = log p(x) − gap.)
#
# <details><summary><b>Worked answer (Q1.8)</b></summary>
#
# Since `ELBO = log p(x_n) − KL(q(Z|x_n) ‖ p(Z|x_n))`, an increase of the ELBO means
# `log p(x_n)` increases (the generative model explains the data better), and/or
# `KL(q(Z|x_n) ‖ p(Z|x_n))` decreases (the approximate posterior moves closer to the true
# posterior). In the demo: optimizing q alone leaves `log p(x)` unchanged and shrinks the KL;
# optimizing the model raises `log p(x)` (here while the KL grows, since q lags behind); jointly,
# both. (This question is about these two quantities — not about the reconstruction and
# regularization terms of the loss, which are Q1.9.)
# </details>

# %% [markdown]
# ## Q1.9 — The two terms of the loss
#
# The VAE minimizes the negative ELBO, averaged over the data:
#
# $$\mathcal{L}(x) = \underbrace{-\mathbb{E}_{q_\phi(z|x)}[\log p_\theta(x|z)]}_{\text{reconstruction}}
#   + \underbrace{\mathrm{KL}(q_\phi(z|x)\,\|\,p(z))}_{\text{regularization}} .$$
#
# The package computes both per example — read it:

# %%
print(inspect.getsource(negative_elbo))

# %% [markdown]
# On one batch of an **untrained** VAE (random inputs stand in for images here; notebook 05 uses
# the data): the reconstruction term is large (the decoder knows nothing yet), the KL is small
# (the encoder's q is still close to the prior).

# %%
vae = VAE(VAEConfig(z_dim=20))
x_batch = torch.bernoulli(torch.full((8, 784), 0.3), generator=torch.Generator().manual_seed(0))
with torch.no_grad():
    out = vae(x_batch, torch.Generator().manual_seed(1))
    parts = negative_elbo(x_batch, out["logits"], out["mu"], out["sigma"])
print({k: round(v.mean().item(), 2) for k, v in parts.items()}, "(nats per example)")

# %% [markdown]
# <details><summary><b>Worked answer (Q1.9)</b></summary>
#
# - **Reconstruction** `−E_{q(z|x)}[log p(x|z)]`: the expected negative log-likelihood of the input
#   under the decoder when z comes from the encoder. Minimizing it makes codes informative: the
#   decoder must reproduce x from z.
# - **Regularization** `KL(q(z|x) ‖ p(z))`: keeps each approximate posterior close to the prior
#   N(0, I). It stops the encoder from using arbitrarily precise, far-apart codes, and keeps the
#   region of latent space that the encoder uses the same as the one the prior samples from — so
#   that sampling `z ~ p(z)` and decoding gives realistic images.
# </details>

# %% [markdown]
# ## Q1.10 — The per-example loss
#
# With one sample `z ~ q(z|x_n)`, a Bernoulli decoder with pixel means `f = f_θ(z)` and an encoder
# `q = N(μ, diag σ²)`, the two terms become
#
# $$L_n = -\sum_{m=1}^{784}\big[x_{n,m}\log f_m + (1-x_{n,m})\log(1-f_m)\big]
#   \;-\; \frac12\sum_{j=1}^{D}\big(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\big),$$
#
# and the training loss is the average of `L_n` over the batch. Both sums are sums — over pixels
# and over latent dimensions — not means.
#
# **The sign of the KL term.** `−½ Σ(1 + log σ² − μ² − σ²)` *is* the KL (≥ 0); `+½ Σ(…)` is minus
# the KL. A numerical check:

# %%
# NBVAL_CHECK_OUTPUT
mu_ex = torch.tensor([[0.5, -1.0, 0.0]])
sigma_ex = torch.tensor([[0.8, 1.5, 1.0]])
terms = (1 + torch.log(sigma_ex**2) - mu_ex**2 - sigma_ex**2).sum().item()
print(f"-1/2 sum(1 + log s^2 - m^2 - s^2) = {-0.5 * terms:.4f}")
print(f"+1/2 sum(1 + log s^2 - m^2 - s^2) = {+0.5 * terms:.4f}")
print(f"KL(q || N(0, I)) (closed form)    = {kl_std_normal(mu_ex, sigma_ex).item():.4f}")

# %% [markdown]
# ### Exercise — `per_example_loss`
# Implement `L_n` for a batch: `x` (N, 784) binary, `logits` (N, 784) — the decoder's outputs
# *before* the sigmoid, `f = sigmoid(logits)` — and the encoder's `mu`, `sigma` (N, D). Return
# shape `(N,)`. For numerical stability compute the reconstruction from the logits
# (`torch.nn.functional.binary_cross_entropy_with_logits(..., reduction="none")`), or from
# `torch.sigmoid(logits)` carefully.

# %%
# NBVAL_CHECK_OUTPUT
def per_example_loss(x, logits, mu, sigma):
    """L_n = -sum_m [x log f + (1-x) log(1-f)] - 1/2 sum_j (1 + log sigma^2 - mu^2 - sigma^2), shape (N,)."""
    ### BEGIN SOLUTION
    reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=-1)
    kl = -0.5 * (1 + torch.log(sigma**2) - mu**2 - sigma**2).sum(dim=-1)
    return reconstruction + kl
    ### END SOLUTION


check_per_example_loss(per_example_loss)

# %% [markdown]
# Your loss against the package's `negative_elbo` on a small random batch, and the batch average
# that training minimizes:

# %%
# NBVAL_CHECK_OUTPUT
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
# <details><summary><b>Worked answer (Q1.10)</b></summary>
#
# With `z^(n) = μ_n + σ_n ⊙ ε`, `ε ~ N(0, I)`, and `f = f_θ(z^(n))`:
#
# $$L_n = -\sum_{m=1}^{784}\big[x_{n,m}\log f_m + (1-x_{n,m})\log(1-f_m)\big]
#   - \frac12\sum_{j=1}^{D}\big(1 + \log\sigma_{n,j}^2 - \mu_{n,j}^2 - \sigma_{n,j}^2\big),
#   \qquad \mathcal{L} = \frac1N\sum_n L_n .$$
#
# The first sum is the binary cross-entropy summed over pixels (the one-sample estimate of the
# reconstruction term); the second is `KL(q ‖ N(0, I))` in closed form — with a **minus** in front
# of `½ Σ(1 + …)`, as the numerical check shows (with a plus it would be minus the KL and the model
# would be rewarded for moving away from the prior). Sum over pixels and latent dimensions, average
# over the batch.
# </details>

# %% [markdown]
# ## Q1.11 — The reparameterization trick
#
# The reconstruction term `E_{q_φ(z|x)}[log p_θ(x|z)]` depends on the encoder's parameters φ
# through the distribution we sample from. A sample `z ~ N(μ, σ²)` drawn by a random number
# generator is just a number: autograd cannot say how it would have changed had μ or σ been
# different. In PyTorch, `Normal(μ, σ).sample()` returns a tensor with no gradient history:

# %%
# NBVAL_CHECK_OUTPUT
mu_p = torch.tensor([0.5], requires_grad=True)
sigma_p = torch.tensor([1.2], requires_grad=True)
torch.manual_seed(0)
print("Normal.sample() : requires_grad =", Normal(mu_p, sigma_p).sample().requires_grad)
print("Normal.rsample(): requires_grad =", Normal(mu_p, sigma_p).rsample().requires_grad, "(reparameterized)")

# %% [markdown]
# The trick: write the sample as a deterministic, differentiable function of the parameters and
# of noise that does not depend on them, `z = μ + σ ⊙ ε` with `ε ~ N(0, I)`. The randomness
# becomes an *input*; `∂z/∂μ = 1` and `∂z/∂σ = ε`, and gradients flow from the decoder through z
# into the encoder.
#
# ### Exercise — `reparameterize`
# Return `z = μ + σ ⊙ ε` for given `mu`, `sigma` (the standard deviation) and noise `eps`, all of
# shape (N, D), so that gradients reach `mu` and `sigma`.

# %%
# NBVAL_CHECK_OUTPUT
def reparameterize(mu, sigma, eps):
    """z = mu + sigma * eps, differentiable in mu and sigma (eps ~ N(0, I) is given)."""
    ### BEGIN SOLUTION
    return mu + sigma * eps
    ### END SOLUTION


check_reparameterize(reparameterize)

# %% [markdown]
# The VAE uses the same line (`course_utils.vae.model.VAE.reparameterize`):

# %%
print(inspect.getsource(VAE.reparameterize))

# %% [markdown]
# ### Why not the score function? Gradient variance
#
# Sampling does not make the gradient *impossible*: the score-function (REINFORCE) identity
# `∇_μ E_q[f(z)] = E_q[f(z) ∇_μ log q(z)]` needs only values of f. Both estimators are unbiased;
# the difference is their variance. On the same objective, `E_{z~N(μ, I)}[Σ_i (z_i − 1)²]` at
# μ = 0 (exact gradient −2 in every coordinate), with 10 000 one-sample estimates each:

# %%
print(inspect.getsource(score_function_gradients))
print(inspect.getsource(reparameterization_gradients))

# %%
# NBVAL_CHECK_OUTPUT
f = squared_distance(1.0)
print(f"{'dim':>4} | {'score-function mean':>19} {'variance':>10} | {'reparameterized mean':>20} {'variance':>9}")
for dim in (1, 10, 100):
    s = gradient_statistics(f, dim, n=10_000, seed=0)
    print(f"{dim:4d} | {s['score_mean']:19.3f} {s['score_var']:10.1f} | "
          f"{s['reparam_mean']:20.3f} {s['reparam_var']:9.3f}")

# %% [markdown]
# The variance as a function of the dimension, and the distribution of one-sample estimates in
# 20 dimensions:

# %%
dims = [1, 2, 5, 10, 20, 50, 100]
n = pick(10_000, 2_000)
stats = [gradient_statistics(f, d, n=n, seed=1) for d in dims]
mu20, sigma20 = torch.zeros(20, dtype=torch.float64), torch.ones(20, dtype=torch.float64)
sf20 = score_function_gradients(f, mu20, sigma20, n, torch.Generator().manual_seed(2))[:, 0]
rp20 = reparameterization_gradients(f, mu20, sigma20, n, torch.Generator().manual_seed(2))[:, 0]
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
axes[0].plot(dims, [s["score_var"] for s in stats], "o-", label="score function (REINFORCE)")
axes[0].plot(dims, [s["reparam_var"] for s in stats], "s-", label="reparameterization")
axes[0].set_xscale("log")
axes[0].set_yscale("log")
axes[0].set_xlabel("dimension of z")
axes[0].set_ylabel("variance of a one-sample gradient estimate")
axes[0].set_title("Gradient variance, E[Σ(z_i − 1)²] with z ~ N(0, I)")
axes[0].legend()
bins = torch.linspace(-60, 60, 121)
axes[1].hist(sf20.numpy(), bins=bins.numpy(), alpha=0.6, density=True, label="score function")
axes[1].hist(rp20.numpy(), bins=bins.numpy(), alpha=0.6, density=True, label="reparameterization")
axes[1].axvline(-2.0, color="k", ls="--", label="exact gradient −2")
axes[1].set_xlabel("one-sample estimate of ∂/∂μ₁")
axes[1].set_ylabel("density")
axes[1].set_title("Estimates in 20 dimensions")
axes[1].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# What to look at: the reparameterized estimator's variance is 4 whatever the dimension; the
# score function's grows with the dimension (every coordinate's estimate is multiplied by the
# whole `f(z)`), by orders of magnitude. Both histograms are centred on −2 — both unbiased — but
# one needs thousands of times more samples for the same precision.
#
# <details><summary><b>Worked answer (Q1.11)</b></summary>
#
# Training needs `∇_φ` of `E_{q_φ(z|x)}[log p_θ(x|z)]`. If z is drawn from `q_φ` by a random number
# generator, the sample is not a differentiable function of φ — sampling is a non-differentiable
# operation — so backpropagation cannot pass from the decoder's loss to the encoder (in PyTorch,
# `.sample()` has no gradient). The reparameterization trick writes `z = μ_φ(x) + σ_φ(x) ⊙ ε` with
# `ε ~ N(0, I)` drawn independently of φ: the randomness is moved into an input, z is a
# deterministic differentiable function of φ, and
# `∇_φ E_q[log p(x|z)] = E_ε[∇_φ log p(x | μ_φ + σ_φ ⊙ ε)]`, estimated with one ε per example.
# The score-function estimator avoids differentiating through the sample but has a far larger
# variance, growing with the dimension, as the plot shows.
# </details>

# %% [markdown]
# ## Summary
#
# - `log p(x) − KL(q ‖ p(z|x)) = E_q[log p(x|z)] − KL(q ‖ p(z))`: the ELBO is a lower bound with gap
#   exactly `KL(q ‖ posterior)` — checked to four decimals.
# - We optimize it because `p(x)` and `p(z|x)` are intractable; pushing it up raises `log p(x)`
#   and/or lowers `KL(q ‖ p(z|x))`.
# - Loss = reconstruction `−E_q[log p(x|z)]` + regularization `KL(q ‖ p(z))`; per example
#   `L_n = BCE summed over pixels − ½ Σ_j(1 + log σ_j² − μ_j² − σ_j²)`, averaged over the batch.
# - `z = μ + σ ⊙ ε` makes the sample differentiable; its gradient has a far lower variance than
#   the score function's.
#
# Next: notebook 05 trains the VAE.
