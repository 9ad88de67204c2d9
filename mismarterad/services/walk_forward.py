"""Walk-forward windows: choose on `train` sessions, measure on the next `test`, roll by `test`.

Every window's test sessions come after all of its train sessions, and successive test windows
tile the range after the first train window without overlapping, so each session is measured
out of sample at most once. A tail shorter than a whole test window is left out (a short test
says little and would not be comparable with the others).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

__all__ = ["WalkForwardWindow", "parse_walk_forward", "walk_forward_windows"]


@dataclass(frozen=True, slots=True)
class WalkForwardWindow:
    index: int
    train: tuple[date, ...]
    test: tuple[date, ...]


def parse_walk_forward(text: str) -> tuple[int, int]:
    """`TRAIN:TEST` as two positive session counts; ValueError saying what was expected."""
    parts = text.split(":")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"invalid walk-forward {text!r}: expected TRAIN:TEST session counts, e.g. 60:20")
    train, test = int(parts[0]), int(parts[1])
    if train < 1 or test < 1:
        raise ValueError(f"invalid walk-forward {text!r}: both session counts must be at least 1")
    return train, test


def walk_forward_windows(sessions: Sequence[date], train: int, test: int) -> list[WalkForwardWindow]:
    """The rolling windows over `sessions` (in order); empty when they hold fewer than
    `train + test` sessions."""
    if train < 1 or test < 1:
        raise ValueError("train and test must be at least 1 session")
    days = tuple(sessions)
    windows = []
    start = 0
    while start + train + test <= len(days):
        windows.append(WalkForwardWindow(len(windows), days[start:start + train],
                                         days[start + train:start + train + test]))
        start += test
    return windows
