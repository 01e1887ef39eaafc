"""Many capture files on a Dask cluster (:mod:`.cluster`): one task per file, the
summaries merged as a tree on the workers; flows (:mod:`.flows`) and analyses
(:mod:`.analysis`) give what they give in process. And ``infer``'s FreeBSD lagg key
searches, their 2**32 keys scanned in pieces over the workers (:mod:`.keys`).

Dask is an optional extra (``pip install 'hashscope[dask]'``), imported only here, and only
when a cluster is asked for.
"""

from __future__ import annotations

from functools import partial


def flow_reader(cluster):
    """:func:`hashscope.read_flows` on ``cluster``."""
    from .flows import read_flows_dask

    return partial(read_flows_dask, cluster)


def packet_members(cluster):
    """``assign``'s members of every packet, the files hashed on ``cluster``
    (:func:`.assign.assign_dask`)."""
    from .assign import assign_dask

    return partial(assign_dask, cluster)


def analyzer(cluster):
    """:func:`hashscope.analysis.analyze.analyze` on ``cluster``."""
    from .analysis import analyze_dask

    return partial(analyze_dask, cluster)


def key_searcher(cluster):
    """``infer``'s ``key_search_run``: the FreeBSD key searches' scans on ``cluster``
    (:func:`.keys.dask_scan`)."""
    from .keys import dask_scan

    return dask_scan(cluster)
