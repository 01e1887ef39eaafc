"""The library API in one place: what the CLI calls, and what a notebook calls the same way.

>>> import hashscope
>>> flows = hashscope.read_flows(["eth0.pcap", "eth1.pcap"]).flows          # doctest: +SKIP
>>> setup = hashscope.make_setup(links="eth0,eth1,eth2", kernel="6.1")       # doctest: +SKIP
>>> result = hashscope.analyze(["bond0.pcap"], [hashscope.get_policy("layer3+4")],
...                            setup)                                        # doctest: +SKIP
>>> result.results[0].load.bytes                                             # doctest: +SKIP

Every name here is also importable from ``hashscope`` itself.
"""

from .analysis.analyze import Analysis, PolicyResult, analyze, assign, compare
from .analysis.direction import LocalHost, parse_local
from .analysis.imbalance import Imbalance, imbalance, parse_speed
from .analysis.infer import Inference, infer
from .analysis.postmortem import PostMortem, post_mortem
from .capture.reader import CaptureReader
from .decode.tables import packet_tables, read_packets
from .flows.read import FlowResult, read_flows
from .hashes.policy import Assignment, Policy, Setup, make_setup, parse_seed
from .hashes.registry import (
    Registry,
    all_policies,
    applicable_policies,
    get_policy,
    make_assigner,
)
from .members import Members, parse_links
from .plan.build import PlanReport, make_plan
from .plan.iperf3 import IperfRun, IperfStream, parse_iperf3, read_iperf3, stream_members
from .plan.odds import (
    bucket_shares,
    expected_busiest_share,
    odds_table,
    p_all_used,
    streams_for,
    uniform_shares,
)
from .plan.ports import Endpoints, Plan, Stream, candidates, choose, plan_streams
from .plan.ranges import parse_address, parse_address_range, parse_mac_range, parse_port_range
from .plan.traps import Trap, bit0_trap, cport_trap, kernel_ports_trap
from .status import BondStatus, read_status

__all__ = [
    "Analysis",
    "Assignment",
    "BondStatus",
    "CaptureReader",
    "Endpoints",
    "FlowResult",
    "Imbalance",
    "Inference",
    "IperfRun",
    "IperfStream",
    "LocalHost",
    "Members",
    "Plan",
    "PlanReport",
    "Policy",
    "PolicyResult",
    "PostMortem",
    "Registry",
    "Setup",
    "Stream",
    "Trap",
    "all_policies",
    "analyze",
    "applicable_policies",
    "assign",
    "bit0_trap",
    "bucket_shares",
    "candidates",
    "choose",
    "compare",
    "cport_trap",
    "expected_busiest_share",
    "get_policy",
    "imbalance",
    "infer",
    "kernel_ports_trap",
    "make_assigner",
    "make_plan",
    "make_setup",
    "odds_table",
    "p_all_used",
    "packet_tables",
    "parse_address",
    "parse_address_range",
    "parse_iperf3",
    "parse_links",
    "parse_local",
    "parse_mac_range",
    "parse_port_range",
    "parse_seed",
    "parse_speed",
    "plan_streams",
    "post_mortem",
    "read_flows",
    "read_iperf3",
    "read_packets",
    "read_status",
    "stream_members",
    "streams_for",
    "uniform_shares",
]
