"""The ``hashscope`` command: a thin layer over the library, one module per command."""

from .main import main

__all__ = ["main"]
