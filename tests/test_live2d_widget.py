"""The live 2-D GAN view's Python side (course_utils.widgets.live2d): what the kernel does for each message from the
browser, what a frame carries, how controls act, and the replay that stands in for it outside a kernel.
The browser side (drawing, play / pause / step in JupyterLab, the replay on the website) is in
tests/test_browser.py and tests/test_site_course.py."""
from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest
import torch

from course_utils.toys.live2d import GameSettings, LiveGame
from course_utils.widgets import live2d as W
from course_utils.widgets import static

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = {"n_show": 40, "grid": 9}


def small_settings(**changes) -> GameSettings:
    return GameSettings(hidden=16, batch_size=32, **changes)


class Sent(list):
    def __call__(self, content, buffers=None):
        self.append((content, buffers or []))


def view(**changes) -> tuple[W.LiveGANView, Sent]:
    v = W.LiveGANView(small_settings(**changes), **SMALL)
    sent = Sent()
    v.send = sent  # what would go to the browser
    return v, sent


def decode(content, buffers, name) -> np.ndarray:
    spec = content["arrays"][name]
    if spec["dtype"] == "f4":
        return np.frombuffer(buffers[spec["buffer"]], dtype=np.float32)
    dtype = {"i2": np.int16, "u1": np.uint8}[spec["dtype"]]
    raw = np.frombuffer(base64.b64decode(spec["b64"]), dtype=dtype)
    return raw.astype(np.float64) * spec["scale"]


def test_a_frame_message_carries_the_current_networks_drawing():
    v, sent = view()
    v.step(3)
    content, buffers = sent[-1]
    frame = v.game.frame()
    assert content["type"] == "frame" and content["step"] == 3 and content["grid"] == 9
    for name, key in (("real", "real"), ("fake", "fake"), ("heat", "heat"), ("arrows", "arrows"),
                      ("lines", "latent_lines")):
        assert np.array_equal(decode(content, buffers, name), frame[key].numpy().reshape(-1)), name
    assert content["history"]["step"] == [1, 2, 3] and len(content["metrics"]["step"]) == 1
    assert content["metrics"]["jsd"][0] == v.game.metrics[-1]["jsd"] and content["n_modes"] == 8
    json.dumps(content)  # the JSON part is plain JSON


def test_play_pulls_steps_only_while_playing():
    v, sent = view()
    v._on_message(v, {"type": "tick"}, [])
    assert v.game.steps == 0 and len(sent) == 1  # paused: the frame is sent, nothing is played
    v.playing, v.steps_per_frame = True, 4
    v._on_message(v, {"type": "tick"}, [])
    v._on_message(v, {"type": "tick"}, [])
    assert v.game.steps == 8 and [c["step"] for c, _ in sent] == [0, 4, 8]
    v.playing = False
    v._on_message(v, {"type": "tick", "view": "v1"}, [])  # a tick sent before the pause arrived: no step
    assert v.game.steps == 8
    assert sent[-1][0]["reply"] == "v1"  # the answer names the view that asked (it alone asks again)
    v.lr_d = 2e-3
    assert sent[-1][0]["reply"] is False  # a frame sent because a control changed answers nobody


def test_step_is_exactly_one_round_of_the_game():
    v, sent = view(d_steps=3)
    twin = LiveGame(small_settings(d_steps=3), **SMALL)
    v._on_message(v, {"type": "step"}, [])
    twin.step(1)
    assert v.game.steps == 1 and sent[-1][0]["step"] == 1
    for a, b in zip(v.game.generator.parameters(), twin.generator.parameters(), strict=True):
        assert torch.equal(a, b)
    assert v.game.opt_d.state_dict()["state"][0]["step"].item() == 3


def test_controls_act_from_the_next_step_and_bad_values_are_refused_by_name():
    v, sent = view()
    v.step(2)
    v.d_steps, v.lr_g, v.generator_loss = 4, 5e-3, "saturating"
    assert v.game.settings.d_steps == 4 and v.game.opt_g.param_groups[0]["lr"] == 5e-3
    assert v.game.settings.generator_loss == "saturating" and v.game.steps == 2  # the game goes on
    before = v.game.opt_d.state_dict()["state"][0]["step"].item()
    v.step(1)
    assert v.game.opt_d.state_dict()["state"][0]["step"].item() == before + 4
    v.d_steps = 7
    assert v.d_steps == 4 and v.game.settings.d_steps == 4
    assert "d_steps = 7 not applied" in v.error and "1 to 5" in v.error
    v.optimizer = "rmsprop"
    assert v.optimizer == "adam" and "optimizer" in v.error
    v.lr_d = 2e-3
    assert v.error == ""


def test_a_new_seed_or_data_set_starts_over_and_is_drawn():
    v, sent = view()
    v.step(5)
    n = len(sent)
    v.seed = 3
    fresh = LiveGame(small_settings(seed=3), **SMALL)
    assert v.game.steps == 0 and len(sent) == n + 1 and sent[-1][0]["step"] == 0
    for a, b in zip(v.game.generator.parameters(), fresh.generator.parameters(), strict=True):
        assert torch.equal(a, b)
    v.data = "two-clusters"
    assert sent[-1][0]["n_modes"] == 2 and sent[-1][0]["settings"]["data"] == "two-clusters"


def test_reset_restores_the_seeds_initial_state():
    v, sent = view(seed=2)
    v.push()
    first = decode(*sent[-1], "fake").copy()
    v.step(6)
    v._on_message(v, {"type": "reset"}, [])
    assert v.game.steps == 0 and sent[-1][0]["step"] == 0 and v.game.history == []
    assert np.array_equal(decode(*sent[-1], "fake"), first)
    v._on_message(v, {"type": "nonsense"}, [])
    v._on_message(v, "not a dict", [])
    assert v.game.steps == 0


def test_the_charts_get_a_bounded_number_of_points_ending_at_the_last():
    game = LiveGame(small_settings(), **SMALL)
    game.step(W.HISTORY_POINTS + 150)
    content, _ = W.encode_frame(game)
    steps = content["history"]["step"]
    assert len(steps) <= W.HISTORY_POINTS and steps[0] == 1 and steps[-1] == game.steps
    assert steps == sorted(steps)


def test_the_replays_quantised_frames_are_close_to_the_live_ones():
    game = LiveGame(small_settings(), **SMALL)
    game.step(20)
    game.measure()
    live, buffers = W.encode_frame(game)
    packed, none = W.encode_frame(game, quantise=True)
    assert none == []
    for name in ("real", "fake", "arrows", "lines"):
        exact, approx = decode(live, buffers, name), decode(packed, [], name)
        assert np.abs(exact - approx).max() <= np.abs(exact).max() / 32767 * 0.51 + 1e-12, name
    assert np.abs(decode(live, buffers, "heat") - decode(packed, [], "heat")).max() <= 0.5 / 255 + 1e-7


def test_record_replay_keeps_frames_at_evenly_spaced_steps():
    recordings = W.record_replay(12, n_frames=4, presets=W.REPLAY_PRESETS[:2], n_show=20, grid=8)
    assert [r["name"] for r in recordings] == [p[0] for p in W.REPLAY_PRESETS[:2]]
    assert [f["step"] for f in recordings[0]["frames"]] == [0, 4, 8, 12]
    assert recordings[1]["settings"]["generator_loss"] == "saturating"
    assert "generator_loss=saturating" in recordings[1]["description"]
    with pytest.raises(ValueError, match="n_frames >= 2"):
        W.record_replay(10, n_frames=1)


def test_the_replay_is_self_contained():
    html_text = W.replay_html(W.record_replay(6, n_frames=3, presets=W.REPLAY_PRESETS[:1], n_show=20, grid=8))
    assert W.REPLAY_CLASS in html_text and static.CSS_CLASS in html_text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html_text)  # nothing loaded from elsewhere
    assert "import " not in html_text.split("<script>")[-1].split("\n")[0]
    data = re.search(r'<script type="application/json" class="live2d-replay-data">(.*?)</script>', html_text, re.S)
    assert len(json.loads(data.group(1))["presets"][0]["frames"]) == 3
    with pytest.raises(ValueError, match="at least one recording"):
        W.replay_html([])


def test_the_stand_in_rides_with_the_widget_only_when_asked(monkeypatch):
    replay = W.record_replay(4, n_frames=2, presets=W.REPLAY_PRESETS[:1], n_show=10, grid=6)
    v = W.LiveGANView(small_settings(), replay=replay, **SMALL)
    monkeypatch.delenv(static.ENV_STATIC, raising=False)
    data = v._repr_mimebundle_()
    data = data[0] if isinstance(data, tuple) else data
    assert "text/html" not in data and "application/vnd.jupyter.widget-view+json" in data
    monkeypatch.setenv(static.ENV_STATIC, "1")
    data = v._repr_mimebundle_()
    data = data[0] if isinstance(data, tuple) else data
    assert W.REPLAY_CLASS in data["text/html"] and "application/vnd.jupyter.widget-view+json" in data
    lazy = W.LiveGANView(small_settings(), replay_steps=3, **SMALL)  # records its replay when displayed
    monkeypatch.setattr(W, "REPLAY_PRESETS", W.REPLAY_PRESETS[:1])
    monkeypatch.setattr(W.record_replay, "__defaults__", (21, W.REPLAY_PRESETS[:1], 10, 6))
    data = lazy._repr_mimebundle_()
    data = data[0] if isinstance(data, tuple) else data
    assert W.REPLAY_CLASS in data["text/html"] and [f["step"] for f in lazy.replay[0]["frames"]] == [0, 1, 2, 3]


def test_the_front_end_is_one_drawing_shared_by_the_widget_and_the_replay():
    assert W.LiveGANView._esm.startswith(W._VIEW_JS) and "export default" in W.LiveGANView._esm
    replay = W.replay_html(W.record_replay(2, n_frames=2, presets=W.REPLAY_PRESETS[:1], n_show=10, grid=6))
    assert W._VIEW_JS in replay and "export default" not in replay
