"""A one-dimensional GAN that trains in seconds on a CPU, and the exact quantities behind it (notebook 06).

What lives here:

- :class:`Mixture1D`, the toy data distribution: a mixture of Gaussians on the
  real line whose density is known exactly;
- the closed-form optimal discriminator ``D*(x) = p_data(x) / (p_data(x) + p_g(x))``
  (:func:`optimal_discriminator`), the value ``V(D, G)`` and the Jensen-Shannon
  divergence by numerical integration on a grid (:func:`value_on_grid`,
  :func:`jensen_shannon`), used to show Q2.3 (``D* = 1/2`` and ``V = -log 4``
  once ``p_g = p_data``) numerically;
- two tiny networks (:class:`ToyGenerator`, :class:`ToyDiscriminator`),
  :func:`fit_discriminator` (train D alone against a fixed ``p_g``) and
  :func:`train_toy_gan`, which alternates D and G steps with the *same* loss
  functions as the real GAN (:mod:`course_utils.gan.losses`) and keeps
  snapshots (generator samples, D on a grid) to watch the game;
- :func:`game_diagnostics`: for each snapshot, what the losses cannot show -- the
  Jensen-Shannon divergence between a kernel density estimate of the generator's
  samples and ``p_data``, the value ``V(D*, G)`` the optimal discriminator would
  reach, and the value ``V(D, G)`` of the discriminator actually trained;
- :func:`disjoint_supports`: two uniform densities that do not overlap, where the JSD
  is ``log 2`` whatever their distance while the Wasserstein-1 distance grows with it.

Nothing here touches image data; the assignment's GAN is in :mod:`course_utils.gan.model`.
All logs are natural (nats).
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn

from course_utils.gan.losses import discriminator_loss, generator_loss, log_d, log_one_minus_d

LOG_4 = math.log(4.0)


# --------------------------------------------------------------------------- the data distribution

@dataclass(frozen=True)
class Mixture1D:
    """A mixture of univariate Gaussians: ``sum_k w_k N(mean_k, std_k^2)``.

    The default is the toy GAN's data: two bumps, at 2 and 5, of width 0.4 and 0.6.
    """

    means: tuple[float, ...] = (2.0, 5.0)
    stds: tuple[float, ...] = (0.4, 0.6)
    weights: tuple[float, ...] = (0.5, 0.5)

    def __post_init__(self):
        if not (len(self.means) == len(self.stds) == len(self.weights)) or not self.means:
            raise ValueError("Mixture1D needs as many means, stds and weights, at least one of each")
        if min(self.stds) <= 0 or min(self.weights) < 0 or sum(self.weights) <= 0:
            raise ValueError("Mixture1D needs positive stds and non-negative weights that do not all vanish")
        total = float(sum(self.weights))
        object.__setattr__(self, "means", tuple(float(m) for m in self.means))
        object.__setattr__(self, "stds", tuple(float(s) for s in self.stds))
        object.__setattr__(self, "weights", tuple(float(w) / total for w in self.weights))

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """``log p(x)`` elementwise (same dtype as ``x``)."""
        x = torch.as_tensor(x)
        x = x if x.is_floating_point() else x.double()
        m = torch.tensor(self.means, dtype=x.dtype)
        s = torch.tensor(self.stds, dtype=x.dtype)
        w = torch.tensor(self.weights, dtype=x.dtype)
        comp = -0.5 * ((x.unsqueeze(-1) - m) / s) ** 2 - torch.log(s) - 0.5 * math.log(2 * math.pi)
        return torch.logsumexp(comp + torch.log(w), dim=-1)

    def pdf(self, x: torch.Tensor) -> torch.Tensor:
        """``p(x)`` elementwise."""
        return self.log_prob(x).exp()

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` draws as a float32 tensor of shape (n,)."""
        w = torch.tensor(self.weights, dtype=torch.float64)
        k = torch.multinomial(w, n, replacement=True, generator=generator)
        eps = torch.randn(n, generator=generator, dtype=torch.float64)
        m = torch.tensor(self.means, dtype=torch.float64)
        s = torch.tensor(self.stds, dtype=torch.float64)
        return (m[k] + s[k] * eps).float()

    @property
    def mean(self) -> float:
        return float(sum(w * m for w, m in zip(self.weights, self.means, strict=True)))

    @property
    def std(self) -> float:
        second = sum(w * (s ** 2 + m ** 2) for w, m, s in zip(self.weights, self.means, self.stds, strict=True))
        return math.sqrt(second - self.mean ** 2)


def default_grid(lo: float = -3.0, hi: float = 9.0, n: int = 1201) -> torch.Tensor:
    """An evenly spaced float64 grid for integrals and plots of the toy problem."""
    return torch.linspace(lo, hi, n, dtype=torch.float64)


def TOY_GRID() -> torch.Tensor:  # noqa: N802  (a constant, built fresh so callers cannot modify a shared one)
    """The grid a toy run keeps D on (and its diagnostics integrate over): [-4, 11], step 0.01.

    Wide enough that the generator's samples, which overshoot the data early in training,
    stay inside it (see ``mass`` in :func:`game_diagnostics`).
    """
    return default_grid(-4.0, 11.0, 1501)


# --------------------------------------------------------------------------- exact quantities on a grid

def optimal_discriminator(p_data: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
    """``D*(x) = p_data(x) / (p_data(x) + p_g(x))`` from two densities on the same points.

    Where both densities vanish D* is not determined (it does not enter V); 1/2 is returned there.
    """
    total = p_data + p_g
    return torch.where(total > 0, p_data / total.clamp_min(1e-300), torch.full_like(total, 0.5))


def _trapezoid(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.trapezoid(y, x)


def value_on_grid(x: torch.Tensor, p_data: torch.Tensor, p_g: torch.Tensor, d: torch.Tensor) -> float:
    """``V(D, G) = ∫ p_data log D + p_g log(1 - D) dx`` by the trapezoid rule on the grid ``x``.

    ``d`` are the discriminator's probabilities at ``x``. Terms with zero density
    contribute 0 (the convention ``0 log 0 = 0``), and ``D`` and ``1 - D`` are floored at
    1e-300 inside the logs, so a D that rounds to 0 or 1 only where the density is
    negligible (as D* does in the far tails) does not turn V into ``-inf``.
    """
    d = d.to(torch.float64).clamp(0.0, 1.0)
    tiny = 1e-300
    a = torch.where(p_data > 0, p_data * torch.log(d.clamp_min(tiny)), torch.zeros_like(d))
    b = torch.where(p_g > 0, p_g * torch.log((1.0 - d).clamp_min(tiny)), torch.zeros_like(d))
    return float(_trapezoid(a + b, x))


def mean_distance_from_half(x: torch.Tensor, p_data: torch.Tensor, p_g: torch.Tensor, d: torch.Tensor) -> float:
    """``∫ m(x) |D(x) - 1/2| dx`` with ``m = (p_data + p_g)/2``: how far D is from a coin flip.

    The weight ``m`` counts the places where the data and the fakes are.

    0 exactly when D = 1/2 wherever either density has mass; at most 1/2.
    """
    m = 0.5 * (p_data + p_g)
    return float(_trapezoid(m * (d.to(torch.float64) - 0.5).abs(), x))


def kl_on_grid(x: torch.Tensor, p: torch.Tensor, q: torch.Tensor) -> float:
    """``KL(p || q) = ∫ p log(p / q) dx`` by the trapezoid rule (0 log 0 = 0)."""
    ratio = torch.where(p > 0, p * (torch.log(p.clamp_min(1e-300)) - torch.log(q.clamp_min(1e-300))),
                        torch.zeros_like(p))
    return float(_trapezoid(ratio, x))


def jensen_shannon(x: torch.Tensor, p: torch.Tensor, q: torch.Tensor) -> float:
    """``JSD(p, q) = KL(p || m)/2 + KL(q || m)/2`` with ``m = (p + q)/2``, in nats (at most log 2)."""
    m = 0.5 * (p + q)
    return 0.5 * kl_on_grid(x, p, m) + 0.5 * kl_on_grid(x, q, m)


def normal_pdf(x: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """The N(mean, std^2) density at ``x``."""
    return torch.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


#: bytes of one float64 temporary in :func:`kde` (a block of grid points against all samples)
KDE_BLOCK_BYTES = 16 * 2**20


def kde(samples: torch.Tensor, x: torch.Tensor, bandwidth: float | None = None) -> torch.Tensor:
    """A Gaussian kernel density estimate of ``samples`` at ``x`` (Silverman's bandwidth by default).

    Silverman's rule ``1.06 std n^(-1/5)`` assumes a roughly Gaussian shape; for a bimodal
    density it over-smooths a little (see :func:`kde_floor` for what that costs the JSD).
    """
    s = samples.detach().to(torch.float64).flatten()
    if bandwidth is None:
        spread = float(s.std()) if len(s) > 1 else 1.0
        bandwidth = max(1.06 * spread * len(s) ** (-1 / 5), 1e-2)
    # a block of grid points at a time: all 20 001 points against 2 000 samples would be 320 MB a temporary
    flat = x.reshape(-1)
    rows = max(1, KDE_BLOCK_BYTES // (8 * max(len(s), 1)))
    out = torch.cat([normal_pdf(flat[i:i + rows].unsqueeze(-1), s, bandwidth).mean(-1)
                     for i in range(0, len(flat), rows)]) if len(flat) else flat.to(torch.float64)
    return out.reshape(x.shape)


def kde_floor(data: Mixture1D, n: int, x: torch.Tensor, seed: int = 0) -> float:
    """JSD between ``p_data`` and a KDE of ``n`` samples of ``p_data`` itself: the estimate for a perfect G."""
    return jensen_shannon(x, data.pdf(x), kde(data.sample(n, torch.Generator().manual_seed(seed)), x))


# --------------------------------------------------------------------------- the networks

@dataclass(frozen=True)
class ToyConfig:
    """Every setting of a toy GAN run (defaults train in a few seconds on one CPU core).

    Attributes:
        data: the data distribution.
        noise_dim: size of the noise z ~ N(0, I).
        hidden: width of the two hidden layers of both networks.
        lr_d, lr_g: learning rates of the discriminator and the generator.
        betas: Adam's (beta1, beta2) for both (beta1 = 0.5, as for the real GAN).
        g_optimizer: ``"adam"`` or ``"sgd"`` for the generator. Plain gradient descent
            moves G by a step proportional to its gradient, so a vanishing gradient
            (the saturating loss, Q2.4) stalls it; Adam divides the step by a running
            gradient scale, which hides part of that effect.
        batch_size: real samples per step (and as many fakes).
        steps: alternating (D step, G step) updates.
        generator_loss: ``"non-saturating"`` or ``"saturating"`` (see :mod:`course_utils.gan.losses`).
        g_offset: added to the generator's output, so it starts centred here
            (0: left of the data, where the discriminator quickly rejects it).
        d_warmup: steps that train the discriminator alone before the game starts, as if
            it had learned to reject the generator's first attempts (0: none).
        d_steps: discriminator updates per generator update (1: alternate one and one); the
            extra ones come first, each on fresh real points and fresh fakes.
        seed: seeds both networks, the data and the noise.
        snapshot_every: keep samples and D on the grid every this many steps (and at 0).
        n_snapshot: generator samples kept per snapshot.
    """

    data: Mixture1D = field(default_factory=Mixture1D)
    noise_dim: int = 4
    hidden: int = 32
    lr_d: float = 1e-3
    lr_g: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)
    g_optimizer: str = "adam"
    batch_size: int = 256
    steps: int = 1500
    generator_loss: str = "non-saturating"
    g_offset: float = 0.0
    d_warmup: int = 0
    d_steps: int = 1
    seed: int = 0
    snapshot_every: int = 50
    n_snapshot: int = 2000

    def __post_init__(self):
        if self.generator_loss not in ("non-saturating", "saturating"):
            raise ValueError(f"generator_loss must be 'non-saturating' or 'saturating', got {self.generator_loss!r}")
        if self.g_optimizer not in ("adam", "sgd"):
            raise ValueError(f"g_optimizer must be 'adam' or 'sgd', got {self.g_optimizer!r}")
        if self.d_warmup < 0:
            raise ValueError(f"d_warmup must be >= 0, got {self.d_warmup}")
        if isinstance(self.d_steps, bool) or not isinstance(self.d_steps, int) or self.d_steps < 1:
            raise ValueError(f"d_steps must be an integer >= 1 (D updates per G update), got {self.d_steps!r}")
        if self.steps < 0 or self.batch_size < 1 or self.snapshot_every < 1 or self.hidden < 1:
            raise ValueError("steps >= 0, batch_size >= 1, hidden >= 1 and snapshot_every >= 1 are required")
        if not (self.lr_d > 0 and self.lr_g > 0):
            raise ValueError("learning rates must be positive")
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))

    def to_dict(self) -> dict:
        return asdict(self)


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
                         nn.LeakyReLU(0.2), nn.Linear(hidden, n_out))


class ToyGenerator(nn.Module):
    """G: noise (N, noise_dim) -> points on the real line (N,); an MLP plus a fixed offset."""

    def __init__(self, noise_dim: int = 4, hidden: int = 32, offset: float = 0.0):
        super().__init__()
        self.noise_dim, self.offset = noise_dim, float(offset)
        self.net = _mlp(noise_dim, hidden, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).squeeze(-1) + self.offset


class ToyDiscriminator(nn.Module):
    """D: points (N,) -> logits (N,); ``sigmoid(logit)`` is the probability that x is real."""

    def __init__(self, hidden: int = 32):
        super().__init__()
        self.net = _mlp(1, hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.reshape(-1, 1)).squeeze(-1)

    @torch.no_grad()
    def probability(self, x: torch.Tensor) -> torch.Tensor:
        """D(x) in [0, 1] at the points ``x`` (any float dtype), as float64."""
        return torch.sigmoid(self(x.float())).double()


def build_toy_gan(config: ToyConfig) -> tuple[ToyGenerator, ToyDiscriminator]:
    """Both networks, initialised from ``config.seed`` (without touching the global random state)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        g = ToyGenerator(config.noise_dim, config.hidden, config.g_offset)
        d = ToyDiscriminator(config.hidden)
    return g, d


# --------------------------------------------------------------------------- training

@contextlib.contextmanager
def single_thread():
    """Run PyTorch on one CPU thread inside the block.

    The toy networks are so small that splitting each operation over threads costs
    more than it saves; on a busy machine it can make a step ten times slower.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class ToyRun:
    """What :func:`train_toy_gan` returns.

    ``history`` holds one dict per step: ``d_loss``, ``g_loss`` (nats),
    ``d_real`` (mean D(x)), ``d_fake`` (mean D(G(z)) before the G step) and
    ``g_grad`` (mean |d loss_G / d G(z)| over the batch: how hard the generator is pushed).
    ``snapshots`` holds, every ``config.snapshot_every`` steps (and at 0),
    ``{"step", "samples", "d"}``: generator samples for fixed noise and D on ``grid``.
    """

    config: ToyConfig
    generator: ToyGenerator
    discriminator: ToyDiscriminator
    grid: torch.Tensor
    history: list[dict] = field(default_factory=list)
    snapshots: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def column(self, key: str) -> torch.Tensor:
        return torch.tensor([h[key] for h in self.history], dtype=torch.float64)

    @property
    def final(self) -> dict:
        return self.snapshots[-1]


def _snapshot(step: int, g: ToyGenerator, d: ToyDiscriminator, noise: torch.Tensor, grid: torch.Tensor) -> dict:
    with torch.no_grad():
        return {"step": step, "samples": g(noise).double(), "d": d.probability(grid)}


def train_toy_gan(config: ToyConfig | None = None, grid: torch.Tensor | None = None) -> ToyRun:
    """Train the toy GAN of ``config``; the same seed gives the same run.

    Each step: draw a batch of real points and of noise; one Adam step on
    :func:`~course_utils.gan.losses.discriminator_loss` (fakes detached), then one
    on the chosen :func:`~course_utils.gan.losses.generator_loss` under the updated D
    (with ``d_steps`` > 1, that many D updates, the extra ones on fresh batches first).
    """
    config = config if config is not None else ToyConfig()
    with single_thread():
        return _train(config, TOY_GRID() if grid is None else grid)


def _train(config: ToyConfig, grid: torch.Tensor) -> ToyRun:
    g, d = build_toy_gan(config)
    if config.g_optimizer == "adam":
        opt_g = torch.optim.Adam(g.parameters(), lr=config.lr_g, betas=config.betas)
    else:
        opt_g = torch.optim.SGD(g.parameters(), lr=config.lr_g)
    opt_d = torch.optim.Adam(d.parameters(), lr=config.lr_d, betas=config.betas)
    rng = torch.Generator().manual_seed(config.seed + 1)
    noise_rng = torch.Generator().manual_seed(config.seed + 2)
    fixed_noise = torch.randn(config.n_snapshot, config.noise_dim, generator=noise_rng)
    run = ToyRun(config, g, d, grid)
    t0 = time.perf_counter()
    def d_alone(n: int) -> None:
        """``n`` discriminator updates against the current G, each on fresh real points and fresh fakes."""
        for _ in range(n):
            with torch.no_grad():
                fake = g(torch.randn(config.batch_size, config.noise_dim, generator=rng))
            d_loss = discriminator_loss(d(config.data.sample(config.batch_size, rng)), d(fake))
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()

    d_alone(config.d_warmup)  # D alone: G's first attempts are easy to reject
    run.snapshots.append(_snapshot(0, g, d, fixed_noise, grid))
    for step in range(1, config.steps + 1):
        d_alone(config.d_steps - 1)  # the extra D updates, before the step's own
        real = config.data.sample(config.batch_size, rng)
        z = torch.randn(config.batch_size, config.noise_dim, generator=rng)
        fake = g(z)
        real_logits, fake_logits = d(real), d(fake.detach())
        d_loss = discriminator_loss(real_logits, fake_logits)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()

        fake.retain_grad()
        d.requires_grad_(False)
        g_loss = generator_loss(d(fake), config.generator_loss)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        d.requires_grad_(True)
        opt_g.step()
        run.history.append({
            "d_loss": d_loss.item(), "g_loss": g_loss.item(),
            "d_real": torch.sigmoid(real_logits).mean().item(),
            "d_fake": torch.sigmoid(fake_logits).mean().item(),
            "g_grad": (fake.grad.abs().mean() * config.batch_size).item(),
        })
        if step % config.snapshot_every == 0 or step == config.steps:
            run.snapshots.append(_snapshot(step, g, d, fixed_noise, grid))
    run.seconds = time.perf_counter() - t0
    g.eval()
    d.eval()
    return run


def fit_discriminator(data: Mixture1D, fake: Mixture1D, steps: int = 1500, batch_size: int = 512,
                      hidden: int = 32, lr: float = 3e-3, seed: int = 0) -> ToyDiscriminator:
    """Train a discriminator alone, against a *fixed* generator distribution ``fake``.

    This is the inner ``max_D`` of the game; its result should approach
    :func:`optimal_discriminator` of the two densities.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        d = ToyDiscriminator(hidden)
    opt = torch.optim.Adam(d.parameters(), lr=lr)
    rng = torch.Generator().manual_seed(seed + 1)
    with single_thread():
        for _ in range(steps):
            loss = discriminator_loss(d(data.sample(batch_size, rng)), d(fake.sample(batch_size, rng)))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return d.eval()


def generator_gradients(d_of_fake: torch.Tensor) -> dict[str, torch.Tensor]:
    """Both generator losses per fake and their derivatives, as functions of ``D(G(z))`` (Q2.4).

    Returns float64 tensors: ``saturating`` = log(1 - D), ``non_saturating`` = -log D,
    their derivatives with respect to D (``dsat_dD`` = -1/(1 - D), ``dns_dD`` = -1/D) and
    with respect to the discriminator's logit a (``dsat_da`` = -D, ``dns_da`` = -(1 - D)),
    all computed with autograd through :mod:`course_utils.gan.losses`.
    The logit gradient is what flows back into the generator (times dlogit/dG(z)).
    """
    p = d_of_fake.detach().to(torch.float64)
    logits = torch.log(p) - torch.log1p(-p)
    out = {}
    for name, fn in (("saturating", lambda a: log_one_minus_d(a)), ("non_saturating", lambda a: -log_d(a))):
        a = logits.clone().requires_grad_(True)
        value = fn(a)
        (grad_a,) = torch.autograd.grad(value.sum(), a)
        short = "sat" if name == "saturating" else "ns"
        out[name] = value.detach()
        out[f"d{short}_da"] = grad_a
        out[f"d{short}_dD"] = grad_a / (p * (1 - p))  # chain rule: da/dD = 1 / (D (1 - D))
    return out


def generator_gradient_comparison(generator: nn.Module, discriminator: nn.Module, z: torch.Tensor | None = None,
                                  n: int = 4096, seed: int = 0) -> dict:
    """The two generator losses' gradients in G's parameter space, for the same ``n`` fakes and the same D.

    Per fake, the saturating loss weights the logit's gradient by ``D(G(z))``, the
    non-saturating one by ``1 - D(G(z))`` (see :func:`generator_gradients`), so the two
    parameter gradients differ in size *and*, where D varies over the fakes, in direction.
    Works for any generator/discriminator pair (the 1-D toy, the ring of :mod:`course_utils.toys.ring`);
    ``z`` defaults to ``n`` seeded draws of ``generator.noise_dim`` noise.
    Returns ``{"cosine", "norm_saturating", "norm_non_saturating", "ratio", "mean_d", "min_d", "max_d"}``
    (``ratio`` = non-saturating norm / saturating norm).
    """
    if z is None:
        z = torch.randn(n, generator.noise_dim, generator=torch.Generator().manual_seed(seed))

    def logits(x):
        return discriminator(x).reshape(len(x))

    grads = {}
    with single_thread():
        for kind in ("saturating", "non-saturating"):
            generator.zero_grad(set_to_none=True)
            generator_loss(logits(generator(z)), kind).backward()
            grads[kind] = torch.cat([p.grad.flatten() for p in generator.parameters()]).double()
            generator.zero_grad(set_to_none=True)
        discriminator.zero_grad(set_to_none=True)
        with torch.no_grad():
            d = torch.sigmoid(logits(generator(z))).double()
    s, ns = grads["saturating"], grads["non-saturating"]
    return {"cosine": float(s @ ns / (s.norm() * ns.norm())), "norm_saturating": float(s.norm()),
            "norm_non_saturating": float(ns.norm()), "ratio": float(ns.norm() / s.norm()),
            "mean_d": float(d.mean()), "min_d": float(d.min()), "max_d": float(d.max())}


# --------------------------------------------------------------------------- what the losses do not show

def game_diagnostics(run: ToyRun, smooth: int = 25) -> list[dict]:
    """For each snapshot of ``run``: how far the game really is from its equilibrium.

    ``p_g`` is a kernel density estimate (:func:`kde`) of the snapshot's generator samples on
    ``run.grid``; ``p_data`` is exact. Each entry holds

    - ``step``; ``jsd``: JSD(p_data, p_g) in nats (0 only when p_g = p_data; at most log 2);
    - ``v_star``: ``V(D*, G) = -log 4 + 2 JSD``, what the *optimal* discriminator reaches against
      this generator (its loss would be ``-v_star``);
    - ``v_trained``: ``V(D, G)`` of the discriminator the run actually trained, integrated on the
      grid against the same ``p_g`` (always <= ``v_star``: D* is the maximiser);
    - ``d_loss``: the trained D's minibatch loss, averaged over the ``smooth`` steps up to the
      snapshot (what a training log shows; about ``-v_trained``);
    - ``p_g``, ``d_star``, ``d``: the KDE, the optimal and the trained discriminator on the grid;
    - ``mass``: the KDE's mass on the grid (1 unless samples fall outside it; then the identity
      ``V(D*, G) = -log 4 + 2 JSD`` holds only up to ``(mass - 1) log 2``).
    """
    x, p = run.grid, run.config.data.pdf(run.grid)
    losses = run.column("d_loss") if run.history else torch.zeros(0, dtype=torch.float64)
    out = []
    for snap in run.snapshots:
        q = kde(snap["samples"], x)
        d_star = optimal_discriminator(p, q)
        jsd = jensen_shannon(x, p, q)
        step = snap["step"]
        recent = losses[max(0, step - smooth):step]
        out.append({"step": step, "jsd": jsd, "v_star": value_on_grid(x, p, q, d_star),
                    "v_trained": value_on_grid(x, p, q, snap["d"]),
                    "d_loss": float(recent.mean()) if len(recent) else float("nan"),
                    "p_g": q, "d_star": d_star, "d": snap["d"], "mass": float(_trapezoid(q, x))})
    return out


def snapshot_jsd(run: ToyRun) -> list[float]:
    """JSD(p_data, KDE of the samples) in nats for each snapshot of ``run`` (the middle panel of the diagnostics)."""
    p = run.config.data.pdf(run.grid)
    return [jensen_shannon(run.grid, p, kde(s["samples"], run.grid)) for s in run.snapshots]


def count_modes(density: torch.Tensor) -> int:
    """Local maxima of a density on a grid that reach at least 10% of its peak (bumps, not wiggles)."""
    y = density.to(torch.float64)
    inner = (y[1:-1] > y[:-2]) & (y[1:-1] >= y[2:]) & (y[1:-1] >= 0.1 * y.max())
    return int(inner.sum())


# --------------------------------------------------------------------------- disjoint supports

def uniform_pdf(x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """The density of U[lo, hi] at ``x``."""
    return ((x >= lo) & (x <= hi)).to(torch.float64) / (hi - lo)


def disjoint_supports(shifts, width: float = 1.0, grid: torch.Tensor | None = None) -> dict:
    """p_data = U[0, width] against p_g = U[s, s + width] for each shift ``s``: JSD and Wasserstein-1.

    Closed forms: with overlap ``o = max(0, width - |s|)``, ``JSD = (1 - o / width) log 2`` --
    ``log 2`` for every ``|s| >= width``, whatever the distance -- and ``W1 = |s|`` (moving all the
    mass by s). The JSD is also integrated on ``grid`` and W1 computed by
    :func:`scipy.stats.wasserstein_distance` on the grid's weights, as two independent checks.
    Returns lists ``shift``, ``jsd``, ``jsd_grid``, ``w1``, ``w1_scipy``.
    """
    from scipy.stats import wasserstein_distance

    shifts = [float(s) for s in shifts]
    span = max(abs(s) for s in shifts) + 2 * width
    grid = torch.linspace(-span, span, 20001, dtype=torch.float64) if grid is None else grid
    p = uniform_pdf(grid, 0.0, width)
    out = {"shift": shifts, "jsd": [], "jsd_grid": [], "w1": [], "w1_scipy": []}
    for s in shifts:
        q = uniform_pdf(grid, s, s + width)
        overlap = max(0.0, width - abs(s))
        out["jsd"].append((1 - overlap / width) * math.log(2))
        out["jsd_grid"].append(jensen_shannon(grid, p, q))
        out["w1"].append(abs(s))
        out["w1_scipy"].append(float(wasserstein_distance(grid.numpy(), grid.numpy(), p.numpy(), q.numpy())))
    return out
