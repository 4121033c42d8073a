"""When sessions are read, and from where: a port that stops charging, and the hourly safety refresh that finds
the sessions no status poll could see (shorter than the polling interval). The account's clock follows the
simulator's frozen one, so an hour passes at once and the sample's defaults (cacheExpiration 30, staticExpiration
3600) hold."""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timedelta
from typing import Any, Callable, Iterator

import gevent
import pytest

from chargepoint_simulator import SimClock, Simulator
from cp_integration import PASSWORD, ROOT, USERNAME, sample_rows
from volttron.driver.interfaces.chargepoint.batching import REFRESH_OVERLAP
from volttron.driver.interfaces.chargepoint.standalone import Device, build_device, read_config_file

POLL = 60  # seconds between polls


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(stations=4, seed=11, username=USERNAME, password=PASSWORD, port=0,
                   clock=SimClock(scale=0)) as simulator:
        yield simulator


@pytest.fixture
def device(sim: Simulator) -> Device:
    raw = read_config_file(ROOT / "chargepoint.config")
    made = build_device(raw, sample_rows(), "devices/campus/garage/cp1",
                        {"stationID": sim.model.station_ids()[0], "username": USERNAME, "password": PASSWORD,
                         "wsdl": sim.wsdl_url, "timeout": 5})
    account = made.interface.account
    account.cache.clock = account.backoff.clock = sim.clock.timestamp
    return made


def session_queries(sim: Simulator) -> list[dict[str, Any]]:
    return [fields for op, fields in sim.requests if op == "getChargingSessionData"]


def poll(sim: Simulator, device: Device, between: Callable[[], None] = lambda: None) -> dict[str, Any]:
    sim.clock.advance(POLL / 2)
    between()
    sim.clock.advance(POLL / 2)
    values, errors = device.scrape()
    assert errors == {}
    return values


def hold_idle(sim: Simulator, station: str) -> list[int]:
    """Every port of the station idle, held there (the random evolution keeps away): only the test's sessions."""
    ports = [int(p.portNumber) for p in sim.model.station(station).ports]
    for port in ports:
        sim.model.set_port_status(station, port, "AVAILABLE")
    return ports


def test_a_session_between_two_polls_is_found_by_the_hourly_refresh_reading_only_the_last_hour(sim, device):
    station = device.interface.settings.station_id
    port = hold_idle(sim, station)[0]
    poll(sim, device)

    def short_session() -> None:  # starts and ends between two polls: no status answer shows it
        sim.model.set_port_status(station, port, "INUSE", load_kw=6.0)
        sim.clock.advance(10)
        sim.model.set_port_status(station, port, "AVAILABLE")
    before = len(session_queries(sim))
    values = poll(sim, device, short_session)
    newest = sim.model.sessions(station)[-1]
    assert len(session_queries(sim)) == before  # nothing showed a port stop
    assert values[f"sessionIDPort{port}"] != str(newest.sessionID)
    for _ in range(3600 // POLL):
        values = poll(sim, device)
    assert values[f"sessionIDPort{port}"] == str(newest.sessionID)
    query = session_queries(sim)[-1]
    start = datetime.fromisoformat(str(query["fromTimeStamp"]).replace("Z", "+00:00"))
    if start.tzinfo is None:
        start = start.replace(tzinfo=newest.startTime.tzinfo)
    assert start <= newest.startTime  # the session is in the window ...
    assert newest.startTime - start <= REFRESH_OVERLAP + timedelta(seconds=2 * POLL)  # ... which is an hour or so


def test_a_port_that_stops_charging_is_read_from_its_session_start_at_the_next_poll(sim, device):
    station = device.interface.settings.station_id
    port = hold_idle(sim, station)[0]
    poll(sim, device, lambda: sim.model.set_port_status(station, port, "INUSE", load_kw=6.0))
    for _ in range(5):
        poll(sim, device)
    values = poll(sim, device, lambda: sim.model.set_port_status(station, port, "AVAILABLE"))
    before = len(session_queries(sim))
    values = poll(sim, device)
    newest = sim.model.sessions(station)[-1]
    assert len(session_queries(sim)) == before + 1
    assert values[f"sessionIDPort{port}"] == str(newest.sessionID)


def recent_session(sim: Simulator, station: str, port: int) -> None:
    sim.model.set_port_status(station, port, "INUSE", load_kw=6.0)
    sim.clock.advance(600)
    sim.model.set_port_status(station, port, "AVAILABLE")


def test_a_first_read_asks_for_the_last_day_only_when_every_port_had_a_session_in_it(sim, device):
    station = device.interface.settings.station_id
    for port in hold_idle(sim, station):
        recent_session(sim, station, port)
    values = poll(sim, device)
    [query] = session_queries(sim)
    start = datetime.fromisoformat(str(query["fromTimeStamp"]))
    now = sim.clock.now().replace(tzinfo=None)
    assert timedelta(hours=23) <= now - start <= timedelta(hours=25)
    latest = max(sim.model.sessions(station), key=lambda s: (s.endTime, s.startTime))
    assert values["sessionID"] == str(latest.sessionID)


def test_a_port_without_a_session_in_the_last_day_has_its_whole_history_read(sim, device):
    station = device.interface.settings.station_id
    ports = hold_idle(sim, station)
    history = sim.model.station(station).sessions
    quiet = ports[-1]
    back = timedelta(days=3)  # the quiet port's sessions all older than two days
    history[:] = [dataclasses.replace(s, startTime=s.startTime - back, endTime=s.endTime - back)
                  if int(s.portNumber) == quiet else s for s in history]
    recent_session(sim, station, ports[0])
    values = poll(sim, device)
    queries = session_queries(sim)
    assert len(queries) == 2 and "fromTimeStamp" in queries[0] and "fromTimeStamp" not in queries[1]
    old = max((s for s in sim.model.sessions(station) if int(s.portNumber) == quiet), key=lambda s: s.endTime)
    assert values[f"sessionIDPort{quiet}"] == str(old.sessionID)
    assert len(session_queries(sim)) == 2
    poll(sim, device)  # known now: nothing ended, nothing read
    assert len(session_queries(sim)) == 2


def test_an_organisation_wide_first_read_asks_a_quiet_port_s_station_for_its_whole_history_alone():
    # Enough stations that one organisation-wide read of the last day beats asking each (the planner's choice),
    # from an API a network away: on the loopback, with no latency, the two cost too nearly the same to tell.
    with Simulator(stations=48, seed=5, username=USERNAME, password=PASSWORD, port=0,
                   clock=SimClock(scale=0)) as org:
        org.faults.latency_ms = 30.0
        ids = org.model.station_ids()
        raw = read_config_file(ROOT / "chargepoint.config")
        def devices(rows: list[dict[str, str]], name: str) -> list[Device]:
            return [build_device(raw, rows, f"devices/campus/garage/{name}{i}",
                                 {"stationID": sid, "username": USERNAME, "password": PASSWORD,
                                  "wsdl": org.wsdl_url, "timeout": 5}) for i, sid in enumerate(ids)]

        # Devices without session points first: the account learns the organisation's size.
        learners = devices([r for r in sample_rows() if r["Register Name"] != "ChargingSessionRegister"], "o")
        account = learners[0].interface.account
        account.cache.clock = account.backoff.clock = org.clock.timestamp
        gevent.joinall([gevent.spawn(d.scrape) for d in learners], timeout=60, raise_error=True)
        fleet = devices(sample_rows(), "cp")
        assert fleet[0].interface.account is account
        quiet_station = ids[5]
        for sid in ids:
            ports = hold_idle(org, sid)
            if sid == quiet_station:
                quiet, busy = ports[-1], ports[:-1]
                history = org.model.station(sid).sessions
                back = timedelta(days=3)
                history[:] = [dataclasses.replace(s, startTime=s.startTime - back, endTime=s.endTime - back)
                              if int(s.portNumber) == quiet else s for s in history]
            else:
                busy = ports
            for port in busy:
                recent_session(org, sid, port)
        org.clock.advance(POLL)
        cycle = [gevent.spawn(d.scrape) for d in fleet]
        gevent.joinall(cycle, timeout=60, raise_error=True)
        assert all(g.value[1] == {} for g in cycle)
        queries = session_queries(org)
        organisation = [q for q in queries if "stationID" not in q]
        assert organisation and all("fromTimeStamp" in q for q in organisation)  # the last day, for all at once
        alone = [q for q in queries if "stationID" in q]
        assert [q["stationID"] for q in alone if "fromTimeStamp" not in q] == [quiet_station]
        values = cycle[5].value[0]
        old = max((s for s in org.model.sessions(quiet_station) if int(s.portNumber) == quiet),
                  key=lambda s: s.endTime)
        assert values[f"sessionIDPort{quiet}"] == str(old.sessionID)
        before = len(session_queries(org))
        org.clock.advance(POLL)
        cycle = [gevent.spawn(d.scrape) for d in fleet]
        gevent.joinall(cycle, timeout=60, raise_error=True)
        assert len(session_queries(org)) == before  # nothing ended: nothing read


def test_an_organisation_wide_read_that_ends_long_before_the_status_read_still_serves_every_station():
    # The poll waits for all its reads at once: an answer stored seconds before the slowest read ends is this
    # poll's all the same, not a stale one for each station to ask again alone (5000 devices did, 3790 calls).
    with Simulator(stations=48, seed=5, username=USERNAME, password=PASSWORD, port=0,
                   clock=SimClock(scale=0)) as org:
        raw = read_config_file(ROOT / "chargepoint.config")
        fleet = [build_device(raw, sample_rows(), f"devices/campus/garage/cp{i}",
                              {"stationID": sid, "username": USERNAME, "password": PASSWORD, "wsdl": org.wsdl_url,
                               "timeout": 5}) for i, sid in enumerate(org.model.station_ids())]
        account = fleet[0].interface.account
        offset = [0.0]  # the account's clock runs in real time, and jumps when the test lets an hour pass
        account.cache.clock = account.backoff.clock = lambda: time.monotonic() + offset[0]
        gevent.joinall([gevent.spawn(d.scrape) for d in fleet], timeout=60, raise_error=True)
        org.clock.advance(3600 + POLL)
        offset[0] += 3600 + POLL  # staticExpiration passed: the safety refresh reads every station's sessions
        org.faults.operations, org.faults.latency_ms = {"getStationStatus"}, 1500.0
        before = len(session_queries(org))
        cycle = [gevent.spawn(d.scrape) for d in fleet]
        gevent.joinall(cycle, timeout=60, raise_error=True)
        assert all(g.value[1] == {} for g in cycle)
        queries = session_queries(org)[before:]
        assert queries and all("stationID" not in q for q in queries), [q.get("stationID") for q in queries]
