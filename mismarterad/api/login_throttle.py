"""Login attempts counted per user name and per client address over a sliding window.

An attempt is counted when it begins, before its password is checked, so a hundred guesses
sent at once are a hundred attempts and not one each. Past either limit, logins of that name
(or from that address) are refused with the seconds to wait, even with the right password, so a
guesser cannot go on. A successful login takes back its own attempt and clears the user's
count, never the address's other failures: one valid account must not reset a guesser's budget.

An address that this user has signed in from before (`regular`) is not held to the user's
limit, only to its own: a guesser elsewhere cannot lock the operator out of the address the
operator works from. IPv6 addresses count by their /64 network, which one host can fill.
The first refusal of a key in a window is marked for the log; later ones are not.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["LoginThrottle", "Throttled", "address_key"]

_MAX_KEYS = 10_000  # a flood of distinct names or addresses cannot grow the tables without bound

Key = tuple[str, str]  # ("user", name) or ("address", address_key)


@dataclass(frozen=True, slots=True)
class Throttled:
    retry_after: float  # seconds
    first: bool  # the first refusal of this key in its window: worth a log line


def address_key(address: str) -> str:
    """What an address counts as: itself, an IPv4-mapped IPv6 address its IPv4 address, any
    other IPv6 address its /64 network."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class LoginThrottle:
    def __init__(self, per_user: int, per_address: int, window_secs: float,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._limits = {"user": per_user, "address": per_address}
        self._window = window_secs
        self._monotonic = monotonic
        self._attempts: dict[Key, deque[float]] = {}
        self._announced: dict[Key, float] = {}  # key -> until when its refusals are already logged
        self._lock = threading.Lock()

    def user_limited(self, user: str) -> bool:
        """The user's limit is reached now (whether the address is a regular one is then worth asking)."""
        with self._lock:
            return self._wait(("user", user), self._monotonic()) is not None

    def begin(self, user: str, address: str, regular: bool = False) -> float | Throttled:
        """Count an attempt of `user` from `address`: its ticket for `succeeded`, or Throttled."""
        with self._lock:
            now = self._monotonic()
            if len(self._attempts) >= _MAX_KEYS or len(self._announced) >= _MAX_KEYS:
                self._prune(now)
            keys = [("address", address_key(address))] + ([] if regular else [("user", user)])
            waits = [(w, k) for k in keys if (w := self._wait(k, now)) is not None]
            if waits:
                wait, key = max(waits)
                first = self._announced.get(key, -math.inf) <= now
                if first:
                    self._announced[key] = now + wait
                return Throttled(wait, first)
            for key in (("user", user), ("address", address_key(address))):
                self._attempts.setdefault(key, deque()).append(now)
            return now

    def succeeded(self, user: str, address: str, ticket: float) -> None:
        """The attempt `ticket` had the right password: the user's count is cleared, the address's
        keeps every other attempt."""
        with self._lock:
            self._attempts.pop(("user", user), None)
            times = self._attempts.get(("address", address_key(address)))
            if times is not None and ticket in times:
                times.remove(ticket)

    def _wait(self, key: Key, now: float) -> float | None:
        times = self._attempts.get(key, deque())
        while times and times[0] <= now - self._window:
            times.popleft()
        return times[0] + self._window - now if len(times) >= self._limits[key[0]] else None

    def _prune(self, now: float) -> None:
        for key in list(self._attempts):
            self._wait(key, now)
            if not self._attempts[key]:
                del self._attempts[key]
        self._announced = {k: until for k, until in self._announced.items() if until > now}
        while len(self._attempts) >= _MAX_KEYS:  # all recent: forget the oldest keys
            del self._attempts[next(iter(self._attempts))]
        while len(self._announced) >= _MAX_KEYS:
            del self._announced[next(iter(self._announced))]
