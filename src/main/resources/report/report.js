// Draws the report's charts from the JSON in #report-data; the rest of the page is plain HTML.
"use strict";
window.addEventListener("error", function (e) { document.body.dataset.error = String(e.message); });
(function () {
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var COLORS = { SUCCEEDED: "#2e9e5b", FAILED: "#d64545", CANCELLED: "#8a8f98", RUNNING: "#3b7dd8", PENDING: "#c99a00" };
  var tip = document.getElementById("tip");

  function color(state) { return COLORS[data.states[state]] || "#555"; }

  function duration(ms) {
    var s = ms / 1000;
    if (s < 1) return Math.round(ms) + "ms";
    if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + "s";
    if (s < 3600) return Math.floor(s / 60) + "m" + String(Math.round(s % 60)).padStart(2, "0") + "s";
    if (s < 86400) return Math.floor(s / 3600) + "h" + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + "m";
    return Math.floor(s / 86400) + "d" + String(Math.floor(s % 86400 / 3600)).padStart(2, "0") + "h";
  }

  function bytes(b) {
    var units = ["B", "K", "M", "G", "T"], u = 0;
    while (b >= 1024 && u < units.length - 1) { b /= 1024; u++; }
    return (b >= 10 || u === 0 ? b.toFixed(0) : b.toFixed(1)) + units[u];
  }

  // A canvas sized to its box in CSS pixels, drawn at the screen's density.
  function surface(canvas, height) {
    var width = canvas.parentElement.clientWidth || 900, ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.height = height + "px";
    var g = canvas.getContext("2d");
    g.scale(ratio, ratio);
    g.font = "11px system-ui, sans-serif";
    return { g: g, width: width, height: height };
  }

  function timeAxis(s, left, top, plotWidth, span) {
    var g = s.g, ticks = 6;
    g.fillStyle = "#586069";
    g.strokeStyle = "#e1e4e8";
    for (var t = 0; t <= ticks; t++) {
      var x = left + plotWidth * t / ticks;
      g.beginPath(); g.moveTo(x, 0); g.lineTo(x, top); g.stroke();
      g.textAlign = t === 0 ? "left" : t === ticks ? "right" : "center";
      g.fillText(duration(span * t / ticks), x, top + 14);
    }
  }

  function drawTimeline() {
    var tl = data.timeline, canvas = document.getElementById("timeline");
    if (!canvas || !tl.started) return;
    var left = 48, axis = 20, span = tl.span;
    if (tl.bars) {
      var rowHeight = Math.max(0.5, Math.min(14, 420 / tl.slots));
      var s = surface(canvas, Math.ceil(tl.slots * rowHeight) + axis + 4), plotWidth = s.width - left - 8;
      var top = tl.slots * rowHeight;
      timeAxis(s, left, top, plotWidth, span);
      tl.bars.forEach(function (b) {
        s.g.fillStyle = color(b[3]);
        var x = left + plotWidth * b[1] / span, w = Math.max(1, plotWidth * (b[2] - b[1]) / span);
        s.g.fillRect(x, b[0] * rowHeight, w, Math.max(0.5, rowHeight - (rowHeight > 3 ? 1 : 0)));
      });
      s.g.fillStyle = "#586069"; s.g.textAlign = "right";
      s.g.fillText("slot", left - 6, 10);
      canvas.onmousemove = function (e) {
        var r = canvas.getBoundingClientRect(), x = e.clientX - r.left, y = e.clientY - r.top;
        var slot = Math.floor(y / rowHeight), at = (x - left) / plotWidth * span, hit = null;
        tl.bars.forEach(function (b) { if (b[0] === slot && b[1] <= at + span / plotWidth && b[2] >= at - span / plotWidth) hit = b; });
        if (!hit) { tip.style.display = "none"; return; }
        var id = tl.ids ? tl.ids[hit[4]] : "#" + hit[4];
        tip.textContent = id + ": " + data.states[hit[3]] + ", " + duration(hit[2] - hit[1]) + " from +" + duration(hit[1]);
        tip.style.left = (e.clientX + 12) + "px"; tip.style.top = (e.clientY + 12) + "px"; tip.style.display = "block";
      };
      canvas.onmouseleave = function () { tip.style.display = "none"; };
      return;
    }
    var chart = 70, rowH = Math.max(2, Math.min(6, 480 / tl.rows));
    var sg = surface(canvas, chart + tl.rows * rowH + axis + 4), pw = sg.width - left - 8, g = sg.g;
    var columnWidth = pw / tl.columns, peak = Math.max.apply(null, tl.running.concat([1]));
    g.fillStyle = "#3b7dd8";
    g.beginPath(); g.moveTo(left, chart - 6);
    tl.running.forEach(function (r, c) { g.lineTo(left + (c + 0.5) * columnWidth, chart - 6 - (chart - 20) * r / peak); });
    g.lineTo(left + pw, chart - 6); g.closePath(); g.globalAlpha = 0.35; g.fill(); g.globalAlpha = 1;
    g.fillStyle = "#586069"; g.textAlign = "right";
    g.fillText(Math.round(peak) + " running", left + pw, 11);
    g.fillText("slots", left - 6, chart + 10);
    for (var i = 0; i < tl.cells.length; i++) {
      var cell = tl.cells[i];
      if (cell < 0) continue;
      g.fillStyle = color(Math.floor(cell / 128));
      g.globalAlpha = 0.2 + 0.8 * (cell % 128) / 100;
      g.fillRect(left + (i % tl.columns) * columnWidth, chart + Math.floor(i / tl.columns) * rowH,
        Math.ceil(columnWidth), rowH);
    }
    g.globalAlpha = 1;
    timeAxis(sg, left, chart + tl.rows * rowH, pw, span);
  }

  function drawHistogram(id, h, label) {
    var canvas = document.getElementById(id);
    if (!canvas || !h) return;
    var s = surface(canvas, 200), g = s.g, left = 40, bottom = 180, pw = s.width - left - 10;
    var most = 1;
    h.bins.forEach(function (b) { most = Math.max(most, b[0] + b[1]); });
    var w = pw / h.bins.length;
    h.bins.forEach(function (b, i) {
      var ok = (bottom - 10) * b[0] / most, bad = (bottom - 10) * b[1] / most;
      g.fillStyle = COLORS.SUCCEEDED; g.fillRect(left + i * w, bottom - ok, Math.max(1, w - 1), ok);
      g.fillStyle = COLORS.FAILED; g.fillRect(left + i * w, bottom - ok - bad, Math.max(1, w - 1), bad);
    });
    g.fillStyle = "#586069";
    g.textAlign = "right"; g.fillText(String(most), left - 4, 14); g.fillText("0", left - 4, bottom);
    var fmt = label === "bytes" ? bytes : function (v) { return duration(v * 1000); };
    g.textAlign = "left"; g.fillText(fmt(h.from), left, bottom + 14);
    g.textAlign = "right"; g.fillText(fmt(h.to), left + pw, bottom + 14);
  }

  function drawAll() {
    drawTimeline();
    drawHistogram("hist-duration", data.histograms.duration, "seconds");
    drawHistogram("hist-memory", data.histograms.memory, "bytes");
  }
  drawAll();
  window.addEventListener("resize", drawAll);
  if (!document.body.dataset.error) document.body.dataset.rendered = "ok";
})();
