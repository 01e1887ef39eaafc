"""Capture files to record batches: the first stage of the pipeline.

- ``inputs``: files, standard input, decompression, the read buffers.
- ``pcap``, ``pcapng``: the compiled record walkers of the two formats.
- ``records``: record batches, interfaces and the walkers' status codes.
- ``linktypes``: the link-layer types hashscope decodes.
- ``names``: the interface a file stands for; names given with the files.
- ``cooked``: Linux cooked headers: each frame's direction and, in a capture of "any",
  its interface (by its Linux index).
- ``reader``: :class:`~hashscope.capture.reader.CaptureReader`, driving the walkers over
  many files, with errors that name the file and the byte offset.
"""
