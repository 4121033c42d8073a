"""The load-shed rules for a station group: the group is planned as a station whose ports are (member, port) pairs.

So a group write is one group-wide shed or one group clear; a shed of the other kind on any member refuses it,
naming the member's ports; and a revert without Starting Values brings every member back to what it had before the
driver's first write: nothing anywhere is one group clear, else a clear and each member's sheds re-applied.
"""
from __future__ import annotations

import pytest

from volttron.driver.interfaces.chargepoint.control import (CLEAR, Step, configured_targets, describe, plan_revert,
                                                            plan_write, port_label)
from volttron.driver.interfaces.chargepoint.exceptions import WriteRejected
from volttron.driver.interfaces.chargepoint.models import (GroupLoad, PortLoad, Shed, ShedKind, StationLoad,
                                                           WriteAction, WriteOperation, group_ports, group_sheds)

SHED, CLEAR_SHED = WriteOperation.SHED, WriteOperation.CLEAR_SHED
A1, A2, B1 = ("1:1", 1), ("1:1", 2), ("1:2", 1)
MEMBERS = (A1, A2, B1)


def kw(value: float) -> Shed:
    return Shed(ShedKind.KW, value)


def pct(value: float) -> Shed:
    return Shed(ShedKind.PERCENT, value)


def test_a_group_answer_is_known_by_member_and_port():
    answer = GroupLoad(7, "Garage", 2, 5.0, {
        "1:1": StationLoad("1:1", 3.0, {1: PortLoad(1, 3.0, 3.0, 0.0, 1), 2: PortLoad(2, 0.0, 0.0, 0.0, 0)}),
        "1:2": StationLoad("1:2", 2.0, {1: PortLoad(1, 2.0, 0.0, 40.0, 1)})})
    assert group_sheds(answer) == {A1: kw(3.0), B1: pct(40.0)}
    assert group_ports(answer) == frozenset(MEMBERS)


@pytest.mark.parametrize(("action", "current", "steps", "after"), [
    (WriteAction(SHED, allowed_kw=3.0), {}, (Step(SHED, station=kw(3.0)),), {p: kw(3.0) for p in MEMBERS}),
    (WriteAction(SHED, percent=40), {A1: pct(20)}, (Step(SHED, station=pct(40)),), {p: pct(40) for p in MEMBERS}),
    (WriteAction(SHED, allowed_kw=2.0), None, (Step(SHED, station=kw(2.0)),), {p: kw(2.0) for p in MEMBERS}),
    (WriteAction(CLEAR_SHED), {B1: kw(1.0)}, (CLEAR,), {}),
], ids=["cap every member", "same kind over a member's shed", "unknown state", "clear"])
def test_a_group_write_is_one_group_wide_call(action, current, steps, after):
    plan = plan_write("p", action, current, MEMBERS, holder="a member station")
    assert plan.steps == steps and plan.expected == after


def test_a_shed_of_the_other_kind_on_any_member_is_refused_naming_it():
    with pytest.raises(WriteRejected) as refused:
        plan_write("percentShedPerStation", WriteAction(SHED, percent=50), {B1: kw(1.5)}, MEMBERS,
                   holder="a member station")
    assert str(refused.value).startswith("percentShedPerStation: a member station has a kW shed in force "
                                         "(1:2 port 1 1.5 kW)")
    assert "write shedState 0" in str(refused.value)


# name, Starting Values (None = the group), the record before the first write, in force now, steps, after
REVERTS = [
    ("no record: one group clear", {}, {}, {p: kw(3.0) for p in MEMBERS}, (CLEAR,), {}),
    ("a member's own shed comes back after the clear", {}, {B1: kw(1.5)}, {p: kw(3.0) for p in MEMBERS},
     (CLEAR, Step(SHED, ports={B1: kw(1.5)})), {B1: kw(1.5)}),
    ("every member had a shed of that kind: re-applied without a clear", {}, {A1: kw(1.0), A2: kw(1.0), B1: kw(2.0)},
     {p: kw(3.0) for p in MEMBERS}, (Step(SHED, ports={A1: kw(1.0), A2: kw(1.0), B1: kw(2.0)}),),
     {A1: kw(1.0), A2: kw(1.0), B1: kw(2.0)}),
    ("Starting Value shedState 0 beats the record", {None: None}, {B1: kw(1.5)}, {p: kw(3.0) for p in MEMBERS},
     (CLEAR,), {}),
    ("a configured group cap is written group-wide", {None: kw(4.0)}, {}, {p: pct(30) for p in MEMBERS},
     (CLEAR, Step(SHED, station=kw(4.0))), {p: kw(4.0) for p in MEMBERS}),
    ("already there: nothing", {}, {}, {}, (), {}),
]


@pytest.mark.parametrize(("name", "defaults", "record", "current", "steps", "after"), REVERTS,
                         ids=[r[0] for r in REVERTS])
def test_a_group_revert(name, defaults, record, current, steps, after):
    plan = plan_revert(configured_targets(defaults, record, MEMBERS), current, MEMBERS)
    assert plan.steps == steps and plan.expected == after


def test_member_ports_read_as_station_and_port_in_messages():
    assert port_label(B1) == "1:2 port 1" and port_label(2) == "port 2"
    assert describe({B1: kw(1.5), A1: pct(20)}) == "1:1 port 1 20 %, 1:2 port 1 1.5 kW"
    assert Step(SHED, ports={B1: kw(1.5)}).describe("group") == "shed 1:2 port 1 at 1.5 kW"
    assert CLEAR.describe("group") == "clear the group" and str(CLEAR) == "clear the station"
