"""The fault matrix: whatever the API does, a poll comes back in time with per-point errors, a write raises a clear
error, and the first poll after the API recovers reads everything again.

Each fault hits a few operations only (getLoad, the paged getChargingSessionData and the write's operation) so that
the points reading other operations show they are unaffected; faults that cannot be selective (bad credentials, a
refused connection) hit everything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import gevent
import pytest

from chargepoint_simulator import Simulator
from cp_reliability import (PASSWORD, USERNAME, CraftedServer, finished_within, live_greenlets, points_reading,
                            source_of, stage_sessions, start_simulator, wait_for)
from volttron.driver.interfaces.chargepoint.account import POLL_MARGIN, forget_accounts
from volttron.driver.interfaces.chargepoint.client import ChargePointClient
from volttron.driver.interfaces.chargepoint.exceptions import (ApiError, ApiTimeout, AuthError, ChargePointError,
                                                               MalformedResponse, SoapFault, TransportError)

pytestmark = pytest.mark.timeout(60)

TIMEOUT = 1.0
BOUND = TIMEOUT + POLL_MARGIN + 0.5  # the promise (timeout + POLL_MARGIN) plus scheduling slack
ALL = "all"
SELECTED = ("getLoad", "getChargingSessionData")


class Api:
    """The simulator behind a device, with the means to break it and to bring it back."""

    def __init__(self, sim: Simulator, request: pytest.FixtureRequest) -> None:
        self.sim = sim
        self.port = sim.port
        self._request = request
        self._prepare()

    def _prepare(self) -> None:
        station = self.sim.model.station_ids()[0]
        self.sim.model.add_alarm(station, "GFCI Trip", port_number=1)  # so alarm points have something to lose

    def refuse_connections(self) -> None:
        self.sim.stop()

    def restart(self) -> None:
        """A new simulator on the same port, same seed and frozen clock: the same true state."""
        if self.sim.running:
            return
        self.sim = start_simulator(self.port)
        self._request.addfinalizer(self.sim.stop)
        self._prepare()

    def recover(self) -> None:
        self.restart()
        self.sim.faults.clear()
        self.sim.app.password = PASSWORD


@dataclass
class Case:
    """One way the API fails: how to cause it, what reads and a write should show."""

    id: str
    cause: Callable[[Api], None]
    reads: dict[str, str] | str  # operation -> "error" | "none" (no error, reads None); or ALL (every point errors)
    write: tuple[str, Any]       # point and value; its operation is faulty too
    error: type[ChargePointError]
    says: tuple[str, ...] = ()
    code: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def faults(**settings: Any) -> Callable[[Api], None]:
    def cause(api: Api) -> None:
        api.sim.faults.update({**settings, "operations": [*SELECTED, "shedLoad"]})
    return cause


def codes(**per_operation: int) -> Callable[[Api], None]:
    def cause(api: Api) -> None:
        for operation, code in per_operation.items():
            api.sim.faults.force_code(operation, code)
    return cause


def wrong_password(api: Api) -> None:
    api.sim.app.password = "the-account-password-was-changed"


SELECTED_ERRORS = {op: "error" for op in SELECTED}

CASES = [
    Case("connection refused", Api.refuse_connections, ALL, ("allowedLoadPort1", 3.0), TransportError,
         ("shedLoad", "refused")),
    Case("black hole", faults(blackhole=True), SELECTED_ERRORS, ("allowedLoadPort1", 3.0), ApiTimeout,
         ("shedLoad", "no answer")),
    Case("latency beyond the timeout", faults(latency_ms=TIMEOUT * 1000 + 1500), SELECTED_ERRORS,
         ("allowedLoadPort1", 3.0), ApiTimeout, ("shedLoad", "no answer")),
    Case("HTTP 500", faults(http500_rate=1.0), SELECTED_ERRORS, ("allowedLoadPort1", 3.0), TransportError,
         ("shedLoad", "500")),
    Case("SOAP fault", faults(soap_fault_rate=1.0), SELECTED_ERRORS, ("allowedLoadPort1", 3.0), SoapFault,
         ("shedLoad", "Simulated service failure")),
    Case("bad credentials", wrong_password, ALL, ("allowedLoadPort1", 3.0), AuthError,
         ("shedLoad", "UsernameToken")),
    Case("malformed XML", faults(malformed=True), SELECTED_ERRORS, ("allowedLoadPort1", 3.0), MalformedResponse,
         ("shedLoad", "XML")),
    Case("truncated response", faults(truncate=True), SELECTED_ERRORS, ("allowedLoadPort1", 3.0),
         MalformedResponse, ("shedLoad",)),
    Case("code 101 (not allowed)", codes(getLoad=101, getAlarms=101, shedLoad=101),
         {"getLoad": "error", "getAlarms": "error"}, ("allowedLoadPort1", 3.0), ApiError, ("shedLoad", "101"),
         code=101),
    Case("code 102 (no data)", codes(getStations=102, getStationStatus=102, getChargingSessionData=102,
                                     clearShedState=102),
         {"getStations": "error", "getStationStatus": "error", "getChargingSessionData": "none"},
         ("shedState", 0), ApiError, ("clearShedState", "102"), code=102),
    Case("code 136 (no sessions)", codes(getChargingSessionData=136, getLoad=136, clearAlarms=136),
         {"getChargingSessionData": "none", "getLoad": "error"}, ("clearAlarms", 1), ApiError,
         ("clearAlarms", "136"), code=136),
    Case("other codes (153 no alarms, 999)", codes(getAlarms=153, getStationRights=999, shedLoad=999),
         {"getAlarms": "none", "getStationRights": "error"}, ("percentShed", 40), ApiError, ("shedLoad", "999"),
         code=999),
    Case("empty result lists", faults(empty=True),
         {"getLoad": "error", "getChargingSessionData": "none"}, ("allowedLoadPort1", 3.0), ChargePointError,
         extra={"write_succeeds": True}),
]


@pytest.fixture
def api(sim: Simulator, request: pytest.FixtureRequest) -> Api:
    return Api(sim, request)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_poll_and_write_under_fault_then_recovery(case: Case, api: Api, make_device) -> None:
    baseline, errors = make_device(bundled=True).scrape()
    assert errors == {}
    forget_accounts()  # the device under test starts cold, as after a restart during an outage
    device = make_device(bundled=True)
    operations = {source_of(device, name) for name in device.point_names}
    expected = {op: "error" for op in operations} if case.reads == ALL else case.reads

    case.cause(api)
    (values, errors), elapsed = finished_within(BOUND + 5, device.scrape)
    assert elapsed < BOUND, f"poll took {elapsed:.2f} s"

    failing = points_reading(device, [op for op, how in expected.items() if how == "error"])
    empty = points_reading(device, [op for op, how in expected.items() if how == "none"])
    assert failing and set(errors) == failing, sorted(set(errors) ^ failing)
    assert all(values.get(name) is None for name in empty), {n: values.get(n) for n in empty}
    unaffected = set(device.point_names) - failing - empty
    assert {n: values[n] for n in unaffected} == {n: baseline[n] for n in unaffected}
    for name in failing:
        assert errors[name] and "Traceback" not in errors[name]
        if case.code is not None:
            assert str(case.code) in errors[name] or "refused" in errors[name], errors[name]

    point, value = case.write
    started = time.monotonic()
    if case.extra.get("write_succeeds"):
        finished_within(BOUND + 5, lambda: device.set(point, value))  # an empty answer is still a code-100 answer
    else:
        with pytest.raises(case.error) as refused:
            finished_within(BOUND + 5, lambda: device.set(point, value))
        message = str(refused.value)
        assert all(word in message for word in case.says), message
        if case.code is not None:
            assert refused.value.code == case.code
    assert time.monotonic() - started < BOUND

    api.recover()
    values, errors = device.scrape()
    assert errors == {}
    if not case.extra.get("write_succeeds"):
        assert values == baseline


def test_poll_within_bound_when_each_page_is_slow(sim, make_device) -> None:
    # The station's session history comes in several pages. Each page answers within the timeout, but together
    # they take far longer than a poll may: the poll gives up on that source, not on the others.
    station = sim.model.station_ids()[0]
    stage_sessions(sim, station, 1000)
    baseline, errors = make_device(station, timeout=0.5).scrape()
    assert errors == {}
    assert sim.calls["getChargingSessionData"] >= 10  # ten pages and more
    forget_accounts()
    device = make_device(station, timeout=0.5)  # cold: its first read asks for the whole history
    sim.faults.update({"latency_ms": 300, "operations": ["getChargingSessionData"]})
    (values, errors), elapsed = finished_within(10, device.scrape)
    assert elapsed < 0.5 + POLL_MARGIN + 0.5, f"poll took {elapsed:.2f} s"
    sessions = points_reading(device, ["getChargingSessionData"])
    assert set(errors) == sessions
    assert all("getChargingSessionData" in errors[name] for name in sessions)
    assert values == {k: v for k, v in baseline.items() if k not in sessions}
    sim.faults.clear()
    assert device.scrape() == (baseline, {})


def test_a_poll_waiting_on_an_abandoned_shared_call_reports_a_timeout(sim, make_device) -> None:
    # Two polls of one device overlap; the first owns the (too slow, paged) sessions call and gives up on it.
    # The second was waiting for that same call: its points must say the call did not answer, not read as None.
    station = sim.model.station_ids()[0]
    stage_sessions(sim, station, 1000)
    device = make_device(station, timeout=0.5)
    sim.faults.update({"latency_ms": 300, "operations": ["getChargingSessionData"]})
    polls = [gevent.spawn(device.scrape)]
    wait_for(lambda: sim.calls["getChargingSessionData"] >= 2, what="the first poll's second sessions page")
    polls.append(gevent.spawn(device.scrape))
    gevent.joinall(polls, timeout=10)
    assert all(poll.ready() for poll in polls)
    sessions = points_reading(device, ["getChargingSessionData"])
    for poll in polls:
        values, errors = poll.value
        assert set(errors) == sessions, (polls.index(poll), sorted(set(errors.values())))
        assert all("no answer" in errors[n] for n in sessions), errors
    sim.faults.clear()
    assert device.scrape()[1] == {}


def test_api_down_at_start_up_then_up(sim, make_device, request) -> None:
    # The WSDL cannot even be fetched at the first poll: errors in time, and the next poll after the API is back
    # fetches it and reads everything (a failed fetch is not remembered).
    port = sim.port
    baseline = make_device().scrape()
    forget_accounts()
    device = make_device(wsdl=f"http://127.0.0.1:{port}/cp_api_5.0.wsdl?fresh")  # a WSDL URL not yet parsed
    sim.stop()
    (values, errors), elapsed = finished_within(BOUND + 5, device.scrape)
    assert elapsed < BOUND
    assert values == {} and set(errors) == set(device.point_names)
    assert all("WSDL" in e for e in errors.values()), set(errors.values())
    again = start_simulator(port)
    request.addfinalizer(again.stop)
    assert device.scrape() == (baseline[0], {})


def test_no_greenlet_left_behind_by_faulty_polls(api: Api, make_device) -> None:
    before = len(live_greenlets())
    device = make_device()
    device.scrape()
    for case in CASES:
        if case.id == "connection refused":
            continue
        case.cause(api)
        device.scrape()
        api.recover()
    api.sim.stop()  # ends the simulator's own handlers (those a black hole held)
    account = device.interface.account
    assert account.cache.in_flight == 0
    assert len(live_greenlets()) <= before


def trickle(environ: dict[str, Any], body: bytes) -> tuple[str, list[tuple[str, str]], Iterator[bytes]]:
    """An answer that never completes but never goes quiet long enough for a socket timeout."""
    def chunks() -> Iterator[bytes]:
        yield b'<?xml version="1.0" encoding="UTF-8"?>'
        while True:
            gevent.sleep(0.1)
            yield b" "
    return "200 OK", [("Content-Type", "text/xml; charset=utf-8")], chunks()


@pytest.mark.parametrize("what", ["WSDL download", "API call"])
def test_an_answer_trickled_byte_by_byte_is_given_up_on_in_time(what: str) -> None:
    timeout = 0.5
    with CraftedServer(trickle) as server:
        def attempt() -> None:
            if what == "WSDL download":
                ChargePointClient(USERNAME, PASSWORD, wsdl=f"{server.url}/trickle.wsdl", timeout=timeout)
            else:
                ChargePointClient(USERNAME, PASSWORD, wsdl=None, endpoint=f"{server.url}/ws",
                                  timeout=timeout).get_load("1:10001")
        started = time.monotonic()
        with pytest.raises(TransportError, match="no (complete )?answer within"):
            finished_within(10, attempt)
        assert time.monotonic() - started < timeout + 1.5
