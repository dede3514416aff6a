"""The bundled dataset is exactly what tools/make_names.py builds from the census lists."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bundled_names_are_rebuilt_exactly():
    done = subprocess.run([sys.executable, "tools/make_names.py", "--check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_bundled_names_are_unique_lowercase_words():
    names = (ROOT / "microgpt" / "names.txt").read_text("utf-8").splitlines()
    assert len(names) >= 5000
    assert len(set(names)) == len(names) and names == sorted(names)
    assert all(name.isascii() and name.isalpha() and name.islower() for name in names)
