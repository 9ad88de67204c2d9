"""Historical bars through StockHistoricalDataClient: paging across symbols, frames, no future bars.

Real AAPL and GOOGL 1-minute bars of 2023-05-24..26 (extended hours; the 24th has only its
evening) and SPY's of January 2011 in the store; the clock stands at 14:00 New York on
2023-05-26, so nothing after that may be served.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

from mismarterad.core.market_data import Bar
from support.alpaca_emulator import (
    SAMPLE_DATA,
    SPY_JANUARY_2011,
    AlpacaEmulator,
    running_emulator,
    sample_day_bars,
    write_store,
)

NOW = datetime(2023, 5, 26, 18, 0, tzinfo=UTC)  # 14:00 New York
DAYS = (date(2023, 5, 24), date(2023, 5, 25), date(2023, 5, 26))
FILES = {"AAPL": "aapl_1min_2023-05-24_to_26_ext_lwc.csv", "GOOGL": "googl_1min_2023-05-24_to_26_ext_lwc.csv"}


@pytest.fixture(scope="module")
def stored() -> dict[str, list[Bar]]:
    out = {s: [b for d in DAYS for b in sample_day_bars(SAMPLE_DATA / f, s, d)] for s, f in FILES.items()}
    january = [date(2011, 1, d) for d in range(1, 32)]
    out["SPY"] = [b for d in january for b in sample_day_bars(SPY_JANUARY_2011, "SPY", d)]
    return out


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory, stored: dict[str, list[Bar]]) -> Iterator[AlpacaEmulator]:
    root = tmp_path_factory.mktemp("history")
    write_store(root / "data", [b for bars in stored.values() for b in bars])
    # speed 0.001: the clock stands (practically) still at NOW for the whole module
    with running_emulator(root / "data", root / "state", clock_start=NOW.isoformat(), speed=0.001) as emulator:
        yield emulator


def client(emulator: AlpacaEmulator) -> StockHistoricalDataClient:
    return StockHistoricalDataClient(emulator.key_id, emulator.secret, url_override=emulator.base_url)


def test_minute_bars_of_three_symbols_page_through_and_match_the_store(history: AlpacaEmulator,
                                                                       stored: dict[str, list[Bar]]) -> None:
    start = datetime(2011, 1, 1, tzinfo=UTC)
    request = StockBarsRequest(symbol_or_symbols=["GOOGL", "SPY", "AAPL"], timeframe=TimeFrame.Minute, start=start)
    bars = client(history).get_stock_bars(request)
    pages = [r for r in history.requests() if r["path"] == "/v2/stocks/bars"]
    assert len(pages) >= 2  # over the SDK's 10000 bars a page: it followed next_page_token
    assert len(bars["SPY"]) > 10_000
    for symbol, series in stored.items():
        expected = [b for b in series if start <= b.start_utc and b.start_utc + timedelta(minutes=1) <= NOW]
        got = bars[symbol]
        assert [(b.timestamp, b.open, b.high, b.low, b.close, b.volume) for b in got] == [
            (b.start_utc, b.open, b.high, b.low, b.close, b.volume) for b in expected]
        if symbol != "SPY":
            assert got[-1].timestamp == NOW - timedelta(minutes=1)  # no bar ends after the clock
        assert got[0].trade_count == 0 and got[0].vwap is not None


def test_small_limit_pages_split_a_symbol_and_cross_to_the_next(history: AlpacaEmulator) -> None:
    request = StockBarsRequest(symbol_or_symbols=["AAPL", "GOOGL"], timeframe=TimeFrame.Minute,
                               start=datetime(2023, 5, 26, 17, 50, tzinfo=UTC), limit=15)
    params = {"symbols": "AAPL,GOOGL", "timeframe": "1Min", "start": "2023-05-26T17:50:00Z", "limit": 7}
    headers = {"APCA-API-KEY-ID": history.key_id, "APCA-API-SECRET-KEY": history.secret}
    first = requests.get(history.base_url + "/v2/stocks/bars", params=params, headers=headers, timeout=5).json()
    assert [len(v) for v in first["bars"].values()] == [7] and first["next_page_token"]
    second = requests.get(history.base_url + "/v2/stocks/bars", headers=headers, timeout=5,
                          params={**params, "page_token": first["next_page_token"]}).json()
    assert {s: len(v) for s, v in second["bars"].items()} == {"AAPL": 3, "GOOGL": 4}
    bars = client(history).get_stock_bars(request)
    assert len(bars["AAPL"]) == 10 and len(bars["GOOGL"]) == 5  # the SDK's limit caps the total


def test_daily_bars_aggregate_closed_sessions_only(history: AlpacaEmulator, stored: dict[str, list[Bar]]) -> None:
    bars = client(history).get_stock_bars(StockBarsRequest(
        symbol_or_symbols="AAPL", timeframe=TimeFrame.Day, start=datetime(2023, 5, 20, tzinfo=UTC)))["AAPL"]
    # the 24th has no regular-session bars, the 26th has not closed yet
    assert [b.timestamp for b in bars] == [datetime(2023, 5, 25, 4, 0, tzinfo=UTC)]
    regular = [b for b in stored["AAPL"] if datetime(2023, 5, 25, 13, 30, tzinfo=UTC) <= b.start_utc
               < datetime(2023, 5, 25, 20, 0, tzinfo=UTC)]
    assert (bars[0].open, bars[0].close, bars[0].volume) == (regular[0].open, regular[-1].close,
                                                             sum(b.volume for b in regular))


def test_five_minute_bars_are_whole_regular_session_windows(history: AlpacaEmulator) -> None:
    bars = client(history).get_stock_bars(StockBarsRequest(
        symbol_or_symbols="GOOGL", timeframe=TimeFrame(5, TimeFrameUnit.Minute),
        start=datetime(2023, 5, 26, 13, 0, tzinfo=UTC)))["GOOGL"]
    assert bars[0].timestamp == datetime(2023, 5, 26, 13, 30, tzinfo=UTC)  # the regular session only
    assert bars[-1].timestamp == datetime(2023, 5, 26, 17, 55, tzinfo=UTC)  # ended at 14:00, not later


def test_single_symbol_route_and_bad_parameters(history: AlpacaEmulator) -> None:
    headers = {"APCA-API-KEY-ID": history.key_id, "APCA-API-SECRET-KEY": history.secret}
    url = history.base_url + "/v2/stocks/AAPL/bars"
    body = requests.get(url, params={"timeframe": "1Min", "start": "2023-05-26T17:57:00Z"}, headers=headers,
                        timeout=5).json()
    assert body["symbol"] == "AAPL" and [b["t"] for b in body["bars"]] == [
        "2023-05-26T17:57:00Z", "2023-05-26T17:58:00Z", "2023-05-26T17:59:00Z"]
    assert body["next_page_token"] is None
    assert set(body["bars"][0]) == {"t", "o", "h", "l", "c", "v", "n", "vw"}
    for params, field in (({"timeframe": "1Week"}, "timeframe"), ({"limit": "0"}, "limit"),
                          ({"start": "yesterday"}, "start"), ({"page_token": "???"}, "page_token")):
        resp = requests.get(url, params={"timeframe": "1Min", **params}, headers=headers, timeout=5)
        assert resp.status_code == 422 and field in resp.json()["message"], (params, resp.text)
