"""Errors and warnings about capture files, each naming the file and the byte offset."""

from __future__ import annotations

from dataclasses import dataclass


class HashscopeError(Exception):
    """Base class of the errors hashscope reports as one line and exit status 2."""


@dataclass
class CaptureProblem:
    """What is wrong with a capture file, and where.

    ``offset`` is the byte offset in the (decompressed) capture stream, or None
    when the problem is not tied to a position (a missing file).
    """

    path: str
    offset: int | None
    message: str

    def __str__(self) -> str:
        where = f" at byte {self.offset}" if self.offset is not None else ""
        return f"{self.path}{where}: {self.message}"


class CaptureError(HashscopeError):
    """A capture that cannot be read (or read further)."""

    def __init__(self, path: str, offset: int | None, message: str):
        self.problem = CaptureProblem(path, offset, message)
        super().__init__(str(self.problem))


class CaptureWarning(CaptureProblem):
    """A problem that still lets the capture be analyzed (e.g. cut off mid-packet)."""
