"""The file mkdocs.yml names as its hooks: it hands each MkDocs event to the jobs of tools/hooks/.

MkDocs loads a hook file by path, with only the file's own folder on sys.path while it runs.
This file sits at the repository root so that the tooling is imported the one way it is
imported everywhere else, as the package `tools`.
"""

from tools import hooks


def on_pre_build(config) -> None:
    hooks.run("on_pre_build", config=config)


def on_files(files, config):
    return hooks.run("on_files", files, config=config)


def on_page_markdown(markdown, page, config, files):
    return hooks.run("on_page_markdown", markdown, page=page, config=config, files=files)
