"""The interface a pcap file stands for, from its name: its stem, without a ring buffer's
numbering.

A pcap holds one interface and says nothing of its name, so ``eth0.pcap`` is ``eth0``.
The files of one capture interface's ring buffer share that name:

- tcpdump ``-C`` appends a number to the whole name (``eth0.pcap``, ``eth0.pcap1``, ...,
  with ``-W`` zero-padded: ``eth0.pcap00``);
- tcpdump ``-G`` names files with strftime (``eth0_20261201120000.pcap``,
  ``eth0-2026-12-01_12:00:00.pcap`` style dates with 8 digits and an optional time);
- dumpcap and tshark ring buffers add ``_NNNNN_YYYYmmddHHMMSS``
  (``eth0_00001_20261201120000.pcapng``).

Compression suffixes (``.gz``, ``.bz2``, ``.xz``) go first. A name that is left empty
keeps the file's own name. A :class:`NamedCapture` in the list of captures names its
file's interfaces explicitly (``--member eth0=ring_*``).

The frames of a Linux cooked v2 capture of "any" each name the Linux interface index they
were on: their interface is the one of that index, named by an :class:`IfindexNames` in
the list of captures (``--ifindex 3=eth0``) or ``ifindex3``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class NamedCapture:
    """A capture file whose interfaces all stand for the member ``name``."""

    name: str
    path: str

    def __str__(self) -> str:
        return self.path


@dataclass(frozen=True)
class IfindexNames:
    """In the list of captures, not a file: the names of Linux interface indices, for the
    frames of Linux cooked v2 captures of "any" (``IfindexNames({3: "eth0"})``)."""

    names: Mapping[int, str]


def ifindex_name(index: int, names: Mapping[int, str]) -> str:
    """The name of the interface with Linux index ``index``: given, or ``ifindex3``."""
    return names.get(index) or f"ifindex{index}"

_COMPRESSED = re.compile(r"\.(gz|bz2|xz)$", re.IGNORECASE)
_EXTENSION = re.compile(r"\.(pcapng|pcap|cap|dmp|ntar)\d*$", re.IGNORECASE)
_RING = re.compile(
    r"(_\d{5}_\d{14}"  # dumpcap / tshark -b: file number and date-time
    r"|[_-]\d{5}"  # a file number alone
    r"|[_-]\d{4}-?\d{2}-?\d{2}(?:[_T-]?\d{2}[:.-]?\d{2}(?:[:.-]?\d{2})?)?)$")  # -G dates


def interface_name(path: str) -> str:
    """The interface name of the pcap file at ``path`` (``-``: standard input)."""
    if path == "-":
        return "-"
    base = os.path.basename(path)
    stem = _EXTENSION.sub("", _COMPRESSED.sub("", base))
    stem = _RING.sub("", stem)
    return stem or base
