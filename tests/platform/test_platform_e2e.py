"""The ChargePoint driver in a real VOLTTRON platform, against the simulator in its own process.

What a user does, with no manual step: ``vctl install-lib`` of this package, ``vctl config store`` of the sample
registry and of device configs pointing at the simulator; then the Platform Driver agent polls and publishes, and
agents write and revert points over RPC. Every expected value comes from the simulator's true state, not from the
driver.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
import time
from datetime import datetime, timezone
from typing import Any

import pytest

from platform_harness import ROOT, BusClient, Platform, SimulatorProcess, wait_for

pytestmark = [pytest.mark.platform, pytest.mark.timeout(540)]

REGISTRY = ROOT / "chargepoint.csv"
SAMPLE_CONFIG = ROOT / "chargepoint.config"
USERNAME, PASSWORD = "e2e-license-key", "e2e-password"
CP1, CP2, BAD = "campus/garage/cp1", "campus/garage/cp2", "campus/garage/cpbad"
STATION1, STATION2, STATION3 = "1:10001", "1:10002", "1:10003"  # the simulator's two-port stations come first
INTERVAL = 1  # s between polls of each device
CACHE = 4  # s a response serves every device of the account (cacheExpiration)

# The metadata type the platform publishes for each Type of the registry (the driver's python_type decides it;
# timestamps travel as ISO-8601 text; the platform has no name for a dict and spells its Python type).
PUBLISHED_TYPE = {"string": "string", "int": "integer", "float": "float", "bool": "boolean",
                  "datetime": "string", "time": "string", "dict": "<class 'dict'>"}


@pytest.fixture(scope="module")
def sim() -> SimulatorProcess:
    simulator = SimulatorProcess("--stations", "4", "--seed", "1", "--username", USERNAME, "--password", PASSWORD)
    try:
        yield simulator.start()
    finally:
        simulator.stop()


def legacy_config(sim: SimulatorProcess, station_id: str, registry: str = "chargepoint.csv") -> dict[str, Any]:
    """The sample chargepoint.config (legacy ``driver_config`` shape), pointed at the simulator."""
    config = json.loads(SAMPLE_CONFIG.read_text())
    config["driver_config"].update(stationID=station_id, username=USERNAME, password=PASSWORD,
                                   wsdl=sim.wsdl_url, cacheExpiration=CACHE, timeout=10)
    config.update(registry_config=f"config://{registry}", interval=INTERVAL)
    return config


def remote_config(sim: SimulatorProcess, station_id: str) -> dict[str, Any]:
    """The same device in the VOLTTRON 2.x shape: everything the interface needs sits in ``remote_config``."""
    legacy = legacy_config(sim, station_id)
    return {"remote_config": {"driver_type": "chargepoint", **legacy["driver_config"]},
            "registry_config": "config://chargepoint.csv", "interval": INTERVAL, "timezone": "UTC"}


@pytest.fixture(scope="module")
def garage(sim: SimulatorProcess, platform: Platform) -> BusClient:
    """The driver installed with vctl install-lib; cp1 (legacy config) and cp2 (2.x config) on one account."""
    output = platform.install_lib()
    assert "volttron-lib-chargepoint-driver" in output, output
    listener = platform.bus_client("e2e.chargepoint.listener", "devices/campus/garage")
    platform.store_config("platform.driver", "chargepoint.csv", REGISTRY, kind="csv")
    platform.store_config("platform.driver", f"devices/{CP1}", legacy_config(sim, STATION1))
    platform.store_config("platform.driver", f"devices/{CP2}", remote_config(sim, STATION2))
    return listener


def registry_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(REGISTRY.read_text(encoding="utf-8-sig"))))


def multi(device: str) -> str:
    return f"devices/{device}/multi"


# ----- the true value of each registry row, from the simulator's state

def iso_z(text: str | None) -> str | None:
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def latest(items: list[dict[str, Any]], *keys: str) -> dict[str, Any] | None:
    return max(items, key=lambda item: tuple(item[k] or "" for k in keys)) if items else None


def true_value(truth: dict[str, Any], row: dict[str, str]) -> Any:
    """What the point of this registry row must read, by the spec, in the simulator's true state."""
    attribute, port_text = row["Attribute Name"], row["Port #"].strip()
    port = int(port_text) if port_text and port_text != "0" else None
    ports = {int(p["portNumber"]): p for p in truth["ports"]}
    load_ports = {int(p["portNumber"]): p for p in truth["load"]["Port"]}
    register = row["Register Name"]

    if register == "StationRegister":
        pricing = truth["pricing"][0] if truth["pricing"] else {}
        if attribute in ("portNumber", "Mode"):
            return int(ports[port][attribute])
        if attribute == "Reservable":
            return bool(int(ports[port][attribute]))
        if attribute in ("Voltage", "Current", "Power", "Lat", "Long"):
            return float(ports[port][attribute])
        if attribute in ("stationName", "Level", "Connector", "Description"):
            return ports[port][attribute]
        if attribute in ("startTime", "endTime"):
            return pricing.get(attribute)
        if attribute in ("Type", "minPrice", "maxPrice", "unitPricePerHour", "unitPricePerSession",
                         "unitPricePerKWh", "unitPricePerHourThereafter", "sessionTime"):
            return pricing.get(attribute)
        if attribute == "unitPriceForFirst":
            return None  # named by the spec, absent from the 5.0 API
        return truth[attribute]

    if register == "StationStatusRegister":
        value = ports[port][attribute]
        return iso_z(value) if attribute == "TimeStamp" else value

    if register == "LoadRegister":
        chosen = [load_ports[port]] if port else list(load_ports.values())
        if attribute == "portLoad":
            return chosen[0]["portLoad"]
        if attribute == "shedState":
            return max(p["shedState"] for p in chosen)
        amounts = {p[attribute] for p in chosen if p["shedState"] == 1}
        return amounts.pop() if len(amounts) == 1 and next(iter(amounts)) else None

    if register == "AlarmRegister":
        if attribute == "clearAlarms":
            return None  # write-only
        alarms = [a for a in truth["alarms"] if port is None or str(a["portNumber"]) == str(port)]
        alarm = latest(alarms, "alarmTime")
        if alarm is None:
            return None
        return alarm["alarmType"] if attribute == "alarmType" else iso_z(alarm["alarmTime"])

    if register == "StationRightsRegister":
        return {str(g["sgID"]): {"sgName": g["sgName"], "stationRightsProfile": g["stationRightsProfile"]}
                for g in truth["groups"]}

    if register == "ChargingSessionRegister":
        sessions = [s for s in truth["sessions"] if port is None or str(s["portNumber"]) == str(port)]
        session = latest(sessions, "endTime", "startTime")
        if session is None or attribute == "driverName":
            return None
        field = {"rfidSerialNumber": "credentialID", "driverAccountNumber": "userID"}.get(attribute, attribute)
        value = session[field]
        if field in ("startTime", "endTime"):
            return iso_z(value)
        return str(value) if field == "sessionID" else value

    raise AssertionError(f"registry row for {row['Volttron Point Name']} has an unknown Register Name {register}")


def same(published: Any, expected: Any) -> bool:
    if isinstance(expected, float) or isinstance(published, float):
        return (isinstance(published, (int, float)) and isinstance(expected, (int, float))
                and not isinstance(published, bool) and math.isclose(published, expected, rel_tol=1e-9, abs_tol=1e-6))
    return published == expected


def check_against_truth(values: dict[str, Any], meta: dict[str, Any], truth: dict[str, Any]) -> list[str]:
    problems = []
    for row in registry_rows():
        name = row["Volttron Point Name"]
        if name not in values:
            problems.append(f"{name}: not published")
            continue
        expected = true_value(truth, row)
        if not same(values[name], expected):
            problems.append(f"{name}: published {values[name]!r}, simulator has {expected!r}")
        want_type = PUBLISHED_TYPE[row["Type"].strip().lower()]
        if meta.get(name, {}).get("type") != want_type or meta.get(name, {}).get("units") != row["Units"]:
            problems.append(f"{name}: metadata {meta.get(name)!r}, expected type {want_type!r} "
                            f"units {row['Units']!r}")
    extra = set(values) - {row["Volttron Point Name"] for row in registry_rows()}
    if extra:
        problems.append(f"published points not in the registry: {sorted(extra)}")
    return problems


# ----- the tests

@pytest.mark.parametrize("device, station_id", [(CP1, STATION1), (CP2, STATION2)], ids=["legacy-config", "2x-config"])
def test_publish_equals_the_simulator_true_state(garage: BusClient, sim: SimulatorProcess, device: str,
                                                 station_id: str) -> None:
    publish = garage.wait_publish(multi(device), timeout=90)
    values, meta = publish["message"]
    problems = check_against_truth(values, meta, sim.station(station_id))
    assert not problems, "\n".join(problems)


def port_load(sim: SimulatorProcess, station_id: str, port: int) -> dict[str, Any]:
    return next(p for p in sim.station(station_id)["load"]["Port"] if int(p["portNumber"]) == port)


def shed_port1(garage: BusClient, sim: SimulatorProcess) -> dict[str, Any]:
    """set_point allowedLoadPort1 = 3.3 kW on cp1; returns port 1's load once the shed has reached the station."""
    answer = garage.rpc("platform.driver", "set_point", CP1, "allowedLoadPort1", 3.3)
    assert answer["ok"], answer
    return wait_for(lambda: (lambda p: p if p["shedState"] == 1 else None)(port_load(sim, STATION1, 1)), 30,
                    "the shed to reach simulated station 1, port 1")


def test_set_point_allowed_load_reaches_the_station_and_a_later_publish(garage: BusClient,
                                                                        sim: SimulatorProcess) -> None:
    shed = shed_port1(garage, sim)
    assert shed["allowedLoad"] == pytest.approx(3.3)
    assert port_load(sim, STATION1, 2)["shedState"] == 0

    mark = garage.mark()
    garage.wait_publish(multi(CP1), 30, since=mark,
                        where=lambda p: p["message"][0]["allowedLoadPort1"] == pytest.approx(3.3)
                        and p["message"][0]["shedStatePort1"] == 1)


def test_refused_writes_return_an_error_to_the_caller(garage: BusClient, sim: SimulatorProcess) -> None:
    shed_port1(garage, sim)
    before = sim.station(STATION1)["load"]

    read_only = garage.rpc("platform.driver", "set_point", CP1, "StatusPort1", "AVAILABLE")
    assert not read_only["ok"]
    assert "WriteRejected" in read_only["error"]["remote_type"], read_only
    assert "read-only" in read_only["error"]["message"]

    # Port 1 holds a kW shed: the API refuses a percent shed until the station's shed is cleared.
    conflict = garage.rpc("platform.driver", "set_point", CP1, "percentShedPort1", 50)
    assert not conflict["ok"], conflict
    print(f"refused by the API: {conflict['error']}")
    assert conflict["error"]["remote_type"], conflict

    assert sim.station(STATION1)["load"]["Port"] == before["Port"]


def test_revert_point_restores_the_starting_value(garage: BusClient, sim: SimulatorProcess) -> None:
    # shedStatePort1's Starting Value is 0: reverting it clears the station's shed.
    shed_port1(garage, sim)
    answer = garage.rpc("platform.driver", "revert_point", CP1, "shedStatePort1")
    assert answer["ok"], answer
    wait_for(lambda: port_load(sim, STATION1, 1)["shedState"] == 0, 30, "the shed on station 1 to be cleared")
    mark = garage.mark()
    garage.wait_publish(multi(CP1), 30, since=mark,
                        where=lambda p: p["message"][0]["shedStatePort1"] == 0
                        and p["message"][0]["allowedLoadPort1"] is None)


def test_bad_registry_row_refuses_only_its_device(platform: Platform, garage: BusClient,
                                                  sim: SimulatorProcess) -> None:
    rows = REGISTRY.read_text(encoding="utf-8-sig").splitlines()
    header, data = rows[0], rows[1:]
    bad_index = next(i for i, line in enumerate(data) if line.startswith("stationModel,"))
    data[bad_index] = data[bad_index].replace("StationRegister", "NoSuchRegister")
    log_start = len(platform.log_text())
    platform.store_config("platform.driver", "chargepoint-bad.csv", "\n".join([header, *data]) + "\n", kind="csv")
    platform.store_config("platform.driver", f"devices/{BAD}", legacy_config(sim, STATION3, "chargepoint-bad.csv"))

    refusal = platform.wait_for_log(rf"Skipping configuration of equipment: devices/{BAD}\b[^\n]*(\n(?!\d{{4}}-)"
                                    rf"[^\n]*)*", 30, start=log_start)
    # The line an editor shows: the header is line 1, so data row i (from 0) is on line i + 2.
    assert re.search(rf"line {bad_index + 2} \(point 'stationModel'\)[^\n]*Register Name", refusal.group(0)), \
        refusal.group(0)

    mark = garage.mark()
    garage.wait_publish(multi(CP1), 30, since=mark)
    garage.wait_publish(multi(CP2), 30, since=mark)
    assert not [p for p in garage.publishes if p["topic"].startswith(f"devices/{BAD}")]


def test_two_devices_on_one_account_share_api_calls(garage: BusClient, sim: SimulatorProcess) -> None:
    sim.reset_calls()
    started = time.monotonic()
    mark = garage.mark()
    polls = 20
    wait_for(lambda: min(sum(p["topic"] == multi(d) for p in garage.publishes[mark:]) for d in (CP1, CP2)) >= polls,
             polls * INTERVAL * 3 + 30, f"{polls} publishes of each device")
    calls = sim.calls()
    window = time.monotonic() - started
    print(f"calls in {window:.1f} s with {polls}+ publishes of each device: {calls}")

    # One account refreshes a batched answer at most once per cache period, whichever device asks; two devices
    # with an account each would make about twice as many calls, and uncached polls one per publish.
    refreshes = window / CACHE + 2
    for operation in ("getStations", "getStationStatus", "getAlarms", "getStationRights", "getChargingSessionData"):
        assert 0 < calls.get(operation, 0) <= refreshes, (operation, calls, window)
    assert 0 < calls.get("getLoad", 0) <= 2 * refreshes, (calls, window)  # asked per station
    assert sum(calls.values()) < 2 * polls, (calls, window)
