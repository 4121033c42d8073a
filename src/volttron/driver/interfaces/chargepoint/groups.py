"""Station groups as devices of an account: their reads shared with the station devices, and their writes.

One getLoad by sgID answers for the group and for every member station, so a group device's read also fills the
cache entries of the member stations' loads, and a station device's load is read through a configured group that
holds it (one call serves both, whichever device polls first). Station devices' batched getLoad by group fills the
group's entry too. A write to a group changes its members, and a write to a member changes its groups: each drops
the other's cached reads and knowledge.

Group writes follow the stations' control-safety rules by planning a group as a station whose ports are (member
station, port) pairs (:mod:`.control`): a group-wide shed is the "station-wide" step, a clear is one group clear,
and what must be re-applied afterwards goes to each member as port sheds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from .control import Port, Step
from .models import GroupLoad, Shed, Source, WriteAction, WriteOperation, group_ports, group_sheds
from .writes import ShedControl, TargetState

if TYPE_CHECKING:
    from .account import Account


class GroupReads:
    """Which stations each group holds, as its last getLoad answer (or the stations' inventory) showed."""

    def __init__(self, account: "Account") -> None:
        self._account = account
        self._configured: set[str] = set()  # groups of the devices configured on this account
        self._members: dict[str, frozenset[str]] = {}  # group -> the stations of its last answer

    def register(self, sg_id: str) -> None:
        """A group device is configured: its group's answer may serve its members' load reads."""
        self._configured.add(sg_id)

    @property
    def configured(self) -> list[str]:
        return sorted(self._configured)

    def fetch(self, sg_id: str) -> dict[str, GroupLoad]:
        """One getLoad by sgID; its member stations' loads go into the cache for the station devices."""
        answer = self._account.client.get_load(sg_id=int(sg_id))
        self._members[sg_id] = frozenset(answer.stations)
        self._account.cache.put({(Source.LOAD, sid): load for sid, load in answer.stations.items()})
        self._account.control.observe(answer.stations)
        return {sg_id: answer}

    def took(self, sg_id: str, answer: GroupLoad) -> None:
        """A group answer fetched for station devices (batched getLoad): it serves the group's device too."""
        self._members[sg_id] = frozenset(answer.stations)
        self._account.cache.put({(Source.GROUP_LOAD, sg_id): answer})
        self._account.group_control.observe({sg_id: answer})

    def covering(self, station_id: str, inventory_groups: Iterable[str] = ()) -> str | None:
        """The configured group whose answer includes this station (by its last answer, or the station's
        inventory membership), if any."""
        listed = set(inventory_groups)
        for sg_id in self.configured:
            if station_id in self._members.get(sg_id, ()) or sg_id in listed:
                return sg_id
        return None

    def applying(self, source: Source, target: str) -> bool:
        """True while a write that changes ``target`` (a station, or a group) is not yet seen applied: a group's
        write for its members, a member's write for its groups. Their loads are then read at every poll."""
        if source is Source.LOAD:
            return any(self._account.group_control.needs_fresh_load(sg_id)
                       for sg_id, members in self._members.items() if target in members)
        if source is Source.GROUP_LOAD:
            return any(self._account.control.needs_fresh_load(sid) for sid in self._members.get(target, ()))
        return False

    def station_written(self, station_id: str) -> None:
        """A write to a station: the groups holding it no longer show it truly."""
        for sg_id, members in self._members.items():
            if station_id in members:
                self._account.cache.invalidate(lambda key, sg=sg_id: key == (Source.GROUP_LOAD, sg))
                self._account.group_control.stale(sg_id)

    def group_written(self, sg_id: str) -> None:
        """A write to a group: its cached answer and its members' loads no longer show them truly."""
        members = self._members.get(sg_id, frozenset())
        self._account.cache.invalidate(lambda key: key == (Source.GROUP_LOAD, sg_id)
                                       or (key[0] is Source.LOAD and key[1] in members))
        for station_id in members:
            self._account.control.stale(station_id)


class GroupControl(ShedControl):
    """The write side of an account's group devices: ShedControl over (member station, port) pairs.

    Nothing is checked against the members' ratings: a group cap applies to each station, and the members may
    differ; the value rules (kW to three decimals, whole percents 1-100) are the registers' and hold as for
    stations.
    """

    source = Source.GROUP_LOAD
    noun = "group"
    holder = "a member station"

    def _sheds_shown(self, load: Any) -> tuple[dict[Port, Shed], frozenset[Port]] | None:
        if not isinstance(load, GroupLoad):
            return None
        return dict(group_sheds(load)), frozenset(group_ports(load))  # type: ignore[arg-type]

    def _known_ports(self, sg_id: str, state: TargetState) -> frozenset[Port]:
        return state.ports

    def _check(self, sg_id: str, point: str, action: WriteAction, ports: frozenset[Port]) -> None:
        return None

    def _send(self, sg_id: str, step: Step, minutes: int) -> None:
        client = self._account.client
        if step.operation is WriteOperation.CLEAR_SHED:
            client.clear_group_shed(int(sg_id))
        elif step.station is not None:
            client.shed_group(int(sg_id), step.station, minutes)
        else:
            # What a group must keep after a clear is re-applied member by member, each on its own ports.
            by_member: dict[str, dict[int, Shed]] = {}
            for (station_id, port), shed in step.ports.items():  # type: ignore[misc]
                by_member.setdefault(station_id, {})[port] = shed
            for station_id, sheds in sorted(by_member.items()):
                client.shed_load(station_id, ports=sheds, minutes=minutes)

    def _forget(self, sg_id: str) -> None:
        self._account.groups.group_written(sg_id)


__all__ = ["GroupControl", "GroupReads"]
