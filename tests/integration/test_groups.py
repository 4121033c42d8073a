"""Station groups as devices, over HTTP against the simulator: reads equal its truth, sheds reach every member
station and follow the control-safety rules, and a group device shares the account's calls with station devices.

The simulator's clock is frozen and the devices' account clocks follow it (sample config, cacheExpiration 30):
the tests move time, nothing sleeps.
"""
from __future__ import annotations

import math
import random
from typing import Any, Callable, Iterator

import gevent
import pytest

from chargepoint_simulator import Simulator
from chargepoint_simulator.model import ShedLimit
from cp_groups import GARAGE, GARAGE_STATIONS, device_on, frozen_simulator, member_sheds, settle
from cp_integration import group_rows
from volttron.driver.interfaces.chargepoint.exceptions import ApiError, ApiTimeout, ConfigError, WriteRejected
from volttron.driver.interfaces.chargepoint.standalone import Device

WRITES = ("shedLoad", "clearShedState")


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with frozen_simulator() as simulator:
        yield simulator


@pytest.fixture
def garage(sim: Simulator) -> Callable[..., Device]:
    """The garage group as a device (the sample group registry unless ``rows`` are given)."""
    return lambda **kwargs: device_on(sim, sg_id=GARAGE, **kwargs)


def sent(sim: Simulator) -> list[tuple[str, dict[str, Any]]]:
    """The shed writes the simulator received, in order: (operation, their shedGroup or shedStation fields)."""
    return [(op, fields.get("shedGroup") or fields.get("shedStation")) for op, fields in sim.requests if op in WRITES]


def every_member(sim: Simulator, *, accepted: bool = False) -> dict[str, dict[int, tuple]]:
    return {sid: member_sheds(sim, sid, accepted=accepted) for sid in GARAGE_STATIONS}


def without_starting_values(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{**row, "Starting Value": ""} for row in rows]


# -- reads ---------------------------------------------------------------------------------------------------------

# name -> the sheds staged on the simulator before the read (station, station-wide limit or port limits)
STAGED: dict[str, Callable[[Simulator], None]] = {
    "nothing shed": lambda sim: None,
    "a group cap": lambda sim: sim.model.shed_group(GARAGE, ShedLimit(allowed_kw=2.5)),
    "a group percent shed": lambda sim: sim.model.shed_group(GARAGE, ShedLimit(percent=40)),
    "one member capped": lambda sim: sim.model.shed("1:10004", ShedLimit(allowed_kw=3.0)),
    "members capped differently": lambda sim: (sim.model.shed("1:10004", ShedLimit(allowed_kw=3.0)),
                                               sim.model.shed("1:10001", ShedLimit(allowed_kw=1.0))),
}


def truth(sim: Simulator, sg_id: int) -> dict[str, Any]:
    """What the group's points must read, from the simulator's own state."""
    group = sim.model.group(sg_id)
    views = [sim.model.load_view(sid) for sid in group.station_ids]
    ports = [port for view in views for port in view["Port"]]
    shed = [port for port in ports if port["shedState"] == 1]
    kw = {port["allowedLoad"] for port in shed if not port["percentShed"]}
    pct = {float(port["percentShed"]) for port in shed if port["percentShed"]}
    return {"sgName": group.sgName, "numStations": len(views),
            "sgLoad": round(sum(view["stationLoad"] for view in views), 3),
            "allowedLoadPerStation": kw.pop() if len(kw) == 1 and not pct else None,
            "percentShedPerStation": pct.pop() if len(pct) == 1 and not kw else None,
            "shedState": 1 if shed else 0}


@pytest.mark.parametrize("staged", list(STAGED))
def test_group_reads_equal_the_simulators_truth(sim, garage, staged):
    STAGED[staged](sim)
    settle(sim)
    values, errors = garage().scrape()
    assert errors == {}
    assert values == truth(sim, GARAGE)


def test_every_group_of_the_organisation_reads_its_truth(sim):
    for index, group in enumerate(sim.model.groups):
        values, errors = device_on(sim, sg_id=group.sgID, name=f"group{index}").scrape()
        assert (values, errors) == (truth(sim, group.sgID), {}), group.sgName


def test_an_unknown_group_is_an_error_on_every_point_not_a_crash(sim):
    values, errors = device_on(sim, sg_id=11111).scrape()
    assert values == {} and set(errors) == {row["Volttron Point Name"] for row in group_rows()}
    assert all("response code 102" in message for message in errors.values())


def test_a_group_registry_with_a_station_row_refuses_the_device_naming_the_row(sim):
    rows = group_rows() + [{"Volttron Point Name": "portLoadPort1", "Attribute Name": "portLoad", "Port #": "1",
                            "Type": "float", "Units": "kW", "Writable": "False", "Notes": "",
                            "Register Name": "LoadRegister", "Starting Value": ""}]
    with pytest.raises(ConfigError, match=r"line 8 \(point 'portLoadPort1'\).*only StationGroupRegister rows"):
        device_on(sim, sg_id=GARAGE, rows=rows)
    assert sum(sim.calls.values()) == 0


# -- sheds reach every member ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("point", "value", "applied"), [
    ("allowedLoadPerStation", 2.5, (2.5, None)),
    ("allowedLoadPerStation", "0", (0.0, None)),
    ("percentShedPerStation", 40, (None, 40)),
])
def test_a_group_shed_is_one_call_that_reaches_every_member_station(sim, garage, point, value, applied):
    device = garage()
    device.scrape()
    device.set(point, value)
    ((operation, fields),) = sent(sim)
    assert (operation, set(fields), fields["sgID"], float(fields[point])) == (
        "shedLoad", {"sgID", point}, str(GARAGE), float(value))
    assert every_member(sim, accepted=True) == {"1:10001": {1: applied, 2: applied}, "1:10004": {1: applied}}
    settle(sim)
    assert every_member(sim) == {"1:10001": {1: applied, 2: applied}, "1:10004": {1: applied}}
    values = device.scrape()[0]
    assert values["shedState"] == 1 and values[point] == float(value)


def test_a_group_clear_clears_every_member_station(sim, garage):
    sim.model.shed("1:10001", port_limits={"2": ShedLimit(allowed_kw=1.0)})
    sim.model.shed("1:10004", ShedLimit(percent=20))
    settle(sim)
    device = garage()
    assert device.scrape()[0]["shedState"] == 1
    device.set("shedState", 0)
    assert sent(sim) == [("clearShedState", {"sgID": str(GARAGE)})]
    settle(sim)
    assert every_member(sim) == {"1:10001": {}, "1:10004": {}}
    assert device.scrape()[0]["shedState"] == 0


@pytest.mark.parametrize(("point", "value", "says"), [
    ("allowedLoadPerStation", "", "shedState 0"),
    ("allowedLoadPerStation", None, "shedState 0"),
    ("percentShedPerStation", "null", "shedState 0"),
    ("shedState", "", "only 0 is accepted"),
    ("shedState", 1, "only 0 is accepted"),
    ("allowedLoadPerStation", -1, "kW >= 0"),
    ("allowedLoadPerStation", 3.14159, "three decimals"),
    ("allowedLoadPerStation", math.nan, "kW >= 0"),
    ("percentShedPerStation", 0, "1 to 100"),
    ("percentShedPerStation", 12.5, "1 to 100"),
    ("sgLoad", 5, "read-only"),
])
def test_values_the_group_cannot_take_are_refused_before_any_call(sim, garage, point, value, says):
    device = garage()
    sim.reset_calls()
    with pytest.raises(WriteRejected, match=says):
        device.set(point, value)
    assert sum(sim.calls.values()) == 0


def test_a_shed_of_the_other_kind_on_a_member_is_refused_from_a_fresh_read(sim, garage):
    device = garage()
    device.scrape()
    sim.model.shed("1:10004", ShedLimit(percent=30))  # another program, after the device's last poll
    settle(sim)
    sim.clock.advance(10)  # the last read is too old to plan a write on
    with pytest.raises(WriteRejected, match=r"a member station has a percent shed in force \(1:10004 port 1 30 %\)"):
        device.set("allowedLoadPerStation", 2.0)
    assert sent(sim) == [] and sim.calls["getLoad"] == 2  # the poll, and the fresh read before the write


def test_a_shed_of_the_other_kind_is_refused_while_the_groups_own_write_is_applying(sim, garage):
    device = garage()
    device.set("allowedLoadPerStation", 2.0)  # accepted; the stations have not applied it yet
    with pytest.raises(WriteRejected, match="kW shed in force"):
        device.set("percentShedPerStation", 50)
    device.set("shedState", 0)
    device.set("percentShedPerStation", 50)  # a clear first, as the refusal said
    assert [op for op, _ in sent(sim)] == ["shedLoad", "clearShedState", "shedLoad"]


def test_the_first_poll_after_the_members_apply_a_group_shed_publishes_it(sim, garage):
    device = garage()
    device.scrape()
    device.set("allowedLoadPerStation", 3.0)
    sim.reset_calls()
    assert device.scrape()[0]["allowedLoadPerStation"] is None  # within the cache period, but read again
    assert sim.calls["getLoad"] == 1
    settle(sim)
    values = device.scrape()[0]
    assert (values["allowedLoadPerStation"], values["shedState"], sim.calls["getLoad"]) == (3.0, 1, 2)
    device.scrape()  # applied: back to the cache
    assert sim.calls["getLoad"] == 2


def test_a_group_write_without_an_answer_says_it_may_have_been_applied(sim, garage):
    device = garage()
    device.scrape()
    sim.faults.update({"blackhole": True, "operations": ["shedLoad"]})
    with pytest.raises(ApiTimeout, match=r"the write \(shed the group at 2 kW\) may have been applied"):
        device.set("allowedLoadPerStation", 2.0)


def test_a_group_write_the_api_refuses_raises_its_code(sim, garage):
    sim.model.propagation_delay = 60.0
    sim.model.shed("1:10004", ShedLimit(allowed_kw=3.0))  # accepted, not yet shown by any read
    with pytest.raises(ApiError, match="response code 190"):
        garage().set("percentShedPerStation", 50)
    assert every_member(sim, accepted=True) == {"1:10001": {}, "1:10004": {1: (3.0, None)}}


def test_a_leased_group_shed_is_renewed_for_the_group_while_polled(sim, garage):
    device = garage(shedLease=2)
    device.set("allowedLoadPerStation", 3.0)
    for _ in range(6):  # three lease periods of polling, a poll every 20 s
        sim.clock.advance(20)
        device.scrape()
        assert every_member(sim, accepted=True) == {"1:10001": {1: (3.0, None), 2: (3.0, None)},
                                                    "1:10004": {1: (3.0, None)}}
    sheds = [fields for op, fields in sim.requests if op == "shedLoad"]
    assert len(sheds) == 3 and all(f["timeInterval"] == "2" and f["shedGroup"]["sgID"] == str(GARAGE)
                                   for f in sheds)
    sim.clock.advance(2 * 60 + 3)  # polling stops: the lease lapses on every member
    assert every_member(sim, accepted=True) == {"1:10001": {}, "1:10004": {}}


# -- reverts ---------------------------------------------------------------------------------------------------------

def revert_device(device: Device) -> None:
    """What the platform's revert_device does: revert_point on every point, in no particular order."""
    topics = list(device.interface.point_map)
    random.Random(len(topics)).shuffle(topics)
    for topic in topics:
        device.interface.revert_point(topic)


REVERTS: dict[str, Callable[[Device], None]] = {
    "revert_point": lambda device: device.interface.revert_point(device.topic("allowedLoadPerStation")),
    "revert_all": lambda device: device.interface.revert_all(),
    "revert_device": revert_device,
}


@pytest.mark.parametrize("how", list(REVERTS))
def test_revert_with_the_sample_starting_value_is_one_group_clear(sim, garage, how):
    sim.model.shed("1:10004", ShedLimit(allowed_kw=1.5))
    settle(sim)
    device = garage()  # the sample group registry: shedState's Starting Value is 0
    device.set("allowedLoadPerStation", 3.0)
    settle(sim)
    REVERTS[how](device)
    assert sent(sim)[1:] == [("clearShedState", {"sgID": str(GARAGE)})]
    settle(sim)
    assert every_member(sim) == {"1:10001": {}, "1:10004": {}}


@pytest.mark.parametrize("how", list(REVERTS))
@pytest.mark.parametrize(("written", "value"), [("allowedLoadPerStation", 3.0), ("percentShedPerStation", 40)])
def test_revert_without_starting_values_and_nothing_before_is_one_group_clear(sim, garage, how, written, value):
    device = garage(rows=without_starting_values(group_rows()))
    device.scrape()
    device.set(written, value)
    settle(sim)
    device.scrape()
    REVERTS[how](device)
    assert sent(sim)[1:] == [("clearShedState", {"sgID": str(GARAGE)})]
    settle(sim)
    assert every_member(sim) == {"1:10001": {}, "1:10004": {}}
    REVERTS[how](device)  # a second revert finds nothing to do
    assert len(sent(sim)) == 2


@pytest.mark.parametrize("how", list(REVERTS))
def test_revert_without_starting_values_re_applies_what_each_member_had(sim, garage, how):
    sim.model.shed("1:10001", port_limits={"2": ShedLimit(allowed_kw=1.5)})  # another program's cap
    settle(sim)
    before = every_member(sim)
    device = garage(rows=without_starting_values(group_rows()))
    device.scrape()
    device.set("allowedLoadPerStation", 3.0)
    settle(sim)
    device.scrape()
    REVERTS[how](device)
    reverting = sent(sim)[1:]
    assert [op for op, _ in reverting] == ["clearShedState", "shedLoad"]
    assert reverting[0][1] == {"sgID": str(GARAGE)}
    assert reverting[1][1]["stationID"] == "1:10001" and "allowedLoadPerStation" not in reverting[1][1]
    settle(sim)
    assert every_member(sim) == before == {"1:10001": {2: (1.5, None)}, "1:10004": {}}
    assert device.scrape()[0]["allowedLoadPerStation"] == 1.5


def test_after_a_restart_revert_clears_the_group(sim, garage):
    from volttron.driver.interfaces.chargepoint.account import forget_accounts

    garage(rows=without_starting_values(group_rows())).set("allowedLoadPerStation", 3.0)
    settle(sim)
    forget_accounts()  # a new process: no record of the write
    restarted = garage(rows=without_starting_values(group_rows()))
    assert restarted.scrape()[0]["allowedLoadPerStation"] == 3.0  # configuring and polling wrote nothing
    restarted.interface.revert_all()
    assert [op for op, _ in sent(sim)] == ["shedLoad", "clearShedState"]


# -- one account: a group device and station devices share the calls --------------------------------------------------

def test_a_group_poll_serves_its_member_stations_load_points(sim, garage):
    group, station = garage(), device_on(sim, station_id="1:10001", name="cp1")
    assert group.interface.account is station.interface.account
    group.scrape()
    sim.reset_calls()
    values, errors = station.scrape()
    assert errors == {} and sim.calls["getLoad"] == 0
    view = sim.model.load_view("1:10001")
    assert values["portLoadPort1"] == view["Port"][0]["portLoad"]


def test_a_station_polled_first_reads_its_load_through_the_group(sim, garage):
    group, station = garage(), device_on(sim, station_id="1:10004", name="cp4")
    group.scrape()
    sim.clock.advance(31)  # every cached answer has expired
    sim.reset_calls()
    station.scrape()
    group.scrape()
    assert [fields for op, fields in sim.requests if op == "getLoad"] == [{"sgID": str(GARAGE)}]


def test_station_devices_batched_by_group_fill_the_group_devices_answer(sim, garage):
    stations = [device_on(sim, station_id=sid, name=f"cp{n}") for n, sid in enumerate(GARAGE_STATIONS)]
    group = garage()
    polls = [gevent.spawn(device.scrape) for device in stations]
    gevent.joinall(polls, timeout=30, raise_error=True)
    assert all(poll.value[1] == {} for poll in polls)
    calls = sim.calls["getLoad"]
    values, errors = group.scrape()
    assert errors == {} and sim.calls["getLoad"] == calls == 1
    assert values == truth(sim, GARAGE)


def test_a_group_write_is_seen_by_the_member_station_devices(sim, garage):
    group, station = garage(), device_on(sim, station_id="1:10004", name="cp4")
    group.scrape()
    station.scrape()
    group.set("allowedLoadPerStation", 2.0)
    settle(sim)
    assert station.scrape()[0]["allowedLoad"] == 2.0  # its cached load was dropped by the group's write
    with pytest.raises(WriteRejected, match="kW shed in force"):
        station.set("percentShed", 50)  # planned on what the group wrote
    assert [op for op, _ in sent(sim)] == ["shedLoad"]


def test_a_member_station_write_is_seen_by_the_group_device(sim, garage):
    group, station = garage(), device_on(sim, station_id="1:10004", name="cp4")
    group.scrape()
    station.set("allowedLoad", 2.0)
    sim.reset_calls()
    assert group.scrape()[0]["shedState"] == 0  # within the cache period, but read again: not applied yet
    settle(sim)
    values = group.scrape()[0]
    assert (values["shedState"], values["allowedLoadPerStation"], sim.calls["getLoad"]) == (1, 2.0, 2)
    with pytest.raises(WriteRejected, match=r"a member station has a kW shed in force \(1:10004 port 1 2 kW\)"):
        group.set("percentShedPerStation", 50)
