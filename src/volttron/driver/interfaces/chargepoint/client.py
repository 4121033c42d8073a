"""The ChargePoint Web Services 5.0 client: one method per SOAP operation the driver uses.

Each public method is a short recipe: build the query, :meth:`ChargePointClient._call` it, check the response
code, read the records with :mod:`.replies`. ``_call`` is the one chokepoint where a call is bounded in time and
where every foreign failure becomes an exception of :mod:`.exceptions` (see :func:`translated`). suds builds the
request envelopes from the WSDL (see :mod:`.wsdl`); answers are read with ElementTree.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import urllib.error
from collections import Counter, OrderedDict
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, overload
from xml.etree import ElementTree

import gevent
from gevent.lock import BoundedSemaphore
from suds.transport import Request

from . import replies
from .exceptions import (ApiError, ApiTimeout, AuthError, ChargePointError, MalformedResponse, SoapFault,
                         TooManyPages, TransportError)
from .models import Alarm, GroupLoad, PortStatus, RightsEntry, Session, Shed, ShedKind, StationInfo, StationLoad
from .replies import Fault, Node, Reply, read_reply
from .config import DEFAULT_MAX_RESPONSE_BYTES
from .transport import BoundedTransport, Credentials
from .wsdl import BUNDLED_WSDL, PRODUCTION_ENDPOINT, shared_client, wsdl_url

SUCCESS = 100
NO_DATA = 102
NO_SESSIONS = 136
NO_ALARMS = 153
STATIONS_PAGE = 500
ALARMS_PAGE = 500
ENVELOPES_KEPT = 64
MAX_PAGES = 200  # per call: 100,000 stations or 20,000 charging sessions
MAX_CONCURRENT_CALLS = 8  # API calls one client has under way at once

__all__ = ["BUNDLED_WSDL", "ChargePointClient", "NO_ALARMS", "NO_DATA", "NO_SESSIONS", "SUCCESS", "translated"]


def translated(exc: BaseException, what: str, endpoint: str, timeout: float,
               credentials: Credentials | None = None) -> BaseException:
    """The driver's exception for a failure of ``what`` (an operation, or loading the WSDL).

    The one place where foreign exceptions (socket, urllib, http.client, SSL, ElementTree, suds' SOAP faults)
    become this package's. Every text is redacted (a server may quote our request, and so the password, back in
    any spelling). The original is kept as ``__cause__`` unless its own text held the password; a SOAP fault's
    original is always dropped. Raise the result outside any ``except`` block, so that the original is not kept as
    ``__context__`` either.
    """
    if isinstance(exc, (ChargePointError, gevent.GreenletExit)) or not isinstance(exc, Exception):
        return exc
    redact: Callable[[str], str] = credentials.redact if credentials is not None else str
    if isinstance(exc, Fault):
        code, text = redact(exc.faultcode or ""), redact(exc.faultstring or "")
        lowered = f"{code} {text}".lower()
        auth = any(word in lowered for word in ("usernametoken", "authentication", "security"))
        return (AuthError if auth else SoapFault)(code, text, operation=what)
    kind, message = _described(exc, what, endpoint, timeout)
    error = kind(redact(message))
    if all(redact(text) == text for text in (message, str(exc), repr(exc))):
        error.__cause__ = exc
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError) and isinstance(
            exc.reason, (ConnectionRefusedError, socket.gaierror, ssl.SSLError)):
        error.delivered = False  # refused, unresolvable or untrusted: the connection never carried the request
    return error


def _described(exc: Exception, what: str, endpoint: str, timeout: float) -> tuple[type[ChargePointError], str]:
    if isinstance(exc, ElementTree.ParseError):
        return MalformedResponse, f"{what}: the answer is not well-formed XML ({exc})"
    if isinstance(exc, (socket.timeout, TimeoutError)) or (
            isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, (socket.timeout, TimeoutError))):
        return ApiTimeout, f"{what}: no answer within {timeout:g} s"
    if isinstance(exc, urllib.error.HTTPError):
        if 300 <= exc.code < 400:
            return TransportError, redirect_refused(what, exc.code, (exc.headers or {}).get("Location"))
        return TransportError, f"{what}: HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return TransportError, f"{what}: cannot reach {endpoint}: {exc.reason}"
    if isinstance(exc, (http.client.HTTPException, OSError)):
        return TransportError, f"{what}: connection to {endpoint} failed: {exc!r}"
    # suds refusing an unusable WSDL document, and anything else we did not foresee
    return MalformedResponse, f"{what}: {exc}"


def redirect_refused(what: str, code: int, location: str | None) -> str:
    """Why a 3xx answer is an error: the driver talks to the configured address only."""
    to = f" to {location}" if location else ""
    return (f"{what}: the server answered with a redirect (HTTP {code}{to}); redirects are not followed, "
            f"so configure the address it names if you trust it")


class ChargePointClient:
    """A client for one API account (username/password), safe to share between greenlets."""

    def __init__(self, username: str, password: str, *, wsdl: str | Path | None = None,
                 endpoint: str | None = None, timeout: float = 10.0, ca_file: str | None = None,
                 max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
                 max_concurrent_calls: int = MAX_CONCURRENT_CALLS) -> None:
        self.username = username
        self.timeout = float(timeout)
        self.wsdl = wsdl_url(wsdl)
        self._credentials = Credentials(username, password)
        self._reported = replies.Reported()  # unreadable fields already logged, so each is said once
        if endpoint is None and self.wsdl == BUNDLED_WSDL.resolve().as_uri():
            endpoint = PRODUCTION_ENDPOINT
        # Polls of many devices must not open hundreds of connections to the API at once.
        self._slots = BoundedSemaphore(max_concurrent_calls)
        self._calls: Counter[str] = Counter()
        self._records: Counter[str] = Counter()
        # Request envelopes by operation and arguments: suds takes about 20 ms to build one for a 500-station list,
        # and a poll asks the same questions every cycle. They hold no credential (the transport adds it).
        self._envelopes: OrderedDict[str, bytes] = OrderedDict()
        # Told of every read answer, (operation, seconds once it had a slot, records, bytes): the account's cost model.
        self.on_answer: Callable[[str, float, int, int], None] | None = None
        try:
            self._transport = BoundedTransport(self._credentials, self.timeout, max_response_bytes, ca_file)
            self._suds, port = shared_client(self.wsdl, self.timeout, ca_file, transport=self._transport,
                                             endpoint=endpoint)
        except Exception as exc:
            raise translated(exc, "WSDL", self.wsdl, self.timeout)  # noqa: B904 (the cause is set)
        self.endpoint = endpoint or port.location
        self._actions = {name: method.soap.action.strip('"') for name, method in port.methods.items()}

    @property
    def username_hint(self) -> str:
        """The username (an API license key) shortened for logs: enough to tell accounts apart."""
        return f"{self.username[:4]}…" if len(self.username) > 8 else "user…"

    def __repr__(self) -> str:
        return f"ChargePointClient(username={self.username_hint!r}, endpoint={self.endpoint!r})"

    # -- the one chokepoint ------------------------------------------------------------------------------------

    def usage(self, operation: str) -> tuple[int, int]:
        """(calls attempted, records received) of ``operation`` so far: what fetches cost, for the cost model."""
        return self._calls[operation], self._records[operation]

    def _call(self, operation: str, **arguments: Any) -> Reply:
        """Invoke one SOAP operation within the timeout; every failure comes back as one of our exceptions.

        The answer carries the seconds the call took once it had a slot, less the pauses its parse made for other
        greenlets: what it cost, without the queueing or the other devices' work (which, with a thousand devices
        polling, can be ten times the call's own).
        """
        self._calls[operation] += 1
        try:
            with gevent.Timeout(self.timeout + 1.0, ApiTimeout(f"{operation}: no answer within {self.timeout:g} s")), \
                    self._slots:
                started = time.monotonic()
                reply = self._exchange(operation, arguments)
                reply.seconds = time.monotonic() - started - reply.paused
                return reply
        except Exception as exc:
            error = translated(exc, operation, self.endpoint, self.timeout, self._credentials)
        raise error

    def _answered(self, operation: str, reply: Reply, records: int) -> None:
        self._records[operation] += records
        if self.on_answer is not None:
            self.on_answer(operation, reply.seconds, records, reply.size)

    def _exchange(self, operation: str, arguments: dict[str, Any]) -> Reply:
        key = f"{operation}{arguments!r}"
        envelope = self._envelopes.pop(key, None)
        if envelope is None:
            envelope = getattr(self._suds.service, operation)(**arguments).envelope
        self._envelopes[key] = envelope  # the newest last: the oldest goes first
        if len(self._envelopes) > ENVELOPES_KEPT:
            self._envelopes.popitem(last=False)
        request = Request(self.endpoint, envelope)
        request.headers = {"Content-Type": "text/xml; charset=utf-8",
                           "SOAPAction": f'"{self._actions[operation]}"'}
        reply = self._transport.send(request)
        redact = self._credentials.redact
        if reply.code == http.client.OK:
            return read_reply(reply.message, operation, redact, self._reported)
        if 300 <= reply.code < 400:
            raise TransportError(redact(redirect_refused(operation, reply.code, _header(reply.headers, "Location"))))
        if reply.code != http.client.INTERNAL_SERVER_ERROR or not reply.message.strip():
            raise TransportError(f"{operation}: HTTP {reply.code} {http.client.responses.get(reply.code, '')}")
        try:
            return read_reply(reply.message, operation, redact, self._reported)  # the API's faults come as HTTP 500
        except (MalformedResponse, ElementTree.ParseError):
            # A proxy's or server's own error page: say what happened, not that XML was bad.
            raise TransportError(f"{operation}: HTTP 500 Internal Server Error (the answer is not a SOAP fault)") \
                from None

    def _checked(self, operation: str, reply: Node, ok: Iterable[int] = ()) -> int:
        code = replies.as_int(reply.text("responseCode"))
        if code != SUCCESS and code not in ok:
            raise ApiError(code if code is not None else reply.text("responseCode"), reply.text("responseText"),
                           operation=operation)
        return code  # type: ignore[return-value]

    def _paged(self, operation: str, build: Callable[[int], dict[str, Any]], more: str,
               ok: Iterable[int] = (), records: Callable[[Any], int] = lambda _item: 1,
               expected: int | None = None, max_pages: int = MAX_PAGES) -> Iterator[Any]:
        """Yield every record of a paged operation as :data:`.replies.RECORDS` read it, following
        startRecord/moreFlag.

        ``records`` counts the API's records one holds, which is what startRecord advances by. An API that keeps
        answering moreFlag 1 is stopped with MalformedResponse: when a page repeats the one before, after twice
        the ``expected`` records when the caller knows how many there can be, and after :data:`MAX_PAGES` pages.
        """
        start, pages, seen = 1, 0, 0
        previous: tuple[Any, ...] | None = None
        while True:
            reply = self._call(operation, **build(start))
            code = self._checked(operation, reply, ok)
            page = reply.records if code == SUCCESS else []
            self._answered(operation, reply, len(page))
            pages += 1
            if not page or replies.as_int(reply.text(more)) != 1:
                yield from page
                return
            fingerprint = _fingerprint(page)
            if fingerprint == previous:
                raise MalformedResponse(f"{operation}: the API kept answering {more} 1 with the same page again "
                                        f"(page {pages}); stopped")
            previous = fingerprint
            yield from page
            count = sum(map(records, page))
            seen, start = seen + count, start + count
            if pages >= max_pages < MAX_PAGES:
                raise TooManyPages(operation, pages)
            if pages >= MAX_PAGES or (expected is not None and seen >= 2 * expected):
                said = f", for at most {expected} expected" if expected is not None else ""
                raise MalformedResponse(f"{operation}: the API kept answering {more} 1 after {pages} pages and "
                                        f"{seen} records{said}; stopped")

    # -- reads ----------------------------------------------------------------------------------------------------

    def get_stations(self, station_id: str | None = None, sg_id: int | None = None) -> list[StationInfo]:
        """Inventory of one station, one group, or (neither given) every station of the account."""
        query: dict[str, Any] = {}
        if station_id:
            query["stationID"] = station_id
        if sg_id is not None:
            query["sgID"] = str(sg_id)
        return replies.stations(self._paged(
            "getStations", lambda start: {"searchQuery": {**query, "startRecord": start,
                                                          "numStations": STATIONS_PAGE}},
            "moreFlag", expected=1 if station_id else None))

    def get_organisation(self, records: int) -> tuple[list[StationInfo], bool]:
        """The account's first ``records`` stations (at most 500) and whether that is all of them: how an account
        learns its organisation's size for the cost of one small call."""
        reply = self._call("getStations", searchQuery={"startRecord": 1,
                                                       "numStations": max(1, min(records, STATIONS_PAGE))})
        self._checked("getStations", reply)
        self._answered("getStations", reply, len(reply.records))
        return replies.stations(reply.records), replies.as_int(reply.text("moreFlag")) != 1

    def get_station_status(self, station_ids: list[str]) -> dict[str, dict[int, PortStatus]]:
        """Port status of the given stations, keyed by station then port number."""
        result: dict[str, dict[int, PortStatus]] = {}
        for chunk_start in range(0, len(station_ids), STATIONS_PAGE):
            chunk = station_ids[chunk_start:chunk_start + STATIONS_PAGE]
            query: dict[str, Any] = ({"stationID": chunk[0]} if len(chunk) == 1
                                     else {"stationIDs": {"stationID": chunk}})
            result.update(replies.port_statuses(self._paged(
                "getStationStatus", lambda start: {"searchQuery": {**query, "startRecord": start,
                                                                   "numStations": STATIONS_PAGE}},
                "moreFlag", expected=len(chunk))))
        return result

    @overload
    def get_load(self, station_id: str) -> dict[str, StationLoad]: ...

    @overload
    def get_load(self, *, sg_id: int) -> GroupLoad: ...

    def get_load(self, station_id: str | None = None, sg_id: int | None = None
                 ) -> dict[str, StationLoad] | GroupLoad:
        """Live load (kW) and shed state of one station (by station ID), or of a station group: its total and
        every member station's load."""
        if (station_id is None) == (sg_id is None):
            raise ValueError("give a station ID or a group ID")
        query: dict[str, Any] = {"stationID": station_id} if station_id is not None else {"sgID": int(sg_id or 0)}
        reply = self._call("getLoad", searchQuery=query)
        self._checked("getLoad", reply)
        if station_id is not None:
            loads = replies.station_loads(reply)
            self._answered("getLoad", reply, len(loads))
            return loads
        group = replies.group_load(reply)
        self._answered("getLoad", reply, len(group.stations))
        return group

    def get_alarms(self, station_id: str | None = None) -> dict[str, list[Alarm]]:
        """Every uncleared alarm of one station or of the account, keyed by station (code 153 = none)."""
        query: dict[str, Any] = {"stationID": station_id} if station_id else {}
        return replies.alarms(self._paged(
            "getAlarms", lambda start: {"searchQuery": {**query, "startRecord": start,
                                                        "numTransactions": ALARMS_PAGE}},
            "moreFlag", ok=(NO_ALARMS,)))

    def get_station_rights(self, station_id: str | None = None) -> dict[str, list[RightsEntry]]:
        """Rights profiles per station group, keyed by station."""
        query: dict[str, Any] = {"stationID": station_id} if station_id else {}
        return replies.station_rights(self._paged(
            "getStationRights", lambda start: {"searchQuery": {**query, "startRecord": start}},
            "moreFlag", records=lambda block: block.records))

    def get_charging_sessions(self, station_id: str | None = None, since: datetime | None = None,
                              max_pages: int = MAX_PAGES) -> dict[str, list[Session]]:
        """Completed sessions of one station or the account, from ``since`` on, keyed by station (136 = none).

        Raises TooManyPages after ``max_pages`` pages when there are more.
        """
        query: dict[str, Any] = {}
        if station_id:
            query["stationID"] = station_id
        if since is not None:
            query["fromTimeStamp"] = since.astimezone(timezone.utc).replace(tzinfo=None)
        return replies.sessions(self._paged(
            "getChargingSessionData", lambda start: {"searchQuery": {**query, "startRecord": start}},
            "MoreFlag", ok=(NO_SESSIONS, NO_DATA), max_pages=max_pages))

    def get_cpn_instances(self) -> list[dict[str, str | None]]:
        """The ChargePoint networks the account sees; a cheap way to check credentials."""
        return replies.cpn_instances(self._call("getCPNInstances"))

    # -- writes ---------------------------------------------------------------------------------------------------

    def shed_load(self, station_id: str, *, station: Shed | None = None, ports: Mapping[int, Shed] | None = None,
                  minutes: int = 0) -> None:
        """Shed the whole station (``station``) or the listed ports (``ports``, one kind for all) for ``minutes``
        (0 = until cleared). kW go out with three decimals, percents as whole numbers."""
        if (station is None) == (not ports):
            raise ValueError("give a station-wide shed or port sheds")
        query: dict[str, Any] = {"stationID": station_id}
        if station is not None:
            query.update(_shed_fields(station, "PerStation"))
        else:
            query["Ports"] = {"Port": [{"portNumber": str(number), **_shed_fields(shed, "PerPort")}
                                       for number, shed in sorted((ports or {}).items())]}
        self._succeeded("shedLoad", shedQuery={"shedStation": query, "timeInterval": int(minutes)})

    def clear_shed_state(self, station_id: str) -> None:
        """Clear every shed on the station (the API cannot clear one port alone)."""
        self._succeeded("clearShedState", shedQuery={"shedStation": {"stationID": station_id}})

    def shed_group(self, sg_id: int, shed: Shed, minutes: int = 0) -> None:
        """Shed every station of a group: ``shed`` applies to each station (kW: a cap on each, not on the group's
        total) for ``minutes`` (0 = until cleared)."""
        self._succeeded("shedLoad", shedQuery={"shedGroup": {"sgID": int(sg_id), **_shed_fields(shed, "PerStation")},
                                               "timeInterval": int(minutes)})

    def clear_group_shed(self, sg_id: int) -> None:
        """Clear every shed of every station of a group."""
        self._succeeded("clearShedState", shedQuery={"shedGroup": {"sgID": int(sg_id)}})

    def create_load_shed_event(self, *, start: datetime, minutes: int, station_id: str | None = None,
                               sg_id: int | None = None, allowed_kw_per_port: float | None = None,
                               percent_per_station: float | None = None, allow_opt_out: bool = False) -> int:
        """Schedule a shed that the ChargePoint cloud starts at ``start`` and ends ``minutes`` later by itself, for
        one station or a group; returns the API's eventId. ``start`` must be aware (it is sent in UTC, whole
        seconds); exactly one target and one value (kW per port, or a whole percent per station)."""
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("the event's start needs a UTC offset")
        if (station_id is None) == (sg_id is None):
            raise ValueError("give a station ID or a group ID")
        if (allowed_kw_per_port is None) == (percent_per_station is None):
            raise ValueError("give kW per port or a percent per station")
        event: dict[str, Any] = {"stationID": station_id} if station_id is not None else {"sgID": str(sg_id)}
        event.update({"eventStartTime": start.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                      "eventDuration": int(minutes), "allowOptOut": bool(allow_opt_out)})
        if allowed_kw_per_port is not None:
            event.update(_shed_fields(Shed(ShedKind.KW, allowed_kw_per_port), "PerPort"))
        else:
            event["percentShedPerStation"] = int(percent_per_station or 0)
        reply = self._call("createLoadShedEvent", shedEvent=event)
        self._checked("createLoadShedEvent", reply)
        return replies.event_id(reply)

    def remove_load_shed_event(self, event_id: int) -> str | None:
        """Cancel a scheduled shed event before its start, or end it early; returns the API's response text."""
        reply = self._call("removeLoadShedEvent", eventId=int(event_id))
        self._checked("removeLoadShedEvent", reply)
        return reply.text("response")

    def clear_alarms(self, station_id: str, port: int | None = None) -> bool:
        """Clear the alarms of a station, or of one port; False when there was nothing to clear (code 153)."""
        query: dict[str, Any] = {"stationID": station_id}
        if port:
            query["portNumber"] = str(port)
        reply = self._call("clearAlarms", searchQuery=query)
        return self._checked("clearAlarms", reply, ok=(NO_ALARMS,)) == SUCCESS

    def _succeeded(self, operation: str, **arguments: Any) -> None:
        """A shed write: code 100 and ``Success`` not 0, else ApiError."""
        reply = self._call(operation, **arguments)
        self._checked(operation, reply)
        if replies.as_int(reply.text("Success")) == 0:
            raise ApiError(replies.as_int(reply.text("responseCode")), f"{operation} reported Success=0",
                           operation=operation)


def _shed_fields(shed: Shed, suffix: str) -> dict[str, Any]:
    if shed.kind is ShedKind.KW:
        return {f"allowedLoad{suffix}": Decimal(f"{round(shed.value, 3) + 0.0:.3f}")}
    return {f"percentShed{suffix}": int(shed.value)}


def _fingerprint(page: list[Any]) -> tuple[Any, ...]:
    """What tells one page from the next: its length and its first and last records (as read)."""
    return len(page), page[0], page[-1]


def _header(headers: Any, name: str) -> str | None:
    found = {key.lower(): value for key, value in dict(headers or {}).items()}.get(name.lower())
    return found.decode("latin-1") if isinstance(found, bytes) else found
