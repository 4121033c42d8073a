"""When sessions are read, and from where: a port that stops charging, and the hourly safety refresh that finds
the sessions no status poll could see (shorter than the polling interval). The account's clock follows the
simulator's frozen one, so an hour passes at once and the sample's defaults (cacheExpiration 30, staticExpiration
3600) hold."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable, Iterator

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
