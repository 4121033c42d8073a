"""The register model: the six register types of the spec and every attribute they expose.

Each register type owns a table of :class:`Attribute` rows (port rule, accepted Type names, units, writability);
the tables are the single source for registry validation, the sample registry, the ``registry`` command and the
tests. Registers are duck-compatible with VOLTTRON's ``BaseRegister`` but import nothing from VOLTTRON.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, ClassVar, Iterable

from .exceptions import ConfigError, WriteRejected
from .models import Alarm, PortStatus, RightsEntry, Session, StationInfo, StationLoad


class PortRule(enum.Enum):
    """Where an attribute lives: the Port # column must agree."""

    STATION = "empty or 0"
    PORT = "a port number (1, 2, ...)"
    ANY = "empty, 0 (whole station) or a port number"


class Source(enum.Enum):
    """The API data a register reads; one fetch per source serves every register of a device."""

    STATIONS = "getStations"
    STATUS = "getStationStatus"
    LOAD = "getLoad"
    ALARMS = "getAlarms"
    RIGHTS = "getStationRights"
    SESSIONS = "getChargingSessionData"


# Type column spellings, normalised to the name of the value kind they denote.
TYPE_ALIASES = {
    "string": "string", "str": "string",
    "int": "int", "integer": "int",
    "float": "float", "double": "float", "decimal": "float",
    "bool": "bool", "boolean": "bool",
    "datetime": "datetime", "timestamp": "datetime",
    "time": "time",
    "dictionary": "dict", "dict": "dict",
}
# The Python type published in metadata for each kind: timestamps travel as ISO-8601 strings.
PUBLISHED_TYPES: dict[str, type] = {
    "string": str, "int": int, "float": float, "bool": bool, "datetime": str, "time": str, "dict": dict,
}


@dataclass(frozen=True)
class Attribute:
    """One attribute of the spec: how it is addressed, typed and read."""

    name: str
    port_rule: PortRule
    kind: str
    units: str
    read: Callable[[Any, int | None], Any]
    writable: bool = False
    # Type names the spec documents for this attribute besides ``kind``; accepted for old registries, the value
    # is still published as ``kind``.
    legacy_kinds: tuple[str, ...] = ()

    @property
    def accepted_kinds(self) -> tuple[str, ...]:
        return (self.kind, *self.legacy_kinds)

    @property
    def python_type(self) -> type:
        return PUBLISHED_TYPES[self.kind]


@dataclass(frozen=True)
class WriteAction:
    """What a validated write asks of the API."""

    operation: str  # "shed", "clear_shed" or "clear_alarms"
    port: int | None = None
    allowed_kw: float | None = None
    percent: float | None = None


def iso_utc(value: datetime | None) -> str | None:
    """Publish timestamps as ISO-8601 UTC text; naive values are taken as UTC, as the API sends them."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _station_field(field_name: str) -> Callable[[StationInfo | None, int | None], Any]:
    return lambda station, _port: None if station is None else getattr(station, field_name)


def _port_field(field_name: str) -> Callable[[StationInfo | None, int | None], Any]:
    def read(station: StationInfo | None, port: int | None) -> Any:
        port_info = None if station is None else station.ports.get(port or 0)
        return None if port_info is None else getattr(port_info, field_name)
    return read


def _pricing_field(field_name: str) -> Callable[[StationInfo | None, int | None], Any]:
    # A station may carry two pricing specifications; the spec exposes one set of points, the first.
    def read(station: StationInfo | None, _port: int | None) -> Any:
        if station is None or not station.pricing:
            return None
        return getattr(station.pricing[0], field_name)
    return read


def _absent(_data: Any, _port: int | None) -> None:
    return None


def _attr(name: str, rule: PortRule, kind: str, units: str, read: Callable[[Any, int | None], Any],
          *, writable: bool = False, legacy: tuple[str, ...] = ()) -> Attribute:
    return Attribute(name, rule, kind, units, read, writable, legacy)


S, P, A = PortRule.STATION, PortRule.PORT, PortRule.ANY

STATION_ATTRIBUTES: tuple[Attribute, ...] = (
    _attr("stationID", S, "string", "ID", _station_field("station_id")),
    _attr("stationManufacturer", S, "string", "N/A", _station_field("manufacturer")),
    _attr("stationModel", S, "string", "N/A", _station_field("model")),
    _attr("portNumber", P, "int", "1 or 2", _port_field("port_number")),
    _attr("stationName", P, "string", "N/A", _port_field("station_name")),
    _attr("stationMacAddr", S, "string", "MAC address", _station_field("mac_addr")),
    _attr("stationSerialNum", S, "string", "ID", _station_field("serial_num")),
    _attr("Address", S, "string", "N/A", _station_field("address"), legacy=("int",)),
    _attr("City", S, "string", "N/A", _station_field("city")),
    _attr("State", S, "string", "N/A", _station_field("state")),
    _attr("Country", S, "string", "N/A", _station_field("country")),
    _attr("postalCode", S, "string", "N/A", _station_field("postal_code"), legacy=("int",)),
    _attr("Lat", P, "float", "Latitudinal coordinates", _port_field("lat")),
    _attr("Long", P, "float", "Longitudinal coordinates", _port_field("long")),
    _attr("Reservable", P, "bool", "True or False", _port_field("reservable")),
    _attr("Level", P, "string", "L1, L2, L3", _port_field("level")),
    _attr("Mode", P, "int", "1, 2, 3", _port_field("mode")),
    _attr("Voltage", P, "float", "Volts", _port_field("voltage")),
    _attr("Current", P, "float", "Amps", _port_field("current")),
    _attr("Power", P, "float", "kW", _port_field("power")),
    _attr("Connector", P, "string", "N/A", _port_field("connector")),
    _attr("numPorts", S, "int", "Number", _station_field("num_ports")),
    _attr("Type", S, "string", "Enum", _pricing_field("type"), legacy=("int",)),
    _attr("startTime", S, "time", "timestamp", _pricing_field("start_time"), legacy=("datetime",)),
    _attr("endTime", S, "time", "timestamp", _pricing_field("end_time"), legacy=("datetime",)),
    _attr("minPrice", S, "float", "Currency", _pricing_field("min_price")),
    _attr("maxPrice", S, "float", "Currency", _pricing_field("max_price")),
    _attr("unitPricePerHour", S, "float", "Currency", _pricing_field("unit_price_per_hour")),
    _attr("unitPricePerSession", S, "float", "Currency", _pricing_field("unit_price_per_session")),
    _attr("unitPricePerKWh", S, "float", "Currency", _pricing_field("unit_price_per_kwh")),
    # Named in the spec but absent from the 5.0 WSDL: always reads None.
    _attr("unitPriceForFirst", S, "float", "Currency", _absent),
    _attr("unitPricePerHourThereafter", S, "float", "Currency", _pricing_field("unit_price_per_hour_thereafter")),
    _attr("sessionTime", S, "string", "Amount of time", _pricing_field("session_time"), legacy=("time",)),
    _attr("Description", P, "string", "N/A", _port_field("description"), legacy=("datetime",)),
    _attr("mainPhone", S, "string", "Phone number", _station_field("main_phone"), legacy=("datetime",)),
    _attr("orgID", S, "string", "ID", _station_field("org_id")),
    _attr("organizationName", S, "string", "N/A", _station_field("organization_name")),
    _attr("sgID", S, "string", "IDs", _station_field("sg_id")),
    _attr("sgName", S, "string", "Names", _station_field("sg_name")),
    _attr("currencyCode", S, "string", "Currency Code", _station_field("currency_code")),
)


def _status_field(field_name: str) -> Callable[[dict[int, PortStatus] | None, int | None], Any]:
    def read(ports: dict[int, PortStatus] | None, port: int | None) -> Any:
        status = None if ports is None else ports.get(port or 0)
        return None if status is None else getattr(status, field_name)
    return read


STATUS_ATTRIBUTES: tuple[Attribute, ...] = (
    _attr("Status", P, "string", "AVAILABLE, INUSE, UNREACHABLE, UNKNOWN", _status_field("status")),
    _attr("TimeStamp", P, "datetime", "Timestamp", _status_field("timestamp")),
)


def _shed_ports(load: StationLoad | None, port: int | None) -> list[Any]:
    if load is None:
        return []
    if port:
        return [load.ports[port]] if port in load.ports else []
    return list(load.ports.values())


def _read_shed_state(load: StationLoad | None, port: int | None) -> int | None:
    # At station level a station counts as shed when any of its ports is.
    states = [p.shed_state for p in _shed_ports(load, port) if p.shed_state is not None]
    return max(states) if states else None


def _read_shed_amount(field_name: str) -> Callable[[StationLoad | None, int | None], float | None]:
    # The API reports 0 for the kind of shed not in force and for an unshed port; the spec reads those as None.
    # At station level the value is the one every shed port shares, or None when they differ.
    def read(load: StationLoad | None, port: int | None) -> float | None:
        values = {getattr(p, field_name) for p in _shed_ports(load, port) if p.shed_state == 1}
        values.discard(None)
        if len(values) != 1:
            return None
        value = values.pop()
        return value if value else None
    return read


def _read_port_load(load: StationLoad | None, port: int | None) -> float | None:
    ports = _shed_ports(load, port)
    return ports[0].port_load if ports else None


LOAD_ATTRIBUTES: tuple[Attribute, ...] = (
    _attr("shedState", A, "int", "0 or 1", _read_shed_state, writable=True),
    _attr("portLoad", P, "float", "kW", _read_port_load),
    _attr("allowedLoad", A, "float", "kW", _read_shed_amount("allowed_load"), writable=True),
    _attr("percentShed", A, "float", "Percent", _read_shed_amount("percent_shed"), writable=True),
)


def _latest_alarm(alarms: list[Alarm] | None, port: int | None) -> Alarm | None:
    candidates = [a for a in alarms or () if not port or a.port_number == port]
    if not candidates:
        return None
    return max(candidates, key=lambda a: (a.alarm_time or datetime.min.replace(tzinfo=timezone.utc),
                                          a.record_number or 0))


ALARM_ATTRIBUTES: tuple[Attribute, ...] = (
    _attr("alarmType", A, "string", "N/A", lambda alarms, port: getattr(_latest_alarm(alarms, port), "alarm_type",
                                                                         None)),
    _attr("alarmTime", A, "datetime", "Timestamp",
          lambda alarms, port: getattr(_latest_alarm(alarms, port), "alarm_time", None)),
    # Write-only in the API: reads are always None.
    _attr("clearAlarms", A, "int", "0 or 1", _absent, writable=True),
)


def _rights_profile(rights: list[RightsEntry] | None, _port: int | None) -> dict[str, dict[str, Any]] | None:
    if not rights:
        return None
    return {entry.sg_id: {"sgName": entry.sg_name, "stationRightsProfile": entry.profile} for entry in rights}


RIGHTS_ATTRIBUTES: tuple[Attribute, ...] = (
    _attr("stationRightsProfile", S, "dict", "N/A", _rights_profile),
)


def _latest_session(sessions: list[Session] | None, port: int | None) -> Session | None:
    candidates = [s for s in sessions or () if not port or s.port_number == port]
    if not candidates:
        return None
    floor = datetime.min.replace(tzinfo=timezone.utc)
    return max(candidates, key=lambda s: (s.end_time or s.start_time or floor, s.start_time or floor))


def _session_field(field_name: str) -> Callable[[list[Session] | None, int | None], Any]:
    return lambda sessions, port: getattr(_latest_session(sessions, port), field_name, None)


SESSION_ATTRIBUTES: tuple[Attribute, ...] = (
    _attr("sessionID", A, "string", "ID", _session_field("session_id")),
    _attr("startTime", A, "datetime", "Timestamp", _session_field("start_time")),
    _attr("endTime", A, "datetime", "Timestamp", _session_field("end_time")),
    _attr("Energy", A, "float", "kWh", _session_field("energy")),
    # The 5.0 API names the RFID card serial credentialID and the driver's account userID.
    _attr("rfidSerialNumber", A, "string", "ID", _session_field("credential_id")),
    _attr("driverAccountNumber", A, "string", "ID", _session_field("user_id")),
    # Named in the spec but absent from the 5.0 WSDL: always reads None.
    _attr("driverName", A, "string", "N/A", _absent),
)


class ChargepointRegister:
    """A configured point: one attribute of one station, optionally of one port."""

    source: ClassVar[Source]
    attributes: ClassVar[dict[str, Attribute]]

    def __init__(self, attribute: Attribute, point_name: str, port: int | None, units: str = "",
                 description: str = "", read_only: bool = True) -> None:
        self.attribute = attribute
        self.point_name = point_name
        self.port = port or None
        self.units = units
        self.description = description
        self.read_only = read_only
        self.register_type = "byte"
        self.python_type = attribute.python_type
        self.revertible = True

    # The four accessors VOLTTRON's platform driver calls on every register.
    def get_register_python_type(self) -> type:
        return self.python_type

    def get_register_type(self) -> tuple[str, bool]:
        return self.register_type, self.read_only

    def get_units(self) -> str:
        return self.units

    def get_description(self) -> str:
        return self.description

    @property
    def attribute_name(self) -> str:
        return self.attribute.name

    def value_from(self, data: Any) -> Any:
        """The point's value in the data fetched for its station (None when the station lacks it)."""
        value = self.attribute.read(data, self.port)
        return _coerce(value, self.attribute.kind)

    def plan_write(self, value: Any) -> WriteAction:
        """Validate a write and say what it asks of the API; raises WriteRejected before any call."""
        raise WriteRejected(f"Point {self.point_name!r} ({self.attribute.name}) is read-only")

    def __repr__(self) -> str:
        port = f", port {self.port}" if self.port else ""
        return f"<{type(self).__name__} {self.point_name!r}: {self.attribute.name}{port}>"


def _coerce(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        return iso_utc(value) if isinstance(value, datetime) else str(value)
    return value


class StationRegister(ChargepointRegister):
    """Inventory, location, hardware and pricing data (getStations); read-only."""

    source = Source.STATIONS
    attributes = {a.name: a for a in STATION_ATTRIBUTES}


class StationStatusRegister(ChargepointRegister):
    """Live port status (getStationStatus); read-only, port-level."""

    source = Source.STATUS
    attributes = {a.name: a for a in STATUS_ATTRIBUTES}


def _number(point: str, value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise WriteRejected(f"{point}: {value!r} is not a number; {what}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise WriteRejected(f"{point}: {value!r} is not a number; {what}") from None
    if not math.isfinite(number):
        raise WriteRejected(f"{point}: {value!r} is not a finite number; {what}")
    return number


def _is_clear(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "null"))


class LoadRegister(ChargepointRegister):
    """Live load and load-shed control (getLoad, shedLoad, clearShedState)."""

    source = Source.LOAD
    attributes = {a.name: a for a in LOAD_ATTRIBUTES}

    def plan_write(self, value: Any) -> WriteAction:
        name, point = self.attribute.name, self.point_name
        if name == "shedState":
            accepted = "only 0 is accepted (clears every shed on the station); to shed, write allowedLoad or " \
                       "percentShed"
            if _is_clear(value) or _number(point, value, accepted) != 0:
                raise WriteRejected(f"{point}: shedState {value!r} refused: {accepted}")
            return WriteAction("clear_shed", port=self.port)
        if name == "allowedLoad":
            if _is_clear(value):
                return WriteAction("clear_shed", port=self.port)
            kw = _number(point, value, "allowedLoad takes kW >= 0, or None to clear the shed")
            if kw < 0:
                raise WriteRejected(f"{point}: allowedLoad {value!r} refused: kW must be >= 0")
            return WriteAction("shed", port=self.port, allowed_kw=kw)
        if name == "percentShed":
            if _is_clear(value):
                return WriteAction("clear_shed", port=self.port)
            pct = _number(point, value, "percentShed takes a percent from 0 to 100, or None to clear the shed")
            if not 0 <= pct <= 100:
                raise WriteRejected(f"{point}: percentShed {value!r} refused: it must be from 0 to 100")
            if pct != int(pct):
                raise WriteRejected(f"{point}: percentShed {value!r} refused: the API takes whole percents (0-100)")
            return WriteAction("shed", port=self.port, percent=pct)
        return super().plan_write(value)


class AlarmRegister(ChargepointRegister):
    """Most recent alarm (getAlarms) and alarm clearing (clearAlarms), per station or port."""

    source = Source.ALARMS
    attributes = {a.name: a for a in ALARM_ATTRIBUTES}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A cleared alarm cannot be brought back, so reverting clearAlarms does nothing.
        self.revertible = self.attribute.name != "clearAlarms"

    def plan_write(self, value: Any) -> WriteAction:
        if self.attribute.name == "clearAlarms":
            accepted = "only 1 is accepted (clears the alarms of the station, or of the port when one is set)"
            if _is_clear(value) or _number(self.point_name, value, accepted) != 1:
                raise WriteRejected(f"{self.point_name}: clearAlarms {value!r} refused: {accepted}")
            return WriteAction("clear_alarms", port=self.port)
        return super().plan_write(value)


class StationRightsRegister(ChargepointRegister):
    """Rights profiles of every group the station belongs to (getStationRights), keyed by group id."""

    source = Source.RIGHTS
    attributes = {a.name: a for a in RIGHTS_ATTRIBUTES}


class ChargingSessionRegister(ChargepointRegister):
    """The most recent completed charging session (getChargingSessionData), on the station or on one port."""

    source = Source.SESSIONS
    attributes = {a.name: a for a in SESSION_ATTRIBUTES}


REGISTER_TYPES: dict[str, type[ChargepointRegister]] = {
    cls.__name__: cls for cls in (StationRegister, StationStatusRegister, LoadRegister, AlarmRegister,
                                  StationRightsRegister, ChargingSessionRegister)
}


@dataclass(frozen=True)
class RegistryRow:
    """One registry CSV row as text, with its 1-based data-row number for error messages."""

    row: int
    point_name: str
    attribute_name: str
    port: str = ""
    type: str = ""
    units: str = ""
    writable: str = ""
    notes: str = ""
    register_name: str = ""
    starting_value: str = ""

    COLUMNS: ClassVar[dict[str, str]] = {
        "point_name": "Volttron Point Name", "attribute_name": "Attribute Name", "port": "Port #", "type": "Type",
        "units": "Units", "writable": "Writable", "notes": "Notes", "register_name": "Register Name",
        "starting_value": "Starting Value",
    }

    @classmethod
    def from_mapping(cls, row: int, values: dict[str, Any]) -> "RegistryRow":
        def text(column: str) -> str:
            value = values.get(column)
            return "" if value is None else str(value).strip()
        return cls(row=row, **{field: text(column) for field, column in cls.COLUMNS.items()})


@dataclass(frozen=True)
class PointSpec:
    """A validated registry row: what the driver needs to build the register."""

    register_class: type[ChargepointRegister]
    attribute: Attribute
    point_name: str
    port: int | None
    writable: bool
    units: str
    notes: str
    starting_value: Any  # None when there is no revert default

    def build(self) -> ChargepointRegister:
        units = self.units or self.attribute.units
        return self.register_class(self.attribute, self.point_name, self.port, units, self.notes,
                                   read_only=not self.writable)


_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0", ""}


def validate_row(row: RegistryRow, where: str = "registry") -> PointSpec:
    """Check one row against the spec; every problem found is reported at once in one ConfigError."""
    problems: list[str] = []

    def problem(column: str, value: str, message: str) -> None:
        problems.append(f"{where} row {row.row} (point {_show(row.point_name or '?')}), column '{column}', "
                        f"value {_show(value)}: {message}")

    if not row.point_name:
        problem("Volttron Point Name", row.point_name, "a point name is required")
    register_class = REGISTER_TYPES.get(row.register_name)
    attribute: Attribute | None = None
    if register_class is None:
        problem("Register Name", row.register_name, f"must be one of {', '.join(REGISTER_TYPES)}")
    else:
        attribute = register_class.attributes.get(row.attribute_name)
        if attribute is None:
            owners = [name for name, cls in REGISTER_TYPES.items() if row.attribute_name in cls.attributes]
            hint = f" ({row.attribute_name} belongs to {' or '.join(owners)})" if owners else ""
            problem("Attribute Name", row.attribute_name,
                    f"not an attribute of {row.register_name}{hint}; allowed: {', '.join(register_class.attributes)}")

    port: int | None = None
    port_ok = True
    try:
        port = int(row.port) if row.port else None
        port_ok = port is None or port >= 0
    except ValueError:
        port_ok = False
    if not port_ok:
        problem("Port #", row.port, "must be empty, 0 or a port number (1, 2, ...)")
        port = None
    elif attribute is not None:
        if attribute.port_rule is PortRule.STATION and port:
            problem("Port #", row.port, f"{attribute.name} is a station-level attribute: the port must be "
                                        f"{PortRule.STATION.value}")
        elif attribute.port_rule is PortRule.PORT and not port:
            problem("Port #", row.port, f"{attribute.name} is a port-level attribute: the port must be "
                                        f"{PortRule.PORT.value}")

    if attribute is not None:
        kind = TYPE_ALIASES.get(row.type.lower())
        if kind not in attribute.accepted_kinds:
            problem("Type", row.type, f"cannot hold {attribute.name}; use {' or '.join(attribute.accepted_kinds)}")

    writable_text = row.writable.lower()
    writable = writable_text in _TRUE
    if writable_text not in _TRUE | _FALSE:
        problem("Writable", row.writable, "must be True or False")
    elif attribute is not None and writable and not attribute.writable:
        writable_names = [n for cls in REGISTER_TYPES.values() for n, a in cls.attributes.items() if a.writable]
        problem("Writable", row.writable, f"{attribute.name} is read-only; writable attributes are "
                                          f"{', '.join(writable_names)}")

    starting_value: Any = None
    if row.starting_value and attribute is not None and register_class is not None:
        if not writable:
            problem("Starting Value", row.starting_value, "must be empty for a read-only point")
        else:
            starting_value = _check_starting_value(register_class, attribute, row, port, problem)

    if problems or register_class is None or attribute is None:
        raise ConfigError("; ".join(problems), problems=problems)
    return PointSpec(register_class, attribute, row.point_name, port or None, writable, row.units, row.notes,
                     starting_value)


def _check_starting_value(register_class: type[ChargepointRegister], attribute: Attribute, row: RegistryRow,
                          port: int | None, problem: Callable[[str, str, str], None]) -> Any:
    # clearAlarms' documented Starting Value 0 means "nothing to revert"; any other write default must be a
    # value the point would accept if written.
    if attribute.name == "clearAlarms":
        if row.starting_value != "0":
            problem("Starting Value", row.starting_value, "clearAlarms takes no revert value other than 0 or empty")
        return None
    if _is_clear(row.starting_value):
        problem("Starting Value", row.starting_value, "a revert default must be a number; leave it empty for none "
                                                      "(use shedState 0 to clear the shed on revert)")
        return None
    probe = register_class(attribute, row.point_name or "?", port)
    try:
        probe.plan_write(row.starting_value)
    except WriteRejected as exc:
        problem("Starting Value", row.starting_value, str(exc))
        return None
    return float(row.starting_value) if attribute.kind == "float" else int(float(row.starting_value))


def validate_rows(rows: Iterable[RegistryRow], where: str = "registry") -> list[PointSpec]:
    """Validate a whole registry: every bad row and every duplicate name is reported in one ConfigError."""
    specs: list[PointSpec] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for row in rows:
        try:
            specs.append(validate_row(row, where))
        except ConfigError as exc:
            problems.extend(exc.problems)
        if row.point_name:
            if row.point_name in seen:
                problems.append(f"{where} row {row.row}, column 'Volttron Point Name', value {_show(row.point_name)}: "
                                f"duplicate of row {seen[row.point_name]}; point names must be unique")
            else:
                seen[row.point_name] = row.row
    if problems:
        raise ConfigError(f"{len(problems)} problem(s) in {where}:\n  " + "\n  ".join(problems), problems=problems)
    if not specs:
        raise ConfigError(f"{where} has no points", problems=[f"{where} has no points"])
    return specs


def _show(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")


def all_attributes() -> list[tuple[type[ChargepointRegister], Attribute]]:
    """Every (register type, attribute) pair of the spec, in spec order."""
    return [(cls, attribute) for cls in REGISTER_TYPES.values() for attribute in cls.attributes.values()]


# Point names for attributes whose names repeat across register types.
_DISTINCT_NAMES = {
    ("StationRegister", "startTime"): "pricingStartTime",
    ("StationRegister", "endTime"): "pricingEndTime",
    ("ChargingSessionRegister", "startTime"): "sessionStartTime",
    ("ChargingSessionRegister", "endTime"): "sessionEndTime",
}
_STARTING_VALUES = {"shedState": "0", "clearAlarms": "0"}


def registry_rows_for(port_numbers: Iterable[int], *, writable: bool = True) -> list[dict[str, str]]:
    """Registry rows for every attribute of a station with these ports, with distinct point names.

    Station-level attributes get one row; port-level ones one row per port (suffix ``Port<n>``); attributes that
    may be either get a station row and one per port. Writable points get their revert default, and nothing is
    written when the registry is loaded.
    """
    ports = sorted(set(port_numbers))
    rows = []
    for cls, attribute in all_attributes():
        base = _DISTINCT_NAMES.get((cls.__name__, attribute.name), attribute.name)
        scopes: list[int | None] = []
        if attribute.port_rule is not PortRule.PORT:
            scopes.append(None)
        if attribute.port_rule is not PortRule.STATION:
            scopes.extend(ports)
        for port in scopes:
            is_writable = writable and attribute.writable
            rows.append({
                "Volttron Point Name": base if port is None else f"{base}Port{port}",
                "Attribute Name": attribute.name,
                "Port #": "" if port is None else str(port),
                "Type": attribute.kind,
                "Units": attribute.units,
                "Writable": str(is_writable),
                "Notes": cls.__doc__.splitlines()[0] if cls.__doc__ else "",
                "Register Name": cls.__name__,
                "Starting Value": _STARTING_VALUES.get(attribute.name, "") if is_writable else "",
            })
    return rows
