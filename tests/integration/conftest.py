"""Fixtures for the driver against the simulator: real SOAP over real HTTP on 127.0.0.1."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from chargepoint_simulator import Simulator
from cp_integration import PASSWORD, ROOT, USERNAME, sample_rows
from volttron.driver.interfaces.chargepoint.account import forget_accounts
from volttron.driver.interfaces.chargepoint.standalone import Device, build_device, read_config_file


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(stations=4, seed=11, username=USERNAME, password=PASSWORD, port=0,
                   propagation_delay=2.0) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def fresh_accounts() -> Iterator[None]:
    # Every test gets its own shared clients and caches, as a freshly started platform would.
    forget_accounts()
    yield
    forget_accounts()


@pytest.fixture
def make_device(sim: Simulator) -> Callable[..., Device]:
    """Configure an interface as the platform does: sample config + given rows, pointed at the simulator."""
    def make(station_id: str | None = None, rows: list[dict[str, str]] | None = None,
             name: str = "cp1", **overrides: Any) -> Device:
        raw = read_config_file(ROOT / "chargepoint.config")
        settings = {"stationID": station_id or sim.model.station_ids()[0], "username": USERNAME,
                    "password": PASSWORD, "wsdl": sim.wsdl_url, "timeout": 5, **overrides}
        return build_device(raw, rows if rows is not None else sample_rows(), f"devices/campus/garage/{name}",
                            settings)
    return make
