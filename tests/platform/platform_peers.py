"""The processes a platform test talks to besides the platform: the bus client agent and the simulator.

- ``BusClient`` drives ``bus_client.py`` inside the platform's venv: it subscribes to ``devices/...`` and makes
  RPC calls to the Platform Driver agent as a separate agent identity.
- ``SimulatorProcess`` runs the ChargePoint simulator from the project's venv in its own process (sim_process.py),
  and reads its true state, the calls it received, and changes it directly.

Both end when their stdin closes; every wait has a deadline.
"""
from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


class PlatformError(AssertionError):
    """A step of the platform's life failed; the message carries the command's output or the log's tail."""


def wait_for(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    """Polls condition until it returns something truthy, and returns it; fails naming what after timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise PlatformError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def end_helper(proc: subprocess.Popen) -> None:
    """End a helper process that stops when its stdin closes; kill its group if it does not within 10 s."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(OSError, ValueError):
        proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


class BusClient:
    """Talks to one bus_client.py process: collects its publishes, sends RPC requests, matches answers."""

    def __init__(self, cmd: list[str], env: dict[str, str], cwd: Path) -> None:
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, text=True, bufsize=1, start_new_session=True)
        self._cond = threading.Condition()
        self.publishes: list[dict[str, Any]] = []
        self._answers: dict[int, dict[str, Any]] = {}
        self._ready = False
        self._next_id = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                item = json.loads(line)
            except ValueError:
                continue
            with self._cond:
                if item.get("event") == "ready":
                    self._ready = True
                elif item.get("event") == "publish":
                    self.publishes.append(item)
                elif "id" in item:
                    self._answers[item["id"]] = item
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-4000:]

    def _wait(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        found: list[Any] = []

        def done() -> bool:
            value = predicate()  # may consume what it finds (an RPC answer): keep it
            if value:
                found.append(value)
                return True
            return self.proc.poll() is not None

        with self._cond:
            self._cond.wait_for(done, timeout)
        if found:
            return found[0]
        if self.proc.poll() is not None:
            raise PlatformError(f"bus client exited ({self.proc.returncode}) waiting for {what}:\n{self.stderr()}")
        raise PlatformError(f"timed out after {timeout:.0f} s waiting for {what}")

    def wait_ready(self, timeout: float) -> None:
        self._wait(lambda: self._ready, timeout, "the bus client to connect")

    def rpc(self, peer: str, method: str, *args: Any, timeout: float = 30, **kwargs: Any) -> dict[str, Any]:
        """Calls peer.method; returns {"ok": True, "result": ...} or {"ok": False, "error": {type, message, ...}}."""
        with self._cond:
            self._next_id += 1
            request_id = self._next_id
        request = {"id": request_id, "op": "rpc", "peer": peer, "method": method, "args": list(args),
                   "kwargs": kwargs, "timeout": timeout}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self._wait(lambda: self._answers.pop(request_id, None), timeout + 10, f"the answer to {method}")

    def mark(self) -> int:
        """A position in the stream of publishes, to wait for ones that arrive after it."""
        with self._cond:
            return len(self.publishes)

    def wait_publish(self, topic: str, timeout: float, since: int = 0,
                     where: Callable[[dict[str, Any]], bool] = lambda item: True) -> dict[str, Any]:
        """The first publish on topic after position since that satisfies where."""
        def find():
            for item in self.publishes[since:]:
                if item["topic"] == topic and where(item):
                    return item
            return None
        return self._wait(find, timeout, f"a publish on {topic}")

    def close(self) -> None:
        end_helper(self.proc)


class SimulatorProcess:
    """The ChargePoint simulator in its own process (sim_process.py, with the project's Python).

    Its true state and call counters are read through the process's pipes; it stops when its stdin closes.
    """

    def __init__(self, *args: str, python: str = sys.executable) -> None:
        self.cmd = [python, str(HERE / "sim_process.py"), *args]
        self.proc: subprocess.Popen | None = None
        self.wsdl_url = ""
        self.endpoint = ""
        self._stderr = tempfile.TemporaryFile()
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._next_id = 0

    def start(self, timeout: float = 60) -> SimulatorProcess:
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                     text=True, bufsize=1, start_new_session=True, cwd=ROOT,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        threading.Thread(target=self._read, daemon=True).start()
        ready = self._next(timeout, "the simulator to start")
        self.wsdl_url, self.endpoint = ready["wsdl_url"], ready["endpoint"]
        return self

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-4000:]

    def _next(self, timeout: float, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PlatformError(f"timed out after {timeout:.0f} s waiting for {what}:\n{self.stderr()}")
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise PlatformError(f"the simulator exited waiting for {what}:\n{self.stderr()}")
            with contextlib.suppress(ValueError):
                return json.loads(line)

    def request(self, op: str, timeout: float = 30, **fields: Any) -> Any:
        with self._lock:
            self._next_id += 1
            self.proc.stdin.write(json.dumps({"id": self._next_id, "op": op, **fields}) + "\n")
            self.proc.stdin.flush()
            reply = self._next(timeout, f"the simulator's answer to {op}")
        if not reply.get("ok"):
            raise PlatformError(f"simulator {op} failed: {reply.get('error')}")
        return reply["result"]

    def station(self, station_id: str) -> dict[str, Any]:
        """The station's true state now (see sim_process.py)."""
        return self.request("station", id=station_id)

    def calls(self) -> dict[str, int]:
        return self.request("calls")

    def reset_calls(self) -> None:
        """Zero the call counters and forget the requests received (writes included)."""
        self.request("reset_calls")

    def writes(self) -> list[tuple[str, dict[str, Any]]]:
        """(operation, fields) of every write request since the last reset_calls, oldest first."""
        return [(operation, fields) for operation, fields in self.request("writes")]

    def stop(self) -> None:
        if self.proc is not None:
            end_helper(self.proc)
