"""Global settings: environment, TOML file, XDG/systemd defaults and errors."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from structlog.testing import capture_logs

from mismarterad.config.settings import daemon_config_path, load_settings
from mismarterad.core.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("MISMARTERAD_DATABASE_URL", "MISMARTERAD_DATA_DIR", "MISMARTERAD_STATE_DIR", "MISMARTERAD_LOG_FORMAT",
                "MISMARTERAD_LOG_LEVEL", "MISMARTERAD_SETTINGS", "STATE_DIRECTORY", "XDG_STATE_HOME", "XDG_DATA_HOME",
                "CREDENTIALS_DIRECTORY", "CONFIGURATION_DIRECTORY"):
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


# -- systemd: LoadCredential=database_url:FILE and ConfigurationDirectory= ---------------------


@pytest.fixture
def credential(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """systemd's credentials directory; the test writes `database_url` into it."""
    directory = tmp_path / "credentials"
    directory.mkdir()
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    return directory / "database_url"


def test_the_database_url_credential_is_read_as_a_file_and_stays_secret(credential: Path) -> None:
    credential.write_text("postgresql+psycopg://trader:pw-SECRET@db/mm\n")  # as `echo URL > file` leaves it
    s = load_settings()
    assert s.database_url_value == "postgresql+psycopg://trader:pw-SECRET@db/mm"
    assert "pw-SECRET" not in repr(s) and "pw-SECRET" not in str(s.model_dump())


def test_a_url_a_person_set_wins_over_the_credential(credential: Path, monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    credential.write_text("postgresql://from-credential/db")
    settings = tmp_path / "settings.toml"
    settings.write_text('database_url = "postgresql://from-settings-file/db"\n')
    monkeypatch.setenv("MISMARTERAD_SETTINGS", str(settings))
    assert load_settings().database_url_value == "postgresql://from-credential/db", "the unit's beats a settings file"
    monkeypatch.setenv("MISMARTERAD_DATABASE_URL", "postgresql://from-env/db")
    assert load_settings().database_url_value == "postgresql://from-env/db"
    daemon_toml = load_settings(database_url="postgresql://from-daemon-config/db")
    assert daemon_toml.database_url_value == "postgresql://from-daemon-config/db"


def test_without_the_credential_file_nothing_changes(credential: Path, tmp_path: Path) -> None:
    (credential.parent / "alpaca").write_text("APCA_API_KEY_ID=x\n")  # another credential only
    assert load_settings().database_url_value.startswith("sqlite:///")


@pytest.mark.parametrize(("content", "problem"), [
    ("", "the file is empty"), ("  \n", "the file is empty"),
    ("postgresql://a/b\npostgresql://c/d\n", "one URL on one line"), ("postgresql://u:p w@h/db", "one URL on one line"),
    (b"\xff\xfe", "cannot read it"),
])
def test_a_bad_credential_file_is_one_config_error_without_its_content(credential: Path, content: str | bytes,
                                                                       problem: str) -> None:
    if isinstance(content, bytes):
        credential.write_bytes(content)
    else:
        credential.write_text(content)
    with pytest.raises(ConfigError, match=problem) as info:
        load_settings()
    assert str(credential) in str(info.value) and "postgresql" not in str(info.value)


def test_an_unreadable_credential_is_a_config_error(credential: Path) -> None:
    credential.mkdir()  # reading a directory fails like a permission problem would
    with pytest.raises(ConfigError, match="database_url credential .*cannot read it"):
        load_settings()


def test_the_daemon_config_path_honours_the_configuration_directory(tmp_path: Path) -> None:
    systemd = {"CONFIGURATION_DIRECTORY": "/etc/mismarterad:/etc/other"}
    assert daemon_config_path(None, systemd) == Path("/etc/mismarterad/mismarterad.toml")
    assert daemon_config_path(Path("acct1.toml"), systemd) == Path("/etc/mismarterad/acct1.toml")
    assert daemon_config_path(Path("/srv/x.toml"), systemd) == Path("/srv/x.toml")
    assert daemon_config_path(None, {}) is None, "outside systemd --config is required"
    assert daemon_config_path(Path("x.toml"), {}) == Path("x.toml"), "relative to the current directory"
    assert daemon_config_path(Path("x.toml"), {"CONFIGURATION_DIRECTORY": ""}) == Path("x.toml")


def test_a_broken_credential_shadowed_by_a_url_a_person_set_is_never_read(credential: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    credential.write_text("")  # empty: fatal only where it would be used
    assert load_settings(database_url="postgresql://from-daemon-config/db").database_url_value == \
        "postgresql://from-daemon-config/db"
    monkeypatch.setenv("MISMARTERAD_DATABASE_URL", "postgresql://from-env/db")
    assert load_settings().database_url_value == "postgresql://from-env/db"


def test_the_start_warns_of_a_shadowed_broken_credential_instead_of_failing(credential: Path) -> None:
    from mismarterad.cli.commands.run_cmd import _startup_warnings

    credential.write_text("")
    with capture_logs() as logs:
        _startup_warnings(SimpleNamespace(previous_unclean=False), in_daemon_config=True)  # type: ignore[arg-type]
    [ignored] = [e for e in logs if e["event"] == "database_url_credential_ignored"]
    assert ignored["used"] == "the daemon config's database_url" and "the file is empty" in ignored["problem"]
