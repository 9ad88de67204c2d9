"""The one URL an adapter may be pointed at instead of its venue's own hosts: an emulator or a proxy.

It is `http(s)://host[:port]` with no path. A venue's own hosts are refused (leave the endpoint
unset for them), and plain `http://` only reaches loopback hosts (127.0.0.0/8, ::1, localhost):
credentials never cross a network in clear text.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from mismarterad.core.hosts import is_loopback

__all__ = ["local_base_url"]


def local_base_url(endpoint: str, venue: str, is_own_host: Callable[[str], bool], *, example: str,
                   own_host_hint: str, secret_name: str) -> str:
    """`scheme://netloc` of `endpoint`; ValueError naming what is wrong with it."""
    parts = urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/") or parts.query \
            or parts.fragment or parts.username or parts.password:
        raise ValueError(f"the {venue} endpoint must be http(s)://HOST[:PORT] with no path, such as "
                         f"{example}, got {endpoint[:80]!r}")
    try:
        _ = parts.port
    except ValueError:
        raise ValueError(f"the port of {venue} endpoint {endpoint[:80]!r} is not a number from 0 to 65535") from None
    host = parts.hostname
    if is_own_host(host):
        raise ValueError(own_host_hint)
    if parts.scheme == "http" and not is_loopback(host):
        raise ValueError(f"an http:// endpoint of {venue} must be a loopback host (127.0.0.1, ::1, localhost): "
                         f"{secret_name} are never sent in clear text over a network; use https:// for {host}")
    return f"{parts.scheme}://{parts.netloc}"

