"""tshark as the reference: per-conversation counts, per-frame fields.

tshark is the reference for flow counts: ``tshark -q -z conv,tcp`` (and udp,
sctp) for frames per conversation and direction, and ``-T fields`` with
``frame.len`` for exact byte sums (tshark 4.0 prints large byte counts as
"139 kB"). IP reassembly is turned off so that tshark, like a bond, sees every
fragment as a frame of its own.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter

import pandas as pd

TSHARK = shutil.which("tshark")
PREFS = ["-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE"]
PROTOCOLS = {"tcp": 6, "udp": 17, "sctp": 132}
_ROW = re.compile(r"^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+\S+ \S+\s+(\d+)\s+\S+ \S+\s+(\d+)\s")


def _endpoint(text: str) -> tuple[str, int]:
    addr, _, port = text.rpartition(":")
    return addr, int(port)


def _key(a: tuple[str, int], b: tuple[str, int]) -> tuple:
    return (a, b) if a <= b else (b, a)


def tshark_conversations(path: str) -> dict[str, dict[tuple, dict[str, int]]]:
    """{"tcp"|"udp": {(endpoint, endpoint): {"frames", "bytes", "frames_low_to_high"}}}."""
    cmd = [TSHARK, "-n", *PREFS, "-r", path, "-q"]
    for kind in PROTOCOLS:
        cmd += ["-z", f"conv,{kind}"]
    conv = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    result: dict[str, dict[tuple, dict[str, int]]] = {kind: {} for kind in PROTOCOLS}
    kind = None
    for line in conv.splitlines():
        if line.endswith(" Conversations"):
            kind = line.split()[0].lower()
            continue
        m = _ROW.match(line)
        if not m or kind not in result:
            continue
        a, b = _endpoint(m[1]), _endpoint(m[2])
        # tshark's "<-" column counts frames from B to A, "->" from A to B
        frames_ba, frames_ab, total = int(m[3]), int(m[4]), int(m[5])
        key = _key(a, b)
        result[kind][key] = {"frames": total, "bytes": 0,
                             "frames_low_to_high": frames_ab if key[0] == a else frames_ba}
    port_fields = [f"{k}.{d}port" for k in PROTOCOLS for d in ("src", "dst")]
    cmd = [TSHARK, "-n", *PREFS, "-r", path, "-T", "fields", "-E", "separator=|"]
    for f in ["frame.protocols", "frame.len", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
              *port_fields]:
        cmd += ["-e", f]
    fields = subprocess.run(cmd + ["-Y", " || ".join(PROTOCOLS)], capture_output=True,
                            text=True, check=False).stdout
    sums: dict[str, Counter] = {kind: Counter() for kind in PROTOCOLS}
    for line in fields.splitlines():
        parts = line.split("|")
        if len(parts) != 6 + len(port_fields) or not parts[1]:
            continue
        # the outermost transport layer is the conversation's; one quoted by an ICMP error
        # is not counted by conv (and the frame is not the conversation's)
        chain = parts[0].split(":")
        l4 = next((i for i, p in enumerate(chain) if p in PROTOCOLS), None)
        if l4 is None or {"icmp", "icmpv6"} & set(chain[:l4]):
            continue
        kind = chain[l4]
        # the network layer right under it ("ip" can also be a link type's name)
        family = next((p for p in reversed(chain[:l4]) if p in ("ip", "ipv6")), None)
        if family is None:
            continue
        src, dst = (parts[2], parts[3]) if family == "ip" else (parts[4], parts[5])
        k = 6 + 2 * list(PROTOCOLS).index(kind)
        sp, dp = parts[k], parts[k + 1]
        key = _key((src.split(",")[0], int(sp.split(",")[0])),
                   (dst.split(",")[0], int(dp.split(",")[0])))
        sums[kind][key] += int(parts[1])
    for kind, per_key in sums.items():
        for key, total in per_key.items():
            if key in result[kind]:
                result[kind][key]["bytes"] = total
    return result


def hashscope_conversations(flows: pd.DataFrame, kind: str) -> dict[tuple, dict[str, int]]:
    """The same counts from a hashscope flow table (both directions of each flow key summed)."""
    proto = PROTOCOLS[kind]
    sel = flows[(flows["proto"] == proto) & (flows["ip_version"] > 0)
                & ((flows["sport"] > 0) | (flows["dport"] > 0))]
    result: dict[tuple, dict[str, int]] = {}
    for row in sel.itertuples(index=False):
        a, b = (row.src, int(row.sport)), (row.dst, int(row.dport))
        key = _key(a, b)
        entry = result.setdefault(key, {"frames": 0, "bytes": 0, "frames_low_to_high": 0})
        entry["frames"] += row.packets
        entry["bytes"] += row.bytes
        if key[0] == a:
            entry["frames_low_to_high"] += row.packets
    return result


def tshark_fields(path: str, fields: list[str], display_filter: str | None = None,
                  occurrence: str = "f") -> list[list[str]]:
    """One row per frame of ``tshark -T fields`` (empty strings where a field is absent).

    ``occurrence``: "f" the first (outermost) value of a field, "l" the last (innermost).
    """
    cmd = [TSHARK, "-n", *PREFS, "-r", path, "-T", "fields", "-E", "separator=|",
           "-E", f"occurrence={occurrence}"]
    for f in fields:
        cmd += ["-e", f]
    if display_filter:
        cmd += ["-Y", display_filter]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    return [line.split("|") for line in out.splitlines()]


def epoch_ns(text: str) -> int:
    """tshark's frame.time_epoch ("1382197969.322823000") as integer nanoseconds."""
    sec, _, frac = text.partition(".")
    return int(sec) * 1_000_000_000 + int((frac + "000000000")[:9])
