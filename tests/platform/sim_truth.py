"""What each point of the sample registry must read, by the spec, in the simulator's true state.

The true state comes from ``sim_process.py`` (``SimulatorProcess.station``); nothing here asks the driver.
"""
from __future__ import annotations

import csv
import io
import math
from datetime import datetime, timezone
from typing import Any

from platform_peers import ROOT

REGISTRY = ROOT / "chargepoint.csv"

# The metadata type the platform publishes for each Type of the registry (the driver's python_type decides it;
# timestamps travel as ISO-8601 text; mappings are JSON objects).
PUBLISHED_TYPE = {"string": "string", "int": "integer", "float": "float", "bool": "boolean",
                  "datetime": "string", "time": "string", "dict": "object"}


def registry_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(REGISTRY.read_text(encoding="utf-8-sig"))))


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
