"""The API's lanes of worker threads (integrations/http_server/lanes.py), so that no kind of
work crowds out another. Plain route functions not in a lane share anyio's 40 threads.

- `login`: each password check is argon2id (64 MiB and about a quarter of a second); two run at
  once with up to 16 waiting, and past that a login is answered 503 at once. An operator's
  login waits its turn under a flood of guesses, and the daemon's memory stays bounded.
- `bars`: a market-data read is up to MAX_BAR_ROWS rows; two at once, four waiting.
- `control`: start, stop, halt, resume, flatten, reload never wait behind reads or logins.
- `events`: the event streams' polls (a look at the event ring, now and then a token check),
  so open consoles keep streaming while the shared threads are busy, and never hold them up.
"""

from __future__ import annotations

from mismarterad.integrations.http_server.lanes import Lane

__all__ = ["default_lanes"]


def default_lanes() -> dict[str, Lane]:
    return {"login": Lane("login", 2, 16), "bars": Lane("bars", 2, 4), "control": Lane("control", 4, None),
            "events": Lane("events", 4, None)}
