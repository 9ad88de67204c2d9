"""Which hosts are this machine's own: a loopback address never crosses a network.

Three rules hang on it: plain `http://` reaches an adapter's endpoint only on loopback
(credentials never travel in clear text), a Schwab endpoint waives the real-money
confirmation only on loopback (where the shipped emulator listens; any other host may be a
proxy to the real account), and the REST API listens without TLS only on loopback (or
with `allow_insecure_remote` behind a TLS proxy).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["is_loopback", "is_loopback_url"]


def is_loopback(host: str) -> bool:
    """`host` is localhost or a loopback address (127.0.0.0/8, ::1)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    """`url` names a loopback host (False for one that cannot be read)."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return False
    return host is not None and is_loopback(host)
