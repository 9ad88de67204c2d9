"""A day-run's link to one Schwab account: the session, the account's hash, the order ledger,
and the broker, history source and bar feed built on them.

`connect` refuses, before anything is sent, a token Schwab will refuse before the day-run is
done with the account: 7 days after its login Schwab refuses the refresh token, and a day-run
whose token died mid-day could not reach the account, not even to flatten; so the token must
outlive the session's close by `after_close_secs`, the rest of the day-run (BrokerAuthError
saying to run `mismarterad auth schwab`, naming the expiry and the close). The time to the close is read on the session's
clock and taken as that much wall time: a replay at speed needs less, never more. Then it looks
the configured account number up among those the token reaches (Schwab addresses accounts by a
hash) and reads the account once. Nothing is left open when it fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mismarterad.core.clock import Clock
from mismarterad.integrations.op_budget import operation_budget
from mismarterad.integrations.schwab.bar_feed import SchwabBarFeed
from mismarterad.integrations.schwab.broker import SchwabBroker
from mismarterad.integrations.schwab.credentials import SchwabCredentials
from mismarterad.integrations.schwab.order_ledger import OrderLedger
from mismarterad.integrations.schwab.rest import SchwabRest
from mismarterad.integrations.schwab.session import SchwabSession
from mismarterad.integrations.schwab.source import SchwabSource
from mismarterad.integrations.schwab.tokens import TokenFile
from mismarterad.integrations.schwab.transport import SchwabEndpoint

__all__ = ["SchwabConnection", "SchwabSettings", "connect"]

_CONNECT_SECS = 7.0  # real time for the account lookup (the broker's own reads have their budget)


@dataclass(frozen=True)
class SchwabSettings:
    """Where the adapter's files are and which account it trades."""

    account_number: str
    token_file: TokenFile
    ledger_path: Path
    endpoint: SchwabEndpoint


@dataclass
class SchwabConnection:
    session: SchwabSession
    broker: SchwabBroker
    source: SchwabSource

    def feed(self, clock: Clock, *, gap_max_retries: int, gap_retry_interval_secs: float, stall_intervals: int,
             in_session: Callable[[datetime], bool]) -> SchwabBarFeed:
        return SchwabBarFeed(self.session, clock, self.source, gap_max_retries=gap_max_retries,
                             gap_retry_interval_secs=gap_retry_interval_secs, stall_intervals=stall_intervals,
                             in_session=in_session)

    def close(self) -> None:
        self.broker.close()
        self.session.close()


def connect(credentials: SchwabCredentials, settings: SchwabSettings, clock: Clock, *,
            close: datetime | None = None, after_close_secs: float = 300.0, **broker_options: float
            ) -> SchwabConnection:
    """Open the account for a day-run whose session closes at `close` and which is done with the
    account `after_close_secs` later (None: no close to reach; see the module docstring). ConfigError for a token file that is missing or readable by
    others and for an account the token does not reach; BrokerAuthError for a token Schwab
    refuses (or will before the close); BrokerUnavailableError if Schwab does not answer."""
    _require_token_until(settings.token_file, clock, close, after_close_secs)
    session = SchwabSession(credentials, settings.token_file, settings.endpoint)
    try:
        rest = SchwabRest(session, clock)
        with operation_budget(_CONNECT_SECS):
            account_hash = rest.account_hash(settings.account_number)
        broker = SchwabBroker(rest, OrderLedger(settings.ledger_path, account_hash), account_hash, clock,
                              **broker_options)
        broker.verify()
    except BaseException:
        session.close()
        raise
    return SchwabConnection(session, broker, SchwabSource(session, clock))


def _require_token_until(token_file: TokenFile, clock: Clock, close: datetime | None, after_close_secs: float) -> None:
    wrapped = token_file.read()
    if close is None:
        token_file.require_fresh(wrapped)
        return
    to_close = max(0.0, (close - clock.now()).total_seconds())
    token_file.require_fresh(
        wrapped, lasting_secs=to_close + after_close_secs,
        needed_for=f"this session's close at {close:%H:%M} exchange time ({to_close / 3600:.1f} h away) plus "
                   f"{after_close_secs / 60:.0f} minutes")
