"""The typer app and what every command shares (warnings, progress)."""

from __future__ import annotations

import os
import sys

import typer

from hashscope.errors import CaptureWarning

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Which bond/LAG member every flow of a packet capture takes, and why.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def warn(w: CaptureWarning) -> None:
    typer.echo(f"hashscope: warning: {w}", err=True)


def progress_enabled() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")
