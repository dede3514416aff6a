"""The tangler: book order, chunks, the header, --check, --where, and every lint error."""

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import pytest

from tools import book, tangle

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "lint"

LINT = {  # fixture document -> the one error it must produce
    "py-fence.md": "docs/py-fence.md:3: '```py' is neither tangled nor run: write ```python",
    "python3-fence.md": "docs/python3-fence.md:3: '```python3' is neither tangled nor run",
    "space-before-language.md": "docs/space-before-language.md:3: '``` python' is neither tangled nor run: "
                                "write ```python with no space",
    "tilde-fence.md": "docs/tilde-fence.md:3: a ~~~ fence is neither tangled nor run",
    "attribute-list-fence.md": "docs/attribute-list-fence.md:3: '```{.python' is neither tangled nor run",
    "dropped-option.md": "docs/dropped-option.md:3: pymdownx.superfences drops a fence with option 'chunk'",
    "options-without-title.md": "docs/options-without-title.md:3: a python fence with options but no title",
    "title-outside-package.md": "docs/title-outside-package.md:3: title 'setup.py' is outside microgpt/",
    "chunk-defined-twice.md": "docs/chunk-defined-twice.md:12: chunk 'body' of microgpt/a.py is defined twice "
                              "(first at docs/chunk-defined-twice.md:8)",
    "chunk-never-used.md": "docs/chunk-never-used.md:7: chunk 'extra' is never used",
    "placeholder-without-chunk.md": "docs/placeholder-without-chunk.md:5: placeholder '# <<body>>' has no chunk",
    "prose-line-starting-with-backticks.md": "docs/prose-line-starting-with-backticks.md:4: this line starts "
                                             "with ``` but is not a fence",
    "does-not-compile.md": "docs/does-not-compile.md:10: microgpt/a.py does not compile",
    "line-too-long.md": "docs/line-too-long.md:5: this line of code is 111 characters long: at most 110 fit",
    "marker-before-a-shown-fence.md": "docs/marker-before-a-shown-fence.md:4: a pytest marker comes before "
                                      "this fence, which is not an example: it applies to nothing",
    "output-marker-after-no-example.md": "docs/output-marker-after-no-example.md:6: an expected-output marker "
                                         "must follow an example",
    "unknown-marker.md": "docs/unknown-marker.md:3: <!--pytest-codeblocks:cont--> is not read here",
}


def make_book(tmp_path: Path, chapters: dict[str, str]) -> Path:
    """A book in tmp_path/docs with the given chapters; returns the docs folder."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in chapters.items():
        (docs / name).write_text(text, "utf-8")
    return docs


def run_command(docs: Path, *args: str) -> subprocess.CompletedProcess:
    """python -m tools.tangle --docs DOCS ARGS: its exit status and output."""
    return subprocess.run([sys.executable, "-m", "tools.tangle", "--docs", str(docs), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def run_cli(docs: Path, *args: str) -> subprocess.CompletedProcess:
    """The same command run in this process (what `python -m tools.tangle` runs is main())."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = tangle.main(["--docs", str(docs), *args])
    return subprocess.CompletedProcess(args, status, out.getvalue(), err.getvalue())


def test_every_lint_error_has_a_fixture():
    assert sorted(LINT) == sorted(p.name for p in FIXTURES.glob("*.md"))


@pytest.mark.parametrize("fixture", sorted(LINT))
def test_lint_error(tmp_path, fixture):
    docs = make_book(tmp_path, {fixture: (FIXTURES / fixture).read_text("utf-8")})
    errors = tangle.generate(docs)[1]
    assert len(errors) == 1 and errors[0].startswith(LINT[fixture]), errors
    done = run_cli(docs)  # the command reports it too, exits 1 and writes nothing
    assert done.returncode == 1 and LINT[fixture] in done.stderr
    assert not (tmp_path / "microgpt").exists()


def test_the_book_has_no_lint_errors():
    assert tangle.generate(ROOT / "docs")[1] == []


def test_fences_inside_longer_fences_are_text(tmp_path):
    doc = ("````markdown\n```py\nx\n```\n```python title=\"microgpt/a.py\"\ny = 1\n```\n````\n\n"
           "```python title=\"microgpt/b.py\"\nz = 2\n```\n")
    files, errors = tangle.generate(make_book(tmp_path, {"01-a.md": doc}))
    assert list(files) == ["microgpt/b.py"] and errors == []


BOOK = {
    "01-first.md": '# One\n\n```python title="microgpt/a.py"\nclass A:  # (1)!\n    # <<method>>\n```\n\n'
                   '```python\nprint("an example: not tangled")\n```\n',
    "02-second.md": '# Two\n\n  ```python title="microgpt/a.py#method"\n  def m(self):\n\n      return 1\n  ```\n\n'
                    '```python title="microgpt/a.py"\nB = A\n```\n\n```python title="microgpt/b.py"\nC = 3\n```\n',
}


def test_tangle_in_book_order_with_chunks_and_header(tmp_path):
    docs = make_book(tmp_path, BOOK)
    files, errors = tangle.generate(docs)
    assert errors == []
    assert tangle.text_of(files["microgpt/a.py"]) == (
        "# Generated by tools/tangle.py from docs/01-first.md, docs/02-second.md: edit the chapter, "
        "not this file.\n"
        "class A:\n    def m(self):\n\n        return 1\n\n\nB = A\n")
    assert tangle.text_of(files["microgpt/b.py"]).endswith("\nC = 3\n")
    assert tangle.where(files, "microgpt/a.py:3") == "docs/02-second.md:4"
    assert tangle.where(files, "microgpt/a.py:8") == "docs/02-second.md:10"
    assert tangle.where(files, "microgpt/a.py:7").startswith("docs/02-second.md:10 (a blank line")
    with pytest.raises(ValueError, match="generated header"):
        tangle.where(files, "microgpt/a.py:1")
    with pytest.raises(ValueError, match="not a line of a tangled file"):
        tangle.where(files, "microgpt/a.py:99")


def test_write_check_and_where_commands(tmp_path):
    docs = make_book(tmp_path, BOOK)
    assert run_command(docs, "--check").returncode == 1  # nothing written yet
    done = run_command(docs)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "microgpt" / "a.py").read_text().splitlines()[1] == "class A:"
    assert run_command(docs, "--check").returncode == 0
    done = run_command(docs, "--where", "microgpt/a.py:4")
    assert (done.returncode, done.stdout) == (0, "docs/02-second.md:5\n")
    done = run_command(docs, "--where", "microgpt/nope.py:1")
    assert done.returncode == 2 and "not a line of a tangled file" in done.stderr


def test_check_names_the_chapter_line_of_a_hand_edit(tmp_path):
    docs = make_book(tmp_path, BOOK)
    run_cli(docs)
    a = tmp_path / "microgpt" / "a.py"
    a.write_text(a.read_text().replace("return 1", "return 2"))
    done = run_cli(docs, "--check")
    assert done.returncode == 1
    assert "microgpt/a.py:5: edit docs/02-second.md:6" in done.stderr
    assert "-        return 2\n+        return 1" in done.stderr


def test_check_flags_a_file_no_chapter_makes_and_write_keeps_it(tmp_path):
    docs = make_book(tmp_path, BOOK)
    run_cli(docs)
    (tmp_path / "microgpt" / "mine.py").write_text("x = 1\n")
    (docs / "02-second.md").write_text(BOOK["02-second.md"].replace('microgpt/b.py', 'microgpt/a.py'))
    done = run_cli(docs, "--check")
    assert "microgpt/mine.py: no chapter produces this file" in done.stderr
    assert "microgpt/b.py: no chapter produces this file" in done.stderr
    run_cli(docs)
    assert not (tmp_path / "microgpt" / "b.py").exists()  # generated by us: removed
    assert (tmp_path / "microgpt" / "mine.py").read_text() == "x = 1\n"  # the user's: kept


def every_line_edit():
    files = tangle.generate(ROOT / "docs")[0]
    for target, lines in files.items():
        for n in range(len(lines)):
            yield target, lines, n


def test_any_hand_edit_of_the_package_names_its_chapter_line():
    """Change each line of each tangled file in turn: --check's report names the line to edit."""
    count = 0
    for target, lines, n in every_line_edit():
        text = tangle.text_of(lines).splitlines(keepends=True)
        text[n] = text[n].rstrip("\n") + "  # edited by hand\n"
        report = tangle.compare(target, "".join(text), lines)
        origin = lines[n][1]
        if origin is not None:
            assert f"{target}:{n + 1}: edit {origin}" in report
            chapter_line = (ROOT / origin.doc).read_text("utf-8").splitlines()[origin.line - 1]
            assert book.ANNOTATION.sub("", chapter_line).strip() == lines[n][0].strip()
        else:
            assert f"{target}:{n + 1}: " in report
        count += 1
    assert count > 300


def test_the_package_is_what_the_book_tangles_to():
    files, errors = tangle.generate(ROOT / "docs")
    assert errors == []
    problems = tangle.stale(files, ROOT)
    assert not problems, "\n".join(problems)


# --- refusals: a clear error naming the chapter line, exit 1, and microgpt/ left as it was ------

def package(tmp_path: Path) -> dict[str, bytes]:
    """Every file under tmp_path/microgpt, with its bytes."""
    root = tmp_path / "microgpt"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def refused(done: subprocess.CompletedProcess, message: str) -> None:
    """The command refused with exactly this one-line error (a prefix of it), without a traceback."""
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1, done.stderr


@pytest.mark.parametrize("folder", ["empty", "missing"])
def test_a_docs_folder_with_no_book_deletes_nothing(tmp_path, folder):
    run_cli(make_book(tmp_path, BOOK))
    before = package(tmp_path)
    if folder == "empty":
        (tmp_path / folder).mkdir()
    reason = "no chapter has a block titled microgpt/FILE.py" if folder == "empty" else "no such folder"
    for mode in ([], ["--check"], ["--where", "microgpt/a.py:2"]):
        refused(run_cli(tmp_path / folder, *mode), f"{tmp_path / folder}: {reason}")
    assert package(tmp_path) == before and len(before) == 2


def test_a_chapter_that_is_not_utf8_is_named_in_every_mode(tmp_path):
    docs = make_book(tmp_path, BOOK)
    (docs / "03-latin1.md").write_bytes("# Trois\n\n```python\nprint('\xe9t\xe9')\n```\n".encode("latin-1"))
    for mode in ([], ["--check"], ["--where", "microgpt/a.py:2"]):
        refused(run_cli(docs, *mode), "docs/03-latin1.md:4: not UTF-8 (byte 0xe9)")
    assert not (tmp_path / "microgpt").exists()


def test_a_chapter_that_cannot_be_read_is_named(tmp_path):
    docs = make_book(tmp_path, BOOK)
    (docs / "03-gone.md").symlink_to(tmp_path / "nowhere.md")
    (docs / "04-folder.md").mkdir()  # a folder is not a chapter
    refused(run_cli(docs), "docs/03-gone.md: cannot be read: No such file or directory")
    assert not (tmp_path / "microgpt").exists()


def test_a_target_that_is_a_folder_leaves_the_package_unwritten(tmp_path):
    docs = make_book(tmp_path, BOOK)
    (tmp_path / "microgpt" / "b.py").mkdir(parents=True)
    refused(run_cli(docs), "docs/02-second.md:13: cannot write microgpt/b.py: it is a folder")
    assert package(tmp_path) == {}  # microgpt/a.py, which comes first, was not written either


def test_a_folder_of_the_package_that_is_a_file_is_refused(tmp_path):
    docs = make_book(tmp_path, {"01-a.md": '```python title="microgpt/sub/a.py"\nx = 1\n```\n'})
    (tmp_path / "microgpt").mkdir()
    (tmp_path / "microgpt" / "sub").write_text("not a folder")
    refused(run_cli(docs), "docs/01-a.md:1: cannot write microgpt/sub/a.py: microgpt/sub is a file")
    assert package(tmp_path) == {"sub": b"not a folder"}


@pytest.mark.parametrize("rest", ["", "\nMore prose, read as code.\n"])
def test_a_fence_never_closed_is_refused(tmp_path, rest):
    docs = make_book(tmp_path, {"01-a.md": '# A\n\n```python title="microgpt/a.py"\nx = 1\n' + rest})
    refused(run_cli(docs), "docs/01-a.md:3: this fence is never closed")
    assert not (tmp_path / "microgpt").exists()


def test_a_name_used_before_its_import_is_refused(tmp_path):
    docs = make_book(tmp_path, {"01-a.md": '```python title="microgpt/a.py"\nTAU = 2 * math.pi\n```\n\n'
                                           '```python title="microgpt/a.py"\nimport math\n```\n'})
    refused(run_cli(docs), "docs/01-a.md:2: microgpt/a.py uses 'math' before the line that imports it "
                           "(docs/01-a.md:6): importing it would fail with NameError")
    assert not (tmp_path / "microgpt").exists()


def test_crlf_line_endings_are_stale_and_rewritten(tmp_path):
    docs = make_book(tmp_path, BOOK)
    run_cli(docs)
    b = tmp_path / "microgpt" / "b.py"
    b.write_bytes(b.read_bytes().replace(b"\n", b"\r\n"))
    refused(run_cli(docs, "--check"), "microgpt/b.py has Windows (CRLF) line endings")
    assert run_cli(docs).returncode == 0
    assert b"\r" not in b.read_bytes() and run_cli(docs, "--check").returncode == 0


@pytest.mark.parametrize("title", ["microgpt/caf\u00e9.py", "microgpt/__pycache__/a.py", "microgpt/class.py",
                                   "microgpt/1st.py", "microgpt/a-b.py", "microgpt//a.py"])
def test_a_title_that_is_not_a_module_path_is_refused(tmp_path, title):
    docs = make_book(tmp_path, {"01-a.md": f'# A\n\n```python title="{title}"\nx = 1\n```\n'})
    refused(run_cli(docs), f"docs/01-a.md:3: title '{title}' is not a module of microgpt/")
    assert not (tmp_path / "microgpt").exists()


@pytest.mark.parametrize("chunks, cycle", [
    ({"loop": "# <<loop>>"}, "loop > loop"),
    ({"one": "x = 1\n# <<two>>", "two": "# <<one>>"}, "one > two > one"),
])
def test_a_chunk_that_includes_itself_is_named_as_such(tmp_path, chunks, cycle):
    text = '```python title="microgpt/a.py"\n# <<' + next(iter(chunks)) + '>>\n```\n'
    for name, body in chunks.items():
        text += f'\n```python title="microgpt/a.py#{name}"\n{body}\n```\n'
    docs = make_book(tmp_path, {"01-a.md": text})
    done = run_cli(docs)
    assert done.returncode == 1 and f"includes itself ({cycle})" in done.stderr and "has no chunk" not in done.stderr
    assert not (tmp_path / "microgpt").exists()


def test_a_chunk_fills_one_placeholder(tmp_path):
    docs = make_book(tmp_path, {"01-a.md": '```python title="microgpt/a.py"\n# <<x>>\n# <<x>>\n```\n\n'
                                           '```python title="microgpt/a.py#x"\ny = 1\n```\n'})
    refused(run_cli(docs), "docs/01-a.md:3: chunk 'x' already fills the placeholder at docs/01-a.md:2")
