"""Signed links to report files: valid for their one path until they expire, under a key of
their own (a token's key signs no link, and another daemon's key signs none of ours)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from mismarterad.api.file_links import LINK_TTL, FileLinks
from mismarterad.core.clock import SimClock

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
PATH = "/api/v1/reports/2011-01-04/files/report.html"


def _parts(url: str) -> tuple[str, int, str]:
    split = urlsplit(url)
    query = parse_qs(split.query)
    return split.path, int(query["expires"][0]), query["signature"][0]


def test_a_link_opens_its_one_file_until_it_expires() -> None:
    clock = SimClock(T0)
    links = FileLinks(bytes(32), clock)
    url, expires = links.sign(PATH)
    path, unix, signature = _parts(url)
    assert path == PATH and expires == T0 + LINK_TTL and unix == int(expires.timestamp())
    assert links.valid(PATH, unix, signature)
    assert not links.valid(PATH.replace("report.html", "trades.csv"), unix, signature)
    assert not links.valid(PATH, unix + 3600, signature), "the expiry is signed too"
    assert not FileLinks(bytes(range(32)), clock).valid(PATH, unix, signature)
    clock.set(expires - timedelta(seconds=1))
    assert links.valid(PATH, unix, signature)
    clock.set(expires)
    assert not links.valid(PATH, unix, signature)
