"""``hashscope analyze``: per member, what one policy makes of the traffic."""

from __future__ import annotations

from typing import Annotated

import typer

from hashscope.api import analyze as run_analysis
from hashscope.api import get_policy, parse_local, parse_speed
from hashscope.report.files import write_json
from hashscope.report.summary import analysis_dict
from hashscope.report.terminal import print_analysis

from . import first_run
from . import params as p
from .progress import reading


def analyze(
    captures: p.Captures = None, member: p.Member = None, ifindex: p.Ifindex = None,
    policy: Annotated[str, typer.Option("--policy", "-p", help="Hash policy (see `hashscope "
                                                               "policies`).")] = "layer3+4",
    links: p.Links = None, down: p.Down = None, mode: p.Mode = None,
    vlan: p.VlanOpt = p.Vlan.offload, kernel: p.Kernel = None, freebsd: p.FreeBSD = "14.0",
    seed: p.Seed = None, local: p.Local = None, packets_per_slave: p.PerSlave = 1,
    rr_limit: p.RRLimit = 1, tlb_dynamic_lb: p.DynLB = 1,
    rebalance_interval: p.Rebalance = 10_000, link_event: p.LinkEvent = None,
    link_speed: Annotated[str | None, typer.Option(
        help="Member speed (1G, 10G, 100M): prints the best aggregate throughput.")] = None,
    keys: Annotated[int, typer.Option(help="Random keys tried without --seed.")] = 32,
    top: Annotated[int, typer.Option(help="Heaviest flows shown.")] = 10,
    fmt: Annotated[p.Report, typer.Option("--format", "-f")] = p.Report.table,
) -> None:
    """Per member: flows, packets, bytes and share; imbalance; the heaviest flows.

    Examples:

      hashscope analyze capture.pcap --policy layer3+4

      hashscope analyze backup.pcapng -p layer2+3 --links eth0,eth1,eth2 --down eth1

      hashscope analyze nas.pcap -p lagg:l3,l4 --links 4 --link-speed 1G
    """
    paths = p.inputs(captures, member, ifindex)
    links, member_notes = p.member_links(links, paths)
    bps = parse_speed(link_speed) if link_speed else None
    setup = p.setup(links, down, mode, vlan, kernel, freebsd, seed, packets_per_slave,
                    rr_limit, tlb_dynamic_lb, rebalance_interval, link_event)
    chosen = get_policy(policy)
    first_run.bond([chosen], setup, keys)
    result = reading(run_analysis, paths, [chosen], setup, parse_local(local), keys)
    result.assumptions += member_notes
    if fmt is p.Report.json:
        write_json(analysis_dict(result, bps, top))
    else:
        print_analysis(result, bps, top, p.defaults(links, mode, kernel, chosen.family))
