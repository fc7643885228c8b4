# %% [markdown]
# # 06 — The GAN objective (Q2.1–Q2.4)
#
# A generative adversarial network (GAN) learns to sample without ever writing down a
# likelihood. Two networks play a game: a **generator** makes fakes from noise, a
# **discriminator** tries to tell fakes from real data. This notebook takes the game apart
# on paper and on a problem small enough to compute everything exactly: data on the real
# line, whose density we know.
#
# **You will learn**
#
# - who the two players are and what each one computes (Q2.1);
# - what each term of the minimax value `V(D, G)` rewards, and whose terms they are (Q2.2);
# - why, once the generator matches the data, the best discriminator says 1/2 everywhere and
#   `V = −log 4` — derived, then checked numerically (Q2.3);
# - why the generator's original loss gives almost no gradient early in training, and what the
#   non-saturating loss does instead (Q2.4);
# - what the game looks like while it is being played, on a 1-D GAN that trains in seconds.
#
# **Questions**
#
# - **Q2.1** What are the inputs and outputs of the generator G and of the discriminator D?
# - **Q2.2** Explain the two terms of `min_G max_D V(D, G) = E_{p_data}[log D(x)] + E_{p_z}[log(1 − D(G(z)))]`.
# - **Q2.3** What is the value of `V(D, G)` after training has converged (`p_g = p_data`)?
# - **Q2.4** Early in training, the term `log(1 − D(G(z)))` can be problematic. Why, and how is it fixed?
#
# Units: all logs are natural, every loss and value is in **nats**.

# %% [markdown]
# ## Setup
# The code behind this notebook: `course_utils.gan.losses` (the losses of the real GAN, from the
# discriminator's logits), `course_utils.toys.gan1d` (the 1-D toy problem: exact densities, the
# optimal discriminator, the value on a grid, a tiny GAN), `course_utils.toys.gan1d_figures`, the
# exercise checks in `course_utils.exercises.gan` and the widget in `course_utils.widgets.gan`.
# Nothing here loads images; quick mode only shortens the toy runs.

# %%
import inspect
import math
from dataclasses import replace

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from course_utils.core import pick, quick_mode, seed_everything
from course_utils.exercises import check_discriminator_loss, check_generator_loss_non_saturating
from course_utils.gan import LOG_4, Discriminator, GANConfig, Generator, discriminator_loss, value_function
from course_utils.gan import losses as gan_losses
from course_utils.toys import gan1d as toy_gan
from course_utils.toys.gan1d import (
    Mixture1D,
    ToyConfig,
    default_grid,
    fit_discriminator,
    generator_gradients,
    jensen_shannon,
    mean_distance_from_half,
    normal_pdf,
    optimal_discriminator,
    train_toy_gan,
    value_on_grid,
)
from course_utils.toys.gan1d_figures import (
    generator_loss_figure,
    optimal_discriminator_figure,
    saturation_figure,
    toy_history_figure,
    toy_snapshots_figure,
    value_path_figure,
)
from course_utils.widgets import ToyGANExplorer

seed_everything(0)
TOY_STEPS = pick(1500, 800)  # training steps of the toy GAN (quick mode: fewer)
print("quick mode:", quick_mode(), "| toy GAN steps:", TOY_STEPS)

# %% [markdown]
# ## Q2.1 — The two players
#
# - The **generator** `G: z ↦ x̂` takes a noise vector `z ~ p_z` (here `N(0, I)`) and returns a
#   sample `x̂` in data space. It never sees a real image; it only learns through D's verdicts.
# - The **discriminator** `D: x ↦ D(x) ∈ [0, 1]` takes a data point — real or generated — and
#   returns the probability that it is **real**.
#
# In code, D's last layer gives a *logit* `a` and `D(x) = sigmoid(a)`; the losses are computed
# from the logit because `log sigmoid(a)` stays finite where `sigmoid(a)` rounds to 0 or 1.
# Here are the assignment's two networks (notebook 07 trains them), applied to a batch of 4:

# %%
# NBVAL_CHECK_OUTPUT
config = GANConfig()
G, D = Generator(config), Discriminator(config)
z = torch.randn(4, config.latent_dim, generator=torch.Generator().manual_seed(0))
with torch.no_grad():
    x_fake = G.eval()(z)
    logits = D(x_fake)
print(f"noise z       : shape {tuple(z.shape)}  (latent_dim = {config.latent_dim})")
print(f"G(z)          : shape {tuple(x_fake.shape)}, pixels in [-1, 1]: {bool(x_fake.abs().max() <= 1)}")
print(f"D's logits    : shape {tuple(logits.shape)}")
print(f"D(G(z))       : in (0, 1): {bool(((torch.sigmoid(logits) > 0) & (torch.sigmoid(logits) < 1)).all())}")

# %% [markdown]
# The 1-D toy problem has the same two players, only smaller: G maps 4 noise numbers to one
# number, D maps one number to one logit.

# %%
toy_G, toy_D = toy_gan.build_toy_gan(ToyConfig())
print(toy_G)
print(toy_D)

# %% [markdown]
# <details><summary><b>Worked answer (Q2.1)</b></summary>
#
# - **Generator** G: input a noise vector `z` drawn from a simple fixed distribution `p_z`
#   (e.g. `N(0, I)` of dimension 100); output a generated data point `x̂ = G(z)` (an image: 784
#   pixel values). The distribution of `G(z)` is the model distribution `p_g`.
# - **Discriminator** D: input a data point `x` (a real image from the data set or a fake from
#   G); output one number `D(x) ∈ [0, 1]`, the probability that `x` came from the data rather than
#   from G (in practice a logit `a` with `D = sigmoid(a)`).
# </details>

# %% [markdown]
# ## Q2.2 — The minimax value
#
# $$\min_G \max_D \; V(D, G) = \mathbb{E}_{x\sim p_\text{data}}\big[\log D(x)\big]
#   + \mathbb{E}_{z\sim p_z}\big[\log\big(1 - D(G(z))\big)\big].$$
#
# - The **first term** is large (close to 0 from below) when D gives real data a probability
#   near 1: it rewards the **discriminator** for recognising real data.
# - The **second term** is large when `D(G(z))` is near 0: it rewards the **discriminator** for
#   rejecting the fakes.
#
# Both terms are the discriminator's log-likelihood of the right labels (1 for real, 0 for
# fake) — a binary cross-entropy with the sign flipped. D maximises V. The generator only appears in
# the second term and minimises it: it wants `D(G(z))` close to 1, fakes that D accepts.
# (A common slip in write-ups calls these the "decoder's" terms: a GAN has no decoder; they
# belong to the discriminator.)
#
# The course's implementation works on logits:

# %%
print(inspect.getsource(value_function))
print(inspect.getsource(gan_losses.log_d))

# %% [markdown]
# **What the value says in three situations.** Below, D's outputs are given as probabilities and
# turned into logits. Look at the sign of each term and at which situation makes V largest.

# %%
# NBVAL_CHECK_OUTPUT
def to_logit(p):
    p = torch.tensor(p, dtype=torch.float64)
    return torch.log(p) - torch.log1p(-p)


situations = {
    "D is sharp: real 0.9, fake 0.1": ([0.9, 0.95, 0.85], [0.1, 0.05, 0.15]),
    "D cannot tell: 0.5 and 0.5": ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
    "D is fooled: real 0.3, fake 0.8": ([0.3, 0.2, 0.4], [0.8, 0.9, 0.7]),
}
print(f"{'situation':<34} {'E[log D(x)]':>12} {'E[log(1-D(G(z)))]':>18} {'V':>8}")
for name, (d_real, d_fake) in situations.items():
    real, fake = to_logit(d_real), to_logit(d_fake)
    first = gan_losses.log_d(real).mean().item()
    second = gan_losses.log_one_minus_d(fake).mean().item()
    v = value_function(real, fake).item()
    print(f"{name:<34} {first:12.4f} {second:18.4f} {v:8.4f}")

# %% [markdown]
# Both terms are logs of probabilities, so V ≤ 0; a perfect discriminator would reach V = 0.
# The middle row is the number to remember: `2 log(1/2) = −log 4 ≈ −1.3863`.
#
# ### Exercise — the discriminator's loss
#
# Training minimises losses, so the discriminator minimises `−V`: the binary cross-entropy with
# label 1 for real and 0 for fake, each expectation a **batch mean**:
#
# $$L_D = -\frac{1}{n_r}\sum_{i} \log D(x_i) \; - \; \frac{1}{n_f}\sum_{j} \log\big(1 - D(G(z_j))\big).$$
#
# Implement it from the logits (`D = sigmoid(logit)`); `real_logits` and `fake_logits` may have
# different lengths. Use a numerically stable form: `F.logsigmoid(a)` is `log D` and
# `F.logsigmoid(−a)` is `log(1 − D)` (or `F.binary_cross_entropy_with_logits`). The check names
# the usual slips (sign, swapped labels, missing log, sum instead of mean, sigmoid twice).

# %%
# NBVAL_CHECK_OUTPUT
def my_discriminator_loss(real_logits, fake_logits):
    """-E[log D(x)] - E[log(1 - D(G(z)))] from the discriminator's logits (batch means), a 0-d tensor."""
    ### BEGIN SOLUTION
    return -F.logsigmoid(real_logits).mean() - F.logsigmoid(-fake_logits).mean()
    ### END SOLUTION


check_discriminator_loss(my_discriminator_loss)

# %% [markdown]
# Compare with the course's version, which the real GAN trains with:

# %%
print(inspect.getsource(discriminator_loss))

# %% [markdown]
# <details><summary><b>Worked answer (Q2.2)</b></summary>
#
# `V(D, G) = E_{p_data}[log D(x)] + E_{p_z}[log(1 − D(G(z)))]`.
#
# - `E_{p_data}[log D(x)]`: the expected log-probability the **discriminator** assigns to real
#   data being real. It is maximal (0) when `D(x) = 1` on all real data, so it rewards D for
#   recognising real data.
# - `E_{p_z}[log(1 − D(G(z)))]`: the expected log-probability the **discriminator** assigns to
#   generated data being fake. It is maximal when `D(G(z)) = 0`, so it rewards D for rejecting
#   fakes.
#
# Together they are minus D's binary cross-entropy with labels real = 1, fake = 0. D maximises V;
# G can only change the second term and minimises it, i.e. pushes `D(G(z))` towards 1. Both terms
# are the discriminator's — a GAN has no decoder.
# </details>

# %% [markdown]
# ## Q2.3 — The value at the optimum
#
# **Step 1: the best discriminator for a fixed generator.** Write both expectations as integrals
# over x (the fakes `G(z)` have density `p_g`):
#
# $$V(D, G) = \int \Big[p_\text{data}(x) \log D(x) + p_g(x) \log\big(1 - D(x)\big)\Big]\, dx .$$
#
# D can choose `D(x)` separately at every x. For `a, b ≥ 0`, the function `y ↦ a log y + b log(1 − y)`
# on (0, 1) has derivative `a/y − b/(1 − y)`, zero at `y = a / (a + b)` (a maximum: the function
# is concave). Hence
#
# $$D^*(x) = \frac{p_\text{data}(x)}{p_\text{data}(x) + p_g(x)} .$$
#
# **Step 2: the value at D\*.** Substitute, and write `m = (p_data + p_g)/2`:
#
# $$V(D^*, G) = \mathbb{E}_{p_\text{data}}\Big[\log \frac{p_\text{data}}{2m}\Big]
#   + \mathbb{E}_{p_g}\Big[\log \frac{p_g}{2m}\Big]
#   = -\log 4 + \mathrm{KL}(p_\text{data}\,\|\,m) + \mathrm{KL}(p_g\,\|\,m)
#   = -\log 4 + 2\,\mathrm{JSD}(p_\text{data}, p_g).$$
#
# The Jensen–Shannon divergence is ≥ 0 and 0 only when `p_g = p_data`. So the generator's best
# possible outcome is `p_g = p_data`, where `D* = 1/2` everywhere and **`V = −log 4 ≈ −1.386`**.

# %% [markdown]
# The number itself, from the course's loss functions (logit 0 means D = 1/2):

# %%
# NBVAL_CHECK_OUTPUT
half = torch.zeros(8)
print(f"V(D = 1/2)           = {value_function(half, half).item():.6f}")
print(f"discriminator loss   = {discriminator_loss(half, half).item():.6f}  (log 4 = {LOG_4:.6f})")
print(f"-log 4               = {-math.log(4):.6f}")

# %% [markdown]
# **Check it numerically.** Our data are a mixture of two Gaussians on the line, so `p_data` is
# known exactly. Take three generators — one far away, one roughly in the right place, and one
# equal to the data — compute `D*` on a fine grid and integrate V with the trapezoid rule:

# %%
print(inspect.getsource(optimal_discriminator))
print(inspect.getsource(value_on_grid))

# %%
# NBVAL_CHECK_OUTPUT
data = Mixture1D()
x = default_grid(-6.0, 12.0, 6001)
p_data = data.pdf(x)
candidates = {
    "far: N(0, 1)": normal_pdf(x, 0.0, 1.0),
    "rough: N(3.5, 1.5²)": normal_pdf(x, 3.5, 1.5),
    "equal: p_g = p_data": data.pdf(x),
}
print(f"data: {data}")
print(f"{'generator':<22} {'V(D*, G)':>10} {'-log4 + 2 JSD':>14} {'E_m|D* - 1/2|':>14}")
for name, p_g in candidates.items():
    d_star = optimal_discriminator(p_data, p_g)
    v = value_on_grid(x, p_data, p_g, d_star)
    jsd = jensen_shannon(x, p_data, p_g)
    print(f"{name:<22} {v:10.4f} {-LOG_4 + 2 * jsd:14.4f} {mean_distance_from_half(x, p_data, p_g, d_star):14.4f}")
print(f"-log 4 = {-math.log(4):.4f}")

# %% [markdown]
# The last column is the average distance of D\* from a coin flip where the data and the fakes
# are (weighted by `m = (p_data + p_g)/2`). The last row is the converged game: `D* = 1/2`
# everywhere, and the value is exactly `−log 4`. The other generators leave D something to
# exploit, and `V(D*, G)` is higher by twice their JSD. The figure shows the three optimal
# discriminators: each is 1 where only data live, 0 where only fakes live, and 1/2 where the
# two densities are equal.

# %%
fig = optimal_discriminator_figure(x, p_data, candidates)
plt.show()

# %% [markdown]
# **Moving the generator towards the data.** Blend the far generator into the data,
# `p_g = (1 − λ) N(0, 1) + λ p_data`, and watch the value at the optimal D fall to −log 4 as λ → 1
# (left) while `D*` flattens to 1/2 (right). The dashed curve is the formula `−log 4 + 2 JSD`.

# %%
fig = value_path_figure(x, p_data, candidates["far: N(0, 1)"])
plt.show()

# %% [markdown]
# **D\* really is the maximiser.** Against the rough generator, any other D gives a lower value —
# the constant 1/2, D\* pulled halfway towards 1/2, or D\* made more confident (its logit doubled):

# %%
# NBVAL_CHECK_OUTPUT
p_g = candidates["rough: N(3.5, 1.5²)"]
d_star = optimal_discriminator(p_data, p_g)
d_logit = torch.log(d_star) - torch.log1p(-d_star)
for name, d in [("D*", d_star), ("D = 1/2", torch.full_like(d_star, 0.5)),
                ("(D* + 1/2)/2", 0.5 * (d_star + 0.5)), ("sigmoid(2 logit D*)", torch.sigmoid(2 * d_logit))]:
    print(f"{name:<20} V = {value_on_grid(x, p_data, p_g, d):8.4f} nats")

# %% [markdown]
# **A trained discriminator finds D\*.** The inner `max_D` is an ordinary classification
# problem: train a small D alone (the toy discriminator, Adam, the discriminator loss from above)
# against a *fixed* generator distribution and compare it with the formula. With `p_g = p_data`
# there is nothing to learn, and the trained D should hover around 1/2.

# %%
fake_rough = Mixture1D(means=(3.5,), stds=(1.5,), weights=(1.0,))
d_steps = pick(1500, 600)
trained_vs_rough = fit_discriminator(data, fake_rough, steps=d_steps, seed=0)
trained_vs_equal = fit_discriminator(data, data, steps=d_steps, seed=0)

fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
for ax, d_net, p_fake, title in [(axes[0], trained_vs_rough, fake_rough.pdf(x), "p_g = N(3.5, 1.5²)"),
                                 (axes[1], trained_vs_equal, p_data, "p_g = p_data")]:
    ax.plot(x, optimal_discriminator(p_data, p_fake), color="k", lw=2, label="D* (formula)")
    ax.plot(x, d_net.probability(x), color="C2", ls="--", label=f"trained D ({d_steps} steps)")
    ax.axhline(0.5, color="gray", ls=":", lw=1)
    ax.set_xlim(-1, 8)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("x")
    ax.set_ylabel("D(x)")
    ax.set_title(f"Discriminator against a fixed generator: {title}")
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# What to look at: where there is data or fakes the trained D follows D\*; far from both (x < 0
# or x > 7) it extrapolates freely — those x never appear in training and do not enter V.
#
# <details><summary><b>Worked answer (Q2.3)</b></summary>
#
# For a fixed G, V is maximised pointwise by `D*(x) = p_data(x) / (p_data(x) + p_g(x))`, and then
# `V(D*, G) = −log 4 + 2 JSD(p_data ‖ p_g)`. At convergence `p_g = p_data`, so `D*(x) = 1/2`
# everywhere (D can do no better than a coin flip) and the JSD is 0:
#
# $$V(D^*, G^*) = \mathbb{E}_{p_\text{data}}[\log \tfrac12] + \mathbb{E}_{p_g}[\log \tfrac12]
#   = 2\log\tfrac12 = -\log 4 \approx -1.386 \text{ nats}.$$
#
# Numerically above: 1/2 to four decimals and −1.3863 on the grid. (Correspondingly the
# discriminator's loss `−V` is `log 4 ≈ 1.386` at the optimum.)
# </details>

# %% [markdown]
# ## Q2.4 — Saturation, and the non-saturating loss
#
# In the minimax game the generator minimises `log(1 − D(G(z)))`. Early in training its samples
# are poor and the discriminator rejects them confidently: `D(G(z)) ≈ 0`. There, the loss is
# flat. With `D = sigmoid(a)` and `a` D's logit for a fake, the derivatives are
#
# $$\frac{\partial}{\partial a}\log\big(1 - D\big) = -D, \qquad
#   \frac{\partial}{\partial a}\big(-\log D\big) = -(1 - D).$$
#
# Everything the generator learns flows back through `∂loss/∂a`. For the original
# (**saturating**) loss it is `D(G(z))` in size: almost 0 exactly when the fakes are worst. The
# **non-saturating** loss `−log D(G(z))` — maximise the log-probability that D is fooled instead
# of minimising the probability that it is right — has gradient `1 − D(G(z)) ≈ 1` there. Both
# losses push `D(G(z))` up and share the game's fixed point; only the gradient's size differs.

# %%
fig = generator_loss_figure()
plt.show()

# %% [markdown]
# The numbers behind the figure, at a few values of `D(G(z))` (derivatives computed by autograd
# through `course_utils.gan.losses`; `∂/∂D` is the derivative with respect to the probability):

# %%
print(inspect.getsource(generator_gradients))

# %%
# NBVAL_CHECK_OUTPUT
d_values = torch.tensor([0.001, 0.01, 0.1, 0.5, 0.9], dtype=torch.float64)
g = generator_gradients(d_values)
print(f"{'D(G(z))':>8} | {'log(1-D)':>9} {'d/da':>8} {'d/dD':>9} | {'-log D':>8} {'d/da':>8} {'d/dD':>10}")
for i, d in enumerate(d_values.tolist()):
    print(f"{d:8.3f} | {g['saturating'][i]:9.4f} {g['dsat_da'][i]:8.4f} {g['dsat_dD'][i]:9.4f} | "
          f"{g['non_saturating'][i]:8.4f} {g['dns_da'][i]:8.4f} {g['dns_dD'][i]:10.4f}")

# %% [markdown]
# At `D(G(z)) = 0.001` the saturating loss passes back a gradient of 0.001 per fake, the
# non-saturating loss 0.999 — a factor of about a thousand. (With respect to the probability D
# itself the saturating loss looks harmless, `−1/(1 − D) ≈ −1`; the damage is done by the
# sigmoid, whose slope `D(1 − D)` vanishes at D ≈ 0. Gradients reach G through the logit.)
#
# ### Exercise — the non-saturating generator loss
#
# Implement `−E_z[log D(G(z))]` from the discriminator's logits on a batch of fakes (a batch
# mean). It must stay finite when D rejects the fakes with logits of −100 or less, the very case
# the loss exists for: `torch.log(torch.sigmoid(−200.))` is `−inf` in float32.

# %%
# NBVAL_CHECK_OUTPUT
def my_generator_loss_ns(fake_logits):
    """-E[log D(G(z))] from the discriminator's logits on fakes (batch mean), a 0-d tensor."""
    ### BEGIN SOLUTION
    return -F.logsigmoid(fake_logits).mean()
    ### END SOLUTION


check_generator_loss_non_saturating(my_generator_loss_ns)

# %% [markdown]
# **Seeing it in training.** Recreate early training on the toy problem: the generator starts
# far left of the data (`g_offset = −2`), and the discriminator has had 200 steps alone to learn to
# reject it (`d_warmup = 200`). Then the game starts, once with each generator loss. The
# generator takes plain gradient-descent steps (SGD), whose size is proportional to the gradient.

# %%
early = ToyConfig(seed=1, steps=pick(400, 250), g_offset=-2.0, d_warmup=200, lr_d=2e-3,
                  g_optimizer="sgd", lr_g=0.05, snapshot_every=10)
sgd_runs = {f"{loss}, SGD": train_toy_gan(replace(early, generator_loss=loss))
            for loss in ("saturating", "non-saturating")}
for name, run in sgd_runs.items():
    print(f"{name:<22} first step: D(G(z)) = {run.history[0]['d_fake']:.4f}, "
          f"|dloss/dG(z)| = {run.history[0]['g_grad']:.4f}; final sample mean {run.final['samples'].mean():.2f} "
          f"(data mean {data.mean:.2f})")
fig = saturation_figure(sgd_runs, title="Early training, plain gradient descent for G")
plt.show()

# %% [markdown]
# With the saturating loss the generator barely moves: D keeps rejecting it, which makes the
# gradient smaller still. With the non-saturating loss it crosses to the data within a few dozen
# steps.
#
# **An honest footnote: Adam.** Adam divides each step by a running estimate of the gradient's
# size, so a gradient that is uniformly a thousand times too small is partly rescaled. Run the
# same experiment with Adam for G:

# %%
adam_runs = {f"{loss}, Adam": train_toy_gan(replace(early, generator_loss=loss, g_optimizer="adam", lr_g=1e-3))
             for loss in ("saturating", "non-saturating")}
fig = saturation_figure(adam_runs, title="Early training, Adam for G")
plt.show()

# %% [markdown]
# Here both escape: on this tiny problem Adam's rescaling hides the factor of a thousand (the
# left panel still shows it at the start). Rescaling does not make the two losses equivalent,
# though: the saturating loss weights each fake by `D(G(z))`, so the fakes D already likes get
# almost all of the gradient and the worst fakes almost none, and once the signal is tiny the
# rescaled step is dominated by noise. The non-saturating loss gives a strong, well-weighted signal regardless of
# the optimizer, which is why it is the standard choice (and the default in `course_utils.gan.model`).
#
# <details><summary><b>Worked answer (Q2.4)</b></summary>
#
# Early in training G's samples are easy to spot, so `D(G(z)) ≈ 0`. Near 0 the function
# `log(1 − D(G(z)))` is flat: its gradient with respect to D's logit is `−D(G(z)) ≈ 0`, so the
# term the generator minimises **saturates** and passes back almost no gradient — G learns
# nothing exactly when it is worst (in the table: 0.001 instead of 0.999 at D = 0.001).
#
# Fix: the **non-saturating** generator loss. Instead of minimising `log(1 − D(G(z)))`, G maximises
# `log D(G(z))`, i.e. minimises `−log D(G(z))`. Its gradient with respect to the logit is
# `−(1 − D(G(z))) ≈ −1` when D rejects the fakes: a strong signal early on. The game has the same
# fixed point (`p_g = p_data`, `D = 1/2`); D's loss is unchanged.
# </details>

# %% [markdown]
# ## Watch the game
#
# Now a full run on the toy problem with the defaults (Adam for both, non-saturating loss, the
# generator starting near 0, left of both bumps). Every 50 steps the run keeps the generator's
# samples for fixed noise and D on the grid.

# %%
toy_config = ToyConfig(seed=1, steps=TOY_STEPS)
toy_run = train_toy_gan(toy_config)
print(f"trained {toy_config.steps} steps in {toy_run.seconds:.1f} s")
fig = toy_snapshots_figure(toy_run)
plt.show()

# %% [markdown]
# What to look at: the generator's histogram (orange) moves from near 0 onto the data and splits
# into two bumps; D (green) bends wherever one distribution has more mass than the other (compare
# with D\* in Q2.3) and stays close to 1/2 where the fakes cover the data. The losses settle
# near the equilibrium values of Q2.3: D's loss near `log 4` and both mean outputs near 1/2.

# %%
fig = toy_history_figure(toy_run)
plt.show()

# %% [markdown]
# ### Explore: learning rates, loss and optimizer
#
# The controls retrain the toy GAN with your settings (a few seconds; each setting is trained
# once and remembered), and the `snapshot` slider scrolls through training. Things to try:
#
# - the saturating loss with SGD for G (set `lr of G` to 0.03 or 0.1: SGD needs larger steps);
# - a discriminator that learns 10× faster than the generator, and the reverse;
# - a large learning rate for both (1e-2): the game oscillates instead of settling;
# - in code: `ToyConfig(seed=0)` — the generator parks between the two bumps and D goes flat at
#   1/2 *without* `p_g = p_data`: Q2.3's argument assumes the discriminator is optimal, and a small
#   D trained by a few steps of gradient descent may not be.
#
# The callback is `course_utils.widgets.gan.ToyGANExplorer.update`; scrolling redraws in a few
# tens of milliseconds.

# %%
explorer = ToyGANExplorer(toy_config, runs=(toy_run,))
explorer.widget

# %% [markdown]
# ## Summary
#
# - G maps noise to samples; D maps a sample to the probability that it is real (Q2.1).
# - Both terms of `V(D, G)` reward the **discriminator**: for accepting real data and for
#   rejecting fakes; G minimises the second (Q2.2). D's loss is `−V`, a binary cross-entropy.
# - For fixed G the best D is `p_data / (p_data + p_g)` and `V(D*, G) = −log 4 + 2 JSD`; at
#   convergence `D* = 1/2` and `V = −log 4 ≈ −1.386` nats, checked numerically (Q2.3).
# - `log(1 − D(G(z)))` saturates when `D(G(z)) ≈ 0` (gradient `D`, not `1 − D`); the
#   non-saturating loss `−log D(G(z))` fixes it (Q2.4).
#
# Next: notebook 07 trains the assignment's GAN on images with these losses.
