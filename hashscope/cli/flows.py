"""``hashscope flows``: the flow table."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from hashscope.api import read_flows
from hashscope.errors import HashscopeError
from hashscope.report.files import write_flows

from . import first_run
from .params import (
    BondStatusFile,
    Cache,
    Captures,
    Ifindex,
    Member,
    Output,
    Scheduler,
    Workers,
    bond_status,
    cluster,
    inputs,
    note,
)
from .progress import reading


class FlowFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


def flows(
    captures: Captures = None,
    member: Member = None,
    ifindex: Ifindex = None,
    fmt: Annotated[FlowFormat, typer.Option("--format", "-f", help="Output format.")] =
    FlowFormat.table,
    output: Output = None,
    top: Annotated[int, typer.Option(help="Rows shown by --format table (0: all).")] = 20,
    bond_status_file: BondStatusFile = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    cache: Cache = None,
) -> None:
    """The flow table, largest first: one row per flow key (one direction).

    Examples:

      hashscope flows captures/backup-layer3+4/bond0.pcap

      hashscope flows eth0.pcapng eth1.pcapng --format csv -o flows.csv

      zcat big.pcap.gz | hashscope flows - --format parquet -o flows.parquet

      hashscope flows ring_*.pcapng --workers 2 --format csv -o flows.csv
    """
    paths = inputs(captures, member, ifindex)
    if fmt is FlowFormat.parquet and output is None:
        raise HashscopeError("--format parquet needs --output FILE")
    if bond_status_file is not None:  # read (and checked); a flow table needs no bond
        for line in bond_status(bond_status_file, default_policy=None)[4][:1]:
            note(line.split(": ", 1)[0] + ": read; the flow table uses no bond setting")
    first_run.flows()
    with cluster(workers, scheduler) as c:
        if c is None:
            run = read_flows
        else:
            from hashscope.distributed import flow_reader

            run = flow_reader(c)
        result = reading(run, paths,
                         cache=None if cache is None else str(cache))
    write_flows(result, fmt.value, output, top)
