"""What a lost session costs, before and after resumable checkpoints (issue 15, item 5).

For each run: train it uninterrupted from epoch 0 (what an interrupted run cost before: a
restart is the full run), then train it again, stop it after epoch ``k`` (Ctrl-C from a
hook, as a lost kernel would) and call the same function again, which resumes from the
partial checkpoint and runs only the remaining epochs. Recorded: the seconds of the full
run, of the resuming call, whether the resumed model equals the uninterrupted one bit for
bit, and the cost of one checkpoint (capture + atomic write, fsync included) against the
seconds of one epoch (training plus validation, without the checkpoint).

Runs: the VAE on notebook 05's quick-mode data (3 000 / 1 000 images), the VAE with the
default settings on the whole training set, and the GAN with the default settings on
the whole training set. Each uses a fresh temporary model cache.

    flock /tmp/cpu.lock python benchmarks/bench_resume.py      # about two minutes on 2 cores
"""
from __future__ import annotations

import dataclasses
import os
import tempfile
import time

import torch
from common import write_results  # also puts the repo root on sys.path

import course_utils.core.checkpoints as checkpoints  # noqa: E402
from course_utils.core.data import load_data  # noqa: E402
from course_utils.core.runtime import set_threads  # noqa: E402
from course_utils.gan.model import GANConfig  # noqa: E402
from course_utils.gan.train import train_gan  # noqa: E402
from course_utils.vae.model import VAEConfig  # noqa: E402
from course_utils.vae.train import train_vae  # noqa: E402

OUT = "resume.json"
STATES: list[checkpoints.RunState] = []


class RecordedRunState(checkpoints.RunState):
    """The library's RunState, remembered so its ``write_seconds`` can be read afterwards."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        STATES.append(self)


def stop_after(k):
    def hook(epoch, history):
        if epoch == k:
            raise KeyboardInterrupt
    return hook


def measure(name: str, train, k: int, epochs: int) -> dict:
    """``train(hooks)`` trains (or resumes) the run and returns ``(modules, history)``."""
    with tempfile.TemporaryDirectory() as cache:
        os.environ["COURSE_CACHE_DIR"] = cache
        STATES.clear()
        t0 = time.perf_counter()
        full_modules, full_history = train([])
        full_seconds = time.perf_counter() - t0
        writes = list(STATES[-1].write_seconds)
        for path in (checkpoints.cache_dir() / "models").iterdir():  # the finished model; partial removed
            assert not path.name.endswith(".partial.pt"), path
    with tempfile.TemporaryDirectory() as cache:
        os.environ["COURSE_CACHE_DIR"] = cache
        _, cut = train([stop_after(k)])
        assert cut.interrupted and len(cut) == k
        (partial,) = (checkpoints.cache_dir() / "models").glob("*.partial.pt")
        size = partial.stat().st_size
        t0 = time.perf_counter()
        modules, history = train([])
        resume_seconds = time.perf_counter() - t0
    same = all(torch.equal(a, b) for m1, m2 in zip(full_modules, modules, strict=True)
               for a, b in zip(m1.state_dict().values(), m2.state_dict().values(), strict=True))
    strip = lambda h: [{key: v for key, v in e.items() if key != "seconds"} for e in h.epochs]  # noqa: E731
    epoch_seconds = sum(full_history["seconds"]) / len(full_history)
    write = sum(writes) / len(writes)
    row = {
        "epochs": epochs, "interrupted_after_epoch": k,
        "before_seconds_to_finish": round(full_seconds, 3),
        "after_seconds_to_finish": round(resume_seconds, 3),
        "saved_fraction": round(1 - resume_seconds / full_seconds, 3),
        "resumed_equals_uninterrupted": same and strip(full_history) == strip(history),
        "epoch_seconds": round(epoch_seconds, 3),
        "checkpoint_write_seconds_mean": round(write, 4),
        "checkpoint_write_seconds_max": round(max(writes), 4),
        "checkpoint_over_epoch": round(write / epoch_seconds, 4),
        "checkpoint_bytes": size,
    }
    print(name, row)
    return row


def main() -> None:
    threads = set_threads()
    checkpoints.RunState = RecordedRunState  # the training modules look it up on the module
    dyn = load_data("fashion-mnist", pixels="dynamic", verbose=False)
    quick = dataclasses.replace(dyn, train=dyn.train.subset(3000), val=dyn.val.subset(1000))
    gray = load_data("fashion-mnist", pixels="gray", verbose=False)

    def vae(config, data):
        def train(hooks):
            model, history = train_vae(config, data, hooks=hooks, progress=False)
            return [model], history
        return train

    def gan(config):
        def train(hooks):
            g, d, history = train_gan(config, gray, hooks=hooks, progress=False)
            return [g, d], history
        return train

    runs = {}
    cfg = VAEConfig(z_dim=20, epochs=10, lr_schedule="cosine")
    runs["vae_quick_data"] = {"config": cfg.to_dict(), "n_train": len(quick.train),
                              **measure("vae_quick_data", vae(cfg, quick), k=7, epochs=10)}
    cfg = VAEConfig(epochs=5)
    runs["vae_full_data"] = {"config": cfg.to_dict(), "n_train": len(dyn.train),
                             **measure("vae_full_data", vae(cfg, dyn), k=3, epochs=5)}
    cfg = GANConfig(epochs=3)
    runs["gan_full_data"] = {"config": cfg.to_dict(), "n_train": len(gray.train),
                             **measure("gan_full_data", gan(cfg), k=2, epochs=3)}
    write_results(OUT, {"dataset": "fashion-mnist", "threads": threads, "runs": runs,
                        "note": "before = restart from epoch 0 (the full run); after = the call that resumes "
                                "from the partial checkpoint written after the interrupted epoch"})


if __name__ == "__main__":
    main()
