"""One API account shared by its devices: the client, the response cache, batched reads, back-off and writes.

A device asks for one kind of data (a :class:`~.models.Source`) for its station. When several stations of the
account are configured in the process, one call answers for all of them (getStationStatus takes a list of
stations; getStations, getAlarms, getStationRights and getChargingSessionData answer for the whole organisation;
getLoad is asked per station group), so the number of API calls per poll cycle does not grow with the number of
devices. Group devices share it too (:mod:`.groups`).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import Any, Callable, Hashable, Iterable, Mapping

import gevent
from gevent.lock import RLock

from .backoff import Backoff
from .batching import SessionHistory, group_cover, group_ids
from .cache import ResponseCache
from .client import NO_DATA, ChargePointClient
from .config import AccountSettings
from .exceptions import ApiError, ApiTimeout, ChargePointError, TransportError
from .groups import GroupControl, GroupReads
from .models import Shed, Source, StationInfo, StationLoad, WriteAction, WriteOperation
from .writes import ShedControl, WriteOptions

_log = logging.getLogger(__name__)

POLL_MARGIN = 2.0  # seconds a poll may run past the API timeout before its unfinished reads are abandoned

Fetched = dict[str, Any]


class _NotFound:
    """Cached marker: the batched answer did not include this station."""

    def __init__(self, operation: str, station_id: str) -> None:
        self.error = ApiError(NO_DATA, f"station {station_id} not found", operation=operation)


class Account:
    """One API account: a shared client, cache and back-off state for every device that uses it.

    ``batching`` False asks per station and method, as the old driver did (the benchmark compares both).
    """

    def __init__(self, settings: AccountSettings, factory: Callable[[AccountSettings], ChargePointClient], *,
                 batching: bool = True, backoff_base: float = 5.0, backoff_max: float = 300.0,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.settings = settings
        self._batching = batching
        self._factory = factory
        self._client: ChargePointClient | None = None
        self._client_lock = RLock()
        self.cache = ResponseCache(clock=clock)
        self.backoff = Backoff(Source, self.username_hint, base=backoff_base, maximum=backoff_max, clock=clock)
        self._stations: set[str] = set()  # stations of the devices configured on this account
        self._sessions = SessionHistory()
        self._org_size: int | None = None  # stations in the organisation, once an org-wide inventory was read
        self._groups: dict[str, list[str]] = {}  # station -> ids of the groups it belongs to
        self.control = ShedControl(self)
        self.groups = GroupReads(self)
        self.group_control = GroupControl(self)
        self._controls: dict[Source, ShedControl] = {Source.LOAD: self.control, Source.GROUP_LOAD: self.group_control}
        self.wall_clock = wall_clock  # what "now" is for a scheduled shed event's start (aware UTC)
        self._max_age_seen = 0.0
        self._fetchers: dict[Source, Callable[[str, str | None, list[str]], Fetched]] = {
            Source.STATIONS: self._fetch_stations,
            Source.STATUS: lambda station_id, one, ids: self.client.get_station_status(ids),
            Source.LOAD: self._fetch_load,
            Source.ALARMS: self._fetch_alarms,
            Source.RIGHTS: lambda station_id, one, ids: self.client.get_station_rights(one),
            Source.SESSIONS: self._fetch_sessions,
            Source.GROUP_LOAD: lambda sg_id, one, ids: self.groups.fetch(sg_id),
        }

    def __repr__(self) -> str:
        return f"Account({self.username_hint!r}, stations={len(self._stations)})"

    @property
    def batching(self) -> bool:
        """True when one call answers for several stations (fixed when the account is made)."""
        return self._batching

    @property
    def clock(self) -> Callable[[], float]:
        return self.cache.clock

    @property
    def client(self) -> ChargePointClient:
        """The account's client, made (WSDL parsed or fetched) at the first call that needs it."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = self._factory(self.settings)
        return self._client

    @property
    def username_hint(self) -> str:
        """The username (an API license key) shortened for logs: enough to tell accounts apart."""
        name = self.settings.username
        return f"{name[:4]}…" if len(name) > 8 else "user…"

    # -- device registration ---------------------------------------------------------------------------------------

    def register(self, station_id: str) -> None:
        """Include a configured device's station in batched requests."""
        self._stations.add(station_id)

    def register_group(self, sg_id: str) -> None:
        """A configured group device: its group's answers also serve its member stations' load reads."""
        self.groups.register(sg_id)

    @property
    def stations(self) -> list[str]:
        return sorted(self._stations)

    def _batched(self, source: Source, station_id: str) -> bool:
        if not (self._batching and len(self._stations) > 1 and station_id in self._stations):
            return False
        if source is Source.SESSIONS:
            # Organisation-wide session history is large (every station's last day): worth it only when the
            # configured stations are a good share of the organisation.
            return self._org_size is not None and 2 * len(self._stations) >= self._org_size
        return True

    # -- reads ---------------------------------------------------------------------------------------------------

    def read_sources(self, station_id: str, sources: Iterable[Source],
                     max_age: float) -> dict[Source, Any | ChargePointError]:
        """Fetch the data of several sources for one station (or group) concurrently; failures come back as values.

        Returns within the API timeout plus :data:`POLL_MARGIN`, whatever the API does.
        """
        # Lease renewals run beside the reads, within the same bound (a control knows only its own targets).
        renewals = [renewal for control in self._controls.values()
                    if (renewal := control.poll(station_id)) is not None]
        results: dict[Source, Any] = {}
        pending: dict[Source, gevent.Greenlet] = {}
        for source in sources:
            age = 0.0 if self._applying(source, station_id) else max_age
            hit, value = self.cache.get((source, station_id), age)
            if hit:
                results[source] = _unwrap(value)
            else:
                pending[source] = gevent.spawn(self._read_or_error, source, station_id, age)
        if pending or renewals:
            gevent.joinall([*pending.values(), *renewals], timeout=self.settings.timeout + POLL_MARGIN)
        for source, greenlet in pending.items():
            if not greenlet.ready():
                greenlet.kill(block=False)
                results[source] = ApiTimeout(f"{source.value}: no answer within {self.settings.timeout:g} s")
            elif greenlet.successful() and not _stray(greenlet.value):
                results[source] = greenlet.value  # data, or the ChargePointError it failed with
            else:
                results[source] = TransportError(f"{source.value}: interrupted "
                                                 f"({greenlet.exception or greenlet.value!r})")
        return results

    def _applying(self, source: Source, target: str) -> bool:
        """After a write its station's (or group's) load is read afresh at every poll until it shows the write, and
        so is the load of what the write changed too: a group's members, a member's groups."""
        control = self._controls.get(source)
        return control is not None and (control.needs_fresh_load(target) or self.groups.applying(source, target))

    def _read_or_error(self, source: Source, station_id: str, max_age: float) -> Any:
        # Errors come back as values: a greenlet that raised would also be reported on stderr by gevent's hub.
        try:
            return self.read(source, station_id, max_age)
        except ChargePointError as exc:
            return exc

    def read(self, source: Source, station_id: str, max_age: float, *, for_write: bool = False) -> Any:
        """The data of one source for one station, from the cache when younger than ``max_age`` seconds.

        ``for_write``: a read a write makes for itself; its failure does not extend the polls' back-off.
        """
        key = (source, station_id)
        self._max_age_seen = max(self._max_age_seen, max_age)
        hit, value = self.cache.get(key, max_age)
        if hit:
            return _unwrap(value)
        if source is Source.LOAD and self._read_through_group(station_id, max_age, for_write):
            hit, value = self.cache.get(key, max(max_age, 1.0))
            if hit:
                return _unwrap(value)
        batched = self._batched(source, station_id)
        self._fetch_once((source, "*") if batched else key, source, station_id, batched, not for_write)
        hit, value = self.cache.get(key, max(max_age, 1.0))
        if not hit:
            # A batch that started before this station was registered; ask for it alone.
            self._fetch_once(key, source, station_id, False, not for_write)
            hit, value = self.cache.get(key, max(max_age, 1.0))
        return _unwrap(value)

    def _read_through_group(self, station_id: str, max_age: float, for_write: bool) -> bool:
        """Read a station's load through a configured group device's group that holds it (one call serves both);
        False when there is none, or the API refuses the group (the station is then asked on its own)."""
        group = self.groups.covering(station_id, self._groups.get(station_id, ()))
        if group is None:
            return False
        try:
            self.read(Source.GROUP_LOAD, group, max_age, for_write=for_write)
        except ApiError as exc:
            _log.debug("station %s: load not read through group %s (%s)", station_id, group, exc)
            return False
        return True

    def _fetch_once(self, flight: Hashable, source: Source, station_id: str, batched: bool, counted: bool) -> None:
        """One fetch into the cache, shared by every caller of the same flight, unless the source backs off."""
        self.cache.single_flight(
            flight, lambda: self.backoff.run(source, source.value, lambda: self._fetch(source, station_id, batched),
                                             counted=counted),
            self.settings.timeout + POLL_MARGIN)

    def _fetch(self, source: Source, station_id: str, batched: bool) -> None:
        ids = self.stations if batched else [station_id]
        found = self._fetchers[source](station_id, None if batched else station_id, ids)
        if source in self._controls:
            self._controls[source].observe(found)
        if source is Source.LOAD:
            ids = sorted(set(found) & set(ids) | {station_id})  # stations left out ask on their own later
        self.cache.put({(source, sid): found[sid] if sid in found else _NotFound(source.value, sid) for sid in ids})
        if self._max_age_seen:
            self.cache.prune(self._max_age_seen * 2)

    def _fetch_stations(self, station_id: str, one: str | None, ids: list[str]) -> Fetched:
        found = {s.station_id: s for s in self.client.get_stations(one)}
        self._remember_groups(found.values())
        if one is None:
            self._org_size = len(found)
        return found

    def _fetch_alarms(self, station_id: str, one: str | None, ids: list[str]) -> Fetched:
        found = self.client.get_alarms(one)
        return {sid: found.get(sid, []) for sid in ids}

    def _remember_groups(self, stations: Iterable[StationInfo]) -> None:
        for station in stations:
            self._groups[station.station_id] = group_ids(station.sg_id)

    def _fetch_load(self, station_id: str, one: str | None, ids: list[str]) -> dict[str, StationLoad]:
        # getLoad answers per station or per station group: cover the stations with as few groups as possible
        # (membership comes from getStations) and ask the rest one by one.
        if one is not None:
            return self.client.get_load(station_id)
        if any(sid not in self._groups for sid in ids):
            # Membership changes rarely: any cached inventory will do, else share the inventory fetch. Without
            # it, stations of unknown membership are asked one by one rather than failing their load reads.
            try:
                self.read(Source.STATIONS, station_id, float("inf"))
            except ChargePointError as exc:
                _log.debug("no group membership for batched getLoad (%s); asking per station", exc)
        found: dict[str, StationLoad] = {}
        for group, _members in group_cover(ids, self._groups, prefer=self.groups.configured):
            answer = self.client.get_load(sg_id=int(group))
            self.groups.took(group, answer)
            found.update(answer.stations)
        if station_id not in found:
            found.update(self.client.get_load(station_id))
        return found

    def _fetch_sessions(self, station_id: str, one: str | None, ids: list[str]) -> Fetched:
        scope = one or "*"
        self._sessions.merge(scope, self.client.get_charging_sessions(one, self._sessions.since(scope)))
        return {sid: self._sessions.latest(sid) for sid in ids}

    # -- writes ------------------------------------------------------------------------------------------------------

    def write(self, station_id: str, point: str, action: WriteAction, options: WriteOptions, *,
              source: Source = Source.LOAD) -> None:
        """Carry out a validated write exactly; raises on any refusal (before any call when it can be known).

        ``source`` is the written point's: a group's point (Source.GROUP_LOAD) writes to the group ``station_id``.
        """
        if action.operation is WriteOperation.CLEAR_ALARMS:
            try:
                self.client.clear_alarms(station_id, action.port)
            finally:
                self.invalidate(station_id, Source.ALARMS)
        else:
            self._controls[source].write(station_id, point, action, options)

    def revert(self, station_id: str, defaults: Mapping[int | None, Shed | None], options: WriteOptions, *,
               source: Source = Source.LOAD) -> None:
        """Bring the station (or group) back to its Starting Values, else to the sheds in force before the first
        write."""
        self._controls[source].revert(station_id, defaults, options)

    def station_written(self, station_id: str) -> None:
        """Forget what a write to a station made untrue: its cached load, and its groups' answers."""
        self.invalidate(station_id, Source.LOAD)
        self.groups.station_written(station_id)

    def invalidate(self, station_id: str, source: Source | None = None) -> None:
        """Forget cached reads of a station (of one source, or all) so the next read asks the API."""
        self.cache.invalidate(lambda key: key[1] == station_id and source in (None, key[0]))


def _stray(value: Any) -> bool:
    # A greenlet that ended with GreenletExit counts as successful, with the exception as its value.
    return isinstance(value, BaseException) and not isinstance(value, ChargePointError)


def _unwrap(value: Any) -> Any:
    if isinstance(value, _NotFound):
        raise value.error
    return value


_accounts: dict[tuple[Hashable, ...], Account] = {}
_accounts_lock = RLock()


def account_for(settings: AccountSettings, factory: Callable[[AccountSettings], ChargePointClient] | None = None,
                *, batching: bool = True) -> Account:
    """The process-wide Account for these settings, created on first use (``batching`` applies then)."""
    key = settings.key()
    with _accounts_lock:
        account = _accounts.get(key)
        if account is None:
            account = Account(settings, factory or make_client, batching=batching)
            _accounts[key] = account
        return account


def make_client(settings: AccountSettings) -> ChargePointClient:
    return ChargePointClient(settings.username, settings.password, wsdl=settings.wsdl, endpoint=settings.endpoint,
                             timeout=settings.timeout, ca_file=settings.ca_file,
                             max_response_bytes=settings.max_response_bytes)


def forget_accounts() -> None:
    """Drop every shared Account (tests, and a platform reconfiguring every device)."""
    with _accounts_lock:
        _accounts.clear()
