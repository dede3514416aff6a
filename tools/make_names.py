"""Build microgpt/names.txt, the bundled default dataset, from public-domain name lists.

The lists are the first names of the 1990 US Census (a work of the US government, in the public
domain), as shipped in the files dist.male.first and dist.female.first of the PyPI package
`names` 0.3.0 (MIT licence). Each name is lowercased; names with anything but a-z are dropped;
duplicates (names given to both sexes) are kept once; the result is sorted.

    pip install names==0.3.0
    python -m tools.make_names            # (re)write microgpt/names.txt
    python -m tools.make_names --check    # exit 1 if microgpt/names.txt is not what this builds
"""

from __future__ import annotations

import argparse
import re
import sys
from importlib import resources
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "microgpt" / "names.txt"
SOURCES = ("dist.male.first", "dist.female.first")


def build() -> str:
    """The dataset's text: one unique lowercase a-z name per line, sorted."""
    try:
        package = resources.files("names")
    except ModuleNotFoundError:
        sys.exit("make_names: the package 'names' is not installed: pip install names==0.3.0")
    found = set()
    for source in SOURCES:
        for line in (package / source).read_text("ascii").splitlines():
            name = line.split()[0].lower() if line.strip() else ""
            if re.fullmatch(r"[a-z]+", name):
                found.add(name)
    return "".join(name + "\n" for name in sorted(found))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if out of date")
    args = parser.parse_args(argv)
    text = build()
    if args.check:
        if not OUT.exists() or OUT.read_text("utf-8") != text:
            print(f"{OUT.name} is not what tools/make_names.py builds: run it", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, "utf-8")
    print(f"wrote {len(text.splitlines())} names to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
