"""``hashscope policies``: every hash policy hashscope knows."""

from __future__ import annotations

from hashscope.api import all_policies
from hashscope.report.terminal import print_policies


def policies() -> None:
    """Every hash policy, with one line each and whether it is exact or approximate."""
    print_policies(all_policies())
