"""The Pipeline handle SystemManager holds: the running threads of one start.

The messages the threads pass to each other carry column arrays and live with the threads
(threads/messages.py); core keeps only this protocol.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Pipeline"]


class Pipeline(Protocol):
    """The running threads of one SystemManager start; built by the composition root. What
    they are doing is read from their ReadModel (`core/read_model.py`), not from here."""

    def start(self) -> None: ...

    def request_stop(self) -> None: ...

    def join(self, timeout_secs: float) -> bool:
        """Wait for every thread to end; False if some are still running."""
        ...

    def finished(self) -> bool: ...

    def error(self) -> str | None:
        """The first failure, as a message naming the thread, or None."""
        ...
