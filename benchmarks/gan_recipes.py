"""Screening GAN recipes on a CPU budget (issue 24): which stabilisers buy a lower Fréchet distance per training minute.

Each lever is screened with one seed and a fixed budget of *training* seconds (``--budget``, default 180),
with the assignment's architecture (Q2.5: ``GANConfig()``'s layers and widths) and float32 matrix
products. The loop is this script's own, built from the course's pieces -- :func:`course_utils.gan.model.build_gan`,
the losses of :mod:`course_utils.gan.losses`, the data pipeline of :class:`course_utils.core.batches.Batches`
-- so the levers can be tried without changing the course's training; what wins is then moved into
``course_utils.gan`` and ``course/runs.py``. Levers (a recipe is a set of them):

- ``lr_d`` / ``lr_g``: separate learning rates (TTUR, Heusel et al. 2017); ``betas``: Adam's;
- ``batch``: batch size (64 is the assignment's);
- ``ema``: sample from an exponential moving average of G's weights and BatchNorm buffers
  (``torch.optim.swa_utils.AveragedModel``), decay per step;
- ``smooth``: one-sided label smoothing, real targets ``1 - smooth`` (Salimans et al. 2016);
- ``d_steps``: discriminator updates per generator update, each on its own real batch;
- ``sn``: spectral normalisation of D's linear layers (Miyato et al. 2018; keeps the layers).

Scored like notebook 08, on fewer samples: the Fréchet distance of ``--samples`` (default 5 000) samples
against the test set in the course classifier's features (:func:`course_utils.evaluation.sample_quality`),
precision and recall, and the *speckle*: isolated bright pixels per image (a pixel above 0.5 whose 8
neighbours are all below 0.5), against the real test images' rate.

One JSON line per finished run is appended to ``benchmarks/results/gan_recipes.jsonl`` (machine, date,
command, data set in every line), and a rerun skips the recipes already there, so an interrupted screening
loses nothing. Run it alone on the machine: the budget is wall-clock training time.

    python benchmarks/gan_recipes.py --list
    python benchmarks/gan_recipes.py --recipes baseline ema ttur --budget 180
    python benchmarks/gan_recipes.py --summary     # gan_recipes.json: mean/min/max over seeds per recipe

``benchmarks/results/gan_recipes.json`` summarises the lines (after every run, or with ``--summary``).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time

import torch
import torch.nn.functional as F
from common import RESULTS, stamp, write_results  # also puts the repo root on sys.path

from course_utils.core.batches import Batches
from course_utils.evaluation.quality import isolated_pixels
from course_utils.gan.losses import generator_loss
from course_utils.gan.model import GANConfig, build_gan, to_signed, to_unit

OUT = RESULTS / "gan_recipes.jsonl"
BASE = {"lr_d": 2e-4, "lr_g": 2e-4, "betas": (0.5, 0.999), "batch": 64, "ema": 0.0, "smooth": 0.0, "d_steps": 1,
        "sn": False}
RECIPES = {
    "baseline": {},
    "ema": {"ema": 0.999},
    "ttur": {"lr_d": 4e-4, "lr_g": 1e-4},
    "batch128": {"batch": 128},
    "smooth": {"smooth": 0.1},
    "sn": {"sn": True},
    "d2": {"d_steps": 2},
    "beta0": {"betas": (0.0, 0.9)},
    "ema-ttur": {"ema": 0.999, "lr_d": 4e-4, "lr_g": 1e-4},
    "ema-sn": {"ema": 0.999, "sn": True},
    "ema-smooth": {"ema": 0.999, "smooth": 0.1},
    "ema-batch128": {"ema": 0.999, "batch": 128},
}


def describe(changes: dict) -> str:
    """A recipe's levers in words, for the table notebook 07 prints (empty: the assignment's recipe)."""
    words = {"ema": lambda v: f"average of G ({v})", "lr_d": lambda v: f"lr D {v:g}", "lr_g": lambda v: f"lr G {v:g}",
             "batch": lambda v: f"batch {v}", "smooth": lambda v: f"real label {1 - v:g}",
             "sn": lambda v: "spectral norm in D", "d_steps": lambda v: f"{v} D steps per G step",
             "betas": lambda v: f"Adam betas ({v[0]:g}, {v[1]:g})"}
    return " + ".join(words[k](v) for k, v in changes.items()) or "the assignment's"


def train(recipe: dict, data, seed: int, budget: float) -> tuple[torch.nn.Module, dict]:
    from torch.nn.utils.parametrizations import spectral_norm
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    config = GANConfig(seed=seed, batch_size=recipe["batch"], precision="float32")
    torch.manual_seed(seed)
    g, d = build_gan(config)
    if recipe["sn"]:
        for module in list(d.modules()):
            if isinstance(module, torch.nn.Linear):
                spectral_norm(module)
    ema = None
    if recipe["ema"]:
        ema = AveragedModel(g, multi_avg_fn=get_ema_multi_avg_fn(recipe["ema"]), use_buffers=True)
    opt_g = torch.optim.Adam(g.parameters(), lr=recipe["lr_g"], betas=recipe["betas"])
    opt_d = torch.optim.Adam(d.parameters(), lr=recipe["lr_d"], betas=recipe["betas"])
    train_split = data.train
    batches = Batches(train_split.stored, transform=lambda x: to_signed(train_split.convert(x).float()),
                      batch_size=recipe["batch"], shuffle=True, drop_last=True, seed=seed)
    noise = torch.Generator().manual_seed(seed + 3)
    real_target = 1.0 - recipe["smooth"]
    steps, t0, spent, epochs = 0, time.perf_counter(), 0.0, 0
    g.train()
    d.train()
    while spent < budget:
        epochs += 1
        it = iter(batches)
        for real in it:
            for k in range(recipe["d_steps"]):
                if k:  # the extra D steps take their own real batches
                    real = next(it, None)
                    if real is None:
                        break
                z = torch.randn(len(real), config.latent_dim, generator=noise)
                with torch.no_grad():
                    fake = g(z)
                logits = d(torch.cat([real, fake])).squeeze(-1)
                targets = torch.cat([torch.full((len(real),), real_target), torch.zeros(len(fake))])
                d_loss = F.binary_cross_entropy_with_logits(logits, targets) * 2  # = the course's sum of two means
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()
            z = torch.randn(recipe["batch"], config.latent_dim, generator=noise)
            d.requires_grad_(False)
            g_loss = generator_loss(d(g(z)).squeeze(-1), "non-saturating")
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            d.requires_grad_(True)
            if ema is not None:
                ema.update_parameters(g)
            steps += 1
            if not math.isfinite(d_loss.item()) or not math.isfinite(g_loss.item()):
                raise FloatingPointError(f"diverged at step {steps}")
            spent = time.perf_counter() - t0
            if spent >= budget:
                break
    sampler = ema.module if ema is not None else g
    sampler.eval()
    return sampler, {"g_steps": steps, "epochs_started": epochs, "train_seconds": round(spent, 1),
                     "last_d_loss": round(float(d_loss), 4), "last_g_loss": round(float(g_loss), 4)}


def summarize(rows: list[dict]) -> list[dict]:
    """One row per (recipe, budget, samples): the seeds run and the mean, min and max of each score over them
    (a score missing from a line -- the two lines written before a fix have no precision -- is averaged over
    the lines that have it, and its count is given)."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        if "error" not in row:
            groups.setdefault((row["recipe"], row["budget_seconds"], row["n_samples"]), []).append(row)
    table = []
    for (recipe, budget, n), runs in groups.items():
        entry = {"recipe": recipe, "label": describe(RECIPES.get(recipe, {})), "levers": runs[0]["levers"],
                 "budget_seconds": budget, "n_samples": n, "seeds": sorted(r["seed"] for r in runs)}
        for key in ("fd", "precision", "recall", "speckle_per_image", "g_steps"):
            values = [r[key] for r in runs if key in r]
            if values:
                entry[key] = {"mean": round(sum(values) / len(values), 4), "min": min(values), "max": max(values),
                              "n": len(values)}
        entry["real_speckle_per_image"] = runs[0]["real_speckle_per_image"]
        table.append(entry)
    return sorted(table, key=lambda e: (e["budget_seconds"], e["n_samples"], e["fd"]["mean"]))


def write_summary() -> None:
    """``gan_recipes.json``: :func:`summarize` of every line in ``gan_recipes.jsonl`` (what notebook 07 prints)."""
    rows = [json.loads(line) for line in OUT.read_text().splitlines() if line.strip()]
    machines = sorted({r["machine"] for r in rows})
    write_results("gan_recipes.json", {
        "recipes": summarize(rows), "dataset": "fashion-mnist", "runs_file": OUT.name, "machines": machines,
        "dates": [min(r["date"] for r in rows), max(r["date"] for r in rows)],
        "notes": ["Each line of runs_file: one recipe, one seed, a fixed budget of training seconds (float32 matrix "
                  "products, the machine otherwise idle), this script's own loop from the course's pieces.",
                  "fd, precision, recall: n_samples samples against the 10 000 test images in the course "
                  "classifier's features; speckle_per_image: isolated bright pixels per image "
                  "(course_utils.evaluation.isolated_pixels), real test images: real_speckle_per_image."]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=sorted(RECIPES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=180.0, help="training seconds per run")
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--summary", action="store_true", help="only rewrite gan_recipes.json from the lines")
    args = parser.parse_args()
    if args.summary:
        write_summary()
        return
    if args.list:
        for name, changes in RECIPES.items():
            print(f"{name:14s} {changes}")
        return
    os.environ.setdefault("COURSE_DATASET", "fashion-mnist")
    torch.set_num_threads(args.threads)
    from course_utils.core import load_data
    from course_utils.course import classifier_config
    from course_utils.evaluation import sample_quality, train_classifier

    data = load_data("fashion-mnist", pixels="gray", verbose=False)
    classifier = train_classifier(data, classifier_config(), progress=False)
    done = set()
    if OUT.exists():
        for line in OUT.read_text().splitlines():
            row = json.loads(line)
            done.add((row["recipe"], row["seed"], row["budget_seconds"], row["n_samples"]))
    real_speckle = isolated_pixels(data.test.images[: args.samples].reshape(-1, 784))
    for name in args.recipes:
        if (name, args.seed, args.budget, args.samples) in done:
            print(f"{name}: already in {OUT.name}, skipped")
            continue
        recipe = {**BASE, **RECIPES[name]}
        try:
            sampler, info = train(recipe, data, args.seed, args.budget)
        except FloatingPointError as err:
            row = {"recipe": name, "error": str(err)}
        else:
            with torch.no_grad():
                z = torch.randn(args.samples, sampler.latent_dim, generator=torch.Generator().manual_seed(12345))
                images = torch.cat([to_unit(sampler(chunk)) for chunk in z.split(1000)]).clamp(0, 1)
            q = sample_quality(images, data, classifier)
            row = {"recipe": name, **info, "fd": round(q["fd"], 2), "fd_real_floor": round(q["fd_real_floor"], 3),
                   "precision": round(q["precision"], 4), "recall": round(q["recall"], 4),
                   "speckle_per_image": round(isolated_pixels(images), 3),
                   "real_speckle_per_image": round(real_speckle, 3)}
        row.update({"seed": args.seed, "budget_seconds": args.budget, "n_samples": args.samples,
                    "levers": {k: list(v) if isinstance(v, tuple) else v for k, v in recipe.items()},
                    "threads": args.threads, "matmul_precision": "float32", "dataset": "fashion-mnist", **stamp()})
        with open(OUT, "a") as fh:  # one line per finished run: an interruption loses nothing done
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        print(json.dumps({k: row.get(k) for k in ("recipe", "fd", "precision", "recall", "speckle_per_image",
                                                  "real_speckle_per_image", "g_steps", "train_seconds", "error")}),
              flush=True)
    write_summary()


if __name__ == "__main__":
    main()
