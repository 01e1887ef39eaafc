"""What the commands share: their options, the bond set-up they build, warnings, notes."""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from hashscope.analysis.imbalance import format_rate
from hashscope.api import Setup, get_policy, make_setup, read_status
from hashscope.capture.cooked import parse_ifindex
from hashscope.capture.interfaces import interface_names
from hashscope.capture.names import IfindexNames, NamedCapture
from hashscope.errors import CaptureWarning, HashscopeError
from hashscope.members import MAX_LINKS
from hashscope.report.text import visible

Captures = Annotated[list[str] | None, typer.Argument(
    help="Capture files (pcap, pcapng; gzip/bzip2/xz by content), or - for stdin.",
    metavar="CAPTURE...", show_default=False)]
Member = Annotated[list[str] | None, typer.Option(
    "--member", metavar="NAME=FILE",
    help="FILE (a glob pattern: eth0=ring_*) was captured on member NAME: its interfaces "
         "take that name. Repeatable; adds to the CAPTUREs.")]
Ifindex = Annotated[list[str] | None, typer.Option(
    "--ifindex", metavar="INDEX=NAME",
    help="Linux interface index INDEX is NAME (3=eth0, or 3=eth0,4=eth1): in a Linux "
         "cooked v2 capture of any (tcpdump -i any), every frame's interface is the one of "
         "its index, ifindexINDEX unless named. Repeatable.")]
Output = Annotated[Path | None, typer.Option("--output", "-o",
                                             help="Write here instead of stdout.")]
Links = Annotated[str | None, typer.Option(
    "--links", "-n", help="Members: a count (4) or names in enslave order (eth0,eth1).")]
Down = Annotated[list[str] | None, typer.Option(
    "--down", help="A member without link (name or 0-based index); repeatable.")]
Mode = Annotated[str | None, typer.Option(
    help="Linux bonding mode (802.3ad, balance-xor, balance-rr, active-backup, broadcast, "
         "balance-tlb, balance-alb) or FreeBSD laggproto (lacp, loadbalance, roundrobin, "
         "failover, broadcast). Default: 802.3ad / lacp.")]


BondStatusFile = Annotated[Path | None, typer.Option(
    "--bond-status", metavar="FILE",
    help="The bond's own status (cat /proc/net/bonding/bond0, ifconfig lagg0, ovs-appctl "
         "bond/show, teamdctl TEAM state): its policy, mode, members in order and the "
         "members down or outside the active aggregator become the defaults.",
    show_default=False)]

#: The policy of analyze, report and assign when neither --policy nor --bond-status says.
DEFAULT_POLICY = "layer3+4"


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
Rebalance = Annotated[int, typer.Option(
    "--rebalance-interval", metavar="MS",
    help="OVS other_config:bond-rebalance-interval in ms (0: none; XAPI sets 1800000 "
         "on non-LACP bonds).")]
LinkEvent = Annotated[list[str] | None, typer.Option(
    "--link-event", metavar="MEMBER:down|up@TIME",
    help="A member's link went down or up at TIME (Unix seconds or ISO 8601 UTC, the "
         "captures' clock), as ovs-vswitchd.log says: OVS bonds follow it. Repeatable.")]


class Report(StrEnum):
    table = "table"
    json = "json"


def inputs(captures: list[str] | None, members: list[str] | None,
           ifindex: list[str] | None = None) -> list:
    """The captures to read: the CAPTURE arguments, then each --member's files (a glob
    pattern, sorted) named after the member, then the --ifindex names (an IfindexNames)."""
    out: list = list(captures or [])
    for spec in members or []:
        name, sep, pattern = spec.partition("=")
        if not sep or not name.strip() or not pattern:
            raise HashscopeError(f"--member {spec!r}: NAME=FILE, e.g. eth0=eth0.pcap or "
                                 "eth0='ring_*'")
        files = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not files:
            raise HashscopeError(f"--member {spec!r}: no file matches {pattern!r}")
        out += [NamedCapture(name.strip(), f) for f in files]
    if not out:
        raise HashscopeError("no capture given: name capture files, or --member NAME=FILE")
    names: dict[int, str] = {}
    for spec in ifindex or []:
        try:
            parse_ifindex(spec, names)
        except ValueError as exc:
            raise HashscopeError(f"--ifindex {spec!r}: {exc}; give INDEX=NAME, e.g. 3=eth0 "
                                 "or 3=eth0,4=eth1") from None
    if names:
        out.append(IfindexNames(names))
    return out


def member_links(links: str | None, paths: list) -> tuple[str | None, list[str]]:
    """``--links`` as given, or else the members the captures name (two or more capture
    interfaces), with a note saying so: their bond order is unknown."""
    if links is not None:
        return links, []
    names = interface_names(paths)
    if len(names) > MAX_LINKS:
        return links, [f"{len(names)} capture interfaces, more than a bond has members "
                       f"({MAX_LINKS}): they are not taken as the members (give --links)"]
    if len(names) < 2 or any("," in n for n in names):
        return links, []
    return ",".join(names), [f"members {', '.join(names)} from the captures' interfaces, in "
                             "the order given: the bond's order is unknown (`hashscope "
                             "infer` finds it; give --links in the bond's order)"]


def option_name(setting: str) -> str:
    """The option that sets a library setting: ``tlb_dynamic_lb`` -> ``--tlb-dynamic-lb``."""
    return "--" + setting.replace("_", "-")


def setup(links, down, mode, vlan: Vlan, kernel, freebsd, seed, per_slave=1, rr_limit=1,
          dyn_lb=1, rebalance=10_000, link_events=None) -> Setup:
    """The bond the options describe."""
    return make_setup(links, down or (), vlan.value, kernel, mode, seed, freebsd, per_slave,
                      rr_limit, dyn_lb, rebalance, link_events or ())


def defaults(links, mode, kernel, family: str | None) -> list[str]:
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


def warn(w: CaptureWarning) -> None:
    typer.echo(f"hashscope: warning: {visible(str(w))}", err=True)


def note(line: str) -> None:
    typer.echo(f"hashscope: note: {visible(line)}", err=True)


def bond_status(path: Path | None, links: str | None = None, down: list[str] | None = None,
                mode: str | None = None, policy: str | None = None,
                default_policy: str | None = DEFAULT_POLICY):
    """The options with ``--bond-status``'s defaults filled in: (links, down, mode, policy,
    notes). An option given beats the status file; without a status file, only the
    policy's default is filled in. The status file's warnings are printed."""
    if path is None:
        return links, down, mode, policy or default_policy, []
    st = read_status(path)
    for w in st.warnings:
        typer.echo(f"hashscope: warning: {visible(str(path))}: {visible(w)}", err=True)
    took = []
    if policy is None and st.policy is not None:
        policy = st.policy
        took.append(f"policy {st.policy}")
    policy = policy or default_policy
    names = [n for n in st.names if "," not in n]
    if links is None and names:
        links = ",".join(names)
        took.append(f"members {', '.join(names)}")
    if down is None and st.down and links is not None:
        mine = {x.strip() for x in links.split(",")}
        out = [m for m in st.members if m.out and m.name in mine]
        if out:
            down = [m.name for m in out]
            took.append("--down " + ", ".join(f"{m.name} ({m.out})" for m in out))
    if mode is None and st.mode is not None:
        modes = get_policy(policy).modes if policy else ()
        if st.mode in modes:
            mode = st.mode
            took.append(f"mode {st.mode}")
    what = "; ".join(took) if took else "nothing the options did not already give"
    notes = [f"from the bond status {path} ({_KINDS.get(st.kind, st.kind)}): {what}"]
    if st.ignored:
        notes.append(f"{len(st.ignored)} lines of {path} not understood (`hashscope status "
                     f"{path}` lists them)")
    return links, down, mode, policy, notes


def status_speed(path: Path) -> tuple[float | None, list[str]]:
    """The members' link speed from ``--bond-status`` (when the members that are up all
    say the same one), for ``--link-speed``; and the note saying so."""
    speeds = {m.speed_bps for m in read_status(path).members if m.up}
    if len(speeds) != 1 or None in speeds:
        return None, []
    (bps,) = speeds
    return float(bps), [f"--link-speed {format_rate(bps)} from the bond status {path}"]


_KINDS = {"linux": "/proc/net/bonding", "freebsd": "ifconfig lagg",
          "ovs-bond": "ovs-appctl bond/show", "ovs-lacp": "ovs-appctl lacp/show",
          "teamd": "teamdctl"}


CountersOpt = Annotated[tuple[Path, Path] | None, typer.Option(
    "--counters", metavar="BEFORE AFTER",
    help="The members' interface counters before and after the traffic (ip -s -j link, "
         "/proc/net/dev, netstat -ib or ip -s link, saved to two files): what each member "
         "carried, beside the prediction.")]


@contextmanager
def cluster(workers: int | None, scheduler: str | None) -> Iterator:
    """The Dask cluster ``--workers`` or ``--scheduler`` asks for (None: neither: in
    process), closed when done."""
    if workers is not None and scheduler is not None:
        raise HashscopeError("--workers and --scheduler: give one of them")
    if workers is None and scheduler is None:
        yield None
        return
    from hashscope.distributed.cluster import Cluster

    with Cluster(workers, scheduler) as c:
        yield c


def analyzer(cluster) -> Callable | None:
    """analyze on ``cluster`` (None: in process)."""
    if cluster is None:
        return None
    from hashscope.distributed import analyzer

    return analyzer(cluster)


def key_searcher(cluster) -> Callable | None:
    """Where infer's FreeBSD key search scans: on ``cluster`` (None: in process)."""
    if cluster is None:
        return None
    from hashscope.distributed import key_searcher

    return key_searcher(cluster)


Cache = Annotated[Path | None, typer.Option(
    "--cache", metavar="DIR",
    help="Keep each capture file's summary in DIR (Parquet): files read before, unchanged, "
         "are not read again (a growing ring buffer).")]


Workers = Annotated[int | None, typer.Option(
    "--workers", min=1, metavar="N",
    help="Read the files on a local Dask cluster of N processes, one file a task "
         "(pip install 'hashscope[dask]'); the same output as without.")]
Scheduler = Annotated[str | None, typer.Option(
    "--scheduler", metavar="tcp://HOST:PORT",
    help="Read the files on the workers of a running Dask scheduler (they open the paths "
         "given).")]
