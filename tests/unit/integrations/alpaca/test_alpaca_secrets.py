"""The secret never shows: not in an error's text, repr or traceback, not in an order's reason,
not in a log line, whatever the secret holds (a pasted \\r, \\n or spaces) and whatever the
server echoes back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import structlog

from mismarterad.core.clock import ReplayClock
from mismarterad.core.errors import ConfigError
from mismarterad.core.orders import OrderRequest, OrderType, Side
from mismarterad.integrations.alpaca import (
    AlpacaBroker,
    AlpacaCredentials,
    AlpacaEndpoints,
    AlpacaSource,
    RetryPolicy,
    load_alpaca_credentials,
)
from support.echoing_server import echoing_server, outcome_texts

T = datetime(2024, 3, 11, 13, 30, tzinfo=UTC)
FAST = RetryPolicy(max_attempts=2, initial_backoff_secs=0.01, max_backoff_secs=0.02, jitter_secs=0.0)
CORE = "Zq9-secret-core-77"
SECRETS = [CORE + "\r", CORE + "\n", " " + CORE, CORE + " ", "Zq9 secret core 77", CORE + "\t", CORE]


def _refuse(path: str, headers: Any, body: str) -> tuple[int, dict[str, Any]]:
    """Quotes the key headers back in every refusal."""
    echoed = f"{headers.get('APCA-API-KEY-ID')} {headers.get('APCA-API-SECRET-KEY')}"
    return 403, {"code": 40310000, "message": f"subscription refused for {echoed}"}


@pytest.fixture(scope="module")
def echo_server() -> Iterator[str]:
    with echoing_server(_refuse) as url:
        yield url


@pytest.mark.parametrize("secret", SECRETS, ids=repr)
def test_verify_submit_account_and_fetch_never_show_the_secret(echo_server: str, secret: str) -> None:
    creds = AlpacaCredentials("KEYID-visible-1", secret)
    endpoints = AlpacaEndpoints.derive(echo_server, paper=True, feed="iex")
    clock = ReplayClock(T, 1.0)
    broker = AlpacaBroker(creds, endpoints, clock, retry=FAST, request_timeout_secs=2.0, op_deadline_secs=3.0)
    source = AlpacaSource(creds, endpoints, clock=clock, retry=FAST, request_timeout_secs=2.0)
    request = OrderRequest("o1", "AAPL", Side.BUY, 1, OrderType.MARKET, None, None, T, "s1")
    with structlog.testing.capture_logs() as logs:
        texts = [*outcome_texts(broker.verify), *outcome_texts(lambda: broker.submit(request)),
                 *outcome_texts(broker.account),
                 *outcome_texts(broker.positions), *outcome_texts(lambda: broker.cancel("o1")),
                 *outcome_texts(lambda: source.fetch_bars("AAPL", "1m", T, T + timedelta(minutes=5))),
                 *(repr(o) for o in broker.orders())]
    texts += [repr(entry) for entry in logs]
    for text in texts:
        assert secret not in text and secret.strip() not in text, text
    assert any("403" in t or "InvalidHeader" in t for t in texts)  # the failure itself was told


@pytest.mark.parametrize("secret", [s for s in SECRETS if s != CORE], ids=repr)
def test_loading_refuses_whitespace_naming_the_variable_never_the_value(tmp_path: Any, secret: str) -> None:
    with pytest.raises(ConfigError, match="APCA_API_SECRET_KEY") as info:
        load_alpaca_credentials({"APCA_API_KEY_ID": "kid", "APCA_API_SECRET_KEY": secret}, None)
    assert secret.strip() not in str(info.value)
    if "\n" in secret or secret.endswith("\r") or secret.startswith(" "):
        return  # in a file these are a line end (LF, CRLF) and the spaces after `=`
    path = tmp_path / "alpaca"
    path.write_text(f"APCA_API_KEY_ID=kid\nAPCA_API_SECRET_KEY={secret}\n", newline="")
    path.chmod(0o600)
    with pytest.raises(ConfigError, match="line 2") as info:
        load_alpaca_credentials({}, path)
    assert secret.strip() not in str(info.value) and "APCA_API_SECRET_KEY" in str(info.value)
