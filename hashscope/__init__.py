"""hashscope: which bond/LAG member every flow of a packet capture takes, and why.

Library API (the ``hashscope`` command is a thin layer over it; :mod:`hashscope.api`
lists every public name):

- :func:`read_flows` -- captures to a flow table (pandas), largest first.
- :func:`read_packets`, :func:`packet_tables` -- decoded per-packet header columns.
- :class:`CaptureReader` -- the record walker underneath, for custom pipelines.
- :func:`analyze`, :func:`compare`, :func:`assign` -- which member every frame takes under
  a policy (:func:`get_policy`, :func:`all_policies`) for a bond (:func:`make_setup`,
  :class:`Setup`, :func:`parse_links`), and the load each member gets.

The pipeline, one folder per stage: ``capture`` (files to records), ``decode`` (records to
the packet table), ``flows`` (the flow table), ``hashes`` (the policies, one folder per
family), ``analysis`` (per-member load), ``report`` (tables and files), ``cli`` (the
command). Imports go one way, down that list; ``tests/test_layers.py`` checks it.
"""

import os
from importlib.metadata import PackageNotFoundError, version

# The compiled loops run on OpenMP threads, and a read keeps a pipeline thread of its own
# busy too. OpenMP's default lets idle workers spin between parallel loops, on a core the
# pipeline needs: 4.2 s of CPU against 2.3 s for 6 million packets on 2 cores. Sleep
# instead (set before numba loads the OpenMP runtime; a caller's own setting wins).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from . import api
from .api import *  # noqa: F403 - the public API, listed in api.__all__
from .columns import PACKET_DTYPE
from .errors import CaptureError, CaptureWarning, HashscopeError, SetupError

__all__ = [*api.__all__, "PACKET_DTYPE", "CaptureError", "CaptureWarning", "HashscopeError",
           "SetupError"]
try:
    __version__ = version("hashscope")  #: as installed (pyproject.toml has it)
except PackageNotFoundError:  # imported from a checkout that was never installed
    __version__ = "unknown"
