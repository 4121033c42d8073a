"""The model on its own: determinism, laziness, evolution over simulated time, size and speed."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sim_helpers import START, envelope, frozen_clock, http

from chargepoint_simulator import SimClock
from chargepoint_simulator.model import STATUSES, Model, ShedConflictError, ShedLimit, ShedValueError

pytestmark = pytest.mark.timeout(60)

CP = 'xmlns:cp="urn:dictionary:com.chargepoint.webservices"'
READS = [
    f"<cp:getStations {CP}><searchQuery/></cp:getStations>",
    f"<cp:getStationStatus {CP}><searchQuery/></cp:getStationStatus>",
    f"<cp:getAlarms {CP}><searchQuery/></cp:getAlarms>",
    f"<cp:getChargingSessionData {CP}><searchQuery/></cp:getChargingSessionData>",
    f"<cp:getStationRights {CP}><searchQuery/></cp:getStationRights>",
]


def _answers(sim) -> list[bytes]:
    reads = READS + [f"<cp:getLoad {CP}><searchQuery><sgID>{g.sgID}</sgID></searchQuery></cp:getLoad>" for g in sim.model.groups]
    return [http(sim.endpoint, envelope(body))[1] for body in reads]


def test_same_seed_and_clock_give_identical_answers(make_sim) -> None:
    first, second = make_sim(stations=12, seed=5), make_sim(stations=12, seed=5)
    for step in (0, 3600, 6 * 3600, 2 * 86400):
        first.clock.advance(step)
        second.clock.advance(step)
        assert _answers(first) == _answers(second)
    other = make_sim(stations=12, seed=6)
    assert _answers(other)[0] != _answers(first)[0]


def test_answers_do_not_depend_on_how_often_stations_were_read() -> None:
    busy = Model(stations=10, seed=8, clock=frozen_clock())
    idle = Model(stations=10, seed=8, clock=frozen_clock())
    for _ in range(48):
        busy.clock.advance(1800)
        busy.stations()
    idle.clock.advance(48 * 1800)
    for a, b in zip(busy.stations(), idle.stations()):
        assert [(p.Status, p.TimeStamp, p.userID) for p in a.ports] == [(p.Status, p.TimeStamp, p.userID) for p in b.ports]
        assert a.sessions == b.sessions and a.alarms == b.alarms
        assert busy.load_view(a.stationID) == idle.load_view(b.stationID)


def test_the_model_lives() -> None:
    model = Model(stations=20, seed=2, clock=frozen_clock())
    before = {(s.stationID, p.portNumber): p.Status for s in model.stations() for p in s.ports}
    sessions_before = len(model.sessions())
    alarms_before = len(model.alarms())
    model.clock.advance(600 - 1)
    assert {(s.stationID, p.portNumber): p.Status for s in model.stations() for p in s.ports} == before, "quiet start"
    model.clock.advance(3 * 86400)
    after = {(s.stationID, p.portNumber): p.Status for s in model.stations() for p in s.ports}
    assert sum(before[k] != after[k] for k in before) > 0
    assert len(model.sessions()) > sessions_before + 20
    assert len(model.alarms()) > alarms_before
    seen = {p.Status for s in model.stations() for p in s.ports}
    assert seen <= set(STATUSES) and "AVAILABLE" in seen
    for st in model.stations():
        for port in st.ports:
            view = next(v for v in model.load_view(st.stationID)["Port"] if v["portNumber"] == port.portNumber)
            if port.Status == "INUSE":
                assert 0 < view["portLoad"] <= port.Power and view["userID"] and port.userID == view["userID"]
            else:
                assert view["portLoad"] == 0 and view["userID"] == "" and view["credentialID"] == ""


def test_held_ports_stay_put() -> None:
    model = Model(stations=2, seed=4, clock=frozen_clock())
    model.set_port_status("1:10001", 1, "INUSE", load_kw=4.0)
    model.clock.advance(5 * 86400)
    port = model.station("1:10001").port(1)
    assert port.Status == "INUSE" and model.load_view("1:10001")["Port"][0]["portLoad"] == 4.0
    model.set_port_status("1:10001", 1, "AVAILABLE", hold=False)
    model.clock.advance(5 * 86400)
    assert not model.station("1:10001").port(1).held


def test_station_facts() -> None:
    for seed in (1, 2, 3, 4):
        model = Model(stations=6, seed=seed, clock=frozen_clock())
        ids = model.station_ids()
        assert ids == [f"1:{10001 + i}" for i in range(6)]
        assert re.fullmatch(r"1:ORG\d{5}", model.organization.orgID)
        stations = model.stations()
        assert stations[0].numPorts == stations[1].numPorts == 2
        for st in stations:
            assert st.numPorts in (1, 2)
            assert re.fullmatch(r"0024:B100:0002:[0-9A-F]{4}", st.stationMacAddr)
            assert st.sgID == ", ".join(str(g) for g in st.sgIDs) and st.sgIDs
            assert all(st.stationID in model.group(g).station_ids for g in st.sgIDs)
            assert st.currencyCode == "USD" and st.orgID == model.organization.orgID
            assert st.stationActivationDate < START and st.stationActivationDate.tzinfo is not None
            for port in st.ports:
                assert (port.Level, port.Connector) == ("L2", "J1772") and port.Power > 0
        assert len({st.stationMacAddr for st in stations}) == 6
        assert all(g.parentGroupID == "0" for g in model.groups)


def test_model_shed_rules() -> None:
    model = Model(stations=2, seed=4, clock=frozen_clock(), propagation_delay=0.0)
    model.shed("1:10001", ShedLimit(allowed_kw=3.0))
    with pytest.raises(ShedConflictError):
        model.shed("1:10001", port_limits={"1": ShedLimit(percent=10)})
    with pytest.raises(ShedValueError):
        model.shed("1:10002", ShedLimit(percent=150))
    with pytest.raises(ShedValueError):
        model.shed("1:10002", ShedLimit(allowed_kw=1.0, percent=10))
    model.clear_shed("1:10001")
    model.shed("1:10001", port_limits={"1": ShedLimit(percent=10)})
    assert set(model.shed_state("1:10001")) == {"1"}


def test_clock() -> None:
    frozen = SimClock(START, scale=0)
    assert frozen.now() == START and frozen.now() == START
    assert frozen.advance(90) == START + timedelta(seconds=90)
    with pytest.raises(ValueError):
        frozen.advance(-1)
    naive = SimClock(START.replace(tzinfo=None))
    assert naive.start == START


def test_clock_scale(monkeypatch) -> None:
    import chargepoint_simulator.clock as clock_module

    wall = [1000.0]
    monkeypatch.setattr(clock_module.time, "monotonic", lambda: wall[0])
    fast = SimClock(START, scale=60)
    wall[0] += 2
    assert fast.now() == START + timedelta(minutes=2)
    fast.advance(30)
    assert fast.now() == START + timedelta(minutes=2, seconds=30)


def test_start_up_is_quick() -> None:
    began = time.monotonic()
    Model(stations=4, seed=1)
    assert time.monotonic() - began < 0.5
    began = time.monotonic()
    big = Model(stations=5000, seed=1)
    assert time.monotonic() - began < 3
    assert len(big.station_ids()) == 5000


def test_a_withdrawn_station_is_unknown_until_restored(make_sim) -> None:
    sim = make_sim(stations=4, seed=5)
    before = _answers(sim)
    gone = sim.model.station_ids()[3]
    groups = [g.sgID for g in sim.model.groups if gone in g.station_ids]

    sim.model.withdraw_station(gone)
    assert gone not in sim.model.station_ids() and not sim.model.has_station(gone)
    assert all(gone not in g.station_ids for g in sim.model.groups)
    withdrawn = _answers(sim)  # every group's getLoad still answers, without the station
    assert all(b"<responseCode>100</responseCode>" in answer for answer in withdrawn)
    assert all(gone.encode() not in answer for answer in withdrawn)
    status, body = http(sim.endpoint, envelope(f"<cp:getLoad {CP}><searchQuery><stationID>{gone}</stationID>"
                                               "</searchQuery></cp:getLoad>"))
    assert b"<responseCode>102</responseCode>" in body, (status, body)

    sim.model.restore_station(gone)
    assert sim.model.station_ids()[3] == gone
    assert [g.sgID for g in sim.model.groups if gone in g.station_ids] == groups
    assert _answers(sim) == before
