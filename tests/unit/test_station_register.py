"""StationRegister (getStations): the spec's 40 attributes, their port rules, published types and values.

The table below is copied from the spec, not from the code, so a divergence in either direction fails a test.
Where the spec's Type column is plainly wrong for what the API returns (Address, postalCode and pricing Type are
text; Description and mainPhone are text, not datetimes; pricing times are xsd:time), the honest type is the
attribute's own and the spec's Type is still accepted in a registry row, so registries written from the spec load;
the Type column decides what such a point publishes (see test_type_column.py).
"""
from __future__ import annotations


import pytest

from cp_unit_helpers import (PORT, STATION, SpecAttribute, assert_names, build, invalid_ports, rejected,
                             spec_row, valid_ports)
from volttron.driver.interfaces.chargepoint.attributes import PUBLISHED_TYPES, STATION_ATTRIBUTES, TYPE_ALIASES
from volttron.driver.interfaces.chargepoint.chargepoint_registers import StationRegister
from volttron.driver.interfaces.chargepoint.registry import validate_row
from volttron.driver.interfaces.chargepoint.exceptions import WriteRejected
from volttron.driver.interfaces.chargepoint.models import PortInfo, Pricing, StationInfo

REGISTER = "StationRegister"

SPEC = [
    SpecAttribute("stationID", STATION, "string", str, "ID"),
    SpecAttribute("stationManufacturer", STATION, "string", str, "N/A"),
    SpecAttribute("stationModel", STATION, "string", str, "N/A"),
    SpecAttribute("portNumber", PORT, "int", int, "1 or 2"),
    SpecAttribute("stationName", PORT, "string", str, "N/A"),
    SpecAttribute("stationMacAddr", STATION, "string", str, "MAC address"),
    SpecAttribute("stationSerialNum", STATION, "string", str, "ID"),
    SpecAttribute("Address", STATION, "int", str, "N/A"),            # spec says int: a street address is text
    SpecAttribute("City", STATION, "string", str, "N/A"),
    SpecAttribute("State", STATION, "string", str, "N/A"),
    SpecAttribute("Country", STATION, "string", str, "N/A"),
    SpecAttribute("postalCode", STATION, "int", str, "N/A"),         # spec says int: "02134", "K1A 0B1"
    SpecAttribute("Lat", PORT, "float", float, "Latitudinal coordinates"),
    SpecAttribute("Long", PORT, "float", float, "Longitudinal coordinates"),
    SpecAttribute("Reservable", PORT, "bool", bool, "True or False"),
    SpecAttribute("Level", PORT, "string", str, "L1, L2, L3"),
    SpecAttribute("Mode", PORT, "int", int, "1, 2, 3"),
    SpecAttribute("Voltage", PORT, "float", float, "Volts"),
    SpecAttribute("Current", PORT, "float", float, "Amps"),
    SpecAttribute("Power", PORT, "float", float, "kW"),
    SpecAttribute("Connector", PORT, "string", str, "N/A"),
    SpecAttribute("numPorts", STATION, "int", int, "Number"),
    SpecAttribute("Type", STATION, "int", str, "Enum"),              # the API sends Session / Hourly / kWh
    SpecAttribute("startTime", STATION, "datetime", str, "timestamp"),  # xsd:time, published as text
    SpecAttribute("endTime", STATION, "datetime", str, "timestamp"),
    SpecAttribute("minPrice", STATION, "float", float, "Currency"),
    SpecAttribute("maxPrice", STATION, "float", float, "Currency"),
    SpecAttribute("unitPricePerHour", STATION, "float", float, "Currency"),
    SpecAttribute("unitPricePerSession", STATION, "float", float, "Currency"),
    SpecAttribute("unitPricePerKWh", STATION, "float", float, "Currency"),
    SpecAttribute("unitPriceForFirst", STATION, "float", float, "Currency"),
    SpecAttribute("unitPricePerHourThereafter", STATION, "float", float, "Currency"),
    SpecAttribute("sessionTime", STATION, "time", str, "Amount of time"),
    SpecAttribute("Description", PORT, "datetime", str, "N/A"),      # spec says datetime: it is free text
    SpecAttribute("mainPhone", STATION, "datetime", str, "Phone number"),  # spec says datetime: 1-888-123-4567
    SpecAttribute("orgID", STATION, "string", str, "ID"),
    SpecAttribute("organizationName", STATION, "string", str, "N/A"),
    SpecAttribute("sgID", STATION, "string", str, "IDs"),
    SpecAttribute("sgName", STATION, "string", str, "Names"),
    SpecAttribute("currencyCode", STATION, "string", str, "Currency Code"),
]
BY_NAME = {a.name: a for a in SPEC}
# Attributes whose spec Type is wrong: the honest type name must be accepted as well as the spec's.
CORRECTED_TYPES = {"Address": "string", "postalCode": "string", "Type": "string", "Description": "string",
                   "mainPhone": "string", "sessionTime": "string"}

STATION_INFO = StationInfo(
    station_id="1:10001", manufacturer="ChargePoint", model="CT4021-GW1", mac_addr="0024:B100:0002:1234",
    serial_num="SN-1234", address="1 Main St", city="Richland", state="WA", country="USA", postal_code="02134",
    ports={
        1: PortInfo(1, station_name="GARAGE / CP-1", lat=46.28, long=-119.28, description="north bay",
                    reservable=True, level="L2", mode=3, connector="J1772", voltage=240.0, current=30.0, power=6.6),
        2: PortInfo(2, station_name="GARAGE / CP-2", lat=46.29, long=-119.29, description="south bay",
                    reservable=False, level="L1", mode=1, connector="NEMA 5-20R", voltage=120.0, current=16.0,
                    power=1.9),
    },
    pricing=(
        Pricing(type="Hourly", start_time="08:00:00", end_time="18:00:00", min_price=1.0, max_price=10.0,
                unit_price_per_hour=2.5, unit_price_per_hour_thereafter=4.0, unit_price_per_session=3.0,
                unit_price_per_kwh=0.25, session_time="04:00:00"),
        Pricing(type="kWh", start_time="18:00:00", end_time="08:00:00", min_price=0.5, unit_price_per_kwh=0.15),
    ),
    num_ports=2, main_phone="1-888-123-4567", currency_code="USD", org_id="1:ORG07225",
    organization_name="PNNL", sg_id="39491, 39492", sg_name="Garage, Campus",
)

# (attribute, port) -> the value a user reads from STATION_INFO. Pricing points read the first pricing spec.
EXPECTED = {
    ("stationID", None): "1:10001", ("stationManufacturer", None): "ChargePoint",
    ("stationModel", None): "CT4021-GW1", ("stationMacAddr", None): "0024:B100:0002:1234",
    ("stationSerialNum", None): "SN-1234", ("Address", None): "1 Main St", ("City", None): "Richland",
    ("State", None): "WA", ("Country", None): "USA", ("postalCode", None): "02134", ("numPorts", None): 2,
    ("portNumber", 1): 1, ("portNumber", 2): 2,
    ("stationName", 1): "GARAGE / CP-1", ("stationName", 2): "GARAGE / CP-2",
    ("Lat", 1): 46.28, ("Lat", 2): 46.29, ("Long", 1): -119.28, ("Long", 2): -119.29,
    ("Reservable", 1): True, ("Reservable", 2): False, ("Level", 1): "L2", ("Level", 2): "L1",
    ("Mode", 1): 3, ("Mode", 2): 1, ("Voltage", 1): 240.0, ("Voltage", 2): 120.0,
    ("Current", 1): 30.0, ("Current", 2): 16.0, ("Power", 1): 6.6, ("Power", 2): 1.9,
    ("Connector", 1): "J1772", ("Connector", 2): "NEMA 5-20R",
    ("Description", 1): "north bay", ("Description", 2): "south bay",
    ("Type", None): "Hourly", ("startTime", None): "08:00:00", ("endTime", None): "18:00:00",
    ("minPrice", None): 1.0, ("maxPrice", None): 10.0, ("unitPricePerHour", None): 2.5,
    ("unitPricePerSession", None): 3.0, ("unitPricePerKWh", None): 0.25,
    ("unitPricePerHourThereafter", None): 4.0, ("sessionTime", None): "04:00:00",
    # Named by the spec but absent from the 5.0 WSDL (initialUnitPriceDuration replaced it): always None.
    ("unitPriceForFirst", None): None,
    ("mainPhone", None): "1-888-123-4567", ("orgID", None): "1:ORG07225", ("organizationName", None): "PNNL",
    ("sgID", None): "39491, 39492", ("sgName", None): "Garage, Campus", ("currencyCode", None): "USD",
}


def test_code_table_has_exactly_the_spec_attributes():
    assert [a.name for a in STATION_ATTRIBUTES] == [a.name for a in SPEC]
    assert set(StationRegister.attributes) == set(BY_NAME)


def test_every_spec_attribute_has_an_expected_value():
    # Guards this module's own tables: every attribute is read at every port the spec allows.
    assert {name for name, _port in EXPECTED} == set(BY_NAME)


@pytest.mark.parametrize("attribute", SPEC, ids=str)
def test_valid_row_builds_register_with_published_type_units_and_read_only(attribute):
    for port in valid_ports(attribute):
        register = validate_row(spec_row(REGISTER, attribute, port=port)).build()
        assert isinstance(register, StationRegister)
        # The Type column says what users get, the spec's own wrong Types included.
        assert register.get_register_python_type() is PUBLISHED_TYPES[TYPE_ALIASES[attribute.spec_type]]
        assert register.get_register_type()[1] is True  # read-only
        assert register.get_units() == attribute.units
        assert register.port == (int(port) or None if port else None)


@pytest.mark.parametrize("attribute", [BY_NAME[n] for n in CORRECTED_TYPES], ids=str)
def test_honest_type_name_accepted_where_spec_type_is_wrong(attribute):
    register = validate_row(spec_row(REGISTER, attribute, type_=CORRECTED_TYPES[attribute.name])).build()
    assert register.python_type is attribute.published


def test_units_column_overrides_spec_units():
    register = validate_row(spec_row(REGISTER, BY_NAME["Voltage"], units="V (configured)")).build()
    assert register.get_units() == "V (configured)"


@pytest.mark.parametrize("attribute", SPEC, ids=str)
def test_row_breaking_port_rule_names_row_column_and_what_is_allowed(attribute):
    for port, allowed in invalid_ports(attribute):
        error = rejected(spec_row(REGISTER, attribute, port=port, row=7))
        assert_names(str(error), row=7, column="Port #", value=port, allowed=(allowed,))


@pytest.mark.parametrize("attribute", SPEC, ids=str)
def test_writable_true_is_refused_for_every_station_attribute(attribute):
    error = rejected(spec_row(REGISTER, attribute, writable="True", row=3))
    assert_names(str(error), row=3, column="Writable", value="True", allowed=("read-only",))


@pytest.mark.parametrize(("name", "port"), sorted(EXPECTED, key=str), ids=lambda v: str(v))
def test_value_from_reads_the_station(name, port):
    register = build(REGISTER, name, port)
    value = register.value_from(STATION_INFO)
    expected = EXPECTED[(name, port)]
    assert value == expected
    if expected is not None:
        assert isinstance(value, BY_NAME[name].published)


@pytest.mark.parametrize("attribute", SPEC, ids=str)
def test_value_is_none_without_station_data(attribute):
    port = 1 if attribute.port_rule == PORT else None
    assert build(REGISTER, attribute.name, port).value_from(None) is None


@pytest.mark.parametrize("attribute", [a for a in SPEC if a.port_rule == PORT], ids=str)
def test_port_level_value_is_none_for_a_port_the_station_lacks(attribute):
    assert build(REGISTER, attribute.name, 3).value_from(STATION_INFO) is None


@pytest.mark.parametrize("name", ["Type", "startTime", "endTime", "minPrice", "maxPrice", "unitPricePerHour",
                                  "unitPricePerSession", "unitPricePerKWh", "unitPricePerHourThereafter",
                                  "sessionTime"])
def test_pricing_value_is_none_when_station_has_no_pricing(name):
    bare = StationInfo(station_id="1:10001", ports=STATION_INFO.ports)
    assert build(REGISTER, name).value_from(bare) is None


def test_fields_the_api_left_out_read_none_not_a_default():
    sparse = StationInfo(station_id="1:10001", ports={1: PortInfo(1)})
    assert build(REGISTER, "City").value_from(sparse) is None
    assert build(REGISTER, "numPorts").value_from(sparse) is None
    assert build(REGISTER, "Reservable", 1).value_from(sparse) is None
    assert build(REGISTER, "Voltage", 1).value_from(sparse) is None


def test_station_register_refuses_writes_naming_the_point():
    register = build(REGISTER, "stationName", 1)
    with pytest.raises(WriteRejected, match="stationName.*read-only"):
        register.plan_write("new name")
