"""One console and one writer: the terminal, pipes and -o files show capture text alike."""

from __future__ import annotations

import struct

from frames import ether_frame, ipv4_packet, pcapng_block, pcapng_option
from helpers import run_main

#: an interface name that rich would read as markup if any output path let it
NAME = "[bold]eth0[/bold] [x] [/]"


def bracket_capture(tmp_path):
    frame = ether_frame("02:00:00:00:00:02", "02:00:00:00:00:01", ipv4_packet(
        17, "192.0.2.1", "192.0.2.2", struct.pack(">HHHH", 5000, 53, 8, 0)))
    path = tmp_path / "brackets.pcapng"
    path.write_bytes(
        pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
        + b"".join(pcapng_block(1, struct.pack("<HHI", 1, 0, 0) + pcapng_option(2, name))
                   for name in (NAME.encode(), b"eth1"))
        + b"".join(pcapng_block(6, struct.pack("<IIIII", i, 0, 1, len(frame), len(frame))
                                + frame) for i in (0, 1)))
    return path


def test_capture_text_with_brackets_prints_the_same_to_stdout_and_to_a_file(
        tmp_path, monkeypatch, capsys):
    cap = bracket_capture(tmp_path)
    code, shown, err = run_main(monkeypatch, capsys, "flows", cap)
    assert code == 0, err
    out = tmp_path / "flows.txt"
    code, nothing, err = run_main(monkeypatch, capsys, "flows", cap, "-o", out)
    assert code == 0 and nothing == "", err
    assert NAME in shown
    assert out.read_text() == shown


def test_capture_text_with_brackets_in_the_bond_commands(tmp_path, monkeypatch, capsys):
    cap = bracket_capture(tmp_path)
    code, shown, err = run_main(monkeypatch, capsys, "analyze", cap, "--top", "1")
    assert code == 0 and f"│ {NAME} │" in shown, err  # the observed table: one per interface
    code, text, err = run_main(monkeypatch, capsys, "flows", cap, "--format", "csv")
    assert code == 0 and f",\"{NAME},eth1\"\n" in text, err
