"""The one reader of the book's Markdown (tools/book.py): fences, prose, examples and their markers."""

from pathlib import Path

from tools.book import read_book, read_chapter

ROOT = Path(__file__).resolve().parent.parent

CHAPTER = """# A chapter

Some prose.

````markdown
```python
not code: text inside a longer fence
```
still inside
````

<!--pytest.mark.slow-->
<!--pytest-codeblocks:importorskip(numpy)-->
```python
print(1)
```
<!--pytest-codeblocks:expected-output-->
```text
1
```

!!! note

    ```sh
    echo indented
    ```

```python title="microgpt/a.py"
x = 1  # (1)!
```

```shell
python -m microgpt
```
"""


def test_fences_prose_examples_and_blocks():
    chapter = read_chapter("docs/01-a.md", CHAPTER)
    assert chapter.errors == []
    assert [(f.origin.line, f.marker, f.info) for f in chapter.fences] == [
        (5, "````", "markdown"), (14, "```", "python"), (18, "```", "text"), (24, "```", "sh"),
        (28, "```", 'python title="microgpt/a.py"'), (32, "```", "shell")]
    prose = [line for _, line in chapter.prose() if line.strip()]
    assert prose == ["# A chapter", "Some prose.", "<!--pytest.mark.slow-->",
                     "<!--pytest-codeblocks:importorskip(numpy)-->", "<!--pytest-codeblocks:expected-output-->",
                     "!!! note"]
    first, second = chapter.examples
    assert (first.code, first.markers.marks, first.markers.importorskip) == ("print(1)\n", ["pytest.mark.slow"],
                                                                             "numpy")
    assert first.output.lines == ["1"]
    assert (second.code, second.markers.marks, second.output) == ("echo indented\n", [], None)
    [block] = chapter.blocks
    assert (block.target, block.chunk, block.lines) == ("microgpt/a.py", None, ["x = 1"])
    assert chapter.title == "A chapter"
    assert chapter.text() == CHAPTER


def test_lines_are_numbered_as_an_editor_numbers_them():
    """Windows line endings count once; a form feed or a Unicode line separator splits nothing."""
    text = "# T\r\n\r\nform\x0cfeed and\u2028separator\r\n\r\n```python\r\nprint(1)\r\n```\r\n"
    chapter = read_chapter("docs/01-a.md", text)
    assert chapter.errors == []
    assert [e.fence.origin.line for e in chapter.examples] == [5]
    assert chapter.examples[0].code == "print(1)\n"


def test_the_book_reads_cleanly_and_every_chapter_has_a_title():
    book = read_book(ROOT / "docs")
    assert book.errors == []
    chapters = [c for c in book.chapters if Path(c.doc).name[:2].isdigit()]
    assert len(chapters) >= 15
    assert all(c.title[0].isdigit() for c in chapters)
    assert sum(len(c.examples) for c in book.chapters) > 80
