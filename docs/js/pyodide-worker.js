// One Python of the page: Pyodide (CPython in WebAssembly) in a module Web Worker, so that the page
// stays responsive while it computes. It loads on its first message, from this site only: the
// runtime from assets/pyodide/ (copied from node_modules by the build) and the package from
// assets/microgpt.zip (zipped from microgpt/ by the build). js/python.js starts these workers and
// gives each one job at a time.
//
// The protocol, page to worker:
//   {type: "run", id, code}                 run Python code; what it prints comes back as "out"
//   {type: "call", id, name, args}          call microgpt.explore.NAME(*args), a JSON-able result
//   {type: "stop", id}                      ask job id to stop: Python sees page.stopped() turn true
// worker to page:
//   {type: "ready", seconds, python}        Python has loaded (its version, e.g. "3.14.2")
//   {type: "out", id, text}                 a line the job printed (stdout and stderr)
//   {type: "event", id, kind, data}         page.send(kind, json) from the job's Python: data parsed
//   {type: "done", id, seconds, value?, error?}   the job is over; error is Python's message
// A job's Python imports the module `page` for send() and stopped(); microgpt.explore.Watch uses them.

const root = new URL("../", self.location.href);
let ready = null;
let current = null;  // the id of the job running now: this worker runs one at a time
const stopping = new Set();

async function boot() {
  const started = performance.now();
  const { loadPyodide } = await import(new URL("assets/pyodide/pyodide.mjs", root).href);
  const pyodide = await loadPyodide({ indexURL: new URL("assets/pyodide/", root).href });
  const [zip, model] = await Promise.all(["assets/microgpt.zip", "data/reference-model.json"].map(async (path) => {
    const response = await fetch(new URL(path, root));
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response;
  }));
  // the working folder, on sys.path, laid out as the repository is: the package, and the trained
  // reference model where the book's examples and microgpt.explore read it, docs/data/
  pyodide.unpackArchive(await zip.arrayBuffer(), "zip", { extractDir: "/home/pyodide" });
  pyodide.FS.mkdirTree("/home/pyodide/docs/data");
  pyodide.FS.writeFile("/home/pyodide/docs/data/reference-model.json", new Uint8Array(await model.arrayBuffer()));
  const out = (line) => postMessage({ id: current, type: "out", text: line + "\n" });
  pyodide.setStdout({ batched: out });
  pyodide.setStderr({ batched: out });
  pyodide.registerJsModule("page", {
    send: (kind, json) => postMessage({ id: current, type: "event", kind, data: JSON.parse(json) }),
    stopped: () => stopping.has(current),
  });
  const python = pyodide.runPython("import sys; sys.version.split()[0]");
  postMessage({ type: "ready", seconds: (performance.now() - started) / 1000, python });
  return pyodide;
}

let explore = null;  // (name, args) -> the JSON text of microgpt.explore.name(*args)

function call(pyodide, name, args) {
  explore ??= pyodide.runPython("import json\nfrom microgpt import explore\n"
    + "lambda name, args: json.dumps(getattr(explore, name)(*args))");
  const py = pyodide.toPy(args);
  try {
    return JSON.parse(explore(name, py));
  } finally {
    py.destroy();
  }
}

self.onmessage = async ({ data }) => {
  if (data.type === "stop") {
    stopping.add(data.id);
    return;
  }
  ready ??= boot();
  let pyodide;
  try {
    pyodide = await ready;
  } catch (error) {
    postMessage({ id: data.id, type: "done", error: "Python could not start in this page. Running code here " +
      "needs Pyodide, which the site's build copies in after `npm ci` (see README.md).\n" + String(error) });
    self.close();  // the pool starts a new worker for the next job
    return;
  }
  current = data.id;
  const started = performance.now();
  const done = (extra) => postMessage({ id: data.id, type: "done", seconds: (performance.now() - started) / 1000,
    ...extra });
  try {
    if (data.type === "call") {
      done({ value: call(pyodide, data.name, data.args) });
    } else {
      await pyodide.runPythonAsync(data.code, { globals: pyodide.toPy({ __name__: "__main__" }) });
      done({});
    }
  } catch (error) {
    done({ error: String(error.message ?? error) });
  } finally {
    stopping.delete(data.id);
  }
};
