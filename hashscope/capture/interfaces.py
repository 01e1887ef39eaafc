"""The interfaces captures name, without reading them through: what the members are."""

from __future__ import annotations

from collections.abc import Sequence

from hashscope.errors import HashscopeError

from .names import NamedCapture
from .reader import CaptureReader


def interface_names(paths: Sequence[str | NamedCapture]) -> list[str]:
    """The capture interfaces of the files, in order, each once: a pcap's (its file's
    stem or its --member name), a pcapng's interface blocks met in its first batch of
    records. Standard input and unreadable files are skipped (the real read reports
    them)."""
    names: list[str] = []
    for path in paths:
        if str(path) == "-":
            continue
        reader = CaptureReader([path])
        try:
            next(iter(reader.batches()), None)
        except HashscopeError:
            continue
        names += reader.registry.names()
    return list(dict.fromkeys(names))
