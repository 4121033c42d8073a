"""StationRightsRegister (getStationRights): one dictionary keyed by station-group id."""
from __future__ import annotations

import pytest

from cp_unit_helpers import STATION, SpecAttribute, assert_names, build, invalid_ports, rejected, spec_row, valid_ports
from volttron.driver.interfaces.chargepoint.attributes import RIGHTS_ATTRIBUTES
from volttron.driver.interfaces.chargepoint.chargepoint_registers import StationRightsRegister
from volttron.driver.interfaces.chargepoint.registry import validate_row
from volttron.driver.interfaces.chargepoint.exceptions import WriteRejected
from volttron.driver.interfaces.chargepoint.models import RightsEntry

REGISTER = "StationRightsRegister"

SPEC = [SpecAttribute("stationRightsProfile", STATION, "dictionary", dict, "N/A")]
BY_NAME = {a.name: a for a in SPEC}
PROFILE = BY_NAME["stationRightsProfile"]

RIGHTS = [
    RightsEntry("39491", "Garage", "network_manager"),
    RightsEntry("39492", "Campus", "view_only"),
]


def test_code_table_has_exactly_the_spec_attributes():
    assert [a.name for a in RIGHTS_ATTRIBUTES] == [a.name for a in SPEC]
    assert set(StationRightsRegister.attributes) == set(BY_NAME)


@pytest.mark.parametrize("type_", ["dictionary", "dict"])
def test_valid_row_builds_register_publishing_a_dict(type_):
    for p in valid_ports(PROFILE):
        register = validate_row(spec_row(REGISTER, PROFILE, port=p, type_=type_)).build()
        assert isinstance(register, StationRightsRegister)
        assert issubclass(register.get_register_python_type(), dict)
        assert str(register.get_register_python_type()) == "object"  # its metadata type
        assert register.get_register_type()[1] is True
        assert register.get_units() == "N/A"


def test_row_with_a_port_is_rejected():
    for p, allowed in invalid_ports(PROFILE):
        error = rejected(spec_row(REGISTER, PROFILE, port=p, row=2))
        assert_names(str(error), row=2, column="Port #", value=p, allowed=(allowed,))


def test_writable_is_refused():
    error = rejected(spec_row(REGISTER, PROFILE, writable="True", row=2))
    assert_names(str(error), row=2, column="Writable", value="True", allowed=("read-only",))


def test_value_is_keyed_by_group_with_every_group_profile():
    value = build(REGISTER, "stationRightsProfile").value_from(RIGHTS)
    assert isinstance(value, dict)
    assert set(value) == {"39491", "39492"}
    assert value["39491"]["stationRightsProfile"] == "network_manager"
    assert value["39491"]["sgName"] == "Garage"
    assert value["39492"]["stationRightsProfile"] == "view_only"


def test_value_is_none_without_data():
    assert build(REGISTER, "stationRightsProfile").value_from(None) is None


def test_value_is_none_for_an_empty_rights_list():
    assert build(REGISTER, "stationRightsProfile").value_from([]) is None


def test_refuses_writes():
    with pytest.raises(WriteRejected, match="read-only"):
        build(REGISTER, "stationRightsProfile").plan_write({})
