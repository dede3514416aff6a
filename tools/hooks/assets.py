"""Copy into the site what the pages load: KaTeX for the math, Pyodide and the package for Run.

KaTeX and Pyodide come from node_modules (installed by `npm ci`), so the site needs no CDN;
microgpt/ is zipped for the page's Python (js/runner.js).
"""

from __future__ import annotations

import io
import logging
import zipfile
from pathlib import Path

from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.assets")
ROOT = Path(__file__).resolve().parents[2]
KATEX = ROOT / "node_modules" / "katex" / "dist"
KATEX_FILES = ["katex.min.css", "katex.min.js", "contrib/auto-render.min.js"]
PYODIDE = ROOT / "node_modules" / "pyodide"
PYODIDE_FILES = ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json"]


def on_files(files, config):
    files.append(File.generated(config, "assets/microgpt.zip", content=package_zip()))
    if (PYODIDE / "pyodide.mjs").exists():
        for name in PYODIDE_FILES:
            files.append(File.generated(config, f"assets/pyodide/{name}", abs_src_path=str(PYODIDE / name)))
    else:
        log.info("Pyodide is not installed: the Run buttons will say how to enable them (npm ci)")
    if not (KATEX / "katex.min.js").exists():
        log.warning("KaTeX is not installed, so math will not render: run `npm ci` (see README.md)")
        return files
    fonts = [f"fonts/{p.name}" for p in sorted((KATEX / "fonts").glob("*.woff2"))]
    for name in KATEX_FILES + fonts:
        files.append(File.generated(config, f"assets/katex/{name}", abs_src_path=str(KATEX / name)))
    return files


def package_zip() -> bytes:
    """microgpt/ as a zip for the page's Python: the tangled files and the bundled names."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted((ROOT / "microgpt").glob("*")):
            if path.suffix in (".py", ".txt"):
                info = zipfile.ZipInfo(f"microgpt/{path.name}", date_time=(2026, 1, 1, 0, 0, 0))
                z.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return out.getvalue()
