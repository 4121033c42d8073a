"""The simulated organisation: its stations, ports, load, sheds, charging sessions and alarms.

The model is lazy. Nothing runs in the background: each station remembers the simulated instant it
was last brought up to date and, when it is next touched, replays the events (port status changes,
alarms, shed start/end) between then and the clock's present reading. Every station draws from its
own random stream seeded from ``(seed, stationID)``, and energy is integrated only between events,
so the answers depend on the seed, the clock readings and the explicit writes, never on how often or
in which order stations were read.

The package: ``entities`` (the API-spelled dataclasses), ``generation`` (the seeded facts and each
station's start), ``evolution`` (the replay), ``sheds`` (the shed rules and their response codes),
``events`` (scheduled shed events: the shed the cloud starts and ends by itself). ``Model`` ties
them together and owns every station's evolution; the rest of the simulator goes through it.
Units: kW, kWh, aware UTC datetimes.
"""
from __future__ import annotations

import math
import threading
from datetime import datetime
from typing import Any, Iterable

from chargepoint_simulator.clock import SimClock
from chargepoint_simulator.model.entities import (
    AVAILABLE,
    INUSE,
    STATUSES,
    UNKNOWN,
    UNREACHABLE,
    ActiveSession,
    Alarm,
    ModelError,
    Organization,
    Port,
    PortShed,
    Pricing,
    Session,
    ShedLimit,
    Station,
    StationGroup,
    UnknownGroupError,
    UnknownPortError,
    UnknownStationError,
)
from chargepoint_simulator.model.events import (
    EVENT_UNKNOWN,
    EventBook,
    EventRequest,
    ShedEvent,
    UnknownEventError,
    check_event,
)
from chargepoint_simulator.model.evolution import (
    ALARM_MEAN_SECONDS,
    ALARM_TYPES,
    IDLE_MEAN_SECONDS,
    QUIET_SECONDS,
    SESSION_MAX_SECONDS,
    SESSION_MIN_SECONDS,
    StationEvolution,
)
from chargepoint_simulator.model.generation import CPN_INSTANCES, build_inventory, start_evolution
from chargepoint_simulator.model.instants import instant, posix, whole_seconds
from chargepoint_simulator.model.views import station_picture
from chargepoint_simulator.model.sheds import (
    SHED_CONFLICT,
    SHED_MALFORMED,
    SHED_OUT_OF_RANGE,
    CheckedShed,
    ShedCommand,
    ShedConflictError,
    ShedError,
    ShedValueError,
    check_shed,
    plan_shed,
    refuse_other_kind,
)

__all__ = [
    "ALARM_MEAN_SECONDS",
    "ALARM_TYPES",
    "AVAILABLE",
    "EVENT_UNKNOWN",
    "IDLE_MEAN_SECONDS",
    "INUSE",
    "QUIET_SECONDS",
    "SESSION_MAX_SECONDS",
    "SESSION_MIN_SECONDS",
    "SHED_CONFLICT",
    "SHED_MALFORMED",
    "SHED_OUT_OF_RANGE",
    "STATUSES",
    "UNKNOWN",
    "UNREACHABLE",
    "ActiveSession",
    "Alarm",
    "EventRequest",
    "Model",
    "ModelError",
    "Organization",
    "Port",
    "PortShed",
    "Pricing",
    "Session",
    "ShedConflictError",
    "ShedError",
    "ShedEvent",
    "ShedLimit",
    "ShedValueError",
    "Station",
    "StationGroup",
    "UnknownEventError",
    "UnknownGroupError",
    "UnknownPortError",
    "UnknownStationError",
]


class Model:
    """The organisation and its stations, advanced lazily from a ``SimClock``.

    Thread-safe for greenlets and threads: every public method holds one re-entrant lock and
    never blocks while holding it.
    """

    def __init__(
        self,
        stations: int = 4,
        seed: int = 1,
        clock: SimClock | None = None,
        propagation_delay: float = 2.0,
    ) -> None:
        if stations < 1:
            raise ValueError("the simulator needs at least one station")
        self.seed = seed
        self.clock = clock or SimClock()
        self.propagation_delay = float(propagation_delay)
        self._lock = threading.RLock()
        self._t0 = float(math.floor(self.clock.timestamp()))
        inventory = build_inventory(seed, stations, instant(self._t0))
        self.organization: Organization = inventory.organization
        self.groups: list[StationGroup] = inventory.groups
        self.cpn_instances: list[dict[str, str]] = [dict(cpn) for cpn in CPN_INSTANCES]
        self._stations: dict[str, Station] = inventory.stations
        self._evolutions: dict[str, StationEvolution] = {}
        self._withdrawn: dict[str, Station] = {}  # taken off the account by withdraw_station
        self._events = EventBook()

    def _now(self) -> float:
        """The clock's present reading in POSIX seconds."""
        return self.clock.timestamp()

    def _evolution(self, station_id: str, now: float | None = None) -> StationEvolution:
        """The station's evolution, replayed up to ``now`` (default: the clock's present reading).

        A station's start is drawn the first time it is touched, which keeps start-up quick for
        thousands of stations. The starts of shed events due by ``now`` are handed to it first, so
        the replay applies them when they began, however long the station went untouched.
        """
        key = str(station_id).strip()
        try:
            station = self._stations[key]
        except KeyError:
            raise UnknownStationError(f"unknown station {station_id!r}") from None
        evolution = self._evolutions.get(key)
        if evolution is None:
            evolution = self._evolutions[key] = start_evolution(station, self.seed, self._t0)
        now = self._now() if now is None else now
        for event in self._events.due(key, now):
            evolution.commands.append(event.start_command(station, self.propagation_delay))
        evolution.advance(now)
        return evolution

    def _get(self, station_id: str, now: float | None = None) -> Station:
        """The station brought up to ``now`` (default: the clock's present reading)."""
        return self._evolution(station_id, now).station

    # ------------------------------------------------------------------ public API: reading

    def station_ids(self) -> list[str]:
        """Every station ID, in creation order."""
        return list(self._stations)

    def has_station(self, station_id: str) -> bool:
        """True when a station has this ID."""
        return str(station_id).strip() in self._stations

    def station(self, station_id: str) -> Station:
        """The station's true state as of now (the object itself: tests may read and change it)."""
        with self._lock:
            return self._get(station_id)

    def stations(self, station_ids: Iterable[str] | None = None) -> list[Station]:
        """Several stations (default: all) brought up to now."""
        with self._lock:
            now = self._now()
            ids = self.station_ids() if station_ids is None else list(station_ids)
            return [self._get(sid, now) for sid in ids]

    def static_stations(self) -> list[Station]:
        """All stations without advancing them: for filtering on fields that never change."""
        return list(self._stations.values())

    def group(self, sg_id: int | str) -> StationGroup:
        """The station group with this ID."""
        try:
            wanted = int(str(sg_id).strip())
        except ValueError:
            raise UnknownGroupError(f"unknown station group {sg_id!r}") from None
        for group in self.groups:
            if group.sgID == wanted:
                return group
        raise UnknownGroupError(f"unknown station group {sg_id!r}")

    def load_view(self, station_id: str) -> dict[str, Any]:
        """What getLoad answers now for the station: kW per port plus the shed state that has reached it."""
        with self._lock:
            now = self._now()
            evolution = self._evolution(station_id, now)
            st = evolution.station
            sheds = evolution.effective_sheds(now)
            ports: list[dict[str, Any]] = []
            for port in st.ports:
                shed = sheds.get(port.portNumber)
                ports.append(
                    {
                        "portNumber": port.portNumber,
                        "userID": port.userID,
                        "credentialID": port.credentialID,
                        "shedState": 1 if shed else 0,
                        "portLoad": port.draw_kw(shed),
                        "allowedLoad": shed.limit.allowed_kw if shed and shed.limit.allowed_kw is not None else 0.0,
                        "percentShed": shed.limit.percent if shed and shed.limit.percent is not None else 0,
                    }
                )
            return {
                "stationID": st.stationID,
                "stationName": st.stationName,
                "Address": st.full_address,
                "stationLoad": round(sum(p["portLoad"] for p in ports), 3),
                "Port": ports,
            }

    def shed_state(self, station_id: str, effective: bool = True) -> dict[str, PortShed]:
        """Per port, the shed in force (``effective``) or the one last accepted by the cloud."""
        with self._lock:
            now = self._now()
            evolution = self._evolution(station_id, now)
            return evolution.effective_sheds(now) if effective else evolution.commanded_sheds(now)

    def alarms(self) -> list[Alarm]:
        """Every uncleared alarm of the organisation, oldest first."""
        with self._lock:
            found = [a for st in self.stations() for a in st.alarms]
            return sorted(found, key=lambda a: (a.alarmTime, a.stationID, a.portNumber))

    def sessions(self, station_id: str | None = None) -> list[Session]:
        """Completed sessions (of one station, or all), oldest first."""
        with self._lock:
            chosen = self.stations() if station_id is None else [self._get(station_id)]
            found = [s for st in chosen for s in st.sessions]
            return sorted(found, key=lambda s: (s.startTime, s.sessionID))

    # ------------------------------------------------------------------ public API: writing

    def set_port_status(
        self,
        station_id: str,
        port_number: str | int,
        status: str,
        load_kw: float | None = None,
        hold: bool = True,
    ) -> Port:
        """Stage a port's status now; ``load_kw`` is the vehicle's demand when INUSE (default: the port's Power).

        Leaving INUSE records the session. With ``hold`` the port keeps this status until set again
        (``hold=False`` hands it back to the random evolution).
        """
        status = status.strip().upper()
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        if load_kw is not None and (load_kw < 0 or (status != INUSE and load_kw > 0)):
            raise ValueError("load_kw must be >= 0, and only an INUSE port draws power")
        with self._lock:
            now = self._now()
            evolution = self._evolution(station_id, now)
            port = evolution.station.port(port_number)
            evolution.stage_status(port, status, load_kw, hold, now)
            return port

    def add_alarm(self, station_id: str, alarm_type: str, port_number: str | int | None = None) -> Alarm:
        """Raise an alarm now, on one port or (``port_number=None``) on the whole station."""
        with self._lock:
            now = self._now()
            st = self._get(station_id, now)
            port = "" if port_number in (None, "") else st.port(port_number).portNumber
            alarm = Alarm(st.stationID, port, alarm_type, instant(now))
            st.alarms.append(alarm)
            return alarm

    def clear_alarms(
        self,
        station_id: str,
        port_number: str | int | None = None,
        alarm_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """Clear a station's alarms; returns how many.

        With ``port_number`` only that port's alarms go (station-wide ones stay); ``alarm_type``,
        ``since`` and ``until`` narrow it further.
        """
        with self._lock:
            st = self._get(station_id)
            port = None if port_number in (None, "") else str(port_number).strip()
            kept = [a for a in st.alarms if not a.matches(port, alarm_type, since, until)]
            cleared = len(st.alarms) - len(kept)
            st.alarms[:] = kept
            return cleared

    def add_session(
        self,
        station_id: str,
        port_number: str | int,
        energy_kwh: float,
        start: datetime,
        end: datetime,
        user_id: str | None = None,
        credential_id: str | None = None,
    ) -> Session:
        """Record a completed session directly (for staging history)."""
        if posix(end) < posix(start):
            raise ValueError("a session cannot end before it starts")
        with self._lock:
            evolution = self._evolution(station_id)
            st = evolution.station
            port = st.port(port_number)
            user, credential = evolution.new_driver()
            session = Session(
                sessionID=evolution.next_session_id(),
                stationID=st.stationID,
                portNumber=port.portNumber,
                Energy=round(float(energy_kwh), 6),
                startTime=instant(whole_seconds(posix(start))),
                endTime=instant(whole_seconds(posix(end))),
                userID=user if user_id is None else user_id,
                credentialID=credential if credential_id is None else credential_id,
            )
            st.sessions.append(session)
            return session

    def shed(
        self,
        station_id: str,
        limit: ShedLimit | None = None,
        port_limits: dict[str, ShedLimit] | None = None,
        minutes: int = 0,
    ) -> None:
        """Accept a shed for the whole station (``limit``) or for listed ports; it reaches the station
        after ``propagation_delay`` simulated seconds and lapses after ``minutes`` (0 = until cleared).

        Raises ShedValueError for a malformed request (``code`` 187) or a value out of range (188),
        both before looking at the station, and ShedConflictError (190) when a shed of the other kind
        is active.
        """
        checked = check_shed(limit, port_limits, minutes)
        with self._lock:
            now = self._now()
            evolution = self._evolution(station_id, now)
            evolution.commands.append(self._plan(checked, evolution, now))

    def shed_group(self, sg_id: int | str, limit: ShedLimit, minutes: int = 0) -> list[str]:
        """Shed every station of a group with the same station-wide limit; all or nothing. Returns the IDs."""
        checked = check_shed(limit, None, minutes)
        with self._lock:
            now = self._now()
            group = self.group(sg_id)
            evolutions = [self._evolution(sid, now) for sid in group.station_ids]
            plans = [self._plan(checked, evolution, now) for evolution in evolutions]
            for evolution, plan in zip(evolutions, plans):
                evolution.commands.append(plan)
            return [evolution.station.stationID for evolution in evolutions]

    def clear_shed(self, station_id: str) -> None:
        """Clear every shed on the station (the API cannot clear a single port); subject to the same delay."""
        with self._lock:
            now = self._now()
            self._evolution(station_id, now).commands.append(ShedCommand(now + self.propagation_delay, {}))

    def clear_group_shed(self, sg_id: int | str) -> list[str]:
        """Clear the sheds of every station in a group. Returns the IDs."""
        with self._lock:
            group = self.group(sg_id)
            for sid in group.station_ids:
                self.clear_shed(sid)
            return list(group.station_ids)

    # ------------------------------------------------------------------ public API: shed events

    def create_event(self, request: EventRequest) -> ShedEvent:
        """Schedule a shed that the cloud starts at ``request.start`` and lifts ``request.minutes`` later,
        on one station or every station of a group (see ``events`` for how it meets other sheds).

        Raises ShedValueError (187, 188) before looking at the target, Unknown{Station,Group}Error
        (102), and ShedConflictError (190) when a station has a shed of the other kind accepted now.
        """
        with self._lock:
            now = self._now()
            check_event(request, now)
            group = self.group(request.sg_id) if request.sg_id else None
            ids = list(group.station_ids) if group else [self._get(str(request.station_id), now).stationID]
            for sid in ids:
                commanded = self._evolution(sid, now).commanded_sheds(now)
                refuse_other_kind(sid, commanded, request.limit.kind, "scheduling an event")
            return self._events.add(request, ids, group.sgID if group else None)

    def remove_event(self, event_id: int) -> ShedEvent:
        """Cancel an event before its start, or end it early (its sheds lift after the propagation
        delay). Raises UnknownEventError (191) for an unknown, removed or ended event."""
        with self._lock:
            now = self._now()
            event = self._events.removable(event_id, now)
            for sid in event.station_ids:
                evolution = self._evolution(sid, now)
                command = event.removal_command(evolution.commanded_sheds(now), now + self.propagation_delay)
                if command is not None:
                    evolution.commands.append(command)
            event.pending.clear()
            event.removed_at = now
            return event

    def events(self) -> list[ShedEvent]:
        """Every shed event created, in creation order (the objects themselves)."""
        return self._events.all()

    def event_snapshots(self) -> list[dict[str, Any]]:
        """A JSON-friendly picture of every event and where it stands now (the admin endpoint's)."""
        with self._lock:
            now = self._now()
            return [event.view(now) for event in self._events.all()]

    def snapshot(self, station_id: str) -> dict[str, Any]:
        """A JSON-friendly picture of one station's true state (used by the admin endpoint)."""
        with self._lock:
            evolution = self._evolution(station_id)
            return station_picture(evolution.station, evolution.commanded_sheds(self._now()),
                                   self.load_view(evolution.station.stationID))

    def withdraw_station(self, station_id: str) -> None:
        """Take a station off the account (moved to another organisation, not yet commissioned): every operation
        answers as for an unknown station until :meth:`restore_station` brings it back, state kept."""
        with self._lock:
            station = self._get(station_id)
            del self._stations[station.stationID]
            for group in self.groups:
                if station.stationID in group.station_ids:
                    group.station_ids.remove(station.stationID)
            self._withdrawn[station.stationID] = station

    def restore_station(self, station_id: str) -> None:
        """Put a withdrawn station back on the account, in its groups and its place in every listing."""
        with self._lock:
            try:
                station = self._withdrawn.pop(str(station_id).strip())
            except KeyError:
                raise UnknownStationError(f"station {station_id!r} was not withdrawn") from None
            order = {st.stationID: st.index for st in [*self._stations.values(), station]}
            self._stations[station.stationID] = station
            self._stations = dict(sorted(self._stations.items(), key=lambda item: order[item[0]]))
            for group in self.groups:
                if group.sgID in station.sgIDs:
                    group.station_ids = sorted([*group.station_ids, station.stationID], key=order.__getitem__)

    def _plan(self, checked: CheckedShed, evolution: StationEvolution, now: float) -> ShedCommand:
        """The command carrying an accepted shed to the station after the propagation delay."""
        return plan_shed(checked, evolution.station, evolution.commanded_sheds(now), now + self.propagation_delay)
