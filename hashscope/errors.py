"""Errors and warnings about capture files, each naming the file and the byte offset."""

from __future__ import annotations

from dataclasses import dataclass


class HashscopeError(Exception):
    """Base class of the errors hashscope reports as one line and exit status 2."""


class SetupError(HashscopeError):
    """A setting of the bond or of the analysis that cannot be (a member count, a key, a
    kernel version, ...).

    ``setting`` is the library's name for it (``links``, ``seed``, ``kernel``, ...), and
    ``{option}`` in ``message`` marks where that name goes: ``str()`` says ``links 0: ...``
    to a notebook, the CLI says ``--links 0: ...`` (:meth:`phrased`).
    """

    def __init__(self, setting: str, message: str):
        self.setting, self.message = setting, message
        super().__init__(self.phrased(setting))

    def phrased(self, option: str) -> str:
        """The message with ``option`` as the setting's name."""
        return self.message.replace("{option}", option)

    def __reduce__(self):  # picklable (a worker's error reaches the client)
        return type(self), (self.setting, self.message)


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

    def __reduce__(self):  # picklable (a worker's error reaches the client)
        p = self.problem
        return type(self), (p.path, p.offset, p.message)


class CaptureWarning(CaptureProblem):
    """A problem that still lets the capture be analyzed (e.g. cut off mid-packet)."""
