"""Notebook 06's games over several seeds: what each setting does, measured, not from one run.

The predict-first questions of 06's live 2-D view (how many modes does each G loss keep? what do five D
steps per G step change? two clusters?) and the stalled 1-D game's "would more D steps help?" are answered
from this file.

- 2-D presets (``ring-*``, ``two-clusters-*``, ``uneven-ring-*``): played for ``--steps`` G steps from every
  seed with :class:`course_utils.toys.live2d.LiveGame` (the code the widget plays, its default sizes);
  every ``--every`` steps the script records the modes captured, the share of the drawn fakes within
  3 std of each mode, the binned JSD and W1 (with their floors), the median D(x) of the drawn fakes and
  the median length of their arrows ``-grad_x`` of the G loss.
- 1-D presets (``toy1d-*``): notebook 06's toy GAN (:func:`course_utils.toys.gan1d.train_toy_gan`, the
  notebook's ``ToyConfig(seed, steps=1500)``) with 1 or 5 D steps per G step; recorded: the final
  JSD(p_data, KDE of p_g), the KDE floor and p_g's mass in the gap [3, 4] between the data's bumps.

One row per finished run is merged into ``benchmarks/results/live2d_runs.json`` (rewritten atomically), so
an interrupted run loses nothing and a rerun skips what is there; the summary over seeds is recomputed each
time.

    python benchmarks/live2d_runs.py                       # every preset x 5 seeds (~15 min, 1 thread)
    python benchmarks/live2d_runs.py --presets ring-ns ring-s --seeds 0 1
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import asdict

import torch
from common import RESULTS, write_results  # also puts the repo root on sys.path

from course_utils.toys.gan1d import ToyConfig, game_diagnostics, kde_floor, train_toy_gan
from course_utils.toys.live2d import GameSettings, LiveGame

NAME = "live2d_runs.json"
PRESETS = {
    "ring-ns": {},
    "ring-s": {"generator_loss": "saturating"},
    "ring-ns-k5": {"d_steps": 5},
    "ring-s-k5": {"generator_loss": "saturating", "d_steps": 5},
    "ring-ns-lr1e-2": {"lr_d": 1e-2, "lr_g": 1e-2},
    "ring-s-lr1e-2": {"generator_loss": "saturating", "lr_d": 1e-2, "lr_g": 1e-2},
    "two-clusters-ns": {"data": "two-clusters"},
    "uneven-ring-ns": {"data": "uneven-ring"},
    "toy1d-k1": {"d_steps": 1},
    "toy1d-k5": {"d_steps": 5},
}
TOY_STEPS = 1500  # notebook 06's full-mode TOY_STEPS


def play(changes: dict, seed: int, steps: int, every: int) -> dict:
    game = LiveGame(GameSettings(seed=seed, **changes))
    t0, trace = time.perf_counter(), []
    while True:
        m = game.measure()
        frame = game.frame()  # the drawn fakes, their arrows and the modes they cover
        with torch.no_grad():
            d_fake = torch.sigmoid(game.discriminator(frame["fake"])).squeeze(-1)
        arrows = frame["arrows"].norm(dim=1)
        trace.append({**m, "median_d_fake": float(d_fake.median()), "median_arrow": float(arrows.median()),
                      "near": frame["modes"]["near"], "shares": frame["modes"]["shares"]})
        if game.steps >= steps:
            break
        game.step(min(every, steps - game.steps))
    return {"settings": asdict(game.settings), "floors": game.floors,
            "seconds": round(time.perf_counter() - t0, 2), "trace": trace, "final": trace[-1]}


def play_toy1d(changes: dict, seed: int) -> dict:
    t0 = time.perf_counter()
    run = train_toy_gan(ToyConfig(seed=seed, steps=TOY_STEPS, **changes))
    last = game_diagnostics(run)[-1]
    gap = ((run.grid >= 3) & (run.grid <= 4)).double()
    return {"settings": {"seed": seed, "steps": TOY_STEPS, **changes}, "seconds": round(time.perf_counter() - t0, 2),
            "final": {"jsd": last["jsd"], "kde_floor": kde_floor(run.config.data, run.config.n_snapshot, run.grid),
                      "gap_mass_p_g": float(torch.trapezoid(last["p_g"] * gap, run.grid)),
                      "gap_mass_p_data": float(torch.trapezoid(run.config.data.pdf(run.grid) * gap, run.grid))}}


def summary(rows: list[dict]) -> dict:
    out = {}
    for preset in sorted({r["preset"] for r in rows}):
        finals = [r["final"] for r in rows if r["preset"] == preset]
        entry = {"seeds": [r["seed"] for r in rows if r["preset"] == preset]}
        keys = ("jsd", "kde_floor", "gap_mass_p_g")
        if not preset.startswith("toy1d"):
            entry["captured"] = [f["captured"] for f in finals]
            keys = ("jsd", "w1", "near", "median_d_fake", "median_arrow")
        for key in keys:
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
            row = {"preset": preset, "seed": seed, "steps": args.steps, "every": args.every}
            if preset.startswith("toy1d"):
                row.update(play_toy1d(PRESETS[preset], seed))
                f = row["final"]
                print(f"{preset:16s} seed {seed}: JSD {f['jsd']:.4f} (KDE floor {f['kde_floor']:.4f}), "
                      f"gap mass {f['gap_mass_p_g']:.3f} ({row['seconds']:.0f} s)", flush=True)
            else:
                row.update(play(PRESETS[preset], seed, args.steps, args.every))
                f = row["final"]
                print(f"{preset:16s} seed {seed}: {f['captured']} modes, JSD {f['jsd']:.3f}, W1 {f['w1']:.3f}, "
                      f"near a mode {f['near']:.2f}, median D(fake) {f['median_d_fake']:.3f}, "
                      f"median arrow {f['median_arrow']:.3f} ({row['seconds']:.0f} s)", flush=True)
            rows.append(row)
            write_results(NAME, {
                "dataset": "none",
                "dataset_note": "2-D toy data of course_utils.toys.live2d (the 8-Gaussian ring, two clusters, "
                                "a ring with uneven weights) and the 1-D mixture of course_utils.toys.gan1d; "
                                "no image data set",
                "presets": PRESETS, "steps": args.steps, "every": args.every, "threads": args.threads,
                "summary": summary(rows), "runs": rows})


if __name__ == "__main__":
    main()
