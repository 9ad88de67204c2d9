"""The daemon's `[paper]` table: the starting cash of a new or reset paper account."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mismarterad.config.daemon_config import load_daemon_config
from mismarterad.core.errors import ConfigError


def daemon_toml(tmp_path: Path, toml: str) -> Path:
    (tmp_path / "session.json").write_text(json.dumps({}))
    path = tmp_path / "daemon.toml"
    path.write_text('session_config = "session.json"\n' + toml)
    return path


def test_a_new_paper_account_opens_with_a_million_unless_configured(tmp_path: Path) -> None:
    assert load_daemon_config(daemon_toml(tmp_path, "")).paper.initial_cash == 1_000_000.0
    assert load_daemon_config(daemon_toml(tmp_path, "[paper]\ninitial_cash = 25000\n")).paper.initial_cash == 25_000.0


@pytest.mark.parametrize("toml, problem", [
    ("[paper]\ninitial_cash = 0\n", "paper.initial_cash: must be > 0.0, got 0"),
    ("[paper]\ninitial_cash = inf\n", "paper.initial_cash: input should be a finite number"),
    ("[paper]\ninitial_cash = 2e12\n", "paper.initial_cash: must be <= 1000000000000"),
    ("[paper]\ncash = 5\n", "paper.cash: unknown key"),
])
def test_a_bad_starting_cash_is_one_line_naming_the_key(tmp_path: Path, toml: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_daemon_config(daemon_toml(tmp_path, toml))
    assert [p for p in caught.value.problems if p.startswith(problem)], caught.value.problems


def test_the_account_is_named_paper_unless_a_daemon_sharing_the_database_names_its_own(tmp_path: Path) -> None:
    assert load_daemon_config(daemon_toml(tmp_path, "")).paper.account == "paper"
    named = load_daemon_config(daemon_toml(tmp_path, '[paper]\naccount = "paper-acct1"\n'))
    assert named.paper.account == "paper-acct1"


@pytest.mark.parametrize("name", ["alpaca-live", "acct1", "paper acct", "paper-" + "x" * 27, ""])
def test_an_account_name_that_could_clash_is_refused_naming_the_key(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_daemon_config(daemon_toml(tmp_path, f'[paper]\naccount = "{name}"\n'))
    [problem] = caught.value.problems
    assert problem.startswith("paper.account: ") and '"paper" followed by' in problem, problem
