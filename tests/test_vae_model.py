"""The VAE network: shapes, input checks, the reparameterization trick, seeding, checkpoint files."""
from __future__ import annotations

import pytest
import torch

from course_utils.core.checkpoints import CheckpointError
from course_utils.vae.losses import bernoulli_log_likelihood
from course_utils.vae.model import VAE, VAEConfig, full_config, load_vae, save_vae

pytestmark = pytest.mark.usefixtures("one_thread")


def batch(n=8, seed=0):
    return torch.bernoulli(torch.full((n, 784), 0.3), generator=torch.Generator().manual_seed(seed))


def test_config_defaults_are_the_assignments():
    c = VAEConfig()
    assert (c.z_dim, c.hidden, c.lr, c.batch_size) == (20, 500, 1e-3, 128)
    assert VAEConfig.from_dict(c.to_dict()) == c
    assert VAEConfig(epochs=10).snapshot_epochs == (0, 5, 10)
    with pytest.raises(ValueError, match="z_dim"):
        VAEConfig(z_dim=0)
    full = full_config(z_dim=2)
    # the course's recipe (issue 24: benchmarks/vae_recipes.py) on the assignment's model
    assert (full.z_dim, full.hidden, full.lr, full.batch_size, full.lr_schedule, full.lr_final, full.epochs) == (
        2, 500, 3e-3, 256, "cosine", 0.05, 90)
    with pytest.raises(ValueError, match="unknown"):
        VAEConfig.from_dict({"zdim": 3})


def test_shapes_and_ranges():
    model = VAE(VAEConfig(z_dim=5, hidden=64))
    x = batch()
    mu, sigma = model.encode(x)
    assert mu.shape == sigma.shape == (8, 5) and (sigma > 0).all()
    assert model.decode_logits(mu).shape == (8, 784)
    probs = model.decode(torch.randn(3, 8, 5))
    assert probs.shape == (3, 8, 784) and probs.min() >= 0 and probs.max() <= 1
    assert model.sample_prior(4).shape == (4, 784)
    binary = model.sample_prior(4, generator=torch.Generator().manual_seed(0), binary=True)
    assert set(binary.unique().tolist()) <= {0.0, 1.0}
    assert model.reconstruct(x).shape == (8, 784)
    n_params = sum(p.numel() for p in VAE().parameters())
    assert n_params == (784 * 500 + 500) + (500 * 40 + 40) + (20 * 500 + 500) + (500 * 784 + 784)


@pytest.mark.parametrize("bad, message", [
    (torch.rand(8, 28, 28), r"shape \(N, 784\).*flatten"),
    (torch.rand(8, 783), r"shape \(N, 784\)"),
    (torch.rand(8, 784) * 255, r"\[0, 1\]"),
    (torch.full((2, 784), float("nan")), r"\[0, 1\]"),
    (torch.randint(0, 2, (8, 784)), "float"),
])
def test_bad_inputs_get_clear_errors(bad, message):
    model = VAE(VAEConfig(z_dim=2, hidden=16))
    with pytest.raises(ValueError, match=message):
        model.encode(bad)
    with pytest.raises(ValueError, match=message):
        model.reconstruct(bad)
    with pytest.raises(ValueError, match="z must have shape"):
        model.decode(torch.zeros(3, 4))


def test_gradients_reach_the_encoder_only_through_the_reparameterized_sample():
    model = VAE(VAEConfig(z_dim=4, hidden=32))
    x = batch()
    mu, sigma = model.encode(x)
    z = model.reparameterize(mu, sigma, torch.Generator().manual_seed(1))
    (-bernoulli_log_likelihood(model.decode_logits(z), x).mean()).backward()
    for p in (model.encoder_hidden.weight, model.encoder_out.weight):
        assert p.grad is not None and p.grad.abs().sum() > 0

    model.zero_grad(set_to_none=True)
    mu, sigma = model.encode(x)
    z = torch.distributions.Normal(mu, sigma).sample()  # not reparameterized: no path back to mu, sigma
    assert not z.requires_grad
    (-bernoulli_log_likelihood(model.decode_logits(z), x).mean()).backward()
    assert model.decoder_out.weight.grad is not None  # the decoder still learns
    assert model.encoder_hidden.weight.grad is None and model.encoder_out.weight.grad is None


def test_reparameterize_has_the_right_distribution():
    mu, sigma = torch.full((200_000, 1), 2.0), torch.full((200_000, 1), 0.5)
    z = VAE.reparameterize(mu, sigma, torch.Generator().manual_seed(0))
    assert abs(z.mean().item() - 2.0) < 0.01 and abs(z.std().item() - 0.5) < 0.01


def test_same_seed_same_network_and_samples():
    a, b, c = VAE(VAEConfig(seed=3)), VAE(VAEConfig(seed=3)), VAE(VAEConfig(seed=4))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.decoder_out.weight, c.decoder_out.weight)
    s1 = a.sample_prior(5, generator=torch.Generator().manual_seed(0))
    s2 = b.sample_prior(5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(s1, s2)


def test_checkpoint_round_trip_and_wrong_architecture(tmp_path):
    model = VAE(VAEConfig(z_dim=20, hidden=64, seed=7))
    with torch.no_grad():
        model.decoder_out.bias.add_(1.0)  # not the initial weights
    path = save_vae(tmp_path / "vae.safetensors", model, note="hello")
    loaded, meta = load_vae(path)
    assert meta["note"] == "hello" and loaded.config == model.config
    x = batch()
    torch.testing.assert_close(loaded.reconstruct(x), model.reconstruct(x), rtol=0, atol=0)
    with pytest.raises(CheckpointError, match=r"z_dim: checkpoint 20 vs model 10"):
        load_vae(path, VAEConfig(z_dim=10, hidden=64))
    (tmp_path / "broken.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_vae(tmp_path / "broken.safetensors")
