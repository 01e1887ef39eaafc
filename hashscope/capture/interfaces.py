"""The interfaces captures name, without reading them through: what the members are, and
which files are one interface's stream (a ring buffer) to be read in turn."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hashscope.errors import HashscopeError

from .names import IfindexNames, NamedCapture
from .reader import CaptureReader

Path = str | NamedCapture | IfindexNames


@dataclass(frozen=True)
class FilePeek:
    path: str | NamedCapture
    names: tuple[str, ...]  #: its interfaces met in the first batch of records
    first_ns: int | None  #: its first frame's time (None: no frame, unreadable, stdin)
    directions: bool = False  #: its frames say their direction (epb_flags, cooked type)


def settings(paths: Sequence[Path]) -> list[IfindexNames]:
    """The items of a list of captures that are not files but apply to all of them."""
    return [p for p in paths if isinstance(p, IfindexNames)]


def files(paths: Sequence[Path]) -> list[str | NamedCapture]:
    return [p for p in paths if not isinstance(p, IfindexNames)]


def peek(path: str | NamedCapture, extra: Sequence[IfindexNames] = ()) -> FilePeek:
    """A file's interfaces and first time, from its first batch of records (``extra``:
    :func:`settings` of the run). Standard input and unreadable files give none (the real
    read reports them)."""
    if str(path) == "-":
        return FilePeek(path, (), None)
    reader = CaptureReader([path, *extra])
    try:
        batch = next(iter(reader.batches()), None)
    except HashscopeError:
        return FilePeek(path, (), None)
    first = int(batch.ts_ns.min()) if batch is not None and len(batch) else None
    directions = batch is not None and bool((batch.direction != 0).any())
    return FilePeek(path, tuple(reader.registry.names()), first, directions)


@dataclass(frozen=True)
class Survey:
    """Every file of a run peeked once (:func:`survey`)."""

    peeks: tuple[FilePeek, ...]
    extra: tuple[IfindexNames, ...]  #: the run's :func:`settings`

    @property
    def names(self) -> list[str]:
        """The capture interfaces of the files, in order, each once."""
        return list(dict.fromkeys(n for f in self.peeks for n in f.names))

    @property
    def directions(self) -> bool:
        """Whether any of the files' frames say their direction."""
        return any(f.directions for f in self.peeks)

    def streams(self) -> list[list[Path]]:
        """The files grouped by the interfaces they hold (one member's ring buffer is one
        group), each group's files by their first frame's time, with the run's
        settings; groups in order of first appearance. Files that tell nothing (stdin,
        unreadable) are groups of their own."""
        return [[self.peeks[k].path for k in g] + list(self.extra) for g in self.stream_order()]

    def stream_order(self) -> list[list[int]]:
        """:meth:`streams` as indices into ``peeks``."""
        groups: dict[object, list[int]] = {}
        for k, f in enumerate(self.peeks):
            groups.setdefault(f.names if f.names else ("#", k), []).append(k)
        first = [(f.first_ns is None, f.first_ns or 0) for f in self.peeks]
        return [sorted(g, key=first.__getitem__) for g in groups.values()]


def survey(paths: Sequence[Path]) -> Survey:
    """Each file of ``paths`` peeked once (:func:`peek`)."""
    extra = tuple(settings(paths))
    return Survey(tuple(peek(p, extra) for p in files(paths)), extra)


def interface_names(paths: Sequence[Path]) -> list[str]:
    """The capture interfaces of the files, in order, each once (see :func:`peek`)."""
    return survey(paths).names
