"""The things the simulated organisation is made of, as plain dataclasses in the API's spelling.

Field names follow the API where it has one (``stationID``, ``ports[i].Status``, ...), so tests can
compare what a client decoded with the true state directly. Units: kW for power and load, kWh for
energy, aware UTC datetimes for instants. How a station changes over time is not kept here but in
``evolution``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time

AVAILABLE = "AVAILABLE"
INUSE = "INUSE"
UNREACHABLE = "UNREACHABLE"
UNKNOWN = "UNKNOWN"
STATUSES = (AVAILABLE, INUSE, UNREACHABLE, UNKNOWN)


class ModelError(Exception):
    """Base of the model's refusals."""


class UnknownStationError(ModelError, KeyError):
    """No station has this ID."""


class UnknownPortError(ModelError, KeyError):
    """The station has no port with this number."""


class UnknownGroupError(ModelError, KeyError):
    """No station group has this ID."""


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

    def matches(
        self,
        port: str | None = None,
        alarm_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> bool:
        """True when the alarm passes every filter given (None or empty: no filter); bounds are inclusive."""
        return (
            (port is None or self.portNumber == port)
            and (not alarm_type or self.alarmType == alarm_type)
            and (since is None or self.alarmTime >= since)
            and (until is None or self.alarmTime <= until)
        )


@dataclass(frozen=True)
class ShedLimit:
    """One shed value: either an absolute cap in kW or a percentage of the present draw.

    The shed rules accept only a whole ``percent`` from 0 to 100; it is a float only so that a
    request for 12.5 % can reach them and be refused there.
    """

    allowed_kw: float | None = None
    percent: float | None = None

    @property
    def kind(self) -> str:
        """``"kw"`` or ``"percent"``."""
        return "kw" if self.allowed_kw is not None else "percent"

    def allows(self, demand_kw: float) -> float:
        """The kW a vehicle demanding ``demand_kw`` may draw under this limit (unrounded)."""
        if self.allowed_kw is not None:
            return min(demand_kw, self.allowed_kw)
        return demand_kw * (1.0 - (self.percent or 0) / 100.0)


@dataclass
class PortShed:
    """The shed applied to one port; ``expires_at`` is POSIX seconds or None (until cleared).

    ``event_id`` names the scheduled shed event that put it there (None for a shedLoad), so that
    removing the event lifts only its own sheds.
    """

    limit: ShedLimit
    expires_at: float | None = None
    event_id: int | None = None

    def active_at(self, ts: float) -> bool:
        """True while the shed has not lapsed."""
        return self.expires_at is None or ts < self.expires_at


@dataclass
class Port:
    """One charging port: its fixed properties (portData) and its live state.

    To stage a status prefer ``Model.set_port_status``: it also starts or records the session that
    gives an INUSE port its load, user and credential. ``held`` keeps the random evolution away.
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

    @property
    def userID(self) -> str:
        """The driver's user ID while a session is active, else empty."""
        return self.session.userID if self.Status == INUSE and self.session else ""

    @property
    def credentialID(self) -> str:
        """The credential (RFID card) used for the active session, else empty."""
        return self.session.credentialID if self.Status == INUSE and self.session else ""

    def draw_kw(self, shed: PortShed | None) -> float:
        """kW the port draws now: the session's demand, reduced by ``shed``; 0 unless INUSE."""
        if self.Status != INUSE or self.session is None:
            return 0.0
        demand = self.session.demand_kw
        return round(demand if shed is None else shed.limit.allows(demand), 3)


@dataclass
class Station:
    """One charging station with its ports, price schedules, uncleared alarms and completed sessions.

    ``index`` is the creation order; session IDs and alarm ordering derive from it.
    """

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
