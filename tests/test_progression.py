"""The progression: six programs tangled from the book, each run, each recorded; the last is microgpt.

Quick: every program runs (on a tiny file, and its first steps on names.txt as recorded), the record
is complete and consistent, step 6's record is the reference run, microgpt.py in a folder with
input.txt prints upstream's first 20 losses, and the site shows real diffs, the whole annotated
file and byte-for-byte downloads. Slow: the progression re-recorded (steps 1, 2 and 6 whole, the
first PARTIAL steps of 3 to 5, to stay within minutes), and microgpt.py's full run, which must be
upstream's log and names."""

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools import progression

ROOT = Path(__file__).resolve().parent.parent
RECORD = json.loads(progression.RECORD.read_text("utf-8"))
SWEEP = json.loads(progression.SWEEP.read_text("utf-8"))
REFERENCE = json.loads((ROOT / "docs" / "data" / "reference-run.json").read_text("utf-8"))
STEPS = progression.step_files()
PARTIAL = 250  # steps of programs 3 to 5 that the slow test re-records: about a minute of CPU each


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
    done = subprocess.run([sys.executable, str(STEPS[name]), str(data), "--steps", "2"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    got = log_of(done.stdout.splitlines())
    assert (got["num_docs"], got["vocab_size"]) == (4, 7)
    assert len(got["losses"]) == 2 and len(got["samples"]) == 20
    assert all(set(s) <= set("abnoev") for s in got["samples"])


@pytest.mark.needs_names
@pytest.mark.parametrize("name", list(STEPS))
def test_each_step_starts_as_recorded(name, names_txt):
    """The first three steps of every program on names.txt print what the record holds."""
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


def test_step_6_is_the_reference_run():
    """The progression ends at the book's reference run: every loss to the printed digit, every name."""
    assert RECORD["settings"]["steps"] == REFERENCE["settings"]["steps"]
    assert RECORD["step6"]["losses"] == [float(f"{loss:.4f}") for loss in REFERENCE["losses"]]
    assert RECORD["step6"]["samples"] == REFERENCE["samples"]
    assert RECORD["step6"]["num_params"] == REFERENCE["num_params"]


def test_the_sweeps_chose_the_rates_the_steps_use():
    """Each swept step starts its learning rate at the rate with the lowest final loss in its sweep."""
    for name, (steps, rates) in progression.SWEEPS.items():
        runs = SWEEP[name]["runs"]
        assert SWEEP[name]["steps"] == steps and [r["lr"] for r in runs] == rates
        finished = [r for r in runs if r["final_loss"] is not None]
        assert min(finished, key=lambda r: r["final_loss"])["lr"] == RECORD[name]["learning_rate"], name
    assert RECORD["step5"]["learning_rate"] == RECORD["step4"]["learning_rate"]  # the same model, read in heads


@pytest.mark.needs_names
def test_a_sweep_run_starts_as_recorded(names_txt):
    """One run of each sweep, replayed for its first two steps with its rate swapped in."""
    for name in progression.SWEEPS:
        run = SWEEP[name]["runs"][0]
        got = progression.run(STEPS[name], str(names_txt), SWEEP[name]["steps"], stop_after=2, lr=run["lr"])
        assert got["losses"] == run["first_losses"], name


@pytest.mark.needs_names
def test_microgpt_py_beside_input_txt_prints_upstreams_first_20_losses(names_txt, tmp_path):
    """python microgpt.py in a folder holding input.txt, as upstream is run: its first 23 lines."""
    (tmp_path / "input.txt").write_bytes(names_txt.read_bytes())
    proc = subprocess.Popen([sys.executable, str(STEPS["step6"])], cwd=tmp_path, stdout=subprocess.PIPE,
                            text=True)
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
    blocks = re.findall(rf'<div class="language-{language} highlight">(.*?)</div>', text, re.S)
    out = []
    for block in blocks:
        code = re.findall(r"<code>(.*?)</code>", block, re.S)[-1]  # the last: the code, after any line numbers
        out.append(html.unescape(re.sub(r"<[^>]+>", "", code)))
    return out


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
@pytest.mark.parametrize("name", ["step1", "step2", "step3", "step4", "step5"])
def test_the_progression_re_recorded_is_the_record(name, names_txt):
    """Steps 1 and 2 whole; 3 to 5 for their first PARTIAL steps of the same schedule (step 6 below)."""
    whole = name in ("step1", "step2")
    got = progression.run(STEPS[name], str(names_txt), stop_after=None if whole else PARTIAL)
    want = {key: RECORD[name][key] for key in got}
    if not whole:
        want["losses"] = want["losses"][:PARTIAL]
        for key in ("samples", "final_loss"):
            del want[key], got[key]
    assert len(got["losses"]) == (RECORD["settings"]["steps"] if whole else PARTIAL)
    assert progression.differences(want, got) == []


@pytest.mark.slow
@pytest.mark.needs_names
def test_microgpt_py_whole_run_is_upstreams_and_the_records(names_txt, tmp_path):
    """python microgpt.py beside input.txt, all 1000 steps: upstream's every loss and name, and the record."""
    (tmp_path / "input.txt").write_bytes(names_txt.read_bytes())
    done = subprocess.run([sys.executable, str(STEPS["step6"])], cwd=tmp_path, capture_output=True, text=True,
                          timeout=3600)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1003:1005] == ["", "--- inference (new, hallucinated names) ---"]
    assert lines[3:1003] == [f"step {i + 1:4d} / 1000 | loss {loss:.4f}" for i, loss in enumerate(REFERENCE["losses"])]
    assert lines[1005:] == [f"sample {i + 1:2d}: {name}" for i, name in enumerate(REFERENCE["samples"])]
    got = log_of(lines)
    assert (got["losses"], got["samples"], got["notes"]) == (RECORD["step6"]["losses"], RECORD["step6"]["samples"], [])
