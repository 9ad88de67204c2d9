"""The pre-trade checks: a pure function from an order, the account as it stands and the limits
to the first check the order fails (or None).

Every limit allows its value exactly (`value <= limit` passes) and refuses anything over it.
Exits (orders that only shrink the ordering strategy's own position, its working orders on that
side counted, without growing the account's net position) pass the checks that guard against
new risk: the time windows, the daily loss limit, the pattern-day-trader rule, the size limits,
`max_open_orders` (a stop-loss is never crowded out) and buying power. Every order a strategy
sends is subject to the halt, the short-selling rule, `max_orders_per_minute` and the price
collar. (The ExecutionManager's own flatten orders are not checked at all.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from mismarterad.core.orders import OrderRequest, RejectCategory, Side
from mismarterad.core.risk import PDT_EQUITY_MINIMUM, PDT_MAX_DAY_TRADES, RiskCheck, RiskLimits

__all__ = ["AccountState", "Verdict", "check_order", "is_entry", "malformed", "over_limit", "worst_price"]


@dataclass(frozen=True, slots=True)
class AccountState:
    """What the checks read, taken by the ExecutionManager at the moment of the order."""

    now_utc: datetime
    halted: str | None  # why every order is refused now (operator halt, settling), or None
    loss_halted: bool  # the daily loss limit was passed earlier this session
    cash: float  # buying power: what buys may spend, open buys' estimated cost included below
    equity: float
    start_equity: float | None  # equity at the session's start (None: no session started)
    positions: Mapping[str, int]  # net shares per symbol (all strategies)
    own_position: int  # the ordering strategy's shares in the order's symbol
    open_orders: Sequence[OrderRequest]  # every working order of the account
    orders_last_minute: int  # orders sent in the minute before now
    prices: Mapping[str, float]  # last price per symbol
    entries_closed_utc: datetime | None  # close − flatten_minutes_before_close (the close if 0): no entry from then
    no_entry_utc: datetime | None  # no_entry_minutes_before_close: entries refused from then
    day_trades: int  # made in the last PDT_WINDOW_SESSIONS sessions, today included
    opened_today: frozenset[str] = frozenset()  # symbols opened today and still held: day trades to come
    bar_passed: str | None = None  # why the order's bar is past sending (a catch-up step on a live account)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A failed check: which, the limit and the value the order would make (for risk.csv; for
    the no-entry window, the minutes left to the close)."""

    check: RiskCheck
    limit: float | None
    value: float | None
    detail: str


def is_entry(request: OrderRequest, own_position: int, open_orders: Sequence[OrderRequest],
             net_position: int | None = None) -> bool:
    """Whether the order adds risk: anything but shrinking the strategy's own position toward
    zero (its other working orders on the same side counted as if filled), and anything that
    grows the account's net position in the symbol (`net_position`, when given)."""
    if net_position is not None and abs(net_position + request.side.sign * request.quantity) > abs(net_position):
        return True
    pending = _pending(request, open_orders)
    if request.side is Side.SELL:
        return not (own_position > 0 and request.quantity + pending <= own_position)
    return not (own_position < 0 and request.quantity + pending <= -own_position)


def _pending(request: OrderRequest, open_orders: Sequence[OrderRequest]) -> int:
    """Shares of the strategy's other working orders in the symbol on the order's side."""
    return sum(o.quantity for o in open_orders
               if o.strategy == request.strategy and o.symbol == request.symbol and o.side is request.side
               and o.client_order_id != request.client_order_id)


def check_order(request: OrderRequest, state: AccountState, limits: RiskLimits) -> Verdict | None:
    """The first check `request` fails, in `RiskCheck` order; None if it may be sent."""
    if state.halted is not None:
        return Verdict(RiskCheck.HALTED, None, None, state.halted)
    if state.bar_passed is not None:
        return Verdict(RiskCheck.BAR_PASSED, None, None, state.bar_passed)
    entry = is_entry(request, state.own_position, state.open_orders, state.positions.get(request.symbol, 0))
    if entry:
        verdict = _entry_verdict(request, state, limits)
        if verdict is not None:
            return verdict
    return _order_verdict(request, state, limits, entry)


def _entry_verdict(request: OrderRequest, state: AccountState, limits: RiskLimits) -> Verdict | None:
    now = state.now_utc
    if state.entries_closed_utc is not None and now >= state.entries_closed_utc:
        return Verdict(RiskCheck.FLATTEN_WINDOW, None, None,
                       f"no new entries from {state.entries_closed_utc.isoformat()} to the close "
                       "(flatten_minutes_before_close)")
    if state.no_entry_utc is not None and now >= state.no_entry_utc:
        left = limits.no_entry_minutes_before_close - (now - state.no_entry_utc).total_seconds() / 60
        return Verdict(RiskCheck.NO_ENTRY_WINDOW, limits.no_entry_minutes_before_close, left,
                       f"no new entries from {state.no_entry_utc.isoformat()} to the close")
    if limits.daily_loss_limit is not None and state.start_equity is not None:
        loss = state.start_equity - state.equity
        if state.loss_halted or over_limit(loss, limits.daily_loss_limit):
            return Verdict(RiskCheck.DAILY_LOSS, limits.daily_loss_limit, loss,
                           f"the day's loss {loss:.2f} passed the daily loss limit {limits.daily_loss_limit:.2f}")
    if limits.pattern_day_trader and state.equity < PDT_EQUITY_MINIMUM:
        # every position opened today closes today; a flip through zero of one opened today is a
        # day trade now and its new side another at the close
        net = state.positions.get(request.symbol, 0)
        after = net + request.side.sign * request.quantity
        flips = request.symbol in state.opened_today and net != 0 and after != 0 and (net > 0) != (after > 0)
        to_come = len(state.opened_today | {request.symbol}) + (1 if flips else 0)
        if state.day_trades + to_come > PDT_MAX_DAY_TRADES:
            return Verdict(RiskCheck.PATTERN_DAY_TRADER, PDT_MAX_DAY_TRADES, state.day_trades + to_come,
                           f"equity {state.equity:.2f} is under {PDT_EQUITY_MINIMUM:,.0f}: {state.day_trades} day "
                           f"trades in the last 5 sessions and {to_come} to come with this entry")
    return None


def _order_verdict(request: OrderRequest, state: AccountState, limits: RiskLimits, entry: bool) -> Verdict | None:
    symbol, quantity = request.symbol, request.quantity
    if request.side is Side.SELL and not limits.allow_short:
        pending = _pending(request, state.open_orders)
        if quantity + pending > state.own_position:
            return Verdict(RiskCheck.ALLOW_SHORT, max(state.own_position, 0), quantity + pending,
                           f"sell of {quantity} {symbol} exceeds {request.strategy}'s position "
                           f"({state.own_position}, {pending} pending): short selling is not allowed")
    if entry and limits.max_open_orders is not None and len(state.open_orders) + 1 > limits.max_open_orders:
        return Verdict(RiskCheck.MAX_OPEN_ORDERS, limits.max_open_orders, len(state.open_orders) + 1,
                       f"{len(state.open_orders)} orders are working (at most {limits.max_open_orders})")
    if limits.max_orders_per_minute is not None and state.orders_last_minute + 1 > limits.max_orders_per_minute:
        return Verdict(RiskCheck.MAX_ORDERS_PER_MINUTE, limits.max_orders_per_minute, state.orders_last_minute + 1,
                       f"{state.orders_last_minute} orders were sent in the last minute "
                       f"(at most {limits.max_orders_per_minute})")
    last = state.prices.get(symbol)
    asked = request.limit_price if request.limit_price is not None else request.stop_price
    if limits.price_collar_pct is not None and asked is not None:
        if last is None or last <= 0:
            return Verdict(RiskCheck.PRICE_COLLAR, limits.price_collar_pct, None,
                           f"no last price of {symbol} to check the order's price {asked} against")
        off = abs(asked - last) / last * 100.0
        if over_limit(off, limits.price_collar_pct):
            return Verdict(RiskCheck.PRICE_COLLAR, limits.price_collar_pct, off,
                           f"price {asked} is {off:.2f}% from the last price {last} "
                           f"(at most {limits.price_collar_pct}%)")
    if not entry:
        return None
    price = worst_price(request, last)
    verdict = _size_verdict(request, state, limits, price)
    if verdict is not None:
        return verdict
    if price is None:  # nothing to value it by: no dollar limit nor the buying power could hold
        return Verdict(RiskCheck.BUYING_POWER, None, None,
                       f"no price of {symbol} is known yet: a market entry cannot be checked against the "
                       "buying power (wait for its first bar)")
    return _buying_power_verdict(request, state, limits, price)


def worst_price(request: OrderRequest, last: float | None) -> float | None:
    """The highest price the order may fill at, as far as can be known: a buy limit's own
    price, a sell stop's own price, else the last price or the order's own, whichever is higher
    (a buy stop or a sell limit on the wrong side of the market fills at once, at the market)."""
    if request.limit_price is not None and request.side is Side.BUY:
        return request.limit_price
    if request.stop_price is not None and request.side is Side.SELL:
        return request.stop_price
    asked = request.limit_price if request.limit_price is not None else request.stop_price
    known = [p for p in (asked, last) if p is not None]
    return max(known) if known else None


def _buying_power_verdict(request: OrderRequest, state: AccountState, limits: RiskLimits,
                          price: float) -> Verdict | None:
    """An entry (a buy, or with shorting a short sale) costs its notional out of the buying power:
    the cash less twice the short positions' value (their proceeds are in the cash, and covering
    them needs as much again), less what the working entries would cost. Long only, that is
    the cash less the working buys."""
    shorts = sum(-q * state.prices.get(s, 0.0) for s, q in state.positions.items() if q < 0)
    power = state.cash - 2 * shorts
    reserved = sum(_estimate(o, state.prices) for o in state.open_orders
                   if o.side is Side.BUY or limits.allow_short)
    cost = price * request.quantity
    if over_limit(cost + reserved, power):
        return Verdict(RiskCheck.BUYING_POWER, power, cost + reserved,
                       f"{request.side.value} of {request.quantity} {request.symbol} (about {cost:.2f}) exceeds the "
                       f"buying power ({power:.2f}, {reserved:.2f} reserved by working orders)")
    return None


def _size_verdict(request: OrderRequest, state: AccountState, limits: RiskLimits,
                  price: float | None) -> Verdict | None:
    """Shares, notional and gross exposure as if every working order of the account filled."""
    symbol = request.symbol
    exposure = _worst_exposures(state, request)
    shares = exposure.get(symbol, 0)
    if limits.max_shares_per_symbol is not None and shares > limits.max_shares_per_symbol:
        return Verdict(RiskCheck.MAX_SHARES, limits.max_shares_per_symbol, shares,
                       f"{symbol} would reach {shares} shares (at most {limits.max_shares_per_symbol})")
    if price is None:
        return None  # the dollar limits need a price: the caller refuses an entry it cannot value
    if limits.max_notional_per_symbol is not None and over_limit(shares * price, limits.max_notional_per_symbol):
        return Verdict(RiskCheck.MAX_NOTIONAL, limits.max_notional_per_symbol, shares * price,
                       f"{symbol} would reach {shares * price:.2f} (at most {limits.max_notional_per_symbol:.2f})")
    if limits.max_gross_exposure is not None:
        gross = sum(n * (price if s == symbol else state.prices.get(s, 0.0)) for s, n in exposure.items())
        if over_limit(gross, limits.max_gross_exposure):
            return Verdict(RiskCheck.MAX_GROSS_EXPOSURE, limits.max_gross_exposure, gross,
                           f"gross exposure would reach {gross:.2f} (at most {limits.max_gross_exposure:.2f})")
    return None


def _worst_exposures(state: AccountState, request: OrderRequest) -> dict[str, int]:
    """Per symbol, the largest absolute net position the working orders (and `request`) can
    leave: all its buys filled, or all its sells."""
    buys: dict[str, int] = {}
    sells: dict[str, int] = {}
    for order in (*state.open_orders, request):
        book = buys if order.side is Side.BUY else sells
        book[order.symbol] = book.get(order.symbol, 0) + order.quantity
    symbols = set(state.positions) | set(buys) | set(sells)
    return {s: max(abs(state.positions.get(s, 0) + buys.get(s, 0)), abs(state.positions.get(s, 0) - sells.get(s, 0)))
            for s in symbols}


def over_limit(value: float, limit: float) -> bool:
    """`value > limit` for money and percentages, blind to binary rounding: 1.10 against a last
    price of 1.00 is exactly 10 %, though the float division says 10.000000000000009."""
    return value > limit + 1e-9 * max(1.0, abs(limit))


def _estimate(order: OrderRequest, prices: Mapping[str, float]) -> float:
    price = worst_price(order, prices.get(order.symbol))
    return 0.0 if price is None else price * order.quantity


def malformed(request: OrderRequest) -> tuple[RejectCategory, str] | None:
    """What no broker would take, refused here before any check: a quantity that is not a
    positive whole number, a price that is not a positive finite number, a limit and a stop."""
    if request.limit_price is not None and request.stop_price is not None:
        return (RejectCategory.UNSUPPORTED_TYPE,
                "give a limit or a stop price, not both (stop-limit orders are not supported)")
    quantity = request.quantity
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:  # submit() made ints int
        return RejectCategory.INVALID_QUANTITY, f"quantity must be a positive whole number of shares, got {quantity!r}"
    price = request.limit_price if request.limit_price is not None else request.stop_price
    if price is not None and (isinstance(price, bool) or not isinstance(price, int | float)
                              or not math.isfinite(price) or price <= 0):
        return RejectCategory.INVALID_PRICE, f"a {request.type.value} order needs a positive price, got {price!r}"
    return None
