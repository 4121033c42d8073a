"""The ChargePoint Web Services 5.0 client: one method per SOAP operation the driver uses.

Every call goes through :meth:`ChargePointClient.call`, the one place where transport, SOAP and timeout failures
become this package's exceptions; every public method turns the reply into the plain values of :mod:`.models`.
suds builds requests from the WSDL, which is parsed once per process and location and shared by all clients.
"""

from __future__ import annotations

import http.client
import logging
import socket
from gevent.lock import BoundedSemaphore, RLock
import urllib.error
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import gevent
import suds
import suds.cache
import suds.client
import suds.options
from suds.transport import Request, TransportError as SudsTransportError

from .exceptions import (ApiError, ApiTimeout, AuthError, ChargePointError, MalformedResponse, SoapFault,
                         TransportError)
from .models import (Alarm, PortInfo, PortLoad, PortStatus, Pricing, RightsEntry, Session, StationInfo,
                     StationLoad)
from .replies import Fault, Node, read_reply
from .transport import DEFAULT_MAX_RESPONSE_BYTES, BoundedTransport, Credentials

_log = logging.getLogger(__name__)

BUNDLED_WSDL = Path(__file__).with_name("cp_api_5.0.wsdl")
PRODUCTION_ENDPOINT = "https://webservices.chargepoint.com/webservices/chargepoint/services/5.0"

SUCCESS = 100
NO_DATA = 102
NO_SESSIONS = 136
NO_ALARMS = 153
STATIONS_PAGE = 500
ALARMS_PAGE = 500
MAX_PAGES = 1000
MAX_CONCURRENT_CALLS = 8  # API calls one client has under way at once

_prototypes: dict[str, suds.client.Client] = {}
_prototypes_lock = RLock()  # guards the two dicts, never held during a download
_prototype_locks: dict[str, RLock] = {}  # one per WSDL URL: a download that hangs holds up only its own URL


def wsdl_url(location: str | Path | None) -> str:
    """Accept a URL or a file path; None means the WSDL bundled with this package."""
    if location is None or location == "":
        return BUNDLED_WSDL.resolve().as_uri()
    text = str(location)
    if "://" in text:
        return text
    return Path(text).expanduser().resolve().as_uri()


def _prototype(url: str, timeout: float, ca_file: str | None) -> suds.client.Client:
    # Parsing the WSDL costs tens of milliseconds and, for a URL, a download: do it once per process.
    with _prototypes_lock:
        client = _prototypes.get(url)
        if client is not None:
            return client
        lock = _prototype_locks.setdefault(url, RLock())
    with lock:
        client = _prototypes.get(url)
        if client is None:
            _quiet_suds_envelope_logging()
            transport = BoundedTransport(None, timeout, ca_file=ca_file)
            try:
                # The socket timeout bounds each read; this bounds a server that trickles the document.
                with gevent.Timeout(timeout + 1.0, TransportError(f"cannot load the WSDL from {url}: no complete "
                                                                  f"answer within {timeout:g} s")):
                    client = suds.client.Client(url, transport=transport, cache=suds.cache.NoCache(), faults=True)
            except ChargePointError:
                raise
            except (urllib.error.URLError, OSError, socket.timeout) as exc:
                raise TransportError(f"cannot load the WSDL from {url}: {exc}") from exc
            except Exception as exc:  # suds raises assorted errors for unusable WSDL documents
                raise MalformedResponse(f"cannot use the WSDL at {url}: {exc}") from exc
            _prototypes[url] = client
        return client


def _share(prototype: suds.client.Client, **options: Any) -> suds.client.Client:
    """A client with its own options (transport, endpoint) over the prototype's parsed WSDL.

    suds' own ``Client.clone`` deep-copies the options and recurses forever on Python 3.11, so build the clone
    the way suds does, minus the copy.
    """
    clone = object.__new__(suds.client.Client)
    clone.options = suds.options.Options()
    clone.set_options(cache=suds.cache.NoCache(), **options)
    clone.wsdl = prototype.wsdl
    clone.factory = prototype.factory
    clone.service = suds.client.ServiceSelector(clone, prototype.wsdl.services)
    clone.sd = prototype.sd
    clone.messages = dict(tx=None, rx=None)
    return clone


def _quiet_suds_envelope_logging() -> None:
    # suds would log every envelope at DEBUG when the root logger is at DEBUG; ours are already logged by the
    # transport. Only raise the level when nobody configured the suds logger explicitly.
    suds_logger = logging.getLogger("suds")
    if suds_logger.level == logging.NOTSET:
        suds_logger.setLevel(logging.INFO)


class ChargePointClient:
    """A client for one API account (username/password), safe to share between greenlets."""

    def __init__(self, username: str, password: str, *, wsdl: str | Path | None = None,
                 endpoint: str | None = None, timeout: float = 10.0, ca_file: str | None = None,
                 max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
                 max_concurrent_calls: int = MAX_CONCURRENT_CALLS) -> None:
        self.username = username
        self.timeout = float(timeout)
        self.wsdl = wsdl_url(wsdl)
        credentials = Credentials(username, password)
        self._credentials = credentials
        self._transport = BoundedTransport(credentials, self.timeout, max_response_bytes, ca_file)
        options: dict[str, Any] = {"transport": self._transport, "timeout": self.timeout}
        if endpoint is None and self.wsdl == BUNDLED_WSDL.resolve().as_uri():
            endpoint = PRODUCTION_ENDPOINT
        if endpoint:
            options["location"] = endpoint
        # Polls of many devices must not open hundreds of connections to the API at once.
        self._slots = BoundedSemaphore(max_concurrent_calls)
        options["nosend"] = True
        prototype = _prototype(self.wsdl, self.timeout, ca_file)
        self._suds = _share(prototype, **options)
        port = prototype.wsdl.services[0].ports[0]
        self.endpoint = endpoint or port.location
        self._actions = {name: method.soap.action.strip('"') for name, method in port.methods.items()}

    @property
    def username_hint(self) -> str:
        """The username (an API license key) shortened for logs: enough to tell accounts apart."""
        return f"{self.username[:4]}…" if len(self.username) > 8 else "user…"

    def __repr__(self) -> str:
        return f"ChargePointClient(username={self.username_hint!r}, endpoint={self.endpoint!r})"

    # -- the one chokepoint ------------------------------------------------------------------------------------

    def call(self, operation: str, **arguments: Any) -> Node:
        """Invoke one SOAP operation within the timeout; API failures come back as our exceptions.

        suds only builds the request envelope; the transport sends it and :mod:`.replies` reads the answer.
        """
        try:
            with gevent.Timeout(self.timeout + 1.0, ApiTimeout(f"{operation}: no answer within {self.timeout:g} s")), \
                    self._slots:
                envelope = getattr(self._suds.service, operation)(**arguments).envelope
                request = Request(self.endpoint, envelope)
                request.headers = {"Content-Type": "text/xml; charset=utf-8",
                                   "SOAPAction": f'"{self._actions[operation]}"'}
                try:
                    body = self._transport.send(request).message
                except SudsTransportError as exc:
                    body = exc.fp.read() if exc.fp is not None else b""
                    if exc.httpcode != 500 or not body.strip():
                        raise TransportError(f"{operation}: HTTP {exc.httpcode} {exc}") from None
                    try:
                        return read_reply(body, operation)  # the API sends its SOAP faults with HTTP 500
                    except MalformedResponse:
                        # A proxy's or server's own error page: say what happened, not that XML was bad.
                        raise TransportError(f"{operation}: HTTP 500 {exc} (the answer is not a SOAP fault)") \
                            from None
                return read_reply(body, operation)
        except ChargePointError:
            raise
        except Fault as fault:
            code = fault.faultcode or ""
            text = self._credentials.redact(fault.faultstring or "")
            lowered = f"{code} {text}".lower()
            auth = any(word in lowered for word in ("usernametoken", "authentication", "security"))
        except (socket.timeout, TimeoutError) as exc:
            raise ApiTimeout(f"{operation}: no answer within {self.timeout:g} s") from exc
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, (socket.timeout, TimeoutError)):
                raise ApiTimeout(f"{operation}: no answer within {self.timeout:g} s") from exc
            raise TransportError(f"{operation}: cannot reach {self.endpoint}: {reason}") from exc
        except (http.client.HTTPException, ConnectionError, OSError) as exc:
            raise TransportError(f"{operation}: connection to {self.endpoint} failed: {exc!r}") from exc
        # Raised outside the except block, so the fault (whose text may quote our request) is not kept as context.
        raise (AuthError if auth else SoapFault)(code, text, operation=operation)

    def _checked(self, operation: str, reply: Node, ok: Iterable[int] = ()) -> int:
        code = _int(reply.text("responseCode"))
        if code != SUCCESS and code not in ok:
            raise ApiError(code if code is not None else reply.text("responseCode"), reply.text("responseText"),
                           operation=operation)
        return code  # type: ignore[return-value]

    def _paged(self, operation: str, build: Callable[[int], dict[str, Any]], items: str, more: str,
               ok: Iterable[int] = (), records: Callable[[list[Node]], int] = len) -> Iterator[Node]:
        """Yield every element of a paged operation, following startRecord/moreFlag.

        ``records`` counts the records a page holds, which is what startRecord advances by.
        """
        start = 1
        for _ in range(MAX_PAGES):
            reply = self.call(operation, **build(start))
            code = self._checked(operation, reply, ok)
            page = reply.all(items) if code == SUCCESS else []
            yield from page
            if not page or _int(reply.text(more)) != 1:
                return
            start += records(page)
        raise MalformedResponse(f"{operation}: more than {MAX_PAGES} pages; stopped")

    # -- reads ----------------------------------------------------------------------------------------------------

    def get_stations(self, station_id: str | None = None, sg_id: int | None = None) -> list[StationInfo]:
        """Inventory of one station, one group, or (neither given) every station of the account."""
        query: dict[str, Any] = {}
        if station_id:
            query["stationID"] = station_id
        if sg_id is not None:
            query["sgID"] = str(sg_id)
        records = self._paged("getStations",
                              lambda start: {"searchQuery": {**query, "startRecord": start,
                                                             "numStations": STATIONS_PAGE}},
                              "stationData", "moreFlag")
        return [_station(record) for record in records]

    def get_station_status(self, station_ids: list[str]) -> dict[str, dict[int, PortStatus]]:
        """Port status of the given stations, keyed by station then port number."""
        result: dict[str, dict[int, PortStatus]] = {}
        for chunk_start in range(0, len(station_ids), STATIONS_PAGE):
            chunk = station_ids[chunk_start:chunk_start + STATIONS_PAGE]
            query: dict[str, Any] = ({"stationID": chunk[0]} if len(chunk) == 1
                                     else {"stationIDs": {"stationID": chunk}})
            records = self._paged("getStationStatus",
                                  lambda start: {"searchQuery": {**query, "startRecord": start,
                                                                 "numStations": STATIONS_PAGE}},
                                  "stationData", "moreFlag")
            for record in records:
                ports = {}
                for port in record.all("Port"):
                    number = _int(port.text("portNumber")) or 0
                    ports[number] = PortStatus(number, port.text("Status"),
                                               _datetime(port.text("TimeStamp")))
                result[record.text("stationID") or ""] = ports
        return result

    def get_load(self, station_id: str | None = None, sg_id: int | None = None) -> dict[str, StationLoad]:
        """Live load (kW) and shed state of one station or of every station of one group."""
        query: dict[str, Any] = {"stationID": station_id} if station_id else {"sgID": sg_id}
        reply = self.call("getLoad", searchQuery=query)
        self._checked("getLoad", reply)
        result: dict[str, StationLoad] = {}
        for record in reply.all("stationData"):
            ports = {}
            for port in record.all("Port"):
                number = _int(port.text("portNumber")) or 0
                ports[number] = PortLoad(
                    port_number=number,
                    port_load=_float(port.text("portLoad")),
                    allowed_load=_float(port.text("allowedLoad")),
                    percent_shed=_float(port.text("percentShed")),
                    shed_state=_int(port.text("shedState")),
                    user_id=port.text("userID"),
                    credential_id=port.text("credentialID"),
                )
            station = record.text("stationID") or ""
            result[station] = StationLoad(station, _float(record.text("stationLoad")), ports)
        return result

    def get_alarms(self, station_id: str | None = None) -> dict[str, list[Alarm]]:
        """Every uncleared alarm of one station or of the account, keyed by station (code 153 = none)."""
        query: dict[str, Any] = {"stationID": station_id} if station_id else {}
        records = self._paged("getAlarms",
                              lambda start: {"searchQuery": {**query, "startRecord": start,
                                                             "numTransactions": ALARMS_PAGE}},
                              "Alarms", "moreFlag", ok=(NO_ALARMS,))
        result: dict[str, list[Alarm]] = {}
        for record in records:
            station = record.text("stationID") or ""
            result.setdefault(station, []).append(Alarm(
                station_id=station,
                port_number=_int(record.text("portNumber")) or None,
                alarm_type=record.text("alarmType"),
                alarm_time=_datetime(record.text("alarmTime")),
                record_number=_int(record.text("recordNumber")),
            ))
        return result

    def get_station_rights(self, station_id: str | None = None) -> dict[str, list[RightsEntry]]:
        """Rights profiles per station group, keyed by station."""
        query: dict[str, Any] = {"stationID": station_id} if station_id else {}
        records = self._paged("getStationRights",
                              lambda start: {"searchQuery": {**query, "startRecord": start}},
                              "rightsData", "moreFlag",
                              # A rights record is one (group, station) pair; a rightsData block holds several.
                              records=lambda page: sum(len(block.all("stationData")) or 1 for block in page))
        result: dict[str, list[RightsEntry]] = {}
        for record in records:
            entry = RightsEntry(record.text("sgID") or "", record.text("sgName"),
                                record.text("stationRightsProfile"))
            for station in record.all("stationData"):
                result.setdefault(station.text("stationID") or "", []).append(entry)
        return result

    def get_charging_sessions(self, station_id: str | None = None,
                              since: datetime | None = None) -> dict[str, list[Session]]:
        """Completed sessions of one station or the account, from ``since`` on, keyed by station (136 = none)."""
        query: dict[str, Any] = {}
        if station_id:
            query["stationID"] = station_id
        if since is not None:
            query["fromTimeStamp"] = since.astimezone(timezone.utc).replace(tzinfo=None)
        records = self._paged("getChargingSessionData",
                              lambda start: {"searchQuery": {**query, "startRecord": start}},
                              "ChargingSessionData", "MoreFlag", ok=(NO_SESSIONS, NO_DATA))
        result: dict[str, list[Session]] = {}
        for record in records:
            station = record.text("stationID") or ""
            result.setdefault(station, []).append(Session(
                station_id=station,
                port_number=_int(record.text("portNumber")),
                session_id=record.text("sessionID"),
                energy=_float(record.text("Energy")),
                start_time=_datetime(record.text("startTime")),
                end_time=_datetime(record.text("endTime")),
                user_id=record.text("userID"),
                credential_id=record.text("credentialID"),
            ))
        return result

    def get_cpn_instances(self) -> list[dict[str, str | None]]:
        """The ChargePoint networks the account sees; a cheap way to check credentials."""
        reply = self.call("getCPNInstances")
        return [{"cpnID": c.text("cpnID"), "cpnName": c.text("cpnName"),
                 "cpnDescription": c.text("cpnDescription")}
                for c in reply.all("CPN")]

    # -- writes ---------------------------------------------------------------------------------------------------

    def shed_load(self, station_id: str, *, port: int | None = None, allowed_kw: float | None = None,
                  percent: float | None = None, minutes: int = 0) -> None:
        """Cap a station or port at ``allowed_kw`` kW or shed ``percent`` % of its output for ``minutes`` (0 =
        until cleared). Exactly one of ``allowed_kw`` and ``percent``."""
        if (allowed_kw is None) == (percent is None):
            raise ValueError("give exactly one of allowed_kw and percent")
        station: dict[str, Any] = {"stationID": station_id}
        if port:
            entry: dict[str, Any] = {"portNumber": str(port)}
            if allowed_kw is not None:
                entry["allowedLoadPerPort"] = _decimal(allowed_kw)
            else:
                entry["percentShedPerPort"] = int(percent)  # type: ignore[arg-type]
            station["Ports"] = {"Port": [entry]}
        elif allowed_kw is not None:
            station["allowedLoadPerStation"] = _decimal(allowed_kw)
        else:
            station["percentShedPerStation"] = int(percent)  # type: ignore[arg-type]
        reply = self.call("shedLoad", shedQuery={"shedStation": station, "timeInterval": int(minutes)})
        self._checked("shedLoad", reply)
        if _int(reply.text("Success")) == 0:
            raise ApiError(_int(reply.text("responseCode")), "shedLoad reported Success=0", operation="shedLoad")

    def clear_shed_state(self, station_id: str) -> None:
        """Clear every shed on the station (the API cannot clear one port alone)."""
        reply = self.call("clearShedState", shedQuery={"shedStation": {"stationID": station_id}})
        self._checked("clearShedState", reply)
        if _int(reply.text("Success")) == 0:
            raise ApiError(_int(reply.text("responseCode")), "clearShedState reported Success=0",
                           operation="clearShedState")

    def clear_alarms(self, station_id: str, port: int | None = None) -> bool:
        """Clear the alarms of a station, or of one port; False when there was nothing to clear (code 153)."""
        query: dict[str, Any] = {"stationID": station_id}
        if port:
            query["portNumber"] = str(port)
        reply = self.call("clearAlarms", searchQuery=query)
        return self._checked("clearAlarms", reply, ok=(NO_ALARMS,)) == SUCCESS


# -- suds values to plain values ---------------------------------------------------------------------------------

def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    number = _float(value)
    return None if number is None or number != int(number) else int(number)


def _bool(value: str | None) -> bool | None:
    return None if value is None else value.lower() in ("1", "true")


def _datetime(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _decimal(value: float) -> Decimal:
    return Decimal(str(round(value, 3)))


def _station(record: Any) -> StationInfo:
    ports = {}
    for port in record.all("Port"):
        number = _int(port.text("portNumber")) or 0
        geo = port.first("Geo")
        ports[number] = PortInfo(
            port_number=number,
            station_name=port.text("stationName"),
            lat=_float(geo.text("Lat")) if geo else None,
            long=_float(geo.text("Long")) if geo else None,
            description=port.text("Description"),
            reservable=_bool(port.text("Reservable")),
            status=port.text("Status"),
            level=port.text("Level"),
            mode=_int(port.text("Mode")),
            connector=port.text("Connector"),
            voltage=_float(port.text("Voltage")),
            current=_float(port.text("Current")),
            power=_float(port.text("Power")),
        )
    pricing = tuple(
        Pricing(
            type=p.text("Type"),
            start_time=p.text("startTime"),
            end_time=p.text("endTime"),
            min_price=_float(p.text("minPrice")),
            max_price=_float(p.text("maxPrice")),
            initial_unit_price_duration=_int(p.text("initialUnitPriceDuration")),
            unit_price_per_hour=_float(p.text("unitPricePerHour")),
            unit_price_per_hour_thereafter=_float(p.text("unitPricePerHourThereafter")),
            unit_price_per_session=_float(p.text("unitPricePerSession")),
            unit_price_per_kwh=_float(p.text("unitPricePerKWh")),
            session_time=p.text("sessionTime"),
        )
        for p in record.all("Pricing")
    )
    return StationInfo(
        station_id=record.text("stationID") or "",
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
        num_ports=_int(record.text("numPorts")),
        main_phone=record.text("mainPhone"),
        currency_code=record.text("currencyCode"),
        org_id=record.text("orgID"),
        organization_name=record.text("organizationName"),
        sg_id=record.text("sgID"),
        sg_name=record.text("sgName"),
    )
