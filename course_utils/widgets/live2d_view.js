// The drawing of notebook 06's live 2-D GAN view, shared by the live widget (live2d_widget.js, in a
// kernel) and its replay (live2d_replay.js, on the website): plain functions, no module syntax, so the
// same text is inlined into both. A frame is what course_utils.widgets.live2d.encode_frame sends.

var LIVE2D_COLOURS = {
  real: "#1f4e9c", fake: "#c0392b", arrow: "#7a1f12", lines: "rgba(60,60,60,0.45)",
  dLoss: "#1f4e9c", gLoss: "#c0392b", jsd: "#6a3d9a", w1: "#1b7837", modes: "#444",
};

// An array of the frame: float32 from a message buffer (live) or base64 (replay), int16/uint8 scaled.
function live2dArray(spec, buffers) {
  var buf;
  if (spec.b64 !== undefined) {
    var bin = atob(spec.b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
    buf = bytes.buffer;
  } else {
    var dv = buffers[spec.buffer];
    buf = dv.buffer.slice(dv.byteOffset, dv.byteOffset + dv.byteLength);
  }
  if (spec.dtype === "f4") { return new Float32Array(buf); }
  var raw = spec.dtype === "i2" ? new Int16Array(buf) : new Uint8Array(buf), out = new Float32Array(raw.length);
  for (var j = 0; j < raw.length; j++) { out[j] = raw[j] * spec.scale; }
  return out;
}

function live2dDecode(frame, buffers) {
  var arrays = {};
  Object.keys(frame.arrays).forEach(function (k) { arrays[k] = live2dArray(frame.arrays[k], buffers); });
  return Object.assign({}, frame, { arrays: arrays });
}

function live2dElement(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) { e.className = cls; }
  if (text !== undefined) { e.textContent = text; }
  return e;
}

// The view: a plane (heat map, latent grid, samples, arrows), four small charts and a readout line.
function live2dView(root) {
  var size = 380, chartW = 330, chartH = 84;
  var box = live2dElement("div", "live2d-box");
  var plane = live2dElement("canvas", "live2d-plane");
  plane.width = size; plane.height = size;
  plane.setAttribute("role", "img");
  var charts = live2dElement("canvas", "live2d-charts");
  charts.width = chartW; charts.height = 4 * chartH + 8;
  charts.setAttribute("role", "img");
  charts.setAttribute("aria-label", "losses, JSD, W1 and modes captured over the steps");
  var readout = live2dElement("div", "live2d-readout");
  var stepOut = live2dElement("span", "live2d-step", "0");
  var rest = live2dElement("span", "live2d-numbers", "");
  readout.append("step ", stepOut, " ", rest);
  var legend = live2dElement("div", "live2d-legend");
  legend.innerHTML = '<span style="color:' + LIVE2D_COLOURS.real + '">\u25cf real</span> ' +
    '<span style="color:' + LIVE2D_COLOURS.fake + '">\u25cf fake</span> ' +
    '<span style="color:' + LIVE2D_COLOURS.arrow + '">\u2192 \u2212\u2207\u2093 of each fake\'s G loss (drawn \u00d7 the arrow scale, at most 1 unit)</span> ' +
    '<span style="color:#555">\u2500 G(latent grid)</span> ' +
    '<span>background: D(x), <span style="background:#e08a3c;color:#fff">&nbsp;0&nbsp;</span>' +
    '<span style="background:#fff">&nbsp;\u00bd&nbsp;</span><span style="background:#3b7dc4;color:#fff">&nbsp;1&nbsp;</span></span>';
  var layers = live2dElement("div", "live2d-layers");
  var show = { heat: true, lines: true, real: true, fake: true, arrows: true }, arrowScale = 0.3;
  var names = { heat: "D(x)", lines: "latent grid", real: "real", fake: "fake", arrows: "arrows" };
  var last = null;
  Object.keys(show).forEach(function (k) {
    var label = live2dElement("label", "live2d-layer");
    var box2 = document.createElement("input");
    box2.type = "checkbox"; box2.checked = true; box2.dataset.layer = k;
    box2.addEventListener("change", function () { show[k] = box2.checked; if (last) { draw(last); } });
    label.append(box2, " " + names[k] + " ");
    layers.append(label);
  });
  var scale = live2dSelect([[0.1, "\u00d70.1"], [0.3, "\u00d70.3"], [1, "\u00d71"], [3, "\u00d73"]], arrowScale);
  scale.className = "live2d-arrow-scale";
  scale.addEventListener("change", function () { arrowScale = Number(scale.value); if (last) { draw(last); } });
  layers.append(live2dControl("arrow scale", scale));
  var panes = live2dElement("div", "live2d-panes");
  panes.append(plane, charts);
  box.append(panes, legend, layers, readout);
  root.append(box);
  var heatCanvas = document.createElement("canvas");
  var frames = 0;

  function colour(v) { // D(x) in [0, 1]: orange (0, "fake") - white (1/2) - blue (1, "real")
    var a = [224, 138, 60], w = [255, 255, 255], b = [59, 125, 196], t, c0, c1;
    if (v < 0.5) { t = v / 0.5; c0 = a; c1 = w; } else { t = (v - 0.5) / 0.5; c0 = w; c1 = b; }
    return [c0[0] + (c1[0] - c0[0]) * t, c0[1] + (c1[1] - c0[1]) * t, c0[2] + (c1[2] - c0[2]) * t];
  }

  function draw(f) {
    last = f;
    var ctx = plane.getContext("2d"), e = f.extent, s = size / (2 * e);
    var X = function (x) { return (x + e) * s; }, Y = function (y) { return size - (y + e) * s; };
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, size, size);
    var A = f.arrays;
    if (show.heat) {
      var g = f.grid;
      heatCanvas.width = g; heatCanvas.height = g;
      var hctx = heatCanvas.getContext("2d"), img = hctx.createImageData(g, g);
      for (var r = 0; r < g; r++) {
        for (var c = 0; c < g; c++) {
          var v = A.heat[r * g + c], rgb = colour(v), o = ((g - 1 - r) * g + c) * 4; // row 0 is the bottom
          img.data[o] = rgb[0]; img.data[o + 1] = rgb[1]; img.data[o + 2] = rgb[2]; img.data[o + 3] = 255;
        }
      }
      hctx.putImageData(img, 0, 0);
      ctx.imageSmoothingEnabled = true;
      var half = size / (2 * (g - 1)); // grid points are cell centres at the plane's edges
      ctx.drawImage(heatCanvas, -half, -half, size + 2 * half, size + 2 * half);
    }
    if (show.lines) {
      ctx.strokeStyle = LIVE2D_COLOURS.lines; ctx.lineWidth = 1;
      var L = f.lines_shape[0], P = f.lines_shape[1];
      for (var l = 0; l < L; l++) {
        ctx.beginPath();
        for (var p = 0; p < P; p++) {
          var q = (l * P + p) * 2;
          if (p === 0) { ctx.moveTo(X(A.lines[q]), Y(A.lines[q + 1])); } else { ctx.lineTo(X(A.lines[q]), Y(A.lines[q + 1])); }
        }
        ctx.stroke();
      }
    }
    function dots(arr, fill) {
      ctx.fillStyle = fill;
      for (var i = 0; i < arr.length; i += 2) { ctx.beginPath(); ctx.arc(X(arr[i]), Y(arr[i + 1]), 2.2, 0, 6.2832); ctx.fill(); }
    }
    if (show.real) { dots(A.real, LIVE2D_COLOURS.real); }
    if (show.fake) { dots(A.fake, LIVE2D_COLOURS.fake); }
    if (show.arrows) {
      ctx.strokeStyle = LIVE2D_COLOURS.arrow; ctx.lineWidth = 1;
      ctx.beginPath();
      for (var i = 0; i < A.fake.length; i += 2) {
        var dx = arrowScale * A.arrows[i], dy = arrowScale * A.arrows[i + 1], len = Math.hypot(dx, dy);
        if (len > 1.0) { dx /= len; dy /= len; } // capped at one unit of the plane
        ctx.moveTo(X(A.fake[i]), Y(A.fake[i + 1])); ctx.lineTo(X(A.fake[i] + dx), Y(A.fake[i + 1] + dy));
      }
      ctx.stroke();
    }
    ctx.strokeStyle = "#999"; ctx.strokeRect(0.5, 0.5, size - 1, size - 1);
    plane.setAttribute("aria-label", "step " + f.step + ": real and fake samples on the plane [-" + e + ", " + e + "]\u00b2");
    drawCharts(f);
    stepOut.textContent = String(f.step);
    var m = f.metrics, k = m.step.length - 1, h = f.history, j = h.step.length - 1;
    rest.textContent = (j >= 0 ? "\u00b7 D loss " + h.d_loss[j].toFixed(3) + " \u00b7 G loss " + h.g_loss[j].toFixed(3) + " " : "") +
      (k >= 0 ? "\u00b7 modes " + m.captured[k] + "/" + f.n_modes + " \u00b7 JSD (binned) " + m.jsd[k].toFixed(3) +
        " (floor " + f.floors.jsd.toFixed(3) + ") \u00b7 W1 " + m.w1[k].toFixed(3) + " (floor " + f.floors.w1.toFixed(3) + ")" : "") +
      (f.error ? " \u00b7 " + f.error : "");
    frames += 1;
    root.dataset.frames = String(frames);
    root.dataset.step = String(f.step);
  }

  function drawCharts(f) {
    var ctx = charts.getContext("2d");
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, charts.width, charts.height);
    var h = f.history, m = f.metrics;
    var panels = [
      { title: "losses (nats): D, G", xs: h.step, series: [[h.d_loss, LIVE2D_COLOURS.dLoss], [h.g_loss, LIVE2D_COLOURS.gLoss]] },
      { title: "JSD, binned (nats); dashed: floor", xs: m.step, series: [[m.jsd, LIVE2D_COLOURS.jsd]], floor: f.floors.jsd, lo: 0 },
      { title: "W1, matched samples; dashed: floor", xs: m.step, series: [[m.w1, LIVE2D_COLOURS.w1]], floor: f.floors.w1, lo: 0 },
      { title: "modes captured (of " + f.n_modes + ")", xs: m.step, series: [[m.captured, LIVE2D_COLOURS.modes]], lo: 0, hi: f.n_modes },
    ];
    var maxStep = Math.max(1, f.step);
    panels.forEach(function (p, n) {
      var top = n * (chartH + 2) + 12, left = 38, w = chartW - left - 6, hh = chartH - 24;
      var lo = p.lo !== undefined ? p.lo : Infinity, hi = p.hi !== undefined ? p.hi : -Infinity;
      p.series.forEach(function (s) { s[0].forEach(function (v) { if (isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }); });
      if (p.floor !== undefined) { hi = Math.max(hi, p.floor); }
      if (!isFinite(lo) || !isFinite(hi)) { lo = 0; hi = 1; }
      if (hi - lo < 1e-6) { hi = lo + 1; }
      var X = function (x) { return left + w * x / maxStep; }, Y = function (y) { return top + hh - hh * (y - lo) / (hi - lo); };
      ctx.fillStyle = "#222"; ctx.font = "10px sans-serif";
      ctx.fillText(p.title, left, top - 2);
      ctx.fillText(hi.toPrecision(3), 2, top + 8); ctx.fillText(lo.toPrecision(3), 2, top + hh);
      ctx.strokeStyle = "#bbb"; ctx.strokeRect(left, top, w, hh);
      if (n === panels.length - 1) { ctx.fillText("step " + maxStep, left + w - 50, top + hh + 11); }
      if (p.floor !== undefined) {
        ctx.setLineDash([4, 3]); ctx.strokeStyle = "#888"; ctx.beginPath();
        ctx.moveTo(left, Y(p.floor)); ctx.lineTo(left + w, Y(p.floor)); ctx.stroke(); ctx.setLineDash([]);
      }
      p.series.forEach(function (s) {
        ctx.strokeStyle = s[1]; ctx.lineWidth = 1.2; ctx.beginPath();
        for (var i = 0; i < s[0].length; i++) {
          if (i === 0) { ctx.moveTo(X(p.xs[i]), Y(s[0][i])); } else { ctx.lineTo(X(p.xs[i]), Y(s[0][i])); }
        }
        ctx.stroke();
      });
    });
  }

  return { draw: draw };
}

// A labelled control.
function live2dControl(label, input) {
  var l = live2dElement("label", "live2d-control");
  l.append(label + " ", input);
  return l;
}

function live2dSelect(options, value) {
  var s = document.createElement("select");
  options.forEach(function (o) {
    var opt = document.createElement("option");
    opt.value = String(o[0]); opt.textContent = o[1];
    s.append(opt);
  });
  s.value = String(value);
  return s;
}
