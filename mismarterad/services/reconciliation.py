"""What differs between the broker's account and ours: a pure comparison, no I/O.

managers/reconciler.py asks the broker (its working orders, a lookup of each of our open
orders it did not list, its positions) and our journal, then hands both here. Keeping the
comparison pure lets the property tests show that a broker state built from our own journal
never differs, and that each injected difference is found exactly once.

Only the session's symbols are compared: the daemon owns those in the account, while orders
and positions in any other symbol are the user's and none of ours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet

from mismarterad.core.orders import Order, OrderStatus, Position
from mismarterad.core.reconciliation import Mismatch, MismatchKind

__all__ = ["find_mismatches"]

# our orders the broker must know: sent and answered. intent and submitted are resolved by the
# adapter (a submitted order is looked up, never resent), so they cannot be held against it.
_WORKING = frozenset({OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED})
# how the broker may end an order unasked: a difference unless we asked for the cancel
_ENDED = frozenset({OrderStatus.CANCELED, OrderStatus.EXPIRED})


def find_mismatches(*, symbols: AbstractSet[str], known_today: AbstractSet[str], ours_earlier: AbstractSet[str],
                    today_open: Mapping[str, Order], venue_open: Sequence[Order],
                    venue_reports: Mapping[str, Order | None], cancel_requested: AbstractSet[str],
                    venue_positions: Sequence[Position], ours: Mapping[str, int]) -> list[Mismatch]:
    """Every difference between the broker and us in the session's `symbols`, sorted by
    (kind, symbol, client order id) so that equal states give equal lists.

    - unknown_order: working at the broker, id not journaled today (ours 0, broker its remaining
      quantity); from an earlier day's session if the id is in `ours_earlier`.
    - missing_order: working in our journal (accepted or partially filled) and not listed by
      the broker, whose lookup finds no such order (None, or no entry in `venue_reports`) or
      an order it canceled or expired without our asking (ours the open quantity, broker 0).
      A report of a fill, a working order, a rejection or a cancel we asked for is no difference.
    - position: the broker's net shares (0 when it holds none) differ from `ours`.
    """
    found: list[Mismatch] = []
    listed: set[str] = set()
    for order in venue_open:
        listed.add(order.client_order_id)
        symbol = order.request.symbol
        if symbol not in symbols or order.client_order_id in known_today:
            continue
        origin = "left open by an earlier day's session" if order.client_order_id in ours_earlier \
            else "not placed by this session"
        remaining = max(0, order.request.quantity - order.filled_quantity)
        found.append(Mismatch(MismatchKind.UNKNOWN_ORDER, symbol, order.client_order_id, 0, remaining,
                              f"{order.request.side.value} {remaining} working at the broker, {origin}"))
    for client_order_id, held in today_open.items():
        symbol = held.request.symbol
        if held.status not in _WORKING or symbol not in symbols or client_order_id in listed:
            continue
        report = venue_reports.get(client_order_id)
        if report is None:
            detail = "the broker has no order with this id"
        elif report.status in _ENDED and client_order_id not in cancel_requested:
            detail = ("canceled at the broker, not by us" if report.status is OrderStatus.CANCELED
                      else "expired at the broker, not canceled by us")
        else:
            continue
        filled = max(held.filled_quantity, report.filled_quantity if report is not None else 0)
        open_quantity = max(0, held.request.quantity - filled)
        found.append(Mismatch(MismatchKind.MISSING_ORDER, symbol, client_order_id, open_quantity, 0,
                              f"{detail} ({held.request.side.value} {open_quantity} open in our journal)"))
    broker_net: dict[str, int] = {}
    for position in venue_positions:
        broker_net[position.symbol] = broker_net.get(position.symbol, 0) + position.quantity
    for symbol in symbols:
        theirs, mine = broker_net.get(symbol, 0), ours.get(symbol, 0)
        if theirs != mine:
            found.append(Mismatch(MismatchKind.POSITION, symbol, None, mine, theirs,
                                  f"the broker holds {theirs} shares, the strategies {mine}"))
    return sorted(found, key=_order)


def _order(m: Mismatch) -> tuple[str, str, str, int, int, str]:
    """Kind by its value, then symbol and id; the rest only breaks ties of a doubly listed id."""
    return (m.kind.value, m.symbol, m.client_order_id or "", m.ours, m.broker, m.detail)
