"""Who is asking: the client's address, read through the proxies we trust and no others.

The socket peer is the client unless it is one of `Settings.trusted_proxies` (TRUSTED_PROXIES: addresses or
CIDRs). Only then is `X-Forwarded-For` read, from the right: each trusted proxy appends the address it saw, so
the rightmost hop that is not itself a trusted proxy is the client, and whatever a client wrote further left is
never believed. The web server's own proxy-header handling is off (`uvicorn --no-proxy-headers`), so this is the
one place an address is taken from a header. Rate limits and report networks key on `client_address`.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """`["10.0.0.5", "192.168.0.0/16", "::1"]` as networks; ValueError names the first that is not one."""
    networks = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or CIDR network") from None
    return tuple(networks)


@functools.lru_cache(maxsize=16)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(trusted)


def _address(text: str) -> Address | None:
    """An address as a hop may be written: `1.2.3.4`, `1.2.3.4:5678`, `::1`, `[::1]:80`; None if it is not one."""
    text = text.strip().strip('"')
    if text.startswith("[") and "]" in text:
        text = text[1:text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_address(peer: str, forwarded_for: Sequence[str], trusted: tuple[str, ...]) -> str:
    """The client's address: `peer` itself, or when `peer` is a trusted proxy the rightmost untrusted hop of
    `forwarded_for` (every X-Forwarded-For header, in order). A chain of trusted proxies only ends at its first."""
    networks = _networks(tuple(trusted))
    current = _address(peer)
    if current is None:
        return peer or "unknown"
    if not networks or not _trusted(current, networks):
        return str(current)
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # a hop a trusted proxy would never write: stop at the last address we can vouch for
        current = address
        if not _trusted(address, networks):
            break
    return str(current)


def request_client_address(request) -> str:
    """`client_address` for a Litestar request, with the app's TRUSTED_PROXIES."""
    peer = request.client.host if request.client else ""
    trusted = request.app.state.settings.trusted_proxies
    forwarded = request.headers.getall("x-forwarded-for", []) if trusted else []
    return client_address(peer, forwarded, trusted)


def network_of(address: str, v4_prefix: int = 24, v6_prefix: int = 48) -> str:
    """The network an address belongs to for "one per network" rules: `203.0.113.0/24`, `2001:db8:1::/48`."""
    parsed = _address(address)
    if parsed is None:
        return address or "unknown"
    prefix = v4_prefix if parsed.version == 4 else v6_prefix
    return str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False))
