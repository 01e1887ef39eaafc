"""FreeBSD lagg(4): the software hash apart from the port choice.

- ``mbufhash``: m_ether_tcpip_hash (sys/kern/uipc_mbufhash.c) and 9.x/10.x lagg_hashmbuf.
- ``fast``: the same hash straight from the packet table's columns, for common frames.
- ``lagg``: the port choice per laggproto (sys/net/if_lagg.c).
- ``policies``: the policy table entries of FreeBSD lagg.
"""
