"""`paper reset` through the control API, against a fake DaemonControl: its grammar, the peer it
records, its answer, its help, and a refusal as one line."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest

from mismarterad.cli.control_api import ControlApi
from mismarterad.core.errors import StateError
from mismarterad.core.paper_account import PaperBalance
from mismarterad.daemon.control_server import CommandError, Peer

ME = Peer(4242, os.getuid(), os.getgid())


@dataclass
class FakeDaemon:
    refusal: str | None = None
    calls: list[str] = field(default_factory=list)

    def reset_paper_account(self, by: str) -> PaperBalance:
        self.calls.append(by)
        if self.refusal is not None:
            raise StateError(self.refusal)
        return PaperBalance(250_000.0)


def test_paper_reset_records_the_peer_and_answers_the_new_balance() -> None:
    daemon = FakeDaemon()
    reply = ControlApi(daemon).handle("paper", {"words": ["reset"]}, ME)  # type: ignore[arg-type]
    assert reply == {"reset": True, "cash": 250_000.0, "equity": 250_000.0, "positions": 0}
    assert daemon.calls == [ME.name]


@pytest.mark.parametrize("words", [[], ["reset", "now"], ["clear"]])
def test_anything_but_paper_reset_is_a_usage_error(words: list[str]) -> None:
    daemon = FakeDaemon()
    with pytest.raises(CommandError) as caught:
        ControlApi(daemon).handle("paper", {"words": words}, ME)  # type: ignore[arg-type]
    assert (caught.value.code, str(caught.value)) == ("bad_request", "usage: paper reset") and daemon.calls == []


def test_a_refused_reset_is_one_line() -> None:
    daemon = FakeDaemon(refusal="a session is running (2011-01-04): the paper account is reset only between sessions")
    with pytest.raises(CommandError) as caught:
        ControlApi(daemon).handle("paper", {"words": ["reset"]}, ME)  # type: ignore[arg-type]
    assert caught.value.code == "refused" and "\n" not in str(caught.value) and "between sessions" in str(caught.value)


def test_paper_reset_has_its_help() -> None:
    api = ControlApi(FakeDaemon())  # type: ignore[arg-type]
    assert "paper reset" in api.handle("help", {"words": ["system"]})
    text = api.handle("help", {"words": ["system", "paper"]})
    assert text.startswith("usage: mismarterctl paper reset") and "[paper] initial_cash" in text
