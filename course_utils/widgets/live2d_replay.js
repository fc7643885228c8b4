// The replay's glue (live2d_view.js is prepended; the whole runs inside a function with ROOT_ID set):
// recorded runs of a few preset settings, a preset menu, play / pause and a slider over the recorded frames.
var root = document.getElementById(ROOT_ID);
if (root && !root.dataset.ready) {
  root.dataset.ready = "1";
  var data = JSON.parse(root.querySelector("script.live2d-replay-data").textContent);
  var bar = live2dElement("div", "live2d-bar");
  var preset = live2dSelect(data.presets.map(function (p, i) { return [i, p.name]; }), 0);
  var play = live2dElement("button", "live2d-play", "\u25b6 play");
  var slider = document.createElement("input");
  slider.type = "range"; slider.min = "0"; slider.step = "1"; slider.className = "live2d-slider";
  var about = live2dElement("div", "live2d-message");
  bar.append(live2dControl("run", preset), play, live2dControl("recorded frame", slider));
  root.querySelector(".live2d-replay-fallback").hidden = true;
  root.append(bar, about);
  var view = live2dView(root);
  var timer = null, decoded = {};

  function frames() { return data.presets[Number(preset.value)].frames; }
  function show(i) {
    var key = preset.value + ":" + i;
    if (!decoded[key]) { decoded[key] = live2dDecode(frames()[i], []); }
    slider.value = String(i);
    view.draw(decoded[key]);
  }
  function stop() { if (timer) { clearInterval(timer); timer = null; } play.textContent = "\u25b6 play"; root.dataset.playing = "0"; }
  function start() {
    if (Number(slider.value) >= frames().length - 1) { show(0); }
    play.textContent = "\u275a\u275a pause"; root.dataset.playing = "1";
    timer = setInterval(function () {
      var i = Number(slider.value) + 1;
      if (i >= frames().length) { stop(); return; }
      show(i);
    }, 120);
  }
  function choose() {
    stop();
    var p = data.presets[Number(preset.value)];
    slider.max = String(p.frames.length - 1);
    about.textContent = p.description;
    show(0);
  }
  play.addEventListener("click", function () { if (timer) { stop(); } else { start(); } });
  slider.addEventListener("input", function () { stop(); show(Number(slider.value)); });
  preset.addEventListener("change", choose);
  choose();
}
