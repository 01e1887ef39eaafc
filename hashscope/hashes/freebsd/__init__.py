"""FreeBSD lagg(4): the software hash apart from the port choice.

- ``mbufhash``: m_ether_tcpip_hash (sys/kern/uipc_mbufhash.c) and 9.x/10.x lagg_hashmbuf.
- ``fast``: the same hash straight from the packet table's columns, for common frames.
- ``lagg``: the port choice per laggproto (sys/net/if_lagg.c).
- ``policies``: the policy table entries of FreeBSD lagg.
- ``hashbytes``: the byte string the hash feeds per packet (the hash without its key).
- ``keysearch``: the key (and member order) from which member each flow was seen on;
  ``keyscan`` its compiled search over all 2**32 keys, ``keydjb`` the 9.x/10.x
  hash32_buf algebra it uses.
"""
