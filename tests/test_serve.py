"""`mkdocs serve` is the writer's loop, run here on a scratch copy of the repository.

Saving a chapter tangles it into microgpt/ and the served page changes; a chapter that does not
tangle is named in the server's output while the last good build goes on being served; a hand
edit of microgpt/ is reported and kept.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
OLD = "One document per non-blank line, with surrounding whitespace stripped."
NEW = "One document per non-blank line, stripped: served fresh."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`mkdocs serve` on a free port of 127.0.0.1, in `folder`, its output in a file."""

    def __init__(self, folder: Path) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = folder.parent / "serve.log"
        env = dict(os.environ, PYTHONPATH=str(folder), NO_MKDOCS_2_WARNING="1")
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mkdocs", "serve", "-a", self.url.removeprefix("http://")], cwd=folder,
                env=env, stdout=out, stderr=subprocess.STDOUT,
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # Ctrl-C stops it

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace")

    def page(self, path: str) -> str:
        with urllib.request.urlopen(self.url + path, timeout=120) as response:
            return response.read().decode("utf-8")

    def wait_for(self, what: str, done, timeout: float = 600) -> None:
        end = time.monotonic() + timeout
        while not done():
            assert self.process.poll() is None, f"mkdocs serve stopped:\n{self.output()}"
            assert time.monotonic() < end, f"no {what} after {timeout} s:\n{self.output()}"
            time.sleep(1)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def test_saving_a_chapter_retangles_and_a_broken_one_keeps_the_last_good_build(repo_copy):
    chapter, package = repo_copy / "docs" / "01-dataset.md", repo_copy / "microgpt" / "data.py"
    good = chapter.read_text("utf-8")
    assert OLD in good and OLD in package.read_text("utf-8")
    server = Server(repo_copy)
    try:
        server.wait_for("server", lambda: "Serving on" in server.output())
        assert OLD in server.page("/01-dataset/")

        chapter.write_text(good.replace(OLD, NEW), "utf-8")  # a titled block changes
        server.wait_for("re-tangle", lambda: NEW in package.read_text("utf-8"))
        server.wait_for("new page", lambda: NEW in server.page("/01-dataset/"))

        broken = good.replace(OLD, NEW) + '\n```python title="microgpt/data.py"\nBROKEN = 1\n'
        chapter.write_text(broken, "utf-8")  # a fence never closed: the book does not tangle
        line = len(broken.splitlines()) - 1
        error = f"docs/01-dataset.md:{line}: this fence is never closed"
        server.wait_for("error", lambda: error in server.output())
        server.wait_for("rebuild", lambda: "Reloading browsers" in server.output().split(error)[1])
        page = server.page("/01-dataset/")
        assert NEW in page and "BROKEN" not in page  # the last good build, still served
        assert "BROKEN" not in package.read_text("utf-8")

        model = repo_copy / "microgpt" / "model.py"
        chapter.write_text(good.replace(OLD, NEW), "utf-8")  # the chapter is fixed, and at once
        model.write_text(model.read_text("utf-8") + "def mine(:\n", "utf-8")  # a hand edit, broken at that
        hand = f"microgpt/model.py:{len(model.read_text().splitlines())} was changed by hand, and is not overwritten"
        server.wait_for("hand edit", lambda: hand in server.output())
        server.wait_for("rebuild", lambda: "Reloading browsers" in server.output().split(hand)[1])
        assert model.read_text("utf-8").endswith("def mine(:\n") and NEW in server.page("/01-dataset/")
        assert "cannot draw the figures: SyntaxError" in server.output()  # the last good ones are kept
        assert "Not rebuilt" in server.page("/api/")  # mkdocstrings would read the broken file
    finally:
        server.stop()
    assert server.process.returncode == 0, server.output()
