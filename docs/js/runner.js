// Run buttons on the book's examples, and "Train it here": the tangled package runs in the page's
// Python (js/python.js). Each run is a job with its own output; Stop ends it; an edited example can
// be reset to the book's code. An example whose imports the page cannot provide (marked by
// tools/page_blocks.py at build time) gets a note with the command that runs it locally instead.
(() => {
  const python = window.microgptPython;
  const { el: svg, frame, polyline, widthIn } = window.microgptPlot;
  const EXAMPLE_SECONDS = 120;  // an example that runs longer is stopped (one that loops, say); tests may lower it
  const MAX_OUTPUT = 200_000;  // characters: past this a job is stopped, so the page stays usable

  function button(label, onClick, className = "") {
    const b = document.createElement("button");
    b.className = `md-button run-button ${className}`;
    b.type = "button";
    b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }

  function element(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // What a job is doing, as a reader wants to read it.
  function describe(state, detail) {
    if (state === "queued") {
      return `waiting: the page's ${detail.busy} Pythons are busy` + (detail.ahead ? ` (${detail.ahead} ahead)` : "");
    }
    if (state === "loading") return "loading Python into the page (a few seconds, once)...";
    if (state === "running") return `running in Python ${detail.python} in this page...`;
    return "";
  }

  function seconds(s) {
    return s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`;
  }

  // An output box that takes appended text, and stops its job when it gets too long.
  function outputBox(className) {
    const output = element("pre", `run-output ${className}`);
    output.hidden = true;
    output.setAttribute("tabindex", "0");
    output.setAttribute("aria-label", "output");
    output.length = 0;
    output.reset = () => {
      output.textContent = "";
      output.length = 0;
      output.hidden = false;
    };
    output.add = (text, job) => {
      if (output.length > MAX_OUTPUT) return;
      output.length += text.length;
      output.append(text);
      if (output.length > MAX_OUTPUT) job?.stop(`stopped: it printed more than ${MAX_OUTPUT.toLocaleString()} characters`);
      output.scrollTop = output.scrollHeight;
    };
    output.note = (text, kind) => {
      const span = element("span", `run-${kind}`, text.endsWith("\n") ? text : text + "\n");
      output.append(span);
    };
    return output;
  }

  // How a finished job ended, in its output box and status line.
  function report(result, output, status, what) {
    if (result.error) output.note(result.error, "error");
    if (result.stopped) {
      output.note(result.reason + (result.killed ? " (its Python was ended; the next run starts a new one)" : ""),
        "stopped");
    }
    const took = result.seconds ? `${what} in ${seconds(result.seconds)}` : what;
    status.textContent = result.error ? `error · Python ${python.info.python ?? "?"} in this page`
      : `${took} · Python ${python.info.python ?? "?"} in this page`;
  }

  function needsNote(block) {
    const note = element("p", "run-needs");
    const modules = block.dataset.needs.split(" ");
    note.append(`No Run button here: this example needs ${modules.join(" and ")}, which the page's Python ` +
      "cannot load. It runs on your machine with ");
    note.append(element("code", "", block.dataset.command));
    note.append(".");
    return note;
  }

  // Make a block's code editable; returns its Reset button, shown while the code differs from the book's.
  function editable(code) {
    const original = code.innerHTML;
    code.setAttribute("contenteditable", "plaintext-only");
    code.setAttribute("spellcheck", "false");
    code.setAttribute("aria-label", "example code, editable");
    const reset = button("Reset", () => {
      code.innerHTML = original;
      reset.hidden = true;
      code.focus();
    }, "reset-button");
    reset.hidden = true;
    reset.title = "Back to the book's code";
    code.addEventListener("input", () => { reset.hidden = code.innerHTML === original; });
    return reset;
  }

  // Every example block (a python block without a file name) gets Run, and its code is editable.
  function addRunButtons() {
    for (const block of document.querySelectorAll(".md-content .language-python.highlight")) {
      const code = block.querySelector("code");
      // examples only: not titled (tangled) blocks, nor the API page's signatures and sources
      if (!code || block.querySelector(".filename") || block.closest(".doc") || block.dataset.runnable) continue;
      if (block.dataset.needs) {
        block.dataset.runnable = "no";
        block.after(needsNote(block));
        continue;
      }
      block.dataset.runnable = "yes";
      const resetButton = editable(code);
      const output = outputBox("example-output");
      const bar = element("div", "run-bar");
      const status = element("span", "run-status");
      status.setAttribute("role", "status");
      let job = null;
      const runButton = button("Run", async () => {
        runButton.disabled = true;
        stopButton.hidden = false;
        output.reset();
        bar.dataset.state = "running";
        job = python.run(code.innerText, {
          timeLimit: window.microgptExampleSeconds ?? EXAMPLE_SECONDS,
          onOut: (text) => output.add(text, job),
          onState: (state, detail) => { status.textContent = describe(state, detail); },
        });
        const result = await job.promise;
        job = null;
        report(result, output, status, result.stopped ? "stopped" : "ran");
        output.hidden = output.length === 0 && !output.childElementCount;
        bar.dataset.state = result.error ? "error" : result.stopped ? "stopped" : "done";
        runButton.disabled = false;
        stopButton.hidden = true;
      });
      const stopButton = button("Stop", () => job?.stop(`stopped by you`), "stop-button");
      stopButton.hidden = true;
      code.addEventListener("keydown", (e) => {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !runButton.disabled) {
          e.preventDefault();
          runButton.click();
        }
      });
      bar.append(runButton, stopButton, resetButton, status);
      block.after(bar, output);
    }
  }

  // --- Train it here ---------------------------------------------------------------------------

  // The command line's settings, with bounds that keep the page responsive.
  const SETTINGS = [
    { name: "steps", flag: "--steps", min: 1, max: 10000, value: 1000 },
    { name: "seed", flag: "--seed", min: 0, max: 2 ** 31 - 1, value: 42 },
    { name: "temperature", flag: "--temperature", min: 0.05, max: 5, step: 0.05, value: 0.5 },
    { name: "samples", flag: "--samples", min: 1, max: 50, value: 20 },
    { name: "n_embd", flag: "--n-embd", min: 2, max: 48, value: 16 },
    { name: "n_head", flag: "--n-head", min: 1, max: 8, value: 4 },
    { name: "n_layer", flag: "--n-layer", min: 1, max: 4, value: 1 },
    { name: "block_size", flag: "--block-size", min: 2, max: 32, value: 16 },
  ];
  const ENGINES = ["fast", "plain"];

  function settingsForm(box) {
    const form = element("div", "train-settings");
    const inputs = {};
    for (const s of SETTINGS) {
      const input = document.createElement("input");
      Object.assign(input, { type: "number", min: s.min, max: s.max, step: s.step ?? 1, required: true });
      input.value = box.dataset[s.name] ?? s.value;
      input.name = s.name;
      const label = element("label", "train-setting");
      label.append(element("span", "", s.flag), input);
      form.append(label);
      inputs[s.name] = input;
    }
    const engine = document.createElement("select");
    engine.name = "engine";
    for (const name of ENGINES) engine.append(new Option(name, name));
    const label = element("label", "train-setting");
    label.append(element("span", "", "--engine"), engine);
    form.append(label);
    inputs.engine = engine;
    return { form, inputs };
  }

  // The settings as Python arguments, and as the command that prints the same on a terminal.
  function readSettings(inputs) {
    const values = {};
    for (const s of SETTINGS) values[s.name] = Number(inputs[s.name].value);
    values.engine = inputs.engine.value;
    const flags = SETTINGS.filter((s) => values[s.name] !== s.value).map((s) => `${s.flag} ${values[s.name]}`);
    if (values.engine !== "fast") flags.push(`--engine ${values.engine}`);
    const args = SETTINGS.map((s) => `${s.name}=${values[s.name]}`).join(", ") + `, engine="${values.engine}"`;
    return { values, args, command: ["python -m microgpt", ...flags].join(" ") };
  }

  // The loss curve, drawn from what the trainer's Python sends: each loss, its running mean, ln(V).
  function lossChart(container) {
    const state = { steps: 1, uniform: null, losses: [], means: [], pending: false };
    function draw() {
      state.pending = false;
      const top = Math.max(state.uniform + 0.8, ...state.losses.slice(-1), 4);
      const f = frame({ x: [0, state.steps], y: [0, Math.ceil(top)], xlabel: "training step", ylabel: "loss (nats)",
        width: widthIn(container.parentElement, 340), height: 240, title: "the loss of this training, step by step" });
      const points = (ys) => ys.map((v, i) => [f.x(i + 1), f.y(Math.min(v, Math.ceil(top)))]);
      f.plot.append(svg("line", { x1: f.x(0), x2: f.x(state.steps), y1: f.y(state.uniform), y2: f.y(state.uniform),
        class: "uniform-line" }));
      f.plot.append(svg("text", { x: f.x(state.steps) - 4, y: f.y(state.uniform) - 5, "text-anchor": "end",
        class: "uniform-label" }, `−ln(1/${Math.round(Math.exp(state.uniform))}) = ${state.uniform.toFixed(2)}: ` +
        "a uniform guess"));
      f.plot.append(polyline(points(state.losses), { class: "loss-line" }));
      f.plot.append(polyline(points(state.means), { class: "mean-line" }));
      const last = state.means.length - 1;
      const legend = svg("text", { x: f.x(0) + 8, y: f.y(0) - 8, class: "legend" });
      legend.append(svg("tspan", { class: "loss-key" }, "— loss of the step's document   "));
      legend.append(svg("tspan", { class: "mean-key" }, last >= 0
        ? `— mean of the last 50: ${state.means[last].toFixed(4)}` : "— mean of the last 50"));
      f.plot.append(legend);
      container.replaceChildren(f.svg);
    }
    return {
      start(data) {
        Object.assign(state, { steps: data.steps, uniform: data.uniform, losses: [], means: [] });
        container.hidden = false;
        draw();
      },
      step(data) {
        state.losses.push(data.loss);
        state.means.push(data.mean);
        if (!state.pending) {
          state.pending = true;
          requestAnimationFrame(draw);
        }
      },
      state,
    };
  }

  // "Train it here": the page's train_here block, called with the chosen settings.
  function addTrainer() {
    const box = document.querySelector(".train-here");
    if (!box || box.dataset.ready) return;
    box.dataset.ready = "yes";
    const sourceBlock = [...document.querySelectorAll(".md-content .language-python.highlight code")]
      .find((c) => c.innerText.includes("async def train_here"));
    if (!sourceBlock) return;
    // its block runs with this box's button, not a Run button of its own; a reader may edit it first
    sourceBlock.closest(".highlight").dataset.runnable = "trainer";
    const resetSource = editable(sourceBlock);
    const sourceBar = element("div", "run-bar source-bar");
    sourceBar.append(element("span", "run-status", "The button under Train it here runs this code, as edited."),
      resetSource);
    sourceBlock.closest(".highlight").after(sourceBar);
    box.textContent = "";
    const { form, inputs } = settingsForm(box);
    const command = element("p", "train-command");
    const showCommand = () => {
      command.replaceChildren("The same run on your machine: ", element("code", "", readSettings(inputs).command));
    };
    form.addEventListener("input", showCommand);
    showCommand();
    const output = outputBox("train-output");
    const progress = element("p", "train-progress");
    progress.setAttribute("role", "status");
    const chart = element("div", "train-chart");
    chart.hidden = true;
    const curve = lossChart(chart);
    let job = null;
    const stop = button("Stop", () => job?.stop("stopped by you"), "stop-button");
    stop.disabled = true;
    const train = button("Train it here", async () => {
      const invalid = Object.values(inputs).find((input) => !input.checkValidity());
      if (invalid) {
        progress.textContent = `${invalid.name}: ${invalid.validationMessage}`;
        invalid.focus();
        return;
      }
      const { values, args } = readSettings(inputs);
      train.disabled = true;
      stop.disabled = false;
      output.reset();
      box.dataset.state = "running";
      box.dataset.runs = Number(box.dataset.runs ?? 0) + 1;  // for the tests: which run the state is of
      let first = null;  // the first step's number and time: the rate leaves out loading and setting up
      let last = null;
      const code = `${sourceBlock.innerText}\nimport page\n` +
        `await train_here(${args}, watch=Watch(page.send, page.stopped))\n`;
      job = python.run(code, {
        listens: true,
        grace: 10,
        onOut: (text) => output.add(text, job),
        onState: (state, detail) => { progress.textContent = describe(state, detail); },
        onEvent: (kind, data) => {
          if (kind === "start") curve.start(data);
          if (kind !== "step") return;
          curve.step(data);
          const now = last = performance.now();
          first ??= { step: data.step, time: now };
          const rate = (data.step - first.step) / ((now - first.time) / 1000);
          progress.textContent = `step ${data.step} / ${values.steps}` + (rate > 0
            ? ` · ${rate.toFixed(1)} steps/s · ${Math.round((values.steps - data.step) / rate)} s left` : "");
        },
      });
      const result = await job.promise;
      job = null;
      if (result.error?.includes("Traceback")) {  // bad settings: Config says why, on its last line
        result.error = result.error.trim().split("\n").pop();
      }
      const done = curve.state.losses.length;
      const rate = first && done > first.step ? ` (${((done - first.step) / ((last - first.time) / 1000)).toFixed(1)} ` +
        "steps/s)" : "";
      report(result, output, progress, `${done} step${done === 1 ? "" : "s"}${rate}`);
      box.dataset.state = result.error ? "error" : result.stopped ? "stopped" : "done";
      train.disabled = false;
      stop.disabled = true;
    }, "train-button");
    const buttons = element("div", "train-buttons");
    buttons.append(train, stop);
    box.append(form, command, buttons, progress, chart, output);
  }

  document$.subscribe(() => {
    addTrainer();
    addRunButtons();
    document.documentElement.dataset.runButtons = "ready";  // for the tests: every button is in place
  });
})();
