"""The real command, python -m microgpt: every flag, every bad input, progress, Ctrl-C, checkpoints."""

from __future__ import annotations

import http.server
import json
import os
import pty
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import microgpt

import microgpt as package

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


@pytest.mark.parametrize("content, words", [
    (None, ["no such file"]),
    (b"", ["no documents"]),
    (b"\n  \n\n", ["no documents"]),
    (b"caf\xe9\n", ["not UTF-8"]),
    (b"aaa\naa\n", ["one distinct character"]),
])
def test_bad_data_files(tmp_path, content, words):
    path = tmp_path / "data.txt"
    if content is not None:
        path.write_bytes(content)
    fails(microgpt("--data", str(path), *SMALL), f"--data {path}", *words)


def test_data_that_is_a_folder(tmp_path):
    fails(microgpt("--data", str(tmp_path)), "is a folder")


def test_data_that_cannot_be_opened(data):
    fails(microgpt("--data", f"{data}/more"), "cannot be read (Not a directory)")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_data(data):
    data.chmod(0)
    fails(microgpt("--data", str(data)), "cannot be read")


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


def test_data_names_offline_suggests_a_path(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path), "MICROGPT_NAMES_URL": "http://127.0.0.1:9/names.txt"}
    fails(microgpt("--data", "names", env=env), "cannot download", "--data PATH")
    assert not (tmp_path / "microgpt" / "names.txt").exists()


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


@pytest.mark.parametrize("args, words", [
    (["--n-embd", "10", "--n-head", "4"], ["multiple of --n-head"]),
    (["--n-embd", "0"], ["--n-embd", "greater than 0"]),
    (["--n-head", "-2"], ["--n-head"]),
    (["--n-layer", "0"], ["--n-layer"]),
    (["--block-size", "0"], ["--block-size"]),
    (["--steps", "0"], ["--steps"]),
    (["--steps", "-5"], ["--steps"]),
    (["--samples", "0"], ["--samples"]),
    (["--temperature", "0"], ["--temperature"]),
    (["--temperature", "-1"], ["--temperature"]),
    (["--lr", "abc"], ["--lr", "not a float"]),
    (["--beta1", "1"], ["--beta1"]),
    (["--no-such-flag"], ["--no-such-flag"]),
])
def test_bad_hyperparameters(data, args, words):
    fails(microgpt("--data", str(data), *args), *words)


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


def test_prompt_outside_the_vocabulary(data):
    fails(microgpt("--data", str(data), "--prompt", "ex", *SMALL), "'x' is not in the vocabulary")


def test_prompt_as_long_as_the_block_size(data):
    fails(microgpt("--data", str(data), "--prompt", "emmaemma", *SMALL), "shorter than the block size")


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


def test_save_into_a_missing_folder(tmp_path, data):
    fails(microgpt("--data", str(data), "--save", str(tmp_path / "no" / "model.json")), "does not exist")


def corrupt(path: Path, how: str) -> None:
    body = json.loads(path.read_text())
    if how == "truncated":
        path.write_text(path.read_text()[: len(path.read_text()) // 2])
    elif how == "not json":
        path.write_text("hello")
    elif how == "version":
        body["version"] = 99
        path.write_text(json.dumps(body))
    elif how == "shape":
        body["config"]["n_embd"] = 4
        path.write_text(json.dumps(body))
    elif how == "missing weight":
        del body["weights"]["wte"]
        path.write_text(json.dumps(body))
    elif how == "not a number":
        body["weights"]["wte"][0][0] = "x"
        path.write_text(json.dumps(body))
    elif how == "other json":
        path.write_text(json.dumps({"hello": 1}))


@pytest.mark.parametrize("how, words", [
    ("truncated", ["not a complete JSON file"]), ("not json", ["not a complete JSON file"]),
    ("version", ["version 99"]), ("shape", ["shape"]), ("missing weight", ["do not match"]),
    ("not a number", ["not a finite number"]), ("other json", ["not a microgpt checkpoint"]),
])
def test_bad_checkpoints(tmp_path, data, how, words):
    ckpt = tmp_path / "model.json"
    microgpt("--data", str(data), "--steps", "1", "--save", str(ckpt), *SMALL)
    corrupt(ckpt, how)
    fails(microgpt("--load", str(ckpt)), f"--load {ckpt}", *words)


def test_load_a_missing_checkpoint(tmp_path):
    fails(microgpt("--load", str(tmp_path / "nope.json")), "cannot be read")


def test_load_refuses_shape_flags(tmp_path, data):
    ckpt = tmp_path / "model.json"
    microgpt("--data", str(data), "--steps", "1", "--save", str(ckpt), *SMALL)
    fails(microgpt("--load", str(ckpt), "--n-embd", "16"), "the checkpoint fixes the model's shape; drop --n-embd")


# --- Ctrl-C ------------------------------------------------------------------------------------

def test_ctrl_c_stops_cleanly_with_a_summary(tmp_path, data):
    ckpt = tmp_path / "model.json"
    proc = subprocess.Popen([sys.executable, "-m", "microgpt", "--data", str(data), "--steps", "100000",
                             "--save", str(ckpt), *SMALL], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            # a shell running us in the background may ignore SIGINT, and a child
                            # inherits that; Python only turns SIGINT into KeyboardInterrupt if it is not
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
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
