"""A 2-D GAN game to watch and steer step by step: the model side of notebook 06's live view (issue 23).

What lives here:

- :class:`GameSettings`: the controls a student changes (the data, the generator's loss, D steps per
  G step, both learning rates, the optimiser, the seed);
- :func:`data_centres`, :func:`sample_data`: the data sets -- the 8-Gaussian ring of
  :mod:`course_utils.toys.ring`, two far-apart clusters (supports that barely overlap a
  generator's), and a ring whose modes have uneven weights;
- :class:`LiveGame`: the two small MLPs, their optimisers and random generators. :meth:`LiveGame.step`
  runs ``d_steps`` discriminator updates and one generator update with the course's loss functions
  (:mod:`course_utils.gan.losses`); :meth:`LiveGame.update` changes a control from the next step;
  :meth:`LiveGame.reset` returns to the seed's initial state; :meth:`LiveGame.frame` computes what is
  drawn: real and fake samples, D's output on a grid, the arrow along which G's loss moves each fake
  sample, the generator's image of a latent grid, the losses so far and the modes captured;
  :meth:`LiveGame.measure` adds how far the samples are from the data (below);
- :func:`binned_jsd`, :func:`w1_matched`, :func:`data_bin_probabilities`: the two distances the view plots.
  The JSD is that of the *binned* distributions (a square lattice of bins over the drawn plane plus one bin
  for everything outside), with the data's bin probabilities exact (the mixture is known) and the
  generator's a histogram of its samples: by the data-processing inequality the binned JSD is at most the
  JSD of the continuous distributions, so it is a lower bound up to the histogram's sampling noise. W1 is
  the exact optimal matching cost between equal numbers of real and fake samples (an estimate biased
  upwards at small n); both come with a *floor*, the same estimate for samples of the data itself.

No drawing and no widget here (those are in :mod:`course_utils.widgets`); everything is a tensor, so
it is tested directly.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn as nn

from course_utils.gan.losses import discriminator_loss, generator_loss
from course_utils.toys.ring import RingConfig, counts_near, ring_centres

DATASETS = ("ring", "two-clusters", "uneven-ring")
OPTIMIZERS = ("adam", "sgd")
LOSSES = ("non-saturating", "saturating")
RING = RingConfig()  # the ring of notebook 06: 8 modes of std 0.05 on a circle of radius 2
STD = RING.std


@dataclass(frozen=True)
class GameSettings:
    """The controls of a live game (defaults: the ring of notebook 06, D five times faster than G)."""

    data: str = "ring"
    generator_loss: str = "non-saturating"
    d_steps: int = 1
    lr_d: float = 1e-3
    lr_g: float = 2e-4
    optimizer: str = "adam"
    seed: int = 0
    batch_size: int = 256
    hidden: int = 128

    def __post_init__(self):
        problems = []
        if self.data not in DATASETS:
            problems.append(f"data={self.data!r} (use one of {', '.join(DATASETS)})")
        if self.generator_loss not in LOSSES:
            problems.append(f"generator_loss={self.generator_loss!r} (use {' or '.join(LOSSES)})")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer={self.optimizer!r} (use {' or '.join(OPTIMIZERS)})")
        if isinstance(self.d_steps, bool) or not isinstance(self.d_steps, int) or not 1 <= self.d_steps <= 5:
            problems.append(f"d_steps={self.d_steps!r} (an integer from 1 to 5)")
        for name in ("lr_d", "lr_g"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                problems.append(f"{name}={value!r} (a positive learning rate, e.g. 1e-3)")
        if int(self.batch_size) < 1 or int(self.hidden) < 1:
            problems.append(f"batch_size={self.batch_size!r}, hidden={self.hidden!r} (positive integers)")
        if problems:
            raise ValueError("GameSettings: " + "; ".join(problems))


def data_centres(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The mixture of data set ``name``: centres (K, 2) and weights (K,) summing to 1 (each mode has std STD)."""
    if name == "two-clusters":
        centres = torch.tensor([[-1.5, 0.0], [1.5, 0.0]], dtype=torch.float64)
        return centres, torch.full((2,), 0.5, dtype=torch.float64)
    if name not in ("ring", "uneven-ring"):
        raise ValueError(f"unknown data set {name!r}; use one of {', '.join(DATASETS)}")
    centres, k = ring_centres(RING), RING.n_modes
    weights = torch.ones(k, dtype=torch.float64) if name == "ring" else 2.0 ** -torch.arange(k, dtype=torch.float64)
    return centres, weights / weights.sum()


def sample_data(name: str, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` points of data set ``name``, float32 (n, 2)."""
    centres, weights = data_centres(name)
    k = torch.multinomial(weights, n, replacement=True, generator=generator)
    return (centres[k] + STD * torch.randn(n, 2, generator=generator, dtype=torch.float64)).float()


def modes_captured(samples: torch.Tensor, name: str, min_share: float = 0.25) -> dict:
    """Modes of data set ``name`` that ``samples`` cover: a mode is captured when the samples within 3 std of
    its centre are at least ``min_share`` of the mode's own share of the data (its weight; on the even ring,
    a quarter of 1/8, the rule of :mod:`course_utils.toys.ring`). Returns ``{"captured", "n_modes",
    "per_mode"; "shares"}``: the share of the samples within 3 std of each mode, and ``"near"``: of any."""
    centres, weights = data_centres(name)
    x = torch.as_tensor(samples, dtype=torch.float64).reshape(-1, 2)
    counts, _ = counts_near(x, centres, STD)
    n = max(len(x), 1)
    per_mode = counts.double() >= min_share * weights * n
    shares = (counts.double() / n).tolist()
    return {"captured": int(per_mode.sum()), "n_modes": len(centres), "per_mode": per_mode.tolist(),
            "shares": shares, "near": float(sum(shares))}


def data_bin_probabilities(name: str, edges: torch.Tensor) -> torch.Tensor:
    """Exact probabilities of the data's bins: ``(len(edges) - 1) ** 2`` lattice bins (row by row from the bottom
    left, x fastest) and a last entry for everything outside the lattice (float64, summing to 1)."""
    centres, weights = data_centres(name)
    e = torch.as_tensor(edges, dtype=torch.float64)
    normal = torch.distributions.Normal(torch.zeros(()), torch.ones(()))
    px = torch.diff(normal.cdf((e[None, :] - centres[:, :1]) / STD), dim=1)  # (K, B)
    py = torch.diff(normal.cdf((e[None, :] - centres[:, 1:]) / STD), dim=1)
    inside = torch.einsum("k,ky,kx->yx", weights, py, px).reshape(-1)
    return torch.cat([inside, (1 - inside.sum()).clamp_min(0).reshape(1)])


def histogram_probabilities(samples: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """The share of ``samples`` (n, 2) in each bin of :func:`data_bin_probabilities`' layout (float64)."""
    x = torch.as_tensor(samples, dtype=torch.float64).reshape(-1, 2)
    e = torch.as_tensor(edges, dtype=torch.float64)
    b = len(e) - 1
    ix = torch.bucketize(x[:, 0].contiguous(), e, right=True) - 1
    iy = torch.bucketize(x[:, 1].contiguous(), e, right=True) - 1
    inside = (ix >= 0) & (ix < b) & (iy >= 0) & (iy < b)
    index = torch.where(inside, iy * b + ix, torch.full_like(ix, b * b))
    counts = torch.bincount(index, minlength=b * b + 1).double()
    return counts / max(len(x), 1)


def binned_jsd(p: torch.Tensor, q: torch.Tensor) -> float:
    """JSD(p, q) in nats of two discrete distributions on the same bins (0 <= JSD <= log 2)."""
    p, q = torch.as_tensor(p, dtype=torch.float64), torch.as_tensor(q, dtype=torch.float64)
    m = 0.5 * (p + q)

    def kl(a):
        keep = a > 0
        return float((a[keep] * (a[keep].log() - m[keep].log())).sum())

    return max(0.0, 0.5 * kl(p) + 0.5 * kl(q))


def w1_matched(a: torch.Tensor, b: torch.Tensor) -> float:
    """W1 between the empirical distributions of two equal-size point sets (n, 2): the mean Euclidean
    distance of the optimal one-to-one matching (exact, by the Hungarian algorithm)."""
    from scipy.optimize import linear_sum_assignment

    a = torch.as_tensor(a, dtype=torch.float64).reshape(-1, 2)
    b = torch.as_tensor(b, dtype=torch.float64).reshape(-1, 2)
    if len(a) != len(b) or len(a) == 0:
        raise ValueError(f"w1_matched needs two non-empty sets of the same size, got {len(a)} and {len(b)} points")
    cost = torch.cdist(a, b).numpy()
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, n_out))


class LiveGame:
    """A 2-D GAN (noise z ~ N(0, I_2), two small MLPs) played a step at a time.

    ``n_show`` real and fake samples are drawn each frame (the fakes from fixed noise, so a frame shows
    how G moved); D's output is evaluated on a ``grid`` x ``grid`` lattice over ``[-extent, extent]^2``.
    """

    n_jsd: int = 2048  # generator samples in the JSD's histogram
    n_w1: int = 128  # real and fake samples (the first of those drawn) matched for W1
    jsd_bins: int = 24  # bins per axis of the JSD's lattice (over the drawn plane)

    def __init__(self, settings: GameSettings | None = None, n_show: int = 256, grid: int = 48,
                 extent: float = 3.0):
        self.settings = settings if settings is not None else GameSettings()
        self.n_show, self.grid_size, self.extent = int(n_show), int(grid), float(extent)
        self.edges = torch.linspace(-self.extent, self.extent, self.jsd_bins + 1, dtype=torch.float64)
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """The seed's initial state: networks, optimisers, random generators, step 0, no history."""
        s = self.settings
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(s.seed)
            self.generator = _mlp(2, s.hidden, 2)
            self.discriminator = _mlp(2, s.hidden, 1)
        self.rng = torch.Generator().manual_seed(s.seed + 1)
        shown = torch.Generator().manual_seed(s.seed + 2)
        self.fixed_noise = torch.randn(self.n_show, 2, generator=shown)
        self.real_shown = sample_data(s.data, self.n_show, shown)
        self.jsd_noise = torch.randn(self.n_jsd, 2, generator=shown)
        self.data_bins = data_bin_probabilities(s.data, self.edges)
        # the estimators' floors: the same estimates for samples of the data itself
        data_for_jsd = sample_data(s.data, self.n_jsd, shown)
        data_for_w1 = sample_data(s.data, self.n_show, shown)[:self.n_w1]
        self.floors = {"jsd": binned_jsd(self.data_bins, histogram_probabilities(data_for_jsd, self.edges)),
                       "w1": w1_matched(self.real_shown[:self.n_w1], data_for_w1)}
        self._make_optimizers()
        self.steps = 0
        self.history: list[dict] = []
        self.metrics: list[dict] = []

    def _make_optimizers(self) -> None:
        s = self.settings

        def make(params, lr):
            if s.optimizer == "adam":
                return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))
            return torch.optim.SGD(params, lr=lr)

        self.opt_g = make(self.generator.parameters(), s.lr_g)
        self.opt_d = make(self.discriminator.parameters(), s.lr_d)

    def update(self, **changes) -> GameSettings:
        """Change controls from the next step: the loss, D steps and learning rates at once, a new optimiser
        with fresh state; a new seed, data set or width takes effect at :meth:`reset` (which it calls)."""
        new = replace(self.settings, **changes)  # validates
        old, self.settings = self.settings, new
        if (new.seed, new.data, new.hidden) != (old.seed, old.data, old.hidden):
            self.reset()
        elif new.optimizer != old.optimizer:
            self._make_optimizers()
        else:
            for group in self.opt_d.param_groups:
                group["lr"] = new.lr_d
            for group in self.opt_g.param_groups:
                group["lr"] = new.lr_g
        return new

    # ------------------------------------------------------------------ playing
    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.settings
        return (sample_data(s.data, s.batch_size, self.rng),
                torch.randn(s.batch_size, 2, generator=self.rng))

    def step(self, n: int = 1) -> None:
        """``n`` rounds of: ``d_steps`` discriminator updates (each on a fresh real batch and fresh fakes),
        then one generator update on fresh noise, with the course's GAN losses."""
        s = self.settings
        d, g = self.discriminator, self.generator
        for _ in range(int(n)):
            for _ in range(s.d_steps):
                real, z = self._batch()
                with torch.no_grad():
                    fake = g(z)
                d_loss = discriminator_loss(d(real).squeeze(-1), d(fake).squeeze(-1))
                self.opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                self.opt_d.step()
            z = torch.randn(s.batch_size, 2, generator=self.rng)
            d.requires_grad_(False)
            g_loss = generator_loss(d(g(z)).squeeze(-1), s.generator_loss)
            self.opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            self.opt_g.step()
            d.requires_grad_(True)
            self.steps += 1
            self.history.append({"step": self.steps, "d_loss": d_loss.item(), "g_loss": g_loss.item()})

    # ------------------------------------------------------------------ what is drawn
    def grid_points(self) -> torch.Tensor:
        """The lattice D is drawn on: (grid * grid, 2), row by row from the bottom left."""
        axis = torch.linspace(-self.extent, self.extent, self.grid_size)
        yy, xx = torch.meshgrid(axis, axis, indexing="ij")
        return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)

    def loss_directions(self, fake: torch.Tensor) -> torch.Tensor:
        """For each fake sample, ``-grad_x`` of its own generator loss (the active kind) at x: the direction
        G's update pushes it (its length shows how hard; the saturating loss's vanishes where D(x) -> 0)."""
        x = fake.detach().clone().requires_grad_(True)
        logits = self.discriminator(x).squeeze(-1)
        per_sample = generator_loss(logits, self.settings.generator_loss) * len(x)  # each sample's own loss
        (grad,) = torch.autograd.grad(per_sample, x)
        return -grad

    def latent_lines(self, n_lines: int = 9, n_points: int = 41, span: float = 2.5) -> torch.Tensor:
        """The generator's image of a latent grid: (2 * n_lines, n_points, 2), lines of constant z1, then z2."""
        t = torch.linspace(-span, span, n_points)
        levels = torch.linspace(-span, span, n_lines)
        lines = [torch.stack([torch.full_like(t, v), t], 1) for v in levels]
        lines += [torch.stack([t, torch.full_like(t, v)], 1) for v in levels]
        with torch.no_grad():
            return self.generator(torch.stack(lines).reshape(-1, 2)).reshape(2 * n_lines, n_points, 2)

    def measure(self) -> dict:
        """How far G's samples are from the data now (appended to :attr:`metrics`): the binned JSD of
        ``n_jsd`` samples, W1 of the first ``n_w1`` drawn fakes against as many drawn reals, and the modes
        captured by the drawn fakes."""
        with torch.no_grad():
            fake = self.generator(self.fixed_noise)
            many = self.generator(self.jsd_noise)
        row = {"step": self.steps,
               "jsd": binned_jsd(self.data_bins, histogram_probabilities(many, self.edges)),
               "w1": w1_matched(self.real_shown[:self.n_w1], fake[:self.n_w1]),
               "captured": modes_captured(fake, self.settings.data)["captured"]}
        if self.metrics and self.metrics[-1]["step"] == self.steps:
            self.metrics[-1] = row
        else:
            self.metrics.append(row)
        return row

    def frame(self) -> dict:
        """Everything one frame draws, from the current networks (tensors, float32)."""
        with torch.no_grad():
            fake = self.generator(self.fixed_noise)
            heat = torch.sigmoid(self.discriminator(self.grid_points()).squeeze(-1))
        return {"step": self.steps, "settings": asdict(self.settings), "real": self.real_shown, "fake": fake,
                "heat": heat.reshape(self.grid_size, self.grid_size), "arrows": self.loss_directions(fake),
                "latent_lines": self.latent_lines(), "history": list(self.history),
                "modes": modes_captured(fake, self.settings.data), "metrics": list(self.metrics),
                "floors": dict(self.floors)}
