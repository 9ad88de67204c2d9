"""The Schwab order ledger: what was POSTed and the ids it became survive a restart; a torn
last line (a crash mid-append) is skipped; old lines go, other accounts' stay."""

from __future__ import annotations

import errno
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mismarterad.core.errors import StorageError
from mismarterad.core.orders import OrderRequest, OrderType, Side
from mismarterad.integrations.schwab import order_ledger
from mismarterad.integrations.schwab.order_ledger import OrderLedger
from mismarterad.integrations.schwab.order_matching import Posted

T = datetime(2024, 3, 11, 14, 0, tzinfo=UTC)


def posted(cid: str, at: datetime = T) -> Posted:
    return Posted(OrderRequest(cid, "SPY", Side.BUY, 10, OrderType.LIMIT, 9.5, None, at, "sma#0"), at)


def test_posts_bindings_and_refusals_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    ledger = OrderLedger(path, "HASH")
    for cid in ("a", "b", "c"):
        ledger.post(posted(cid))
    ledger.bind("a", "1001")
    ledger.bind("a", "1001")  # idempotent
    ledger.close("c")
    again = OrderLedger(path, "HASH")
    assert again.posted("b") == posted("b") and again.order_id("a") == "1001" and again.client_id("1001") == "a"
    assert [p.client_order_id for p in again.unbound()] == ["b"] and again.closed("c")
    assert again.bound_ids() == frozenset({"1001"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().splitlines()) == 5


def test_a_torn_last_line_is_skipped_and_old_lines_go_but_other_accounts_stay(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    ledger = OrderLedger(path, "HASH")
    ledger.post(posted("old", T - timedelta(days=30)))
    ledger.post(posted("new"))
    OrderLedger(path, "OTHER").post(posted("theirs"))
    with path.open("a") as f:
        f.write('{"account_hash": "HASH", "bound": {"client_')  # the crash
    again = OrderLedger(path, "HASH")
    assert again.posted("old") is None and again.posted("new") is not None
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(e["account_hash"], e["posted"]["client_order_id"]) for e in lines] == [("OTHER", "theirs"),
                                                                                    ("HASH", "new")]
    assert OrderLedger(path, "OTHER").posted("theirs") is not None


def test_a_binding_the_disk_refused_is_written_before_the_next_line(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The link holds in memory at once, and reaches the file with the ledger's next write: a
    restart after that binds the order without the matching rule."""
    path = tmp_path / "ledger.jsonl"
    ledger = OrderLedger(path, "HASH")
    ledger.post(posted("a"))
    real = order_ledger.append_line

    def disk_full(target: Path, line: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(order_ledger, "append_line", disk_full)
    with pytest.raises(StorageError, match="No space"):
        ledger.bind("a", "1001")
    assert ledger.order_id("a") == "1001"
    assert OrderLedger(path, "HASH").order_id("a") is None  # not on disk yet
    monkeypatch.setattr(order_ledger, "append_line", real)
    ledger.post(posted("b"))
    again = OrderLedger(path, "HASH")
    assert again.order_id("a") == "1001" and [p.client_order_id for p in again.unbound()] == ["b"]
