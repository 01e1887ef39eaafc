"""Writing results for machines and files: CSV, JSON, Parquet, and the one writer that
opens standard output or an ``-o`` file for every format."""

from __future__ import annotations

import binascii
import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from hashscope.errors import HashscopeError
from hashscope.flows.read import FlowResult
from hashscope.hashes.policy import Assignment
from hashscope.members import Members

from .terminal import print_flows


@contextmanager
def open_output(output: Path | None, newline: str | None = None) -> Iterator[TextIO]:
    """Standard output (``output`` None) or the file ``output``, for writing text.

    A file that cannot be written is one HashscopeError naming it; a closed pipe
    (``| head``) goes up as BrokenPipeError, for the CLI to end quietly.
    """
    try:
        if output is None:
            yield sys.stdout
            return
        with open(output, "w", newline=newline) as fh:
            yield fh
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise HashscopeError(f"{output or 'stdout'}: cannot write: {exc.strerror or exc}") \
            from None


def machine_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The flow table as written to CSV/JSON/Parquet: the ethertype as hex text."""
    out = df.copy()
    out["ethertype"] = out["ethertype"].map(lambda t: f"0x{t:04x}")
    return out


def write_flows(result: FlowResult, fmt: str, output: Path | None, top: int) -> None:
    """The flow table as ``fmt`` (table, csv, json, parquet) to stdout or ``output``."""
    if fmt == "parquet":
        if output is None:
            raise HashscopeError("Parquet needs an output file")
        try:
            machine_frame(result.flows).to_parquet(output, index=False)
        except OSError as exc:
            raise HashscopeError(f"{output}: cannot write: {exc.strerror or exc}") from None
        return
    with open_output(output) as out:
        if fmt == "table":
            print_flows(result, top, out)
        elif fmt == "csv":
            machine_frame(result.flows).to_csv(out, index=False,
                                               date_format="%Y-%m-%dT%H:%M:%S.%fZ")
        else:
            machine_frame(result.flows).to_json(out, orient="records", date_format="iso",
                                                date_unit="ns", indent=1)
            if output is None:
                out.write("\n")


def write_json(data: dict, output: Path | None = None) -> None:
    """``data`` as indented JSON (numpy numbers as numbers), one newline at the end."""
    with open_output(output) as out:
        out.write(json.dumps(data, indent=1, default=_jsonable) + "\n")


def _jsonable(x):
    if isinstance(x, np.generic):
        return x.item()
    return str(x)


def link_labels(members: Members, names: bool) -> np.ndarray:
    """Text per link code + 3 (LINK_NOT_SENT, LINK_ALL, LINK_UNKNOWN, then members)."""
    label = members.names if names else [str(i) for i in range(members.count)]
    everywhere = ";".join(label[i] for i in members.usable)
    return np.array(["", everywhere, "", *label], dtype=object)


def write_assignments(batches: Iterable[tuple[np.ndarray, Assignment]], members: Members,
                      output: Path | None) -> int:
    """One CSV row per packet: packet, hash (hex), link (index), member (name); rows written.

    ``hash`` is empty where the policy defines none for the frame; ``link`` and ``member``
    are empty where the frame is not sent by the bond or its member cannot be predicted, and
    list every member that is up (``;``-separated) for a frame sent on all of them.
    """
    index_text, name_text = link_labels(members, False), link_labels(members, True)
    done = 0
    with open_output(output, newline="") as out:
        out.write("packet,hash,link,member\n")
        for pk, a in batches:
            hexes = np.frombuffer(binascii.hexlify(a.hash.astype(">u4").tobytes()), dtype="S8")
            hexes = np.where(a.has_hash, hexes.astype(str), "")
            code = a.link + 3
            pd.DataFrame({"packet": np.arange(done, done + len(pk)), "hash": hexes,
                          "link": index_text[code], "member": name_text[code]}).to_csv(
                out, header=False, index=False)
            done += len(pk)
    return done
