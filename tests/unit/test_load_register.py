"""LoadRegister (getLoad, shedLoad, clearShedState): live load and the load-shed controls.

Write rules: shedState accepts only 0 (clears the shed of the station, or of the port); a shed is set by writing
allowedLoad (kW >= 0, three decimals) or percentShed (1-100, whole percents as the API's percentShedRange is an
int); only one kind of shed at a time; nothing empty or None. Reads: the API reports 0 for the shed kind not in
force and for an unshed port, which read None; a shed port with both at 0 is a 0 kW cap. At station level a shed
amount is the value every shed port shares, else None.
"""
from __future__ import annotations

import math

import pytest

from cp_unit_helpers import ANY, PORT, SpecAttribute, assert_names, build, invalid_ports, rejected, spec_row, valid_ports
from volttron.driver.interfaces.chargepoint.attributes import LOAD_ATTRIBUTES
from volttron.driver.interfaces.chargepoint.chargepoint_registers import LoadRegister
from volttron.driver.interfaces.chargepoint.models import WriteAction, WriteOperation
from volttron.driver.interfaces.chargepoint.registry import validate_row
from volttron.driver.interfaces.chargepoint.exceptions import WriteRejected
from volttron.driver.interfaces.chargepoint.models import PortLoad, StationLoad

REGISTER = "LoadRegister"

SPEC = [
    SpecAttribute("shedState", ANY, "int", int, "0 or 1", writable=True),
    SpecAttribute("portLoad", PORT, "float", float, "kW"),
    SpecAttribute("allowedLoad", ANY, "float", float, "kW", writable=True),
    SpecAttribute("percentShed", ANY, "float", float, "Percent", writable=True),
]
BY_NAME = {a.name: a for a in SPEC}
WRITABLE = [a for a in SPEC if a.writable]


def station(*ports: PortLoad) -> StationLoad:
    return StationLoad("1:10001", sum(p.port_load or 0.0 for p in ports), {p.port_number: p for p in ports})


def port(number, load=0.0, *, kw=0.0, pct=0.0, shed=0):
    return PortLoad(number, load, kw, pct, shed)


# name -> (data, {port: expected}) ; port None is the station-level point.
UNSHED = station(port(1, 3.314), port(2, 0.0))
KW_BOTH = station(port(1, 3.0, kw=5.0, shed=1), port(2, 2.0, kw=5.0, shed=1))
KW_DIFFER = station(port(1, 3.0, kw=5.0, shed=1), port(2, 2.0, kw=4.0, shed=1))
KW_ONE_PORT = station(port(1, 3.0, kw=5.0, shed=1), port(2, 2.0))
PCT_BOTH = station(port(1, 3.0, pct=50.0, shed=1), port(2, 2.0, pct=50.0, shed=1))
ZERO_CAP = station(port(1, 0.0, kw=0.0, pct=0.0, shed=1), port(2, 2.0))
# Values of an earlier shed left in the answer of an unshed port must not be read as a shed.
STALE = station(port(1, 3.0, kw=7.0, shed=0), port(2, 2.0, pct=30.0, shed=0))

READS = {
    "unshed": (UNSHED, {"shedState": {None: 0, 1: 0, 2: 0}, "portLoad": {1: 3.314, 2: 0.0},
                        "allowedLoad": {None: None, 1: None, 2: None},
                        "percentShed": {None: None, 1: None, 2: None}}),
    "kW on both ports": (KW_BOTH, {"shedState": {None: 1, 1: 1, 2: 1}, "portLoad": {1: 3.0, 2: 2.0},
                                   "allowedLoad": {None: 5.0, 1: 5.0, 2: 5.0},
                                   "percentShed": {None: None, 1: None, 2: None}}),
    "kW differing": (KW_DIFFER, {"shedState": {None: 1, 1: 1, 2: 1},
                                 "allowedLoad": {None: None, 1: 5.0, 2: 4.0}}),
    "kW on port 1 only": (KW_ONE_PORT, {"shedState": {None: 1, 1: 1, 2: 0},
                                        "allowedLoad": {None: 5.0, 1: 5.0, 2: None},
                                        "percentShed": {None: None, 1: None, 2: None}}),
    "a 0 kW cap": (ZERO_CAP, {"shedState": {None: 1, 1: 1, 2: 0}, "allowedLoad": {None: 0.0, 1: 0.0, 2: None},
                              "percentShed": {None: None, 1: None, 2: None}}),
    "percent on both": (PCT_BOTH, {"shedState": {None: 1, 1: 1, 2: 1},
                                   "allowedLoad": {None: None, 1: None, 2: None},
                                   "percentShed": {None: 50.0, 1: 50.0, 2: 50.0}}),
    "stale values, unshed": (STALE, {"shedState": {None: 0, 1: 0, 2: 0},
                                     "allowedLoad": {None: None, 1: None, 2: None},
                                     "percentShed": {None: None, 1: None, 2: None}}),
}
READ_CASES = [(case, name, p, expected)
              for case, (_data, table) in READS.items()
              for name, by_port in table.items()
              for p, expected in by_port.items()]


def test_code_table_has_exactly_the_spec_attributes():
    assert [a.name for a in LOAD_ATTRIBUTES] == [a.name for a in SPEC]
    assert set(LoadRegister.attributes) == set(BY_NAME)


@pytest.mark.parametrize("attribute", SPEC, ids=str)
def test_valid_row_builds_register(attribute):
    for p in valid_ports(attribute):
        register = validate_row(spec_row(REGISTER, attribute, port=p)).build()
        assert isinstance(register, LoadRegister)
        assert register.get_register_python_type() is attribute.published
        assert register.get_register_type()[1] is (not attribute.writable)
        assert register.get_units() == attribute.units


@pytest.mark.parametrize("attribute", WRITABLE, ids=str)
def test_writable_attribute_can_be_configured_read_only(attribute):
    register = validate_row(spec_row(REGISTER, attribute, writable="False")).build()
    assert register.get_register_type()[1] is True


@pytest.mark.parametrize("attribute", SPEC, ids=str)
def test_row_breaking_port_rule_is_rejected(attribute):
    for p, allowed in invalid_ports(attribute):
        error = rejected(spec_row(REGISTER, attribute, port=p, row=4))
        assert_names(str(error), row=4, column="Port #", value=p, allowed=(allowed,))


def test_port_load_writable_is_refused():
    error = rejected(spec_row(REGISTER, BY_NAME["portLoad"], writable="True", row=9))
    assert_names(str(error), row=9, column="Writable", value="True", allowed=("read-only",))


@pytest.mark.parametrize(("case", "name", "port_number", "expected"), READ_CASES,
                         ids=[f"{c}-{n}-{p or 'station'}" for c, n, p, _e in READ_CASES])
def test_value_from(case, name, port_number, expected):
    value = build(REGISTER, name, port_number).value_from(READS[case][0])
    assert value == expected
    if expected is not None:
        assert isinstance(value, BY_NAME[name].published)


@pytest.mark.parametrize("name", list(BY_NAME))
@pytest.mark.parametrize("data", [None, station(), UNSHED], ids=["no-data", "no-ports", "other-ports"])
def test_value_is_none_for_a_port_the_station_lacks(name, data):
    assert build(REGISTER, name, 3).value_from(data) is None


@pytest.mark.parametrize("name", ["shedState", "allowedLoad", "percentShed"])
def test_station_level_value_is_none_without_data(name):
    assert build(REGISTER, name).value_from(None) is None
    assert build(REGISTER, name).value_from(station()) is None


# --- writes ---------------------------------------------------------------------------------------------------


def load_point(name, port_number=None):
    return build(REGISTER, name, port_number, writable=True)


@pytest.mark.parametrize("value", [0, 0.0, "0", " 0 "])
@pytest.mark.parametrize("port_number", [None, 1, 2])
def test_shed_state_zero_clears_the_shed(value, port_number):
    assert load_point("shedState", port_number).plan_write(value) == WriteAction(WriteOperation.CLEAR_SHED, port=port_number)


@pytest.mark.parametrize("value", [1, "1", 2, -1, 0.5, None, "", "  ", "None", "abc", True, math.nan, 10**400])
def test_shed_state_refuses_everything_but_zero(value):
    with pytest.raises(WriteRejected) as info:
        load_point("shedState", 1).plan_write(value)
    message = str(info.value)
    assert "shedState" in message
    assert "only 0" in message                 # what is accepted
    assert "allowedLoad" in message and "percentShed" in message  # how to shed instead


@pytest.mark.parametrize(("value", "kw"), [(0, 0.0), (5, 5.0), ("7.5", 7.5), (12.5, 12.5), (150, 150.0),
                                           (-0.0, 0.0), ("-0", 0.0), (0.001, 0.001), (3.9600000000000004, 3.96)])
@pytest.mark.parametrize("port_number", [None, 1, 2])
def test_allowed_load_sheds_in_kw(value, kw, port_number):
    action = load_point("allowedLoad", port_number).plan_write(value)
    assert action == WriteAction(WriteOperation.SHED, port=port_number, allowed_kw=kw)
    assert str(action.allowed_kw) != "-0.0"


@pytest.mark.parametrize(("value", "says"), [
    (-1, ">= 0"), ("-0.5", ">= 0"), ("abc", ">= 0"), (math.nan, ">= 0"), (math.inf, ">= 0"), (True, ">= 0"),
    ([5], ">= 0"), (1e308, "at most"), (10**400, ">= 0"), (0.0004, "resolution"), (3.14159, "three decimals"),
])
def test_allowed_load_refuses_negative_huge_imprecise_and_non_numbers(value, says):
    with pytest.raises(WriteRejected) as info:
        load_point("allowedLoad", 1).plan_write(value)
    assert "allowedLoad" in str(info.value)
    assert says in str(info.value)


@pytest.mark.parametrize(("value", "pct"), [(1, 1.0), ("50", 50.0), (100, 100.0), (25.0, 25.0)])
@pytest.mark.parametrize("port_number", [None, 1, 2])
def test_percent_shed_sheds_in_percent(value, pct, port_number):
    action = load_point("percentShed", port_number).plan_write(value)
    assert action == WriteAction(WriteOperation.SHED, port=port_number, percent=pct)


@pytest.mark.parametrize(("value", "says"), [
    (101, "1 to 100"), (-1, "1 to 100"), (150, "1 to 100"), (12.5, "whole percent"), ("abc", "1 to 100"),
    (math.nan, "1 to 100"), (math.inf, "1 to 100"), (True, "1 to 100"), (10**400, "1 to 100"),
    (0, "1 to 100"),  # a 0 % shed sheds nothing (and would read back as a 0 kW cap)
])
def test_percent_shed_refuses_out_of_range_fractional_and_non_numbers(value, says):
    with pytest.raises(WriteRejected) as info:
        load_point("percentShed", 2).plan_write(value)
    assert "percentShed" in str(info.value)
    assert says in str(info.value)


@pytest.mark.parametrize("value", [None, "", "   ", "\t", "None", "null"])
@pytest.mark.parametrize("name", ["allowedLoad", "percentShed"])
def test_empty_or_none_never_clears_and_says_what_would(name, value):
    # Only shedState 0 clears: an empty value (an unset variable in an agent) must not lift every shed.
    with pytest.raises(WriteRejected) as info:
        load_point(name, 1).plan_write(value)
    assert name in str(info.value) and "shedState 0" in str(info.value)


@pytest.mark.parametrize(("name", "value"), [("allowedLoad", 5), ("percentShed", 50)])
def test_a_shed_asks_for_one_kind_only(name, value):
    # One shed kind at a time: a shed action never carries both a kW limit and a percent.
    action = load_point(name).plan_write(value)
    assert (action.allowed_kw is None) != (action.percent is None)


def test_port_load_refuses_writes():
    with pytest.raises(WriteRejected, match="portLoad.*read-only"):
        build(REGISTER, "portLoad", 1).plan_write(3.0)


@pytest.mark.parametrize("name", ["shedState", "allowedLoad", "percentShed"])
def test_load_writes_are_revertible(name):
    assert load_point(name).revertible is True
