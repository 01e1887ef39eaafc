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
    codes, types = pd.factorize(out["ethertype"])  # a few distinct ethertypes
    out["ethertype"] = np.array([f"0x{t:04x}" for t in types] or [""])[codes]
    return out


def _write_csv(frame: pd.DataFrame, out: TextIO) -> None:
    """``frame`` as CSV, as pandas writes it (quotes only where a value needs them), by
    pyarrow's CSV writer, which is 10 times faster; pandas for a frame with a value that
    needs quoting (a comma in an interface name), which pyarrow would quote everywhere."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    buf = pa.BufferOutputStream()
    try:
        pa_csv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), buf,
                         pa_csv.WriteOptions(quoting_style="none", include_header=False))
    except pa.ArrowInvalid:
        frame.to_csv(out, index=False)
        return
    out.write(",".join(frame.columns) + "\n")
    out.flush()
    out.buffer.write(memoryview(buf.getvalue()))


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
            _write_csv(frame, out)
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
