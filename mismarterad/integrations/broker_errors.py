"""Broker errors the daemon acts on differently, shared by the venue adapters.

    BrokerError (core)
    ├─ BrokerAuthError          the venue refused our keys: stop trading, alert; never retried
    └─ BrokerUnavailableError   the venue did not answer (refused, timed out, 5xx past the retries)

Messages name the setting or host to look at, never a credential's value.
"""

from __future__ import annotations

from mismarterad.core.errors import BrokerError

__all__ = ["BrokerAuthError", "BrokerUnavailableError", "scrub"]

_SCRUB_MIN_LEN = 6  # shorter values are not searched for: they would blot out ordinary words


class BrokerAuthError(BrokerError):
    """The venue rejected the credentials (HTTP 401/403, or a stream's authentication)."""


class BrokerUnavailableError(BrokerError):
    """The venue could not be reached or kept failing; `host` is the one that was tried."""

    def __init__(self, message: str, host: str) -> None:
        super().__init__(message)
        self.host = host


def scrub(message: str, *values: str) -> str:
    """`message` with every one of `values` (a key id, a secret) replaced by `***`: the last
    guard on a message we build from a venue's answer."""
    variants = {v for value in values for v in (value, value.strip())}
    for value in sorted(variants, key=len, reverse=True):
        if value and len(value) >= _SCRUB_MIN_LEN:
            message = message.replace(value, "***")
    return message
