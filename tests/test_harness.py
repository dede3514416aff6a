"""The docs-block harness of conftest.py: failures name the chapter line, type and traceback."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_pytest(tmp_path: Path, markdown: str) -> str:
    """Run pytest on one Markdown file inside the repo's docs/ tree; return its report."""
    doc = ROOT / "docs" / f"_probe_{tmp_path.name}.md"
    doc.write_text(markdown, "utf-8")
    try:
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(doc)],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        doc.unlink()
    return done.stdout + done.stderr


def test_failure_names_chapter_line_type_and_traceback(tmp_path):
    report = run_pytest(tmp_path, "# t\n\ntext\n\n```python\nx = 1\nraise KeyError('boom')\n```\n")
    doc = f"docs/_probe_{tmp_path.name}.md"
    assert f"{doc}:5: KeyError: 'boom'" in report
    assert f'File "{ROOT / doc}", line 7, in <module>' in report
    assert "1 failed" in report


def test_package_frames_point_back_into_the_book(tmp_path):
    code = "from microgpt.autograd import Value\nValue(0.0).log()\n"
    report = run_pytest(tmp_path, f"```python\n{code}```\n")
    assert "ValueError: math domain error" in report
    assert "microgpt/autograd.py" in report
    assert "(written at docs/03-autograd.md:" in report


def test_wrong_output_shows_a_diff(tmp_path):
    md = "```python\nprint(1 + 1)\n```\n<!--pytest-codeblocks:expected-output-->\n```text\n3\n```\n"
    report = run_pytest(tmp_path, md)
    assert "OutputMismatch" in report and "-3" in report and "+2" in report


def test_right_output_passes(tmp_path):
    md = "```python\nprint(1 + 1)\n```\n<!--pytest-codeblocks:expected-output-->\n```text\n2\n```\n"
    assert "1 passed" in run_pytest(tmp_path, md)
