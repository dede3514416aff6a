"""Give the output shown under a checked example no copy button: it is printed, not typed."""

from __future__ import annotations

from tools.book import read_chapter


def on_page_markdown(markdown: str, page, config, files) -> str:
    chapter = read_chapter(f"docs/{page.file.src_uri}", markdown)
    for example in chapter.examples:
        out = example.output
        if out:
            language = out.info.strip() or "text"
            chapter.lines[out.origin.line - 1] = f"{out.indent}{out.marker} {{ .{language} .no-copy }}"
    return chapter.text()
