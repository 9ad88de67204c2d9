"""The Alpaca adapter: broker, bar feed and historical source over alpaca-py, with credentials,
endpoints and the errors the daemon acts on."""

from mismarterad.integrations.alpaca.bar_feed import AlpacaBarFeed
from mismarterad.integrations.alpaca.broker import AlpacaBroker
from mismarterad.integrations.alpaca.credentials import AlpacaCredentials, load_alpaca_credentials
from mismarterad.integrations.alpaca.endpoints import AlpacaEndpoints
from mismarterad.integrations.alpaca.source import AlpacaSource
from mismarterad.integrations.broker_errors import BrokerAuthError, BrokerUnavailableError
from mismarterad.integrations.retry_policy import RetryPolicy

__all__ = [
    "AlpacaBarFeed",
    "AlpacaBroker",
    "AlpacaCredentials",
    "AlpacaEndpoints",
    "AlpacaSource",
    "BrokerAuthError",
    "BrokerUnavailableError",
    "RetryPolicy",
    "load_alpaca_credentials",
]
