"""Load shedding: one target and one kind per request, refusals, propagation delay, lapse, clearing."""
from __future__ import annotations

import pytest
from sim_helpers import charge
from sim_helpers import port_loads as _ports

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def sid(sim) -> str:
    """A two-port station with both ports charging at 6 kW, held there."""
    station_id = sim.model.station_ids()[0]
    charge(sim.model, station_id)
    return station_id


def _shed(service, station_id: str, interval: int | None = None, **values):
    return service.shedLoad({"shedStation": {"stationID": station_id, **values}, "timeInterval": interval})


def test_station_kw_shed_reaches_the_station_after_the_delay(sim, service, sid) -> None:
    reply = _shed(service, sid, allowedLoadPerStation=2.5)
    assert (reply.responseCode, reply.Success, reply.stationID) == ("100", 1, sid)
    assert float(reply.allowedLoadPerStation) == 2.5 and getattr(reply, "percentShedPerStation", None) is None
    assert _ports(service, sid) == [(0, 6.0, 0.0, 0), (0, 6.0, 0.0, 0)], "a read right after the write shows the old state"
    assert set(sim.model.shed_state(sid, effective=False)) == {"1", "2"}
    sim.clock.advance(1.9)
    assert _ports(service, sid)[0][0] == 0
    sim.clock.advance(0.2)
    assert _ports(service, sid) == [(1, 2.5, 2.5, 0), (1, 2.5, 2.5, 0)]
    assert sim.model.load_view(sid)["stationLoad"] == 5.0


def test_percent_shed_scales_the_demand(sim, service, sid) -> None:
    assert _shed(service, sid, percentShedPerStation=25).responseCode == "100"
    sim.clock.advance(3)
    assert _ports(service, sid) == [(1, 4.5, 0.0, 25), (1, 4.5, 0.0, 25)]


def test_port_level_shed_touches_only_that_port(sim, service, sid) -> None:
    reply = _shed(service, sid, Ports={"Port": [{"portNumber": "2", "allowedLoadPerPort": 1.0}]})
    assert reply.responseCode == "100"
    assert [(p.portNumber, float(p.allowedLoadPerPort)) for p in reply.Ports.Port] == [("2", 1.0)]
    sim.clock.advance(3)
    assert _ports(service, sid) == [(0, 6.0, 0.0, 0), (1, 1.0, 1.0, 0)]
    assert _shed(service, sid, Ports={"Port": [{"portNumber": "1", "allowedLoadPerPort": 4.0}]}).responseCode == "100"
    sim.clock.advance(3)
    assert _ports(service, sid) == [(1, 4.0, 4.0, 0), (1, 1.0, 1.0, 0)]


def test_switching_kind_is_refused_until_cleared(sim, service, sid) -> None:
    assert _shed(service, sid, allowedLoadPerStation=3.0).responseCode == "100"
    refused = _shed(service, sid, percentShedPerStation=50)
    assert refused.responseCode == "190" and refused.Success == 0
    assert "clear the shed first" in refused.responseText
    refused = _shed(service, sid, Ports={"Port": [{"portNumber": "1", "percentShedPerPort": 10}]})
    assert refused.responseCode == "190"
    assert _shed(service, sid, allowedLoadPerStation=4.0).responseCode == "100", "same kind is fine"
    cleared = service.clearShedState({"shedStation": {"stationID": sid}})
    assert (cleared.responseCode, cleared.Success, cleared.stationID) == ("100", 1, sid)
    assert _shed(service, sid, percentShedPerStation=50).responseCode == "100"
    sim.clock.advance(3)
    assert _ports(service, sid) == [(1, 3.0, 0.0, 50), (1, 3.0, 0.0, 50)]


@pytest.mark.parametrize(
    "values, code",
    [
        ({"percentShedPerStation": 101}, "188"),
        ({"percentShedPerStation": -1}, "188"),
        ({"allowedLoadPerStation": -0.5}, "188"),
        ({"allowedLoadPerStation": 3, "percentShedPerStation": 10}, "187"),
        ({}, "187"),
        ({"allowedLoadPerStation": 3, "Ports": {"Port": [{"portNumber": "1", "allowedLoadPerPort": 1}]}}, "187"),
        ({"Ports": {"Port": [{"portNumber": "1", "allowedLoadPerPort": 1}, {"portNumber": "2", "percentShedPerPort": 5}]}}, "187"),
        ({"Ports": {"Port": [{"portNumber": "1", "allowedLoadPerPort": 1, "percentShedPerPort": 5}]}}, "187"),
        ({"Ports": {"Port": [{"portNumber": "7", "allowedLoadPerPort": 1}]}}, "102"),
    ],
)
def test_bad_shed_requests_are_refused(sim, service, sid, values, code) -> None:
    reply = _shed(service, sid, **values)
    assert (reply.responseCode, reply.Success) == (code, 0)
    assert reply.responseText
    assert sim.model.shed_state(sid, effective=False) == {}


def test_shed_targets(sim, service) -> None:
    group = sim.model.groups[0]
    both = service.shedLoad({"shedGroup": {"sgID": group.sgID, "allowedLoadPerStation": 1},
                             "shedStation": {"stationID": group.station_ids[0], "allowedLoadPerStation": 1},
                             "timeInterval": 0})
    assert both.responseCode == "187"
    assert _shed(service, "1:99999", allowedLoadPerStation=1).responseCode == "102"
    assert service.shedLoad({"shedGroup": {"sgID": 5, "allowedLoadPerStation": 1}, "timeInterval": 0}).responseCode == "102"
    assert service.clearShedState({"shedStation": {"stationID": "1:99999"}}).responseCode == "102"


def test_clear_with_ports_clears_the_whole_station(sim, service, sid) -> None:
    _shed(service, sid, Ports={"Port": [{"portNumber": "1", "allowedLoadPerPort": 1.0},
                                        {"portNumber": "2", "allowedLoadPerPort": 2.0}]})
    sim.clock.advance(3)
    assert [p[0] for p in _ports(service, sid)] == [1, 1]
    reply = service.clearShedState({"shedStation": {"stationID": sid, "Ports": {"Port": [{"portNumber": "1"}]}}})
    assert reply.responseCode == "100"
    assert [p[0] for p in _ports(service, sid)] == [1, 1], "the clear also propagates with a delay"
    sim.clock.advance(3)
    assert _ports(service, sid) == [(0, 6.0, 0.0, 0), (0, 6.0, 0.0, 0)]


def test_time_interval_lapses(sim, service, sid) -> None:
    assert _shed(service, sid, interval=1, allowedLoadPerStation=2.0).responseCode == "100"
    sim.clock.advance(3)
    assert [p[0] for p in _ports(service, sid)] == [1, 1]
    sim.clock.advance(55)
    assert [p[0] for p in _ports(service, sid)] == [1, 1]
    sim.clock.advance(5)
    assert _ports(service, sid) == [(0, 6.0, 0.0, 0), (0, 6.0, 0.0, 0)]
    assert _shed(service, sid, percentShedPerStation=10).responseCode == "100", "a lapsed shed no longer blocks"


def test_empty_time_interval_means_until_cleared(sim, service, sid) -> None:
    assert _shed(service, sid, allowedLoadPerStation=2.0).responseCode == "100"
    assert sim.requests[-1][1]["timeInterval"] == ""
    sim.clock.advance(7 * 86400)
    assert [p[0] for p in _ports(service, sid)] == [1, 1]


def test_group_shed_and_clear(sim, service) -> None:
    group = sim.model.groups[0]
    reply = service.shedLoad({"shedGroup": {"sgID": group.sgID, "percentShedPerStation": 40}, "timeInterval": 0})
    assert (reply.responseCode, reply.Success, reply.sgID, reply.percentShedPerStation) == ("100", 1, group.sgID, "40")
    sim.clock.advance(3)
    for station_id in group.station_ids:
        assert {p["shedState"] for p in sim.model.load_view(station_id)["Port"]} == {1}
        assert {p["percentShed"] for p in sim.model.load_view(station_id)["Port"]} == {40}
    reply = service.clearShedState({"shedGroup": {"sgID": group.sgID}})
    assert (reply.responseCode, reply.sgID) == ("100", group.sgID)
    sim.clock.advance(3)
    for station_id in group.station_ids:
        assert {p["shedState"] for p in sim.model.load_view(station_id)["Port"]} == {0}


def test_shed_changes_the_energy_delivered(sim, service, sid) -> None:
    _shed(service, sid, allowedLoadPerStation=3.0)
    sim.clock.advance(2 + 3600)
    sim.model.set_port_status(sid, 1, "AVAILABLE")
    session = sim.model.sessions(sid)[-1]
    assert session.Energy == pytest.approx(3.0 + 6.0 * 2 / 3600, abs=1e-5)


def test_a_shed_on_an_idle_port_keeps_it_at_zero_until_it_charges(sim, service) -> None:
    station_id = sim.model.station_ids()[1]
    sim.model.set_port_status(station_id, 1, "AVAILABLE")
    _shed(service, station_id, percentShedPerStation=50)
    sim.clock.advance(3)
    assert _ports(service, station_id)[0] == (1, 0.0, 0.0, 50)
    sim.model.set_port_status(station_id, 1, "INUSE", load_kw=4.0)
    assert _ports(service, station_id)[0] == (1, 2.0, 0.0, 50)
