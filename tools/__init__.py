"""The book's own tooling: the tangler, the MkDocs build jobs, the figures, the recorded run.

Each tool runs from the repository root as a module, `python -m tools.NAME`: `tools` is a
package imported by that one name everywhere (tests, hooks, benchmarks), never by path.
"""
