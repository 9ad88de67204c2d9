"""Failpoints: named instants of the order flow where a crash test kills the process.

The crash test (tests/e2e/test_crash_resume.py) proves that a SIGKILL at any instant of the
order flow loses nothing and sends nothing twice. Killing from outside at random times rarely
lands between two particular lines, so the flow names its dangerous instants here, and the
test arms one per start through the environment:

    MISMARTERAD_FAILPOINTS="intent_journaled:3"   # SIGKILL at the 3rd pass of that point

Unset (every real deployment), `failpoint` is one dictionary lookup on an empty dict and does
nothing. The idea is the failpoints of FoundationDB and etcd; the points are:

* intent_journaled: the intent is committed, the broker call not made;
* order_acked: the broker answered, the answer not journaled;
* fill_received: fills came from the broker, not journaled or applied;
* flatten_order: the close flatten, between two of its orders;
* report_writing: the day's report half written.
"""

from __future__ import annotations

import os
import signal
import sys

__all__ = ["ENV", "POINTS", "failpoint"]

ENV = "MISMARTERAD_FAILPOINTS"
POINTS = ("intent_journaled", "order_acked", "fill_received", "flatten_order", "report_writing")


def _armed(spec: str) -> dict[str, int]:
    armed: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, hit = item.partition(":")
        if name not in POINTS or not hit.isdigit() or int(hit) < 1:
            print(f"{ENV}: ignored {item!r}: expected <point>:<hit> with a point of {', '.join(POINTS)}",
                  file=sys.stderr)
            continue
        armed[name] = int(hit)
    return armed


_ARMED = _armed(os.environ.get(ENV, ""))
_PASSES: dict[str, int] = {}


def failpoint(name: str) -> None:
    """Pass a named point; the armed pass kills this process at once (no cleanup, no flush)."""
    if name not in _ARMED:
        return
    _PASSES[name] = passes = _PASSES.get(name, 0) + 1
    if passes == _ARMED[name]:
        os.kill(os.getpid(), signal.SIGKILL)
