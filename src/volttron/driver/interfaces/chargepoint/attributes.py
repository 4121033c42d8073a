"""The attributes of the spec: per register type, a table saying how each is addressed, typed, read and written.

The tables are the single source for registry validation, the sample registry, the ``registry`` command and the
tests. Each row carries its read rule (a function of the source's data and the port) and, for a writable
attribute, its write rule (a function of the point, port and value that returns the API write or refuses it).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

from .conversions import CONVERSIONS, Conversion, pricing_type_number
from .exceptions import WriteRejected
from .models import (KW_RESOLUTION, Alarm, GroupLoad, PortStatus, RightsEntry, Session, Shed, ShedKind, StationInfo,
                     StationLoad, WriteAction, WriteOperation, group_sheds, sheds_in)

ReadRule = Callable[[Any, "int | None"], Any]
WriteRule = Callable[[str, "int | None", Any], WriteAction]


class PortRule(enum.Enum):
    """Where an attribute lives: the Port # column must agree."""

    STATION = "empty or 0"
    PORT = "a port number (1, 2, ...)"
    ANY = "empty, 0 (whole station) or a port number"


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
    """One attribute of the spec: how it is addressed, typed, read and (when writable) written."""

    name: str
    port_rule: PortRule
    kind: str
    units: str
    read: ReadRule
    write: WriteRule | None = None
    # Type names the spec documents for this attribute besides ``kind``; accepted for old registries, the value
    # is still published as ``kind``.
    legacy_kinds: tuple[str, ...] = ()
    # False when a write cannot be undone (cleared alarms stay cleared): reverting the point does nothing.
    revertible: bool = True
    # How a value becomes a declared Type, where this attribute differs from the general rule of that Type.
    conversions: Mapping[str, Conversion] = field(default_factory=dict)

    @property
    def writable(self) -> bool:
        return self.write is not None

    @property
    def accepted_kinds(self) -> tuple[str, ...]:
        return (self.kind, *self.legacy_kinds)

    @property
    def python_type(self) -> type:
        return PUBLISHED_TYPES[self.kind]

    def convert(self, value: Any, kind: str) -> Any:
        """``value`` as the Type ``kind`` (one of :data:`TYPE_ALIASES`' kinds); ValueError when it does not convert."""
        return self.conversions.get(kind, CONVERSIONS[kind])(value)


def _attr(name: str, rule: PortRule, kind: str, units: str, read: ReadRule, *, write: WriteRule | None = None,
          legacy: tuple[str, ...] = (), revertible: bool = True,
          conversions: Mapping[str, Conversion] | None = None) -> Attribute:
    return Attribute(name, rule, kind, units, read, write, legacy, revertible, dict(conversions or {}))


def _absent(_data: Any, _port: int | None) -> None:
    return None


S, P, A = PortRule.STATION, PortRule.PORT, PortRule.ANY


# -- StationRegister (getStations) ---------------------------------------------------------------------------------

def _station_field(field_name: str) -> ReadRule:
    return lambda station, _port: None if station is None else getattr(station, field_name)


def _port_field(field_name: str) -> ReadRule:
    def read(station: StationInfo | None, port: int | None) -> Any:
        port_info = None if station is None else station.ports.get(port or 0)
        return None if port_info is None else getattr(port_info, field_name)
    return read


def _pricing_field(field_name: str) -> ReadRule:
    # A station may carry two pricing specifications; the spec exposes one set of points, the first.
    def read(station: StationInfo | None, _port: int | None) -> Any:
        if station is None or not station.pricing:
            return None
        return getattr(station.pricing[0], field_name)
    return read


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
    # The API names the pricing type (Session, Hourly, kWh); with Type int it reads as the spec's number (1, 2, 3).
    _attr("Type", S, "string", "Enum", _pricing_field("type"), legacy=("int",),
          conversions={"int": pricing_type_number}),
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


# -- StationStatusRegister (getStationStatus) ----------------------------------------------------------------------

def _status_field(field_name: str) -> ReadRule:
    def read(ports: dict[int, PortStatus] | None, port: int | None) -> Any:
        status = None if ports is None else ports.get(port or 0)
        return None if status is None else getattr(status, field_name)
    return read


STATUS_ATTRIBUTES: tuple[Attribute, ...] = (
    _attr("Status", P, "string", "AVAILABLE, INUSE, UNREACHABLE, UNKNOWN", _status_field("status")),
    _attr("TimeStamp", P, "datetime", "Timestamp", _status_field("timestamp")),
)


# -- LoadRegister (getLoad; shedLoad and clearShedState) -----------------------------------------------------------

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


def shared_amount(sheds: Iterable[Shed], kind: ShedKind) -> float | None:
    """The value every one of these sheds in force shares, when they are all of ``kind``; else None."""
    values = {shed.value if shed.kind is kind else None for shed in sheds}
    return values.pop() if len(values) == 1 else None


def _read_shed_amount(kind: ShedKind) -> Callable[[StationLoad | None, int | None], float | None]:
    # The API reports 0 for the kind of shed not in force and for an unshed port; those read None. A shed port
    # with both at 0 is a cap at 0 kW (see control.sheds_in). At station level the value is the one every shed
    # port shares, or None when they differ.
    def read(load: StationLoad | None, port: int | None) -> float | None:
        in_force = sheds_in(load) if load is not None else {}
        return shared_amount([in_force[p.port_number] for p in _shed_ports(load, port) if p.port_number in in_force],
                             kind)
    return read


def _read_port_load(load: StationLoad | None, port: int | None) -> float | None:
    ports = _shed_ports(load, port)
    return ports[0].port_load if ports else None


MAX_KW = 10_000.0  # above any charger's rating: the bound when the API does not report the rating


def number(point: str, value: Any, what: str) -> float:
    """A written value as a finite number, or WriteRejected naming the point, the value and what it accepts.

    Empty or blank text, None, booleans, NaN, infinities and numbers too large for a float are all refused.
    """
    rejected = WriteRejected(f"{point}: {_shown(value)} refused: {what}")
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise rejected
    try:
        result = float(value)
    except (TypeError, ValueError, OverflowError):
        raise rejected from None
    if not math.isfinite(result):
        raise rejected
    return result + 0.0  # -0.0 is 0


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def is_blank(value: Any) -> bool:
    """None, or text that is empty, blank, "None" or "null": never a value to write."""
    return value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "null"))


_CLEAR_HINT = "write shedState 0 to clear the shed"


def kw_value(point: str, value: Any, accepted: str) -> float:
    """A kW shed value as the API takes it (>= 0, three decimals), or WriteRejected saying ``accepted``."""
    kw = number(point, value, accepted)
    if kw < 0 or kw > MAX_KW:
        raise WriteRejected(f"{point}: {_shown(value)} refused: {accepted}, at most {MAX_KW:g}")
    sent = round(kw, 3) + 0.0
    if kw and not sent:
        raise WriteRejected(f"{point}: {_shown(value)} refused: below the API's resolution of {KW_RESOLUTION:g} kW, "
                            f"it would be sent as 0 (stop charging); write 0 for that, or at least {KW_RESOLUTION:g}")
    if abs(sent - kw) > 1e-9:
        raise WriteRejected(f"{point}: {_shown(value)} refused: the API takes kW to three decimals; write {sent:g}")
    return sent


def percent_value(point: str, value: Any, accepted: str) -> float:
    """A percent shed as this driver sends it (a whole percent from 1 to 100), or WriteRejected."""
    pct = number(point, value, accepted)
    if not 1 <= pct <= 100 or pct != int(pct):
        raise WriteRejected(f"{point}: {_shown(value)} refused: {accepted}")
    return pct


def _write_shed_state(point: str, port: int | None, value: Any) -> WriteAction:
    accepted = (f"only 0 is accepted (clears the shed of {'the station' if port is None else f'port {port}'}); "
                "to shed, write allowedLoad or percentShed")
    if number(point, value, accepted) != 0:
        raise WriteRejected(f"{point}: {_shown(value)} refused: {accepted}")
    return WriteAction(WriteOperation.CLEAR_SHED, port=port)


def _write_allowed_load(point: str, port: int | None, value: Any) -> WriteAction:
    kw = kw_value(point, value, f"allowedLoad takes kW >= 0 with at most three decimals ({_CLEAR_HINT})")
    return WriteAction(WriteOperation.SHED, port=port, allowed_kw=kw)


def _write_percent_shed(point: str, port: int | None, value: Any) -> WriteAction:
    pct = percent_value(point, value, f"percentShed takes a whole percent from 1 to 100 ({_CLEAR_HINT})")
    return WriteAction(WriteOperation.SHED, port=port, percent=pct)


LOAD_ATTRIBUTES: tuple[Attribute, ...] = (
    _attr("shedState", A, "int", "0 or 1", _read_shed_state, write=_write_shed_state),
    _attr("portLoad", P, "float", "kW", _read_port_load),
    _attr("allowedLoad", A, "float", "kW", _read_shed_amount(ShedKind.KW), write=_write_allowed_load),
    _attr("percentShed", A, "float", "Percent", _read_shed_amount(ShedKind.PERCENT), write=_write_percent_shed),
)


# -- StationGroupRegister (getLoad by sgID; shedLoad and clearShedState with shedGroup) ----------------------------

def _group_field(field_name: str) -> ReadRule:
    return lambda group, _port: None if group is None else getattr(group, field_name)


def _group_shed_state(group: GroupLoad | None, _port: int | None) -> int | None:
    # 1 while any member station has a shed in force; None when no member reported a shed state.
    states = [p.shed_state for load in (group.stations.values() if group else ()) for p in load.ports.values()
              if p.shed_state is not None]
    return max(states) if states else None


def _group_shed_amount(kind: ShedKind) -> ReadRule:
    # As a station-level load point: the value every shed port of every member shares, else None.
    return lambda group, _port: None if group is None else shared_amount(group_sheds(group).values(), kind)


def _write_group_shed_state(point: str, _port: int | None, value: Any) -> WriteAction:
    accepted = ("only 0 is accepted (clears the shed of every station of the group); to shed, write "
                "allowedLoadPerStation or percentShedPerStation")
    if number(point, value, accepted) != 0:
        raise WriteRejected(f"{point}: {_shown(value)} refused: {accepted}")
    return WriteAction(WriteOperation.CLEAR_SHED)


def _write_allowed_per_station(point: str, _port: int | None, value: Any) -> WriteAction:
    kw = kw_value(point, value, "allowedLoadPerStation takes kW >= 0 with at most three decimals, a cap on each "
                                f"station of the group ({_CLEAR_HINT})")
    return WriteAction(WriteOperation.SHED, allowed_kw=kw)


def _write_percent_per_station(point: str, _port: int | None, value: Any) -> WriteAction:
    pct = percent_value(point, value, "percentShedPerStation takes a whole percent from 1 to 100, shed on each "
                                      f"station of the group ({_CLEAR_HINT})")
    return WriteAction(WriteOperation.SHED, percent=pct)


GROUP_ATTRIBUTES: tuple[Attribute, ...] = (
    _attr("sgName", S, "string", "Name", _group_field("group_name")),
    _attr("numStations", S, "int", "Number", _group_field("num_stations")),
    _attr("sgLoad", S, "float", "kW", _group_field("sg_load")),
    _attr("allowedLoadPerStation", S, "float", "kW", _group_shed_amount(ShedKind.KW),
          write=_write_allowed_per_station),
    _attr("percentShedPerStation", S, "float", "Percent", _group_shed_amount(ShedKind.PERCENT),
          write=_write_percent_per_station),
    _attr("shedState", S, "int", "0 or 1", _group_shed_state, write=_write_group_shed_state),
)


# -- AlarmRegister (getAlarms; clearAlarms) ------------------------------------------------------------------------

def _latest_alarm(alarms: list[Alarm] | None, port: int | None) -> Alarm | None:
    candidates = [a for a in alarms or () if not port or a.port_number == port]
    return max(candidates, key=Alarm.recency) if candidates else None


def _alarm_field(field_name: str) -> ReadRule:
    return lambda alarms, port: getattr(_latest_alarm(alarms, port), field_name, None)


def _write_clear_alarms(point: str, port: int | None, value: Any) -> WriteAction:
    accepted = "only 1 is accepted (clears the alarms of the station, or of the port when one is set)"
    if number(point, value, accepted) != 1:
        raise WriteRejected(f"{point}: {_shown(value)} refused: {accepted}")
    return WriteAction(WriteOperation.CLEAR_ALARMS, port=port)


ALARM_ATTRIBUTES: tuple[Attribute, ...] = (
    _attr("alarmType", A, "string", "N/A", _alarm_field("alarm_type")),
    _attr("alarmTime", A, "datetime", "Timestamp", _alarm_field("alarm_time")),
    # Write-only in the API: reads are always None. A cleared alarm cannot be brought back.
    _attr("clearAlarms", A, "int", "0 or 1", _absent, write=_write_clear_alarms, revertible=False),
)


# -- StationRightsRegister (getStationRights) ----------------------------------------------------------------------

def _rights_profile(rights: list[RightsEntry] | None, _port: int | None) -> dict[str, dict[str, Any]] | None:
    if not rights:
        return None
    return {entry.sg_id: {"sgName": entry.sg_name, "stationRightsProfile": entry.profile} for entry in rights}


RIGHTS_ATTRIBUTES: tuple[Attribute, ...] = (
    _attr("stationRightsProfile", S, "dict", "N/A", _rights_profile),
)


# -- ChargingSessionRegister (getChargingSessionData) --------------------------------------------------------------

def _latest_session(sessions: Sequence[Session] | None, port: int | None) -> Session | None:
    candidates = [s for s in sessions or () if not port or s.port_number == port]
    return max(candidates, key=Session.recency) if candidates else None


def _session_field(field_name: str) -> ReadRule:
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
