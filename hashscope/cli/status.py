"""``hashscope status``: what hashscope reads from a bond's own status text."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hashscope.api import read_status
from hashscope.report.files import write_json
from hashscope.report.status import print_status, status_dict

from . import params as p


def status(
    files: Annotated[list[Path], typer.Argument(
        help="Status texts: cat /proc/net/bonding/bondN, ifconfig laggN, ovs-appctl "
             "bond/show or lacp/show, teamdctl TEAM state (pasted text is fine).",
        metavar="FILE...", show_default=False)],
    fmt: Annotated[p.Report, typer.Option("--format", "-f")] = p.Report.table,
) -> None:
    """What a bond's status text says: kind, mode, policy, members in order.

    Each member with up, speed, aggregator and flags; and the lines that were not
    understood.

    Examples:

      hashscope status /proc/net/bonding/bond0

      ifconfig lagg0 > lagg0.txt; hashscope status lagg0.txt --format json
    """
    read = [read_status(f) for f in files]
    if fmt is p.Report.json:
        docs = [status_dict(s) for s in read]
        write_json(docs[0] if len(docs) == 1 else {"statuses": docs})
        return
    for i, st in enumerate(read):
        if i:
            typer.echo("")
        print_status(st)
