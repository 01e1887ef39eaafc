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

from . import rows

#: Cisco --load-balance modes: (kind, directions)
CISCO_MODES = {
    f"{d}-{kind}": (kind, tuple(d.split("-")))
    for kind in ("mac", "ip", "port") for d in ("src", "dst", "src-dst")
}
CISCO_RBH_BITS = 3  #: Catalyst's Result Bundle Hash: 0..7, eight buckets
VMWARE_VARIANTS = ("last-octet", "whole")
ARUBA_LAYERS = ("l2", "l3", "l4")
ARUBA_IP_BITS = 5  #: "the last five bits of the IP source and destination address"
_KIND = {"mac": rows.KIND_MAC, "ip": rows.KIND_IP, "port": rows.KIND_PORT}


def _run(kernel, packets: np.ndarray, n_links: int, *args):
    """(hash uint32, valid bool, link int64) from a kernel of :mod:`.rows`: link =
    hash mod n where valid, -1 elsewhere."""
    if n_links < 1:
        raise ValueError("n_links must be at least 1")
    n = len(packets)
    h, valid, link = np.empty(n, np.uint32), np.empty(n, bool), np.empty(n, np.int64)
    if n:
        kernel(packets, *args, n_links, h, valid, link)
    return h, valid, link


def cisco_etherchannel(packets: np.ndarray, n_links: int, mode: str = "src-mac"):
    """Catalyst ``port-channel load-balance <mode>``: RBH = XOR of the low 3 bits of the
    chosen fields (CCNP textbook; the real hash is proprietary): last octet of an IPv4 or
    IPv6 address, last byte of a MAC, a port's low bits; member = RBH mod n (the
    inference that reproduces every published bucket ratio: 4:4, 3:3:2, 2:2:2:2,
    2:2:2:1:1, 2:2:1:1:1:1, 2:1:1:1:1:1:1, 1 each; doc 12023). The hash is the RBH.
    APPROXIMATE but for the bucket shares. The same XOR-of-low-bits-mod-n is the
    published HP blade-switch formula."""
    if mode not in CISCO_MODES:
        raise ValueError(f"mode must be one of {list(CISCO_MODES)}, not {mode!r}")
    kind, dirs = CISCO_MODES[mode]
    return _run(rows.xor_low_bits_rows, packets, n_links, _KIND[kind], "src" in dirs,
                "dst" in dirs, CISCO_RBH_BITS)


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
    return _run(rows.vmware_rows, packets, n_links, variant == "whole")


def mix_rows(words: np.ndarray) -> np.ndarray:
    """XXH64 of each row of 64-bit words, folded to 32 bits: a uniform hash of a key."""
    words = np.ascontiguousarray(words, dtype=np.uint64)
    out = np.empty(len(words), np.uint32)
    rows.mix_rows_into(words, out)
    return out


def aruba_trunk(packets: np.ndarray, n_links: int, layer: str = "l3"):
    """ArubaOS-Switch / ProCurve ``trunk-load-balance {L2|L3|L4}-based``: SA/DA MAC pairs
    (L2); "the last five bits of the IP source and destination address" when IP is there,
    else the MACs (L3, the default); L3 plus TCP/UDP ports for unfragmented packets with
    ports (L4). The "mapping" to a link is undisclosed: a uniform mix (:func:`mix_rows`'
    XXH64 of the key :func:`.rows.key_hash` builds) of those inputs, mod n.
    APPROXIMATE (inputs documented, function not)."""
    if layer not in ARUBA_LAYERS:
        raise ValueError(f"layer must be one of {ARUBA_LAYERS}, not {layer!r}")
    return _run(rows.aruba_rows, packets, n_links, 2 + ARUBA_LAYERS.index(layer),
                ARUBA_IP_BITS)


def uniform(packets: np.ndarray, n_links: int):
    """The ideal baseline: XXH64 of the flow's 5-tuple (addresses, protocol, ports; ports
    0 for later fragments and portless protocols), uniform over the links; non-IP frames
    by MACs and EtherType. Not a real device."""
    return _run(rows.uniform_rows, packets, n_links)


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
