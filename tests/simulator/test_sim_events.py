"""Scheduled shed events over HTTP: the simulator's clock starts and ends them with nobody calling in
between; removal before and during; refusals with their codes; how an event meets other sheds."""
from __future__ import annotations

import json
from datetime import timedelta
from xml.etree import ElementTree

import pytest
from sim_helpers import START, charge, envelope, http, port_loads

pytestmark = pytest.mark.timeout(30)

DELAY = 2.0  # the simulator's default propagation delay, in simulated seconds
LEAD = 120.0  # the events below start two simulated minutes after they are created
MINUTES = 2
END = LEAD + MINUTES * 60
CP = 'xmlns:cp="urn:dictionary:com.chargepoint.webservices"'
UNSHED = (0, 6.0, 0.0, 0)
CAPPED = (1, 2.0, 2.0, 0)


def _at(seconds: float):
    """The instant ``seconds`` after the frozen clock's start."""
    return START + timedelta(seconds=seconds)


def _create(service, **fields):
    """createLoadShedEvent through suds: by default 2 minutes from now, for 2 minutes."""
    return service.createLoadShedEvent({"eventStartTime": _at(LEAD), "eventDuration": MINUTES, **fields})


def _json(sim, path: str):
    status, body = http(sim.url + path)
    assert status == 200
    return json.loads(body)


def _statuses(sim) -> list[str]:
    return [event["status"] for event in _json(sim, "/admin/events")["events"]]


@pytest.fixture
def sid(sim) -> str:
    """A two-port station with both ports charging at 6 kW, held there."""
    station_id = sim.model.station_ids()[0]
    charge(sim.model, station_id)
    return station_id


# ---------------------------------------------------------------------- the clock runs the event


# (when, in simulated seconds after the event was created, what getLoad shows on every port)
TIMELINE = [
    ("before the start", LEAD - 1, UNSHED),
    ("started, still on its way to the station", LEAD + DELAY - 0.5, UNSHED),
    ("in force once the start has propagated", LEAD + DELAY, CAPPED),
    ("still in force just before the end reaches the station", END + DELAY - 0.5, CAPPED),
    ("lapsed once the end has propagated", END + DELAY, UNSHED),
    ("long after", 86400, UNSHED),
]


@pytest.mark.parametrize("seconds, expected", [c[1:] for c in TIMELINE], ids=[c[0] for c in TIMELINE])
def test_the_clock_alone_starts_and_ends_the_event(sim, service, sid, seconds, expected) -> None:
    created = _create(service, stationID=sid, allowedLoadPerPort=2.0)
    assert (created.responseCode, created.eventId) == ("100", 1)
    sim.reset_calls()
    sim.clock.advance(seconds)
    assert sim.calls.total() == 0, "nothing reached the simulator between creating the event and this read"
    assert port_loads(service, sid) == [expected, expected]


def test_an_untouched_station_delivers_the_energy_the_event_allowed(sim, service, sid) -> None:
    _create(service, stationID=sid, allowedLoadPerPort=2.0)
    sim.clock.advance(600)
    sim.model.set_port_status(sid, 1, "AVAILABLE")
    capped_hours = MINUTES * 60 / 3600
    expected = 6.0 * (600 / 3600 - capped_hours) + 2.0 * capped_hours
    assert sim.model.sessions(sid)[-1].Energy == pytest.approx(expected, abs=1e-5)


def test_a_group_event_sheds_every_member_by_percent(sim, service) -> None:
    group = sim.model.groups[0]
    for station_id in group.station_ids:
        charge(sim.model, station_id)
    assert len(group.station_ids) == 2
    created = _create(service, sgID=str(group.sgID), percentShedPerStation=50)
    assert created.responseCode == "100"
    sim.clock.advance(LEAD + DELAY)
    during = service.getLoad({"sgID": group.sgID})
    ports = [p for station in during.stationData for p in station.Port]
    assert {(p.shedState, float(p.portLoad), int(p.percentShed)) for p in ports} == {(1, 3.0, 50)}
    assert float(during.sgLoad) == 3.0 * len(ports)
    sim.clock.advance(MINUTES * 60)
    after = service.getLoad({"sgID": group.sgID})
    assert {p.shedState for station in after.stationData for p in station.Port} == {0}
    assert float(after.sgLoad) == 6.0 * len(ports)


def test_the_request_is_logged_and_the_event_listed(sim, service, sid) -> None:
    _create(service, stationID=sid, allowedLoadPerPort=2.0, allowOptOut=True)
    operation, fields = sim.requests[-1]
    assert operation == "createLoadShedEvent"
    assert fields["shedEvent"]["stationID"] == sid and fields["shedEvent"]["allowOptOut"] == "true"
    [event] = _json(sim, "/admin/events")["events"]
    assert event == {
        "eventId": 1,
        "stationID": sid,
        "sgID": None,
        "stations": [sid],
        "eventStartTime": "2025-03-03T12:02:00Z",
        "eventEndTime": "2025-03-03T12:04:00Z",
        "eventDuration": MINUTES,
        "allowOptOut": True,
        "allowedLoadPerPort": 2.0,
        "percentShedPerStation": None,
        "status": "scheduled",
        "removedAt": None,
    }
    sim.clock.advance(LEAD)
    assert _statuses(sim) == ["running"]
    sim.clock.advance(MINUTES * 60)
    assert _statuses(sim) == ["ended"]


# ---------------------------------------------------------------------- removal


def test_removing_before_the_start_cancels_the_event(sim, service, sid) -> None:
    _create(service, stationID=sid, allowedLoadPerPort=2.0)
    sim.clock.advance(LEAD / 2)
    removed = service.removeLoadShedEvent(1)
    assert removed.responseCode == "100" and "cancelled before its start" in removed.response
    sim.clock.advance(LEAD / 2 + DELAY + 30)
    assert port_loads(service, sid) == [UNSHED, UNSHED]
    assert _statuses(sim) == ["cancelled"]
    again = service.removeLoadShedEvent(1)
    assert (again.responseCode, again.responseText) == ("191", "Load shed event 1 was already removed.")


def test_removing_during_the_event_lifts_it_after_the_delay(sim, service, sid) -> None:
    _create(service, stationID=sid, allowedLoadPerPort=2.0)
    sim.clock.advance(LEAD + DELAY + 30)
    assert port_loads(service, sid) == [CAPPED, CAPPED]
    removed = service.removeLoadShedEvent(1)
    assert removed.responseCode == "100" and "was ended" in removed.response
    assert port_loads(service, sid) == [CAPPED, CAPPED], "the removal also propagates with a delay"
    sim.clock.advance(DELAY)
    assert port_loads(service, sid) == [UNSHED, UNSHED]
    assert _statuses(sim) == ["removed"]
    sim.clock.advance(END)
    assert port_loads(service, sid) == [UNSHED, UNSHED]


def test_removing_a_running_event_keeps_a_shed_made_after_its_start(sim, service, sid) -> None:
    _create(service, stationID=sid, allowedLoadPerPort=2.0)
    sim.clock.advance(LEAD + DELAY)
    port2 = service.shedLoad({"shedStation": {"stationID": sid, "Ports": {"Port": [
        {"portNumber": "2", "allowedLoadPerPort": 4.0}]}}, "timeInterval": 0})
    assert port2.responseCode == "100"
    sim.clock.advance(DELAY)
    assert service.removeLoadShedEvent(1).responseCode == "100"
    sim.clock.advance(DELAY)
    assert port_loads(service, sid) == [UNSHED, (1, 4.0, 4.0, 0)]


def test_an_ended_event_cannot_be_removed(sim, service, sid) -> None:
    _create(service, stationID=sid, allowedLoadPerPort=2.0)
    sim.clock.advance(END)
    refused = service.removeLoadShedEvent(1)
    assert (refused.responseCode, refused.responseText) == ("191", "Load shed event 1 has already ended.")


# ---------------------------------------------------------------------- refusals


def _event_body(fields: dict[str, str | None]) -> str:
    """A createLoadShedEvent request with these shedEvent children (None leaves one out)."""
    inner = "".join(f"<{name}>{value}</{name}>" for name, value in fields.items() if value is not None)
    return f"<cp:createLoadShedEvent {CP}><shedEvent>{inner}</shedEvent></cp:createLoadShedEvent>"


def _answer(sim, body: str) -> dict[str, str]:
    """The children of the response wrapper, by name (raw HTTP, so that any bytes can be sent)."""
    status, answer = http(sim.endpoint, envelope(body), {"Content-Type": "text/xml"})
    assert status == 200, answer
    wrapper = list(ElementTree.fromstring(answer).find("{http://schemas.xmlsoap.org/soap/envelope/}Body"))[0]
    return {child.tag: child.text or "" for child in wrapper}


# (what is wrong, shedEvent fields replacing the defaults, code, phrase of the responseText)
CREATE_REFUSALS = [
    ("no target", {"stationID": None}, "187", "Give exactly one of stationID or sgID."),
    ("both targets", {"sgID": "{group}"}, "187", "Give exactly one of stationID or sgID."),
    ("no value", {"allowedLoadPerPort": None}, "187", "Give allowedLoadPerPort or percentShedPerStation."),
    ("both values", {"percentShedPerStation": "10"}, "187", "(percent), not both"),
    ("no start", {"eventStartTime": None}, "187", "shedEvent needs an eventStartTime."),
    ("start not a time", {"eventStartTime": "tomorrow"}, "187", "eventStartTime must be an xsd:dateTime"),
    ("no duration", {"eventDuration": None}, "187", "shedEvent needs an eventDuration in minutes."),
    ("duration not whole", {"eventDuration": "1.5"}, "187", "eventDuration must be an integer, not '1.5'"),
    ("kW not a number", {"allowedLoadPerPort": "lots"}, "187", "allowedLoadPerPort must be a number"),
    ("opt-out not a boolean", {"allowOptOut": "maybe"}, "187", "allowOptOut must be true or false"),
    ("zero duration", {"eventDuration": "0"}, "188", "minutes above 0, not 0"),
    ("negative duration", {"eventDuration": "-5"}, "188", "minutes above 0, not -5"),
    ("negative kW", {"allowedLoadPerPort": "-1"}, "188", "non-negative number of kW, not -1.0"),
    ("infinite kW", {"allowedLoadPerPort": "INF"}, "188", "non-negative number of kW, not inf"),
    ("percent above 100", {"allowedLoadPerPort": None, "percentShedPerStation": "101"}, "188", "0 to 100, not 101"),
    ("percent not whole", {"allowedLoadPerPort": None, "percentShedPerStation": "12.5"}, "188", "0 to 100, not 12.5"),
    (
        "start in the past",
        {"eventStartTime": "2025-03-03T11:59:59Z"},
        "188",
        "eventStartTime 2025-03-03T11:59:59Z is in the past (the service's clock reads 2025-03-03T12:00:00Z).",
    ),
    ("unknown station", {"stationID": "1:99999"}, "102", "No station found with stationID 1:99999."),
    ("unknown group", {"stationID": None, "sgID": "12345"}, "102", "No station group found with sgID 12345."),
    ("group not a number", {"stationID": None, "sgID": "west"}, "102", "No station group found with sgID west."),
]


@pytest.mark.parametrize(
    "changes, code, phrase", [c[1:] for c in CREATE_REFUSALS], ids=[c[0] for c in CREATE_REFUSALS]
)
def test_bad_events_are_refused_and_nothing_is_scheduled(sim, sid, changes, code, phrase) -> None:
    fields = {"stationID": sid, "eventStartTime": "2025-03-03T12:02:00Z", "eventDuration": "2",
              "allowedLoadPerPort": "2.0", **changes}
    fields = {k: v.format(group=sim.model.groups[0].sgID) if v else v for k, v in fields.items()}
    answer = _answer(sim, _event_body(fields))
    assert answer["responseCode"] == code
    assert phrase in answer["responseText"]
    assert "eventId" not in answer
    assert sim.model.events() == []
    sim.clock.advance(END)
    assert sim.model.shed_state(sid, effective=False) == {}


# (what is wrong, removeLoadShedEvent children, code, responseText)
REMOVE_REFUSALS = [
    ("unknown eventId", "<eventId>42</eventId>", "191", "No load shed event found with eventId 42."),
    ("eventId not a number", "<eventId>soon</eventId>", "187", "eventId must be an integer, not 'soon'."),
    ("no eventId", "", "187", "removeLoadShedEvent needs an eventId."),
]


@pytest.mark.parametrize(
    "inner, code, text", [c[1:] for c in REMOVE_REFUSALS], ids=[c[0] for c in REMOVE_REFUSALS]
)
def test_bad_removals_are_refused(sim, inner, code, text) -> None:
    answer = _answer(sim, f"<cp:removeLoadShedEvent {CP}>{inner}</cp:removeLoadShedEvent>")
    assert (answer["responseCode"], answer["responseText"]) == (code, text)
    assert "response" not in answer


# (what is accepted, eventStartTime sent, the start the event is listed with)
ACCEPTED_STARTS = [
    ("a start this very second", "2025-03-03T12:00:00Z", "2025-03-03T12:00:00Z"),
    ("no offset: taken as UTC", "2025-03-03T12:02:00", "2025-03-03T12:02:00Z"),
    ("another offset", "2025-03-03T14:02:00+02:00", "2025-03-03T12:02:00Z"),
]


@pytest.mark.parametrize("sent, listed", [c[1:] for c in ACCEPTED_STARTS], ids=[c[0] for c in ACCEPTED_STARTS])
def test_start_times_that_are_accepted(sim, sid, sent, listed) -> None:
    fields = {"stationID": sid, "eventStartTime": sent, "eventDuration": "2", "allowedLoadPerPort": "0"}
    answer = _answer(sim, _event_body(fields))
    assert (answer["responseCode"], answer["eventId"]) == ("100", "1")
    assert _json(sim, "/admin/events")["events"][0]["eventStartTime"] == listed


# ---------------------------------------------------------------------- meeting other sheds


def _percent_shed(service, station_id: str, percent: int = 25):
    return service.shedLoad({"shedStation": {"stationID": station_id, "percentShedPerStation": percent},
                             "timeInterval": 0})


def test_an_event_of_the_other_kind_than_the_shed_in_force_is_refused(sim, service, sid) -> None:
    assert _percent_shed(service, sid).responseCode == "100"
    refused = _create(service, stationID=sid, allowedLoadPerPort=2.0)
    assert refused.responseCode == "190"
    assert f"Station {sid} already has a percent shed" in refused.responseText
    assert "before scheduling an event by kW" in refused.responseText
    assert sim.model.events() == []
    assert _create(service, stationID=sid, percentShedPerStation=40).responseCode == "100", "same kind is fine"


def test_a_group_event_is_refused_whole_when_one_member_has_the_other_kind(sim, service) -> None:
    group = sim.model.groups[0]
    first, second = group.station_ids
    assert _percent_shed(service, second).responseCode == "100"
    refused = _create(service, sgID=str(group.sgID), allowedLoadPerPort=2.0)
    assert refused.responseCode == "190" and f"Station {second}" in refused.responseText
    assert sim.model.events() == []
    sim.clock.advance(END)
    assert sim.model.shed_state(first, effective=False) == {}


def test_the_event_wins_over_a_shed_made_after_it_was_created(sim, service, sid) -> None:
    assert _create(service, stationID=sid, allowedLoadPerPort=2.0).responseCode == "100"
    assert _percent_shed(service, sid).responseCode == "100", "nothing is in force yet"
    sim.clock.advance(DELAY)
    assert port_loads(service, sid) == [(1, 4.5, 0.0, 25)] * 2
    sim.clock.advance(LEAD)
    assert port_loads(service, sid) == [CAPPED, CAPPED]
    refused = _percent_shed(service, sid, 50)
    assert refused.responseCode == "190", "while the event runs its kW shed is the one in force"
    sim.clock.advance(END)
    assert port_loads(service, sid) == [UNSHED, UNSHED], "the event replaced the earlier shed"


def test_clearing_a_member_during_a_group_event_lifts_it_there_only(sim, service) -> None:
    group = sim.model.groups[0]
    for station_id in group.station_ids:
        charge(sim.model, station_id)
    first, second = group.station_ids
    _create(service, sgID=str(group.sgID), allowedLoadPerPort=2.0)
    sim.clock.advance(LEAD + DELAY)
    assert service.clearShedState({"shedStation": {"stationID": first}}).responseCode == "100"
    sim.clock.advance(DELAY)
    assert {p[0] for p in port_loads(service, first)} == {0}
    assert {p[0] for p in port_loads(service, second)} == {1}
    assert _statuses(sim) == ["running"]
