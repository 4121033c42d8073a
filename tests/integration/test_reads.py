"""Every point of the sample registry, read through the interface, equals the simulator's true state."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from chargepoint_simulator import Simulator, SimClock
from volttron.driver.base.interfaces import BaseInterface
from volttron.driver.interfaces.chargepoint.chargepoint import ChargePoint

from cp_integration import PASSWORD, USERNAME, sample_rows

FROZEN = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def sim():
    # A frozen clock: the true state cannot move between the driver's read and the test's look at the model.
    with Simulator(stations=4, seed=3, username=USERNAME, password=PASSWORD, port=0,
                   clock=SimClock(start=FROZEN, scale=0)) as simulator:
        yield simulator


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def expected_value(sim: Simulator, station_id: str, row: dict[str, str]) -> Any:
    """The true value of one registry row, computed from the model alone (not from driver code)."""
    station = sim.model.station(station_id)
    attribute, register = row["Attribute Name"], row["Register Name"]
    port_number = int(row["Port #"]) if row["Port #"] not in ("", "0") else None
    port = station.port(port_number) if port_number else None
    pricing = station.pricing[0] if station.pricing else None
    if register == "StationRegister":
        station_fields = {
            "stationID": station.stationID, "stationManufacturer": station.stationManufacturer,
            "stationModel": station.stationModel, "stationMacAddr": station.stationMacAddr,
            "stationSerialNum": station.stationSerialNum, "Address": station.Address, "City": station.City,
            "State": station.State, "Country": station.Country, "postalCode": station.postalCode,
            "numPorts": len(station.ports), "mainPhone": station.mainPhone, "orgID": station.orgID,
            "organizationName": station.organizationName, "sgID": station.sgID, "sgName": station.sgName,
            "currencyCode": station.currencyCode, "unitPriceForFirst": None,
        }
        if attribute in station_fields:
            return station_fields[attribute]
        pricing_fields = {
            "Type": "Type", "startTime": "startTime", "endTime": "endTime", "minPrice": "minPrice",
            "maxPrice": "maxPrice", "unitPricePerHour": "unitPricePerHour",
            "unitPricePerSession": "unitPricePerSession", "unitPricePerKWh": "unitPricePerKWh",
            "unitPricePerHourThereafter": "unitPricePerHourThereafter", "sessionTime": "sessionTime",
        }
        if attribute in pricing_fields:
            value = getattr(pricing, pricing_fields[attribute])
            return value.isoformat() if hasattr(value, "isoformat") else value
        port_fields = {
            "portNumber": int(port.portNumber), "stationName": port.stationName, "Lat": port.Lat,
            "Long": port.Long, "Reservable": bool(port.Reservable), "Level": port.Level, "Mode": int(port.Mode),
            "Voltage": float(port.Voltage), "Current": float(port.Current), "Power": float(port.Power),
            "Connector": port.Connector, "Description": port.Description,
        }
        return port_fields[attribute]
    if register == "StationStatusRegister":
        return port.Status if attribute == "Status" else iso(port.TimeStamp)
    if register == "LoadRegister":
        view = {p["portNumber"]: p for p in sim.model.load_view(station_id)["Port"]}
        if attribute == "portLoad":
            return view[port.portNumber]["portLoad"]
        chosen = [view[port.portNumber]] if port else list(view.values())
        if attribute == "shedState":
            return max(p["shedState"] for p in chosen)
        values = {p[attribute] for p in chosen if p["shedState"] == 1}
        return values.pop() if len(values) == 1 and values != {0} else None
    if register == "AlarmRegister":
        alarms = [a for a in station.alarms if not port or a.portNumber == port.portNumber]
        latest = max(alarms, key=lambda a: a.alarmTime, default=None)
        if attribute == "clearAlarms" or latest is None:
            return None
        return latest.alarmType if attribute == "alarmType" else iso(latest.alarmTime)
    if register == "StationRightsRegister":
        groups = [g for g in sim.model.groups if station_id in g.station_ids]
        return {str(g.sgID): {"sgName": g.sgName, "stationRightsProfile": g.stationRightsProfile} for g in groups}
    if register == "ChargingSessionRegister":
        sessions = [s for s in station.sessions if not port or s.portNumber == port.portNumber]
        latest = max(sessions, key=lambda s: s.endTime, default=None)
        if latest is None:
            return None
        return {"sessionID": str(latest.sessionID), "startTime": iso(latest.startTime),
                "endTime": iso(latest.endTime), "Energy": latest.Energy, "rfidSerialNumber": latest.credentialID,
                "driverAccountNumber": latest.userID, "driverName": None}[attribute]
    raise AssertionError(f"unexpected register {register}")


PYTHON_TYPES = {"string": str, "int": int, "float": float, "bool": bool, "datetime": str, "time": str, "dict": dict}


def test_platform_finds_the_interface_by_driver_type():
    assert BaseInterface.get_interface_subclass("chargepoint") is ChargePoint


def test_every_sample_point_reads_the_true_state_with_its_type(sim, make_device):
    station_id = sim.model.station_ids()[0]
    sim.model.add_alarm(station_id, "GFCI Trip", port_number=2)
    sim.model.add_alarm(station_id, "Reachable")
    device = make_device(station_id)
    values, errors = device.scrape()
    assert errors == {}
    rows = sample_rows()
    assert set(values) == {row["Volttron Point Name"] for row in rows}
    for row in rows:
        name = row["Volttron Point Name"]
        expected = expected_value(sim, station_id, row)
        assert values[name] == expected, name
        register = device.register(name)
        assert issubclass(register.get_register_python_type(), PYTHON_TYPES[row["Type"]]), name
        if expected is not None:
            assert isinstance(values[name], PYTHON_TYPES[row["Type"]]), name


def test_a_one_port_station_reads_none_for_port_two_without_errors(sim, make_device):
    one_port = next(s for s in sim.model.station_ids() if len(sim.model.station(s).ports) == 1)
    values, errors = make_device(one_port).scrape()
    assert errors == {}
    assert values["StatusPort2"] is None and values["PowerPort2"] is None
    assert values["StatusPort1"] == sim.model.station(one_port).ports[0].Status


def test_each_poll_follows_the_station_as_it_changes(sim, make_device):
    station_id = sim.model.station_ids()[0]
    device = make_device(station_id, cacheExpiration=0)
    sim.model.set_port_status(station_id, 1, "AVAILABLE")
    assert device.scrape()[0]["StatusPort1"] == "AVAILABLE"
    sim.model.set_port_status(station_id, 1, "INUSE", load_kw=4.2)
    values = device.scrape()[0]
    assert values["StatusPort1"] == "INUSE"
    assert values["portLoadPort1"] == pytest.approx(4.2)


def test_port_scoped_alarm_and_session_points_filter_by_port(sim, make_device):
    station_id = sim.model.station_ids()[0]
    sim.model.add_alarm(station_id, "Port 1 Fault", port_number=1)
    sim.clock.advance(60)
    sim.model.add_alarm(station_id, "Station Offline")
    start = sim.clock.now()
    sim.model.add_session(station_id, 2, 7.5, start.replace(hour=1), start.replace(hour=2))
    values, _ = make_device(station_id).scrape()
    assert values["alarmTypePort1"] == "Port 1 Fault"
    assert values["alarmType"] == "Station Offline"
    assert values["alarmTypePort2"] is None
    assert values["EnergyPort2"] == expected_value(sim, station_id, {"Register Name": "ChargingSessionRegister",
                                                                     "Attribute Name": "Energy", "Port #": "2"})


def test_unknown_station_gives_per_point_errors_not_a_crash(sim, make_device):
    values, errors = make_device("1:99999").scrape()
    assert values == {name: None for name in values}  # only points that need no API data
    assert errors and all("102" in message for message in errors.values())


def test_shared_credentials_from_the_interfaces_config_entry(sim, monkeypatch):
    # The platform fills ChargePoint.default_config from the config store entry "interfaces/chargepoint".
    from volttron.driver.interfaces.chargepoint.standalone import build_device
    monkeypatch.setattr(ChargePoint, "default_config", {"username": USERNAME, "password": PASSWORD,
                                                        "wsdl": sim.wsdl_url})
    station_id = sim.model.station_ids()[1]
    raw = {"driver_config": {"stationID": station_id}, "driver_type": "chargepoint"}
    device = build_device(raw, sample_rows())
    values, errors = device.scrape()
    assert errors == {} and values["stationID"] == station_id
