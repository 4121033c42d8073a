"""StationStatusRegister (getStationStatus): Status and TimeStamp, port-level only."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cp_unit_helpers import PORT, SpecAttribute, assert_names, build, invalid_ports, rejected, spec_row, valid_ports
from volttron.driver.interfaces.chargepoint.attributes import STATUS_ATTRIBUTES
from volttron.driver.interfaces.chargepoint.chargepoint_registers import StationStatusRegister
from volttron.driver.interfaces.chargepoint.registry import validate_row
from volttron.driver.interfaces.chargepoint.exceptions import WriteRejected
from volttron.driver.interfaces.chargepoint.models import PortStatus

REGISTER = "StationStatusRegister"

SPEC = [
    SpecAttribute("Status", PORT, "string", str, "AVAILABLE, INUSE, UNREACHABLE, UNKNOWN"),
    SpecAttribute("TimeStamp", PORT, "datetime", str, "Timestamp"),  # datetimes publish as ISO-8601 UTC text
]
BY_NAME = {a.name: a for a in SPEC}

STATUS = {
    1: PortStatus(1, "AVAILABLE", datetime(2016, 11, 7, 19, 19, 19, tzinfo=timezone.utc)),
    # An aware timestamp in another zone is published in UTC.
    2: PortStatus(2, "INUSE", datetime(2016, 11, 7, 21, 20, 0, tzinfo=timezone(timedelta(hours=2)))),
}
EXPECTED = {
    ("Status", 1): "AVAILABLE", ("Status", 2): "INUSE",
    ("TimeStamp", 1): "2016-11-07T19:19:19Z", ("TimeStamp", 2): "2016-11-07T19:20:00Z",
}


def test_code_table_has_exactly_the_spec_attributes():
    assert [a.name for a in STATUS_ATTRIBUTES] == [a.name for a in SPEC]
    assert set(StationStatusRegister.attributes) == set(BY_NAME)


@pytest.mark.parametrize("attribute", SPEC, ids=str)
def test_valid_row_builds_register(attribute):
    for port in valid_ports(attribute):
        register = validate_row(spec_row(REGISTER, attribute, port=port)).build()
        assert isinstance(register, StationStatusRegister)
        assert register.get_register_python_type() is attribute.published
        assert register.get_register_type()[1] is True
        assert register.get_units() == attribute.units
        assert register.port == int(port)


@pytest.mark.parametrize("attribute", SPEC, ids=str)
def test_row_without_a_port_is_rejected(attribute):
    for port, allowed in invalid_ports(attribute):
        error = rejected(spec_row(REGISTER, attribute, port=port, row=12))
        assert_names(str(error), row=12, column="Port #", value=port, allowed=(allowed,))


@pytest.mark.parametrize("attribute", SPEC, ids=str)
def test_writable_true_is_refused(attribute):
    error = rejected(spec_row(REGISTER, attribute, writable="True", row=2))
    assert_names(str(error), row=2, column="Writable", value="True", allowed=("read-only",))


@pytest.mark.parametrize(("name", "port"), sorted(EXPECTED), ids=lambda v: str(v))
def test_value_from_reads_the_port(name, port):
    value = build(REGISTER, name, port).value_from(STATUS)
    assert value == EXPECTED[(name, port)]
    assert isinstance(value, str)


def test_naive_timestamp_is_taken_as_utc():
    naive = {1: PortStatus(1, "AVAILABLE", datetime(2024, 1, 2, 3, 4, 5))}
    assert build(REGISTER, "TimeStamp", 1).value_from(naive) == "2024-01-02T03:04:05Z"


@pytest.mark.parametrize("name", list(BY_NAME))
@pytest.mark.parametrize("data", [None, {}, STATUS], ids=["no-data", "no-ports", "other-ports"])
def test_value_is_none_when_the_port_is_missing(name, data):
    assert build(REGISTER, name, 3).value_from(data) is None


def test_missing_fields_read_none():
    unknown = {1: PortStatus(1, None, None)}
    assert build(REGISTER, "Status", 1).value_from(unknown) is None
    assert build(REGISTER, "TimeStamp", 1).value_from(unknown) is None


def test_status_register_refuses_writes():
    with pytest.raises(WriteRejected, match="read-only"):
        build(REGISTER, "Status", 1).plan_write("AVAILABLE")
