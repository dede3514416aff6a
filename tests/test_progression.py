"""The progression: six programs tangled from the book, each run, each recorded; the last is microgpt.

Quick: every program runs (on a tiny file, and its first steps on names.txt as recorded), the record
is complete and consistent, step 6 starts as the reference run, microgpt.py in a folder with input.txt
prints upstream's first 20 losses, and the site shows real diffs, the whole annotated file and
byte-for-byte downloads. Slow: the whole progression re-recorded, and microgpt.py's run of upstream's
1000 steps, which must print upstream's log byte for byte."""

import html
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import GC_EASED, collector_eased

from tools import progression
from tools.hooks import progression as pages

ROOT = Path(__file__).resolve().parent.parent
RECORD = json.loads(progression.RECORD.read_text("utf-8"))
SWEEP = json.loads(progression.SWEEP.read_text("utf-8"))
REFERENCE = json.loads((ROOT / "docs" / "data" / "reference-run.json").read_text("utf-8"))
STEPS = progression.step_files()


def as_python_runs_it(program: Path, *args: str) -> str:
    """Code for python -c that runs `python PROGRAM ARGS...` as Python does, with the collector eased (helpers.py)."""
    return (f"{GC_EASED}; import runpy, sys; sys.argv = {[str(program), *args]!r}; "
            f"runpy.run_path({str(program)!r}, run_name='__main__')")


def log_of(lines: list[str]) -> dict:
    """A printed log as a record, as the recorder parses it (timing aside)."""
    return progression.parse(lines, [0.0] * len(lines), "")


def test_there_are_six_steps_and_the_last_is_microgpt():
    assert list(STEPS) == [f"step{n}" for n in range(1, 7)]
    assert STEPS["step6"].read_text("utf-8").split('"""')[1].startswith("microgpt in one file")


@pytest.mark.parametrize("name", list(STEPS))
def test_each_step_runs_on_a_tiny_file(name, tmp_path):
    """Two steps on four names: the sizes, two losses, 20 names, exit status 0."""
    data = tmp_path / "tiny.txt"
    data.write_text("ava\nbob\nanna\neve\n", "utf-8")
    done = subprocess.run([sys.executable, "-c", as_python_runs_it(STEPS[name], str(data), "--steps", "2")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    got = log_of(done.stdout.splitlines())
    assert (got["num_docs"], got["vocab_size"]) == (4, 7)
    assert len(got["losses"]) == 2 and len(got["samples"]) == 20
    assert all(set(s) <= set("abnoev") for s in got["samples"])


@pytest.mark.needs_names
@pytest.mark.parametrize("name", list(STEPS))
def test_each_step_starts_as_recorded(name, names_txt):
    """The first three steps of every program on names.txt print what the record holds."""
    with collector_eased():
        got = progression.run(STEPS[name], str(names_txt), stop_after=3)
    want = RECORD[name]
    for key in ("num_docs", "vocab_size", "num_params", "notes", "learning_rate"):
        assert got[key] == want[key], key
    assert got["losses"] == want["losses"][:3]


@pytest.mark.parametrize("name", list(STEPS))
def test_the_record_of_each_step_is_complete(name):
    rec = RECORD[name]
    steps, window = RECORD["settings"]["steps"], RECORD["settings"]["window"]
    assert rec["file"] == STEPS[name].name
    assert len(rec["losses"]) == steps and len(rec["samples"]) == 20
    assert rec["final_loss"] == sum(rec["losses"][-window:]) / window
    assert rec["learning_rate"] == progression.learning_rate(STEPS[name].read_text("utf-8"))
    assert 0 < rec["seconds_per_step"] < 10


def test_step_6_starts_as_the_reference_run():
    """Step 6 is microgpt on a shorter budget: the same sizes, and the reference run's first two losses
    (the first is measured before any update, the first update uses the full rate whatever the budget)."""
    rec = RECORD["step6"]
    assert (rec["num_docs"], rec["vocab_size"], rec["num_params"]) == \
        (REFERENCE["num_docs"], REFERENCE["vocab_size"], REFERENCE["num_params"])
    assert rec["losses"][:2] == [float(f"{loss:.4f}") for loss in REFERENCE["losses"][:2]]
    assert rec["losses"] != [float(f"{loss:.4f}") for loss in REFERENCE["losses"][:len(rec["losses"])]]  # schedules


def test_the_sweeps_chose_the_rates_the_steps_use():
    """Each swept step uses the rate whose whole run ended lowest, and its record is that run of this program."""
    assert SWEEP["settings"] == {"steps": RECORD["settings"]["steps"], "window": RECORD["settings"]["window"]}
    for name, rates in progression.SWEEPS.items():
        runs = SWEEP[name]["runs"]
        assert [r["lr"] for r in runs] == rates
        best = min((r for r in runs if r["final_loss"] is not None), key=lambda r: r["final_loss"])
        source = STEPS[name].read_text("utf-8")
        assert best["lr"] == RECORD[name]["learning_rate"] == progression.learning_rate(source), name
        assert best["program"] == progression.fingerprint(source), f"{name} changed since its sweep"
        assert best["losses"] == RECORD[name]["losses"] and best["samples"] == RECORD[name]["samples"]
        for r in runs:
            assert (r["final_loss"] is None) == ("diverged" in r)
            assert r["final_loss"] is None or r["final_loss"] == sum(r["losses"][-100:]) / 100


def test_the_fingerprint_ignores_the_rate_and_nothing_else():
    source = STEPS["step4"].read_text("utf-8")
    other_rate = progression.LEARNING_RATE.sub(lambda m: m[1] + "0.123", source, count=1)
    assert other_rate != source and progression.fingerprint(other_rate) == progression.fingerprint(source)
    assert progression.fingerprint(source.replace("n_embd, block_size = 16, 16", "n_embd, block_size = 8, 16")) \
        != progression.fingerprint(source)


@pytest.mark.needs_names
def test_a_sweep_run_starts_as_recorded(names_txt):
    """The first run of each sweep, replayed for its first two steps with its rate swapped in."""
    for name in progression.SWEEPS:
        run = SWEEP[name]["runs"][0]
        with collector_eased():
            got = progression.run(STEPS[name], str(names_txt), stop_after=2, lr=run["lr"])
        assert got["losses"] == run["losses"][:2], name


@pytest.mark.needs_names
def test_microgpt_py_beside_input_txt_prints_upstreams_first_20_losses(names_txt, tmp_path):
    """python microgpt.py in a folder holding input.txt, as upstream is run: its first 23 lines (with the
    collector eased; the slow test runs the very command for all of its lines)."""
    (tmp_path / "input.txt").write_bytes(names_txt.read_bytes())
    proc = subprocess.Popen([sys.executable, "-c", as_python_runs_it(STEPS["step6"])], cwd=tmp_path,
                            stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})  # each line as it is printed
    try:
        lines = [proc.stdout.readline().rstrip("\n") for _ in range(23)]
    finally:
        proc.kill()
        proc.communicate()
    assert lines[:3] == [f"num docs: {REFERENCE['num_docs']}", f"vocab size: {REFERENCE['vocab_size']}",
                         f"num params: {REFERENCE['num_params']}"]
    assert lines[3:] == [f"step {i + 1:4d} / 1000 | loss {loss:.4f}" for i, loss in enumerate(REFERENCE["losses"][:20])]


def test_the_package_runs_a_step_by_number(tmp_path):
    data = tmp_path / "tiny.txt"
    data.write_text("ava\nbob\nanna\n", "utf-8")
    direct = subprocess.run([sys.executable, str(STEPS["step2"]), str(data), "--steps", "3"],
                            capture_output=True, text=True, timeout=60)
    by_number = subprocess.run([sys.executable, "-m", "microgpt.progression", "2", str(data), "--steps", "3"],
                               cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert by_number.returncode == direct.returncode == 0
    assert by_number.stdout == direct.stdout and "gradient check" in direct.stdout


@pytest.mark.parametrize("args", [["0"], ["7"], ["two"]])
def test_a_bad_step_number_is_one_line_and_status_2(args):
    done = subprocess.run([sys.executable, "-m", "microgpt.progression", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: the step must be a number from 1 to 6") and done.stderr.count("\n") == 1


@pytest.mark.parametrize("name", list(STEPS))
def test_bad_input_is_one_line_and_status_1(name, tmp_path):
    """No file, an empty file, a file that is not UTF-8, no steps: one line on stderr each, no traceback."""
    empty, binary = tmp_path / "empty.txt", tmp_path / "binary.txt"
    empty.write_text("\n \n", "utf-8")
    binary.write_bytes(b"\xff\xfe\x00abc\n")
    for args in ([str(tmp_path / "missing.txt")], [str(empty)], [str(binary)], [str(empty), "--steps", "0"]):
        done = subprocess.run([sys.executable, str(STEPS[name]), *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 1, (args, done.stderr)
        assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, (args, done.stderr)
        assert done.stdout == ""


# --- the site ------------------------------------------------------------------------------------

def code_blocks(page: Path, language: str) -> list[str]:
    """The text of each code block of one language on a built page (without line numbers)."""
    text = page.read_text("utf-8")
    codes = re.findall(rf'<div class="language-{language} highlight">.*?<code>(.*?)</code>', text, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", code)) for code in codes]  # line numbers are not in <code>


def apply(old: list[str], diff: list[str]) -> list[str]:
    """Apply a unified diff to a file's lines, checking every line it says is there."""
    out, i = [], 0
    for line in diff[2:]:
        if line.startswith("@@"):
            start, count = re.match(r"@@ -(\d+)(?:,(\d+))?", line).groups()
            start = int(start) - (count != "0")
            out += old[i:start]
            i = start
        elif line.startswith("+"):
            out.append(line[1:])
        else:
            assert old[i] == line[1:], (i, line)
            out += [] if line.startswith("-") else [old[i]]
            i += 1
    return out + old[i:]


def test_a_note_whose_marker_is_gone_or_repeated_fails_the_build(caplog):
    """A part starts at the one line that begins with its marker: no such line, or several, is a warning
    (which fails the strict build), never a note beside the wrong code."""
    table = ("| starts at | what it does | explained in |\n| --- | --- | --- |\n"
             "| `# Generated by tools/tangle.py` | the header | [How](how-this-book-is-made.md) |\n"
             "| `no line starts like this` | gone | [x](x.md) |\n"
             "| `return` | repeated | [x](x.md) |\n")
    with caplog.at_level(logging.WARNING, logger="mkdocs.hooks.progression"):
        shown = pages.annotated("step6_microgpt.py", table)
    assert "'no line starts like this' starts 0 lines" in caplog.text
    assert "'return' starts" in caplog.text and "gone" not in shown and "repeated" not in shown
    assert "the header" in shown


def test_the_site_offers_every_program_byte_for_byte(site):
    assert (site / "downloads" / "microgpt.py").read_bytes() == STEPS["step6"].read_bytes()
    for path in STEPS.values():
        assert (site / "downloads" / path.name).read_bytes() == path.read_bytes()


def test_each_diff_on_the_pages_turns_a_step_into_the_next(site):
    diffs = [d for page in ("00-the-whole-loop", "16-build-it-up")
             for d in code_blocks(site / page / "index.html", "diff")]
    names = list(STEPS.values())
    assert len(diffs) == len(names) - 1
    for old, new, diff in zip(names, names[1:], diffs):
        lines = diff.splitlines()
        assert lines[:2] == [f"--- {old.name}", f"+++ {new.name}"]
        assert apply(old.read_text("utf-8").splitlines(), lines) == new.read_text("utf-8").splitlines()


def test_the_annotated_source_is_the_whole_file_with_a_note_per_part(site):
    page = (site / "microgpt-py" / "index.html").read_text("utf-8")
    parts = code_blocks(site / "microgpt-py" / "index.html", "python")
    shown = [line for part in parts for line in part.splitlines()]
    program = STEPS["step6"].read_text("utf-8").splitlines()
    assert [line for line in shown if line.strip()] == [line for line in program if line.strip()]
    notes = re.findall(r'<div class="annotated-note">(.*?)</div>', page, re.S)
    assert len(notes) == len(parts) > 20
    assert all(re.search(r'<a href="\.\./[\w-]+/(#[\w-]+)?"', note) for note in notes), notes


# --- slow: the progression re-recorded, and microgpt.py's whole run -------------------------------

@pytest.mark.slow
@pytest.mark.needs_names
@pytest.mark.parametrize("name", list(STEPS))
def test_the_progression_re_recorded_is_the_record(name, names_txt):
    """Each program run again in full: every loss, name and line as recorded (timings aside)."""
    with collector_eased():  # the same numbers in about half the time; the record's timings are not compared
        got = progression.run(STEPS[name], str(names_txt))
    assert len(got["losses"]) == RECORD["settings"]["steps"]
    assert progression.differences({key: RECORD[name][key] for key in got}, got) == []


@pytest.mark.slow
@pytest.mark.needs_names
def test_microgpt_py_whole_run_is_upstreams_and_the_records(names_txt, tmp_path):
    """python microgpt.py beside input.txt, all 1000 steps: upstream's log byte for byte (its step lines end
    in a carriage return), every loss and name of the reference run."""
    (tmp_path / "input.txt").write_bytes(names_txt.read_bytes())
    done = subprocess.run([sys.executable, str(STEPS["step6"])], cwd=tmp_path, capture_output=True, timeout=3600)
    assert done.returncode == 0, done.stderr
    upstream = (f"num docs: {REFERENCE['num_docs']}\nvocab size: {REFERENCE['vocab_size']}\n"
                f"num params: {REFERENCE['num_params']}\n"
                + "".join(f"step {i + 1:4d} / 1000 | loss {loss:.4f}\r" for i, loss in enumerate(REFERENCE["losses"]))
                + "\n--- inference (new, hallucinated names) ---\n"
                + "".join(f"sample {i + 1:2d}: {name}\n" for i, name in enumerate(REFERENCE["samples"])))
    assert done.stdout == upstream.encode()
    got = log_of(done.stdout.decode().splitlines())
    assert got["losses"][:2] == RECORD["step6"]["losses"][:2]  # the progression's shorter run starts the same
