"""Fixtures for ``chargepoint-driver``: a simulator on a free loopback port and device config files beside it."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from chargepoint_simulator import Simulator
from chargepoint_simulator.clock import SimClock
from cp_cli import PASSWORD, SAMPLE_CONFIG, SAMPLE_CSV, SECRETS, USERNAME, Result
from volttron.driver.interfaces.chargepoint.account import forget_accounts
from volttron.driver.interfaces.chargepoint.cli import main

@pytest.fixture
def sim() -> Iterator[Simulator]:
    """Four stations (seed 3 makes 1:10003 a one-port station); frozen clock and no propagation delay, so what
    the driver reads can be compared with the model exactly and a write shows in its read-back."""
    with Simulator(stations=4, seed=3, username=USERNAME, password=PASSWORD, port=0, propagation_delay=0.0,
                   clock=SimClock(scale=0)) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Each command is a process of its own in real use: no shared accounts, no password in the environment.
    monkeypatch.delenv("CHARGEPOINT_PASSWORD", raising=False)
    forget_accounts()
    yield
    forget_accounts()


@pytest.fixture
def device_config(tmp_path: Path, sim: Simulator) -> Callable[..., Path]:
    """Write a device config (the sample's shape) pointed at the simulator, with a copy of the sample registry
    beside it; keyword arguments replace driver_config keys (None removes the key)."""
    def write(name: str = "cp1.config", station_id: str | None = None, registry: str | None = None,
              **settings: Any) -> Path:
        raw = json.loads(SAMPLE_CONFIG.read_text(encoding="utf-8"))
        driver = raw["driver_config"]
        driver.update({"stationID": station_id or sim.model.station_ids()[0], "username": USERNAME,
                       "password": PASSWORD, "wsdl": sim.wsdl_url, "timeout": 5, "cacheExpiration": 0})
        for key, value in settings.items():
            if value is None:
                driver.pop(key, None)
            else:
                driver[key] = value
        registry_path = tmp_path / "chargepoint.csv"
        if registry is not None:
            registry_path.write_text(registry, encoding="utf-8")
        elif not registry_path.exists():
            shutil.copy(SAMPLE_CSV, registry_path)
        path = tmp_path / name
        path.write_text(json.dumps(raw, indent=2), encoding="utf-8")
        return path
    return write


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run ``main(argv, out=StringIO())``; results are on ``out``, reasons and logs on stderr.

    Every run also checks that nothing bypassed ``out`` and that no password appears in any output.
    """
    def run(*argv: Any) -> Result:
        capsys.readouterr()
        out = io.StringIO()
        code = main([str(arg) for arg in argv], out=out)
        captured = capsys.readouterr()
        assert captured.out == "", f"printed outside out: {captured.out!r}"
        result = Result(code, out.getvalue(), captured.err)
        for secret in SECRETS:
            assert secret not in result.out and secret not in result.err, "a password was printed"
        return result
    return run
