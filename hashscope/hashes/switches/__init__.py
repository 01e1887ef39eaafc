"""Switch LAG models (approximate: vendors document fields, not hash functions).

- ``rows``: the compiled per-packet kernels.
- ``models``: Cisco EtherChannel, HP/Aruba trunks, VMware IP hash, a uniform baseline.
- ``policies``: the policy table entries of the switch models.
"""
