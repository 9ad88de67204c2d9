"""The app's key and secret and the OAuth tokens never show: not in an error's text, repr or
traceback, not in an order's reason, not in a log line, whatever the server echoes back (a
server that quotes every header and form field it got in its refusals)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog

from mismarterad.core.clock import ReplayClock
from mismarterad.core.orders import OrderRequest, OrderType, Side
from mismarterad.integrations.retry_policy import RetryPolicy
from mismarterad.integrations.schwab import (
    SchwabCredentials,
    SchwabEndpoint,
    SchwabSession,
    SchwabSettings,
    SchwabSource,
    TokenFile,
    connect,
)
from mismarterad.integrations.schwab.broker import SchwabBroker
from mismarterad.integrations.schwab.order_ledger import OrderLedger
from mismarterad.integrations.schwab.rest import SchwabRest
from support.echoing_server import echoing_server, outcome_texts

T = datetime(2024, 3, 11, 13, 30, tzinfo=UTC)
FAST = RetryPolicy(max_attempts=2, initial_backoff_secs=0.01, max_backoff_secs=0.02, jitter_secs=0.0)
KEY, SECRET = "Zq9-app-key-visible-no", "Zq9-app-secret-77"
ACCESS, REFRESH = "Zq9-access-token-1234", "Zq9-refresh-token-5678"
SECRETS = (KEY, SECRET, ACCESS, REFRESH)


def _refuse(path: str, headers: Any, body: str) -> tuple[int, dict[str, Any]]:
    """Quotes the Authorization header and the form back in every refusal."""
    echoed = f"{headers.get('Authorization')} {body}"
    if path.startswith("/v1/oauth"):
        return 400, {"error": "invalid_client", "error_description": f"refused {echoed}"}
    return (401 if "accounts/" in path else 403), {"message": f"refused {echoed}", "errors": [echoed]}


@pytest.fixture(scope="module")
def echo_server() -> Iterator[str]:
    with echoing_server(_refuse) as url:
        yield url


def test_every_call_refused_by_an_echoing_server_never_shows_a_secret(echo_server: str, tmp_path: Path) -> None:
    path = tmp_path / "token.json"
    expires = int(datetime.now(UTC).timestamp()) + 1800  # wall clock: a valid access token, no refresh first
    path.write_text(json.dumps({"creation_timestamp": expires - 1800, "token": {
        "access_token": ACCESS, "refresh_token": REFRESH, "token_type": "Bearer", "expires_at": expires}}))
    os.chmod(path, 0o600)
    credentials, endpoint = SchwabCredentials(KEY, SECRET), SchwabEndpoint.derive(echo_server)
    clock = ReplayClock(T, 1.0)
    session = SchwabSession(credentials, TokenFile(path), endpoint, request_timeout_secs=2.0)
    rest = SchwabRest(session, clock, retry=FAST)
    broker = SchwabBroker(rest, OrderLedger(tmp_path / "ledger.jsonl", "HASH"), "HASH", clock, op_deadline_secs=3.0)
    source = SchwabSource(session, clock, retry=FAST)
    request = OrderRequest("o1", "AAPL", Side.BUY, 1, OrderType.MARKET, None, None, T, "s1")
    settings = SchwabSettings("12345678", TokenFile(path), tmp_path / "ledger.jsonl", endpoint)
    with structlog.testing.capture_logs() as logs:
        texts = [*outcome_texts(lambda: connect(credentials, settings, clock)), *outcome_texts(broker.verify),
                 *outcome_texts(lambda: broker.submit(request)), *outcome_texts(broker.positions),
                 *outcome_texts(lambda: broker.lookup("o1")), *outcome_texts(lambda: broker.cancel("o1")),
                 *outcome_texts(lambda: source.fetch_bars("AAPL", "1m", T, T + timedelta(minutes=5))),
                 *outcome_texts(lambda: rest.refresh("a test")), *(repr(o) for o in broker.orders()), repr(credentials)]
    texts += [repr(entry) for entry in logs]
    for text in texts:
        assert not [s for s in SECRETS if s in text], text
    assert any("403" in t for t in texts) and any("invalid_client" in t for t in texts), "the failures were told"
    session.close()
