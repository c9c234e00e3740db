"""Run the CLI as `python -m m3rec.cli`."""

from m3rec.cli import main

main()
