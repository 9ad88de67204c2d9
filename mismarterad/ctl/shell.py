"""The interactive mismarterctl shell: one connection, history and completion of commands."""

from __future__ import annotations

import cmd
import os
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["ControlShell"]


def _history_file() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "mismarterad" / "ctl_history"


class ControlShell(cmd.Cmd):
    intro = "mismarterctl: type help, or a command such as status; Ctrl-D to leave."
    prompt = "mismarterad> "

    def __init__(self, commands: list[str], run: Callable[[str, list[str]], Any]) -> None:
        super().__init__()
        self._commands = sorted(commands)
        self._run = run
        self.last_error = 0

    def preloop(self) -> None:
        try:
            import readline

            path = _history_file()
            if path.exists():
                readline.read_history_file(path)
            readline.set_history_length(1000)
        except (ImportError, OSError):
            pass

    def postloop(self) -> None:
        try:
            import readline

            path = _history_file()
            path.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(path)
        except (ImportError, OSError):
            pass

    def default(self, line: str) -> bool:
        try:
            words = shlex.split(line)
        except ValueError as exc:
            print(f"mismarterctl: {exc}")
            return False
        if words and words[0] in ("exit", "quit"):
            return True
        if words:
            self.last_error = self._run(words[0], words[1:])
        return False

    def do_help(self, arg: str) -> bool:  # the daemon's three-level help, not cmd's own
        self.last_error = self._run("help", shlex.split(arg))
        return False

    def do_EOF(self, _arg: str) -> bool:  # noqa: N802 - cmd's name for Ctrl-D
        print()
        return True

    def emptyline(self) -> bool:
        return False

    def completenames(self, text: str, *ignored: Any) -> list[str]:
        return [c for c in [*self._commands, "exit"] if c.startswith(text)]

    def completedefault(self, text: str, line: str, *ignored: Any) -> list[str]:
        words = line.split()
        if words and words[0] == "help":
            return [n for n in ("system", "session", "time", *self._commands) if n.startswith(text)]
        return []
