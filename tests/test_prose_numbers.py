"""No result is typed into the prose by hand.

A number in a chapter's prose that looks like a result (it has a decimal point or a thousands
separator) must also appear in a code or output block of the same page, where the tests run or
check it, or come from the recorded run through a {{ ... }} macro. Settings and facts about
other systems that no code here computes are listed below, with the reason."""

import re
from pathlib import Path

from tools.book import Chapter, read_file

ROOT = Path(__file__).resolve().parent.parent
NOT_RESULTS = {
    "0.08", "0.02", "0.01", "0.85", "0.99", "0.9", "0.999", "0.95", "0.5", "0.6", "1.0", "0.1", "0.001",
    "2.0", "100.0", "1,000",  # hyperparameters, temperatures, upstream's step count: set, not measured
    "10,000",  # the longer step count of chapter 19's runs: set, not measured
    "50,257",  # GPT-2's vocabulary size
    "709.78",  # where math.exp overflows: a property of IEEE doubles
    "1.92",  # makemore's test loss on names.txt, from its README (chapter 20 links it)
    "3.10", "3.11", "3.12", "3.13", "3.14",  # Python versions
}
QUOTED = {  # facts about other models, each quoted on its page from the paper linked beside it
    "17-toward-a-real-llm.md": {
        "1.4",  # tokens of Llama 1's largest runs, and of Chinchilla's, in trillions
        "15.6",  # tokens of Llama 3, in trillions
        "2,000",  # Llama 1's warm-up steps
        "1.5",  # GPT-2's largest model, in billions of parameters
        "1.3",  # the InstructGPT model its labellers preferred to GPT-3, in billions of parameters
    },
}
CITED = re.compile(r"\b(?:section|sections|Table|appendix) \d+(?:\.\d+)*")  # where in a cited paper: not a result
NUMBER = re.compile(r"(?<![\w.$\\])(\d{1,3}(?:,\d{3})+|\d+\.\d+)(?!\w|\.\d)")  # not versions: 0.3.0


def prose_and_code(chapter: Chapter) -> tuple[list[tuple[int, str]], str]:
    """The prose lines of a chapter (without inline code, math, links and macros), and all its code."""
    prose = [(k + 1, CITED.sub(" ", re.sub(r"`[^`]*`|\$[^$]*\$|\{\{.*?\}\}|\]\([^)]*\)", " ", line)))
             for k, line in chapter.prose() if not line.strip().startswith(("#", "<", "$$", "\\", "|"))]
    return prose, "\n".join(line for fence in chapter.fences for line in fence.lines)


def test_no_typed_results_in_prose():
    typed = []
    for path in sorted([*(ROOT / "docs").glob("[0-9][0-9]-*.md"), *(ROOT / "docs").glob("appendix-*.md")]):
        prose, code = prose_and_code(read_file(path, ROOT))
        shown = code + code.replace(",", "")
        for number, line in prose:
            for value in NUMBER.findall(line):
                bare = value.replace(",", "")
                allowed = NOT_RESULTS | QUOTED.get(path.name, set())
                if value not in allowed and value not in shown and bare not in shown:
                    typed.append(f"docs/{path.name}:{number}: {value}")
    assert typed == []
