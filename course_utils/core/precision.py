"""Whether bfloat16 matrix products make training faster on *this* machine: a short, cached probe.

Having bfloat16 instructions (AVX512-BF16, AMX) does not make bfloat16 training faster: at the
course's batch size (128) a training step is bound by per-operation overhead as much as by
arithmetic, and the casts autocast adds can cost more than the faster matrix products save. So
``precision="auto"`` (:func:`course_utils.core.runtime.training_precision`) asks
:func:`bfloat16_is_faster`, which times a few training steps of a VAE-sized network both ways,
interleaved (so a load that comes and goes hits both alike), and picks bfloat16 only when it is
at least :data:`MIN_SPEEDUP` times faster.

The verdict is kept per machine (CPU model, torch version, thread count, device) in
``<cache>/probes/precision.json`` and in memory, so the probe runs once per machine and every
later run -- and every cache key that depends on the precision -- sees the same answer. Delete
that file to measure again.

What lives elsewhere: the precision names, the hardware check and autocast itself are in
:mod:`course_utils.core.runtime`.
"""
from __future__ import annotations

import functools
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from course_utils.core.storage import atomic_write

MIN_SPEEDUP = 1.10  # bfloat16 must save at least ~10 % of a step; below that the probe's noise decides
_MEMO: dict[str, dict] = {}


@functools.cache
def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``'s "model name" on Linux; else ``platform.processor()``)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_key(device: str | torch.device = "cpu") -> str:
    """What a probe's verdict depends on: device, CPU model, torch version, thread count."""
    device = torch.device(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model()
    return f"{device.type} | {name} | torch {torch.__version__} | {torch.get_num_threads()} threads"


def _probe_net(device: torch.device) -> tuple[torch.nn.Module, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 40),
                              torch.nn.Linear(40, 512), torch.nn.ReLU(), torch.nn.Linear(512, 784)).to(device)
    x = torch.rand(128, 784, generator=gen).bernoulli(generator=gen).to(device)
    return net, x


def measure(device: str | torch.device = "cpu", steps: int = 4, rounds: int = 3) -> dict[str, list[float]]:
    """Seconds per step in float32 and in bfloat16 autocast, ``rounds`` rounds of each, interleaved."""
    device = torch.device(device)
    times: dict[str, list[float]] = {"float32": [], "bfloat16": []}
    nets = {p: _probe_net(device) for p in times}
    opts = {p: torch.optim.Adam(nets[p][0].parameters(), lr=1e-3) for p in times}

    def run(precision: str, n: int) -> float:
        net, x = nets[precision]
        ctx = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bfloat16")
        start = time.perf_counter()
        for _ in range(n):
            with ctx:
                logits = net(x)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), x, reduction="sum")
            opts[precision].zero_grad(set_to_none=True)
            loss.backward()
            opts[precision].step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return (time.perf_counter() - start) / n

    for precision in times:  # warm-up: first calls pay for allocation and kernel selection
        run(precision, 3)
    for _ in range(rounds):
        for precision in times:
            times[precision].append(run(precision, steps))
    return times


def _cache_file() -> Path:
    from course_utils.core.runtime import cache_dir  # runtime imports this module lazily, too

    return cache_dir() / "probes" / "precision.json"


def probe(device: str | torch.device = "cpu", refresh: bool = False) -> dict:
    """The cached verdict for this machine: ``{"speedup", "bfloat16_faster", "float32_s", "bfloat16_s", ...}``.

    ``speedup`` is the median float32 step time over the median bfloat16 step time. Measured once
    per machine key (:func:`machine_key`); ``refresh=True`` measures again.
    """
    key = machine_key(device)
    if not refresh and key in _MEMO:
        return _MEMO[key]
    path = _cache_file()
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        stored = {}
    if not refresh and isinstance(stored.get(key), dict) and "bfloat16_faster" in stored[key]:
        _MEMO[key] = stored[key]
        return stored[key]
    times = measure(device)
    f32, b16 = statistics.median(times["float32"]), statistics.median(times["bfloat16"])
    speedup = round(f32 / b16, 3)  # the verdict is made on the number stored, so the two always agree
    verdict = {"speedup": speedup, "bfloat16_faster": speedup >= MIN_SPEEDUP,
               "float32_s": f32, "bfloat16_s": b16, "min_speedup": MIN_SPEEDUP,
               "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    stored[key] = verdict
    try:
        with atomic_write(path, "w") as fh:
            json.dump(stored, fh, indent=1)
    except OSError:  # a read-only cache: keep the verdict for this process only
        pass
    _MEMO[key] = verdict
    return verdict


def bfloat16_is_faster(device: str | torch.device = "cpu") -> bool:
    """True when the probe found bfloat16 training steps at least :data:`MIN_SPEEDUP` times faster here."""
    return bool(probe(device)["bfloat16_faster"])
