"""Every command is a good Unix citizen, in a real process: a closed pipe ends quietly with 141, Ctrl-C (a real
SIGINT) prints one line and ends with 130, and a ``set`` says whether its write had been sent."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from typing import Callable

import gevent
import pytest

from cp_cli import ROOT, SCRIPT, script_env

pytestmark = pytest.mark.timeout(60)

EXIT_INTERRUPTED, EXIT_PIPE = 130, 141


def wait_until(condition: Callable[[], bool], what: str, limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        gevent.sleep(0.05)


def into_closed_pipe(*argv: str, cwd=ROOT) -> tuple[int, str]:
    """Run with stdout a pipe whose reader has gone (as after ``| head``); the exit code and stderr."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        process = subprocess.run([str(SCRIPT), *argv], stdout=writer, stderr=subprocess.PIPE, text=True, cwd=cwd,
                                 env=script_env(), timeout=50)
    finally:
        os.close(writer)
    return process.returncode, process.stderr


def start(*argv: str, cwd=ROOT) -> subprocess.Popen[str]:
    return subprocess.Popen([str(SCRIPT), *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=cwd, env=script_env())


def interrupt(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=15)
    return process.returncode, out, err


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never answers (the port, and the accepted sockets)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    serving = gevent.spawn(lambda: [accepted.append(server.accept()[0]) for _ in iter(int, 1)])
    yield server.getsockname()[1], accepted
    serving.kill()
    for connection in accepted:
        connection.close()
    server.close()


class TestClosedPipe:
    @pytest.mark.parametrize("argv", [["scrape"], ["scrape", "--json"], ["registry"], ["check", "--online"]])
    def test_device_commands_end_quietly(self, device_config, argv) -> None:
        command, *options = argv
        code, err = into_closed_pipe(command, str(device_config()), *options)
        assert (code, err) == (EXIT_PIPE, "")

    def test_demo_ends_quietly(self) -> None:
        assert into_closed_pipe("demo", "--cycles", "1", "--interval", "0", "--stations", "1") == (EXIT_PIPE, "")

    def test_help_ends_quietly(self) -> None:
        # argparse itself ignores a failed write of the help text, and then exits 0 as for any --help.
        assert into_closed_pipe("--help") == (0, "")


class TestCtrlC:
    def test_scrape_waiting_for_the_api_prints_one_line(self, sim, device_config) -> None:
        sim.faults.blackhole = True
        process = start("scrape", str(device_config(timeout=30)))
        wait_until(lambda: sum(sim.calls.values()) > 0, "the first API call")
        assert interrupt(process) == (EXIT_INTERRUPTED, "", "interrupted\n")

    def test_set_interrupted_before_the_write_was_sent(self, sim, device_config, silent_server) -> None:
        port, accepted = silent_server
        # The WSDL never arrives, so the write cannot have been built, let alone sent.
        config = device_config(wsdl=f"http://127.0.0.1:{port}/cp_api_5.0.wsdl", timeout=30)
        process = start("set", str(config), "allowedLoadPort1", "3")
        wait_until(lambda: accepted, "the WSDL request")
        assert interrupt(process) == (EXIT_INTERRUPTED, "", "interrupted before the write was sent\n")

    def test_set_interrupted_after_the_write_was_sent(self, sim, device_config) -> None:
        sim.faults.blackhole = True
        sim.faults.operations = {"shedLoad"}  # the write arrives and is never answered
        process = start("set", str(device_config(timeout=30)), "allowedLoadPort1", "3")
        wait_until(lambda: sim.calls["shedLoad"] == 1, "the shedLoad request")
        assert interrupt(process) == (EXIT_INTERRUPTED, "", "interrupted after the write was sent: read shedState to "
                                                            "know whether it took effect\n")

    def test_demo_stops_its_simulator(self) -> None:
        process = start("demo", "--cycles", "2", "--interval", "30", "--stations", "1")
        first = process.stdout.readline()
        assert first.startswith("ChargePoint API simulator listening at http://127.0.0.1:"), first
        url = first.split()[5]
        wait_until(lambda: "[poll 1/2]" in process.stdout.readline(), "the first poll")
        code, _out, err = interrupt(process)
        assert (code, err) == (EXIT_INTERRUPTED, "interrupted\n")
        host, port = url.removeprefix("http://").split(":")
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((host, int(port)), timeout=2).close()
