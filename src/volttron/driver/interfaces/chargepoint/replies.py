"""Reading SOAP replies: the envelope, then each operation's records into the plain values of :mod:`.models`.

ElementTree reads answers instead of suds' unmarshaller: suds spends about 2 ms of CPU per station on a
getStations answer (schema lookups for every element), ElementTree an order of magnitude less, so batched answers
for hundreds of stations stay cheap. suds still builds every request from the WSDL.

An answer is parsed a few kilobytes at a time, each record read as soon as it is complete and then taken out of
the tree (see :class:`Records`), with pauses so that the call's timeout can fire and other greenlets run while a
large answer is read, and only after counting its markup: at most :data:`MAX_TAGS` tags,
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
from typing import Callable, Generic, Iterable, Iterator, NamedTuple, TypeVar
from xml.etree import ElementTree

import gevent

from .conversions import to_float, to_int
from .exceptions import MalformedResponse
from .models import (Alarm, GroupLoad, PortInfo, PortLoad, PortStatus, Pricing, RightsEntry, Session, StationInfo,
                     StationLoad)
from .redaction import Redactor

_log = logging.getLogger(__name__)

_SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_ENVELOPE, _BODY = f"{{{_SOAP_ENV}}}Envelope", f"{{{_SOAP_ENV}}}Body"
SERVICE_NS = "urn:dictionary:com.chargepoint.webservices"
# The largest answers (a 500-station getStations page, in the WSDL's full shape) hold about 70,000 tags and a handful
# of attributes.
MAX_TAGS = 200_000
MAX_ATTRIBUTES = 50_000
MAX_RUN = 1024 * 1024  # bytes from one "<" to the next: the longest text or tag (expat re-reads unfinished ones)
# Linear: each match attempt starts at a "<" and stops at the next one.
_LONG_RUN = re.compile(b"<[^<]{%d}" % MAX_RUN)
# Bytes parsed between two pauses: few first, so that common answers pause often, then doubling up to what
# parses in well under a tenth of a second. The largest is also the most fed at once within one long tag or text.
FIRST_CHUNK, LARGEST_CHUNK = 64 * 1024, 2 * 1024 * 1024
# Bytes fed at once, after which the records completed are read and taken out of the tree: few enough elements
# are alive at a time that they are freed before the collector promotes them.
SLICE = 4 * 1024
PACE = 200  # records read between two pauses

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
    """A reply's ``<operation>Response`` element, its records already read (see :class:`Records`), and what the cost
    model learns from the answer (answers carry thousands of elements: only their root holds these)."""

    __slots__ = ("records", "seconds", "paused", "size")

    def __init__(self, element: ElementTree.Element, records: list, paused: float, size: int) -> None:
        super().__init__(element)
        self.records = records
        self.seconds = 0.0  # what the call that brought it took (set by the client)
        self.paused = paused  # of which its parse spent letting other greenlets run
        self.size = size  # bytes of the answer


class Records(Generic[T]):
    """Which children of an operation's answer are its records, and what each one becomes.

    Each record is read as soon as the parser has completed it and then taken out of the tree, so that a page
    never holds its whole tree: its elements die young instead of reaching the collector's oldest generation, which
    every full collection of a platform with a thousand devices would walk again.
    """

    __slots__ = ("tags", "read")

    def __init__(self, name: str, read: Callable[[Node, Reported | None], T]) -> None:
        self.tags = (name, f"{{{SERVICE_NS}}}{name}")
        self.read = read


def read_reply(body: bytes, operation: str, redact: Redactor | None = None,
               reported: Reported | None = None) -> Reply:
    """The ``<operation>Response`` element of a reply with its records read; raises Fault for a SOAP fault,
    MalformedResponse else.

    ``redact`` masks the password in every text of the answer (a server may quote it back anywhere). An answer
    that is not XML at all raises ElementTree's ParseError, which the client translates.
    """
    if not body.strip():
        raise MalformedResponse(f"{operation}: empty answer")
    if redact is not None and not redact.may_be_in(body):
        redact = None
    envelope, paused, records = parse(body, operation, RECORDS.get(operation), reported, redact)
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
            return Reply(child, records, paused, len(body))
    raise MalformedResponse(f"{operation}: the answer has no {expected} element")


def parse(body: bytes, operation: str, records: Records[T] | None = None, reported: Reported | None = None,
          redact: Redactor | None = None) -> tuple[ElementTree.Element, float, list[T]]:
    """The document's root element, parsed slice by slice with pauses; the seconds those pauses took; and the
    ``records`` of the ``<operation>Response`` element, read as they complete. Markup beyond the caps is refused
    first."""
    _refuse_beyond_caps(body, operation)
    parser = ElementTree.XMLPullParser(("start", "end"))
    responses = (f"{operation}Response", f"{{{SERVICE_NS}}}{operation}Response")
    tags = records.tags if records is not None else ()
    outer: list[ElementTree.Element] = []  # the open elements above the response's children
    depth = 0
    root = response = None  # response: the envelope body's first <operation>Response
    inside = False  # within the response
    children = dropped = 0  # of the response: started, and records taken out
    found: list[T] = []
    paused, position, size, fed, pause_at = 0.0, 0, SLICE, 0, FIRST_CHUNK
    feeding = True
    while feeding:
        if position < len(body):
            parser.feed(body[position:position + size])
            position, fed = position + size, fed + size
        else:
            parser.close()
            feeding = False
        progressed = False
        for event, element in parser.read_events():
            progressed = True
            if event == "start":
                depth += 1
                if depth == 4 and inside:
                    children += 1
                elif depth <= 3:
                    outer.append(element)
                    if depth == 1:
                        root = element
                    elif depth == 3 and response is None and element.tag in responses \
                            and outer[0].tag == _ENVELOPE and outer[1].tag == _BODY:
                        response, inside = element, True
                continue
            depth -= 1
            if redact is not None and element.text:
                element.text = redact(element.text)
            if depth == 3:
                if inside and element.tag in tags:
                    found.append(records.read(Node(element), reported))  # type: ignore[union-attr]
                    # The builder appends each element as it starts: this one is the response's child number
                    # ``children`` of those started when its own start was read, less those taken out before it.
                    at = children - 1 - dropped
                    if at < len(response) and response[at] is element:  # type: ignore[arg-type,index]
                        del response[at]  # type: ignore[union-attr]
                        dropped += 1
                    else:
                        element.clear()
                    if len(found) % PACE == 0:
                        paused += pause()
            elif depth < 3:
                outer.pop()
                inside = False
        # Expat reads an unfinished tag or text again at every feed: within a long one, feed more at a time.
        size = SLICE if progressed else min(2 * size, LARGEST_CHUNK)
        if fed >= pause_at and position < len(body):
            paused += pause()
            fed, pause_at = 0, min(2 * pause_at, LARGEST_CHUNK)
    if root is None:  # close() raises first for a document without an element
        raise MalformedResponse(f"{operation}: the answer holds no element")
    return root, paused, found


def _refuse_beyond_caps(body: bytes, operation: str) -> None:
    # Every element needs a "<", every attribute a "=": counting them bounds what the tree could cost.
    tags, attributes = body.count(b"<"), body.count(b"=")
    if tags > MAX_TAGS:
        raise MalformedResponse(f"{operation}: the answer has more than {MAX_TAGS} tags; refused")
    if attributes > MAX_ATTRIBUTES:
        raise MalformedResponse(f"{operation}: the answer has more than {MAX_ATTRIBUTES} attributes; refused")
    if _LONG_RUN.search(body):
        raise MalformedResponse(f"{operation}: the answer has a text or tag longer than {MAX_RUN} bytes; refused")


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


def stations(values: Iterable[StationInfo | None]) -> list[StationInfo]:
    """getStations' records (see :data:`RECORDS`)."""
    return [info for info in values if info is not None]


def port_status(record: Node, reported: Reported | None = None) -> tuple[str, dict[int, PortStatus]] | None:
    """One stationData record of getStationStatus: its station and port status by port number."""
    station_id = record.text("stationID")
    if station_id is None:
        return None
    f = Fields(station_id, reported)
    return station_id, {number: PortStatus(number, port.text("Status"), f.datetime(port, "TimeStamp"))
                        for number, port in _ports(record, f)}


def port_statuses(values: Iterable[tuple[str, dict[int, PortStatus]] | None]) -> dict[str, dict[int, PortStatus]]:
    """getStationStatus' records: port status by station, then port number."""
    return dict(value for value in values if value is not None)


def station_load(record: Node, reported: Reported | None = None) -> tuple[str, StationLoad] | None:
    """One stationData record of getLoad: its station's kW and shed state."""
    station_id = record.text("stationID")
    if station_id is None:
        return None
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
    return station_id, StationLoad(station_id, f.float(record, "stationLoad"), ports)


def station_loads(reply: Reply) -> dict[str, StationLoad]:
    """A getLoad answer: kW and shed state by station."""
    return dict(value for value in reply.records if value is not None)


def group_load(reply: Reply) -> GroupLoad:
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


def _by_station(values: Iterable[Alarm | Session | None]) -> dict[str, list]:
    """The values listed under their station, in the order the API sent them."""
    result: dict[str, list] = {}
    for value in values:
        if value is not None:
            result.setdefault(value.station_id, []).append(value)
    return result


def alarm(record: Node, reported: Reported | None = None) -> Alarm | None:
    """One Alarms record of getAlarms."""
    station_id = record.text("stationID")
    if station_id is None:
        return None
    f = Fields(station_id, reported)
    return Alarm(station_id=station_id,
                 port_number=f.int(record, "portNumber") or None,  # empty: a station-wide alarm
                 alarm_type=record.text("alarmType"),
                 alarm_time=f.datetime(record, "alarmTime"),
                 record_number=f.int(record, "recordNumber"))


def alarms(values: Iterable[Alarm | None]) -> dict[str, list[Alarm]]:
    """getAlarms' records by station."""
    return _by_station(values)


class RightsBlock(NamedTuple):
    """One rightsData block of getStationRights: a group's rights profile and the stations it lists."""

    entry: RightsEntry
    station_ids: list[str]
    records: int  # (group, station) pairs: what the operation's paging counts


def rights_block(block: Node, reported: Reported | None = None) -> RightsBlock:
    """One rightsData block of getStationRights."""
    listed = block.all("stationData")
    station_ids = [station_id for station_id in (station.text("stationID") for station in listed) if station_id]
    return RightsBlock(RightsEntry(block.text("sgID"), block.text("sgName"), block.text("stationRightsProfile")),
                       station_ids, len(listed) or 1)


def station_rights(blocks: Iterable[RightsBlock]) -> dict[str, list[RightsEntry]]:
    """getStationRights' blocks (one per group, listing its stations) by station."""
    result: dict[str, list[RightsEntry]] = {}
    for block in blocks:
        for station_id in block.station_ids:
            result.setdefault(station_id, []).append(block.entry)
    return result


def session(record: Node, reported: Reported | None = None) -> Session | None:
    """One ChargingSessionData record of getChargingSessionData."""
    station_id = record.text("stationID")
    if station_id is None:
        return None
    f = Fields(station_id, reported)
    return Session(station_id=station_id,
                   port_number=f.int(record, "portNumber"),
                   session_id=record.text("sessionID"),
                   energy=f.float(record, "Energy"),
                   start_time=f.datetime(record, "startTime"),
                   end_time=f.datetime(record, "endTime"),
                   user_id=record.text("userID"),
                   credential_id=record.text("credentialID"))


def sessions(values: Iterable[Session | None]) -> dict[str, list[Session]]:
    """getChargingSessionData's records by station."""
    return _by_station(values)


# The records each operation's answer lists, read while it is parsed (:class:`Records`).
RECORDS: dict[str, Records] = {
    "getStations": Records("stationData", station_info),
    "getStationStatus": Records("stationData", port_status),
    "getLoad": Records("stationData", station_load),
    "getAlarms": Records("Alarms", alarm),
    "getStationRights": Records("rightsData", rights_block),
    "getChargingSessionData": Records("ChargingSessionData", session),
}


def cpn_instances(reply: Node) -> list[dict[str, str | None]]:
    """getCPNInstances' networks."""
    return [{"cpnID": c.text("cpnID"), "cpnName": c.text("cpnName"), "cpnDescription": c.text("cpnDescription")}
            for c in reply.all("CPN")]
