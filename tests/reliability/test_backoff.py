"""Back-off: bad credentials or a down API are not asked again on every poll; the log says so once; the first
call that succeeds ends it. Time is a fake clock the test moves, so windows are exact and the test is fast."""

from __future__ import annotations

import logging
import re
from typing import Iterator

import pytest

from cp_reliability import PASSWORD, FakeClock, Records, count_calls, start_simulator, use_clock
from volttron.driver.interfaces.chargepoint.models import STATION_SOURCES
from volttron.driver.interfaces.chargepoint.exceptions import ChargePointError

pytestmark = pytest.mark.timeout(60)

METHODS = [source.value for source in STATION_SOURCES]  # what a station device polls
POLL_INTERVAL = 5.0   # seconds of fake time between polls
OUTAGE = 30 * 60.0    # half an hour of polls: 360 of them


class Outage:
    """Ways for the API to be unusable, and back."""

    def __init__(self, sim, request) -> None:
        self.sim, self.port, self._request = sim, sim.port, request

    def bad_credentials(self) -> None:
        self.sim.app.password = "rotated-by-the-account-owner"

    def http_500(self) -> None:
        self.sim.faults.update({"http500_rate": 1.0})

    def refused(self) -> None:
        self.sim.stop()

    def end(self) -> None:
        if not self.sim.running:
            self.sim = start_simulator(self.port)
            self._request.addfinalizer(self.sim.stop)
        self.sim.faults.clear()
        self.sim.app.password = PASSWORD


@pytest.fixture
def records() -> Iterator[Records]:
    handler = Records()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.mark.parametrize("kind", ["bad_credentials", "http_500", "refused"])
def test_repeated_failures_back_off_log_once_and_recover_at_the_first_success(kind, sim, make_device, request,
                                                                              records) -> None:
    device = make_device(bundled=True)
    account = device.interface.account
    clock = FakeClock()
    use_clock(account, clock)
    baseline, errors = device.scrape()
    assert errors == {}
    attempts = count_calls(account.client)
    outage = Outage(sim, request)
    records.records.clear()

    getattr(outage, kind)()
    polls, backing_off = 0, 0
    while polls * POLL_INTERVAL < OUTAGE:
        values, errors = device.scrape()
        polls += 1
        assert values == {} and set(errors) == set(device.point_names)
        backing_off += all("not sent" in e for e in errors.values())
        clock.advance(POLL_INTERVAL)

    # Each method was tried at the first two failures, then after 5, 10, 20 ... 300 s: a dozen times, not 360.
    assert set(attempts) == set(METHODS)
    assert all(n <= 15 for n in attempts.values()), attempts
    assert backing_off >= polls - 15
    warnings = records.at_least(logging.WARNING)
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "backing off" in warnings[0].getMessage()
    assert "Traceback" not in records.text()

    # A write is a command, not a poll: it is still sent, and its failure says why.
    writes = attempts.get("shedLoad", 0)
    with pytest.raises(ChargePointError) as refused:
        device.set("allowedLoadPort1", 3.0)
    assert attempts["shedLoad"] == writes + 1 and "shedLoad" in str(refused.value)

    # The API is back, but the window of the last failure is still open: nothing is sent yet ...
    outage.end()
    before = dict(attempts)
    window = _next_try_in(device.scrape()[1])
    assert attempts == before and 0 < window <= 300
    # ... and the first poll after it reads everything, and so does the very next one: no back-off is left.
    clock.advance(window + 0.1)
    assert device.scrape() == (baseline, {})
    assert device.scrape() == (baseline, {})
    assert all(attempts[m] == before[m] + 2 for m in METHODS), (before, attempts)
    back = [r for r in records.records if "answers again" in r.getMessage()]
    assert len(back) == 1 and back[0].levelno == logging.INFO
    assert len(records.at_least(logging.WARNING)) == 1


def test_a_second_outage_is_reported_again(sim, make_device, request, records) -> None:
    device = make_device(bundled=True)
    clock = FakeClock()
    use_clock(device.interface.account, clock)
    outage = Outage(sim, request)
    for _ in range(2):
        outage.http_500()
        for _ in range(10):
            device.scrape()
            clock.advance(POLL_INTERVAL)
        outage.end()
        clock.advance(301)
        assert device.scrape()[1] == {}
    warnings = records.at_least(logging.WARNING, "volttron.driver.interfaces.chargepoint")
    assert len(warnings) == 2 and all("backing off" in r.getMessage() for r in warnings)


def test_a_failing_operation_backs_off_alone(sim, make_device) -> None:
    # getStationRights refused by SOAP fault (say, not in the account's plan): only its points wait; every other
    # method is still asked on every poll.
    device = make_device(bundled=True)
    clock = FakeClock()
    use_clock(device.interface.account, clock)
    sim.faults.update({"soap_fault_rate": 1.0, "operations": ["getStationRights"]})
    for _ in range(20):
        values, errors = device.scrape()
        assert {device.register(name).source.value for name in errors} == {"getStationRights"}
        clock.advance(1)
    assert sim.calls["getStationRights"] == 4  # at 0 and 1 s, then after 5 and 10 s windows
    assert all(sim.calls[m] == 20 for m in METHODS if m != "getStationRights")


def _next_try_in(errors: dict[str, str]) -> float:
    waits = {float(m.group(1)) for e in errors.values() if (m := re.search(r"next try in (\d+) s", e))}
    assert len(waits) == 1 and len(errors) > 0, set(errors.values())
    return waits.pop()
