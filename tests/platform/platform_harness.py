"""Runs a real VOLTTRON platform for the end-to-end tests, and the ChargePoint simulator beside it.

The pieces, in the order a test session uses them:

- ``prepare_environment()`` runs ``scripts/platform-env.sh`` (user, venv, VOLTTRON_HOME; idempotent, and the venv
  is cached outside the clone).
- ``Platform`` makes a fresh VOLTTRON_HOME (the script writes the poetry project the platform needs into it),
  starts ``volttron`` as the platform user, and wraps ``vctl``. ``stop()`` shuts the platform down and then ends, by pid, every process that
  still carries this VOLTTRON_HOME in its environment.
- ``BusClient`` drives ``bus_client.py`` inside the platform's venv: it subscribes to ``devices/...`` and makes
  RPC calls to the Platform Driver agent as a separate agent identity.
- ``SimulatorProcess`` runs the ChargePoint simulator from the project's venv in its own process (sim_process.py).

Every wait has a deadline; nothing synchronises by sleeping a fixed time.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
ENV_SCRIPT = ROOT / "scripts" / "platform-env.sh"
DEFAULT_BASE = "/var/tmp/chargepoint-platform"
# Environment variables the platform user keeps: certificates and proxies, needed by poetry and pip.
PASSED_THROUGH = re.compile(r"^(SSL_CERT_FILE|SSL_CERT_DIR|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|PIP_.*|"
                            r"(?i:https?_proxy|no_proxy)|LANG|LC_ALL|TZ)$")


# The commands a user types too (README.rst, "Run it in a real platform", shows them; test_readme_commands.py checks).
VOLTTRON_START = ["volttron", "-vv", "-l"]
PLATFORM_DRIVER_INSTALL = ["install", "volttron-platform-driver", "--vip-identity", "platform.driver", "--tag",
                           "driver", "--start"]
PLATFORM_SHUTDOWN = ["shutdown", "--platform"]



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

class PlatformError(AssertionError):
    """A step of the platform's life failed; the message carries the command's output or the log's tail."""


@dataclass(frozen=True)
class PlatformEnvironment:
    """What ``scripts/platform-env.sh`` prepared."""
    user: str
    venv: Path
    base: Path
    home: Path

    @property
    def as_root(self) -> bool:
        return os.geteuid() == 0


def platform_base() -> Path:
    """Where scripts/platform-env.sh keeps the venv, the user's home and the runs (outside any clone)."""
    return Path(os.environ.get("CHARGEPOINT_PLATFORM_BASE", DEFAULT_BASE))


def prepare_environment(volttron_home: Path | None = None, timeout: float = 540) -> PlatformEnvironment:
    """Runs scripts/platform-env.sh (slow the first time on a machine, about a second after) and parses its output.

    With volttron_home, the script also writes the poetry project the platform needs there.
    """
    cmd = ["bash", str(ENV_SCRIPT)] + (["--volttron-home", str(volttron_home)] if volttron_home else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          env={**os.environ, "CHARGEPOINT_PLATFORM_LOCK_HELD": "1"})
    if proc.returncode != 0:
        raise PlatformError(f"{ENV_SCRIPT} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    values = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    return PlatformEnvironment(user=values["PLATFORM_USER"], venv=Path(values["PLATFORM_VENV"]),
                               base=Path(values["PLATFORM_BASE"]), home=Path(values["PLATFORM_HOME"]))


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


def pids_with_env(name: str, value: str, prefix: bool = False) -> list[int]:
    """Pids of processes whose environment has name=value (or a value starting with it); readable ones only."""
    needle = f"{name}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if any(var.startswith(needle) if prefix else var == needle for var in environ.split(b"\0")):
            found.append(int(entry.name))
    return found


def _terminate_with_parent() -> None:
    """In a child before exec: ask the kernel for SIGTERM when the parent dies (prctl PR_SET_PDEATHSIG)."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)


def end_processes(pids: list[int], grace: float = 10) -> list[int]:
    """SIGTERM, then SIGKILL after grace s, the given pids; returns those still alive at the end (should be none)."""
    def alive(pid: int) -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state != "Z"

    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(alive(p) for p in pids):
            time.sleep(0.1)
        pids = [p for p in pids if alive(p)]
        if not pids:
            break
    return pids


class Platform:
    """One VOLTTRON platform with its own VOLTTRON_HOME, run as the unprivileged platform user."""

    START_TIMEOUT = 120
    STOP_TIMEOUT = 60

    def __init__(self) -> None:
        self.base = platform_base()
        self.env: PlatformEnvironment | None = None  # known once start() has run scripts/platform-env.sh
        self.home = Path()  # a fresh VOLTTRON_HOME under <base>/runs, made by start()
        self.process: subprocess.Popen | None = None
        self._clients: list[BusClient] = []
        self._lock_file = None
        self._reaper: subprocess.Popen | None = None

    # ----- life cycle
    def start(self) -> None:
        """Takes the machine-wide lock (runs share the venv), ends processes a killed run left, prepares the user,
        venv and a fresh VOLTTRON_HOME with scripts/platform-env.sh, and starts volttron."""
        self.base.mkdir(parents=True, exist_ok=True)
        self._lock_file = (self.base / "platform.lock").open("a")
        deadline = time.monotonic() + 600
        while True:
            try:
                fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise PlatformError(f"another platform test run has held {self.base / 'platform.lock'} "
                                        "for 10 minutes") from None
                time.sleep(1)
        runs = self.base / "runs"
        leftovers = pids_with_env("VOLTTRON_HOME", str(runs) + "/", prefix=True)
        if leftovers:
            end_processes(leftovers)
        if runs.is_dir():
            for old in runs.iterdir():
                shutil.rmtree(old, ignore_errors=True)
        runs.mkdir(exist_ok=True)
        os.chmod(runs, 0o755)
        self.home = Path(tempfile.mkdtemp(prefix="vhome-", dir=runs))
        (self.home / "inputs").mkdir()
        # A watchdog that outlives this process: when our end of its pipe closes (normal stop, or this process
        # killed outright), it ends whatever still runs with this VOLTTRON_HOME (agents survive their platform).
        self._reaper = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--reap", str(self.home)],
                                        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, start_new_session=True)
        self.env = prepare_environment(self.home)
        self._give_to_user(self.home)
        log = open(self.home / "platform.out", "wb")
        # If this test process dies without its clean-up (SIGKILL), the platform gets SIGTERM from the kernel;
        # the next run also ends whatever a killed run left behind.
        volttron = [str(self.env.venv / "bin" / VOLTTRON_START[0]), *VOLTTRON_START[1:], str(self.log_path)]
        self.process = subprocess.Popen(
            self._as_user(volttron, pdeathsig=True), env=self.user_env(), cwd=self.home, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=None if self.env.as_root else _terminate_with_parent)
        log.close()

        def ready() -> bool:
            if self.process.poll() is not None:
                raise PlatformError(f"volttron exited with {self.process.returncode} during start-up:\n"
                                    f"{self.tail(self.home / 'platform.out')}\n{self.tail()}")
            return self.vctl("status", check=False, timeout=30).returncode == 0

        wait_for(ready, self.START_TIMEOUT, "the platform to answer `vctl status`", interval=1)

    def stop(self) -> list[int]:
        """Shuts the platform down and ends every process left with this VOLTTRON_HOME; returns pids that survived."""
        try:
            for client in self._clients:
                client.close()
            if self.process is not None and self.process.poll() is None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.vctl(*PLATFORM_SHUTDOWN, check=False, timeout=30)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=self.STOP_TIMEOUT)
            if self.process is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.process.pid, signal.SIGTERM)
            survivors = end_processes(self.processes()) if self.home != Path() else []
            if self.process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=10)
            return survivors
        finally:
            if self._reaper is not None:
                with contextlib.suppress(OSError, ValueError):
                    self._reaper.stdin.close()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._reaper.wait(timeout=30)
            if self._lock_file is not None:
                self._lock_file.close()  # releases the lock
                self._lock_file = None

    def processes(self) -> list[int]:
        """Pids of every live process started for this platform (platform, agents, vctl, bus clients)."""
        return pids_with_env("VOLTTRON_HOME", str(self.home)) if self.home != Path() else []

    # ----- running things as the platform user
    def user_env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if PASSED_THROUGH.match(k)}
        env.update(HOME=str(self.env.home), USER=self.env.user, LOGNAME=self.env.user,
                   PATH=f"{self.env.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
                   # poetry, run by the platform for `vctl install` and `install-lib`, installs into the environment
                   # named by VIRTUAL_ENV; without it, it targets the interpreter the venv was made from.
                   VIRTUAL_ENV=str(self.env.venv),
                   VOLTTRON_HOME=str(self.home), PYTHONUNBUFFERED="1")
        env.update(extra)
        return env

    def _as_user(self, cmd: list[str], pdeathsig: bool = False) -> list[str]:
        if not self.env.as_root:
            return cmd
        # setpriv sets the parent-death signal after changing user (a change of user clears it).
        death = ["--pdeathsig", "TERM"] if pdeathsig else []
        return ["setpriv", "--reuid", self.env.user, "--regid", self.env.user, "--clear-groups", *death, *cmd]

    def _give_to_user(self, path: Path) -> None:
        if self.env.as_root:
            subprocess.run(["chown", "-R", f"{self.env.user}:", str(path)], check=True, timeout=60)

    def run(self, cmd: list[str], timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        """Runs cmd as the platform user in VOLTTRON_HOME; with check, fails with its output on a non-zero exit."""
        proc = subprocess.run(self._as_user(cmd), env=self.user_env(), cwd=self.home, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise PlatformError(f"{' '.join(cmd)} exited with {proc.returncode}\nstdout:\n{proc.stdout}\n"
                                f"stderr:\n{proc.stderr}\nplatform log:\n{self.tail()}")
        return proc

    def vctl(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        return self.run([str(self.env.venv / "bin" / "vctl"), *args], timeout=timeout, check=check)

    # ----- what a user does with vctl
    def install_platform_driver(self) -> None:
        self.vctl(*PLATFORM_DRIVER_INSTALL, timeout=300)
        wait_for(lambda: re.search(r"platform\.driver.*\brunning\b", self.vctl("status").stdout),
                 60, "platform.driver to be running", interval=1)

    def install_lib(self, project: Path = ROOT) -> str:
        """`vctl install-lib` of a copy of the project (the platform user builds it, so it needs its own copy)."""
        stage = self.home / "src-stage"
        shutil.copytree(project / "src", stage / "src",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        for name in ("pyproject.toml", "README.rst"):
            shutil.copy2(project / name, stage / name)
        self._give_to_user(stage)
        return self.vctl("install-lib", str(stage), timeout=300).stdout

    def store_config(self, identity: str, name: str, contents: str | bytes | dict | Path,
                     kind: str = "json") -> None:
        """`vctl config store IDENTITY NAME FILE --KIND` (json, csv or raw) from a file the platform user can read."""
        if isinstance(contents, Path):
            contents = contents.read_bytes()
        elif isinstance(contents, dict):
            contents = json.dumps(contents, indent=2)
        if isinstance(contents, str):
            contents = contents.encode()
        path = self.home / "inputs" / re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        path.write_bytes(contents)
        self._give_to_user(path)
        self.vctl("config", "store", identity, name, str(path), f"--{kind}", timeout=60)

    def delete_config(self, identity: str, name: str) -> None:
        self.vctl("config", "delete", identity, name, timeout=60)

    def bus_client(self, identity: str, *prefixes: str) -> BusClient:
        script = self.home / "bus_client.py"
        if not script.exists():
            shutil.copy2(HERE / "bus_client.py", script)
            self._give_to_user(script)
        client = BusClient(self._as_user([str(self.env.venv / "bin" / "python"), str(script), identity,
                                          *prefixes]), env=self.user_env(), cwd=self.home)
        self._clients.append(client)
        client.wait_ready(timeout=60)
        return client

    # ----- logs
    @property
    def log_path(self) -> Path:
        return self.home / "volttron.log"

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def tail(self, path: Path | None = None, lines: int = 40) -> str:
        try:
            text = (path or self.log_path).read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def wait_for_log(self, pattern: str, timeout: float, start: int = 0) -> re.Match:
        """Waits for a regular expression to match the platform log after character offset start."""
        regex = re.compile(pattern)
        return wait_for(lambda: regex.search(self.log_text(), start), timeout, f"log line matching {pattern!r}")


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
        self.request("reset_calls")

    def stop(self) -> None:
        if self.proc is not None:
            end_helper(self.proc)


@contextlib.contextmanager
def running_platform() -> Iterator[Platform]:
    """A started platform that is stopped, with every process it made ended, however the block exits."""
    platform = Platform()
    try:
        platform.start()
        yield platform
    finally:
        survivors = platform.stop()
        if survivors:
            raise PlatformError(f"processes survived the platform's shutdown: {survivors}")


def _reap(volttron_home: str) -> None:
    """The watchdog's body: wait for stdin to close, then end every process left with this VOLTTRON_HOME."""
    sys.stdin.read()
    end_processes(pids_with_env("VOLTTRON_HOME", volttron_home))


if __name__ == "__main__" and sys.argv[1:2] == ["--reap"]:
    _reap(sys.argv[2])
