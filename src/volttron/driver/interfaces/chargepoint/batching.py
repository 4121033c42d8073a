"""Batching rules: which few calls answer for many stations, and how incremental session reads are merged.

Pure functions and one small state holder, so that the rules are tested without an API.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable, Mapping

from .models import Session

SESSION_OVERLAP = timedelta(hours=24)  # longest session a refresh is sure to catch


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

    def since(self, scope: str) -> datetime | None:
        """Where the next read of ``scope`` may start (None: read everything)."""
        return self._since.get(scope)

    def merge(self, scope: str, found: Mapping[str, list[Session]]) -> None:
        """Take the sessions one read of ``scope`` returned."""
        for station, sessions in found.items():
            latest = self._latest.setdefault(station, {})
            for session in sessions:
                known = latest.get(session.port_number)
                if known is None or session.recency() >= known.recency():
                    latest[session.port_number] = session
        stations = self._latest if scope == "*" else [scope]
        ends = [s.end_time for station in stations for s in self._latest.get(station, {}).values()
                if s.end_time is not None]
        if ends:
            self._since[scope] = max(ends) - SESSION_OVERLAP

    def latest(self, station: str) -> list[Session]:
        """The latest session of each port of the station (empty when none is known)."""
        return list(self._latest.get(station, {}).values())
