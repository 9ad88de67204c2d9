"""Fixtures of the protocol tests: emulator processes and real alpaca-py and schwab-py clients.

`replay` / `schwab_replay`: SPY's real bars of 2011-01-03/04 in the store, the clock from
09:29:50 New York on 2011-01-04 at 60x (one streamed minute per real second). `injected` /
`schwab_injected`: an empty store and a clock at 11:00 New York at 1x, moved only by bars the
test injects (deterministic fills).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import date
from typing import Any

import pytest
from alpaca.trading.stream import TradingStream

from support.schwab_emulator import SchwabEmulator, running_schwab_emulator
from support.alpaca_emulator import (
    SPY_JANUARY_2011,
    AlpacaEmulator,
    Collector,
    run_stream,
    running_emulator,
    sample_day_bars,
    stop_stream,
    wait_connected,
    write_store,
)

REPLAY_START = "2011-01-04T14:29:50+00:00"
INJECTED_CLOCK = "2011-01-04T16:00:00+00:00"  # 11:00 New York: the market is open


def _serving(running: Callable[..., AbstractContextManager[Any]], factory: pytest.TempPathFactory, name: str,
             clock_start: str, speed: float, with_spy: bool) -> Iterator[Any]:
    """An emulator (`running(data, state, ...)`) for a module; SPY's two days in its store if `with_spy`."""
    root = factory.mktemp(name)
    if with_spy:
        write_store(root / "data", [*sample_day_bars(SPY_JANUARY_2011, "SPY", date(2011, 1, 3)),
                                    *sample_day_bars(SPY_JANUARY_2011, "SPY", date(2011, 1, 4))])
    with running(root / "data", root / "state", clock_start=clock_start, speed=speed) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlpacaEmulator]:
    yield from _serving(running_emulator, tmp_path_factory, "replay", REPLAY_START, 60, True)


@pytest.fixture(scope="module")
def injected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlpacaEmulator]:
    yield from _serving(running_emulator, tmp_path_factory, "injected", INJECTED_CLOCK, 1, False)


@pytest.fixture(scope="module")
def trade_updates(injected: AlpacaEmulator) -> Iterator[Collector]:
    """Trade updates of the `injected` emulator, through the real TradingStream."""
    collector = Collector()
    stream = TradingStream(injected.key_id, injected.secret, url_override=injected.trading_stream_url)
    stream.subscribe_trade_updates(collector.handler)
    thread = run_stream(stream)
    wait_connected(injected, "/stream")
    yield collector
    stop_stream(stream, thread, injected)


@pytest.fixture(scope="module")
def schwab_replay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SchwabEmulator]:
    yield from _serving(running_schwab_emulator, tmp_path_factory, "schwab-replay", REPLAY_START, 60, True)


@pytest.fixture(scope="module")
def schwab_injected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SchwabEmulator]:
    yield from _serving(running_schwab_emulator, tmp_path_factory, "schwab-injected", INJECTED_CLOCK, 1, False)
