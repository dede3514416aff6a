"""Chapter 19: the validation split and loss, --val-fraction, and the recorded experiments.

The quick tests check the split, that the flag leaves training as it was, that the validation loss
is training's loss without touching a gradient (on every engine, mid-run too), and the record's
shape against the tool and the page. The slow test re-runs the 1,000-step experiments and compares
them with docs/data/experiments-run.json, and one recorded command through the real command line.
"""

import json
import random
import re
import subprocess
import sys
from itertools import islice
from pathlib import Path

import pytest
from helpers import microgpt

from microgpt import engines, validation
from microgpt.model import GPT, Config
from microgpt.optim import Adam
from microgpt.tokenizer import Tokenizer
from microgpt.train import doc_loss
from tools import experiments
from tools.hooks import experiments as hook

ROOT = Path(__file__).resolve().parent.parent
RECORD = json.loads((ROOT / "docs" / "data" / "experiments-run.json").read_text("utf-8"))
CHAPTER = (ROOT / "docs" / "19-experiments.md").read_text("utf-8")
NAMES = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "charlotte", "amelia", "harper", "evelyn"]
SMALL = ["--n-embd", "8", "--n-head", "2", "--samples", "3"]
ARRAY_ENGINES = [name for name in ("numpy", "numba") if name in engines.NAMES]


def model_of(docs, config=Config(n_embd=8, n_head=2), seed=42):
    tokenizer = Tokenizer(docs)
    return tokenizer, GPT(config, tokenizer.vocab_size, random.Random(seed))


def available(engine: str) -> bool:
    try:
        engines.load(engine)
    except ImportError:
        return False
    return True


# --- the split -----------------------------------------------------------------------------------

def test_split_holds_out_the_last_documents_deterministically():
    docs = [f"d{i}" for i in range(10)]
    assert validation.split(docs, 0.3) == (docs[:7], docs[7:])
    assert validation.split(docs, 0.3) == validation.split(list(docs), 0.3)
    train, held = validation.split(docs, 0.5)
    assert train + held == docs and not set(train) & set(held)


@pytest.mark.parametrize("fraction", [0.01, 0.99])
def test_a_split_that_leaves_a_part_empty_is_refused(fraction):
    with pytest.raises(ValueError, match="at least one each"):
        validation.split(["a", "b", "c", "d", "e"], fraction)


@pytest.mark.parametrize("text", ["0", "1", "1.5", "-0.1", "nan", "inf", "abc"])
def test_the_flag_type_takes_only_fractions_strictly_inside(text):
    import argparse

    with pytest.raises(argparse.ArgumentTypeError):
        validation.held_fraction(text)
    assert validation.held_fraction("0.25") == 0.25


# --- the flag leaves training alone --------------------------------------------------------------

def steps_and_samples(stdout: str) -> tuple[list[str], list[str]]:
    lines = stdout.splitlines()
    return ([line for line in lines if line.startswith("step ") and "val loss" not in line],
            [line for line in lines if line.startswith("sample ")])


def test_the_flag_changes_no_loss_and_no_sample(tmp_path):
    """A run shorter than the training set trains on the same documents, from the same weights."""
    data = tmp_path / "names.txt"
    data.write_text("\n".join(NAMES * 3) + "\n", "utf-8")  # 30 documents: 27 to train on, 3 held out
    plain = microgpt("--data", str(data), "--steps", "12", *SMALL)
    held = microgpt("--data", str(data), "--steps", "12", "--val-fraction", "0.1", *SMALL)
    assert plain.returncode == held.returncode == 0, held.stderr
    assert steps_and_samples(held.stdout) == steps_and_samples(plain.stdout)
    reports = [line for line in held.stdout.splitlines() if "val loss" in line]
    assert len(reports) == 12  # every tenth of 12 steps is every step
    assert re.fullmatch(r"step   12 /   12 \| val loss \d\.\d{4} \| train loss \d\.\d{4}", reports[-1])
    assert "held out: 3 docs for validation, 27 to train on" in held.stdout


def test_without_the_flag_nothing_of_it_runs():
    done = microgpt("--steps", "3", *SMALL)
    assert done.returncode == 0 and "val" not in done.stdout and "held out" not in done.stdout


@pytest.mark.parametrize("args, words", [
    (["--val-fraction", "0"], ["--val-fraction", "above 0 and below 1"]),
    (["--val-fraction", "1"], ["--val-fraction", "below 1"]),
    (["--val-fraction", "x"], ["--val-fraction", "not a float"]),
    (["--val-fraction", "0.00001"], ["--val-fraction 1e-05", "holds out 0 of 5163"]),
])
def test_bad_fractions_get_one_line_and_status_2(args, words):
    done = microgpt(*args, "--steps", "2", *SMALL)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert all(word in done.stderr for word in words), done.stderr


# --- the loss, without gradients ---------------------------------------------------------------

@pytest.mark.parametrize("engine", ["plain", "fast", *ARRAY_ENGINES])
def test_mean_loss_is_trainings_loss_and_touches_no_gradient(engine):
    if not available(engine):
        pytest.skip(f"{engine} is not installed")
    tokenizer, model = model_of(NAMES)
    before = [(p.data, p.grad) for p in model.params]
    loss = validation.mean_loss(model, tokenizer, NAMES[:3], engine)
    assert [(p.data, p.grad) for p in model.params] == before
    tokens = [len(doc) + 1 for doc in NAMES[:3]]  # every position of each, with its end
    expected = sum(doc_loss(model, tokenizer, doc).data * n for doc, n in zip(NAMES[:3], tokens)) / sum(tokens)
    assert loss == pytest.approx(expected, abs=1e-12)


def test_mean_loss_scores_only_the_block_sizes_positions():
    tokenizer, model = model_of(NAMES, Config(n_embd=8, n_head=2, block_size=4))
    assert validation.mean_loss(model, tokenizer, ["charlotte"]) == \
        pytest.approx(doc_loss(model, tokenizer, "charlotte").data, abs=1e-12)


@pytest.mark.parametrize("engine", ARRAY_ENGINES)
def test_mid_run_reports_see_the_array_engines_weights(engine):
    """watched syncs the model before each report: the numbers match the plain engine's mid-run."""
    if not available(engine):
        pytest.skip(f"{engine} is not installed")

    def reports(name):
        tokenizer, model = model_of(NAMES)
        seen = []
        run = validation.watched(engines.load(name)[0], lambda step, mean: seen.append(
            (step, mean, validation.mean_loss(model, tokenizer, NAMES[-2:], name))))
        losses = list(run(model, tokenizer, NAMES[:-2], Adam(model.params), 20))
        return losses, seen

    (plain, plain_seen), (array, array_seen) = reports("fast"), reports(engine)
    assert array == pytest.approx(plain, abs=1e-12)
    assert [s[0] for s in array_seen] == list(range(2, 21, 2))
    flat = [x for s in array_seen for x in s[1:]]
    assert flat == pytest.approx([x for s in plain_seen for x in s[1:]], abs=1e-12)
    assert len({s[2] for s in array_seen}) == 10  # the weights moved between reports


def test_watched_closes_the_engine_when_stopped_early():
    tokenizer, model = model_of(NAMES)
    run = validation.watched(engines.load("fast")[0], lambda step, mean: None)
    steps = run(model, tokenizer, NAMES, Adam(model.params), 10)
    assert len(list(islice(steps, 3))) == 3
    steps.close()  # no error, and the generator is finished
    assert list(steps) == []


# --- the record, the tool and the page ---------------------------------------------------------

def test_the_record_holds_the_tools_runs():
    assert [run["settings"] for run in RECORD["runs"]] == experiments.RUNS
    assert RECORD["base"] == experiments.BASE and RECORD["engine"] == experiments.ENGINE
    assert {"python", "system", "cpu", "cores", "summary"} <= set(RECORD["machine"])
    for run in RECORD["runs"]:
        s = run["settings"]
        assert run["command"] == experiments.command(s)
        assert [point["step"] for point in run["curve"]] == [s["steps"] // 10 * k for k in range(1, 11)]
        assert run["val_loss"] == run["curve"][-1]["val"]
        assert run["held_out"] == round(s["val_fraction"] * 32033) and run["train_docs"] + run["held_out"] == 32033
        assert run["trained_on"] == min(s["steps"], run["train_docs"])
        assert len(run["samples"]) == RECORD["samples"] and run["seconds"] > 0
        config = Config(n_embd=s["n_embd"], n_layer=s["n_layer"], block_size=s["block_size"], n_head=s["n_head"])
        assert run["num_params"] == len(GPT(config, 27, random.Random(0)).params)


def test_the_first_run_is_upstreams_reference_run():
    """The page says so: with a tenth held out, upstream's 1,000 steps take the same losses and names."""
    reference = json.loads((ROOT / "docs" / "data" / "reference-run.json").read_text("utf-8"))
    run = RECORD["runs"][0]
    assert run["settings"] == experiments.BASE
    assert run["last_loss"] == pytest.approx(reference["losses"][-1], abs=1e-9)  # numba: within 1e-12
    for point in run["curve"]:
        window = reference["losses"][point["step"] - 100:point["step"]]
        assert point["train"] == pytest.approx(sum(window) / len(window), abs=1e-9)
    assert run["samples"] == reference["samples"][:RECORD["samples"]]


def test_what_the_page_says_of_the_numbers_holds():
    """The chapter's words over the record's numbers: which way each comparison goes."""
    runs = RECORD["runs"]
    val = [run["val_loss"] for run in runs]
    noise = max(abs(val[6] - val[0]), abs(val[13] - val[7]))  # block 32 against 16: only the draw differs
    assert val[0] - val[7] > 10 * max(val[0] - v for v in val[1:7])  # steps matter most
    assert val[2] > val[0] and val[9] > val[7]  # wider is worse
    assert min(val[10], val[11]) >= val[7]  # depth no lower
    assert val[5] > val[0] and val[12] > val[7]  # shorter context costs
    for run in runs[:14]:  # seen names score lower; unseen training names like held-out ones
        assert run["train_loss"] < run["val_loss"]
        assert abs(run["unseen_loss"] - run["val_loss"]) < abs(run["train_loss"] - run["val_loss"]) + noise
    overfit = [p["val"] for p in runs[14]["curve"]]
    assert overfit.index(min(overfit)) == 0 and overfit[-1] > overfit[0]  # it turns after the first tenth
    assert runs[15]["train_loss"] > runs[14]["train_loss"] and runs[15]["val_loss"] < runs[14]["val_loss"]


def test_the_commands_say_what_the_runs_are():
    for run in RECORD["runs"]:
        args = run["command"].split()
        assert args[:3] == ["python", "-m", "microgpt"]
        flags = dict(zip(args[3::2], args[4::2]))
        s = run["settings"]
        for name in ("steps", "n_embd", "n_layer", "block_size", "val_fraction"):
            flag = "--" + name.replace("_", "-")
            assert float(flags.get(flag, experiments.BASE[name])) == s[name], (flag, run["command"])
        assert flags["--data"] == "names" and flags["--engine"] == experiments.ENGINE


def test_the_page_shows_the_records_table():
    """The chapter asks for the table, and the table has a row per run, with its command's flags."""
    assert "<!-- experiments table -->" in CHAPTER
    assert f"`{hook.prefix(RECORD).strip()}`" in CHAPTER.replace("\n", " ")  # the prefix the rows leave out
    rows = hook.table(RECORD).splitlines()[2:]
    assert len(rows) == len(RECORD["runs"])
    for row, run in zip(rows, RECORD["runs"]):
        words = run["command"].removeprefix(hook.prefix(RECORD)).split()
        shown = re.findall(r'<code style="white-space: nowrap">([^<]*)</code>', row)
        assert shown == [f"{flag} {value}" for flag, value in zip(words[::2], words[1::2])]
        assert f"{run['val_loss']:.4f}" in row and f"{run['train_loss']:.4f}" in row


# --- the record is what the code computes ------------------------------------------------------

@pytest.fixture(scope="module")
def rerun(names_txt):
    pytest.importorskip("numba")
    experiments.warm_up(str(names_txt))
    return {i: experiments.run(str(names_txt), s) for i, s in enumerate(experiments.RUNS) if s["steps"] == 1000}


@pytest.mark.slow  # seven runs of 1,000 steps and their evaluations: about 15 s with numba
@pytest.mark.needs_names
def test_the_recorded_1000_step_runs_are_the_codes(rerun):
    """Losses within 1e-9 (the numba engine's sums are the plain engine's, to about 1e-15); names exactly."""
    assert len(rerun) == 7
    for i, run in rerun.items():
        recorded = RECORD["runs"][i]
        for key in ("command", "num_params", "train_docs", "held_out", "trained_on", "samples"):
            assert run[key] == recorded[key], (run["command"], key)
        assert [p["step"] for p in run["curve"]] == [p["step"] for p in recorded["curve"]]
        for got, want in zip(run["curve"], recorded["curve"]):
            assert got["train"] == pytest.approx(want["train"], abs=1e-9)
            assert got["val"] == pytest.approx(want["val"], abs=1e-9)
        assert run["train_loss"] == pytest.approx(recorded["train_loss"], abs=1e-9)


@pytest.mark.slow
@pytest.mark.needs_names
def test_a_recorded_command_prints_the_record(names_txt):
    """The first run's command, typed: its reports and names are the record's."""
    pytest.importorskip("numba")
    run = RECORD["runs"][0]
    args = run["command"].split()[3:]
    args[args.index("names")] = str(names_txt)
    done = subprocess.run([sys.executable, "-m", "microgpt", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    reports = [line for line in done.stdout.splitlines() if "val loss" in line]
    s = run["settings"]["steps"]
    assert reports == [f"step {p['step']:4d} / {s:4d} | val loss {p['val']:.4f} | train loss {p['train']:.4f}"
                       for p in run["curve"]]
    assert [line.split(": ", 1)[1] for line in done.stdout.splitlines() if line.startswith("sample ")] == \
        run["samples"]
