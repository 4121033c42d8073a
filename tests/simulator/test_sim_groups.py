"""Station groups over HTTP: a group's load is its members' load, and a group shed or clear reaches every
member under the same kind and propagation rules as a station's."""
from __future__ import annotations

import pytest
from sim_helpers import charge, make_suds_client, port_loads

pytestmark = pytest.mark.timeout(30)

DELAY = 2.0  # the simulator's default propagation delay, in simulated seconds


@pytest.fixture
def group(sim):
    """The Demand Response group (two stations), every port of the first charging at 5 kW, of the second at 7 kW."""
    [chosen] = [g for g in sim.model.groups if g.sgName == "Demand Response"]
    assert len(chosen.station_ids) == 2
    for station_id, kw in zip(chosen.station_ids, (5.0, 7.0)):
        charge(sim.model, station_id, kw)
    return chosen


def _group_ports(service, sg_id: int) -> list[tuple[str, int, float, float, int]]:
    """(stationID, shedState, portLoad, allowedLoad, percentShed) of every member port, from getLoad by sgID."""
    reply = service.getLoad({"sgID": sg_id})
    return [(s.stationID, p.shedState, float(p.portLoad), float(p.allowedLoad), int(p.percentShed))
            for s in reply.stationData for p in s.Port]


def _group_shed(service, sg_id: int, **value):
    return service.shedLoad({"shedGroup": {"sgID": sg_id, **value}, "timeInterval": 0})


def test_every_group_load_is_the_sum_of_its_members_loads(make_sim) -> None:
    sim = make_sim(stations=7)
    service = make_suds_client(sim.wsdl_url).service
    for n, station_id in enumerate(sim.model.station_ids()):
        charge(sim.model, station_id, 1.0 + n)
    for group in sim.model.groups:
        reply = service.getLoad({"sgID": group.sgID})
        members = {station_id: service.getLoad({"stationID": station_id}).stationData[0]
                   for station_id in group.station_ids}
        assert (reply.sgID, reply.groupName, reply.numStations) == (group.sgID, group.sgName, len(members))
        assert [s.stationID for s in reply.stationData] == list(members)
        assert float(reply.sgLoad) == pytest.approx(sum(float(s.stationLoad) for s in members.values()))


def test_a_group_kw_shed_caps_every_member_port_after_the_delay(sim, service, group) -> None:
    reply = _group_shed(service, group.sgID, allowedLoadPerStation=3.0)
    assert (reply.responseCode, reply.Success, reply.sgID) == ("100", 1, group.sgID)
    assert float(reply.allowedLoadPerStation) == 3.0
    assert {p[1] for p in _group_ports(service, group.sgID)} == {0}, "a read right after the write shows the old state"
    sim.clock.advance(DELAY)
    assert {p[1:] for p in _group_ports(service, group.sgID)} == {(1, 3.0, 3.0, 0)}
    ports = len(_group_ports(service, group.sgID))
    assert float(service.getLoad({"sgID": group.sgID}).sgLoad) == 3.0 * ports


def test_a_group_percent_shed_scales_every_member(sim, service, group) -> None:
    assert _group_shed(service, group.sgID, percentShedPerStation=40).responseCode == "100"
    sim.clock.advance(DELAY)
    first, second = group.station_ids
    assert port_loads(service, first) == [(1, 3.0, 0.0, 40)] * 2
    assert {p[1:] for p in _group_ports(service, group.sgID) if p[0] == second} == {(1, 4.2, 0.0, 40)}


def test_a_group_shed_is_refused_whole_when_one_member_has_the_other_kind(sim, service, group) -> None:
    first, second = group.station_ids
    on_second = service.shedLoad({"shedStation": {"stationID": second, "percentShedPerStation": 10}, "timeInterval": 0})
    assert on_second.responseCode == "100"
    refused = _group_shed(service, group.sgID, allowedLoadPerStation=3.0)
    assert (refused.responseCode, refused.Success, refused.sgID) == ("190", 0, group.sgID)
    assert f"Station {second} already has a percent shed" in refused.responseText
    sim.clock.advance(DELAY)
    assert sim.model.shed_state(first, effective=False) == {}, "no member was shed"
    assert {p[1:] for p in _group_ports(service, group.sgID) if p[0] == second} == {(1, 6.3, 0.0, 10)}


def test_a_group_clear_lifts_every_member_after_the_delay(sim, service, group) -> None:
    first, _ = group.station_ids
    _group_shed(service, group.sgID, allowedLoadPerStation=3.0)
    port = service.shedLoad({"shedStation": {"stationID": first, "Ports": {"Port": [
        {"portNumber": "1", "allowedLoadPerPort": 1.0}]}}, "timeInterval": 0})
    assert port.responseCode == "100"
    sim.clock.advance(DELAY)
    cleared = service.clearShedState({"shedGroup": {"sgID": group.sgID}})
    assert (cleared.responseCode, cleared.Success, cleared.sgID) == ("100", 1, group.sgID)
    assert {p[1] for p in _group_ports(service, group.sgID)} == {1}, "the clear also propagates with a delay"
    sim.clock.advance(DELAY)
    assert {p[1] for p in _group_ports(service, group.sgID)} == {0}
    assert float(service.getLoad({"sgID": group.sgID}).sgLoad) == 2 * 5.0 + 2 * 7.0


def test_unknown_groups_are_refused(service) -> None:
    assert _group_shed(service, 12345, allowedLoadPerStation=3.0).responseCode == "102"
    refused = service.clearShedState({"shedGroup": {"sgID": 12345}})
    assert (refused.responseCode, refused.Success) == ("102", 0)
    assert refused.responseText == "No station group found with sgID 12345."
