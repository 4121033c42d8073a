"""Concurrency: many simultaneous reads of one station cost one API call per method, and a slow API account or
station never holds up the polls of others."""

from __future__ import annotations

import time
from typing import Any

import gevent
import pytest

from cp_reliability import METHODS, CraftedServer, finished_within, start_simulator, wait_for, xml_reply

pytestmark = pytest.mark.timeout(60)


def test_200_concurrent_polls_of_one_station_make_one_call_per_method(sim, make_device) -> None:
    device = make_device(cacheExpiration=0)
    polls = [gevent.spawn(device.scrape) for _ in range(200)]
    gevent.joinall(polls, timeout=30, raise_error=True)
    assert all(poll.ready() for poll in polls)
    first = polls[0].value
    assert first[1] == {}
    assert all(poll.value == first for poll in polls)
    assert {op: n for op, n in sim.calls.items() if n} == {op: 1 for op in METHODS}


def test_200_concurrent_single_point_reads_make_one_call_per_method(sim, make_device) -> None:
    device = make_device(cacheExpiration=0)
    names = device.point_names
    readers = [gevent.spawn(device.interface.get_point, device.topic(names[i % len(names)])) for i in range(200)]
    gevent.joinall(readers, timeout=30, raise_error=True)
    assert all(reader.ready() for reader in readers)
    assert {op: n for op, n in sim.calls.items() if n} == {op: 1 for op in METHODS}


def test_a_slow_api_account_does_not_delay_polls_of_another(sim, make_device, request) -> None:
    slow = start_simulator(stations=2, seed=5)
    request.addfinalizer(slow.stop)
    slow.faults.update({"latency_ms": 1500})
    lagging = make_device(slow.model.station_ids()[0], name="lagging", wsdl=slow.wsdl_url, timeout=3)
    brisk = make_device(sim.model.station_ids()[0], name="brisk", timeout=3)
    assert lagging.interface.account is not brisk.interface.account
    brisk.scrape()
    behind = gevent.spawn(lagging.scrape)
    wait_for(lambda: sum(slow.calls.values()) > 0, what="the slow account's first call")
    started = time.monotonic()
    for _ in range(10):
        (values, errors), elapsed = finished_within(5, brisk.scrape)
        assert errors == {} and elapsed < 0.5, f"{elapsed:.2f} s"
    assert time.monotonic() - started < 1.5
    assert not behind.ready()  # the slow poll really was under way all along
    behind.join(timeout=10)
    assert behind.value[1] == {}


def test_an_unanswered_wsdl_download_does_not_delay_other_accounts(sim, make_device) -> None:
    # One device's WSDL URL hangs (a firewall dropping packets); every other device, whatever its account, must
    # still be able to start: parsing one WSDL must not hold a process-wide lock for the whole download.
    def stall(environ: dict[str, Any], body: bytes) -> Any:
        stalled.hold()
        return xml_reply(b"<gone/>", "404 Not Found")

    with CraftedServer(stall) as stalled:
        hanging = make_device(name="hanging", wsdl=f"{stalled.url}/cp_api_5.0.wsdl", timeout=3)
        fine = make_device(sim.model.station_ids()[1], name="fine", bundled=True, timeout=1)
        assert fine.interface.account is not hanging.interface.account
        behind = gevent.spawn(hanging.scrape)
        wait_for(lambda: stalled.requests, what="the WSDL download to start")
        (values, errors), elapsed = finished_within(10, fine.scrape)
        assert errors == {}
        assert elapsed < 1.0, f"{elapsed:.2f} s"
        assert not behind.ready()
        stalled.released.set()
        behind.join(timeout=10)
    assert behind.ready() and behind.value[0] == {}
