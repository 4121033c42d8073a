"""A thousand polls under random faults leave nothing behind: no greenlet waiting, no call in flight, a cache and a
heap that stay the same size, nothing printed; and the first poll after the faults stop reads everything."""

from __future__ import annotations

import gc
import logging
import random
import time
from typing import Iterator

import gevent
import pytest

from chargepoint_simulator import SimClock, Simulator
from cp_reliability import FROZEN, PASSWORD, USERNAME, FakeClock, break_simulator, live_greenlets, use_clock
from volttron.driver.interfaces.chargepoint.account import POLL_MARGIN
from volttron.driver.interfaces.chargepoint.models import STATION_SOURCES

pytestmark = pytest.mark.timeout(90)

TIMEOUT = 1.0  # generous for the healthy calls, so only injected faults fail
ROUNDS = 500  # two devices polled concurrently each round: 1000 polls
OPERATIONS = [source.value for source in STATION_SOURCES]  # what a station device polls


def cause_random_fault(sim, rng: random.Random) -> str:
    """Break the simulator in one randomly chosen way (often not at all); returns what was done."""
    kind = rng.choices(["none", "http500", "soap_fault", "malformed", "truncate", "empty", "code", "auth",
                        "latency", "blackhole"],
                       weights=[40, 8, 8, 8, 8, 8, 10, 6, 1, 1])[0]
    break_simulator(sim, kind, rng.sample(OPERATIONS, rng.randint(1, len(OPERATIONS))), rng, TIMEOUT)
    return kind


@pytest.fixture
def sim() -> Iterator[Simulator]:
    # A short request log, so that the simulator's own memory does not grow with the polls.
    with Simulator(stations=4, seed=11, username=USERNAME, password=PASSWORD, port=0, request_log_size=10,
                   clock=SimClock(start=FROZEN, scale=0)) as simulator:
        yield simulator


def test_a_thousand_polls_under_random_faults_leave_nothing_behind(sim, make_device, capfd, caplog) -> None:
    caplog.set_level(logging.CRITICAL)  # records kept for pytest's report would count as growth
    rng = random.Random(20260601)
    clock = FakeClock()
    baseline_greenlets = len(live_greenlets())
    first, second = sim.model.station_ids()[:2]
    devices = [make_device(first, name="cp1", timeout=TIMEOUT), make_device(second, name="cp2", timeout=TIMEOUT)]
    account = devices[0].interface.account
    assert devices[1].interface.account is account
    use_clock(account, clock)
    points = [set(device.point_names) for device in devices]
    kinds: dict[str, int] = {}
    slowest = 0.0
    objects_at: dict[int, int] = {}
    for round_number in range(1, ROUNDS + 1):
        kind = cause_random_fault(sim, rng)
        kinds[kind] = kinds.get(kind, 0) + 1
        clock.advance(rng.uniform(0, 20))  # sometimes inside a back-off window, sometimes past it
        started = time.monotonic()
        polls = [gevent.spawn(device.scrape) for device in devices]
        gevent.joinall(polls, timeout=TIMEOUT + POLL_MARGIN + 5)
        slowest = max(slowest, time.monotonic() - started)
        for poll, names in zip(polls, points):
            values, errors = poll.get(block=False)  # raises if the poll crashed or is still running
            assert set(values) | set(errors) == names
            odd = [e for e in errors.values() if "interrupted" in e or "cannot read" in e]
            assert not odd, (kind, odd[:3])  # a failure we did not turn into one of our errors
        if round_number in (100, ROUNDS):
            gc.collect()
            objects_at[round_number] = len(gc.get_objects())

    assert kinds.keys() >= {"none", "http500", "auth", "code", "latency", "blackhole"}, kinds
    assert slowest < TIMEOUT + POLL_MARGIN + 1.0
    sim.faults.clear()
    sim.app.password = PASSWORD
    clock.advance(1000)  # past any back-off
    for device in devices:
        assert device.scrape()[1] == {}

    assert account.cache.in_flight == 0
    assert len(account.cache) <= len(STATION_SOURCES) * len(devices)
    # Rounds 100 to 500 left no lasting objects beyond noise (a leak of one object per poll would be 800).
    assert objects_at[ROUNDS] - objects_at[100] < 300, objects_at
    sim.stop()  # ends the simulator's own request handlers, then count what is still alive
    assert len(live_greenlets()) <= baseline_greenlets
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err and "failed with" not in captured.err, captured.err[-2000:]
