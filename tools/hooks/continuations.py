"""Under each titled block of a file built by several blocks, a line saying where the file goes on.

"`microgpt/model.py` continues from [4. Parameters] · continues in [7. The model]": each names
the block before and the block after in book order, linked; a neighbour on the same page is
"above" or "below", one on another page is named by its chapter.
"""

from __future__ import annotations

import re
from pathlib import Path

from tools.book import read_chapter
from tools.hooks import BUILD


def on_page_markdown(markdown: str, page, config, files) -> str:
    doc = f"docs/{page.file.src_uri}"
    by_target: dict[str, list] = {}
    for block in BUILD.book.blocks:
        by_target.setdefault(block.target, []).append(block)
    page = read_chapter(doc, markdown)  # the page as it is now (other jobs may have changed it)
    ends = {f.origin: f.end for f in page.fences}
    at = dict(zip((b.origin for b in BUILD.book.blocks if b.origin.doc == doc), (b.origin for b in page.blocks)))
    notes = {}
    for target, blocks in by_target.items():
        for i, block in enumerate(blocks):
            if block.origin.doc != doc or len(blocks) == 1:
                continue
            parts = []
            if i > 0:
                parts.append(f"continues from {pointer(blocks[i - 1], doc, 'above')}")
            if i + 1 < len(blocks):
                after = blocks[i + 1]
                parts.append(f"continues {'' if after.origin.doc == doc else 'in '}{pointer(after, doc, 'below')}")
            start = at[block.origin]
            notes[start.line - 1] = (block, ends[start], f'`{target}` {" · ".join(parts)}\n{{: .tangle-links }}')
    lines = page.lines
    for start in sorted(notes, reverse=True):
        block, end, note = notes[start]
        end = after_annotations(lines, end)
        lines[end + 1:end + 1] = ["", note, ""]
        lines[start:start] = [f'<a id="{anchor(block)}"></a>', ""]
    return page.text()


def after_annotations(lines: list[str], end: int) -> int:
    """The last line of the code annotations (a numbered list) right after a fence, or the fence's."""
    k = end + 1
    while k < len(lines) and not lines[k].strip():
        k += 1
    if k >= len(lines) or not re.match(r"1\. ", lines[k]):
        return end
    last = k
    while k < len(lines) and (re.match(r"\d+\. |    ", lines[k]) or not lines[k].strip()):
        last = k if lines[k].strip() else last
        k += 1
    return last


def anchor(block) -> str:
    return f"tangle-{Path(block.origin.doc).stem}-{block.origin.line}"


def pointer(block, doc: str, here: str) -> str:
    """A link to a titled block from page `doc`: `here` (above, below) on that page, else its chapter."""
    if block.origin.doc == doc:
        return f"[{here}](#{anchor(block)})"
    title = BUILD.book.chapter(block.origin.doc).title
    return f"[{title}]({Path(block.origin.doc).name}#{anchor(block)})"
