"""Replay a pcap onto an interface with an AF_PACKET socket, keeping its timing, and run
timed commands on the way (a member's link going down halfway, say).

    inject.py IN.pcap IFACE [--at SECONDS COMMAND]... [--log FILE.json]

Runs inside the lab's far namespace. Each frame leaves when its capture timestamp,
counted from the first frame's, is reached; a frame captured shorter than it was on
the wire (the committed inputs keep 128 bytes) is padded with zeros to its original
length, so the switch counts the bytes the capture says. ``--log`` gets, as JSON, the
wall clock (Unix ns, the clock the captures are stamped with) of the first frame and,
per command, its offset and the wall clock when it started and when it returned.
Standard library only.
"""
from __future__ import annotations

import argparse
import json
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "kernel_lab"))
from pcap_files import read_pcap  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pcap")
    ap.add_argument("iface")
    ap.add_argument("--at", nargs=2, action="append", default=[], metavar=("SECONDS", "CMD"))
    ap.add_argument("--log")
    args = ap.parse_args()
    frames = read_pcap(args.pcap)
    events = sorted((float(t), cmd) for t, cmd in args.at)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((args.iface, 0))
    t0 = frames[0][0] + frames[0][1] / 1e6 if frames else 0.0
    start = time.monotonic()
    first_ns, done = time.time_ns(), []

    def run(at, cmd):
        _wait(start + at)
        began = time.time_ns()
        subprocess.run(shlex.split(cmd), check=True)
        done.append({"at_s": at, "command": cmd, "started_ns": began,
                     "returned_ns": time.time_ns()})

    for sec, usec, data, orig in frames:
        due = sec + usec / 1e6 - t0
        while events and events[0][0] <= due:
            run(*events.pop(0))
        _wait(start + due)
        s.send(data + b"\0" * (orig - len(data)))
    for at, cmd in events:
        run(at, cmd)
    if args.log:
        Path(args.log).write_text(json.dumps({"first_frame_ns": first_ns, "commands": done},
                                             indent=1) + "\n")


def _wait(when: float) -> None:
    while True:
        left = when - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.05) if left > 0.002 else 0)


if __name__ == "__main__":
    main()
