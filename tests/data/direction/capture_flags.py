"""Capture one interface into a pcapng whose Enhanced Packet Blocks carry epb_flags.

dumpcap and tcpdump on Linux write no epb_flags (libpcap hands them no direction), so this
reads the interface through a Linux packet socket, which gives each frame's packet type
(PACKET_OUTGOING or one of the received kinds), and writes the frames with scapy's pcapng
writer, which stores the direction in epb_flags (bits 0-1: 1 inbound, 2 outbound). Runs
until SIGINT or SIGTERM.

    python3 capture_flags.py IFACE OUT.pcapng
"""

from __future__ import annotations

import select
import signal
import socket
import sys
import time

from scapy.layers.l2 import Ether
from scapy.utils import PcapNgWriter

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def main() -> None:
    iface, out = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    writer = PcapNgWriter(out)
    while not stop:
        try:
            ready, _, _ = select.select([s], [], [], 0.1)
        except InterruptedError:
            continue
        if not ready:
            continue
        data, addr = s.recvfrom(65535)
        pkt = Ether(data)
        pkt.time = time.time()
        pkt.sniffed_on = iface
        pkt.direction = 2 if addr[2] == PACKET_OUTGOING else 1  # 1 inbound, 2 outbound
        writer.write(pkt)
    writer.close()


if __name__ == "__main__":
    main()
