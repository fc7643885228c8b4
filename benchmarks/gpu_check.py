"""The CUDA path, checked on a GPU machine: train, evaluate, save, reload on the CPU.

    COURSE_DATA_DIR=<folder with FashionMNIST/raw/*.gz> python benchmarks/gpu_check.py

Trains the default VAE and GAN for a few epochs on ``cuda`` through the same
functions the notebooks call, then checks that (1) parameters and batches really
live on the GPU, (2) evaluation works there (the seeded CPU generators the course
uses must not break on CUDA tensors), (3) the checkpoint cache written from the GPU
is read back on the CPU with identical weights and matching scores, (4) sampling
gives images of the right shape and range. Writes benchmarks/results/cuda.json with
seconds per epoch on the GPU. Not part of the test suite: CI has no GPU.
"""
from __future__ import annotations

import argparse
import time

import torch
from common import write_results  # puts the repo root on sys.path

from course_utils.core.data import load_data
from course_utils.core.runtime import get_device
from course_utils.gan.model import GANConfig
from course_utils.gan.train import sample, train_gan
from course_utils.vae.model import VAEConfig
from course_utils.vae.train import evaluate_vae, train_vae


def same_params(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x.detach().cpu(), y.detach().cpu())
               for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vae-epochs", type=int, default=5)
    ap.add_argument("--gan-epochs", type=int, default=2)
    ap.add_argument("--dry-run-on-cpu", action="store_true", help="check the script itself on a CPU")
    args = ap.parse_args()
    dev = "cpu" if args.dry_run_on_cpu else "cuda"
    device = get_device(dev)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    out: dict = {"gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else "none (dry run)",
                 "torch": torch.__version__}

    data = load_data("fashion-mnist", pixels="dynamic")
    cfg = VAEConfig(epochs=args.vae_epochs, seed=0)
    t0 = time.perf_counter()
    vae, hist = train_vae(cfg, data, progress=False, device=dev)
    sync()
    out["vae_train_seconds"] = time.perf_counter() - t0
    out["vae_epoch_seconds"] = [round(e["seconds"], 3) for e in hist.epochs]
    assert next(vae.parameters()).device.type == device.type, "VAE parameters are not on the GPU"
    assert hist["val_elbo"][-1] > hist["val_elbo"][0], "validation ELBO did not improve on the GPU"
    gpu_scores = evaluate_vae(vae, data.test, iw_k=200, n_images=500, progress=False)
    vae_cpu, _ = train_vae(cfg, data, progress=False, device="cpu")  # must be a cache hit
    assert not next(vae_cpu.parameters()).is_cuda
    assert same_params(vae, vae_cpu), "the cached VAE differs from the trained one"
    cpu_scores = evaluate_vae(vae_cpu, data.test, iw_k=200, n_images=500, progress=False)
    out["vae_test_elbo_gpu"], out["vae_test_elbo_cpu"] = gpu_scores["elbo"], cpu_scores["elbo"]
    out["vae_iw_ll_gpu"], out["vae_iw_ll_cpu"] = gpu_scores["iw_ll"], cpu_scores["iw_ll"]
    assert abs(gpu_scores["elbo"] - cpu_scores["elbo"]) < 0.05, (gpu_scores, cpu_scores)
    assert abs(gpu_scores["iw_ll"] - cpu_scores["iw_ll"]) < 0.5, (gpu_scores, cpu_scores)
    imgs = vae.sample_prior(16)
    assert imgs.shape == (16, 784) and 0 <= imgs.min() and imgs.max() <= 1

    gdata = load_data("fashion-mnist", pixels="gray")
    gcfg = GANConfig(epochs=args.gan_epochs, seed=0)
    t0 = time.perf_counter()
    G, D, ghist = train_gan(gcfg, gdata, progress=False, device=dev)
    sync()
    out["gan_train_seconds"] = time.perf_counter() - t0
    out["gan_epoch_seconds"] = [round(e["seconds"], 3) for e in ghist.epochs]
    assert next(G.parameters()).device.type == next(D.parameters()).device.type == device.type
    x_gpu = sample(G, 64, seed=5)
    assert x_gpu.shape[0] == 64 and -1 <= x_gpu.min() and x_gpu.max() <= 1
    G_cpu, D_cpu, _ = train_gan(gcfg, gdata, progress=False, device="cpu")  # cache hit
    assert same_params(G, G_cpu) and same_params(D, D_cpu), "the cached GAN differs"
    x_cpu = sample(G_cpu, 64, seed=5)
    out["gan_sample_max_abs_diff_gpu_vs_cpu"] = (x_gpu.detach().cpu() - x_cpu.detach().cpu()).abs().max().item()
    assert out["gan_sample_max_abs_diff_gpu_vs_cpu"] < 1e-2
    out["checks"] = "all passed"
    out["dataset"] = "fashion-mnist"
    print(out)
    if args.dry_run_on_cpu:
        return
    write_results("cuda.json", {k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items()})


if __name__ == "__main__":
    main()
