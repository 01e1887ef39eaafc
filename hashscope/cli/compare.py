"""``hashscope compare``: every applicable policy side by side."""

from __future__ import annotations

from typing import Annotated

import typer

from hashscope.api import applicable_policies, parse_local, parse_speed
from hashscope.api import compare as run_comparison
from hashscope.report.files import write_json
from hashscope.report.summary import compare_dict, compare_frame
from hashscope.report.terminal import print_compare

from . import first_run
from . import params as p
from .progress import reading


def compare(
    captures: p.Captures = None, member: p.Member = None, ifindex: p.Ifindex = None,
    links: p.Links = None,
    down: p.Down = None,
    vlan: p.VlanOpt = p.Vlan.offload, kernel: p.Kernel = None, freebsd: p.FreeBSD = "14.0",
    seed: p.Seed = None, local: p.Local = None,
    rebalance_interval: p.Rebalance = 10_000, link_event: p.LinkEvent = None,
    link_speed: Annotated[str | None, typer.Option(help="Member speed, e.g. 1G.")] = None,
    keys: Annotated[int, typer.Option(help="Random keys tried without --seed.")] = 16,
    fmt: Annotated[p.Report, typer.Option("--format", "-f")] = p.Report.table,
    bond_status: p.BondStatusFile = None,
    workers: p.Workers = None, scheduler: p.Scheduler = None, cache: p.Cache = None,
) -> None:
    """Every applicable policy side by side, most even first.

    Examples:

      hashscope compare capture.pcap --links 4

      hashscope compare backup.pcapng --links 2 --local 10.0.0.5 --link-speed 10G

      hashscope compare ring_*.pcapng --links 4 --workers 2
    """
    paths = p.inputs(captures, member, ifindex)
    links, down, _, _, status_notes = p.bond_status(bond_status, links, down, None, None,
                                                    default_policy=None)
    links, member_notes = p.member_links(links, paths)
    bps = parse_speed(link_speed) if link_speed else None
    setup = p.setup(links, down, None, vlan, kernel, freebsd, seed,
                    rebalance=rebalance_interval, link_events=link_event)
    first_run.bond(applicable_policies(setup), setup, keys)
    with p.cluster(workers, scheduler) as c:
        result = reading(run_comparison, paths, setup, parse_local(local), keys,
                         analyzer=p.analyzer(c),
                         cache=None if cache is None else str(cache))
    result.assumptions += member_notes + status_notes
    if fmt is p.Report.json:
        write_json(compare_dict(result, bps))
        return
    df = compare_frame(result, bps)
    empty = [] if len(df) else ["no policy could place any frame: the bonds hash Ethernet "
                                "frames, and this capture has none to hash"]
    print_compare(df, f"{len(df)} policies, {setup.members.count} members, "
                  f"{result.sent_packets} frames sent",
                  empty + p.defaults(links, "", kernel, "linux") + result.assumptions)
