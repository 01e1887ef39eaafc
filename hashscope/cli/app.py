"""The ``hashscope`` command: the typer app, its commands, and how it ends.

Every error about the input or the options is one line on stderr naming the file (and
byte offset) or the option, and what is wrong, with :attr:`ExitCode.BAD_INPUT`; never a
traceback.
"""

from __future__ import annotations

import os
import sys
from enum import IntEnum
from importlib.metadata import version as installed_version

import typer

from hashscope.errors import HashscopeError, SetupError
from hashscope.report.text import visible

from . import analyze, assign, compare, flows, infer, plan, policies, status
from .params import option_name

try:  # typer 0.2x carries its own copy of click
    from typer._click import ClickException
except ImportError:  # pragma: no cover - older typer depends on click
    from click import ClickException


class ExitCode(IntEnum):
    """The exit status of ``hashscope``."""

    OK = 0
    BAD_INPUT = 2  #: an unreadable capture, a bad option (click's usage errors are 2 too)
    INTERNAL = 3  #: a bug: one line, and HASHSCOPE_DEBUG=1 shows the traceback
    INTERRUPTED = 130  #: Ctrl-C (128 + SIGINT)
    BROKEN_PIPE = 141  #: the reader of stdout went away, e.g. `| head` (128 + SIGPIPE)


def version() -> None:
    """Print the hashscope version."""
    typer.echo(installed_version("hashscope"))


app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Which bond/LAG member every flow of a packet capture takes, and why.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
for command in (flows.flows, version, analyze.analyze, analyze.report, compare.compare,
                assign.assign, infer.infer, policies.policies, status.status, plan.plan):
    app.command()(command)


def _fail(message: str, code: ExitCode) -> None:
    typer.echo(f"hashscope: {visible(message)}", err=True)
    sys.exit(code)


def main() -> None:
    """Entry point: run the app, turning every error into one line and an exit code."""
    try:
        app(standalone_mode=False)
    except SetupError as exc:
        _fail(f"error: {exc.phrased(option_name(exc.setting))}", ExitCode.BAD_INPUT)
    except HashscopeError as exc:
        _fail(f"error: {exc}", ExitCode.BAD_INPUT)
    except (typer.Exit, SystemExit) as exc:
        sys.exit(getattr(exc, "exit_code", getattr(exc, "code", ExitCode.OK)))
    except typer.Abort:
        sys.exit(ExitCode.INTERRUPTED)
    except KeyboardInterrupt:
        _fail("interrupted", ExitCode.INTERRUPTED)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(ExitCode.BROKEN_PIPE)
    except ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except MemoryError:
        _fail("error: out of memory", ExitCode.BAD_INPUT)
    except Exception as exc:  # noqa: BLE001 - the promise is: never a traceback
        if os.environ.get("HASHSCOPE_DEBUG"):
            raise
        _fail(f"internal error: {type(exc).__name__}: {exc} "
              "(set HASHSCOPE_DEBUG=1 for details; please report)", ExitCode.INTERNAL)
