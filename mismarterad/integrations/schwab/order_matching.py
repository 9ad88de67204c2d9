"""Which Schwab order is the one we POSTed, when Schwab never said (a timeout, a 5xx, a crash).

Schwab has no client order id: its answer to a POST (201, an empty body and a `Location`
header naming the order's id) is the only link between our order and its. When that answer is
lost, the order is found among `get_orders_for_account` by what it is. The rule (pure; the
broker applies it, docs/decisions.md "Schwab"):

A Schwab order is a **candidate** for our POST if
1. it is the same order: symbol, side (BUY/BUY_TO_COVER vs SELL/SELL_SHORT), share quantity,
   type, and limit and stop price (to a hundredth of a cent);
2. it was entered within the window around our POST: from `before` before to `after` after the
   moment we recorded the POST (clock time; the window allows the venue's clock to differ from
   ours and the request to take its whole time budget);
3. it is not bound to another of our orders (its id came back in that order's answer, or it
   was matched to it earlier).

Exactly one candidate is the order. None: Schwab has no such order (yet). Two or more, or one
that is also a candidate of another of our POSTs whose answer is lost too (a **rival**): the
rule **refuses to guess**; the order stays of unknown outcome, is never sent again, and the
reconciliation shows the Schwab orders as not ours (the operator decides).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from mismarterad.core.orders import OrderRequest
from mismarterad.integrations.schwab.parse import PlacedOrder

__all__ = ["Match", "MatchWindow", "Outcome", "Posted", "match_posted", "same_order"]


@dataclass(frozen=True, slots=True)
class Posted:
    """An order we POSTed (recorded before the POST): what it is, and when (our clock)."""

    request: OrderRequest
    posted_utc: datetime

    @property
    def client_order_id(self) -> str:
        return self.request.client_order_id


@dataclass(frozen=True, slots=True)
class MatchWindow:
    """How far (clock time) a Schwab order's entered time may be from our POST's record."""

    before: timedelta
    after: timedelta

    def contains(self, posted_utc: datetime, entered_utc: datetime) -> bool:
        return posted_utc - self.before <= entered_utc <= posted_utc + self.after


class Outcome(enum.StrEnum):
    FOUND = "found"
    NONE = "none"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True, slots=True)
class Match:
    outcome: Outcome
    order_id: str | None = None  # FOUND: the order
    candidates: tuple[str, ...] = ()  # AMBIGUOUS: every order that fits
    rivals: tuple[str, ...] = ()  # AMBIGUOUS: our other POSTs the one candidate fits too


def same_order(posted: Posted, placed: PlacedOrder) -> bool:
    """Rule 1: of the shape this adapter sends, with the same symbol, side, quantity, type and
    prices."""
    ours, theirs = posted.request, placed.spec
    return (placed.sendable and ours.symbol == theirs.symbol and ours.side is theirs.side and ours.quantity == theirs.quantity
            and ours.type is theirs.type and _same_price(ours.limit_price, theirs.limit_price)
            and _same_price(ours.stop_price, theirs.stop_price))


def match_posted(posted: Posted, placed: Iterable[PlacedOrder], *, bound: frozenset[str] | set[str],
                 rivals: Sequence[Posted], window: MatchWindow) -> Match:
    """The Schwab order that is `posted` (see the module docstring). `bound`: Schwab ids already
    bound to our orders; `rivals`: our other POSTs of unknown outcome."""
    candidates = [p for p in placed if p.order_id not in bound and same_order(posted, p)
                  and window.contains(posted.posted_utc, p.spec.submitted_utc)]
    if not candidates:
        return Match(Outcome.NONE)
    if len(candidates) > 1:
        return Match(Outcome.AMBIGUOUS, candidates=tuple(sorted(c.order_id for c in candidates)))
    [found] = candidates
    contested = [r.client_order_id for r in rivals if r.client_order_id != posted.client_order_id
                 and same_order(r, found) and window.contains(r.posted_utc, found.spec.submitted_utc)]
    if contested:
        return Match(Outcome.AMBIGUOUS, candidates=(found.order_id,), rivals=tuple(sorted(contested)))
    return Match(Outcome.FOUND, order_id=found.order_id)


def _same_price(ours: float | None, theirs: float | None) -> bool:
    if ours is None or theirs is None:
        return ours is None and theirs is None
    return abs(ours - theirs) < 5e-5
