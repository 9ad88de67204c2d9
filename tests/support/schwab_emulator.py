"""A real `mismarterad emulate schwab` process for tests, reached only over its port
(support/emulator_process.py: the process and its controls). schwab-py's host is hard-coded,
so its clients reach the emulator through the adapter's session (`session()`), as the daemon's do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.emulator_process import EmulatorProcess, cli_command, launch, replay_args

from mismarterad.integrations.schwab import SchwabCredentials, SchwabEndpoint, SchwabSession, TokenFile

APP_KEY, APP_SECRET = "emulator-app-key-0123", "emulator-app-secret-4567"
ACCOUNT_NUMBER = "12345678"


@dataclass
class SchwabEmulator(EmulatorProcess):
    """A running Schwab emulator process: its controls, the app it takes, the token file it wrote."""

    token_file: Path = Path()
    app_key: str = APP_KEY
    app_secret: str = APP_SECRET
    account_number: str = ACCOUNT_NUMBER

    @property
    def credentials(self) -> SchwabCredentials:
        return SchwabCredentials(self.app_key, self.app_secret)

    @property
    def endpoint(self) -> SchwabEndpoint:
        return SchwabEndpoint.derive(self.base_url)

    def session(self, token_file: Path | None = None, **options: Any) -> SchwabSession:
        """schwab-py's Client (its `.client`) on the emulator, from this emulator's token file."""
        return SchwabSession(self.credentials, TokenFile(token_file or self.token_file), self.endpoint, **options)

    def account_hash(self) -> str:
        session = self.session()
        try:
            rows = session.client.get_account_numbers().json()
        finally:
            session.close()
        return str(rows[0]["hashValue"])

    def posted(self) -> list[dict[str, Any]]:
        """The order POSTs the emulator received, in order: what each asked for, its order id once answered."""
        return [r for r in self.requests() if r["method"] == "POST" and r["path"].endswith("/orders")]


def emulator_command(data_dir: Path, state_dir: Path, token_file: Path, *, port: int = 0, app_key: str = APP_KEY,
                     app_secret: str = APP_SECRET, clock_start: str | None = None,
                     speed: float | None = None) -> list[str]:
    return cli_command("emulate", "schwab", "--port", str(port), "--app-key", app_key, "--app-secret", app_secret,
                       "--token-file", str(token_file), "--data-dir", str(data_dir), "--state-dir", str(state_dir),
                       *replay_args(clock_start, speed))


def start_schwab_emulator(data_dir: Path, state_dir: Path, token_file: Path | None = None, *,
                          clock_start: str | None = None, speed: float | None = None,
                          timeout_secs: float = 30.0) -> SchwabEmulator:
    """Start the emulator (replay clock if `clock_start` is given; its token file next to its
    state directory unless named) and wait until it listens."""
    token_file = token_file or Path(state_dir).with_name(Path(state_dir).name + "-token.json")
    url, process, log_path = launch(emulator_command(data_dir, state_dir, token_file, clock_start=clock_start,
                                                     speed=speed), data_dir, state_dir, timeout_secs)
    return SchwabEmulator(url, process, log_path, token_file)


@contextmanager
def running_schwab_emulator(data_dir: Path, state_dir: Path, **kwargs: Any) -> Iterator[SchwabEmulator]:
    emulator = start_schwab_emulator(data_dir, state_dir, **kwargs)
    try:
        yield emulator
    finally:
        emulator.stop()
