"""ChargingSessionRegister (getChargingSessionData): the most recent completed session.

Spec: the most recent session, on port 1 only; a port in the CSV is ignored. This driver extends that (an
extension of the spec, documented here): a station-level point reads the most recent session of the whole
station, a port-level point the most recent session of that port. "Most recent" is by end time (the API pages
oldest first, so list order proves nothing). The 5.0 WSDL names the RFID card serial credentialID and the driver
account userID; it has no driver name, so driverName always reads None.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cp_unit_helpers import ANY, SpecAttribute, assert_names, build, invalid_ports, rejected, spec_row, valid_ports
from volttron.driver.interfaces.chargepoint.attributes import SESSION_ATTRIBUTES
from volttron.driver.interfaces.chargepoint.chargepoint_registers import ChargingSessionRegister
from volttron.driver.interfaces.chargepoint.registry import validate_row
from volttron.driver.interfaces.chargepoint.exceptions import WriteRejected
from volttron.driver.interfaces.chargepoint.models import Session

REGISTER = "ChargingSessionRegister"

SPEC = [
    SpecAttribute("sessionID", ANY, "string", str, "ID"),
    SpecAttribute("startTime", ANY, "datetime", str, "Timestamp"),
    SpecAttribute("endTime", ANY, "datetime", str, "Timestamp"),
    SpecAttribute("Energy", ANY, "float", float, "kWh"),
    SpecAttribute("rfidSerialNumber", ANY, "string", str, "ID"),
    SpecAttribute("driverAccountNumber", ANY, "string", str, "ID"),
    SpecAttribute("driverName", ANY, "string", str, "N/A"),
]
BY_NAME = {a.name: a for a in SPEC}


def at(day: int, hour: int) -> datetime:
    return datetime(2024, 5, day, hour, 0, tzinfo=timezone.utc)


SESSIONS = [
    # Long session on port 1: started first but ended last of port 1 -> the most recent on port 1.
    Session("1:10001", 1, "1001", 30.5, at(1, 8), at(1, 20), user_id="664719", credential_id="CNCP0000481668"),
    # Started later but ended earlier: must NOT win on port 1 (ordering is by end time, not start time).
    Session("1:10001", 1, "1002", 4.25, at(1, 12), at(1, 14), user_id="111", credential_id="CNCP0000000111"),
    # Port 2: the most recent of the whole station.
    Session("1:10001", 2, "2001", 12.120572, at(2, 6), at(2, 9), user_id="222", credential_id="CNCP0000000222"),
    Session("1:10001", 2, "2000", 1.0, at(1, 1), at(1, 2), user_id="220", credential_id=None),
]
EXPECTED = {
    None: {"sessionID": "2001", "startTime": "2024-05-02T06:00:00Z", "endTime": "2024-05-02T09:00:00Z",
           "Energy": 12.120572, "rfidSerialNumber": "CNCP0000000222", "driverAccountNumber": "222",
           "driverName": None},
    1: {"sessionID": "1001", "startTime": "2024-05-01T08:00:00Z", "endTime": "2024-05-01T20:00:00Z",
        "Energy": 30.5, "rfidSerialNumber": "CNCP0000481668", "driverAccountNumber": "664719", "driverName": None},
    2: {"sessionID": "2001", "startTime": "2024-05-02T06:00:00Z", "endTime": "2024-05-02T09:00:00Z",
        "Energy": 12.120572, "rfidSerialNumber": "CNCP0000000222", "driverAccountNumber": "222",
        "driverName": None},
}
READ_CASES = [(p, name, value) for p, table in EXPECTED.items() for name, value in table.items()]


def test_code_table_has_exactly_the_spec_attributes():
    assert [a.name for a in SESSION_ATTRIBUTES] == [a.name for a in SPEC]
    assert set(ChargingSessionRegister.attributes) == set(BY_NAME)


@pytest.mark.parametrize("attribute", SPEC, ids=str)
def test_valid_row_builds_register(attribute):
    for p in valid_ports(attribute):
        register = validate_row(spec_row(REGISTER, attribute, port=p)).build()
        assert isinstance(register, ChargingSessionRegister)
        assert register.get_register_python_type() is attribute.published
        assert register.get_register_type()[1] is True
        assert register.get_units() == attribute.units


@pytest.mark.parametrize("attribute", SPEC, ids=str)
def test_malformed_port_is_rejected(attribute):
    for p, allowed in invalid_ports(attribute):
        error = rejected(spec_row(REGISTER, attribute, port=p, row=11))
        assert_names(str(error), row=11, column="Port #", value=p, allowed=(allowed,))


@pytest.mark.parametrize("attribute", SPEC, ids=str)
def test_writable_is_refused(attribute):
    error = rejected(spec_row(REGISTER, attribute, writable="True", row=3))
    assert_names(str(error), row=3, column="Writable", value="True", allowed=("read-only",))


@pytest.mark.parametrize(("port_number", "name", "expected"), READ_CASES,
                         ids=[f"{p or 'station'}-{n}" for p, n, _v in READ_CASES])
def test_most_recent_session_by_end_time(port_number, name, expected):
    value = build(REGISTER, name, port_number).value_from(SESSIONS)
    assert value == expected
    if expected is not None:
        assert isinstance(value, BY_NAME[name].published)


@pytest.mark.parametrize("order", [SESSIONS, list(reversed(SESSIONS))], ids=["given", "reversed"])
def test_list_order_does_not_matter(order):
    assert build(REGISTER, "sessionID").value_from(order) == "2001"
    assert build(REGISTER, "sessionID", 1).value_from(order) == "1001"


def test_credential_and_user_ids_map_to_spec_names():
    only = [Session("1:10001", 1, "9", 1.0, at(3, 1), at(3, 2), user_id="U-9", credential_id="RFID-9")]
    assert build(REGISTER, "rfidSerialNumber").value_from(only) == "RFID-9"
    assert build(REGISTER, "driverAccountNumber").value_from(only) == "U-9"
    assert build(REGISTER, "driverName").value_from(only) is None


def test_session_times_published_in_utc():
    local = timezone(timedelta(hours=-8))
    only = [Session("1:10001", 1, "9", 1.0, datetime(2024, 1, 1, 22, 0, tzinfo=local),
                    datetime(2024, 1, 1, 23, 30, tzinfo=local))]
    assert build(REGISTER, "startTime").value_from(only) == "2024-01-02T06:00:00Z"
    assert build(REGISTER, "endTime").value_from(only) == "2024-01-02T07:30:00Z"


@pytest.mark.parametrize("name", list(BY_NAME))
@pytest.mark.parametrize(("data", "port_number"), [(None, None), ([], None), ([], 1), (SESSIONS, 3)],
                         ids=["no-data", "no-sessions", "no-sessions-port", "port-without-sessions"])
def test_value_is_none_without_sessions(name, data, port_number):
    assert build(REGISTER, name, port_number).value_from(data) is None


def test_missing_fields_read_none():
    bare = [Session("1:10001", 1, None, None, None, None)]
    for name in BY_NAME:
        assert build(REGISTER, name).value_from(bare) is None


def test_refuses_writes():
    with pytest.raises(WriteRejected, match="read-only"):
        build(REGISTER, "sessionID").plan_write("1")
