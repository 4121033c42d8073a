"""How many API calls a poll costs: the cache, coalescing and cross-device batching (simulator call counter)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import gevent

from chargepoint_simulator import Simulator
from cp_integration import PASSWORD, USERNAME, sample_rows
from volttron.driver.interfaces.chargepoint.chargepoint_registers import StationRegister

from volttron.driver.interfaces.chargepoint.account import forget_accounts, make_client
from volttron.driver.interfaces.chargepoint.config import AccountSettings

METHODS = ("getStations", "getStationStatus", "getLoad", "getAlarms", "getStationRights", "getChargingSessionData")


def calls(sim) -> dict[str, int]:
    return {op: n for op, n in sim.calls.items() if n}


def test_cold_poll_makes_one_call_per_api_method_and_warm_poll_none(sim, make_device):
    device = make_device(cacheExpiration=60)
    values, errors = device.scrape()
    assert errors == {}
    assert calls(sim) == {op: 1 for op in METHODS}
    sim.reset_calls()
    assert device.scrape()[0] == values
    assert calls(sim) == {}


def test_expired_cache_asks_again(sim, make_device):
    device = make_device(cacheExpiration=0, staticExpiration=0)
    device.scrape()
    device.scrape()
    assert calls(sim) == {op: 2 for op in METHODS}


def test_inventory_and_rights_keep_for_the_static_period_and_sessions_until_a_port_stops(sim, make_device):
    station = sim.model.station_ids()[0]
    device = make_device(station, cacheExpiration=0)  # staticExpiration: the sample's default, an hour
    device.scrape()
    sim.reset_calls()
    device.scrape()
    assert calls(sim) == {"getStationStatus": 1, "getLoad": 1, "getAlarms": 1}
    sim.model.set_port_status(station, 1, "INUSE", load_kw=3.0)
    device.scrape()
    sim.model.set_port_status(station, 1, "AVAILABLE")  # a session ends: its record is now in the API
    sim.reset_calls()
    device.scrape()  # this poll sees the port stop ...
    assert "getChargingSessionData" not in calls(sim)
    values = device.scrape()[0]  # ... and the next one reads the station's sessions, from that session's start
    assert sim.calls["getChargingSessionData"] == 1
    latest = sim.model.sessions(station)[-1]
    assert values["sessionIDPort1"] == str(latest.sessionID)
    query = [fields for op, fields in sim.requests if op == "getChargingSessionData"][-1]
    assert query["stationID"] == station and query["fromTimeStamp"]


def test_concurrent_reads_of_one_station_are_coalesced(sim, make_device):
    device = make_device(cacheExpiration=0)
    topic = device.topic("StatusPort1")
    readers = [gevent.spawn(device.interface.get_point, topic) for _ in range(200)]
    gevent.joinall(readers, timeout=30, raise_error=True)
    assert len({r.value for r in readers}) == 1
    assert sim.calls["getStationStatus"] == 1


def test_two_devices_on_one_account_share_calls(sim, make_device):
    first, second = sim.model.station_ids()[:2]
    one = make_device(first, name="cp1")
    two = make_device(second, name="cp2")
    assert one.interface.account is two.interface.account
    results = [gevent.spawn(d.scrape) for d in (one, two)]
    gevent.joinall(results, timeout=30, raise_error=True)
    assert all(r.value[1] == {} for r in results)
    counts = calls(sim)
    # Two stations of a four-station organisation: one status call lists both, and no method costs more than
    # asking each station alone.
    assert counts["getStationStatus"] == 1, counts
    assert all(counts[op] <= 2 for op in METHODS), counts
    assert sum(counts.values()) < 2 * len(METHODS), counts
    assert results[0].value[0]["stationID"] == first and results[1].value[0]["stationID"] == second


def poll_cycle(fleet) -> None:
    cycle = [gevent.spawn(d.scrape) for d in fleet]
    gevent.joinall(cycle, timeout=60, raise_error=True)
    assert all(g.value[1] == {} for g in cycle)


def test_a_cycle_never_costs_more_calls_than_asking_each_station_and_stops_growing(make_device):
    with Simulator(stations=64, seed=5, username=USERNAME, password=PASSWORD, port=0) as big:
        ids = big.model.station_ids()
        per_cycle = {}
        for devices in (4, 16, 32, 64):
            forget_accounts()
            fleet = [make_device(ids[i], name=f"cp{i}", wsdl=big.wsdl_url) for i in range(devices)]
            poll_cycle(fleet)  # the first cycle learns the organisation's size, groups and costs
            fleet[0].interface.account.cache.invalidate(lambda key: True)
            big.reset_calls()
            poll_cycle(fleet)
            per_cycle[devices] = calls(big)
        for devices, counts in per_cycle.items():
            assert all(n <= devices for n in counts.values()), per_cycle
            assert counts["getStationStatus"] == 1, per_cycle  # one list of stations
            assert "getChargingSessionData" not in counts, per_cycle  # no port stopped charging in between
        # A whole organisation's devices: one answer per method (its pages), one getLoad per covering group.
        whole = per_cycle[64]
        assert whole["getStations"] == whole["getAlarms"] == whole["getStationRights"] == 1, per_cycle
        assert whole["getLoad"] <= len(big.model.groups), per_cycle


def test_organisation_wide_reads_cost_one_call_per_page_of_records():
    with Simulator(stations=600, seed=2, username=USERNAME, password=PASSWORD, port=0) as big:
        client = make_client(AccountSettings(USERNAME, PASSWORD, wsdl=big.wsdl_url))
        rights = client.get_station_rights()
        pairs = sum(len(g.station_ids) for g in big.model.groups)
        assert sum(len(entries) for entries in rights.values()) == pairs
        assert big.calls["getStationRights"] == -(-pairs // 500)
        assert len(client.get_stations()) == 600 and big.calls["getStations"] == 2


def test_batched_load_reads_survive_a_failing_inventory(sim, make_device):
    first, second = sim.model.station_ids()[:2]
    sim.faults.response_codes = {"getStations": (101, "getStations is not part of this plan")}
    fleet = [make_device(first, name="cp1"), make_device(second, name="cp2")]
    cycle = [gevent.spawn(d.scrape) for d in fleet]
    gevent.joinall(cycle, timeout=30, raise_error=True)
    for device, greenlet in zip(fleet, cycle):
        values, errors = greenlet.value
        failed = {name for name in errors}
        assert failed == {name for name in values.keys() | failed if isinstance(device.register(name), StationRegister)}
        assert values["portLoadPort1"] is not None and values["StatusPort1"] is not None


class Stopped(BaseException):
    """What stops a greenlet from outside the API's failures (a Ctrl-C, a kill): not an Exception."""


def test_a_group_load_read_stopped_midway_fails_its_points_as_interrupted(sim, make_device, capfd):
    fleet = [make_device(station, name=f"cp{i}", cacheExpiration=0)
             for i, station in enumerate(sim.model.station_ids())]
    poll_cycle(fleet)  # the inventory says which groups hold the stations
    client = fleet[0].interface.account.client
    asked = []

    def stopped(station_id=None, sg_id=None):
        asked.append(sg_id)
        raise Stopped()

    client.get_load = stopped
    cycle = [gevent.spawn(d.scrape) for d in fleet]
    gevent.joinall(cycle, timeout=30, raise_error=True)
    assert asked and all(sg_id is not None for sg_id in asked)  # the load was asked by group
    for greenlet in cycle:
        values, errors = greenlet.value
        assert errors["portLoadPort1"].endswith("interrupted (Stopped())"), errors["portLoadPort1"]
        assert values["StatusPort1"] is not None
    capfd.readouterr()  # gevent reports the stopped greenlets on stderr


def test_session_histories_too_long_for_one_bulk_read_are_asked_per_station_without_errors(make_device):
    # Whole histories are read when the API's time is unknown (no status answer: a first read cannot ask for the
    # last day only). Sixteen devices may spend at most eight pages (half of asking each station), and no more
    # time, on one organisation-wide read; one station with 1200 sessions makes the whole histories thirteen pages
    # and more. The read stops early and every device reads its own station instead, in the same poll.
    with Simulator(stations=16, seed=5, username=USERNAME, password=PASSWORD, port=0) as org:
        ids = org.model.station_ids()
        for sid in ids:  # every port idle and held there: no session starts or ends during the test
            for port in org.model.station(sid).ports:
                org.model.set_port_status(sid, port.portNumber, "AVAILABLE")
        deep = ids[3]
        template = min(org.model.station(deep).sessions, key=lambda s: s.startTime)
        for i in range(1, 1201):
            start = template.startTime - timedelta(hours=2 * i)
            org.model.station(deep).sessions.append(dataclasses.replace(
                template, sessionID=template.sessionID + 10_000_000 + i, startTime=start,
                endTime=start + timedelta(hours=1)))
        # An API a network away (the choice of one read for all, over a call per station, rests on what a call
        # costs: on the loopback, with no latency, it is too close to call), that gives no status answer.
        org.faults.latency_ms = 30.0
        org.faults.response_codes = {"getStationStatus": (101, "getStationStatus is not part of this plan")}
        no_status = [row for row in sample_rows() if row["Register Name"] != "StationStatusRegister"]
        # Devices without session points first: the account learns the organisation's size.
        no_sessions = [row for row in no_status if row["Register Name"] != "ChargingSessionRegister"]
        poll_cycle([make_device(sid, no_sessions, name=f"other{i}", wsdl=org.wsdl_url) for i, sid in enumerate(ids)])
        org.reset_calls()
        fleet = [make_device(sid, no_status, name=f"cp{i}", wsdl=org.wsdl_url) for i, sid in enumerate(ids)]
        poll_cycle(fleet)
        queries = [fields for op, fields in org.requests if op == "getChargingSessionData"]
        organisation = [q for q in queries if "stationID" not in q]
        assert 1 <= len(organisation) <= 8, queries
        assert {q["stationID"] for q in queries if "stationID" in q} == set(ids)
        latest = {sid: max(org.model.sessions(sid), key=lambda s: (s.endTime, s.startTime)) for sid in ids}
        for device in fleet:
            values = device.scrape()[0]
            assert values["sessionID"] == str(latest[device.interface.settings.station_id].sessionID)
