"""The real daemon in the environment systemd gives it: the config from $CONFIGURATION_DIRECTORY
(ConfigurationDirectory=; `mismarterad user` reads it too), the database URL from $CREDENTIALS_DIRECTORY/database_url
(LoadCredential=), journald priority prefixes when stderr is $JOURNAL_STREAM, and watchdog
pings paced by $WATCHDOG_USEC."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from support.daemon_process import DAEMON_SESSION_CONFIG, DAY, DaemonProcess, base_env, executable, make_daemon


def test_run_without_config_needs_systemds_configuration_directory(tmp_path: Path, data_dir: Path) -> None:
    env = base_env(tmp_path / "state", data_dir)
    bare = subprocess.run([executable("mismarterad"), "run"], env=env, capture_output=True, text=True, timeout=60)
    assert bare.returncode == 2
    assert bare.stderr.strip().splitlines() == [
        "mismarterad: error: run needs --config FILE (under systemd, ConfigurationDirectory= supplies "
        "$CONFIGURATION_DIRECTORY/mismarterad.toml)"]
    config_dir = tmp_path / "etc"
    config_dir.mkdir()
    (config_dir / "mismarterad.toml").write_text("lead_minutes = -1\n")
    env["CONFIGURATION_DIRECTORY"] = str(config_dir)
    stderr = tmp_path / "stderr.txt"
    with stderr.open("wb") as journal:  # as the journal: the line says why at priority err (<3>)
        stat = os.fstat(journal.fileno())
        env["JOURNAL_STREAM"] = f"{stat.st_dev}:{stat.st_ino}"
        systemd = subprocess.run([executable("mismarterad"), "run"], env=env, stderr=journal, timeout=60)
    assert systemd.returncode == 78
    [line] = stderr.read_text().splitlines()
    assert line.startswith(f"<3>mismarterad: configuration error: {config_dir}/mismarterad.toml"), line
    assert "lead_minutes" in line


def test_config_check_and_user_find_the_daemons_config_as_run_does(tmp_path: Path, data_dir: Path) -> None:
    env = base_env(tmp_path / "state", data_dir)
    bare = subprocess.run([executable("mismarterad"), "config", "check"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert (bare.returncode, bare.stderr.strip()) == (2, "mismarterad: error: config check needs FILE (under "
                                                         "systemd, ConfigurationDirectory= supplies "
                                                         "$CONFIGURATION_DIRECTORY/mismarterad.toml)")
    config_dir = tmp_path / "etc"
    config_dir.mkdir()
    (config_dir / "session.json").write_text(DAEMON_SESSION_CONFIG.read_text())
    users_db = tmp_path / "users.db"
    (config_dir / "mismarterad.toml").write_text(f'session_config = "session.json"\n'
                                                 f'database_url = "sqlite:///{users_db}"\n')
    env["CONFIGURATION_DIRECTORY"] = str(config_dir)
    for words in (["config", "check"], ["config", "check", "mismarterad.toml"]):  # none, or relative: there
        checked = subprocess.run([executable("mismarterad"), *words], env=env, cwd=tmp_path, capture_output=True,
                                 text=True, timeout=60)
        assert (checked.returncode, checked.stdout) == (0, "OK\n"), (words, checked.stderr)
    listed = subprocess.run([executable("mismarterad"), "user", "list"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert users_db.is_file(), "the users of the daemon's database, as its TOML names it"


def test_the_daemon_under_systemds_variables(tmp_path: Path, data_dir: Path, daemons: list[DaemonProcess]) -> None:
    d = make_daemon(tmp_path / "d", data_dir, start=f"{DAY}T06:00:00-05:00", speed=60)
    daemons.append(d)
    d.config_path = Path(d.config_path.name)  # relative: taken in $CONFIGURATION_DIRECTORY
    credentials = tmp_path / "credentials"
    credentials.mkdir(mode=0o700)
    database = tmp_path / "from-credential.db"
    (credentials / "database_url").write_text(f"sqlite:///{database}\n")
    log = d.root / "daemon-0.log"  # start() truncates it: the inode stays the one named below
    log.write_bytes(b"")
    stat = os.stat(log)
    d.env.update(CONFIGURATION_DIRECTORY=str(d.root), CREDENTIALS_DIRECTORY=str(credentials),
                 JOURNAL_STREAM=f"{stat.st_dev}:{stat.st_ino}")
    d.start()
    d.wait_ready()
    assert d.wait_for(lambda _status: bool(d.notify.seen("WATCHDOG=1")), 30, "a watchdog ping")["state"] == "STOPPED"
    assert database.is_file() and not (d.root / "state" / "mismarterad.db").exists(), "the credential's database"
    d.signal(signal.SIGTERM)
    assert d.wait_exit(15) == 0

    lines = log.read_text().splitlines()
    assert lines and all(line[:3] in ("<3>", "<4>", "<6>", "<7>") for line in lines), lines[:5]
    events = {}
    for line in lines:
        record = json.loads(line[3:])
        events.setdefault(record["event"], (line[:3], record))
    assert events["daemon_ready"][0] == "<6>"
    assert events["watchdog_enabled"][1]["ping_every_secs"] == 1.0  # half of WATCHDOG_USEC (2 s)
    assert events["database_migrated"][1]["url"] == f"sqlite:///{database}"  # a password would show as ***
