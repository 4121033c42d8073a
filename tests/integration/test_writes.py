"""Writes through the interface reach the simulated station; refusals raise to the caller."""

from __future__ import annotations

import pytest

from chargepoint_simulator.model import ShedLimit

from volttron.driver.interfaces.chargepoint.exceptions import ApiError, WriteRejected

WRITES = ("shedLoad", "clearShedState", "clearAlarms")


def accepted(sim, station_id):
    """The sheds the cloud accepted (effective or not yet), per port number, as (kW, percent)."""
    return {int(port): (shed.limit.allowed_kw, shed.limit.percent)
            for port, shed in sim.model.shed_state(station_id, effective=False).items()}


def test_configuring_the_sample_registry_makes_no_call_at_all(sim, make_device):
    make_device()
    assert sum(sim.calls.values()) == 0


def test_port_kw_shed_reaches_the_station_and_shows_after_propagation(sim, make_device):
    station_id = sim.model.station_ids()[0]
    device = make_device(station_id, cacheExpiration=0)
    readback = device.set("allowedLoadPort1", 3.0)
    assert readback is None  # accepted, but the station has not applied it yet
    assert accepted(sim, station_id) == {1: (3.0, None)}
    sim.clock.advance(3)
    values = device.scrape()[0]
    assert values["allowedLoadPort1"] == 3.0
    assert values["shedStatePort1"] == 1
    assert values["shedStatePort2"] == 0
    assert values["percentShedPort1"] is None


def test_station_percent_shed_applies_to_every_port(sim, make_device):
    station_id = sim.model.station_ids()[0]
    device = make_device(station_id, cacheExpiration=0)
    device.set("percentShed", 40)
    assert accepted(sim, station_id) == {1: (None, 40), 2: (None, 40)}
    sim.clock.advance(3)
    values = device.scrape()[0]
    assert (values["percentShed"], values["percentShedPort1"], values["percentShedPort2"]) == (40.0, 40.0, 40.0)
    assert values["shedState"] == 1


def test_switching_shed_kind_without_clearing_is_refused_before_any_call(sim, make_device):
    station_id = sim.model.station_ids()[0]
    device = make_device(station_id)
    device.set("allowedLoadPort1", 2.5)
    sent = sim.calls["shedLoad"]
    with pytest.raises(WriteRejected, match="shedState 0"):
        device.set("percentShedPort1", 50)
    assert sim.calls["shedLoad"] == sent
    device.set("shedStatePort1", 0)
    device.set("percentShedPort1", 50)  # accepted once cleared
    assert accepted(sim, station_id) == {1: (None, 50)}


def test_a_shed_the_driver_did_not_know_about_is_refused_by_the_api_with_its_code(sim, make_device):
    station_id = sim.model.station_ids()[0]
    device = make_device(station_id)
    sim.model.shed(station_id, port_limits={"1": ShedLimit(allowed_kw=2.5)})  # another system's shed
    with pytest.raises(ApiError) as refused:
        device.set("percentShedPort1", 50)
    assert refused.value.code not in (None, 100) and refused.value.text
    assert refused.value.operation == "shedLoad"
    assert accepted(sim, station_id) == {1: (2.5, None)}


def test_shed_state_zero_on_a_port_clears_that_port_and_keeps_the_other(sim, make_device):
    station_id = sim.model.station_ids()[0]
    device = make_device(station_id)
    device.set("allowedLoadPort1", 2.0)
    device.set("allowedLoadPort2", 3.0)
    device.set("shedStatePort1", 0)
    assert accepted(sim, station_id) == {2: (3.0, None)}
    assert sim.calls["clearShedState"] == 1
    device.set("shedState", 0)  # station level: everything
    assert accepted(sim, station_id) == {}


@pytest.mark.parametrize("point, value", [
    ("shedStatePort1", 1), ("shedState", "1"), ("percentShedPort1", 101), ("percentShed", -1),
    ("percentShedPort2", 12.5), ("allowedLoadPort1", -0.5), ("allowedLoad", "lots"), ("clearAlarms", 0),
    ("allowedLoadPort1", ""), ("percentShed", None), ("shedStatePort2", " "),
    ("clearAlarmsPort1", 2), ("StatusPort1", "AVAILABLE"), ("stationRightsProfile", "{}"),
])
def test_bad_writes_are_refused_before_any_api_call(sim, make_device, point, value):
    device = make_device()
    with pytest.raises(WriteRejected) as refused:
        device.set(point, value)
    assert point in str(refused.value)
    assert all(sim.calls[op] == 0 for op in WRITES)


def test_port_clear_alarms_clears_only_that_port(sim, make_device):
    station_id = sim.model.station_ids()[0]
    sim.model.add_alarm(station_id, "GFCI Trip", port_number=1)
    sim.model.add_alarm(station_id, "Reachable", port_number=2)
    device = make_device(station_id)
    device.set("clearAlarmsPort1", 1)
    assert [(a.portNumber, a.alarmType) for a in sim.model.station(station_id).alarms] == [("2", "Reachable")]
    device.set("clearAlarms", 1)
    assert sim.model.station(station_id).alarms == []
    device.set("clearAlarms", 1)  # nothing left to clear (code 153) is not an error


def test_shed_duration_from_the_config_makes_the_shed_lapse(sim, make_device):
    station_id = sim.model.station_ids()[0]
    device = make_device(station_id, shedDuration=5, cacheExpiration=0)
    device.set("allowedLoadPort2", 1.5)
    sim.clock.advance(3)
    assert device.scrape()[0]["allowedLoadPort2"] == 1.5
    sim.clock.advance(5 * 60)
    assert device.scrape()[0]["shedStatePort2"] == 0


def test_a_write_refreshes_the_cached_reads_of_its_station(sim, make_device):
    station_id = sim.model.station_ids()[0]
    device = make_device(station_id, cacheExpiration=3600)
    device.scrape()
    loads = sim.calls["getLoad"]
    device.set("allowedLoadPort1", 3.0)
    assert sim.calls["getLoad"] == loads + 1  # the read-back asked the API, not the hour-old cache


def test_revert_brings_the_station_back_to_the_starting_values(sim, make_device):
    station_id = sim.model.station_ids()[0]
    device = make_device(station_id)
    device.scrape()
    device.set("allowedLoadPort1", 3.0)
    device.set("allowedLoadPort2", 2.0)
    device.interface.revert_point(device.topic("shedStatePort1"))  # Starting Values 0: no shed on any port
    assert accepted(sim, station_id) == {}
    device.set("percentShedPort2", 30)
    device.interface.revert_point(device.topic("percentShedPort2"))  # no Starting Value: the station's
    assert accepted(sim, station_id) == {}


def test_reverting_clear_alarms_does_not_write(sim, make_device):
    device = make_device()
    device.set("clearAlarms", 1)
    calls = sim.calls["clearAlarms"]
    device.interface.revert_point(device.topic("clearAlarms"))
    device.interface.revert_all()
    assert sim.calls["clearAlarms"] == calls
