"""Load-shed control rules: from what the station shows and what the operator asked, the exact API writes.

Pure functions, no I/O, so that every rule is tested on its own. The API takes one kind of shed (kW or percent) at
a time per station and clears only whole stations, so a request may take a clear followed by a re-application of
what must stay. Knowledge of a station is per port (a getLoad answer cannot tell a station-wide shed from equal
port sheds); the driver writes a station-wide shed only when the operator writes or configures one.

A station group is planned with the same rules, as a station whose ports are (member station, port) pairs: a
group-wide shed is its "station-wide" step and a clear is one group clear (see :mod:`.groups`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Union

from .exceptions import ConfigError, WriteRejected
from .models import KW_RESOLUTION, Member, Shed, ShedKind, StationInfo, WriteAction, WriteOperation


PortSheds = Mapping[int, Shed]  # the sheds in force per port; a port that is absent has none
# A group is planned as a station whose ports are (member station, port) pairs: the same rules then hold for it.
Port = Union[int, Member]


def port_label(port: Port) -> str:
    """A port as messages name it: ``port 1``, or ``1:10001 port 1`` for a group's member."""
    return f"{port[0]} port {port[1]}" if isinstance(port, tuple) else f"port {port}"


@dataclass(frozen=True)
class Step:
    """One API write: a clear of the whole station, a station-wide shed, or sheds of listed ports."""

    operation: WriteOperation
    station: Shed | None = None
    ports: Mapping[Port, Shed] = field(default_factory=dict)

    def describe(self, noun: str = "station") -> str:
        """The write in words; ``noun`` is what a clear or a station-wide shed covers (station, group)."""
        if self.operation is WriteOperation.CLEAR_SHED:
            return f"clear the {noun}"
        if self.station is not None:
            return f"shed the {noun} at {self.station}"
        return "shed " + ", ".join(f"{port_label(port)} at {shed}" for port, shed in _sorted(self.ports))

    def __str__(self) -> str:
        return self.describe()


CLEAR = Step(WriteOperation.CLEAR_SHED)


@dataclass(frozen=True)
class Plan:
    """The writes that carry out a request, and the sheds in force once the station has applied them."""

    steps: tuple[Step, ...]
    expected: dict[Port, Shed]

    def describe(self, noun: str = "station") -> str:
        return "; then ".join(step.describe(noun) for step in self.steps) or "nothing to send"

    def __str__(self) -> str:
        return self.describe()


def _sorted(sheds: Mapping[Port, Shed]) -> list[tuple[Port, Shed]]:
    return sorted(sheds.items(), key=lambda item: (str(item[0][0]), item[0][1]) if isinstance(item[0], tuple)
                  else ("", item[0]))


def describe(sheds: Mapping[Port, Shed]) -> str:
    return ", ".join(f"{port_label(port)} {shed}" for port, shed in _sorted(sheds)) or "no shed"


def _kind_conflict(point: str, wanted: ShedKind, current: Mapping[Port, Shed], holder: str) -> None:
    in_force = {shed.kind for shed in current.values()} - {wanted}
    if in_force:
        other = in_force.pop().value
        raise WriteRejected(f"{point}: {holder} has a {other} shed in force ({describe(current)}) and the API "
                            f"takes one kind at a time: clear it first (write shedState 0), then write the "
                            f"{wanted.value} shed")


def check_against_station(point: str, action: WriteAction, ports: Iterable[int], station: StationInfo | None
                          ) -> None:
    """Refuse a write the station cannot take: a port it lacks, or kW above its rating (when the API reports it)."""
    known = sorted(ports)
    if action.port is not None and known and action.port not in known:
        raise WriteRejected(f"{point}: the station has port(s) {', '.join(map(str, known))}, not port {action.port}; "
                            f"nothing was sent")
    if action.allowed_kw is None or station is None:
        return
    ratings = {number: info.power for number, info in station.ports.items() if info.power}
    if action.port is not None:
        rating = ratings.get(action.port)
        where = f"port {action.port} is rated {rating:g} kW" if rating else ""
    else:
        rating = sum(ratings.values()) if ratings and len(ratings) == len(station.ports) else None
        where = f"the station's ports are rated {rating:g} kW in all" if rating else ""
    if rating and action.allowed_kw > rating + KW_RESOLUTION / 2:
        raise WriteRejected(f"{point}: {action.allowed_kw:g} kW refused: {where}; write at most {rating:g}")


def plan_write(point: str, action: WriteAction, current: Mapping[Port, Shed] | None, ports: Iterable[Port], *,
               holder: str = "the station") -> Plan:
    """The writes for an operator's shed or clear, checked against the sheds in force (None: could not be read).

    A clear of one port clears the station (the API cannot clear a port alone) and re-applies, in one more write,
    every other port's shed in force; a port with no shed in force needs nothing. ``holder`` names, in a refusal,
    what has the shed of the other kind ("the station", "a member station").
    """
    known = set(ports) | set(current or {})
    shed = shed_of(action)
    if shed is not None:
        if current is not None:
            _kind_conflict(point, shed.kind, current, holder)
        if action.port is None:
            return Plan((Step(WriteOperation.SHED, station=shed),), {port: shed for port in known})
        return Plan((Step(WriteOperation.SHED, ports={action.port: shed}),), {**(current or {}), action.port: shed})
    if action.port is None:
        return Plan((CLEAR,), {})
    if current is None:
        raise WriteRejected(f"{point}: cannot clear port {action.port} alone: the station's sheds could not be read "
                            "and the API clears whole stations, so the other ports' sheds would be lost; write the "
                            "station-level shedState 0 to clear them all")
    if action.port not in current:
        return Plan((), dict(current))
    others = {port: shed for port, shed in current.items() if port != action.port}
    return Plan((CLEAR, Step(WriteOperation.SHED, ports=others)) if others else (CLEAR,), others)


@dataclass(frozen=True)
class Targets:
    """What a revert brings each port back to: None = no shed.

    ``station`` is set when every port's target is one station-wide shed the operator configured; it is then
    written as such.
    """

    ports: Mapping[Port, Shed | None]
    station: Shed | None = None


def plan_revert(targets: Targets, current: Mapping[Port, Shed] | None, ports: Iterable[Port]) -> Plan:
    """The fewest writes that bring the whole station from ``current`` to ``targets``: at most one clear, then one
    re-application of what must be in force. ``current`` None (the sheds in force could not be read) clears."""
    known = set(ports) | set(current or {}) | set(targets.ports)
    desired = {port: shed for port in known if (shed := targets.ports.get(port)) is not None}
    kinds = {shed.kind for shed in desired.values()}
    if len(kinds) > 1:
        raise WriteRejected(f"cannot revert to {describe(desired)}: the API takes one kind of shed at a time")
    if current is None:
        return Plan((CLEAR, Step(WriteOperation.SHED, ports=desired)) if desired else (CLEAR,), desired)
    if len(desired) == len(current) and all(shed.matches(current.get(port)) for port, shed in desired.items()):
        return Plan((), dict(current))
    keeps_kind = not ({shed.kind for shed in current.values()} - kinds)
    if targets.station is not None and len(desired) == len(known):
        step = Step(WriteOperation.SHED, station=targets.station)
        return Plan((step,) if keeps_kind else (CLEAR, step), desired)
    removes = any(port not in desired for port in current)
    changed = {port: shed for port, shed in desired.items() if not shed.matches(current.get(port))}
    if keeps_kind and not removes:
        return Plan((Step(WriteOperation.SHED, ports=changed),), desired)
    return Plan((CLEAR, Step(WriteOperation.SHED, ports=desired)) if desired else (CLEAR,), desired)


def configured_targets(defaults: Mapping[int | None, Shed | None], baseline: Mapping[Port, Shed],
                       ports: Iterable[Port]) -> Targets:
    """Revert targets: a port's own Starting Value, else the station's, else the shed in force before the driver
    first wrote (``baseline``; no shed when nothing was recorded). Ports the station lacks are left out."""
    known = set(ports) or set(baseline) | {port for port in defaults if port is not None}
    station_default = defaults.get(None, _UNSET)
    result: dict[Port, Shed | None] = {}
    for port in known:
        if port in defaults:
            result[port] = defaults[port]
        elif station_default is not _UNSET:
            result[port] = station_default  # type: ignore[assignment]
        else:
            result[port] = baseline.get(port)
    from_station = (station_default not in (_UNSET, None) and not any(port in defaults for port in known))
    return Targets(result, station_default if from_station else None)  # type: ignore[arg-type]


_UNSET = object()


def revert_defaults(starting: Iterable[tuple[str, int | None, WriteAction]]) -> dict[int | None, Shed | None]:
    """The revert target each Starting Value sets, by port (None = the station), from (point, port, its write).

    Two Starting Values for one port, or of both kinds on one station, could never be in force together: refused.
    """
    defaults: dict[int | None, Shed | None] = {}
    named: dict[int | None, str] = {}
    for point, port, action in starting:
        shed = shed_of(action)
        if port in defaults and defaults[port] != shed:
            where = "the station" if port is None else f"port {port}"
            raise ConfigError(f"points {named[port]!r} and {point!r} both give {where} a Starting Value: keep one")
        defaults[port], named[port] = shed, point
    kinds = {shed.kind for shed in defaults.values() if shed is not None}
    if len(kinds) > 1:
        raise ConfigError(f"the Starting Values of {', '.join(map(repr, named.values()))} mix kW and percent sheds, "
                          "which the API never has in force together on one station: keep one kind")
    return defaults


def shed_of(action: WriteAction) -> Shed | None:
    """The shed a validated write (or Starting Value) asks for; None for a clear."""
    if action.operation is not WriteOperation.SHED:
        return None
    if action.allowed_kw is not None:
        return Shed(ShedKind.KW, action.allowed_kw)
    return Shed(ShedKind.PERCENT, action.percent or 0.0)


def minutes_left(seconds: float) -> int:
    """A remaining time as the API's whole minutes, rounded up (a shed never lapses early).

    Rounded up past what floating point adds: five minutes from a clock reading of about 32 500 s (a host up nine
    hours) come out as 300.000000000004 s, which must still be 5 minutes, not 6.
    """
    return max(1, math.ceil(seconds / 60 - 1e-9))
