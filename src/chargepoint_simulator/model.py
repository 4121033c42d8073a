"""The simulated organisation: its stations, ports, load, sheds, charging sessions and alarms.

The model is lazy. Nothing runs in the background: each station remembers the simulated instant it
was last brought up to date and, when it is next touched, replays the events (port status changes,
alarms, shed start/end) between then and the clock's present reading. Every station draws from its
own random stream seeded from ``(seed, stationID)``, and energy is integrated only between events,
so the answers depend on the seed, the clock readings and the explicit writes, never on how often or
in which order stations were read.

Field names follow the API's spelling where the API has one (``stationID``, ``ports[i].Status``, ...),
so tests can compare what a client decoded with the true state directly. Units: kW for power and
load, kWh for energy, aware UTC datetimes for instants.
"""
from __future__ import annotations

import logging
import math
import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Any, Iterable

from chargepoint_simulator.clock import SimClock

_log = logging.getLogger(__name__)

AVAILABLE = "AVAILABLE"
INUSE = "INUSE"
UNREACHABLE = "UNREACHABLE"
UNKNOWN = "UNKNOWN"
STATUSES = (AVAILABLE, INUSE, UNREACHABLE, UNKNOWN)

# No random transition happens in the first minutes after start-up, so that a test which reads the
# truth and then asks the API a moment later sees the same thing.
QUIET_SECONDS = 600.0
IDLE_MEAN_SECONDS = 5400.0
SESSION_MIN_SECONDS = 1800.0
SESSION_MAX_SECONDS = 4 * 3600.0
ALARM_MEAN_SECONDS = 2 * 86400.0

ALARM_TYPES = (
    "Reachable",
    "Unreachable",
    "GFCI Trip",
    "Circuit Sharing Current Reduced",
    "Power Outage",
    "Pilot Signal Error",
    "Cable Management Fault",
)

_ORG_NAMES = (
    "Lakeside Facilities",
    "Northwind Campus Services",
    "Riverbend Municipal Fleet",
    "Summit Properties",
    "Harborview Parking",
)

# (site name, street, city, state, postal code, latitude, longitude, UTC offset)
_SITES = (
    ("Oakland Garage", "2100 Harbor Blvd", "Oakland", "CA", "94607", 37.795500, -122.279000, "-08:00"),
    ("Austin Campus", "455 Innovation Way", "Austin", "TX", "78701", 30.267200, -97.743100, "-06:00"),
    ("Denver Depot", "80 Commerce St", "Denver", "CO", "80202", 39.739200, -104.990300, "-07:00"),
    ("Chicago Tower", "1200 Lakeshore Dr", "Chicago", "IL", "60601", 41.885800, -87.618100, "-06:00"),
    ("Boston Yard", "30 Market Sq", "Boston", "MA", "02109", 42.360100, -71.058900, "-05:00"),
)

_TWO_PORT_MODELS = ("CT4021-GW1", "CT4025-GW1", "CT4020-HD")
_ONE_PORT_MODELS = ("CT4011-GW1", "CT4013-GW1", "CPF50-L18")
_CURRENTS = (16, 24, 30, 32)
_VOLTAGE = 240


class ModelError(Exception):
    """Base of the model's refusals."""


class UnknownStationError(ModelError, KeyError):
    """No station has this ID."""


class UnknownPortError(ModelError, KeyError):
    """The station has no port with this number."""


class UnknownGroupError(ModelError, KeyError):
    """No station group has this ID."""


class ShedError(ModelError, ValueError):
    """A shed request the service would refuse."""


class ShedValueError(ShedError):
    """A shed value out of range, or a request mixing kW and percent."""


class ShedConflictError(ShedError):
    """A shed of the other kind (kW vs percent) is active; it must be cleared first."""


def _dt(ts: float) -> datetime:
    """POSIX seconds to an aware UTC datetime, in whole seconds as the API reports instants."""
    return datetime.fromtimestamp(math.floor(ts), timezone.utc)


def _ts(value: datetime) -> float:
    """Aware (or naive-as-UTC) datetime to POSIX seconds."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


@dataclass
class StationGroup:
    """A station group of the organisation."""

    sgID: int
    sgName: str
    parentGroupID: str = "0"
    stationRightsProfile: str = "network_manager"
    station_ids: list[str] = field(default_factory=list)


@dataclass
class Organization:
    """The organisation the API account belongs to."""

    orgID: str
    organizationName: str


@dataclass
class Pricing:
    """One price schedule of a station (pricingSpecification)."""

    Type: str
    startTime: time
    endTime: time
    minPrice: float
    maxPrice: float
    initialUnitPriceDuration: int
    unitPricePerHour: float
    unitPricePerHourThereafter: float
    unitPricePerSession: float
    unitPricePerKWh: float
    sessionTime: str


@dataclass
class ActiveSession:
    """The charging session in progress on a port; ``demand_kw`` is what the vehicle would draw unshed."""

    sessionID: int
    startTime: datetime
    userID: str
    credentialID: str
    demand_kw: float
    energy_kwh: float = 0.0


@dataclass
class Session:
    """A completed charging session (sessionSearchResultdata)."""

    sessionID: int
    stationID: str
    portNumber: str
    Energy: float
    startTime: datetime
    endTime: datetime
    userID: str
    credentialID: str


@dataclass
class Alarm:
    """An uncleared alarm; an empty ``portNumber`` means it concerns the whole station."""

    stationID: str
    portNumber: str
    alarmType: str
    alarmTime: datetime


@dataclass(frozen=True)
class ShedLimit:
    """One shed value: either an absolute cap in kW or a percentage (0-100) of the present draw."""

    allowed_kw: float | None = None
    percent: int | None = None

    @property
    def kind(self) -> str:
        """``"kw"`` or ``"percent"``."""
        return "kw" if self.allowed_kw is not None else "percent"


@dataclass
class PortShed:
    """The shed applied to one port; ``expires_at`` is POSIX seconds or None (until cleared)."""

    limit: ShedLimit
    expires_at: float | None = None

    def active_at(self, ts: float) -> bool:
        """True while the shed has not lapsed."""
        return self.expires_at is None or ts < self.expires_at


@dataclass
class _ShedCommand:
    """An accepted shed or clear: the full shed map of the station once it reaches the station."""

    accepted_at: float
    effective_at: float
    ports: dict[str, PortShed]


@dataclass
class Port:
    """One charging port: its fixed properties (portData) and its live state.

    To stage a status prefer ``Model.set_port_status``: it also starts or records the session that
    gives an INUSE port its load, user and credential.
    """

    portNumber: str
    stationName: str
    Lat: float
    Long: float
    Description: str
    Reservable: int
    Level: str
    Mode: str
    Connector: str
    Voltage: int
    Current: int
    Power: float
    estimatedCost: float
    Status: str = AVAILABLE
    TimeStamp: datetime | None = None
    session: ActiveSession | None = None
    held: bool = False
    next_event: float | None = field(default=None, repr=False)

    @property
    def userID(self) -> str:
        """The driver's user ID while a session is active, else empty."""
        return self.session.userID if self.Status == INUSE and self.session else ""

    @property
    def credentialID(self) -> str:
        """The credential (RFID card) used for the active session, else empty."""
        return self.session.credentialID if self.Status == INUSE and self.session else ""


@dataclass
class Station:
    """One charging station with its ports, price schedules, uncleared alarms and completed sessions."""

    stationID: str
    stationManufacturer: str
    stationModel: str
    stationMacAddr: str
    stationSerialNum: str
    stationActivationDate: datetime
    stationName: str
    Address: str
    City: str
    State: str
    Country: str
    postalCode: str
    Lat: float
    Long: float
    ports: list[Port]
    pricing: list[Pricing]
    lastModifiedDate: datetime
    modTimeStamp: datetime
    mainPhone: str
    timezoneOffset: str
    currencyCode: str
    orgID: str
    organizationName: str
    sgIDs: list[int]
    sgNames: list[str]
    alarms: list[Alarm] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    index: int = field(default=0, repr=False)
    _rng: random.Random | None = field(default=None, repr=False, compare=False)
    _advanced_to: float = field(default=0.0, repr=False, compare=False)
    _seg_start: float = field(default=0.0, repr=False, compare=False)
    _next_alarm: float = field(default=math.inf, repr=False, compare=False)
    _commands: list[_ShedCommand] = field(default_factory=list, repr=False, compare=False)
    _session_counter: int = field(default=0, repr=False, compare=False)

    @property
    def numPorts(self) -> int:
        """How many ports the station has."""
        return len(self.ports)

    @property
    def sgID(self) -> str:
        """The station's group IDs as the API lists them: comma-separated in one string."""
        return ", ".join(str(sg) for sg in self.sgIDs)

    @property
    def sgName(self) -> str:
        """The station's group names, comma-separated."""
        return ", ".join(self.sgNames)

    @property
    def full_address(self) -> str:
        """The one-line address getLoad reports."""
        return f"{self.Address}, {self.City}, {self.State}, {self.postalCode}, {self.Country}"

    def port(self, port_number: str | int) -> Port:
        """The port with this number (``"1"`` or ``1``)."""
        wanted = str(port_number).strip()
        for port in self.ports:
            if port.portNumber == wanted:
                return port
        raise UnknownPortError(f"Station {self.stationID} has no port {wanted}")


def _round_s(ts: float) -> float:
    """Instants are kept to whole seconds, as the API reports them."""
    return float(round(ts))


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
        self._stations: dict[str, Station] = {}
        self._withdrawn: dict[str, Station] = {}  # taken off the account by withdraw_station
        self.groups: list[StationGroup] = []
        self._build(stations)

    # ------------------------------------------------------------------ construction

    def _build(self, count: int) -> None:
        """Create the organisation, its groups and the static part of every station."""
        rng = random.Random(f"chargepoint-sim/{self.seed}/org")
        org_name = rng.choice(_ORG_NAMES)
        self.organization = Organization(orgID=f"1:ORG{rng.randint(1000, 99999):05d}", organizationName=org_name)
        self.cpn_instances = [
            {"cpnID": "1", "cpnName": "CPN NA", "cpnDescription": "ChargePoint Network (North America)"},
            {"cpnID": "2", "cpnName": "CPN EU", "cpnDescription": "ChargePoint Network (Europe)"},
        ]
        site_count = max(1, min(len(_SITES), 3, count))
        sites = rng.sample(_SITES, site_count)
        sg_ids = rng.sample(range(20000, 99999), site_count + 1)
        site_groups = [StationGroup(sgID=sg_ids[i], sgName=sites[i][0]) for i in range(site_count)]
        dr_group = StationGroup(sgID=sg_ids[-1], sgName="Demand Response")
        self.groups = site_groups + [dr_group]
        short = org_name.split()[0].upper()
        start = _dt(self._t0)
        for index in range(count):
            site_index = index % site_count
            site = sites[site_index]
            groups = [site_groups[site_index]]
            if index % 3 == 0:
                groups.append(dr_group)
            station = self._make_station(rng, index, site, groups, short, start)
            for group in groups:
                group.station_ids.append(station.stationID)
            self._stations[station.stationID] = station
        _log.debug("built %d stations for %s (%s)", count, org_name, self.organization.orgID)

    def _make_station(
        self,
        rng: random.Random,
        index: int,
        site: tuple[Any, ...],
        groups: list[StationGroup],
        short: str,
        start: datetime,
    ) -> Station:
        """The fixed facts of one station."""
        site_name, street, city, state, postal, lat, lon, tz = site
        station_id = f"1:{10001 + index}"
        two_ports = index < 2 or rng.random() < 0.6
        model = rng.choice(_TWO_PORT_MODELS if two_ports else _ONE_PORT_MODELS)
        name = f"{short} / {site_name.upper()} {index + 1:03d}"
        s_lat = round(lat + rng.uniform(-0.002, 0.002), 6)
        s_lon = round(lon + rng.uniform(-0.002, 0.002), 6)
        current = rng.choice(_CURRENTS)
        reservable = 1 if rng.random() < 0.2 else 0
        ports = [
            Port(
                portNumber=str(n),
                stationName=name,
                Lat=round(s_lat + 0.00001 * (n - 1), 6),
                Long=s_lon,
                Description=f"Level 2 port {n}",
                Reservable=reservable,
                Level="L2",
                Mode="1",
                Connector="J1772",
                Voltage=_VOLTAGE,
                Current=current,
                Power=round(_VOLTAGE * current / 1000.0, 3),
                estimatedCost=0.0,
            )
            for n in range(1, (2 if two_ports else 1) + 1)
        ]
        activated = start - timedelta(days=rng.randint(60, 1800), seconds=rng.randint(0, 86399))
        modified = activated + timedelta(days=rng.randint(0, 50), seconds=rng.randint(0, 86399))
        high = rng.choice((0, 1))
        return Station(
            stationID=station_id,
            stationManufacturer="ChargePoint",
            stationModel=model,
            stationMacAddr=f"0024:B100:{0x0002 + ((index + 1) >> 16):04X}:{(index + 1) & 0xFFFF:04X}",
            stationSerialNum=str(rng.randint(10**11, 10**12 - 1)),
            stationActivationDate=activated,
            stationName=name,
            Address=street,
            City=city,
            State=state,
            Country="United States",
            postalCode=postal,
            Lat=s_lat,
            Long=s_lon,
            ports=ports,
            pricing=self._make_pricing(rng, high),
            lastModifiedDate=modified,
            modTimeStamp=modified,
            mainPhone="1-888-555-0142",
            timezoneOffset=tz,
            currencyCode="USD",
            orgID=self.organization.orgID,
            organizationName=self.organization.organizationName,
            sgIDs=[g.sgID for g in groups],
            sgNames=[g.sgName for g in groups],
            index=index,
        )

    @staticmethod
    def _make_pricing(rng: random.Random, split: int) -> list[Pricing]:
        """One all-day schedule, or a morning and an afternoon one."""
        spans = [(time(0, 0, 0), time(23, 59, 59))]
        if split:
            spans = [(time(0, 0, 0), time(11, 59, 59)), (time(12, 0, 0), time(23, 59, 59))]
        schedules = []
        for start, end in spans:
            hourly = round(rng.uniform(1.0, 3.0), 2)
            schedules.append(
                Pricing(
                    Type=rng.choice(("Hourly", "kWh", "Session")),
                    startTime=start,
                    endTime=end,
                    minPrice=1.0,
                    maxPrice=round(rng.uniform(15.0, 40.0), 2),
                    initialUnitPriceDuration=rng.choice((1, 2, 4)),
                    unitPricePerHour=hourly,
                    unitPricePerHourThereafter=round(hourly * 2, 2),
                    unitPricePerSession=round(rng.uniform(0.0, 2.0), 2),
                    unitPricePerKWh=round(rng.uniform(0.15, 0.45), 2),
                    sessionTime="Anytime",
                )
            )
        return schedules

    # ------------------------------------------------------------------ lazy evolution

    def _now(self) -> float:
        """The clock's present reading in POSIX seconds."""
        return self.clock.timestamp()

    def _get(self, station_id: str, now: float | None = None) -> Station:
        """The station brought up to ``now`` (default: the clock's present reading)."""
        try:
            station = self._stations[str(station_id).strip()]
        except KeyError:
            raise UnknownStationError(f"unknown station {station_id!r}") from None
        self._advance(station, self._now() if now is None else now)
        return station

    def _materialize(self, st: Station) -> None:
        """Draw the station's state at start-up: history, present port states, alarms."""
        rng = random.Random(f"chargepoint-sim/{self.seed}/{st.stationID}")
        st._rng = rng
        t0 = self._t0
        history: list[tuple[Port, float, float, float]] = []
        for port in st.ports:
            cursor = t0 - rng.uniform(1800.0, 7200.0)
            for _ in range(rng.randint(1, 5)):
                duration = rng.uniform(SESSION_MIN_SECONDS, SESSION_MAX_SECONDS)
                demand = port.Power * rng.uniform(0.5, 1.0)
                history.append((port, _round_s(cursor - duration), _round_s(cursor), demand))
                cursor -= duration + rng.uniform(1800.0, 12 * 3600.0)
        history.sort(key=lambda item: (item[1], item[0].portNumber))
        for port, start, end, demand in history:
            user, credential = self._new_driver(rng)
            st.sessions.append(
                Session(
                    sessionID=self._next_session_id(st),
                    stationID=st.stationID,
                    portNumber=port.portNumber,
                    Energy=round(demand * (end - start) / 3600.0, 6),
                    startTime=_dt(start),
                    endTime=_dt(end),
                    userID=user,
                    credentialID=credential,
                )
            )
        for port in st.ports:
            roll = rng.random()
            if roll < 0.35:
                started = _round_s(t0 - rng.uniform(300.0, 7200.0))
                demand = round(port.Power * rng.uniform(0.55, 1.0), 3)
                port.Status = INUSE
                port.TimeStamp = _dt(started)
                port.session = self._new_session(st, started, demand)
                port.session.energy_kwh = demand * (t0 - started) / 3600.0
                port.next_event = _round_s(t0 + QUIET_SECONDS + rng.uniform(0.0, 3 * 3600.0))
            elif roll < 0.40:
                port.Status = UNREACHABLE if roll < 0.38 else UNKNOWN
                port.TimeStamp = _dt(_round_s(t0 - rng.uniform(300.0, 3600.0)))
                port.next_event = _round_s(t0 + QUIET_SECONDS + rng.uniform(0.0, 1800.0))
            else:
                port.Status = AVAILABLE
                port.TimeStamp = _dt(_round_s(t0 - rng.uniform(600.0, 6 * 3600.0)))
                port.next_event = _round_s(t0 + QUIET_SECONDS + rng.expovariate(1.0 / IDLE_MEAN_SECONDS))
        if rng.random() < 0.4:
            for _ in range(rng.randint(1, 2)):
                self._random_alarm(st, _round_s(t0 - rng.uniform(3600.0, 3 * 86400.0)))
            st.alarms.sort(key=lambda a: a.alarmTime)
        st._next_alarm = _round_s(t0 + QUIET_SECONDS + rng.expovariate(1.0 / ALARM_MEAN_SECONDS))
        st._advanced_to = t0
        st._seg_start = t0

    def _next_session_id(self, st: Station) -> int:
        """Session IDs are per station, so they do not depend on the order stations are read in."""
        st._session_counter += 1
        return 100_000_000 + st.index * 1_000_000 + st._session_counter

    @staticmethod
    def _new_driver(rng: random.Random) -> tuple[str, str]:
        """A (userID, credentialID) pair."""
        return str(rng.randint(100000, 9999999)), f"CNCP{rng.randint(0, 9999999999):010d}"

    def _new_session(self, st: Station, start: float, demand_kw: float) -> ActiveSession:
        """A session starting at ``start`` for a newly drawn driver."""
        assert st._rng is not None
        user, credential = self._new_driver(st._rng)
        return ActiveSession(
            sessionID=self._next_session_id(st),
            startTime=_dt(start),
            userID=user,
            credentialID=credential,
            demand_kw=demand_kw,
        )

    def _advance(self, st: Station, until: float) -> None:
        """Replay the station's events up to ``until``."""
        if st._rng is None:
            self._materialize(st)
        if until <= st._advanced_to:
            return
        while True:
            step = self._next_breakpoint(st)
            if step > until:
                break
            self._commit_energy(st, step)
            for port in st.ports:
                if not port.held and port.next_event is not None and port.next_event <= step:
                    self._port_event(st, port, step)
            if st._next_alarm <= step:
                self._random_alarm(st, step)
                assert st._rng is not None
                st._next_alarm = _round_s(step + 60.0 + st._rng.expovariate(1.0 / ALARM_MEAN_SECONDS))
        st._advanced_to = until
        self._trim_commands(st)

    def _next_breakpoint(self, st: Station) -> float:
        """The earliest future instant at which something changes on this station."""
        times = [st._next_alarm]
        times.extend(p.next_event for p in st.ports if not p.held and p.next_event is not None)
        for command in st._commands:
            if command.effective_at > st._seg_start:
                times.append(command.effective_at)
            for shed in command.ports.values():
                if shed.expires_at is not None and shed.expires_at > st._seg_start:
                    times.append(shed.expires_at)
        return min(times)

    def _commit_energy(self, st: Station, until: float) -> None:
        """Add the energy delivered since the last breakpoint to each active session."""
        if until <= st._seg_start:
            return
        hours = (until - st._seg_start) / 3600.0
        sheds = self._effective_sheds(st, st._seg_start)
        for port in st.ports:
            if port.Status == INUSE and port.session is not None:
                port.session.energy_kwh += self._port_kw(port, sheds.get(port.portNumber)) * hours
        st._seg_start = until

    def _port_event(self, st: Station, port: Port, at: float) -> None:
        """A random status change of one port."""
        rng = st._rng
        assert rng is not None
        if port.Status == INUSE:
            self._finish_session(st, port, at)
            self._set_idle(port, AVAILABLE, at, rng)
        elif port.Status == AVAILABLE:
            roll = rng.random()
            if roll < 0.04:
                port.Status, port.TimeStamp = UNREACHABLE, _dt(at)
                port.next_event = _round_s(at + rng.uniform(300.0, 3600.0))
            elif roll < 0.06:
                port.Status, port.TimeStamp = UNKNOWN, _dt(at)
                port.next_event = _round_s(at + rng.uniform(300.0, 1800.0))
            else:
                demand = round(port.Power * rng.uniform(0.55, 1.0), 3)
                port.Status, port.TimeStamp = INUSE, _dt(at)
                port.session = self._new_session(st, at, demand)
                port.next_event = _round_s(at + rng.uniform(SESSION_MIN_SECONDS, SESSION_MAX_SECONDS))
        else:
            self._set_idle(port, AVAILABLE, at, rng)

    @staticmethod
    def _set_idle(port: Port, status: str, at: float, rng: random.Random) -> None:
        """End whatever the port was doing and draw when it next changes."""
        port.Status, port.TimeStamp = status, _dt(at)
        port.session = None
        port.next_event = _round_s(at + 60.0 + rng.expovariate(1.0 / IDLE_MEAN_SECONDS))

    def _finish_session(self, st: Station, port: Port, at: float) -> Session | None:
        """Record the port's active session as completed at ``at``."""
        active = port.session
        port.session = None
        if active is None:
            return None
        session = Session(
            sessionID=active.sessionID,
            stationID=st.stationID,
            portNumber=port.portNumber,
            Energy=round(active.energy_kwh, 6),
            startTime=active.startTime,
            endTime=_dt(at),
            userID=active.userID,
            credentialID=active.credentialID,
        )
        st.sessions.append(session)
        return session

    def _random_alarm(self, st: Station, at: float) -> None:
        """Raise a randomly chosen alarm, station-wide or on one port."""
        rng = st._rng
        assert rng is not None
        alarm_type = rng.choice(ALARM_TYPES)
        port = "" if rng.random() < 0.4 else rng.choice(st.ports).portNumber
        st.alarms.append(Alarm(st.stationID, port, alarm_type, _dt(at)))

    # ------------------------------------------------------------------ shed bookkeeping

    def _effective_sheds(self, st: Station, at: float) -> dict[str, PortShed]:
        """The sheds the station itself applies at ``at`` (after the propagation delay)."""
        current: _ShedCommand | None = None
        for command in st._commands:
            if command.effective_at <= at:
                current = command
        if current is None:
            return {}
        return {n: s for n, s in current.ports.items() if s.active_at(at)}

    def _commanded_sheds(self, st: Station, at: float) -> dict[str, PortShed]:
        """The sheds the cloud has accepted, whether or not they have reached the station yet."""
        if not st._commands:
            return {}
        last = st._commands[-1]
        return {n: s for n, s in last.ports.items() if s.active_at(at)}

    def _trim_commands(self, st: Station) -> None:
        """Forget commands superseded before the last breakpoint."""
        keep_from = 0
        for i, command in enumerate(st._commands):
            if command.effective_at <= st._seg_start:
                keep_from = i
        if keep_from:
            del st._commands[:keep_from]

    @staticmethod
    def _port_kw(port: Port, shed: PortShed | None) -> float:
        """The power the port draws: the session's demand, reduced by any shed."""
        if port.Status != INUSE or port.session is None:
            return 0.0
        demand = port.session.demand_kw
        if shed is None:
            return round(demand, 3)
        if shed.limit.allowed_kw is not None:
            return round(min(demand, shed.limit.allowed_kw), 3)
        return round(demand * (1.0 - (shed.limit.percent or 0) / 100.0), 3)

    @staticmethod
    def _check_limit(limit: ShedLimit) -> None:
        """Refuse a value the service would refuse (ShedValueError)."""
        if (limit.allowed_kw is None) == (limit.percent is None):
            raise ShedValueError("Give either an allowed load in kW or a percentage, not both or neither")
        if limit.allowed_kw is not None and (not math.isfinite(limit.allowed_kw) or limit.allowed_kw < 0):
            raise ShedValueError(f"Allowed load must be a non-negative number of kW, not {limit.allowed_kw}")
        if limit.percent is not None and not (0 <= limit.percent <= 100):
            raise ShedValueError(f"Percent shed must be between 0 and 100, not {limit.percent}")

    def _plan_shed(
        self,
        st: Station,
        now: float,
        limit: ShedLimit | None,
        port_limits: dict[str, ShedLimit] | None,
        minutes: int,
    ) -> _ShedCommand:
        """Validate a shed against the station and build the command that applies it."""
        limits = [limit] if limit is not None else list((port_limits or {}).values())
        if not limits or (limit is not None and port_limits):
            raise ShedValueError("Shed either the whole station or listed ports, with one value each")
        for one in limits:
            self._check_limit(one)
        kinds = {one.kind for one in limits}
        if len(kinds) > 1:
            raise ShedValueError("A shed request must use kW or percent throughout, not both")
        if minutes < 0:
            raise ShedValueError(f"The timeInterval must be >= 0 minutes, not {minutes}")
        kind = kinds.pop()
        commanded = self._commanded_sheds(st, now)
        active_kinds = {shed.limit.kind for shed in commanded.values()}
        if active_kinds - {kind}:
            other = "kW" if kind == "percent" else "percent"
            raise ShedConflictError(
                f"Station {st.stationID} already has a {other} shed; clear the shed first "
                f"(clearShedState) before shedding by {'kW' if kind == 'kw' else 'percent'}"
            )
        effective = now + self.propagation_delay
        expires = effective + minutes * 60.0 if minutes > 0 else None
        if limit is not None:
            ports = {p.portNumber: PortShed(limit, expires) for p in st.ports}
        else:
            ports = dict(commanded)
            for number, one in (port_limits or {}).items():
                ports[st.port(number).portNumber] = PortShed(one, expires)
        return _ShedCommand(accepted_at=now, effective_at=effective, ports=ports)

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
            st = self._get(station_id, now)
            sheds = self._effective_sheds(st, now)
            ports = []
            for port in st.ports:
                shed = sheds.get(port.portNumber)
                ports.append(
                    {
                        "portNumber": port.portNumber,
                        "userID": port.userID,
                        "credentialID": port.credentialID,
                        "shedState": 1 if shed else 0,
                        "portLoad": self._port_kw(port, shed),
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
            st = self._get(station_id, now)
            return self._effective_sheds(st, now) if effective else self._commanded_sheds(st, now)

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
            st = self._get(station_id, now)
            port = st.port(port_number)
            self._commit_energy(st, now)
            assert st._rng is not None
            if port.Status == INUSE and status != INUSE:
                self._finish_session(st, port, now)
            if status == INUSE:
                demand = port.Power if load_kw is None else float(load_kw)
                if port.Status != INUSE or port.session is None:
                    port.session = self._new_session(st, now, demand)
                elif load_kw is not None:
                    port.session.demand_kw = demand
            if port.Status != status:
                port.TimeStamp = _dt(now)
            port.Status = status
            port.held = hold
            if hold:
                port.next_event = None
            elif status == INUSE:
                port.next_event = _round_s(now + st._rng.uniform(SESSION_MIN_SECONDS, SESSION_MAX_SECONDS))
            else:
                port.next_event = _round_s(now + 60.0 + st._rng.expovariate(1.0 / IDLE_MEAN_SECONDS))
            return port

    def add_alarm(self, station_id: str, alarm_type: str, port_number: str | int | None = None) -> Alarm:
        """Raise an alarm now, on one port or (``port_number=None``) on the whole station."""
        with self._lock:
            now = self._now()
            st = self._get(station_id, now)
            port = "" if port_number in (None, "") else st.port(port_number).portNumber
            alarm = Alarm(st.stationID, port, alarm_type, _dt(now))
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

            def matches(alarm: Alarm) -> bool:
                if port is not None and alarm.portNumber != port:
                    return False
                if since is not None and alarm.alarmTime < since:
                    return False
                if until is not None and alarm.alarmTime > until:
                    return False
                return alarm_type in (None, "") or alarm.alarmType == alarm_type

            kept = [a for a in st.alarms if not matches(a)]
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
        if _ts(end) < _ts(start):
            raise ValueError("a session cannot end before it starts")
        with self._lock:
            st = self._get(station_id)
            port = st.port(port_number)
            assert st._rng is not None
            user, credential = self._new_driver(st._rng)
            session = Session(
                sessionID=self._next_session_id(st),
                stationID=st.stationID,
                portNumber=port.portNumber,
                Energy=round(float(energy_kwh), 6),
                startTime=_dt(_round_s(_ts(start))),
                endTime=_dt(_round_s(_ts(end))),
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

        Raises ShedValueError for bad values and ShedConflictError when a shed of the other kind is active.
        """
        with self._lock:
            now = self._now()
            st = self._get(station_id, now)
            st._commands.append(self._plan_shed(st, now, limit, port_limits, minutes))

    def shed_group(self, sg_id: int | str, limit: ShedLimit, minutes: int = 0) -> list[str]:
        """Shed every station of a group with the same station-wide limit; all or nothing. Returns the IDs."""
        with self._lock:
            now = self._now()
            group = self.group(sg_id)
            stations = [self._get(sid, now) for sid in group.station_ids]
            plans = [self._plan_shed(st, now, limit, None, minutes) for st in stations]
            for st, plan in zip(stations, plans):
                st._commands.append(plan)
            return [st.stationID for st in stations]

    def clear_shed(self, station_id: str) -> None:
        """Clear every shed on the station (the API cannot clear a single port); subject to the same delay."""
        with self._lock:
            now = self._now()
            st = self._get(station_id, now)
            st._commands.append(_ShedCommand(accepted_at=now, effective_at=now + self.propagation_delay, ports={}))

    def clear_group_shed(self, sg_id: int | str) -> list[str]:
        """Clear the sheds of every station in a group. Returns the IDs."""
        with self._lock:
            group = self.group(sg_id)
            for sid in group.station_ids:
                self.clear_shed(sid)
            return list(group.station_ids)

    def snapshot(self, station_id: str) -> dict[str, Any]:
        """A JSON-friendly picture of one station's true state (used by the admin endpoint)."""
        with self._lock:
            st = self._get(station_id)
            accepted = self._commanded_sheds(st, self._now())
            return {
                "stationID": st.stationID,
                "stationName": st.stationName,
                "stationModel": st.stationModel,
                "sgID": st.sgID,
                "sgName": st.sgName,
                "ports": [
                    {
                        "portNumber": p.portNumber,
                        "Status": p.Status,
                        "TimeStamp": p.TimeStamp.isoformat() if p.TimeStamp else None,
                        "Power": p.Power,
                        "held": p.held,
                        "userID": p.userID,
                        "credentialID": p.credentialID,
                        "demand_kw": p.session.demand_kw if p.session and p.Status == INUSE else 0.0,
                    }
                    for p in st.ports
                ],
                "load": self.load_view(st.stationID),
                "accepted_sheds": {
                    n: {"allowed_kw": s.limit.allowed_kw, "percent": s.limit.percent, "expires_at": s.expires_at}
                    for n, s in accepted.items()
                },
                "alarms": [
                    {"portNumber": a.portNumber, "alarmType": a.alarmType, "alarmTime": a.alarmTime.isoformat()}
                    for a in st.alarms
                ],
                "sessions": len(st.sessions),
            }
