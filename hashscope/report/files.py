"""Writing results for machines and files: flow tables as CSV, JSON or Parquet, JSON
documents, and the one writer that opens standard output or an ``-o`` file for every
format (per-packet members: :mod:`hashscope.report.assignments`)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TextIO

import numpy as np
import pandas as pd

from hashscope.errors import HashscopeError
from hashscope.flows.read import FlowResult

from .terminal import print_flows


@contextmanager
def open_output(output: Path | None, binary: bool = False) -> Iterator[TextIO | BinaryIO]:
    """Standard output (``output`` None) or the file ``output``, for writing text (or
    bytes, ``binary``).

    A file that cannot be written is one HashscopeError naming it; a closed pipe
    (``| head``) goes up as BrokenPipeError, for the CLI to end quietly.
    """
    try:
        if output is None:
            if binary:
                sys.stdout.flush()
                yield sys.stdout.buffer
                sys.stdout.buffer.flush()
            else:
                yield sys.stdout
            return
        with open(output, "wb" if binary else "w") as fh:
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
            frame = machine_frame(result.flows)
            for col in ("first", "last"):  # ISO 8601 to the microsecond, in one numpy pass
                us = frame[col].dt.tz_localize(None).to_numpy().astype("datetime64[us]")
                frame[col] = np.char.add(np.datetime_as_string(us, unit="us"), "Z")
            frame.to_csv(out, index=False)
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
