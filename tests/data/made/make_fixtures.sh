#!/usr/bin/env bash
# Re-make the captures in this folder (needs tshark's tools: dumpcap, editcap, mergecap,
# and curl; run as root for the live capture). Live traffic differs from run to run:
# the tests check structure and agreement with tshark, not these exact packets.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$here/../tcpdump
cd "$here"
editcap -F nsecpcap "$src/of13_ericsson.pcapng" of13_nsec.pcap
mergecap -F pcapng -w mixed.pcapng "$src/resp_1_benchmark.pcap" of13_nsec.pcap
python3 -m http.server 8765 --bind 127.0.0.1 >/dev/null 2>&1 &
server=$!
sleep 1
dumpcap -q -i any -y LINUX_SLL2 -i lo -w live2.pcapng -a duration:4 &
cap=$!
sleep 1.5
for _ in 1 2 3; do curl -s http://127.0.0.1:8765/ >/dev/null; done
python3 - <<'PY'
import socket, struct
def cksum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s >> 16) + (s & 0xFFFF); s += s >> 16
    return ~s & 0xFFFF
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
for seq in range(2):
    h = struct.pack("!BBHHH", 8, 0, 0, 0x1234, seq) + b"ping" * 8
    raw.sendto(h[:2] + struct.pack("!H", cksum(h)) + h[4:], ("127.0.0.1", 0))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for _ in range(3):
    s6.sendto(b"x" * 100, ("::1", 9999))
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(2):
    s4.sendto(b"y" * 3000, ("127.0.0.1", 9998))
PY
wait $cap
kill $server
cat live2.pcapng "$src/dhcp-option-108.pcapng" > two-sections.pcapng
