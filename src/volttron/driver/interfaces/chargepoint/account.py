"""One API account shared by its devices: the client, the response cache, batched reads, back-off and writes.

A device asks for one kind of data (a :class:`~.models.Source`) for its station. When several stations of the
account are configured in the process, a bulk call may answer for all of them (getStationStatus takes a list of
stations; getStations, getAlarms, getStationRights and getChargingSessionData answer for the whole organisation;
getLoad answers per station group). :mod:`.costs` decides, per method and cycle, whether that beats asking station
by station. Inventory and rights are kept for ``staticExpiration``; sessions are read again only for stations
whose ports stopped charging (:class:`~.batching.SessionWatch`). Group devices share it too (:mod:`.groups`).
"""

from __future__ import annotations

import logging
import math
import time
import traceback
import weakref
from collections import Counter
from datetime import datetime, timezone
from typing import Any, Callable, Hashable, Iterable, Mapping

import gevent
from gevent.lock import RLock

from .backoff import Backoff
from .batching import SessionHistory, SessionWatch, group_cover, group_ids
from .cache import ResponseCache
from .client import MAX_CONCURRENT_CALLS, NO_DATA, STATIONS_PAGE, ChargePointClient
from .config import AccountSettings
from .costs import CostModel
from .exceptions import ApiError, ApiTimeout, ChargePointError, TransportError
from .groups import GroupControl, GroupReads
from .models import (STATIC_SOURCES, Freshness, Shed, Source, StationInfo, StationLoad, WriteAction,
                     WriteOperation)
from .redaction import Redactor
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
        # Stations of the devices configured on this account, with how many devices read each.
        self._stations: Counter[str] = Counter()
        self._redact = Redactor(settings.password, settings.username)
        self._unexpected_seen: set[tuple[Source, str]] = set()
        self._sessions = SessionHistory()
        self._watch = SessionWatch()
        self.costs = CostModel(MAX_CONCURRENT_CALLS)
        self._org_size: int | None = None  # stations in the organisation, once an org-wide inventory was read
        self._groups: dict[str, list[str]] = {}  # station -> ids of the groups it belongs to
        self._group_sizes: dict[str, int] = {}  # group -> stations in it, from the inventory or its getLoad
        self.control = ShedControl(self)
        self.groups = GroupReads(self)
        self.group_control = GroupControl(self)
        self._controls: dict[Source, ShedControl] = {Source.LOAD: self.control, Source.GROUP_LOAD: self.group_control}
        self.wall_clock = wall_clock  # what "now" is for a scheduled shed event's start (aware UTC)
        self._max_age_seen = 0.0
        self._session_refresh = 0.0  # the sessions' safety refresh of the devices polled (staticExpiration)
        self._session_rate = 0.3  # completed sessions per station and hour, learned from bulk reads
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

    def register(self, station_id: str, member: object | None = None) -> None:
        """Include a configured device's station in batched requests, while ``member`` (its interface) lives.

        The platform drops a removed device's interface without telling it; its station then leaves the batches.
        Without a member the station stays for the account's life.
        """
        self._stations[station_id] += 1
        if member is not None:
            weakref.finalize(member, self._leave, station_id).atexit = False

    def _leave(self, station_id: str) -> None:
        self._stations[station_id] -= 1
        if self._stations[station_id] <= 0:
            del self._stations[station_id]
            self._watch.forget(station_id)

    def register_group(self, sg_id: str) -> None:
        """A configured group device: its group's answers also serve its member stations' load reads."""
        self.groups.register(sg_id)

    @property
    def stations(self) -> list[str]:
        return sorted(self._stations)

    def _batched(self, source: Source, station_id: str) -> bool:
        """Whether this cycle asks ``source`` in bulk for every configured station, or for ``station_id`` alone."""
        if not (self._batching and len(self._stations) > 1 and station_id in self._stations):
            return False
        stations = len(self._stations)
        if source is Source.STATUS:
            return True  # a list of stations: one call per 500, and nothing but what was asked
        if source is Source.LOAD:
            self._learn_groups(station_id)
            cover = group_cover(self._stations, self._groups, prefer=self.groups.configured)
            records = sum(self._group_size(group, len(members)) for group, members in cover)
            return bool(cover) and self.costs.prefer_bulk(source, stations, len(cover), records, parallel=True)
        if source is Source.SESSIONS:
            return self._sessions_in_bulk()
        org = self._org_size or stations
        records = self.costs.records(source, org)
        return self.costs.prefer_bulk(source, stations, max(1, math.ceil(records / STATIONS_PAGE)), records)

    def _learn_groups(self, station_id: str) -> None:
        """Group membership (from getStations) before load is asked by group. It changes rarely: any cached inventory
        will do, else the inventory fetch is shared; without it stations are asked one by one."""
        if all(sid in self._groups for sid in self._stations):
            return
        try:
            self.read(Source.STATIONS, station_id, math.inf)
        except ChargePointError as exc:
            _log.debug("no group membership for batched getLoad (%s); asking per station", exc)

    def _group_size(self, group: str, members: int) -> float:
        # Unknown until the inventory or a getLoad of the group said: as big as its share of the fleet suggests.
        return self._group_sizes.get(group) or members * (self._org_size or len(self._stations)) / len(self._stations)

    def _sessions_in_bulk(self) -> bool:
        """One organisation-wide read from the earliest point any waiting station needs, against one per station."""
        now = self.clock()
        waiting = [sid for sid in self._stations if self._watch.needs_read(sid, now, self._session_refresh)]
        if len(waiting) < 2:
            return False
        org = self._org_size or len(self._stations)
        since = self._bulk_session_start(waiting)
        if since is None:
            records = self.costs.records(Source.SESSIONS, org)  # whole histories, as the last full read showed
        else:
            hours = max(0.0, (_utcnow() - since).total_seconds()) / 3600
            records = org * self._session_rate * hours
        return self.costs.prefer_bulk(Source.SESSIONS, len(waiting), max(1, math.ceil(records / 100)), records)

    def _bulk_session_start(self, waiting: Iterable[str]) -> Any:
        starts = [self._watch.since(sid) or self._sessions.since(sid) or self._sessions.since("*") for sid in waiting]
        return None if any(start is None for start in starts) else min(starts)

    # -- reads ---------------------------------------------------------------------------------------------------

    def read_sources(self, station_id: str, sources: Iterable[Source],
                     freshness: Freshness | float) -> dict[Source, Any | ChargePointError]:
        """Fetch the data of several sources for one station (or group) concurrently; failures come back as values.

        Returns within the API timeout plus :data:`POLL_MARGIN`, whatever the API does.
        """
        if not isinstance(freshness, Freshness):
            freshness = Freshness(freshness)
        self._session_refresh = freshness.sessions
        # Lease renewals run beside the reads, within the same bound (a control knows only its own targets).
        renewals = [renewal for control in self._controls.values()
                    if (renewal := control.poll(station_id)) is not None]
        results: dict[Source, Any] = {}
        pending: dict[Source, gevent.Greenlet] = {}
        for source in sources:
            age = freshness.of(source)
            if self._applying(source, station_id):
                age = 0.0  # after a write its station's load is read afresh at every poll until it shows it
            elif source is Source.SESSIONS:
                if not self._watch.needs_read(station_id, self.clock(), freshness.sessions):
                    results[source] = self._sessions.latest(station_id)
                    continue
                age = 0.0
            hit, value = self.cache.get((source, station_id), age)
            if hit and isinstance(value, _NotFound) and age > freshness.live:
                # A station missing from the inventory is looked for again as often as live data, not hourly.
                age = freshness.live
                hit, value = self.cache.get((source, station_id), age)
            if hit:
                # A cached "not found" is this poll's error too, as a value like every other failure.
                results[source] = value.error if isinstance(value, _NotFound) else value
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
        except Exception as exc:  # a failure nobody foresaw: an error of these points, never a crash
            return self._unexpected(source, exc)

    def _unexpected(self, source: Source, exc: Exception) -> ChargePointError:
        """The error the points get for an unforeseen exception, logged once per source and kind of exception."""
        message = self._redact(f"{source.value}: failed unexpectedly ({exc!r})")
        if (source, type(exc).__name__) not in self._unexpected_seen:
            self._unexpected_seen.add((source, type(exc).__name__))
            _log.error("ChargePoint API for %s: %s (said once)", self.username_hint, message)
            _log.debug("%s", self._redact("".join(traceback.format_exception(exc))))
        return ChargePointError(message)

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
        client = self.client
        (calls, records), started = client.usage(source.value), time.monotonic()
        found = self._fetchers[source](station_id, None if batched else station_id, ids)
        calls, records = (after - before for after, before in zip(client.usage(source.value), (calls, records)))
        # The stations the answers covered: those asked for, a group's members, or the whole organisation.
        covered = len(found) if source is Source.LOAD else len(ids) if not batched or source is Source.STATUS \
            else self._org_size or len(found)
        self.costs.learn(source, time.monotonic() - started, calls, records, covered)
        if source in self._controls:
            self._controls[source].observe(found)
        if source is Source.LOAD:
            ids = sorted(set(found) & set(ids) | {station_id})  # stations left out ask on their own later
        elif source is Source.STATUS:
            self._watch.observe(found)
            self._follow_inventory(found, ids)
        elif source is Source.STATIONS:
            for sid in ids:  # back on the account: the session read made while it was away found none
                hit, before = self.cache.get((Source.STATIONS, sid), math.inf)
                if hit and isinstance(before, _NotFound) and sid in found:
                    self._watch.forget(sid)
        self.cache.put({(source, sid): found[sid] if sid in found else _NotFound(source.value, sid) for sid in ids})
        if self._max_age_seen:
            self.cache.prune(self._max_age_seen * 2)

    def _follow_inventory(self, statuses: Mapping[str, Any], asked: Iterable[str]) -> None:
        # A station that appears in, or disappears from, the status answers makes the inventory and rights stale,
        # and its sessions unknown (the read made while it was away found none).
        changed = []
        for sid in asked:
            hit, known = self.cache.get((Source.STATIONS, sid), math.inf)
            if hit and isinstance(known, StationInfo) != (sid in statuses):
                _log.info("station %s %s the account: reading the inventory again", sid,
                          "joined" if sid in statuses else "left")
                changed.append(sid)
        if changed:
            self.cache.invalidate(lambda key: key[0] in STATIC_SOURCES)
            for sid in changed:
                self._watch.forget(sid)

    def _fetch_stations(self, station_id: str, one: str | None, ids: list[str]) -> Fetched:
        found = {s.station_id: s for s in self.client.get_stations(one)}
        self._remember_groups(found.values())
        if one is None:
            self._org_size = len(found)
            self._group_sizes.update(Counter(group for info in found.values() for group in group_ids(info.sg_id)))
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
        self._learn_groups(station_id)
        found: dict[str, StationLoad] = {}
        cover = group_cover(ids, self._groups, prefer=self.groups.configured)
        asks = [gevent.spawn(_as_value, self.client.get_load, sg_id=int(group)) for group, _members in cover]
        gevent.joinall(asks)  # each call is bounded by the client's timeout
        for (group, _members), answer in zip(cover, asks):
            if isinstance(answer.value, BaseException):
                raise answer.value
            self.groups.took(group, answer.value)
            self._group_sizes[group] = len(answer.value.stations)
            found.update(answer.value.stations)
        if station_id not in found:
            try:
                found.update(self.client.get_load(station_id))
            except ApiError as exc:
                if exc.code != NO_DATA:
                    raise
                # The asking station is not on the account: it is cached as not found and the other stations'
                # loads stand, so a missing station never fails the load reads of the devices sharing this call.
        return found

    def _fetch_sessions(self, station_id: str, one: str | None, ids: list[str]) -> Fetched:
        # Per station: from the start of the session that just ended, else from a day before its latest session.
        # In bulk: the whole organisation from the earliest point a waiting station needs.
        now = self.clock()
        if one is not None:
            since = self._watch.since(one) or self._sessions.since(one)
        else:
            since = self._bulk_session_start(sid for sid in ids if self._watch.needs_read(sid, now,
                                                                                          self._session_refresh))
        found = self.client.get_charging_sessions(one, since)
        if one is None and since is not None:
            hours = max((_utcnow() - since).total_seconds() / 3600, 0.1)
            self._session_rate = 0.7 * self._session_rate + 0.3 * _records(found) / ((self._org_size or 1) * hours)
        self._sessions.merge(one or "*", found)
        self._watch.read(ids, now)
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


def _as_value(call: Callable[..., Any], **arguments: Any) -> Any:
    # In a greenlet of its own: a failure comes back as the value (gevent's hub would print a raised one).
    try:
        return call(**arguments)
    except Exception as exc:
        return exc


def _records(found: Mapping[str, Any]) -> int:
    return sum(len(value) if isinstance(value, (list, dict)) else 1 for value in found.values())


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _stray(value: Any) -> bool:
    # A greenlet that ended with GreenletExit counts as successful, with the exception as its value.
    return isinstance(value, BaseException) and not isinstance(value, ChargePointError)


def _unwrap(value: Any) -> Any:
    if isinstance(value, _NotFound):
        raise value.error
    return value


# Held by their devices' interfaces only: an account whose devices are all gone is dropped.
_accounts: weakref.WeakValueDictionary[tuple[Hashable, ...], Account] = weakref.WeakValueDictionary()
_accounts_lock = RLock()


def account_for(settings: AccountSettings, factory: Callable[[AccountSettings], ChargePointClient] | None = None,
                *, batching: bool = True) -> Account:
    """The process-wide Account for these settings, created on first use (``batching`` applies then).

    It lives as long as something (a device's interface) holds it.
    """
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
