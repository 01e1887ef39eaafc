"""Record batches to the packet table (:data:`hashscope.columns.PACKET_DTYPE`), compiled.

- ``fields``: big-endian readers over the captured bytes.
- ``link``: Ethernet, VLAN tags, MPLS, Linux cooked, loopback headers.
- ``ip``: IPv4, IPv6 and its extension headers, the transport fields.
- ``packets``: one frame decoded through the layers, and a batch on all cores.
"""
