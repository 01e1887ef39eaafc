#!/usr/bin/env bash
# Capture real traffic between two network namespaces on two veth links at once,
# as `tshark -i eth0 -i eth1` would on a host with two uplinks: a bulk TCP transfer
# (a "nightly backup"), four parallel TCP streams from consecutive client ports
# (like iperf3 -P 4), and chatter (UDP queries, ICMP echo, IPv6 TCP). Writes
# captures/two-links-backup.pcapng (snaplen 128: the headers are all hashscope needs;
# wire lengths are kept).
#
# Needs root, iproute2, ethtool and dumpcap (tshark's capture engine); installs
# ethtool and tshark with apt-get when missing. Takes about 20 seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-captures/two-links-backup.pcapng}
for tool in ethtool dumpcap; do
    if ! command -v $tool >/dev/null; then
        export DEBIAN_FRONTEND=noninteractive
        echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
        apt-get install -y -qq ethtool tshark >/dev/null
    fi
done

cleanup() { ip netns del hsA 2>/dev/null || true; ip netns del hsB 2>/dev/null || true; }
trap cleanup EXIT
cleanup
ip netns add hsA
ip netns add hsB
for i in 0 1; do
    ip link add eth$i netns hsA type veth peer name peer$i netns hsB
    ip -n hsA link set eth$i address 02:00:00:00:0a:0$i
    ip -n hsB link set peer$i address 02:00:00:00:0b:0$i
    ip -n hsA addr add 198.51.10$i.10/24 dev eth$i
    ip -n hsB addr add 198.51.10$i.20/24 dev peer$i
    ip -n hsA -6 addr add 2001:db8:$i::10/64 dev eth$i nodad
    ip -n hsB -6 addr add 2001:db8:$i::20/64 dev peer$i nodad
    ip -n hsA link set eth$i up
    ip -n hsB link set peer$i up
    # wire-sized frames in the capture, as on a physical NIC's wire
    ip netns exec hsA ethtool -K eth$i tso off gso off gro off >/dev/null 2>&1 || true
    ip netns exec hsB ethtool -K peer$i tso off gso off gro off >/dev/null 2>&1 || true
    # 100 Mbit/s links: the capture keeps up, and TCP paces itself as on a real uplink
    ip netns exec hsA tc qdisc add dev eth$i root tbf rate 100mbit burst 64kb latency 20ms
    ip netns exec hsB tc qdisc add dev peer$i root tbf rate 100mbit burst 64kb latency 20ms
done
ip -n hsA link set lo up
ip -n hsB link set lo up

ip netns exec hsA dumpcap -q -B 256 -s 128 -i eth0 -i eth1 -w "$out" &
cap=$!
sleep 2

ip netns exec hsB python3 - <<'PY' &
import socket, threading
def serve(family, addr, port):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(16)
    while True:
        c, _ = s.accept()
        threading.Thread(target=lambda c=c: [None for _ in iter(lambda: c.recv(1 << 16), b"")],
                         daemon=True).start()
for fam, addr, port in ((socket.AF_INET, "0.0.0.0", 873), (socket.AF_INET, "0.0.0.0", 5201),
                        (socket.AF_INET6, "::", 22)):
    threading.Thread(target=serve, args=(fam, addr, port), daemon=True).start()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 53))
while True:
    data, peer = u.recvfrom(2048); u.sendto(data[:12] + b"\x81\x80" + data[14:], peer)
PY
server=$!
sleep 1

ip netns exec hsA python3 - <<'PY'
import socket, struct, threading, time
def bulk(dst, port, nbytes, sport=0, family=socket.AF_INET):
    s = socket.socket(family, socket.SOCK_STREAM)
    if sport:
        s.bind(("0.0.0.0", sport))
    s.connect((dst, port))
    chunk = b"\0" * 65536
    sent = 0
    while sent < nbytes:
        s.sendall(chunk); sent += len(chunk)
    s.close()
def chatter():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(0.5)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    for i in range(40):
        u.sendto(struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0) + b"\x07example\x03com\x00\x00\x01\x00\x01",
                 ("198.51.101.20", 53))
        try:
            u.recvfrom(2048)
        except OSError:
            pass
        h = struct.pack("!BBHHH", 8, 0, 0, 0x4242, i) + b"hashscope" * 4
        s = sum(struct.unpack("!%dH" % (len(h) // 2), h)); s = (s >> 16) + (s & 0xFFFF); s += s >> 16
        raw.sendto(h[:2] + struct.pack("!H", ~s & 0xFFFF) + h[4:], ("198.51.100.20", 0))
        time.sleep(0.05)
jobs = [threading.Thread(target=bulk, args=("198.51.100.20", 873, 24 << 20))]  # the backup
jobs += [threading.Thread(target=bulk, args=("198.51.101.20", 5201, 4 << 20, 50000 + k))
         for k in range(4)]  # iperf3 -P 4 from consecutive client ports
jobs += [threading.Thread(target=bulk, args=("2001:db8:1::20", 22, 2 << 20, 0, socket.AF_INET6)),
         threading.Thread(target=chatter)]
for j in jobs: j.start()
for j in jobs: j.join()
PY
sleep 1
kill $server 2>/dev/null || true
kill -INT $cap
wait $cap || true
echo "wrote $out"
