"""Packets and policies to per-member load: what each member carries, and how even.

- ``analyze``: one pass over the captures, every policy over the frames the bond sent.
- ``signatures``: frames folded by header signature; ``records``: frames keyed straight
  from the captured bytes.
- ``loads``: per-member packets and bytes, and the members of every flow.
- ``direction``: which frames the bonded host sent (``--local``).
- ``imbalance``: max/mean, CV, Jain's index, best aggregate throughput.
"""
