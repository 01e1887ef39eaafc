"""The hash core: which member of a bond every frame takes, one folder per family.

- ``policy``: the vocabulary (Policy, Setup, Assignment, Assigner).
- ``registry``: every family's policies in one table, looked up by name.
- ``frames``: frames rebuilt from the packet table, and readers over them (Linux and
  FreeBSD both walk them).
- ``words``: byte swaps and 32-bit words as the kernels load them.
- ``linux/``: Linux bonding (bond_main.c's xmit hash, the flow dissector, the modes).
- ``freebsd/``: FreeBSD lagg (uipc_mbufhash.c's hash, if_lagg.c's port choice).
- ``ovs/``: Open vSwitch bonds (lib/hash.h, the flow hashes, ofproto/bond.c).
- ``switches/``: switch LAG models (Cisco, HP/Aruba, VMware) and a uniform baseline.
"""
