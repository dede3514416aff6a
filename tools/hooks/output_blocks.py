"""Give the output shown under a checked example no copy button: it is printed, not typed."""

from __future__ import annotations

import re

OUTPUT = re.compile(r"^(?P<marker>[ \t]*<!--pytest-codeblocks:expected-output-->\n[ \t]*)```text$", re.M)


def on_page_markdown(markdown: str, page, config, files) -> str:
    return OUTPUT.sub(r"\g<marker>``` { .text .no-copy }", markdown)
