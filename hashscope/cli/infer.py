"""``hashscope infer``: which configuration explains what each member carried."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from hashscope.api import infer as run_inference
from hashscope.api import parse_links, parse_local
from hashscope.errors import HashscopeError
from hashscope.report.files import write_json
from hashscope.report.inference import inference_dict, print_inference

from . import params as p


class Direction(StrEnum):
    transmit = "transmit"
    receive = "receive"


def infer(
    captures: p.Captures = None, member: p.Member = None, ifindex: p.Ifindex = None,
    links: Annotated[str | None, typer.Option(
        "--links", "-n", help="The members' names (any order: the bond's order is "
                              "inferred). Default: every capture interface.")] = None,
    local: p.Local = None,
    direction: Annotated[Direction | None, typer.Option(
        help="Only this side (default: each side the captures hold).")] = None,
    fmt: Annotated[p.Report, typer.Option("--format", "-f")] = p.Report.table,
    bond_status: p.BondStatusFile = None,
    workers: p.Workers = None, scheduler: p.Scheduler = None,
) -> None:
    """Which policy, kernel era, member order, key or mode explains the member captures.

    Examples:

      hashscope infer eth0.pcap eth1.pcap eth2.pcap

      hashscope infer --member eth0='eth0_*' --member eth1='eth1_*' --local 10.0.0.5

      hashscope infer any.pcap --ifindex 2=eth0,3=eth1,4=bond0 --links eth0,eth1

      hashscope infer em0.pcap em1.pcap em2.pcap --workers 2   (the key search on Dask)
    """
    paths = p.inputs(captures, member, ifindex)
    links, _, _, _, status_notes = p.bond_status(bond_status, links, default_policy=None)
    for line in status_notes:
        p.note(line)
    if links and links.strip().isdigit():
        raise HashscopeError(f"--links {links}: give the members' names (eth0,eth1): "
                             "infer reads which member carried what from the captures")
    members = parse_links(links) if links else None
    with p.cluster(workers, scheduler) as c:
        found = run_inference(paths, members, parse_local(local),
                              direction.value if direction else None, on_warning=p.warn,
                              key_search_run=p.key_searcher(c))
    if fmt is p.Report.json:
        answers = [inference_dict(i) for i in found]
        write_json(answers[0] if len(answers) == 1 else {"sides": answers})
        return
    if not found:
        p.note("no frame was seen on a member: nothing to infer")
    for inf in found:
        print_inference(inf)
