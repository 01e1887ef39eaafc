"""The bond commands: analyze, compare, assign, policies (thin: the work is in the library)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from hashscope.errors import HashscopeError

from .app import app, progress_enabled, warn

Captures = Annotated[list[str], typer.Argument(
    help="Capture files (pcap, pcapng; gzip/bzip2/xz by content), or - for stdin.",
    metavar="CAPTURE...")]
Links = Annotated[str | None, typer.Option(
    "--links", "-n", help="Members: a count (4) or names in enslave order (eth0,eth1).")]
Down = Annotated[list[str] | None, typer.Option(
    "--down", help="A member without link (name or 0-based index); repeatable.")]
Mode = Annotated[str | None, typer.Option(
    help="Linux bonding mode (802.3ad, balance-xor, balance-rr, active-backup, broadcast, "
         "balance-tlb, balance-alb) or FreeBSD laggproto (lacp, loadbalance, roundrobin, "
         "failover, broadcast). Default: 802.3ad / lacp.")]


class Vlan(StrEnum):
    offload = "offload"
    inband = "inband"


VlanOpt = Annotated[Vlan, typer.Option(
    help="offload: an outer tag in the capture was out of band for the bond (a VLAN device "
         "on the bond; the usual set-up). inband: hash the frame as captured.")]
Kernel = Annotated[str | None, typer.Option(help="Linux kernel version (era of the hash). "
                                                 "Default: current (5.18+).")]
FreeBSD = Annotated[str, typer.Option("--freebsd", help="FreeBSD version: 11.0+ FNV-1, "
                                                        "9.x/10.x h*33+byte.")]
Seed = Annotated[str | None, typer.Option(
    help="The 32-bit key of FreeBSD lagg / basis of OVS balance-tcp (e.g. 0x1234abcd). "
         "Without it: a distribution over random keys.")]
Local = Annotated[list[str] | None, typer.Option(
    help="The bonded host's MAC or IP: only frames it sends are hashed. Repeatable.")]
PerSlave = Annotated[int, typer.Option(help="Linux balance-rr packets_per_slave.")]
RRLimit = Annotated[int, typer.Option(help="FreeBSD roundrobin rr_limit.")]
DynLB = Annotated[int, typer.Option(help="Linux balance-tlb/alb tlb_dynamic_lb (0 or 1).")]


class Report(StrEnum):
    table = "table"
    json = "json"


def _setup(links, down, mode, vlan, kernel, freebsd, seed, per_slave=1, rr_limit=1,
           dyn_lb=1):
    from hashscope.hashes.linux.eras import kernel_profile
    from hashscope.hashes.policy import Setup
    from hashscope.members import parse_links

    key = None
    if seed is not None:
        try:
            key = int(seed, 0)
        except ValueError:
            raise HashscopeError(f"--seed {seed!r}: a number such as 0x1234abcd") from None
        if not 0 <= key < 2**32:
            raise HashscopeError(f"--seed {seed}: a 32-bit key")
    if dyn_lb not in (0, 1):
        raise HashscopeError("--tlb-dynamic-lb: 0 or 1")
    return Setup(parse_links(links, down or ()), vlan.value, kernel_profile(kernel), mode,
                 key, freebsd, per_slave, rr_limit, bool(dyn_lb))


def _defaults(links, mode, kernel, family: str | None) -> list[str]:
    """The defaults a command used, for the note under its output."""
    used = []
    if links is None:
        used.append("--links 2 (2 members; give --links N or names)")
    if mode is None and family in ("linux", None):
        used.append("--mode 802.3ad for Linux policies (the same hash as balance-xor)")
    if mode is None and family in ("freebsd", None):
        used.append("--mode lacp for lagg: policies, --freebsd 14.0 unless given")
    if kernel is None and family in ("linux", None):
        used.append("--kernel current (5.18+, as 6.x kernels)")
    return ["defaults used: " + "; ".join(used)] if used else []


def _run(captures, policies, setup, local, keys):
    from hashscope.analysis.analyze import analyze as run
    from hashscope.analysis.direction import parse_local

    from .progress import ByteProgress

    with ByteProgress(enabled=progress_enabled()) as progress:
        return run(captures, policies, setup, parse_local(local), keys, on_warning=warn,
                   on_progress=progress.update, on_start=progress.start)


@app.command()
def analyze(
    captures: Captures,
    policy: Annotated[str, typer.Option("--policy", "-p", help="Hash policy (see `hashscope "
                                                               "policies`).")] = "layer3+4",
    links: Links = None, down: Down = None, mode: Mode = None, vlan: VlanOpt = Vlan.offload,
    kernel: Kernel = None, freebsd: FreeBSD = "14.0", seed: Seed = None, local: Local = None,
    packets_per_slave: PerSlave = 1, rr_limit: RRLimit = 1, tlb_dynamic_lb: DynLB = 1,
    link_speed: Annotated[str | None, typer.Option(
        help="Member speed (1G, 10G, 100M): prints the best aggregate throughput.")] = None,
    keys: Annotated[int, typer.Option(help="Random keys tried without --seed.")] = 32,
    top: Annotated[int, typer.Option(help="Heaviest flows shown.")] = 10,
    fmt: Annotated[Report, typer.Option("--format", "-f")] = Report.table,
) -> None:
    """Per member: flows, packets, bytes and share; imbalance; the heaviest flows.

    Examples:

      hashscope analyze capture.pcap --policy layer3+4

      hashscope analyze backup.pcapng -p layer2+3 --links eth0,eth1,eth2 --down eth1

      hashscope analyze nas.pcap -p lagg:l3,l4 --links 4 --link-speed 1G
    """
    from hashscope.analysis.imbalance import parse_speed
    from hashscope.hashes.policy import get_policy
    from hashscope.report.summary import analysis_dict, print_analysis, print_json

    bps = parse_speed(link_speed) if link_speed else None
    setup = _setup(links, down, mode, vlan, kernel, freebsd, seed, packets_per_slave,
                   rr_limit, tlb_dynamic_lb)
    result = _run(captures, [get_policy(policy)], setup, local, keys)
    if fmt is Report.json:
        print_json(analysis_dict(result, bps, top))
    else:
        print_analysis(result, bps, top, _defaults(links, mode, kernel,
                                                         result.results[0].policy.family))


@app.command()
def compare(
    captures: Captures, links: Links = None, down: Down = None, vlan: VlanOpt = Vlan.offload,
    kernel: Kernel = None, freebsd: FreeBSD = "14.0", seed: Seed = None, local: Local = None,
    link_speed: Annotated[str | None, typer.Option(help="Member speed, e.g. 1G.")] = None,
    keys: Annotated[int, typer.Option(help="Random keys tried without --seed.")] = 16,
    fmt: Annotated[Report, typer.Option("--format", "-f")] = Report.table,
) -> None:
    """Every applicable policy side by side, most even first.

    Examples:

      hashscope compare capture.pcap --links 4

      hashscope compare backup.pcapng --links 2 --local 10.0.0.5 --link-speed 10G
    """
    from hashscope.analysis.imbalance import parse_speed
    from hashscope.hashes.policy import applicable_policies
    from hashscope.report.summary import compare_frame, print_compare, print_json

    bps = parse_speed(link_speed) if link_speed else None
    setup = _setup(links, down, None, vlan, kernel, freebsd, seed)
    result = _run(captures, applicable_policies(setup), setup, local, keys)
    used = [r for r in result.results if r.load.packets.sum() or r.load.bytes.sum()]
    result.results = used
    df = compare_frame(result, bps)
    if fmt is Report.json:
        print_json({"packets": result.packets, "sent_packets": result.sent_packets,
                    "assumptions": result.assumptions, "policies": df.to_dict("records")})
    else:
        empty = [] if len(df) else ["no policy could place any frame: the bonds hash "
                                    "Ethernet frames, and this capture has none to hash"]
        print_compare(df, f"{len(df)} policies, {setup.members.count} members, "
                      f"{result.sent_packets} frames sent",
                      empty + _defaults(links, "", kernel, "linux") + result.assumptions)


class AssignFormat(StrEnum):
    csv = "csv"


@app.command()
def assign(
    captures: Captures,
    policy: Annotated[str, typer.Option("--policy", "-p", help="Hash policy.")],
    links: Links = None, down: Down = None, mode: Mode = None, vlan: VlanOpt = Vlan.offload,
    kernel: Kernel = None, freebsd: FreeBSD = "14.0", seed: Seed = None, local: Local = None,
    packets_per_slave: PerSlave = 1, rr_limit: RRLimit = 1, tlb_dynamic_lb: DynLB = 1,
    fmt: Annotated[AssignFormat, typer.Option("--format", "-f")] = AssignFormat.csv,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """One row per packet, in capture order: packet, hash, link, member.

    hash is the 32-bit value in hex (empty where none is defined); link the 0-based member
    index (empty where the frame is not sent by the bond or cannot be predicted).

    Examples:

      hashscope assign capture.pcap --policy layer3+4 --links 4 --format csv

      hashscope assign nas.pcap -p lagg:l2,l3,l4 --links 2 --seed 0x1234abcd -o out.csv
    """
    from hashscope.analysis.analyze import assigned_batches
    from hashscope.analysis.direction import ALL_SENT, parse_local
    from hashscope.capture.reader import CaptureReader
    from hashscope.hashes.policy import get_policy, make_assigner
    from hashscope.report.files import write_assignments

    setup = _setup(links, down, mode, vlan, kernel, freebsd, seed, packets_per_slave,
                   rr_limit, tlb_dynamic_lb)
    p = get_policy(policy)
    if p.keyed and setup.seed is None:
        raise HashscopeError(f"{p.name} hashes with a random key: give --seed K for "
                             "per-packet members (analyze and compare show the spread over "
                             "random keys)")
    host = parse_local(local)
    reader = CaptureReader(captures, on_warning=warn)
    write_assignments(assigned_batches(reader, make_assigner(p, setup), host),
                      setup.members, output)
    caveat = [p.caveat] if p.caveat else []
    for line in _defaults(links, mode, kernel, p.family) + ([] if host else [ALL_SENT]) + caveat:
        typer.echo(f"hashscope: note: {line}", err=True)


@app.command()
def policies() -> None:
    """Every hash policy, with one line each and whether it is exact or approximate."""
    from hashscope.hashes.policy import all_policies
    from hashscope.report.summary import print_policies

    print_policies(all_policies())
