"""Scheduled shed events (createLoadShedEvent): sheds the cloud itself starts and ends on its clock.

An event is a station-wide shed that the cloud issues on its own at ``eventStartTime``, to one
station or to every station of a group, and that lapses ``eventDuration`` minutes later. Like any
shed it reaches a station after the model's propagation delay, so the stations apply it from
start + delay until start + duration + delay. Nothing has to happen in between: the model hands a
station the start of every event that is due when the station is next touched, and the replay
applies it at the right instants (energy included).

The rules, with the codes documented in ``operations`` (a request with several faults gets the
first, in this order):

* 187 the request cannot be read: no shedEvent; eventStartTime or eventDuration missing; a value
  that is not a dateTime, a whole number, a number or a boolean; no target or both (stationID,
  sgID); no value or both (allowedLoadPerPort, percentShedPerStation); an eventId that is missing
  or not a whole number.
* 188 a value out of range: eventDuration not above 0; a negative or non-finite kW; a percent that
  is not a whole number from 0 to 100; an eventStartTime before the clock's present second (a start
  in the past is refused, never moved to now).
* 102 the station or group is unknown.
* 190 a station (any station of the group) has a shed of the other kind accepted when the event is
  created: the whole request is refused, as for shedLoad.
* 191 removeLoadShedEvent names no event, one already removed, or one that has ended.

While it runs an event wins: its start replaces whatever shed the station has then, of either kind
(a demand-response window must hold even if someone shed the station after the event was created),
and at its end the station is unshed. In between the event's shed is an accepted shed like any
other: shedLoad of the other kind is refused (190), shedLoad of the same kind replaces it where it
lands, clearShedState lifts it on that station. Removing an event before its start cancels it;
removing it while it runs lifts the event's own sheds, after the propagation delay. ``allowOptOut``
is recorded and listed only: the simulated stations have no drivers who could opt out.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chargepoint_simulator.model.entities import PortShed, ShedLimit, Station
from chargepoint_simulator.model.instants import instant, posix
from chargepoint_simulator.model.sheds import (
    SHED_MALFORMED,
    SHED_OUT_OF_RANGE,
    ShedCommand,
    ShedError,
    ShedValueError,
    check_in_range,
    check_one_value,
    read_limit,
)
from chargepoint_simulator.query import (
    Query,
    RequestError,
    bool_field,
    datetime_field,
    int_field,
    text_field,
)

EVENT_UNKNOWN = 191
EVENT_FIELDS = ("allowedLoadPerPort", "percentShedPerStation")

SCHEDULED = "scheduled"
RUNNING = "running"
ENDED = "ended"
CANCELLED = "cancelled"  # removed before its start
REMOVED = "removed"  # removed while it ran


class UnknownEventError(ShedError):
    """No event that could still be removed has this eventId (191)."""

    def __init__(self, text: str) -> None:
        super().__init__(EVENT_UNKNOWN, text)


def _malformed(text: str) -> ShedValueError:
    return ShedValueError(SHED_MALFORMED, text)


def _stamp(ts: float) -> str:
    """An instant as the API writes it (whole seconds, Z)."""
    return instant(ts).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class EventRequest:
    """A createLoadShedEvent request as read (or as a test writes it), before the rules.

    Exactly one of ``station_id`` and ``sg_id`` names the target; ``limit`` holds the kW per port
    or the percent per station; ``minutes`` is eventDuration.
    """

    start: datetime
    minutes: int
    limit: ShedLimit
    station_id: str | None = None
    sg_id: str | None = None
    allow_opt_out: bool = False


def read_event_request(query: Query) -> EventRequest:
    """Read a createLoadShedEvent request, refusing (187) what cannot be read; ``check_event`` judges it."""
    block = query.get("shedEvent")
    if not isinstance(block, dict):
        raise _malformed("createLoadShedEvent needs a shedEvent.")
    try:
        start = datetime_field(block, "eventStartTime")
        minutes = int_field(block, "eventDuration")
        opt_out = bool_field(block, "allowOptOut")
    except RequestError as exc:
        raise _malformed(f"{exc}.") from None
    if start is None:
        raise _malformed("shedEvent needs an eventStartTime.")
    if minutes is None:
        raise _malformed("shedEvent needs an eventDuration in minutes.")
    return EventRequest(
        start=start,
        minutes=minutes,
        limit=read_limit(block, EVENT_FIELDS) or ShedLimit(),
        station_id=text_field(block, "stationID"),
        sg_id=text_field(block, "sgID"),
        allow_opt_out=bool(opt_out),
    )


def read_event_id(query: Query) -> int:
    """The eventId of a removeLoadShedEvent request (187 when missing or not a whole number)."""
    try:
        event_id = int_field(query, "eventId")
    except RequestError as exc:
        raise _malformed(f"{exc}.") from None
    if event_id is None:
        raise _malformed("removeLoadShedEvent needs an eventId.")
    return event_id


def check_event(request: EventRequest, now: float) -> None:
    """The rules that need no station (187, then 188); ``now`` is the clock's reading in POSIX seconds."""
    if bool(request.station_id) == bool(request.sg_id):
        raise _malformed("Give exactly one of stationID or sgID.")
    check_one_value(request.limit, EVENT_FIELDS)
    if request.minutes <= 0:
        raise ShedValueError(
            SHED_OUT_OF_RANGE, f"eventDuration must be a whole number of minutes above 0, not {request.minutes}."
        )
    check_in_range(request.limit, EVENT_FIELDS)
    start = posix(request.start)
    if start < math.floor(now):
        raise ShedValueError(
            SHED_OUT_OF_RANGE,
            f"eventStartTime {_stamp(start)} is in the past (the service's clock reads {_stamp(now)}).",
        )


@dataclass
class ShedEvent:
    """One created event; instants are POSIX seconds on the simulator's clock.

    ``station_ids`` are the stations it sheds (a group's members when it was created);
    ``pending`` are those the model has not yet handed its start.
    """

    eventId: int
    stationID: str | None
    sgID: int | None
    station_ids: tuple[str, ...]
    start: float
    minutes: int
    limit: ShedLimit
    allowOptOut: bool
    removed_at: float | None = None
    pending: set[str] = field(default_factory=set, repr=False)

    @property
    def end(self) -> float:
        """When the cloud ends the event (the stations follow after the propagation delay)."""
        return self.start + self.minutes * 60.0

    def status(self, now: float) -> str:
        """Where the event stands at ``now`` on the cloud's side: scheduled, running, ended, cancelled or removed."""
        if self.removed_at is not None:
            return CANCELLED if self.removed_at < self.start else REMOVED
        if now < self.start:
            return SCHEDULED
        return RUNNING if now < self.end else ENDED

    def start_command(self, station: Station, delay: float) -> ShedCommand:
        """The shed the event puts on every port of ``station``, replacing whatever was there."""
        return ShedCommand(
            self.start + delay,
            {port.portNumber: PortShed(self.limit, self.end + delay, self.eventId) for port in station.ports},
        )

    def removal_command(self, commanded: dict[str, PortShed], effective_at: float) -> ShedCommand | None:
        """The command lifting this event's sheds from ``commanded`` (None when none of them is left)."""
        kept = {number: shed for number, shed in commanded.items() if shed.event_id != self.eventId}
        return None if len(kept) == len(commanded) else ShedCommand(effective_at, kept)

    def view(self, now: float) -> dict[str, Any]:
        """A JSON-friendly picture (the admin endpoint's)."""
        return {
            "eventId": self.eventId,
            "stationID": self.stationID,
            "sgID": self.sgID,
            "stations": list(self.station_ids),
            "eventStartTime": _stamp(self.start),
            "eventEndTime": _stamp(self.end),
            "eventDuration": self.minutes,
            "allowOptOut": self.allowOptOut,
            "allowedLoadPerPort": self.limit.allowed_kw,
            "percentShedPerStation": self.limit.percent,
            "status": self.status(now),
            "removedAt": None if self.removed_at is None else _stamp(self.removed_at),
        }


class EventBook:
    """Every event created, by eventId (numbered from 1), and which stations still wait for a start."""

    def __init__(self) -> None:
        self._events: dict[int, ShedEvent] = {}

    def add(self, request: EventRequest, station_ids: list[str], sg_id: int | None) -> ShedEvent:
        """Record an event that passed every rule."""
        event = ShedEvent(
            eventId=len(self._events) + 1,
            stationID=None if sg_id is not None else station_ids[0],
            sgID=sg_id,
            station_ids=tuple(station_ids),
            start=posix(request.start),
            minutes=request.minutes,
            limit=request.limit,
            allowOptOut=request.allow_opt_out,
            pending=set(station_ids),
        )
        self._events[event.eventId] = event
        return event

    def all(self) -> list[ShedEvent]:
        """Every event, in creation order."""
        return list(self._events.values())

    def due(self, station_id: str, now: float) -> list[ShedEvent]:
        """The events whose start has come for this station and that it was not handed yet, earliest
        first; each is handed once."""
        found = sorted(
            (e for e in self._events.values() if station_id in e.pending and e.start <= now),
            key=lambda e: (e.start, e.eventId),
        )
        for event in found:
            event.pending.discard(station_id)
        return found

    def removable(self, event_id: int, now: float) -> ShedEvent:
        """The event, if it can still be removed at ``now``; UnknownEventError (191) says why not."""
        event = self._events.get(event_id)
        if event is None:
            raise UnknownEventError(f"No load shed event found with eventId {event_id}.")
        status = event.status(now)
        if status in (CANCELLED, REMOVED):
            raise UnknownEventError(f"Load shed event {event_id} was already removed.")
        if status == ENDED:
            raise UnknownEventError(f"Load shed event {event_id} has already ended.")
        return event
