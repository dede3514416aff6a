"""A table of bad and hostile inputs to the real command, each held to the promise of chapter 13.

For every row: the exit status is the one the row expects, stderr is exactly one line that says what
is wrong (the row's words), no traceback, and no file in the run's folder, its cache or its temporary
folder is changed, added or left behind. Each row runs in a folder of its own holding a data file, a
checkpoint and a file that must survive; the rows run a few at a time, since they are independent.
"""

from __future__ import annotations

import json
import os
import random
import stat
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import ROOT

from microgpt import checkpoint
from microgpt.model import GPT, Config
from microgpt.tokenizer import Tokenizer

NAMES = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "ella", "luna", "noah"]
SMALL = ["--n-embd", "8", "--n-head", "2", "--block-size", "8", "--samples", "2"]
CRAFT = object()  # a row whose checkpoint is model.json changed by its function


def valid_checkpoint() -> dict:
    """A checkpoint of a small untrained model, as the command writes it, three steps into a run."""
    if not VALID:
        tokenizer = Tokenizer(NAMES)
        model = GPT(Config(n_embd=8, n_head=2, block_size=8), tokenizer.vocab_size, random.Random(42))
        with tempfile.TemporaryDirectory() as folder:
            checkpoint.save(os.path.join(folder, "model.json"), model, tokenizer, 3, 42, random.Random(42))
            VALID.append(Path(folder, "model.json").read_text())
    return json.loads(VALID[0])


VALID: list[str] = []


def field(name, value):
    def change(body):
        body[name] = value
    return change


def config(name, value):
    def change(body):
        body["config"][name] = value
    return change


def rng_word(index, value):
    def change(body):
        body["rng_state"][1][index] = value
    return change


def weight(value):
    def change(body):
        body["weights"]["wte"][0][0] = value
    return change


def zero_rng(body):
    body["rng_state"][1][:624] = [0] * 624


def all_huge(body):
    body["weights"] = {k: [[1e308] * len(row) for row in m] for k, m in body["weights"].items()}


def drop_weight(body):
    del body["weights"]["wte"]


def raw(text):
    """A checkpoint file that is this text, not JSON made from a body."""
    return text


def mknod(folder: Path) -> None:  # a character device like /dev/full (1, 7): only root makes one
    os.mknod(folder / "device", stat.S_IFCHR | 0o666, os.makedev(1, 7))


def mkfifo(folder: Path) -> None:
    os.mkfifo(folder / "fifo")


def symlink(folder: Path) -> None:
    (folder / "link.json").symlink_to(folder / "precious.json")


def folder_of_save(folder: Path) -> None:
    (folder / "out").mkdir()


def cache_is_a_file(folder: Path) -> None:
    (folder / "cachefile").write_text("not a folder")


def big_alphabet(folder: Path) -> None:  # 40,000 distinct characters: the vocabulary makes the model too big
    (folder / "wide.txt").write_text("\n".join(chr(0x20000 + i) * 2 for i in range(40000)), "utf-8")


def huge_file(folder: Path) -> None:  # 65 MiB (of zeros, a sparse file): more than --data reads
    with open(folder / "huge.txt", "wb") as f:
        f.truncate(65 * 2**20)


def unreadable(folder: Path) -> None:
    (folder / "secret.txt").write_text("emma\nava\n")
    (folder / "secret.txt").chmod(0)


def deep_json(folder: Path) -> None:
    (folder / "deep.json").write_text('{"format": "microgpt-checkpoint", "version": 1, "weights": '
                                      + "[" * 100000 + "]" * 100000 + "}")


def long_int_json(folder: Path) -> None:
    body = valid_checkpoint()
    text = json.dumps(body).replace('"steps": 3', '"steps": ' + "9" * 5000)
    (folder / "longint.json").write_text(text)


def close_stdout() -> None:
    os.close(1)


ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
NOT_ROOT = pytest.mark.skipif(os.geteuid() == 0, reason="root reads and writes whatever the permissions")

# (id, arguments, expected status, words stderr must hold; then optional: setup(folder), a crafted
# checkpoint as a change of the valid one, popen options, environment)
ROWS = [
    # --- flags that cannot be parsed, or break a rule -------------------------------------------
    ("unknown flag", ["--no-such-flag"], 2, ["--no-such-flag"]),
    ("positional argument", ["foo"], 2, ["unrecognized arguments: foo"]),
    ("steps 0", ["--steps", "0"], 2, ["--steps", "greater than 0"]),
    ("steps negative", ["--steps", "-5"], 2, ["--steps"]),
    ("steps float", ["--steps", "1.5"], 2, ["--steps", "not a int"]),
    ("steps word", ["--steps", "abc"], 2, ["--steps"]),
    ("steps no value", ["--steps"], 2, ["expected one argument"]),
    ("samples 0", ["--samples", "0"], 2, ["--samples"]),
    ("samples float", ["--samples", "1e3"], 2, ["--samples"]),
    ("n-embd 0", ["--n-embd", "0"], 2, ["--n-embd", "greater than 0"]),
    ("width not a multiple", ["--n-embd", "10", "--n-head", "4"], 2, ["multiple of --n-head"]),
    ("n-head 3", ["--n-head", "3"], 2, ["multiple of --n-head (3)"]),
    ("n-head negative", ["--n-head", "-2"], 2, ["--n-head"]),
    ("n-layer 0", ["--n-layer", "0"], 2, ["--n-layer"]),
    ("block-size 0", ["--block-size", "0"], 2, ["--block-size"]),
    ("lr word", ["--lr", "abc"], 2, ["--lr", "not a float"]),
    ("lr 0", ["--lr", "0"], 2, ["--lr", "greater than 0"]),
    ("lr negative", ["--lr", "-1"], 2, ["--lr"]),
    ("lr inf", ["--lr", "inf"], 2, ["--lr", "not a finite number"]),
    ("lr nan", ["--lr", "nan"], 2, ["--lr"]),
    ("lr 1e309", ["--lr", "1e309"], 2, ["--lr", "not a finite number"]),
    ("eps 0", ["--eps", "0"], 2, ["--eps"]),
    ("eps inf", ["--eps", "inf"], 2, ["--eps", "finite"]),
    ("beta1 1", ["--beta1", "1"], 2, ["--beta1", "below 1"]),
    ("beta1 negative", ["--beta1", "-0.1"], 2, ["--beta1"]),
    ("beta2 nan", ["--beta2", "nan"], 2, ["--beta2"]),
    ("temperature 0", ["--temperature", "0"], 2, ["--temperature"]),
    ("temperature negative", ["--temperature", "-1"], 2, ["--temperature"]),
    ("temperature 5e-324", ["--temperature", "5e-324"], 2, ["--temperature", "0.001"]),
    ("temperature inf", ["--temperature", "inf"], 2, ["--temperature", "finite"]),
    ("temperature nan", ["--temperature", "nan"], 2, ["--temperature"]),
    ("seed word", ["--seed", "abc"], 2, ["--seed"]),
    ("seed float", ["--seed", "1.5"], 2, ["--seed"]),
    ("seed of 5000 digits", ["--seed", "9" * 5000], 2, ["--seed"]),
    ("engine torch", ["--engine", "torch"], 2, ["invalid choice: 'torch'"]),
    ("val-fraction 0", ["--val-fraction", "0"], 2, ["--val-fraction", "above 0 and below 1"]),
    ("val-fraction 1", ["--val-fraction", "1"], 2, ["--val-fraction", "below 1"]),
    ("val-fraction nan", ["--val-fraction", "nan"], 2, ["--val-fraction"]),
    ("val-fraction word", ["--val-fraction", "abc"], 2, ["--val-fraction", "not a float"]),
    ("val-fraction holding out none", ["--data", "names.txt", "--val-fraction", "0.01", *SMALL], 2,
     ["--val-fraction 0.01", "holds out 0 of 10"]),
    ("val-fraction holding out all", ["--data", "names.txt", "--val-fraction", "0.99", *SMALL], 2,
     ["--val-fraction 0.99", "holds out 10 of 10"]),
    ("val-fraction with load", ["--load", "model.json", "--val-fraction", "0.1", "--steps", "2"], 2,
     ["--val-fraction", "--load"]),
    # --- flags that would be ignored ---------------------------------------------------------------
    ("save empty", ["--save", ""], 2, ["--save: give a file name"]),
    ("load empty", ["--load", ""], 2, ["--load: give a file name"]),
    ("data empty", ["--data", ""], 2, ["--data: give a file name"]),
    ("force without save", ["--force"], 2, ["--force does nothing without --save"]),
    ("data with load and no steps", ["--load", "model.json", "--data", "names.txt"], 2, ["--data", "--steps"]),
    ("lr with load and no steps", ["--load", "model.json", "--lr", "0.1"], 2, ["--lr", "--steps"]),
    ("shape with load", ["--load", "model.json", "--n-embd", "16"], 2, ["drop --n-embd"]),
    # --- prompts ------------------------------------------------------------------------------------------
    ("prompt outside vocabulary", ["--data", "names.txt", "--prompt", "ex", *SMALL], 2, ["'x' is not in"]),
    ("prompt as long as the block", ["--data", "names.txt", "--prompt", "emmaemma", *SMALL], 2, ["shorter"]),
    ("prompt with a digit", ["--prompt", "m3"], 2, ["'3' is not in the vocabulary"]),
    ("prompt of undecodable bytes", [b"--prompt", b"\xff"], 2, ["is not in the vocabulary"]),
    # --- sizes -----------------------------------------------------------------------------------------
    ("block size 10^9", ["--block-size", "1000000000"], 2, ["block size of 1000000000", "at most 256"]),
    ("block size 257", ["--block-size", "257"], 2, ["at most 256"]),
    ("width 200000", ["--n-embd", "200000", "--n-head", "1"], 2, ["parameters are too many"]),
    ("100000 layers", ["--n-layer", "100000"], 2, ["parameters are too many"]),
    ("40,000 characters", ["--data", "wide.txt"], 2, ["parameters are too many", "40001 tokens"], big_alphabet),
    # --- data files --------------------------------------------------------------------------------------
    ("data missing", ["--data", "missing.txt"], 2, ["no such file"]),
    ("data a folder", ["--data", "."], 2, ["is a folder"]),
    ("data under a file", ["--data", "names.txt/more"], 2, ["cannot be read (Not a directory)"]),
    ("data empty file", ["--data", "empty.txt"], 2, ["no documents"]),
    ("data blank lines", ["--data", "blank.txt"], 2, ["no documents"]),
    ("data latin-1", ["--data", "latin1.txt"], 2, ["not UTF-8"]),
    ("data one character", ["--data", "ones.txt"], 2, ["one distinct character"]),
    ("data /dev/zero", ["--data", "/dev/zero"], 2, ["more than 64 MiB"]),
    ("data over 64 MiB", ["--data", "huge.txt"], 2, ["more than 64 MiB"], huge_file),
    ("data unreadable", ["--data", "secret.txt"], 2, ["cannot be read"], unreadable, None, {}, {}, NOT_ROOT),
    ("data named by undecodable bytes", [b"--data", b"\xff.txt"], 2, ["no such file"]),
    ("data with characters the model lacks", ["--load", "model.json", "--data", "latin.txt", "--steps", "1"], 2,
     ["vocabulary lacks"]),
    ("names offline", ["--data", "names"], 2, ["cannot download", "--data PATH"], None, None, {},
     {"MICROGPT_NAMES_URL": "http://127.0.0.1:9/names.txt"}),
    ("names from a bad address", ["--data", "names"], 2, ["cannot download"], None, None, {},
     {"MICROGPT_NAMES_URL": "not an address"}),
    ("names with the cache a file", ["--data", "names"], 2, ["cache folder", "XDG_CACHE_HOME"], cache_is_a_file,
     None, {}, {"XDG_CACHE_HOME": "cachefile"}),
    # --- where --save goes --------------------------------------------------------------------------------
    ("save into a missing folder", ["--save", "no/model.json"], 2, ["does not exist"]),
    ("save over a folder", ["--save", "out"], 2, ["is a folder"], folder_of_save),
    ("save over a file", ["--save", "precious.json"], 2, ["exists", "--force"]),
    ("save a 300-byte name", ["--save", "m" * 300 + ".json"], 2, ["longer than the"]),
    ("save where nobody writes", ["--save", "/proc/model.json"], 2, ["cannot write in the folder /proc"]),
    ("save over a fifo", ["--save", "fifo", "--force"], 2, ["not a regular file"], mkfifo),
    ("save over a link", ["--save", "link.json", "--force"], 2, ["symbolic link"], symlink),
    ("save over /dev/full", ["--save", "/dev/full", "--force"], 2, ["not a regular file"]),
    ("save over a device made here", ["--save", "device", "--force"], 2, ["not a regular file"], mknod, None,
     {}, {}, ROOT_ONLY),
    ("save over /dev/null", ["--save", "/dev/null", "--force"], 2, ["not a regular file"]),
    ("save over the data", ["--data", "names.txt", "--save", "names.txt", "--force"], 2, ["is the --data file"]),
    ("save with a newline in its name", ["--save", "a\nb/model.json"], 2, ["does not exist"]),
    # --- checkpoints -------------------------------------------------------------------------------------
    ("load missing", ["--load", "missing.json"], 2, ["cannot be read"]),
    ("load a folder", ["--load", "."], 2, ["is a folder"]),
    ("load /dev/zero", ["--load", "/dev/zero"], 2, ["larger than a checkpoint"]),
    ("load not json", ["--load", CRAFT], 2, ["not a complete JSON file"], None, raw("hello")),
    ("load truncated", ["--load", CRAFT], 2, ["not a complete JSON file"], None, raw('{"format": "micro')),
    ("load latin-1", ["--load", CRAFT], 2, ["cannot be read"], None, raw(b"\xff\xfe")),
    ("load other json", ["--load", CRAFT], 2, ["not a microgpt checkpoint"], None, raw('{"hello": 1}')),
    ("load a list", ["--load", CRAFT], 2, ["not a microgpt checkpoint"], None, raw("[1, 2]")),
    ("load version 99", ["--load", CRAFT], 2, ["version 99"], None, field("version", 99)),
    ("load version true", ["--load", CRAFT], 2, ["version True"], None, field("version", True)),
    ("load steps Infinity", ["--load", CRAFT], 2, ["Infinity"], None, raw("{\"steps\": Infinity}")),
    ("load steps a string", ["--load", CRAFT], 2, ["'steps' is '2'"], None, field("steps", "2")),
    ("load steps negative", ["--load", CRAFT], 2, ["'steps' is -5"], None, field("steps", -5)),
    ("load steps 2.7", ["--load", CRAFT], 2, ["'steps' is 2.7"], None, field("steps", 2.7)),
    ("load seed 1.5", ["--load", CRAFT], 2, ["'seed' is 1.5"], None, field("seed", 1.5)),
    ("load seed true", ["--load", CRAFT], 2, ["'seed' is True"], None, field("seed", True)),
    ("load seed missing", ["--load", CRAFT], 2, ["'seed' is missing"], None, lambda b: b.pop("seed")),
    ("load empty vocabulary", ["--load", CRAFT], 2, ["vocabulary"], None, field("vocab", "")),
    ("load unsorted vocabulary", ["--load", CRAFT], 2, ["vocabulary"], None, field("vocab", "ba")),
    ("load a surrogate", ["--load", CRAFT], 2, ["not a character"], None,
     field("vocab", "".join(sorted(set("".join(NAMES)))) + "\ud800")),
    ("load rng zeroed", ["--load", CRAFT], 2, ["rng_state"], None, zero_rng),
    ("load rng negative", ["--load", CRAFT], 2, ["rng_state"], None, rng_word(0, -1)),
    ("load rng huge", ["--load", CRAFT], 2, ["rng_state"], None, rng_word(0, 2**40)),
    ("load rng position", ["--load", CRAFT], 2, ["rng_state"], None, rng_word(624, 10**6)),
    ("load rng short", ["--load", CRAFT], 2, ["rng_state"], None, field("rng_state", [3, [1, 2], None])),
    ("load nested 100,000 deep", ["--load", "deep.json"], 2, ["JSON cannot be read"], deep_json),
    ("load a 5,000-digit number", ["--load", "longint.json"], 2, ["JSON cannot be read"], long_int_json),
    ("load a weight that is text", ["--load", CRAFT], 2, ["not a finite number"], None, weight("x")),
    ("load a weight that is true", ["--load", CRAFT], 2, ["not a finite number"], None, weight(True)),
    ("load a weight that is NaN", ["--load", CRAFT], 2, ["NaN"], None, raw('{"weights": NaN}')),
    ("load a weight missing", ["--load", CRAFT], 2, ["do not match"], None, drop_weight),
    ("load block size 10^9", ["--load", CRAFT], 2, ["block size of 1000000000"], None,
     config("block_size", 10**9)),
    ("load a shape its weights lack", ["--load", CRAFT], 2, ["shape"], None, config("n_embd", 4)),
    ("load an unknown config field", ["--load", CRAFT], 2, ["config"], None, config("bias", 1)),
    ("load a config field missing", ["--load", CRAFT], 2, ["config"], None, lambda b: b["config"].pop("n_head")),
    ("load weights of 1e308", ["--load", CRAFT, "--samples", "2"], 1, ["sampling failed"], None, all_huge),
    # --- output ------------------------------------------------------------------------------------------
    ("stdout closed", ["--steps", "1"], 2, ["standard output is closed"], None, None,
     {"preexec_fn": close_stdout}),
    ("stdout closed, quiet", ["--steps", "1", "--quiet"], 2, ["standard output is closed"], None, None,
     {"preexec_fn": close_stdout}),
    ("stdout full", ["--steps", "1", *SMALL], 1, ["cannot write to standard output (No space left"], None, None,
     {"stdout": "/dev/full"}),
    ("stdout ascii, data not", ["--data", "latin.txt", "--steps", "1"], 2, ["ascii", "PYTHONIOENCODING"], None,
     None, {}, {"PYTHONIOENCODING": "ascii"}),
    # --- runs that diverge -------------------------------------------------------------------------------
    ("lr 1e308", ["--lr", "1e308", "--steps", "5", *SMALL], 1, ["diverged", "not finite at step 2"]),
    ("lr 1", ["--lr", "1", "--steps", "60", *SMALL], 1, ["diverged", "not finite at step"]),
]


def files(folder: Path) -> dict:
    """Every file below folder: its kind, size, time and (for a regular file) content."""
    seen = {}
    for path in sorted(folder.rglob("*")):
        st = path.lstat()
        small = stat.S_ISREG(st.st_mode) and st.st_size < 2**20 and os.access(path, os.R_OK)
        content = path.read_bytes() if small else None  # a large file: its size and time tell
        seen[str(path.relative_to(folder))] = (stat.S_IFMT(st.st_mode), st.st_size, st.st_mtime_ns, content)
    return seen


def spec(row: tuple) -> tuple:
    """A row with its optional parts filled in: setup, craft, popen options, environment, marks."""
    return (*row, *(None, None, {}, {}, None)[len(row) - 4:])


def prepare(folder: Path, row: tuple) -> list:
    """The row's folder, with the files every row has and the row's own; its arguments."""
    _, args, _, _, setup, craft, _, _, _ = spec(row)
    folder.mkdir()
    (folder / "tmp").mkdir()
    (folder / "cache").mkdir()
    (folder / "names.txt").write_text("\n".join(NAMES) + "\n", "utf-8")
    (folder / "latin.txt").write_text("émile\nzoë\nchloé\n", "utf-8")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.txt").write_bytes(b"\n  \n\n")
    (folder / "latin1.txt").write_bytes("café\n".encode("latin-1"))
    (folder / "ones.txt").write_bytes(b"aaa\naa\n")
    (folder / "precious.json").write_text("precious")
    (folder / "model.json").write_text(json.dumps(valid_checkpoint()))
    if setup:
        setup(folder)
    if craft is not None:
        if isinstance(craft, (str, bytes)):
            data = craft.encode() if isinstance(craft, str) else craft
        else:
            body = valid_checkpoint()
            craft(body)
            data = json.dumps(body).encode()
        (folder / "crafted.json").write_bytes(data)
    return ["crafted.json" if a is CRAFT else a for a in args]


def run_row(folder: Path, row: tuple) -> dict:
    args = prepare(folder, row)
    popen, env = spec(row)[6:8]
    env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache"), "TMPDIR": str(folder / "tmp"),
           "PYTHONPATH": str(ROOT), **env}
    env["XDG_CACHE_HOME"] = str(folder / env["XDG_CACHE_HOME"])  # relative names are the row folder's
    before = files(folder)
    options = dict(popen)
    stdout = options.pop("stdout", None)
    out = open(stdout, "w") if stdout else subprocess.PIPE
    try:
        done = subprocess.run([sys.executable, "-m", "microgpt", *args], cwd=folder, stdout=out,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, timeout=300, **options)
    finally:
        if stdout:
            out.close()
    return {"status": done.returncode, "stderr": done.stderr.decode("utf-8", "replace"),
            "before": before, "after": files(folder)}


def marks(row: tuple) -> list:
    mark = spec(row)[8]
    return [mark] if mark else []


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict:
    """Every row run once, four at a time."""
    base = tmp_path_factory.mktemp("bad")
    rows = [row for row in ROWS if not any(m.args[0] for m in marks(row))]  # rows whose skip applies: not run
    with ThreadPoolExecutor(4) as pool:
        futures = {row[0]: pool.submit(run_row, base / f"row{i}", row) for i, row in enumerate(rows)}
    return {name: future.result() for name, future in futures.items()}


def test_the_table_is_large():
    assert len(ROWS) >= 80 and len({row[0] for row in ROWS}) == len(ROWS)


@pytest.mark.slow  # 120 processes: about 15 s of CPU, too much for the quick set's minute
@pytest.mark.parametrize("row", [pytest.param(row, id=row[0], marks=marks(row)) for row in ROWS])
def test_bad_input(results, row):
    name, _, status, words = row[:4]
    done = results[name]
    err = done["stderr"]
    assert done["status"] == status, (done["status"], err)
    assert err.count("\n") == 1 and err.endswith("\n") and err.startswith("microgpt: "), err
    assert "Traceback" not in err and "Error:" not in err.replace("error:", ""), err
    for word in words:
        assert word in err, (word, err)
    assert done["after"] == done["before"], sorted(set(done["after"]) ^ set(done["before"])) or "a file changed"
