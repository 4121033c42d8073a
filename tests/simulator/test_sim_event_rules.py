"""The shed-event rules and the model's event API on their own (no server): codes, fault order, removal."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sim_helpers import START, frozen_clock

from chargepoint_simulator.model import (
    EVENT_UNKNOWN,
    EventRequest,
    Model,
    ShedError,
    ShedLimit,
    UnknownEventError,
)
from chargepoint_simulator.model.events import check_event

NOW = START.timestamp()
SOON = START + timedelta(minutes=5)
KW = ShedLimit(allowed_kw=2.0)


# (what is wrong, the request, code, phrase): several faults at once, the first in the documented order decides
FAULT_ORDER = [
    ("no target before a bad duration", EventRequest(SOON, 0, KW), 187, "exactly one of stationID or sgID"),
    (
        "no value before a bad duration",
        EventRequest(SOON, 0, ShedLimit(), station_id="1:10001"),
        187,
        "Give allowedLoadPerPort",
    ),
    (
        "duration before the value's range",
        EventRequest(SOON, 0, ShedLimit(allowed_kw=-1), station_id="1:10001"),
        188,
        "eventDuration must be a whole number of minutes above 0",
    ),
    (
        "the value's range before a past start",
        EventRequest(START - timedelta(seconds=1), 5, ShedLimit(percent=150), sg_id="7"),
        188,
        "percentShedPerStation must be a whole number from 0 to 100",
    ),
]


@pytest.mark.parametrize("request_, code, phrase", [c[1:] for c in FAULT_ORDER], ids=[c[0] for c in FAULT_ORDER])
def test_the_first_fault_in_the_documented_order_decides(request_, code, phrase) -> None:
    with pytest.raises(ShedError) as refused:
        check_event(request_, NOW)
    assert refused.value.code == code and phrase in refused.value.text


def test_a_start_within_the_present_second_is_not_in_the_past() -> None:
    check_event(EventRequest(START, 1, KW, station_id="1:10001"), NOW + 0.9)
    with pytest.raises(ShedError):
        check_event(EventRequest(START, 1, KW, station_id="1:10001"), NOW + 1.0)


def test_the_model_creates_lists_and_removes_events() -> None:
    model = Model(stations=4, seed=3, clock=frozen_clock())
    sid = model.station_ids()[0]
    event = model.create_event(EventRequest(SOON, 10, KW, station_id=sid, allow_opt_out=True))
    assert (event.eventId, event.station_ids, event.allowOptOut) == (1, (sid,), True)
    assert event.end - event.start == 600
    assert model.events() == [event]
    assert model.remove_event(1) is event and event.status(NOW) == "cancelled"
    with pytest.raises(UnknownEventError) as refused:
        model.remove_event(1)
    assert refused.value.code == EVENT_UNKNOWN == 191


def test_event_ids_count_up_and_a_group_event_names_its_members() -> None:
    model = Model(stations=4, seed=3, clock=frozen_clock())
    group = model.groups[0]
    first = model.create_event(EventRequest(SOON, 10, KW, station_id=group.station_ids[0]))
    second = model.create_event(EventRequest(SOON, 10, ShedLimit(allowed_kw=1.0), sg_id=str(group.sgID)))
    assert (first.eventId, second.eventId) == (1, 2)
    assert (second.sgID, second.stationID, second.station_ids) == (group.sgID, None, tuple(group.station_ids))
