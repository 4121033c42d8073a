"""Reading SOAP replies: the envelope, then each operation's records into the plain values of :mod:`.models`.

ElementTree reads answers instead of suds' unmarshaller: suds spends about 2 ms of CPU per station on a
getStations answer (schema lookups for every element), ElementTree an order of magnitude less, so batched answers
for hundreds of stations stay cheap. suds still builds every request from the WSDL.

An answer is parsed in chunks with a pause between them, so that the call's timeout can fire and other greenlets
run while a large answer is read, and only after counting its markup: at most :data:`MAX_TAGS` tags,
:data:`MAX_ATTRIBUTES` attributes and no text or tag longer than :data:`MAX_RUN` bytes, which with the transport's
byte cap bounds the time and memory one answer can cost.
Children count only in no namespace or the service's namespace, so an element of another namespace with a known
local name cannot stand in for the real one. A field the answer leaves out or leaves empty reads None, and so does
one that does not parse as its type (NaN, infinity, an overflow, garbage), which is logged once per station and
field; a record without the key it is filed under (a station ID, a port number) is skipped.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator, TypeVar
from xml.etree import ElementTree

import gevent

from .conversions import to_float, to_int
from .exceptions import MalformedResponse
from .models import (Alarm, GroupLoad, PortInfo, PortLoad, PortStatus, Pricing, RightsEntry, Session, StationInfo,
                     StationLoad)
from .redaction import Redactor

_log = logging.getLogger(__name__)

_SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SERVICE_NS = "urn:dictionary:com.chargepoint.webservices"
# The largest answers (a 500-station getStations page, in the WSDL's full shape) hold about 70,000 tags and a handful
# of attributes.
MAX_TAGS = 200_000
MAX_ATTRIBUTES = 50_000
MAX_RUN = 1024 * 1024  # bytes from one "<" to the next: the longest text or tag (expat re-reads unfinished ones)
# Linear: each match attempt starts at a "<" and stops at the next one.
_LONG_RUN = re.compile(b"<[^<]{%d}" % MAX_RUN)
# Bytes fed to the parser at once: small first, so that common answers pause often, then doubling up to a size
# that one feed parses in well under a tenth of a second.
FIRST_CHUNK, LARGEST_CHUNK = 64 * 1024, 2 * 1024 * 1024
PACE = 200  # records mapped between two pauses

T = TypeVar("T")


def pause() -> float:
    """Let other greenlets, and a pending timeout, run: a whole turn of the event loop (``sleep(0)`` is not one).

    Returns the seconds it took: with many devices polling, the turn can last far longer than the parse itself.
    """
    started = time.monotonic()
    gevent.sleep(0.001)
    return time.monotonic() - started


class Node:
    """A read-only view of one reply element."""

    __slots__ = ("element",)

    def __init__(self, element: ElementTree.Element) -> None:
        self.element = element

    def _child(self, name: str) -> ElementTree.Element | None:
        child = self.element.find(name)
        return self.element.find(f"{{{SERVICE_NS}}}{name}") if child is None else child

    def text(self, name: str) -> str | None:
        """Stripped text of the first child called ``name``; None when absent or empty."""
        child = self._child(name)
        if child is None or child.text is None:
            return None
        return child.text.strip() or None

    def first(self, name: str) -> "Node | None":
        child = self._child(name)
        return None if child is None else Node(child)

    def all(self, name: str) -> list["Node"]:
        names = (name, f"{{{SERVICE_NS}}}{name}")
        return [Node(child) for child in self.element if child.tag in names]

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


class Reply(Node):
    """A reply's ``<operation>Response`` element, with what the cost model learns from the answer (answers carry
    thousands of elements: only their root holds these)."""

    __slots__ = ("seconds", "paused", "size")

    def __init__(self, element: ElementTree.Element, paused: float, size: int) -> None:
        super().__init__(element)
        self.seconds = 0.0  # what the call that brought it took (set by the client)
        self.paused = paused  # of which its parse spent letting other greenlets run
        self.size = size  # bytes of the answer


def read_reply(body: bytes, operation: str, redact: Redactor | None = None) -> Reply:
    """The ``<operation>Response`` element of a reply; raises Fault for a SOAP fault, MalformedResponse else.

    ``redact`` masks the password in every text of the answer (a server may quote it back anywhere). An answer
    that is not XML at all raises ElementTree's ParseError, which the client translates.
    """
    if not body.strip():
        raise MalformedResponse(f"{operation}: empty answer")
    envelope, paused = parse(body, operation)
    if redact is not None and redact.may_be_in(body):
        for element in envelope.iter():
            if element.text:
                element.text = redact(element.text)
    soap_body = envelope.find(f"{{{_SOAP_ENV}}}Body")
    if envelope.tag != f"{{{_SOAP_ENV}}}Envelope" or soap_body is None:
        raise MalformedResponse(f"{operation}: the answer is not a SOAP 1.1 envelope")
    fault = soap_body.find(f"{{{_SOAP_ENV}}}Fault")
    if fault is not None:
        node = Node(fault)
        raise Fault(node.text("faultcode"), node.text("faultstring"))
    expected = f"{operation}Response"
    for child in soap_body:
        if child.tag in (expected, f"{{{SERVICE_NS}}}{expected}"):
            return Reply(child, paused, len(body))
    raise MalformedResponse(f"{operation}: the answer has no {expected} element")


def parse(body: bytes, operation: str) -> tuple[ElementTree.Element, float]:
    """The document's root element, parsed chunk by chunk with pauses, and the seconds those pauses took; markup
    beyond the caps is refused first."""
    # Every element needs a "<", every attribute a "=": counting them bounds what the tree could cost.
    tags, attributes = body.count(b"<"), body.count(b"=")
    if tags > MAX_TAGS:
        raise MalformedResponse(f"{operation}: the answer has more than {MAX_TAGS} tags; refused")
    if attributes > MAX_ATTRIBUTES:
        raise MalformedResponse(f"{operation}: the answer has more than {MAX_ATTRIBUTES} attributes; refused")
    if _LONG_RUN.search(body):
        raise MalformedResponse(f"{operation}: the answer has a text or tag longer than {MAX_RUN} bytes; refused")
    parser = ElementTree.XMLParser()
    start, size, paused = 0, FIRST_CHUNK, 0.0
    while True:
        parser.feed(body[start:start + size])
        start, size = start + size, min(2 * size, LARGEST_CHUNK)
        if start >= len(body):
            return parser.close(), paused
        paused += pause()


def paced(items: Iterable[T]) -> Iterator[T]:
    """The items, with a pause every :data:`PACE` of them (mapping thousands of records takes a while)."""
    for count, item in enumerate(items, start=1):
        if count % PACE == 0:
            pause()
        yield item


# -- field values --------------------------------------------------------------------------------------------------

_INT_LIMIT = 2 ** 63  # the API's integers are xsd:int or xsd:long


def as_float(value: str | None) -> float | None:
    """A finite decimal number, else None (NaN, infinity and overflows are not values)."""
    try:
        return None if value is None else to_float(value)
    except ValueError:
        return None


def as_int(value: str | None) -> int | None:
    """A whole number within 64 bits (``2`` or ``2.0``), else None."""
    if value is None or len(value) > 40:
        return None
    try:
        number = to_int(value)
    except ValueError:
        real = as_float(value)
        if real is None or not real.is_integer():
            return None
        number = int(real)
    return number if -_INT_LIMIT <= number < _INT_LIMIT else None


def as_bool(value: str | None) -> bool | None:
    """``1``/``true`` or ``0``/``false`` (any case), else None."""
    lowered = None if value is None else value.lower()
    return True if lowered in ("1", "true") else False if lowered in ("0", "false") else None


def as_datetime(value: str | None) -> datetime | None:
    """An ISO-8601 timestamp (UTC when it names no zone), else None."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


class Reported:
    """(station, field) pairs already logged as unreadable (one per client); bounded, so that a hostile answer
    cannot grow it forever."""

    LIMIT = 10_000

    def __init__(self) -> None:
        self._seen: set[tuple[str, str]] = set()

    def first_time(self, key: tuple[str, str]) -> bool:
        if key in self._seen:
            return False
        if len(self._seen) >= self.LIMIT:
            self._seen.clear()
        self._seen.add(key)
        return True


_reported = Reported()  # for callers that keep no record of their own


class Fields:
    """Typed reads of one station's fields: a value that does not parse reads None and is logged once."""

    __slots__ = ("station", "reported")

    def __init__(self, station: str, reported: Reported | None = None) -> None:
        self.station = station
        self.reported = reported or _reported

    def float(self, node: Node | None, name: str) -> float | None:
        return self._typed(node, name, as_float, "number")

    def int(self, node: Node | None, name: str) -> int | None:
        return self._typed(node, name, as_int, "whole number")

    def bool(self, node: Node | None, name: str) -> bool | None:
        return self._typed(node, name, as_bool, "boolean (0/1/true/false)")

    def datetime(self, node: Node | None, name: str) -> datetime | None:
        return self._typed(node, name, as_datetime, "ISO-8601 timestamp")

    def _typed(self, node: Node | None, name: str, parse: Callable[[str], T | None], kind: str) -> T | None:
        text = None if node is None else node.text(name)
        if text is None:
            return None
        value = parse(text)
        if value is None and self.reported.first_time((self.station, name)):
            shown = repr(text if len(text) <= 40 else text[:40] + "...")
            _log.warning("station %s: %s %s is not a %s; it reads None (said once per station and field)",
                         self.station, name, shown, kind)
        return value


# -- records -------------------------------------------------------------------------------------------------------

def _ports(record: Node, fields: Fields) -> Iterator[tuple[int, Node]]:
    """The record's Port elements with their port numbers (ports without a number cannot be addressed)."""
    for port in record.all("Port"):
        number = fields.int(port, "portNumber")
        if number is not None:
            yield number, port


def _by_station(records: Iterable[Node]) -> Iterator[tuple[str, Node]]:
    for record in paced(records):
        station_id = record.text("stationID")
        if station_id is not None:
            yield station_id, record


def station_info(record: Node, reported: Reported | None = None) -> StationInfo | None:
    """One stationDataExtended record of getStations; None without a stationID."""
    station_id = record.text("stationID")
    if station_id is None:
        return None
    f = Fields(station_id, reported)
    ports = {}
    for number, port in _ports(record, f):
        geo = port.first("Geo")
        ports[number] = PortInfo(
            port_number=number,
            station_name=port.text("stationName"),
            lat=f.float(geo, "Lat"),
            long=f.float(geo, "Long"),
            description=port.text("Description"),
            reservable=f.bool(port, "Reservable"),
            status=port.text("Status"),
            level=port.text("Level"),
            mode=f.int(port, "Mode"),
            connector=port.text("Connector"),
            voltage=f.float(port, "Voltage"),
            current=f.float(port, "Current"),
            power=f.float(port, "Power"),
        )
    pricing = tuple(
        Pricing(
            type=p.text("Type"),
            start_time=p.text("startTime"),
            end_time=p.text("endTime"),
            min_price=f.float(p, "minPrice"),
            max_price=f.float(p, "maxPrice"),
            initial_unit_price_duration=f.int(p, "initialUnitPriceDuration"),
            unit_price_per_hour=f.float(p, "unitPricePerHour"),
            unit_price_per_hour_thereafter=f.float(p, "unitPricePerHourThereafter"),
            unit_price_per_session=f.float(p, "unitPricePerSession"),
            unit_price_per_kwh=f.float(p, "unitPricePerKWh"),
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
        num_ports=f.int(record, "numPorts"),
        main_phone=record.text("mainPhone"),
        currency_code=record.text("currencyCode"),
        org_id=record.text("orgID"),
        organization_name=record.text("organizationName"),
        sg_id=record.text("sgID"),
        sg_name=record.text("sgName"),
    )


def stations(records: Iterable[Node], reported: Reported | None = None) -> list[StationInfo]:
    """getStations' stationData records."""
    return [info for info in (station_info(r, reported) for r in paced(records)) if info is not None]


def _port_status(station_id: str, record: Node, reported: Reported | None) -> dict[int, PortStatus]:
    f = Fields(station_id, reported)
    return {number: PortStatus(number, port.text("Status"), f.datetime(port, "TimeStamp"))
            for number, port in _ports(record, f)}


def port_statuses(records: Iterable[Node], reported: Reported | None = None) -> dict[str, dict[int, PortStatus]]:
    """getStationStatus' stationData records: port status by station, then port number."""
    return {station_id: _port_status(station_id, record, reported) for station_id, record in _by_station(records)}


def _station_load(station_id: str, record: Node, reported: Reported | None) -> StationLoad:
    f = Fields(station_id, reported)
    ports = {number: PortLoad(
                port_number=number,
                port_load=f.float(port, "portLoad"),
                allowed_load=f.float(port, "allowedLoad"),
                percent_shed=f.float(port, "percentShed"),
                shed_state=f.int(port, "shedState"),
                user_id=port.text("userID"),
                credential_id=port.text("credentialID"),
             ) for number, port in _ports(record, f)}
    return StationLoad(station_id, f.float(record, "stationLoad"), ports)


def station_loads(reply: Node, reported: Reported | None = None) -> dict[str, StationLoad]:
    """A getLoad answer: kW and shed state by station."""
    return {station_id: _station_load(station_id, record, reported)
            for station_id, record in _by_station(reply.all("stationData"))}


def group_load(reply: Node, reported: Reported | None = None) -> GroupLoad:
    """A getLoad answer for a station group: the group's fields, and each member station's load."""
    return GroupLoad(sg_id=as_int(reply.text("sgID")), group_name=reply.text("groupName"),
                     num_stations=as_int(reply.text("numStations")), sg_load=as_float(reply.text("sgLoad")),
                     stations=station_loads(reply, reported))


def event_id(reply: Node) -> int:
    """createLoadShedEvent's eventId; an answer without one is unusable (the event could not be cancelled)."""
    found = as_int(reply.text("eventId"))
    if found is None:
        raise MalformedResponse(f"createLoadShedEvent: the answer has no usable eventId "
                                f"({reply.text('eventId')!r}); the event may have been created")
    return found


def _grouped(records: Iterable[Node], make: Callable[[str, Node, Reported | None], T],
             reported: Reported | None) -> dict[str, list[T]]:
    """One value per record, listed under the record's station in the order the API sent them."""
    result: dict[str, list[T]] = {}
    for station_id, record in _by_station(records):
        result.setdefault(station_id, []).append(make(station_id, record, reported))
    return result


def _alarm(station_id: str, record: Node, reported: Reported | None) -> Alarm:
    f = Fields(station_id, reported)
    return Alarm(station_id=station_id,
                 port_number=f.int(record, "portNumber") or None,  # empty: a station-wide alarm
                 alarm_type=record.text("alarmType"),
                 alarm_time=f.datetime(record, "alarmTime"),
                 record_number=f.int(record, "recordNumber"))


def alarms(records: Iterable[Node], reported: Reported | None = None) -> dict[str, list[Alarm]]:
    """getAlarms' Alarms records by station."""
    return _grouped(records, _alarm, reported)


def rights_records(block: Node) -> int:
    """How many (group, station) records a rightsData block holds: what getStationRights' paging counts."""
    return len(block.all("stationData")) or 1


def station_rights(blocks: Iterable[Node]) -> dict[str, list[RightsEntry]]:
    """getStationRights' rightsData blocks (one per group, listing its stations) by station."""
    result: dict[str, list[RightsEntry]] = {}
    for block in paced(blocks):
        entry = RightsEntry(block.text("sgID"), block.text("sgName"), block.text("stationRightsProfile"))
        for station_id, _station in _by_station(block.all("stationData")):
            result.setdefault(station_id, []).append(entry)
    return result


def _session(station_id: str, record: Node, reported: Reported | None) -> Session:
    f = Fields(station_id, reported)
    return Session(station_id=station_id,
                   port_number=f.int(record, "portNumber"),
                   session_id=record.text("sessionID"),
                   energy=f.float(record, "Energy"),
                   start_time=f.datetime(record, "startTime"),
                   end_time=f.datetime(record, "endTime"),
                   user_id=record.text("userID"),
                   credential_id=record.text("credentialID"))


def sessions(records: Iterable[Node], reported: Reported | None = None) -> dict[str, list[Session]]:
    """getChargingSessionData's records by station."""
    return _grouped(records, _session, reported)


def cpn_instances(reply: Node) -> list[dict[str, str | None]]:
    """getCPNInstances' networks."""
    return [{"cpnID": c.text("cpnID"), "cpnName": c.text("cpnName"), "cpnDescription": c.text("cpnDescription")}
            for c in reply.all("CPN")]
