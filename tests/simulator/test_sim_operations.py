"""Every operation through a suds client built from the served WSDL, compared with the model's truth."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sim_helpers import START, envelope, http

pytestmark = pytest.mark.timeout(30)


def _clear_all_alarms(sim) -> None:
    for sid in sim.model.station_ids():
        sim.model.clear_alarms(sid)


# ---------------------------------------------------------------------- inventory and status


def test_get_cpn_instances_has_no_response_code(service) -> None:
    cpns = service.getCPNInstances()
    assert [c.cpnID for c in cpns] == ["1", "2"]
    assert all(c.cpnName and c.cpnDescription for c in cpns)


def test_get_stations_by_id_matches_the_model(sim, service) -> None:
    sid = sim.model.station_ids()[1]
    truth = sim.model.station(sid)
    reply = service.getStations({"stationID": sid})
    assert (reply.responseCode, reply.responseText) == ("100", "API input request executed successfully.")
    assert reply.moreFlag == 0
    [data] = reply.stationData
    for name in ("stationID", "stationManufacturer", "stationModel", "stationMacAddr", "stationSerialNum",
                 "Address", "City", "State", "Country", "postalCode", "mainPhone", "timezoneOffset",
                 "currencyCode", "orgID", "organizationName", "sgID", "sgName"):
        assert getattr(data, name) == getattr(truth, name), name
    assert data.numPorts == truth.numPorts == len(data.Port) == 2
    assert data.stationActivationDate == truth.stationActivationDate
    assert data.stationMacAddr.startswith("0024:B100:0002:")
    for port, true_port in zip(data.Port, truth.ports):
        assert port.portNumber == true_port.portNumber
        assert port.Status == true_port.Status
        assert port.timeStamp == true_port.TimeStamp
        assert float(port.Power) == true_port.Power
        assert float(port.Geo.Lat) == true_port.Lat and len(port.Geo.Lat.split(".")[1]) == 15
        assert (port.Level, port.Connector, port.Voltage) == ("L2", "J1772", "240")
        assert port.stationName == truth.stationName
    assert 1 <= len(data.Pricing) <= 2
    assert data.Pricing[0].Type in ("Hourly", "kWh", "Session")


def test_get_stations_whole_org_and_by_group(sim, service) -> None:
    reply = service.getStations({})
    assert [s.stationID for s in reply.stationData] == sim.model.station_ids()
    group = sim.model.groups[-1]
    reply = service.getStations({"sgID": str(group.sgID)})
    assert [s.stationID for s in reply.stationData] == group.station_ids
    assert all(str(group.sgID) in s.sgID.split(", ") for s in reply.stationData)


def test_get_stations_unknown_station_is_102(service) -> None:
    reply = service.getStations({"stationID": "1:99999"})
    assert reply.responseCode == "102"
    assert not getattr(reply, "stationData", None)


def test_get_station_status_single_and_batch(sim, service) -> None:
    ids = sim.model.station_ids()
    reply = service.getStationStatus({"stationID": ids[0]})
    [data] = reply.stationData
    truth = sim.model.station(ids[0])
    assert [(p.portNumber, p.Status, p.TimeStamp) for p in data.Port] == [
        (p.portNumber, p.Status, p.TimeStamp) for p in truth.ports
    ]
    reply = service.getStationStatus({"stationIDs": {"stationID": [ids[2], ids[0], "1:nope"]}})
    assert [s.stationID for s in reply.stationData] == [ids[2], ids[0]]
    assert reply.moreFlag == 0
    assert service.getStationStatus({"stationID": "1:99999"}).responseCode == "102"


def test_get_station_status_follows_the_model(sim, service) -> None:
    sid = sim.model.station_ids()[0]
    sim.model.set_port_status(sid, 2, "UNREACHABLE")
    sim.clock.advance(5)
    port = service.getStationStatus({"stationID": sid}).stationData[0].Port[1]
    assert port.Status == "UNREACHABLE"
    assert port.TimeStamp == START + timedelta(seconds=0)


# ---------------------------------------------------------------------- load


def test_get_load_for_a_station_has_empty_group_fields(sim, service) -> None:
    sid = sim.model.station_ids()[0]
    sim.model.set_port_status(sid, 1, "INUSE", load_kw=5.5)
    sim.model.set_port_status(sid, 2, "AVAILABLE")
    reply = service.getLoad({"stationID": sid})
    assert reply.responseCode == "100"
    assert (reply.sgID, reply.numStations, reply.groupName, reply.sgLoad) == (None, None, None, None)
    [data] = reply.stationData
    view = sim.model.load_view(sid)
    assert data.stationID == sid and data.Address == view["Address"]
    assert float(data.stationLoad) == view["stationLoad"] == 5.5
    one, two = data.Port
    assert float(one.portLoad) == 5.5 and one.userID and one.credentialID.startswith("CNCP")
    assert float(two.portLoad) == 0 and two.userID is None and two.credentialID is None
    assert one.shedState == two.shedState == 0


def test_get_load_for_a_group_sums_its_stations(sim, service) -> None:
    group = sim.model.groups[0]
    for sid in group.station_ids:
        for port in sim.model.station(sid).ports:
            sim.model.set_port_status(sid, port.portNumber, "INUSE", load_kw=2.0)
    reply = service.getLoad({"sgID": group.sgID})
    assert reply.sgID == group.sgID and reply.groupName == group.sgName
    assert reply.numStations == len(group.station_ids) == len(reply.stationData)
    expected = sum(sim.model.load_view(sid)["stationLoad"] for sid in group.station_ids)
    assert float(reply.sgLoad) == pytest.approx(expected) and expected > 0


def test_get_load_unknown_targets_are_102(service) -> None:
    assert service.getLoad({"stationID": "1:99999"}).responseCode == "102"
    assert service.getLoad({"sgID": 1}).responseCode == "102"
    assert service.getLoad({}).responseCode == "102"


def test_leaving_inuse_records_a_session(sim, service) -> None:
    sid = sim.model.station_ids()[0]
    sim.model.set_port_status(sid, 1, "AVAILABLE")
    sim.model.set_port_status(sid, 1, "INUSE", load_kw=6.0)
    sim.clock.advance(1800)
    sim.model.set_port_status(sid, 1, "AVAILABLE")
    last = sim.model.sessions(sid)[-1]
    assert last.portNumber == "1" and last.Energy == pytest.approx(3.0)
    assert last.endTime - last.startTime == timedelta(minutes=30)
    reply = service.getChargingSessionData({"stationID": sid, "sessionID": last.sessionID})
    [data] = reply.ChargingSessionData
    assert (data.sessionID, data.Energy, data.userID, data.credentialID) == (
        last.sessionID, 3.0, last.userID, last.credentialID)


# ---------------------------------------------------------------------- alarms


def test_get_alarms_station_port_and_paging(sim, service) -> None:
    _clear_all_alarms(sim)
    sid = sim.model.station_ids()[0]
    sim.model.add_alarm(sid, "GFCI Trip", 1)
    sim.clock.advance(10)
    sim.model.add_alarm(sid, "Reachable")
    sim.clock.advance(10)
    sim.model.add_alarm(sid, "Pilot Signal Error", 2)
    reply = service.getAlarms({"stationID": sid})
    assert [(a.alarmType, a.portNumber, a.recordNumber) for a in reply.Alarms] == [
        ("GFCI Trip", "1", 1), ("Reachable", None, 2), ("Pilot Signal Error", "2", 3)]
    truth = sim.model.station(sid)
    first = reply.Alarms[0]
    assert (first.stationModel, first.stationSerialNum, first.orgID) == (truth.stationModel, truth.stationSerialNum, truth.orgID)
    assert first.alarmTime == START
    assert [a.alarmType for a in service.getAlarms({"stationID": sid, "portNumber": "1"}).Alarms] == ["GFCI Trip"]
    page = service.getAlarms({"startRecord": 2, "numTransactions": 1})
    assert [a.recordNumber for a in page.Alarms] == [2] and page.moreFlag == 1
    assert service.getAlarms({"startRecord": 3, "numTransactions": 1}).moreFlag == 0


def test_get_alarms_none_is_153_and_unknown_station_is_102(sim, service) -> None:
    _clear_all_alarms(sim)
    assert service.getAlarms({}).responseCode == "153"
    assert service.getAlarms({"stationID": sim.model.station_ids()[0]}).responseCode == "153"
    assert service.getAlarms({"stationID": "1:99999"}).responseCode == "102"


def test_clear_alarms_on_one_port_keeps_the_rest(sim, service) -> None:
    _clear_all_alarms(sim)
    sid = sim.model.station_ids()[0]
    sim.model.add_alarm(sid, "GFCI Trip", 1)
    sim.model.add_alarm(sid, "Reachable")
    sim.model.add_alarm(sid, "Pilot Signal Error", 2)
    assert service.clearAlarms({"stationID": sid, "portNumber": "1"}).responseCode == "100"
    assert [(a.alarmType, a.portNumber) for a in sim.model.station(sid).alarms] == [
        ("Reachable", ""), ("Pilot Signal Error", "2")]
    reply = service.clearAlarms({"stationID": sid, "portNumber": "1"})
    assert reply.responseCode == "153"
    assert service.clearAlarms({"stationID": sid}).responseCode == "100"
    assert sim.model.station(sid).alarms == []
    assert service.clearAlarms({"stationID": sid}).responseCode == "153"
    assert service.clearAlarms({"stationID": "1:99999"}).responseCode == "102"
    assert sim.requests[-1] == ("clearAlarms", {"stationID": "1:99999"})


# ---------------------------------------------------------------------- rights and organisation


def test_get_station_rights_one_block_per_group(sim, service) -> None:
    sid = sim.model.station_ids()[0]
    truth = sim.model.station(sid)
    reply = service.getStationRights({"stationID": sid})
    assert [r.sgID for r in reply.rightsData] == [str(sg) for sg in truth.sgIDs]
    assert len(truth.sgIDs) == 2
    for block in reply.rightsData:
        assert block.stationRightsProfile == "network_manager"
        [station] = block.stationData
        assert (station.stationID, station.stationSerialNum, station.stationMacAddr) == (
            sid, truth.stationSerialNum, truth.stationMacAddr)
    everything = service.getStationRights({})
    assert {r.sgID for r in everything.rightsData} == {str(g.sgID) for g in sim.model.groups}
    assert service.getStationRights({"stationID": "1:99999"}).responseCode == "102"


def test_get_orgs_and_station_groups(sim, service) -> None:
    reply = service.getOrgsAndStationGroups({})
    [org] = reply.orgData
    assert org.orgID == sim.model.organization.orgID and org.orgID.startswith("1:ORG")
    assert [(g.sgID, g.sgName, g.parentGroupID) for g in org.sgData] == [
        (g.sgID, g.sgName, "0") for g in sim.model.groups]
    group = sim.model.groups[1]
    assert [g.sgID for g in service.getOrgsAndStationGroups({"sgID": group.sgID}).orgData[0].sgData] == [group.sgID]
    assert service.getOrgsAndStationGroups({"sgID": 1}).responseCode == "102"


# ---------------------------------------------------------------------- charging sessions


def test_sessions_oldest_first_100_per_page(sim, service) -> None:
    sid = sim.model.station_ids()[1]
    base = START - timedelta(days=20)
    for i in range(230):
        begin = base + timedelta(hours=i)
        sim.model.add_session(sid, 1 + i % 2, 1.5, begin, begin + timedelta(minutes=40))
    total = len(sim.model.sessions(sid))
    assert total >= 230
    pages, start_record = [], 1
    while True:
        reply = service.getChargingSessionData({"stationID": sid, "startRecord": start_record})
        assert reply.responseCode == "100"
        pages.append(reply.ChargingSessionData)
        if not reply.MoreFlag:
            break
        start_record += len(reply.ChargingSessionData)
        assert len(pages) < 10
    assert [len(p) for p in pages[:-1]] == [100] * (len(pages) - 1)
    records = [s for page in pages for s in page]
    assert len(records) == total
    assert [s.recordNumber for s in records] == list(range(1, total + 1))
    starts = [s.startTime for s in records]
    assert starts == sorted(starts)


def test_session_time_window_and_136(sim, service) -> None:
    sid = sim.model.station_ids()[0]
    begin = START - timedelta(days=400)
    made = sim.model.add_session(sid, 1, 7.25, begin, begin + timedelta(hours=2))
    reply = service.getChargingSessionData(
        {"stationID": sid, "fromTimeStamp": begin - timedelta(hours=1), "toTimeStamp": begin + timedelta(hours=1)})
    assert [s.sessionID for s in reply.ChargingSessionData] == [made.sessionID]
    empty = service.getChargingSessionData({"stationID": sid, "fromTimeStamp": START + timedelta(days=1)})
    assert empty.responseCode == "136" and not getattr(empty, "ChargingSessionData", None)
    assert service.getChargingSessionData({"stationID": "1:99999"}).responseCode == "102"


@pytest.mark.parametrize("stamp", ["2024-01-28T00:00:00", "2024-01-28T00:00:00Z", "2024-01-28T01:00:00+01:00",
                                   "2024-01-27T19:00:00-05:00", "2024-01-28T00:00:00.000Z"])
def test_session_window_accepts_naive_and_offset_timestamps(sim, stamp: str) -> None:
    sid = sim.model.station_ids()[0]
    inside = datetime(2024, 1, 28, 0, 0, tzinfo=timezone.utc)
    sim.model.add_session(sid, 1, 2.0, inside, inside + timedelta(hours=1))
    sim.model.add_session(sid, 1, 2.0, inside - timedelta(seconds=1), inside + timedelta(hours=1))
    body = (f'<cp:getChargingSessionData xmlns:cp="urn:dictionary:com.chargepoint.webservices"><searchQuery>'
            f"<stationID>{sid}</stationID><fromTimeStamp>{stamp}</fromTimeStamp>"
            f"<toTimeStamp>2024-01-28T00:00:00Z</toTimeStamp></searchQuery></cp:getChargingSessionData>")
    status, answer = http(sim.endpoint, envelope(body))
    assert status == 200
    assert answer.count(b"<ChargingSessionData>") == 1
    assert b"<startTime>2024-01-28T00:00:00Z</startTime>" in answer


def test_bad_field_value_is_a_client_fault(sim) -> None:
    body = ('<cp:getStations xmlns:cp="urn:dictionary:com.chargepoint.webservices"><searchQuery>'
            "<startRecord>first</startRecord></searchQuery></cp:getStations>")
    status, answer = http(sim.endpoint, envelope(body))
    assert status == 500 and b"<faultcode>SOAP-ENV:Client</faultcode>" in answer
