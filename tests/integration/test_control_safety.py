"""Control safety against the simulator over HTTP, with the sample config's cacheExpiration 30 and a station that
applies sheds 2 s after the API accepts them: every write is exactly what the operator meant, reverts restore the
state before, and the published state tells the truth after a write.

The simulator's clock is frozen and the driver's account clock follows it, so cache ages, settling and leases are
exact (the test moves time; nothing sleeps).
"""
from __future__ import annotations

import math
import random
from typing import Any, Callable, Iterator

import pytest

from chargepoint_simulator import SimClock, Simulator
from chargepoint_simulator.model import ShedLimit
from cp_integration import PASSWORD, ROOT, USERNAME, sample_rows
from volttron.driver.interfaces.chargepoint.account import forget_accounts
from volttron.driver.interfaces.chargepoint.exceptions import ApiTimeout, TransportError, WriteRejected
from volttron.driver.interfaces.chargepoint.standalone import Device, build_device, read_config_file

TWO_PORTS, ONE_PORT = "1:10001", "1:10003"  # seed 11: 3.84 kW ports
PROPAGATION = 2.0
WRITES = ("shedLoad", "clearShedState", "clearAlarms")


@pytest.fixture
def sim() -> Iterator[Simulator]:
    clock = SimClock(scale=0)
    with Simulator(stations=4, seed=11, username=USERNAME, password=PASSWORD, port=0, clock=clock,
                   propagation_delay=PROPAGATION) as simulator:
        yield simulator


@pytest.fixture
def make_device(sim: Simulator) -> Callable[..., Device]:
    """The sample chargepoint.config (cacheExpiration 30) pointed at the simulator, its clock the simulator's."""
    def make(rows: list[dict[str, str]] | None = None, station_id: str = TWO_PORTS, name: str = "cp1",
             **overrides: Any) -> Device:
        raw = read_config_file(ROOT / "chargepoint.config")
        assert raw["driver_config"]["cacheExpiration"] == 30
        device = build_device(raw, rows if rows is not None else sample_rows(), f"devices/campus/garage/{name}",
                              {"stationID": station_id, "username": USERNAME, "password": PASSWORD,
                               "wsdl": sim.wsdl_url, "timeout": 2, **overrides})
        account = device.interface.account
        account.cache.clock = account.backoff.clock = sim.clock.timestamp
        return device
    return make


def without_starting_values(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{**row, "Starting Value": "" if row["Register Name"] == "LoadRegister" else row["Starting Value"]}
            for row in rows]


def in_force(sim: Simulator, station_id: str = TWO_PORTS, *, accepted: bool = True) -> dict[int, tuple]:
    """The sheds the cloud accepted (or the station applied), per port, as (kW, percent)."""
    return {int(port): (shed.limit.allowed_kw, shed.limit.percent)
            for port, shed in sim.model.shed_state(station_id, effective=not accepted).items()}


def sent(sim: Simulator) -> list[tuple[str, dict[str, Any]]]:
    """The writes the simulator received, in order: (operation, the shedStation/searchQuery fields)."""
    return [(op, fields.get("shedStation", fields)) for op, fields in sim.requests if op in WRITES]


def station_level(fields: dict[str, Any]) -> bool:
    return "allowedLoadPerStation" in fields or "percentShedPerStation" in fields


def settle(sim: Simulator) -> None:
    sim.clock.advance(PROPAGATION + 1)


# -- no accidental clears ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("point", ["allowedLoadPort1", "allowedLoad", "percentShedPort2", "shedStatePort1",
                                   "shedState"])
@pytest.mark.parametrize("value", ["", "  ", "\t", None, "None", "null"])
def test_empty_blank_or_none_values_are_refused_with_no_call(sim, make_device, point, value):
    device = make_device()
    device.set("allowedLoadPort1", 2.0)
    settle(sim)
    before = sent(sim)
    with pytest.raises(WriteRejected) as refused:
        device.set(point, value)
    assert point in str(refused.value)
    assert "shedState 0" in str(refused.value) or "only 0 is accepted" in str(refused.value)  # what would do
    assert sent(sim) == before
    assert in_force(sim) == {1: (2.0, None)}


@pytest.mark.parametrize(("point", "value", "says"), [
    ("allowedLoadPort2", 2.0, "not port 2"),      # a one-port station
    ("percentShedPort2", 50, "not port 2"),
    ("allowedLoadPort1", 4.0, "rated 3.84 kW"),
    ("allowedLoad", 4.0, "rated 3.84 kW"),
    ("allowedLoadPort1", 0.0004, "resolution"),
    ("allowedLoadPort1", math.nan, "kW >= 0"),
    ("allowedLoadPort1", math.inf, "kW >= 0"),
    ("allowedLoadPort1", 10 ** 400, "kW >= 0"),
    ("allowedLoadPort1", 1e308, "at most"),
    ("percentShedPort1", math.nan, "1 to 100"),
    ("percentShedPort1", 10 ** 400, "1 to 100"),
])
def test_writes_the_station_cannot_take_are_refused_before_any_call(sim, make_device, point, value, says):
    device = make_device(station_id=ONE_PORT)
    with pytest.raises(WriteRejected, match=says):
        device.set(point, value)
    assert sent(sim) == []


def test_minus_zero_is_sent_as_zero(sim, make_device):
    device = make_device()
    device.set("allowedLoadPort1", -0.0)
    ((operation, fields),) = sent(sim)
    wire = fields["Ports"]["Port"]["allowedLoadPerPort"]
    assert float(wire) == 0.0 and not wire.startswith("-")
    assert in_force(sim) == {1: (0.0, None)}


# -- write-aware state ---------------------------------------------------------------------------------------------

def test_the_first_poll_after_the_station_applies_a_shed_publishes_it(sim, make_device):
    device = make_device()
    assert device.scrape()[0]["allowedLoadPort1"] is None
    assert device.set("allowedLoadPort1", 3.0) is None  # accepted; the station has not applied it yet
    sim.reset_calls()
    values, _ = device.scrape()  # within the 30 s cache period, but the load is read again
    assert (values["allowedLoadPort1"], sim.calls["getLoad"]) == (None, 1)
    settle(sim)
    values, _ = device.scrape()
    assert (values["allowedLoadPort1"], values["shedStatePort1"]) == (3.0, 1) and values["portLoadPort1"] <= 3.0
    assert sim.calls["getLoad"] == 2
    device.scrape()  # applied: back to the cache
    assert sim.calls["getLoad"] == 2


def test_a_clear_is_published_at_the_first_poll_after_the_station_applies_it(sim, make_device):
    device = make_device()
    device.set("allowedLoadPort1", 3.0)
    settle(sim)
    device.scrape()
    device.set("shedState", 0)
    assert device.scrape()[0]["shedStatePort1"] == 1  # not applied yet, and it says so
    settle(sim)
    assert device.scrape()[0]["shedStatePort1"] == 0


def test_a_station_that_never_applies_is_logged_once_and_then_cached_again(sim, make_device, caplog):
    device = make_device(settleLimit=60)
    device.set("allowedLoadPort1", 3.0)
    sim.model.clear_shed(TWO_PORTS)  # someone clears it before it ever reaches the station
    for _ in range(5):
        sim.clock.advance(20)
        device.scrape()
    warnings = [r for r in caplog.records if "has not applied" in r.getMessage()]
    assert len(warnings) == 1
    sim.reset_calls()
    device.scrape()
    assert sim.calls["getLoad"] == 0


# -- refusals from the freshest knowledge --------------------------------------------------------------------------

def test_a_percent_shed_is_accepted_after_a_poll_shows_the_kw_shed_cleared_elsewhere(sim, make_device):
    device = make_device()
    device.set("allowedLoadPort1", 3.0)
    settle(sim)
    device.scrape()
    sim.model.clear_shed(TWO_PORTS)  # cleared in the portal
    settle(sim)
    sim.clock.advance(31)  # the next poll reads the station again
    assert device.scrape()[0]["shedStatePort1"] == 0
    device.set("percentShedPort1", 50)
    assert in_force(sim) == {1: (None, 50)}


def test_a_write_reads_the_station_first_when_its_last_read_is_old(sim, make_device):
    device = make_device()
    device.set("allowedLoadPort1", 3.0)
    settle(sim)
    device.scrape()
    sim.model.clear_shed(TWO_PORTS)
    settle(sim)
    sim.clock.advance(15)  # the cached read (15+ s old) still shows the kW shed
    device.set("percentShedPort1", 50)
    assert in_force(sim) == {1: (None, 50)}


def test_a_shed_of_the_other_kind_in_force_is_refused_before_any_call(sim, make_device):
    sim.model.shed(TWO_PORTS, port_limits={"2": ShedLimit(allowed_kw=2.5)})  # another program's shed
    settle(sim)
    device = make_device()
    with pytest.raises(WriteRejected, match="kW shed in force"):
        device.set("percentShedPort1", 50)
    assert sent(sim) == []


# -- port-scoped clear ---------------------------------------------------------------------------------------------

def test_clearing_one_port_keeps_the_other_ports_shed_in_force(sim, make_device):
    device = make_device()
    device.set("allowedLoadPort1", 2.0)
    device.set("allowedLoadPort2", 3.0)
    settle(sim)
    device.set("shedStatePort1", 0)
    assert [op for op, _ in sent(sim)[2:]] == ["clearShedState", "shedLoad"]
    assert in_force(sim) == {2: (3.0, None)}
    settle(sim)
    values = device.scrape()[0]
    assert (values["shedStatePort1"], values["allowedLoadPort2"]) == (0, 3.0)


def test_clearing_a_port_with_no_shed_sends_nothing(sim, make_device):
    device = make_device()
    device.set("allowedLoadPort2", 3.0)
    settle(sim)
    device.set("shedStatePort1", 0)
    assert [op for op, _ in sent(sim)] == ["shedLoad"]


def test_a_station_level_clear_clears_every_port(sim, make_device):
    device = make_device()
    device.set("allowedLoadPort1", 2.0)
    device.set("allowedLoadPort2", 3.0)
    device.set("shedState", 0)
    assert in_force(sim) == {}


# -- revert --------------------------------------------------------------------------------------------------------

BEFORE = {
    "nothing in force": {},
    "another program's port 2 cap": {"2": ShedLimit(allowed_kw=1.5)},
}
WRITTEN = {
    "port kW": [("allowedLoadPort1", 3.3)],
    "port percent": [("percentShedPort1", 40)],
    "station kW": [("allowedLoad", 3.0)],
    "station percent": [("percentShed", 30)],
    "two ports": [("allowedLoadPort1", 3.0), ("allowedLoadPort2", 2.0)],
}


def revert_device(device: Device, seed: int) -> None:
    """What the platform's revert_device does: revert_point on every point, in no particular order."""
    topics = list(device.interface.point_map)
    random.Random(seed).shuffle(topics)
    for topic in topics:
        device.interface.revert_point(topic)


REVERTS: dict[str, Callable[[Device, str], None]] = {
    "revert_point": lambda device, point: device.interface.revert_point(device.topic(point)),
    "revert_all": lambda device, point: device.interface.revert_all(),
    "revert_device": lambda device, point: revert_device(device, len(point)),
}


# A percent shed cannot be written over another program's kW shed (that refusal is tested on its own).
REVERT_CASES = [(before, written) for before in BEFORE for written in WRITTEN
                if before == "nothing in force" or "percent" not in written]


@pytest.mark.parametrize("how", list(REVERTS))
@pytest.mark.parametrize("before, written", REVERT_CASES)
def test_revert_without_starting_values_restores_the_state_before_the_first_write(sim, make_device, before,
                                                                                  written, how):
    if BEFORE[before]:
        sim.model.shed(TWO_PORTS, port_limits=BEFORE[before])
        settle(sim)
    pre = in_force(sim)
    device = make_device(without_starting_values(sample_rows()))
    device.scrape()
    for point, value in WRITTEN[written]:
        device.set(point, value)
    settle(sim)
    device.scrape()
    writes_before_revert = len(sent(sim))
    REVERTS[how](device, WRITTEN[written][-1][0])
    reverting = sent(sim)[writes_before_revert:]
    assert in_force(sim) == pre
    assert sum(op == "clearShedState" for op, _ in reverting) <= 1
    assert len(reverting) <= 2
    assert not any(station_level(fields) for op, fields in reverting if op == "shedLoad")
    settle(sim)
    assert device.scrape()[1] == {}
    REVERTS[how](device, WRITTEN[written][-1][0])  # a second revert finds nothing to do
    assert len(sent(sim)) == writes_before_revert + len(reverting)


@pytest.mark.parametrize("how", list(REVERTS))
def test_revert_with_the_sample_starting_values_clears_the_station(sim, make_device, how):
    sim.model.shed(TWO_PORTS, port_limits={"2": ShedLimit(allowed_kw=1.5)})
    settle(sim)
    device = make_device()  # the sample registry: shedState points have Starting Value 0
    device.set("allowedLoadPort1", 3.3)
    settle(sim)
    REVERTS[how](device, "allowedLoadPort1")
    assert in_force(sim) == {}
    assert [op for op, _ in sent(sim)] == ["shedLoad", "clearShedState"]


def test_a_configured_station_cap_is_restored_as_a_station_wide_shed(sim, make_device):
    rows = [{**row, "Starting Value": "3.5" if row["Volttron Point Name"] == "allowedLoad" else
             ("" if row["Register Name"] == "LoadRegister" else row["Starting Value"])} for row in sample_rows()]
    device = make_device(rows)
    device.set("allowedLoadPort1", 2.0)
    device.interface.revert_point(device.topic("allowedLoadPort1"))
    last_op, fields = sent(sim)[-1]
    assert last_op == "shedLoad" and float(fields.get("allowedLoadPerStation")) == 3.5
    assert in_force(sim) == {1: (3.5, None), 2: (3.5, None)}


def test_after_a_restart_revert_clears_instead_of_writing_the_polled_shed_back(sim, make_device):
    device = make_device(without_starting_values(sample_rows()))
    device.set("allowedLoadPort1", 3.3)
    settle(sim)
    forget_accounts()  # the platform restarts: a new process, with no record of the driver's writes
    restarted = make_device(without_starting_values(sample_rows()))
    assert restarted.scrape()[0]["allowedLoadPort1"] == 3.3  # configuring and polling wrote nothing
    assert [op for op, _ in sent(sim)] == ["shedLoad"]
    restarted.interface.revert_point(restarted.topic("allowedLoadPort1"))
    assert [op for op, _ in sent(sim)] == ["shedLoad", "clearShedState"]
    assert in_force(sim) == {}


def test_contradicting_starting_values_refuse_the_registry(make_device):
    rows = [{**row, "Starting Value": "3" if row["Volttron Point Name"] == "allowedLoadPort1" else
             row["Starting Value"]} for row in sample_rows()]
    with pytest.raises(Exception, match="both give port 1 a Starting Value"):
        make_device(rows)


# -- write outcome -------------------------------------------------------------------------------------------------

def test_a_write_without_an_answer_says_it_may_have_been_applied(sim, make_device):
    device = make_device()
    device.scrape()
    sim.faults.update({"blackhole": True, "operations": ["shedLoad"]})
    with pytest.raises(ApiTimeout, match="may have been applied: read shedState"):
        device.set("allowedLoadPort1", 3.0)


def test_a_write_that_could_not_connect_says_nothing_of_the_kind(sim, make_device):
    device = make_device()
    device.scrape()
    sim.stop()
    with pytest.raises(TransportError) as failed:
        device.set("allowedLoadPort1", 3.0)
    assert "may have been applied" not in str(failed.value)


# -- fail-safe lease -----------------------------------------------------------------------------------------------

def test_a_leased_shed_is_renewed_while_polled_and_lapses_once_polling_stops(sim, make_device):
    device = make_device(shedLease=2)
    device.set("allowedLoadPort1", 3.0)
    assert [fields["timeInterval"] for op, fields in sim.requests if op == "shedLoad"] == ["2"]
    for _ in range(12):  # six lease periods of polling, a poll every 20 s
        sim.clock.advance(20)
        device.scrape()  # renews, once half of the lease has gone, beside its reads
        assert in_force(sim, accepted=False) == {1: (3.0, None)}, f"lapsed at {sim.clock.now()}"
    renewals = [fields for op, fields in sim.requests if op == "shedLoad"]
    assert len(renewals) == 5 and all(r["timeInterval"] == "2" for r in renewals)
    sim.clock.advance(2 * 60 + PROPAGATION + 1)  # the platform stops: no poll, no renewal
    assert in_force(sim, accepted=False) == {}


def test_a_clear_stops_the_renewal(sim, make_device):
    device = make_device(shedLease=2)
    device.set("allowedLoadPort1", 3.0)
    device.set("shedState", 0)
    settle(sim)
    for _ in range(6):
        sim.clock.advance(30)
        device.scrape()
    assert [op for op, _ in sent(sim)] == ["shedLoad", "clearShedState"]
