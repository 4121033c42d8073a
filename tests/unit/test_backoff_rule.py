"""The back-off rule on its own, with a fake clock: the second failure in a row starts it, the wait doubles from 5 s
to 300 s, each key waits alone, only transport and SOAP failures count, and the first success ends it."""
from __future__ import annotations

import pytest

from volttron.driver.interfaces.chargepoint.backoff import Backoff
from volttron.driver.interfaces.chargepoint.exceptions import ApiError, BackingOff, SoapFault, TransportError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def failing(exc: Exception):
    def call():
        raise exc
    return call


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def backoff(clock) -> Backoff:
    return Backoff(["a", "b"], "acct…", base=5.0, maximum=300.0, clock=clock)


def test_waits_double_from_the_second_failure_up_to_the_maximum(backoff, clock):
    sent = []
    while clock.now < 1800:  # half an hour of calls, one a second, to an API that is down
        try:
            backoff.run("a", "getLoad", failing(TransportError("down")))
        except BackingOff:
            pass
        except TransportError:
            sent.append(clock.now)
        clock.now += 1
    # Sent at the first two failures, then after waits of 5, 10, 20, 40, 80, 160 and 300 s (the maximum).
    assert sent == [0, 1, 6, 16, 36, 76, 156, 316, 616, 916, 1216, 1516]


def test_a_key_backs_off_alone_and_recovers_at_the_first_success(backoff, clock):
    for _ in range(2):
        with pytest.raises(SoapFault):
            backoff.run("a", "getLoad", failing(SoapFault("Server", "boom")))
    with pytest.raises(BackingOff, match="getLoad not sent: the last 2 calls failed"):
        backoff.run("a", "getLoad", lambda: "sent")
    assert backoff.run("b", "getAlarms", lambda: "sent") == "sent"
    clock.now += 5.0
    assert backoff.run("a", "getLoad", lambda: "sent") == "sent"
    with pytest.raises(TransportError):
        backoff.run("a", "getLoad", failing(TransportError("down")))
    assert backoff.run("a", "getLoad", lambda: "sent") == "sent"  # one failure after a success: no wait yet


def test_refusals_in_band_do_not_count(backoff):
    for _ in range(5):
        with pytest.raises(ApiError):
            backoff.run("a", "getLoad", failing(ApiError(101, "not allowed")))
    assert backoff.run("a", "getLoad", lambda: "sent") == "sent"


def test_thousands_of_failures_in_a_row_still_wait_the_maximum(backoff, clock):
    # A large fleet's calls in flight together all fail at once: the count runs past what 2 ** n fits in a float.
    for _ in range(1100):
        clock.now += 10_000.0  # past any wait: every call is sent, and fails
        with pytest.raises(TransportError):
            backoff.run("a", "getLoad", failing(TransportError("down")))
    with pytest.raises(BackingOff, match="the last 1100 calls failed"):
        backoff.run("a", "getLoad", lambda: "sent")
    clock.now += 300.0
    assert backoff.run("a", "getLoad", lambda: "sent") == "sent"
