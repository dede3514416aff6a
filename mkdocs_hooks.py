"""The file mkdocs.yml names as its hooks: the book's build jobs live in tools/hooks.py.

MkDocs loads a hook file by path, with only the file's own folder on sys.path while it runs.
This file sits at the repository root so that the tooling is imported the one way it is
imported everywhere else, as the package `tools`.
"""

from tools.hooks import on_files, on_page_markdown, on_pre_build  # noqa: F401 (MkDocs calls them)
