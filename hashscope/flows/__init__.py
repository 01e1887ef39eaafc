"""Packets to the flow table: one row per flow key, with packets, bytes and times.

- ``table``: the compiled flow key and the flow table it folds packets into.
- ``addresses``: addresses and MACs as text, vectorized.
- ``read``: captures to a flow table in three pipelined stages, a file at a time into a
  ``FlowSummary`` each, merged (``merge_summaries``: associative, so a cluster can merge
  them as a tree).
"""
