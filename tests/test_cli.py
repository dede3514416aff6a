"""The real command, python -m microgpt: every flag, every bad input, progress, Ctrl-C, checkpoints."""

from __future__ import annotations

import http.server
import json
import os
import pty
import random
import re
import signal
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import microgpt

import microgpt as package
from microgpt import checkpoint
from microgpt.data import load_docs
from microgpt.model import GPT, Config
from microgpt.optim import Adam
from microgpt.tokenizer import Tokenizer
from microgpt.train import train

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["--n-embd", "8", "--n-head", "2", "--block-size", "8", "--samples", "3"]
NAMES = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "ella", "luna", "noah"]


@pytest.fixture
def data(tmp_path) -> Path:
    path = tmp_path / "names.txt"
    path.write_text("\n".join(NAMES) + "\n", "utf-8")
    return path


def fails(done: subprocess.CompletedProcess, *words: str) -> None:
    """Bad input: exit status 2, one line on stderr naming the problem, no traceback, no output."""
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("microgpt: error: "), done.stderr
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in done.stderr, (word, done.stderr)


def losses(stdout: str) -> list[str]:
    return [line.rsplit(" ", 1)[1] for line in stdout.splitlines() if line.startswith("step ")]


def samples(stdout: str) -> list[str]:
    return [line.split(": ", 1)[1] for line in stdout.splitlines() if line.startswith("sample ")]


# --- the defaults and the help -----------------------------------------------------------------

def test_help_shows_every_flag_with_its_default():
    done = microgpt("--help")
    assert done.returncode == 0
    options = " ".join(done.stdout.split()).split("options:", 1)[1]
    for flag, default in [("--seed", "42"), ("--steps", "1000"), ("--n-embd", "16"), ("--n-head", "4"),
                          ("--n-layer", "1"), ("--block-size", "16"), ("--lr", "0.01"), ("--beta1", "0.85"),
                          ("--beta2", "0.99"), ("--eps", "1e-08"), ("--temperature", "0.5"),
                          ("--samples", "20")]:
        found = re.search(rf" {flag} [A-Z_0-9]+ [^()]*\(default: ([^)]*)\)", options)
        assert found and found[1].startswith(default), (flag, found and found[0])
    for flag in ("--data", "--prompt", "--save", "--force", "--load", "--quiet", "--version"):
        assert f" {flag} " in options


def test_version():
    done = microgpt("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"microgpt {package.__version__}"


def test_no_data_flag_trains_on_the_bundled_names():
    done = microgpt("--steps", "2", *SMALL)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == ["num docs: 5163", "vocab size: 27"]
    assert len(samples(done.stdout)) == 3


# --- data --------------------------------------------------------------------------------------

def test_crlf_and_byte_order_mark_are_handled(tmp_path, data):
    odd = tmp_path / "windows.txt"
    odd.write_bytes(b"\xef\xbb\xbf" + data.read_bytes().replace(b"\n", b"\r\n"))
    plain, windows = microgpt("--data", str(data), "--steps", "3", *SMALL), \
        microgpt("--data", str(odd), "--steps", "3", *SMALL)
    assert plain.returncode == windows.returncode == 0
    assert plain.stdout == windows.stdout  # the same documents, the same run


class NamesServer(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), NamesServer)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/names.txt"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.needs_names
def test_data_names_downloads_once_into_the_cache(tmp_path, server, names_txt):
    NamesServer.body = names_txt.read_bytes()
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "MICROGPT_NAMES_URL": server}
    done = microgpt("--data", "names", "--steps", "1", *SMALL, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("num docs: 32033\n")
    assert (tmp_path / "cache" / "microgpt" / "names.txt").read_bytes() == NamesServer.body
    NamesServer.body = b"gone"  # a second run must not download again
    assert microgpt("--data", "names", "--steps", "1", *SMALL, env=env).stdout == done.stdout


def test_data_names_with_wrong_content_is_refused(tmp_path, server):
    NamesServer.body = b"emma\nava\n"
    env = {"XDG_CACHE_HOME": str(tmp_path), "MICROGPT_NAMES_URL": server}
    fails(microgpt("--data", "names", env=env), "--data PATH")
    assert not (tmp_path / "microgpt" / "names.txt").exists()


# --- hyperparameters ---------------------------------------------------------------------------

def test_every_hyperparameter_flag_changes_the_run(data):
    base = [sys.executable, "-m", "microgpt", "--data", str(data), "--steps", "3", *SMALL]
    flags = [[], ["--seed", "7"], ["--steps", "4"], ["--n-embd", "12"], ["--n-head", "4"], ["--n-layer", "2"],
             ["--block-size", "10"], ["--lr", "0.05"], ["--beta1", "0.5"], ["--beta2", "0.5"],
             ["--eps", "0.001"], ["--temperature", "2.0"], ["--samples", "5"]]
    runs = [subprocess.Popen(base + flag, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for flag in flags]  # all at once: they are independent
    (reference, _), *others = [run.communicate(timeout=120) for run in runs]
    assert all(run.returncode == 0 for run in runs), [err for _, err in others]
    for flag, (out, _) in zip(flags[1:], others):
        assert out != reference, flag


# --- output ------------------------------------------------------------------------------------

def test_a_log_gets_upstreams_lines(data):
    done = microgpt("--data", str(data), "--steps", "3", *SMALL)
    lines = done.stdout.splitlines()
    assert lines[:3] == ["num docs: 10", "vocab size: 14", "num params: 1056"]
    assert [line[:24] for line in lines[3:6]] == [f"step    {i} /    3 | loss " for i in (1, 2, 3)]
    assert lines[6:8] == ["", "--- inference (new, hallucinated names) ---"]
    assert [line[:11] for line in lines[8:]] == ["sample  1: ", "sample  2: ", "sample  3: "]


def test_a_terminal_gets_one_updating_line(data):
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real command, its output on a terminal
        os.chdir(ROOT)
        os.execv(sys.executable, [sys.executable, "-m", "microgpt", "--data", str(data), "--steps", "3", *SMALL])
    out = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    assert os.waitpid(pid, 0)[1] == 0
    text = out.decode()
    assert text.count("\rstep ") == 3 and "steps/s" in text and "left" in text
    assert "step    3 /    3" in text and "\nstep " not in text


def test_quiet_prints_only_the_samples(data):
    done = microgpt("--data", str(data), "--steps", "3", "--quiet", *SMALL)
    assert done.returncode == 0
    loud = microgpt("--data", str(data), "--steps", "3", *SMALL)
    assert done.stdout.splitlines() == samples(loud.stdout)


# --- prompt ------------------------------------------------------------------------------------

def test_prompt_starts_every_sample(data):
    done = microgpt("--data", str(data), "--steps", "3", "--prompt", "em", *SMALL)
    assert done.returncode == 0, done.stderr
    assert all(name.startswith("em") for name in samples(done.stdout))


# --- checkpoints -------------------------------------------------------------------------------

def test_save_then_load_samples_the_same_names(tmp_path, data):
    ckpt = tmp_path / "model.json"
    saved = microgpt("--data", str(data), "--steps", "5", "--save", str(ckpt), *SMALL)
    assert saved.returncode == 0, saved.stderr
    loaded = microgpt("--load", str(ckpt), "--samples", "3")
    assert loaded.returncode == 0, loaded.stderr
    assert samples(loaded.stdout) == samples(saved.stdout) and len(samples(saved.stdout)) == 3
    body = json.loads(ckpt.read_text())
    assert (body["format"], body["version"], body["steps"], body["seed"]) == ("microgpt-checkpoint", 1, 5, 42)
    assert body["config"] == {"n_layer": 1, "n_embd": 8, "block_size": 8, "n_head": 2}
    assert list(tmp_path.iterdir()) == [ckpt, data] or sorted(tmp_path.iterdir()) == sorted([ckpt, data])


def test_floats_round_trip_exactly(tmp_path, data):
    ckpt = tmp_path / "model.json"
    microgpt("--data", str(data), "--steps", "2", "--save", str(ckpt), *SMALL)
    again = tmp_path / "again.json"
    done = microgpt("--load", str(ckpt), "--save", str(again), "--samples", "1")
    assert done.returncode == 0, done.stderr
    assert json.loads(again.read_text())["weights"] == json.loads(ckpt.read_text())["weights"]


def test_the_saved_weights_are_the_trained_ones(tmp_path, data):
    """The checkpoint holds every weight the training made, to the last bit: trained here, in-process,
    the same run gives the same floats (a save that rounds them fails this, however it loads)."""
    ckpt = tmp_path / "model.json"
    done = microgpt("--data", str(data), "--steps", "4", "--save", str(ckpt), *SMALL)
    assert done.returncode == 0, done.stderr
    rng = random.Random(42)
    docs = load_docs(str(data), rng)
    tokenizer = Tokenizer(docs)
    model = GPT(Config(n_embd=8, n_head=2, block_size=8), tokenizer.vocab_size, rng)
    list(train(model, tokenizer, docs, Adam(model.params), 4))
    saved = json.loads(ckpt.read_text())["weights"]
    assert [x for name in model.state_dict for row in saved[name] for x in row] == [p.data for p in model.params]
    loaded, _, _ = checkpoint.load(str(ckpt))
    assert [p.data for p in loaded.params] == [p.data for p in model.params]


def test_load_and_train_on(tmp_path, data):
    ckpt, more = tmp_path / "model.json", tmp_path / "more.json"
    microgpt("--data", str(data), "--steps", "3", "--save", str(ckpt), *SMALL)
    done = microgpt("--load", str(ckpt), "--data", str(data), "--steps", "4", "--save", str(more))
    assert done.returncode == 0, done.stderr
    assert len(losses(done.stdout)) == 4
    assert json.loads(more.read_text())["steps"] == 7


def test_save_never_overwrites_without_force(tmp_path, data):
    ckpt = tmp_path / "model.json"
    ckpt.write_text("precious")
    fails(microgpt("--data", str(data), "--steps", "2", "--save", str(ckpt), *SMALL), "--force")
    assert ckpt.read_text() == "precious"
    done = microgpt("--data", str(data), "--steps", "2", "--save", str(ckpt), "--force", *SMALL)
    assert done.returncode == 0 and json.loads(ckpt.read_text())["steps"] == 2


# --- Ctrl-C ------------------------------------------------------------------------------------

def test_ctrl_c_stops_cleanly_with_a_summary(tmp_path, data):
    ckpt = tmp_path / "model.json"
    proc = subprocess.Popen([sys.executable, "-m", "microgpt", "--data", str(data), "--steps", "100000",
                             "--save", str(ckpt), *SMALL], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_signals)  # see default_signals below
    try:
        for line in proc.stdout:
            if line.startswith("step    3 /"):
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == 130
    assert err.count("\n") == 1 and "interrupted: stopped at step" in err and "Traceback" not in err, err
    stopped = int(err.split("stopped at step ")[1].split(" ")[0])
    assert stopped >= 3 and json.loads(ckpt.read_text())["steps"] == stopped


# --- signals, races and faults while a run is under way -----------------------------------------

def default_signals() -> None:
    """In the child: the default handling of the signals the tests send. A shell may ignore SIGINT
    for a job in the background, and nohup ignores SIGHUP; a child inherits either, and the program
    rightly leaves an ignored signal ignored."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def start(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.Popen:
    """The real command in the background, with the default handling of signals."""
    return subprocess.Popen([sys.executable, "-m", "microgpt", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})},
                            preexec_fn=default_signals)


def wait_for_step(proc: subprocess.Popen, step: int) -> None:
    for line in proc.stdout:
        if line.startswith(f"step {step:4d} /"):
            return
    raise AssertionError(f"no step {step}: {proc.stderr.read()}")


def finish(proc: subprocess.Popen) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=120)
    finally:
        proc.kill()
        proc.communicate()  # reaps it and closes its pipes, even after a timeout


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_like_ctrl_c(tmp_path, data, sig):
    ckpt = tmp_path / "model.json"
    proc = start("--data", str(data), "--steps", "100000", "--save", str(ckpt), *SMALL)
    wait_for_step(proc, 3)
    proc.send_signal(sig)
    _, err = finish(proc)
    assert proc.returncode == 128 + sig, (proc.returncode, err)
    assert err.count("\n") == 1 and f"interrupted by {sig.name}: stopped at step" in err, err
    stopped = int(err.split("stopped at step ")[1].split(" ")[0])
    assert json.loads(ckpt.read_text())["steps"] == stopped >= 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "names.txt"]  # nothing half-written


def test_signals_during_a_save_never_leave_a_partial_file(tmp_path, data):
    """SIGTERM over and over while a 4 MB checkpoint is written: it is whole, or it is not there."""
    ckpt = tmp_path / "model.json"
    proc = start("--data", str(data), "--steps", "1000", "--save", str(ckpt), "--n-embd", "128", "--n-head", "4",
                 "--block-size", "4", "--samples", "1")
    wait_for_step(proc, 1)
    while proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.005)
    _, err = finish(proc)
    assert proc.returncode == 143 and err.count("\n") == 1 and "Traceback" not in err, (proc.returncode, err)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert json.loads(ckpt.read_text())["steps"] >= 1  # whole: it parses


def test_a_file_that_appears_during_training_is_not_overwritten(tmp_path, data):
    """No --force: the name is taken at the end, atomically; the trained model goes beside it instead."""
    ckpt = tmp_path / "model.json"
    proc = start("--data", str(data), "--steps", "200", "--save", str(ckpt), *SMALL)
    wait_for_step(proc, 1)
    ckpt.write_text("precious")  # someone else's file, made while this run trains
    out, err = finish(proc)
    assert proc.returncode == 1 and err.count("\n") == 1, (proc.returncode, err)
    assert "a file appeared at that name" in err and f"in {tmp_path / 'model-1.json'} instead" in err, err
    assert ckpt.read_text() == "precious"
    assert json.loads((tmp_path / "model-1.json").read_text())["steps"] == 200
    assert "sample" not in out  # the samples are the kept model's to give: --load it
    loaded = microgpt("--load", str(tmp_path / "model-1.json"), "--samples", "2", "--quiet")
    assert loaded.returncode == 0 and len(loaded.stdout.split()) == 2


def test_two_runs_saving_to_one_new_path_never_lose_a_model(tmp_path, data):
    """Both pass the check before training (the path is free), both save at the end: one gets the name."""
    ckpt = tmp_path / "model.json"
    runs = [start("--data", str(data), "--steps", "300", "--save", str(ckpt), "--seed", str(seed), *SMALL)
            for seed in (1, 2)]
    for run in runs:
        wait_for_step(run, 1)  # past every check, the path still free
    results = [finish(run) for run in runs]
    assert sorted(run.returncode for run in runs) == [0, 1], [err for _, err in results]
    saved = {json.loads(p.read_text())["seed"] for p in (ckpt, tmp_path / "model-1.json")}
    assert saved == {1, 2}  # both models are there: one under the name, one beside it


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root and unshare")
def test_a_disk_that_fills_during_training_keeps_the_model(tmp_path, data):
    """The check before training passes, the disk fills, the final save fails: the model is kept elsewhere."""
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode:
        pytest.skip("cannot make a mount namespace here")
    disk, kept = tmp_path / "disk", tmp_path / "tmp"
    disk.mkdir()
    kept.mkdir()
    script = f"""
        mount -t tmpfs -o size=256k tmpfs {disk}
        {sys.executable} -m microgpt --data {data} --steps 300 --save {disk}/model.json {' '.join(SMALL)} \\
            > {tmp_path}/out.txt 2> {tmp_path}/err.txt &
        until grep -q '^step    1 /' {tmp_path}/out.txt; do sleep 0.02; done
        head -c 1M /dev/zero > {disk}/filler 2> /dev/null
        wait $!; echo $? > {tmp_path}/status.txt
        ls -A {disk} > {tmp_path}/listing.txt
    """
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TMPDIR": str(kept)})
    assert done.returncode == 0, done.stderr
    err = (tmp_path / "err.txt").read_text()
    assert (tmp_path / "status.txt").read_text().strip() == "1" and err.count("\n") == 1, err
    assert "No space left on device" in err and f"in {kept}" in err, err
    assert (tmp_path / "listing.txt").read_text().split() == ["filler"]  # no half-written file on the disk
    [model] = kept.iterdir()
    assert json.loads(model.read_text())["steps"] == 300


STOP_AT_IMPORT = """
import runpy, sys
module, how = sys.argv[1:]
class Stop:  # Ctrl-C, exactly while the command's modules load
    def find_spec(self, name, path=None, target=None):
        if name == module:
            raise KeyboardInterrupt
sys.meta_path.insert(0, Stop())
sys.argv[1:] = ["--steps", "1"]
if how == "module":
    runpy.run_module("microgpt", run_name="__main__")
else:
    from microgpt.__main__ import main  # what the console script microgpt runs
    sys.exit(main())
"""


@pytest.mark.parametrize("module", ["microgpt.cli", "microgpt.model", "microgpt.checkpoint", "argparse", "json"])
@pytest.mark.parametrize("how", ["module", "script"])
def test_ctrl_c_while_the_program_loads_is_one_line(module, how):
    done = subprocess.run([sys.executable, "-c", STOP_AT_IMPORT, module, how], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 130 and done.stderr == "microgpt: interrupted\n", (done.returncode, done.stderr)


@pytest.mark.slow
def test_a_graph_too_deep_for_the_plain_engine_is_one_line(tmp_path):
    """Width 256: the MLP's sums chain 1,024 terms, deeper than Python's recursion limit of 1,000."""
    path = tmp_path / "ab.txt"
    path.write_text("a\nb\n")
    done = microgpt("--data", str(path), "--engine", "plain", "--n-embd", "256", "--block-size", "2",
                    "--steps", "1", timeout=600)
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "recursion limit" in done.stderr and "--engine fast" in done.stderr
