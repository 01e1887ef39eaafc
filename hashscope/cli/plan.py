"""``hashscope plan``: how many streams, and which ports (addresses, MACs) to use."""

from __future__ import annotations

from typing import Annotated

import typer

from hashscope.api import (
    Endpoints,
    get_policy,
    make_plan,
    parse_address,
    parse_address_range,
    parse_mac_range,
    parse_port_range,
    read_iperf3,
    stream_members,
)
from hashscope.errors import HashscopeError
from hashscope.report.files import write_json
from hashscope.report.plan import iperf3_dict, plan_dict, print_iperf3, print_plan

from . import params as p

DEFAULT_RANGE = "50000-60000"


def _vary(o: dict) -> tuple[str, list]:
    """The one field that varies, and its values (default: source ports 50000-60000)."""
    given = []
    if o["sport_range"]:
        given.append(("sport", list(parse_port_range(o["sport_range"]))))
    for name in ("src", "dst"):
        if o[f"{name}_range"]:
            given.append((name, parse_address_range(o[f"{name}_range"], f"--{name}-range")))
    for name in ("src_mac", "dst_mac"):
        if o[name] and len(macs := parse_mac_range(o[name], f"--{name.replace('_', '-')}")) > 1:
            given.append((name, macs))
    if len(given) > 1:
        raise HashscopeError("vary one field at a time: " + ", ".join(
            f"--{g[0].replace('_', '-')}{'-range' if '_' not in g[0] else ''}" for g in given))
    return given[0] if given else ("sport", list(parse_port_range(DEFAULT_RANGE)))


def _endpoints(o: dict, vary: str, values: list) -> Endpoints | None:
    src = parse_address(o["src"], "--src") if o["src"] else (values[0] if vary == "src"
                                                               else None)
    dst = parse_address(o["dst"], "--dst") if o["dst"] else (values[0] if vary == "dst"
                                                               else None)
    if src is None or dst is None:
        raise HashscopeError("--policy needs --src and --dst (or --src-range/--dst-range): "
                             "the streams' addresses")
    if src.version != dst.version:
        raise HashscopeError(f"--src {src} and --dst {dst}: both IPv4 or both IPv6")
    fixed = {}
    for name in ("src_mac", "dst_mac"):
        if o[name]:
            fixed[name] = parse_mac_range(o[name], f"--{name.replace('_', '-')}")[0]
    if not 0 < o["dport"] < 65536:
        raise HashscopeError(f"--dport {o['dport']}: a port from 1 to 65535")
    return Endpoints(src, dst, o["dport"], int(values[0]) if vary == "sport" else 50000,
                     o["proto"], vlan=o["vlan_id"], **fixed)


def plan(
    policy: Annotated[str | None, typer.Option("--policy", "-p", help="Hash policy (see "
                      "`hashscope policies`). Without it: the odds for 2 to 8 members.")] = None,
    links: p.Links = None, down: p.Down = None, mode: p.Mode = None,
    vlan: p.VlanOpt = p.Vlan.offload, kernel: p.Kernel = None, freebsd: p.FreeBSD = "14.0",
    seed: p.Seed = None,
    src: Annotated[str | None, typer.Option(help="The streams' source address.")] = None,
    dst: Annotated[str | None, typer.Option(help="The streams' destination.")] = None,
    dport: Annotated[int, typer.Option(help="Destination port (iperf3: 5201).")] = 5201,
    streams: Annotated[int | None, typer.Option(help="Streams wanted.")] = None,
    sport_range: Annotated[str | None, typer.Option(
        help="Source ports to choose from (default 50000-60000).")] = None,
    src_range: Annotated[str | None, typer.Option(
        help="Source addresses to choose from (10.0.0.10-10.0.0.40, 10.0.0.0/28).")] = None,
    dst_range: Annotated[str | None, typer.Option(help="Destinations to choose from.")] = None,
    src_mac: Annotated[str | None, typer.Option(
        help="Source MAC, or MACs to choose from (a-b range or comma list).")] = None,
    dst_mac: Annotated[str | None, typer.Option(help="Destination MAC(s), likewise.")] = None,
    proto: Annotated[str, typer.Option(help="tcp or udp.")] = "tcp",
    vlan_id: Annotated[int | None, typer.Option(help="802.1Q tag of the frames.")] = None,
    cport: Annotated[int | None, typer.Option(
        help="The first port of iperf3 --cport (default: the range's first).")] = None,
    return_policy: Annotated[str | None, typer.Option(
        help="The switch's policy for the flows back from DST (cisco:src-dst-port, ...).")
    ] = None,
    iperf3: Annotated[str | None, typer.Option(
        "--iperf3", metavar="RESULT.json", help="A finished iperf3 -J run: its streams' "
                                                "members under --policy.")] = None,
    fmt: Annotated[p.Report, typer.Option("--format", "-f")] = p.Report.table,
    bond_status: p.BondStatusFile = None,
) -> None:
    """Ports (addresses, MACs) that put N streams on distinct members; the odds.

    Computed with the real hash; with the traps of consecutive ports, and the odds of N
    random streams.

    Examples:

      hashscope plan --links 4 --streams 8

      hashscope plan -p layer3+4 --links 4 --src 10.0.0.1 --dst 10.0.0.2 --streams 4

      hashscope plan -p layer2+3 --links 3 --src-range 10.0.0.10-10.0.0.40 --dst 10.0.0.2
      --streams 3

      hashscope plan -p layer3+4 --links 4 --iperf3 result.json
    """
    o = locals()
    if proto not in ("tcp", "udp"):
        raise HashscopeError(f"--proto {proto!r}: tcp or udp")
    links, down, mode, policy, status_notes = p.bond_status(bond_status, links, down, mode,
                                                            policy, default_policy=None)
    setup = p.setup(links, down, mode, vlan, kernel, freebsd, seed)
    if iperf3 is not None:
        show_iperf3(iperf3, policy, setup, src_mac, dst_mac, fmt)
        return
    chosen = get_policy(policy) if policy else None
    back = get_policy(return_policy) if return_policy else None
    ends, vary, values = None, "sport", []
    if chosen is not None:
        vary, values = _vary(o)
        ends = _endpoints(o, vary, values)
    elif streams is None:
        raise HashscopeError("give --streams N (the odds), or --policy with --src and --dst")
    report = make_plan(setup, streams, chosen, ends, vary, values, back, kernel, cport)
    report.notes += status_notes + p.defaults(links, mode, kernel,
                                              chosen.family if chosen else "")
    if fmt is p.Report.json:
        write_json(plan_dict(report))
    else:
        print_plan(report)


def show_iperf3(path: str, policy: str | None, setup, src_mac: str | None,
                dst_mac: str | None, fmt: p.Report) -> None:
    """The streams of an iperf3 -J run, each with its member and throughput."""
    run = read_iperf3(path)
    chosen = get_policy(policy or "layer3+4")
    macs = {}
    for name, given in (("src_mac", src_mac), ("dst_mac", dst_mac)):
        if given:
            macs[name] = parse_mac_range(given, f"--{name.replace('_', '-')}")[0]
    links = stream_members(run, chosen, setup, **macs)
    d = iperf3_dict(run, chosen.name, [int(x) for x in links], list(setup.members.names))
    if policy is None:
        d["notes"].append("--policy layer3+4 (the default; give --policy)")
    if not macs and chosen.family == "linux" and chosen.name != "layer3+4":
        d["notes"].append("iperf3 names no MACs: the frames carry 52:54:00:3a:7c:01 -> "
                          "52:54:00:3a:7c:02 unless --src-mac/--dst-mac say")
    if fmt is p.Report.json:
        write_json(d)
    else:
        print_iperf3(d)
