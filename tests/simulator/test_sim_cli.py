"""``chargepoint-sim``: argument parsing, and a real process started on a free port and stopped again."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import gevent
import pytest
from sim_helpers import http

from chargepoint_simulator.cli import build_simulator, device_config, parse_arguments, write_config

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


OPERATION_NAMES = ("getStations, getStationStatus, getLoad, shedLoad, clearShedState, getAlarms, clearAlarms, "
                   "getStationRights, getChargingSessionData, getCPNInstances, getOrgsAndStationGroups")


@pytest.mark.parametrize("argv, message", [
    (["--http500-rate", "2"], "argument --http500-rate: a rate is a share of calls between 0 and 1"),
    (["--response-code", "getLoad"], "argument --response-code: expected OPERATION=CODE or OPERATION=CODE:TEXT"),
    (["--response-code", "getLod=101"], f"argument --response-code: unknown operation 'getLod'; the operations are "
                                        f"{OPERATION_NAMES}"),
    (["--fault-operations", "getLoad,getStatus"], "argument --fault-operations: unknown operation 'getStatus'; the "
                                                  "operations are getStations,"),
    (["--port", "99999"], "argument --port: '99999' is not a TCP port: give 0-65535 (0 picks a free port)"),
    (["--port", "-1"], "argument --port: '-1' is not a TCP port"),
    (["--port", "http"], "argument --port: 'http' is not a TCP port"),
    (["--stations", "0"], "argument --stations: '0': give a whole number from 1 to 100000"),
    (["--log-level", "loud"], "argument --log-level: 'loud': give one of DEBUG, INFO, WARNING, ERROR"),
    (["--start-time", "yesterday"], "argument --start-time: expected an ISO 8601 date and time"),
    (["--time-scale", "nan"], "argument --time-scale: must be >= 0"),
    (["--write-config", "/no/such/dir/sim.config"], "--write-config: no directory /no/such/dir"),
])
def test_bad_arguments_exit_2_naming_what_is_wrong(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_arguments(argv)
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith(f"chargepoint-sim: error: {message}"), last


def test_help_gives_the_defaults_of_the_credentials(capsys, monkeypatch) -> None:
    monkeypatch.delenv("CHARGEPOINT_SIM_PASSWORD", raising=False)
    with pytest.raises(SystemExit):
        parse_arguments(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "API license key to accept (default 'cp-user')" in text
    assert "API password to accept (default: $CHARGEPOINT_SIM_PASSWORD, else 'cp-secret-password')" in text


class TestDeviceConfig:
    def test_a_complete_config_for_the_station_with_the_most_ports(self, monkeypatch) -> None:
        monkeypatch.delenv("CHARGEPOINT_SIM_PASSWORD", raising=False)
        args = parse_arguments(["--port", "0", "--seed", "3", "--username", "me", "--password", "pw"])
        with build_simulator(args) as sim:
            config = device_config(sim, args)
            assert config == {
                "driver_config": {"stationID": "1:10001", "username": "me", "password": "pw", "wsdl": sim.wsdl_url,
                                  "cacheExpiration": 30, "timeout": 10, "shedDuration": 0},
                "driver_type": "chargepoint", "registry_config": "config://chargepoint.csv", "interval": 60,
                "timezone": "UTC"}
            assert sim.model.station(config["driver_config"]["stationID"]).numPorts == 2

    def test_a_password_from_the_environment_is_left_out(self, monkeypatch) -> None:
        monkeypatch.setenv("CHARGEPOINT_SIM_PASSWORD", "from-env")
        args = parse_arguments(["--port", "0"])
        with build_simulator(args) as sim:
            assert "password" not in device_config(sim, args)["driver_config"]

    def test_written_beside_the_sample_registry(self, tmp_path) -> None:
        done = write_config({"driver_config": {}}, tmp_path / "sim.config")
        assert done == [f"wrote {tmp_path / 'sim.config'}", f"wrote the sample registry {tmp_path / 'chargepoint.csv'}"]
        assert json.loads((tmp_path / "sim.config").read_text()) == {"driver_config": {}}
        sample = Path(__file__).resolve().parents[2] / "chargepoint.csv"
        assert (tmp_path / "chargepoint.csv").read_bytes() == sample.read_bytes()

    def test_a_registry_already_there_is_kept(self, tmp_path) -> None:
        (tmp_path / "chargepoint.csv").write_text("mine\n")
        done = write_config({}, tmp_path / "sim.config")
        assert done[1] == "kept the chargepoint.csv already beside it"
        assert (tmp_path / "chargepoint.csv").read_text() == "mine\n"


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
