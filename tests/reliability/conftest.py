"""Fixtures for the reliability tests: the simulator on a frozen clock and devices built as the platform does."""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator

import pytest

from chargepoint_simulator import Simulator
from cp_reliability import PASSWORD, SAMPLE_CONFIG, USERNAME, Records, debug_logging, sample_rows, start_simulator
from volttron.driver.interfaces.chargepoint.account import forget_accounts
from volttron.driver.interfaces.chargepoint.standalone import Device, build_device


@pytest.fixture
def sim() -> Iterator[Simulator]:
    # A frozen clock: values cannot move between a baseline poll and a faulty one, so "unaffected points read
    # what they read before" is an exact comparison.
    simulator = start_simulator()
    try:
        yield simulator
    finally:
        simulator.stop()


@pytest.fixture(autouse=True)
def fresh_accounts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Every test gets its own shared clients and caches, as a freshly started platform would.
    monkeypatch.delenv("CHARGEPOINT_PASSWORD", raising=False)
    forget_accounts()
    yield
    forget_accounts()


@pytest.fixture
def make_device(sim: Simulator) -> Callable[..., Device]:
    """A device as the platform builds it: the sample config and registry pointed at the simulator.

    Defaults suit fault tests: a 1 s timeout and no caching (static data and sessions included, so every poll asks
    every method). ``bundled=True`` uses the WSDL shipped with the
    package and the simulator as endpoint (production's set-up: no WSDL download).
    """
    def make(station_id: str | None = None, rows: list[dict[str, str]] | None = None, name: str = "cp1",
             bundled: bool = False, **overrides: Any) -> Device:
        raw = json.loads(SAMPLE_CONFIG.read_text(encoding="utf-8"))
        settings: dict[str, Any] = {"stationID": station_id or sim.model.station_ids()[0], "username": USERNAME,
                                    "password": PASSWORD, "timeout": 1, "cacheExpiration": 0,
                                    "staticExpiration": 0}
        settings.update({"wsdl": None, "endpoint": sim.endpoint} if bundled else {"wsdl": sim.wsdl_url})
        settings.update(overrides)
        return build_device(raw, rows if rows is not None else sample_rows(), f"devices/campus/garage/{name}",
                            settings)
    return make


@pytest.fixture
def debug_logs() -> Iterator[Records]:
    """Every record of every logger (suds included) at DEBUG, as a user debugging the driver would set it up."""
    with debug_logging() as records:
        yield records
