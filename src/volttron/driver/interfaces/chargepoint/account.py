"""One API account shared by its devices: the client, the response cache, batched reads, back-off and writes.

A device asks for one kind of data (a :class:`~.models.Source`) for its station. When several stations of the
account are configured in the process, a bulk call may answer for all of them (getStationStatus takes a list of
stations; getStations, getAlarms, getStationRights and getChargingSessionData answer for the whole organisation;
getLoad answers per station group). :mod:`.planner` decides, per method and cycle, whether that beats asking
station by station (from the costs :mod:`.costs` learns); :mod:`.fetchers` asks. Inventory and rights are kept
for ``staticExpiration``; sessions are read again only for stations whose ports stopped charging
(:class:`~.batching.SessionWatch`). Group devices share it too (:mod:`.groups`).
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
from gevent.event import AsyncResult
from gevent.lock import RLock

from .backoff import Backoff
from .batching import SessionHistory, SessionWatch, group_ids
from .cache import ResponseCache
from .client import MAX_CONCURRENT_CALLS, NO_DATA, ChargePointClient
from .config import AccountSettings
from .costs import CostModel
from .fetchers import Fetched, fetchers_for
from .exceptions import ApiError, ApiTimeout, ChargePointError, TooManyPages, TransportError
from .groups import GroupControl, GroupReads
from .planner import ReadPlanner
from .models import STATIC_SOURCES, Freshness, Shed, Source, StationInfo, WriteAction, WriteOperation
from .redaction import Redactor
from .writes import ShedControl, WriteOptions

_log = logging.getLogger(__name__)

POLL_MARGIN = 2.0  # seconds a poll may run past the API timeout before its unfinished reads are abandoned


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
        self.planner = ReadPlanner(self, self.costs)
        self._groups: dict[str, list[str]] = {}  # station -> ids of the groups it belongs to
        self.control = ShedControl(self)
        self.groups = GroupReads(self)
        self.group_control = GroupControl(self)
        self._controls: dict[Source, ShedControl] = {Source.LOAD: self.control, Source.GROUP_LOAD: self.group_control}
        self.wall_clock = wall_clock  # what "now" is for a scheduled shed event's start (aware UTC)
        self._max_age_seen = 0.0
        self._fetchers = fetchers_for(self)

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
                    client = self._factory(self.settings)
                    client.on_answer = self.costs.answered
                    self._client = client
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
        self.planner.changed()
        if member is not None:
            weakref.finalize(member, self._leave, station_id).atexit = False

    def _leave(self, station_id: str) -> None:
        self._stations[station_id] -= 1
        if self._stations[station_id] <= 0:
            del self._stations[station_id]
            self.planner.changed()
            self._watch.forget(station_id)

    def register_group(self, sg_id: str) -> None:
        """A configured group device: its group's answers also serve its member stations' load reads."""
        self.groups.register(sg_id)

    @property
    def stations(self) -> list[str]:
        return sorted(self._stations)

    @property
    def station_set(self) -> Mapping[str, int]:
        """The configured stations (with how many devices read each)."""
        return self._stations

    @property
    def memberships(self) -> Mapping[str, list[str]]:
        """Station -> the groups it belongs to, as the inventory said."""
        return self._groups

    @property
    def session_watch(self) -> SessionWatch:
        return self._watch

    @property
    def session_history(self) -> SessionHistory:
        return self._sessions

    # -- reads ---------------------------------------------------------------------------------------------------

    def read_sources(self, station_id: str, sources: Iterable[Source],
                     freshness: Freshness | float) -> dict[Source, Any | ChargePointError]:
        """Fetch the data of several sources for one station (or group) concurrently; failures come back as values.

        Returns within the API timeout plus :data:`POLL_MARGIN`, whatever the API does.
        """
        if not isinstance(freshness, Freshness):
            freshness = Freshness(freshness)
        began, since = time.monotonic(), self.clock()
        bound = self.settings.timeout + POLL_MARGIN
        self._watch.refresh = freshness.sessions  # the sessions' safety refresh of the devices polled
        # Lease renewals run beside the reads, within the same bound (a control knows only its own targets).
        renewals = [renewal for control in self._controls.values()
                    if (renewal := control.poll(station_id)) is not None]
        results: dict[Source, Any] = {}
        pending: dict[Source, gevent.Greenlet] = {}  # reads of their own
        joined: dict[Source, AsyncResult] = {}  # bulk flights, by source
        ages: dict[Source, float] = {}
        started: list[gevent.Greenlet] = []  # the bulk flights this poll started
        for source in sources:
            age = freshness.of(source)
            if self._applying(source, station_id):
                age = 0.0  # after a write its station's load is read afresh at every poll until it shows it
            elif source is Source.SESSIONS:
                if not self._watch.needs_read(station_id, self.clock()):
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
            elif (flight := self._join_bulk(source, station_id, age, started)) is not None:
                joined[source], ages[source] = flight, age
            else:
                pending[source] = gevent.spawn(self._or_error, source, self.read, source, station_id, age)
        if pending or renewals or joined:
            gevent.joinall([*pending.values(), *renewals, *joined.values()], timeout=bound)
        for run in started:
            self.cache.give_up(run)  # a flight this poll started, still running: given up, as its own read would be
        alone: dict[Source, gevent.Greenlet] = {}
        for source, flight in joined.items():
            if not flight.ready():
                results[source] = ApiTimeout(f"{source.value}: no answer within {self.settings.timeout:g} s")
            elif (value := self._served(source, station_id, ages[source], since, flight)) is not None:
                results[source] = value
            else:
                alone[source] = gevent.spawn(self._or_error, source, self._read_alone, source, station_id,
                                             ages[source], True, 2 if isinstance(flight.exception, TooManyPages) else 1)
        if alone:
            gevent.joinall(alone.values(), timeout=max(0.0, began + bound - time.monotonic()))
            pending.update(alone)
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

    def _join_bulk(self, source: Source, station_id: str, max_age: float,
                   started: list[gevent.Greenlet]) -> AsyncResult | None:
        """The bulk flight a poll's read of ``source`` joins (started if need be, and added to ``started``), when
        the planner can tell without a call that this cycle reads it in bulk; None: the read runs on its own
        (:meth:`read`)."""
        if source is Source.LOAD and self.groups.covering(station_id, self._groups.get(station_id, ())) is not None:
            return None
        if not self.planner.decided(source, station_id):
            return None
        self._max_age_seen = max(self._max_age_seen, max_age)
        flight, run = self.cache.join((source, "*"), self._fetch_unless_backing_off, source, station_id, True, True)
        if run is not None:
            started.append(run)
        return flight

    def _served(self, source: Source, station_id: str, max_age: float, since: float, flight: AsyncResult) -> Any:
        """What a finished bulk flight brought for the station, its error as a value; None when the station is
        to be asked alone (the answer left it out, or the bulk read was found to cost more than asking alone).

        The poll began at ``since`` (the cache's clock) and waited for all its reads together: an entry stored
        since then is this poll's answer, however long the slowest read took after it.
        """
        failure = flight.exception  # not raised: each raise would add this device's frames to its traceback
        if isinstance(failure, TooManyPages):
            return None
        if isinstance(failure, ChargePointError):
            return failure
        if failure is not None:
            return self._unexpected(source, failure)
        hit, value = self.cache.get((source, station_id), max(max_age, self.clock() - since + 1.0))
        if not hit:
            return None
        return value.error if isinstance(value, _NotFound) else value

    def _applying(self, source: Source, target: str) -> bool:
        """After a write its station's (or group's) load is read afresh at every poll until it shows the write, and
        so is the load of what the write changed too: a group's members, a member's groups."""
        control = self._controls.get(source)
        return control is not None and (control.needs_fresh_load(target) or self.groups.applying(source, target))

    def _or_error(self, source: Source, read: Callable[..., Any], *args: Any) -> Any:
        # Errors come back as values: a greenlet that raised would also be reported on stderr by gevent's hub.
        try:
            return read(*args)
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
        probes = self.planner.probes
        batched = self.planner.bulk(source, station_id)
        if self.planner.probes != probes:  # deciding read the organisation's inventory, this station's with it
            hit, value = self.cache.get(key, math.inf)
            if hit:
                return _unwrap(value)
        if batched:
            try:
                self._fetch_once((source, "*"), source, station_id, True, not for_write)
            except TooManyPages:
                pass  # the bulk read would cost more than asking each station: this one is asked alone
            else:
                hit, value = self.cache.get(key, max(max_age, 1.0))
                if hit:
                    return _unwrap(value)
                # A batch that started before this station was registered; ask for it alone.
                return self._read_alone(source, station_id, max_age, not for_write, 1)
        return self._read_alone(source, station_id, max_age, not for_write, 2)

    def _read_alone(self, source: Source, station_id: str, max_age: float, counted: bool, tries: int) -> Any:
        """The station's data asked for it alone, up to ``tries`` times while the answer leaves it out."""
        key = (source, station_id)
        for _ in range(tries):
            self._fetch_once(key, source, station_id, False, counted)
            hit, value = self.cache.get(key, max(max_age, 1.0))
            if hit:
                break
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
        self.cache.single_flight(flight, self._fetch_unless_backing_off, self.settings.timeout + POLL_MARGIN,
                                 source, station_id, batched, counted)

    def _fetch_unless_backing_off(self, source: Source, station_id: str, batched: bool, counted: bool) -> None:
        self.backoff.run(source, source.value, lambda: self._fetch(source, station_id, batched), counted=counted)

    def _fetch(self, source: Source, station_id: str, batched: bool) -> None:
        ids = self.stations if batched else [station_id]
        records = self.client.usage(source.value)[1]
        found = self._fetchers[source](station_id, None if batched else station_id, ids)
        if source is Source.SESSIONS:
            ids = [sid for sid in ids if sid in found]  # those a bulk read could not serve are asked alone
        if batched and source in (Source.STATIONS, Source.ALARMS, Source.RIGHTS) and self.planner.org_size:
            # How many records the organisation's answer carries per station: what the next bulk read will cost.
            self.costs.learn_density(source, self.client.usage(source.value)[1] - records, self.planner.org_size)
        self._store(source, station_id, ids, found)

    def _store(self, source: Source, station_id: str, ids: list[str], found: Fetched) -> None:
        """Cache what a read found for the stations it asked about (those it did not find: not found)."""
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
        self.cache.put({(source, sid): self._unchanged(source, sid, found[sid]) if sid in found
                        else _NotFound(source.value, sid) for sid in ids})
        if self._max_age_seen:
            self.cache.prune(self._max_age_seen * 2)

    def _unchanged(self, source: Source, station_id: str, value: Any) -> Any:
        # An answer equal to the cached one keeps the cached object: its points need not be converted again.
        hit, before = self.cache.get((source, station_id), math.inf)
        return before if hit and type(before) is type(value) and before == value else value

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

    def probe_organisation(self, records: int) -> int:
        """Ask for the organisation's first ``records`` stations: when that is all of them, its size is known and
        the configured stations' inventory answered; else the configured stations among them are answered, the
        rest asked one by one. Returns how many configured stations it answered; callers share the one probe."""
        def probe() -> int:
            ids = self.stations
            answer, complete = self.client.get_organisation(records)
            found = {s.station_id: s for s in answer}
            self.remember_groups(found.values())
            if complete:
                self.planner.learn_organisation(found)
            answered = ids if complete else [sid for sid in ids if sid in found]
            if answered:
                self._store(Source.STATIONS, answered[0], answered, found)
            return len(answered)
        return self.cache.single_flight(
            ("organisation", records), lambda: self.backoff.run(Source.STATIONS, "getStations", probe),
            self.settings.timeout + POLL_MARGIN)

    def remember_groups(self, stations: Iterable[StationInfo]) -> None:
        """Take the groups each station belongs to, from its inventory."""
        for station in stations:
            groups = group_ids(station.sg_id)
            if self._groups.get(station.station_id) != groups:
                self._groups[station.station_id] = groups
                self.planner.changed()

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
