"""The linear-Gaussian latent variable model, where everything is exact (notebooks 01, 02 and 04).

``z ~ N(0, I_d)``, ``x = W z + b + noise`` with ``noise ~ N(0, diag(noise_std^2))``:
factor analysis, or probabilistic PCA when the noise is isotropic. Its log p(x),
posterior p(z|x), ELBO and posterior gap have closed forms, so the course checks its
Monte Carlo estimators (:mod:`course_utils.vae.estimators`) and its ELBO algebra
against the truth here. Fitting PPCA to images is :mod:`course_utils.toys.ppca`; the
ELBO-gap tables of notebook 04 are :mod:`course_utils.toys.elbo_gap`.
"""
from __future__ import annotations

import math

import torch

from course_utils.vae.losses import gaussian_log_density, kl_std_normal


class LinearGaussian:
    """A linear-Gaussian latent variable model with everything in closed form.

    ``z ~ N(0, I_d)``, ``x | z ~ N(W z + b, diag(noise_std^2))``: factor analysis,
    or probabilistic PCA when the noise is the same in every dimension. Then

    - ``p(x) = N(b, W W^T + Psi)`` (exact :meth:`log_px`),
    - ``p(z|x) = N(S W^T Psi^-1 (x - b), S)`` with ``S = (I + W^T Psi^-1 W)^-1`` (:meth:`posterior`),
    - the ELBO and ``KL(q || p(z|x))`` of a diagonal Gaussian q (:meth:`elbo`, :meth:`kl_to_posterior`),

    so Monte Carlo estimates can be checked against the truth. ``Psi = diag(noise_std^2)``.

    Args:
        W: (D, d) loading matrix. b: (D,) offset. noise_std: a float or a (D,) tensor.
    """

    def __init__(self, W: torch.Tensor, b: torch.Tensor | None = None, noise_std=1.0):
        if W.ndim != 2:
            raise ValueError(f"W must be a (D, d) matrix, got shape {tuple(W.shape)}")
        self.W = W
        self.x_dim, self.z_dim = W.shape
        self.b = torch.zeros(self.x_dim, dtype=W.dtype) if b is None else b.to(W.dtype)
        self.noise_std = torch.as_tensor(noise_std, dtype=W.dtype).expand(self.x_dim).clone()
        if not (self.noise_std > 0).all():
            raise ValueError("noise_std must be positive")
        psi_inv = self.noise_std ** -2
        self.posterior_precision = torch.eye(self.z_dim, dtype=W.dtype) + (W.T * psi_inv) @ W
        self.posterior_cov = torch.linalg.inv(self.posterior_precision)

    @classmethod
    def random(cls, x_dim: int, z_dim: int, noise_std: float = 0.5, scale: float = 1.0,
               seed: int = 0, dtype=torch.float64) -> LinearGaussian:
        """A model with random loadings ``W ~ scale * N(0, 1)`` and offset ``b ~ N(0, 1)``, seeded."""
        g = torch.Generator().manual_seed(seed)
        W = scale * torch.randn(x_dim, z_dim, generator=g, dtype=dtype)
        b = torch.randn(x_dim, generator=g, dtype=dtype)
        return cls(W, b, noise_std)

    def __repr__(self) -> str:
        return f"LinearGaussian(x_dim={self.x_dim}, z_dim={self.z_dim})"

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Ancestral sampling: return ``(x, z)`` with x (n, D) and z (n, d)."""
        z = torch.randn(n, self.z_dim, generator=generator, dtype=self.W.dtype)
        noise = torch.randn(n, self.x_dim, generator=generator, dtype=self.W.dtype)
        return z @ self.W.T + self.b + noise * self.noise_std, z

    def log_px_given_z(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x|z) for x (N, D) and z (..., N, d): shape (..., N). Pass it to the estimators."""
        return gaussian_log_density(x, z @ self.W.T + self.b, self.noise_std)

    def log_px(self, x: torch.Tensor) -> torch.Tensor:
        """The exact log p(x) = log N(x; b, W W^T + Psi), shape (N,)."""
        cov = self.W @ self.W.T + torch.diag(self.noise_std ** 2)
        return torch.distributions.MultivariateNormal(self.b, covariance_matrix=cov).log_prob(x)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The exact posterior p(z|x): its means (N, d) and its covariance (d, d), the same for every x."""
        mean = ((x - self.b) * self.noise_std ** -2) @ self.W @ self.posterior_cov
        return mean, self.posterior_cov

    def best_diagonal_q(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The diagonal Gaussian q closest to the posterior in KL(q || p(z|x)): ``(mu, sigma)``, each (N, d).

        Its mean is the posterior mean and its variances are ``1 / diag(precision)``:
        smaller than the posterior's marginal variances when the latents are correlated.
        """
        mean, _ = self.posterior(x)
        sigma = torch.diagonal(self.posterior_precision).rsqrt().expand_as(mean)
        return mean, sigma

    def elbo(self, x: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """The exact ELBO ``E_q[log p(x|z)] - KL(q || p(z))`` of q = N(mu, diag(sigma^2)), shape (N,)."""
        psi = self.noise_std ** 2
        resid = x - mu @ self.W.T - self.b
        spread = (sigma ** 2) @ (self.W ** 2).T  # E_q of the variance that z adds to each x_i
        expected_ll = -0.5 * (torch.log(2 * math.pi * psi) + (resid ** 2 + spread) / psi).sum(-1)
        return expected_ll - kl_std_normal(mu, sigma)

    def kl_to_posterior(self, x: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """``KL(q(z) || p(z|x))`` for q = N(mu, diag(sigma^2)), exact, shape (N,): the gap log p(x) - ELBO."""
        mean, _ = self.posterior(x)
        prec = self.posterior_precision
        diff = mean - mu
        trace = (torch.diagonal(prec) * sigma ** 2).sum(-1)
        maha = ((diff @ prec) * diff).sum(-1)
        logdet_cov = -torch.logdet(prec)
        return 0.5 * (trace + maha - self.z_dim + logdet_cov - 2.0 * torch.log(sigma).sum(-1))
