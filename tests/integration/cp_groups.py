"""Shared by the group and shed-event tests: a simulator whose clock only moves when a test moves it, and devices
(the sample configs, cacheExpiration 30) whose account clocks follow it (a module name unique across test folders).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from chargepoint_simulator import SimClock, Simulator
from cp_integration import PASSWORD, ROOT, USERNAME, group_rows, sample_rows
from volttron.driver.interfaces.chargepoint.standalone import Device, build_device, read_config_file

PROPAGATION = 2.0  # seconds a simulated station takes to apply a shed or a clear
# Seed 11 with 4 stations: "Austin Campus" holds 1:10001 (two 3.84 kW ports) and 1:10004 (one 7.2 kW port).
GARAGE, GARAGE_STATIONS = 52983, ("1:10001", "1:10004")


@contextmanager
def frozen_simulator() -> Iterator[Simulator]:
    with Simulator(stations=4, seed=11, username=USERNAME, password=PASSWORD, port=0, clock=SimClock(scale=0),
                   propagation_delay=PROPAGATION) as simulator:
        yield simulator


def device_on(sim: Simulator, *, sg_id: int | None = None, station_id: str | None = None,
              rows: list[dict[str, str]] | None = None, name: str = "garage", **overrides: Any) -> Device:
    """A group device (``sg_id``) or a station device from the sample config, pointed at the simulator."""
    raw = read_config_file(ROOT / "chargepoint.config")
    assert raw["driver_config"]["cacheExpiration"] == 30
    target = {"stationID": None, "sgID": sg_id} if sg_id is not None else {"stationID": station_id}
    default_rows = group_rows() if sg_id is not None else sample_rows()
    device = build_device(raw, rows if rows is not None else default_rows, f"devices/campus/{name}",
                          {**target, "username": USERNAME, "password": PASSWORD, "wsdl": sim.wsdl_url, "timeout": 2,
                           **overrides})
    account = device.interface.account
    account.cache.clock = account.backoff.clock = sim.clock.timestamp
    account.wall_clock = sim.clock.now
    return device


def settle(sim: Simulator) -> None:
    """Long enough for every station to apply what the cloud accepted."""
    sim.clock.advance(PROPAGATION + 1)


def member_sheds(sim: Simulator, station_id: str, *, accepted: bool = False) -> dict[int, tuple]:
    """The sheds a station applied (or the cloud accepted), per port, as (kW, percent)."""
    return {int(port): (shed.limit.allowed_kw, shed.limit.percent)
            for port, shed in sim.model.shed_state(station_id, effective=not accepted).items()}
