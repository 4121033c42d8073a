"""Reading SOAP replies: the envelope, then each operation's records into the plain values of :mod:`.models`.

ElementTree reads answers instead of suds' unmarshaller: suds spends about 2 ms of CPU per station on a
getStations answer (schema lookups for every element), ElementTree an order of magnitude less, so batched answers
for hundreds of stations stay cheap. suds still builds every request from the WSDL. Children are matched by local
name, so both the real API's unqualified children and qualified ones are read. A field the answer leaves out or
leaves empty reads None, and a record without the key it is filed under (a station ID, a port number) is skipped.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator, TypeVar
from xml.etree import ElementTree

from .exceptions import MalformedResponse
from .models import (Alarm, GroupLoad, PortInfo, PortLoad, PortStatus, Pricing, RightsEntry, Session, StationInfo,
                     StationLoad)

_SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"

T = TypeVar("T")


class Node:
    """A read-only view of one reply element."""

    __slots__ = ("element",)

    def __init__(self, element: ElementTree.Element) -> None:
        self.element = element

    def text(self, name: str) -> str | None:
        """Stripped text of the first child called ``name``; None when absent or empty."""
        child = self.element.find(f"{{*}}{name}")
        if child is None or child.text is None:
            return None
        return child.text.strip() or None

    def first(self, name: str) -> "Node | None":
        child = self.element.find(f"{{*}}{name}")
        return None if child is None else Node(child)

    def all(self, name: str) -> list["Node"]:
        return [Node(child) for child in self.element.iterfind(f"{{*}}{name}")]

    def __iter__(self) -> Iterator["Node"]:
        return (Node(child) for child in self.element)

    @property
    def name(self) -> str:
        return self.element.tag.rsplit("}", 1)[-1]


class Fault(Exception):
    """A SOAP fault found in a reply (turned into SoapFault/AuthError by the client)."""

    def __init__(self, faultcode: str | None, faultstring: str | None) -> None:
        super().__init__(faultcode, faultstring)
        self.faultcode = faultcode
        self.faultstring = faultstring


def read_reply(body: bytes, operation: str) -> Node:
    """The ``<operation>Response`` element of a reply; raises Fault for a SOAP fault, MalformedResponse else.

    An answer that is not XML at all raises ElementTree's ParseError, which the client translates.
    """
    if not body.strip():
        raise MalformedResponse(f"{operation}: empty answer")
    envelope = ElementTree.fromstring(body)
    soap_body = envelope.find(f"{{{_SOAP_ENV}}}Body")
    if envelope.tag != f"{{{_SOAP_ENV}}}Envelope" or soap_body is None:
        raise MalformedResponse(f"{operation}: the answer is not a SOAP 1.1 envelope")
    fault = soap_body.find(f"{{{_SOAP_ENV}}}Fault")
    if fault is not None:
        node = Node(fault)
        raise Fault(node.text("faultcode"), node.text("faultstring"))
    expected = f"{operation}Response"
    for child in soap_body:
        if child.tag.rsplit("}", 1)[-1] == expected:
            return Node(child)
    raise MalformedResponse(f"{operation}: the answer has no {expected} element")


# -- field values --------------------------------------------------------------------------------------------------

def as_float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def as_int(value: str | None) -> int | None:
    number = as_float(value)
    return None if number is None or number != int(number) else int(number)


def as_bool(value: str | None) -> bool | None:
    return None if value is None else value.lower() in ("1", "true")


def as_datetime(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


# -- records -------------------------------------------------------------------------------------------------------

def _ports(record: Node) -> Iterator[tuple[int, Node]]:
    """The record's Port elements with their port numbers (ports without a number cannot be addressed)."""
    for port in record.all("Port"):
        number = as_int(port.text("portNumber"))
        if number is not None:
            yield number, port


def _by_station(records: Iterable[Node]) -> Iterator[tuple[str, Node]]:
    for record in records:
        station_id = record.text("stationID")
        if station_id is not None:
            yield station_id, record


def station_info(record: Node) -> StationInfo | None:
    """One stationDataExtended record of getStations; None without a stationID."""
    station_id = record.text("stationID")
    if station_id is None:
        return None
    ports = {}
    for number, port in _ports(record):
        geo = port.first("Geo")
        ports[number] = PortInfo(
            port_number=number,
            station_name=port.text("stationName"),
            lat=as_float(geo.text("Lat")) if geo else None,
            long=as_float(geo.text("Long")) if geo else None,
            description=port.text("Description"),
            reservable=as_bool(port.text("Reservable")),
            status=port.text("Status"),
            level=port.text("Level"),
            mode=as_int(port.text("Mode")),
            connector=port.text("Connector"),
            voltage=as_float(port.text("Voltage")),
            current=as_float(port.text("Current")),
            power=as_float(port.text("Power")),
        )
    pricing = tuple(
        Pricing(
            type=p.text("Type"),
            start_time=p.text("startTime"),
            end_time=p.text("endTime"),
            min_price=as_float(p.text("minPrice")),
            max_price=as_float(p.text("maxPrice")),
            initial_unit_price_duration=as_int(p.text("initialUnitPriceDuration")),
            unit_price_per_hour=as_float(p.text("unitPricePerHour")),
            unit_price_per_hour_thereafter=as_float(p.text("unitPricePerHourThereafter")),
            unit_price_per_session=as_float(p.text("unitPricePerSession")),
            unit_price_per_kwh=as_float(p.text("unitPricePerKWh")),
            session_time=p.text("sessionTime"),
        )
        for p in record.all("Pricing")
    )
    return StationInfo(
        station_id=station_id,
        manufacturer=record.text("stationManufacturer"),
        model=record.text("stationModel"),
        mac_addr=record.text("stationMacAddr"),
        serial_num=record.text("stationSerialNum"),
        address=record.text("Address"),
        city=record.text("City"),
        state=record.text("State"),
        country=record.text("Country"),
        postal_code=record.text("postalCode"),
        ports=ports,
        pricing=pricing,
        num_ports=as_int(record.text("numPorts")),
        main_phone=record.text("mainPhone"),
        currency_code=record.text("currencyCode"),
        org_id=record.text("orgID"),
        organization_name=record.text("organizationName"),
        sg_id=record.text("sgID"),
        sg_name=record.text("sgName"),
    )


def stations(records: Iterable[Node]) -> list[StationInfo]:
    """getStations' stationData records."""
    return [info for info in map(station_info, records) if info is not None]


def port_statuses(records: Iterable[Node]) -> dict[str, dict[int, PortStatus]]:
    """getStationStatus' stationData records: port status by station, then port number."""
    return {station_id: {number: PortStatus(number, port.text("Status"), as_datetime(port.text("TimeStamp")))
                         for number, port in _ports(record)}
            for station_id, record in _by_station(records)}


def station_loads(reply: Node) -> dict[str, StationLoad]:
    """A getLoad answer: kW and shed state by station."""
    result: dict[str, StationLoad] = {}
    for station_id, record in _by_station(reply.all("stationData")):
        ports = {number: PortLoad(
                    port_number=number,
                    port_load=as_float(port.text("portLoad")),
                    allowed_load=as_float(port.text("allowedLoad")),
                    percent_shed=as_float(port.text("percentShed")),
                    shed_state=as_int(port.text("shedState")),
                    user_id=port.text("userID"),
                    credential_id=port.text("credentialID"),
                 ) for number, port in _ports(record)}
        result[station_id] = StationLoad(station_id, as_float(record.text("stationLoad")), ports)
    return result


def group_load(reply: Node) -> GroupLoad:
    """A getLoad answer for a station group: the group's fields, and each member station's load."""
    return GroupLoad(sg_id=as_int(reply.text("sgID")), group_name=reply.text("groupName"),
                     num_stations=as_int(reply.text("numStations")), sg_load=as_float(reply.text("sgLoad")),
                     stations=station_loads(reply))


def event_id(reply: Node) -> int:
    """createLoadShedEvent's eventId; an answer without one is unusable (the event could not be cancelled)."""
    found = as_int(reply.text("eventId"))
    if found is None:
        raise MalformedResponse(f"createLoadShedEvent: the answer has no usable eventId "
                                f"({reply.text('eventId')!r}); the event may have been created")
    return found


def _grouped(records: Iterable[Node], make: Callable[[str, Node], T]) -> dict[str, list[T]]:
    """One value per record, listed under the record's station in the order the API sent them."""
    result: dict[str, list[T]] = {}
    for station_id, record in _by_station(records):
        result.setdefault(station_id, []).append(make(station_id, record))
    return result


def _alarm(station_id: str, record: Node) -> Alarm:
    return Alarm(station_id=station_id,
                 port_number=as_int(record.text("portNumber")) or None,  # empty: a station-wide alarm
                 alarm_type=record.text("alarmType"),
                 alarm_time=as_datetime(record.text("alarmTime")),
                 record_number=as_int(record.text("recordNumber")))


def alarms(records: Iterable[Node]) -> dict[str, list[Alarm]]:
    """getAlarms' Alarms records by station."""
    return _grouped(records, _alarm)


def rights_records(block: Node) -> int:
    """How many (group, station) records a rightsData block holds: what getStationRights' paging counts."""
    return len(block.all("stationData")) or 1


def station_rights(blocks: Iterable[Node]) -> dict[str, list[RightsEntry]]:
    """getStationRights' rightsData blocks (one per group, listing its stations) by station."""
    result: dict[str, list[RightsEntry]] = {}
    for block in blocks:
        entry = RightsEntry(block.text("sgID"), block.text("sgName"), block.text("stationRightsProfile"))
        for station_id, _station in _by_station(block.all("stationData")):
            result.setdefault(station_id, []).append(entry)
    return result


def _session(station_id: str, record: Node) -> Session:
    return Session(station_id=station_id,
                   port_number=as_int(record.text("portNumber")),
                   session_id=record.text("sessionID"),
                   energy=as_float(record.text("Energy")),
                   start_time=as_datetime(record.text("startTime")),
                   end_time=as_datetime(record.text("endTime")),
                   user_id=record.text("userID"),
                   credential_id=record.text("credentialID"))


def sessions(records: Iterable[Node]) -> dict[str, list[Session]]:
    """getChargingSessionData's records by station."""
    return _grouped(records, _session)


def cpn_instances(reply: Node) -> list[dict[str, str | None]]:
    """getCPNInstances' networks."""
    return [{"cpnID": c.text("cpnID"), "cpnName": c.text("cpnName"), "cpnDescription": c.text("cpnDescription")}
            for c in reply.all("CPN")]
