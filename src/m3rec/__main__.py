"""Run the CLI as `python -m m3rec`."""

from m3rec.cli import main

main()
