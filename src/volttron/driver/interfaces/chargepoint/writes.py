"""Carrying out load-shed writes for one account: fresh knowledge first, exact plans, then watching them apply.

Per station it keeps what the last load read showed, what the station should show once it applies the driver's
latest write (until a read shows it, or ``settleLimit`` passes: load reads then bypass the cache), the sheds in force
before the driver's first write (what a revert restores when no Starting Value says otherwise), and the sheds the
driver wrote itself (kept alive under ``shedLease``, and re-applied with their own end time). The rules themselves
are in :mod:`.control`.

:class:`ShedControl` serves station devices; a group device's control (:class:`.groups.GroupControl`) is the same
machinery over the group's (member station, port) pairs, through the few hooks marked below.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

import gevent

from .control import CLEAR, Plan, Port, PortSheds, Step, Targets, check_against_station, configured_targets
from .control import describe, minutes_left, plan_revert, plan_write, port_label
from .exceptions import ApiTimeout, ChargePointError, MalformedResponse, TransportError
from .models import Shed, Source, StationInfo, StationLoad, WriteAction, WriteOperation, sheds_in

if TYPE_CHECKING:
    from .account import Account

_log = logging.getLogger(__name__)

FRESH_FOR_WRITES = 10.0  # s: a load read younger than this is fresh enough to plan a write on
NO_END = math.inf


@dataclass(frozen=True)
class WriteOptions:
    """A device's write settings (minutes for the API's timeInterval; seconds for settling)."""

    shed_duration: int = 0
    shed_lease: int = 0
    settle_limit: float = 300.0

    def minutes(self, now: float, ends_at: float) -> int:
        """timeInterval for a shed of ours that must end at ``ends_at``: the lease when shorter, 0 = no end."""
        lease = self.shed_lease or 0
        if ends_at == NO_END:
            return lease
        left = minutes_left(ends_at - now)
        return min(lease, left) if lease else left


@dataclass
class _Pending:
    expected: dict[Port, Shed]
    written_at: float
    deadline: float
    what: str


@dataclass
class _Owned:
    """A shed this driver wrote: when it ends (shedDuration) and, under a lease, when it is renewed."""

    shed: Shed
    ends_at: float
    renew_at: float = NO_END


@dataclass
class TargetState:
    """What one control knows of one station (or group) and what it expects of it."""

    observed: dict[Port, Shed] | None = None
    observed_at: float = -math.inf
    ports: frozenset[Port] = frozenset()
    inventory: StationInfo | None = None
    inventory_tried: bool = False  # per write: one failed inventory read is enough
    pending: _Pending | None = None
    baseline: dict[Port, Shed] | None = None  # the sheds in force before the driver's first write (None: no record)
    intervening: bool = False  # the driver has written since that record was taken
    owned_station: _Owned | None = None  # a station-wide shed of ours
    owned_ports: dict[Port, _Owned] = field(default_factory=dict)
    lease: WriteOptions | None = None  # the options the owned sheds were written with
    renewal: gevent.Greenlet | None = None
    renewal_failing: bool = False

    @property
    def current(self) -> dict[Port, Shed] | None:
        """What the station shows once it has applied the driver's latest write; else what it last showed."""
        return dict(self.pending.expected) if self.pending is not None else self.observed

    def owns(self, port: Port) -> _Owned | None:
        return self.owned_ports.get(port) or self.owned_station


class ShedControl:
    """The write side of one account for its station devices (see the module docstring)."""

    source = Source.LOAD  # the read that shows the sheds in force
    noun = "station"  # what a clear covers, in messages
    holder = "the station"  # what has a shed of the other kind, in refusals

    def __init__(self, account: "Account") -> None:
        self._account = account
        self._stations: dict[str, TargetState] = {}

    @property
    def _clock(self) -> Callable[[], float]:
        return self._account.clock

    def _state(self, station_id: str) -> TargetState:
        return self._stations.setdefault(station_id, TargetState())

    # -- the hooks a group's control replaces ------------------------------------------------------------------

    def _sheds_shown(self, load: Any) -> tuple[dict[Port, Shed], frozenset[Port]] | None:
        """The sheds in force and the ports a load answer shows (None: not an answer of this control's kind)."""
        return (sheds_in(load), frozenset(load.ports)) if isinstance(load, StationLoad) else None

    def _known_ports(self, station_id: str, state: TargetState) -> frozenset[Port]:
        return state.ports or self._inventory_ports(station_id)

    def _check(self, station_id: str, point: str, action: WriteAction, ports: frozenset[Port]) -> None:
        check_against_station(point, action, ports, self._inventory(station_id))  # type: ignore[arg-type]

    def _send(self, station_id: str, step: Step, minutes: int) -> None:
        """One API write of a plan."""
        client = self._account.client
        if step.operation is WriteOperation.CLEAR_SHED:
            client.clear_shed_state(station_id)
        else:
            client.shed_load(station_id, station=step.station, ports=step.ports or None,  # type: ignore[arg-type]
                             minutes=minutes)

    def _forget(self, station_id: str) -> None:
        """Drop cached reads that a write (or a failed one) may have made untrue."""
        self._account.station_written(station_id)

    # -- what reads tell ---------------------------------------------------------------------------------------

    def observe(self, loads: Mapping[str, Any]) -> None:
        """Take a load answer: the sheds in force now, and whether a pending write has been applied."""
        now = self._clock()
        for target, load in loads.items():
            state = self._stations.get(target)
            shown = self._sheds_shown(load)
            if state is None or shown is None:
                continue  # a target the driver never wrote to: nothing to follow
            (state.observed, state.ports), state.observed_at = shown, now
            pending = state.pending
            if pending is not None:
                if _same(pending.expected, state.observed):
                    _log.info("%s %s applied the write (%s) after %.0f s", self.noun, target, pending.what,
                              now - pending.written_at)
                    state.pending = None
                elif now >= pending.deadline:
                    _log.warning("%s %s has not applied the write accepted %.0f s ago (%s); it shows %s; "
                                 "publishing what it shows", self.noun, target, now - pending.written_at,
                                 pending.what, describe(state.observed))
                    state.pending = None
            if state.pending is None:
                self._forget_cleared_elsewhere(target, state)

    def stale(self, target: str) -> None:
        """Another device wrote to this target (a group to its member, a station to a group's member): what this
        control knew or expected is no longer to be trusted; the next write reads afresh."""
        state = self._stations.get(target)
        if state is not None:
            state.pending, state.observed_at = None, -math.inf

    def needs_fresh_load(self, station_id: str) -> bool:
        """True while a write is not yet seen applied: its station's load is read at every poll."""
        state = self._stations.get(station_id)
        return state is not None and state.pending is not None

    # -- writes ------------------------------------------------------------------------------------------------

    def write(self, station_id: str, point: str, action: WriteAction, options: WriteOptions) -> Plan:
        """Carry out an operator's shed or clear exactly, or raise before any call when it cannot be."""
        state = self._state(station_id)
        state.inventory_tried = False
        current = self._knowledge(station_id)
        ports = self._known_ports(station_id, state)
        self._check(station_id, point, action, ports)
        plan = plan_write(point, action, current, ports, holder=self.holder)
        if not plan.steps:
            _log.info("%s %s: %s: nothing to clear on port %s (%s)", self.noun, station_id, point, action.port,
                      describe(current or {}))
            return plan
        if not state.intervening:  # the driver's first write since it started or last reverted
            state.baseline, state.intervening = dict(current or {}), True
        now = self._clock()
        ends_at = now + options.shed_duration * 60 if options.shed_duration else NO_END
        operator_shed = action.operation is WriteOperation.SHED
        self._execute(station_id, point, plan, options, lambda step: options.minutes(now, ends_at) if operator_shed
                      else self._reapply_minutes(state, step, options))
        self._own(state, plan, action, options, ends_at)
        return plan

    def revert(self, station_id: str, defaults: Mapping[int | None, Shed | None], options: WriteOptions) -> Plan:
        """Bring the whole station back to its Starting Values, else to the sheds in force before the driver's
        first write (no shed when nothing was recorded)."""
        state = self._state(station_id)
        state.inventory_tried = False
        current = self._knowledge(station_id)
        ports = self._known_ports(station_id, state)
        targets = configured_targets(defaults, state.baseline or {}, ports)
        plan = plan_revert(targets, current, ports)
        if plan.steps:
            now = self._clock()
            ends_at = now + options.shed_duration * 60 if options.shed_duration else NO_END
            configured = _configured_ports(defaults, targets)
            self._execute(station_id, "revert", plan, options,
                          lambda step: options.minutes(now, ends_at) if _covers(step, configured) else 0)
            self._own_configured(state, plan, configured, options, ends_at)
        else:
            _log.info("%s %s: revert: already at %s", self.noun, station_id, describe(plan.expected))
        state.intervening = False  # the record stays what a revert restores, until the next write
        return plan

    def _knowledge(self, station_id: str) -> dict[Port, Shed] | None:
        """The sheds in force as freshly as can be known; None when they could not be read at all."""
        state = self._state(station_id)
        if state.pending is None and self._clock() - state.observed_at >= FRESH_FOR_WRITES:
            try:
                load = self._account.read(self.source, station_id, FRESH_FOR_WRITES, for_write=True)
            except ChargePointError as exc:
                _log.info("%s %s: load not read before the write (%s); planning on %s", self.noun, station_id, exc,
                          "the last read" if state.observed is not None else "no knowledge")
            else:
                shown = self._sheds_shown(load)  # a cached answer, or one this read fetched
                if shown is not None:
                    (state.observed, state.ports), state.observed_at = shown, self._clock()
        return state.current

    def _inventory(self, station_id: str) -> StationInfo | None:
        """The station's ports and ratings (read once: they change a few times a year)."""
        state = self._state(station_id)
        if state.inventory is None and not state.inventory_tried:
            state.inventory_tried = True
            try:
                found = self._account.read(Source.STATIONS, station_id, math.inf, for_write=True)
            except ChargePointError as exc:
                _log.debug("station %s: inventory not read before the write (%s)", station_id, exc)
            else:
                state.inventory = found if isinstance(found, StationInfo) else None
        return state.inventory

    def _inventory_ports(self, station_id: str) -> frozenset[Port]:
        inventory = self._inventory(station_id)
        return frozenset(inventory.ports) if inventory is not None else frozenset()

    def _reapply_minutes(self, state: TargetState, step: Step, options: WriteOptions) -> int:
        # A re-applied shed of ours keeps its own end; another program's (its end unknown) is re-applied for good.
        owners = [state.owns(port) for port in step.ports] or [state.owned_station]
        if all(owner is not None for owner in owners):
            return options.minutes(self._clock(), min(owner.ends_at for owner in owners))  # type: ignore[union-attr]
        return 0

    def _execute(self, station_id: str, point: str, plan: Plan, options: WriteOptions,
                 minutes: Callable[[Step], int]) -> None:
        state = self._state(station_id)
        done: list[Step] = []
        for step in plan.steps:
            try:
                self._send(station_id, step, minutes(step))
            except ChargePointError as exc:
                self._forget(station_id)
                state.pending, state.observed_at = None, -math.inf  # read again before trusting anything
                raise _explained(exc, point, step, done, self.noun) from None
            done.append(step)
        if len(plan.steps) > 1:
            _log.info("%s %s: %s: %s", self.noun, station_id, point, plan.describe(self.noun))
        now = self._clock()
        state.pending = _Pending(plan.expected, now, now + options.settle_limit, plan.describe(self.noun))
        self._forget(station_id)

    # -- sheds of our own, and their lease ---------------------------------------------------------------------

    def _own(self, state: TargetState, plan: Plan, action: WriteAction, options: WriteOptions, ends_at: float) -> None:
        if action.operation is WriteOperation.CLEAR_SHED:
            if action.port is None:
                state.owned_station, state.owned_ports = None, {}
            else:
                self._keep_only(state, set(plan.expected))
            return
        last = plan.steps[-1]
        renew_at = self._renew_at(options)
        if last.station is not None:
            state.owned_station, state.owned_ports = _Owned(last.station, ends_at, renew_at), {}
        else:
            state.owned_ports.update({port: _Owned(shed, ends_at, renew_at) for port, shed in last.ports.items()})
        state.lease = options

    def _own_configured(self, state: TargetState, plan: Plan, configured: set[Port], options: WriteOptions,
                        ends_at: float) -> None:
        state.owned_station, state.owned_ports = None, {}
        renew_at = self._renew_at(options)
        for step in plan.steps:
            if step.station is not None:
                state.owned_station = _Owned(step.station, ends_at, renew_at)
            state.owned_ports.update({port: _Owned(shed, ends_at, renew_at) for port, shed in step.ports.items()
                                      if port in configured})
        state.lease = options

    @staticmethod
    def _keep_only(state: TargetState, ports: set[Port]) -> None:
        # After a port's clear, a station-wide shed of ours lives on as the other ports' re-applied sheds.
        if state.owned_station is not None:
            for port in ports:
                state.owned_ports.setdefault(port, state.owned_station)
            state.owned_station = None
        state.owned_ports = {port: owned for port, owned in state.owned_ports.items() if port in ports}

    def _renew_at(self, options: WriteOptions) -> float:
        return self._clock() + options.shed_lease * 30 if options.shed_lease else NO_END

    def _forget_cleared_elsewhere(self, station_id: str, state: TargetState) -> None:
        # A shed of ours that a read no longer shows was cleared (or lapsed): never bring it back by renewing.
        shown = state.observed or {}
        if state.owned_station is not None and not shown:
            state.owned_station = None
        gone = [port for port in state.owned_ports if port not in shown]
        for port in gone:
            del state.owned_ports[port]
        if gone:
            _log.info("%s %s: the shed of %s is no longer in force; not renewing it", self.noun, station_id,
                      ", ".join(map(port_label, gone)))

    def poll(self, station_id: str) -> gevent.Greenlet | None:
        """Start renewing the sheds of ours on this station whose lease is half gone (at each poll of a device);
        returns the renewal under way, if any, for the poll to wait on beside its reads."""
        state = self._stations.get(station_id)
        if state is None or state.lease is None or not state.lease.shed_lease:
            return None
        if state.renewal is not None and not state.renewal.dead:
            return state.renewal
        now = self._clock()
        owned = [state.owned_station] if state.owned_station else list(state.owned_ports.values())
        if any(o.renew_at <= now < o.ends_at for o in owned):
            state.renewal = gevent.spawn(self._renew, station_id, state)
            return state.renewal
        return None

    def _renew(self, station_id: str, state: TargetState) -> None:
        options = state.lease or WriteOptions()
        steps = []
        if state.owned_station is not None:
            steps.append(Step(WriteOperation.SHED, station=state.owned_station.shed))
        live = {port: o for port, o in state.owned_ports.items() if o.ends_at > self._clock()}
        if live:
            steps.append(Step(WriteOperation.SHED, ports={port: o.shed for port, o in live.items()}))
        try:
            for step in steps:
                owners = [state.owned_station] if step.station is not None else list(live.values())
                self._send(station_id, step, options.minutes(self._clock(), min(o.ends_at for o in owners)))
        except ChargePointError as exc:
            if not state.renewal_failing:
                _log.warning("%s %s: renewing the shed lease failed (%s); the shed lapses unless a later "
                             "poll renews it", self.noun, station_id, exc)
            state.renewal_failing = True
            return
        if state.renewal_failing:
            _log.info("%s %s: shed lease renewed again", self.noun, station_id)
        state.renewal_failing = False
        renew_at = self._renew_at(options)
        for owned in ([state.owned_station] if state.owned_station else []) + list(live.values()):
            owned.renew_at = renew_at


def _same(expected: Mapping[Port, Shed], observed: Mapping[Port, Shed]) -> bool:
    return len(expected) == len(observed) and all(shed.matches(observed.get(port)) for port, shed in expected.items())


def _configured_ports(defaults: Mapping[int | None, Shed | None], targets: Targets) -> set[Port]:
    """The ports whose revert target comes from a Starting Value: sheds the driver then writes as its own."""
    if None in defaults:
        return set(targets.ports)
    return {port for port in targets.ports if port in defaults}


def _covers(step: Step, ports: set[Port]) -> bool:
    return step.station is not None or (bool(step.ports) and set(step.ports) <= ports)


def _explained(exc: ChargePointError, point: str, step: Step, done: list[Step], noun: str) -> ChargePointError:
    """The failure with what it means for the station (or group): a write without an answer may have been applied,
    and a clear that went through while the re-application failed has left ports unshed."""
    notes = []
    uncertain = isinstance(exc, (ApiTimeout, MalformedResponse)) or (
        isinstance(exc, TransportError) and exc.delivered is not False)
    if uncertain:
        notes.append(f"the write ({step.describe(noun)}) may have been applied: read shedState to know")
    if CLEAR in done and step is not CLEAR:
        ports = ", ".join(port_label(port) for port in step.ports) or f"the {noun}"
        notes.append(f"the {noun} was cleared first, so {ports} meant to keep their shed may be unshed now")
    if notes:
        exc.args = (f"{exc.args[0] if exc.args else exc}; {'; '.join(notes)}",)
    return exc


__all__ = ["FRESH_FOR_WRITES", "ShedControl", "TargetState", "WriteOptions", "PortSheds", "Targets"]
