"""The docs-block harness of conftest.py: failures name the chapter line, type and traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """# probe

```python
x = 1
raise KeyError('boom')
```

```python
from microgpt.autograd import Value
Value(0.0).log()
```

```python
print(1 + 1)
```
<!--pytest-codeblocks:expected-output-->
```text
3
```

```python
print(1 + 1)
```
<!--pytest-codeblocks:expected-output-->
```text
2
```
"""


def run_pytest(copy: Path, doc: Path) -> subprocess.CompletedProcess:
    """pytest run on one chapter of a scratch copy of the repository, as the README runs it."""
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(doc)], cwd=copy,
                          capture_output=True, text=True, timeout=120, env=dict(os.environ, PYTHONPATH=str(copy)))


@pytest.fixture(scope="module")
def report(repo_copy) -> tuple[str, str]:
    """pytest's report on a probe chapter in the docs/ of a scratch copy of the repository."""
    doc = repo_copy / "docs" / "_probe.md"
    doc.write_text(PROBE, "utf-8")
    done = run_pytest(repo_copy, doc)
    return done.stdout + done.stderr, repo_copy


def test_failure_names_chapter_line_type_and_traceback(report):
    text, copy = report
    assert "docs/_probe.md:3: KeyError: 'boom'" in text
    assert f'File "{copy / "docs" / "_probe.md"}", line 5, in <module>' in text
    assert "3 failed, 1 passed" in text


def test_package_frames_point_back_into_the_book(report):
    text, _ = report
    assert "docs/_probe.md:8: ValueError: math domain error" in text
    assert "microgpt/autograd.py" in text
    assert "(written at docs/03-autograd.md:" in text


def test_wrong_output_shows_a_diff_and_right_output_passes(report):
    text, _ = report
    assert "docs/_probe.md:13: OutputMismatch" in text and "-3" in text and "+2" in text
    assert "docs/_probe.md::line 21" not in text  # the block whose output is right did not fail


def test_a_test_that_writes_into_the_repository_fails_the_run(repo_copy):
    probe = repo_copy / "docs" / "_writes.md"
    probe.write_text("# probe\n\n```python\nopen('docs/left-behind.md', 'w').close()\n```\n", "utf-8")
    done = run_pytest(repo_copy, probe)
    probe.unlink()
    (repo_copy / "docs" / "left-behind.md").unlink()
    assert "1 passed" in done.stdout and done.returncode == 1
    assert "tests changed files of the repository: docs/left-behind.md" in done.stdout
