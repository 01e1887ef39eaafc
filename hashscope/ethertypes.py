"""EtherType values that more than one stage reads (IEEE 802 numbers, as on the wire).

Linux spells them ``ETH_P_*`` (include/uapi/linux/if_ether.h), FreeBSD ``ETHERTYPE_*``
(sys/net/ethernet.h); hashscope uses the FreeBSD names throughout.
"""

ETHERTYPE_IP = 0x0800
ETHERTYPE_ARP = 0x0806
ETHERTYPE_VLAN = 0x8100  #: 802.1Q customer tag
ETHERTYPE_QINQ = 0x88A8  #: 802.1ad service tag
ETHERTYPE_IPV6 = 0x86DD
