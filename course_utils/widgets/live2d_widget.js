// The live widget's glue (anywidget ESM; live2d_view.js is prepended): controls bound to the model's traits,
// and the play loop. Playing pulls frames: send "tick", the kernel runs steps_per_frame steps and answers
// with a frame, the view draws it, and the next tick goes out on the next animation frame -- one request
// in flight, so a busy kernel slows the view down instead of queueing work, and cells the student runs
// are served between ticks.

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
  var inflight = false, sentAt = 0, alive = true, me = Math.random().toString(36).slice(2);

  function request(kind) {
    inflight = true; sentAt = performance.now();
    model.send({ type: kind, view: me });
  }
  function tick() {
    if (!alive || !model.get("playing")) { return; }
    if (inflight && performance.now() - sentAt < 3000) { return; } // one request in flight (a lost one expires)
    request("tick");
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
  function onMessage(msg, buffers) {
    if (!msg || msg.type !== "frame") { return; }
    view.draw(live2dDecode(msg, buffers || []));
    if (msg.reply !== me) { return; } // another view's request, or a control changed: drawn, not ours to answer
    inflight = false;
    if (model.get("playing")) { requestAnimationFrame(tick); }
  }
  model.on("msg:custom", onMessage);
  showPlaying();
  message.textContent = model.get("error");
  request("frame"); // the current state, then ticks while playing
  return function () { alive = false; model.off("msg:custom", onMessage); };
}

export default { render };
