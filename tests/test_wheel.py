"""The package as a user gets it: a wheel built from this tree, installed into a fresh venv elsewhere.

The wheel is built from a copy of the files it is made of (so the build writes nothing into the tree),
installed with pip into a new venv outside the repository, and run from a folder outside it too.
"""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

import microgpt
import microgpt.engines

pytestmark = pytest.mark.slow  # a venv and a build: seconds, not milliseconds
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path, Path]:
    """The wheel, the venv's bin folder with the package installed from it, and a folder to run in."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "microgpt", source / "microgpt", ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_REQUIRE_VIRTUALENV")}
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp / "dist"), str(source)], capture_output=True, text=True, env=env,
                           timeout=300)
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp / "dist").glob("*.whl")
    venv.create(tmp / "venv", with_pip=True)
    bin_dir = tmp / "venv" / ("Scripts" if os.name == "nt" else "bin")
    done = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                           str(wheel)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    return wheel, bin_dir, elsewhere


def run(installed, *command: str) -> subprocess.CompletedProcess:
    _, bin_dir, elsewhere = installed
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    return subprocess.run([str(bin_dir / command[0]), *command[1:]], cwd=elsewhere, capture_output=True,
                          text=True, env=env, timeout=300)


def test_the_wheel_is_named_and_described_as_published(installed):
    wheel, _, _ = installed
    assert wheel.name == f"microgpt_explained-{microgpt.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = email.message_from_string(z.read(f"microgpt_explained-{microgpt.__version__}.dist-info/METADATA")
                                         .decode())
    assert "microgpt/names.txt" in names and "microgpt/cli.py" in names
    assert not any(n.startswith(("tests/", "docs/", "tools/")) for n in names)
    assert meta["Name"] == "microgpt-explained" and meta["Version"] == microgpt.__version__
    assert meta["License-Expression"] == "MIT"
    engines = [pip for _, pip in microgpt.engines.NEEDS.values()]  # each engine's library is an extra
    assert sorted(meta.get_all("Provides-Extra")) == sorted([*engines, "torch"])  # no docs, test or dev extra
    assert all("extra ==" in r for r in meta.get_all("Requires-Dist"))  # no dependency outside the extras
    assert meta.get_all("Project-URL")


def test_the_installed_package_trains_and_samples_from_anywhere(installed):
    where = run(installed, "python", "-c", "import microgpt; print(microgpt.__file__)")
    assert where.returncode == 0 and str(ROOT) not in where.stdout and "site-packages" in where.stdout
    by_module = run(installed, "python", "-m", "microgpt", "--steps", "3")
    assert by_module.returncode == 0, by_module.stderr
    assert by_module.stdout.startswith("num docs: 5163\nvocab size: 27\nnum params: 4192\nstep    1 /    3")
    assert by_module.stdout.count("\nsample ") == 20
    by_script = run(installed, "microgpt", "--steps", "3")
    assert by_script.returncode == 0 and by_script.stdout == by_module.stdout


def test_help_names_the_command_as_it_was_started(installed):
    assert run(installed, "microgpt", "--help").stdout.startswith("usage: microgpt [-h]")
    assert run(installed, "python", "-m", "microgpt", "--help").stdout.startswith("usage: python -m microgpt [-h]")
    assert run(installed, "microgpt", "--version").stdout == f"microgpt {microgpt.__version__}\n"
