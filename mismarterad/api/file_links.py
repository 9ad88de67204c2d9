"""Short-lived signed links to one file of a report, for a browser tab.

A tab opened on a report file cannot carry the console's bearer token (it lives in the console's
sessionStorage and travels in a header, never in a URL). So a signed-in client asks for a link:
the file's path with an expiry a minute away and an HMAC of both, under a key derived from the
API's signing key. The link opens that one file until it expires, and nothing else; deleting the
signing key voids every link with every token.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from urllib.parse import urlencode

from mismarterad.core.clock import Clock

__all__ = ["LINK_TTL", "FileLinks"]

LINK_TTL = timedelta(seconds=60)
_PURPOSE = b"mismarterad report file links"  # a key of its own: a link's MAC is never a token's signature


class FileLinks:
    def __init__(self, signing_key: bytes, wall: Clock, ttl: timedelta = LINK_TTL) -> None:
        self._key = hmac.new(signing_key, _PURPOSE, hashlib.sha256).digest()
        self._wall, self._ttl = wall, ttl

    def sign(self, path: str) -> tuple[str, datetime]:
        """`path` with `expires` and `signature` added, and when it expires."""
        expires = self._wall.now() + self._ttl
        unix = int(expires.timestamp())
        return f"{path}?{urlencode({'expires': unix, 'signature': self._mac(path, unix)})}", expires

    def valid(self, path: str, expires: int, signature: str) -> bool:
        return expires > self._wall.now().timestamp() and hmac.compare_digest(self._mac(path, expires), signature)

    def _mac(self, path: str, expires: int) -> str:
        return hmac.new(self._key, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()
