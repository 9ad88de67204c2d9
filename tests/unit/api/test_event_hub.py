"""The event ring: ids carry the hub's epoch, so an id from before a daemon restart (or one not
given yet) resumes from now instead of silencing the stream; `since` gives what came after a
number, and a reader can tell when the ring no longer holds what it missed."""

from __future__ import annotations

from mismarterad.api.event_hub import EventHub


def test_a_stream_resumes_after_an_id_of_this_hub_and_from_now_otherwise() -> None:
    hub = EventHub()
    for n in range(5):
        hub.publish("fill", {"n": n})
    assert hub.event_id(3) == f"{hub.epoch}-3"
    assert hub.resume_after(hub.event_id(3)) == 3
    assert [e.data["n"] for e in hub.since(hub.resume_after(hub.event_id(3)))] == [3, 4]
    restarted = EventHub()  # the daemon restarted: numbering starts again, under a new epoch
    restarted.publish("status", {})
    for stale in (hub.event_id(4), f"{restarted.epoch}-99", "4", "", None, f"{restarted.epoch}-x"):
        assert restarted.resume_after(stale) == restarted.last_seq == 1, stale
    after = restarted.resume_after(hub.event_id(4))
    restarted.publish("audit", {"n": 1})
    assert [e.kind for e in restarted.since(after)] == ["audit"], "a stale id hears what comes next"
    assert hub.epoch != restarted.epoch


def test_since_gives_what_the_ring_still_holds_and_shows_a_gap() -> None:
    hub = EventHub(size=3)
    for n in range(1, 7):
        hub.publish("pnl", {"n": n})
    assert hub.since(6) == [] and [e.seq for e in hub.since(5)] == [6]
    missed = hub.since(1)
    assert [e.seq for e in missed] == [4, 5, 6] and missed[0].seq > 1 + 1, "events 2 and 3 are gone: a gap"
