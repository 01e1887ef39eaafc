"""Make the real counter snapshots and captures of tests/data/counters/ (run as root).

Two network namespaces joined by veth pairs: ``hs-host`` has eth0 and eth1 (the bond's
members; this kernel has no bonding module, so the script plays the bond: each UDP flow
goes out on the member hashscope's layer3+4 predicts for two members) and mgmt0 (not a
member); ``hs-peer`` has their peers. IPv6 is off in both, so nothing else talks. The
steps: a warm-up (10 frames, in the counters before any capture); tcpdump on eth0, eth1
and mgmt0; the "before" snapshots (ip -s -j link, ip -s -s -j link, ip -j -s link show
dev eth0, ip -s link, /proc/net/dev); the traffic; the "after" snapshots; stop tcpdump;
mergecap eth0.pcap and eth1.pcap into bond0.pcap. See README.md.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOST, PEER = "hs-host", "hs-peer"
SRC_MAC, DST_MAC = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
SRC_IP, DST_IP = "10.9.0.1", "10.9.0.2"


def sh(*args: str, check: bool = True) -> str:
    return subprocess.run(args, check=check, capture_output=True, text=True).stdout


def ns(name: str, *args: str) -> str:
    return sh("ip", "netns", "exec", name, *args)


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp_frame(src: str, dst: str, sport: int, dport: int, payload: int,
              smac: bytes = SRC_MAC, dmac: bytes = DST_MAC) -> bytes:
    udp_len = 8 + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0x4000, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + b"x" * payload
    return dmac + smac + b"\x08\x00" + ip + udp


def setup() -> None:
    for n in (HOST, PEER):
        subprocess.run(["ip", "netns", "del", n], capture_output=True)
        sh("ip", "netns", "add", n)
        ns(n, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        ns(n, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
    for mine, theirs in (("eth0", "peer0"), ("eth1", "peer1"), ("mgmt0", "peermgmt0")):
        ns(HOST, "ip", "link", "add", mine, "type", "veth", "peer", "name", theirs,
           "netns", PEER)
        ns(HOST, "ip", "link", "set", mine, "up")
        ns(PEER, "ip", "link", "set", theirs, "up")
    time.sleep(1)


def flows() -> list[tuple[int, int, int, int]]:
    """(sport, dport, packets, payload) per flow: 12 flows of different sizes."""
    return [(40000 + i, 5201 + i % 3, 5 + 7 * i, 100 + 97 * i) for i in range(12)]


def members(plan: list[tuple[int, int, int, int]]) -> list[int]:
    """Each flow's member under layer3+4 over two members, by hashscope itself."""
    sys.path.insert(0, str(HERE.parents[2]))
    from hashscope.api import assign, get_policy, make_setup

    with tempfile.NamedTemporaryFile(suffix=".pcap", delete=False) as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for sport, dport, _, size in plan:
            f = udp_frame(SRC_IP, DST_IP, sport, dport, size)
            fh.write(struct.pack("<IIII", 0, 0, len(f), len(f)) + f)
    out = []
    for _, a in assign([fh.name], get_policy("layer3+4"), make_setup(links="eth0,eth1")):
        out += a.link.tolist()
    os.unlink(fh.name)
    return out


def snapshot(tag: str) -> None:
    (HERE / f"ip-link-{tag}.json").write_text(ns(HOST, "ip", "-s", "-j", "link"))
    (HERE / f"ip-link-ss-{tag}.json").write_text(ns(HOST, "ip", "-s", "-s", "-j", "link"))
    (HERE / f"ip-link-{tag}.txt").write_text(ns(HOST, "ip", "-s", "link"))
    (HERE / f"proc-net-dev-{tag}.txt").write_text(ns(HOST, "cat", "/proc/net/dev"))
    (HERE / f"ip-link-eth0-{tag}.json").write_text(
        ns(HOST, "ip", "-j", "-s", "link", "show", "dev", "eth0"))


def send(plan, links, sides=((HOST, "host"), (PEER, "peer"))) -> None:
    """The bond's traffic out of hs-host, and a little back from hs-peer (received)."""
    code = f"""
import socket, sys, time
sys.path.insert(0, {str(HERE)!r})
from make_lab import udp_frame, DST_MAC, SRC_MAC, SRC_IP, DST_IP
plan, links, side = {plan!r}, {links!r}, sys.argv[1]
socks = {{}}
def out(ifname, frame):
    if ifname not in socks:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((ifname, 0))
        socks[ifname] = s
    socks[ifname].send(frame)
if side == "warm-up":  # before the captures: in both snapshots, in no capture
    for i in range(5):
        out("eth0", udp_frame(SRC_IP, DST_IP, 1, 1, 500))
        out("eth1", udp_frame(SRC_IP, DST_IP, 2, 2, 700))
elif side == "host":
    for (sport, dport, n, size), link in zip(plan, links):
        for _ in range(n):
            out("eth%d" % link, udp_frame(SRC_IP, DST_IP, sport, dport, size))
            time.sleep(0.001)
    for i in range(3):  # not a member: counted on mgmt0, ignored by hashscope
        out("mgmt0", udp_frame("10.8.0.1", "10.8.0.2", 22, 50000, 60))
else:  # replies: received on the members
    out("peer0", udp_frame(DST_IP, SRC_IP, 5201, 40000, 0, DST_MAC, SRC_MAC))  # 42 bytes
    for i in range(4):
        out("peer0", udp_frame(DST_IP, SRC_IP, 5201, 40000, 40 + i, DST_MAC, SRC_MAC))
    for i in range(6):
        out("peer1", udp_frame(DST_IP, SRC_IP, 5202, 40001, 200, DST_MAC, SRC_MAC))
"""
    for n, side in sides:
        subprocess.run(["ip", "netns", "exec", n, sys.executable, "-c", code, side],
                       check=True)


def main() -> None:
    plan = flows()
    links = members(plan)
    setup()
    send(plan, links, ((HOST, "warm-up"),))
    dumps = [subprocess.Popen(["ip", "netns", "exec", HOST, "tcpdump", "-n", "-U", "-s", "0",
                               "-i", i, "-w", str(HERE / f"{i}.pcap")],
                              stderr=subprocess.DEVNULL) for i in ("eth0", "eth1", "mgmt0")]
    time.sleep(2)
    snapshot("before")
    send(plan, links)
    time.sleep(1)
    snapshot("after")
    time.sleep(1)
    for d in dumps:
        d.terminate()
        d.wait()
    sh("mergecap", "-F", "pcap", "-w", str(HERE / "bond0.pcap"), str(HERE / "eth0.pcap"),
       str(HERE / "eth1.pcap"))
    for n in (HOST, PEER):
        sh("ip", "netns", "del", n)
    print("flows on eth0:", links.count(0), "on eth1:", links.count(1))


if __name__ == "__main__":
    main()
