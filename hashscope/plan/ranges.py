"""What a user gives a plan: port ranges, address ranges and MAC ranges or lists."""

from __future__ import annotations

import ipaddress

import numpy as np

from hashscope.errors import HashscopeError

MAX_CANDIDATES = 1 << 20  #: the most addresses or MACs one range may hold


def parse_port_range(text: str, option: str = "--sport-range") -> np.ndarray:
    """``50000-60000`` (inclusive), ``5201`` or ``1000,1002,1004``: the ports, ascending."""
    ports: list[np.ndarray] = []
    for part in text.split(","):
        lo, sep, hi = part.strip().partition("-")
        try:
            a, b = int(lo), int(hi) if sep else int(lo)
        except ValueError:
            raise HashscopeError(f"{option} {text!r}: ports such as 50000-60000") from None
        if not 0 < a <= b <= 65535:
            raise HashscopeError(f"{option} {text!r}: ports from 1 to 65535, low-high")
        ports.append(np.arange(a, b + 1, dtype=np.int64))
    return np.unique(np.concatenate(ports))


def parse_address(text: str, option: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        raise HashscopeError(f"{option} {text!r}: an IPv4 or IPv6 address") from None


def parse_address_range(text: str, option: str) -> list:
    """``10.0.0.10-10.0.0.40``, ``10.0.0.0/28`` (every address of it) or a comma list."""
    out: list = []
    for part in text.split(","):
        part = part.strip()
        if "/" in part:
            try:
                net = ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise HashscopeError(f"{option} {text!r}: a range such as "
                                     "10.0.0.10-10.0.0.40 or 10.0.0.0/28") from None
            if net.num_addresses > MAX_CANDIDATES:
                raise HashscopeError(f"{option} {part}: more than {MAX_CANDIDATES} addresses")
            out += list(net)
            continue
        lo, sep, hi = part.partition("-")
        a = parse_address(lo, option)
        b = parse_address(hi, option) if sep else a
        if a.version != b.version or int(b) < int(a):
            raise HashscopeError(f"{option} {text!r}: low-high, both IPv4 or both IPv6")
        if int(b) - int(a) >= MAX_CANDIDATES:
            raise HashscopeError(f"{option} {part}: more than {MAX_CANDIDATES} addresses")
        out += [ipaddress.ip_address(x) for x in range(int(a), int(b) + 1)]
    if len({a.version for a in out}) > 1:
        raise HashscopeError(f"{option} {text!r}: IPv4 and IPv6 mixed")
    return sorted(set(out))


def parse_mac(text: str, option: str) -> int:
    digits = text.strip().replace(":", "").replace("-", "").replace(".", "")
    if len(digits) != 12:
        raise HashscopeError(f"{option} {text!r}: a MAC such as 52:54:00:3a:7c:01")
    try:
        return int(digits, 16)
    except ValueError:
        raise HashscopeError(f"{option} {text!r}: a MAC such as 52:54:00:3a:7c:01") from None


def parse_mac_range(text: str, option: str) -> list[int]:
    """``52:54:00:00:00:01-52:54:00:00:00:40`` or a comma list of MACs."""
    out: list[int] = []
    for part in text.split(","):
        if part.count("-") == 1 and ":" in part:
            lo, hi = part.split("-")
            a, b = parse_mac(lo, option), parse_mac(hi, option)
            if b < a or b - a >= MAX_CANDIDATES:
                raise HashscopeError(f"{option} {part!r}: low-high, at most "
                                     f"{MAX_CANDIDATES} MACs")
            out += range(a, b + 1)
        else:
            out.append(parse_mac(part, option))
    return sorted(set(out))


def format_mac(mac: int) -> str:
    return ":".join(f"{(int(mac) >> s) & 0xFF:02x}" for s in range(40, -8, -8))
