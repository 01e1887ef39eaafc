"""Imported by each worker as it starts, a Dask preload (``dask worker --preload
hashscope.distributed.worker``): the tasks' modules are then loaded while the client
plans, not in the first task."""

from . import analysis, assign, flows, keys  # noqa: F401
