// Small SVG drawing helpers for the live figures (js/figures.js) and the trainer's loss curve
// (js/runner.js). They only draw: every number they are given was computed by the page's Python.
(() => {
  const NS = "http://www.w3.org/2000/svg";

  function el(tag, attrs = {}, text) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Round tick values covering [lo, hi], about `count` of them.
  function ticks(lo, hi, count = 5) {
    const raw = (hi - lo) / count;
    const unit = 10 ** Math.floor(Math.log10(raw || 1));
    const step = [1, 2, 5, 10].map((m) => m * unit).find((s) => s >= raw) || unit;
    const out = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(+t.toPrecision(12));
    return out;
  }

  // The width to draw at inside `container`: its own, but never below `least` (narrower scrolls sideways),
  // so that the labels keep their size on a phone.
  function widthIn(container, least) {
    return Math.max(least, Math.round(container.clientWidth || 640));
  }

  // An SVG with a plotting frame: x and y scales, labelled axes with ticks. Returns {svg, x, y, plot}.
  function frame({ width = 640, height = 260, x: [x0, x1], y: [y0, y1], xlabel, ylabel, title,
    xticks, yticks, margin = { left: 52, right: 12, top: title ? 24 : 10, bottom: 40 } }) {
    const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, class: "live-plot", role: "img",
      style: `min-width: ${width}px` });
    if (title) svg.append(el("title", {}, title));
    const pw = width - margin.left - margin.right;
    const ph = height - margin.top - margin.bottom;
    const x = (v) => margin.left + ((v - x0) / (x1 - x0 || 1)) * pw;
    const y = (v) => margin.top + ph - ((v - y0) / (y1 - y0 || 1)) * ph;
    const axes = el("g", { class: "axes" });
    axes.append(el("line", { x1: margin.left, y1: margin.top + ph, x2: margin.left + pw, y2: margin.top + ph }));
    axes.append(el("line", { x1: margin.left, y1: margin.top, x2: margin.left, y2: margin.top + ph }));
    for (const t of xticks ?? ticks(x0, x1)) {
      if (typeof t === "number" && (t < x0 || t > x1)) continue;
      const [value, label] = Array.isArray(t) ? t : [t, String(t)];
      axes.append(el("line", { x1: x(value), x2: x(value), y1: margin.top + ph, y2: margin.top + ph + 4 }));
      axes.append(el("text", { x: x(value), y: margin.top + ph + 16, "text-anchor": "middle" }, label));
    }
    for (const t of yticks ?? ticks(y0, y1)) {
      if (t < y0 || t > y1) continue;
      axes.append(el("line", { x1: margin.left - 4, x2: margin.left, y1: y(t), y2: y(t) }));
      axes.append(el("text", { x: margin.left - 7, y: y(t) + 4, "text-anchor": "end" }, String(t)));
    }
    if (xlabel) axes.append(el("text", { x: margin.left + pw / 2, y: height - 6, "text-anchor": "middle",
      class: "axis-label" }, xlabel));
    if (ylabel) axes.append(el("text", { x: 14, y: margin.top + ph / 2, "text-anchor": "middle", class: "axis-label",
      transform: `rotate(-90 14 ${margin.top + ph / 2})` }, ylabel));
    if (title) axes.append(el("text", { x: margin.left + pw / 2, y: 15, "text-anchor": "middle",
      class: "plot-title" }, title));
    svg.append(axes);
    const plot = el("g");
    svg.append(plot);
    return { svg, x, y, plot, width, height, margin, pw, ph };
  }

  function polyline(points, attrs) {
    return el("polyline", { points: points.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(" "),
      fill: "none", ...attrs });
  }

  window.microgptPlot = { el, ticks, frame, polyline, widthIn };
})();
