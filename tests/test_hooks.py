"""The build jobs of tools/hooks/ on their own: what mkdocs serve writes into microgpt/, and what not."""

import shutil
import subprocess
from types import SimpleNamespace

import pytest

from tools import hooks, tangle
from tools.hooks import check
from tools.hooks.page_blocks import command

CHAPTER = '# A\n\n```python title="microgpt/a.py"\nx = {}\n```\n'


@pytest.fixture
def session(monkeypatch) -> dict:
    monkeypatch.setattr(hooks, "SESSION", {"serve": True})
    return hooks.SESSION


def retangle(root, value) -> str | None:
    """Save the chapter with x = value, then do what mkdocs serve does before it builds."""
    (root / "docs").mkdir(exist_ok=True)
    (root / "docs" / "01-a.md").write_text(CHAPTER.format(value), "utf-8")
    files, errors = tangle.generate(root / "docs")
    return check.retangle(errors, files, root)


def test_serve_writes_what_the_book_changed_and_keeps_a_hand_edit(tmp_path, session):
    a = tmp_path / "microgpt" / "a.py"
    assert retangle(tmp_path, 1) is None and a.read_text().endswith("x = 1\n")  # a new file
    assert retangle(tmp_path, 2) is None and a.read_text().endswith("x = 2\n")  # what this session wrote
    a.write_text(a.read_text().replace("x = 2", "x = 2  # mine"))
    problem = retangle(tmp_path, 3)
    assert problem.startswith("microgpt/a.py:2 was changed by hand, and is not overwritten: edit docs/01-a.md:4")
    assert a.read_text().endswith("x = 2  # mine\n")
    a.unlink()  # the way back to the book's version
    assert retangle(tmp_path, 3) is None and a.read_text().endswith("x = 3\n")


def test_serve_refuses_a_chapter_that_does_not_tangle_and_writes_nothing(tmp_path, session):
    assert retangle(tmp_path, "1\n```\n```python title=\"setup.py\"\ny = 2") == (
        "docs/01-a.md:6: title 'setup.py' is outside microgpt/: write microgpt/FILE.py or microgpt/FILE.py#chunk")
    assert not (tmp_path / "microgpt").exists()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_serve_replaces_a_file_git_has_committed(tmp_path, session):
    """A package that is stale when mkdocs serve starts is tangled if git can give it back."""
    assert retangle(tmp_path, 1) is None
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(tmp_path)]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "tangled"]):
        subprocess.run(git + args, check=True, capture_output=True)
    session.clear()  # a new session: it wrote nothing yet
    assert retangle(tmp_path, 2) is None
    assert (tmp_path / "microgpt" / "a.py").read_text().endswith("x = 2\n")
    session.clear()
    assert retangle(tmp_path, 3).startswith("microgpt/a.py:2 is neither what this session tangled nor what git "
                                            "has committed, and is not overwritten: edit docs/01-a.md:4")


def test_mkdocs_build_warns_of_any_drift(tmp_path, monkeypatch, caplog):
    """Outside mkdocs serve nothing is written: a hand edit is a warning, which fails a strict build."""
    monkeypatch.setattr(hooks, "SESSION", {"serve": False})
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "01-a.md").write_text(CHAPTER.format(1), "utf-8")
    tangle.main(["--docs", str(tmp_path / "docs")])
    a = tmp_path / "microgpt" / "a.py"
    a.write_text(a.read_text() + "y = 2\n")
    check.on_pre_build({"docs_dir": str(tmp_path / "docs")})
    assert [(r.levelname, r.name) for r in caplog.records] == [("WARNING", "mkdocs.hooks.check")]
    assert caplog.records[0].message.startswith("microgpt/a.py is not what the chapters tangle to")
    assert a.read_text().endswith("y = 2\n")


def test_the_local_command_for_an_example_is_the_readmes_with_its_extras():
    plain = SimpleNamespace(file=SimpleNamespace(src_uri="14-x.md"), markdown="text")
    slow = SimpleNamespace(file=SimpleNamespace(src_uri="20-y.md"), markdown="<!--pytest.mark.slow-->\n```python")
    assert command(["torch"], plain) == "MICROGPT_EXTRAS=torch ./check docs/14-x.md"
    assert command(["torch"], slow) == "MICROGPT_EXTRAS=torch ./check -m '' docs/20-y.md"
    assert command(["numba", "numpy"], plain) == "MICROGPT_EXTRAS=numba,numpy ./check docs/14-x.md"
    assert command(["hypothesis"], plain) == "./check docs/14-x.md"  # a test tool: ./check installs it
