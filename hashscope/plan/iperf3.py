"""A finished ``iperf3 -J`` run as input: its streams, their throughput, their members.

iperf3's JSON names every stream's connection in ``start.connected[]`` (``socket``,
``local_host``, ``local_port``, ``remote_host``, ``remote_port``) and its result in
``end.streams[]`` (``sender`` and ``receiver`` for TCP, ``udp`` for UDP; matched by
``socket``). The data goes from the client (local) to the server, or back with ``-R``
(``start.test_start.reverse``): the frames hashed are the data's, from its sender.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hashscope.errors import HashscopeError
from hashscope.hashes.policy import Policy, Setup

from .frames import PROTOCOLS, Tuples
from .ports import DEFAULT_DST_MAC, DEFAULT_SRC_MAC, hash_frames


@dataclass(frozen=True)
class IperfStream:
    """One data stream of the run, in the data's direction (sender to receiver)."""

    socket: int
    src: str
    sport: int
    dst: str
    dport: int
    proto: str
    sender_bps: float | None
    receiver_bps: float | None
    bytes: int | None


@dataclass
class IperfRun:
    path: str
    protocol: str  #: tcp or udp
    reverse: bool  #: -R: the server sent
    streams: list[IperfStream]
    notes: list[str] = field(default_factory=list)


def _bad(path, what: str) -> HashscopeError:
    return HashscopeError(f"{path}: not the output of iperf3 -J: {what}")


def _results(d: dict) -> dict[int, dict]:
    out = {}
    for s in (d.get("end") or {}).get("streams") or []:
        if not isinstance(s, dict):
            continue
        part = s.get("udp") or s.get("sender") or s.get("receiver") or {}
        if isinstance(part, dict) and "socket" in part:
            out[int(part["socket"])] = s
    return out


def parse_iperf3(d: object, path: str = "iperf3.json") -> IperfRun:
    """The run in an iperf3 -J document (already parsed); HashscopeError if it is not one."""
    if not isinstance(d, dict):
        raise _bad(path, "the JSON is not an object")
    if d.get("error") and not (d.get("start") or {}).get("connected"):
        raise HashscopeError(f"{path}: iperf3 failed: {d['error']}")
    start = d.get("start")
    if not isinstance(start, dict) or not isinstance(start.get("connected"), list):
        raise _bad(path, "no start.connected list")
    test = start.get("test_start") or {}
    protocol = str(test.get("protocol", "TCP")).lower()
    if protocol not in PROTOCOLS:
        raise _bad(path, f"protocol {protocol!r} (TCP or UDP)")
    reverse = bool(test.get("reverse", 0))
    results = _results(d)
    streams = []
    for c in start["connected"]:
        try:
            sock, lh, lp = int(c["socket"]), str(c["local_host"]), int(c["local_port"])
            rh, rp = str(c["remote_host"]), int(c["remote_port"])
            ipaddress.ip_address(lh), ipaddress.ip_address(rh)
        except (KeyError, TypeError, ValueError) as exc:
            raise _bad(path, f"a start.connected entry without a valid {exc}") from None
        r = results.get(sock, {})
        snd = r.get("udp") or r.get("sender") or {}
        rcv = r.get("udp") if "udp" in r else r.get("receiver") or {}
        src, sport, dst, dport = (rh, rp, lh, lp) if reverse else (lh, lp, rh, rp)
        streams.append(IperfStream(sock, src, sport, dst, dport, protocol,
                                   snd.get("bits_per_second"), rcv.get("bits_per_second"),
                                   snd.get("bytes")))
    if not streams:
        raise _bad(path, "no streams in start.connected")
    run = IperfRun(path, protocol, reverse, streams)
    if d.get("error"):
        run.notes.append(f"iperf3 reported: {d['error']}")
    return run


def read_iperf3(path: str | Path) -> IperfRun:
    """The run in an iperf3 -J file; HashscopeError (one line) if it cannot be read."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise HashscopeError(f"{path}: cannot read: {getattr(exc, 'strerror', exc)}") from None
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HashscopeError(f"{path}: not JSON (line {exc.lineno} column {exc.colno}: "
                             f"{exc.msg}); give the output of iperf3 -J") from None
    return parse_iperf3(d, str(path))


def stream_members(run: IperfRun, policy: Policy, setup: Setup,
                   src_mac: int = DEFAULT_SRC_MAC, dst_mac: int = DEFAULT_DST_MAC
                   ) -> np.ndarray:
    """The member (0-based; -1 where none) of each stream's data frames under ``policy``."""
    s = run.streams
    ips = [ipaddress.ip_address(x.src) for x in s] + [ipaddress.ip_address(x.dst) for x in s]
    if len({a.version for a in ips}) > 1:
        raise HashscopeError(f"{run.path}: IPv4 and IPv6 streams mixed")
    v6 = ips[0].version == 6
    dt = object if v6 else np.uint64
    t = Tuples(np.array([int(ipaddress.ip_address(x.src)) for x in s], dt),
               np.array([int(ipaddress.ip_address(x.dst)) for x in s], dt),
               np.array([x.sport for x in s], np.uint64),
               np.array([x.dport for x in s], np.uint64), src_mac, dst_mac,
               PROTOCOLS[run.protocol], v6)
    return hash_frames(policy, setup, t, len(s))[1]
