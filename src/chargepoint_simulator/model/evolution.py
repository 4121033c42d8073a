"""How one station changes over simulated time, replayed lazily up to the instant it is read.

A ``StationEvolution`` holds what the replay needs and the API never shows: the station's random
stream, how far it has been replayed, when each port and the next alarm are due to change, and the
shed commands on their way to the station. Energy is integrated only between breakpoints (events,
sheds arriving or lapsing), so the result does not depend on how often the station is read.
"""
from __future__ import annotations

import math
import random

from chargepoint_simulator.model.entities import (
    AVAILABLE,
    INUSE,
    UNKNOWN,
    UNREACHABLE,
    ActiveSession,
    Alarm,
    Port,
    PortShed,
    Session,
    Station,
)
from chargepoint_simulator.model.instants import instant, whole_seconds
from chargepoint_simulator.model.sheds import ShedCommand

# No random transition happens in the first minutes after start-up, so that a test which reads the
# truth and then asks the API a moment later sees the same thing.
QUIET_SECONDS = 600.0
IDLE_MEAN_SECONDS = 5400.0
SESSION_MIN_SECONDS = 1800.0
SESSION_MAX_SECONDS = 4 * 3600.0
ALARM_MEAN_SECONDS = 2 * 86400.0
# An idle spell, and the gap between two random alarms, last at least this long.
MIN_GAP_SECONDS = 60.0

# When an available port next changes it goes unreachable or unknown with these chances; otherwise
# a vehicle plugs in.
UNREACHABLE_CHANCE = 0.04
UNKNOWN_CHANCE = 0.02
# A random alarm concerns the whole station with this chance, otherwise one of its ports.
STATION_ALARM_CHANCE = 0.4

ALARM_TYPES = (
    "Reachable",
    "Unreachable",
    "GFCI Trip",
    "Circuit Sharing Current Reduced",
    "Power Outage",
    "Pilot Signal Error",
    "Cable Management Fault",
)

_SESSION_ID_BASE = 100_000_000
_SESSION_IDS_PER_STATION = 1_000_000


class StationEvolution:
    """One station's replay state; instants are POSIX seconds, ``next_event`` is keyed by portNumber.

    A port's ``next_event`` is None while nothing is scheduled for it (it is held).
    """

    def __init__(self, station: Station, rng: random.Random, start: float) -> None:
        self.station = station
        self.rng = rng
        self.advanced_to = start
        self.segment_start = start
        self.next_alarm = math.inf
        self.next_event: dict[str, float | None] = {port.portNumber: None for port in station.ports}
        self.commands: list[ShedCommand] = []
        self.session_counter = 0

    # ------------------------------------------------------------------ identities and draws

    def next_session_id(self) -> int:
        """Session IDs are per station, so they do not depend on the order stations are read in."""
        self.session_counter += 1
        return _SESSION_ID_BASE + self.station.index * _SESSION_IDS_PER_STATION + self.session_counter

    def new_driver(self) -> tuple[str, str]:
        """A newly drawn (userID, credentialID) pair."""
        return str(self.rng.randint(100000, 9999999)), f"CNCP{self.rng.randint(0, 9999999999):010d}"

    def new_session(self, start: float, demand_kw: float) -> ActiveSession:
        """A session starting at ``start`` for a newly drawn driver."""
        user, credential = self.new_driver()
        return ActiveSession(
            sessionID=self.next_session_id(),
            startTime=instant(start),
            userID=user,
            credentialID=credential,
            demand_kw=demand_kw,
        )

    def session_end(self, at: float) -> float:
        """When a session starting at ``at`` ends."""
        return whole_seconds(at + self.rng.uniform(SESSION_MIN_SECONDS, SESSION_MAX_SECONDS))

    def idle_end(self, at: float) -> float:
        """When a port that falls idle at ``at`` next changes."""
        return whole_seconds(at + MIN_GAP_SECONDS + self.rng.expovariate(1.0 / IDLE_MEAN_SECONDS))

    # ------------------------------------------------------------------ replay

    def advance(self, until: float) -> None:
        """Replay the station's events up to ``until``; an earlier instant changes nothing."""
        if until <= self.advanced_to:
            return
        while True:
            step = self._next_breakpoint()
            if step > until:
                break
            self.commit_energy(step)
            for port in self.station.ports:
                due = self.next_event[port.portNumber]
                if not port.held and due is not None and due <= step:
                    self._port_event(port, step)
            if self.next_alarm <= step:
                self.random_alarm(step)
                self.next_alarm = whole_seconds(
                    step + MIN_GAP_SECONDS + self.rng.expovariate(1.0 / ALARM_MEAN_SECONDS)
                )
        self.advanced_to = until
        self._trim_commands()

    def _next_breakpoint(self) -> float:
        """The earliest future instant at which something changes on this station."""
        times = [self.next_alarm]
        for port in self.station.ports:
            due = self.next_event[port.portNumber]
            if not port.held and due is not None:
                times.append(due)
        for command in self.commands:
            if command.effective_at > self.segment_start:
                times.append(command.effective_at)
            for shed in command.ports.values():
                if shed.expires_at is not None and shed.expires_at > self.segment_start:
                    times.append(shed.expires_at)
        return min(times)

    def commit_energy(self, until: float) -> None:
        """Add the energy delivered since the last breakpoint to each active session."""
        if until <= self.segment_start:
            return
        hours = (until - self.segment_start) / 3600.0
        sheds = self.effective_sheds(self.segment_start)
        for port in self.station.ports:
            if port.Status == INUSE and port.session is not None:
                port.session.energy_kwh += port.draw_kw(sheds.get(port.portNumber)) * hours
        self.segment_start = until

    def _port_event(self, port: Port, at: float) -> None:
        """A random status change of one port."""
        if port.Status == INUSE:
            self.finish_session(port, at)
            self._become_available(port, at)
        elif port.Status == AVAILABLE:
            roll = self.rng.random()
            if roll < UNREACHABLE_CHANCE:
                port.Status, port.TimeStamp = UNREACHABLE, instant(at)
                self.next_event[port.portNumber] = whole_seconds(at + self.rng.uniform(300.0, 3600.0))
            elif roll < UNREACHABLE_CHANCE + UNKNOWN_CHANCE:
                port.Status, port.TimeStamp = UNKNOWN, instant(at)
                self.next_event[port.portNumber] = whole_seconds(at + self.rng.uniform(300.0, 1800.0))
            else:
                demand = round(port.Power * self.rng.uniform(0.55, 1.0), 3)
                port.Status, port.TimeStamp = INUSE, instant(at)
                port.session = self.new_session(at, demand)
                self.next_event[port.portNumber] = self.session_end(at)
        else:
            self._become_available(port, at)

    def _become_available(self, port: Port, at: float) -> None:
        """End whatever the port was doing and draw when it next changes."""
        port.Status, port.TimeStamp = AVAILABLE, instant(at)
        port.session = None
        self.next_event[port.portNumber] = self.idle_end(at)

    def finish_session(self, port: Port, at: float) -> None:
        """Record the port's active session, if any, as completed at ``at``."""
        active = port.session
        port.session = None
        if active is None:
            return
        self.station.sessions.append(
            Session(
                sessionID=active.sessionID,
                stationID=self.station.stationID,
                portNumber=port.portNumber,
                Energy=round(active.energy_kwh, 6),
                startTime=active.startTime,
                endTime=instant(at),
                userID=active.userID,
                credentialID=active.credentialID,
            )
        )

    def random_alarm(self, at: float) -> None:
        """Raise a randomly chosen alarm, station-wide or on one port."""
        alarm_type = self.rng.choice(ALARM_TYPES)
        port = "" if self.rng.random() < STATION_ALARM_CHANCE else self.rng.choice(self.station.ports).portNumber
        self.station.alarms.append(Alarm(self.station.stationID, port, alarm_type, instant(at)))

    # ------------------------------------------------------------------ staging

    def stage_status(self, port: Port, status: str, load_kw: float | None, hold: bool, at: float) -> None:
        """Set the port's status at ``at`` (the station is replayed up to ``at``); see ``Model.set_port_status``."""
        self.commit_energy(at)
        if port.Status == INUSE and status != INUSE:
            self.finish_session(port, at)
        if status == INUSE:
            demand = port.Power if load_kw is None else float(load_kw)
            if port.Status != INUSE or port.session is None:
                port.session = self.new_session(at, demand)
            elif load_kw is not None:
                port.session.demand_kw = demand
        if port.Status != status:
            port.TimeStamp = instant(at)
        port.Status = status
        port.held = hold
        if hold:
            self.next_event[port.portNumber] = None
        elif status == INUSE:
            self.next_event[port.portNumber] = self.session_end(at)
        else:
            self.next_event[port.portNumber] = self.idle_end(at)

    # ------------------------------------------------------------------ sheds

    def effective_sheds(self, at: float) -> dict[str, PortShed]:
        """The sheds the station itself applies at ``at`` (after the propagation delay)."""
        current: ShedCommand | None = None
        for command in self.commands:
            if command.effective_at <= at:
                current = command
        if current is None:
            return {}
        return current.active_at(at)

    def commanded_sheds(self, at: float) -> dict[str, PortShed]:
        """The sheds the cloud has accepted, whether or not they have reached the station yet."""
        if not self.commands:
            return {}
        return self.commands[-1].active_at(at)

    def _trim_commands(self) -> None:
        """Forget commands superseded before the last breakpoint."""
        keep_from = 0
        for i, command in enumerate(self.commands):
            if command.effective_at <= self.segment_start:
                keep_from = i
        if keep_from:
            del self.commands[:keep_from]
