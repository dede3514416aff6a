// Run buttons on the book's examples, and "Train it here": the tangled package runs in the page,
// in Python compiled to WebAssembly (Pyodide) inside a Web Worker (js/pyodide-worker.js). Nothing
// heavy loads until the first click; before that this script only adds buttons.
(() => {
  const root = new URL("../", document.currentScript.src);
  let worker = null;
  let nextId = 0;
  const handlers = new Map();

  // Run `code` in the worker; onOut gets each printed line. Resolves with the worker's "done".
  async function run(code, onOut) {
    if (!worker) {
      worker = new Worker(new URL("js/pyodide-worker.js", root), { type: "module" });
      worker.onmessage = ({ data }) => {
        if (data.type === "ready") {
          window.microgptLoadSeconds = data.seconds;
          return;
        }
        const handler = handlers.get(data.id);
        if (!handler) return;
        if (data.type === "out") handler.onOut(data.text);
        if (data.type === "done") {
          handlers.delete(data.id);
          handler.resolve(data);
        }
      };
    }
    const id = nextId++;
    return new Promise((resolve) => {
      handlers.set(id, { onOut, resolve });
      worker.postMessage({ type: "run", id, code });
    });
  }

  function button(label, onClick) {
    const b = document.createElement("button");
    b.className = "md-button run-button";
    b.type = "button";
    b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }

  // Every example block (a python block without a file name) gets Run, and its code is editable.
  function addRunButtons() {
    for (const block of document.querySelectorAll(".md-content .language-python.highlight")) {
      const code = block.querySelector("code");
      // examples only: not titled (tangled) blocks, nor the API page's signatures and sources
      if (!code || block.querySelector(".filename") || block.closest(".doc") || block.dataset.runnable) continue;
      block.dataset.runnable = "yes";
      code.setAttribute("contenteditable", "plaintext-only");
      code.setAttribute("spellcheck", "false");
      const output = document.createElement("pre");
      output.className = "run-output";
      output.hidden = true;
      const bar = document.createElement("div");
      bar.className = "run-bar";
      const runButton = button("Run", async () => {
        runButton.disabled = true;
        output.hidden = false;
        output.textContent = "running...\n";
        let first = true;
        const done = await run(code.innerText, (text) => {
          if (first) output.textContent = "";
          first = false;
          output.textContent += text;
        });
        if (first) output.textContent = "";
        if (done.error) output.textContent += done.error;
        runButton.disabled = false;
      });
      bar.append(runButton);
      block.after(bar, output);
    }
  }

  // "Train it here": run the train_here block of the page, then call it with the chosen steps.
  function addTrainer() {
    const box = document.querySelector(".train-here");
    if (!box || box.dataset.ready) return;
    box.dataset.ready = "yes";
    const source = [...document.querySelectorAll(".md-content .language-python.highlight code")]
      .map((c) => c.innerText).find((t) => t.includes("async def train_here"));
    box.textContent = "";
    const steps = document.createElement("input");
    steps.type = "number";
    steps.min = "1";
    steps.value = box.dataset.steps;
    steps.className = "train-steps";
    const label = document.createElement("label");
    label.append("steps ", steps);
    const output = document.createElement("pre");
    output.className = "run-output train-output";
    const stop = button("Stop", () => worker && worker.postMessage({ type: "stop" }));
    stop.disabled = true;
    const train = button("Train it here", async () => {
      train.disabled = true;
      stop.disabled = false;
      output.textContent = "loading Python...\n";
      let first = true;
      const n = Math.max(1, parseInt(steps.value, 10) || 1);
      const code = `${source}\nimport js\nawait train_here(${n}, ${box.dataset.samples}, stop=lambda: js.microgptStop)\n`;
      const done = await run(code, (text) => {
        if (first) output.textContent = "";
        first = false;
        output.textContent += text;
        output.scrollTop = output.scrollHeight;
      });
      if (done.error) output.textContent += done.error;
      train.disabled = false;
      stop.disabled = true;
    });
    box.append(train, " ", stop, " ", label, output);
  }

  document$.subscribe(() => {
    addRunButtons();
    addTrainer();
  });
})();
