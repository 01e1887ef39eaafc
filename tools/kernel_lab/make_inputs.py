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
}


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
        old = d / "scenario.json"
        if old.exists():
            keep = json.loads(old.read_text())
            keep.update(m)
            m = keep
        old.write_text(json.dumps(m, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
