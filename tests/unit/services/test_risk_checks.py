"""The pure pre-trade checks: every check at its limit, just under and just over, plus properties.

Every limit allows its value exactly and refuses anything over it; exits (shrinking the
strategy's own position toward zero, its pending same-side orders counted) skip the entry-only
checks (time windows, daily loss, pattern day trader, size limits).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mismarterad.core.orders import OrderRequest, OrderType, Side
from mismarterad.core.risk import PDT_EQUITY_MINIMUM, RiskCheck, RiskLimits
from mismarterad.services.risk_checks import AccountState, Verdict, check_order, is_entry

NOW = datetime(2011, 1, 3, 20, 0, tzinfo=UTC)
CLOSE = datetime(2011, 1, 3, 21, 0, tzinfo=UTC)
ME, OTHER = "s#0", "s#1"

ENTRY_ONLY = {RiskCheck.FLATTEN_WINDOW, RiskCheck.NO_ENTRY_WINDOW, RiskCheck.DAILY_LOSS,
              RiskCheck.PATTERN_DAY_TRADER, RiskCheck.MAX_SHARES, RiskCheck.MAX_NOTIONAL,
              RiskCheck.MAX_GROSS_EXPOSURE}
SIZE_CHECKS = {RiskCheck.MAX_SHARES, RiskCheck.MAX_NOTIONAL, RiskCheck.MAX_GROSS_EXPOSURE}


def req(side: Side, quantity: int, symbol: str = "SPY", limit: float | None = None, stop: float | None = None,
        strategy: str = ME, oid: str = "o999999", at: datetime = NOW) -> OrderRequest:
    kind = OrderType.LIMIT if limit is not None else OrderType.STOP if stop is not None else OrderType.MARKET
    return OrderRequest(oid, symbol, side, quantity, kind, limit, stop, at, strategy)


def buy(quantity: int, **kw: object) -> OrderRequest:
    return req(Side.BUY, quantity, **kw)  # type: ignore[arg-type]


def sell(quantity: int, **kw: object) -> OrderRequest:
    return req(Side.SELL, quantity, **kw)  # type: ignore[arg-type]


def state(**overrides: object) -> AccountState:
    """A rich, unconstrained account: 1,000,000 cash, flat, SPY at 100, no windows."""
    base = AccountState(now_utc=NOW, halted=None, loss_halted=False, cash=1_000_000.0, equity=1_000_000.0,
                        start_equity=1_000_000.0, positions={}, own_position=0, open_orders=[],
                        orders_last_minute=0, prices={"SPY": 100.0, "QQQ": 200.0, "IWM": 50.0},
                        entries_closed_utc=None, no_entry_utc=None, day_trades=0)
    return replace(base, **overrides)


def long(shares: int, **overrides: object) -> AccountState:
    """The strategy (and the account) hold `shares` SPY."""
    return state(**{"positions": {"SPY": shares}, "own_position": shares, **overrides})


def refused(verdict: Verdict | None, check: RiskCheck, limit: float | None, value: float | None) -> None:
    assert verdict is not None, "expected a refusal"
    assert verdict.check is check, verdict
    assert verdict.limit == (pytest.approx(limit) if limit is not None else None)
    assert verdict.value == (pytest.approx(value) if value is not None else None)
    assert verdict.detail


COVERED: set[RiskCheck] = set()
T = TypeVar("T")


def covers(check: RiskCheck) -> Callable[[T], T]:
    """Mark a test as the boundary test of `check` (every check must have one)."""
    COVERED.add(check)
    return lambda f: f


# -- halted --------------------------------------------------------------------------------


@covers(RiskCheck.HALTED)
def test_halted_refuses_everything_exits_too() -> None:
    assert check_order(buy(1), state(), RiskLimits()) is None  # not halted: passes
    halted = long(100, halted="trading is halted")
    for request in (buy(1), sell(1), sell(100), buy(1, limit=100.0), sell(50, stop=90.0)):
        verdict = check_order(request, halted, RiskLimits(allow_short=True))
        refused(verdict, RiskCheck.HALTED, None, None)
        assert verdict is not None and verdict.detail == "trading is halted"


def test_halted_comes_before_every_other_check() -> None:
    everything = RiskLimits(max_shares_per_symbol=1, max_notional_per_symbol=1.0, max_gross_exposure=1.0,
                            max_open_orders=1, max_orders_per_minute=1, price_collar_pct=1.0, daily_loss_limit=1.0)
    bad = state(halted="settling", loss_halted=True, cash=0.0, equity=1.0, day_trades=9,
                entries_closed_utc=NOW, no_entry_utc=NOW, orders_last_minute=5, open_orders=[buy(5, oid="o1")])
    refused(check_order(buy(10, limit=1.0), bad, everything), RiskCheck.HALTED, None, None)
    refused(check_order(buy(10, limit=1.0), replace(bad, halted=None), everything), RiskCheck.FLATTEN_WINDOW,
            None, None)


# -- bar passed ----------------------------------------------------------------------------


@covers(RiskCheck.BAR_PASSED)
def test_a_passed_bar_sends_nothing_exits_too_and_comes_right_after_halted() -> None:
    passed = long(100, bar_passed="decided on a bar that passed")
    for request in (buy(1), sell(1), sell(100), buy(1, limit=100.0)):
        refused(check_order(request, passed, RiskLimits(allow_short=True)), RiskCheck.BAR_PASSED, None, None)
    refused(check_order(buy(1), replace(passed, halted="halted"), RiskLimits()), RiskCheck.HALTED, None, None)
    refused(check_order(buy(1), replace(passed, entries_closed_utc=NOW), RiskLimits()), RiskCheck.BAR_PASSED,
            None, None)
    assert check_order(sell(100), replace(passed, bar_passed=None), RiskLimits()) is None


# -- time windows ----------------------------------------------------------------------------


@covers(RiskCheck.FLATTEN_WINDOW)
def test_flatten_window_refuses_entries_from_the_instant_on() -> None:
    closed = CLOSE - timedelta(minutes=15)
    limits = RiskLimits()
    refused(check_order(buy(1), state(now_utc=closed, entries_closed_utc=closed), limits),
            RiskCheck.FLATTEN_WINDOW, None, None)
    refused(check_order(buy(1), state(now_utc=closed + timedelta(minutes=5), entries_closed_utc=closed), limits),
            RiskCheck.FLATTEN_WINDOW, None, None)
    assert check_order(buy(1), state(now_utc=closed - timedelta(minutes=1), entries_closed_utc=closed), limits) is None
    assert check_order(buy(1), state(now_utc=closed - timedelta(seconds=1), entries_closed_utc=closed),
                       limits) is None
    # an exit passes inside the window
    assert check_order(sell(100), long(100, now_utc=closed, entries_closed_utc=closed), limits) is None


@covers(RiskCheck.NO_ENTRY_WINDOW)
def test_no_entry_window_refuses_entries_from_the_instant_on_with_the_minutes_left() -> None:
    limits = RiskLimits(no_entry_minutes_before_close=10)
    start = CLOSE - timedelta(minutes=10)
    refused(check_order(buy(1), state(now_utc=start, no_entry_utc=start), limits),
            RiskCheck.NO_ENTRY_WINDOW, 10, 10)
    refused(check_order(buy(1), state(now_utc=start + timedelta(minutes=7), no_entry_utc=start), limits),
            RiskCheck.NO_ENTRY_WINDOW, 10, 3)
    assert check_order(buy(1), state(now_utc=start - timedelta(minutes=1), no_entry_utc=start), limits) is None
    assert check_order(buy(1), state(now_utc=start - timedelta(minutes=2), no_entry_utc=start), limits) is None
    assert check_order(sell(40), long(100, now_utc=start, no_entry_utc=start), limits) is None  # an exit


# -- daily loss ------------------------------------------------------------------------------


@covers(RiskCheck.DAILY_LOSS)
def test_daily_loss_limit_allows_the_limit_and_refuses_over_it() -> None:
    limits = RiskLimits(daily_loss_limit=1_000.0)
    assert check_order(buy(1), state(start_equity=100_000.0, equity=99_000.0), limits) is None  # loss == limit
    assert check_order(buy(1), state(start_equity=100_000.0, equity=99_001.0), limits) is None  # under
    refused(check_order(buy(1), state(start_equity=100_000.0, equity=98_999.0), limits),
            RiskCheck.DAILY_LOSS, 1_000.0, 1_001.0)


def test_daily_loss_refuses_while_loss_halted_but_exits_pass() -> None:
    limits = RiskLimits(daily_loss_limit=1_000.0)
    refused(check_order(buy(1), state(loss_halted=True), limits), RiskCheck.DAILY_LOSS, 1_000.0, 0.0)
    over = long(100, start_equity=100_000.0, equity=90_000.0)
    assert check_order(sell(100), over, limits) is None
    assert check_order(sell(100), replace(over, loss_halted=True), limits) is None
    assert check_order(buy(1), state(start_equity=None, equity=1.0), limits) is None  # no session started
    assert check_order(buy(1), state(loss_halted=True), RiskLimits()) is None  # no limit configured


# -- pattern day trader ----------------------------------------------------------------------


@covers(RiskCheck.PATTERN_DAY_TRADER)
def test_pattern_day_trader_rule() -> None:
    small = dict(cash=20_000.0, equity=24_999.99, start_equity=24_999.99)
    refused(check_order(buy(1), state(day_trades=3, **small), RiskLimits()), RiskCheck.PATTERN_DAY_TRADER, 3, 4)
    refused(check_order(buy(1), state(day_trades=5, **small), RiskLimits()), RiskCheck.PATTERN_DAY_TRADER, 3, 6)
    assert check_order(buy(1), state(day_trades=2, **small), RiskLimits()) is None
    assert check_order(buy(1), state(day_trades=3, cash=20_000.0, equity=PDT_EQUITY_MINIMUM), RiskLimits()) is None
    assert check_order(sell(10), long(10, day_trades=3, **small), RiskLimits()) is None  # an exit
    assert check_order(buy(1), state(day_trades=3, **small), RiskLimits(pattern_day_trader=False)) is None


# -- short selling ---------------------------------------------------------------------------


@covers(RiskCheck.ALLOW_SHORT)
def test_allow_short_false_refuses_a_sell_beyond_the_own_position_pending_sells_counted() -> None:
    pending = [sell(30, oid="o1", stop=90.0), sell(500, oid="o2", strategy=OTHER)]  # OTHER's sells are not ours
    held = long(100, positions={"SPY": 600}, open_orders=pending)
    assert check_order(sell(70), held, RiskLimits()) is None  # 70 + 30 == 100
    assert check_order(sell(69), held, RiskLimits()) is None
    refused(check_order(sell(71), held, RiskLimits()), RiskCheck.ALLOW_SHORT, 100, 101)
    refused(check_order(sell(1), state(), RiskLimits()), RiskCheck.ALLOW_SHORT, 0, 1)
    # OTHER holds nothing itself: the account's 600 shares do not let it sell
    refused(check_order(sell(1, strategy=OTHER), replace(held, own_position=0), RiskLimits()),
            RiskCheck.ALLOW_SHORT, 0, 501)


def test_allow_short_true_passes_the_sell() -> None:
    held = long(100, open_orders=[sell(30, oid="o1", stop=90.0)])
    assert check_order(sell(71), held, RiskLimits(allow_short=True)) is None
    assert check_order(sell(500), state(), RiskLimits(allow_short=True)) is None


# -- order counts ----------------------------------------------------------------------------


@covers(RiskCheck.MAX_OPEN_ORDERS)
def test_max_open_orders_counts_both_sides() -> None:
    limits = RiskLimits(max_open_orders=3)
    two = [buy(1, oid="o1", strategy=OTHER, symbol="QQQ", limit=150.0),
           sell(5, oid="o2", strategy=OTHER, symbol="IWM", stop=40.0)]
    assert check_order(buy(1), state(open_orders=two), limits) is None  # 2 + 1 == 3
    assert check_order(buy(1), state(open_orders=two[:1]), limits) is None
    three = [*two, sell(5, oid="o3", stop=90.0)]
    refused(check_order(buy(1), long(100, open_orders=three), limits), RiskCheck.MAX_OPEN_ORDERS, 3, 4)
    # an exit is never crowded out: a stop-loss can always be placed
    assert check_order(sell(10), long(100, open_orders=three), limits) is None


@covers(RiskCheck.MAX_ORDERS_PER_MINUTE)
def test_max_orders_per_minute() -> None:
    limits = RiskLimits(max_orders_per_minute=5)
    assert check_order(buy(1), state(orders_last_minute=4), limits) is None
    assert check_order(buy(1), state(orders_last_minute=3), limits) is None
    refused(check_order(buy(1), state(orders_last_minute=5), limits), RiskCheck.MAX_ORDERS_PER_MINUTE, 5, 6)
    refused(check_order(sell(10), long(10, orders_last_minute=5), limits), RiskCheck.MAX_ORDERS_PER_MINUTE, 5, 6)


# -- price collar ----------------------------------------------------------------------------


@covers(RiskCheck.PRICE_COLLAR)
def test_price_collar_on_limit_prices() -> None:
    limits = RiskLimits(price_collar_pct=5.0)
    assert check_order(buy(1, limit=105.0), state(), limits) is None  # exactly 5 %
    assert check_order(buy(1, limit=95.0), state(), limits) is None
    assert check_order(buy(1, limit=104.0), state(), limits) is None
    refused(check_order(buy(1, limit=106.0), state(), limits), RiskCheck.PRICE_COLLAR, 5.0, 6.0)
    refused(check_order(buy(1, limit=94.0), state(), limits), RiskCheck.PRICE_COLLAR, 5.0, 6.0)
    assert check_order(buy(1), state(), limits) is None  # a market order has no price to collar


def test_price_collar_on_stop_prices_exits_included() -> None:
    limits = RiskLimits(price_collar_pct=5.0)
    assert check_order(sell(10, stop=95.0), long(10), limits) is None
    assert check_order(sell(10, stop=96.0), long(10), limits) is None
    refused(check_order(sell(10, stop=94.0), long(10), limits), RiskCheck.PRICE_COLLAR, 5.0, 6.0)


def test_price_collar_without_a_last_price_refuses() -> None:
    limits = RiskLimits(price_collar_pct=5.0)
    refused(check_order(buy(1, symbol="XYZ", limit=10.0), state(), limits), RiskCheck.PRICE_COLLAR, 5.0, None)
    refused(check_order(buy(1, limit=10.0), state(prices={"SPY": 0.0}), limits), RiskCheck.PRICE_COLLAR, 5.0, None)
    # a market order has no price to collar, but an entry with no price at all cannot be valued
    refused(check_order(buy(1, symbol="XYZ"), state(), limits), RiskCheck.BUYING_POWER, None, None)


def test_price_collar_allows_a_cent_price_exactly_at_the_collar() -> None:
    limits = RiskLimits(price_collar_pct=10.0)
    assert check_order(buy(1, limit=1.10), state(prices={"SPY": 1.00}), limits) is None


# -- size limits -----------------------------------------------------------------------------


@covers(RiskCheck.MAX_SHARES)
def test_max_shares_per_symbol_counts_working_orders() -> None:
    limits = RiskLimits(max_shares_per_symbol=100)
    working = state(open_orders=[buy(20, oid="o1", limit=99.0), buy(10, oid="o2", strategy=OTHER)])
    assert check_order(buy(70), working, limits) is None  # 20 + 10 + 70 == 100
    assert check_order(buy(69), working, limits) is None
    refused(check_order(buy(71), working, limits), RiskCheck.MAX_SHARES, 100, 101)
    held = state(positions={"SPY": 60}, own_position=0, open_orders=[buy(20, oid="o1", strategy=OTHER)])
    refused(check_order(buy(21), held, limits), RiskCheck.MAX_SHARES, 100, 101)
    assert check_order(buy(20), held, limits) is None
    assert check_order(buy(101, symbol="QQQ"), state(cash=1e9), RiskLimits(max_shares_per_symbol=101)) is None


def test_max_shares_counts_a_short_side_with_pending_sells() -> None:
    limits = RiskLimits(max_shares_per_symbol=100, allow_short=True)
    shorting = state(positions={"SPY": -50}, open_orders=[sell(20, oid="o1", strategy=OTHER)])
    assert check_order(sell(30), shorting, limits) is None  # -50 - 20 - 30 == -100
    refused(check_order(sell(31), shorting, limits), RiskCheck.MAX_SHARES, 100, 101)


def test_max_shares_without_a_price_still_counts() -> None:
    refused(check_order(buy(11, symbol="XYZ"), state(), RiskLimits(max_shares_per_symbol=10)),
            RiskCheck.MAX_SHARES, 10, 11)
    # within the share cap, but with no price the entry cannot be valued against the buying power
    refused(check_order(buy(10, symbol="XYZ"), state(), RiskLimits(max_shares_per_symbol=10)),
            RiskCheck.BUYING_POWER, None, None)


@covers(RiskCheck.MAX_NOTIONAL)
def test_max_notional_per_symbol() -> None:
    limits = RiskLimits(max_notional_per_symbol=10_000.0)
    assert check_order(buy(100), state(), limits) is None  # 100 x 100 == 10,000
    assert check_order(buy(99), state(), limits) is None
    refused(check_order(buy(101), state(), limits), RiskCheck.MAX_NOTIONAL, 10_000.0, 10_100.0)
    # valued at the order's own limit price, working orders included
    working = state(open_orders=[buy(25, oid="o1", strategy=OTHER)])
    assert check_order(buy(25, limit=200.0), working, limits) is None  # 50 x 200
    refused(check_order(buy(26, limit=200.0), working, limits), RiskCheck.MAX_NOTIONAL, 10_000.0, 10_200.0)


@covers(RiskCheck.MAX_GROSS_EXPOSURE)
def test_max_gross_exposure_over_several_symbols() -> None:
    limits = RiskLimits(max_gross_exposure=30_000.0, allow_short=True)
    book = state(positions={"SPY": 100, "QQQ": -25}, own_position=0,  # 10,000 long + 5,000 short
                 open_orders=[buy(50, oid="o1", strategy=OTHER, symbol="IWM", limit=50.0)])  # 2,500 working
    assert check_order(buy(250, symbol="IWM"), book, limits) is None  # (50 + 250) x 50 = 15,000: total 30,000
    assert check_order(buy(249, symbol="IWM"), book, limits) is None
    refused(check_order(buy(251, symbol="IWM"), book, limits), RiskCheck.MAX_GROSS_EXPOSURE, 30_000.0, 30_050.0)
    # a short adds to the gross as much as a long
    assert check_order(sell(62, symbol="QQQ"), book, limits) is None  # QQQ -87: 17,400 + 10,000 + 2,500
    refused(check_order(sell(63, symbol="QQQ"), book, limits), RiskCheck.MAX_GROSS_EXPOSURE, 30_000.0, 30_100.0)


# -- buying power ----------------------------------------------------------------------------


@covers(RiskCheck.BUYING_POWER)
def test_buying_power_reserves_open_buys() -> None:
    opens = [buy(20, oid="o1", strategy=OTHER, limit=100.0),  # 2,000
             buy(10, oid="o2", strategy=OTHER, symbol="QQQ"),  # 2,000 at QQQ's last price
             sell(10, oid="o3", stop=90.0)]  # sells reserve nothing
    account = long(10, cash=10_000.0, open_orders=opens)
    assert check_order(buy(60), account, RiskLimits()) is None  # 6,000 + 4,000 == 10,000
    assert check_order(buy(59), account, RiskLimits()) is None
    refused(check_order(buy(61), account, RiskLimits()), RiskCheck.BUYING_POWER, 10_000.0, 10_100.0)
    refused(check_order(buy(31, limit=200.0), account, RiskLimits()), RiskCheck.BUYING_POWER, 10_000.0, 10_200.0)
    refused(check_order(buy(1_000_000, symbol="XYZ"), account, RiskLimits()), RiskCheck.BUYING_POWER, None, None)


def test_buying_power_never_blocks_a_buy_to_cover_but_bounds_a_short_sale() -> None:
    short = state(positions={"SPY": -100}, own_position=-100, cash=5_000.0)
    assert not is_entry(buy(50), -100, [])
    assert check_order(buy(100), short, RiskLimits(allow_short=True)) is None  # an exit, whatever the cash
    # a short sale's notional comes out of the cash less twice the shorts' value (the proceeds are in it)
    flat = state(cash=10_000.0)
    assert check_order(sell(100), flat, RiskLimits(allow_short=True)) is None  # 100 x 100 == 10,000
    refused(check_order(sell(101), flat, RiskLimits(allow_short=True)), RiskCheck.BUYING_POWER, 10_000.0, 10_100.0)
    after = state(positions={"SPY": -100}, own_position=-100, cash=20_000.0)  # 10,000 of it is proceeds
    refused(check_order(sell(1), after, RiskLimits(allow_short=True)), RiskCheck.BUYING_POWER, 0.0, 100.0)


def test_every_check_has_a_boundary_test() -> None:
    assert set(RiskCheck) == COVERED


# -- is_entry --------------------------------------------------------------------------------


def test_is_entry_counts_the_strategys_pending_same_side_orders_only() -> None:
    assert not is_entry(sell(100), 100, [])
    assert is_entry(sell(101), 100, [])
    assert is_entry(sell(1), 0, [])
    assert is_entry(buy(1), 100, [])
    assert not is_entry(buy(100), -100, [])
    assert is_entry(buy(101), -100, [])
    assert is_entry(sell(71), 100, [sell(30, oid="o1")])
    assert not is_entry(sell(70), 100, [sell(30, oid="o1")])
    assert not is_entry(sell(70), 100, [sell(30, oid="o1", strategy=OTHER), sell(30, oid="o2", symbol="QQQ"),
                                        buy(30, oid="o3")])


# -- properties ------------------------------------------------------------------------------

SYMBOLS = ["SPY", "QQQ", "IWM"]
prices_st = st.dictionaries(st.sampled_from(SYMBOLS), st.integers(1, 100_000).map(lambda c: c / 100), max_size=3)


@st.composite
def open_orders_st(draw: st.DrawFn) -> list[OrderRequest]:
    orders = []
    for i in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["market", "limit", "stop"]))
        price = draw(st.integers(1, 100_000).map(lambda c: c / 100))
        orders.append(req(draw(st.sampled_from(list(Side))), draw(st.integers(1, 500)), draw(st.sampled_from(SYMBOLS)),
                          limit=price if kind == "limit" else None, stop=price if kind == "stop" else None,
                          strategy=draw(st.sampled_from([ME, OTHER])), oid=f"o{i:06d}"))
    return orders


limits_st = st.builds(
    RiskLimits,
    max_shares_per_symbol=st.none() | st.integers(1, 2_000),
    max_notional_per_symbol=st.none() | st.floats(1.0, 1e6),
    max_gross_exposure=st.none() | st.floats(1.0, 1e7),
    max_open_orders=st.none() | st.integers(1, 10),
    max_orders_per_minute=st.none() | st.integers(1, 10),
    price_collar_pct=st.none() | st.floats(0.01, 100.0),
    daily_loss_limit=st.none() | st.floats(1.0, 1e5),
    no_entry_minutes_before_close=st.integers(0, 390),
    allow_short=st.booleans(),
    pattern_day_trader=st.booleans(),
)

maybe_past = st.none() | st.integers(0, 600).map(lambda s: NOW - timedelta(seconds=s))


@st.composite
def account_st(draw: st.DrawFn, own: int, open_orders: list[OrderRequest], windows: bool = True) -> AccountState:
    positions = draw(st.dictionaries(st.sampled_from(SYMBOLS), st.integers(-1_000, 1_000), max_size=3))
    positions = {**positions, "SPY": positions.get("SPY", 0) + own}
    start = draw(st.none() | st.floats(1_000.0, 1e6))
    return AccountState(
        now_utc=NOW, halted=None, loss_halted=draw(st.booleans()), cash=draw(st.floats(0.0, 1e7)),
        equity=draw(st.floats(1_000.0, 1e6)), start_equity=start, positions=positions, own_position=own,
        open_orders=open_orders, orders_last_minute=draw(st.integers(0, 12)), prices=draw(prices_st),
        entries_closed_utc=draw(maybe_past) if windows else None, no_entry_utc=draw(maybe_past) if windows else None,
        day_trades=draw(st.integers(0, 6)))


@st.composite
def exit_case(draw: st.DrawFn) -> tuple[OrderRequest, AccountState]:
    own = draw(st.integers(1, 1_000)) * draw(st.sampled_from([1, -1]))
    side = Side.SELL if own > 0 else Side.BUY
    orders = draw(open_orders_st())
    pending = sum(o.quantity for o in orders if o.strategy == ME and o.symbol == "SPY" and o.side is side)
    assume(pending < abs(own))
    kind = draw(st.sampled_from(["market", "limit", "stop"]))
    price = draw(st.integers(1, 100_000).map(lambda c: c / 100))
    request = req(side, draw(st.integers(1, abs(own) - pending)), limit=price if kind == "limit" else None,
                  stop=price if kind == "stop" else None)
    return request, draw(account_st(own, orders))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(exit_case(), limits_st)
def test_property_an_exit_is_never_refused_by_an_entry_only_check(case: tuple[OrderRequest, AccountState],
                                                                 limits: RiskLimits) -> None:
    request, account = case
    assume(not is_entry(request, account.own_position, account.open_orders, account.positions.get("SPY", 0)))
    verdict = check_order(request, account, limits)
    assert verdict is None or verdict.check not in ENTRY_ONLY, verdict


@st.composite
def any_case(draw: st.DrawFn, windows: bool) -> tuple[OrderRequest, AccountState]:
    orders = draw(open_orders_st())
    own = draw(st.integers(-500, 500))
    kind = draw(st.sampled_from(["market", "limit", "stop"]))
    price = draw(st.integers(1, 100_000).map(lambda c: c / 100))
    request = req(draw(st.sampled_from(list(Side))), draw(st.integers(1, 2_000)), draw(st.sampled_from(SYMBOLS)),
                  limit=price if kind == "limit" else None, stop=price if kind == "stop" else None)
    account = draw(account_st(own if request.symbol == "SPY" else 0, orders, windows=windows))
    if draw(st.booleans()):
        account = replace(account, halted="trading is halted")
    return request, account


@settings(max_examples=150, deadline=None)
@given(any_case(windows=False))
def test_property_with_default_limits_only_halted_short_buying_power_and_pdt_refuse(
        case: tuple[OrderRequest, AccountState]) -> None:
    """RiskLimits() is "buying power checked, no shorting": the FINRA rule (on by default) is the
    only other check that can refuse, and only under 25,000 of equity with 3 day trades made.
    (No pre-close flatten: that is the session's `flatten_minutes_before_close`, not a RiskLimits key.)"""
    request, account = case
    verdict = check_order(request, account, RiskLimits())
    if verdict is None or verdict.check in (RiskCheck.HALTED, RiskCheck.ALLOW_SHORT, RiskCheck.BUYING_POWER):
        return
    assert verdict.check is RiskCheck.PATTERN_DAY_TRADER, verdict
    assert account.equity < PDT_EQUITY_MINIMUM and account.day_trades >= 3
    without_pdt = check_order(request, account, RiskLimits(pattern_day_trader=False))
    assert without_pdt is None or without_pdt.check in (RiskCheck.ALLOW_SHORT, RiskCheck.BUYING_POWER)


size_limits_st = st.builds(
    RiskLimits,
    max_shares_per_symbol=st.none() | st.integers(1, 3_000),
    max_notional_per_symbol=st.none() | st.floats(1.0, 1e6),
    max_gross_exposure=st.none() | st.floats(1.0, 1e7),
    allow_short=st.just(True),
    pattern_day_trader=st.just(False),
)


@settings(max_examples=150, deadline=None)
@given(any_case(windows=False), size_limits_st, st.data())
def test_property_size_checks_are_monotone_in_quantity(case: tuple[OrderRequest, AccountState],
                                                       limits: RiskLimits, data: st.DataObject) -> None:
    request, account = case
    account = replace(account, halted=None, cash=1e15,  # only the size checks can refuse now
                      prices={**account.prices, request.symbol: account.prices.get(request.symbol, 100.0)})
    verdict = check_order(request, account, limits)
    assert verdict is None or verdict.check in SIZE_CHECKS, verdict
    assume(verdict is None)
    smaller = data.draw(st.integers(1, request.quantity), label="smaller quantity")
    assert check_order(replace(request, quantity=smaller), account, limits) is None
