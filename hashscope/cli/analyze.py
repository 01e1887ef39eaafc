"""``hashscope analyze`` and ``hashscope report``: per member, what one policy makes of the
traffic, what it found, and (report) the same as a page with charts."""

from __future__ import annotations

import inspect
import typing
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from hashscope.api import get_policy, parse_local, parse_speed, post_mortem
from hashscope.errors import HashscopeError
from hashscope.report.files import write_json
from hashscope.report.findings import findings
from hashscope.report.summary import analysis_dict, counters_dict
from hashscope.report.terminal import console, print_analysis, print_findings
from hashscope.status.counters import observed_counters, read_counters

from . import first_run
from . import params as p
from .progress import reading


def analyze(
    captures: p.Captures = None, member: p.Member = None, ifindex: p.Ifindex = None,
    policy: Annotated[str | None, typer.Option(
        "--policy", "-p", help="Hash policy (see `hashscope policies`). Default: the "
                               "--bond-status file's, else layer3+4.")] = None,
    links: p.Links = None, down: p.Down = None, mode: p.Mode = None,
    vlan: p.VlanOpt = p.Vlan.offload, kernel: p.Kernel = None, freebsd: p.FreeBSD = "14.0",
    seed: p.Seed = None, local: p.Local = None, packets_per_slave: p.PerSlave = 1,
    rr_limit: p.RRLimit = 1, tlb_dynamic_lb: p.DynLB = 1,
    rebalance_interval: p.Rebalance = 10_000, link_event: p.LinkEvent = None,
    counters: p.CountersOpt = None,
    link_speed: Annotated[str | None, typer.Option(
        help="Member speed (1G, 10G, 100M): prints the best aggregate throughput.")] = None,
    keys: Annotated[int, typer.Option(help="Random keys tried without --seed.")] = 32,
    top: Annotated[int, typer.Option(help="Heaviest flows shown.")] = 10,
    fmt: Annotated[p.Report, typer.Option("--format", "-f")] = p.Report.table,
    iperf3: Annotated[str | None, typer.Option(
        "--iperf3", metavar="RESULT.json", help="Instead of captures: the streams of a "
                                                "finished iperf3 -J run, and their members.")
    ] = None,
    bond_status: p.BondStatusFile = None,
    workers: p.Workers = None, scheduler: p.Scheduler = None, cache: p.Cache = None,
) -> None:
    """Per member: flows, packets, bytes, share, imbalance; findings; heaviest flows.

    The findings (what it means) come first, then the tables.

    Examples:

      hashscope analyze capture.pcap --policy layer3+4

      hashscope analyze backup.pcapng -p layer2+3 --links eth0,eth1,eth2 --down eth1

      hashscope analyze nas.pcap -p lagg:l3,l4 --links 4 --link-speed 1G

      hashscope analyze bond0.pcap --links eth0,eth1 --counters before.json after.json

      hashscope analyze ring_*.pcapng -p lagg:l3,l4 --links 3 --workers 2
    """
    if iperf3 is not None:
        from .plan import show_iperf3
        links, down, mode, policy, _ = p.bond_status(bond_status, links, down, mode, policy)
        setup = p.setup(links, down, mode, vlan, kernel, freebsd, seed)
        show_iperf3(iperf3, policy, setup, None, None, fmt)
        return
    snapshots = _snapshots(counters)
    pm, bps, defaults = _post_mortem(locals())
    found = [f.as_dict() for f in findings(pm)]
    shown = replace(pm.analysis, results=pm.analysis.results[:1])  # the bond's policy
    seen = _counters(snapshots, pm)
    if fmt is p.Report.json:
        write_json({"findings": found, **analysis_dict(shown, bps, top),
                    **({"observed_counters": seen} if seen is not None else {})})
    else:
        print_analysis(shown, bps, top, defaults, found, seen)


def _snapshots(counters) -> tuple | None:
    """--counters BEFORE AFTER read (before the captures: a bad file fails at once)."""
    return tuple(read_counters(x) for x in counters) if counters else None


def _counters(snapshots: tuple | None, pm) -> dict | None:
    """The members' counter deltas beside the bond's policy (:func:`counters_dict`)."""
    if snapshots is None:
        return None
    return counters_dict(observed_counters(*snapshots, pm.setup.members.names), pm.current)


def _post_mortem(options: dict):
    """The post-mortem the analyze options describe: (post-mortem, link bit/s, defaults)."""
    o = options
    paths = p.inputs(o["captures"], o["member"], o["ifindex"])
    links, down, mode, policy, status_notes = p.bond_status(
        o["bond_status"], o["links"], o["down"], o["mode"], o["policy"])
    links, member_notes = p.member_links(links, paths)
    bps = parse_speed(o["link_speed"]) if o["link_speed"] else None
    if bps is None and o["bond_status"] is not None:
        bps, said = p.status_speed(o["bond_status"])
        status_notes += said
    setup = p.setup(links, down, mode, o["vlan"], o["kernel"], o["freebsd"],
                    o["seed"], o["packets_per_slave"], o["rr_limit"], o["tlb_dynamic_lb"],
                    o["rebalance_interval"], o["link_event"])
    chosen = get_policy(policy)
    first_run.bond([chosen], setup, o["keys"])
    with p.cluster(o["workers"], o["scheduler"]) as c:
        pm = reading(post_mortem, paths, chosen, setup, parse_local(o["local"]), bps,
                     o["keys"], analyzer=p.analyzer(c), key_search_run=p.key_searcher(c),
                     cache=None if o["cache"] is None else str(o["cache"]))
    pm.analysis.assumptions += member_notes + status_notes
    return pm, bps, p.defaults(links, mode, o["kernel"], chosen.family)


def report(output: Path | None = None, **options) -> None:
    """The post-mortem: findings in plain words, charts, and one self-contained HTML page.

    Writes OUTPUT/index.html (reads offline), OUTPUT/charts/*.png and *.svg, and
    OUTPUT/summary.json; prints the findings. Takes every option of analyze.

    Examples:

      hashscope report ens1f0.pcap ens1f1.pcap ens1f2.pcap ens1f3.pcap -o reports/iperf3/

      hashscope report backup.pcapng -p layer2+3 --links eth0,eth1 --link-speed 1G
    """
    from hashscope.report.postmortem import summary
    from hashscope.report.write import write_report

    if options.get("iperf3") is not None:
        raise HashscopeError("--iperf3: report reads captures; `hashscope analyze --iperf3` "
                             "or `hashscope plan --iperf3` show an iperf3 run")
    snapshots = _snapshots(options.get("counters"))
    pm, bps, defaults = _post_mortem(options)
    paths = [str(x) for x in p.inputs(options["captures"], options["member"], None)]
    name = _name(paths)
    out = output if output is not None else Path("reports") / name
    found = findings(pm)
    files = f"{len(paths)} captures" if len(paths) > 1 else "1 capture"
    doc = summary(pm, found, inputs=paths, title=f"post-mortem: {name} ({files})",
                  notes=defaults + pm.analysis.assumptions, top=max(options["top"], 20),
                  counters=_counters(snapshots, pm))
    files = write_report(doc, out)
    c = console()
    print_findings(c, doc["findings"])
    c.print(f"report: {files.page} (charts in {out / 'charts'}, numbers in {files.summary})")


def _name(paths: list[str]) -> str:
    """A report's default folder under reports/: the captures' folder, or the capture."""
    parents = {Path(x).parent.name for x in paths}
    if len(paths) > 1 and len(parents) == 1 and parents != {""}:
        return parents.pop()
    return Path(paths[0]).stem if paths else "report"


_output = inspect.Parameter(
    "output", inspect.Parameter.KEYWORD_ONLY, default=None,
    annotation=Annotated[Path | None, typer.Option(
        "--output", "-o", help="The report's folder (default reports/NAME, after the "
                               "captures).")])
_hints = typing.get_type_hints(analyze, include_extras=True)
report.__signature__ = inspect.signature(analyze).replace(  # analyze's options, and -o
    parameters=[*(q.replace(annotation=_hints[q.name])
                  for q in inspect.signature(analyze).parameters.values() if q.name != "fmt"),
                _output])
