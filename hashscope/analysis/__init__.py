"""Packets and policies to per-member load: what each member carries, and how even.

- ``analyze``: one pass over the captures, every policy over the frames the bond sent.
- ``direction``: which frames the bonded host sent (``--local``).
- ``imbalance``: max/mean, CV, Jain's index, best aggregate throughput.
"""
