"""The market replay: a plain thread that, at each minute's end on the clock, streams its bars.

Every minute boundary is visited in turn (none skipped, even when the clock outruns the loop),
because each minute may fill orders. At boundary `t` the thread routes queued orders if a
session opened, matches and streams the bars that started at `t - 1 min`, and at the close runs
the session close. Bars come from the store, one New York day at a time.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import structlog

from mismarterad.core.clock import Clock
from mismarterad.core.market_data import Bar
from mismarterad.integrations.venue_emulator.exchange import Exchange
from mismarterad.integrations.venue_emulator.sessions import NEW_YORK, Session

__all__ = ["MarketReplay"]

log = structlog.get_logger(component="emulator_market")

_ONE_MINUTE = timedelta(minutes=1)


class MarketReplay:
    """Runs `exchange` against `clock` in its own thread until `stop()`."""

    def __init__(self, exchange: Exchange, clock: Clock) -> None:
        self._exchange = exchange
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="emulator-market", daemon=True)
        self._day: date | None = None
        self._minutes: dict[datetime, list[Bar]] = {}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        now = self._clock.now()
        self._exchange.catch_up(now)
        t = now.replace(second=0, microsecond=0) + _ONE_MINUTE
        log.info("market_replay_started", first_boundary=t.isoformat())
        while self._clock.sleep_until(t, self._stop):
            try:
                self._boundary(t)
            except Exception as exc:  # one bad minute (a damaged store file) must not end the market
                log.error("market_minute_failed", minute=t.isoformat(), error=str(exc))
            t += _ONE_MINUTE
        log.info("market_replay_stopped")

    def _boundary(self, t: datetime) -> None:
        minute = t - _ONE_MINUTE
        session = self._exchange.sessions.session(minute.astimezone(NEW_YORK).date())
        if session is not None and session.open_utc <= t < session.close_utc:
            self._exchange.open_session(session, t)
        bars = self._bars(minute)
        regular = session is not None and session.open_utc <= minute < session.close_utc
        self._exchange.step(bars, regular)
        if session is not None and t == session.close_utc:
            self._exchange.close_session(session, self._last_regular(session))

    def _bars(self, minute: datetime) -> list[Bar]:
        day = minute.astimezone(NEW_YORK).date()
        if day != self._day:
            self._day, self._minutes = day, {}
            start = datetime.combine(day, datetime.min.time(), NEW_YORK).astimezone(UTC)
            for symbol in self._exchange.symbols():
                for bar in self._exchange.store.read_bars(symbol, "1m", start, start + timedelta(days=1)):
                    self._minutes.setdefault(bar.start_utc, []).append(bar)
        return self._minutes.get(minute, [])

    def _last_regular(self, session: Session) -> list[Bar]:
        last: dict[str, Bar] = {}
        for start in sorted(self._minutes):
            if session.open_utc <= start < session.close_utc:
                for bar in self._minutes[start]:
                    last[bar.symbol] = bar
        return list(last.values())
