"""Domain errors raised by the dataset readers and splits."""

from __future__ import annotations

from m3rec.errors import M3recError


class DataError(M3recError):
    """A dataset that cannot be read: the message names the file, the line and the fix."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}")
        self.path = path
        self.line = line
