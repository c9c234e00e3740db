"""The m3rec command line: each command parses, calls one package function, and prints.

`m3rec` (the console script), `python -m m3rec` and `python -m m3rec.cli` all run `app`.
"""

from m3rec.cli.app import app, main

__all__ = ["app", "main"]
