"""FreeBSD lagg(4) transmit port selection per laggproto, over arrays of packets.

Port indices are positions in a port table given by the caller:

* loadbalance (and its alias fec, up to 10.x), roundrobin, failover, broadcast: the
  ``sc_ports`` list order, the order ``ifconfig lagg0`` prints the laggport lines in
  (ascending if_index from about 10.4/11.x; newest-added first before);
* lacp: the ``pm_map`` order of the distributing ports of the active aggregator (not shown
  by ifconfig; see the research note, lacp section).

``up_mask`` marks the ports that are LAGG_PORTACTIVE (link up and IFF_UP; for lacp:
distributing). Functions reproduce sys/net/if_lagg.c and sys/net/ieee8023ad_lacp.c of
FreeBSD 8.0 to 15/main as noted per function; -1 means the frame is not sent (dropped).

The hash comes from :func:`hashscope.hashes.freebsd.mbufhash.lagg_hash` or, when
``use_flowid`` is on and the mbuf carries a hash type, from :func:`lagg_flowid_hash` of a
flowid known by other means (it cannot be recomputed from a capture).
"""

from __future__ import annotations

import numpy as np

from hashscope.hashes.words import M32

PROTOS = ("loadbalance", "lacp", "fec")


def _up(n_ports: int, up_mask) -> np.ndarray:
    if n_ports < 1:
        raise ValueError(f"n_ports must be at least 1, not {n_ports}")
    if up_mask is None:
        return np.ones(n_ports, dtype=bool)
    up = np.asarray(up_mask, dtype=bool)
    if up.shape != (n_ports,):
        raise ValueError(f"up_mask must have {n_ports} entries, not {up.shape}")
    return up


def lagg_link_active(index: np.ndarray, n_ports: int, up_mask=None) -> np.ndarray:
    """lagg_link_active (sys/net/if_lagg.c, 7.0 - main), per packet.

    The port itself if active, else its successor in list order (no wrap-around) if
    active, else the first active port, else -1. A negative index (no port) gives the
    first active port; -1 stays -1 only when no port is active.
    """
    up = _up(n_ports, up_mask)
    idx = np.asarray(index, dtype=np.int64)
    first = int(np.argmax(up)) if up.any() else -1
    here = (idx >= 0) & up[np.clip(idx, 0, n_ports - 1)]
    nxt = idx + 1
    after = (idx >= 0) & (nxt < n_ports) & up[np.clip(nxt, 0, n_ports - 1)]
    return np.where(here, idx, np.where(after, nxt, first)).astype(np.int64)


def lagg_flowid_hash(flowid: np.ndarray, flowid_shift: int = 16) -> np.ndarray:
    """The use_flowid path of lagg_lb_start / lacp_select_tx_port: ``flowid >> shift``.

    flowid_shift is 16 by default from 10.1 (``ifconfig lagg0 flowid_shift N``); 8.x/9.x
    use the flowid unshifted (shift 0).
    """
    return (np.asarray(flowid, dtype=np.uint32) >> np.uint32(flowid_shift)).astype(np.uint32)


def lagg_port_index(hash_: np.ndarray, valid: np.ndarray, n_ports: int, up_mask=None,
                    proto: str = "lacp") -> np.ndarray:
    """The port each hashed packet leaves on (int64, -1 = not sent or hash not valid).

    ``proto="loadbalance"`` (or ``"fec"``): lagg_lb_start (if_lagg.c, 8.0 - main):
    ``lagg_link_active(lb_ports[hash % sc_count])``; ``n_ports`` is sc_count, which
    counts ports that are down too, and their share moves to the next active port.

    ``proto="lacp"``: lacp_select_tx_port (ieee8023ad_lacp.c, 8.0 - main, without the
    13+ per-NUMA-domain map): ``pm_map[hash % pm_count]``. The ports are given in pm_map
    order; ``up_mask`` marks the distributing ones (pm_map is those, in that order). No
    distributing port: -1. The transit suppression after an aggregator change (up to 3 s
    of drops) is not modelled.
    """
    if proto not in PROTOS:
        raise ValueError(f"proto must be one of {PROTOS}, not {proto!r}")
    up = _up(n_ports, up_mask)
    h = np.asarray(hash_, dtype=np.uint32)
    ok = np.asarray(valid, dtype=bool)
    if proto == "lacp":
        pm_map = np.flatnonzero(up)
        if len(pm_map) == 0:
            return np.full(len(h), -1, dtype=np.int64)
        idx = pm_map[h % np.uint32(len(pm_map))].astype(np.int64)
    else:
        idx = lagg_link_active((h % np.uint32(n_ports)).astype(np.int64), n_ports, up)
    idx[~ok] = -1
    return idx


def failover_port_index(n_packets: int, n_ports: int, primary: int = 0,
                        up_mask=None) -> np.ndarray:
    """lagg_fail_start (if_lagg.c, 7.0 - main): every frame on lagg_link_active(primary).

    ``primary`` (sc_primary, ifconfig's MASTER port) is the first port added to the
    empty lagg, not necessarily index 0 of the sorted list.
    """
    if not 0 <= primary < n_ports:
        raise ValueError(f"primary must be a port index below {n_ports}, not {primary}")
    port = lagg_link_active(np.array([primary]), n_ports, up_mask)[0]
    return np.full(n_packets, port, dtype=np.int64)


def broadcast_ports(n_ports: int, up_mask=None) -> np.ndarray:
    """lagg_bcast_start (if_lagg.c, 11.0 - main): the ports that each get a copy of a frame.

    Every active port in list order (the original goes on the last one); empty if none.
    """
    return np.flatnonzero(_up(n_ports, up_mask)).astype(np.int64)


class RoundRobin:
    """lagg_rr_start (if_lagg.c), with its packet counter kept across batches.

    ``idx = (sc_seq++ / stride) % sc_count`` (uint32 counter from 0 when the protocol is
    attached), then lagg_link_active. ``rr_limit`` is the stride: 13+ ``sc_stride``;
    11.x/12.x ``sc_bkt`` gives each port rr_limit packets in a row, the same sequence when
    one CPU transmits; 8.x-10.x have stride 1. (7.x rotated a pointer over the active
    ports: the same sequence while all ports are up.) The counter counts every frame
    handed to the lagg, broadcasts and ARP included.
    """

    def __init__(self, n_ports: int, rr_limit: int = 1, seq: int = 0):
        if n_ports < 1 or rr_limit < 1:
            raise ValueError("n_ports and rr_limit must be at least 1")
        self.n_ports = n_ports
        self.stride = rr_limit
        self.seq = int(seq) & int(M32)  # sc_seq is a uint32

    def assign(self, n_packets: int, up_mask=None) -> np.ndarray:
        """The ports of the next ``n_packets`` frames (int64; -1 where no port is active)."""
        seq = (self.seq + np.arange(n_packets, dtype=np.uint64)) & M32
        self.seq = (self.seq + n_packets) & int(M32)
        idx = (seq // np.uint64(self.stride)) % np.uint64(self.n_ports)
        return lagg_link_active(idx.astype(np.int64), self.n_ports, up_mask)
