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
from .status import BondStatus, read_status

__all__ = [
    "Analysis",
    "Assignment",
    "BondStatus",
    "CaptureReader",
    "FlowResult",
    "Imbalance",
    "Inference",
    "LocalHost",
    "Members",
    "Policy",
    "PolicyResult",
    "PostMortem",
    "Registry",
    "Setup",
    "all_policies",
    "analyze",
    "applicable_policies",
    "assign",
    "compare",
    "get_policy",
    "imbalance",
    "infer",
    "make_assigner",
    "make_setup",
    "packet_tables",
    "parse_links",
    "parse_local",
    "parse_seed",
    "post_mortem",
    "parse_speed",
    "read_flows",
    "read_packets",
    "read_status",
]
