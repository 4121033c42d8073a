"""The load-shed rules: which requests are refused, with which code, and what an accepted one becomes.

Every refusal of shedLoad and clearShedState is decided here, as a ``ShedError`` carrying the
response code documented in ``operations``: 187 malformed, 188 out of range, 190 the other kind of
shed is in force. Unknown stations, groups and ports stay the model's ``Unknown*Error`` (102). A
request with several faults is refused for the first one met, in this order: reading it (187), the
rules that need no station (187, then 188), its target (102), then the station's ports (102) and
present sheds (190). Texts name the wire fields, which ``ShedLimit`` maps one to one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from chargepoint_simulator.model.entities import ModelError, PortShed, ShedLimit, Station
from chargepoint_simulator.query import Query, RequestError, as_list, int_field, number_field, text_field

SHED_MALFORMED = 187
SHED_OUT_OF_RANGE = 188
SHED_CONFLICT = 190

STATION_FIELDS = ("allowedLoadPerStation", "percentShedPerStation")
PORT_FIELDS = ("allowedLoadPerPort", "percentShedPerPort")


class ShedError(ModelError, ValueError):
    """A shed request the service refuses in-band; ``code`` is the responseCode that says why."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


class ShedValueError(ShedError):
    """The request is malformed (187) or one of its values is out of range (188)."""


class ShedConflictError(ShedError):
    """A shed of the other kind (kW vs percent) is in force; it must be cleared first (190)."""

    def __init__(self, text: str) -> None:
        super().__init__(SHED_CONFLICT, text)


def _malformed(text: str) -> ShedValueError:
    return ShedValueError(SHED_MALFORMED, text)


def _out_of_range(text: str) -> ShedValueError:
    return ShedValueError(SHED_OUT_OF_RANGE, text)


@dataclass
class ShedCommand:
    """An accepted shed or clear: the station's whole shed map from ``effective_at`` (POSIX seconds) on."""

    effective_at: float
    ports: dict[str, PortShed]

    def active_at(self, at: float) -> dict[str, PortShed]:
        """The port sheds of this command that have not lapsed at ``at``."""
        return {n: s for n, s in self.ports.items() if s.active_at(at)}


# ---------------------------------------------------------------------- reading the wire


@dataclass(frozen=True)
class GroupShedRequest:
    """A shedLoad request for every station of a group, as read, before the rules."""

    sg_id: int
    limit: ShedLimit
    minutes: int


@dataclass(frozen=True)
class StationShedRequest:
    """A shedLoad request for a whole station (``limit``) or listed ports, as read, before the rules."""

    station_id: str
    limit: ShedLimit | None
    port_limits: dict[str, ShedLimit]
    minutes: int


def read_target(query: Query) -> tuple[str, Query]:
    """The request's one target, with the field naming it: ``("sgID", shedGroup)`` or ``("stationID", shedStation)``."""
    group = query.get("shedGroup")
    station = query.get("shedStation")
    if isinstance(group, dict) and not isinstance(station, dict):
        return "sgID", group
    if isinstance(station, dict) and not isinstance(group, dict):
        return "stationID", station
    raise _malformed("Give exactly one of shedGroup or shedStation.")


def read_shed_request(query: Query) -> GroupShedRequest | StationShedRequest:
    """Read a shedLoad query, refusing (187) what cannot be read; the values are judged by ``check_shed``."""
    key, block = read_target(query)
    try:
        minutes = int_field(query, "timeInterval") or 0
    except RequestError:
        raise _malformed("timeInterval must be a whole number of minutes.") from None
    if key == "sgID":
        try:
            sg_id = int(text_field(block, "sgID") or "")
        except ValueError:
            raise _malformed("shedGroup needs a numeric sgID.") from None
        return GroupShedRequest(sg_id, read_limit(block, STATION_FIELDS) or ShedLimit(), minutes)
    station_id = text_field(block, "stationID")
    if station_id is None:
        raise _malformed("shedStation needs a stationID.")
    limit = read_limit(block, STATION_FIELDS)
    ports = block.get("Ports")
    port_limits: dict[str, ShedLimit] = {}
    for entry in as_list(ports.get("Port")) if isinstance(ports, dict) else []:
        number = text_field(entry, "portNumber") if isinstance(entry, dict) else None
        if number is None:
            raise _malformed("Every Port needs a portNumber.")
        port_limits[number] = read_limit(entry, PORT_FIELDS) or ShedLimit()
    return StationShedRequest(station_id, limit, port_limits, minutes)


def read_limit(block: Query, fields: tuple[str, str]) -> ShedLimit | None:
    """The block's shed value(s) named by ``fields`` (kW name, percent name), or None when it gives none."""
    kw_name, percent_name = fields
    allowed = _number(block, kw_name)
    percent = _number(block, percent_name)
    if allowed is None and percent is None:
        return None
    if percent is not None and percent.is_integer():
        percent = int(percent)  # echoed and reported as "25", not "25.0"
    return ShedLimit(allowed_kw=allowed, percent=percent)


def _number(block: Query, name: str) -> float | None:
    """A decimal shed value; a number that cannot be read is malformed."""
    try:
        return number_field(block, name)
    except RequestError as exc:
        raise _malformed(f"{exc}.") from None


# ---------------------------------------------------------------------- the rules


@dataclass(frozen=True)
class CheckedShed:
    """Shed values that passed ``check_shed``: one ``kind`` (``"kw"`` or ``"percent"``) throughout."""

    limit: ShedLimit | None
    port_limits: dict[str, ShedLimit]
    minutes: int
    kind: str


def check_shed(
    limit: ShedLimit | None, port_limits: dict[str, ShedLimit] | None, minutes: int
) -> CheckedShed:
    """Apply the rules that need no station: a station-wide ``limit`` or ``port_limits``, each with
    one value of one kind, in range, and ``minutes`` >= 0. Raises ShedValueError (187 or 188)."""
    port_limits = dict(port_limits or {})
    if limit is not None and port_limits:
        raise _malformed("Shed either the whole station or listed Ports, not both at once.")
    if limit is None and not port_limits:
        raise _malformed("Give allowedLoadPerStation, percentShedPerStation or Ports.")
    if limit is not None:
        named = [(limit, STATION_FIELDS, "")]
    else:
        named = [(one, PORT_FIELDS, f" for Port {number}") for number, one in port_limits.items()]
    for one, fields, where in named:
        check_one_value(one, fields, where)
    kinds = {one.kind for one, _, _ in named}
    if len(kinds) > 1:
        raise _malformed("Use kW or percent for every port of a request, not a mix.")
    for one, fields, where in named:
        check_in_range(one, fields, where)
    if minutes < 0:
        raise _out_of_range(f"timeInterval must be >= 0 minutes, not {minutes}.")
    return CheckedShed(limit, port_limits, minutes, kinds.pop())


def check_one_value(one: ShedLimit, fields: tuple[str, str], where: str = "") -> None:
    """Refuse (187) a limit that gives neither or both of the values named by ``fields`` (kW, percent)."""
    kw_name, percent_name = fields
    if one.allowed_kw is None and one.percent is None:
        raise _malformed(f"Give {kw_name} or {percent_name}{where}.")
    if one.allowed_kw is not None and one.percent is not None:
        raise _malformed(f"Give either {kw_name} (kW) or {percent_name} (percent){where}, not both.")


def check_in_range(one: ShedLimit, fields: tuple[str, str], where: str = "") -> None:
    """Refuse (188) a negative or non-finite kW, or a percent that is not a whole number from 0 to 100."""
    kw_name, percent_name = fields
    if one.allowed_kw is not None and (not math.isfinite(one.allowed_kw) or one.allowed_kw < 0):
        raise _out_of_range(f"{kw_name}{where} must be a non-negative number of kW, not {one.allowed_kw}.")
    if one.percent is not None and not (0 <= one.percent <= 100 and float(one.percent).is_integer()):
        raise _out_of_range(f"{percent_name}{where} must be a whole number from 0 to 100, not {one.percent:g}.")


def refuse_other_kind(station_id: str, commanded: dict[str, PortShed], kind: str, doing: str) -> None:
    """Refuse (190) ``doing`` by ``kind`` while the station has a shed of the other kind accepted."""
    if {one.limit.kind for one in commanded.values()} - {kind}:
        other, asked = ("kW", "percent") if kind == "percent" else ("percent", "kW")
        raise ShedConflictError(
            f"Station {station_id} already has a {other} shed; clear the shed first "
            f"(clearShedState) before {doing} by {asked}."
        )


def plan_shed(
    shed: CheckedShed, station: Station, commanded: dict[str, PortShed], effective_at: float
) -> ShedCommand:
    """The command that applies ``shed`` to ``station`` from ``effective_at`` (POSIX seconds) on.

    ``commanded`` is what the cloud last accepted for the station: a shed of the other kind there is
    a conflict (ShedConflictError), and a per-port shed keeps the other ports' sheds. A port the
    station does not have (UnknownPortError) is refused before a conflict.
    """
    if shed.limit is not None:
        limits = {port.portNumber: shed.limit for port in station.ports}
    else:
        limits = {station.port(number).portNumber: one for number, one in shed.port_limits.items()}
    refuse_other_kind(station.stationID, commanded, shed.kind, "shedding")
    expires = effective_at + shed.minutes * 60.0 if shed.minutes > 0 else None
    ports = {} if shed.limit is not None else dict(commanded)
    ports.update((number, PortShed(one, expires)) for number, one in limits.items())
    return ShedCommand(effective_at, ports)
