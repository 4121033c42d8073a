"""Scheduled shed events over HTTP against the simulator: the cloud starts and ends them on its own clock, with no
driver running in between; they can be cancelled before or during; bad requests are refused before any call.

The simulator's clock is frozen and moved by the tests; the driver's "now" (for "a start in the past") follows it.
"""
from __future__ import annotations

from datetime import timedelta, timezone
from types import SimpleNamespace
from typing import Iterator

import pytest

from chargepoint_simulator import Simulator
from chargepoint_simulator.model import ShedLimit
from cp_groups import GARAGE, GARAGE_STATIONS, PROPAGATION, device_on, frozen_simulator, member_sheds, settle
from volttron.driver.interfaces.chargepoint.account import forget_accounts
from volttron.driver.interfaces.chargepoint.exceptions import ApiError, WriteRejected

MINUTE = 60.0


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with frozen_simulator() as simulator:
        yield simulator


def soon(sim: Simulator, minutes: float = 2) -> str:
    """An ISO-8601 start ``minutes`` from the simulator's now, in California time (UTC-7)."""
    return (sim.clock.now() + timedelta(minutes=minutes)).astimezone(timezone(timedelta(hours=-7))).isoformat()


def garage_sheds(sim: Simulator) -> dict[str, dict[int, tuple]]:
    return {sid: member_sheds(sim, sid) for sid in GARAGE_STATIONS}


UNSHED = {"1:10001": {}, "1:10004": {}}


# -- the cloud runs the event by itself ----------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "applied"), [({"kw_per_port": 2.0}, (2.0, None)),
                                                ({"percent": 40}, (None, 40))], ids=["kW", "percent"])
def test_a_group_event_starts_and_ends_on_the_clouds_clock_with_no_driver_running(sim, value, applied):
    event = device_on(sim, sg_id=GARAGE).interface.schedule_shed(soon(sim), 5, **value)
    forget_accounts()  # the platform goes away: nothing of the driver runs until the event is over
    ((created,),) = [[fields["shedEvent"]] for op, fields in sim.requests if op == "createLoadShedEvent"]
    assert created["sgID"] == str(GARAGE) and created["eventDuration"] == "5"
    assert created["eventStartTime"].endswith("Z")  # sent in UTC: 4 pm at -07:00 is 23:00Z
    sim.clock.advance(2 * MINUTE - 1)
    assert garage_sheds(sim) == UNSHED  # not yet
    sim.clock.advance(1 + PROPAGATION + 1)
    shed = {"1:10001": {1: applied, 2: applied}, "1:10004": {1: applied}}
    assert garage_sheds(sim) == shed
    values = device_on(sim, sg_id=GARAGE).scrape()[0]  # a driver started during the event sees it
    assert values["shedState"] == 1
    assert [e["status"] for e in sim.model.event_snapshots() if e["eventId"] == event] == ["running"]
    sim.clock.advance(5 * MINUTE)
    assert garage_sheds(sim) == UNSHED
    assert [e["status"] for e in sim.model.event_snapshots()] == ["ended"]


def test_a_station_event_sheds_that_station_only(sim):
    event = device_on(sim, station_id="1:10002", name="cp2").interface.schedule_shed(soon(sim), 3, kw_per_port=1.5)
    assert isinstance(event, int)
    ((created,),) = [[fields["shedEvent"]] for op, fields in sim.requests if op == "createLoadShedEvent"]
    assert created["stationID"] == "1:10002" and "sgID" not in created
    sim.clock.advance(2 * MINUTE + PROPAGATION + 1)
    assert member_sheds(sim, "1:10002") == {1: (1.5, None), 2: (1.5, None)}
    assert garage_sheds(sim) == UNSHED


def test_cancelled_before_its_start_the_event_never_sheds(sim):
    device = device_on(sim, sg_id=GARAGE)
    event = device.interface.schedule_shed(soon(sim), 5, percent=40)
    answer = device.interface.cancel_shed(event)
    assert answer == f"Load shed event {event} was cancelled before its start."
    sim.clock.advance(3 * MINUTE)
    assert garage_sheds(sim) == UNSHED


def test_cancelled_while_it_runs_the_event_ends_early(sim):
    device = device_on(sim, sg_id=GARAGE)
    event = device.interface.schedule_shed(soon(sim), 30, kw_per_port=2.0)
    sim.clock.advance(2 * MINUTE + PROPAGATION + 1)
    assert garage_sheds(sim)["1:10004"] == {1: (2.0, None)}
    answer = device.interface.cancel_shed(str(event))
    assert "ended" in answer
    settle(sim)
    assert garage_sheds(sim) == UNSHED
    with pytest.raises(ApiError, match="response code 191: Load shed event .* was already removed"):
        device.interface.cancel_shed(event)


# -- refused, before any call when it can be known --------------------------------------------------------------

def naive(sim: Simulator) -> str:
    return (sim.clock.now() + timedelta(minutes=5)).replace(tzinfo=None).isoformat()


def past(sim: Simulator) -> str:
    return (sim.clock.now() - timedelta(seconds=1)).isoformat()


@pytest.mark.parametrize(("start", "minutes", "value", "says"), [
    (naive, 5, {"percent": 40}, "has no UTC offset, and a time is never guessed"),
    (past, 5, {"percent": 40}, "is in the past"),
    (lambda sim: "tomorrow 4pm", 5, {"percent": 40}, "not an ISO-8601 time"),
    (soon, 0, {"percent": 40}, "positive whole number of minutes"),
    (soon, 2.5, {"percent": 40}, "positive whole number of minutes"),
    (soon, 5, {}, "exactly one of kw_per_port"),
    (soon, 5, {"percent": 40, "kw_per_port": 2}, "not both"),
    (soon, 5, {"kw_per_port": 2.0001}, "three decimals"),
    (soon, 5, {"percent": 101}, "1 to 100"),
], ids=["naive", "past", "not a time", "0 minutes", "fractional minutes", "no value", "both values",
        "kW precision", "percent range"])
def test_a_bad_schedule_is_refused_with_no_call(sim, start, minutes, value, says):
    device = device_on(sim, sg_id=GARAGE)
    with pytest.raises(WriteRejected, match=says):
        device.interface.schedule_shed(start(sim), minutes, **value)
    assert sim.calls["createLoadShedEvent"] == 0 and sim.model.events() == []


@pytest.mark.parametrize("event_id", [0, -3, 1.5, "abc", "", None, True])
def test_a_malformed_event_id_is_refused_with_no_call(sim, event_id):
    with pytest.raises(WriteRejected, match="event_id"):
        device_on(sim, sg_id=GARAGE).interface.cancel_shed(event_id)
    assert sim.calls["removeLoadShedEvent"] == 0


def test_an_unknown_event_id_is_refused_by_the_api_with_a_clear_error(sim):
    with pytest.raises(ApiError) as refused:
        device_on(sim, sg_id=GARAGE).interface.cancel_shed(4242)
    assert refused.value.code == 191
    assert str(refused.value) == ("removeLoadShedEvent refused with ChargePoint response code 191: No load shed event "
                                  "found with eventId 4242.")
    assert sim.calls["removeLoadShedEvent"] == 1


def test_an_event_the_api_refuses_raises_its_code(sim):
    sim.model.shed("1:10004", port_limits={"1": ShedLimit(allowed_kw=3.0)})  # a kW shed when a percent event comes
    with pytest.raises(ApiError, match="response code 190"):
        device_on(sim, sg_id=GARAGE).interface.schedule_shed(soon(sim), 5, percent=40)


# -- through the platform driver's call --------------------------------------------------------------------------

def test_schedule_and_cancel_through_the_platforms_call(sim):
    from volttron.driver.base.driver import DriverAgent

    device = device_on(sim, sg_id=GARAGE)
    agent = SimpleNamespace(interface=device.interface)
    topics = [device.topic("shedState")]
    results, errors = DriverAgent.call(agent, "schedule_shed", topics, start=soon(sim), minutes=180, percent=30)
    assert errors == {} and list(results) == topics
    (event,) = sim.model.events()
    assert results[topics[0]] == event.eventId and event.minutes == 180 and event.limit.percent == 30
    results, errors = DriverAgent.call(agent, "cancel_shed", topics, event.eventId)
    assert errors == {} and "cancelled before its start" in results[topics[0]]
    results, errors = DriverAgent.call(agent, "schedule_shed", topics, start=naive(sim), minutes=180, percent=30)
    assert results == {} and "no UTC offset" in errors[topics[0]]
    assert sim.calls["createLoadShedEvent"] == 1
