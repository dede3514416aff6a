// The Python of the page: Pyodide (CPython in WebAssembly) in a module Web Worker, so that the
// page stays responsive while it computes. It loads on the first message, from this site only:
// the runtime from assets/pyodide/ (copied from node_modules by the build) and the package from
// assets/microgpt.zip (zipped from microgpt/ by the build).

const root = new URL("../", self.location.href);
let ready = null;
let current = null;

async function boot() {
  const started = performance.now();
  const { loadPyodide } = await import(new URL("assets/pyodide/pyodide.mjs", root).href);
  const pyodide = await loadPyodide({ indexURL: new URL("assets/pyodide/", root).href });
  const zip = await (await fetch(new URL("assets/microgpt.zip", root))).arrayBuffer();
  pyodide.unpackArchive(zip, "zip", { extractDir: "/home/pyodide" });  // the working folder, on sys.path
  pyodide.setStdout({ batched: (line) => postMessage({ id: current, type: "out", text: line + "\n" }) });
  pyodide.setStderr({ batched: (line) => postMessage({ id: current, type: "out", text: line + "\n" }) });
  postMessage({ type: "ready", seconds: (performance.now() - started) / 1000 });
  return pyodide;
}

self.microgptStop = false;  // read by train_here's stop() between steps

self.onmessage = async ({ data }) => {
  if (data.type === "stop") {
    self.microgptStop = true;
    return;
  }
  ready ??= boot();
  let pyodide;
  try {
    pyodide = await ready;
  } catch (error) {
    ready = null;  // try again on the next click
    postMessage({ id: data.id, type: "done", error: "Python could not start in this page. Running code here " +
      "needs Pyodide, which the site's build copies in after `npm ci` (see README.md).\n" + String(error) });
    return;
  }
  current = data.id;
  self.microgptStop = false;
  const started = performance.now();
  try {
    await pyodide.runPythonAsync(data.code, { globals: pyodide.toPy({ __name__: "__main__" }) });
    postMessage({ id: data.id, type: "done", seconds: (performance.now() - started) / 1000 });
  } catch (error) {
    postMessage({ id: data.id, type: "done", error: String(error.message ?? error) });
  }
};
