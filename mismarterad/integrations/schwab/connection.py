"""A day-run's link to one Schwab account: the session, the account's hash, the order ledger,
and the broker, history source and bar feed built on them.

`connect` refuses, before anything is sent, a token Schwab will refuse (7 days after its
login: BrokerAuthError saying to run `mismarterad auth schwab`); then it looks the configured
account number up among those the token reaches (Schwab addresses accounts by a hash) and
reads the account once. Nothing is left open when it fails.
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


def connect(credentials: SchwabCredentials, settings: SchwabSettings, clock: Clock, **broker_options: float
            ) -> SchwabConnection:
    """Open the account (see the module docstring). ConfigError for a token file that is missing
    or readable by others and for an account the token does not reach; BrokerAuthError for a
    token Schwab refuses (or will); BrokerUnavailableError if Schwab does not answer."""
    settings.token_file.require_fresh(settings.token_file.read())
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
