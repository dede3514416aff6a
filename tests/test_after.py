"""The pages after the program point back into it: every section of chapter 17 links to the chapter
with microgpt's version and to a source outside the book, and every answer of chapter 18 to a page
of the book that shows it."""

import re
from pathlib import Path

from tools.book import read_chapter, read_file

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = re.compile(r"\]\((?:0\d|1[0-6])-[\w-]+\.md(?:#[\w-]*)?\)")  # a link to chapters 0 to 16
BOOK_PAGE = re.compile(r"\]\((?:\d\d-[\w-]+|appendix-[\w-]+)\.md(?:#[\w-]*)?\)")  # any chapter or appendix
SOURCE = re.compile(r"\]\(https://[^)\s]+\)")
UNLINKED = {"Summary"}  # the summary's table links every area already; it is checked by its own rows


def sections(chapter) -> dict[str, str]:
    """The prose under each level-two heading of a chapter, by heading (fences left out)."""
    found, heading = {}, None
    for _, line in chapter.prose():
        if line.startswith("## "):
            heading = line[3:].strip()
            found[heading] = ""
        elif heading is not None:
            found[heading] += line + "\n"
    return found


def missing(chapter, *patterns: re.Pattern) -> list[str]:
    """The sections (but the summary) with no match for one of the patterns, as 'heading: pattern'."""
    return [f"{heading}: {pattern.pattern}" for heading, text in sections(chapter).items()
            if heading not in UNLINKED for pattern in patterns if not pattern.search(text)]


def test_every_section_of_chapter_17_links_to_microgpts_version_and_a_source():
    chapter = read_file(ROOT / "docs" / "17-toward-a-real-llm.md", ROOT)
    assert len(sections(chapter)) >= 9  # tokens, data, batches, precision, architecture, ... inference
    assert missing(chapter, CHAPTER, SOURCE) == []


def test_every_row_of_chapter_17s_summary_links_to_a_chapter():
    text = sections(read_file(ROOT / "docs" / "17-toward-a-real-llm.md", ROOT))["Summary"]
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| ---")][1:]
    assert len(rows) >= 9
    assert [row for row in rows if not CHAPTER.search(row)] == []


def test_every_answer_of_chapter_18_links_to_where_the_book_shows_it():
    chapter = read_file(ROOT / "docs" / "18-questions.md", ROOT)
    assert len(sections(chapter)) >= 7
    assert missing(chapter, BOOK_PAGE) == []


def test_a_section_without_a_link_is_reported():
    text = ("# 17. A page\n\n## Linked\n\nSee [Adam](08-adam.md#the-update) and [a paper](https://arxiv.org/abs/1).\n\n"
            "## Bare\n\nNo link here, and a [code block](#x):\n\n```python\nprint('[x](01-dataset.md)')\n```\n\n"
            "## Summary\n\nnothing\n")
    chapter = read_chapter("docs/17-a.md", text)
    assert missing(chapter, CHAPTER, SOURCE) == [f"Bare: {CHAPTER.pattern}", f"Bare: {SOURCE.pattern}"]
    assert missing(chapter, BOOK_PAGE) == ["Bare: " + BOOK_PAGE.pattern]
