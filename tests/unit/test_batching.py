"""The batching rules on their own: which station groups answer getLoad for a fleet, and how incremental session
reads are merged into the latest session per port."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from volttron.driver.interfaces.chargepoint.batching import SESSION_OVERLAP, SessionHistory, group_cover, group_ids
from volttron.driver.interfaces.chargepoint.models import Session

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
    assert history.latest("1:3") == []
    assert history.since("*") == T0 + timedelta(hours=4) - SESSION_OVERLAP


def test_an_older_session_read_again_does_not_replace_a_newer_one():
    history = SessionHistory()
    history.merge("1:1", {"1:1": [session("1:1", 1, 3, 4, "new")]})
    history.merge("1:1", {"1:1": [session("1:1", 1, 0, 2, "old")]})
    assert [s.session_id for s in history.latest("1:1")] == ["new"]
