"""The ``hashscope`` command, a thin layer over :mod:`hashscope.api`: ``app`` (the typer app,
exit codes), ``params`` (the shared options), ``progress``, and one module per command."""

from .app import main

__all__ = ["main"]
