"""The Schwab adapter: broker, bar feed and historical source over schwab-py, with the app's
credentials, the token file, the order ledger that stands in for a client order id, and the
errors the daemon acts on."""

from mismarterad.integrations.schwab.bar_feed import SchwabBarFeed
from mismarterad.integrations.schwab.broker import SchwabBroker
from mismarterad.integrations.schwab.connection import SchwabConnection, SchwabSettings, connect
from mismarterad.integrations.schwab.credentials import SchwabCredentials, load_schwab_credentials
from mismarterad.integrations.schwab.order_ledger import LEDGER_FILE_NAME
from mismarterad.integrations.schwab.session import SchwabSession
from mismarterad.integrations.schwab.source import SchwabSource
from mismarterad.integrations.schwab.tokens import AUTH_HINT, TOKEN_FILE_NAME, TokenFile
from mismarterad.integrations.schwab.transport import SchwabEndpoint

__all__ = [
    "AUTH_HINT",
    "LEDGER_FILE_NAME",
    "TOKEN_FILE_NAME",
    "SchwabBarFeed",
    "SchwabBroker",
    "SchwabConnection",
    "SchwabCredentials",
    "SchwabEndpoint",
    "SchwabSession",
    "SchwabSettings",
    "SchwabSource",
    "TokenFile",
    "connect",
    "load_schwab_credentials",
]
