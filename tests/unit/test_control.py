"""The load-shed control rules on their own: which API writes carry out a request, from the sheds in force.

The API takes one kind of shed at a time per station and clears only whole stations. These tables pin that a
write sends exactly what was asked, that a port's clear keeps every other port's shed, and that a revert takes at
most one clear and one re-application and never writes a shed at a level that was not in force.
"""
from __future__ import annotations

import pytest

from volttron.driver.interfaces.chargepoint.control import (CLEAR, Step, Targets, check_against_station,
                                                            configured_targets, minutes_left, plan_revert,
                                                            plan_write, revert_defaults)
from volttron.driver.interfaces.chargepoint.exceptions import ConfigError, WriteRejected
from volttron.driver.interfaces.chargepoint.models import (PortInfo, PortLoad, Shed, ShedKind, StationInfo,
                                                           StationLoad, WriteAction, WriteOperation, sheds_in)
from volttron.driver.interfaces.chargepoint.writes import WriteOptions

SHED, CLEAR_SHED = WriteOperation.SHED, WriteOperation.CLEAR_SHED
PORTS = (1, 2)


def kw(value: float) -> Shed:
    return Shed(ShedKind.KW, value)


def pct(value: float) -> Shed:
    return Shed(ShedKind.PERCENT, value)


def ports(**by_port: Shed) -> Step:
    return Step(SHED, ports={int(p[1:]): shed for p, shed in by_port.items()})


def station(shed: Shed) -> Step:
    return Step(SHED, station=shed)


# name, action, sheds in force (None: unknown), steps sent, sheds in force afterwards
WRITES = [
    ("port kW shed", WriteAction(SHED, 1, allowed_kw=3.3), {}, (ports(p1=kw(3.3)),), {1: kw(3.3)}),
    ("port shed keeps the other port", WriteAction(SHED, 1, allowed_kw=3.3), {2: kw(2.0)},
     (ports(p1=kw(3.3)),), {1: kw(3.3), 2: kw(2.0)}),
    ("station percent shed", WriteAction(SHED, None, percent=40), {}, (station(pct(40)),),
     {1: pct(40), 2: pct(40)}),
    ("shed with unknown state", WriteAction(SHED, 2, allowed_kw=1.0), None, (ports(p2=kw(1.0)),), {2: kw(1.0)}),
    ("station clear", WriteAction(CLEAR_SHED, None), {1: kw(3.3)}, (CLEAR,), {}),
    ("station clear with unknown state", WriteAction(CLEAR_SHED, None), None, (CLEAR,), {}),
    ("port clear re-applies the other port", WriteAction(CLEAR_SHED, 1), {1: kw(3.3), 2: kw(2.0)},
     (CLEAR, ports(p2=kw(2.0))), {2: kw(2.0)}),
    ("port clear of the only shed", WriteAction(CLEAR_SHED, 2), {2: pct(30)}, (CLEAR,), {}),
    ("port clear with nothing there sends nothing", WriteAction(CLEAR_SHED, 1), {2: kw(2.0)}, (), {2: kw(2.0)}),
]


@pytest.mark.parametrize(("name", "action", "current", "steps", "after"), WRITES, ids=[w[0] for w in WRITES])
def test_plan_write(name, action, current, steps, after):
    plan = plan_write("point", action, current, PORTS)
    assert plan.steps == steps
    assert plan.expected == after


@pytest.mark.parametrize(("action", "current"), [
    (WriteAction(SHED, 1, percent=50), {1: kw(3.3)}),
    (WriteAction(SHED, 2, percent=50), {1: kw(3.3)}),  # the other port's kW shed blocks a percent shed too
    (WriteAction(SHED, None, allowed_kw=5), {2: pct(20)}),
])
def test_a_shed_of_the_other_kind_is_refused_naming_what_is_in_force(action, current):
    with pytest.raises(WriteRejected, match="shedState 0") as refused:
        plan_write("point", action, current, PORTS)
    assert "in force" in str(refused.value)


def test_a_port_clear_with_unknown_state_is_refused_rather_than_clearing_other_ports():
    with pytest.raises(WriteRejected, match="station-level shedState 0"):
        plan_write("shedStatePort1", WriteAction(CLEAR_SHED, 1), None, PORTS)


# name, targets, sheds in force, steps sent, sheds in force afterwards
REVERTS = [
    ("already there", Targets({1: None, 2: None}), {}, (), {}),
    ("clear the driver's shed", Targets({1: None, 2: None}), {1: kw(3.3)}, (CLEAR,), {}),
    ("re-apply what was before, on its port", Targets({1: None, 2: kw(2.0)}), {1: kw(3.3), 2: kw(2.0)},
     (CLEAR, ports(p2=kw(2.0))), {2: kw(2.0)}),
    ("restore a changed value without a clear", Targets({1: kw(2.0), 2: None}), {1: kw(3.3)},
     (ports(p1=kw(2.0)),), {1: kw(2.0)}),
    ("back to a percent shed from a kW one", Targets({1: pct(30), 2: pct(30)}), {1: kw(3.3)},
     (CLEAR, ports(p1=pct(30), p2=pct(30))), {1: pct(30), 2: pct(30)}),
    ("a configured station-wide shed is written as one", Targets({1: kw(5), 2: kw(5)}, station=kw(5)), {},
     (station(kw(5)),), {1: kw(5), 2: kw(5)}),
    ("unknown state clears, then re-applies", Targets({1: None, 2: kw(1.0)}), None,
     (CLEAR, ports(p2=kw(1.0))), {2: kw(1.0)}),
]


@pytest.mark.parametrize(("name", "targets", "current", "steps", "after"), REVERTS, ids=[r[0] for r in REVERTS])
def test_plan_revert(name, targets, current, steps, after):
    plan = plan_revert(targets, current, PORTS)
    assert plan.steps == steps
    assert plan.expected == after
    assert sum(step == CLEAR for step in plan.steps) <= 1 and len(plan.steps) <= 2
    # A revert never writes a station-wide shed unless one was configured.
    assert all(step.station is None for step in plan.steps) or targets.station is not None


def test_a_revert_that_cannot_be_in_force_is_refused():
    with pytest.raises(WriteRejected, match="one kind"):
        plan_revert(Targets({1: kw(3), 2: pct(20)}), {}, PORTS)


# name, Starting Values by port (None = station), the shed in force before the first write, targets
TARGETS = [
    ("nothing configured or recorded: no shed", {}, {}, Targets({1: None, 2: None})),
    ("nothing configured: what was before", {}, {2: kw(2.0)}, Targets({1: None, 2: kw(2.0)})),
    ("station shedState 0 overrides what was before", {None: None}, {2: kw(2.0)}, Targets({1: None, 2: None})),
    ("a port's own value beats the station's", {None: None, 1: kw(3.0)}, {}, Targets({1: kw(3.0), 2: None})),
    ("a station-wide cap", {None: kw(5.0)}, {}, Targets({1: kw(5.0), 2: kw(5.0)}, station=kw(5.0))),
    ("a port value and the record", {1: None}, {2: pct(20)}, Targets({1: None, 2: pct(20)})),
]


@pytest.mark.parametrize(("name", "defaults", "baseline", "targets"), TARGETS, ids=[t[0] for t in TARGETS])
def test_configured_targets(name, defaults, baseline, targets):
    assert configured_targets(defaults, baseline, PORTS) == targets


@pytest.mark.parametrize(("starting", "says"), [
    ([("shedStatePort1", 1, WriteAction(CLEAR_SHED, 1)), ("allowedLoadPort1", 1, WriteAction(SHED, 1, 3.0))],
     "both give port 1"),
    ([("allowedLoadPort1", 1, WriteAction(SHED, 1, 3.0)), ("percentShedPort2", 2, WriteAction(SHED, 2, None, 40))],
     "mix kW and percent"),
])
def test_contradicting_starting_values_are_refused(starting, says):
    with pytest.raises(ConfigError, match=says):
        revert_defaults(starting)


def test_the_sample_registry_starting_values_mean_no_shed_anywhere():
    assert revert_defaults([("shedState", None, WriteAction(CLEAR_SHED)),
                            ("shedStatePort1", 1, WriteAction(CLEAR_SHED, 1)),
                            ("shedStatePort2", 2, WriteAction(CLEAR_SHED, 2))]) == {None: None, 1: None, 2: None}


@pytest.mark.parametrize(("port", "expected"), [
    (PortLoad(1, 3.0, 3.3, 0.0, 1), kw(3.3)),
    (PortLoad(1, 3.0, 0.0, 40.0, 1), pct(40)),
    (PortLoad(1, 0.0, 0.0, 0.0, 1), kw(0.0)),       # shed with both at 0: a cap at 0 kW
    (PortLoad(1, 3.0, 7.0, 30.0, 0), None),         # values of an earlier shed on an unshed port
])
def test_sheds_in_a_load_answer(port, expected):
    found = sheds_in(StationLoad("1:1", 3.0, {1: port}))
    assert found.get(1) == expected


INVENTORY = StationInfo("1:1", ports={1: PortInfo(1, power=6.6), 2: PortInfo(2, power=6.6)})


@pytest.mark.parametrize(("action", "says"), [
    (WriteAction(SHED, 3, allowed_kw=2.0), "not port 3"),
    (WriteAction(SHED, 1, allowed_kw=7.0), "rated 6.6 kW"),
    (WriteAction(SHED, None, allowed_kw=13.5), "rated 13.2 kW in all"),
])
def test_writes_the_station_cannot_take_are_refused(action, says):
    with pytest.raises(WriteRejected, match=says):
        check_against_station("point", action, PORTS, INVENTORY)


@pytest.mark.parametrize("action", [WriteAction(SHED, 1, allowed_kw=6.6), WriteAction(SHED, None, allowed_kw=13.2),
                                    WriteAction(SHED, 2, percent=100)])
def test_writes_within_the_rating_pass(action):
    check_against_station("point", action, PORTS, INVENTORY)
    check_against_station("point", action, (), None)  # nothing known: the API decides


@pytest.mark.parametrize("now", [0.0, 32676.001, 65236.5, 1_796_193_081.15])
@pytest.mark.parametrize("duration", [1, 5, 60])
def test_a_configured_shed_duration_is_sent_as_that_many_minutes_whatever_the_clock_reads(now, duration):
    # 32676.001 + 300 - 32676.001 is 300.00000000000364 in floating point: rounded up, a 5-minute shed became 6.
    assert WriteOptions(shed_duration=duration).minutes(now, now + duration * 60) == duration


@pytest.mark.parametrize("seconds, minutes", [(0.5, 1), (59.9, 1), (60.0, 1), (60.001, 2), (299.0, 5),
                                              (300.0, 5), (300.5, 6)])
def test_time_left_is_rounded_up_to_whole_minutes(seconds, minutes):
    assert minutes_left(seconds) == minutes
