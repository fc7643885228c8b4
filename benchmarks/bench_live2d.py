"""How fast notebook 06's live 2-D GAN view plays, in a real browser: frames per second (target: >= 20 on 2 cores).

Starts JupyterLab on loopback (the test suite's ``jupyter_lab`` helper) serving a one-cell notebook that
displays :class:`course_utils.widgets.live2d.LiveGANView` after the notebooks' ``set_threads()``, opens it in
Debian's Chromium (Playwright, headless), presses play and counts the frames the view draws (its
``data-frames`` counter) over ``--seconds`` for each steps-per-frame setting, after a warm-up. While it
plays, it also times a trivial cell sent to the same kernel (``requestExecute``): the view must leave the
kernel free for the student's cells. Then, without a browser, it times the alternative the view replaced:
drawing the same frame with matplotlib (Agg, PNG-encoded, what an ipywidgets Image re-render costs in the
kernel alone), next to the kernel's own cost per frame (steps + measure + encode). The browser part runs
twice: with JupyterLab as students start it, and with the server's kernel websocket set to TCP_NODELAY
(a config file of this benchmark only), which shows how much of each round trip is the server's Nagle
delay rather than the view.

    python benchmarks/bench_live2d.py [--seconds 8] [--steps-per-frame 1 5 10 20]

Run it alone on the machine (2 cores: another process distorts every number). Writes
benchmarks/results/live2d_fps.json.
"""
from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import torch
from common import ROOT, write_results  # also puts the repo root on sys.path

sys.path.insert(0, str(ROOT / "tests"))
from conftest import jupyter_lab  # noqa: E402

from course_utils.core.runtime import set_threads  # noqa: E402
from course_utils.toys.live2d import LiveGame  # noqa: E402
from course_utils.widgets.live2d import encode_frame  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TARGET_FPS = 20
CELL = ("from course_utils.core import set_threads\nset_threads()\n"
        "from course_utils.widgets.live2d import LiveGANView\nview = LiveGANView()\nview")
KERNEL_BUSY = """async () => {
  const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const t0 = performance.now();
  await k.requestExecute({code: "1 + 1", silent: true}).done;
  return performance.now() - t0;
}"""


def counters(root) -> tuple[int, int, float]:
    """The view's frames drawn and game step (its data attributes), and the time they were read."""
    return int(root.get_attribute("data-frames")), int(root.get_attribute("data-step")), time.perf_counter()


NODELAY = """# benchmark variant: the kernel websocket without Nagle's algorithm
from jupyter_server.services.kernels.websocket import KernelWebsocketHandler
_open = KernelWebsocketHandler.open
async def _open_nodelay(self, *args, **kwargs):
    self.set_nodelay(True)
    return await _open(self, *args, **kwargs)
KernelWebsocketHandler.open = _open_nodelay
"""


def browser_rates(seconds: float, settings: list[int], warmup: float, nodelay: bool = False) -> dict:
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="bench-live2d-"))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)], metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, work / "live.ipynb")
    if nodelay:
        (work / "config").mkdir()
        (work / "config" / "jupyter_server_config.py").write_text(NODELAY)
    env = {"PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
           "JUPYTER_CONFIG_DIR": str(work / "config"), "JUPYTERLAB_WORKSPACES_DIR": str(work / "ws")}
    rows = []
    with jupyter_lab(work, env, work / "lab.log") as (base, token), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        version = browser.version
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{base}/lab/tree/live.ipynb?token={token}&reset")
        page.wait_for_function("() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget; "
                               "const k = w && w.sessionContext && w.sessionContext.session "
                               "&& w.sessionContext.session.kernel; return k && k.status === 'idle'; }",
                               timeout=120_000)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        root = page.locator(".course-live2d").first
        root.wait_for(state="visible", timeout=120_000)
        page.wait_for_function("() => Number(document.querySelector('.course-live2d').dataset.frames || 0) >= 1",
                               timeout=60_000)
        for spf in settings:
            page.select_option(".live2d-per-frame", str(spf))
            page.locator(".live2d-play").click()
            time.sleep(warmup)
            f0, s0, t0 = counters(root)
            time.sleep(seconds)
            f1, s1, t1 = counters(root)
            round_trip, draw = root.get_attribute("data-round-trip-ms"), root.get_attribute("data-draw-ms")
            latencies = [page.evaluate(KERNEL_BUSY) for _ in range(5)]
            page.locator(".live2d-play").click()  # pause
            time.sleep(1.0)
            row = {"steps_per_frame": spf, "frames": f1 - f0, "seconds": round(t1 - t0, 2),
                   "fps": round((f1 - f0) / (t1 - t0), 1), "game_steps_per_s": round((s1 - s0) / (t1 - t0), 1),
                   "last_round_trip_ms": int(round_trip), "last_draw_ms": int(draw),
                   "cell_ms_while_playing_median": round(statistics.median(latencies), 1),
                   "cell_ms_while_playing_max": round(max(latencies), 1),
                   "meets_target": (f1 - f0) / (t1 - t0) >= TARGET_FPS}
            print(row, flush=True)
            rows.append(row)
        idle = [page.evaluate(KERNEL_BUSY) for _ in range(5)]
        browser.close()
    shutil.rmtree(work, ignore_errors=True)
    return {"chromium": version, "rows": rows, "cell_ms_idle_median": round(statistics.median(idle), 1)}


def kernel_costs(repeats: int = 30) -> dict:
    """Per frame in this process: the view's own work (5 steps, measure, encode) and a matplotlib redraw."""
    set_threads()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    game = LiveGame()
    game.step(50)

    def ours():
        game.step(5)
        game.measure()
        encode_frame(game)

    fig = Figure(figsize=(9, 4.5), dpi=80)
    FigureCanvasAgg(fig)
    ax, axc = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)

    def matplotlib_frame():
        f = game.frame()
        ax.clear()
        axc.clear()
        e = game.extent
        ax.imshow(f["heat"].numpy(), origin="lower", extent=(-e, e, -e, e), cmap="RdBu", vmin=0, vmax=1)
        for line in f["latent_lines"]:
            ax.plot(line[:, 0], line[:, 1], color="0.4", lw=0.5)
        ax.scatter(*f["real"].T, s=4, c="tab:blue")
        ax.scatter(*f["fake"].T, s=4, c="tab:red")
        ax.quiver(*f["fake"].T, *f["arrows"].T, angles="xy", scale_units="xy", scale=10, width=0.002)
        h = f["history"]
        axc.plot([r["d_loss"] for r in h])
        axc.plot([r["g_loss"] for r in h])
        buf = io.BytesIO()
        fig.savefig(buf, format="png")

    def timed(fn):
        fn()
        out = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
        return round(1000 * statistics.median(out), 2)

    ms_ours, ms_mpl = timed(ours), timed(matplotlib_frame)
    return {"threads": torch.get_num_threads(), "view_kernel_ms_per_frame_5_steps": ms_ours,
            "matplotlib_redraw_ms_per_frame": ms_mpl,
            "matplotlib_max_fps_kernel_only": round(1000 / ms_mpl, 1),
            "note": "kernel-side only: the matplotlib figure is the same layers (heat map, latent grid, samples, "
                    "arrows, one loss chart) drawn and PNG-encoded, before any transfer or display; the anywidget "
                    "view's kernel cost includes 5 game steps"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--steps-per-frame", type=int, nargs="+", default=[1, 5, 10, 20])
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit("Chromium is missing: apt-get install chromium")
    browser = browser_rates(args.seconds, args.steps_per_frame, args.warmup)
    nodelay = browser_rates(args.seconds, args.steps_per_frame, args.warmup, nodelay=True)
    costs = kernel_costs()
    print(costs)
    cpu = str(len(os.sched_getaffinity(0)))  # the CPUs this process may use (as nproc counts them)
    write_results("live2d_fps.json", {
        "dataset": "none", "dataset_note": "the 8-Gaussian ring of course_utils.toys.live2d (no image data)",
        "target_fps": TARGET_FPS, "cores": cpu, "browser": browser, "kernel_costs": costs,
        "variant_server_nodelay": {**nodelay, "note": "the same, with the Jupyter server's kernel websocket set to "
                                   "TCP_NODELAY (a benchmark-only server config): on loopback the default server's "
                                   "Nagle algorithm and the browser's delayed ACK hold each answer for up to 40 ms"},
        "widget": "anywidget 0.11 with two canvases drawn by live2d_view.js; frames pulled, at most 2 requests in "
                  "flight, the newest frame painted once per animation frame (fps counts paints)"})


if __name__ == "__main__":
    main()
