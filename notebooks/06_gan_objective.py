# %% [markdown]
# # 06 — The GAN objective (Q2.1–Q2.4)
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dgm-course/deep-generative-models/blob/main/notebooks/06_gan_objective.ipynb)
# [![Launch on Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/dgm-course/deep-generative-models/main?urlpath=lab/tree/notebooks/06_gan_objective.ipynb)
# · [read it with all outputs on the course website](https://dgm-course.github.io/deep-generative-models/notebooks/06_gan_objective.html)
#
# A generative adversarial network (GAN) learns to sample without ever writing down a
# likelihood. Two networks play a game: a **generator** makes fakes from noise, a
# **discriminator** tries to tell fakes from real data. This notebook takes the game apart
# on paper and on problems small enough to compute everything exactly: data on the real
# line whose density we know, and a ring of eight Gaussians in the plane.
#
# **You will learn**
#
# - who the two players are and what each one computes (Q2.1);
# - what each term of the minimax value `V(D, G)` rewards, and whose terms they are (Q2.2);
# - what the best discriminator is for a fixed generator, and the value of the game once the
#   generator matches the data — derived, then checked numerically (Q2.3);
# - why the generator's original loss gives almost no gradient early in training, what the
#   non-saturating loss changes, and what it does not (Q2.4);
# - why losses at their equilibrium values do not mean the generator has matched the data;
# - mode collapse, seen and counted on the ring, and the game played live in 2-D, where you change
#   the G loss, the D steps per G step and the learning rates while it runs;
# - why non-overlapping distributions leave the
#   Jensen–Shannon divergence without a useful gradient (the road to WGAN);
# - to write one GAN training step yourself.
#
# **Questions**
#
# - **Q2.1** What are the inputs and outputs of the generator G and of the discriminator D?
# - **Q2.2** Explain the two terms of `min_G max_D V(D, G) = E_{p_data}[log D(x)] + E_{p_z}[log(1 − D(G(z)))]`.
# - **Q2.3** What is the value of `V(D, G)` after training has converged (`p_g = p_data`)?
# - **Q2.4** Early in training, the term `log(1 − D(G(z)))` can be problematic. Why, and how is it fixed?
#
# Each section opens with a question to try on paper first; the worked answers are collapsed.
# Rough times: Q2.1 5 min, Q2.2 10 min, Q2.3 15 min, Q2.4 15 min, the game 15 min, mode collapse
# 10 min, the live game 15 min, disjoint supports 5 min, the training-step exercise 10 min.
# Units: all logs are natural, every loss and value is in **nats**.

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
# The code behind this notebook: `course_utils.gan.losses` (the losses of the real GAN, from the
# discriminator's logits), `course_utils.toys.gan1d` (the 1-D toy problem: exact densities, the
# optimal discriminator, the value and the JSD on a grid, a tiny GAN and its diagnostics),
# `course_utils.toys.ring` (the ring of Gaussians), `course_utils.toys.gan1d_figures`, the
# exercise checks in `course_utils.exercises.gan` and the widgets in `course_utils.widgets.gan`.
# Nothing here loads images; quick mode only shortens the toy runs.

# %%
import inspect
import math
from dataclasses import replace

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from course_utils.core import pick, quick_mode, seed_everything, set_threads
from course_utils.course import record
from course_utils.exercises import check_discriminator_loss, check_gan_step, check_generator_loss_non_saturating
from course_utils.gan import LOG_4, Discriminator, GANConfig, Generator, discriminator_loss, make_step, value_function
from course_utils.gan import losses as gan_losses
from course_utils.toys import gan1d as toy_gan
from course_utils.toys.gan1d import (
    Mixture1D,
    ToyConfig,
    count_modes,
    default_grid,
    disjoint_supports,
    fit_discriminator,
    game_diagnostics,
    generator_gradient_comparison,
    generator_gradients,
    jensen_shannon,
    kde_floor,
    mean_distance_from_half,
    normal_pdf,
    optimal_discriminator,
    train_toy_gan,
    value_on_grid,
)
from course_utils.toys.gan1d_figures import (
    disjoint_supports_figure,
    game_diagnostics_figure,
    generator_loss_figure,
    optimal_discriminator_figure,
    ring_modes_figure,
    ring_snapshots_figure,
    saturation_figure,
    toy_snapshots_figure,
    value_path_figure,
)
from course_utils.toys.ring import RingConfig, train_ring_gan
from course_utils.widgets import RingExplorer, ToyGANExplorer
from course_utils.widgets.live2d import LiveGANView

set_threads()
seed_everything(0)
TOY_STEPS = pick(1500, 800)  # training steps of the 1-D toy GAN (quick mode: fewer)
RING_STEPS = pick(3000, 1500)  # training steps of the ring GAN
print("quick mode:", quick_mode(), "| toy GAN steps:", TOY_STEPS, "| ring GAN steps:", RING_STEPS)

# %% [markdown]
# ## Q2.1 — The two players (about 5 minutes)
#
# **Predict first.** What does the generator take as input and what does it return? What does the
# discriminator take, and what range must its output have? Then look at the assignment's two
# networks (notebook 07 trains them) applied to a batch of 4.
#
# (In code, D's last layer gives a *logit* `a`, and the probability is `sigmoid(a)`; the losses
# are computed from the logit because `log sigmoid(a)` stays finite where `sigmoid(a)` rounds to
# 0 or 1.)

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
print(f"sigmoid(logit): in (0, 1): {bool(((torch.sigmoid(logits) > 0) & (torch.sigmoid(logits) < 1)).all())}")

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
#   pixel values). The distribution of `G(z)` is the model distribution `p_g`. G never sees a real
#   image; it learns only through D's verdicts.
# - **Discriminator** D: input a data point `x` (a real image from the data set or a fake from
#   G); output one number `D(x) ∈ [0, 1]`, the probability that `x` came from the data rather than
#   from G (in practice a logit `a` with `D = sigmoid(a)`).
# </details>

# %% [markdown]
# ## Q2.2 — The minimax value (about 10 minutes)
#
# $$\min_G \max_D \; V(D, G) = \mathbb{E}_{x\sim p_\text{data}}\big[\log D(x)\big]
#   + \mathbb{E}_{z\sim p_z}\big[\log\big(1 - D(G(z))\big)\big].$$
#
# **Predict first.** Which player's behaviour does each term reward? Below, D's outputs in three
# situations are given as probabilities and turned into logits: before running the cell, guess
# the sign of each term and which situation makes V largest.

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
# Both terms are logs of probabilities, so V ≤ 0.
#
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
# Together they are minus D's binary cross-entropy with labels real = 1, fake = 0. D maximises V
# (the sharp discriminator of the table has the largest V); G appears only in the second term and
# minimises it, i.e. pushes `D(G(z))` towards 1. Both terms are the discriminator's — a GAN has no
# decoder (a common slip in write-ups calls them the "decoder's" terms).
# </details>
#
# ### Exercise — the discriminator's loss
#
# Training minimises losses, so the discriminator minimises `−V(D, G)`, each expectation a
# **batch mean**. Write it as a function of the discriminator's logits on a batch of real images and
# on a batch of fakes (the two batches may have different lengths). Make it numerically stable: it
# must stay finite for logits of ±200, where `sigmoid` rounds to exactly 0 or 1 in float32
# (`torch.nn.functional` has what you need). The check also compares your loss's *gradient* with
# respect to the logits with the right one — training uses nothing else — and names the usual
# slips.

# %%
def my_discriminator_loss(real_logits, fake_logits):
    """-V(D, G) from the discriminator's logits on real images and on fakes (batch means), a 0-d tensor."""
    ### BEGIN SOLUTION
    return -F.logsigmoid(real_logits).mean() - F.logsigmoid(-fake_logits).mean()
    ### END SOLUTION

# %%
# Autograded check: 1 point
# NBVAL_CHECK_OUTPUT
check_discriminator_loss(my_discriminator_loss)

# %% [markdown]
# Compare with the course's version, which the real GAN trains with:

# %%
print(inspect.getsource(discriminator_loss))

# %% [markdown]
# ## Q2.3 — The value at the optimum (about 15 minutes)
#
# **Derive first.** Write both expectations as integrals over x (the fakes `G(z)` have density
# `p_g`). For a *fixed* G, which `D(x)` maximises V at each x? Substitute it back: can you write
# `V(D*, G)` with the Jensen–Shannon divergence `JSD(p_data, p_g)`? What are D\* and V once
# `p_g = p_data`? Then check your answer against the numbers below.
#
# The data of the toy problem are a mixture of two Gaussians on the line, so `p_data` is known
# exactly. Take three generators — one far away, one roughly in the right place, and one equal to
# the data — compute the optimal discriminator on a fine grid and integrate V with the trapezoid
# rule. `E_m|D* − 1/2|` is D\*'s average distance from a coin flip where the data and the fakes
# are (weighted by `m = (p_data + p_g)/2`).

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

# %%
fig = optimal_discriminator_figure(x, p_data, candidates)
plt.show()

# %% [markdown]
# **Moving the generator towards the data.** Blend the far generator into the data,
# `p_g = (1 − λ) N(0, 1) + λ p_data`: the value at the optimal D (left) and D\*'s distance from
# 1/2 (right) as λ goes from 0 to 1. The dashed curve is the formula `−log 4 + 2 JSD`.

# %%
fig = value_path_figure(x, p_data, candidates["far: N(0, 1)"])
plt.show()

# %% [markdown]
# **Is D\* really the maximiser?** Against the rough generator, try other discriminators — the
# constant 1/2, D\* pulled halfway towards 1/2, D\* made more confident (its logit doubled):

# %%
# NBVAL_CHECK_OUTPUT
p_g = candidates["rough: N(3.5, 1.5²)"]
d_star = optimal_discriminator(p_data, p_g)
d_logit = torch.log(d_star) - torch.log1p(-d_star)
for name, d in [("D*", d_star), ("D = 1/2", torch.full_like(d_star, 0.5)),
                ("(D* + 1/2)/2", 0.5 * (d_star + 0.5)), ("sigmoid(2 logit D*)", torch.sigmoid(2 * d_logit))]:
    print(f"{name:<20} V = {value_on_grid(x, p_data, p_g, d):8.4f} nats")

# %% [markdown]
# The number at the equilibrium, from the course's loss functions (logit 0 means D = 1/2):

# %%
# NBVAL_CHECK_OUTPUT
half = torch.zeros(8)
print(f"V(D = 1/2)           = {value_function(half, half).item():.6f}")
print(f"discriminator loss   = {discriminator_loss(half, half).item():.6f}  (log 4 = {LOG_4:.6f})")

# %% [markdown]
# <details><summary><b>Worked answer (Q2.3)</b></summary>
#
# **Step 1: the best discriminator for a fixed generator.**
#
# $$V(D, G) = \int \Big[p_\text{data}(x) \log D(x) + p_g(x) \log\big(1 - D(x)\big)\Big]\, dx .$$
#
# D can choose `D(x)` separately at every x. For `a, b ≥ 0` (not both 0), `y ↦ a log y + b log(1 − y)`
# on (0, 1) has derivative `a/y − b/(1 − y)`, zero at `y = a / (a + b)`, and it is concave, so this is
# the maximum. Hence
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
# The JSD is ≥ 0 and 0 only when `p_g = p_data`. So the generator's best outcome is `p_g = p_data`,
# where `D*(x) = 1/2` everywhere (D can do no better than a coin flip) and
#
# $$V(D^*, G^*) = \mathbb{E}_{p_\text{data}}[\log \tfrac12] + \mathbb{E}_{p_g}[\log \tfrac12]
#   = 2\log\tfrac12 = -\log 4 \approx -1.386 \text{ nats}.$$
#
# The table shows it: `V(D*, G)` equals `−log 4 + 2 JSD` for each generator, and is exactly
# −1.3863 with D\* = 1/2 (distance from a coin flip 0) for `p_g = p_data`; every other D gives a lower
# V. Correspondingly the discriminator's loss `−V` is `log 4 ≈ 1.386` at the optimum.
# </details>
#
# The code behind the table:

# %%
print(inspect.getsource(optimal_discriminator))
print(inspect.getsource(value_on_grid))

# %% [markdown]
# **A trained discriminator against a fixed generator.** The inner `max_D` is an ordinary
# classification problem: train a small D alone (the toy discriminator, Adam, the discriminator
# loss) against a *fixed* generator distribution and compare it with the formula. With
# `p_g = p_data` there is nothing to learn, and the trained D should stay near 1/2.

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
# or x > 7) it extrapolates freely — such x rarely appear in training and carry almost no weight
# in V. Here D had 600–1 500 steps against a generator that stood still; in a real game it gets one
# step per generator step. Keep that in mind for the section after Q2.4.

# %% [markdown]
# ## Q2.4 — Saturation, and the non-saturating loss (about 15 minutes)
#
# **Derive first.** Early in training the fakes are poor and D rejects them confidently:
# `D(G(z)) ≈ 0`. With `D = sigmoid(a)` and `a` D's logit for a fake, compute
# `∂/∂a log(1 − D)`. How large is it when `D ≈ 0`? Everything the generator learns flows back through
# this derivative. What could G minimise instead, so that the signal is strong exactly there?
#
# The figure shows both generator losses and their derivatives with respect to the logit against
# `D(G(z))`, the table the numbers behind it (computed by autograd through
# `course_utils.gan.losses`; `∂/∂D` is the derivative with respect to the probability).

# %%
fig = generator_loss_figure()
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
d_values = torch.tensor([0.001, 0.01, 0.1, 0.5, 0.9], dtype=torch.float64)
g = generator_gradients(d_values)
print(f"{'D(G(z))':>8} | {'log(1-D)':>9} {'d/da':>8} {'d/dD':>9} | {'-log D':>8} {'d/da':>8} {'d/dD':>10}")
for i, d in enumerate(d_values.tolist()):
    print(f"{d:8.3f} | {g['saturating'][i]:9.4f} {g['dsat_da'][i]:8.4f} {g['dsat_dD'][i]:9.4f} | "
          f"{g['non_saturating'][i]:8.4f} {g['dns_da'][i]:8.4f} {g['dns_dD'][i]:10.4f}")

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
# What to look at: the gradient reaching the generator at the first step (left, log scale) and
# where the generator's samples are over the steps (right), for each loss.
#
# <details><summary><b>Worked answer (Q2.4)</b></summary>
#
# With `D = sigmoid(a)`: `∂/∂a log(1 − D) = −D` and `∂/∂a (−log D) = −(1 − D)`.
#
# Early in training `D(G(z)) ≈ 0`, so the gradient of the term G minimises, `log(1 − D(G(z)))`, is
# `−D(G(z)) ≈ 0`: it **saturates** and passes back almost no gradient — G learns nothing exactly when
# it is worst (in the table: 0.001 instead of 0.999 at D = 0.001; with respect to the probability D
# the loss looks harmless, `−1/(1 − D) ≈ −1`, but the sigmoid's slope `D(1 − D)` vanishes at D ≈ 0,
# and gradients reach G through the logit). In the SGD run the saturating generator barely moves
# while the non-saturating one crosses to the data.
#
# Fix: the **non-saturating** generator loss. Instead of minimising `log(1 − D(G(z)))`, G maximises
# `log D(G(z))`, i.e. minimises `−log D(G(z))`, whose logit gradient is `−(1 − D(G(z))) ≈ −1` when D
# rejects the fakes. D's loss is unchanged.
#
# What it does **not** keep: the two losses share the fixed point (`p_g = p_data`, `D = 1/2`), but
# they are different objectives, not one objective with a bigger gradient.
#
# - *Direction.* Per fake, the saturating loss weights the logit's gradient by `D(G(z))`, the
#   non-saturating one by `1 − D(G(z))`. Fakes D already likes dominate the first, fakes D rejects
#   the second, so the summed gradients point in different directions in G's parameter space
#   wherever D varies over the fakes (measured below).
# - *What G minimises.* With the optimal D\* held fixed, `E_{p_g}[−log D*]` has the gradient of
#   `KL(p_g ‖ p_data) − 2 JSD(p_data, p_g)` (Arjovsky & Bottou 2017, Thm. 2.5): write
#   `−log D* = log((1 − D*)/D*) − log(1 − D*)` with `(1 − D*)/D* = p_g/p_data`; the first term's
#   expectation under `p_g` is `KL(p_g ‖ p_data)` and the second's, `−log(1 − D*)`, has the gradient
#   of `−2 JSD` (Q2.3: `E_{p_g}[log(1 − D*)]` carries the JSD's dependence on `p_g`). The reverse
#   KL `KL(p_g ‖ p_data)` is **mode-seeking** (notebook 03): it punishes fakes where there is no
#   data much more than data where there are no fakes, so missing a mode costs G little. The
#   saturating G instead minimises `2 JSD` (Q2.3), which is symmetric.
# - *The game.* D still maximises V, but G no longer minimises V: the game is not zero-sum any more.
# </details>
#
# **The direction, measured.** The gradient of each loss with respect to all of G's parameters, for
# the same fakes and the same D, and the cosine of the angle between them (1: same direction).
# First the 1-D toy at the start of the early-training runs, then the ring GAN below.

# %%
start = train_toy_gan(replace(early, steps=0))  # after D's 200 warm-up steps, before G moves
cmp_toy = generator_gradient_comparison(start.generator, start.discriminator)
print(f"toy, D(G(z)) in [{cmp_toy['min_d']:.4f}, {cmp_toy['max_d']:.4f}]: |grad| saturating "
      f"{cmp_toy['norm_saturating']:.4f}, non-saturating {cmp_toy['norm_non_saturating']:.4f} "
      f"(ratio {cmp_toy['ratio']:.0f}); cosine {cmp_toy['cosine']:.4f}")

# %% [markdown]
# On this 1-D problem all fakes sit together and D is tiny on all of them, so the two gradients are
# almost parallel and differ mainly in size. Where D varies more over the fakes the directions part;
# the ring GAN below prints the same comparison.
#
# ### Exercise — the non-saturating generator loss
#
# Write the non-saturating generator loss `−E_z[log D(G(z))]` from the discriminator's logits on a
# batch of fakes (a batch mean). It must stay finite when D rejects the fakes with logits of −100
# or less, the very case the loss exists for, and its gradient must reach the logits.

# %%
def my_generator_loss_ns(fake_logits):
    """-E[log D(G(z))] from the discriminator's logits on fakes (batch mean), a 0-d tensor."""
    ### BEGIN SOLUTION
    return -F.logsigmoid(fake_logits).mean()
    ### END SOLUTION

# %%
# Autograded check: 1 point
# NBVAL_CHECK_OUTPUT
check_generator_loss_non_saturating(my_generator_loss_ns)

# %% [markdown]
# **A footnote on Adam.** Adam divides each step by a running root-mean-square of the gradient, so
# multiplying every gradient by the same constant leaves its steps unchanged (up to its `ε = 1e-8`).
# Check it: minimise `(θ − 3)²` and `1000 (θ − 3)²` with the same Adam settings.

# %%
# NBVAL_CHECK_OUTPUT
paths = {}
for scale in (1.0, 1000.0):
    theta = torch.zeros(1, requires_grad=True)
    opt = torch.optim.Adam([theta], lr=0.1)
    for _ in range(50):
        opt.zero_grad()
        (scale * (theta - 3) ** 2).sum().backward()
        opt.step()
    paths[scale] = theta.item()
print(f"theta after 50 Adam steps: loss x1 {paths[1.0]:.6f}, loss x1000 {paths[1000.0]:.6f}")

# %% [markdown]
# So with Adam the saturating loss's *size* problem largely disappears — but its per-fake
# weighting, and therefore its direction, does not. The same early-training experiment with Adam
# for G:

# %%
adam_runs = {f"{loss}, Adam": train_toy_gan(replace(early, generator_loss=loss, g_optimizer="adam", lr_g=1e-3))
             for loss in ("saturating", "non-saturating")}
for name, run in adam_runs.items():
    print(f"{name:<22} final sample mean {run.final['samples'].mean():.2f} (data mean {data.mean:.2f})")
fig = saturation_figure(adam_runs, title="Early training, Adam for G")
plt.show()

# %% [markdown]
# What to look at: the left panel still shows the thousand-fold difference in the gradient; the
# right panel shows where each generator goes once Adam rescales its steps. The non-saturating loss
# remains the standard choice (and the default in `course_utils.gan.model`): its signal is strong
# where the saturating loss's vanishes, at the price of the mode-seeking objective above. With Adam
# the saturating G is no longer stuck — compare the two sample means printed above: here it need not
# be the slower of the two.

# %% [markdown]
# ## The game, and what its losses do not show (about 15 minutes)
#
# **Predict first.** You train the toy GAN and see the discriminator's loss settle at `log 4` and
# D's outputs at 1/2 on the data — the equilibrium values of Q2.3. Has the generator matched
# `p_data`? What would you need to compute to know?
#
# A full run with the defaults: Adam for both, the non-saturating loss, the generator starting near
# 0, left of both bumps. Every 50 steps the run keeps the generator's samples for fixed noise and D
# on the grid.

# %%
toy_config = ToyConfig(seed=1, steps=TOY_STEPS)
toy_run = train_toy_gan(toy_config)
print(f"trained {toy_config.steps} steps in {toy_run.seconds:.1f} s")
fig = toy_snapshots_figure(toy_run)
plt.show()

# %% [markdown]
# Now what the losses cannot show. For each snapshot, `p_g` is a kernel density estimate of the
# 2 000 samples (`course_utils.toys.gan1d.kde`), `p_data` is exact, and on the grid we compute
# JSD(p_data, p_g), the value `V(D*, G)` that the *optimal* discriminator would reach against this
# generator, and the value `V(D, G)` of the discriminator the run actually trained. (The KDE itself
# is not exact: 2 000 samples of `p_data` read as a JSD of the "floor" printed first.)

# %%
def some_rows(rows, n=8):
    """About n rows after step 0, evenly spread, always with the last."""
    picks = {round(i) for i in torch.linspace(1, len(rows) - 1, n).tolist()}
    return [rows[i] for i in sorted(picks)]


diagnostics = game_diagnostics(toy_run)
floor = kde_floor(data, toy_config.n_snapshot, toy_run.grid)
print(f"KDE floor: JSD of a KDE of {toy_config.n_snapshot} samples of p_data itself = {floor:.4f} nats\n")
print(f"{'step':>5} {'D loss (training)':>18} {'-V(D, G)':>9} {'-V(D*, G)':>10} {'JSD':>7}")
for d in some_rows(diagnostics):
    print(f"{d['step']:5d} {d['d_loss']:18.4f} {-d['v_trained']:9.4f} {-d['v_star']:10.4f} {d['jsd']:7.4f}")
last = diagnostics[-1]
at = int(torch.argmin((toy_run.grid - 3.5).abs()))
gap = ((toy_run.grid >= 3) & (toy_run.grid <= 4)).double()
print(f"\nlog 4 = {LOG_4:.4f}. At the end: D*(3.5) = {last['d_star'][at]:.2f}, trained D(3.5) = {last['d'][at]:.2f}; "
      f"mass in the gap [3, 4]: p_g {torch.trapezoid(last['p_g'] * gap, toy_run.grid):.3f}, "
      f"p_data {torch.trapezoid(data.pdf(toy_run.grid) * gap, toy_run.grid):.3f}; "
      f"bumps in p_g: {count_modes(last['p_g'])}")
record("toy GAN: JSD(p_data, p_g) at the end (KDE)", last["jsd"], "nats")
record("toy GAN: discriminator loss at the end", last["d_loss"], "nats")

# %%
fig = game_diagnostics_figure(toy_run, diagnostics, title="The default toy run: losses against the truth")
plt.show()

# %% [markdown]
# What to look at: in the left panel, the trained D's loss (and its exact counterpart `−V(D, G)`)
# against `−V(D*, G) = log 4 − 2 JSD`, what an optimal D would reach against the same generator;
# in the middle, the JSD against the KDE floor printed above; on the right, the last snapshot's
# trained D next to D\* for the same `p_g`, around the gap between the two bumps at x ≈ 3.5.
#
# **Another seed.** `ToyConfig(seed=0)` differs only in the seed:

# %%
seed0_run = train_toy_gan(replace(toy_config, seed=0))
seed0 = game_diagnostics(seed0_run)
print(f"{'step':>5} {'D loss (training)':>18} {'-V(D*, G)':>10} {'JSD':>7}")
for d in some_rows(seed0, 6):
    print(f"{d['step']:5d} {d['d_loss']:18.4f} {-d['v_star']:10.4f} {d['jsd']:7.4f}")
print(f"mass in the gap [3, 4] at the end: p_g {torch.trapezoid(seed0[-1]['p_g'] * gap, seed0_run.grid):.3f}")
fig = game_diagnostics_figure(seed0_run, seed0, title="Seed 0: the losses stay put while the JSD does not")
plt.show()

# %% [markdown]
# <details><summary><b>Worked answer: do equilibrium losses mean p_g = p_data?</b></summary>
#
# No. Near-equilibrium losses are **necessary, not sufficient**. In both runs the trained D's loss
# sits within a few hundredths of `log 4` and D is close to 1/2 wherever the data are, yet
# JSD(p_data, p_g) stays several times above the KDE floor: `p_g` puts several times more mass than
# `p_data` into the gap between the bumps (printed above), and `−V(D*, G)` is well below `log 4`. An
# optimal discriminator would tell the two distributions apart — on the right of the figure D\* dips
# towards 0 in the gap, where the trained D stays near 1/2. With seed 0 the JSD even grows during
# training while the loss does not move.
#
# The loss measures how well *this* discriminator does, not how far `p_g` is from `p_data`. Q2.3's
# argument (`V(D*, G) = −log 4 + 2 JSD`) assumes the optimal D, and the trained D is far from it. That
# is not a lack of capacity: a network of this size can represent a D close to D\* (above, a D trained
# against a generator that stood still followed D\* where there was data). What differs is the game:
# here D gets one Adam step per generator step and chases a moving `p_g`, and a D that is nearly flat
# where the samples are gives G little signal. Change the game and see: with five D steps per G step
# (`ToyConfig(d_steps=5)`, the `D steps per G step` control below), the same toy ended its full run
# (1500 G steps) at a JSD of 0.025, 0.028, 0.017, 0.015, 0.098 for seeds 0–4, against 0.310, 0.081,
# 0.034, 0.073, 0.089 with one D step (KDE floor 0.014; `benchmarks/results/live2d_runs.json`): in four
# of the five seeds the JSD came most of the way down to its floor, in seed 4 it ended slightly higher
# than with one D step. Whether more D steps help in other games is question 3 of the live 2-D view
# below. To judge a generator, measure the samples (here a JSD against known data; for images, notebook
# 08's Fréchet distance and precision/recall), not the losses.
# </details>
#
# ### Explore: learning rates, loss, optimizer and D steps
#
# The controls retrain the toy GAN with your settings (a few seconds; each setting is trained
# once and remembered), and the `snapshot` slider scrolls through training; the label shows the
# JSD of each snapshot. Things to try:
#
# - the saturating loss with SGD for G (set `lr of G` to 0.03 or 0.1: SGD needs larger steps);
# - a discriminator that learns 10× faster than the generator, and the reverse;
# - a large learning rate for both (1e-2): the JSD swings during training, and where it ends can be
#   better or worse than the default run's — read the whole trajectory, not only its end;
# - 5 D steps per G step (a few seconds more to train): does the trained D come closer to D\* in the
#   gap? `run = explorer.run_for(replace(toy_config, d_steps=5))`, then
#   `game_diagnostics_figure(run, game_diagnostics(run))` draws both, as above.
#
# The callback is `course_utils.widgets.gan.ToyGANExplorer.update`.

# %%
explorer = ToyGANExplorer(toy_config, runs=(toy_run,))
explorer

# %% [markdown]
# ## Mode collapse, seen (about 10 minutes)
#
# The data: 8 Gaussians (standard deviation 0.05) evenly spaced on a circle of radius 2, far
# apart, so a generator that drops one is easy to see and to count. A mode counts as **captured**
# when at least a quarter of its fair share of the samples (1/8 of them) lies within 3 standard
# deviations of its centre. Both networks are small MLPs; D learns five times faster than G (see
# `RingConfig`).
#
# **Predict first.** From the worked answer to Q2.4: which generator loss do you expect to cover
# fewer of the 8 modes? Which one to put more of its samples close to *some* mode?

# %%
ring_config = RingConfig(steps=RING_STEPS)
print(ring_config)
ring_runs = {loss: train_ring_gan(replace(ring_config, generator_loss=loss))
             for loss in ("non-saturating", "saturating")}
for loss, run in ring_runs.items():
    print(f"{loss:<15} {run.seconds:4.1f} s; modes captured at the end: {run.final['captured']}/8, "
          f"samples within 3 std of a mode: {run.final['high_quality']:.2f}")
    record(f"ring GAN, {loss} loss: modes captured (of 8)", run.final["captured"])

# %%
fig = ring_snapshots_figure({f"{k} loss": v for k, v in ring_runs.items()})
plt.show()
fig = ring_modes_figure(ring_runs)
plt.show()

# %% [markdown]
# The direction of the two losses' gradients (Q2.4), now on the ring: for the final G and D of each
# run, the cosine between the saturating and the non-saturating gradient in G's parameter space.

# %%
z_ring = torch.randn(4096, ring_config.noise_dim, generator=torch.Generator().manual_seed(5))
for loss, run in ring_runs.items():
    c = generator_gradient_comparison(run.generator, run.discriminator, z_ring)
    print(f"after the {loss} run: D(G(z)) in [{c['min_d']:.3f}, {c['max_d']:.3f}], cosine between the two "
          f"gradients {c['cosine']:.3f}, |non-saturating| / |saturating| = {c['ratio']:.2f}")

# %% [markdown]
# Pick a loss and slide through training (the callback is
# `course_utils.widgets.gan.RingExplorer.update`):

# %%
ring_explorer = RingExplorer({f"{k} loss": v for k, v in ring_runs.items()})
ring_explorer

# %% [markdown]
# <details><summary><b>Worked answer: mode collapse on the ring</b></summary>
#
# In this run the non-saturating generator settles on a subset of the modes (on some CPUs' kernels
# it hops between neighbouring counts, one mode more or less, in the second half): fewer modes
# captured than with the saturating loss, but a larger share of its samples close to a mode. The
# saturating generator starts more slowly and spreads over more modes, less precisely.
# That is the trade-off the theory of Q2.4 suggests: the non-saturating loss follows
# `KL(p_g ‖ p_data) − 2 JSD`, which punishes samples off the data much more than modes left empty;
# in notebook 08's words it favours **precision** over **recall**. The gradients of the two losses
# are not parallel here (the cosines above): the losses are different objectives, not rescalings of
# one another.
#
# One toy run is an illustration, not a proof: with other learning rates both losses can collapse,
# or hop from mode to mode (try `RingConfig(d_layers=1)`). Remedies studied in the literature
# include unrolling the discriminator (Metz et al. 2017), minibatch discrimination (Salimans et al.
# 2016) and the Wasserstein loss of the next section (Arjovsky et al. 2017).
# </details>
#
# ## The game live, in 2-D (about 15 minutes)
#
# The view below trains a small GAN on the plane **in this kernel** while you watch, and lets you
# change the game while it runs. The networks and settings are the previous section's (`RingConfig`'s
# defaults: MLPs with two hidden layers of 128 units, `z ~ N(0, I₂)`, Adam, lr D 1e-3, lr G 2e-4,
# batches of 256); one step is `D steps per G step` discriminator updates followed by one generator
# update, with the course's losses (`course_utils.toys.live2d.LiveGame`). It draws:
#
# - the **background**: D(x) over the plane (orange: D calls x fake; white: 1/2; blue: real);
# - **real** samples (blue dots) and **fakes** `G(z)` for 256 fixed noise vectors (red dots);
# - from each fake an **arrow**: `−∇ₓ` of that sample's generator loss, the way and the strength with
#   which G's loss pushes that point (drawn times the `arrow scale` you pick, at most one unit long). G
#   itself can only move its samples together, through its weights;
# - grey lines: G's image of a square grid of latent points, i.e. how G bends the plane of `z`;
# - on the right, over the steps: D's and G's losses (switch the G loss mid-run and the G curve goes on
#   with the other loss's values); the JSD between the data and G's samples, *binned* (24 × 24 bins over
#   the drawn square [−3, 3]² plus one bin for everything outside; the data's bin masses exact, G's a
#   histogram of 2 048 samples): binning can only lower a JSD, but the histogram's noise raises this
#   estimate (by its floor when G matches the data); W1, the cost of the optimal matching of 128 fakes
#   with 128 real samples; both with a dashed **floor**, the same estimate for samples of the data
#   itself; and the modes captured, with the previous section's rule (a quarter of a mode's share of the
#   samples within 3 standard deviations of it), counted on the 256 drawn fakes.
#
# **▶ play** runs `steps per frame` steps per drawn frame. Between frames the kernel is free: a cell you
# run meanwhile runs between frames (the view waits for it). **step** plays exactly one step,
# **reset** returns to the seed's start. A control acts from the next step; a new seed or data set
# starts over. In a cell, `live.d_steps = 5` does what the menu does.
#
# **Predict first**, then play:
#
# 1. **The arrows.** Play about 50 steps and pause: some fakes now sit on deep orange, rejected by D.
#    Switch `G loss` back and forth: the same networks are redrawn with the other loss's arrows. Before
#    you do: for one fake, how do its two arrows compare in direction and in length? What happens to
#    each where D rejects the fake confidently?
# 2. **How many of the eight modes does each G loss keep?** The previous section's run answered for one
#    seed; does that answer hold for others? Play the defaults (non-saturating) to step 3000 and read
#    the modes captured; reset with the saturating loss; then try another seed.
# 3. **What do 5 D steps per G step change** on the ring? More modes or fewer? W1 lower or higher?
# 4. **Two clusters** (`data`: two-clusters, far apart): will G end up with samples in both? Watch the
#    grey lines and the fakes between the clusters.

# %%
live = LiveGANView(replay_steps=pick(3000, 300))  # replay_steps: only for the website's recorded replay
live

# %% [markdown]
# <details><summary><b>Worked answers: the live game</b></summary>
#
# **1. The arrows.** For a fake `x` with discriminator logit `l(x)`, so `D(x) = σ(l(x))`, the saturating
# loss's arrow is `−∇ₓ log(1 − D(x)) = D(x) ∇ₓ l(x)` and the non-saturating loss's is `−∇ₓ(−log D(x)) =
# (1 − D(x)) ∇ₓ l(x)`. Both point the same way, uphill on D's logit (towards where D rates samples as
# more real); only their lengths differ, in the ratio `D(x) : 1 − D(x)` (the view draws them ×0.3 by
# default and caps them at one unit, so at larger scales both arrows of a fake may look equally long).
# Where D rejects a fake confidently (`D(x) → 0`) the saturating arrow shrinks to nothing while the
# non-saturating one keeps its length: Q2.4, drawn sample by sample. This holds for every D and every x,
# not only in the runs shown; both arrows also vanish where D is flat (`∇ₓ l ≈ 0`), whatever D's value.
# Measured in this game: with both learning rates at 1e-2 and the saturating loss, seeds 2–4 ended with
# the median drawn fake at D(x) < 0.001, the median arrow shorter than 0.001 and the binned JSD at log 2
# = 0.693: G's samples had left the data and D gave them no push back. (A median is not every fake: with
# Adam even tiny gradients make steps of normal size, and in seed 3 the fakes still drifted, further
# away: W1 went from 7.66 at step 1000 to 12.10 at step 3000.) In seeds 0 and 1 both medians also fell
# below 0.001 at one recorded step, with the JSD not yet at log 2, and the game recovered. The two
# losses differ in how they *weight* the samples against each other, which is what makes G's parameter
# updates differ (the cosines printed in the previous section).
#
# **2. How many modes each loss keeps.** Measured, not from one run: five seeds of the defaults, 3000 G
# steps each (`benchmarks/live2d_runs.py`, results in `benchmarks/results/live2d_runs.json`). Modes
# captured at step 3000, seeds 0–4: non-saturating 5, 4, 4, 5, 6; saturating 7, 8, 8, 7, 8. In this game
# the saturating loss reached seven or eight of the eight modes by step 3000 and the non-saturating one
# four to six; the non-saturating loss put more of its samples within 3 standard deviations of some mode
# (mean share 0.79 against 0.66): it trades coverage for samples close to a mode, the direction of the
# previous section's ring run (the same networks and settings, now over five seeds). The binned JSD
# ranks them the same way (mean 0.193 against 0.135, floor at most 0.003). W1 does too (mean 0.61
# against 0.29), but at 128 samples its floor is as large as 0.32: a W1 near the floor does not mean G
# matches the data, as the JSD shows. A count is of one moment: the saturating runs were still gaining
# modes at step 3000, and at step 500 the order was the other way round (non-saturating 6, 4, 5, 2, 5,
# saturating 1, 1, 0, 1, 2). With other settings the ranking changes too: with both learning rates at
# 1e-2 the non-saturating loss captured 8, 7, 7, 6, 8 modes at step 3000 and the saturating one 4, 2, 0,
# 0, 0 (same seeds).
#
# **3. Five D steps per G step.** Non-saturating, seeds 0–4: 4, 1, 3, 1, 3 modes (against 5, 4, 4, 5, 6
# with one D step), W1 mean 1.86 (against 0.61); saturating: 3, 2, 6, 4, 6 modes (against 7, 8, 8, 7,
# 8). On the ring, five D steps per G step kept fewer modes, with either loss, while on the 1-D toy
# above they brought the JSD most of the way to its floor in four of five seeds. More D steps per G step
# is no universal remedy: what it does depends on the problem and on the other settings (on the ring D
# already learns five times faster than G; in the 1-D toy both learn at the same rate), and is
# measured, not assumed.
#
# **4. Two clusters.** Modes (of 2) captured at step 3000, seeds 0–4: 1, 2, 2, 2, 1. In three
# seeds G reached both clusters, in two it stayed on one (W1 near 1.5 there: half the mass would have to
# move 3 units). Where it reached both, it split its samples unevenly (the larger cluster's share of the
# samples near a cluster: 0.76, 0.68, 0.71), and W1 stayed above its floor (0.40–0.78
# against floors of at most 0.20). And it cannot put all its mass on the two clusters: a continuous G
# maps the connected plane of `z` onto a connected set, so some mass, however little, lies on a bridge
# between them (the grey lines show it stretched; in those seeds at most 0.047 of the drawn fakes
# were more than 3 standard deviations from both centres, against e^(−4.5) ≈ 0.011 of the data itself).
# </details>

# %% [markdown]
# ## Disjoint supports (about 5 minutes)
#
# **Predict first.** Let `p_data = U[0, 1]` and `p_g = U[s, s + 1]`. What is JSD(p_data, p_g) for
# `s = 2`? For `s = 4`? So what gradient does the generator get from `V(D*, G) = −log 4 + 2 JSD`
# when it moves its samples towards the data? Would a distance that measures *how far* mass has to
# move do better?

# %%
# NBVAL_CHECK_OUTPUT
r = disjoint_supports([0.0, 0.5, 1.0, 2.0, 4.0])
print(f"{'shift s':>8} {'JSD (closed form)':>18} {'JSD (grid)':>11} {'W1 = |s|':>9} {'W1 (scipy)':>11}")
for i, s in enumerate(r["shift"]):
    # the grid columns are accurate to about one grid step (6e-4): three decimals
    print(f"{s:8.1f} {r['jsd'][i]:18.4f} {r['jsd_grid'][i]:11.3f} {r['w1'][i]:9.4f} {r['w1_scipy'][i]:11.3f}")
print(f"log 2 = {math.log(2):.4f}")

# %%
fig = disjoint_supports_figure()
plt.show()

# %% [markdown]
# <details><summary><b>Worked answer: disjoint supports</b></summary>
#
# With overlap `o = max(0, 1 − |s|)`, JSD = `(1 − o) log 2`: for every `|s| ≥ 1` it is **log 2**,
# whatever the distance (the table: 0.6931 at s = 1, 2 and 4). D\* is 1 on the data and 0 on the fakes,
# `V(D*, G) = −log 4 + 2 log 2 = 0` for every such s, and its derivative with respect to s is 0: the
# optimal discriminator tells G that it is wrong but not which way to go. The Wasserstein-1 distance
# (earth mover's distance: the least mass × distance needed to move `p_g` onto `p_data`) is `|s|`,
# whose slope is ±1 however far apart the two are.
#
# This is not a curiosity: images concentrate near low-dimensional manifolds, and a generator's
# manifold and the data's generally do not overlap (Arjovsky & Bottou 2017), so a strong
# discriminator saturates. The **Wasserstein GAN** (Arjovsky, Chintala & Bottou 2017) replaces the
# JSD by W1, estimated with a 1-Lipschitz critic instead of a classifier (weight clipping, or a
# gradient penalty in WGAN-GP, Gulrajani et al. 2017).
# </details>

# %% [markdown]
# ## Exercise — one GAN training step (about 10 minutes)
#
# Write one alternating update, the way `course_utils.gan.train` does it on every batch: first a
# discriminator step on the real images and on fakes `G(z)` — which must not change G or leave
# gradients in it — then a generator step with the non-saturating loss, through the discriminator
# *as updated by its step*; D must not change in G's step. Use `opt_d` for D and `opt_g` for G
# (each optimizer holds only its network's parameters), and the noise `z` passed in for both
# steps. `D(x)` returns logits of shape (N,). Return the two losses `(d_loss, g_loss)` as numbers.
#
# The check runs your function on tiny networks with optimizers it watches, twice (the second time
# with gradients left over from an earlier step), and names what went wrong: the order of the
# steps, gradients reaching G in D's step, the labels, leftover gradients, the loss G follows.

# %%
def my_gan_step(G, D, opt_g, opt_d, real, z):
    """One D step on real and fake, then one G step through the updated D; returns (d_loss, g_loss) as floats."""
    ### BEGIN SOLUTION
    fake = G(z)
    d_loss = -F.logsigmoid(D(real)).mean() - F.logsigmoid(-D(fake.detach())).mean()
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = -F.logsigmoid(D(fake)).mean()
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return d_loss.item(), g_loss.item()
    ### END SOLUTION

# %%
# Autograded check: 2 points
# NBVAL_CHECK_OUTPUT
check_gan_step(my_gan_step)

# %% [markdown]
# The course's step, which notebook 07 trains with, does the same with two refinements: reals and
# fakes go through D as one batch, and D's weights are frozen during G's backward pass so that no
# gradients are computed for them:

# %%
print(inspect.getsource(make_step))

# %% [markdown]
# ## Summary
#
# - G maps noise to samples; D maps a sample to the probability that it is real (Q2.1).
# - Both terms of `V(D, G)` reward the **discriminator**: for accepting real data and for
#   rejecting fakes; G minimises the second (Q2.2). D's loss is `−V`, a binary cross-entropy.
# - For fixed G the best D is `p_data / (p_data + p_g)` and `V(D*, G) = −log 4 + 2 JSD`; at
#   convergence `D* = 1/2` and `V = −log 4 ≈ −1.386` nats, checked numerically (Q2.3).
# - `log(1 − D(G(z)))` saturates when `D(G(z)) ≈ 0` (gradient `D`, not `1 − D`); the
#   non-saturating loss `−log D(G(z))` fixes that, shares the fixed point, and is a different,
#   mode-seeking objective (Q2.4).
# - Losses at `log 4` and D ≈ 1/2 do not mean `p_g = p_data`: measure the samples.
# - On the ring the non-saturating generator dropped modes; with disjoint supports the JSD is flat
#   at log 2, while the Wasserstein-1 distance still points the way (WGAN).
#
# Next: notebook 07 trains the assignment's GAN on images with these losses.
