"""Training precision: what "auto" resolves to, and bfloat16 training that matches float32 training."""
from __future__ import annotations

import pytest
import torch
from test_gan_train import random_data
from test_vae_train import synthetic_data

import course_utils.core.runtime as runtime
import course_utils.vae.train as vt
from course_utils.gan.model import GANConfig, build_gan
from course_utils.gan.train import gan_cache_key, make_optimizers, train_gan
from course_utils.gan.train import make_step as make_gan_step
from course_utils.vae.model import VAE, VAEConfig

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def probe_decides(monkeypatch):
    """These tests are about what "auto" resolves to, so the test command's COURSE_PRECISION pin is
    lifted here (the tests of the pin set it themselves)."""
    monkeypatch.delenv(runtime.ENV_PRECISION, raising=False)


@pytest.mark.parametrize("fixed", ["float32", "bfloat16", " BFloat16 "])
def test_course_precision_fixes_auto_without_the_probe(monkeypatch, fixed):
    import course_utils.core.precision as precision

    calls = []
    monkeypatch.setattr(runtime, "has_native_bfloat16", lambda device="cpu": True)
    monkeypatch.setattr(precision, "bfloat16_is_faster", lambda device="cpu": calls.append(device) or True)
    monkeypatch.setenv(runtime.ENV_PRECISION, fixed)
    assert runtime.training_precision("auto", "cpu") == fixed.strip().lower()
    assert calls == []  # the timing probe never ran
    assert runtime.training_precision("bfloat16", "cpu") == "bfloat16"  # an explicit setting still wins
    monkeypatch.setenv(runtime.ENV_PRECISION, "auto")  # "auto" hands the decision back to the probe
    assert runtime.training_precision("auto", "cpu") == "bfloat16" and calls == ["cpu"]


def test_a_bad_course_precision_names_the_switch_and_the_choices(monkeypatch):
    monkeypatch.setenv(runtime.ENV_PRECISION, "fp16")
    with pytest.raises(ValueError, match=r"COURSE_PRECISION='fp16'.*float32 or bfloat16"):
        runtime.training_precision("auto", "cpu")


def test_a_notebook_kernel_honours_course_precision(monkeypatch):
    """Kernels inherit the switch: a notebook started with COURSE_PRECISION=bfloat16 trains "auto" in bfloat16
    even on a CPU without bfloat16 instructions (where the probe would never pick it)."""
    from nbformat.v4 import new_code_cell, new_notebook

    from course_utils.course.headless import ROOT
    from course_utils.course.nbtools import execute

    monkeypatch.setenv(runtime.ENV_PRECISION, "bfloat16")
    nb = new_notebook(cells=[new_code_cell(
        "from course_utils.core.runtime import training_precision\nprint(training_precision('auto'))")])
    execute(nb, ROOT)
    assert nb.cells[0].outputs[0]["text"].strip() == "bfloat16"


@pytest.mark.parametrize("native, faster, expected",
                         [(True, True, "bfloat16"), (True, False, "float32"), (False, True, "float32")])
def test_auto_needs_the_hardware_and_a_faster_probe(monkeypatch, native, faster, expected):
    import course_utils.core.precision as precision

    monkeypatch.setattr(runtime, "has_native_bfloat16", lambda device="cpu": native)
    calls = []
    monkeypatch.setattr(precision, "bfloat16_is_faster", lambda device="cpu": calls.append(device) or faster)
    assert runtime.training_precision("auto", "cpu") == expected
    assert len(calls) == (1 if native else 0)  # no bfloat16 instructions: nothing to measure
    # an explicit choice is kept whatever the hardware
    assert runtime.training_precision("float32", "cpu") == "float32"
    assert runtime.training_precision("bfloat16", "cpu") == "bfloat16"


def test_the_real_bfloat16_probe_agrees_with_the_cpu():
    """has_native_bfloat16 unmocked: it agrees with the CPU's own flags and with what PyTorch reports."""
    from pathlib import Path

    native = runtime.has_native_bfloat16("cpu")
    assert isinstance(native, bool)
    reported = [getattr(torch.cpu, name)() for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
                if hasattr(torch.cpu, name)]
    assert native == any(reported)
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():  # Linux: the kernel's list of CPU features, an independent source
        flags = set(cpuinfo.read_text().split())
        assert native == bool(flags & {"avx512_bf16", "amx_bf16", "amx_tile"}), sorted(flags & {"avx512_bf16",
                                                                                              "amx_bf16", "amx_tile"})
    if not native:  # no bfloat16 instructions: "auto" is float32 without measuring anything
        assert runtime.training_precision("auto", "cpu") == "float32"
    else:  # "auto" follows this machine's probe, and bfloat16 products run here close to float32
        import course_utils.core.precision as precision

        verdict = precision.probe("cpu")
        assert verdict["bfloat16_faster"] == (verdict["speedup"] >= precision.MIN_SPEEDUP)
        assert verdict["speedup"] == round(verdict["float32_s"] / verdict["bfloat16_s"], 3)
        assert precision.bfloat16_is_faster("cpu") is verdict["bfloat16_faster"]
        assert runtime.training_precision("auto", "cpu") == ("bfloat16" if verdict["bfloat16_faster"] else "float32")
        a, b = torch.randn(64, 64), torch.randn(64, 64)
        with runtime.autocast("bfloat16", "cpu"):
            product = a @ b
        assert product.dtype == torch.bfloat16
        torch.testing.assert_close(product.float(), a @ b, rtol=0.05, atol=0.5)  # bfloat16 keeps 8 bits


def test_unknown_precision_is_a_clear_error():
    with pytest.raises(ValueError, match=r"precision must be one of .*'float32'.*got 'fp16'"):
        runtime.training_precision("fp16")
    with pytest.raises(ValueError, match="VAEConfig.precision must be one of"):
        VAEConfig(precision="half")
    with pytest.raises(ValueError, match="GANConfig.precision must be one of"):
        GANConfig(precision="float16")


def test_autocast_changes_only_the_matrix_products():
    layer = torch.nn.Linear(8, 4)
    x = torch.randn(3, 8)
    with runtime.autocast("bfloat16"):
        y = layer(x)
        s = torch.sigmoid(y.float())
    assert y.dtype == torch.bfloat16 and s.dtype == torch.float32
    with runtime.autocast("float32"):
        assert layer(x).dtype == torch.float32
    assert layer.weight.dtype == torch.float32  # the weights themselves are never cast


def _vae_step_losses(precision: str) -> tuple[float, VAE]:
    config = VAEConfig(z_dim=8, hidden=64, precision=precision)
    torch.manual_seed(0)
    model = VAE(config)
    step = vt.make_step(model, vt.make_optimizer(model, config), config, steps_per_epoch=10,
                        noise=torch.Generator().manual_seed(1))
    x = (torch.rand(32, 784, generator=torch.Generator().manual_seed(2)) < 0.3).float()
    out = step(x)
    assert out["elbo"].dtype == torch.float32  # the loss is summed in float32
    return -out["elbo"].item(), model


def test_bfloat16_vae_step_computes_the_same_loss_within_bfloat16_rounding():
    loss32, model32 = _vae_step_losses("float32")
    loss16, model16 = _vae_step_losses("bfloat16")
    # the same weights and noise: only the matrix products are rounded (bfloat16 keeps ~3 digits)
    assert loss16 == pytest.approx(loss32, rel=2e-3)
    assert loss16 != loss32  # and they really were computed in bfloat16
    for p in (*model32.parameters(), *model16.parameters()):
        assert p.dtype == torch.float32 and torch.isfinite(p).all()
    # one Adam step from the same start moves (almost) every weight the same way; Adam's first
    # step is lr * sign(gradient), so only gradients within rounding of 0 may differ in sign
    torch.manual_seed(0)
    start = VAE(VAEConfig(z_dim=8, hidden=64)).decoder_out.weight.detach()
    step32 = model32.decoder_out.weight.detach() - start
    step16 = model16.decoder_out.weight.detach() - start
    agree = (torch.sign(step32) == torch.sign(step16)).float().mean().item()
    assert agree > 0.95


def test_bfloat16_vae_training_is_deterministic_and_learns():
    data = synthetic_data()
    config = VAEConfig(z_dim=4, hidden=32, batch_size=64, epochs=3, precision="bfloat16")
    m1, h1 = vt.train_vae(config, data, use_cache=False, progress=False)
    m2, h2 = vt.train_vae(config, data, use_cache=False, progress=False)
    assert h1["val_elbo"] == h2["val_elbo"]
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values(), strict=True))
    assert h1["val_elbo"][-1] > h1["val_elbo"][0]


def test_precision_is_part_of_the_cache_key_and_recorded(monkeypatch):
    data = synthetic_data()
    base = dict(z_dim=4, hidden=32, batch_size=64, epochs=1)
    assert (vt.vae_cache_key(VAEConfig(**base, precision="float32"), data, "cpu")
            != vt.vae_cache_key(VAEConfig(**base, precision="bfloat16"), data, "cpu"))
    # "auto" on machines with and without bfloat16 are two different models, never mixed up
    monkeypatch.setattr(vt, "training_precision", lambda p, d: "float32")
    key_without = vt.vae_cache_key(VAEConfig(**base), data, "cpu")
    monkeypatch.setattr(vt, "training_precision", lambda p, d: "bfloat16")
    assert vt.vae_cache_key(VAEConfig(**base), data, "cpu") != key_without


def test_bfloat16_gan_step_matches_float32_within_rounding():
    real = torch.rand(16, 784, generator=torch.Generator().manual_seed(3)) * 2 - 1
    results = {}
    for precision in ("float32", "bfloat16"):
        config = GANConfig(generator_hidden=(32, 64), discriminator_hidden=(64, 32), batch_size=16)
        torch.manual_seed(0)
        generator, discriminator = build_gan(config)
        opt_g, opt_d = make_optimizers(generator, discriminator, config)
        step = make_gan_step(generator, discriminator, opt_g, opt_d,
                             noise_rng=torch.Generator().manual_seed(4), precision=precision)
        out = step(real)
        assert out["d_loss"].dtype == out["g_loss"].dtype == torch.float32
        assert all(p.dtype == torch.float32 for p in (*generator.parameters(), *discriminator.parameters()))
        results[precision] = out
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert results["bfloat16"][key].item() == pytest.approx(results["float32"][key].item(), rel=1e-2), key


def test_bfloat16_gan_training_is_deterministic_and_keyed_by_precision():
    data = random_data(n=128)
    config = GANConfig(generator_hidden=(32, 64), discriminator_hidden=(64, 32), batch_size=32, epochs=2,
                       precision="bfloat16")
    g1, _, h1 = train_gan(config, data, use_cache=False, progress=False)
    g2, _, h2 = train_gan(config, data, use_cache=False, progress=False)
    assert h1["d_loss"] == h2["d_loss"]
    assert all(torch.equal(a, b) for a, b in zip(g1.state_dict().values(), g2.state_dict().values(), strict=True))
    float_key = gan_cache_key(GANConfig(**{**config.to_dict(), "precision": "float32"}), data, "cpu")
    assert gan_cache_key(config, data, "cpu") != float_key


def _fake_measure(f32: float, b16: float, calls: list):
    def measure(device="cpu", steps=4, rounds=3):
        calls.append(device)
        return {"float32": [f32, f32 * 1.01, f32 * 0.99], "bfloat16": [b16, b16 * 1.01, b16 * 0.99]}
    return measure


@pytest.mark.parametrize("f32, b16, faster", [(0.010, 0.006, True), (0.010, 0.0095, False), (0.010, 0.012, False)])
def test_the_probe_picks_bfloat16_only_when_it_is_clearly_faster(monkeypatch, f32, b16, faster):
    import course_utils.core.precision as precision

    monkeypatch.setattr(precision, "_MEMO", {})
    calls: list = []
    monkeypatch.setattr(precision, "measure", _fake_measure(f32, b16, calls))
    verdict = precision.probe("cpu")
    assert verdict["bfloat16_faster"] is faster
    assert verdict["speedup"] == pytest.approx(f32 / b16, rel=1e-3)
    assert precision.bfloat16_is_faster("cpu") is faster and len(calls) == 1


def test_the_verdict_is_measured_once_per_machine_and_kept_in_the_cache(monkeypatch):
    import json

    import course_utils.core.precision as precision

    calls: list = []
    monkeypatch.setattr(precision, "_MEMO", {})
    monkeypatch.setattr(precision, "measure", _fake_measure(0.01, 0.005, calls))
    first = precision.probe("cpu")
    path = runtime.cache_dir() / "probes" / "precision.json"
    stored = json.loads(path.read_text())
    assert stored[precision.machine_key("cpu")] == first
    # a new process (empty memory) reads the file instead of measuring again
    monkeypatch.setattr(precision, "_MEMO", {})
    assert precision.probe("cpu") == first and len(calls) == 1
    # refresh measures again; another thread count is another machine key
    monkeypatch.setattr(precision, "measure", _fake_measure(0.01, 0.02, calls))
    assert precision.probe("cpu", refresh=True)["bfloat16_faster"] is False and len(calls) == 2
    assert "threads" in precision.machine_key("cpu") and precision.cpu_model() in precision.machine_key("cpu")


def test_the_real_probe_times_both_precisions(monkeypatch):
    import json

    import course_utils.core.precision as precision

    times = precision.measure("cpu", steps=1, rounds=2)
    assert set(times) == {"float32", "bfloat16"}
    assert all(len(v) == 2 and all(t > 0 for t in v) for v in times.values())
    monkeypatch.setattr(precision, "_MEMO", {})
    path = runtime.cache_dir() / "probes" / "precision.json"
    assert not path.exists()  # this test's own, empty cache: the probe below really measures
    verdict = precision.probe("cpu")
    assert isinstance(verdict["bfloat16_faster"], bool) and verdict["speedup"] > 0
    # the verdict is consistent with the times it was made from
    f32, b16 = verdict["float32_s"], verdict["bfloat16_s"]
    assert f32 > 0 and b16 > 0 and verdict["min_speedup"] == precision.MIN_SPEEDUP
    assert verdict["speedup"] == round(f32 / b16, 3)
    assert verdict["bfloat16_faster"] == (verdict["speedup"] >= precision.MIN_SPEEDUP)
    # it was written to the cache file, under this machine's key
    stored = json.loads(path.read_text())
    assert stored == {precision.machine_key("cpu"): verdict}

    # a second probe (a new process: empty memory) reads the file and measures nothing
    def no_measuring(*args, **kwargs):
        raise AssertionError("probe() measured again instead of reading the cached verdict")

    monkeypatch.setattr(precision, "measure", no_measuring)
    monkeypatch.setattr(precision, "_MEMO", {})
    assert precision.probe("cpu") == verdict
    assert precision.bfloat16_is_faster("cpu") is verdict["bfloat16_faster"]
    assert runtime.training_precision("auto", "cpu") == (
        "bfloat16" if runtime.has_native_bfloat16("cpu") and verdict["bfloat16_faster"] else "float32")
