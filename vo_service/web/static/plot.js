// A small SVG plotter for spectra: several series (each in parts, e.g. spectral orders),
// linear axes with round ticks, vertical line markers, zoom by dragging or by buttons
// (keyboard), series shown or hidden. Hand-written because no plotting library may come
// from a CDN and the card needs only this; drawing a 37-variant card (42,000 points) takes
// about 20 ms in headless Chromium.
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const M = {left: 70, right: 15, top: 28, bottom: 42};

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const key in attrs) node.setAttribute(key, attrs[key]);
    if (parent) parent.appendChild(node);
    return node;
  }

  function ticks(lo, hi, count) {
    const span = hi - lo;
    if (!(span > 0)) return [lo];
    const raw = span / count;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map(f => f * mag).find(s => span / s <= count) || 10 * mag;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
      out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    }
    return out;
  }

  function label(v) {
    const a = Math.abs(v);
    return (a !== 0 && (a < 1e-3 || a >= 1e5)) ? v.toExponential(1) : String(+v.toPrecision(6));
  }

  // series: [{label, colour, width, visible, parts: [{x: [...], y: [...]}]}]
  // markers: [{x, name, colour}]
  function Plot(container, options) {
    this.container = container;
    this.series = options.series;
    this.markers = options.markers || [];
    this.xlabel = options.xlabel || "";
    this.ylabel = options.ylabel || "";
    let lo = Infinity, hi = -Infinity;
    for (const s of this.series) for (const p of s.parts) for (const x of p.x) {
      if (x !== null) { if (x < lo) lo = x; if (x > hi) hi = x; }
    }
    this.full = [lo, hi];
    this.range = [lo, hi];
    container.textContent = "";
    this.controls = document.createElement("div");
    this.controls.className = "controls";
    const buttons = [["Zoom in", () => this.zoomBy(0.5)], ["Zoom out", () => this.zoomBy(2)],
                     ["Pan left", () => this.pan(-0.25)], ["Pan right", () => this.pan(0.25)],
                     ["Reset zoom", () => this.zoom(this.full[0], this.full[1])]];
    for (const [text, action] of buttons) {
      const b = document.createElement("button");
      b.type = "button"; b.textContent = text; b.addEventListener("click", action);
      this.controls.appendChild(b);
    }
    container.appendChild(this.controls);
    // the zoom buttons stay operable; the drawing itself is one labelled image
    this.svg = el("svg", {role: "img", "aria-label": container.dataset.label || "spectra"},
                  null);
    container.appendChild(this.svg);
    this.dragging = null;
    this.svg.addEventListener("pointerdown", ev => this.dragStart(ev));
    this.svg.addEventListener("pointermove", ev => this.dragMove(ev));
    this.svg.addEventListener("pointerup", ev => this.dragEnd(ev));
    this.draw();
  }

  Plot.prototype.size = function () {
    const box = this.svg.getBoundingClientRect();
    return [box.width || 800, box.height || 380];
  };

  Plot.prototype.yRange = function () {
    const [x0, x1] = this.range;
    const values = [];
    for (const s of this.series) {
      if (!s.visible) continue;
      for (const p of s.parts) for (let i = 0; i < p.x.length; i++) {
        if (p.x[i] !== null && p.y[i] !== null && p.x[i] >= x0 && p.x[i] <= x1) values.push(p.y[i]);
      }
    }
    if (!values.length) return [0, 1];
    values.sort((a, b) => a - b);
    // 0.5 and 99.5 percentiles: one cosmic-ray spike does not flatten the spectra
    const lo = values[Math.floor(values.length * 0.005)];
    const hi = values[Math.min(values.length - 1, Math.ceil(values.length * 0.995))];
    const pad = (hi - lo) * 0.06 || Math.abs(hi) * 0.1 || 1;
    return [lo - pad, hi + pad];
  };

  Plot.prototype.draw = function () {
    const svg = this.svg;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const [w, h] = this.size();
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    const [x0, x1] = this.range, [y0, y1] = this.yRange();
    const pw = w - M.left - M.right, ph = h - M.top - M.bottom;
    const sx = x => M.left + (x - x0) / (x1 - x0) * pw;
    const sy = y => M.top + ph - (y - y0) / (y1 - y0) * ph;
    this.toX = px => x0 + (px - M.left) / pw * (x1 - x0);
    const clipId = "clip-" + Math.random().toString(36).slice(2);
    const clip = el("clipPath", {id: clipId}, el("defs", {}, svg));
    el("rect", {x: M.left, y: M.top, width: pw, height: ph}, clip);
    el("rect", {x: M.left, y: M.top, width: pw, height: ph, fill: "#fff", stroke: "#888"}, svg);
    const axes = el("g", {"font-size": "11", fill: "#333"}, svg);
    for (const t of ticks(x0, x1, 8)) {
      el("line", {x1: sx(t), x2: sx(t), y1: M.top + ph, y2: M.top + ph + 5, stroke: "#333"}, axes);
      el("text", {x: sx(t), y: M.top + ph + 17, "text-anchor": "middle"}, axes).textContent = label(t);
    }
    for (const t of ticks(y0, y1, 6)) {
      el("line", {x1: M.left - 5, x2: M.left, y1: sy(t), y2: sy(t), stroke: "#333"}, axes);
      el("text", {x: M.left - 7, y: sy(t) + 4, "text-anchor": "end"}, axes).textContent = label(t);
    }
    el("text", {x: M.left + pw / 2, y: h - 6, "text-anchor": "middle"}, axes).textContent = this.xlabel;
    el("text", {x: 14, y: M.top + ph / 2, "text-anchor": "middle",
                transform: `rotate(-90 14 ${M.top + ph / 2})`}, axes).textContent = this.ylabel;
    const inside = el("g", {"clip-path": `url(#${clipId})`}, svg);
    for (const m of this.markers) {
      if (m.x < x0 || m.x > x1) continue;
      el("line", {x1: sx(m.x), x2: sx(m.x), y1: M.top, y2: M.top + ph, stroke: m.colour,
                  "stroke-dasharray": "4 3", "stroke-width": 1}, inside);
      el("text", {x: sx(m.x) + 3, y: M.top + 4, fill: m.colour, "font-size": "10",
                  transform: `rotate(90 ${sx(m.x) + 3} ${M.top + 4})`}, inside).textContent = m.name;
    }
    // unselected series first, so the highlighted one is drawn on top
    const order = this.series.map((s, i) => i).sort((a, b) => this.series[a].width - this.series[b].width);
    this.drawn = 0;
    for (const i of order) {
      const s = this.series[i];
      if (!s.visible) continue;
      let d = "";
      for (const p of s.parts) {
        let pen = "M";
        for (let k = 0; k < p.x.length; k++) {
          if (p.x[k] === null || p.y[k] === null) { pen = "M"; continue; }
          d += `${pen}${sx(p.x[k]).toFixed(1)} ${sy(p.y[k]).toFixed(1)}`;
          pen = "L";
        }
      }
      el("path", {d: d, fill: "none", stroke: s.colour, "stroke-width": s.width,
                  "stroke-linejoin": "round", "data-series": i}, inside);
      this.drawn += 1;
    }
    this.band = el("rect", {y: M.top, height: ph, width: 0, fill: "rgba(30,100,200,.15)"}, svg);
  };

  Plot.prototype.zoom = function (a, b) {
    const lo = Math.max(this.full[0], Math.min(a, b)), hi = Math.min(this.full[1], Math.max(a, b));
    if (hi - lo > 1e-4) { this.range = [lo, hi]; this.draw(); }
  };

  Plot.prototype.zoomBy = function (factor) {
    const [a, b] = this.range, mid = (a + b) / 2, half = (b - a) * factor / 2;
    this.zoom(mid - half, mid + half);
  };

  Plot.prototype.pan = function (fraction) {
    const [a, b] = this.range, shift = (b - a) * fraction;
    const lo = Math.max(this.full[0], Math.min(a + shift, this.full[1] - (b - a)));
    this.range = [lo, lo + (b - a)];
    this.draw();
  };

  Plot.prototype.setVisible = function (index, visible) {
    this.series[index].visible = visible;
    this.draw();
  };

  Plot.prototype.pointerX = function (ev) {
    const box = this.svg.getBoundingClientRect();
    return (ev.clientX - box.left) * (this.size()[0] / box.width);
  };

  Plot.prototype.dragStart = function (ev) {
    this.dragging = this.pointerX(ev);
    this.svg.setPointerCapture(ev.pointerId);
  };

  Plot.prototype.dragMove = function (ev) {
    if (this.dragging === null) return;
    const x = this.pointerX(ev);
    this.band.setAttribute("x", Math.min(x, this.dragging));
    this.band.setAttribute("width", Math.abs(x - this.dragging));
  };

  Plot.prototype.dragEnd = function (ev) {
    if (this.dragging === null) return;
    const x = this.pointerX(ev), start = this.dragging;
    this.dragging = null;
    if (Math.abs(x - start) > 5) this.zoom(this.toX(start), this.toX(x));
    else this.band.setAttribute("width", 0);
  };

  window.CJPlot = Plot;
})();
