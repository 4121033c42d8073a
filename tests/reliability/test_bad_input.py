"""Bad registry rows, configs and writes: each is refused with a message that says where and what would do, before
any API call, and a valid device in the same process goes on polling unaffected."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from cp_reliability import PASSWORD, SAMPLE_CONFIG, USERNAME, sample_rows
from volttron.driver.interfaces.chargepoint import cli
from volttron.driver.interfaces.chargepoint.exceptions import ApiError, ConfigError, WriteRejected

pytestmark = pytest.mark.timeout(60)

def row(point: str, attribute: str, register: str, port: str = "", type_: str = "string", writable: str = "False",
        starting: str = "") -> dict[str, str]:
    return {"Volttron Point Name": point, "Attribute Name": attribute, "Port #": port, "Type": type_, "Units": "",
            "Writable": writable, "Notes": "", "Register Name": register, "Starting Value": starting}


# id -> (bad row, column named, value named)
BAD_ROWS = {
    "unknown register": (row("Status1", "Status", "StatusRegister", "1"), "Register Name", "StatusRegister"),
    "attribute of another register": (row("Status1", "Status", "StationRegister", "1"), "Attribute Name", "Status"),
    "port on a station attribute": (row("id", "stationID", "StationRegister", "1"), "Port #", "1"),
    "port attribute without port": (row("load", "portLoad", "LoadRegister", "", "float"), "Port #", ""),
    "port that is not a number": (row("load", "portLoad", "LoadRegister", "two", "float"), "Port #", "two"),
    "type that cannot hold it": (row("lat", "Lat", "StationRegister", "1", "bool"), "Type", "bool"),
    "writable read-only attribute": (row("city", "City", "StationRegister", writable="True"), "Writable", "True"),
    "starting value a write would refuse": (row("shed", "shedState", "LoadRegister", "", "int", "True", "1"),
                                            "Starting Value", "1"),
    "duplicate point name": (row("stationID", "stationID", "StationRegister"), "Volttron Point Name", "stationID"),
}

# id -> (config key and value, text the error must contain)
BAD_CONFIGS = {
    "station id format": ({"stationID": "10001"}, "stationID"),
    "zero timeout": ({"timeout": 0}, "timeout"),
    "timeout not a number": ({"timeout": "soon"}, "soon"),
    "negative cache expiration": ({"cacheExpiration": -1}, "cacheExpiration"),
    "negative shed duration": ({"shedDuration": -5}, "shedDuration"),
    "empty username": ({"username": ""}, "username"),
}


def test_bad_devices_are_refused_by_name_and_a_good_one_keeps_polling(sim, make_device) -> None:
    good = make_device(name="good")
    baseline, errors = good.scrape()
    assert errors == {}
    calls = sum(sim.calls.values())
    other = sim.model.station_ids()[1]
    for case, (bad, column, value) in BAD_ROWS.items():
        rows = sample_rows()
        rows.insert(4, bad)  # line 6 of the registry (the header is line 1)
        with pytest.raises(ConfigError) as refused:
            make_device(other, rows=rows, name="bad")
        message = str(refused.value)
        assert "line 6" in message and f"'{column}'" in message and repr(value) in message, (case, message)
    for case, (setting, named) in BAD_CONFIGS.items():
        with pytest.raises(ConfigError, match=named) as refused:
            make_device(other, name="bad", **setting)
        assert PASSWORD not in str(refused.value), case
    with pytest.raises(ConfigError) as refused:
        make_device(other, name="bad", stationID="1:10002", password="")
    assert "password" in str(refused.value)

    assert sum(sim.calls.values()) == calls  # refusing a device asks the API nothing
    assert good.interface.account.stations == [good.interface.settings.station_id]  # no half-joined station
    assert good.scrape() == (baseline, {})
    later = make_device(other, name="later")
    assert later.scrape()[1] == {} and good.scrape() == (baseline, {})


def test_check_lists_every_problem_of_config_and_registry_at_once(tmp_path: Path, capsys) -> None:
    raw = json.loads(SAMPLE_CONFIG.read_text(encoding="utf-8"))
    raw["driver_config"].update({"stationID": "10001", "username": USERNAME, "password": PASSWORD, "timeout": -1})
    config = tmp_path / "cp1.config"
    config.write_text(json.dumps(raw), encoding="utf-8")
    rows = sample_rows()
    for offset, (bad, _column, _value) in enumerate(BAD_ROWS.values()):
        rows.insert(2 + 2 * offset, bad)
    registry = tmp_path / "chargepoint.csv"
    with registry.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = io.StringIO()
    code = cli.main(["check", str(config)], out=out)
    text = out.getvalue() + capsys.readouterr().err
    assert code == cli.EXIT_REFUSED
    assert "stationID" in text and "timeout" in text
    for offset, (_bad, column, value) in enumerate(BAD_ROWS.values()):
        assert f"line {4 + 2 * offset}" in text and f"'{column}'" in text, (column, text)
    assert PASSWORD not in text


# point -> (value, what the refusal says would be accepted)
BAD_WRITES = {
    "shedStatePort1": (1, "only 0 is accepted"),
    "shedState": (None, "only 0 is accepted"),
    "percentShedPort1": (101, "from 1 to 100"),
    "percentShed": (-1, "from 1 to 100"),
    "percentShedPort2": (12.5, "whole percent"),
    "allowedLoadPort1": (-0.5, "kW >= 0"),
    "allowedLoad": ("lots", "kW >= 0"),
    "allowedLoadPort2": (float("nan"), "kW >= 0"),
    "clearAlarms": (0, "only 1 is accepted"),
    "clearAlarmsPort1": (True, "only 1 is accepted"),
    "StatusPort1": ("AVAILABLE", "read-only"),
    "stationRightsProfile": ("{}", "read-only"),
}


@pytest.mark.parametrize("point", list(BAD_WRITES))
def test_bad_writes_are_refused_before_any_call_saying_what_would_do(point, sim, make_device) -> None:
    device = make_device()
    value, accepted = BAD_WRITES[point]
    with pytest.raises(WriteRejected) as refused:
        device.set(point, value)
    assert point in str(refused.value) and accepted in str(refused.value), str(refused.value)
    assert sum(sim.calls.values()) == 0


def test_a_write_to_an_unknown_point_is_refused_before_any_call(sim, make_device) -> None:
    device = make_device()
    with pytest.raises(WriteRejected, match="nonexistentPoint"):
        device.interface.set_point(device.topic("nonexistentPoint"), 1)
    with pytest.raises(ConfigError, match="nonexistentPoint") as refused:
        device.set("nonexistentPoint", 1)
    assert "allowedLoadPort1" in str(refused.value)  # the points there are
    assert sum(sim.calls.values()) == 0


def test_switching_shed_kind_without_clearing_is_refused_before_the_call(sim, make_device) -> None:
    device = make_device()
    device.set("allowedLoadPort1", 2.5)
    sent = sim.calls["shedLoad"]
    with pytest.raises(WriteRejected, match="clear"):
        try:
            device.set("percentShedPort1", 50)
        except ApiError:
            assert sim.calls["shedLoad"] == sent  # what this test is about: nothing should have been sent
            raise
    assert sim.calls["shedLoad"] == sent


def test_a_write_to_an_unknown_topic_says_which_points_are_writable(make_device) -> None:
    device = make_device()
    with pytest.raises(WriteRejected) as refused:
        device.interface.set_point(device.topic("allowedLoadPort9"), 1)
    assert "allowedLoadPort1" in str(refused.value)
