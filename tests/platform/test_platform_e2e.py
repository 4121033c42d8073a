"""The ChargePoint driver in a real VOLTTRON platform, against the simulator in its own process, run as users run it.

What a user does, with no manual step: ``vctl install-lib`` of this package, ``vctl config store`` of the sample
registry and of device configs pointing at the simulator; then the Platform Driver agent polls and publishes, agents
write and revert points over RPC, a station leaves the account and comes back, the platform restarts, and a
historian stores the data. Every expected value comes from the simulator's true state, not from the driver.

The garage:

- cp1: the sample chargepoint.config as a user fills it in (cacheExpiration 30, timeout 10, the /all publish keys),
  polled every few seconds; cpgone (a station not on the account) shares its account.
- cp2 (2.x config shape) and cp3 (legacy shape): lab settings (polled every second, answers cached 4 s); their
  timeout differs from the sample's, so they share an account of their own.
- cpbad: a registry with a bad row, refused.
- west: a station group as a device (the sample chargepoint-group.csv), on cp1's account; it schedules a shed event
  through the Platform Driver's ``call`` RPC.

After every test the platform log must hold no traceback and no ERROR record but those the test expects.
"""
from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from platform_harness import Platform
from platform_peers import ROOT, BusClient, SimulatorProcess, wait_for
from sim_truth import REGISTRY, check_against_truth, registry_rows

pytestmark = [pytest.mark.platform, pytest.mark.timeout(540)]

SAMPLE_CONFIG = ROOT / "chargepoint.config"
USERNAME, PASSWORD = "e2e-license-key", "e2e-password"
CP1, CP2, CP3 = "campus/garage/cp1", "campus/garage/cp2", "campus/garage/cp3"
BAD, GONE = "campus/garage/cpbad", "campus/garage/cpgone"
GROUP_DEVICE = "campus/garage/west"
GROUP_REGISTRY = ROOT / "chargepoint-group.csv"
STATION1, STATION2, STATION3, STATION4 = "1:10001", "1:10002", "1:10003", "1:10004"  # 1 and 2 have two ports
SAMPLE_CACHE = 30  # s, the sample's cacheExpiration
SAMPLE_INTERVAL = 3  # s between polls of cp1 (and its /all publishes): "a few seconds"
GONE_INTERVAL = 2  # s between polls of cpgone: fifteen polls per cache period
LAB_INTERVAL, LAB_CACHE, LAB_TIMEOUT = 1, 4, 5  # cp2 and cp3
WRITES = ("shedLoad", "clearShedState", "clearAlarms")
# ERROR records the platform itself writes on the way (not ours): a refused write is "unhandled" in its RPC layer;
# its router complains when shut down; ply, loaded by the historian, prints to stderr, logged as ERROR.
REFUSED_WRITE = r"ERROR: unhandled exception in JSON-RPC method 'set_point'"
ROUTER_SHUTDOWN = r"ERROR: keyboard interrupt exception from router thread\."
PLY_TABLES = r"<stderr>\(0\) ERROR: Generating LALR tables"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorProcess]:
    simulator = SimulatorProcess("--stations", "4", "--seed", "1", "--username", USERNAME, "--password", PASSWORD)
    try:
        yield simulator.start()
    finally:
        simulator.stop()


def sample_config(sim: SimulatorProcess, station_id: str, interval: float = SAMPLE_INTERVAL,
                  registry: str = "chargepoint.csv") -> dict[str, Any]:
    """The sample chargepoint.config (legacy ``driver_config`` shape) as a user fills it in: the station, the
    credentials, the simulator's WSDL; and an interval of a few seconds instead of a minute."""
    config = json.loads(SAMPLE_CONFIG.read_text())
    config["driver_config"].update(stationID=station_id, username=USERNAME, password=PASSWORD, wsdl=sim.wsdl_url)
    config.update(interval=interval, all_publish_interval=interval, registry_config=f"config://{registry}")
    return config


def lab_config(sim: SimulatorProcess, station_id: str, shape: str = "legacy") -> dict[str, Any]:
    """Lab settings, in the legacy shape or the 2.x one (everything the interface needs in ``remote_config``)."""
    remote = {**sample_config(sim, station_id)["driver_config"], "cacheExpiration": LAB_CACHE,
              "timeout": LAB_TIMEOUT}
    device = {"registry_config": "config://chargepoint.csv", "interval": LAB_INTERVAL, "timezone": "UTC"}
    if shape == "legacy":
        return {"driver_config": remote, "driver_type": "chargepoint", **device}
    return {"remote_config": {"driver_type": "chargepoint", **remote}, **device}


@dataclass
class Garage:
    """The configured devices and the agent that listens to them (a new one after a platform restart)."""

    platform: Platform
    sim: SimulatorProcess
    listener: BusClient
    restarts: int = 0

    def rpc(self, method: str, *args: Any) -> dict[str, Any]:
        return self.listener.rpc("platform.driver", method, *args)

    def next_publish(self, device: str, timeout: float, since: int | None = None, suffix: str = "multi",
                     where: Callable[[dict[str, Any]], bool] = lambda item: True) -> dict[str, Any]:
        return self.listener.wait_publish(f"devices/{device}/{suffix}", timeout,
                                          since=self.listener.mark() if since is None else since, where=where)

    def reconnect(self) -> None:
        self.restarts += 1
        self.listener = self.platform.bus_client(f"e2e.chargepoint.listener{self.restarts}", "devices/campus/garage")


@pytest.fixture(scope="module")
def garage(sim: SimulatorProcess, platform: Platform) -> Iterator[Garage]:
    output = platform.install_lib()
    assert "volttron-lib-chargepoint-driver" in output, output
    problem = platform.import_error("volttron.driver.interfaces.chargepoint.chargepoint")
    if problem:
        pytest.fail(f"vctl install-lib did not make the interface importable in the platform's venv: {problem}")
    listener = platform.bus_client("e2e.chargepoint.listener", "devices/campus/garage")
    platform.store_config("platform.driver", "chargepoint.csv", REGISTRY, kind="csv")
    platform.store_config("platform.driver", f"devices/{CP1}", sample_config(sim, STATION1))
    platform.store_config("platform.driver", f"devices/{CP2}", lab_config(sim, STATION2, shape="2.x"))
    platform.store_config("platform.driver", f"devices/{CP3}", lab_config(sim, STATION3))
    garage = Garage(platform, sim, listener)
    yield garage
    # The platform serves the rest of the session: stop these devices' polls and this module's listener, which
    # would otherwise keep publishing and collecting (in this process) while later tests run.
    for device in (CP1, CP2, CP3, BAD, GONE, GROUP_DEVICE):
        try:
            platform.delete_config("platform.driver", f"devices/{device}")
        except Exception as exc:  # a device a failed test never stored
            print(f"device {device} not deleted: {exc}")
    garage.listener.close()


@pytest.fixture(autouse=True)
def clean_log(request: pytest.FixtureRequest, platform: Platform) -> Iterator[None]:
    start = len(platform.log_text())
    yield
    allowed = tuple(pattern for marker in request.node.iter_markers("log_allows") for pattern in marker.args)
    problems = platform.log_problems(start, allowed)
    assert not problems, "unexpected in the platform log:\n" + "\n".join(problems)


# ----- the station's load, read from the simulator's true state

def port_load(sim: SimulatorProcess, station_id: str, port: int) -> dict[str, Any]:
    return next(p for p in sim.station(station_id)["load"]["Port"] if int(p["portNumber"]) == port)


def no_shed(sim: SimulatorProcess, station_id: str) -> bool:
    return all(p["shedState"] == 0 for p in sim.station(station_id)["load"]["Port"])


def clear_in_the_station(sim: SimulatorProcess, station_id: str) -> None:
    """Clear the station directly (as from the ChargePoint portal) and wait until it has applied it."""
    if not no_shed(sim, station_id):
        sim.request("clear_shed", id=station_id)
        wait_for(lambda: no_shed(sim, station_id), 30, f"station {station_id} to clear its sheds")


def shed_port1(garage: Garage, device: str = CP1, station_id: str = STATION1) -> datetime:
    """set_point allowedLoadPort1 = 3.3 kW; returns when the simulator saw the station apply it."""
    answer = garage.rpc("set_point", device, "allowedLoadPort1", 3.3)
    assert answer["ok"], answer
    applied = wait_for(lambda: port_load(garage.sim, station_id, 1)["shedState"] == 1, 30,
                       f"the shed to reach simulated station {station_id}, port 1")
    assert applied and port_load(garage.sim, station_id, 1)["allowedLoad"] == pytest.approx(3.3)
    return datetime.now(timezone.utc)


def published_at(item: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(item["headers"]["TimeStamp"])


# ----- reads

@pytest.mark.parametrize("device, station_id", [(CP1, STATION1), (CP2, STATION2)], ids=["sample-config", "2x-config"])
def test_publish_equals_the_simulator_true_state(garage: Garage, device: str, station_id: str) -> None:
    # The first publish of the device: fresh from the API, compared at once with the truth, metadata included.
    publish = garage.listener.wait_publish(f"devices/{device}/multi", timeout=90)
    values, meta = publish["message"]
    problems = check_against_truth(values, meta, garage.sim.station(station_id))
    assert not problems, "\n".join(problems)


def test_bad_registry_row_refuses_only_its_device(garage: Garage) -> None:
    platform = garage.platform
    rows = REGISTRY.read_text(encoding="utf-8-sig").splitlines()
    header, data = rows[0], rows[1:]
    bad_index = next(i for i, line in enumerate(data) if line.startswith("stationModel,"))
    data[bad_index] = data[bad_index].replace("StationRegister", "NoSuchRegister")
    log_start = len(platform.log_text())
    mark = garage.listener.mark()
    platform.store_config("platform.driver", "chargepoint-bad.csv", "\n".join([header, *data]) + "\n", kind="csv")
    platform.store_config("platform.driver", f"devices/{BAD}",
                          sample_config(garage.sim, STATION4, registry="chargepoint-bad.csv"))

    refusal = platform.wait_for_log(rf"Skipping configuration of equipment: devices/{BAD}\b[^\n]*(\n(?!\d{{4}}-)"
                                    rf"[^\n]*)*", 30, start=log_start)
    # The line an editor shows: the header is line 1, so data row i (from 0) is on line i + 2.
    assert re.search(rf"line {bad_index + 2} \(point 'stationModel'\)[^\n]*Register Name", refusal.group(0)), \
        refusal.group(0)
    for device in (CP1, CP2, CP3):
        garage.next_publish(device, 30, since=mark)
    assert not [p for p in garage.listener.publishes[mark:] if p["topic"].startswith(f"devices/{BAD}")]


def test_two_devices_on_one_account_share_api_calls(garage: Garage) -> None:
    sim, listener = garage.sim, garage.listener
    sim.reset_calls()
    started = datetime.now(timezone.utc)
    mark = listener.mark()
    polls = 20
    wait_for(lambda: min(sum(p["topic"] == f"devices/{d}/multi" for p in listener.publishes[mark:])
                         for d in (CP2, CP3)) >= polls,
             polls * LAB_INTERVAL * 3 + 30, f"{polls} publishes of each lab device")
    calls = sim.calls()
    window = (datetime.now(timezone.utc) - started).total_seconds()
    print(f"calls in {window:.1f} s with {polls}+ publishes of each lab device and cp1's polls: {calls}")

    # One account refreshes a batched answer at most once per cache period, whichever device asks; two devices
    # with an account each would make about twice as many calls, and uncached polls one per publish. cp1 (its own
    # account, cached 30 s) adds at most two refreshes of each in the window.
    refreshes = window / LAB_CACHE + 2 + window / SAMPLE_CACHE + 2
    for operation in ("getStationStatus", "getAlarms"):
        assert 0 < calls.get(operation, 0) <= refreshes, (operation, calls, window)
    assert 0 < calls.get("getLoad", 0) <= 2 * refreshes, (calls, window)  # asked per station
    # Inventory and rights keep for staticExpiration (an hour), sessions until a port stops charging: not asked
    # again in every cache period.
    for operation in ("getStations", "getStationRights"):
        assert calls.get(operation, 0) <= 2, (operation, calls, window)
    assert calls.get("getChargingSessionData", 0) <= refreshes, (calls, window)
    assert sum(calls.values()) < 2 * polls + 2 * 6, (calls, window)  # cp1: at most two refreshes of six sources


def test_a_device_whose_station_is_not_on_the_account_keeps_publishing_and_recovers(garage: Garage) -> None:
    platform, sim, listener = garage.platform, garage.sim, garage.listener
    sim.request("withdraw", id=STATION4)
    log_start, mark = len(platform.log_text()), listener.mark()
    platform.store_config("platform.driver", f"devices/{GONE}", sample_config(sim, STATION4, GONE_INTERVAL))

    # Polled again and again within one cache period (the account's cached answer lacks the station): each poll
    # publishes what it could read (the organisation-wide alarms and sessions: none for this station) and the
    # platform logs the other points' errors, which name the station.
    def gone_publishes() -> list[dict[str, Any]]:
        return [p for p in listener.publishes[mark:] if p["topic"] == f"devices/{GONE}/multi"]
    wait_for(lambda: len(gone_publishes()) >= 4, 4 * GONE_INTERVAL * 3 + 30, "four publishes of cpgone")
    for publish in gone_publishes():
        values = publish["message"][0]
        assert values and "stationID" not in values and all(v is None for v in values.values()), values
    platform.wait_for_log(rf"Failed to poll devices/{GONE}/stationID: [^\n]*102[^\n]*{STATION4}", 10,
                          start=log_start)
    assert "Exception while polling" not in platform.log_text()[log_start:]
    # The other device of the account, untouched: every point, every time.
    cp1 = [p for p in listener.publishes[mark:] if p["topic"] == f"devices/{CP1}/multi"]
    assert cp1 and all(len(p["message"][0]) == len(registry_rows()) for p in cp1)

    sim.request("restore", id=STATION4)
    restored = datetime.now(timezone.utc)
    # One cache period later every answer cached while the station was away has expired: it reads everything.
    recovered = garage.next_publish(GONE, SAMPLE_CACHE + 3 * GONE_INTERVAL + 15, where=lambda p: published_at(p)
                                    >= restored + timedelta(seconds=SAMPLE_CACHE + 1))
    values, meta = recovered["message"]
    problems = check_against_truth(values, meta, sim.station(STATION4))
    assert not problems, "\n".join(problems)


# ----- writes

def test_set_point_reaches_the_station_and_the_next_publish_after_it_applies(garage: Garage) -> None:
    # Depends on issue 12 (write-aware state): with cacheExpiration 30 the read-back taken before the station
    # applied the shed must not be served for the rest of the cache period.
    clear_in_the_station(garage.sim, STATION1)
    applied = shed_port1(garage)
    assert port_load(garage.sim, STATION1, 2)["shedState"] == 0

    # The first publish from a poll after the station applied it (1 s after: no poll straddles the change).
    first = garage.next_publish(CP1, 4 * SAMPLE_INTERVAL + 10,
                                where=lambda p: published_at(p) >= applied + timedelta(seconds=1))
    values = first["message"][0]
    assert (values["allowedLoadPort1"], values["shedStatePort1"]) == (pytest.approx(3.3), 1), values


@pytest.mark.log_allows(REFUSED_WRITE)
def test_refused_writes_return_an_error_to_the_caller(garage: Garage) -> None:
    clear_in_the_station(garage.sim, STATION1)
    shed_port1(garage)
    before = garage.sim.station(STATION1)["load"]

    read_only = garage.rpc("set_point", CP1, "StatusPort1", "AVAILABLE")
    assert not read_only["ok"]
    assert "WriteRejected" in read_only["error"]["remote_type"], read_only
    assert "read-only" in read_only["error"]["message"]

    # Port 1 holds a kW shed: the API refuses a percent shed until the station's shed is cleared.
    conflict = garage.rpc("set_point", CP1, "percentShedPort1", 50)
    assert not conflict["ok"], conflict
    print(f"refused: {conflict['error']}")
    assert conflict["error"]["remote_type"], conflict

    assert garage.sim.station(STATION1)["load"]["Port"] == before["Port"]


def test_revert_point_restores_the_starting_value(garage: Garage) -> None:
    # shedStatePort1's Starting Value is 0: reverting it clears the station's shed. (cp2: lab settings.)
    clear_in_the_station(garage.sim, STATION2)
    shed_port1(garage, CP2, STATION2)
    answer = garage.rpc("revert_point", CP2, "shedStatePort1")
    assert answer["ok"], answer
    wait_for(lambda: no_shed(garage.sim, STATION2), 30, "the shed on station 2 to be cleared")
    garage.next_publish(CP2, 30, where=lambda p: p["message"][0]["shedStatePort1"] == 0
                        and p["message"][0]["allowedLoadPort1"] is None)


def test_revert_device_after_set_point_restores_the_state_before_the_write(garage: Garage) -> None:
    # Depends on issue 12: revert_device reverts every point; the station must end as it was before the write,
    # with one clear and no shed at a level nobody asked for (a derived station-level allowedLoad).
    sim = garage.sim
    clear_in_the_station(sim, STATION1)
    sim.reset_calls()
    shed_port1(garage)

    answer = garage.rpc("revert_device", CP1)
    assert answer["ok"], answer
    wait_for(lambda: no_shed(sim, STATION1), 30, "station 1 to be back without a shed")
    writes = sim.writes()
    received = "\n".join(f"  {operation} {fields}" for operation, fields in writes)
    assert [operation for operation, _ in writes] == ["shedLoad", "clearShedState"], f"writes received:\n{received}"
    assert writes[0][1]["shedStation"]["Ports"]["Port"] == {"portNumber": "1", "allowedLoadPerPort": "3.3"}
    assert writes[1][1]["shedStation"] == {"stationID": STATION1}


# ----- a platform restart, and a historian

@dataclass
class Restart:
    """What happened while the platform restarted: the log's offset before it, and the writes the simulator got."""

    log_start: int
    writes: list[tuple[str, dict[str, Any]]]
    first: dict[str, dict[str, Any]] = field(default_factory=dict)  # device -> its first publish after


@pytest.fixture(scope="module")
def historian_db(garage: Garage) -> Path:
    """The SQLite historian, installed from the package index as a user does, storing into this file."""
    database = garage.platform.home / "historian.sqlite"
    garage.platform.install_historian(database)
    return database


@pytest.fixture(scope="module")
def restarted(garage: Garage, historian_db: Path) -> Restart:
    """The platform restarted (``vctl shutdown --platform``, then ``volttron``) with a shed in force on station 1,
    set in the station directly; the devices' first publishes after it."""
    platform, sim = garage.platform, garage.sim
    clear_in_the_station(sim, STATION1)
    sim.request("shed", id=STATION1, port=2, kw=2.5)
    wait_for(lambda: port_load(sim, STATION1, 2)["shedState"] == 1, 30, "the shed on station 1, port 2")
    sim.reset_calls()
    restart = Restart(log_start=len(platform.log_text()), writes=[])
    platform.restart()
    garage.reconnect()
    restart.first = {device: garage.listener.wait_publish(f"devices/{device}/multi", 120) for device in (CP1, CP2)}
    restart.writes = sim.writes()
    return restart


def test_a_restart_writes_nothing_and_the_shed_in_force_stays_and_is_published(garage: Garage,
                                                                              restarted: Restart) -> None:
    assert restarted.writes == []
    load = port_load(garage.sim, STATION1, 2)
    assert (load["shedState"], load["allowedLoad"]) == (1, pytest.approx(2.5)), load
    values = restarted.first[CP1]["message"][0]
    assert (values["shedStatePort2"], values["allowedLoadPort2"]) == (1, pytest.approx(2.5)), values
    assert (values["shedStatePort1"], values["allowedLoadPort1"]) == (0, None), values
    problems = garage.platform.log_problems(restarted.log_start, (ROUTER_SHUTDOWN, PLY_TABLES))
    assert not problems, "unexpected in the platform log around the restart:\n" + "\n".join(problems)


# The JSON type each registry Type is stored as.
STORED_TYPE = {"int": (int,), "float": (int, float), "bool": (bool,), "string": (str,), "datetime": (str,),
               "time": (str,), "dict": (dict,)}


def stored(database: Path, device: str) -> dict[str, list[tuple[str, Any]]]:
    """(timestamp, value) rows of every point of device in the historian's database."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as connection:
        found = connection.execute("SELECT t.topic_name, d.ts, d.value_string FROM data d JOIN topics t "
                                   "ON t.topic_id = d.topic_id WHERE t.topic_name LIKE ?", (f"{device}/%",))
        rows: dict[str, list[tuple[str, Any]]] = {}
        for topic, ts, value in found:
            rows.setdefault(topic.rsplit("/", 1)[1], []).append((ts, json.loads(value)))
    return rows


def test_the_historian_stores_every_point_of_the_sample_device_numbers_as_numbers(
        garage: Garage, restarted: Restart, historian_db: Path) -> None:
    # cp1 has the sample's publish_depth_first_all and all_publish_interval: after the restart its data goes to
    # devices/.../all too, which is what historians store.
    first = garage.next_publish(CP1, 4 * SAMPLE_INTERVAL + 20, suffix="all")
    second = garage.next_publish(CP1, 4 * SAMPLE_INTERVAL + 20, suffix="all")
    assert set(first["message"][0]) == {row["Volttron Point Name"] for row in registry_rows()}
    points = {row["Volttron Point Name"]: row["Type"] for row in registry_rows()}

    rows = wait_for(lambda: (lambda found: found if set(found) == set(points)
                             and min(len(r) for r in found.values()) >= 2 else None)(stored(historian_db, CP1)),
                    30, "two rows of every point of cp1 in the historian's database")
    wrong = {name: values for name, values in rows.items()
             if any(value is not None and (not isinstance(value, STORED_TYPE[points[name]])
                                           or (isinstance(value, bool) and points[name] != "bool"))
                    for _, value in values)}
    assert not wrong, f"stored with the wrong JSON type: {wrong}"
    numbers = [name for name, values in rows.items() if points[name] in ("int", "float")
               and any(value is not None for _, value in values)]
    assert len(numbers) >= 10, numbers  # voltages, power, current, port numbers, load ...
    assert second["message"][0].keys() == first["message"][0].keys()


# ----- a station group as a device, and a shed event scheduled over the bus

@pytest.fixture(scope="module")
def west(garage: Garage) -> dict[str, Any]:
    """The simulated group with the most stations, configured as a group device with the sample group registry."""
    group = max(garage.sim.request("groups"), key=lambda g: (len(g["stations"]), -g["sgID"]))
    config = sample_config(garage.sim, STATION1, registry="chargepoint-group.csv")
    del config["driver_config"]["stationID"]
    config["driver_config"]["sgID"] = group["sgID"]
    garage.platform.store_config("platform.driver", "chargepoint-group.csv", GROUP_REGISTRY, kind="csv")
    garage.platform.store_config("platform.driver", f"devices/{GROUP_DEVICE}", config)
    return group


def test_a_group_device_publishes_the_groups_true_state(garage: Garage, west: dict[str, Any]) -> None:
    publish = garage.next_publish(GROUP_DEVICE, 6 * SAMPLE_INTERVAL + 30)
    values, metadata = publish["message"]
    loads = [garage.sim.station(sid)["load"] for sid in west["stations"]]
    assert (values["sgName"], values["numStations"]) == (west["sgName"], len(west["stations"]))
    assert values["shedState"] == max(port["shedState"] for load in loads for port in load["Port"])
    assert values["sgLoad"] == pytest.approx(sum(load["stationLoad"] for load in loads), abs=0.01)
    assert {name: metadata[name]["type"] for name in ("sgName", "numStations", "sgLoad")} == {
        "sgName": "string", "numStations": "integer", "sgLoad": "float"}


def test_a_shed_event_is_scheduled_and_cancelled_through_the_platforms_call_rpc(garage: Garage,
                                                                                west: dict[str, Any]) -> None:
    garage.next_publish(GROUP_DEVICE, 6 * SAMPLE_INTERVAL + 30)  # configured and polled
    topic = f"devices/{GROUP_DEVICE}/shedState"
    start = (datetime.now(timezone.utc) + timedelta(hours=1)).replace(microsecond=0)
    answer = garage.listener.rpc("platform.driver", "call", "schedule_shed", topic,
                                 start=start.isoformat(), minutes=30, kw_per_port=2.0)
    assert answer["ok"], answer
    results, errors = answer["result"]
    assert errors == {} and isinstance(results.get(topic), int), answer
    event_id = results[topic]
    (event,) = [e for e in garage.sim.request("events") if e["eventId"] == event_id]
    assert event["status"] == "scheduled", event
    assert str(event["sgID"]) == str(west["sgID"]) and event["allowedLoadPerPort"] == 2.0, event

    # A start in the past is refused by the driver before any call: every topic's error says so.
    calls = garage.sim.calls().get("createLoadShedEvent", 0)
    refused = garage.listener.rpc("platform.driver", "call", "schedule_shed", topic,
                                  start="2020-01-01T00:00:00Z", minutes=30, kw_per_port=2.0)
    assert refused["ok"] and refused["result"][0] == {} and "past" in refused["result"][1][topic], refused
    assert garage.sim.calls().get("createLoadShedEvent", 0) == calls

    cancel = garage.listener.rpc("platform.driver", "call", "cancel_shed", topic, event_id=event_id)
    assert cancel["ok"] and cancel["result"][1] == {}, cancel
    (event,) = [e for e in garage.sim.request("events") if e["eventId"] == event_id]
    assert event["status"] == "cancelled", event

