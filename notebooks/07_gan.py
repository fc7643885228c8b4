# %% [markdown]
# # 07 — The GAN (Q2.5–Q2.7)
#
# Notebook 06 took the game apart on a problem with one number per sample. Here the
# generator makes 28×28 images: the assignment's GAN, built from `course_utils`, trained with
# the losses of notebook 06, then examined through its samples and its latent space.
#
# **You will learn**
#
# - the generator and discriminator of the assignment, layer by layer, and how one training
#   step alternates between them (Q2.5);
# - to read a GAN's training curves, and how its samples change from the start to the end of
#   training (Q2.6);
# - to walk through the latent space: straight-line and spherical interpolation between noise
#   vectors, and what the images along the way say about the generator (Q2.7);
# - to put a number on sample quality instead of judging by eye (notebook 08 compares with the VAE).
#
# **Questions**
#
# - **Q2.5** Build a GAN: generator latent → 128 → 256 → 512 → 1024 → 784 (LeakyReLU 0.2;
#   BatchNorm after every linear layer but the first; tanh output), discriminator 784 → 512 → 256 → 1
#   (LeakyReLU 0.2), trained with the binary cross-entropy, Adam (lr 2·10⁻⁴, β₁ = 0.5), alternating
#   D and G steps.
# - **Q2.6** Show samples at the start, the middle and the end of training.
# - **Q2.7** Interpolate between two latent points with at least 7 steps, for several pairs. What do
#   you see?

# %% [markdown]
# ## Setup
# The data set is chosen in one place, `course_utils.core.data.load_data` (MNIST, or Fashion-MNIST
# offline). The GAN trains on gray images in [0, 1], which the training loop rescales to [−1, 1],
# the range of the generator's tanh. The run's settings are in `course_utils.course.runs.gan_config`
# — the engine's defaults (`GANConfig()`: 30 epochs on all 50 000 training images) in full mode,
# 3 epochs on 1 024 images in quick mode (`COURSE_QUICK=1`; the samples then look accordingly).
# Trained models go to a checkpoint cache, so re-running the notebook loads them.

# %%
import inspect

import matplotlib.pyplot as plt
import torch

from course_utils.core import get_device, load_data, quick_mode, seed_everything, show_grid
from course_utils.course import EVAL_SEED, classifier_config, gan_config, n_eval, record
from course_utils.evaluation import sample_quality, train_classifier
from course_utils.exercises import check_lerp, check_slerp
from course_utils.gan import (
    Discriminator,
    GANConfig,
    Generator,
    history_figure,
    interpolation,
    interpolation_figure,
    make_step,
    sample,
    snapshots_figure,
    to_signed,
    to_unit,
    train_gan,
)
from course_utils.widgets import InterpolationExplorer

seed_everything(0)
data = load_data(pixels="gray")
config = gan_config()
print(data, "| device:", get_device(), "| quick mode:", quick_mode())
print(config)

# %% [markdown]
# ## Q2.5 — The model
#
# Every knob of a run is a field of `GANConfig`; the defaults are the assignment's (the run above
# differs only in `epochs` and `train_size` in quick mode). The two networks:

# %%
# NBVAL_CHECK_OUTPUT
G, D = Generator(GANConfig()), Discriminator(GANConfig())
print(G)
print(D)
count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
print(f"parameters: generator {count(G):,}, discriminator {count(D):,}")

# %% [markdown]
# Read the code: the generator is a stack of `Linear → BatchNorm1d → LeakyReLU(0.2)` blocks (no
# BatchNorm after the first layer) ending in `tanh`, so every pixel is in [−1, 1]; the
# discriminator is `Linear → LeakyReLU(0.2)` twice and a final linear layer that returns a
# **logit** (no sigmoid: the loss takes logits, `D(x) = sigmoid(logit)`).

# %%
print(inspect.getsource(Generator.__init__))
print(inspect.getsource(Discriminator.__init__))

# %% [markdown]
# Why these choices: LeakyReLU keeps a small gradient for negative inputs, so the discriminator's
# verdict reaches the generator through every unit; BatchNorm keeps the generator's activations
# in a trainable range; tanh matches the data rescaled to [−1, 1]:

# %%
# NBVAL_CHECK_OUTPUT
x01 = torch.tensor([0.0, 0.25, 0.5, 1.0])
print("data pixels [0, 1]      :", x01.tolist())
print("to_signed -> [-1, 1]    :", to_signed(x01).tolist())
print("to_unit   -> back       :", to_unit(to_signed(x01)).tolist())

# %% [markdown]
# **One training step** alternates the players on each batch. First D: real images get label 1,
# fresh fakes (detached, so this step does not change G) label 0, and D takes an Adam step on the
# discriminator loss of notebook 06. Then G: the same fakes go through the *updated* D, and G takes
# an Adam step on the non-saturating loss `−log D(G(z))` (Q2.4). As for the VAE, the matrix
# products run in bfloat16 where the CPU has it (`GANConfig(precision="auto")`); losses stay float32.

# %%
print(inspect.getsource(make_step))

# %% [markdown]
# ### Training
#
# `train_gan` runs that step over the epochs (the shared loop `course_utils.core.training.fit`),
# keeps a grid of samples for fixed noise at the start, the middle and the end, and stores the
# finished run in the cache. In full mode expect several minutes on a laptop CPU the first time
# (Ctrl-C, or the stop button, ends training early and keeps what was learned; such a run is not cached).

# %%
G, D, history = train_gan(config, data)
print(f"{len(history)} epochs, {history.steps} steps, {history.seconds:.0f} s of training "
      f"(0 s when loaded from the cache)")

# %% [markdown]
# **The training curves.** A GAN's losses do not go down like a VAE's: they measure a game.
# What to look at: the discriminator's loss should stay well away from 0 (a D that wins outright
# gives G no signal); in a balanced game it stays a little below `log 4 ≈ 1.386`, its value at
# the equilibrium of notebook 06. The mean of `D(x)` on real images stays slightly above the mean
# of `D(G(z))` on fakes — D still tells them apart a little — and both hover near 1/2 instead of
# pinning at 0 or 1. (Flat curves do not mean the samples stopped improving: the figures below
# and the score are the better guide.)

# %%
fig = history_figure(history, title=f"GAN training on {data.pretty_name}")
plt.show()

# %% [markdown]
# <details><summary><b>Worked answer (Q2.5)</b></summary>
#
# - **Generator** `G`: `z ∈ R^100, z ~ N(0, I)` → Linear(100, 128) → LeakyReLU(0.2) →
#   [Linear → BatchNorm1d → LeakyReLU(0.2)] with 256, 512, 1024 units → Linear(1024, 784) → tanh.
#   Output: an image with pixels in [−1, 1] (the data are rescaled to that range).
# - **Discriminator** `D`: 784 → Linear(784, 512) → LeakyReLU(0.2) → Linear(512, 256) →
#   LeakyReLU(0.2) → Linear(256, 1): a logit; `D(x) = sigmoid(logit)`, the probability that x is real.
# - **Losses**: D minimises the binary cross-entropy `−E[log D(x)] − E[log(1 − D(G(z)))] = −V`
#   (labels 1 for real, 0 for fake); G minimises the non-saturating `−E[log D(G(z))]`. Both are
#   computed from logits (`binary_cross_entropy_with_logits`), which is numerically stable.
# - **Optimisation**: Adam for each network, lr 2·10⁻⁴, betas (0.5, 0.999), batches of 64 real
#   images and 64 fakes; each step first updates D (fakes detached), then G through the updated D.
#
# The code is `course_utils.gan.model` (networks), `course_utils.gan.losses` (losses) and
# `course_utils.gan.train` (the step and the loop); the printout above is the trained model's
# architecture.
# </details>

# %% [markdown]
# ## Q2.6 — Samples during training
#
# The same 25 noise vectors, pushed through the generator before training, halfway, and at the end:

# %%
fig = snapshots_figure(history.samples, title=f"GAN samples for fixed noise during training ({data.pretty_name})")
plt.show()

# %% [markdown]
# And a larger set of samples from the final generator (fresh noise; the generator in eval mode,
# so BatchNorm uses its running statistics):

# %%
final_samples = sample(G, 64, seed=0)
fig = show_grid(final_samples, nrow=16, value_range=(-1, 1),
                title=f"64 samples of the trained GAN (epoch {len(history)})")
plt.show()

# %% [markdown]
# **Not only by eye.** A score for the samples: the Fréchet distance between the features of a
# small classifier trained on the same data (`course_utils.evaluation`), computed for the
# generator's samples and for real held-out images (the *floor* a perfect generator could reach
# with this many samples), and how many of the 10 classes receive at least 1% of the samples.
# Notebook 08 puts these next to the VAE's.

# %%
classifier = train_classifier(data, classifier_config())
images = to_unit(sample(G, n_eval(), seed=EVAL_SEED))
quality = sample_quality(images, data, classifier)
record("GAN Fréchet distance (classifier features)", quality["fd"])
record("Fréchet distance floor (real vs real)", quality["fd_real_floor"])
record("GAN classes covered", quality["classes_covered"], "of 10")
print(f"classifier test accuracy {classifier.test_accuracy:.3f}")
print(f"GAN: Fréchet distance {quality['fd']:.2f} (real-vs-real floor {quality['fd_real_floor']:.2f}), "
      f"{quality['classes_covered']}/{quality['n_classes']} classes covered, {quality['n_samples']} samples")

# %% [markdown]
# For reference, the course's full-mode run on Fashion-MNIST (`benchmarks/results/gan.json`) scores
# 165.8 against a floor of 0.78 with all 10 classes covered; quick mode's numbers mean little.
# Expect your number to differ: runs that differ only in the seed, the thread count or the
# precision scored between 140 and 178 (`benchmarks/results/gan_precision.json`), and one of them
# covered only 9 classes — a GAN's sample quality varies from run to run far more than a VAE's
# test ELBO does.
#
# <details><summary><b>Worked answer (Q2.6)</b></summary>
#
# - **Start (before training):** every noise vector gives nearly the same flat, mid-gray image
#   with faint noise — an untrained generator's outputs are close to 0, which is gray after
#   rescaling: no structure, no variety.
# - **Middle (epoch 15 of 30):** already varied, recognisable items of many classes, with
#   crisp outlines but speckled, high-contrast texture and some malformed shapes.
# - **End (epoch 30):** similar quality; many noise vectors still give the same kind of item,
#   others have changed — the game keeps moving rather than converging to a fixed generator. Most of
#   the visible progress happens in the first epochs; later changes are subtle, which is where a
#   number helps. Unlike a VAE's samples these are not blurry (the discriminator punishes blur). The
#   score above says how close they are: the Fréchet distance is far above the real-vs-real floor
#   (the samples are easy to tell from real images in the classifier's feature space), and the
#   class coverage shows whether classes are missing (mode dropping).
#
# (In quick mode the run is a few dozen steps long and the samples are still noise; run the
# notebook in full mode for the real figure.)
# </details>

# %% [markdown]
# ## Q2.7 — Interpolating in latent space
#
# Take two noise vectors `z₀` and `z₁`, walk from one to the other in small steps, and decode each
# point. If the generator has learned a smooth map, the images change gradually; if it had
# memorised training images, we would see abrupt jumps between them.
#
# ### Exercise — linear interpolation
#
# Return `steps` evenly spaced points from `z0` to `z1`, **both ends included**:
# `z(t) = (1 − t) z₀ + t z₁` for `t = 0, 1/(steps − 1), …, 1`, as a tensor of shape `(steps, D)`.
# The check names the usual slips (a path that stops one step short, off-by-one counts,
# a reversed path).

# %%
# NBVAL_CHECK_OUTPUT
def my_lerp(z0, z1, steps):
    """steps points on the straight line from z0 to z1 (both included): shape (steps, D)."""
    ### BEGIN SOLUTION
    t = torch.linspace(0, 1, steps).unsqueeze(1)
    return (1 - t) * z0 + t * z1
    ### END SOLUTION


check_lerp(my_lerp)

# %% [markdown]
# **A subtlety of high dimensions.** A sample of `N(0, I)` in 100 dimensions has a norm close to
# `√100 = 10`: almost all of the prior's mass lies in a thin shell. The midpoint of a straight line
# between two such (nearly orthogonal) points has norm close to `10/√2 ≈ 7.1` — a point the
# generator almost never saw in training. **Spherical interpolation** (slerp) walks along the arc
# instead, keeping the norm in the shell:
#
# $$z(t) = \frac{\sin\big((1-t)\,\omega\big)}{\sin\omega}\,z_0 + \frac{\sin(t\,\omega)}{\sin\omega}\,z_1,
#   \qquad \cos\omega = \frac{z_0\cdot z_1}{\lVert z_0\rVert\,\lVert z_1\rVert}.$$
#
# ### Exercise — spherical interpolation (optional)
#
# Same interface as `my_lerp`. Normalise only to compute the angle; combine the original vectors.

# %%
# NBVAL_CHECK_OUTPUT
def my_slerp(z0, z1, steps):
    """steps points on the great-circle arc from z0 to z1 (both included): shape (steps, D)."""
    ### BEGIN SOLUTION
    omega = torch.arccos((z0 @ z1 / (z0.norm() * z1.norm())).clamp(-1, 1))
    t = torch.linspace(0, 1, steps).unsqueeze(1)
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)
    ### END SOLUTION


check_slerp(my_slerp)

# %% [markdown]
# The package's versions, which the figures below use (they also take batches of pairs):

# %%
print(inspect.getsource(interpolation.lerp))
print(inspect.getsource(interpolation.slerp))

# %% [markdown]
# The norms along both paths for one seeded pair of 100-dimensional prior samples:

# %%
# NBVAL_CHECK_OUTPUT
z0, z1 = interpolation.random_pairs(1, 100, seed=7)
z0, z1 = z0[0], z1[0]
print(f"|z0| = {z0.norm():.2f}, |z1| = {z1.norm():.2f}, angle = "
      f"{torch.rad2deg(torch.arccos(z0 @ z1 / (z0.norm() * z1.norm()))):.1f} degrees")
print("t          :", " ".join(f"{t:5.2f}" for t in torch.linspace(0, 1, 9).tolist()))
print("|lerp(t)|  :", " ".join(f"{v:5.2f}" for v in interpolation.lerp(z0, z1, 9).norm(dim=1).tolist()))
print("|slerp(t)| :", " ".join(f"{v:5.2f}" for v in interpolation.slerp(z0, z1, 9).norm(dim=1).tolist()))

# %% [markdown]
# ### The interpolation figure
#
# Five pairs of prior samples, nine steps each (left: `z₀`, right: `z₁`), straight lines first:

# %%
fig = interpolation_figure(G, n_pairs=5, steps=9, method="linear", seed=0)
plt.show()

# %% [markdown]
# The same pairs along the arc:

# %%
fig = interpolation_figure(G, n_pairs=5, steps=9, method="spherical", seed=0)
plt.show()

# %% [markdown]
# What to look at: the images change **gradually** — shapes morph, thicken, rotate — and most
# intermediate images are themselves plausible, often passing through a third class on the
# way. The linear midpoints can look a little fainter or more generic than the ends (they sit
# closer to the origin, where the prior has little mass); slerp keeps them typical.
#
# ### Explore: choose a pair and slide along the path
#
# The same five pairs as in the figures. Pick one and a path; the slider (one step per arrow-key
# press) decodes the current point and draws it; the strip on the right shows the whole path with
# the current point framed, and the label shows `|z|` — watch it dip in the middle of the
# straight line. The callback is `course_utils.widgets.gan.InterpolationExplorer.update`
# (decoding one image and drawing it takes a few milliseconds).

# %%
pairs_z0, pairs_z1 = interpolation.random_pairs(5, G.latent_dim, seed=0)
explorer = InterpolationExplorer(lambda z: to_unit(sample(G, z)), pairs_z0, pairs_z1, steps=15)
explorer.widget

# %% [markdown]
# <details><summary><b>Worked answer (Q2.7)</b></summary>
#
# Decoding evenly spaced points between two noise vectors (here 9 or 15 steps, both ends
# included) gives a sequence of images that changes smoothly: strokes and silhouettes deform
# continuously from the first image into the second, and the images along the path are mostly
# plausible samples themselves (sometimes of a third class in between). So the generator is a
# smooth map from the latent space onto the data's variety of shapes, rather than a lookup table
# of memorised training images, whose interpolations would jump or cross-fade.
#
# Two details: (1) with a Gaussian prior in 100 dimensions, a straight-line path dips to a norm
# of about `|z|/√2` in the middle, off the shell where the prior's mass is (printed above), so
# linear midpoints can look less typical; spherical interpolation keeps the norm near `√100 = 10`.
# (2) A GAN has no encoder, so we interpolate between *random* latent points; to interpolate
# between two given images one would first have to find latent codes for them.
# </details>

# %% [markdown]
# ## Summary
#
# - The assignment's GAN: an MLP generator (BatchNorm, LeakyReLU, tanh) and an MLP discriminator
#   returning a logit, trained with BCE losses from logits, Adam (2·10⁻⁴, β₁ = 0.5), alternating steps (Q2.5).
# - Samples move from gray noise to sharp, varied images during training (Q2.6); a Fréchet distance
#   on classifier features next to the real-vs-real floor and the class coverage quantify them.
# - Latent interpolations change smoothly; slerp keeps the path where the prior's mass is (Q2.7).
#
# Next: notebook 08 compares this GAN with the VAE of notebook 05.
