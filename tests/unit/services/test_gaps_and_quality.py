"""Gap detection and quality scoring against the session grid, batch and incremental."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from support.bars import NY, bar_at, minute_bars, session

from mismarterad.core.intervals import parse_interval
from mismarterad.services.gap_detection import detect_gaps, expected_starts
from mismarterad.services.quality_scoring import QualityTracker, score_quality

M1, M5 = parse_interval("1m"), parse_interval("5m")
REGULAR = session()
EARLY = session(date(2011, 11, 25), close=time(13))


def at(hh: int, mm: int) -> datetime:
    return datetime.combine(REGULAR.day, time(hh, mm), NY)


def test_expected_grid_respects_early_closes() -> None:
    assert len(expected_starts(REGULAR, M1)) == 390
    assert len(expected_starts(EARLY, M1)) == 210
    assert len(expected_starts(EARLY, parse_interval("1h"))) == 4  # 09:30, 10:30, 11:30, 12:30 (cut)
    assert expected_starts(REGULAR, parse_interval("1d")) == [at(9, 30).astimezone(UTC)]


def test_gaps_are_merged_runs() -> None:
    present = [m for m in range(390) if m not in (0, 1, 2, 100, 389)]
    bars = [bar_at(at(9, 30) + timedelta(minutes=m), 1, 1, 1, 1, 1) for m in present]
    gaps = detect_gaps(bars, REGULAR, M1)
    assert [(g.start_utc, g.end_utc, g.missing) for g in gaps] == [
        (at(9, 30).astimezone(UTC), at(9, 33).astimezone(UTC), 3),
        (at(11, 10).astimezone(UTC), at(11, 11).astimezone(UTC), 1),
        (at(15, 59).astimezone(UTC), at(16, 0).astimezone(UTC), 1),
    ]
    q = score_quality(bars, REGULAR, M1)
    assert (q.expected, q.present, q.missing) == (390, 385, 5)
    assert q.pct == 100 * 385 / 390


def test_a_session_in_progress_only_counts_what_is_due() -> None:
    bars = [bar_at(at(9, 30) + timedelta(minutes=m), 1, 1, 1, 1, 1) for m in (0, 2)]
    until = at(9, 33).astimezone(UTC)
    assert [g.missing for g in detect_gaps(bars, REGULAR, M1, until)] == [1]
    q = score_quality(bars, REGULAR, M1, until)
    assert (q.expected, q.present) == (3, 2)


def test_nothing_expected_scores_full() -> None:
    assert score_quality([], REGULAR, M1, at(9, 30).astimezone(UTC)).pct == 100.0


@settings(max_examples=60, deadline=None)
@given(data=st.data(), early=st.booleans(), interval=st.sampled_from([M1, M5]))
def test_gaps_and_quality_agree_and_tracker_equals_batch(data: st.DataObject, early: bool, interval) -> None:  # type: ignore[no-untyped-def]
    s = EARLY if early else REGULAR
    bars = data.draw(minute_bars(s))
    if interval is M5:
        bars = [b for b in bars if b.start_utc.minute % 5 == 0]
    grid = expected_starts(s, interval)
    cut = data.draw(st.sampled_from([None, *grid]))
    gaps = detect_gaps(bars, s, interval, cut)
    q = score_quality(bars, s, interval, cut)
    assert sum(g.missing for g in gaps) == q.missing
    assert q.present + q.missing == q.expected
    tracker = QualityTracker(s, interval)
    for bar in bars:
        if cut is None or bar.start_utc < cut:
            tracker.add(bar)
    assert tracker.quality(cut) == q
