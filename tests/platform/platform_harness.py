"""Runs a real VOLTTRON platform for the end-to-end tests.

- ``prepare_environment()`` runs ``scripts/platform-env.sh`` (user, venv, VOLTTRON_HOME; idempotent, and the venv
  is cached outside the clone).
- ``Platform`` makes a fresh VOLTTRON_HOME (the script writes the poetry project the platform needs into it),
  starts ``volttron`` as the platform user, wraps ``vctl``, restarts the platform as an operator does and reads
  its log record by record. ``stop()`` shuts the platform down and then ends, by pid, every process that still
  carries this VOLTTRON_HOME in its environment.
- The bus client and the simulator beside the platform are in ``platform_peers.py``.

Every wait has a deadline; nothing synchronises by sleeping a fixed time.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from platform_peers import BusClient, PlatformError, wait_for

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
ENV_SCRIPT = ROOT / "scripts" / "platform-env.sh"
DEFAULT_BASE = "/var/tmp/chargepoint-platform"
# Environment variables the platform user keeps: certificates and proxies, needed by poetry and pip.
PASSED_THROUGH = re.compile(r"^(SSL_CERT_FILE|SSL_CERT_DIR|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|PIP_.*|"
                            r"(?i:https?_proxy|no_proxy)|LANG|LC_ALL|TZ)$")


# The commands a user types too (README.rst, "Run it in a real platform", shows them; test_readme_commands.py checks).
VOLTTRON_START = ["volttron", "-vv", "-l"]
# --enable: the agent starts again with the platform (`vctl enable` afterwards removes autostart in this release).
PLATFORM_DRIVER_INSTALL = ["install", "volttron-platform-driver", "--vip-identity", "platform.driver", "--tag",
                           "driver", "--enable", "--start"]
HISTORIAN_INSTALL = ["install", "volttron-sqlite-historian", "--vip-identity", "platform.historian", "--tag",
                     "historian", "--enable", "--start", "--agent-config"]
PLATFORM_SHUTDOWN = ["shutdown", "--platform"]
# The first line of each platform log record: date, time, optional (PID:n), logger(line), level.
LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (?:\(PID:\d+\) )?\S+ ([A-Z]+): ", re.M)


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
        self._launch()

    def _launch(self) -> None:
        """Starts volttron in the prepared VOLTTRON_HOME and waits until it answers."""
        log = open(self.home / "platform.out", "ab")
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

    def restart(self) -> None:
        """``vctl shutdown --platform``, then ``volttron`` again in the same VOLTTRON_HOME, as an operator does.

        Bus clients end with the platform: make new ones after. Agents installed with --enable start again.
        """
        survivors = self._shut_down()
        if survivors:
            raise PlatformError(f"processes survived the platform's shutdown: {survivors}")
        self._launch()

    def _shut_down(self) -> list[int]:
        for client in self._clients:
            client.close()
        self._clients.clear()
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

    def stop(self) -> list[int]:
        """Shuts the platform down and ends every process left with this VOLTTRON_HOME; returns pids that survived."""
        try:
            return self._shut_down()
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

    def install_historian(self, database: Path) -> None:
        """``vctl install volttron-sqlite-historian`` (from the package index) storing into database."""
        config = self.home / "inputs" / "historian.config"
        config.write_text(json.dumps({"connection": {"type": "sqlite", "params": {"database": str(database)}}}))
        self._give_to_user(config)
        self.vctl(*HISTORIAN_INSTALL, str(config), timeout=300)
        wait_for(lambda: re.search(r"platform\.historian.*\brunning\b", self.vctl("status").stdout),
                 60, "platform.historian to be running", interval=1)

    def install_lib(self, project: Path = ROOT) -> str:
        """`vctl install-lib` of a copy of the project (the platform user builds it, so it needs its own copy)."""
        stage = self.home / "src-stage"
        shutil.copytree(project / "src", stage / "src",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        for name in ("pyproject.toml", "README.rst"):
            shutil.copy2(project / name, stage / name)
        self._give_to_user(stage)
        return self.vctl("install-lib", str(stage), timeout=300).stdout

    def import_error(self, module: str) -> str | None:
        """Why the platform's Python cannot import module (as the platform user), or None when it can."""
        proc = self.run([str(self.env.venv / "bin" / "python"), "-c", f"import {module}"], timeout=60, check=False)
        return None if proc.returncode == 0 else (proc.stderr.strip().splitlines() or ["no output"])[-1]

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

    def log_records(self, start: int = 0) -> list[tuple[str, str]]:
        """(level, text with any traceback) of every log record after character offset start."""
        text = self.log_text()[start:]
        heads = list(LOG_RECORD.finditer(text))
        return [(head.group(1), text[head.start():nxt.start() if nxt else len(text)])
                for head, nxt in zip(heads, [*heads[1:], None])]

    def log_problems(self, start: int = 0, allowed: tuple[str, ...] = ()) -> list[str]:
        """Log records after start that carry a traceback or are ERROR or CRITICAL, except those (with their
        traceback) whose text matches a regular expression of allowed."""
        return [text.strip() for level, text in self.log_records(start)
                if (level in ("ERROR", "CRITICAL") or "Traceback (most recent call last)" in text)
                and not any(re.search(pattern, text) for pattern in allowed)]

    def wait_for_log(self, pattern: str, timeout: float, start: int = 0) -> re.Match:
        """Waits for a regular expression to match the platform log after character offset start."""
        regex = re.compile(pattern)
        return wait_for(lambda: regex.search(self.log_text(), start), timeout, f"log line matching {pattern!r}")


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
