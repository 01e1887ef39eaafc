"""Results to what a user reads: terminal tables, CSV, JSON and Parquet.

- ``summary``: the numbers every output shows.
- ``files``: flow tables and per-packet assignments written to stdout or files.
"""
