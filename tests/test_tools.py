"""The tooling is one package, `tools`, imported by that name alone: no path edits, no module twice."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON_FILES = [*ROOT.glob("*.py"), *(ROOT / "tools").rglob("*.py"), *(ROOT / "benchmarks").rglob("*.py"),
                *(ROOT / "tests").rglob("*.py")]


def test_no_file_edits_sys_path():
    edits = [f"{p.relative_to(ROOT)}:{n}" for p in PYTHON_FILES
             for n, line in enumerate(p.read_text("utf-8").splitlines(), 1)
             if re.search(r"sys\.path(\.insert|\.append|\.extend|\s*[+]?=|\[)", line)]
    assert edits == []


IMPORT_ALL = """
import sys
from pathlib import Path
from mkdocs.config import load_config
config = load_config("mkdocs.yml")  # loads the hooks, as mkdocs build and serve do
config.plugins.on_startup(command="build", dirty=False)  # where the hooks import the tools
import benchmarks.cli_overhead, benchmarks.engines, benchmarks.legacy_vs_current
import tools.figures, tools.outputs, tools.record, tools.tangle
root = Path.cwd().resolve()
for module in list(sys.modules.values()):
    path = getattr(module, "__file__", None)
    if path and Path(path).resolve().is_relative_to(root):
        print(Path(path).resolve().relative_to(root).as_posix(), module.__name__)
"""


def test_each_file_of_the_tooling_is_one_module():
    """The MkDocs hooks and everything else import the same module objects: one name per file."""
    done = subprocess.run([sys.executable, "-c", IMPORT_ALL], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    names: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        path, name = line.split()
        names.setdefault(path, []).append(name)
    assert {path: n for path, n in names.items() if len(n) > 1} == {}
    assert "tools/tangle.py" in names and "tools/figures.py" in names


def test_every_build_job_is_listed_once():
    """A module of tools/hooks/ that JOBS does not list would never run (and a listed one must exist)."""
    from tools import hooks

    modules = sorted(p.stem for p in (ROOT / "tools" / "hooks").glob("[!_]*.py"))
    assert sorted(hooks.JOBS) == modules
    assert len(set(hooks.JOBS)) == len(hooks.JOBS)


RECORDED = """# Outputs

```python
print(6 * 7)
```
<!--pytest-codeblocks:expected-output-->
```text
stale
```

```text
shown, not recorded
```

!!! note

    ```sh
    echo one; echo two
    ```
    <!--pytest-codeblocks:expected-output-->
    ```text
    ```
"""


def test_the_output_recorder_rewrites_only_the_output_blocks(tmp_path):
    chapter = tmp_path / "docs" / "01-outputs.md"
    chapter.parent.mkdir()
    chapter.write_text(RECORDED, "utf-8")
    done = subprocess.run([sys.executable, "-m", "tools.outputs", str(chapter)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, "01-outputs.md: recorded 2 outputs\n"), done.stderr
    assert chapter.read_text("utf-8") == RECORDED.replace("stale", "42").replace(
        "    ```text\n    ```", "    ```text\n    one\n    two\n    ```")
    chapter.write_text("```python\nprint(1)\n", "utf-8")  # never closed: refused, named, left as it was
    done = subprocess.run([sys.executable, "-m", "tools.outputs", str(chapter)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1 and done.stderr.startswith("error: docs/01-outputs.md:1: this fence is never closed")
    assert chapter.read_text("utf-8") == "```python\nprint(1)\n"


def test_a_tool_run_as_a_file_says_how_to_run_it():
    done = subprocess.run([sys.executable, "tools/tangle.py", "--check"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "run it from the repository root as a module: python -m tools.tangle\n"
