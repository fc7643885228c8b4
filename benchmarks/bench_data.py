"""One pass over the training images at batch size 128: course_utils vs torchvision.

Ours: the in-memory tensor from :func:`course_utils.core.data.load_data` and
:class:`course_utils.core.batches.Batches` (with dynamic binarization, as training uses).
Baseline: ``torchvision.datasets.<MNIST|FashionMNIST>`` + ``DataLoader`` +
``transforms.ToTensor()`` (the pytorch/examples style), with the same Bernoulli
sampling applied per batch so both produce the same kind of batches.

    python benchmarks/bench_data.py [--dataset auto|mnist|fashion-mnist] [--repeats 3]

Writes benchmarks/results/data.json.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from common import write_results  # also puts the repo root on sys.path

from course_utils.core.batches import Batches
from course_utils.core.data import _TV_CLASS, _stage, load_data, locate, resolve_dataset


def one_pass(iterable) -> float:
    t0 = time.perf_counter()
    n = 0
    for batch in iterable:
        x = batch[0]
        n += len(x)
    return time.perf_counter() - t0, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default=None)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    import torchvision
    from torchvision import transforms

    name = resolve_dataset(args.dataset)
    data = load_data(name, pixels="dynamic")
    images = torch.cat([data.train.images, data.val.images])  # all 60k training images
    labels = torch.cat([data.train.labels, data.val.labels])
    ours = Batches(images, labels, batch_size=128, shuffle=True, binarize=True, seed=0)

    with tempfile.TemporaryDirectory() as tmp:
        files = locate(name)
        _stage({k: v for k, v in files.items()}, Path(tmp) / _TV_CLASS[name] / "raw")
        cls = getattr(torchvision.datasets, _TV_CLASS[name])
        ds = cls(tmp, train=True, download=False, transform=transforms.ToTensor())
        loader = torch.utils.data.DataLoader(ds, batch_size=128, shuffle=True)

        def baseline():
            for x, y in loader:
                yield torch.bernoulli(x.view(len(x), -1)), y

        ours_t, base_t = [], []
        for _ in range(args.repeats):  # interleaved so both see the same machine state
            t, n = one_pass(ours)
            ours_t.append(t)
            assert n == 60000
            t, n = one_pass(baseline())
            base_t.append(t)
            assert n == 60000
    o, b = min(ours_t), min(base_t)
    print(f"ours {o:.3f} s, torchvision DataLoader {b:.3f} s, speedup {b / o:.1f}x")
    write_results("data.json", {
        "ours_seconds": round(o, 4), "baseline_seconds": round(b, 4), "speedup": round(b / o, 1),
        "dataset": name, "repeats": args.repeats, "batch_size": 128,
        "note": "best of interleaved repeats; one pass over 60k training images incl. dynamic binarization",
    })


if __name__ == "__main__":
    main()
