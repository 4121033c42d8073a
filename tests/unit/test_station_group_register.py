"""StationGroupRegister (getLoad by sgID; shedLoad and clearShedState with shedGroup): a station group as a device.

Every attribute is station-level. Reads: sgName, numStations and sgLoad are the API's group fields; shedState is 1
while any member station has a shed in force; allowedLoadPerStation / percentShedPerStation read the value every
shed port of every member shares (None when they differ, when none is shed, or for the kind not in force). Writes
follow the load points' rules: kW >= 0 with three decimals, whole percents 1-100, shedState 0 only, nothing empty.
A group device's registry holds only these rows, and a station device's none of them.
"""
from __future__ import annotations

import math

import pytest

from cp_unit_helpers import REPO_ROOT, STATION, SpecAttribute, assert_names, build, invalid_ports, rejected, spec_row
from cp_unit_helpers import make_row, valid_ports
from volttron.driver.interfaces.chargepoint.attributes import GROUP_ATTRIBUTES
from volttron.driver.interfaces.chargepoint.chargepoint_registers import StationGroupRegister
from volttron.driver.interfaces.chargepoint.exceptions import ConfigError, WriteRejected
from volttron.driver.interfaces.chargepoint.models import GroupLoad, PortLoad, StationLoad, WriteAction, WriteOperation
from volttron.driver.interfaces.chargepoint.registry import (read_registry_csv, registry_rows, validate_row,
                                                             validate_rows)

REGISTER = "StationGroupRegister"
SAMPLE_GROUP_CSV = REPO_ROOT / "chargepoint-group.csv"

SPEC = [
    SpecAttribute("sgName", STATION, "string", str, "Name"),
    SpecAttribute("numStations", STATION, "int", int, "Number"),
    SpecAttribute("sgLoad", STATION, "float", float, "kW"),
    SpecAttribute("allowedLoadPerStation", STATION, "float", float, "kW", writable=True),
    SpecAttribute("percentShedPerStation", STATION, "float", float, "Percent", writable=True),
    SpecAttribute("shedState", STATION, "int", int, "0 or 1", writable=True),
]
BY_NAME = {a.name: a for a in SPEC}
WRITABLE = [a for a in SPEC if a.writable]


def port(number: int, load: float = 0.0, *, kw: float = 0.0, pct: float = 0.0, shed: int = 0) -> PortLoad:
    return PortLoad(number, load, kw, pct, shed)


def group(*stations: tuple[str, list[PortLoad]]) -> GroupLoad:
    loads = {sid: StationLoad(sid, sum(p.port_load or 0.0 for p in ports), {p.port_number: p for p in ports})
             for sid, ports in stations}
    return GroupLoad(39491, "Garage", len(loads), round(sum(s.station_load or 0 for s in loads.values()), 3), loads)


# case -> (data, {attribute: expected})
READS = {
    "unshed": (group(("1:1", [port(1, 3.3), port(2)]), ("1:2", [port(1, 6.6)])),
               {"sgName": "Garage", "numStations": 2, "sgLoad": 9.9, "shedState": 0,
                "allowedLoadPerStation": None, "percentShedPerStation": None}),
    "every member capped alike": (group(("1:1", [port(1, 3.0, kw=3.0, shed=1), port(2, kw=3.0, shed=1)]),
                                        ("1:2", [port(1, 3.0, kw=3.0, shed=1)])),
                                  {"shedState": 1, "allowedLoadPerStation": 3.0, "percentShedPerStation": None}),
    "members capped differently": (group(("1:1", [port(1, 3.0, kw=3.0, shed=1)]),
                                         ("1:2", [port(1, 2.0, kw=2.0, shed=1)])),
                                   {"shedState": 1, "allowedLoadPerStation": None, "percentShedPerStation": None}),
    "one member shed": (group(("1:1", [port(1, 3.0, kw=3.0, shed=1)]), ("1:2", [port(1, 6.6)])),
                        {"shedState": 1, "allowedLoadPerStation": 3.0}),
    "percent on every member": (group(("1:1", [port(1, 2.0, pct=50.0, shed=1)]),
                                      ("1:2", [port(1, 1.0, pct=50.0, shed=1)])),
                                {"shedState": 1, "allowedLoadPerStation": None, "percentShedPerStation": 50.0}),
    "a 0 kW cap": (group(("1:1", [port(1, 0.0, shed=1)])), {"shedState": 1, "allowedLoadPerStation": 0.0}),
    "stale values, unshed": (group(("1:1", [port(1, 3.0, kw=7.0)]), ("1:2", [port(1, 1.0, pct=30.0)])),
                             {"shedState": 0, "allowedLoadPerStation": None, "percentShedPerStation": None}),
    "no data": (None, {name: None for name in BY_NAME}),
    "fields left out": (GroupLoad(None, None, None, None, {}),
                        {"sgName": None, "numStations": None, "sgLoad": None, "shedState": None,
                         "allowedLoadPerStation": None}),
}
READ_CASES = [(case, name, expected) for case, (_data, table) in READS.items() for name, expected in table.items()]


def test_code_table_has_exactly_the_attributes():
    assert [a.name for a in GROUP_ATTRIBUTES] == [a.name for a in SPEC]
    assert set(StationGroupRegister.attributes) == set(BY_NAME)


@pytest.mark.parametrize("attribute", SPEC, ids=str)
def test_valid_row_builds_register(attribute):
    for p in valid_ports(attribute):
        register = validate_row(spec_row(REGISTER, attribute, port=p), group=True).build()
        assert isinstance(register, StationGroupRegister)
        assert register.get_register_python_type() is attribute.published
        assert register.get_register_type()[1] is (not attribute.writable)
        assert register.get_units() == attribute.units


@pytest.mark.parametrize("attribute", SPEC, ids=str)
def test_a_port_is_refused(attribute):
    for p, allowed in invalid_ports(attribute):
        error = rejected(spec_row(REGISTER, attribute, port=p, row=4))
        assert_names(str(error), row=4, column="Port #", value=p, allowed=(allowed,))


@pytest.mark.parametrize("name", ["sgName", "numStations", "sgLoad"])
def test_group_fields_are_read_only(name):
    error = rejected(spec_row(REGISTER, BY_NAME[name], writable="True", row=2))
    assert_names(str(error), row=2, column="Writable", value="True", allowed=("read-only",))


@pytest.mark.parametrize(("case", "name", "expected"), READ_CASES, ids=[f"{c}-{n}" for c, n, _e in READ_CASES])
def test_value_from(case, name, expected):
    value = build(REGISTER, name).value_from(READS[case][0])
    assert value == expected
    if expected is not None:
        assert isinstance(value, BY_NAME[name].published)


# --- writes ---------------------------------------------------------------------------------------------------


def point(name: str) -> StationGroupRegister:
    return build(REGISTER, name, writable=True)  # type: ignore[return-value]


@pytest.mark.parametrize(("name", "value", "action"), [
    ("allowedLoadPerStation", 3, WriteAction(WriteOperation.SHED, allowed_kw=3.0)),
    ("allowedLoadPerStation", "7.25", WriteAction(WriteOperation.SHED, allowed_kw=7.25)),
    ("allowedLoadPerStation", 0, WriteAction(WriteOperation.SHED, allowed_kw=0.0)),
    ("allowedLoadPerStation", "-0", WriteAction(WriteOperation.SHED, allowed_kw=0.0)),
    ("percentShedPerStation", 40, WriteAction(WriteOperation.SHED, percent=40.0)),
    ("percentShedPerStation", "100", WriteAction(WriteOperation.SHED, percent=100.0)),
    ("shedState", 0, WriteAction(WriteOperation.CLEAR_SHED)),
    ("shedState", " 0 ", WriteAction(WriteOperation.CLEAR_SHED)),
])
def test_a_write_asks_for_exactly_that_of_the_whole_group(name, value, action):
    assert point(name).plan_write(value) == action


@pytest.mark.parametrize(("name", "value", "says"), [
    ("allowedLoadPerStation", -1, ">= 0"), ("allowedLoadPerStation", 3.14159, "three decimals"),
    ("allowedLoadPerStation", 0.0004, "resolution"), ("allowedLoadPerStation", 1e308, "at most"),
    ("allowedLoadPerStation", math.nan, ">= 0"), ("allowedLoadPerStation", True, ">= 0"),
    ("percentShedPerStation", 0, "1 to 100"), ("percentShedPerStation", 101, "1 to 100"),
    ("percentShedPerStation", 12.5, "whole percent"), ("percentShedPerStation", math.inf, "1 to 100"),
    ("shedState", 1, "only 0"), ("shedState", "abc", "only 0"),
])
def test_values_the_api_would_not_take_as_asked_are_refused(name, value, says):
    with pytest.raises(WriteRejected) as refused:
        point(name).plan_write(value)
    assert name in str(refused.value) and says in str(refused.value)


@pytest.mark.parametrize("value", [None, "", "  ", "None", "null"])
@pytest.mark.parametrize("name", ["allowedLoadPerStation", "percentShedPerStation", "shedState"])
def test_empty_or_none_never_clears(name, value):
    with pytest.raises(WriteRejected) as refused:
        point(name).plan_write(value)
    assert "shedState 0" in str(refused.value) or "only 0 is accepted" in str(refused.value)


def test_shed_state_says_how_to_shed_a_group():
    with pytest.raises(WriteRejected, match="allowedLoadPerStation or percentShedPerStation"):
        point("shedState").plan_write(1)


@pytest.mark.parametrize(("starting", "value"), [("0", 0), ("2.5", 2.5)])
def test_starting_values_are_checked_like_writes(starting, value):
    name = "shedState" if starting == "0" else "allowedLoadPerStation"
    row = make_row(name, REGISTER, type_=BY_NAME[name].spec_type, writable="True", starting=starting)
    assert validate_row(row, group=True).starting_value == value


# --- which device may hold which rows -----------------------------------------------------------------------------


def test_a_group_registry_refuses_a_station_row_naming_row_point_and_why():
    rows = [make_row("sgLoad", REGISTER, type_="float", row=1),
            make_row("portLoad", "LoadRegister", port="1", type_="float", point="portLoadPort1", row=2)]
    with pytest.raises(ConfigError) as refused:
        validate_rows(rows, "registry of group 39491", group=True)
    (problem,) = refused.value.problems
    assert_names(problem, row=2, column="Register Name", value="LoadRegister",
                 allowed=("group device", "only StationGroupRegister"))
    assert "'portLoadPort1'" in problem and "\n" not in problem


def test_a_station_registry_refuses_a_group_row_naming_row_point_and_why():
    rows = [make_row("portLoad", "LoadRegister", port="1", type_="float", row=1),
            make_row("sgLoad", REGISTER, type_="float", point="garageLoad", row=2)]
    with pytest.raises(ConfigError) as refused:
        validate_rows(rows, "registry of station 1:10001", group=False)
    (problem,) = refused.value.problems
    assert_names(problem, row=2, column="Register Name", value=REGISTER, allowed=("station device", "sgID"))
    assert "'garageLoad'" in problem


def test_without_a_device_kind_either_kind_of_row_is_valid():
    assert len(validate_rows([make_row("sgLoad", REGISTER, type_="float"),
                              make_row("City", "StationRegister", row=2)])) == 2


# --- the sample group registry ------------------------------------------------------------------------------------


def test_sample_group_registry_is_valid_for_a_group_device_and_has_every_attribute():
    specs = validate_rows(registry_rows(read_registry_csv(SAMPLE_GROUP_CSV)), str(SAMPLE_GROUP_CSV), group=True)
    assert sorted(spec.attribute.name for spec in specs) == sorted(BY_NAME)
    assert {spec.attribute.name for spec in specs if spec.writable} == {a.name for a in WRITABLE}
    assert {spec.point_name: spec.starting_value for spec in specs if spec.starting_value is not None} == {
        "shedState": 0}
