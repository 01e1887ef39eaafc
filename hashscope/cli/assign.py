"""``hashscope assign``: the member of every packet, in capture order."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from hashscope.analysis.direction import ALL_SENT
from hashscope.api import assign as assign_members
from hashscope.api import get_policy, parse_local
from hashscope.errors import HashscopeError
from hashscope.report.assignments import write_assignments

from . import first_run
from . import params as p


class AssignFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


def assign(
    policy: Annotated[str | None, typer.Option(
        "--policy", "-p", help="Hash policy. Default: the --bond-status file's, else "
                               "layer3+4.")] = None,
    captures: p.Captures = None, member: p.Member = None, ifindex: p.Ifindex = None,
    links: p.Links = None, down: p.Down = None, mode: p.Mode = None,
    vlan: p.VlanOpt = p.Vlan.offload, kernel: p.Kernel = None, freebsd: p.FreeBSD = "14.0",
    seed: p.Seed = None, local: p.Local = None, packets_per_slave: p.PerSlave = 1,
    rr_limit: p.RRLimit = 1, tlb_dynamic_lb: p.DynLB = 1,
    rebalance_interval: p.Rebalance = 10_000, link_event: p.LinkEvent = None,
    fmt: Annotated[AssignFormat, typer.Option("--format", "-f")] = AssignFormat.csv,
    output: p.Output = None,
    bond_status: p.BondStatusFile = None,
    workers: p.Workers = None, scheduler: p.Scheduler = None,
) -> None:
    """One row per packet, in capture order: packet, hash, link, member.

    hash is the 32-bit value in hex (empty where none is defined); link the 0-based member
    index (empty where the frame is not sent by the bond or cannot be predicted). Parquet:
    the same columns, hash as a 32-bit number (null where none).

    Examples:

      hashscope assign capture.pcap --policy layer3+4 --links 4 --format csv

      hashscope assign nas.pcap -p lagg:l2,l3,l4 --links 2 --seed 0x1234abcd -o out.csv

      hashscope assign big.pcap -p layer3+4 --links 4 --format parquet -o members.parquet

      hashscope assign ring_*.pcapng -p layer3+4 --links 4 --workers 2 -o members.csv
    """
    paths = p.inputs(captures, member, ifindex)
    links, down, mode, policy, status_notes = p.bond_status(bond_status, links, down, mode,
                                                            policy)
    links, member_notes = p.member_links(links, paths)
    if fmt is AssignFormat.parquet and output is None:
        raise HashscopeError("--format parquet needs --output FILE")
    setup = p.setup(links, down, mode, vlan, kernel, freebsd, seed, packets_per_slave,
                    rr_limit, tlb_dynamic_lb, rebalance_interval, link_event)
    chosen = get_policy(policy)
    host = parse_local(local)
    first_run.bond([chosen], setup, 1, per_packet=True)
    with p.cluster(workers, scheduler) as c:
        if c is None:
            batches = assign_members(paths, chosen, setup, host, on_warning=p.warn)
            write_assignments(batches, setup.members, output, fmt.value)
        else:
            from hashscope.distributed import packet_members

            with packet_members(c)(paths, chosen, setup, host, output,
                                   on_warning=p.warn) as batches:
                write_assignments(batches, setup.members, output, fmt.value)
    caveat = [chosen.caveat] if chosen.caveat else []
    for line in (member_notes + status_notes + p.defaults(links, mode, kernel, chosen.family)
                 + ([] if host else [ALL_SENT]) + caveat):
        p.note(line)
