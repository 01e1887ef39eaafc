"""Switch and hypervisor link-aggregation models: Cisco Catalyst EtherChannel, HP / Aruba
trunks, VMware "Route based on IP hash", and an ideal uniform baseline.

Every model is a function ``(packets, n_links, **params) -> (hash uint32, valid bool,
link int64)``, ``link`` -1 where not valid. Only the HP blade-switch formulas are
published exactly; the others reproduce what the vendors document (the fields, the bucket
count, the XOR) and are labelled approximate in :data:`MODELS`. Source: research note
other_hashes.md §2-§3 and the vendor documents it cites.

Fields missing from a packet: an IP mode falls back to the MAC addresses for non-IP
frames, a port mode to the addresses for IP packets without ports (later fragments,
other protocols), as the HP / Aruba manuals state and as Catalyst behaves (assumed: the
Cisco documents do not say). A frame without the needed MACs (a raw-IP capture) is not
valid.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from numba import njit

from .columns import (
    DEPTH_NET,
    DEPTH_TRANSPORT,
    FRAG_LATER,
    MAC_DST,
    MAC_SRC,
    PORT_PROTOCOLS,
)
from .xxh64 import xxh64_words

#: Cisco --load-balance modes: (kind, directions)
CISCO_MODES = {
    f"{d}-{kind}": (kind, tuple(d.split("-")))
    for kind in ("mac", "ip", "port") for d in ("src", "dst", "src-dst")
}
CISCO_RBH_BITS = 3  #: Catalyst's Result Bundle Hash: 0..7, eight buckets
VMWARE_VARIANTS = ("last-octet", "whole")
ARUBA_LAYERS = ("l2", "l3", "l4")
ARUBA_IP_BITS = 5  #: "the last five bits of the IP source and destination address"
_COLUMN = {"mac": ("src_mac", "dst_mac"), "ip": ("src_lo", "dst_lo"), "port": ("sport", "dport")}
_FALLBACK = {"port": "ip", "ip": "mac"}


def has_macs(packets: np.ndarray, dirs=("src", "dst")) -> np.ndarray:
    need = (MAC_SRC if "src" in dirs else 0) | (MAC_DST if "dst" in dirs else 0)
    return (packets["mac_ok"] & need) == need


def has_ip(packets: np.ndarray) -> np.ndarray:
    return (packets["depth"] >= DEPTH_NET) & np.isin(packets["ip_ver"], (4, 6))


def has_ports(packets: np.ndarray) -> np.ndarray:
    """TCP/UDP/SCTP/DCCP/UDP-Lite ports captured, and not a later fragment."""
    return (has_ip(packets) & np.isin(packets["proto"], PORT_PROTOCOLS)
            & (packets["depth"] >= DEPTH_TRANSPORT)
            & ~(packets["frag"] & FRAG_LATER).astype(bool))


def _available(packets: np.ndarray, kind: str, dirs) -> np.ndarray:
    if kind == "mac":
        return has_macs(packets, dirs)
    return has_ports(packets) if kind == "port" else has_ip(packets)


def xor_low_bits(packets: np.ndarray, kind: str, dirs, bits: int) -> np.ndarray:
    """XOR of the low ``bits`` bits of the chosen fields (last octet of an IPv4 or IPv6
    address, last byte of a MAC, a port's low bits): the textbook Catalyst RBH, and the
    published HP blade-switch formulas."""
    mask = np.uint64((1 << bits) - 1)
    v = np.zeros(len(packets), np.uint64)
    for d in dirs:
        v ^= packets[_COLUMN[kind][0 if d == "src" else 1]].astype(np.uint64) & mask
    return v


def _with_fallback(packets: np.ndarray, kind: str, dirs, bits: int):
    """(value, valid): the mode's fields, else the next layer down (port -> ip -> mac)."""
    value = np.zeros(len(packets), np.uint64)
    done = np.zeros(len(packets), bool)
    while kind:
        use = _available(packets, kind, dirs) & ~done
        value = np.where(use, xor_low_bits(packets, kind, dirs, bits), value)
        done |= use
        kind = _FALLBACK.get(kind)
    return value, done


def _result(value: np.ndarray, valid: np.ndarray, n_links: int):
    """(hash, valid, link): link = value mod n where valid, -1 elsewhere."""
    if n_links < 1:
        raise ValueError("n_links must be at least 1")
    h = (value & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    link = np.where(valid, (h % np.uint32(n_links)).astype(np.int64), -1)
    return h, valid, link


def cisco_etherchannel(packets: np.ndarray, n_links: int, mode: str = "src-mac"):
    """Catalyst ``port-channel load-balance <mode>``: RBH = XOR of the low 3 bits of the
    chosen fields (CCNP textbook; the real hash is proprietary), member = RBH mod n (the
    inference that reproduces every published bucket ratio: 4:4, 3:3:2, 2:2:2:2,
    2:2:2:1:1, 2:2:1:1:1:1, 2:1:1:1:1:1:1, 1 each; doc 12023). The hash is the RBH.
    APPROXIMATE but for the bucket shares."""
    if mode not in CISCO_MODES:
        raise ValueError(f"mode must be one of {list(CISCO_MODES)}, not {mode!r}")
    kind, dirs = CISCO_MODES[mode]
    return _result(*_with_fallback(packets, kind, dirs, CISCO_RBH_BITS), n_links)


def cisco_bucket_shares(n_links: int) -> np.ndarray:
    """Buckets (RBH values) per member for ``n_links`` links: RBH mod n over 0..7."""
    return np.bincount(np.arange(1 << CISCO_RBH_BITS) % n_links, minlength=n_links)


def vmware_ip_hash(packets: np.ndarray, n_links: int, variant: str = "last-octet"):
    """vSphere "Route based on IP hash": (src XOR dst) mod n_uplinks. ``"last-octet"``:
    the addresses' last octets (the vSphere 6.5-7.0 networking guide); ``"whole"``: the
    whole 32-bit addresses (VMware KB blog, 2013); they differ only for 3, 5, 6, 7...
    uplinks. IPv6 (undocumented): the addresses' last 32 bits. Non-IP frames: "two 32-bit
    values from where the IP address would be located", bytes 12-19 after the Ethernet
    header and tags. APPROXIMATE (the documents disagree)."""
    if variant not in VMWARE_VARIANTS:
        raise ValueError(f"variant must be one of {VMWARE_VARIANTS}, not {variant!r}")
    ip = has_ip(packets)
    v = (packets["src_lo"] ^ packets["dst_lo"]) & np.uint64(0xFFFFFFFF)
    off = 14 + 4 * packets["vlan_n"].astype(np.int64)
    raw = ~ip & has_macs(packets) & (off + 20 <= np.minimum(packets["caplen"], 64))
    rows = np.nonzero(raw)[0]
    b = packets["head"][rows[:, None], off[rows, None] + np.arange(12, 20)].astype(np.uint64)
    word = b[:, :4] ^ b[:, 4:]
    v[rows] = (word[:, 0] << 24) | (word[:, 1] << 16) | (word[:, 2] << 8) | word[:, 3]
    if variant == "last-octet":
        v &= np.uint64(0xFF)
    return _result(v, ip | raw, n_links)


@njit(cache=True)
def _xxh64_rows(words):
    out = np.empty(words.shape[0], np.uint64)
    for i in range(words.shape[0]):
        out[i] = xxh64_words(words[i], 0)
    return out


def mix_rows(words: np.ndarray) -> np.ndarray:
    """XXH64 of each row of 64-bit words, folded to 32 bits: a uniform hash of a key."""
    h = _xxh64_rows(np.ascontiguousarray(words, dtype=np.uint64))
    return ((h >> np.uint64(32)) ^ h).astype(np.uint32)


def _key_words(packets: np.ndarray, layer: np.ndarray, ip_mask: int, proto: bool
               ) -> np.ndarray:
    """Rows (layer, fields...) of the key a hash mixes: layer 2 MACs and EtherType,
    layer 3 the addresses (masked to their low bits if ``ip_mask``) and the protocol if
    ``proto``, layer 4 also the ports."""
    w = np.zeros((len(packets), 8), np.uint64)
    l2, l4 = layer == 2, layer == 4
    w[:, 0] = layer.astype(np.uint64) << np.uint64(56)
    w[:, 0] |= np.where(l2, packets["ethertype"], packets["proto"] if proto else 0
                        ).astype(np.uint64)
    for k, col in enumerate(("src_hi", "src_lo", "dst_hi", "dst_lo")):
        v = packets[col] & np.uint64(ip_mask) if ip_mask else packets[col]
        w[:, 1 + k] = np.where(l2, 0, 0 if ip_mask and col.endswith("hi") else v)
    w[:, 1] = np.where(l2, packets["src_mac"], w[:, 1])
    w[:, 3] = np.where(l2, packets["dst_mac"], w[:, 3])
    ports = (packets["sport"].astype(np.uint64) << np.uint64(16)) | packets["dport"]
    w[:, 5] = np.where(l4, ports, 0)
    return w


def _layers(packets: np.ndarray, top: int) -> np.ndarray:
    """The layer each packet is hashed at, ``top`` (2, 3 or 4) or the highest below it
    that the packet has: 0 where not even the MACs are there."""
    layer = np.where(has_macs(packets), 2, 0)
    if top >= 3:
        layer = np.where(has_ip(packets), 3, layer)
    if top == 4:
        layer = np.where(has_ports(packets), 4, layer)
    return layer


def aruba_trunk(packets: np.ndarray, n_links: int, layer: str = "l3"):
    """ArubaOS-Switch / ProCurve ``trunk-load-balance {L2|L3|L4}-based``: SA/DA MAC pairs
    (L2); "the last five bits of the IP source and destination address" when IP is there,
    else the MACs (L3, the default); L3 plus TCP/UDP ports for unfragmented packets with
    ports (L4). The "mapping" to a link is undisclosed: a uniform mix of those inputs,
    mod n. APPROXIMATE (inputs documented, function not)."""
    if layer not in ARUBA_LAYERS:
        raise ValueError(f"layer must be one of {ARUBA_LAYERS}, not {layer!r}")
    levels = _layers(packets, 2 + ARUBA_LAYERS.index(layer))
    h = mix_rows(_key_words(packets, levels, (1 << ARUBA_IP_BITS) - 1, False))
    return _result(h.astype(np.uint64), levels > 0, n_links)


def uniform(packets: np.ndarray, n_links: int):
    """The ideal baseline: XXH64 of the flow's 5-tuple (addresses, protocol, ports; ports
    0 for later fragments and portless protocols), uniform over the links; non-IP frames
    by MACs and EtherType. Not a real device."""
    ip = has_ip(packets)
    levels = np.where(ip, 4, np.where(has_macs(packets), 2, 0))
    cut = (ip & np.isin(packets["proto"], PORT_PROTOCOLS) & ~has_ports(packets)
           & ~(packets["frag"] & FRAG_LATER).astype(bool))  # ports there but not captured
    levels[cut] = 0
    h = mix_rows(_key_words(packets, levels, 0, True))
    return _result(h.astype(np.uint64), levels > 0, n_links)


_CISCO_SUMMARY = ("Cisco EtherChannel: the low 3 bits of the {}, 8 buckets over n links "
                  "(shares documented, hash not)")
_FIELDS = {"mac": "MAC", "ip": "IP address (non-IP: MACs)",
           "port": "L4 port (else IPs, else MACs)"}

#: policy name -> (exact, one-line summary)
MODELS = {
    **{f"cisco:{m}": (False, _CISCO_SUMMARY.format(
        " XOR ".join(f"{x} {_FIELDS[k]}" for x in d)))
       for m, (k, d) in CISCO_MODES.items()},
    "aruba:l2": (False, "SA/DA MAC pair, undisclosed mapping (uniform mix), mod n"),
    "aruba:l3": (False, "last 5 bits of src/dst IP (non-IP: MACs), uniform mix, mod n"),
    "aruba:l4": (False, "aruba:l3 plus TCP/UDP ports when unfragmented, uniform mix, mod n"),
    "vmware:ip-hash": (False, "(src IP XOR dst IP) mod n; last octet (guide) or whole "
                              "address (KB), the documents disagree"),
    "uniform": (False, "ideal baseline: XXH64 of the 5-tuple, uniform over the links"),
    "hp-bl:sa": (True, "HP BL e-Class C-GbE: last 3 bits of source MAC mod n (manual)"),
    "hp-bl:da": (True, "HP BL e-Class C-GbE: last 3 bits of destination MAC mod n (manual)"),
    "hp-bl:sa-da": (True, "HP BL e-Class C-GbE: last 3 bits of SA XOR DA mod n (manual)"),
    "hp-gbe2c:ip": (True, "HP GbE2c / 1:10Gb BL-c: last 3 bits of src XOR dst IP (non-IP: "
                          "MACs) mod n (manual)"),
}

#: policy name -> ``(packets, n_links) -> (hash, valid, link)``
ASSIGNERS = {
    **{f"cisco:{m}": partial(cisco_etherchannel, mode=m) for m in CISCO_MODES},
    **{f"aruba:{layer}": partial(aruba_trunk, layer=layer) for layer in ARUBA_LAYERS},
    "vmware:ip-hash": vmware_ip_hash,
    "uniform": uniform,
    # the HP blade switches publish exactly the XOR-of-low-bits-mod-n formula
    "hp-bl:sa": partial(cisco_etherchannel, mode="src-mac"),
    "hp-bl:da": partial(cisco_etherchannel, mode="dst-mac"),
    "hp-bl:sa-da": partial(cisco_etherchannel, mode="src-dst-mac"),
    "hp-gbe2c:ip": partial(cisco_etherchannel, mode="src-dst-ip"),
}
