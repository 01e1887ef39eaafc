"""The one line a command prints before numba compiles (the first run after an install).

A stage is (what, seconds, functions every run of it compiles): the seconds are what
compiling it took on the 2-core development machine (numba's compile events), including
functions compiled only for some captures (the general paths of the hashes, for tunnels,
ICMP, ...), so the notice can say roughly how long to wait.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from hashscope.analysis.analyze import keyed_from_records
from hashscope.analysis.records import _keyed_records
from hashscope.decode.packets import decode_batch, decode_packet
from hashscope.errors import HashscopeError
from hashscope.flows.table import packet_keys, record_keys
from hashscope.hashes.freebsd import fast as freebsd_fast
from hashscope.hashes.linux import fast as linux_fast
from hashscope.hashes.ovs.flow import ovs_hash_rows
from hashscope.hashes.policy import Policy, Setup
from hashscope.hashes.switches import rows as switch_rows
from hashscope.jit_cache import compiling
from hashscope.report.terminal import shows_progress

DECODER = ("the packet decoder", 6, [decode_packet])
FLOW_KEYS = ("the flow keys", 3, [record_keys])  # with the walkers and the table
TABLES = ("the packet tables", 4, [decode_batch, packet_keys])
RECORDS = ("the packet keys", 8, [_keyed_records])
PACKETS = ("the packet tables", 2, [decode_batch])
SWITCHES = "the switch models"
#: per policy family
FAMILIES = {
    "linux": ("the Linux hash", 12, [linux_fast.fast_hash]),
    "freebsd": ("the FreeBSD hash", 8, [freebsd_fast.fast_hash]),
    "ovs": ("the Open vSwitch hashes", 5, [ovs_hash_rows]),
    "cisco": (SWITCHES, 1, [switch_rows.xor_low_bits_rows]),
    "hp-bl": (SWITCHES, 1, [switch_rows.xor_low_bits_rows]),
    "hp-gbe2c": (SWITCHES, 1, [switch_rows.xor_low_bits_rows]),
    "vmware": (SWITCHES, 1, [switch_rows.vmware_rows]),
    "aruba": (SWITCHES, 1, [switch_rows.aruba_rows]),
    "baseline": (SWITCHES, 1, [switch_rows.uniform_rows]),
}


def notice(stages: Callable[[], list[tuple[str, int, list]]]) -> None:
    """On a terminal, say what is about to be compiled and for about how long (``stages``
    is asked only there)."""
    if not shows_progress():
        return
    try:
        names, seconds = compiling(stages())
    except HashscopeError:  # a bad setting: the command itself says so, in its turn
        return
    names = list(dict.fromkeys(names))  # the switch models once
    if names:
        what = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        print(f"hashscope: compiling {what} (first run only, about {seconds} s)",
              file=sys.stderr, flush=True)


def flows() -> None:
    """Before flows."""
    notice(lambda: [DECODER, FLOW_KEYS])


def bond(policies: Sequence[Policy], setup: Setup, keys: int, per_packet: bool = False
         ) -> None:
    """Before analyze or compare over these policies (``per_packet``: assign, which reads
    packet tables and hashes every frame)."""
    def stages():
        if per_packet:
            reading = PACKETS
        else:
            reading = RECORDS if keyed_from_records(policies, setup, keys) else TABLES
        families = sorted({p.family for p in policies} & set(FAMILIES))
        return [DECODER, reading, *(FAMILIES[f] for f in families)]

    notice(stages)
