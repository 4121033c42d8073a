"""Benchmark of the ChargePoint driver against the simulator on loopback; prints its figures.

Run from the repository root (creates .venv on first use)::

    ./bench.sh            # full run: fleets of 1, 10, 100 and 1000 devices in a 1000-station organisation
    ./bench.sh --quick    # fleets up to 100, one run less
    ./bench.sh --large    # also 5000 devices in a 5000-station organisation (a few more minutes)

The simulator runs in its own process (``chargepoint-sim``), so CPU time measured here is the driver's alone.
Every figure is the median of ``--runs`` runs; "per-station" is the naive pattern measured in the same run: every
method asked for every station at every poll (batching off, cacheExpiration and staticExpiration 0), as the old
driver did.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
import urllib.request  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

import gevent  # noqa: E402
import logging  # noqa: E402

from volttron.driver.interfaces.chargepoint import wsdl as wsdl_module  # noqa: E402
from volttron.driver.interfaces.chargepoint.account import account_for, forget_accounts  # noqa: E402
from volttron.driver.interfaces.chargepoint.config import AccountSettings  # noqa: E402
from volttron.driver.interfaces.chargepoint.models import STATION_SOURCES  # noqa: E402
from volttron.driver.interfaces.chargepoint.standalone import Device, build_device, read_config_file  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
USERNAME, PASSWORD = "bench-license-key", "bench-password"


class SimulatorProcess:
    """``chargepoint-sim`` on a free loopback port, driven through its admin endpoint."""

    def __init__(self, stations: int) -> None:
        command = [str(Path(sys.executable).with_name("chargepoint-sim")), "--port", "0", "--stations",
                   str(stations), "--seed", "1", "--username", USERNAME, "--password", PASSWORD,
                   "--log-level", "WARNING"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        deadline = time.monotonic() + 30
        self.wsdl = ""
        while time.monotonic() < deadline and not self.wsdl:
            line = self.process.stdout.readline()  # type: ignore[union-attr]
            if not line and self.process.poll() is not None:
                raise RuntimeError("chargepoint-sim exited before printing its URL")
            match = re.match(r"WSDL:\s+(\S+)", line)
            if match:
                self.wsdl = match.group(1)
        if not self.wsdl:
            self.stop()
            raise RuntimeError("chargepoint-sim did not print its URL within 30 s")
        self.base = self.wsdl.rsplit("/", 1)[0]

    def admin(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(f"{self.base}/admin/{path}", data=data,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.loads(reply.read())

    def total_calls(self) -> int:
        return int(self.admin("calls")["total"])

    def reset(self) -> None:
        self.admin("calls/reset", {})

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def sample_rows() -> list[dict[str, str]]:
    with (ROOT / "chargepoint.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


TIMEOUT = 60.0
PORT_CHURN = 0.01  # share of the organisation's ports that change status between cycles in the "changed" scenario


def make_devices(sim: SimulatorProcess, station_ids: list[str], rows: list[dict[str, str]],
                 cache_expiration: float = 30, batching: bool = True, static_expiration: float = 3600
                 ) -> list[Device]:
    """Devices of one account; ``batching`` False makes the account ask per station, as the old driver did."""
    # Held while the devices join it (accounts live as long as something holds them).
    account = account_for(AccountSettings(USERNAME, PASSWORD, wsdl=sim.wsdl, timeout=TIMEOUT), batching=batching)
    raw = read_config_file(ROOT / "chargepoint.config")
    devices = [build_device(raw, rows, f"devices/bench/cp{i}", {
        "stationID": sid, "username": USERNAME, "password": PASSWORD, "wsdl": sim.wsdl, "timeout": TIMEOUT,
        "cacheExpiration": cache_expiration, "staticExpiration": static_expiration})
        for i, sid in enumerate(station_ids)]
    assert all(device.interface.account is account for device in devices)
    return devices


def poll_together(devices: list[Device]) -> tuple[int, str]:
    """Poll every device at once: (devices with read errors, one of the errors) - a figure, not a crash: the
    per-station pattern cannot read the largest fleets within the timeout, and the table says so."""
    cycle = [gevent.spawn(device.scrape) for device in devices]
    gevent.joinall(cycle, raise_error=True)
    failed = [errors for _values, errors in (g.value for g in cycle) if errors]
    return len(failed), next(iter(failed[0].values())) if failed else ""


def median_of(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


class ShiftedClock:
    """An account's clock that the benchmark moves forward: cached answers age as they would in the time between
    two polls (they stay in the cache, expired, as in real operation), without waiting for it."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


def expire(devices: list[Device], static: bool = True) -> None:
    """Make the next poll find the live cached answers expired, as ``cacheExpiration`` passing would (``static``:
    ``staticExpiration`` too, which also brings the sessions' safety refresh); what the account learned (group
    membership, session history, costs) stays."""
    for device in devices:
        cache = device.interface.account.cache
        if not isinstance(cache.clock, ShiftedClock):
            cache.clock = ShiftedClock()
    passed = max(d.interface.settings.static_expiration if static else d.interface.settings.cache_expiration
                 for d in devices) + 1
    for clock in {id(d.interface.account.cache.clock): d.interface.account.cache.clock for d in devices}.values():
        clock.offset += passed


def bench_calls_per_poll(sim: SimulatorProcess, station_ids: list[str], rows: list[dict[str, str]]) -> list[str]:
    forget_accounts()
    device = make_devices(sim, station_ids[:1], rows, cache_expiration=60)[0]
    sim.reset()
    device.scrape()
    cold = sim.total_calls()
    sim.reset()
    device.scrape()
    warm = sim.total_calls()
    return [f"1. SOAP calls per poll, full sample registry ({len(rows)} points): cold {cold}, warm {warm}"]


def bench_latency(sim: SimulatorProcess, station_ids: list[str], rows: list[dict[str, str]], runs: int) -> list[str]:
    lines = ["2. Poll latency with L ms added to every API call (cold cache; ratio = poll time / L)"]
    for latency in (50, 200):
        sim.admin("faults", {"clear": True, "latency_ms": latency})
        forget_accounts()
        device = make_devices(sim, station_ids[:1], rows)[0]
        device.scrape()  # WSDL and connection warm-up

        def concurrent() -> float:
            expire([device])
            started = time.perf_counter()
            device.scrape()
            return (time.perf_counter() - started) * 1000

        def sequential() -> float:
            # What a driver that asks for each API method in turn would take.
            expire([device])
            account = device.interface.account
            started = time.perf_counter()
            for source in STATION_SOURCES:
                account.read(source, device.interface.settings.station_id, 30)
            return (time.perf_counter() - started) * 1000

        fast, slow = median_of(runs, concurrent), median_of(runs, sequential)
        lines.append(f"   L={latency:>3} ms: concurrent {fast:7.1f} ms (ratio {fast / latency:.2f}); "
                     f"one method after another {slow:7.1f} ms (ratio {slow / latency:.2f})")
    sim.admin("faults", {"clear": True})
    return lines


@dataclass
class Cycle:
    """One poll cycle of a fleet: API calls, wall time, and the driver's CPU time per device-poll."""

    calls: float
    seconds: float
    cpu_ms: float
    failed: int = 0  # devices with read errors in the worst of the runs
    error: str = ""  # one of those errors


def measure_cycle(sim: SimulatorProcess, devices: list[Device], prepare: Callable[[], None], runs: int) -> Cycle:
    cycles = []
    for _ in range(runs):
        prepare()
        sim.reset()
        cpu, started = time.process_time(), time.perf_counter()
        failed, error = poll_together(devices)
        cycles.append(Cycle(sim.total_calls(), time.perf_counter() - started,
                            (time.process_time() - cpu) * 1000 / len(devices), failed, error))
    return median_cycle(cycles)


def median_cycle(cycles: list[Cycle]) -> Cycle:
    """The median of each figure, and the worst run's errors."""
    worst = max(cycles, key=lambda c: c.failed)
    return Cycle(*(statistics.median(getattr(c, name) for c in cycles) for name in ("calls", "seconds", "cpu_ms")),
                 worst.failed, worst.error)


class PortChurn:
    """Changes the status of a share of the organisation's ports before each cycle (seeded): ports that were
    charging stop (their session ends) and as many idle ports start."""

    def __init__(self, sim: SimulatorProcess, station_ids: list[str]) -> None:
        self.sim = sim
        ports = sim.admin("stations")["ports"]
        self.ports = [(sid, int(number)) for sid in station_ids for number in ports[sid]]
        self.rng = random.Random(1)
        self.charging: set[tuple[str, int]] = set()

    def __call__(self) -> None:
        count = max(1, round(len(self.ports) * PORT_CHURN / 2))
        stopping = self.rng.sample(sorted(self.charging), min(count, len(self.charging)))
        starting = self.rng.sample([p for p in self.ports if p not in self.charging], count)
        changes = [{"stationID": sid, "port": port, "status": "AVAILABLE"} for sid, port in stopping]
        changes += [{"stationID": sid, "port": port, "status": "INUSE", "load_kw": 3.0} for sid, port in starting]
        answer = self.sim.admin("ports", {"changes": changes})
        self.charging = (self.charging - set(stopping)) | set(starting)
        assert answer["changed"] == len(changes)


SCENARIOS = {
    "first": "first poll after a start: nothing known yet (sessions: the last day, whole histories where a port "
             "had none); median of fresh starts",
    "cold": "every cached answer expired (cacheExpiration and staticExpiration passed)",
    "warm": "live answers expired, inventory and rights still fresh, nothing changed",
    "changed": f"as warm, after {PORT_CHURN:.0%} of the organisation's ports changed status (half stopped charging)",
}


def fleet_figures(sim: SimulatorProcess, station_ids: list[str], fleet: list[str], rows: list[dict[str, str]],
                  runs: int, batched: bool) -> dict[str, Cycle]:
    def start() -> list[Device]:
        forget_accounts()
        # The naive pattern: no batching, nothing kept between polls (cacheExpiration and staticExpiration 0).
        return make_devices(sim, fleet, rows, batching=batched, cache_expiration=30 if batched else 0,
                            static_expiration=3600 if batched else 0)

    firsts = []
    for _ in range(runs):  # a first poll happens once per start: the median of as many fresh starts
        devices = start()
        firsts.append(measure_cycle(sim, devices, lambda: None, 1))
    figures = {"first": median_cycle(firsts)}
    if not batched:  # the naive pattern asks everything at every poll: one steady cycle says it all
        figures["cold"] = figures["warm"] = figures["changed"] = measure_cycle(sim, devices, expire_all(devices), runs)
        return figures
    figures["cold"] = measure_cycle(sim, devices, expire_all(devices), runs)
    figures["warm"] = measure_cycle(sim, devices, lambda: expire(devices, static=False), runs)
    churn = PortChurn(sim, station_ids)

    def changed() -> None:
        churn()
        expire(devices, static=False)
    changed()
    poll_together(devices)  # steady churn: each cycle sees new changes and reads the sessions of the last ones
    figures["changed"] = measure_cycle(sim, devices, changed, runs)
    churn_back(sim, churn)
    return figures


def expire_all(devices: list[Device]) -> Callable[[], None]:
    return lambda: expire(devices)


def churn_back(sim: SimulatorProcess, churn: PortChurn) -> None:
    """Hand the ports the benchmark set back to the simulated organisation's own life."""
    sim.admin("ports", {"changes": [{"stationID": sid, "port": port, "status": "AVAILABLE"}
                                    for sid, port in sorted(churn.charging)]})


def bench_fleet(sim: SimulatorProcess, station_ids: list[str], rows: list[dict[str, str]], runs: int,
                sizes: list[int]) -> list[str]:
    lines = [f"3. N devices of a {len(station_ids)}-station organisation on one account, polled together: API calls "
             "and wall time per cycle,", "   driver CPU per device-poll; ratio = per-station / batched (>= 1: "
             "batched costs no more)"]
    results = {size: (fleet_figures(sim, station_ids, station_ids[:size], rows, runs, True),
                      fleet_figures(sim, station_ids, station_ids[:size], rows, runs, False)) for size in sizes}
    for scenario, meaning in SCENARIOS.items():
        lines.append(f"   {scenario}: {meaning}")
        lines.append(f"   {'N':>6}  {'calls':>6}  {'wall s':>7}  {'CPU ms':>6}    {'per-station calls':>17}  "
                     f"{'wall s':>7}    {'calls ratio':>11}  {'time ratio':>10}")
        for size, (batched, naive) in results.items():
            b, p = batched[scenario], naive[scenario]
            lines.append(f"   {size:>6}  {b.calls:>6.0f}  {b.seconds:>7.2f}  {b.cpu_ms:>6.2f}    {p.calls:>17.0f}  "
                         f"{p.seconds:>7.2f}    {p.calls / max(b.calls, 1):>10.1f}x  "
                         f"{p.seconds / max(b.seconds, 1e-3):>9.1f}x")
            for pattern, cycle in (("batched", b), ("per-station", p)):
                if cycle.failed:
                    lines.append(f"           {pattern}: {cycle.failed} of {size} devices had read errors, "
                                 f"e.g. {cycle.error}")
    return lines


def bench_configure(sim: SimulatorProcess, station_ids: list[str], rows: list[dict[str, str]], runs: int,
                    sizes: list[int]) -> list[str]:
    lines = ["4. Configure time (registry validated, registers built; no API call) and memory"]
    for size in sizes:
        def configure() -> float:
            forget_accounts()
            started = time.perf_counter()
            make_devices(sim, station_ids[:size], rows)
            return time.perf_counter() - started
        lines.append(f"   {size:>5} devices: {median_of(runs, configure):.3f} s")

    def parse_wsdl() -> float:
        wsdl_module.forget_prototypes()
        started = time.perf_counter()
        wsdl_module.prototype(wsdl_module.wsdl_url(None), 10, None)
        return (time.perf_counter() - started) * 1000
    lines.append(f"   WSDL parse (once per process, shared by every client): {median_of(runs, parse_wsdl):.1f} ms")

    forget_accounts()
    tracemalloc.start()
    devices = make_devices(sim, station_ids[:max(sizes)], rows)
    poll_together(devices)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    lines.append(f"   peak Python memory configuring and polling {max(sizes)} devices: {peak / 2**20:.1f} MiB "
                 f"(process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")
    return lines


def bench_cpu(sim: SimulatorProcess, station_ids: list[str], rows: list[dict[str, str]], runs: int) -> list[str]:
    forget_accounts()
    device = make_devices(sim, station_ids[:1], rows)[0]
    device.scrape()

    def one_poll() -> float:
        expire([device])
        started = time.process_time()
        device.scrape()
        return (time.process_time() - started) * 1000

    account = account_for(device.interface.settings.account_settings())
    batch = station_ids[:500]

    def batched_status() -> float:
        started = time.process_time()
        account.client.get_station_status(batch)
        return (time.process_time() - started) * 1000

    def batched_inventory() -> float:
        started = time.process_time()
        stations = account.client.get_stations()
        return (time.process_time() - started) * 1000 * 500 / max(len(stations), 1)

    return ["5. Client-side CPU time (the simulator runs in another process)",
            f"   one cold poll of a 2-port station, {len(rows)} points: {median_of(runs, one_poll):.1f} ms",
            f"   getStationStatus answer for {len(batch)} stations: {median_of(runs, batched_status):.1f} ms",
            f"   getStations answer, per 500 stations: {median_of(runs, batched_inventory):.1f} ms"]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {platform.system()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (the median is printed)")
    parser.add_argument("--quick", action="store_true", help="fleets up to 100 devices, one run less")
    parser.add_argument("--large", action="store_true", help="also 5000 devices in a 5000-station organisation")
    args = parser.parse_args(argv)
    # VOLTTRON's base interface warns on every device that it has no plugins; that is not news here.
    logging.getLogger("volttron.driver.base.interfaces").setLevel(logging.ERROR)
    runs = max(1, args.runs - (1 if args.quick else 0))
    sizes = [1, 10, 100] if args.quick else [1, 10, 100, 1000]
    sim = SimulatorProcess(stations=1000)
    try:
        ids = sim.admin("stations")["stations"]
        rows = sample_rows()
        print(f"ChargePoint driver benchmark: {' '.join(['./bench.sh', *(argv if argv is not None else sys.argv[1:])])}")
        print(f"machine: {machine()}; simulator: {len(ids)} stations on 127.0.0.1; median of {runs} runs\n")
        sections: list[Callable[[], list[str]]] = [
            lambda: bench_calls_per_poll(sim, ids, rows), lambda: bench_latency(sim, ids, rows, runs),
            lambda: bench_fleet(sim, ids, rows, runs, sizes), lambda: bench_configure(sim, ids, rows, runs, sizes),
            lambda: bench_cpu(sim, ids, rows, runs)]
        for section in sections:  # each printed as soon as it is measured
            print("\n".join(section()), flush=True)
    finally:
        sim.stop()
    if args.large:
        large = SimulatorProcess(stations=5000)
        try:
            ids = large.admin("stations")["stations"]
            print("\n".join(bench_fleet(large, ids, rows, max(1, runs - 1), [5000])), flush=True)
        finally:
            large.stop()
    return 0


def run(command: Callable[[], int]) -> None:
    """Exit with what a bench command returns; Ctrl-C or a closed pipe end it with one line, not a traceback."""
    try:
        sys.exit(command())
    except KeyboardInterrupt:  # the simulator was stopped on the way out
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except BrokenPipeError:  # the reader went away (| head): nothing more to say
        sys.stderr.close()
        sys.exit(1)


if __name__ == "__main__":
    run(main)
