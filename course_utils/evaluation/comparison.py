"""How notebook 08 compares the VAE with the GAN (Q3.1).

What lives here:

- :func:`model_samples` (images in [0, 1] from either model, for the same seed),
  :func:`score_models` (Fréchet distance, the floor at the same n, precision/recall and class
  coverage for each, next to held-out real images scored the same way);
- :func:`training_neighbours` and :func:`neighbours_figure`: the nearest training images of
  samples in pixel and classifier-feature space (a memorisation check);
- the figures of notebook 08 (:func:`side_by_side_figure`, :func:`coverage_figure`,
  :func:`scores_figure`) and the two small numerical demonstrations of Q3.1 about
  discrete data and discrete latents (:func:`gradient_through_rounding`,
  :func:`categorical_latent_gradients`).

Training itself is the engines' (:func:`course_utils.gan.train.train_gan`,
:func:`course_utils.vae.train.train_vae`); which runs the course trains is defined once,
in :mod:`course_utils.course.runs`; scoring is :mod:`course_utils.evaluation.quality`.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from course_utils.core.plots import show_grid
from course_utils.evaluation.classifier import N_CLASSES
from course_utils.evaluation.precision_recall import nearest_neighbours
from course_utils.evaluation.quality import reference_features, sample_quality
from course_utils.gan.model import to_unit

EVAL_SEED = 1234  # noise for the scored samples (notebooks 07/08 and benchmarks/bench_gan.py)


# --------------------------------------------------------------------------- samples and scores

@torch.no_grad()
def vae_samples(vae, n: int, seed: int = EVAL_SEED) -> torch.Tensor:
    """``n`` VAE samples in [0, 1], (n, 784) on the CPU: the decoder's Bernoulli means ``f(z)``, ``z ~ N(0, I)``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return vae.sample_prior(n).cpu().clamp(0, 1)


@torch.no_grad()
def gan_samples(generator, n: int, seed: int = EVAL_SEED) -> torch.Tensor:
    """``n`` GAN samples in [0, 1], (n, 784) on the CPU: ``(G(z) + 1) / 2`` with the generator in eval mode."""
    from course_utils.gan.train import sample

    return to_unit(sample(generator, n, seed=seed)).clamp(0, 1)


def model_samples(vae, generator, n: int, seed: int = EVAL_SEED) -> dict[str, torch.Tensor]:
    """``n`` samples of each model as images in [0, 1], shape (n, 784), on the CPU.

    VAE: the decoder's Bernoulli means ``f(z)`` at ``z ~ N(0, I)`` (the usual way to show a
    VAE's samples; a binary draw from them is noisier). GAN: ``(G(z) + 1) / 2``. Both from
    noise seeded with ``seed``, drawn as in ``benchmarks/seeds.py`` (:func:`vae_samples`,
    :func:`gan_samples`).
    """
    return {"VAE": vae_samples(vae, n, seed), "GAN": gan_samples(generator, n, seed)}


def score_models(samples: dict[str, torch.Tensor], data, classifier) -> dict[str, dict]:
    """:func:`course_utils.evaluation.quality.sample_quality` of each model's samples, plus the test images themselves.

    The entry ``"real (held out)"`` scores ``n`` held-out training (validation) images the same
    way: its Fréchet distance is the floor for that many samples (every entry's
    ``fd_real_floor`` is this same number), its precision and recall what real images reach
    with k-NN radii at this n, and its class histogram what full coverage looks like.
    """
    scores = {name: sample_quality(images, data, classifier) for name, images in samples.items()}
    n = len(next(iter(samples.values())))
    scores["real (held out)"] = sample_quality(data.val.rows(0, n), data, classifier)  # converts only those n
    return scores


def scores_table(scores: dict[str, dict]) -> str:
    """A plain-text table per model: Fréchet distance, the floor at the same n, precision, recall, class TV."""
    lines = [f"{'':<16} {'n':>6} {'Fréchet distance':>16} {'floor at this n':>16} {'precision':>10} "
             f"{'recall':>7} {'class TV':>9}"]
    for name, s in scores.items():
        lines.append(f"{name:<16} {s['n_samples']:6d} {s['fd']:16.2f} {s['fd_real_floor']:16.2f} "
                     f"{s['precision']:10.3f} {s['recall']:7.3f} {s['class_tv']:9.3f}")
    return "\n".join(lines)


@torch.no_grad()
def per_image_elbo(vae, x: torch.Tensor, k: int = 10, seed: int = 0, batch_size: int = 1000) -> torch.Tensor:
    """The ELBO of each image (N,), in nats, averaged over ``k`` draws of z ~ q(z|x) (seeded).

    A VAE can score any given image this way (a lower bound on its log p(x)); a GAN has no
    such number.
    """
    from course_utils.vae.losses import negative_elbo

    noise = torch.Generator().manual_seed(seed)
    out = []
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size].to(vae.device)
        total = torch.zeros(len(xb), dtype=torch.float64)
        for _ in range(k):
            o = vae(xb, noise)
            total += negative_elbo(xb, o["logits"], o["mu"], o["sigma"])["loss"].double().cpu()
        out.append(-total / k)
    return torch.cat(out)


# --------------------------------------------------------------------------- figures

def side_by_side_figure(samples: dict[str, torch.Tensor], real: torch.Tensor, n: int = 36, nrow: int = 6):
    """Real images next to the first ``n`` samples of each model (all in [0, 1])."""
    panels = {"real (test images)": real[:n], **{f"{k} samples": v[:n] for k, v in samples.items()}}
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 4.0))
    for ax, (title, images) in zip(axes, panels.items(), strict=True):
        show_grid(images, nrow=nrow, ax=ax, title=title)
    fig.suptitle("Samples side by side (pixel intensities in [0, 1])")
    fig.tight_layout()
    return fig


def coverage_figure(scores: dict[str, dict], class_names: list[str]):
    """Fraction of samples per predicted class, for each model and for real images, with the uniform 1/10.

    Each legend entry gives the total variation to the classifier's class mix of real test images.
    """
    fig, ax = plt.subplots(figsize=(11, 3.6))
    width = 0.8 / len(scores)
    x = np.arange(N_CLASSES)
    for i, (name, s) in enumerate(scores.items()):
        counts = np.asarray(s["class_histogram"], dtype=float)
        ax.bar(x + (i - (len(scores) - 1) / 2) * width, counts / counts.sum(), width=width,
               label=f"{name} (total variation {s['class_tv']:.3f})")
    ax.axhline(1 / N_CLASSES, color="gray", ls="--", lw=1, label="uniform: 1/10")
    ax.set_xticks(x)
    ax.set_xticklabels(class_names, rotation=20, fontsize=8)
    ax.set_xlabel("class predicted by the course's classifier")
    ax.set_ylabel("fraction of samples")
    ax.set_title("Which classes do the samples look like? (total variation to the real test images' mix)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def scores_figure(scores: dict[str, dict]):
    """Fréchet distance per model as bars, with the real-vs-real floor as a line (log scale)."""
    names = list(scores)
    fds = [scores[k]["fd"] for k in names]
    floor = next(iter(scores.values()))["fd_real_floor"]
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.bar(names, fds, color=[f"C{i}" for i in range(len(names))])
    n = next(iter(scores.values()))["n_samples"]
    ax.axhline(floor, color="k", ls="--", lw=1, label=f"floor: {n} held-out real images = {floor:.2f}")
    ax.set_yscale("log")
    ax.set_xlabel("model")
    ax.set_ylabel("Fréchet distance to the test set\n(classifier features, log scale)")
    ax.set_xlabel("generative model")
    ax.set_title("Sample quality: lower is better")
    for i, v in enumerate(fds):
        ax.text(i, v, f"{v:.2f}", ha="center", va="bottom", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


@torch.no_grad()
def training_neighbours(images01: torch.Tensor, data, classifier, n: int = 1) -> dict:
    """The nearest training images of each image, in pixel space and in the classifier's feature space.

    Returns ``{"pixel": (distances, indices), "feature": (distances, indices)}``, each (N, n),
    Euclidean distance, closest first; indices into ``data.train``. See
    :func:`course_utils.evaluation.precision_recall.nearest_neighbours`: the training images
    are read from ``data.train``'s stored pixels a chunk at a time (memory bounded by
    :data:`~course_utils.evaluation.precision_recall.CHUNK_BYTES` per temporary, not by the
    size of the training set).
    """
    return {"pixel": nearest_neighbours(images01, data.train, n),
            "feature": nearest_neighbours(classifier.features(images01), reference_features(classifier, data, "train"),
                                          n)}


def near_copies(image_sets: dict[str, torch.Tensor], data, classifier, quantile: float = 0.01,
                n_reference: int = 1000, neighbours: dict[str, dict] | None = None) -> dict[str, dict]:
    """How many images sit closer to a training image than almost any held-out real image does: a copy test.

    Held-out real images (the first ``n_reference`` validation images, trained on by nothing) set the scale:
    ``threshold`` is the ``quantile`` of their distances to the nearest of *all* training images. An image below
    it is a near-copy candidate. Held-out images give ``quantile`` by construction; a generator that copies
    training images gives about the share it copies (an exact copy is at distance 0), however its copies are
    spread over the training set -- a count the median distance does not give.

    ``image_sets`` maps a name to images in [0, 1], all judged against one threshold (computed once);
    ``neighbours`` may hold, per name, what :func:`training_neighbours` already returned for those images, so
    they are not searched again. Returns, per name and per space (``"pixel"``, ``"feature"``): ``fraction`` (of
    the images below the threshold), ``threshold``, ``median`` (of their distances) and ``reference_median``.
    """
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), e.g. 0.01, got {quantile}")
    neighbours = neighbours or {}
    reference = data.val.subset(n_reference).images  # converts only these images, not the whole split
    held_out = training_neighbours(reference, data, classifier)
    scale = {}
    for space in ("pixel", "feature"):
        d_ref = held_out[space][0][:, 0]
        scale[space] = (float(torch.quantile(d_ref.double(), quantile)), float(d_ref.median()))
    out = {}
    for name, images01 in image_sets.items():
        mine = neighbours.get(name)
        if mine is None:
            mine = training_neighbours(images01, data, classifier)
        elif len(mine["pixel"][0]) != len(images01):
            raise ValueError(f"neighbours[{name!r}] holds {len(mine['pixel'][0])} images' neighbours, but "
                             f"image_sets[{name!r}] has {len(images01)} images: pass training_neighbours() of "
                             "the same images, or leave it out")
        out[name] = {}
        for space, (threshold, reference_median) in scale.items():
            d = mine[space][0][:, 0]
            out[name][space] = {"fraction": float((d < threshold).double().mean()), "threshold": threshold,
                                "median": float(d.median()), "reference_median": reference_median}
    return out


def neighbours_figure(images01: torch.Tensor, data, classifier, n: int = 8, title: str = "samples"):
    """Row 1: ``n`` images; row 2: the nearest training image of each in pixels; row 3: in classifier features."""
    images01 = images01[:n]
    nb = training_neighbours(images01, data, classifier)
    train = data.train
    rows = {title: (images01, None),
            "nearest training image, pixels": (train.take(nb["pixel"][1][:, 0]), nb["pixel"][0][:, 0]),
            "nearest training image, classifier features": (train.take(nb["feature"][1][:, 0]),
                                                            nb["feature"][0][:, 0])}
    fig, axes = plt.subplots(3, 1, figsize=(1.1 * n + 1, 4.6))
    for ax, (name, (imgs, dists)) in zip(axes, rows.items(), strict=True):
        label = name if dists is None else f"{name} (distance {float(dists.min()):.1f} to {float(dists.max()):.1f})"
        show_grid(imgs, nrow=n, ax=ax, title=label)
    fig.suptitle("Memorisation check: each image and its nearest neighbour among the 50 000 training images")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- Q3.1: discrete data and latents

def gradient_through_rounding(seed: int = 0) -> dict[str, float]:
    """Why a GAN cannot learn discrete outputs by backpropagation: the gradient through rounding is zero.

    A tiny "generator" makes pixel probabilities ``p = sigmoid(w z)``; a fixed
    "discriminator" scores the pixels. With continuous outputs ``p`` the generator gets a
    gradient; when the outputs are made discrete -- rounded, or drawn as Bernoulli
    samples -- the output is piecewise constant in ``w``, and the gradient reaching ``w``
    is exactly zero (PyTorch defines the derivative of ``round`` and ``bernoulli`` as 0).
    Returns the gradient norms (NaN if no gradient graph exists at all).
    """
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(16, 4, generator=g)
    w = torch.randn(4, 8, generator=g, requires_grad=True)
    critic = torch.randn(8, generator=g)  # a fixed linear "discriminator" on 8 pixels

    def grad_norm(make_pixels) -> float:
        w.grad = None
        x = make_pixels(torch.sigmoid(z @ w))
        if not x.requires_grad:
            return float("nan")  # no graph at all: nothing to differentiate
        score = (x @ critic).mean()
        score.backward()
        return float(w.grad.norm())

    return {
        "continuous pixels p": grad_norm(lambda p: p),
        "rounded pixels round(p)": grad_norm(lambda p: torch.round(p)),
        "sampled pixels Bernoulli(p)": grad_norm(lambda p: torch.bernoulli(p, generator=g)),
    }


def gumbel_softmax_gradients(logits: torch.Tensor, f: torch.Tensor, gumbel: torch.Tensor,
                             temperature: float) -> torch.Tensor:
    """Per-sample gradients of ``soft @ f`` with respect to ``logits``, ``soft = softmax((logits + g) / T)``.

    ``gumbel`` holds one row of Gumbel noise per sample, shape (n, K); the result has the same
    shape. The softmax Jacobian written out: ``soft * (f - soft @ f) / T``.
    """
    soft = torch.softmax((logits + gumbel) / temperature, -1)  # (n, K) "soft one-hot" samples
    values = soft @ f
    return soft * (f - values.unsqueeze(-1)) / temperature


def categorical_latent_gradients(n_samples: int = 20000, temperature: float = 0.5, seed: int = 0) -> dict:
    """Why a VAE with a discrete latent has no reparameterization: compare gradient estimators.

    Objective: ``E_{k ~ Cat(softmax(logits))}[f(k)]`` with ``f = (0, 1, 4, 9)`` over 4 categories,
    differentiated with respect to the logits. The exact gradient is available (4 terms).
    A sample ``k`` is an integer: no path from ``k`` back to the logits. Two workarounds:
    the score-function (REINFORCE) estimator, unbiased but noisy, and the Gumbel-softmax
    relaxation (continuous "soft one-hot" samples at ``temperature``), low variance but biased.
    Returns the exact gradient and, for each estimator, the mean and per-sample standard
    deviation of the gradient estimates (as lists).
    """
    g = torch.Generator().manual_seed(seed)
    logits = torch.tensor([0.5, -0.2, 0.1, -0.4], dtype=torch.float64)
    f = torch.tensor([0.0, 1.0, 4.0, 9.0], dtype=torch.float64)

    def expected(lg):
        return (torch.softmax(lg, -1) * f).sum()

    lg = logits.clone().requires_grad_(True)
    (exact,) = torch.autograd.grad(expected(lg), lg)

    probs = torch.softmax(logits, -1)
    k = torch.multinomial(probs, n_samples, replacement=True, generator=g)
    score = F.one_hot(k, 4).double() - probs  # d log p(k) / d logits
    reinforce = f[k].unsqueeze(1) * score

    u = torch.rand(n_samples, 4, generator=g, dtype=torch.float64).clamp(1e-12, 1 - 1e-12)
    gumbel = -torch.log(-torch.log(u))
    grads = gumbel_softmax_gradients(logits, f, gumbel, temperature)
    return {
        "exact": exact.tolist(),
        "reinforce_mean": reinforce.mean(0).tolist(),
        "reinforce_std": reinforce.std(0).tolist(),
        "gumbel_mean": grads.mean(0).tolist(),
        "gumbel_std": grads.std(0).tolist(),
        "n_samples": n_samples,
    }
