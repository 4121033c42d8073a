"""How each API method is asked for the stations of an account, per station or in bulk, and what the answers
teach the account on the way (group membership, the organisation's size, session history)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Mapping

import gevent

from .batching import group_cover
from .client import NO_DATA
from .exceptions import ApiError, TooManyPages
from .models import Source, StationLoad

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
    # Per station: see ReadPlanner.session_start. In bulk: the whole organisation from the earliest point a
    # waiting station needs.
    now = account.clock()
    if one is not None:
        since = account.planner.session_start(one)
        found = account.client.get_charging_sessions(one, since)
    else:
        waiting = account.planner.waiting_for_sessions(now)
        since = account.planner.bulk_session_start(waiting)
        records = account.client.usage(Source.SESSIONS.value)[1]
        try:
            found = account.client.get_charging_sessions(None, since, account.planner.session_pages(len(waiting)))
        except TooManyPages as exc:
            if since is None:
                account.planner.whole_histories_too_large = True
            else:  # at least this many: the next estimate is closer
                account.planner.learn_session_rate(account.client.usage(Source.SESSIONS.value)[1] - records, since)
            _log.info("charging sessions of the organisation%s: %s", "" if since is None else
                      f" since {since.isoformat()}", exc)
            raise
    if one is None and since is not None:
        account.planner.learn_session_rate(_records(found), since)
    elif one is None and account.planner.org_size:  # whole histories: what the next full read will cost
        account.costs.learn_density(Source.SESSIONS, _records(found), account.planner.org_size)
    account.session_history.merge(one or "*", found)
    account.session_watch.read(ids, now)
    return {sid: account.session_history.latest(sid) for sid in ids}


def _as_value(call: Callable[..., Any], **arguments: Any) -> Any:
    # In a greenlet of its own: a failure comes back as the value (gevent's hub would print a raised one).
    try:
        return call(**arguments)
    except Exception as exc:
        return exc


def _records(found: Mapping[str, Any]) -> int:
    return sum(len(value) if isinstance(value, (list, dict)) else 1 for value in found.values())
