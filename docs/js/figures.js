// The book's live figures: each is a static picture (drawn at build time by tools/figures.py) with
// controls. The first time a reader uses a control, the page's Python loads (js/python.js) and the
// picture is replaced by one drawn from what microgpt.explore computes there, for the reader's input.
// Nothing here computes a model's number: this file only draws what Python returns.
(() => {
  const python = window.microgptPython;
  const { el, frame, polyline, widthIn } = window.microgptPlot;

  function html(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "className") node.className = v;
      else node.setAttribute(k, v);
    }
    node.append(...children);
    return node;
  }

  function control(labelText, input, output) {
    const label = html("label", { className: "figure-control" }, html("span", {}, labelText), input);
    if (output) label.append(output);
    return label;
  }

  function input(attrs) {
    return html("input", attrs);
  }

  function fmt(x, digits = 4) {
    return Number(x).toFixed(digits);
  }

  // A figure: its static picture, controls, a status line, and a live area filled from Python.
  class Live {
    constructor(figure) {
      this.figure = figure;
      const img = figure.querySelector("img");
      this.picture = img?.closest("a") ?? img;  // the static picture, with its link to the full size
      this.controls = html("div", { className: "figure-controls" });
      this.status = html("p", { className: "figure-status", role: "status" });
      this.live = html("div", { className: "figure-live" });
      this.live.hidden = true;
      this.sequence = 0;
      const first = this.picture ?? figure.querySelector("figcaption");
      figure.insertBefore(this.controls, first);
      figure.insertBefore(this.status, first);
      this.status.after(this.live);
    }

    // Ask Python for fresh numbers; only the answer to the latest question is drawn.
    async compute(name, args) {
      const n = ++this.sequence;
      const started = performance.now();
      this.figure.dataset.state = "computing";
      this.status.textContent = python.info.python ? "computing..." : "loading Python into the page (a few seconds, once)...";
      try {
        const value = await python.call(name, args);
        if (n !== this.sequence) return null;
        this.status.textContent = "";
        this.figure.dataset.seconds = ((performance.now() - started) / 1000).toFixed(3);
        if (value.error) {
          this.status.textContent = value.error;
          this.figure.dataset.state = "error";
          return null;
        }
        return value;
      } catch (error) {
        if (n === this.sequence) {
          this.status.textContent = `The page's Python failed: ${error.message}`;
          this.figure.dataset.state = "error";
        }
        return null;
      }
    }

    show(...nodes) {
      this.live.replaceChildren(...nodes);
      this.live.hidden = false;
      if (this.picture) this.picture.hidden = true;
      this.figure.dataset.state = this.pending ? "computing" : "ready";
    }
  }

  // f, called once the reader pauses for ms; the figure says at once that a new result is coming
  function debounce(f, ms, live) {
    let timer;
    return (...args) => {
      live.figure.dataset.state = "computing";
      live.pending = true;  // a result that arrives meanwhile is drawn, but the figure is not ready yet
      clearTimeout(timer);
      timer = setTimeout(() => {
        live.pending = false;
        f(...args);
      }, ms);
    };
  }

  // --- 1. Tokenizer: each character's id, or the error the tokenizer gives for it ------------------
  function tokens(figure) {
    const live = new Live(figure);
    const text = input({ type: "text", value: figure.dataset.text ?? "", maxlength: "40", spellcheck: "false",
      name: "text" });
    live.controls.append(control("text", text));
    const update = debounce(async () => {
      const t = await live.compute("tokens", [text.value]);
      if (!t) return;
      const row = html("ol", { className: "token-row", "aria-label": "the characters and their token ids" });
      for (const p of t.pieces) {
        const known = p.id !== null;
        row.append(html("li", { className: known ? "token" : "token unknown" },
          html("span", { className: "token-char" }, p.char === " " ? "␣" : p.char),
          html("span", { className: "token-id" }, known ? String(p.id) : "?")));
      }
      const errors = t.pieces.filter((p) => p.id === null)
        .map((p) => html("li", { className: "token-error" }, `'${p.char}': ${p.error}`));
      live.show(row, html("ul", { className: "token-errors" }, ...errors),
        html("p", { className: "token-ids" }, `ids [${t.ids.join(", ")}] → decode: '${t.decoded}' ` +
          `(BOS, the start and end of every name, is id ${t.bos})`));
    }, 150, live);
    text.addEventListener("input", update);
  }

  // --- 2. Autograd: L = a*b + a, and backward() one node at a time -------------------------------
  const PLACES = { a: [20, 80, "a"], b: [20, 190, "b"], c: [220, 135, "c = a*b"], L: [420, 135, "L = c + a"] };

  function autograd(figure) {
    const live = new Live(figure);
    const a = input({ type: "number", value: "2", step: "0.5", name: "a" });
    const b = input({ type: "number", value: "3", step: "0.5", name: "b" });
    const step = html("button", { type: "button", className: "md-button run-button" }, "Step backward");
    const all = html("button", { type: "button", className: "md-button run-button" }, "Show the result");
    live.controls.append(control("a", a), control("b", b), step, all);
    const said = html("p", { className: "backward-step", "aria-live": "polite" });
    let trace = null;
    let k = 0;

    function draw() {
      const s = trace.steps[k];
      const nodes = Object.fromEntries(trace.nodes.map((n) => [n.name, n]));
      const svg = el("svg", { viewBox: "0 0 560 270", class: "live-plot graph-plot", role: "img",
        "aria-label": `the graph of L = a*b + a at step ${k + 1} of ${trace.steps.length}` });
      const arrived = new Set(s.arrivals.map((x) => x.to));
      const edge = (x1, y1, x2, y2, text, bend, active) => {
        const mx = (x1 + x2) / 2, my = (y1 + y2) / 2 - bend;
        svg.append(el("path", { d: `M${x1},${y1} Q${mx},${my} ${x2},${y2}`, class: active ? "edge active" : "edge" }));
        svg.append(el("text", { x: mx, y: (y1 + y2) / 2 - bend / 2 - 6, "text-anchor": "middle",
          class: "edge-label" }, text));
      };
      const c = nodes.c, L = nodes.L;
      // the edges carry local gradients, as in the static picture
      edge(140, 106, 218, 155, `local: b = ${c.local_grads[0]}`, 0, s.node === "c" && arrived.has("a"));
      edge(140, 216, 218, 173, `local: a = ${c.local_grads[1]}`, -10, s.node === "c" && arrived.has("b"));
      edge(340, 161, 418, 161, `local: ${L.local_grads[0]}`, 0, s.node === "L" && arrived.has("c"));
      edge(80, 80, 470, 133, `local: ${L.local_grads[1]}`, 110, s.node === "L" && arrived.has("a"));
      for (const [name, [x, y, title]] of Object.entries(PLACES)) {
        const cls = name === s.node ? "node sending" : arrived.has(name) ? "node receiving" : "node";
        svg.append(el("rect", { x, y, width: 120, height: 52, rx: 6, class: cls }));
        svg.append(el("text", { x: x + 60, y: y + 21, "text-anchor": "middle", class: "node-title" }, title));
        svg.append(el("text", { x: x + 60, y: y + 39, "text-anchor": "middle", class: "node-values" },
          `data ${nodes[name].data}   grad ${s.grads[name]}`));
      }
      const sends = s.arrivals.map((x) => `${x.local} × ${s.grads[s.node] ?? ""} = ${x.amount} to ${x.to}`);
      said.textContent = `step ${k + 1} of ${trace.steps.length}: ` + (s.start ? "backward() begins with L.grad = 1"
        : sends.length ? `${s.node}'s turn: it sends ${sends.join(", and ")}`
          : `${s.node}'s turn: a leaf, it has no children to send to`);
      const twice = trace.steps.slice(0, k + 1).flatMap((x) => x.arrivals).filter((x) => x.to === "a");
      if (twice.length === 2) said.textContent += `; a has now received two contributions, ${twice[0].amount} and ` +
        `${twice[1].amount}: grad ${s.grads.a}`;
      live.show(svg, said);
    }

    const update = debounce(async (at) => {
      const t = await live.compute("backward_steps", [Number(a.value), Number(b.value)]);
      if (!t) return;
      trace = t;
      k = at === "end" ? trace.steps.length - 1 : 0;
      draw();
    }, 150, live);
    a.addEventListener("input", () => update("end"));
    b.addEventListener("input", () => update("end"));
    step.addEventListener("click", () => {
      if (!trace) return update(0);
      k = (k + 1) % trace.steps.length;
      draw();
    });
    all.addEventListener("click", () => {
      if (!trace) return update("end");
      k = trace.steps.length - 1;
      draw();
    });
  }

  // --- 3. Next letter: the trained model's distribution, a temperature, and one sampled letter ----
  function bars(dist, prefix, width) {
    const n = dist.labels.length;
    const top = Math.max(...dist.probs, ...dist.probs_at_1);
    const ymax = Math.ceil(top * 10) / 10;
    const f = frame({ x: [-0.5, n - 0.5], y: [0, ymax], width, height: 250, ylabel: "probability",
      xlabel: "the next token", xticks: dist.labels.map((l, i) => [i, l === "BOS" ? "BOS" : l]),
      title: `after BOS${prefix ? ` + '${prefix}'` : ""}: T = 1 (grey) and T = ${dist.temperature} (blue)` });
    const w = f.pw / n / 2.4;
    dist.labels.forEach((label, i) => {
      for (const [k, p, cls] of [[-1, dist.probs_at_1[i], "bar-t1"], [0, dist.probs[i], "bar-t"]]) {
        const r = el("rect", { x: f.x(i) + k * w, y: f.y(p), width: w, height: f.y(0) - f.y(p), class: cls });
        r.append(el("title", {}, `${label}: ${fmt(p)} at T = ${k ? 1 : dist.temperature}`));
        f.plot.append(r);
      }
    });
    return f.svg;
  }

  function nextLetter(figure) {
    const live = new Live(figure);
    const prefix = input({ type: "text", value: figure.dataset.prefix ?? "", maxlength: "15", spellcheck: "false",
      name: "prefix" });
    const temperature = input({ type: "range", min: "0.1", max: "2", step: "0.05", value: "0.5", name: "temperature" });
    const shown = html("output", {}, "0.5");
    const sampleButton = html("button", { type: "button", className: "md-button run-button" }, "Sample a letter");
    live.controls.append(control("start of a name", prefix), control("temperature", temperature, shown), sampleButton);
    const top = html("p", { className: "figure-values" });
    let seed = 0;
    const update = debounce(async () => {
      shown.textContent = temperature.value;
      const dist = await live.compute("next_letter", [prefix.value, Number(temperature.value)]);
      if (!dist) return;
      const ranked = dist.labels.map((l, i) => [dist.probs[i], l]).sort((x, y) => y[0] - x[0]).slice(0, 5);
      top.textContent = `most likely at T = ${dist.temperature}: ` + ranked.map(([p, l]) => `${l} ${fmt(p)}`).join(", ");
      live.show(bars(dist, prefix.value, widthIn(figure, 600)), top);
    }, 60, live);
    prefix.addEventListener("input", update);
    temperature.addEventListener("input", update);
    sampleButton.addEventListener("click", async () => {
      const drawn = await live.compute("sample_letter", [prefix.value, Number(temperature.value), seed++]);
      if (!drawn) return;
      if (drawn.ended) {
        live.status.textContent = `drew BOS (seed ${seed - 1}): the model ends the name here`;
        live.figure.dataset.state = "ready";
        return;
      }
      prefix.value += drawn.label;
      update();
    });
  }

  // --- 4. Attention: every head's weights while the model reads a name ---------------------------
  function attention(figure) {
    const live = new Live(figure);
    const name = input({ type: "text", value: figure.dataset.name ?? "emma", maxlength: "15", spellcheck: "false",
      name: "name" });
    live.controls.append(control("name", name));
    const readout = html("p", { className: "figure-values", "aria-live": "polite" },
      "Hover over or focus a cell (Tab) to read its weight.");
    const update = debounce(async () => {
      const att = await live.compute("attention", [name.value]);
      if (!att) return;
      const n = att.labels.length, cell = 26, pad = 34;
      const maps = att.heads.map((weights, h) => {
        const size = pad + n * cell + 4;
        const svg = el("svg", { viewBox: `0 0 ${size} ${size + 30}`, width: size, class: "live-plot heatmap",
          role: "group", "aria-label": `head ${h}` });
        svg.append(el("text", { x: pad + (n * cell) / 2, y: 12, "text-anchor": "middle", class: "plot-title" },
          `head ${h}`));
        att.labels.forEach((l, i) => {
          svg.append(el("text", { x: pad - 4, y: 20 + i * cell + cell / 2 + 4, "text-anchor": "end" }, l));
          svg.append(el("text", { x: pad + i * cell + cell / 2, y: 20 + n * cell + 14, "text-anchor": "middle" }, l));
        });
        weights.forEach((row, t) => row.forEach((w, s) => {
          const text = `head ${h}: position ${t} (${att.labels[t]}) gives ${fmt(w)} of its attention to ` +
            `position ${s} (${att.labels[s]})`;
          const g = el("g", { tabindex: "0", class: "cell", "aria-label": text });
          g.append(el("rect", { x: pad + s * cell, y: 20 + t * cell, width: cell - 1, height: cell - 1,
            style: `fill-opacity: ${0.08 + 0.92 * w}` }));
          g.append(el("text", { x: pad + s * cell + cell / 2, y: 20 + t * cell + cell / 2 + 4, "text-anchor": "middle",
            class: w > 0.6 ? "cell-value strong" : "cell-value" }, w < 1 ? w.toFixed(2).slice(1) : "1"));
          const say = () => { readout.textContent = text; };
          g.addEventListener("mouseenter", say);
          g.addEventListener("focus", say);
          svg.append(g);
        }));
        return svg;
      });
      live.show(html("div", { className: "heatmaps" }, ...maps), readout,
        html("p", { className: "figure-axes" }, "rows: the position reading; columns: the position it attends to"));
    }, 150, live);
    name.addEventListener("input", update);
  }

  // --- 5. Embeddings: the trained token embeddings in two dimensions, and their nearest ----------
  function embeddings(figure) {
    const live = new Live(figure);
    const letter = html("select", { name: "token" });
    for (const l of "abcdefghijklmnopqrstuvwxyz".split("").concat(["BOS"])) letter.append(new Option(l, l));
    const show = html("button", { type: "button", className: "md-button run-button" }, "Show its neighbours");
    live.controls.append(control("token", letter), show);
    const list = html("p", { className: "figure-values", "aria-live": "polite" });
    let points = null;
    async function update() {
      const started = performance.now();
      points ??= await live.compute("embeddings", []);
      const near = points && await live.compute("neighbours", [letter.value, 5]);
      if (!near) return;
      figure.dataset.seconds = ((performance.now() - started) / 1000).toFixed(3);  // both calls
      const xs = points.points.map((p) => p[0]), ys = points.points.map((p) => p[1]);
      const pad = (lo, hi) => [lo - (hi - lo) * 0.06, hi + (hi - lo) * 0.06];
      const f = frame({ x: pad(Math.min(...xs), Math.max(...xs)), y: pad(Math.min(...ys), Math.max(...ys)),
        width: widthIn(figure, 420), height: 380, xlabel: `first principal direction (${Math.round(points.variance[0] * 100)}% of the spread)`,
        ylabel: `second (${Math.round(points.variance[1] * 100)}%)` });
      const at = Object.fromEntries(points.labels.map((l, i) => [l, points.points[i]]));
      for (const { label } of near.nearest) {
        f.plot.append(el("line", { x1: f.x(at[near.token][0]), y1: f.y(at[near.token][1]), x2: f.x(at[label][0]),
          y2: f.y(at[label][1]), class: "near-line" }));
      }
      const nearSet = new Set(near.nearest.map((n) => n.label));
      points.labels.forEach((l, i) => {
        const [x, y] = points.points[i];
        const cls = l === near.token ? "point chosen" : nearSet.has(l) ? "point near" : "point";
        const g = el("g", { tabindex: "0", class: cls, "aria-label": `${l}: ${fmt(x, 3)}, ${fmt(y, 3)}` });
        g.append(el("circle", { cx: f.x(x), cy: f.y(y), r: 4 }));
        g.append(el("text", { x: f.x(x) + 6, y: f.y(y) - 4 }, l));
        const choose = () => { letter.value = l; update(); };
        g.addEventListener("click", choose);
        g.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); choose(); } });
        f.plot.append(g);
      });
      list.textContent = `nearest to ${near.token} in all 16 dimensions (cosine): ` +
        near.nearest.map((n) => `${n.label} ${fmt(n.cosine)}`).join(", ");
      live.show(f.svg, list);
    }
    letter.addEventListener("change", update);
    show.addEventListener("click", update);
  }

  // --- 6. Adam against plain gradient descent in a narrow valley ---------------------------------
  function valley(figure) {
    const live = new Live(figure);
    const sliders = [["lr", "learning rate", 0.01, 1, 0.01, 0.1], ["beta1", "beta1", 0, 0.99, 0.01, 0.85],
      ["beta2", "beta2", 0.5, 0.999, 0.001, 0.99]].map(([name, label, min, max, step, value]) => {
      const range = input({ type: "range", name, min, max, step, value });
      const out = html("output", {}, String(value));
      live.controls.append(control(label, range, out));
      return [range, out];
    });
    const legend = html("p", { className: "figure-values" });
    const update = debounce(async () => {
      sliders.forEach(([range, out]) => { out.textContent = range.value; });
      const v = await live.compute("valley", sliders.map(([range]) => Number(range.value)));
      if (!v) return;
      const f = frame({ x: [-6.5, 6.5], y: [-1.6, 1.6], width: widthIn(figure, 480), height: 260, xlabel: "x", ylabel: "y",
        title: "f(x, y) = x²/20 + y², from (−4, 1)" });
      const clip = el("clipPath", { id: "valley-clip" });
      clip.append(el("rect", { x: f.margin.left, y: f.margin.top, width: f.pw, height: f.ph }));
      f.svg.append(clip);
      f.plot.setAttribute("clip-path", "url(#valley-clip)");
      for (const c of v.contours) f.plot.append(polyline(c.map(([x, y]) => [f.x(x), f.y(y)]), { class: "contour" }));
      for (const [name, cls] of [["descent", "path-descent"], ["adam", "path-adam"]]) {
        const pts = v.paths[name].map(([x, y]) => [f.x(x), f.y(y)]);
        f.plot.append(polyline(pts, { class: cls }));
        for (const [x, y] of pts) f.plot.append(el("circle", { cx: x, cy: y, r: 1.8, class: cls }));
      }
      const say = (name, label) => `${label}: loss ${fmt(v.final_loss[name])} after ${v.paths[name].length - 1} steps`;
      legend.replaceChildren(html("span", { className: "key-descent" }, "● " + say("descent", "gradient descent")),
        "   ", html("span", { className: "key-adam" }, "● " + say("adam", "Adam")));
      live.show(f.svg, legend);
    }, 80, live);
    sliders.forEach(([range]) => range.addEventListener("input", update));
  }

  const KINDS = { tokens, autograd, "next-letter": nextLetter, attention, embeddings, valley };

  document$.subscribe(() => {
    for (const figure of document.querySelectorAll(".live-figure[data-figure]")) {
      if (figure.dataset.live) continue;
      figure.dataset.live = "yes";
      KINDS[figure.dataset.figure]?.(figure);
    }
    document.documentElement.dataset.figures = "ready";  // for the tests: every control is in place
  });
})();
