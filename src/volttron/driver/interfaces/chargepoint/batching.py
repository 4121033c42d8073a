"""Batching rules: which few calls answer for many stations, and which stations need their sessions read.

Pure functions and small state holders, so that the rules are tested without an API.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable, Mapping

from .models import PortStatus, Session

SESSION_OVERLAP = timedelta(hours=24)  # longest session a refresh is sure to catch
# How far before its last read a station's next read starts: sessions the status polls could not see end (shorter
# than a poll interval, or during an outage) started after that read; records the API posts late are caught too.
# "When" is on the API's clock: the latest status change it had reported by then (never later than its own now).
REFRESH_OVERLAP = timedelta(hours=1)


def group_cover(stations: Iterable[str], groups_of: Mapping[str, list[str]],
                prefer: Iterable[str] = ()) -> list[tuple[str, set[str]]]:
    """Station groups to ask getLoad for, greedily the one covering the most uncovered stations first.

    Only groups that cover at least two stations are worth a call; the stations left over are asked one by one.
    Groups in ``prefer`` (those of group devices, whose answers are needed anyway) go first among those.
    Returns (group ID, the stations it was chosen for), in the order to ask.
    """
    uncovered = set(stations)
    preferred = set(prefer)
    chosen: list[tuple[str, set[str]]] = []
    while uncovered:
        members: dict[str, set[str]] = {}
        for station in uncovered:
            for group in groups_of.get(station, []):
                members.setdefault(group, set()).add(station)
        worth = [g for g in members if len(members[g]) >= 2]
        best = max(worth, key=lambda g: (g in preferred, len(members[g]), g), default=None)
        if best is None:
            break
        chosen.append((best, members[best]))
        uncovered -= members[best]
    return chosen


def group_ids(sg_id: str | None) -> list[str]:
    """The group IDs of a station's ``sgID`` field (a comma-separated list in one string)."""
    return [group.strip() for group in (sg_id or "").split(",") if group.strip()]


class SessionHistory:
    """The latest completed session per station and port, kept up to date by incremental reads.

    Sessions come oldest first, 100 a page. After a first full read only the day before the latest known session
    end is asked again (a session ending later started after that, unless it lasted a day); the answers are merged,
    keeping the latest session per port. A scope is one station, or ``"*"`` for the organisation.
    """

    def __init__(self) -> None:
        self._latest: dict[str, dict[int | None, Session]] = {}
        self._since: dict[str, datetime] = {}
        self._views: dict[str, tuple[Session, ...]] = {}  # what latest() answered, until a merge changes it
        self.version = 0  # bumped by every merge: what was worked out from the history may have changed

    def since(self, scope: str) -> datetime | None:
        """Where the next read of ``scope`` may start (None: read everything)."""
        return self._since.get(scope)

    def merge(self, scope: str | None, found: Mapping[str, list[Session]]) -> None:
        """Take the sessions one read of ``scope`` returned (None: a read that moves no scope's bound on, because it
        did not cover the whole history of what it asked)."""
        self.version += 1
        for station, sessions in found.items():
            self._views.pop(station, None)
            latest = self._latest.setdefault(station, {})
            for session in sessions:
                known = latest.get(session.port_number)
                if known is None or session.recency() >= known.recency():
                    latest[session.port_number] = session
        if scope is None:
            return
        stations = self._latest if scope == "*" else [scope]
        ends = [s.end_time for station in stations for s in self._latest.get(station, {}).values()
                if s.end_time is not None]
        if ends:
            self._since[scope] = max(ends) - SESSION_OVERLAP

    def latest(self, station: str) -> tuple[Session, ...]:
        """The latest session of each port of the station (empty when none is known); the same object until a read
        changes it, so that what was converted from it need not be again."""
        view = self._views.get(station)
        if view is None:
            view = self._views[station] = tuple(self._latest.get(station, {}).values())
        return view


INUSE = "INUSE"
START_MARGIN = timedelta(minutes=2)  # a session's recorded start may precede the status change a little


class SessionWatch:
    """Which stations may have a new completed session since their sessions were last read.

    A session record appears when a port stops charging, so the sessions of a station are read again only when a
    status read shows one of its ports leave INUSE (or after ``refresh`` seconds, as a safety net), not at every
    poll. The status timestamp of the change to INUSE is the session's start, which bounds the next read.

    The safety refresh reads from :data:`REFRESH_OVERLAP` before the last refresh, so that one after another they
    leave no gap; a read for a session that ended in between asks only from that session's start, and leaves the
    refresh where it was.
    """

    def __init__(self, refresh: float = 3600.0) -> None:
        self.refresh = refresh  # seconds between safety refreshes (the devices' staticExpiration); 0: every poll
        self.version = 0  # bumped whenever a station's need for a session read may have changed
        self._status: dict[str, dict[int, PortStatus]] = {}
        self._started: dict[tuple[str, int], datetime] = {}  # (station, port) -> when it went INUSE
        self._ended: dict[str, datetime | None] = {}  # stations with a session ended since their last read
        self._read_at: dict[str, float] = {}
        self._asked: dict[str, datetime] = {}  # each station's last read, on the API's clock (see REFRESH_OVERLAP)
        self._api_time: datetime | None = None  # the latest status timestamp seen: the API's clock, or behind it

    def observe(self, statuses: Mapping[str, Mapping[int, PortStatus]]) -> None:
        """Take a getStationStatus answer."""
        for station, ports in statuses.items():
            before = self._status.get(station, {})
            for number, port in ports.items():
                if port.timestamp is not None and (self._api_time is None or port.timestamp > self._api_time):
                    self._api_time = port.timestamp
                was = before.get(number)
                charging, charged = port.status == INUSE, was is not None and was.status == INUSE
                if charging and not charged and port.timestamp is not None:
                    self._started[(station, number)] = port.timestamp
                elif charged and not charging:
                    self.version += 1
                    start = self._started.pop((station, number), None)
                    earliest = self._ended.get(station, start) if station in self._ended else start
                    self._ended[station] = None if earliest is None or start is None else min(earliest, start)
            self._status[station] = dict(ports)

    @property
    def api_time(self) -> datetime | None:
        """The latest status timestamp seen: the API's clock at the time, or behind it (None: no status yet)."""
        return self._api_time

    def needs_read(self, station: str, now: float) -> bool:
        """True when the station's sessions were never read, a session ended since, or the refresh is due."""
        return station in self._ended or self._refresh_due(station, now)

    def _refresh_due(self, station: str, now: float) -> bool:
        read_at = self._read_at.get(station)
        return read_at is None or self.refresh <= 0 or now - read_at >= self.refresh

    def _only_ended(self, station: str, now: float | None) -> bool:
        # A read for the session that ended, its start known, with the refresh not due.
        return now is not None and self._ended.get(station) is not None and \
            not self._refresh_due(station, now)

    def since(self, station: str, now: float | None = None) -> datetime | None:
        """Where the station's next read (at ``now``) may start: from the start of the session that ended since the
        last read, and :data:`REFRESH_OVERLAP` before the last refresh when one is due or ``now`` is not given
        (None: not known, as before a first read with a status seen, or when a session's start is unknown)."""
        asked = self._asked.get(station)
        if asked is None:
            return None
        if self._only_ended(station, now):
            return self._ended[station] - START_MARGIN  # type: ignore[operator]
        since = asked - REFRESH_OVERLAP
        if station in self._ended:
            start = self._ended[station]
            return None if start is None else min(since, start - START_MARGIN)
        return since

    def read(self, stations: Iterable[str], now: float) -> None:
        """The sessions of these stations have just been read (as :meth:`since` said at ``now``)."""
        self.version += 1
        for station in stations:
            only_ended = self._only_ended(station, now)
            self._ended.pop(station, None)
            if only_ended:
                continue  # the refresh keeps its time and its start
            self._read_at[station] = now
            if self._api_time is not None:
                self._asked[station] = self._api_time

    def forget(self, station: str) -> None:
        """Forget a station (no longer configured, or it left or rejoined the account): its sessions are read afresh."""
        self.version += 1
        for mapping in (self._status, self._ended, self._read_at, self._asked):
            mapping.pop(station, None)

