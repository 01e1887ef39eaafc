#!/usr/bin/env python3
"""The OVS lab: ground truth from a real Open vSwitch bond, as the kernel lab gives for
Linux bonding.

Runs Debian's Open vSwitch in userspace (ovsdb-server and ovs-vswitchd with their own
database and sockets under tools/ovs_lab/cache/, a netdev-datapath bridge: no kernel
module, no VM) inside network namespaces it makes and deletes itself. The bond's
members are veth pairs whose far ends are captured with dumpcap (only what arrives
from the bond); frames are injected on another port of the bridge with an AF_PACKET
socket, their timing kept.

    lab.py all                   every scenario (the one command)
    lab.py scenarios NAME...     these scenarios only
    lab.py list                  the scenarios and what each shows

Each scenario writes captures/ovs/NAME/: input.pcap (what was injected, from
inputs.py), one pcap per member (MEMBER.pcap), merged.pcapng (the members' frames
in time order, one interface each), bond_show_before.txt and bond_show_after.txt
(``ovs-appctl bond/show``), bond_hash.csv (``ovs-appctl bond/hash`` for every source
MAC and VLAN in the captures), rebalance_moves.txt (ovs-vswitchd's log lines of every
bucket bond_rebalance moved, stamped with the captures' clock), bond_log.txt (all of
its bond lines: members enabled and disabled, the active member), commands.json (the
timed commands and when they ran) and scenario.json, whose ``enabled_order`` (the
order the bond enabled its members: its round robin's) and ``events`` (members
disabled and enabled while the frames ran, to the millisecond) come from that log.

Standard library only. Needs root; installs openvswitch-switch (and tshark for
dumpcap) with apt-get when missing. No frame leaves the lab's namespaces.
"""
from __future__ import annotations

import argparse
import calendar
import json
import re
import shutil
import struct
import sys
import time
from datetime import datetime

from inputs import SNAP, build
from switch import HERE, Lab, ensure_packages, log

sys.path.insert(0, str(HERE.parent / "kernel_lab"))
from pcap_files import read_pcap, write_pcapng  # noqa: E402

ROOT = HERE.parent.parent
OUT = ROOT / "captures" / "ovs"

SCENARIOS = {
    "slb-short": dict(
        mode="balance-slb", members=["eth0", "eth1"], rebalance_ms=10_000,
        description="balance-slb over two members: 60 VMs (20 of them on VLAN 10) each "
                    "send 10 small UDP frames within 3 s; shorter than the rebalance "
                    "interval, so only first use places the buckets"),
    "slb-long": dict(
        mode="balance-slb", members=["eth0", "eth1", "eth2"], rebalance_ms=1000,
        events=[(6.0, "down", "eth1")],
        description="balance-slb over three members, bond-rebalance-interval 1000 ms, "
                    "12 s: an elephant (one TCP upload of full-size frames, 300 a second) "
                    "among 30 VMs' chatter and 5 TCP streams; eth1's link goes down at 6 s"),
    "active-backup": dict(
        mode="active-backup", members=["eth0", "eth1"], events=[(2.0, "down", "active")],
        description="active-backup over two members, 20 VMs for 4 s; the active member's "
                    "link goes down at 2 s (failover)"),
    "lacp-balance-tcp": dict(
        mode="balance-tcp", members=["eth0", "eth1", "eth2", "eth3"], lacp=True,
        rebalance_ms=10_000,
        description="balance-tcp with LACP (active, fast) negotiated with a second Open "
                    "vSwitch as the partner, userspace datapath: 512 TCP streams from 8 "
                    "VMs within 3 s (most buckets hold several)"),
}


def far(member: str) -> str:
    return f"{member}-far"


def run(name: str) -> dict:
    sc = SCENARIOS[name]
    final = OUT / name
    out = OUT / f".{name}.partial"  # the committed files stay until the run has finished
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    build(name, out / "input.pcap")
    members, lacp = sc["members"], sc.get("lacp", False)
    with Lab() as lab:
        sw = lab.ovs("sw", Lab.SW)
        lab.link("inj", "inj-far")
        for i, m in enumerate(members):
            lab.link(m, far(m), near_mac=f"02:00:00:0b:00:{i + 1:02x}",
                     far_mac=_far_mac(i))
        sw.bridge("br0")
        sw.vsctl("add-port", "br0", "inj")
        bond = ["add-bond", "br0", "bond0", *members, f"bond_mode={sc['mode']}"]
        if "rebalance_ms" in sc:
            bond.append(f"other_config:bond-rebalance-interval={sc['rebalance_ms']}")
        if lacp:
            bond += ["lacp=active", "other_config:lacp-time=fast"]
        sw.vsctl(*bond)
        if lacp:  # the partner: a second Open vSwitch on the far ends
            partner = lab.ovs("partner", Lab.FAR)
            partner.bridge("br1")
            partner.vsctl("add-bond", "br1", "bond1", *map(far, members),
                          "bond_mode=balance-slb", "lacp=active",
                          "other_config:lacp-time=fast")
        before = sw.wait_bond("bond0", len(members), lacp=lacp)
        # what the far end receives: not what it sends itself (a partner's LACPDUs);
        # libpcap's "inbound" filter loses frames here
        caps = [lab.popen(Lab.FAR, ["dumpcap", "-q", "-P", "-s", str(SNAP), "-i", far(m),
                                    "-f", f"not ether src {_far_mac(i)}",
                                    "-w", str(out / f"{m}.pcap")],
                          stderr=open(out / f".{m}.dumpcap.log", "w"))
                for i, m in enumerate(members)]
        time.sleep(2)
        inject = [sys.executable, str(HERE / "inject.py"), str(out / "input.pcap"),
                  "inj-far", "--log", str(out / "commands.json")]
        active = _active(before)
        for at, what, member in sc.get("events", []):
            target = active if member == "active" else member
            inject += ["--at", str(at), f"ip link set {far(target)} {what}"]
        log(f"{name}: injecting {final / 'input.pcap'}")
        lab.popen(Lab.FAR, inject).wait()
        time.sleep(2.5)  # the revalidators' stats and a last rebalance
        after = sw.appctl("bond/show", "bond0")
        for c in caps:
            c.send_signal(2)
            c.wait()
        version = sw.version()
        bond_log = [ln for ln in (sw.dir / "ovs-vswitchd.log").read_text().splitlines()
                    if "|bond|" in ln]
        moves = [ln for ln in bond_log if "bond bond0: shift" in ln]
        captured = {m: read_pcap(out / f"{m}.pcap") for m in members}
        macs = sorted({_mac_vlan(fr[2]) for m in members for fr in captured[m]}
                      | {_mac_vlan(fr[2]) for fr in read_pcap(out / "input.pcap")})
        hashes = ["mac,vlan,basis,hash"] + [
            f"{mac},{vlan},0,{sw.appctl('bond/hash', mac, str(vlan), '0').strip()}"
            for mac, vlan in macs]
    for log_file in out.glob(".*.dumpcap.log"):
        log_file.unlink()
    (out / "bond_show_before.txt").write_text(before)
    (out / "bond_show_after.txt").write_text(after)
    (out / "bond_hash.csv").write_text("\n".join(hashes) + "\n")
    (out / "rebalance_moves.txt").write_text("".join(ln + "\n" for ln in moves))
    (out / "bond_log.txt").write_text("".join(ln + "\n" for ln in bond_log))
    ran = json.loads((out / "commands.json").read_text())
    start = ran["first_frame_ns"]
    records = sorted(((i, s, us, data, orig) for i, m in enumerate(members)
                      for s, us, data, orig in captured[m]), key=lambda r: (r[1], r[2], r[0]))
    write_pcapng(out / "merged.pcapng", members, records)
    meta = {
        "bond_mode": sc["mode"], "members": members, "lacp": lacp,
        "rebalance_interval_ms": sc.get("rebalance_ms"), "hash_basis": 0,
        "datapath": "netdev (userspace)", "ovs": version,
        "description": sc["description"], "input": "input.pcap",
        "member_captures": {m: f"{m}.pcap" for m in members}, "merged": "merged.pcapng",
        "active_member_before": active,
        "enabled_order": [m for t, m, up in _log_links(bond_log) if up and t < start],
        "events": [{"ts_ns": t, "member": m, "set": "up" if up else "down"}
                   for t, m, up in _log_links(bond_log) if t >= start],
        "commands": ran["commands"],
        "packets": len(read_pcap(out / "input.pcap")),
        "packets_per_member": {m: len(captured[m]) for m in members},
        "source": "tools/ovs_lab/lab.py",
    }
    (out / "scenario.json").write_text(json.dumps(meta, indent=2) + "\n")
    log(f"{name}: {meta['packets']} frames in, per member {meta['packets_per_member']}")
    shutil.rmtree(final, ignore_errors=True)
    out.rename(final)
    return meta


def _log_links(lines: list[str]) -> list[tuple[int, str, bool]]:
    """(Unix ns, member, enabled) of ovs-vswitchd's "member X: enabled/disabled" lines:
    when the bond itself changed its members, to the millisecond."""
    out = []
    for ln in lines:
        m = re.match(r"^([^|]+)\|\d+\|bond\|INFO\|member (\S+): (enabled|disabled)$", ln)
        if m:
            when = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ")
            ts = calendar.timegm(when.timetuple()) * 10**9 + when.microsecond * 1000
            out.append((ts, m.group(2), m.group(3) == "enabled"))
    return out


def _far_mac(i: int) -> str:
    return f"02:00:00:0f:00:{i + 1:02x}"


def _active(show: str) -> str | None:
    m = re.search(r"active member mac: \S+\((\S+)\)", show)
    return m.group(1) if m else None


def _mac_vlan(fr: bytes) -> tuple[str, int]:
    vlan = struct.unpack("!H", fr[14:16])[0] & 0xFFF if fr[12:14] == b"\x81\x00" else 0
    return ":".join(f"{b:02x}" for b in fr[6:12]), vlan


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("all")
    s = sub.add_parser("scenarios")
    s.add_argument("names", nargs="+", choices=sorted(SCENARIOS))
    sub.add_parser("list")
    args = ap.parse_args()
    if args.cmd == "list":
        for n, sc in SCENARIOS.items():
            print(f"{n}: {sc['description']}")
        return
    ensure_packages()
    t0 = time.monotonic()
    for n in SCENARIOS if args.cmd == "all" else args.names:
        run(n)
    log(f"done in {time.monotonic() - t0:.0f} s")


if __name__ == "__main__":
    main()
