// The page's Pythons: up to three Web Workers, each running Pyodide (js/pyodide-worker.js) and one job
// at a time. A job (a Run, a training, a figure's computation) has its own id and gets only its own
// output. A new job takes an idle worker, or starts one; when three are busy it waits in a queue and
// says so. Stop asks the job's Python to stop (page.stopped()); a job that does not listen, or stays
// silent, is ended by terminating its worker, and the next job starts a fresh one. Nothing loads until
// the first job: before that this script only defines window.microgptPython.
(() => {
  const root = new URL("../", document.currentScript.src);
  const MAX_WORKERS = 3;
  const workers = [];  // {worker, job, ready}
  const queue = [];
  const info = { python: null, loadSeconds: null };
  let nextId = 0;

  class Job {
    // message: what the worker runs; options: onOut(text), onEvent(kind, data), onState(state, detail),
    // timeLimit (s, from when Python is ready), listens (the job checks page.stopped()), grace (s)
    constructor(message, options) {
      this.id = nextId++;
      this.message = message;
      this.options = { grace: 1, ...options };
      this.state = "queued";
      this.promise = new Promise((resolve) => { this.resolve = resolve; });
    }

    setState(state, detail = {}) {
      this.state = state;
      this.options.onState?.(state, detail);
    }

    // Stop the job; `reason` is said in its result. Resolves when it is over.
    stop(reason = "stopped") {
      if (this.state === "done") return this.promise;
      this.stopReason ??= reason;
      if (this.state === "queued") {
        queue.splice(queue.indexOf(this), 1);
        this.finish({ stopped: true, reason: this.stopReason });
        announceQueue();
      } else if (this.state === "loading") {
        kill(this.slot);  // Python has not started yet: nothing to wait for
      } else {
        this.slot.worker.postMessage({ type: "stop", id: this.id });
        this.armKill();
      }
      return this.promise;
    }

    // after Stop, end the worker if the job does not end within its grace (renewed while it talks)
    armKill() {
      clearTimeout(this.killTimer);
      this.killTimer = setTimeout(() => kill(this.slot), this.options.grace * 1000);
    }

    finish(result) {
      clearTimeout(this.killTimer);
      clearTimeout(this.limitTimer);
      this.setState("done");
      this.resolve({ stopped: Boolean(this.stopReason), reason: this.stopReason, ...result });
    }
  }

  function spawn() {
    const slot = { worker: new Worker(new URL("js/pyodide-worker.js", root), { type: "module" }), job: null };
    slot.worker.onmessage = ({ data }) => {
      if (data.type === "ready") {
        slot.ready = true;
        info.python = data.python;
        info.loadSeconds ??= data.seconds;
        window.microgptLoadSeconds = info.loadSeconds;
        if (slot.job) running(slot.job);
        return;
      }
      const job = slot.job;
      if (!job || data.id !== job.id) return;
      if (job.stopReason && job.options.listens) job.armKill();  // it is still alive: let it finish
      if (data.type === "out") job.options.onOut?.(data.text);
      else if (data.type === "event") job.options.onEvent?.(data.kind, data.data);
      else if (data.type === "done") {
        slot.job = null;
        job.finish({ error: data.error, seconds: data.seconds, value: data.value });
        dispatch();
      }
    };
    slot.worker.onerror = (event) => {
      event.preventDefault();
      const job = slot.job;
      slot.job = null;
      kill(slot);
      job?.finish({ error: `the page's Python failed: ${event.message || "the worker could not start"}` });
    };
    workers.push(slot);
    return slot;
  }

  // End a worker and the job in it; the next job starts a new worker.
  function kill(slot) {
    if (!slot || !workers.includes(slot)) return;
    slot.worker.terminate();
    workers.splice(workers.indexOf(slot), 1);
    const job = slot.job;
    slot.job = null;
    job?.finish({ killed: true });
    dispatch();
  }

  function running(job) {
    job.setState("running", { python: info.python });
    if (job.options.timeLimit) {
      job.limitTimer = setTimeout(() => job.stop(`stopped: still running after ${job.options.timeLimit} s, ` +
        "the page's time limit"), job.options.timeLimit * 1000);
    }
  }

  function dispatch() {
    while (queue.length) {
      const slot = workers.find((s) => !s.job) ?? (workers.length < MAX_WORKERS ? spawn() : null);
      if (!slot) break;
      const job = queue.shift();
      slot.job = job;
      job.slot = slot;
      job.setState("loading");
      if (slot.ready) running(job);
      slot.worker.postMessage({ ...job.message, id: job.id });
    }
    announceQueue();
  }

  function announceQueue() {
    queue.forEach((job, i) => job.setState("queued", { ahead: i, busy: workers.length }));
  }

  function submit(message, options) {
    const job = new Job(message, options);
    queue.push(job);
    dispatch();
    return job;
  }

  window.microgptPython = {
    info,
    // Run Python code; returns the Job (job.promise resolves with {error, seconds, stopped, killed, reason}).
    run: (code, options = {}) => submit({ type: "run", code }, options),
    // microgpt.explore.name(*args) in a worker; resolves with its result, rejects with Python's error.
    call: async (name, args, options = {}) => {
      const result = await submit({ type: "call", name, args }, options).promise;
      if (result.error || result.stopped) throw new Error(result.error || result.reason);
      return result.value;
    },
  };
})();
