"""Ordered field tables of the response types: the one place that knows each xsd:sequence.

Each table lists a type's child elements in WSDL order with the formatter that turns a Python value
into wire text (or, for a complex child, the child's own table). The renderer in ``soap`` walks these
tables, so no response builder ever decides element order by itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timezone
from typing import Any, Callable

Formatter = Callable[[Any], str]


def text(value: Any) -> str:
    """Strings as they are; anything else through ``str``."""
    return value if isinstance(value, str) else str(value)


def integer(value: Any) -> str:
    """xsd:int / xsd:long."""
    return str(int(value))


def kw(value: Any) -> str:
    """Decimal kW with three places, as the service writes loads."""
    return f"{float(value):.3f}"


def kwh(value: Any) -> str:
    """Energy in kWh with six places."""
    return f"{float(value):.6f}"


def money(value: Any) -> str:
    """Prices and costs with two places."""
    return f"{float(value):.2f}"


def coordinate(value: Any) -> str:
    """Latitude/longitude written with fifteen decimals like the service does."""
    return f"{float(value):.6f}000000000" if not isinstance(value, str) else value


def date_time(value: Any) -> str:
    """xsd:dateTime in UTC with a Z suffix, whole seconds."""
    if isinstance(value, str):
        return value
    assert isinstance(value, datetime)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def clock_time(value: Any) -> str:
    """xsd:time, HH:MM:SS."""
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    return text(value)


@dataclass(frozen=True)
class Field:
    """One child element: its name and either a leaf formatter or the table of its own children."""

    name: str
    fmt: Formatter = text
    children: tuple["Field", ...] | None = None


Table = tuple[Field, ...]


def nested(name: str, children: Table) -> Field:
    """A complex child element."""
    return Field(name, children=children)


GEO: Table = (Field("Lat", coordinate), Field("Long", coordinate))

PORT_DATA: Table = (
    Field("portNumber"),
    Field("stationName"),
    nested("Geo", GEO),
    Field("Description"),
    Field("Reservable", integer),
    Field("Status"),
    Field("Level"),
    Field("timeStamp", date_time),
    Field("Mode"),
    Field("Connector"),
    Field("Voltage"),
    Field("Current"),
    Field("Power", kw),
    Field("estimatedCost", money),
)

PRICING_SPECIFICATION: Table = (
    Field("Type"),
    Field("startTime", clock_time),
    Field("endTime", clock_time),
    Field("minPrice", money),
    Field("maxPrice", money),
    Field("initialUnitPriceDuration", integer),
    Field("unitPricePerHour", money),
    Field("unitPricePerHourThereafter", money),
    Field("unitPricePerSession", money),
    Field("unitPricePerKWh", money),
    Field("sessionTime"),
)

GET_STATION_DATA: Table = (
    Field("stationID"),
    Field("stationManufacturer"),
    Field("stationModel"),
    Field("stationMacAddr"),
    Field("stationSerialNum"),
    Field("stationActivationDate", date_time),
    Field("Address"),
    Field("City"),
    Field("State"),
    Field("Country"),
    Field("postalCode"),
    nested("Port", PORT_DATA),
    nested("Pricing", PRICING_SPECIFICATION),
    Field("numPorts", integer),
    Field("driverName"),
    Field("driverAddress"),
    Field("driverEmail"),
    Field("driverPhoneNumber"),
    Field("lastModifiedDate", date_time),
    Field("mainPhone"),
    Field("modTimeStamp", date_time),
    Field("timezoneOffset"),
    Field("currencyCode"),
)

# stationDataExtended extends getStationData: base fields first, then the extension.
STATION_DATA_EXTENDED: Table = GET_STATION_DATA + (
    Field("orgID"),
    Field("organizationName"),
    Field("sgID"),
    Field("sgName"),
)

PORT_DATA_STATUS: Table = (
    Field("portNumber"),
    Field("Status"),
    Field("TimeStamp", date_time),
    Field("Connector"),
    Field("Power", kw),
)

O_STATUS_DATA: Table = (Field("stationID"), nested("Port", PORT_DATA_STATUS))

STATION_PORT_DATA: Table = (
    Field("portNumber"),
    Field("userID"),
    Field("credentialID"),
    Field("shedState", integer),
    Field("portLoad", kw),
    Field("allowedLoad", kw),
    Field("percentShed", integer),
)

STATION_LOAD_DATA: Table = (
    Field("stationID"),
    Field("stationName"),
    Field("Address"),
    Field("stationLoad", kw),
    nested("Port", STATION_PORT_DATA),
)

SHED_PORT: Table = (
    Field("portNumber"),
    Field("allowedLoadPerPort", kw),
    Field("percentShedPerPort", integer),
)

O_ALARMS: Table = (
    Field("stationID"),
    Field("stationName"),
    Field("stationModel"),
    Field("orgID"),
    Field("organizationName"),
    Field("stationManufacturer"),
    Field("stationSerialNum"),
    Field("portNumber"),
    Field("alarmType"),
    Field("alarmTime", date_time),
    Field("recordNumber", integer),
)

STATION_DATA_RIGHTS: Table = (
    Field("stationID"),
    Field("stationName"),
    Field("stationSerialNum"),
    Field("stationMacAddr"),
)

RIGHTS_DATA: Table = (
    Field("sgID"),
    Field("sgName"),
    Field("stationRightsProfile"),
    nested("stationData", STATION_DATA_RIGHTS),
)

SESSION_SEARCH_RESULT_DATA: Table = (
    Field("stationID"),
    Field("stationName"),
    Field("portNumber"),
    Field("Address"),
    Field("City"),
    Field("State"),
    Field("Country"),
    Field("postalCode"),
    Field("sessionID", integer),
    Field("Energy", kwh),
    Field("startTime", date_time),
    Field("endTime", date_time),
    Field("userID"),
    Field("recordNumber", integer),
    Field("credentialID"),
)

OCPN_INSTANCES: Table = (Field("cpnID"), Field("cpnName"), Field("cpnDescription"))

SG_DATA: Table = (Field("sgID", integer), Field("sgName"), Field("parentGroupID"))

OHOST_DATA: Table = (Field("orgID"), Field("organizationName"), nested("sgData", SG_DATA))

# Every response but getCPNInstancesResponse opens with these two.
STATUS_HEAD: Table = (Field("responseCode"), Field("responseText"))

RESPONSES: dict[str, Table] = {
    "getStations": STATUS_HEAD + (nested("stationData", STATION_DATA_EXTENDED), Field("moreFlag", integer)),
    "getStationStatus": STATUS_HEAD + (nested("stationData", O_STATUS_DATA), Field("moreFlag", integer)),
    "getLoad": STATUS_HEAD
    + (
        Field("sgID", integer),
        Field("numStations", integer),
        Field("groupName"),
        Field("sgLoad", kw),
        nested("stationData", STATION_LOAD_DATA),
    ),
    "shedLoad": STATUS_HEAD
    + (
        Field("Success", integer),
        Field("sgID", integer),
        Field("stationID"),
        Field("allowedLoadPerStation", kw),
        Field("percentShedPerStation", integer),
        nested("Ports", (nested("Port", SHED_PORT),)),
    ),
    "clearShedState": STATUS_HEAD + (Field("Success", integer), Field("sgID", integer), Field("stationID")),
    "getAlarms": STATUS_HEAD + (nested("Alarms", O_ALARMS), Field("moreFlag", integer)),
    "clearAlarms": STATUS_HEAD,
    "getStationRights": STATUS_HEAD + (nested("rightsData", RIGHTS_DATA), Field("moreFlag", integer)),
    "getChargingSessionData": STATUS_HEAD
    + (nested("ChargingSessionData", SESSION_SEARCH_RESULT_DATA), Field("MoreFlag", integer)),
    "getCPNInstances": (nested("CPN", OCPN_INSTANCES),),
    "getOrgsAndStationGroups": STATUS_HEAD + (nested("orgData", OHOST_DATA),),
    "createLoadShedEvent": STATUS_HEAD + (Field("eventId", integer),),
    "removeLoadShedEvent": STATUS_HEAD + (Field("response"),),
}
"""Operation name -> the field table of its ``<operation>Response`` wrapper."""
