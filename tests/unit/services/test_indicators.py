"""Indicators against independent pandas references (1e-9 relative) on random series."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mismarterad.services.indicators import atr, bollinger, ema, rsi, sma, trailing_average, vwap

PRICES = st.lists(st.integers(1_000, 100_000).map(lambda c: c / 100), min_size=1, max_size=300)
PERIODS = st.integers(1, 40)


def assert_matches(ours: list[float | None], reference: pd.Series) -> None:
    assert len(ours) == len(reference)
    for i, (value, expected) in enumerate(zip(ours, reference, strict=True)):
        if pd.isna(expected):
            assert value is None, f"index {i}: expected undefined, got {value}"
        else:
            assert value is not None, f"index {i}: expected {expected}, got None"
            assert math.isclose(value, expected, rel_tol=1e-9, abs_tol=1e-9), f"index {i}: {value} != {expected}"


def wilder(series: pd.Series, n: int) -> pd.Series:
    """Wilder smoothing as the literature defines it: SMA of the first n, then alpha=1/n."""
    out = pd.Series(float("nan"), index=series.index)
    valid = series.dropna()
    if len(valid) < n:
        return out
    first = valid.index[n - 1]
    out[first] = valid.iloc[:n].mean()
    rest = valid.loc[first:].iloc[1:]
    value = out[first]
    for idx, x in rest.items():
        value = (value * (n - 1) + x) / n
        out[idx] = value
    return out


@settings(max_examples=80, deadline=None)
@given(values=PRICES, n=PERIODS)
def test_sma_and_trailing_average(values: list[float], n: int) -> None:
    reference = pd.Series(values).rolling(n).mean()
    assert_matches(sma(values, n), reference)
    assert_matches(trailing_average(values, n), reference)


@settings(max_examples=80, deadline=None)
@given(values=PRICES, n=PERIODS)
def test_ema_is_sma_seeded(values: list[float], n: int) -> None:
    s = pd.Series(values)
    seeded = s.copy()
    seeded.iloc[: n - 1] = float("nan")
    if len(s) >= n:
        seeded.iloc[n - 1] = s.iloc[:n].mean()
    reference = seeded.iloc[n - 1 :].ewm(alpha=2 / (n + 1), adjust=False).mean().reindex(s.index)
    assert_matches(ema(values, n), reference)


@settings(max_examples=80, deadline=None)
@given(values=PRICES, n=PERIODS)
def test_rsi_wilder(values: list[float], n: int) -> None:
    change = pd.Series(values).diff()
    gain, loss = wilder(change.clip(lower=0), n), wilder((-change).clip(lower=0), n)
    reference = (100 - 100 / (1 + gain / loss)).where(loss != 0, 100.0).where(gain.notna())
    assert_matches(rsi(values, n), reference)


@st.composite
def ohlcv(draw: st.DrawFn) -> pd.DataFrame:
    closes = draw(PRICES)
    rows = []
    for c in closes:
        up, down = draw(st.integers(0, 500)) / 100, draw(st.integers(0, 500)) / 100
        rows.append((c + up, max(c - down, 0.01), c, draw(st.integers(0, 10**6))))
    return pd.DataFrame(rows, columns=["high", "low", "close", "volume"])


@settings(max_examples=80, deadline=None)
@given(frame=ohlcv(), n=PERIODS)
def test_atr_wilder(frame: pd.DataFrame, n: int) -> None:
    previous = frame["close"].shift()
    true_range = pd.concat(
        [frame["high"] - frame["low"], (frame["high"] - previous).abs(), (frame["low"] - previous).abs()], axis=1
    ).max(axis=1)
    assert_matches(atr(frame["high"].tolist(), frame["low"].tolist(), frame["close"].tolist(), n), wilder(true_range, n))


@settings(max_examples=80, deadline=None)
@given(frame=ohlcv())
def test_vwap(frame: pd.DataFrame) -> None:
    typical = (frame["high"] + frame["low"] + frame["close"]) / 3
    cum_volume = frame["volume"].cumsum()
    reference = ((typical * frame["volume"]).cumsum() / cum_volume).where(cum_volume > 0)
    ours = vwap(frame["high"].tolist(), frame["low"].tolist(), frame["close"].tolist(), frame["volume"].tolist())
    assert_matches(ours, reference)


@settings(max_examples=80, deadline=None)
@given(values=PRICES, n=PERIODS, k=st.sampled_from([1.0, 2.0, 2.5]))
def test_bollinger_population_std(values: list[float], n: int, k: float) -> None:
    s = pd.Series(values)
    middle, std = s.rolling(n).mean(), s.rolling(n).std(ddof=0)
    bands = bollinger(values, n, k)
    assert_matches([None if b is None else b.middle for b in bands], middle)
    assert_matches([None if b is None else b.upper for b in bands], middle + k * std)
    assert_matches([None if b is None else b.lower for b in bands], middle - k * std)


@pytest.mark.parametrize("make", [lambda: sma([1.0], 0), lambda: rsi([1.0], 0), lambda: ema([1.0], 0)])
def test_a_period_below_one_is_refused(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="period must be >= 1"):
        make()
