"""Linux bonding (drivers/net/bonding): the transmit hash apart from the member choice.

- ``xmit_hash``: bond_xmit_hash and its parts, over rebuilt frames.
- ``fast``: the same hash straight from the packet table's columns, for common frames.
- ``eras``: kernel versions as data (which hash, which member pick).
- ``modes``: the member choice per bonding mode (bond_3ad_xor_xmit, balance-rr, ...).
- ``policies``: the policy table entries of Linux bonding.
"""
