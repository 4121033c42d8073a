"""The Type column says what users get: a value that converts cleanly to the declared Type is converted, on every
attribute; one that does not is an error of that point only, naming the value and the Type; the pricing Type's
words read as the spec's numbers when the Type is int; NaN and infinity are never published."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from cp_unit_helpers import build
from volttron.driver.interfaces.chargepoint.conversions import CONVERSIONS, pricing_type_number
from volttron.driver.interfaces.chargepoint.exceptions import BadValue
from volttron.driver.interfaces.chargepoint.models import PortInfo, PortLoad, Pricing, StationInfo, StationLoad

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)

# kind -> [(value, what it converts to)]
CLEAN = {
    "int": [(1, 1), ("1", 1), (" 42 ", 42), ("-3", -3), (2.0, 2)],
    "float": [(1, 1.0), ("2.5", 2.5), (" 1e3 ", 1000.0), (3.25, 3.25)],
    "bool": [(True, True), ("true", True), ("0", False), ("False", False), (1, True)],
    "string": [("Hourly", "Hourly"), (3, "3"), (2.5, "2.5"), (NOON, "2026-06-01T12:00:00Z")],
    "datetime": [(NOON, "2026-06-01T12:00:00Z"), ("2026-06-01T14:00:00+02:00", "2026-06-01T12:00:00Z"),
                 ("2026-06-01T12:00:00Z", "2026-06-01T12:00:00Z")],
    "time": [("08:00:00", "08:00:00"), ("8:00", "08:00:00"), ("24:00", "24:00:00")],
    "dict": [({"1": {"sgName": "a"}}, {"1": {"sgName": "a"}})],
}
# kind -> values that do not convert
UNCLEAN = {
    "int": ["1 Main St", "2.5", 2.5, "NaN", float("nan"), float("inf"), "", True],
    "float": ["NaN", "inf", "-Infinity", float("nan"), float("inf"), "1e400", "1,5", "lots", True],
    "bool": ["maybe", 2, "NaN"],
    "string": [float("nan"), float("inf"), {"a": 1}],
    "datetime": ["Level 2 port", "1-888-123-4567", "08:00:00", 5],
    "time": ["Anytime", "25:00", "12:60", "24:30", "noon"],
    "dict": ["network_manager", 1],
}


@pytest.mark.parametrize(("kind", "value", "converted"),
                         [(kind, value, converted) for kind, pairs in CLEAN.items() for value, converted in pairs])
def test_a_value_that_converts_cleanly_is_converted(kind, value, converted):
    result = CONVERSIONS[kind](value)
    assert result == converted and type(result) is type(converted)


@pytest.mark.parametrize(("kind", "value"), [(kind, value) for kind, values in UNCLEAN.items() for value in values])
def test_a_value_that_does_not_convert_is_refused(kind, value):
    with pytest.raises(ValueError):
        CONVERSIONS[kind](value)


@pytest.mark.parametrize(("word", "number"), [("Session", 1), ("Hourly", 2), ("kWh", 3), ("KWH", 3), ("None", None),
                                              ("2", 2), (3, 3)])
def test_pricing_type_words_read_as_the_specs_numbers(word, number):
    assert pricing_type_number(word) == number


@pytest.mark.parametrize("word", ["Monthly", "0", "4", ""])
def test_a_pricing_type_the_spec_does_not_number_is_refused(word):
    with pytest.raises(ValueError):
        pricing_type_number(word)


def station(**fields) -> StationInfo:
    return StationInfo(station_id="1:10001", **fields)


@pytest.mark.parametrize(("attribute", "type_", "data", "value"), [
    ("postalCode", "int", station(postal_code="95008"), 95008),
    ("postalCode", "string", station(postal_code="95008"), "95008"),
    ("Type", "int", station(pricing=(Pricing(type="Hourly"),)), 2),
    ("Type", "int", station(pricing=(Pricing(type="Session"),)), 1),
    ("Type", "int", station(pricing=(Pricing(type="None"),)), None),
    ("Type", "string", station(pricing=(Pricing(type="kWh"),)), "kWh"),
    ("startTime", "datetime", station(pricing=(Pricing(start_time="2026-06-01T08:00:00Z"),)),
     "2026-06-01T08:00:00Z"),
    ("startTime", "time", station(pricing=(Pricing(start_time="8:00"),)), "08:00:00"),
])
def test_a_register_publishes_its_value_as_its_type(attribute, type_, data, value):
    register = build("StationRegister", attribute, type_=type_)
    published = register.value_from(data)
    assert published == value and type(published) is type(value)
    assert register.get_register_python_type() is {"int": int, "string": str, "datetime": str, "time": str}[type_]


@pytest.mark.parametrize(("attribute", "port", "type_", "data", "shown"), [
    ("Address", None, "int", station(address="1 Main St"), "'1 Main St'"),
    ("Type", None, "int", station(pricing=(Pricing(type="Monthly"),)), "'Monthly'"),
    ("mainPhone", None, "datetime", station(main_phone="1-888-123-4567"), "'1-888-123-4567'"),
    ("Description", 1, "datetime", station(ports={1: PortInfo(1, description="north bay")}), "'north bay'"),
    ("sessionTime", None, "time", station(pricing=(Pricing(session_time="Anytime"),)), "'Anytime'"),
])
def test_a_value_that_does_not_convert_is_an_error_naming_the_value_and_the_type(attribute, port, type_, data,
                                                                                   shown):
    register = build("StationRegister", attribute, port, type_=type_)
    with pytest.raises(BadValue) as refused:
        register.value_from(data)
    message = str(refused.value)
    assert message.startswith(f"{attribute}: {attribute} value {shown} does not convert to {type_}, the point's Type")
    assert f"Type {register.attribute.kind} reads it as it is" in message


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_are_never_published(bad):
    load = StationLoad("1:10001", bad, {1: PortLoad(1, bad, None, None, 0)})
    with pytest.raises(BadValue):
        build("LoadRegister", "portLoad", 1).value_from(load)
    with pytest.raises(BadValue):
        build("StationRegister", "Voltage", 1).value_from(station(ports={1: PortInfo(1, voltage=bad)}))
