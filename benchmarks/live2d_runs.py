"""Notebook 06's live 2-D GAN over several seeds: what each setting of the game does, measured, not from one run.

The predict-first questions of 06's live view (which G loss keeps all eight modes? what do five D steps per
G step change? where do the arrows point when D saturates?) are answered from this file. Each preset is
played for ``--steps`` G steps from every seed with :class:`course_utils.toys.live2d.LiveGame` (the code the
widget plays, its default sizes), and every ``--every`` steps the script records the modes captured, the
binned JSD and W1 (with their floors), and for the drawn fakes the median D(x) and the median length of
the arrow ``-grad_x`` of the G loss. One row per finished run is merged into
``benchmarks/results/live2d_runs.json`` (rewritten atomically), so an interrupted run loses nothing and a
rerun skips what is there; the summary over seeds is recomputed each time.

    python benchmarks/live2d_runs.py                       # 7 presets x 5 seeds x 3000 steps (~10 min, 1 thread)
    python benchmarks/live2d_runs.py --presets ring-ns ring-s --seeds 0 1
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from common import RESULTS, write_results  # also puts the repo root on sys.path

from course_utils.toys.live2d import GameSettings, LiveGame

NAME = "live2d_runs.json"
PRESETS = {
    "ring-ns": {},
    "ring-s": {"generator_loss": "saturating"},
    "ring-ns-k5": {"d_steps": 5},
    "ring-s-k5": {"generator_loss": "saturating", "d_steps": 5},
    "ring-ns-lr1e-2": {"lr_d": 1e-2, "lr_g": 1e-2},
    "two-clusters-ns": {"data": "two-clusters"},
    "uneven-ring-ns": {"data": "uneven-ring"},
}


def play(changes: dict, seed: int, steps: int, every: int) -> dict:
    game = LiveGame(GameSettings(seed=seed, **changes))
    t0, trace = time.perf_counter(), []
    while True:
        m = game.measure()
        fake = game.frame()["fake"]
        with torch.no_grad():
            d_fake = torch.sigmoid(game.discriminator(fake)).squeeze(-1)
        arrows = game.loss_directions(fake).norm(dim=1)
        trace.append({**m, "median_d_fake": float(d_fake.median()), "median_arrow": float(arrows.median())})
        if game.steps >= steps:
            break
        game.step(min(every, steps - game.steps))
    return {"settings": {k: v for k, v in vars(game.settings).items()}, "floors": game.floors,
            "seconds": round(time.perf_counter() - t0, 2), "trace": trace, "final": trace[-1]}


def summary(rows: list[dict]) -> dict:
    out = {}
    for preset in sorted({r["preset"] for r in rows}):
        finals = [r["final"] for r in rows if r["preset"] == preset]
        entry = {"seeds": [r["seed"] for r in rows if r["preset"] == preset],
                 "captured": [f["captured"] for f in finals]}
        for key in ("jsd", "w1", "median_d_fake", "median_arrow"):
            values = [f[key] for f in finals]
            entry[key] = {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
                          "min": min(values), "max": max(values)}
        out[preset] = entry
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", choices=sorted(PRESETS), default=list(PRESETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--every", type=int, default=250)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    path = RESULTS / NAME
    old = json.loads(path.read_text()) if path.exists() else {}
    rows = [r for r in old.get("runs", []) if r.get("steps") == args.steps and r.get("every") == args.every]
    done = {(r["preset"], r["seed"]) for r in rows}
    for preset in args.presets:
        for seed in args.seeds:
            if (preset, seed) in done:
                continue
            row = {"preset": preset, "seed": seed, "steps": args.steps, "every": args.every,
                   **play(PRESETS[preset], seed, args.steps, args.every)}
            rows.append(row)
            f = row["final"]
            print(f"{preset:16s} seed {seed}: {f['captured']} modes, JSD {f['jsd']:.3f}, W1 {f['w1']:.3f}, "
                  f"median D(fake) {f['median_d_fake']:.3f}, median arrow {f['median_arrow']:.3f} "
                  f"({row['seconds']:.0f} s)", flush=True)
            write_results(NAME, {
                "dataset": "none",
                "dataset_note": "2-D toy data of course_utils.toys.live2d (the 8-Gaussian ring, two clusters, "
                                "a ring with uneven weights); no image data set",
                "presets": PRESETS, "steps": args.steps, "every": args.every, "threads": args.threads,
                "summary": summary(rows), "runs": rows})


if __name__ == "__main__":
    main()
