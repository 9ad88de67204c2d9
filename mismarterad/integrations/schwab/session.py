"""One authorized connection to Schwab: schwab-py's `Client` on an OAuth2 session of ours.

The session is authlib's OAuth2Client, built as schwab-py's `client_from_access_functions`
builds it (the token endpoint, a 5-minute leeway: the 30-minute access token is refreshed
before it expires, and every refresh rewrites the token file through schwab-py's
`TokenMetadata`, which keeps the file's `creation_timestamp`), with our transport (the
endpoint and the operation budget, transport.py). One session serves a day-run's broker, bar
feed and history source, so one refresh serves them all.
"""

from __future__ import annotations

import threading
from typing import Any

from authlib.integrations.httpx_client import OAuth2Client
from schwab.auth import TOKEN_ENDPOINT, TokenMetadata
from schwab.client import Client

from mismarterad.integrations.schwab.credentials import SchwabCredentials
from mismarterad.integrations.schwab.tokens import TokenFile
from mismarterad.integrations.schwab.transport import SchwabEndpoint, VenueTransport

__all__ = ["TOKEN_ENDPOINT", "SchwabSession"]

_LEEWAY_SECS = 300  # schwab-py's: the access token is refreshed 5 minutes before it expires


class _SerialRefreshClient(OAuth2Client):
    """authlib's sync client checks and refreshes the token with no lock (its async client has
    one), and the broker, the gap fills and the streamer share this session from their own
    threads: two refreshes at once sent two refresh requests and wrote the token file together.
    Here one thread refreshes; the others wait and then use its token."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._refreshing = threading.RLock()

    def ensure_active_token(self, token: Any = None) -> Any:
        with self._refreshing:  # the token as it is now, after another thread's refresh
            return super().ensure_active_token(None)

    def refresh_token(self, url: Any = None, **kwargs: Any) -> Any:
        with self._refreshing:
            return super().refresh_token(url, **kwargs)


class SchwabSession:
    """schwab-py's `client` over our transport, from the token in `token_file` (ConfigError if
    there is none usable). `credentials` scrub messages; `endpoint` names the host in them."""

    def __init__(self, credentials: SchwabCredentials, token_file: TokenFile, endpoint: SchwabEndpoint, *,
                 request_timeout_secs: float = 4.0) -> None:
        self.credentials, self.token_file, self.endpoint = credentials, token_file, endpoint
        wrapped = token_file.read()
        self.metadata = TokenMetadata.from_loaded_token(wrapped, token_file.write)
        self.oauth = _SerialRefreshClient(
            credentials.app_key, client_secret=credentials.app_secret, token=self.metadata.token,
            token_endpoint=TOKEN_ENDPOINT, update_token=self.metadata.wrapped_token_write_func(), leeway=_LEEWAY_SECS,
            transport=VenueTransport(endpoint), timeout=request_timeout_secs)
        self.client = Client(credentials.app_key, self.oauth, token_metadata=self.metadata, enforce_enums=True)
        self.client.set_timeout(request_timeout_secs)  # schwab-py sets 30 s

    def token_age_secs(self) -> float:
        """Seconds since the login that made the refresh token (wall clock)."""
        return self.token_file.wall.now().timestamp() - float(self.metadata.creation_timestamp)

    def refresh(self) -> None:
        """Refresh the access token now (after a 401: Schwab may end one before its expiry).
        authlib's OAuthError if Schwab refuses the refresh token."""
        self.oauth.refresh_token(TOKEN_ENDPOINT)

    def close(self) -> None:
        self.oauth.close()
