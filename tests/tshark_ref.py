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
PROTOCOLS = {"tcp": 6, "udp": 17}
_ROW = re.compile(r"^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+\S+ \S+\s+(\d+)\s+\S+ \S+\s+(\d+)\s")


def _endpoint(text: str) -> tuple[str, int]:
    addr, _, port = text.rpartition(":")
    return addr, int(port)


def _key(a: tuple[str, int], b: tuple[str, int]) -> tuple:
    return (a, b) if a <= b else (b, a)


def tshark_conversations(path: str, kind: str) -> dict[tuple, dict[str, int]]:
    """{(endpoint, endpoint): {"frames", "bytes", "frames_ab"}} as tshark counts them."""
    conv = subprocess.run([TSHARK, "-n", *PREFS, "-r", path, "-q", "-z", f"conv,{kind}"],
                          capture_output=True, text=True, check=False).stdout
    result: dict[tuple, dict[str, int]] = {}
    for line in conv.splitlines():
        m = _ROW.match(line)
        if not m:
            continue
        a, b = _endpoint(m[1]), _endpoint(m[2])
        # tshark's "<-" column counts frames from B to A, "->" from A to B
        frames_ba, frames_ab, total = int(m[3]), int(m[4]), int(m[5])
        key = _key(a, b)
        result[key] = {"frames": total, "bytes": 0,
                       "frames_low_to_high": frames_ab if key[0] == a else frames_ba}
    fields = subprocess.run(
        [TSHARK, "-n", *PREFS, "-r", path, "-T", "fields", "-E", "separator=|",
         "-e", "ip.src", "-e", "ipv6.src", "-e", "ip.dst", "-e", "ipv6.dst",
         "-e", f"{kind}.srcport", "-e", f"{kind}.dstport", "-e", "frame.len", "-Y", kind],
        capture_output=True, text=True, check=False).stdout
    sums: Counter = Counter()
    for line in fields.splitlines():
        parts = line.split("|")
        if len(parts) != 7 or not parts[4] or not parts[6]:
            continue
        ips = (parts[0] or parts[1]).split(",")
        ports = parts[4].split(",")
        if parts[0] and parts[1] or len(ips) != len(ports):
            continue  # an ICMP error quoting a header, or mixed families: not conv's frame
        # the outermost header first; tshark lists embedded ones (tunnels, samples) after it
        src, dst = ips[0], (parts[2] or parts[3]).split(",")[0]
        sport, dport = int(ports[0]), int(parts[5].split(",")[0])
        sums[_key((src, sport), (dst, dport))] += int(parts[6])
    for key, total in sums.items():
        if key in result:
            result[key]["bytes"] = total
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


def tshark_fields(path: str, fields: list[str], display_filter: str | None = None
                  ) -> list[list[str]]:
    """One row per frame of ``tshark -T fields`` (empty strings where a field is absent)."""
    cmd = [TSHARK, "-n", *PREFS, "-r", path, "-T", "fields", "-E", "separator=|",
           "-E", "occurrence=f"]
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
