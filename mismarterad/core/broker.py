"""The broker boundary: one small interface for the paper broker and the live adapters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from mismarterad.core.market_data import Bar
from mismarterad.core.orders import AccountSnapshot, Fill, Order, OrderRequest, Position

__all__ = ["Broker", "BrokerCapabilities", "SimulatedBroker"]


@dataclass(frozen=True, slots=True)
class BrokerCapabilities:
    """What a broker supports; ExecutionManager checks this table instead of branching on names."""

    fractional: bool = False
    extended_hours: bool = False
    short_selling: bool = False
    order_types: frozenset[str] = frozenset({"market", "limit", "stop", "market_on_close"})
    # a simulated account lives in the run (the paper broker, a SimulatedBroker): a run started
    # mid-session trades the day's passed bars in it, and a restarted day-run rebuilds it from the
    # order journal; a real account keeps its orders, so replayed steps send none
    simulated: bool = False


class Broker(Protocol):
    """Submit and cancel orders; report orders, positions, account and fills.

    `on_bar` shows the broker every bar the session sees, in time order: the paper broker
    matches its open orders against it; live brokers, which have the exchange, ignore it.
    `close_session` ends the trading day: market-on-close orders fill at each symbol's last
    bar close, and open day orders are canceled.
    """

    @property
    def capabilities(self) -> BrokerCapabilities: ...

    @property
    def connected(self) -> bool:
        """Whether the broker answers now (the paper broker always does)."""
        ...

    def submit(self, request: OrderRequest) -> Order:
        """Accept (status NEW) or reject (status REJECTED, with a reason) an order."""
        ...

    def cancel(self, client_order_id: str) -> Order: ...

    def orders(self) -> list[Order]: ...

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Orders still working (of `symbol`, or all), oldest first; without scanning the day's history."""
        ...

    def positions(self) -> list[Position]: ...

    def account(self) -> AccountSnapshot: ...

    def on_bar(self, bar: Bar) -> None:
        """Match open orders of `bar.symbol` against this bar."""
        ...

    def close_session(self, last_bars: dict[str, Bar]) -> None: ...

    def drain_fills(self) -> list[Fill]:
        """Fills since the last call (trade updates), oldest first; the one path fills take."""
        ...

    def lookup(self, client_order_id: str, counted: Order | None = None) -> Order | None:
        """The broker's current report of one order by our id, None if it has none. The broker
        tracks the order from then on (a restart adopts the day's orders this way): its fills
        beyond `counted` (what the journal already booked: `filled_quantity` shares at
        `avg_fill_price`) come out of `drain_fills`, and none of them twice."""
        ...

    def venue_open_orders(self) -> list[Order]:
        """Every order working at the broker now, ours or not, asked afresh (reconciliation)."""
        ...

    @property
    def reconnects(self) -> int:
        """How often the broker's update stream reconnected (a reconciliation follows each)."""
        ...


class SimulatedBroker(Broker, Protocol):
    """A broker whose account lives in the run (`capabilities.simulated`): a restarted day-run
    rebuilds it from the order journal instead of asking a venue. `lookup` with `counted`
    restores an order the journal holds as acknowledged and still working (or filled, once
    `counted` holds all its shares), and the journaled fills are booked at the steps that
    first counted them."""

    def book_journaled(self, fills: Sequence[Fill]) -> None:
        """Book fills an earlier day-run of the day made and journaled into cash and positions,
        as they were booked then; they are not reported again (`drain_fills`)."""
        ...
