"""Two course processes at once: a VAE training loop alone and beside a second process, before and after.

Each measurement starts fresh processes (OpenMP reads its wait policy when a process
starts): the measured one runs the VAE training loop (:func:`course_utils.core.training.fit`
with the course's VAE step, default ``VAEConfig``, batches of 128 binarized images in
memory); the second one trains the same way (``training``) or computes importance-weighted
log-likelihoods with :func:`course_utils.vae.estimators.vae_iw_log_px` (``evaluating``).
Both warm up, wait for a common start signal, then count their steps (IW batches) for
``--seconds``; speeds are relative to the same work done alone in the same variant.

Variants, side by side in one run:

- ``before``: today's defaults: every process uses PyTorch's default thread count whatever
  else runs (the registry of :mod:`course_utils.core.cpus` is switched off in the workers);
- ``passive``: as before, with ``OMP_WAIT_POLICY=PASSIVE`` (idle OpenMP threads sleep
  instead of spinning);
- ``after``: the course's policy (:mod:`course_utils.core.cpus`): processes computing at
  once share the CPUs' threads equally; a process alone keeps all of them.

    flock /tmp/cpu.lock python benchmarks/bench_contention.py      # ~3 minutes on 2 cores

Writes benchmarks/results/contention.json. Must run with nothing else computing.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, write_results  # also puts the repo root on sys.path

VARIANTS = {
    "before": {"policy": "off", "env": {}},
    "passive": {"policy": "off", "env": {"OMP_WAIT_POLICY": "PASSIVE"}},
    "after": {"policy": "on", "env": {}},
}
SCENARIOS = {  # what runs: (measured, second process or None)
    "training alone": ("training", None),
    "evaluating alone": ("evaluating", None),
    "training beside training": ("training", "training"),
    "training beside evaluating": ("training", "evaluating"),
}


# --------------------------------------------------------------------------- worker (one process)

def worker(role: str, policy: str, go: Path, seconds: float, out: Path) -> None:
    import torch

    from course_utils.core import cpus
    from course_utils.core.batches import Batches
    from course_utils.core.training import fit
    from course_utils.vae.estimators import vae_iw_log_px
    from course_utils.vae.model import VAE, VAEConfig
    from course_utils.vae.train import make_optimizer, make_step

    if policy == "off":  # today's behaviour: every process keeps its default thread count
        cpus.threads_now = lambda folder=None: cpus._State.cpus
    torch.manual_seed(0)
    config = VAEConfig()
    model = VAE(config)
    images = torch.rand(128 * 50, 784)
    threads_seen = set()

    if role == "training":
        batches = Batches(images, batch_size=128, binarize=True, seed=0)
        step = make_step(model, make_optimizer(model, config), config, len(batches))
        fit(step, batches, epochs=1, progress=False)  # warm-up
        go_wait(go)

        def watch(epoch, history):
            threads_seen.add(torch.get_num_threads())

        history = fit(step, batches, epochs=10**6, max_seconds=seconds, progress=False, hooks=[watch])
        result = {"steps_per_s": history.steps / history.seconds, "steps": history.steps}
    else:
        x = (images[:200] < 0.5).float()
        with cpus.sharing("evaluation"):
            vae_iw_log_px(model, x[:10], 200, batch_size=10)  # warm-up
            go_wait(go)
            t0, n = time.perf_counter(), 0
            while time.perf_counter() - t0 < seconds:
                vae_iw_log_px(model, x[:10], 1000, batch_size=10)
                threads_seen.add(torch.get_num_threads())
                n += 1
            result = {"iw_batches_per_s": n / (time.perf_counter() - t0), "iw_batches": n}
    result["threads"] = sorted(threads_seen)
    out.write_text(json.dumps(result))


def go_wait(go: Path) -> None:
    go.with_suffix(f".ready{os.getpid()}").touch()
    while not go.exists():
        time.sleep(0.01)


# --------------------------------------------------------------------------- orchestration

def measure(variant: str, scenario: str, seconds: float, cache: Path) -> dict:
    spec = VARIANTS[variant]
    roles = [r for r in SCENARIOS[scenario] if r is not None]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        go = tmp / "go"
        env = {**os.environ, **spec["env"], "PYTHONPATH": str(ROOT), "COURSE_CACHE_DIR": str(cache)}
        env.pop("COURSE_THREADS", None)
        procs = [subprocess.Popen([sys.executable, __file__, "--worker", role, spec["policy"], str(go),
                                   str(seconds), str(tmp / f"out{i}.json")], env=env)
                 for i, role in enumerate(roles)]
        while len(list(tmp.glob("go.ready*"))) < len(procs):
            if any(p.poll() not in (None, 0) for p in procs):
                raise RuntimeError(f"a worker failed in {variant} / {scenario}")
            time.sleep(0.05)
        go.touch()
        for p in procs:
            if p.wait() != 0:
                raise RuntimeError(f"a worker failed in {variant} / {scenario}")
        results = [json.loads((tmp / f"out{i}.json").read_text()) for i in range(len(procs))]
    row = {"measured": results[0]}
    if len(results) > 1:
        row["second"] = results[1]
    return row


def rate(result: dict) -> float:
    return result.get("steps_per_s", result.get("iw_batches_per_s"))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        role, policy, go, seconds, out = sys.argv[2:7]
        worker(role, policy, Path(go), float(seconds), Path(out))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=6.0, help="measured window per process")
    ap.add_argument("--rounds", type=int, default=3, help="repeats of each alone measurement (median)")
    args = ap.parse_args()
    table: dict = {v: {} for v in VARIANTS}
    alone = {v: {"training": [], "evaluating": []} for v in VARIANTS}

    def run(variant, scenario):
        row = measure(variant, scenario, args.seconds, Path(cache))
        print(f"{variant:8s} {scenario:28s} "
              + "  ".join(f"{k}: {rate(v):7.2f}/s threads {v['threads']}" for k, v in row.items()), flush=True)
        return row

    with tempfile.TemporaryDirectory() as cache:
        # Alone speeds: --rounds rounds, the variants interleaved (slow drifts of the machine hit all alike).
        for _ in range(args.rounds):
            for variant in VARIANTS:
                for role in ("training", "evaluating"):
                    alone[variant][role].append(rate(run(variant, f"{role} alone")["measured"]))
        for variant in VARIANTS:
            for scenario in ("training beside training", "training beside evaluating"):
                table[variant][scenario] = run(variant, scenario)
    summary = {}
    for variant, rows in table.items():
        train_alone = statistics.median(alone[variant]["training"])
        eval_alone = statistics.median(alone[variant]["evaluating"])
        tt, te = rows["training beside training"], rows["training beside evaluating"]
        summary[variant] = {
            "training alone, steps/s (median of rounds)": round(train_alone, 1),
            "training alone, steps/s (each round)": [round(r, 1) for r in alone[variant]["training"]],
            "evaluating alone, IW batches/s (median of rounds)": round(eval_alone, 2),
            "training beside training, steps/s (each)": [round(rate(tt["measured"]), 1), round(rate(tt["second"]), 1)],
            "training beside training: fraction of alone (each)": [
                round(rate(tt["measured"]) / train_alone, 3), round(rate(tt["second"]) / train_alone, 3)],
            "training beside evaluating: fraction of alone (training, evaluating)": [
                round(rate(te["measured"]) / train_alone, 3), round(rate(te["second"]) / eval_alone, 3)],
            "threads (training beside training, training beside evaluating)": [
                tt["measured"]["threads"], te["measured"]["threads"]],
        }
    key = "training alone, steps/s (median of rounds)"
    before, after = summary["before"][key], summary["after"][key]
    fractions = [f for v in ("training beside training: fraction of alone (each)",
                             "training beside evaluating: fraction of alone (training, evaluating)")
                 for f in summary["after"][v]]
    target = {
        "each of two concurrent processes >= 40% of its alone speed (after)": min(fractions) >= 0.40,
        "after's alone speed within 5% of before's": abs(after / before - 1) <= 0.05,
        "after / before, training alone": round(after / before, 3),
    }
    print(json.dumps({"summary": summary, "target": target}, indent=1))
    write_results("contention.json", {
        "what": __doc__.split("\n\n")[0],
        "method": f"fresh processes per measurement; {args.seconds:.0f} s window after a common start signal; "
                  f"alone speeds: median of {args.rounds} rounds, variants interleaved; "
                  "VAEConfig() defaults (784-500-20, batch 128, precision auto); evaluating = vae_iw_log_px, "
                  "10 images x k=1000 per batch; random binarized images (speed does not depend on content)",
        "summary": summary, "target": target, "raw": table, "alone_raw": alone,
        "dataset": "none", "dataset_note": "No data set: the workers train and evaluate on random binarized images "
                                           "(torch.rand); speed does not depend on the content."})


if __name__ == "__main__":
    main()
