"""The interactive mismarterctl shell: one connection, history, and completion of the daemon's
commands and of its namespaces (system, data, session, time: `data session`, `time now`)."""

from __future__ import annotations

import cmd
import os
import shlex
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

__all__ = ["ControlShell"]


def _history_file() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "mismarterad" / "ctl_history"


class ControlShell(cmd.Cmd):
    """Sends each line to the daemon as typed (a command, or NAMESPACE COMMAND, and its words);
    the daemon resolves namespaces and answers help, so the shell offers only what it has."""

    intro = ("mismarterctl: help, help data, help data session; a command such as status or\n"
             "system status (Tab completes); Ctrl-D to leave.")
    prompt = "mismarterad> "

    def __init__(self, commands: Sequence[str], run: Callable[[str, list[str]], Any],
                 namespaces: Mapping[str, Sequence[str]] | None = None,
                 stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> None:
        super().__init__(stdin=stdin, stdout=stdout)
        self.use_rawinput = stdin is None
        self._commands = sorted(commands)
        self._namespaces = {ns: list(words) for ns, words in (namespaces or {}).items()}
        self._run = run
        self.last_error = 0

    def preloop(self) -> None:
        if not self.use_rawinput:
            return
        try:
            import readline

            path = _history_file()
            if path.exists():
                readline.read_history_file(path)
            readline.set_history_length(1000)
        except (ImportError, OSError):
            pass

    def postloop(self) -> None:
        if not self.use_rawinput:
            return
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
            self.stdout.write(f"mismarterctl: {exc}\n")
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
        self.stdout.write("\n")
        return True

    def emptyline(self) -> bool:
        return False

    def candidates(self, before: Sequence[str]) -> list[str]:
        """What may follow the words `before` on a line: the first word, a namespace's command,
        or help's namespace and command."""
        match list(before):
            case []:
                return sorted({*self._commands, *self._namespaces, "exit"})
            case [namespace] if namespace in self._namespaces:
                return self._namespaces[namespace]
            case ["help"]:
                return sorted({*self._namespaces, *self._commands})
            case ["help", namespace] if namespace in self._namespaces:
                return self._namespaces[namespace]
        return []

    def completenames(self, text: str, *ignored: Any) -> list[str]:
        return [c for c in self.candidates([]) if c.startswith(text)]

    def completedefault(self, text: str, line: str, begidx: int, endidx: int) -> list[str]:
        return [c for c in self.candidates(line[:begidx].split()) if c.startswith(text)]

    complete_help = completedefault  # cmd's own would offer its do_ methods
