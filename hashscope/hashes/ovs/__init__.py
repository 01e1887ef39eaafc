"""Open vSwitch bonds: the hashes apart from the bucket and member choice.

- ``hash``: lib/hash.h and jhash.
- ``flow``: the flow hashes of balance-tcp and balance-slb's MAC hash.
- ``bond``: ofproto/bond.c: buckets, first-use order, rebalancing.
- ``policies``: the policy table entries of OVS bonds.
"""
