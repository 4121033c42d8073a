"""``chargepoint-sim``: argument parsing, and a real process started on a free port and stopped again."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import gevent
import pytest
from conftest import http

from chargepoint_simulator.cli import build_simulator, parse_arguments

pytestmark = pytest.mark.timeout(60)


def test_defaults(monkeypatch) -> None:
    monkeypatch.delenv("CHARGEPOINT_SIM_PASSWORD", raising=False)
    args = parse_arguments([])
    assert (args.host, args.port, args.stations, args.seed) == ("127.0.0.1", 8080, 4, 1)
    assert args.password == "cp-secret-password" and not args.password_from_env
    assert args.propagation_delay == 2.0 and args.time_scale == 1.0


def test_password_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("CHARGEPOINT_SIM_PASSWORD", "from-env")
    args = parse_arguments([])
    assert args.password == "from-env" and args.password_from_env
    assert parse_arguments(["--password", "given"]).password == "given"


def test_fault_options_reach_the_simulator() -> None:
    args = parse_arguments(["--port", "0", "--stations", "7", "--latency-ms", "20", "--http500-rate", "0.1",
                            "--response-code", "getLoad=101:No plan", "--response-code", "getStations=102",
                            "--truncate", "--fault-operations", "getLoad,getStations", "--time-scale", "0",
                            "--start-time", "2025-01-01T00:00:00Z"])
    sim = build_simulator(args)
    assert len(sim.model.station_ids()) == 7
    assert sim.faults.latency_ms == 20 and sim.faults.http500_rate == 0.1 and sim.faults.truncate
    assert sim.faults.response_codes["getLoad"] == (101, "No plan")
    assert sim.faults.response_codes["getStations"][0] == 102
    assert sim.faults.operations == {"getLoad", "getStations"}
    assert sim.clock.now().isoformat() == "2025-01-01T00:00:00+00:00"


@pytest.mark.parametrize("argv", [["--http500-rate", "2"], ["--response-code", "getLoad"], ["--stations", "0"],
                                  ["--start-time", "yesterday"]])
def test_bad_arguments_exit(argv) -> None:
    with pytest.raises(SystemExit):
        parse_arguments(argv)


def test_command_serves_until_interrupted() -> None:
    script = Path(sys.executable).with_name("chargepoint-sim")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "chargepoint_simulator.cli"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command + ["--port", "0", "--stations", "3", "--log-level", "WARNING"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines: list[str] = []
        with gevent.Timeout(20, AssertionError("the simulator did not print its URLs in time")):
            while not any(line.startswith("Press Ctrl+C") for line in lines):
                line = process.stdout.readline()
                assert line, f"the simulator exited early: {process.stderr.read()}"
                lines.append(line.rstrip("\n"))
        wsdl_url = next(line.split()[-1] for line in lines if line.startswith("WSDL:"))
        endpoint = next(line.split()[-1] for line in lines if line.startswith("Endpoint:"))
        assert f'"wsdl": "{wsdl_url}"' in "\n".join(lines)
        status, body = http(wsdl_url)
        assert status == 200
        address = ElementTree.fromstring(body).find(
            "{http://schemas.xmlsoap.org/wsdl/}service/{http://schemas.xmlsoap.org/wsdl/}port/"
            "{http://schemas.xmlsoap.org/wsdl/soap/}address")
        assert address.get("location") == endpoint
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
        process.stdout.close()
        process.stderr.close()
