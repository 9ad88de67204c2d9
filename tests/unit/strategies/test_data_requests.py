"""Indicator names and a strategy's up-front requests: every mistake is named, nothing is guessed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismarterad.core.errors import ConfigError
from mismarterad.strategies import IndicatorRequest, Strategy, collect_requests
from mismarterad.strategies.data_requests import INDICATOR_FORMS


@pytest.mark.parametrize(("text", "name", "interval"), [
    ("rsi(14)", "rsi(14)", "1m"),
    ("ema(20)@5m", "ema(20)", "5m"),
    (" sma( 3 ) ", "sma(3)", "1m"),
    ("atr(7)@60m", "atr(7)", "1h"),
    ("vwap", "vwap", "1m"),
    ("bollinger_upper(20)", "bollinger_upper(20,2)", "1m"),
    ("bollinger_lower(20, 2.5)@15m", "bollinger_lower(20,2.5)", "15m"),
])
def test_indicator_names_parse_to_their_canonical_form(text: str, name: str, interval: str) -> None:
    request = IndicatorRequest.parse(text)
    assert (request.name, request.interval) == (name, interval)


@pytest.mark.parametrize(("text", "says"), [
    ("rsi", "rsi needs its period, e.g. 'rsi(14)'"),
    ("rsx(14)", "unknown indicator 'rsx' (known: sma(N), ema(N), rsi(N), atr(N), vwap,"),
    ("RSI(14)", "is not an indicator name"),
    ("rsi(14", "is not an indicator name"),
    ("rsi(0)", "period: input should be greater than or equal to 1"),
    ("rsi(1.5)", "the period must be a whole number of bars, got '1.5'"),
    ("rsi(14,2)", "rsi takes a period, got 2 arguments"),
    ("vwap(5)", "vwap takes no period"),
    ("bollinger_upper(20,0)", "K (standard deviations) must be a number > 0"),
    ("bollinger_upper(20,nan)", "K (standard deviations) must be a number > 0"),
    ("ema(20)@1d", "must be an intraday interval"),
    ("ema(20)@5x", "invalid interval '5x'"),
])
def test_bad_indicator_names_say_what_was_expected(text: str, says: str) -> None:
    with pytest.raises(ValueError) as caught:
        IndicatorRequest.parse(text)
    assert says in str(caught.value) and repr(text) in str(caught.value)


def test_an_interval_given_twice_must_agree() -> None:
    assert IndicatorRequest.parse("ema(20)@5m", "5m").interval == "5m"
    assert IndicatorRequest.parse("ema(20)", "5m").interval == "5m"
    with pytest.raises(ValueError, match="names interval 5m but 15m was given as well"):
        IndicatorRequest.parse("ema(20)@5m", "15m")


_requests = st.builds(
    IndicatorRequest, kind=st.sampled_from([f.split("(")[0] for f in INDICATOR_FORMS]),
    interval=st.sampled_from(["1m", "2m", "5m", "15m", "1h", "4h"]), period=st.integers(1, 100_000),
    num_std=st.floats(0.01, 10, allow_nan=False).map(lambda k: round(k, 2)))


@given(_requests)
def test_a_requests_label_reads_back_as_the_same_indicator(request: IndicatorRequest) -> None:
    again = IndicatorRequest.parse(request.label)
    assert (again.name, again.interval) == (request.name, request.interval)
    assert IndicatorRequest.parse(request.name, request.interval).label == request.label


class _Inert:
    def market_time(self) -> None:
        return None


def _build(**attributes: object) -> Strategy:
    cls = type("Custom", (Strategy,), attributes)
    return cls("Custom#0", ("SPY",), Strategy.Params(), _Inert())  # type: ignore[arg-type]


def test_requests_are_collected_canonical_and_once_each() -> None:
    requests = collect_requests(_build(intervals=("1m", "60m"), read_intervals=("1d",),
                                       indicators=("rsi(14)", "rsi( 14 )", "ema(20)@5m",
                                                   IndicatorRequest(kind="sma", period=3))))
    assert requests.bar_intervals == ("1m", "1h")
    assert requests.readable == {"1m", "1h", "1d", "5m"}
    assert [r.label for r in requests.indicators] == ["rsi(14)@1m", "sma(3)@1m", "ema(20)@5m"]
    assert requests.daily_reads


def test_every_bad_request_is_listed_by_attribute() -> None:
    with pytest.raises(ConfigError) as caught:
        collect_requests(_build(intervals=("1d", "7x"), read_intervals="5m", indicators=("rsi", "rsx(3)")))
    problems = caught.value.problems
    assert problems[0].startswith("intervals: on_bar receives intraday bars only, got '1d'")
    assert problems[1].startswith("intervals: invalid interval '7x'")
    assert problems[2].startswith("read_intervals: expected a tuple of interval names")
    assert problems[3] == "indicators: 'rsi': rsi needs its period, e.g. 'rsi(14)'"
    assert problems[4].startswith("indicators: 'rsx(3)': unknown indicator 'rsx'")


def test_a_strategy_whose_request_hook_raises_is_a_config_problem() -> None:
    def indicator_requests(self: Strategy) -> list[str]:
        raise KeyError("period")

    with pytest.raises(ConfigError, match=r"indicator_requests\(\) raised KeyError: 'period'"):
        collect_requests(_build(indicator_requests=indicator_requests))
