"""Benchmark of the ChargePoint driver against the simulator on loopback; prints a table of medians.

Run from the repository root (creates .venv on first use)::

    ./bench.sh            # full run, about two minutes
    ./bench.sh --quick    # smaller fleets and fewer runs

The simulator runs in its own process (``chargepoint-sim``), so CPU time measured here is the driver's alone.
Every figure is the median of ``--runs`` runs; ratios compare strategies measured in the same run.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
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


TIMEOUT = 30.0


def make_devices(sim: SimulatorProcess, station_ids: list[str], rows: list[dict[str, str]],
                 cache_expiration: float = 30, batching: bool = True) -> list[Device]:
    """Devices of one account; ``batching`` False makes the account ask per station, as the old driver did."""
    # Held while the devices join it (accounts live as long as something holds them).
    account = account_for(AccountSettings(USERNAME, PASSWORD, wsdl=sim.wsdl, timeout=TIMEOUT), batching=batching)
    raw = read_config_file(ROOT / "chargepoint.config")
    devices = [build_device(raw, rows, f"devices/bench/cp{i}", {
        "stationID": sid, "username": USERNAME, "password": PASSWORD, "wsdl": sim.wsdl, "timeout": TIMEOUT,
        "cacheExpiration": cache_expiration}) for i, sid in enumerate(station_ids)]
    assert all(device.interface.account is account for device in devices)
    return devices


def poll_together(devices: list[Device]) -> None:
    cycle = [gevent.spawn(device.scrape) for device in devices]
    gevent.joinall(cycle, raise_error=True)
    failed = sum(1 for g in cycle if g.value[1])
    if failed:
        raise RuntimeError(f"{failed} devices had read errors: {next(g.value[1] for g in cycle if g.value[1])}")


def median_of(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


def expire(devices: list[Device]) -> None:
    """Make the next poll cold without waiting cacheExpiration out."""
    for account in {id(d.interface.account): d.interface.account for d in devices}.values():
        account.cache.invalidate(lambda key: True)


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


def bench_fleet(sim: SimulatorProcess, station_ids: list[str], rows: list[dict[str, str]], runs: int,
                sizes: list[int]) -> list[str]:
    lines = ["3. N devices on one account polled together (cold cache each cycle): API calls and wall time per "
             "cycle", f"   {'N':>5}  {'batched calls':>13}  {'batched s':>9}  {'per-station calls':>17}  "
             f"{'per-station s':>13}  {'calls ratio':>11}"]
    for size in sizes:
        figures = {}
        for batching in (True, False):
            forget_accounts()
            devices = make_devices(sim, station_ids[:size], rows, batching=batching)
            assert devices[0].interface.account.batching is batching
            poll_together(devices)  # warm-up: WSDL, group membership, session history
            counts, times = [], []
            for _ in range(runs):
                expire(devices)
                sim.reset()
                started = time.perf_counter()
                poll_together(devices)
                times.append(time.perf_counter() - started)
                counts.append(sim.total_calls())
            figures[batching] = (statistics.median(counts), statistics.median(times))
        (b_calls, b_time), (p_calls, p_time) = figures[True], figures[False]
        lines.append(f"   {size:>5}  {b_calls:>13.0f}  {b_time:>9.2f}  {p_calls:>17.0f}  {p_time:>13.2f}  "
                     f"{p_calls / b_calls:>10.1f}x")
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
    args = parser.parse_args(argv)
    # VOLTTRON's base interface warns on every device that it has no plugins; that is not news here.
    logging.getLogger("volttron.driver.base.interfaces").setLevel(logging.ERROR)
    runs = max(1, args.runs - (1 if args.quick else 0))
    sizes = [1, 10, 100] if args.quick else [1, 10, 100, 1000]
    sim = SimulatorProcess(stations=max(sizes))
    try:
        ids = sim.admin("stations")["stations"]
        rows = sample_rows()
        print(f"ChargePoint driver benchmark: {' '.join(['./bench.sh', *(argv if argv is not None else sys.argv[1:])])}")
        print(f"machine: {machine()}; simulator: {len(ids)} stations on 127.0.0.1; median of {runs} runs\n")
        for section in (bench_calls_per_poll(sim, ids, rows), bench_latency(sim, ids, rows, runs),
                        bench_fleet(sim, ids, rows, runs, sizes), bench_configure(sim, ids, rows, runs, sizes),
                        bench_cpu(sim, ids, rows, runs)):
            print("\n".join(section), flush=True)
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
