"""``chargepoint-driver demo``: the driver against an embedded simulator, polling, shedding load and clearing it, then
the same for a whole station group.

It starts from a device config (``./chargepoint.config``, ``--config``, or the sample shipped in the package) and
says what it changes for the run: the simulator's address and credentials, and the station when the configured one
is not in the simulated organisation. The files are never written.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TextIO

from .config import flatten_device_config
from .console import EXIT_API, EXIT_OK
from .models import Source
from .registry import read_registry_csv, registry_rows_for
from .samples import SAMPLE_CONFIG, SAMPLE_REGISTRY
from .standalone import Device, build_device, read_config_file, registry_path_for
from .terminal import print_table, show, with_units

DEMO_USERNAME = "demo-license-key"
DEMO_PASSWORD = "demo-password"
DEMO_PROPAGATION = 2.0  # seconds the simulated station takes to apply a shed or a clear
DEMO_SHED_KW = 3.0
LOCAL_CONFIG = Path("chargepoint.config")
DEMO_GROUP_KW = 2.0


@dataclass
class Start:
    """The files the demo starts from, and how to name them to the user."""

    raw: dict[str, Any]
    rows: list[dict[str, str]]
    config_name: str
    registry_name: str
    packaged: bool  # the samples shipped in the package (no config in the current directory)


def starting_point(config: Path | None, registry: Path | None) -> Start:
    """``config`` (which must exist), else ./chargepoint.config when there, else the packaged sample."""
    packaged = config is None and not LOCAL_CONFIG.exists()
    path = SAMPLE_CONFIG if packaged else config or LOCAL_CONFIG
    raw = read_config_file(path)  # ConfigError (exit 2) for a --config that does not exist
    if registry is None:
        registry = SAMPLE_REGISTRY if packaged else registry_path_for(path, raw)
    rows = read_registry_csv(registry)
    if packaged:
        return Start(raw, rows, "the sample chargepoint.config shipped with the package",
                     "its chargepoint.csv" if registry == SAMPLE_REGISTRY else str(registry), True)
    return Start(raw, rows, str(path), _shown(registry), False)


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the current directory when under it."""
    try:
        return str(path.absolute().relative_to(Path.cwd().absolute()))
    except ValueError:
        return str(path)


def run_demo(args: argparse.Namespace, out: TextIO) -> int:
    """Poll, shed and clear on an embedded simulator; returns the exit code."""
    from chargepoint_simulator import Simulator

    started = time.monotonic()
    start = starting_point(args.config, args.registry)
    with Simulator(stations=args.stations, seed=7, username=DEMO_USERNAME, password=DEMO_PASSWORD, port=0,
                   propagation_delay=DEMO_PROPAGATION) as sim:
        configured = str(flatten_device_config(start.raw).get("stationID") or "").strip()
        station_id = configured if sim.model.has_station(configured) else sim.model.station_ids()[0]
        out.write(f"ChargePoint API simulator listening at {sim.url} ({args.stations} stations, no account needed)\n")
        overrides = {"stationID": station_id, "username": DEMO_USERNAME, "password": DEMO_PASSWORD,
                     "wsdl": sim.wsdl_url}
        device = build_device(start.raw, start.rows, "devices/demo/cp1", overrides)
        out.write(f"Driver configured from {start.config_name} and {start.registry_name}: "
                  f"{len(device.point_names)} points of station {station_id}. For this run the simulator's address, "
                  f"username and password replace the config's (no file is changed).\n")
        if configured and configured != station_id:
            out.write(f"The config names station {configured}, which the simulated organisation does not have: "
                      f"the demo uses its station {station_id} instead.\n")
        expiration = device.interface.settings.cache_expiration
        out.write(f"cacheExpiration is {expiration:g} s: {_cache_rule(expiration)}\n\n")
        out.flush()

        values: dict[str, Any] = {}
        for cycle in range(1, args.cycles + 1):
            if cycle > 1:
                time.sleep(args.interval)
            calls_before, poll_started = sum(sim.calls.values()), time.monotonic()
            previous, (values, errors) = values, device.scrape()
            calls = sum(sim.calls.values()) - calls_before
            filled = sum(value is not None for value in values.values())
            out.write(f"[poll {cycle}/{args.cycles}] {len(device.point_names)} points: {filled} with a value, "
                      f"{len(values) - filled} empty, {len(errors)} errors; {calls} API calls"
                      f"{' (every answer from the cache)' if calls == 0 else ''} in "
                      f"{time.monotonic() - poll_started:.2f} s{_changes(previous, values)}\n")
            out.flush()
        out.write("\n")
        print_table(device, values, errors, out)
        # Watching the station apply a write needs reads that ask the API each time: a second device on the same
        # account (same cache, same client) with cacheExpiration 0.
        watcher = build_device(start.raw, start.rows, "devices/demo/watch", {**overrides, "cacheExpiration": 0})
        status = _demo_shed(device, watcher, values, out)
        if status == EXIT_OK:
            status = _demo_group(sim, device, out)
        out.write(f"\nDone in {time.monotonic() - started:.1f} s: {args.cycles} poll(s), a load shed and a group cap, "
                  f"{sum(sim.calls.values())} API calls in all.\n{_next_steps(start)}")
    return status


def _cache_rule(expiration: float) -> str:
    static = ("; the inventory and rights are kept for staticExpiration (an hour unless set), and sessions are read "
              "again only when a port stops charging")
    if expiration == 0:
        return f"every poll asks the API for status, load and alarms{static}."
    return (f"a poll within {expiration:g} s of the API's last answers is served from the cache and makes no API "
            f"call (answers are shared by every device of the account){static}.")


def _next_steps(start: Start) -> str:
    commands = ("  chargepoint-driver check chargepoint.config --online\n"
                "  chargepoint-driver scrape chargepoint.config\n")
    if start.packaged:
        return ("With your own account: 'chargepoint-driver init' writes this sample chargepoint.config and "
                "chargepoint.csv here; put your stationID, username and password (or $CHARGEPOINT_PASSWORD) in "
                "chargepoint.config, then\n" + commands)
    return (f"With your own account: put its stationID, username and password (or $CHARGEPOINT_PASSWORD) in "
            f"{start.config_name}, then\n" + commands.replace("chargepoint.config", start.config_name))


def _demo_shed(device: Device, watcher: Device, values: dict[str, Any], out: TextIO) -> int:
    """Shed load on one port, show the API accept it, the station apply it, then clear it."""
    loads = {(register.attribute_name, register.port): register.point_name
             for register in device.interface.point_map.values() if register.source.value == "getLoad"}
    ports = sorted({port for (name, port) in loads if name == "allowedLoad" and port})
    if not ports:
        out.write("\n(no port-level allowedLoad point in the registry: skipping the load-shed demo)\n")
        return EXIT_OK
    # Prefer a port that is charging, so the shed visibly lowers its load.
    port = max(ports, key=lambda p: values.get(loads.get(("portLoad", p), ""), None) or 0.0)
    allowed = loads[("allowedLoad", port)]
    watched = [name for name in (allowed, loads.get(("shedState", port)), loads.get(("portLoad", port))) if name]

    out.write(f"\nLoad shed: cap port {port} at {DEMO_SHED_KW:g} kW by writing {allowed} := {DEMO_SHED_KW:g}\n")
    readback = device.set(allowed, DEMO_SHED_KW)
    out.write(f"  the API accepted the write (shedLoad); read-back right away: {allowed} = {show(readback)}, "
              f"still the old value.\n  The station applies a shed after a delay (here {DEMO_PROPAGATION:g} s; "
              f"a real one may take a minute). Reading every 0.5 s, each read asking the API (cacheExpiration 0), "
              f"until it shows:\n")
    if not _wait_for(watcher, watched, lambda now: now[allowed] == DEMO_SHED_KW, out):
        out.write("  the station did not apply the shed in time\n")
        return EXIT_API

    clear = loads.get(("shedState", port)) or loads.get(("shedState", None))
    if clear is None:
        out.write("\n(no shedState point in the registry: only shedState 0 clears a shed, so the port stays capped "
                  "until the simulator stops)\n")
        return EXIT_OK
    scope = f"port {port} only: the driver clears the station and re-applies the other ports' sheds" \
        if clear != loads.get(("shedState", None)) else "every shed of the station"
    out.write(f"\nClear the shed: {clear} := 0 (clears {scope})\n")
    readback = device.set(clear, 0)
    out.write(f"  the API accepted the write (clearShedState); read-back right away: {clear} = {show(readback)}, "
              f"still shed.\n  Reading until the station applies the clear:\n")
    if not _wait_for(watcher, watched, lambda now: now[allowed] is None, out):
        out.write("  the station did not clear the shed in time\n")
        return EXIT_API
    return EXIT_OK


def _demo_group(sim: Any, device: Any, out: TextIO) -> int:
    """A group device on the same account: read the group's load, cap every member station, clear."""
    # The site with the most stations (a site group rather than the organisation-wide "Demand Response" one).
    group = max(sim.model.groups, key=lambda g: (len(g.station_ids), g.sgName != "Demand Response", -g.sgID))
    settings = device.interface.settings
    raw = {"driver_type": "chargepoint", "driver_config": {
        "sgID": group.sgID, "username": settings.username, "password": settings.password.get_secret_value(),
        "wsdl": settings.wsdl, "cacheExpiration": 0, "timeout": 5}}
    garage = build_device(raw, registry_rows_for([], group=True), "devices/demo/garage")
    values, _errors = garage.scrape()
    out.write(f"\nA station group as a device (sgID {group.sgID}, the points of chargepoint-group.csv): "
              f"{values['sgName']!r}, {values['numStations']} station(s) drawing {show(values['sgLoad'])} kW\n"
              f"Cap each station of the group at {DEMO_GROUP_KW:g} kW: allowedLoadPerStation := {DEMO_GROUP_KW:g} "
              f"(one shedLoad for the whole group)\n")
    garage.set("allowedLoadPerStation", DEMO_GROUP_KW)
    if not _wait_for(garage, ["allowedLoadPerStation", "shedState", "sgLoad"],
                     lambda now: now["allowedLoadPerStation"] == DEMO_GROUP_KW, out, marker="every member applied it"):
        out.write("  the stations did not apply the cap in time\n")
        return EXIT_API
    answer = garage.interface.account.read(Source.GROUP_LOAD, str(group.sgID), 60.0)
    out.write("  the members: " + ", ".join(f"{sid} {show(load.station_load)} kW" for sid, load
                                             in sorted(answer.stations.items())) + "\n")
    readback = garage.set("shedState", 0)
    out.write(f"Clear it: shedState := 0 (one clearShedState for the group) accepted; read-back right away: "
              f"shedState = {show(readback)}, until the stations apply it\n")
    return EXIT_OK


def _wait_for(device: Any, names: list[str], done: Callable[[dict[str, Any]], bool], out: TextIO,
              limit: float = 20.0, every: float = 0.5, marker: str = "applied by the station") -> bool:
    """Re-read ``names`` every ``every`` seconds, printing each read, until ``done`` or ``limit`` seconds."""
    topics = [device.topic(name) for name in names]
    strip = len(device.base_topic) + 1
    started = time.monotonic()
    while True:
        results, errors = device.interface.get_multiple_points(topics)
        now = {topic[strip:]: results.get(topic) for topic in topics}
        elapsed = time.monotonic() - started
        shown = ", ".join(f"{name} = {with_units(now[name], device.register(name).get_units())}" for name in names)
        finished = done(now)
        out.write(f"  {elapsed:4.1f} s  {shown}{f'  <- {marker}' if finished else ''}"
                  f"{'  (' + '; '.join(set(errors.values())) + ')' if errors else ''}\n")
        out.flush()
        if finished:
            return True
        if elapsed >= limit:
            return False
        time.sleep(every)


def _changes(previous: dict[str, Any], values: dict[str, Any], limit: int = 3) -> str:
    if not previous:
        return ""
    changed = [name for name, value in values.items() if name in previous and previous[name] != value]
    if not changed:
        return "; nothing changed"
    shown = ", ".join(f"{name} {show(previous[name])} -> {show(values[name])}" for name in changed[:limit])
    more = f" and {len(changed) - limit} more" if len(changed) > limit else ""
    return f"; changed: {shown}{more}"
