"""The flow table: per-conversation counts equal tshark's; the `flows` command's formats."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
import pandas as pd
import pytest
from helpers import MADE, SHARED_TCPDUMP, TCPDUMP, needs_tshark, run_cli
from tshark_ref import PROTOCOLS, hashscope_conversations, tshark_conversations

from hashscope import CaptureError, CaptureReader, packet_tables, read_flows, read_packets
from hashscope.flows.table import FlowTable

CONV_CASES = [TCPDUMP / n for n in (
    "afs.pcap", "ssh.pcap", "of13_ericsson.pcapng", "resp_1_benchmark.pcap",
    "bgp-4byte-asn.pcap", "whois.pcap", "mptcp-v0.pcap",
    "LINKTYPE_RAW_ipv6.pcap", "tcp_rst_diag_payload.pcap", "bfd_source_port_49152.pcap",
    "isup.pcap")] + [MADE / "mixed.pcapng", MADE / "live2.pcapng",
                            MADE / "two-sections.pcapng"]

#: Where the full tcpdump corpus and tshark legitimately disagree, and why. hashscope
#: keys flows on the outermost headers, as a bond hashes them; tshark counts the
#: innermost conversation of tunnels, decrypts MACsec, and drops frames it finds malformed.
KNOWN_DIFFERENCES = {
    **{f"bigtcp-{a}-{t}-{b}.pcap": "BIG TCP: IP total length 0, tshark drops the frame"
       for a in ("ipv4", "ipv6") for t in ("geneve", "vxlan") for b in ("ipv4", "ipv6")},
    "bigtcp-ipv6.pcap": "BIG TCP jumbogram: tshark drops the frame",
    **{f"gso-{a}-{t}-{b}.pcap": "UDP tunnel: tshark counts the inner TCP conversation"
       for a in ("ipv4", "ipv6") for t in ("geneve", "vxlan") for b in ("ipv4", "ipv6")},
    "geneve.pcap": "Geneve: tshark counts the inner conversations",
    "geneve-gcp.pcap": "Geneve: tshark counts the inner conversations",
    "nsh-over-vxlan-gpe.pcap": "VXLAN-GPE/NSH: tshark counts the inner conversations",
    "nsh.pcap": "NSH: tshark counts the inner conversations",
    "erspan-type-ii-2.pcap": "ERSPAN in GRE: tshark counts the mirrored frames",
    "wccp_redirect_gre.pcap": "WCCP GRE redirect: tshark counts the inner TCP",
    "pim-packet-assortment.pcap": "PIM register: tshark counts the encapsulated UDP",
    "ipv6-srh-insert-cksum.pcap": "SRv6: tshark counts the encapsulated IPv6 packet",
    "ipv6-routing-header.pcap": "routing header: tshark keys on the final destination",
    "of13_ericsson.pcapng": "OpenFlow packet-in: tshark counts the carried frames (udp)",
    "macsec-short-longer.pcap": "MACsec: tshark reads the protected frame",
    "macsec-short-shorter.pcap": "MACsec: tshark reads the protected frame",
    "macsec-short-valid.pcap": "MACsec: tshark reads the protected frame",
    "beep-oobr.pcap": "malformed (caplen 262144 of garbage): tshark drops it",
    "heapoverflow-tcp_print.pcap": "malformed: tshark drops it",
    "tcp-auth-heapoverflow.pcap": "malformed: tshark drops it",
    "tcp_header_heapoverflow.pcap": "malformed: tshark drops it",
    "udp-length-heapoverflow.pcap": "malformed: tshark drops it",
    "ipv4_invalid_total_length_2.pcap": "malformed IPv4 total length: tshark drops it",
    "mptcp-dss-oobr.pcap": "malformed TCP options: tshark drops the frame",
    "kday3.pcap": "malformed TCP header: tshark drops one frame",
    "kday1.pcap": "malformed SCTP: tshark drops the frame",
    "LINKTYPE_IPV6_invalid.pcap": "IPv4 packet under the IPv6 link type: hashscope follows the "
                                  "version nibble (as tshark does for the IPv4 link type)",
}


def conversation_diff(path) -> dict[str, list]:
    """{kind: [(key, hashscope's counts, tshark's counts)]} where the two differ."""
    mine = read_flows([str(path)]).flows
    theirs = tshark_conversations(str(path))
    diff = {}
    for kind in PROTOCOLS:
        ours = hashscope_conversations(mine, kind)
        keys = set(ours) | set(theirs[kind])
        bad = [(k, ours.get(k), theirs[kind].get(k)) for k in keys
               if ours.get(k) != theirs[kind].get(k)]
        if bad:
            diff[kind] = bad
    return diff


@needs_tshark
@pytest.mark.parametrize("path", CONV_CASES, ids=lambda p: p.name)
def test_conversations_equal_tsharks(path):
    theirs = tshark_conversations(str(path))
    assert sum(len(v) for v in theirs.values()) > 0
    diff = conversation_diff(path)
    if path.name in ("of13_ericsson.pcapng", "mixed.pcapng"):  # mixed holds of13's packets
        # OpenFlow packet-in messages carry whole frames; tshark counts their UDP
        # conversation, hashscope the TCP that carries them. TCP agrees.
        assert set(diff) == {"udp"}
        assert [(ours, theirs["frames"]) for _, ours, theirs in diff["udp"]] == [(None, 3)]
        return
    assert diff == {}


def _corpus_check(name: str):
    path = SHARED_TCPDUMP / name
    try:
        diff = conversation_diff(path)
    except CaptureError:
        return name, None
    return name, diff


@needs_tshark
@pytest.mark.skipif(not SHARED_TCPDUMP.is_dir(), reason="tcpdump corpus not beside the repo")
def test_whole_tcpdump_corpus_equals_tshark_or_is_explained():
    names = sorted(os.listdir(SHARED_TCPDUMP))
    # spawn, not fork: numba's thread pool, already running here, does not survive a fork
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        results = dict(pool.map(_corpus_check, names, chunksize=8))
    unexplained = {n: d for n, d in results.items() if d and n not in KNOWN_DIFFERENCES}
    assert unexplained == {}
    agreeing = [n for n, d in results.items() if d == {}]
    assert len(agreeing) > 300
    # every explained difference is still a difference (else the list is stale)
    stale = [n for n in KNOWN_DIFFERENCES if n in results and results[n] == {}]
    assert stale == []


# --- the flow table itself -------------------------------------------------------------------

def test_flow_totals_equal_packet_totals():
    paths = [str(MADE / "mixed.pcapng"), str(TCPDUMP / "afs.pcap")]
    res = read_flows(paths)
    pk = np.concatenate([read_packets([p]) for p in paths])
    decoded = pk[pk["depth"] > 0]
    assert res.packets == len(pk)
    assert res.flows["packets"].sum() == len(decoded)
    assert res.flows["bytes"].sum() == decoded["wirelen"].sum()
    assert res.flows["bytes"].is_monotonic_decreasing


@pytest.mark.parametrize("folder", [TCPDUMP, MADE] + [SHARED_TCPDUMP] * SHARED_TCPDUMP.is_dir(),
                         ids=lambda p: p.name)
def test_record_path_equals_packet_table_path(folder):
    """read_flows keys flows straight from the captured bytes; analyze builds the same
    table from decoded packet tables: both must give the same flows, ids and counts."""
    for path in sorted(folder.iterdir()):
        try:
            res = read_flows([str(path)])
        except CaptureError:
            continue
        table, reader = FlowTable(), CaptureReader([str(path)])
        for pk in packet_tables(reader):
            table.add(pk)
        expect = table.frame(reader.registry.names())
        pd.testing.assert_frame_equal(res.flows, expect, obj=path.name)
        assert res.undecoded == table.undecoded_packets, path.name


def test_flows_know_their_interfaces():
    res = read_flows([str(MADE / "live2.pcapng")])
    assert set(res.flows["interfaces"]) == {"ifindex1", "lo"}  # "any": its frames' ifindex
    first = res.flows["first"]
    assert (res.flows["last"] >= first).all()
    assert first.min().year == 2026


def test_flow_key_directions_are_separate():
    df = read_flows([str(TCPDUMP / "ssh.pcap")]).flows
    tcp = df[df["proto"] == 6]
    assert len(tcp) == 2
    a, b = tcp.iloc[0], tcp.iloc[1]
    assert (a["src"], a["sport"]) == (b["dst"], b["dport"])


def test_vlan_and_macs_are_in_the_key():
    df = read_flows([str(TCPDUMP / "802.1ad_QinQ.pcap")]).flows
    assert df["vlan"].notna().all() and df["inner_vlan"].notna().all()
    assert (df["src_mac"].str.len() == 17).all()


def test_cli_csv_columns():
    res = run_cli("flows", TCPDUMP / "afs.pcap", "--format", "csv")
    assert res.returncode == 0, res.stderr
    assert res.stderr == b""  # no progress bar when stderr is not a terminal
    header = res.stdout.decode().splitlines()[0].split(",")
    for col in ("src", "dst", "sport", "dport", "proto", "packets", "bytes", "interfaces"):
        assert col in header


def test_cli_json_and_parquet_agree(tmp_path):
    js = run_cli("flows", TCPDUMP / "afs.pcap", "--format", "json")
    assert js.returncode == 0, js.stderr
    rows = json.loads(js.stdout)
    out = tmp_path / "flows.parquet"
    pq = run_cli("flows", TCPDUMP / "afs.pcap", "--format", "parquet", "-o", out)
    assert pq.returncode == 0, pq.stderr
    df = pd.read_parquet(out)
    assert len(df) == len(rows) == 31
    assert df["bytes"].tolist() == [r["bytes"] for r in rows]


def test_cli_table_and_output_file(tmp_path):
    res = run_cli("flows", MADE / "live2.pcapng", "--top", "3")
    text = res.stdout.decode()
    assert res.returncode == 0 and "20 flows, 100 packets" in text and "showing the 3" in text
    out = tmp_path / "t.txt"
    assert run_cli("flows", MADE / "live2.pcapng", "-o", out).returncode == 0
    assert "127.0.0.1" in out.read_text()


def test_parquet_needs_output():
    res = run_cli("flows", TCPDUMP / "ssh.pcap", "--format", "parquet")
    assert res.returncode == 2 and b"--output" in res.stderr


@pytest.mark.skipif(shutil.which("script") is None, reason="util-linux script is missing")
def test_progress_bar_on_a_terminal(tmp_path):
    """Under a pseudo-terminal the progress bar is drawn (and cleared) on stderr."""
    cmd = f"{sys.executable} -m hashscope flows {MADE / 'mixed.pcapng'} -o {tmp_path / 'o.txt'}"
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    res = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True,
                         env={**env, "TERM": "xterm"}, timeout=300)
    assert res.returncode == 0
    assert b"reading" in res.stdout  # script merges the terminal's output into stdout
    assert (tmp_path / "o.txt").exists()
