"""How each API method is asked for the stations of an account, per station or in bulk, and what the answers
teach the account on the way (group membership, the organisation's size, session history)."""

from __future__ import annotations

import logging
import math
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Mapping

import gevent

from .batching import group_cover
from .client import NO_DATA
from .exceptions import ApiError, TooManyPages, TransportError
from .models import Source, StationLoad
from .planner import earliest

if TYPE_CHECKING:
    from .account import Account

_log = logging.getLogger(__name__)

Fetched = Mapping[str, Any]  # station -> its data (stations missing from it were not found)
Fetcher = Callable[[str, "str | None", list[str]], Fetched]  # (asking station, the one asked or None: bulk, ids)


def fetchers_for(account: "Account") -> dict[Source, Fetcher]:
    """Per source: ask the API for ``ids`` (``one`` is the one station asked alone, None for a bulk read)."""
    return {
        Source.STATIONS: lambda station_id, one, ids: fetch_stations(account, station_id, one, ids),
        Source.STATUS: lambda station_id, one, ids: account.client.get_station_status(ids),
        Source.LOAD: lambda station_id, one, ids: fetch_load(account, station_id, one, ids),
        Source.ALARMS: lambda station_id, one, ids: fetch_alarms(account, station_id, one, ids),
        Source.RIGHTS: lambda station_id, one, ids: account.client.get_station_rights(one),
        Source.SESSIONS: lambda station_id, one, ids: fetch_sessions(account, station_id, one, ids),
        Source.GROUP_LOAD: lambda sg_id, one, ids: account.groups.fetch(sg_id),
    }


def fetch_stations(account: "Account", station_id: str, one: str | None, ids: list[str]) -> Fetched:
    found = {s.station_id: s for s in account.client.get_stations(one)}
    account.remember_groups(found.values())
    if one is None:
        account.planner.learn_organisation(found)
    return found


def fetch_alarms(account: "Account", station_id: str, one: str | None, ids: list[str]) -> Fetched:
    found = account.client.get_alarms(one)
    return {sid: found.get(sid, []) for sid in ids}


def fetch_load(account: "Account", station_id: str, one: str | None, ids: list[str]) -> dict[str, StationLoad]:
    # getLoad answers per station or per station group: cover the stations with as few groups as possible
    # (membership comes from getStations) and ask the rest one by one.
    if one is not None:
        return account.client.get_load(station_id)
    account.planner.learn_groups(station_id)
    found: dict[str, StationLoad] = {}
    cover = account.planner.cover() if set(ids) == set(account.station_set) else group_cover(
        ids, account.memberships, prefer=account.groups.configured)
    asks = [gevent.spawn(_as_value, account.client.get_load, sg_id=int(group)) for group, _members in cover]
    gevent.joinall(asks)  # each call is bounded by the client's timeout
    for (group, _members), answer in zip(cover, asks):
        if not answer.successful():  # stopped from outside by what is not an Exception: no answer, no value
            raise TransportError(f"getLoad of group {group}: interrupted ({answer.exception!r})")
        if isinstance(answer.value, BaseException):
            raise answer.value
        account.groups.took(group, answer.value)
        account.planner.group_sizes[group] = len(answer.value.stations)
        found.update(answer.value.stations)
    if station_id not in found:
        try:
            found.update(account.client.get_load(station_id))
        except ApiError as exc:
            if exc.code != NO_DATA:
                raise
            # The asking station is not on the account: it is cached as not found and the other stations'
            # loads stand, so a missing station never fails the load reads of the devices sharing this call.
    return found


def fetch_sessions(account: "Account", station_id: str, one: str | None, ids: list[str]) -> Fetched:
    """Sessions from where each station needs them (:meth:`~.planner.ReadPlanner.session_start`); a station read
    for the first time is asked for the last day first (histories come oldest first, and can be years long), and
    for its whole history only when a port had no session that day. A bulk read answers the stations it served;
    the others are then asked alone."""
    planner, watch, history = account.planner, account.session_watch, account.session_history
    now = account.clock()
    waiting = [one] if one is not None else planner.waiting_for_sessions(now)
    if station_id not in waiting:
        waiting = [*waiting, station_id]
    starts = {sid: planner.session_start(sid) for sid in waiting}
    first = [sid for sid, start in starts.items() if start is None and sid not in planner.windowed]
    window = _first_window(account, first, station_id)
    tried = set(first) if window is not None else set()  # asked for the last day only
    since = earliest(planner.session_starts(starts, window).values())
    if one is not None:
        found = account.client.get_charging_sessions(one, since)
    else:
        found = _organisation_sessions(account, since, len(waiting))
    # An organisation-wide read bounds the next one for all only when it asked for whole histories.
    history.merge(one if one is not None else "*" if since is None else None, found)
    served = [sid for sid in waiting if sid not in tried or _covered(account, sid)]
    planner.windowed.update(tried)
    if one is None and since is not None:
        for sid in served:
            history.merge(sid, {})
    if one is not None and not served:  # a port had no session in the last day: its whole history
        found = account.client.get_charging_sessions(one, None)
        history.merge(one, found)
        served = [one]
    watch.read(served, now)
    missed = set(waiting) - set(served)
    return {sid: history.latest(sid) for sid in ids if sid not in missed}


def _first_window(account: "Account", first: list[str], station_id: str) -> datetime | None:
    """Where the first reads of ``first`` start (:meth:`~.planner.ReadPlanner.first_window`), once a status answer
    told the API's time."""
    if not first:
        return None
    if account.session_watch.api_time is None:
        try:  # the status read this poll makes anyway (shared): it tells the API's time
            account.read(Source.STATUS, station_id, math.inf)
        except Exception:  # noqa: BLE001 - reported on the status points; here it only means "time unknown"
            return None
    return account.planner.first_window()


def _covered(account: "Account", station_id: str) -> bool:
    # Every port of the station (from its inventory) has a known session.
    try:
        info = account.read(Source.STATIONS, station_id, math.inf)
    except Exception:  # noqa: BLE001 - reported on the inventory points; here: not known to be covered
        return False
    known = {session.port_number for session in account.session_history.latest(station_id)}
    return bool(info.ports) and set(info.ports) <= known


def _organisation_sessions(account: "Account", since: datetime | None, waiting: int) -> Fetched:
    planner = account.planner
    records = account.client.usage(Source.SESSIONS.value)[1]
    try:
        found = account.client.get_charging_sessions(None, since, planner.session_pages(waiting))
    except TooManyPages as exc:
        if since is None:
            planner.whole_histories_too_large = True
        else:  # at least this many: the next estimate is closer
            planner.learn_session_rate(account.client.usage(Source.SESSIONS.value)[1] - records, since)
        _log.info("charging sessions of the organisation%s: %s",
                  "" if since is None else f" since {since.isoformat()}", exc)
        raise
    if since is not None:
        planner.learn_session_rate(_records(found), since)
    elif planner.org_size:  # whole histories: what the next full read will cost
        account.costs.learn_density(Source.SESSIONS, _records(found), planner.org_size)
    return found


def _as_value(call: Callable[..., Any], **arguments: Any) -> Any:
    # In a greenlet of its own: a failure comes back as the value (gevent's hub would print a raised one).
    try:
        return call(**arguments)
    except Exception as exc:
        return exc


def _records(found: Mapping[str, Any]) -> int:
    return sum(len(value) if isinstance(value, (list, dict)) else 1 for value in found.values())
