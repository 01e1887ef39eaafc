#!/usr/bin/env bash
# Re-make the captures in this folder: live traffic between two network namespaces over two
# veth pairs, captured on the "any" device of one side. Run as root; needs ip (iproute2),
# ping, python3, dumpcap (Wireshark), tcpdump, and scapy for capture_flags.py (SCAPY_PYTHON:
# a python3 that has it, default python3). Live traffic differs from run to run (and
# the interface indices may): the tests compare hashscope with tshark's reading of the same
# files, frame by frame, and read the index -> name map recorded beside them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
A=hs-dir-a
B=hs-dir-b
cleanup() {
    ip netns del $A 2>/dev/null || true
    ip netns del $B 2>/dev/null || true
}
trap cleanup EXIT
cleanup
ip netns add $A
ip netns add $B
ip link add va0 netns $A type veth peer name vb0 netns $B
ip link add va1 netns $A type veth peer name vb1 netns $B
for ns in $A $B; do
    ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip netns exec $ns sysctl -qw net.ipv6.conf.default.disable_ipv6=1
    ip -n $ns link set lo up
done
ip -n $A link set va0 address 02:00:00:00:a0:00
ip -n $A link set va1 address 02:00:00:00:a1:00
ip -n $B link set vb0 address 02:00:00:00:b0:00
ip -n $B link set vb1 address 02:00:00:00:b1:00
ip -n $A addr add 10.77.1.1/24 brd + dev va0
ip -n $A addr add 10.77.2.1/24 brd + dev va1
ip -n $B addr add 10.77.1.2/24 brd + dev vb0
ip -n $B addr add 10.77.2.2/24 brd + dev vb1
for l in va0 va1; do ip -n $A link set $l up; done
for l in vb0 vb1; do ip -n $B link set $l up; done
ip netns exec $A sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=0
ip -n $A -o link | awk -F': ' '{split($2, n, "@"); print $1 "=" n[1]}' > any-ifindex.txt
rm -f any.pcapng any-tcpdump.pcap va0.pcapng va1-flags.pcapng
ip netns exec $A dumpcap -q -i any -y LINUX_SLL2 -w any.pcapng &
d1=$!
ip netns exec $A tcpdump -q -i any -y LINUX_SLL2 -w any-tcpdump.pcap 2>/dev/null &
d2=$!
ip netns exec $A dumpcap -q -i va0 -w va0.pcapng &
d3=$!
ip netns exec $A "${SCAPY_PYTHON:-python3}" capture_flags.py va1 va1-flags.pcapng &
d4=$!
sleep 2
# sent and received on both veths (ARP broadcasts first), loopback
ip netns exec $A ping -q -c 3 -i 0.2 10.77.1.2 >/dev/null
ip netns exec $A ping -q -c 3 -i 0.2 10.77.2.2 >/dev/null
ip netns exec $B ping -q -c 2 -i 0.2 10.77.2.1 >/dev/null
ip netns exec $A ping -q -c 2 -i 0.2 127.0.0.1 >/dev/null
# to another host's MAC: A receives it as PACKET_OTHERHOST
ip -n $B neigh replace 10.77.1.9 lladdr 02:00:00:00:00:99 dev vb0
ip netns exec $B ping -q -c 2 -i 0.2 -W 0.2 10.77.1.9 >/dev/null || true
# UDP: broadcast and multicast to A (PACKET_BROADCAST, PACKET_MULTICAST), unicast both ways
ip netns exec $B python3 - <<'PY'
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("10.77.2.2"))
for i in range(6):
    s.sendto(b"broadcast %d" % i, ("10.77.1.255", 7000))
    s.sendto(b"multicast %d" % i, ("239.1.2.3", 7001))
    s.sendto(b"unicast %d" % i, ("10.77.2.1", 7002))
PY
ip netns exec $A python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(120):
    s.sendto(b"x" * (100 + i), ("10.77.1.2" if i % 2 else "10.77.2.2", 7100 + i % 4))
PY
sleep 1
kill -INT $d1 $d2 $d3 $d4
wait $d1 $d2 $d3 $d4 || true
chmod 644 any.pcapng any-tcpdump.pcap va0.pcapng va1-flags.pcapng
chown "$(id -u):$(id -g)" any-tcpdump.pcap
