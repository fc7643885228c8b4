"""The kernel-free stand-in of the explorers: frames, the self-contained HTML, and the explorer hook.

That the JavaScript slider really swaps the image in a browser is tested on the built website
(tests/test_site.py).
"""
from __future__ import annotations

import base64
import html as html_lib
import io
import json
import re

import ipywidgets as widgets
import pytest
import torch
from PIL import Image

from course_utils.widgets import KLExplorer, LatentExplorer, MonteCarloExplorer, ReconstructionExplorer, static
from course_utils.widgets.common import _Explorer, png_from_array, sweep_values


def png(value: int, mode: str = "L", size=(6, 4)) -> bytes:
    img = Image.new(mode, size, value if mode == "L" else (value, value, value, 0))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def frames_of(snippet: str) -> list[dict]:
    return [json.loads(m.replace("<\\/", "</")) for m in
            re.findall(r'<script type="application/json" class="course-static-frames">(.*?)</script>', snippet)]


def test_track_rejects_inconsistent_input():
    with pytest.raises(ValueError, match="no frames"):
        static.Track("z", [], [])
    with pytest.raises(ValueError, match="2 labels for 1 frames"):
        static.Track("z", ["a", "b"], [png(0)])
    with pytest.raises(ValueError, match="start 3 outside 0..1"):
        static.Track("z", ["a", "b"], [png(0), png(9)], start=3)
    with pytest.raises(ValueError, match="not PNG"):
        static.Track("z", ["a"], [b"GIF89a"])


def test_static_html_is_self_contained_and_starts_at_the_live_value():
    tracks = [static.Track("z[0]", ["-1", "0", "+1"], [png(0), png(100), png(200)], start=1),
              static.Track("label </script>", ["x"], [png(50)])]
    snippet = static.static_html(tracks, title="decoder")
    # nothing is fetched: every image is inline data, the script is inline
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", snippet)
    srcs = re.findall(r'<img class="course-static-image" src="([^"]+)"', snippet)
    assert srcs == [f"data:image/png;base64,{base64.b64encode(png(100)).decode()}",
                    f"data:image/png;base64,{base64.b64encode(png(50)).decode()}"]
    data = frames_of(snippet)
    assert [d["labels"] for d in data] == [["-1", "0", "+1"], ["x"]]
    assert data[1]["description"] == "label </script>"  # escaped inside the JSON, restored on parsing
    assert snippet.count("</script>") == 3  # two JSON blocks and the slider script: nothing closed early
    assert 'max="2" step="1" value="1"' in snippet and 'aria-valuetext="0"' in snippet
    assert snippet.count("course-static-controls\" hidden") == 2  # controls stay hidden without JavaScript
    assert html_lib.escape("label </script>") in snippet


def test_frames_are_made_opaque():
    snippet = static.static_html([static.Track("t", ["a"], [png(0, mode="RGBA")])])
    (uri,) = re.findall(r'src="data:image/png;base64,([^"]+)"', snippet)
    img = Image.open(io.BytesIO(base64.b64decode(uri)))
    assert "A" not in img.getbands()
    assert img.getpixel((0, 0)) == (255, 255, 255)  # a fully transparent pixel over white


def test_oversized_stand_in_is_refused_with_advice():
    big = Image.effect_noise((800, 800), 100).convert("L")
    buf = io.BytesIO()
    big.save(buf, format="PNG")
    with pytest.raises(ValueError, match="fewer frames"):
        static.static_html([static.Track("t", [str(i) for i in range(5)], [buf.getvalue()] * 5)])


def test_sweep_values_spread_over_the_range_and_keep_the_current_value():
    s = widgets.FloatSlider(value=1.0, min=-4, max=4, step=0.05, readout_format=".2f")
    values, labels = sweep_values(s, 21)
    assert len(values) == 21 and values[0] == -4 and values[-1] == 4 and 1.0 in values
    assert labels[values.index(1.0)] == "1.00"
    i = widgets.IntSlider(value=3, min=0, max=5)
    assert sweep_values(i, 21) == ([0, 1, 2, 3, 4, 5], ["0", "1", "2", "3", "4", "5"])
    sel = widgets.SelectionSlider(options=[("a", 1), ("b", 2), ("c", 3)], value=2)
    assert sweep_values(sel, 3) == ([1, 2, 3], ["a", "b", "c"])
    assert sweep_values(sel, 2) == ([2, 3], ["b", "c"])  # two frames of three: the current value is one of them
    with pytest.raises(ValueError, match="at least 2"):
        sweep_values(s, 1)


def test_kl_explorer_stand_in_sweeps_each_slider_and_puts_it_back():
    ex = KLExplorer(mu_q=1.0, sigma_q=0.5)
    live = bytes(ex.image.value)
    mu_track, sigma_track = ex.static_tracks()
    assert (ex.mu_slider.value, ex.sigma_slider.value) == (1.0, 0.5)
    assert bytes(ex.image.value) == live  # the live widget shows what it showed before
    assert mu_track.description == "μ_q" and mu_track.labels[mu_track.start] == "1.00"
    assert mu_track.frames[mu_track.start] == static.opaque_png(live)
    assert len(set(mu_track.frames)) == len(mu_track.frames)  # every position draws a different picture
    assert sigma_track.labels[sigma_track.start] == "0.50"


def test_latent_explorer_frames_are_the_decoder_at_each_value():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 784), torch.nn.Sigmoid())
    ex = LatentExplorer(lambda z: net(z), 3, coords=[0, 2], step=0.5, limit=1.0)
    tracks = ex.static_tracks()
    assert [t.description for t in tracks] == ["z[0]", "z[2]"]
    assert tracks[0].labels == ["-1.00", "-0.50", "0.00", "0.50", "1.00"] and tracks[0].start == 2
    with torch.no_grad():
        expected = png_from_array(net(torch.tensor([[0.5, 0.0, 0.0]])).reshape(28, 28), ex.scale)
    assert tracks[0].frames[3] == expected


def test_explorers_with_several_images_capture_them_side_by_side():
    class Model:
        def reconstruct(self, x):
            return 1 - x

    images = torch.rand(4, 784, generator=torch.Generator().manual_seed(0))
    ex = ReconstructionExplorer(Model(), images, scale=2)
    (track,) = ex.static_tracks()
    frame = Image.open(io.BytesIO(track.frames[0]))
    assert frame.size == (2 * 56 + 8, 56)
    assert len(track.frames) == 4


def test_the_stand_in_rides_in_the_widget_output_only_when_enabled(monkeypatch):
    ex = MonteCarloExplorer(dims=(1, 2), max_log2=6)
    monkeypatch.delenv(static.ENV_STATIC, raising=False)
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "text/html" not in bundle
    monkeypatch.setenv(static.ENV_STATIC, "1")
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # the live widget stays what a kernel shows
    assert static.CSS_CLASS in bundle["text/html"]
    assert [d["description"] for d in frames_of(bundle["text/html"])] == ["log₂ M", "latent d"]


def test_an_explorer_without_controls_has_no_stand_in(monkeypatch):
    class Bare(_Explorer):
        def __init__(self):
            self.image = widgets.Image(format="png", value=png(0))
            self.widget = widgets.VBox([self.image])

    monkeypatch.setenv(static.ENV_STATIC, "1")
    ex = Bare()
    assert ex.static_tracks() == [] and ex.static_html() is None
    assert "text/html" not in ex._repr_mimebundle_()


def controls(widget) -> list:
    """Every slider, dropdown and toggle in a widget tree."""
    found, stack = [], [widget]
    while stack:
        w = stack.pop()
        if isinstance(w, (widgets.FloatSlider, widgets.IntSlider, widgets.SelectionSlider, widgets.Dropdown,
                          widgets.ToggleButtons)):
            found.append(w)
        stack.extend(getattr(w, "children", ()))
    return found


def test_every_control_of_every_explorer_is_described_and_enabled(one_thread):
    """Screen readers and keyboard users need a name for each control; none may be disabled."""
    from course_utils.toys.gan1d import ToyConfig
    from course_utils.widgets import InterpolationExplorer, ToyGANExplorer

    net = torch.nn.Sequential(torch.nn.Linear(2, 784), torch.nn.Sigmoid())
    decode = lambda z: net(z)  # noqa: E731
    z = torch.randn(3, 2, generator=torch.Generator().manual_seed(0))

    class Model:
        def reconstruct(self, x):
            return x

    explorers = [LatentExplorer(decode, 2), KLExplorer(), MonteCarloExplorer(dims=(1, 2), max_log2=6),
                 ReconstructionExplorer(Model(), torch.rand(3, 784)), InterpolationExplorer(decode, z, z.flip(0)),
                 ToyGANExplorer(ToyConfig(steps=40, snapshot_every=20, n_snapshot=200))]
    for ex in explorers:
        found = controls(ex.widget)
        assert found, type(ex).__name__
        for c in found:
            assert c.description.strip(), f"{type(ex).__name__}: a {type(c).__name__} has no description"
            assert not c.disabled, f"{type(ex).__name__}: {c.description} is disabled"


# --------------------------------------------------------------------------- the explorers of 03, 06 and 07

def test_kl_direction_explorer_has_a_stand_in_of_at_most_eleven_fits_per_slider(one_thread):
    from course_utils.widgets import KLDirectionExplorer

    ex = KLDirectionExplorer(separation=5.0, weight=0.6)
    live = bytes(ex.image.value)
    sep, weight = ex.static_tracks()
    assert (sep.description, weight.description) == ("separation", "left weight")
    assert len(sep.frames) == 11 and sep.labels[sep.start] == "5.00" and weight.labels[weight.start] == "0.60"
    assert sep.frames[sep.start] == static.opaque_png(live) and (ex.sep_slider.value, ex.weight_slider.value) == (5, .6)
    assert len(set(sep.frames)) == len(sep.frames)


def test_toy_gan_explorer_sweeps_only_the_training_step(one_thread):
    from course_utils.toys.gan1d import ToyConfig, train_toy_gan
    from course_utils.widgets import ToyGANExplorer

    trained = []
    ex = ToyGANExplorer(ToyConfig(steps=40, snapshot_every=10, n_snapshot=200),
                        trainer=lambda c: trained.append(c) or train_toy_gan(c))
    (track,) = ex.static_tracks()
    assert track.description == "snapshot" and track.labels == ["0", "1", "2", "3", "4"]
    assert track.start == 4 and ex.step.value == 4  # the live widget shows the end of training, as before
    assert len(trained) == 1  # sweeping trained nothing new
    assert len(set(track.frames)) == len(track.frames)


def test_ring_explorer_sweeps_the_loss_and_the_step(one_thread):
    from dataclasses import replace

    from course_utils.toys.ring import RingConfig, train_ring_gan
    from course_utils.widgets import RingExplorer

    base = RingConfig(steps=40, snapshot_every=20, n_snapshot=200)
    ex = RingExplorer({"non-saturating loss": train_ring_gan(base),
                       "saturating loss": train_ring_gan(replace(base, generator_loss="saturating"))})
    loss, step = ex.static_tracks()
    assert loss.labels == ["non-saturating loss", "saturating loss"] and loss.start == 0
    assert step.labels == ["0", "20", "40"] and step.start == 2
    assert loss.frames[0] == step.frames[2]  # both tracks start from the live picture
    assert ex.loss.value == "non-saturating loss" and ex.step.value == 2


def test_interpolation_explorer_has_one_track_per_path_with_both_images(one_thread, monkeypatch):
    from course_utils.widgets import InterpolationExplorer

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 784), torch.nn.Sigmoid())
    z0 = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    ex = InterpolationExplorer(lambda z: net(z), z0, -z0.flip(1), steps=5, method="spherical", scale=2)
    lerp, slerp = ex.static_tracks()
    assert lerp.description == "step on the straight line (lerp)" and slerp.description == "step on the arc (slerp)"
    assert len(lerp.frames) == len(slerp.frames) == 5 and ex.method.value == "spherical"
    assert lerp.frames[2] != slerp.frames[2]  # the middle of the line is not the middle of the arc
    assert Image.open(io.BytesIO(lerp.frames[0])).width > 2 * 28 * 2  # the image and the whole-path strip
    monkeypatch.setenv(static.ENV_STATIC, "1")
    assert [d["description"] for d in frames_of(ex._repr_mimebundle_()["text/html"])] == [
        lerp.description, slerp.description]
