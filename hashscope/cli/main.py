"""The ``hashscope`` command: a thin layer over the library API.

Every error about the input is one line on stderr naming the file, the byte
offset and what is wrong, with exit status 2; never a traceback.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from hashscope import __version__
from hashscope.errors import HashscopeError

from . import bond  # noqa: F401 - registers analyze, compare, assign, policies
from .app import app, progress_enabled, warn

try:  # typer 0.2x carries its own copy of click
    from typer._click import ClickException
except ImportError:  # pragma: no cover - older typer depends on click
    from click import ClickException


class FlowFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


@app.command()
def flows(
    captures: Annotated[list[str], typer.Argument(
        help="Capture files (pcap, pcapng; gzip/bzip2/xz by content), or - for stdin.",
        metavar="CAPTURE...")],
    fmt: Annotated[FlowFormat, typer.Option("--format", "-f", help="Output format.")] =
    FlowFormat.table,
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="Write here instead of stdout.")] = None,
    top: Annotated[int, typer.Option(help="Rows shown by --format table (0: all).")] = 20,
) -> None:
    """The flow table, largest first: one row per flow key (one direction).

    Examples:

      hashscope flows captures/backup-layer3+4/bond0.pcap

      hashscope flows eth0.pcapng eth1.pcapng --format csv -o flows.csv

      zcat big.pcap.gz | hashscope flows - --format parquet -o flows.parquet
    """
    if fmt is FlowFormat.parquet and output is None:
        raise HashscopeError("--format parquet needs --output FILE")
    from hashscope.api import read_flows  # imported here: `hashscope --help` stays quick
    from hashscope.report.files import write_flows

    from .progress import ByteProgress

    with ByteProgress(enabled=progress_enabled()) as progress:
        result = read_flows(captures, on_warning=warn, on_progress=progress.update,
                            on_start=progress.start)
    write_flows(result, fmt.value, output, top)


@app.command()
def version() -> None:
    """Print the hashscope version."""
    typer.echo(__version__)


def main() -> None:
    """Entry point: run the app, turning every error into one line and exit status 2."""
    try:
        app(standalone_mode=False)
    except HashscopeError as exc:
        typer.echo(f"hashscope: error: {exc}", err=True)
        sys.exit(2)
    except (typer.Exit, SystemExit) as exc:
        sys.exit(getattr(exc, "exit_code", getattr(exc, "code", 0)))
    except typer.Abort:
        sys.exit(130)
    except KeyboardInterrupt:
        typer.echo("hashscope: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(141)
    except ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except MemoryError:
        typer.echo("hashscope: error: out of memory", err=True)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - the promise is: never a traceback
        if os.environ.get("HASHSCOPE_DEBUG"):
            raise
        typer.echo(f"hashscope: internal error: {type(exc).__name__}: {exc} "
                   "(set HASHSCOPE_DEBUG=1 for details; please report)", err=True)
        sys.exit(3)


if __name__ == "__main__":
    main()
