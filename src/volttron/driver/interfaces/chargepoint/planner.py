"""Per method and cycle, whether an account asks in bulk (a station list, station groups, the organisation) or per
station: the cost model's estimates (:mod:`.costs`) applied to what the account knows of its organisation.

Decisions are asked by every device's read, so what they cost to make is kept small: the group cover and the
stations waiting for a session read are worked out once per change of what they depend on, not once per device.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Iterable, Mapping

from .batching import group_cover, group_ids
from .client import MAX_PAGES, STATIONS_PAGE
from .costs import CostModel, blend
from .exceptions import ChargePointError
from .models import Source, StationInfo

if TYPE_CHECKING:
    from .account import Account

_log = logging.getLogger(__name__)

SESSIONS_PAGE = 100
FIRST_WINDOW = timedelta(days=1)  # a station's first session read: the last day, then its whole history if need be
# Devices of an account from which an organisation-wide inventory is read before its size is known: it costs one
# call per 500 stations, fewer than asking this many stations one by one unless the organisation is 50 000 strong.
BULK_WITHOUT_ORG_SIZE = 100


class ReadPlanner:
    """What one account knows of its organisation's size and groups, and the bulk-or-per-station choice."""

    def __init__(self, account: "Account", costs: CostModel) -> None:
        self._account = account
        self.costs = costs
        self.org_size: int | None = None  # stations in the organisation, once an org-wide inventory was read
        self.group_sizes: dict[str, int] = {}  # group -> its stations, from the inventory or its getLoad answer
        self.session_rate = 0.3  # completed sessions per station and hour, learned from bulk reads
        self.version = 0  # bumped when the stations or their groups change: the cover is worked out again
        self._cover: tuple[int, list[tuple[str, set[str]]]] | None = None
        self._groups_known = -1  # the version at which every station's groups were known
        self._waiting: tuple[tuple[int, int], list[str]] | None = None
        self._in_bulk: tuple[tuple[object, ...], bool] | None = None  # the sessions decision, until its inputs change
        self.probes = 0  # organisation inventories read by a probe
        self.windowed: set[str] = set()  # stations a first read asked for the last day only (see fetchers)
        self.whole_histories_too_large = False  # an org-wide read of whole session histories ran past its pages
        self._probed = 0  # the most stations an inventory probe asked for without reaching the organisation's end

    def changed(self) -> None:
        """The account's stations, or what groups they belong to, changed."""
        self.version += 1

    def bulk(self, source: Source, station_id: str) -> bool:
        """Whether this cycle asks ``source`` in bulk for every configured station, or for ``station_id`` alone."""
        account = self._account
        stations = len(account.station_set)
        if not (account.batching and stations > 1 and station_id in account.station_set):
            return False
        if source is Source.STATUS:
            return True  # a list of stations: one call per 500, and nothing but what was asked
        if source is Source.LOAD:
            self.learn_groups(station_id)
            cover = self.cover()
            records = sum(self._group_size(group, len(members)) for group, members in cover)
            return bool(cover) and records < math.inf and \
                self.costs.prefer_bulk(source, stations, len(cover), records, parallel=True)
        if self.org_size is None:
            # An organisation-wide answer could be any size until an inventory of it was read: read one first when
            # the fleet is large enough that it cannot cost more calls. A smaller fleet asks for the first twice
            # its number of stations; if the organisation is larger, it asks per station.
            if stations < BULK_WITHOUT_ORG_SIZE:
                if source is Source.STATIONS:
                    self._probe(stations)
                if self.org_size is None:
                    return False
            if source is not Source.STATIONS:
                self._read_inventory(station_id, "organisation size unknown")
            if self.org_size is None:
                return source is Source.STATIONS
        if source is Source.SESSIONS:
            return self._sessions_in_bulk()
        records = self.costs.records(source, self.org_size)
        return self.costs.prefer_bulk(source, stations, max(1, math.ceil(records / STATIONS_PAGE)), records)

    def decided(self, source: Source, station_id: str) -> bool | None:
        """:meth:`bulk`, when deciding needs no call (None else: the organisation's size or its groups are not
        known yet, and the decision reads them)."""
        if source is Source.LOAD:
            known = self._groups_known == self.version
        else:
            known = source is Source.STATUS or self.org_size is not None
        return self.bulk(source, station_id) if known else None

    def cover(self) -> list[tuple[str, set[str]]]:
        """The station groups that answer getLoad for the account's stations (see :func:`~.batching.group_cover`)."""
        account = self._account
        if self._cover is None or self._cover[0] != self.version:
            self._cover = (self.version, group_cover(account.station_set, account.memberships,
                                                     prefer=account.groups.configured))
        return self._cover[1]

    def learn_organisation(self, found: Mapping[str, StationInfo]) -> None:
        """Take an inventory of the whole organisation: its size, and the size of each of its groups."""
        self.org_size = len(found)
        self.group_sizes.update(Counter(group for info in found.values() for group in group_ids(info.sg_id)))

    def learn_groups(self, station_id: str) -> None:
        # Group membership (from getStations) before load is asked by group. It changes rarely: any cached inventory
        # will do, else the inventory fetch is shared; without it stations are asked one by one.
        account = self._account
        if self._groups_known == self.version:
            return
        if all(sid in account.memberships for sid in account.station_set):
            self._groups_known = self.version
        else:
            self._read_inventory(station_id, "no group membership for batched getLoad")

    def _probe(self, stations: int) -> None:
        # One call for twice as many stations as the fleet's (if that is the whole organisation, bulk reads pay),
        # once per fleet size; the devices polling meanwhile wait for it: it may answer their inventory.
        records = min(2 * stations, STATIONS_PAGE)
        if records <= self._probed:
            return
        try:
            if self._account.probe_organisation(records):
                self.probes += 1
            if self.org_size is None:
                _log.debug("organisation larger than %d stations: asking per station", records)
        except ChargePointError as exc:
            _log.debug("organisation size not learned (%s): asking per station", exc)
        self._probed = max(self._probed, records)

    def _read_inventory(self, station_id: str, why: str) -> None:
        try:
            self._account.read(Source.STATIONS, station_id, math.inf)
        except ChargePointError as exc:
            _log.debug("%s (%s): asking per station", why, exc)

    def _group_size(self, group: str, members: int) -> float:
        # Unknown until the inventory or a getLoad of the group said: as big as its share of the fleet suggests,
        # once the organisation's size is known; before that a group could hold the whole organisation.
        known = self.group_sizes.get(group)
        if known:
            return known
        if self.org_size is None:
            return math.inf
        return members * self.org_size / len(self._account.station_set)

    def waiting_for_sessions(self, now: float) -> list[str]:
        """The configured stations whose sessions must be read now (worked out once per change of the watch)."""
        account = self._account
        key = (self.version + account.session_watch.version, int(now))  # to the second: refreshes are minutes
        if self._waiting is None or self._waiting[0] != key:
            self._waiting = (key, [sid for sid in account.station_set
                                   if account.session_watch.needs_read(sid, now)])
        return self._waiting[1]

    def _sessions_in_bulk(self) -> bool:
        """One organisation-wide read from the earliest point any waiting station needs, against one per station.

        Every device of the account asks at every poll, and the answer looks at every waiting station: it is worked
        out once per change of what it depends on (5000 devices each working it out cost 15 s of CPU a poll).
        """
        account = self._account
        waiting = self.waiting_for_sessions(account.clock())
        key = (self._waiting[0] if self._waiting else None, account.session_history.version,
               account.session_watch.api_time, len(self.windowed), self.org_size, self.whole_histories_too_large)
        if self._in_bulk is None or self._in_bulk[0] != key:
            self._in_bulk = (key, self._decide_sessions(waiting))
        return self._in_bulk[1]

    def _decide_sessions(self, waiting: list[str]) -> bool:
        if len(waiting) < 2:
            return False
        org = self.org_size or len(self._account.station_set)
        since = self.bulk_session_start(waiting)
        if since is None:
            if self.whole_histories_too_large:
                return False
            records = self.costs.records(Source.SESSIONS, org)  # whole histories, as the last full read showed
        else:
            hours = max(0.0, (self._api_now() - since).total_seconds()) / 3600
            records = org * self.session_rate * hours
        return self.costs.prefer_bulk(Source.SESSIONS, len(waiting), max(1, math.ceil(records / SESSIONS_PAGE)),
                                      records, within=self._beside_status())

    def _beside_status(self) -> float:
        """Seconds of the status read each poll makes: a session read runs beside it, and up to that long costs the
        cycle no time (a cycle lasts as long as its longest read)."""
        stations = len(self._account.station_set)
        return self.costs.bulk_time(Source.STATUS, math.ceil(stations / STATIONS_PAGE), stations)

    def session_start(self, station_id: str) -> datetime | None:
        """Where a read of the station's sessions must start (None: its whole history).

        A station no read has found sessions of is read whole (an answer during an outage may have said "no data"
        wrongly); else from what the status polls saw (:meth:`~.batching.SessionWatch.since`), or a day before
        its latest session.
        """
        history = self._account.session_history
        known = history.since(station_id) or history.since("*")
        if known is None:
            return None
        return self._account.session_watch.since(station_id, self._account.clock()) or known

    def session_starts(self, starts: Mapping[str, datetime | None],
                       window: datetime | None) -> dict[str, datetime | None]:
        """Where each station's read starts, from its :meth:`session_start`: a station read for the first time from
        ``window`` (the last day: see :mod:`.fetchers`), unless that was tried already and a port had no session
        in it."""
        return {sid: window if start is None and sid not in self.windowed else start for sid, start in starts.items()}

    def first_window(self) -> datetime | None:
        """Where a station's first read starts: a day before the API's clock as the status answers show it (None:
        no status seen yet)."""
        api_time = self._account.session_watch.api_time
        return None if api_time is None else api_time - FIRST_WINDOW

    def bulk_session_start(self, waiting: Iterable[str]) -> datetime | None:
        """Where an organisation-wide read must start to serve every waiting station (None: their whole history)."""
        starts = {sid: self.session_start(sid) for sid in waiting}
        return earliest(self.session_starts(starts, self.first_window()).values())

    def session_pages(self, waiting: int) -> int:
        """The most pages an organisation-wide session read may take before the stations are asked one by one:
        half the calls, and no more time, than asking them (or the status read beside it) would cost (the estimate
        that chose it can be wrong; this bounds what it wastes)."""
        page = self.costs.bulk_time(Source.SESSIONS, 1, SESSIONS_PAGE)
        in_time = int(max(self.costs.per_station_time(Source.SESSIONS, waiting), self._beside_status()) / page)
        return max(1, min(MAX_PAGES - 1, waiting // 2, in_time))

    def _api_now(self) -> datetime:
        # The API's clock as its status answers show it (the sessions' times are on it), else this host's.
        return self._account.session_watch.api_time or datetime.now(timezone.utc)

    def learn_session_rate(self, records: int, since: datetime) -> None:
        hours = max((self._api_now() - since).total_seconds() / 3600, 0.1)
        self.session_rate = blend(self.session_rate, records / ((self.org_size or 1) * hours))


def earliest(starts: Iterable[datetime | None]) -> datetime | None:
    """Where one read must start to serve every start given (None: one of them needs its whole history)."""
    known = list(starts)
    return None if not known or any(start is None for start in known) else min(known)  # type: ignore[type-var]
