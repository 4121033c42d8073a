"""ResponseCache: freshness decided by each reader's max_age, bounded size, invalidation, pruning and
single-flight coalescing of concurrent fetches (one API call serves every waiter, success or failure)."""
from __future__ import annotations

import gevent
import pytest
from gevent.event import Event

from volttron.driver.interfaces.chargepoint.cache import ResponseCache
from volttron.driver.interfaces.chargepoint.exceptions import ApiTimeout, TransportError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def cache(clock):
    return ResponseCache(max_entries=100, clock=clock)


def test_each_reader_decides_freshness_with_its_own_max_age(cache, clock):
    cache.put({"load": 3.3})
    clock.now += 20
    assert cache.get("load", 30) == (True, 3.3)     # a device with cacheExpiration 30 still uses it
    assert cache.get("load", 10) == (False, None)   # a device with cacheExpiration 10 does not
    assert cache.get("load", 30) == (True, 3.3)     # and that miss did not evict it for the other device


def test_entry_expires_at_max_age(cache, clock):
    cache.put({"k": "v"})
    clock.now += 29.999
    assert cache.get("k", 30)[0] is True
    clock.now += 0.001
    assert cache.get("k", 30) == (False, None)


def test_max_age_zero_never_hits(cache):
    cache.put({"k": "v"})
    assert cache.get("k", 0) == (False, None)


def test_missing_key_misses(cache):
    assert cache.get("nope", 60) == (False, None)


def test_cached_none_is_a_hit(cache):
    cache.put({"alarms": None})
    assert cache.get("alarms", 60) == (True, None)


def test_put_refreshes_the_stamp(cache, clock):
    cache.put({"k": 1})
    clock.now += 25
    cache.put({"k": 2})
    clock.now += 25
    assert cache.get("k", 30) == (True, 2)


def test_size_is_bounded_and_oldest_go_first(clock):
    cache = ResponseCache(max_entries=3, clock=clock)
    for i in range(5):
        clock.now += 1
        cache.put({i: i})
    assert len(cache) == 3
    assert [cache.get(i, 60)[0] for i in range(5)] == [False, False, True, True, True]


def test_rewritten_entry_counts_as_newest_for_eviction(clock):
    cache = ResponseCache(max_entries=2, clock=clock)
    cache.put({"a": 1})
    cache.put({"b": 2})
    cache.put({"a": 3})     # refreshed: now the newest
    cache.put({"c": 4})     # evicts b, not a
    assert cache.get("a", 60) == (True, 3)
    assert cache.get("b", 60) == (False, None)


def test_invalidate_drops_matching_entries_only(cache):
    cache.put({("load", "1:1"): 1, ("alarms", "1:1"): 2, ("load", "1:2"): 3})
    assert cache.invalidate(lambda key: key[1] == "1:1") == 2
    assert len(cache) == 1
    assert cache.get(("load", "1:2"), 60) == (True, 3)
    assert cache.get(("load", "1:1"), 60) == (False, None)


def test_prune_drops_entries_older_than_max_age(cache, clock):
    cache.put({"old": 1})
    clock.now += 50
    cache.put({"new": 2})
    clock.now += 20
    cache.prune(60)
    assert len(cache) == 1
    assert cache.get("new", 100) == (True, 2)


def test_prune_keeps_everything_young(cache, clock):
    cache.put({"a": 1, "b": 2})
    clock.now += 5
    cache.prune(60)
    assert len(cache) == 2


# --- single flight ----------------------------------------------------------------------------------------------

WAITERS = 50


def run_concurrently(cache, fetch, key="getLoad"):
    """Start WAITERS greenlets that all ask for the same flight; return (greenlets, outcomes)."""
    outcomes: list = [None] * WAITERS

    def caller(i):
        try:
            outcomes[i] = ("ok", cache.single_flight(key, fetch, wait=5))
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            outcomes[i] = ("error", exc)

    greenlets = [gevent.spawn(caller, i) for i in range(WAITERS)]
    gevent.idle()  # let every greenlet reach single_flight (the first one blocks in fetch)
    return greenlets, outcomes


def test_concurrent_callers_share_one_fetch(cache):
    release = Event()
    calls = []
    result = {"1:10001": "data"}

    def fetch():
        calls.append(1)
        release.wait(timeout=5)
        return result

    greenlets, outcomes = run_concurrently(cache, fetch)
    assert cache.in_flight == 1
    assert all(o is None for o in outcomes)   # everyone is waiting for the one call
    release.set()
    gevent.joinall(greenlets, timeout=5, raise_error=True)
    assert len(calls) == 1
    assert all(o == ("ok", result) for o in outcomes)
    assert all(o[1] is result for o in outcomes)
    assert cache.in_flight == 0


def test_an_exception_is_shared_by_every_waiter(cache):
    release = Event()
    calls = []
    failure = TransportError("connection reset")

    def fetch():
        calls.append(1)
        release.wait(timeout=5)
        raise failure

    greenlets, outcomes = run_concurrently(cache, fetch)
    release.set()
    gevent.joinall(greenlets, timeout=5, raise_error=True)
    assert len(calls) == 1
    assert all(kind == "error" and exc is failure for kind, exc in outcomes)
    assert cache.in_flight == 0


def test_finished_flight_is_not_reused(cache):
    calls = []

    def fetch():
        calls.append(1)
        return len(calls)

    assert cache.single_flight("k", fetch, wait=1) == 1
    assert cache.single_flight("k", fetch, wait=1) == 2
    assert cache.in_flight == 0


def test_different_flights_do_not_wait_for_each_other(cache):
    release = Event()
    blocked = gevent.spawn(cache.single_flight, "slow", lambda: release.wait(timeout=5), 5)
    gevent.idle()
    assert cache.single_flight("fast", lambda: "quick", wait=1) == "quick"
    release.set()
    blocked.join(timeout=5)


def test_waiter_gives_up_with_api_timeout(cache):
    release = Event()
    leader = gevent.spawn(cache.single_flight, "k", lambda: release.wait(timeout=5), 5)
    gevent.idle()
    with pytest.raises(ApiTimeout, match="shared call"):
        cache.single_flight("k", lambda: "never runs", wait=0.01)
    release.set()
    leader.join(timeout=5)
    assert cache.in_flight == 0


# --- joining a flight (a poll's bulk reads) ------------------------------------------------------------------------

def test_joiners_wait_on_the_first_callers_flight_without_a_greenlet_of_their_own(cache):
    release = Event()
    calls = []

    def fetch(station):
        calls.append(station)
        release.wait(timeout=5)
        return {station: "data"}

    first, runner = cache.join("getStationStatus", fetch, "1:10001")
    joined = [cache.join("getStationStatus", fetch, "1:10002") for _ in range(WAITERS)]
    assert runner is not None and all(run is None for _flight, run in joined)
    assert all(flight is first for flight, _run in joined)
    assert cache.in_flight == 1  # registered at once: callers after the first join it before it runs
    release.set()
    assert first.wait(5) == {"1:10001": "data"}
    assert calls == ["1:10001"]
    assert cache.in_flight == 0


def test_a_joined_flights_failure_is_its_result_and_nothing_is_printed(cache, capfd):
    failure = TransportError("connection reset")

    def fetch():
        raise failure

    flight, runner = cache.join("getAlarms", fetch)
    runner.join(timeout=5)
    assert flight.exception is failure
    assert runner.successful()  # gevent would print a greenlet that died of it on stderr
    assert cache.in_flight == 0
    assert capfd.readouterr().err == ""


def test_a_joined_flight_stopped_by_its_starter_gives_its_joiners_a_timeout(cache):
    release = Event()
    flight, runner = cache.join("getLoad", lambda: release.wait(timeout=5))
    gevent.idle()  # running
    runner.kill(block=True, timeout=5)
    assert isinstance(flight.exception, ApiTimeout)
    assert cache.in_flight == 0
    again, rerun = cache.join("getLoad", lambda: "fresh")
    assert rerun is not None and again.wait(5) == "fresh"


def test_giving_up_a_flight_before_it_started_lets_it_run_to_its_end(cache):
    flight, runner = cache.join("getAlarms", lambda: "answer")
    cache.give_up(runner)  # the poll's bound passed before the hub got round to the flight
    assert flight.wait(5) == "answer"
    assert cache.in_flight == 0  # ended: the next poll starts a flight of its own instead of waiting for this one


def test_giving_up_a_running_flight_gives_its_joiners_a_timeout(cache):
    release = Event()
    flight, runner = cache.join("getAlarms", lambda: release.wait(timeout=5))
    gevent.idle()  # running
    cache.give_up(runner)
    runner.join(timeout=5)
    assert isinstance(flight.exception, ApiTimeout)
    assert cache.in_flight == 0
