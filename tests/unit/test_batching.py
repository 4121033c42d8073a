"""The batching rules on their own: which station groups answer getLoad for a fleet, and how incremental session
reads are merged into the latest session per port."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from volttron.driver.interfaces.chargepoint.batching import (REFRESH_OVERLAP, SESSION_OVERLAP, START_MARGIN, SessionHistory,
                                                             SessionWatch, group_cover, group_ids)
from volttron.driver.interfaces.chargepoint.models import PortStatus, Session

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)

COVERS = [
    # (stations, their groups, the groups asked in order with the stations each was chosen for)
    ("one group holds all", ["a", "b", "c"], {"a": ["1"], "b": ["1"], "c": ["1"]}, [("1", {"a", "b", "c"})]),
    ("biggest group first", ["a", "b", "c", "d"], {"a": ["1", "9"], "b": ["1", "9"], "c": ["2", "9"], "d": ["2"]},
     [("9", {"a", "b", "c"})]),
    ("two groups", ["a", "b", "c", "d"], {"a": ["1"], "b": ["1"], "c": ["2"], "d": ["2"]},
     [("2", {"c", "d"}), ("1", {"a", "b"})]),
    ("a group of one is not worth a call", ["a", "b"], {"a": ["1"], "b": ["2"]}, []),
    ("unknown membership", ["a", "b"], {}, []),
    ("leftover asked alone", ["a", "b", "c"], {"a": ["1"], "b": ["1"], "c": ["2"]}, [("1", {"a", "b"})]),
]


@pytest.mark.parametrize(("case", "stations", "groups", "expected"), COVERS, ids=[c[0] for c in COVERS])
def test_group_cover(case, stations, groups, expected):
    assert group_cover(stations, groups) == expected


# (stations, their groups, the groups of group devices, the groups asked)
PREFERRED = [
    ("a group device's group over an equal one", ["a", "b"], {"a": ["1", "9"], "b": ["1", "9"]}, ["1"],
     [("1", {"a", "b"})]),
    ("over a bigger one", ["a", "b", "c"], {"a": ["1", "9"], "b": ["1", "9"], "c": ["9"]}, ["1"],
     [("1", {"a", "b"})]),
    ("not when it would be a call for one station", ["a", "b"], {"a": ["1", "9"], "b": ["9"]}, ["1"],
     [("9", {"a", "b"})]),
]


@pytest.mark.parametrize(("case", "stations", "groups", "prefer", "expected"), PREFERRED,
                         ids=[c[0] for c in PREFERRED])
def test_group_cover_prefers_the_groups_of_group_devices(case, stations, groups, prefer, expected):
    assert group_cover(stations, groups, prefer) == expected


@pytest.mark.parametrize(("field", "ids"), [("39491, 41020", ["39491", "41020"]), ("39491", ["39491"]),
                                           ("", []), (None, []), (" 1 ,, 2 ", ["1", "2"])])
def test_group_ids_of_the_sgid_field(field, ids):
    assert group_ids(field) == ids


def session(station: str, port: int, start_h: float, end_h: float | None, sid: str) -> Session:
    end = None if end_h is None else T0 + timedelta(hours=end_h)
    return Session(station, port, sid, 1.0, T0 + timedelta(hours=start_h), end)


def test_first_read_starts_from_nothing_then_from_a_day_before_the_latest_end():
    history = SessionHistory()
    assert history.since("1:1") is None
    history.merge("1:1", {"1:1": [session("1:1", 1, 0, 2, "a"), session("1:1", 1, 3, 5, "b")]})
    assert history.since("1:1") == T0 + timedelta(hours=5) - SESSION_OVERLAP
    assert history.since("*") is None  # each scope keeps its own watermark


def test_merge_keeps_the_latest_session_per_port_across_reads():
    history = SessionHistory()
    history.merge("*", {"1:1": [session("1:1", 1, 0, 2, "a"), session("1:1", 2, 0, 1, "p2")],
                        "1:2": [session("1:2", 1, 0, 1, "x")]})
    history.merge("*", {"1:1": [session("1:1", 1, 3, 4, "b")]})
    assert {s.session_id for s in history.latest("1:1")} == {"b", "p2"}
    assert [s.session_id for s in history.latest("1:2")] == ["x"]
    assert history.latest("1:3") == ()
    assert history.since("*") == T0 + timedelta(hours=4) - SESSION_OVERLAP


def test_an_older_session_read_again_does_not_replace_a_newer_one():
    history = SessionHistory()
    history.merge("1:1", {"1:1": [session("1:1", 1, 3, 4, "new")]})
    history.merge("1:1", {"1:1": [session("1:1", 1, 0, 2, "old")]})
    assert [s.session_id for s in history.latest("1:1")] == ["new"]


# -- SessionWatch: when a station's sessions are read again, and from where ------------------------------------------

def status(state: str, at: datetime | None) -> dict[int, PortStatus]:
    return {1: PortStatus(1, state, at)}


READ_AT = T0 + timedelta(hours=3)  # the API's clock at the last read: the latest status change it had reported
WATCH = {
    # case: statuses seen after the read (port 1), whether a read is due at 160 s (refresh 3600 s), where it starts
    # then, and where it starts when the refresh is due too (at 100 s + 3600 s)
    "nothing changed": ([status("AVAILABLE", T0)], False, READ_AT - REFRESH_OVERLAP, READ_AT - REFRESH_OVERLAP),
    "a long session ended": ([status("INUSE", T0), status("AVAILABLE", T0 + timedelta(hours=4))], True,
                             T0 - START_MARGIN, T0 - START_MARGIN),
    "a session started after the read ended": (
        [status("AVAILABLE", T0), status("INUSE", READ_AT + timedelta(minutes=5)),
         status("AVAILABLE", READ_AT + timedelta(minutes=9))], True, READ_AT + timedelta(minutes=5) - START_MARGIN,
        READ_AT - REFRESH_OVERLAP),
    "a session of unknown start ended": ([status("INUSE", None), status("AVAILABLE", T0)], True, None, None),
    "still charging": ([status("INUSE", T0)], False, READ_AT - REFRESH_OVERLAP, READ_AT - REFRESH_OVERLAP),
}


def watched() -> SessionWatch:
    """A watch that saw a status dated READ_AT on another station, then read station 1:1 at 100 s."""
    watch = SessionWatch()
    watch.observe({"1:2": status("AVAILABLE", READ_AT)})
    assert watch.needs_read("1:1", 0.0) and watch.since("1:1") is None  # never read: its whole history
    watch.read(["1:1"], 100.0)
    return watch


@pytest.mark.parametrize("seen, due, since, refresh_since", WATCH.values(), ids=list(WATCH))
def test_session_watch(seen, due, since, refresh_since):
    watch = watched()
    for statuses in seen:
        watch.observe({"1:1": statuses})
    assert watch.needs_read("1:1", 160.0) is due
    assert watch.since("1:1", 160.0) == (since if due else refresh_since)
    assert watch.needs_read("1:1", 100.0 + 3600)  # the safety refresh
    assert watch.since("1:1", 100.0 + 3600) == refresh_since


def test_a_read_for_an_ended_session_leaves_the_safety_refresh_where_it_was():
    watch = watched()
    start = READ_AT + timedelta(minutes=5)
    watch.observe({"1:1": status("INUSE", start)})
    watch.observe({"1:1": status("AVAILABLE", start + timedelta(minutes=20))})
    assert watch.since("1:1", 160.0) == start - START_MARGIN
    watch.read(["1:1"], 160.0)
    assert not watch.needs_read("1:1", 161.0)
    assert watch.needs_read("1:1", 100.0 + 3600)  # an hour after the last refresh, not after this read
    assert watch.since("1:1", 100.0 + 3600) == READ_AT - REFRESH_OVERLAP  # no gap since the last refresh


def test_without_a_status_seen_the_refresh_has_no_start_of_its_own():
    watch = SessionWatch()
    watch.read(["1:1"], 100.0)
    assert watch.since("1:1") is None


def test_forgetting_a_station_reads_its_whole_history_again():
    watch = watched()
    watch.forget("1:1")
    assert watch.needs_read("1:1", 101.0) and watch.since("1:1") is None
