"""Writing flow tables (a terminal table, CSV, JSON or Parquet) and per-packet assignments."""

from __future__ import annotations

import binascii
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from hashscope.api import FlowResult
from hashscope.errors import HashscopeError
from hashscope.hashes.policy import Assignment
from hashscope.members import Members

PROTOCOL_NAMES = {1: "icmp", 2: "igmp", 4: "ipip", 6: "tcp", 17: "udp", 33: "dccp", 41: "ipv6",
                  47: "gre", 50: "esp", 51: "ah", 58: "icmpv6", 89: "ospf", 103: "pim",
                  112: "vrrp", 132: "sctp", 136: "udplite"}


def protocol_name(proto: int, ip_version: int) -> str:
    if not ip_version:
        return ""
    return PROTOCOL_NAMES.get(proto, str(proto))


def machine_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The flow table as written to CSV/JSON/Parquet: timestamps as ISO text for CSV/JSON."""
    out = df.copy()
    out["ethertype"] = out["ethertype"].map(lambda t: f"0x{t:04x}")
    return out


def write_flows(result: FlowResult, fmt: str, output: Path | None, top: int) -> None:
    df = result.flows
    if fmt == "table":
        _table(result, top, output)
        return
    try:
        if fmt == "parquet":
            machine_frame(df).to_parquet(output, index=False)
            return
        target = output if output is not None else sys.stdout
        frame = machine_frame(df)
        if fmt == "csv":
            frame.to_csv(target, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
        else:
            frame.to_json(target, orient="records", date_format="iso", date_unit="ns",
                          indent=1)
            if output is None:
                sys.stdout.write("\n")
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise HashscopeError(f"{output or 'stdout'}: cannot write: {exc.strerror or exc}") \
            from None


def _table(result: FlowResult, top: int, output: Path | None) -> None:
    df = result.flows
    shown = df if top <= 0 else df.head(top)
    total_bytes = int(df["bytes"].sum()) or 1
    table = Table(title=f"{len(df)} flows, {result.packets} packets"
                  + (f" (showing the {len(shown)} largest)" if len(shown) < len(df) else ""))
    for col, just in (("src", "left"), ("sport", "right"), ("dst", "left"), ("dport", "right"),
                      ("proto", "left"), ("vlan", "right"), ("packets", "right"),
                      ("bytes", "right"), ("share", "right"), ("interfaces", "left")):
        table.add_column(col, justify=just)
    for row in shown.itertuples(index=False):
        src = row.src or row.src_mac
        dst = row.dst or row.dst_mac
        proto = protocol_name(row.proto, row.ip_version) or (
            f"0x{row.ethertype:04x}" if row.ethertype else "802.3")
        has_ports = row.sport or row.dport
        table.add_row(src, str(row.sport) if has_ports else "", dst,
                      str(row.dport) if has_ports else "", proto,
                      "" if pd.isna(row.vlan) else str(row.vlan), f"{row.packets}",
                      f"{row.bytes}", f"{100 * row.bytes / total_bytes:.1f}%", row.interfaces)
    notes = []
    if result.undecoded:
        notes.append(f"{result.undecoded} packets had no decodable link-layer header and are "
                     "not in the table")
    if output is not None:
        with open(output, "w") as fh:
            Console(file=fh, width=160).print(table)
    else:
        wide = None if sys.stdout.isatty() else 160
        console = Console(markup=False, highlight=False, width=wide)
        console.print(table)
        for n in notes:
            console.print(n)


def link_labels(members: Members, names: bool) -> np.ndarray:
    """Text per link code + 3 (LINK_NOT_SENT, LINK_ALL, LINK_UNKNOWN, then members)."""
    label = members.names if names else [str(i) for i in range(members.count)]
    everywhere = ";".join(label[i] for i in members.usable)
    return np.array(["", everywhere, "", *label], dtype=object)


def write_assignments(batches: Iterable[tuple[np.ndarray, Assignment]], members: Members,
                      output: Path | None) -> int:
    """One CSV row per packet: packet, hash (hex), link (index), member (name); rows written.

    ``hash`` is empty where the policy defines none for the frame; ``link`` and ``member``
    are empty where the frame is not sent by the bond or its member cannot be predicted, and
    list every member that is up (``;``-separated) for a frame sent on all of them.
    """
    index_text, name_text = link_labels(members, False), link_labels(members, True)
    fh = open(output, "w", newline="") if output is not None else sys.stdout  # noqa: SIM115
    done = 0
    try:
        fh.write("packet,hash,link,member\n")
        for pk, a in batches:
            hexes = np.frombuffer(binascii.hexlify(a.hash.astype(">u4").tobytes()), dtype="S8")
            hexes = np.where(a.has_hash, hexes.astype(str), "")
            code = a.link + 3
            pd.DataFrame({"packet": np.arange(done, done + len(pk)), "hash": hexes,
                          "link": index_text[code], "member": name_text[code]}).to_csv(
                fh, header=False, index=False)
            done += len(pk)
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        raise HashscopeError(f"{output or 'stdout'}: cannot write: {exc.strerror or exc}") \
            from None
    finally:
        if output is not None:
            fh.close()
    return done
