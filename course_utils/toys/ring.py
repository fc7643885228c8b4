"""Mode collapse, seen: a GAN on a 2-D mixture of 8 Gaussians on a ring, trained in seconds on a CPU (notebook 06).

What lives here:

- :class:`RingConfig`, every setting of a run (the data: ``n_modes`` Gaussians of
  standard deviation ``std`` evenly spaced on a circle of radius ``radius``; the two
  small MLPs; Adam; the generator's loss);
- :func:`ring_centres`, :func:`sample_ring`: the data;
- :func:`modes_captured`: which modes the samples cover (a mode counts as captured when at
  least ``min_share`` of its fair share of the samples lies within ``3 std`` of its centre),
  and the fraction of "high-quality" samples (within ``3 std`` of some centre);
- :func:`train_ring_gan`, which alternates D and G steps with the loss functions of the
  real GAN (:mod:`course_utils.gan.losses`) and keeps snapshots of the generator's samples
  for fixed noise, each with its modes captured.

This is the standard test bed for mode collapse (e.g. Metz et al. 2017, "Unrolled GANs";
Srivastava et al. 2017, "VEEGAN"): every mode is far from the others, so a generator that
drops one is easy to see and to count. Nothing here touches images.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn

from course_utils.gan.losses import discriminator_loss, generator_loss
from course_utils.toys.gan1d import single_thread


@dataclass(frozen=True)
class RingConfig:
    """Every setting of a ring-GAN run (the defaults train in a few seconds on one core).

    Attributes:
        n_modes, radius, std: the data, ``n_modes`` Gaussians N(c_k, std^2 I) with centres on a circle.
        noise_dim: size of the generator's noise z ~ N(0, I).
        hidden, d_layers: width of both MLPs' hidden layers (ReLU); hidden layers of D (G has two).
        lr_g, lr_d, betas: Adam for each network. The defaults let D learn five times faster
            than G, a setting in which the non-saturating generator drops modes.
        generator_loss: ``"non-saturating"`` or ``"saturating"``.
        batch_size, steps, seed: as usual; the seed sets both networks, the data and the noise.
        snapshot_every, n_snapshot: keep ``n_snapshot`` samples for fixed noise every so many steps (and at 0).
        min_share: a mode is captured when it holds at least this fraction of its fair share.
    """

    n_modes: int = 8
    radius: float = 2.0
    std: float = 0.05
    noise_dim: int = 2
    hidden: int = 128
    d_layers: int = 2
    lr_g: float = 2e-4
    lr_d: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)
    generator_loss: str = "non-saturating"
    batch_size: int = 256
    steps: int = 3000
    seed: int = 0
    snapshot_every: int = 100
    n_snapshot: int = 2000
    min_share: float = 0.25

    def __post_init__(self):
        if self.generator_loss not in ("non-saturating", "saturating"):
            raise ValueError(f"generator_loss must be 'non-saturating' or 'saturating', got {self.generator_loss!r}")
        if self.n_modes < 2 or self.radius <= 0 or self.std <= 0:
            raise ValueError("a ring needs n_modes >= 2, radius > 0 and std > 0")
        if self.steps < 0 or self.batch_size < 1 or self.snapshot_every < 1 or self.hidden < 1 or self.d_layers < 1:
            raise ValueError("steps >= 0, batch_size >= 1, snapshot_every >= 1, hidden >= 1 and d_layers >= 1 "
                             "are required")
        if not (self.lr_g > 0 and self.lr_d > 0):
            raise ValueError("learning rates must be positive")
        if not 0 < self.min_share <= 1:
            raise ValueError(f"min_share must be in (0, 1], got {self.min_share}")
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))

    def to_dict(self) -> dict:
        return asdict(self)


def ring_centres(config: RingConfig) -> torch.Tensor:
    """The ``n_modes`` centres (n_modes, 2) on the circle, the first at angle 0."""
    angle = 2 * math.pi * torch.arange(config.n_modes, dtype=torch.float64) / config.n_modes
    return config.radius * torch.stack([angle.cos(), angle.sin()], dim=1)


def sample_ring(config: RingConfig, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` points of the data distribution, float32 (n, 2); each mode equally likely."""
    k = torch.randint(0, config.n_modes, (n,), generator=generator)
    noise = torch.randn(n, 2, generator=generator, dtype=torch.float64)
    return (ring_centres(config)[k] + config.std * noise).float()


def counts_near(x: torch.Tensor, centres: torch.Tensor, std: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Samples ``x`` (N, 2, float64) within ``3 std`` of their nearest centre, counted per centre: ``(counts
    (K,), good (N,) bools)``."""
    nearest = torch.cdist(x, centres).min(dim=1)
    good = nearest.values < 3 * std
    return torch.bincount(nearest.indices[good], minlength=len(centres)), good


def modes_captured(samples: torch.Tensor, config: RingConfig) -> dict:
    """Which modes ``samples`` (N, 2) cover.

    Each sample within ``3 std`` of a centre is assigned to it ("high quality"); a mode is
    captured when it holds at least ``min_share / n_modes`` of all samples. Returns
    ``{"captured": int, "per_mode": list of bools, "counts": list of ints, "high_quality": float}``.
    """
    x = torch.as_tensor(samples, dtype=torch.float64).reshape(-1, 2)
    counts, good = counts_near(x, ring_centres(config), config.std)
    per_mode = counts >= config.min_share * len(x) / config.n_modes
    return {"captured": int(per_mode.sum()), "per_mode": per_mode.tolist(), "counts": counts.tolist(),
            "high_quality": float(good.double().mean()) if len(x) else 0.0}


def _mlp(n_in: int, hidden: int, n_out: int, layers: int) -> nn.Sequential:
    mods: list[nn.Module] = [nn.Linear(n_in, hidden), nn.ReLU()]
    for _ in range(layers - 1):
        mods += [nn.Linear(hidden, hidden), nn.ReLU()]
    return nn.Sequential(*mods, nn.Linear(hidden, n_out))


@dataclass
class RingRun:
    """What :func:`train_ring_gan` returns: the networks, per-step losses and the snapshots.

    ``snapshots``: one ``{"step", "samples" (n_snapshot, 2), "captured", "per_mode", "high_quality"}``
    every ``config.snapshot_every`` steps and at 0. ``history``: per step ``d_loss``, ``g_loss``.
    """

    config: RingConfig
    generator: nn.Module
    discriminator: nn.Module
    snapshots: list[dict] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def final(self) -> dict:
        return self.snapshots[-1]

    def captured(self) -> list[int]:
        """Modes captured at each snapshot."""
        return [s["captured"] for s in self.snapshots]


def train_ring_gan(config: RingConfig | None = None) -> RingRun:
    """Train the ring GAN of ``config`` on one CPU thread; the same config gives the same run."""
    config = config if config is not None else RingConfig()
    with single_thread(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        g = _mlp(config.noise_dim, config.hidden, 2, 2)
        d = _mlp(2, config.hidden, 1, config.d_layers)
        opt_g = torch.optim.Adam(g.parameters(), lr=config.lr_g, betas=config.betas)
        opt_d = torch.optim.Adam(d.parameters(), lr=config.lr_d, betas=config.betas)
        rng = torch.Generator().manual_seed(config.seed + 1)
        noise_rng = torch.Generator().manual_seed(config.seed + 2)
        fixed = torch.randn(config.n_snapshot, config.noise_dim, generator=noise_rng)
        run = RingRun(config, g, d)

        def snapshot(step: int) -> None:
            with torch.no_grad():
                samples = g(fixed).double()
            run.snapshots.append({"step": step, "samples": samples, **modes_captured(samples, config)})

        t0 = time.perf_counter()
        snapshot(0)
        for step in range(1, config.steps + 1):
            real = sample_ring(config, config.batch_size, rng)
            fake = g(torch.randn(config.batch_size, config.noise_dim, generator=rng))
            d_loss = discriminator_loss(d(real).squeeze(-1), d(fake.detach()).squeeze(-1))
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            d.requires_grad_(False)
            g_loss = generator_loss(d(fake).squeeze(-1), config.generator_loss)
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            d.requires_grad_(True)
            run.history.append({"d_loss": d_loss.item(), "g_loss": g_loss.item()})
            if step % config.snapshot_every == 0 or step == config.steps:
                snapshot(step)
        run.seconds = time.perf_counter() - t0
    return run
