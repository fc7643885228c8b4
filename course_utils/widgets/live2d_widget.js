// The live widget's glue (anywidget ESM; live2d_view.js is prepended): controls bound to the model's traits,
// and the play loop. Playing pulls frames: a "tick" asks the kernel to run steps_per_frame steps and answer
// with a frame; a new tick goes out as soon as an answer arrives, with at most WINDOW = 2 in flight, so the
// kernel computes the next frame while this one travels and is drawn. The window bounds the work queued in
// the kernel: a busy kernel slows the view down instead of piling up requests, and a cell the student runs
// waits behind at most two frames. The newest frame received is drawn once per animation frame.

function render({ model, el }) {
  el.classList.add("course-live2d");
  var options = model.get("options");
  var bar = live2dElement("div", "live2d-bar");
  var play = live2dElement("button", "live2d-play", "\u25b6 play");
  var step = live2dElement("button", "live2d-step-button", "step");
  var reset = live2dElement("button", "live2d-reset", "reset");
  var perFrame = live2dSelect(options.steps_per_frame.map(function (v) { return [v, String(v)]; }), model.get("steps_per_frame"));
  perFrame.className = "live2d-per-frame";
  bar.append(play, step, reset, live2dControl("steps per frame", perFrame));
  var controls = live2dElement("div", "live2d-bar");
  var inputs = {};
  [["data", "data"], ["generator_loss", "G loss"], ["d_steps", "D steps per G step"], ["optimizer", "optimiser"],
   ["lr_d", "lr D"], ["lr_g", "lr G"], ["seed", "seed"]].forEach(function (pair) {
    var name = pair[0];
    var input = live2dSelect(options[name].map(function (v) { return [v, String(v)]; }), model.get(name));
    input.dataset.control = name;
    input.addEventListener("change", function () {
      var v = input.value;
      if (typeof model.get(name) === "number") { v = Number(v); }
      model.set(name, v);
      model.save_changes();
    });
    model.on("change:" + name, function () { input.value = String(model.get(name)); });
    inputs[name] = input;
    controls.append(live2dControl(pair[1], input));
  });
  var message = live2dElement("div", "live2d-message");
  el.append(bar, controls, message);
  var view = live2dView(el);
  var WINDOW = 2, pending = [], alive = true, me = Math.random().toString(36).slice(2);
  var latest = null, scheduled = false;

  function request(kind) {
    pending.push(performance.now());
    model.send({ type: kind, view: me });
  }
  function tick() {
    if (!alive || !model.get("playing")) { return; }
    while (pending.length && performance.now() - pending[0] > 3000) { pending.shift(); } // a lost request expires
    while (pending.length < WINDOW) { request("tick"); }
  }
  function showPlaying() {
    var on = model.get("playing");
    play.textContent = on ? "\u275a\u275a pause" : "\u25b6 play";
    step.disabled = on;
    el.dataset.playing = on ? "1" : "0";
  }
  play.addEventListener("click", function () {
    model.set("playing", !model.get("playing"));
    model.save_changes();
  });
  step.addEventListener("click", function () { if (!model.get("playing")) { request("step"); } });
  reset.addEventListener("click", function () { request("reset"); });
  perFrame.addEventListener("change", function () { model.set("steps_per_frame", Number(perFrame.value)); model.save_changes(); });
  model.on("change:playing", function () { showPlaying(); tick(); });
  model.on("change:error", function () { message.textContent = model.get("error"); });
  function paint() { // at most one drawing per displayed frame: the newest frame received
    scheduled = false;
    if (!alive || !latest) { return; }
    var t0 = performance.now(), frame = latest;
    latest = null;
    view.draw(live2dDecode(frame.msg, frame.buffers));
    el.dataset.drawMs = String(Math.round(performance.now() - t0));
  }
  function onMessage(msg, buffers) {
    if (!msg || msg.type !== "frame") { return; }
    if (msg.reply === me && pending.length) { // else another view's request, or a control changed: drawn only
      el.dataset.roundTripMs = String(Math.round(performance.now() - pending.shift()));
      tick(); // the next request goes out at once: the kernel computes while this frame is drawn
    }
    latest = { msg: msg, buffers: buffers || [] };
    if (!scheduled) { scheduled = true; requestAnimationFrame(paint); }
  }
  model.on("msg:custom", onMessage);
  showPlaying();
  message.textContent = model.get("error");
  request("frame"); // the current state, then ticks while playing
  return function () { alive = false; model.off("msg:custom", onMessage); };
}

export default { render };
