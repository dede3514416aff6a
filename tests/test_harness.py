"""The docs-block harness of conftest.py: failures name the chapter line, type and traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
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


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[str, str]:
    """pytest's report on a probe chapter inside docs/ (removed afterwards), and its name."""
    doc = ROOT / "docs" / f"_probe_{tmp_path_factory.mktemp('probe').name}.md"
    doc.write_text(PROBE, "utf-8")
    try:
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(doc)],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        doc.unlink()
    return done.stdout + done.stderr, doc.relative_to(ROOT).as_posix()


def test_failure_names_chapter_line_type_and_traceback(report):
    text, doc = report
    assert f"{doc}:3: KeyError: 'boom'" in text
    assert f'File "{ROOT / doc}", line 5, in <module>' in text
    assert "3 failed, 1 passed" in text


def test_package_frames_point_back_into_the_book(report):
    text, doc = report
    assert f"{doc}:8: ValueError: math domain error" in text
    assert "microgpt/autograd.py" in text
    assert "(written at docs/03-autograd.md:" in text


def test_wrong_output_shows_a_diff_and_right_output_passes(report):
    text, doc = report
    assert f"{doc}:13: OutputMismatch" in text and "-3" in text and "+2" in text
    assert f"{doc}::line 21" not in text  # the block whose output is right did not fail
