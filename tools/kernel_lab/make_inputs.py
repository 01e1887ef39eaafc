#!/usr/bin/env python3
# ruff: noqa: E501, E702, UP031  (the client programs below are kept compact)
"""Make the input captures of the kernel lab's scenarios (captures/scenarios/NAME/input.pcap).

Each input capture is what the bonded host transmits (only that direction, the
frames whose source MAC is the bond's), snaplen 128 (hashscope needs the
headers; wire lengths are kept and the lab pads frames back to them before
replaying). Next to it goes scenario.json with the bond to replay it through;
`lab.py scenarios` then replays it through the real kernel and adds the
per-slave captures and the rest.

Live scenarios are real traffic between network namespaces on this machine
(Linux TCP/UDP stacks, iperf3), captured with dumpcap on the sending host's
interface: root, iproute2, ethtool, tc, dumpcap (tshark's package) and iperf3;
the missing ones are installed with apt-get. Synthesized ones (SMB3
multichannel: no SMB server here) are built frame by frame below.

    make_inputs.py [NAME...]        (default: all)
"""
from __future__ import annotations

import json
import os
import random
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SCENARIOS = ROOT / "captures" / "scenarios"
SNAPLEN = 128

HOST_MAC = "52:54:00:3a:7c:01"      # the bonded host (its bond's MAC)
GW_MAC = "52:54:00:c0:ff:ee"        # its default gateway
BACKUP_MAC = "52:54:00:3a:7c:20"    # backup / iperf3 server on the same LAN
HOST_IP = "198.51.100.10"
GW_IP = "198.51.100.1"
BACKUP_IP = "198.51.100.20"


def log(*a):
    print("make_inputs:", *a, file=sys.stderr, flush=True)


def sh(cmd, check=True):
    return subprocess.run(cmd, shell=True, check=check)


def need(tool, pkg):
    if shutil.which(tool):
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if pkg == "tshark":
        subprocess.run("echo 'wireshark-common wireshark-common/install-setuid boolean false'"
                       " | debconf-set-selections", shell=True, check=False)
    log(f"apt-get install {pkg}")
    if subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", pkg],
                      env=env, stdout=subprocess.DEVNULL).returncode:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", pkg],
                       env=env, stdout=subprocess.DEVNULL, check=True)


# ------------------------------------------------------------------ live lab

NS = ("klhost", "klsw", "klgw", "klsrv")


class Lan:
    """klhost (the bonded host) -- klsw (a bridge) -- klgw (router), klsrv (LAN server).

    klgw answers for every address in 203.0.113.0/24 and 192.0.2.0/24 (local
    routes), so the host reaches "the Internet" through one gateway MAC.
    """

    def __init__(self, rate="100mbit"):
        self.rate = rate

    def __enter__(self):
        self.down()
        for n in NS:
            sh(f"ip netns add {n}")
            sh(f"ip -n {n} link set lo up")
            sh(f"ip netns exec {n} sysctl -qw net.ipv6.conf.all.disable_ipv6=1"
               " net.ipv6.conf.default.disable_ipv6=1")
        sh("ip -n klsw link add br0 type bridge && ip -n klsw link set br0 up")
        for n, dev, mac, addr in (("klhost", "bond0", HOST_MAC, HOST_IP),
                                  ("klgw", "eth0", GW_MAC, GW_IP),
                                  ("klsrv", "eth0", BACKUP_MAC, BACKUP_IP)):
            port = "p-" + n
            sh(f"ip link add {dev} netns {n} type veth peer name {port} netns klsw")
            sh(f"ip -n {n} link set {dev} address {mac}")
            sh(f"ip -n {n} addr add {addr}/24 dev {dev}")
            sh(f"ip -n {n} link set {dev} up")
            sh(f"ip -n klsw link set {port} master br0 up")
            sh(f"ip netns exec {n} ethtool -K {dev} tso off gso off gro off >/dev/null 2>&1",
               check=False)
            sh(f"ip netns exec {n} tc qdisc add dev {dev} root tbf rate {self.rate}"
               " burst 32kb latency 50ms")
        sh(f"ip -n klhost route add default via {GW_IP}")
        for net in ("203.0.113.0/24", "192.0.2.0/24"):
            sh(f"ip -n klgw route add local {net} dev lo")
        time.sleep(1)
        return self

    def __exit__(self, *exc):
        self.down()

    @staticmethod
    def down():
        for n in NS:
            subprocess.run(["ip", "netns", "del", n], stderr=subprocess.DEVNULL)

    def capture(self, out: Path):
        """dumpcap on the host's interface, only what it sends."""
        self.cap = subprocess.Popen(
            ["ip", "netns", "exec", "klhost", "dumpcap", "-q", "-P", "-s", str(SNAPLEN),
             "-B", "64", "-i", "bond0", "-f", f"ether src {HOST_MAC}", "-w", str(out)],
            stderr=subprocess.DEVNULL)
        time.sleep(2)

    def stop(self):
        time.sleep(1)
        self.cap.send_signal(2)
        self.cap.wait()


SERVERS = r'''
import socket, struct, sys, threading, time
def drain(c):
    try:
        while c.recv(1 << 16):
            pass
    except OSError:
        pass
def tcp(addr, port, echo=False):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(64)
    while True:
        c, _ = s.accept()
        if echo:
            def serve(c=c):
                try:
                    while True:
                        d = c.recv(4096)
                        if not d: break
                        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1200\r\n\r\n" + b"x" * 1200)
                except OSError: pass
                c.close()
            threading.Thread(target=serve, daemon=True).start()
        else:
            threading.Thread(target=drain, args=(c,), daemon=True).start()
def udp(port, reply):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", port))
    while True:
        d, peer = u.recvfrom(2048); u.sendto(reply(d), peer)
dns = lambda d: d[:2] + b"\x81\x80" + d[4:6] + b"\x00\x01\x00\x00\x00\x00" + d[12:] + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\xc6\x33\x64\x63"
ntp = lambda d: b"\x24\x02\x00\xe7" + d[4:24] + d[40:48] + d[40:48] * 2
ports = [int(p) for p in sys.argv[1].split(",")]
for p in ports:
    if p in (53, 123):
        threading.Thread(target=udp, args=(p, dns if p == 53 else ntp), daemon=True).start()
    else:
        threading.Thread(target=tcp, args=("0.0.0.0", p, p in (80, 443)), daemon=True).start()
while True:
    time.sleep(60)
'''


def servers(ns, ports):
    return subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", SERVERS,
                             ",".join(map(str, ports))])


def client(code):
    subprocess.run(["ip", "netns", "exec", "klhost", sys.executable, "-c", code], check=True)


BACKUP_CLIENT = r'''
import socket, struct, threading, time
def backup():
    time.sleep(0.8)
    s = socket.create_connection(("198.51.100.20", 873))
    s.sendall(b"@RSYNCD: 31.0\n")
    chunk = bytes(range(256)) * 256
    for _ in range(48):                 # 3 MiB: the night's increment
        s.sendall(chunk)
    s.close()
def chatter():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(0.5)
    ssh = socket.create_connection(("192.0.2.22", 22))
    ssh.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
    names = [b"\x06backup\x07example\x03org", b"\x03ntp\x07example\x03org", b"\x04mail\x07example\x03org"]
    for i in range(30):
        if i % 3 == 0:
            q = struct.pack("!HHHHHH", 0x4a00 + i, 0x0100, 1, 0, 0, 0) + names[i % 3] + b"\x00\x00\x01\x00\x01"
            for resolver in ("203.0.113.53", "203.0.113.54"):
                u.sendto(q, (resolver, 53))
                try: u.recvfrom(2048)
                except OSError: pass
        if i % 10 == 0:
            u.sendto(b"\x23" + b"\x00" * 39 + struct.pack("!II", int(time.time()) + 2208988800, 0),
                     ("192.0.2.123", 123))
            try: u.recvfrom(2048)
            except OSError: pass
        if i % 4 == 0:                  # ssh keepalive (SSH_MSG_IGNORE)
            ssh.sendall(struct.pack("!IB", 12, 6) + b"\x02\x00\x00\x00\x00" + b"\x00" * 6)
        time.sleep(0.1)
    ssh.close()
t = [threading.Thread(target=backup), threading.Thread(target=chatter)]
for j in t: j.start()
for j in t: j.join()
'''

ROUTER_CLIENT = r'''
import random, socket, struct, threading, time
rnd = random.Random(7)
dests = ["203.0.113.%d" % i for i in range(2, 250, 3)] + ["192.0.2.%d" % i for i in range(2, 250, 4)]
def web(dst, port):
    try:
        s = socket.create_connection((dst, port), timeout=3)
        for _ in range(rnd.randint(1, 3)):
            if port == 443:     # a TLS record's look
                s.sendall(b"\x17\x03\x03\x01\x00" + bytes(rnd.getrandbits(8) for _ in range(256)))
            else:
                s.sendall(b"GET /%d HTTP/1.1\r\nHost: %s\r\nUser-Agent: curl/7.88.1\r\n\r\n" % (rnd.randint(1, 9999), dst.encode()))
            s.recv(4096)
        s.close()
    except OSError:
        pass
threads = []
for k, dst in enumerate(dests):
    threads.append(threading.Thread(target=web, args=(dst, 443 if k % 3 else 80)))
for t in threads:
    t.start(); time.sleep(0.01)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for k in range(40):
    u.sendto(struct.pack("!HHHHHH", k, 0x0100, 1, 0, 0, 0) + b"\x03www\x07example\x03com\x00\x00\x01\x00\x01",
             (dests[rnd.randrange(len(dests))], 53))
for t in threads:
    t.join()
'''


def live_backup(out: Path):
    with Lan(rate="20mbit") as lan:
        a = servers("klsrv", [873])
        b = servers("klgw", [22, 53, 123])
        time.sleep(1)
        lan.capture(out)
        client(BACKUP_CLIENT)
        lan.stop()
        a.kill(); b.kill()


def live_iperf(out: Path):
    need("iperf3", "iperf3")
    with Lan(rate="100mbit") as lan:
        srv = subprocess.Popen(["ip", "netns", "exec", "klsrv", "iperf3", "-s", "-1"],
                               stdout=subprocess.DEVNULL)
        time.sleep(1)
        lan.capture(out)
        subprocess.run(["ip", "netns", "exec", "klhost", "iperf3", "-c", BACKUP_IP, "-P", "4",
                        "--cport", "50000", "-n", "4M"], check=True, stdout=subprocess.DEVNULL)
        lan.stop()
        srv.wait(timeout=10)


def live_router(out: Path):
    with Lan(rate="100mbit") as lan:
        g = servers("klgw", [53, 80, 443])
        time.sleep(1)
        lan.capture(out)
        client(ROUTER_CLIENT)
        lan.stop()
        g.kill()


PEER_MACS = ["52:54:00:4c:%02x:%02x" % (i, (i * 37 + 11) & 0xFF) for i in range(64)]


def lan_peers(n):
    """n more hosts on the LAN, each with its own MAC and address (198.51.100.100+i): macvlans
    on klsrv's interface, answering ARP only for their own address."""
    sh("ip netns exec klsrv sysctl -qw net.ipv4.conf.all.arp_ignore=1"
       " net.ipv4.conf.all.arp_announce=2")
    for i in range(n):
        sh(f"ip -n klsrv link add mv{i} link eth0 type macvlan mode bridge")
        sh(f"ip -n klsrv link set mv{i} address {PEER_MACS[i]}")
        sh(f"ip -n klsrv addr add 198.51.100.{100 + i}/32 dev mv{i}")
        sh(f"ip -n klsrv link set mv{i} up")
    time.sleep(0.5)


OFFICE_CLIENT = r"""
import random, socket, struct, sys, threading, time
rnd = random.Random(int(sys.argv[1])); npeers = int(sys.argv[2]); nnet = int(sys.argv[3])
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); icmp.settimeout(0.3)
def ping(dst, seq):
    m = struct.pack("!BBHHH", 8, 0, 0, 0x1c00 + seq, seq) + bytes(rnd.getrandbits(8) for _ in range(32))
    icmp.sendto(m[:2] + struct.pack("!H", csum(m)) + m[4:], (dst, 0))
    try: icmp.recvfrom(2048)
    except OSError: pass
def web(dst, port, n):
    try:
        s = socket.create_connection((dst, port), timeout=3)
        for _ in range(n):
            s.sendall(b"GET /%d HTTP/1.1\r\nHost: %s\r\n\r\n" % (rnd.randint(1, 9999), dst.encode()))
            s.recv(4096)
        s.close()
    except OSError:
        pass
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(0.3)
def dns(dst, k):
    u.sendto(struct.pack("!HHHHHH", k, 0x0100, 1, 0, 0, 0) + b"\x04host\x03lan\x00\x00\x01\x00\x01", (dst, 53))
    try: u.recvfrom(2048)
    except OSError: pass
# multicast: joining groups makes the kernel send IGMP reports; a few datagrams to each group
mc = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
mc.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 4)
groups = ["239.1.%d.%d" % (rnd.randint(0, 3), rnd.randint(1, 250)) for _ in range(3)]
for g in groups:
    mc.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(g) + socket.inet_aton("198.51.100.10"))
peers = ["198.51.100.%d" % (100 + i) for i in range(npeers)]
nets = ["203.0.113.%d" % rnd.randint(2, 250) for _ in range(nnet // 2)] + ["192.0.2.%d" % rnd.randint(2, 250) for _ in range(nnet - nnet // 2)]
threads = []
for k, p in enumerate(peers):
    ping(p, k)
    t = threading.Thread(target=web, args=(p, 80, rnd.randint(1, 2))); t.start(); threads.append(t)
    if k % 3 == 0: dns(p, k)
    if k % 5 == 0: mc.sendto(b"hello %d" % k, (groups[k % 3], 5000 + k))
    time.sleep(0.02)
for k, d in enumerate(nets):
    t = threading.Thread(target=web, args=(d, 443 if k % 2 else 80, 1)); t.start(); threads.append(t)
    if k % 4 == 0: dns("203.0.113.53", 1000 + k)
    if k % 6 == 0: ping(d, 500 + k)
    time.sleep(0.02)
for t in threads: t.join()
for g in groups:
    mc.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, socket.inet_aton(g) + socket.inet_aton("198.51.100.10"))
time.sleep(0.5)
"""


def live_office(out: Path, seed=1, npeers=40, nnet=24):
    """The host talks to npeers LAN hosts directly (ARP, ping, HTTP, DNS) and to nnet Internet
    addresses through the gateway, joins and leaves three multicast groups (IGMP) and sends a
    few datagrams to them."""
    with Lan(rate="100mbit") as lan:
        lan_peers(npeers)
        a = servers("klsrv", [53, 80])
        b = servers("klgw", [53, 80, 443])
        time.sleep(1)
        lan.capture(out)
        subprocess.run(["ip", "netns", "exec", "klhost", sys.executable, "-c", OFFICE_CLIENT,
                        str(seed), str(npeers), str(nnet)], check=True)
        lan.stop()
        a.kill(); b.kill()


# the VMs' MACs: chosen so that vlan+srcmac (VLAN id ^ the MAC's first and last three bytes,
# modulo 3) puts two VMs on each of the three slaves
VM_MACS = ["52:54:00:a1:10:07", "52:54:00:a1:11:3c", "52:54:00:a1:12:73",
           "52:54:00:a1:13:a6", "52:54:00:a1:14:db", "52:54:00:a1:15:11"]
VM_VLANS = [10, 20, 30, 10, 20, 30]

VM_CLIENT = r"""
import random, socket, struct, sys, threading, time
rnd = random.Random(int(sys.argv[1]))
def web(dst, port, n):
    try:
        s = socket.create_connection((dst, port), timeout=3)
        for _ in range(n):
            s.sendall(b"GET /%d HTTP/1.1\r\nHost: %s\r\n\r\n" % (rnd.randint(1, 9999), dst.encode()))
            s.recv(4096)
        s.close()
    except OSError:
        pass
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(0.3)
threads = []
dests = ["198.51.100.20"] + ["203.0.113.%d" % rnd.randint(2, 250) for _ in range(11)]
for k, d in enumerate(dests):
    t = threading.Thread(target=web, args=(d, 80 if k % 2 else 443, rnd.randint(1, 3))); t.start(); threads.append(t)
    u.sendto(struct.pack("!HHHHHH", k, 0x0100, 1, 0, 0, 0) + b"\x02vm\x03lan\x00\x00\x01\x00\x01", ("203.0.113.53", 53))
    try: u.recvfrom(2048)
    except OSError: pass
    time.sleep(0.03)
for t in threads: t.join()
"""


def live_vms(out: Path):
    """Six VMs (network namespaces klvm0..5, each its own MAC and address 198.51.100.31+i)
    on a bridge in the host whose uplink is the host's bonded interface; each VM talks to
    the LAN server and through the gateway. Captured on the uplink: the frames the bond
    would send (the VMs' own source MACs)."""
    vms = [f"klvm{i}" for i in range(len(VM_MACS))]
    try:
        with Lan(rate="100mbit") as lan:
            sh("ip -n klhost addr flush dev bond0")
            sh("ip -n klhost link add brvm type bridge && ip -n klhost link set bond0 master brvm"
               " && ip -n klhost link set brvm up")
            for i, (vm, m) in enumerate(zip(vms, VM_MACS, strict=True)):
                subprocess.run(["ip", "netns", "del", vm], stderr=subprocess.DEVNULL)
                sh(f"ip netns add {vm} && ip -n {vm} link set lo up")
                sh(f"ip netns exec {vm} sysctl -qw net.ipv6.conf.all.disable_ipv6=1"
                   " net.ipv6.conf.default.disable_ipv6=1")
                sh(f"ip link add eth0 netns {vm} type veth peer name tap{i} netns klhost")
                sh(f"ip -n {vm} link set eth0 address {m}")
                sh(f"ip -n {vm} addr add 198.51.100.{31 + i}/24 dev eth0 && ip -n {vm} link set eth0 up")
                sh(f"ip netns exec {vm} ethtool -K eth0 tso off gso off gro off >/dev/null 2>&1",
                   check=False)
                sh(f"ip -n {vm} route add default via {GW_IP}")
                sh(f"ip -n klhost link set tap{i} master brvm up")
            time.sleep(2)
            a = servers("klsrv", [80, 443])
            b = servers("klgw", [53, 80, 443])
            time.sleep(1)
            srcs = " or ".join(f"ether src {m}" for m in VM_MACS)
            lan.cap = subprocess.Popen(
                ["ip", "netns", "exec", "klhost", "dumpcap", "-q", "-P", "-s", str(SNAPLEN),
                 "-B", "64", "-i", "bond0", "-f", srcs, "-w", str(out)], stderr=subprocess.DEVNULL)
            time.sleep(2)
            procs = [subprocess.Popen(["ip", "netns", "exec", vm, sys.executable, "-c", VM_CLIENT,
                                       str(i)]) for i, vm in enumerate(vms)]
            for p in procs:
                p.wait()
            lan.stop()
            a.kill(); b.kill()
    finally:
        for vm in vms:
            subprocess.run(["ip", "netns", "del", vm], stderr=subprocess.DEVNULL)


# ------------------------------------------------------------------ rewritten live captures

def read_frames(path: Path):
    d = path.read_bytes()
    assert d[:4] == b"\xd4\xc3\xb2\xa1" and struct.unpack("<I", d[20:24])[0] == 1, path
    off, out = 24, []
    while off + 16 <= len(d):
        s, us, cl, ol = struct.unpack("<IIII", d[off:off + 16])
        out.append((s, us, d[off + 16:off + 16 + cl], ol))
        off += 16 + cl
    return out


def write_frames(path: Path, frames):
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, 1))
        for s, us, d, ol in frames:
            d = d[:SNAPLEN]
            fh.write(struct.pack("<IIII", s, us, len(d), ol) + d)


def tag(frame: bytes, vid: int) -> bytes:
    return frame[:12] + struct.pack("!HH", 0x8100, vid) + frame[12:]


def live_tagged(make, vid_of):
    """A live capture made by make(path), each frame then given an 802.1Q tag:
    vid_of(frame) (the VLAN device or VLAN-aware bridge it would have been sent through)."""
    def build(out: Path):
        raw = out.with_suffix(".live.pcapng")
        make(raw)
        sh(f"editcap -F pcap {raw} {raw.with_suffix('.pcap')}")
        frames = read_frames(raw.with_suffix(".pcap"))
        raw.unlink(); raw.with_suffix(".pcap").unlink()
        write_frames(out, [(s, us, tag(d, vid_of(d)), ol + 4) for s, us, d, ol in frames])
    return build


TUNNEL_ENDS = ["192.0.2.201", "192.0.2.202", "203.0.113.203"]


def live_tunnels(out: Path):
    """A site router's uplink: live traffic (the office mix through the gateway), each IPv4
    packet to the Internet sent on through one of three tunnels to remote sites' routers,
    by its destination: IP-in-IP to the first, GRE to the second; those to the third stay
    plain. Outer header: the host's address to the tunnel end, DF, TTL 64, an IP id counter
    per tunnel; the inner packet as captured (snaplen 128 taken after wrapping)."""
    raw = out.with_suffix(".live.pcapng")
    live_office(raw, seed=5, npeers=8, nnet=90)
    sh(f"editcap -F pcap {raw} {raw.with_suffix('.pcap')}")
    frames = read_frames(raw.with_suffix(".pcap"))
    raw.unlink(); raw.with_suffix(".pcap").unlink()
    src = bytes(map(int, HOST_IP.split(".")))
    ipid = [0x3100, 0x6200, 0x9300]
    res = []
    for s, us, d, ol in frames:
        ip = d[14:]
        if d[12:14] != b"\x08\x00" or ip[16:18] == bytes([198, 51]) or ip[16] >= 224:
            res.append((s, us, d, ol))          # ARP, LAN and multicast: not tunnelled
            continue
        k = sum(ip[16:20]) % 3
        if k == 2:
            res.append((s, us, d, ol))
            continue
        inner_len = ol - 14
        gre = b"\x00\x00\x08\x00" if k == 1 else b""
        total = 20 + len(gre) + inner_len
        if 14 + total > 1514:
            res.append((s, us, d, ol))
            continue
        dst = bytes(map(int, TUNNEL_ENDS[k].split(".")))
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ipid[k], 0x4000, 64,
                          47 if k else 4, 0, src, dst)
        ipid[k] = (ipid[k] + 1) & 0xFFFF
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        res.append((s, us, d[:14] + hdr + gre + ip, 14 + total))
    write_frames(out, res)


# ------------------------------------------------------------------ synthesized

def mac(s):
    return bytes.fromhex(s.replace(":", ""))


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp_frame(src_mac, dst_mac, vid, sip, dip, sport, dport, seq, ack, flags, payload, ipid,
              opts=b""):
    s, d = bytes(map(int, sip.split("."))), bytes(map(int, dip.split(".")))
    thl = 20 + len(opts)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (thl // 4) << 4, flags, 2048, 0, 0) + opts
    c = csum(s + d + struct.pack("!BBH", 0, 6, len(tcp) + len(payload)) + tcp + payload)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), ipid, 0x4000, 128, 6,
                     0, s, d)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = dst_mac + src_mac + struct.pack("!HH", 0x8100, vid) + b"\x08\x00"
    return eth + ip + tcp + payload


def smb2(cmd, msg_id, session, tree, body):
    hdr = struct.pack("<4sHHIHHIIQIIQ16s", b"\xfeSMB", 64, 1, 0, cmd, 64, 0, 0, msg_id, 0xFEFF,
                      tree, session, b"\0" * 16)
    return hdr + body


def nbss(msg):
    return struct.pack("!I", len(msg)) + msg


def synth_smb3(out: Path):
    """A Windows client writes a 6 MiB file over SMB 3.1.1 multichannel: 4 TCP connections
    from one IP (one RSS-capable NIC) to the file server's port 445, on VLAN 20."""
    rnd = random.Random(445)
    cmac, smac = mac(HOST_MAC), mac("52:54:00:5e:44:5a")
    cip, sip, vid = "10.20.0.15", "10.20.0.45", 20
    mss = 1460
    t = 1_700_000_000.0
    frames = []
    conns = []
    session = 0x0000_1C00_0000_0045
    for k in range(4):
        sport = 50152 + 3 * k + rnd.randint(0, 2)
        conns.append({"sport": sport, "seq": rnd.getrandbits(32), "ack": rnd.getrandbits(32),
                      "ipid": rnd.getrandbits(16), "msg": 0})

    def send(c, flags, payload=b"", opts=b""):
        nonlocal t
        frames.append((t, tcp_frame(cmac, smac, vid, cip, sip, c["sport"], 445, c["seq"],
                                    0 if flags == 0x02 else c["ack"], flags, payload, c["ipid"], opts)))
        c["ipid"] = (c["ipid"] + 1) & 0xFFFF
        c["seq"] = (c["seq"] + len(payload) + (1 if flags & 0x03 else 0)) & 0xFFFFFFFF
        t += rnd.uniform(2e-6, 9e-6)

    def request(c, msg):
        data = nbss(msg)
        for i in range(0, len(data), mss):
            send(c, 0x18 if i + mss >= len(data) else 0x10, data[i:i + mss])
        c["msg"] += 1

    def response(c, size):       # the server answers: the client's stack ACKs it
        nonlocal t
        t += rnd.uniform(1e-4, 4e-4)
        c["ack"] = (c["ack"] + size) & 0xFFFFFFFF
        send(c, 0x10)

    for k, c in enumerate(conns):
        t += 0.002 if k else 0
        send(c, 0x02, opts=b"\x02\x04\x05\xb4\x01\x03\x03\x08\x01\x01\x04\x02")
        c["ack"] = (c["ack"] + 1) & 0xFFFFFFFF
        t += 3e-4
        send(c, 0x10)
        neg = struct.pack("<HHHHI16sIHH", 36, 4, 1, 0, 0x7F, bytes(rnd.getrandbits(8) for _ in range(16)),
                          0, 0, 0) + struct.pack("<HHHH", 0x0202, 0x0210, 0x0300, 0x0311)
        request(c, smb2(0, c["msg"], 0, 0, neg))
        response(c, 316)
        setup = struct.pack("<HBBIIHHQ", 25, 1 if k else 0, 1, 0, 0, 88, 301, 0) + b"\x60" + bytes(
            rnd.getrandbits(8) for _ in range(300))
        request(c, smb2(1, c["msg"], session if k else 0, 0, setup))
        response(c, 331)
        if k == 0:
            share = "\\\\fs01\\backup".encode("utf-16le")
            request(c, smb2(3, c["msg"], session, 0, struct.pack("<HHHH", 9, 0, 72, len(share)) + share))
            response(c, 80)
    # the write: 64 KiB WRITE requests dealt out over the channels in turn
    fid = bytes(rnd.getrandbits(8) for _ in range(16))
    for w in range(96):
        c = conns[w % 4]
        body = struct.pack("<HHIQ16sIIHHI", 49, 112, 65536, w * 65536, fid, 0, 0, 0, 0, 0)
        request(c, smb2(9, c["msg"], session, 1, body + b"\xa5" * 65536))
        if w % 4 == 3:
            for cc in conns:
                response(cc, 84)
    for c in conns:
        send(c, 0x11)
    with open(out, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, 1))
        for ts, fr in frames:
            sec, usec = int(ts), int(round((ts - int(ts)) * 1e6))
            cap = fr[:SNAPLEN]
            fh.write(struct.pack("<IIII", sec, usec, len(cap), len(fr)) + cap)


# ------------------------------------------------------------------ the scenarios

SCENARIO_LIST = {
    "nightly-backup": dict(
        make=live_backup, source="live",
        mode="balance-xor", xmit_hash_policy="layer3+4", slaves=["eno1", "eno2"], vlan="inband",
        description="Nightly backup: one 3 MiB TCP upload to an rsync daemon on the LAN "
                    "(198.51.100.20:873) plus small chatter through the gateway: DNS queries to two "
                    "resolvers, NTP, an idle ssh session's keepalives. Real traffic between network "
                    "namespaces (Linux TCP, 20 Mbit/s), as the bonded host sent it."),
    "iperf3-P4-lacp": dict(
        make=live_iperf, source="live",
        mode="802.3ad", xmit_hash_policy="layer3+4",
        slaves=["ens1f0", "ens1f1", "ens1f2", "ens1f3"], vlan="inband",
        description="iperf3 -c 198.51.100.20 -P 4 --cport 50000 -n 4M: four TCP streams from "
                    "consecutive client ports 50000-50003 (plus the control connection) to port "
                    "5201, over an 802.3ad bond of 4 links whose LACP partner (another bond) formed "
                    "a real aggregator. Real iperf3 3.12 traffic between network namespaces (about "
                    "2 MB of stream data in the capture; segments the capture missed show as "
                    "sequence gaps)."),
    "smb3-multichannel": dict(
        make=synth_smb3, source="synthesized",
        mode="balance-xor", xmit_hash_policy="layer3+4", slaves=["enp65s0f0", "enp65s0f1"],
        vlan="offload",
        description="SMB 3.1.1 multichannel write of a 6 MiB file: 4 TCP connections from one client "
                    "IP (10.20.0.15) to the file server's port 445 (10.20.0.45), sent through the "
                    "VLAN device bond0.20 (the tag is out of band in the bond; the captures show it "
                    "in the frame). Synthesized frame by frame (no SMB server here): TCP handshakes, "
                    "NEGOTIATE, SESSION_SETUP (binding on channels 2-4), TREE_CONNECT, 64 KiB WRITEs "
                    "dealt round-robin over the channels, the client's ACKs of the responses."),
    "behind-router": dict(
        make=live_router, source="live",
        mode="balance-xor", xmit_hash_policy="layer2+3", slaves=["eth0", "eth1", "eth2"],
        vlan="inband",
        description="Traffic behind a router: short HTTP/HTTPS connections and DNS to ~145 "
                    "addresses in 203.0.113.0/24 and 192.0.2.0/24, all through one default gateway, "
                    "so every frame has the same MAC pair. Replayed with layer2+3, which spreads "
                    "them by IP; layer2 would put every frame on one slave. Real traffic between "
                    "network namespaces."),
    # ---- the second set: more policies, member counts and orders, modes that do not hash,
    # VLAN offload, and tcpdump -i any captures
    "lan-l2-xor3": dict(
        make=lambda out: live_office(out, seed=11, npeers=48, nnet=20), source="live",
        mode="balance-xor", xmit_hash_policy="layer2", slaves=["eth2", "eth0", "eth1"],
        vlan="inband",
        description="An office host talking to 48 hosts on its LAN directly (each its own MAC: "
                    "ARP, ping, HTTP, DNS), to 20 Internet addresses through the gateway, and to "
                    "three multicast groups (IGMP joins and leaves, datagrams). balance-xor "
                    "layer2 over 3 slaves enslaved as eth2, eth0, eth1 (not in name order). Real "
                    "traffic between network namespaces."),
    "lan-l23-lacp3": dict(
        make=lambda out: live_office(out, seed=12, npeers=40, nnet=30), source="live",
        mode="802.3ad", xmit_hash_policy="layer2+3", slaves=["wan1", "lan0", "dmz2"],
        vlan="inband",
        description="The office mix (40 LAN hosts with their own MACs, 30 Internet addresses "
                    "via the gateway, IGMP and multicast) over an 802.3ad bond with layer2+3 and "
                    "3 slaves enslaved as wan1, lan0, dmz2 (not in name order), with a real "
                    "aggregator (an LACP partner bond). Real traffic between network "
                    "namespaces."),
    "tunnels-encap34-4": dict(
        make=live_tunnels, source="rewritten",
        mode="balance-xor", xmit_hash_policy="encap3+4",
        slaves=["enp3s0f0", "enp3s0f1", "enp3s0f2", "enp3s0f3"], vlan="inband",
        derived_from="a live capture (the office mix with 8 LAN hosts and 90 Internet "
                     "addresses) whose IPv4 packets to the Internet were wrapped by "
                     "make_inputs.live_tunnels: by destination, IP-in-IP to 192.0.2.201, GRE "
                     "(0x0800) to 192.0.2.202, or left plain",
        description="A site router's uplink carrying tunnels: Internet-bound packets inside "
                    "IP-in-IP to one remote router and GRE to another, the rest plain, plus LAN "
                    "traffic, ARP and IGMP. balance-xor encap3+4 over 4 slaves: the inner "
                    "addresses and ports spread the tunnelled packets (layer3+4 would see one "
                    "flow per tunnel)."),
    "vlan100-offload-any": dict(
        make=live_tagged(lambda out: live_office(out, seed=13, npeers=30, nnet=36),
                         lambda d: 100),
        source="rewritten", mode="balance-xor", xmit_hash_policy="layer3+4",
        slaves=["eth1", "eth2", "eth0"], vlan="offload", any_capture={},
        derived_from="a live capture (the office mix, 30 LAN hosts and 36 Internet addresses) "
                     "each of whose frames was given the 802.1Q tag of VLAN 100",
        description="The host's traffic on VLAN 100: sent through the VLAN device bond0.100 "
                    "on a balance-xor layer3+4 bond of 3 slaves enslaved as eth1, eth2, eth0. "
                    "The bond hashes the untagged frame (the tag is out of band); the slave "
                    "captures show the tag. any.pcap is tcpdump -i any in the guest (SLL2): "
                    "every frame on bond0.100, on bond0 and on its slave."),
    "vm-bridge-vlan-srcmac": dict(
        make=live_tagged(live_vms, lambda d: VM_VLANS[VM_MACS.index(
            ":".join("%02x" % b for b in d[6:12]))]),
        source="rewritten", mode="balance-xor", xmit_hash_policy="vlan+srcmac",
        slaves=["eno3", "eno1", "eno2"], vlan="offload", source_macs=VM_MACS,
        derived_from="a live capture of six VMs (network namespaces) bridged onto the host's "
                     "uplink, each frame then given the 802.1Q tag of its VM's VLAN (VMs 0-5: "
                     "VLANs 10, 20, 30, 10, 20, 30)",
        description="A hypervisor's bond carrying six VMs' traffic on three VLANs (10, 20, 30; "
                    "two VMs each, their own source MACs): balance-xor vlan+srcmac over 3 slaves "
                    "enslaved as eno3, eno1, eno2. Sent through bond0.10, bond0.20 and bond0.30 "
                    "(the tag out of band in the bond, as from a VLAN-aware bridge on it); the "
                    "slave captures show the tag. Each VM talks to the LAN server and through "
                    "the gateway."),
    "rr3-office": dict(
        make=lambda out: live_office(out, seed=14, npeers=44, nnet=20), source="live",
        mode="balance-rr", xmit_hash_policy=None, slaves=["eth1", "eth0", "eth2"],
        vlan="inband",
        description="The office mix (44 LAN hosts, 20 Internet addresses, IGMP and multicast) "
                    "over balance-rr with 3 slaves enslaved as eth1, eth0, eth2 "
                    "(packets_per_slave 1, one sending CPU): frames dealt out in turn, IGMP to "
                    "the active slave. No transmit hash. Real traffic between network "
                    "namespaces."),
    "active-backup-failover-any": dict(
        make=lambda out: live_office(out, seed=15, npeers=44, nnet=24), source="live",
        mode="active-backup", xmit_hash_policy=None, slaves=["eno2", "eno1"], vlan="inband",
        events=[{"before_frame": 200, "command": "ip link set eno2 down; sleep 1"},
                {"before_frame": 400, "command": "ip link set eno2 up; sleep 1"}],
        any_capture={},
        description="The office mix over active-backup with 2 slaves enslaved as eno2, eno1 (no "
                    "primary): eno2 is active; before frame 200 eno2's link goes down and the "
                    "bond fails over to eno1 (miimon 100 ms); before frame 400 eno2 comes back "
                    "up and the bond stays on eno1. any.pcap is tcpdump -i any in the guest "
                    "(SLL2): every frame on bond0 and on the active slave. Real traffic between "
                    "network namespaces."),
    "broadcast2-office": dict(
        make=lambda out: live_office(out, seed=16, npeers=44, nnet=20), source="live",
        mode="broadcast", xmit_hash_policy=None, slaves=["ens4", "ens3"], vlan="inband",
        description="The office mix over broadcast with 2 slaves enslaved as ens4, ens3: every "
                    "frame on both. No transmit hash. Real traffic between network namespaces."),
}

SECOND_SET = ("lan-l2-xor3", "lan-l23-lacp3", "tunnels-encap34-4", "vlan100-offload-any",
              "vm-bridge-vlan-srcmac", "rr3-office", "active-backup-failover-any",
              "broadcast2-office")


# what the lab writes for every scenario, said in scenario.json's "files" (second set on)
def files_text(spec):
    f = {"input.pcap": "what the bonded host sent (" + ("the frames of the source MACs in "
                       "source_macs" if spec.get("source_macs") else "only frames from "
                       "local_mac") + "; snaplen 128, wire lengths kept): the lab's input",
         "merged.pcapng": "the slaves' frames as one pcapng, one interface per slave named as "
                          "the slave, in the order the bond sent them"}
    for sl in spec["slaves"]:
        f[f"{sl}.pcap"] = f"the frames that left slave {sl}, in order, as a packet tap on it saw them"
    f["proc_net_bonding_bond0.txt"] = "/proc/net/bonding/bond0 after the replay"
    if spec["mode"] == "802.3ad":
        f["partner_po1.txt"] = "/proc/net/bonding/po1 of the LACP partner"
    if "any_capture" in spec:
        f["any.pcap"] = ("tcpdump -i any in the guest (LINKTYPE_LINUX_SLL2): every frame on "
                         "bond0" + (" and its VLAN device" if spec["vlan"] == "offload" else "")
                         + " and again on the slave(s) it left on; see any_capture")
    return f


def main(argv):
    names = argv or list(SCENARIO_LIST)
    for tool, pkg in (("dumpcap", "tshark"), ("ethtool", "ethtool"), ("tc", "iproute2")):
        need(tool, pkg)
    for name in names:
        spec = SCENARIO_LIST[name]
        d = SCENARIOS / name
        d.mkdir(parents=True, exist_ok=True)
        out = d / "input.pcap"
        log(f"{name}: making {out} ({spec['source']})")
        if out.exists():
            out.unlink()
        spec["make"](out)
        os.chmod(out, 0o644)
        m = {k: spec[k] for k in ("mode", "xmit_hash_policy", "slaves", "vlan", "description",
                                  "source")}
        m["local_mac"] = HOST_MAC
        for k in ("derived_from", "source_macs", "events", "any_capture"):
            if k in spec:
                m[k] = spec[k]
        if name in SECOND_SET:
            m["files"] = files_text(spec)
        old = d / "scenario.json"
        if old.exists():
            keep = json.loads(old.read_text())
            keep.update(m)
            m = keep
        old.write_text(json.dumps(m, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
