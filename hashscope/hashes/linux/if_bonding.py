"""The bonding numbers of include/uapi/linux/if_bonding.h, each defined once.

``xmit_hash_policy`` values (BOND_XMIT_POLICY_*) by the names sysfs and iproute2 use,
and the modes (BOND_MODE_*); 802.3ad is BOND_MODE_8023AD, which hashes as balance-xor.
"""

#: xmit_hash_policy names, numbered as the kernel numbers them (BOND_XMIT_POLICY_*).
POLICIES = {"layer2": 0, "layer3+4": 1, "layer2+3": 2, "encap2+3": 3, "encap3+4": 4,
            "vlan+srcmac": 5}
LAYER2, LAYER34, LAYER23, ENCAP23, ENCAP34, VLAN_SRCMAC = range(6)

#: bonding modes, named as /sys/class/net/bondX/bonding/mode spells them, numbered as
#: the kernel numbers them (BOND_MODE_*).
MODES = {"balance-rr": 0, "active-backup": 1, "balance-xor": 2, "broadcast": 3,
         "802.3ad": 4, "balance-tlb": 5, "balance-alb": 6}
