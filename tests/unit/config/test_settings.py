"""Global settings: environment, TOML file, XDG/systemd defaults and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from mismarterad.config.settings import load_settings
from mismarterad.core.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("MISMARTERAD_DATABASE_URL", "MISMARTERAD_DATA_DIR", "MISMARTERAD_STATE_DIR", "MISMARTERAD_LOG_FORMAT",
                "MISMARTERAD_LOG_LEVEL", "MISMARTERAD_SETTINGS", "STATE_DIRECTORY", "XDG_STATE_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def test_defaults_follow_xdg_and_never_the_current_directory(tmp_path: Path) -> None:
    s = load_settings()
    assert s.data_dir == tmp_path / "home/.local/share/mismarterad"
    assert s.state_dir == tmp_path / "home/.local/state/mismarterad"
    assert s.database_url_value == f"sqlite:///{tmp_path}/home/.local/state/mismarterad/mismarterad.db"


def test_xdg_variables_and_systemd_state_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdata"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xstate"))
    assert load_settings().state_dir == tmp_path / "xstate/mismarterad"
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/mismarterad")
    s = load_settings()
    assert s.data_dir == tmp_path / "xdata/mismarterad"
    assert s.state_dir == Path("/var/lib/mismarterad")


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISMARTERAD_DATABASE_URL", "postgresql://u:hunter2@db/x")
    monkeypatch.setenv("MISMARTERAD_LOG_FORMAT", "json")
    s = load_settings()
    assert s.database_url_value == "postgresql://u:hunter2@db/x"
    assert "hunter2" not in repr(s)
    assert s.log_format == "json"


def test_toml_file_is_read_and_environment_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('log_level = "debug"\ndata_dir = "/srv/md"\n')
    monkeypatch.setenv("MISMARTERAD_SETTINGS", str(path))
    monkeypatch.setenv("MISMARTERAD_DATA_DIR", "/srv/other")
    s = load_settings()
    assert s.log_level == "debug" and s.data_dir == Path("/srv/other")


def test_bad_values_name_every_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('log_level = "loud"\nstate_dir = "relative/dir"\ncolour = true\n')
    monkeypatch.setenv("MISMARTERAD_SETTINGS", str(path))
    with pytest.raises(ConfigError) as info:
        load_settings()
    keys = sorted(p.split(":")[0] for p in info.value.problems)
    assert keys == ["colour", "log_level", "state_dir"]


def test_missing_settings_file_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MISMARTERAD_SETTINGS", str(tmp_path / "absent.toml"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings()


def test_toml_syntax_error_is_a_config_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("log_level = \n")
    monkeypatch.setenv("MISMARTERAD_SETTINGS", str(path))
    with pytest.raises(ConfigError):
        load_settings()
