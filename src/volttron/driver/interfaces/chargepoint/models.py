"""The plain typed values the layers hand each other: API answers, data sources and write actions.

Nothing above the client sees suds objects or the API's spelling. Fields the API leaves out are ``None``, never
an invented default, so a missing value stays visible.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timezone

_FLOOR = datetime.min.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class PortInfo:
    """Static data of one port, from getStations."""

    port_number: int
    station_name: str | None = None
    lat: float | None = None
    long: float | None = None
    description: str | None = None
    reservable: bool | None = None
    status: str | None = None
    level: str | None = None
    mode: int | None = None
    connector: str | None = None
    voltage: float | None = None
    current: float | None = None
    power: float | None = None


@dataclass(frozen=True)
class Pricing:
    """One pricing specification of a station (a station has zero to two)."""

    type: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    min_price: float | None = None
    max_price: float | None = None
    initial_unit_price_duration: int | None = None
    unit_price_per_hour: float | None = None
    unit_price_per_hour_thereafter: float | None = None
    unit_price_per_session: float | None = None
    unit_price_per_kwh: float | None = None
    session_time: str | None = None


@dataclass(frozen=True)
class StationInfo:
    """Inventory data of one station, from getStations."""

    station_id: str
    manufacturer: str | None = None
    model: str | None = None
    mac_addr: str | None = None
    serial_num: str | None = None
    address: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    postal_code: str | None = None
    ports: dict[int, PortInfo] = field(default_factory=dict)
    pricing: tuple[Pricing, ...] = ()
    num_ports: int | None = None
    main_phone: str | None = None
    currency_code: str | None = None
    org_id: str | None = None
    organization_name: str | None = None
    sg_id: str | None = None
    sg_name: str | None = None


@dataclass(frozen=True)
class PortStatus:
    """Live status of one port, from getStationStatus."""

    port_number: int
    status: str | None
    timestamp: datetime | None


@dataclass(frozen=True)
class PortLoad:
    """Live load and shed state of one port, from getLoad (kW)."""

    port_number: int
    port_load: float | None
    allowed_load: float | None
    percent_shed: float | None
    shed_state: int | None
    user_id: str | None = None
    credential_id: str | None = None


@dataclass(frozen=True)
class StationLoad:
    """Live load of one station, from getLoad (kW)."""

    station_id: str
    station_load: float | None
    ports: dict[int, PortLoad] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupLoad:
    """Live load of one station group, from getLoad by sgID: the group's fields and each member station's load.

    ``sg_load`` is the group's total in kW as the API reports it; ``stations`` are keyed by station ID.
    """

    sg_id: int | None
    group_name: str | None
    num_stations: int | None
    sg_load: float | None
    stations: dict[str, StationLoad] = field(default_factory=dict)


Member = tuple[str, int]  # (station ID, port number): how a group's knowledge addresses one port


def group_sheds(group: GroupLoad) -> dict[Member, Shed]:
    """The sheds a group's getLoad answer shows in force, per (member station, port)."""
    return {(station_id, port): shed for station_id, load in group.stations.items()
            for port, shed in sheds_in(load).items()}


def group_ports(group: GroupLoad) -> frozenset[Member]:
    """Every (member station, port) pair of a group's getLoad answer."""
    return frozenset((station_id, port) for station_id, load in group.stations.items() for port in load.ports)


@dataclass(frozen=True)
class Alarm:
    """One alarm, from getAlarms; ``port_number`` is None for a station-wide alarm."""

    station_id: str
    port_number: int | None
    alarm_type: str | None
    alarm_time: datetime | None
    record_number: int | None = None

    def recency(self) -> tuple[datetime, int]:
        """Sort key of the most recent alarm: its time, then its record number."""
        return (self.alarm_time or _FLOOR, self.record_number or 0)


@dataclass(frozen=True)
class Session:
    """One completed charging session, from getChargingSessionData."""

    station_id: str
    port_number: int | None
    session_id: str | None
    energy: float | None
    start_time: datetime | None
    end_time: datetime | None
    user_id: str | None = None
    credential_id: str | None = None

    def recency(self) -> tuple[datetime, datetime]:
        """Sort key of the most recent session: end time (start time while open), then start time."""
        return (self.end_time or self.start_time or _FLOOR, self.start_time or _FLOOR)


@dataclass(frozen=True)
class RightsEntry:
    """One station group's rights profile for a station, from getStationRights."""

    sg_id: str | None
    sg_name: str | None
    profile: str | None


class Source(enum.Enum):
    """The API data a register reads; one fetch per source serves every register of a device.

    GROUP_LOAD is getLoad asked by sgID, for group devices (:data:`STATION_SOURCES` are the others).
    """

    STATIONS = "getStations"
    STATUS = "getStationStatus"
    LOAD = "getLoad"
    GROUP_LOAD = "getLoad by sgID"
    ALARMS = "getAlarms"
    RIGHTS = "getStationRights"
    SESSIONS = "getChargingSessionData"

    # Members are singletons: identity is their hash, computed in C (Enum's own hashes the name in Python, and
    # sources key every cache lookup of every poll).
    __hash__ = object.__hash__


STATION_SOURCES = tuple(source for source in Source if source is not Source.GROUP_LOAD)
"""What a station device reads: one API operation each (a source's value is its operation's name)."""
STATIC_SOURCES = frozenset({Source.STATIONS, Source.RIGHTS})  # data that changes a few times a year


@dataclass(frozen=True)
class Freshness:
    """How old an answer may be to serve a poll: ``live`` for status, load and alarms (cacheExpiration),
    ``static`` for inventory, pricing and rights and as the sessions' safety refresh (0: as ``live``)."""

    live: float
    static: float = 0.0

    def of(self, source: Source) -> float:
        return self.static if source in STATIC_SOURCES and self.static > 0 else self.live

    @property
    def sessions(self) -> float:
        return self.static if self.static > 0 else self.live


class WriteOperation(enum.Enum):
    """The API write a validated point write turns into."""

    SHED = "shedLoad"
    CLEAR_SHED = "clearShedState"
    CLEAR_ALARMS = "clearAlarms"


@dataclass(frozen=True)
class WriteAction:
    """What a validated write asks of the API: the operation, the port (None = station) and the shed value."""

    operation: WriteOperation
    port: int | None = None
    allowed_kw: float | None = None
    percent: float | None = None


class ShedKind(enum.Enum):
    """The two kinds of load shed; the API takes one kind at a time per station."""

    KW = "kW"
    PERCENT = "percent"


KW_RESOLUTION = 0.001  # the API takes and gives kW as decimals with three places


@dataclass(frozen=True)
class Shed:
    """One shed value: a cap in kW, or a percent of the present output shed."""

    kind: ShedKind
    value: float

    def __str__(self) -> str:
        return f"{self.value:g} kW" if self.kind is ShedKind.KW else f"{self.value:g} %"

    def matches(self, other: "Shed | None") -> bool:
        """Equal as the API reports it (kW to three decimals)."""
        return other is not None and other.kind is self.kind and abs(other.value - self.value) < 0.0005


def sheds_in(load: StationLoad) -> dict[int, Shed]:
    """The sheds a getLoad answer shows in force, per port.

    The API reports 0 for the kind not in force; a shed port with both at 0 is a cap at 0 kW (a 0 % shed, which
    sheds nothing, is refused by this driver, so it cannot be the driver's own).
    """
    found = {}
    for number, port in load.ports.items():
        if port.shed_state != 1:
            continue
        if port.percent_shed:
            found[number] = Shed(ShedKind.PERCENT, port.percent_shed)
        else:
            found[number] = Shed(ShedKind.KW, port.allowed_load or 0.0)
    return found

