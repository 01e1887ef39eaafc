"""Many capture files on a Dask cluster: one task per file, the summaries merged as a tree
on the workers (:mod:`hashscope.distributed.flows`).

Dask is an optional extra (``pip install 'hashscope[dask]'``), imported only here, and only
when a cluster is asked for.
"""
