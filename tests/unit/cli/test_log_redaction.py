"""The log processor hides secrets at any depth, in URLs and in exception texts."""

from __future__ import annotations

import structlog
import pytest

from mismarterad.cli.logging import configure_logging


def test_log_lines_never_hold_nested_secrets_url_passwords_or_them_in_tracebacks(
        capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json", "info")
    log = structlog.get_logger(component="t")
    log.info("loaded", params={"api_key": "sk-SECRET123", "feeds": [{"url": "wss://me:pw-ONE@h/x"}],
                               "nested": {"Private-Key": ["k-TWO"]}}, token="t-THREE")
    try:
        raise RuntimeError("cannot reach postgresql://u:pw-FOUR@db/x")
    except RuntimeError:
        log.exception("failed")
    err = capsys.readouterr().err
    assert "loaded" in err and "wss://me:***@h/x" in err and "postgresql://u:***@db/x" in err
    for secret in ("sk-SECRET123", "pw-ONE", "k-TWO", "t-THREE", "pw-FOUR"):
        assert secret not in err
