"""A fleet soak: 50 devices of one account polled together 200 times while the API fails at random, in the
simulator's ways and in hostile ones (numbers that are not, 30 MB answers, a stuck moreFlag, redirects, echoed
passwords), with devices reconfigured as it runs. Every poll returns within the timeout plus POLL_MARGIN, nothing is
printed to stderr, and greenlets, sockets and accounts stay flat."""

from __future__ import annotations

import gc
import logging
import os
import random
import time
from typing import Any, Callable, Iterator

import gevent
import pytest

from chargepoint_simulator import SimClock, Simulator
from cp_reliability import (FROZEN, PASSWORD, USERNAME, FakeClock, HostileApi, break_simulator, live_greenlets,
                            sample_rows, use_clock, xml_reply)
from volttron.driver.interfaces.chargepoint.account import POLL_MARGIN, Account
from volttron.driver.interfaces.chargepoint.models import Source

pytestmark = pytest.mark.timeout(600)

DEVICES = 50
ROUNDS = 200
TIMEOUT = 1.0
BOUND = TIMEOUT + POLL_MARGIN + 1.0  # the promise plus scheduling slack for 50 polls on a small machine
OPERATIONS = [source.value for source in Source]
CHECKPOINTS = (40, 120, ROUNDS)  # rounds after which what is alive is counted (the round before is fault-free)
Answer = tuple[str, list[tuple[str, str]], Any]


def hostile_answer(kind: str, rng: random.Random) -> Callable[[bytes], Answer]:
    """One way to spoil an honest answer."""
    if kind == "nan":
        field = rng.choice([b"Mode", b"Voltage", b"portLoad", b"shedState", b"TimeStamp", b"Energy"])
        return lambda body: xml_reply(body.replace(b"<" + field + b">", b"<" + field + b">NaN<x>", 1)
                                      .replace(b"<x>", b"</" + field + b"><" + field + b">", 1))
    if kind == "huge":
        return lambda body: xml_reply(body.replace(b"</responseText>", b"</responseText>" + b"<x/>" * 7_800_000))
    if kind == "stuck":
        return lambda body: xml_reply(body.replace(b"oreFlag>0<", b"oreFlag>1<"))
    if kind == "redirect":
        return lambda body: ("302 Found", [("Location", "http://127.0.0.1:9/"), ("Content-Length", "0")], [b""])
    if kind == "echo":
        echoed = "".join(f"&#{ord(c)};" for c in PASSWORD).encode()
        return lambda body: xml_reply(body.replace(b"<responseCode>100<", b"<responseCode>101<")
                                      .replace(b"API input request executed successfully.", echoed))
    raise ValueError(kind)


KINDS = {"none": 35, "http500": 6, "soap_fault": 5, "malformed": 5, "truncate": 5, "empty": 4, "code": 6, "auth": 4,
         "latency": 2, "blackhole": 2, "nan": 8, "huge": 3, "stuck": 5, "redirect": 4, "echo": 6}


HOSTILE = ("nan", "huge", "stuck", "redirect", "echo")


def cause_random_fault(sim: Simulator, api: HostileApi, rng: random.Random, kind: str | None = None) -> str:
    """Break the API in one randomly chosen way, the simulator's or a hostile answer; returns what was done."""
    kind = kind or rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
    operations = rng.sample(OPERATIONS, rng.randint(1, 3))
    break_simulator(sim, "none" if kind in HOSTILE else kind, operations, rng, TIMEOUT)
    api.tamper = None
    if kind in HOSTILE:
        spoil = hostile_answer(kind, rng)
        api.tamper = lambda operation, status, body: spoil(body) if operation in operations else None
    return kind


def open_sockets() -> int:
    fds = os.listdir("/proc/self/fd")
    count = 0
    for fd in fds:
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            continue
    return count


def live_accounts() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, Account))


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(stations=DEVICES + 10, seed=11, username=USERNAME, password=PASSWORD, port=0,
                   request_log_size=10, clock=SimClock(start=FROZEN, scale=0)) as simulator:
        yield simulator


def timed(scrape: Callable[[], tuple[dict, dict]]) -> Callable[[], tuple[float, tuple[dict, dict]]]:
    def run() -> tuple[float, tuple[dict, dict]]:
        started = time.monotonic()
        result = scrape()
        return time.monotonic() - started, result
    return run


def test_fifty_devices_two_hundred_polls_under_random_faults(sim, make_device, capfd, caplog) -> None:
    caplog.set_level(logging.CRITICAL)  # records kept for pytest's report would count as growth
    rng = random.Random(20260614)
    clock = FakeClock()
    baseline_greenlets = len(live_greenlets())
    rows = sample_rows()
    stations = sim.model.station_ids()[:DEVICES]
    with HostileApi(sim) as api:
        def build(index: int, timeout: float) -> Any:
            device = make_device(stations[index], rows=rows, name=f"cp{index}", bundled=True, endpoint=api.endpoint,
                                 timeout=timeout, cacheExpiration=30)
            use_clock(device.interface.account, clock)
            return device

        timeout = TIMEOUT
        fleet = [build(i, timeout) for i in range(DEVICES)]
        points = set(fleet[0].point_names)
        kinds: dict[str, int] = {}
        slowest = 0.0
        alive: dict[int, tuple[int, int, int]] = {}
        for round_number in range(1, ROUNDS + 1):
            if round_number % 50 == 0:  # the platform reconfigures every device with a new timeout: a new account
                timeout = round(timeout + 0.01, 2)
                fleet = [build(i, timeout) for i in range(DEVICES)]
            elif round_number % 10 == 0:  # a few devices are reconfigured with the same settings
                for i in rng.sample(range(DEVICES), 5):
                    fleet[i] = build(i, timeout)
            calm = round_number + 1 in CHECKPOINTS or round_number in CHECKPOINTS
            kind = cause_random_fault(sim, api, rng, "none" if calm else None)
            kinds[kind] = kinds.get(kind, 0) + 1
            clock.advance(rng.uniform(0, 40))  # around cacheExpiration, in and out of back-off windows
            polls = [gevent.spawn(timed(device.scrape)) for device in fleet]
            gevent.joinall(polls, timeout=BOUND + 10)
            for poll in polls:
                elapsed, (values, errors) = poll.get(block=False)  # raises if the poll crashed or still runs
                slowest = max(slowest, elapsed)
                assert set(values) | set(errors) == points
                odd = [e for e in errors.values() if "interrupted" in e or "cannot read" in e or "unexpected" in e]
                assert not odd, (kind, odd[:3])
            assert slowest < BOUND, (round_number, kind, slowest)
            if round_number in CHECKPOINTS:
                alive[round_number] = (len(live_greenlets()), open_sockets(), live_accounts())
        assert kinds.keys() == KINDS.keys(), kinds
        sim.faults.clear()
        api.tamper = None

    sim.stop()
    first, last = alive[CHECKPOINTS[0]], alive[CHECKPOINTS[-1]]
    assert last[0] <= first[0] + 5, alive  # greenlets
    assert last[1] <= first[1] + 5, alive  # sockets
    assert all(accounts == 1 for _g, _s, accounts in alive.values()), alive
    del fleet
    gc.collect()
    assert len(live_greenlets()) <= baseline_greenlets
    captured = capfd.readouterr()
    assert captured.err == "", captured.err[-3000:]
