"""SchwabSource: historical bars from Schwab's price history (a MarketDataSource).

schwab-py's `get_price_history_every_*` helpers take the window as datetimes and turn them into
epoch milliseconds with `dt.timestamp()`, which reads a naive datetime as the host's local time:
only aware UTC datetimes are passed. Schwab keeps minute bars about 48 days; older minutes come
back empty (an import of them stores nothing and says so). Its end is inclusive, ours is not:
bars are cut to [start, end) here. Messages never carry an exception's text, and are scrubbed of
the app's key and secret and of the tokens (rest.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from mismarterad.core.clock import Clock
from mismarterad.core.errors import BrokerError, DataError
from mismarterad.core.market_data import Bar
from mismarterad.integrations.broker_errors import BrokerAuthError, BrokerUnavailableError
from mismarterad.integrations.retry_policy import RetryPolicy
from mismarterad.integrations.schwab.parse import parse_candles
from mismarterad.integrations.schwab.rest import SchwabRest
from mismarterad.integrations.schwab.session import SchwabSession

__all__ = ["SchwabSource"]

_MS = timedelta(milliseconds=1)


class SchwabSource:
    def __init__(self, session: SchwabSession, clock: Clock, *, retry: RetryPolicy | None = None) -> None:
        self._session, self._clock, self._retry = session, clock, retry or RetryPolicy()
        c = session.client
        self._helpers: dict[str, Callable[..., object]] = {
            "1m": c.get_price_history_every_minute, "5m": c.get_price_history_every_five_minutes,
            "10m": c.get_price_history_every_ten_minutes, "15m": c.get_price_history_every_fifteen_minutes,
            "30m": c.get_price_history_every_thirty_minutes, "1d": c.get_price_history_every_day,
        }

    @property
    def name(self) -> str:
        return "schwab"

    def fetch_bars(self, symbol: str, interval: str, start_utc: datetime, end_utc: datetime, *,
                   stop: threading.Event | None = None) -> Sequence[Bar]:
        """Bars of `symbol` with start in [start_utc, end_utc), sorted; DataError for an interval
        Schwab has no history of or a request it refuses, BrokerAuthError / BrokerUnavailableError
        for tokens and outages. A set `stop` abandons the retries at once."""
        helper = self._helpers.get(interval)
        if helper is None:
            raise DataError(f"interval {interval!r} has no Schwab price history (expected one of "
                            f"{', '.join(self._helpers)})")
        if end_utc <= start_utc:
            return []
        rest = SchwabRest(self._session, self._clock, retry=self._retry, stop=stop)
        what = f"Schwab price history {symbol} {interval} {start_utc.isoformat()}..{end_utc.isoformat()}"
        try:
            raw = rest.json(lambda: helper(symbol, start_datetime=start_utc, end_datetime=end_utc - _MS,  # type: ignore[operator]
                                           need_extended_hours_data=True), what)
            bars = parse_candles(raw, symbol, interval)
        except (BrokerAuthError, BrokerUnavailableError):
            raise
        except BrokerError as exc:  # a refusal of the request: the data's problem, not the broker's
            raise DataError(str(exc)) from None
        except ValueError as exc:
            raise DataError(f"{what}: an answer that is not price history ({exc})") from None
        return sorted((b for b in bars if start_utc <= b.start_utc < end_utc),
                      key=lambda b: b.start_utc)
