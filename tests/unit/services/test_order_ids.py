"""Client order ids: deterministic, within 64 characters, distinct for distinct orders, and
readable back as a strategy's order or the engine's closing order."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from mismarterad.services.order_ids import MAX_ID_LEN, SessionOrderIds, day_prefix, is_closing

DAY = date(2011, 1, 4)
names = st.text(min_size=1, max_size=80)


def test_an_id_reads_as_day_session_strategy_symbol_kind_and_sequence() -> None:
    ids = SessionOrderIds("spy intraday", DAY)
    first, second = ids.next("sma_cross", "SPY"), ids.next("sma_cross", "SPY")
    closing = ids.next("sma_cross", "SPY", closing=True)
    prefix = day_prefix(DAY, "spy intraday")
    assert first == f"{prefix}sma_cross-SPY-o0001" and second.endswith("-o0002") and closing.endswith("-c0001")
    assert prefix.startswith("20110104-") and len(prefix) == 16
    ids.begin_day(date(2011, 1, 5))
    assert ids.next("sma_cross", "SPY").startswith("20110105-") and ids.next("sma_cross", "SPY").endswith("-o0002")


def test_closing_ids_are_told_apart_from_strategy_orders() -> None:
    ids = SessionOrderIds("s", DAY)
    assert is_closing(ids.next("c", "C", closing=True))
    assert not is_closing(ids.next("c", "C"))
    assert not is_closing("by-hand-c0001x") and not is_closing("o000001")


@given(strategy=names, symbol=names, session=names, count=st.integers(1, 30), closing=st.booleans())
def test_ids_fit_are_distinct_and_the_same_again_for_the_same_decisions(
        strategy: str, symbol: str, session: str, count: int, closing: bool) -> None:
    ids = SessionOrderIds(session, DAY)
    run = [ids.next(strategy, symbol, closing=closing) for _ in range(count)]
    again = SessionOrderIds(session, DAY)
    assert [again.next(strategy, symbol, closing=closing) for _ in range(count)] == run, "a resumed day"
    assert len(set(run)) == count
    assert all(len(i) <= MAX_ID_LEN and is_closing(i) is closing for i in run)


@given(first=st.tuples(names, names), second=st.tuples(names, names))
def test_different_strategies_or_symbols_never_share_an_id(first: tuple[str, str], second: tuple[str, str]) -> None:
    ids = SessionOrderIds("s", DAY)
    a, b = ids.next(*first), ids.next(*second)
    assert a != b and ids.next(*first) not in (a, b)


def test_a_kept_prefix_names_its_days_orders_whatever_the_session_is_named_now() -> None:
    kept = day_prefix(DAY, "before the rename")
    ids = SessionOrderIds("after the rename", DAY, kept_prefix=kept)
    assert ids.next("s", "SPY") == f"{kept}s-SPY-o0001"
    ids.begin_day(DAY)  # the session starts (ExecutionManager.begin_session): still the kept one
    assert ids.prefix == kept
    ids.begin_day(date(2011, 1, 5))
    assert ids.prefix == day_prefix(date(2011, 1, 5), "after the rename"), "another day: the session's own"
