"""AlarmRegister (getAlarms, clearAlarms): the most recent alarm of the station or of one port; clearing alarms.

Spec: alarmType/alarmTime read the most recent alarm; a port-level point reads (and clears) only that port's
alarms; clearAlarms reads None and accepts only 1. A cleared alarm cannot be brought back, so clearAlarms is not
revertible.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from cp_unit_helpers import ANY, SpecAttribute, assert_names, build, invalid_ports, rejected, spec_row, valid_ports
from volttron.driver.interfaces.chargepoint.attributes import ALARM_ATTRIBUTES
from volttron.driver.interfaces.chargepoint.chargepoint_registers import AlarmRegister
from volttron.driver.interfaces.chargepoint.models import WriteAction, WriteOperation
from volttron.driver.interfaces.chargepoint.registry import validate_row
from volttron.driver.interfaces.chargepoint.exceptions import WriteRejected
from volttron.driver.interfaces.chargepoint.models import Alarm

REGISTER = "AlarmRegister"

SPEC = [
    SpecAttribute("alarmType", ANY, "string", str, "N/A"),
    SpecAttribute("alarmTime", ANY, "datetime", str, "Timestamp"),
    SpecAttribute("clearAlarms", ANY, "int", int, "0 or 1", writable=True),
]
BY_NAME = {a.name: a for a in SPEC}


def at(hour: int) -> datetime:
    return datetime(2024, 5, 1, hour, 30, tzinfo=timezone.utc)


# Deliberately not in time order: the most recent alarm must win whatever order the API lists them in.
ALARMS = [
    Alarm("1:10001", 1, "GFCI Trip", at(3), record_number=1),
    Alarm("1:10001", None, "Reachable", at(9), record_number=2),      # station-wide, the most recent overall
    Alarm("1:10001", 2, "Unreachable", at(1), record_number=3),
    Alarm("1:10001", 1, "Power Loss", at(5), record_number=4),        # most recent on port 1
    Alarm("1:10001", 2, "Circuit Sharing", at(4), record_number=5),   # most recent on port 2
]
EXPECTED = {
    None: ("Reachable", "2024-05-01T09:30:00Z"),
    1: ("Power Loss", "2024-05-01T05:30:00Z"),
    2: ("Circuit Sharing", "2024-05-01T04:30:00Z"),
}


def test_code_table_has_exactly_the_spec_attributes():
    assert [a.name for a in ALARM_ATTRIBUTES] == [a.name for a in SPEC]
    assert set(AlarmRegister.attributes) == set(BY_NAME)


@pytest.mark.parametrize("attribute", SPEC, ids=str)
def test_valid_row_builds_register(attribute):
    for p in valid_ports(attribute):
        register = validate_row(spec_row(REGISTER, attribute, port=p)).build()
        assert isinstance(register, AlarmRegister)
        assert register.get_register_python_type() is attribute.published
        assert register.get_register_type()[1] is (not attribute.writable)
        assert register.get_units() == attribute.units


@pytest.mark.parametrize("attribute", SPEC, ids=str)
def test_malformed_port_is_rejected(attribute):
    for p, allowed in invalid_ports(attribute):
        error = rejected(spec_row(REGISTER, attribute, port=p, row=5))
        assert_names(str(error), row=5, column="Port #", value=p, allowed=(allowed,))


@pytest.mark.parametrize("name", ["alarmType", "alarmTime"])
def test_read_only_alarm_points_refuse_writable(name):
    error = rejected(spec_row(REGISTER, BY_NAME[name], writable="True", row=6))
    assert_names(str(error), row=6, column="Writable", value="True", allowed=("read-only",))


@pytest.mark.parametrize("port_number", [None, 1, 2])
def test_most_recent_alarm_of_station_or_port(port_number):
    alarm_type, alarm_time = EXPECTED[port_number]
    assert build(REGISTER, "alarmType", port_number).value_from(ALARMS) == alarm_type
    assert build(REGISTER, "alarmTime", port_number).value_from(ALARMS) == alarm_time


def test_same_time_alarms_ordered_by_record_number():
    same = [Alarm("1:10001", 1, "first", at(2), 7), Alarm("1:10001", 1, "second", at(2), 8)]
    assert build(REGISTER, "alarmType").value_from(same) == "second"
    assert build(REGISTER, "alarmType").value_from(list(reversed(same))) == "second"


def test_alarm_time_published_in_utc():
    alarms = [Alarm("1:10001", 1, "GFCI Trip", datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=-7))))]
    assert build(REGISTER, "alarmTime").value_from(alarms) == "2024-05-01T19:00:00Z"


@pytest.mark.parametrize("name", ["alarmType", "alarmTime", "clearAlarms"])
@pytest.mark.parametrize(("data", "port_number"), [(None, None), ([], None), ([], 1), (ALARMS, 3)],
                         ids=["no-data", "no-alarms", "no-alarms-port", "port-without-alarms"])
def test_value_is_none_without_alarms(name, data, port_number):
    assert build(REGISTER, name, port_number).value_from(data) is None


@pytest.mark.parametrize("port_number", [None, 1, 2])
def test_clear_alarms_reads_none_even_with_alarms(port_number):
    assert build(REGISTER, "clearAlarms", port_number).value_from(ALARMS) is None


@pytest.mark.parametrize("value", [1, 1.0, "1", " 1 "])
@pytest.mark.parametrize("port_number", [None, 1, 2])
def test_clear_alarms_accepts_one_and_keeps_the_port(value, port_number):
    register = build(REGISTER, "clearAlarms", port_number, writable=True)
    assert register.plan_write(value) == WriteAction(WriteOperation.CLEAR_ALARMS, port=port_number)


@pytest.mark.parametrize("value", [0, 2, -1, 0.5, "abc", None, "", True, math.nan])
def test_clear_alarms_refuses_everything_but_one(value):
    with pytest.raises(WriteRejected) as info:
        build(REGISTER, "clearAlarms", 1, writable=True).plan_write(value)
    assert "clearAlarms" in str(info.value)
    assert "only 1" in str(info.value)


def test_clear_alarms_is_not_revertible_but_reads_are():
    assert build(REGISTER, "clearAlarms", writable=True).revertible is False
    assert build(REGISTER, "alarmType").revertible is True


@pytest.mark.parametrize("name", ["alarmType", "alarmTime"])
def test_alarm_reads_refuse_writes(name):
    with pytest.raises(WriteRejected, match="read-only"):
        build(REGISTER, name).plan_write("x")


@pytest.mark.parametrize(("starting", "ok"), [("0", True), ("", True), ("1", False)])
def test_clear_alarms_starting_value(starting, ok):
    # The spec's Starting Value for clearAlarms is 0 ("nothing to revert"); 1 would clear alarms on revert.
    row = spec_row(REGISTER, BY_NAME["clearAlarms"], starting=starting, row=8)
    if ok:
        assert validate_row(row).starting_value is None
    else:
        assert_names(str(rejected(row)), row=8, column="Starting Value", value=starting)
