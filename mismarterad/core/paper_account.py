"""The daemon's paper account across days: its balance, its days, and the store that keeps them.

A paper account is simulated: each day-run opens a fresh paper broker at the balance the day
opened with, and a restart rebuilds it from the day's order journal (runs/paper_account.py). What carries across days
and restarts is stored: when and with what cash the account was opened (or last reset), each
day's opening balance (fixed by the day's first day-run) and, once a day-run that traded the
whole day has settled, its closing balance. In between, the order journal is the record: a day
without a closing balance ends at its opening plus its journaled fills (`PaperBalance.after`,
the paper broker's own arithmetic). Implementations: repositories/paper_account_repository.py
(the database) and repositories/memory_paper_account_store.py, held to one contract suite.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from mismarterad.core.orders import Fill, Position

__all__ = ["PaperAccountOpened", "PaperAccountStore", "PaperBalance", "PaperDay", "cash_after", "position_after"]


def cash_after(cash: float, signed_quantity: int, price: float, commission: float) -> float:
    """The cash after a fill of `signed_quantity` shares (negative: sold) at `price`."""
    return cash - (signed_quantity * price + commission)


def position_after(held: Position, signed_quantity: int, price: float) -> Position:
    """`held` after a fill: added shares average in at `price`, the shares left after a reduction
    keep their cost, and a position opened (or flipped through zero) costs `price`."""
    quantity = held.quantity + signed_quantity
    if quantity == 0:
        avg = 0.0
    elif held.quantity == 0 or (held.quantity > 0) != (quantity > 0):
        avg = price
    elif abs(quantity) > abs(held.quantity):
        avg = (held.avg_price * abs(held.quantity) + price * abs(signed_quantity)) / abs(quantity)
    else:
        avg = held.avg_price
    return Position(held.symbol, quantity, avg)


@dataclass(frozen=True, slots=True)
class PaperBalance:
    """Cash and whole-share positions (average cost each, none of them zero, by symbol)."""

    cash: float
    positions: tuple[Position, ...] = ()

    @classmethod
    def of(cls, cash: float, positions: Iterable[Position]) -> PaperBalance:
        """A balance from a broker's report: zero positions dropped, the rest sorted by symbol."""
        return cls(cash, tuple(sorted((p for p in positions if p.quantity != 0), key=lambda p: p.symbol)))

    @property
    def positions_value(self) -> float:
        """The positions at their average cost: outside a session no bar prices them."""
        return sum((p.quantity * p.avg_price for p in self.positions), 0.0)

    @property
    def equity(self) -> float:
        return self.cash + self.positions_value

    def after(self, fill: Fill) -> PaperBalance:
        """This balance after `fill`, computed as the paper broker books it."""
        signed = fill.side.sign * fill.quantity
        held = {p.symbol: p for p in self.positions}
        moved = position_after(held.get(fill.symbol, Position(fill.symbol, 0, 0.0)), signed, fill.price)
        held[fill.symbol] = moved
        return PaperBalance.of(cash_after(self.cash, signed, fill.price, fill.commission), held.values())


@dataclass(frozen=True, slots=True)
class PaperAccountOpened:
    starting_cash: float
    opened_utc: datetime  # the daemon's clock when it was opened or last reset


@dataclass(frozen=True, slots=True)
class PaperDay:
    """One trading day of the account. `id_prefix` is what the ids of the day's orders start
    with in the order journal (services/order_ids.day_prefix), whose fills end a day that has
    no closing balance."""

    day: date
    id_prefix: str
    opening: PaperBalance
    closing: PaperBalance | None  # None while a day-run may trade the day, or after its last one was killed


class PaperAccountStore(Protocol):
    """The stored paper accounts, by name (the order journal's account name, `paper`). Each
    call is one committed transaction."""

    def opened(self, account: str) -> PaperAccountOpened | None:
        """When and with what cash the account was opened or last reset; None if it never was."""
        ...

    def open(self, account: str, starting_cash: float, opened_utc: datetime) -> None:
        """Open the account with `starting_cash` and no positions, or reset it so: its days are dropped."""
        ...

    def day(self, account: str, day: date) -> PaperDay | None: ...

    def latest_day(self, account: str, before: date | None = None) -> PaperDay | None:
        """The newest day stored (the newest before `before`, if given)."""
        ...

    def begin_day(self, account: str, day: date, id_prefix: str, opening: PaperBalance) -> PaperDay:
        """A day-run of `day` starts: the day keeps the opening and id prefix it has (the first
        day-run's), or gets `opening` and `id_prefix`; its closing is cleared. Returns the day
        stored."""
        ...

    def close_day(self, account: str, day: date, closing: PaperBalance) -> None:
        """A day-run that traded the whole day settled: its balance ends the day (for now)."""
        ...
