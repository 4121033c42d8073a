"""A client built from the published 5.0 WSDL (pointed at the simulator) can use every operation we serve."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sim_helpers import REAL_WSDL, START, make_suds_client
from suds import WebFault

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not REAL_WSDL.is_file(), reason="the published WSDL is not stored here"),
]


@pytest.fixture
def real_service(sim):
    return make_suds_client(REAL_WSDL.as_uri(), location=sim.endpoint).service


def test_reads(sim, real_service) -> None:
    sid = sim.model.station_ids()[0]
    sim.model.add_alarm(sid, "GFCI Trip", 2)
    assert [c.cpnID for c in real_service.getCPNInstances()] == ["1", "2"]
    stations = real_service.getStations({"stationID": sid})
    assert stations.stationData[0].stationModel == sim.model.station(sid).stationModel
    status = real_service.getStationStatus({"stationIDs": {"stationID": [sid]}})
    assert [p.Status for p in status.stationData[0].Port] == [p.Status for p in sim.model.station(sid).ports]
    load = real_service.getLoad({"stationID": sid})
    assert float(load.stationData[0].stationLoad) == sim.model.load_view(sid)["stationLoad"]
    group = sim.model.groups[0]
    assert real_service.getLoad({"sgID": group.sgID}).numStations == len(group.station_ids)
    alarms = real_service.getAlarms({"stationID": sid, "portNumber": "2"})
    assert alarms.Alarms[-1].alarmType == "GFCI Trip"
    rights = real_service.getStationRights({"stationID": sid})
    assert {r.sgID for r in rights.rightsData} == {str(g) for g in sim.model.station(sid).sgIDs}
    sessions = real_service.getChargingSessionData({"stationID": sid})
    assert sessions.responseCode == "100" and sessions.MoreFlag == 0
    orgs = real_service.getOrgsAndStationGroups({})
    assert orgs.orgData[0].orgID == sim.model.organization.orgID


def test_writes(sim, real_service) -> None:
    sid = sim.model.station_ids()[0]
    reply = real_service.shedLoad({"shedStation": {"stationID": sid, "Ports": {"Port": [
        {"portNumber": "1", "percentShedPerPort": 30}]}}, "timeInterval": 0})
    assert (reply.responseCode, reply.Success) == ("100", 1)
    sim.clock.advance(3)
    assert real_service.getLoad({"stationID": sid}).stationData[0].Port[0].shedState == 1
    assert real_service.clearShedState({"shedStation": {"stationID": sid}}).Success == 1
    sim.model.add_alarm(sid, "Reachable")
    assert real_service.clearAlarms({"stationID": sid}).responseCode == "100"


def test_shed_events(sim, real_service) -> None:
    sid = sim.model.station_ids()[0]
    sim.model.set_port_status(sid, 1, "INUSE", load_kw=6.0)
    created = real_service.createLoadShedEvent({"stationID": sid, "eventStartTime": START + timedelta(minutes=2),
                                                "eventDuration": 5, "allowOptOut": False, "allowedLoadPerPort": 1.5})
    assert (created.responseCode, created.eventId) == ("100", 1)
    sim.clock.advance(125)
    assert float(real_service.getLoad({"stationID": sid}).stationData[0].Port[0].portLoad) == 1.5
    removed = real_service.removeLoadShedEvent(created.eventId)
    assert removed.responseCode == "100" and removed.response
    assert real_service.removeLoadShedEvent(created.eventId).responseCode == "191"
    group = sim.model.groups[0]
    by_group = real_service.createLoadShedEvent({"sgID": str(group.sgID), "eventStartTime": START + timedelta(hours=1),
                                                 "eventDuration": 60, "percentShedPerStation": 20.0})
    assert (by_group.responseCode, by_group.eventId) == ("100", 2)
    assert sim.model.events()[1].station_ids == tuple(group.station_ids)


def test_operations_we_do_not_serve_are_faults(sim, real_service) -> None:
    with pytest.raises(WebFault) as caught:
        real_service.getStationGroups(sim.model.organization.orgID)
    assert caught.value.fault.faultcode == "SOAP-ENV:Client"
