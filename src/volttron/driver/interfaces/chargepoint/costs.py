"""What a read will cost, learned from the answers already seen, so each cycle can ask the cheapest way.

A method can be asked per station, or in bulk (a list of stations, a station group, the whole organisation). Bulk
asks fewer calls but carries more records, sometimes of stations nobody configured; per-station calls run
concurrently. Both are estimated from three learned figures, and bulk is chosen only when it makes fewer calls and
takes no longer: a cycle then never costs more calls or more time than asking station by station.

- The cost of a call, whatever it carries, and the cost of a byte an answer carries (transfer and parsing) are the
  account's, not a method's. Learned per method, each method's figures held the load of the cycles it happened to
  be asked in (a session page read while a thousand devices polled looked twenty times dearer per record than a
  status page read at the start of the cycle), and reads of two methods were compared under different loads.
- How many bytes a record of each method takes is counted, not timed: it does not depend on the load.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .models import Source

SMOOTHING = 0.3  # weight of the newest observation in the running estimates
# A timing can only overstate what a call costs (queueing, and other greenlets' work while it waits for the hub,
# only ever add to it): the time estimates follow a faster observation at once and a slower one gradually, so that
# a cycle in which a thousand devices polled does not teach that the API became ten times slower.
FALLING, RISING = 0.5, 0.1
# Bulk may take this share longer than per-station and still win, for its fewer calls: both times are estimates
# from timings that vary from one cycle to the next, and near a tie, a decision that flipped with that noise would
# swap a few calls for a hundred (and per-station calls take the slots the other methods' reads need).
TIME_TOLERANCE = 0.25
# Once bulk was chosen for a method, it stays chosen until it is estimated this share slower: an estimate moving
# back and forth across the line would otherwise swap the method between a few calls and a hundred each cycle.
KEEP_TOLERANCE = 0.5
# Answers up to this size teach the cost of a call; from the larger size on, the cost of a byte.
SMALL_ANSWER, LARGE_ANSWER = 8 * 1024, 32 * 1024
CALL_S = 0.02  # seconds a call takes, until answers say otherwise (a loopback-like call)
BYTE_S = 1.5e-7  # seconds each byte of an answer adds, until answers say otherwise


@dataclass
class _Estimate:
    record_bytes: float    # bytes each record of an answer takes
    per_station: float     # records an answer carries per station it covers (alarms, rights, sessions)


# Starting points until answers say otherwise (as the simulator's answers are; a getStations record is the heaviest).
_PRIORS = {
    Source.STATIONS: _Estimate(2200, 1.0),
    Source.STATUS: _Estimate(300, 1.0),
    Source.LOAD: _Estimate(540, 1.0),
    Source.GROUP_LOAD: _Estimate(540, 1.0),
    Source.ALARMS: _Estimate(460, 0.5),
    Source.RIGHTS: _Estimate(500, 1.5),
    Source.SESSIONS: _Estimate(700, 5.0),
}


class CostModel:
    """Running per-method estimates for one account, and the comparison between asking in bulk and per station."""

    def __init__(self, concurrency: int = 8) -> None:
        self.concurrency = concurrency
        self.call_s = CALL_S  # seconds one call takes, whatever it carries and whichever method it is
        self.byte_s = BYTE_S  # seconds each byte of an answer adds, whichever method it is
        self._estimates = {source: _Estimate(**vars(prior)) for source, prior in _PRIORS.items()}
        self._bulk: dict[Source, bool] = {}  # each method's last choice

    def answered(self, operation: str, seconds: float, records: int, size: int) -> None:
        """Take one answer: the seconds its call took once it had a slot, the records it carried and its bytes."""
        estimate = self._estimates.get(_BY_OPERATION.get(operation))  # type: ignore[arg-type]
        if estimate is None:
            return
        if size <= SMALL_ANSWER:
            self.call_s = _settle(self.call_s, seconds)
        elif size >= LARGE_ANSWER:
            self.byte_s = _settle(self.byte_s, max(0.0, seconds - self.call_s) / size)
        if records > 20:
            estimate.record_bytes = blend(estimate.record_bytes, size / records)

    def record_s(self, source: Source) -> float:
        """Seconds each record of an answer of ``source`` adds."""
        return self._estimates[source].record_bytes * self.byte_s

    def learn_density(self, source: Source, records: int, stations: int) -> None:
        """Take one organisation-wide answer: how many records it carried for how many stations."""
        if stations > 0:
            estimate = self._estimates[source]
            estimate.per_station = blend(estimate.per_station, records / stations)

    def records(self, source: Source, stations: float) -> float:
        """Records an answer covering ``stations`` stations is expected to carry."""
        return self._estimates[source].per_station * stations

    def per_station_time(self, source: Source, stations: int) -> float:
        """Seconds to ask ``stations`` stations one by one, ``concurrency`` at a time."""
        estimate = self._estimates[source]
        rounds = math.ceil(stations / self.concurrency)
        return rounds * (self.call_s + estimate.per_station * self.record_s(source))

    def bulk_time(self, source: Source, calls: int, records: float, parallel: bool = False) -> float:
        """Seconds for bulk calls carrying ``records`` in all; pages follow one another unless ``parallel``.

        Calls made in parallel share the records, and each takes as long as its share (the per-record cost was
        learned from calls made alongside others, so it already holds what running together costs).
        """
        record_s = self.record_s(source)
        if parallel and calls:
            return math.ceil(calls / self.concurrency) * (self.call_s + records / calls * record_s)
        return calls * self.call_s + records * record_s

    def prefer_bulk(self, source: Source, stations: int, calls: int, records: float, parallel: bool = False,
                    within: float = 0.0) -> bool:
        """True when ``calls`` bulk calls carrying ``records`` beat asking ``stations`` stations one by one: fewer
        calls, and no longer than asking per station, or than ``within`` seconds (what a read beside it in the same
        cycle takes anyway), within :data:`TIME_TOLERANCE` (:data:`KEEP_TOLERANCE` when bulk was chosen last)."""
        if calls >= stations:
            bulk = False
        else:
            tolerance = KEEP_TOLERANCE if self._bulk.get(source) else TIME_TOLERANCE
            bulk = self.bulk_time(source, calls, records, parallel) <= \
                max(self.per_station_time(source, stations), within) * (1 + tolerance)
        self._bulk[source] = bulk
        return bulk


_BY_OPERATION = {source.value: source for source in _PRIORS if source is not Source.GROUP_LOAD}


def blend(old: float, new: float) -> float:
    """A running estimate moved towards the newest observation by :data:`SMOOTHING`."""
    return (1 - SMOOTHING) * old + SMOOTHING * new


def _settle(old: float, new: float) -> float:
    """A time estimate moved towards the newest timing: by :data:`FALLING` when faster, :data:`RISING` when slower."""
    weight = FALLING if new < old else RISING
    return (1 - weight) * old + weight * new
