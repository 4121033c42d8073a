"""``chargepoint-driver``: try the driver before installing it into a platform.

Every subcommand goes through the same interface code the platform uses (see :mod:`.device`). Heavy modules are
imported inside :func:`main`, after gevent has patched the standard library, as in a VOLTTRON process.

Exit codes: 0 success; 1 a refused write or failed check; 2 a configuration error; 3 the API could not be used
(unreachable, bad credentials, no point readable).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any, Callable, TextIO

EXIT_OK, EXIT_REFUSED, EXIT_CONFIG, EXIT_API = 0, 1, 2, 3


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="chargepoint-driver", description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for DEBUG)")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="run the driver against an embedded simulator (no account needed)")
    demo.add_argument("--cycles", type=int, default=3, help="polling cycles before the load-shed demo")
    demo.add_argument("--interval", type=float, default=1.0, help="seconds between polling cycles")
    demo.add_argument("--stations", type=int, default=4, help="stations in the simulated organisation")
    demo.add_argument("--config", type=Path, default=Path("chargepoint.config"),
                      help="device config to start from (default: ./chargepoint.config)")
    demo.add_argument("--registry", type=Path, default=None, help="registry CSV (default: the config's)")

    def device_command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("config", type=Path, help="device config file, as stored in the config store")
        sub.add_argument("--registry", type=Path, default=None,
                         help="registry CSV (default: the file named by registry_config, beside CONFIG)")
        return sub

    scrape = device_command("scrape", "read every point of the device once")
    scrape.add_argument("--json", action="store_true", help='print {"values": {...}, "errors": {...}}')
    write = device_command("set", "write one point and print its read-back")
    write.add_argument("point", help="Volttron Point Name")
    write.add_argument("value", help="value to write (e.g. 6.6, 0, None)")
    write.add_argument("--json", action="store_true", help='print {"point": ..., "value": ...}')
    check = device_command("check", "validate the config and every registry row; list all problems")
    check.add_argument("--online", action="store_true", help="also check the credentials and the station")
    registry = commands.add_parser("registry", help="write a registry CSV of what the station really returns")
    registry.add_argument("config", type=Path, help="device config file")
    registry.add_argument("-o", "--output", type=Path, default=None, help="CSV file to write (default: stdout)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    from gevent import monkey
    if not monkey.is_module_patched("socket"):
        monkey.patch_all()
    args = parse_arguments(argv)
    out = out or sys.stdout
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")

    from .exceptions import ChargePointError, ConfigError
    handlers: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
        "demo": _demo, "scrape": _scrape, "set": _set, "check": _check, "registry": _registry,
    }
    try:
        return handlers[args.command](args, out)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except ChargePointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_API


# -- commands ------------------------------------------------------------------------------------------------------

def _scrape(args: argparse.Namespace, out: TextIO) -> int:
    from .device import load_device
    device = load_device(args.config, args.registry)
    values, errors = device.scrape()
    if args.json:
        json.dump({"values": values, "errors": errors}, out, default=str, sort_keys=True)
        out.write("\n")
    else:
        _print_table(device, values, errors, out)
    if errors and not values:
        first = next(iter(errors.values()))
        print(f"error: no point could be read: {first}", file=sys.stderr)
        return EXIT_API
    return EXIT_OK


def _set(args: argparse.Namespace, out: TextIO) -> int:
    from .device import load_device
    from .exceptions import ApiError, ChargePointError, SoapFault, WriteRejected
    device = load_device(args.config, args.registry)
    try:
        value = device.set(args.point, args.value)
    except WriteRejected as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except (ApiError, SoapFault) as exc:
        print(f"refused by the API: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except ChargePointError:
        raise
    if args.json:
        json.dump({"point": args.point, "value": value}, out, default=str)
        out.write("\n")
    else:
        out.write(f"{args.point} written; read-back: {_show(value)} (a load shed may take a while to show)\n")
    return EXIT_OK


def _check(args: argparse.Namespace, out: TextIO) -> int:
    from .chargepoint_registers import validate_rows
    from .config import load_device_settings, read_registry_csv, registry_rows
    from .device import read_config_file, registry_path_for
    from .exceptions import ChargePointError, ConfigError

    problems: list[str] = []
    settings = None
    raw: dict[str, Any] = {}
    try:
        raw = read_config_file(args.config)
        settings = load_device_settings(raw, str(args.config))
    except ConfigError as exc:
        problems.extend(exc.problems)
    try:
        registry = args.registry or registry_path_for(args.config, raw)
        validate_rows(registry_rows(read_registry_csv(registry)), str(registry))
    except ConfigError as exc:
        problems.extend(exc.problems)
    for problem in problems:
        out.write(f"problem: {problem}\n")
    if problems:
        out.write(f"{len(problems)} problem(s) found\n")
        return EXIT_REFUSED
    out.write("config and registry are valid\n")
    if args.online and settings is not None:
        from .account import make_client
        client = make_client(settings.account_settings())
        try:
            client.get_cpn_instances()
            out.write("credentials accepted\n")
            stations = client.get_stations(settings.station_id)
        except ChargePointError as exc:
            out.write(f"problem: {exc}\n")
            return EXIT_API
        ports = sorted(stations[0].ports) if stations else []
        out.write(f"station {settings.station_id} found with port(s) {', '.join(map(str, ports)) or 'none'}\n")
    return EXIT_OK


def _registry(args: argparse.Namespace, out: TextIO) -> int:
    import csv
    from .account import make_client
    from .chargepoint_registers import registry_rows_for
    from .config import load_device_settings
    from .device import build_device, read_config_file

    raw = read_config_file(args.config)
    settings = load_device_settings(raw, str(args.config))
    stations = make_client(settings.account_settings()).get_stations(settings.station_id)
    ports = sorted(stations[0].ports) if stations else []
    candidates = registry_rows_for(ports)
    device = build_device(raw, candidates, f"devices/{args.config.stem}")
    values, _errors = device.scrape()
    # Keep what the station really returns, plus every control point (they read None until used).
    rows = [row for row in candidates
            if values.get(row["Volttron Point Name"]) is not None or row["Writable"] == "True"]
    target = args.output.open("w", newline="", encoding="utf-8") if args.output else out
    try:
        writer = csv.DictWriter(target, fieldnames=list(candidates[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    finally:
        if args.output:
            target.close()
    if args.output:
        out.write(f"wrote {len(rows)} points for station {settings.station_id} (ports {ports}) to "
                  f"{args.output}\n")
    return EXIT_OK


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    from chargepoint_simulator import Simulator
    from .chargepoint_registers import registry_rows_for
    from .config import read_registry_csv
    from .device import build_device, read_config_file, registry_path_for

    raw = read_config_file(args.config) if args.config.exists() else {
        "driver_config": {}, "driver_type": "chargepoint", "registry_config": "config://chargepoint.csv"}
    registry = args.registry or (registry_path_for(args.config, raw) if args.config.exists() else None)
    rows = read_registry_csv(registry) if registry and registry.exists() else registry_rows_for([1, 2])
    username, password = "demo-license-key", "demo-password"
    with Simulator(stations=args.stations, seed=7, username=username, password=password, port=0,
                   propagation_delay=2.0) as sim:
        station_id = sim.model.station_ids()[0]
        out.write(f"ChargePoint simulator at {sim.url} ({args.stations} stations); driving station {station_id}\n")
        device = build_device(raw, rows, "devices/demo/cp1", {
            "stationID": station_id, "username": username, "password": password, "wsdl": sim.wsdl_url,
            "cacheExpiration": min(args.interval, 1.0), "timeout": 5})
        out.write(f"{len(device.point_names)} points configured from {registry or 'the built-in registry'}\n\n")
        for cycle in range(1, args.cycles + 1):
            started = time.monotonic()
            values, errors = device.scrape()
            out.write(f"[poll {cycle}/{args.cycles}] {len(values) - len(errors)} values, {len(errors)} errors, "
                      f"{sum(sim.calls.values())} API calls so far\n")
            if cycle == args.cycles:
                _print_table(device, values, errors, out)
            time.sleep(max(0.0, args.interval - (time.monotonic() - started)))
        _demo_shed(device, out)
    return EXIT_OK


def _demo_shed(device: Any, out: TextIO) -> None:
    names = set(device.point_names)
    point = next((n for n in ("allowedLoadPort1", "allowedLoad") if n in names), None)
    if point is None:
        out.write("\n(no allowedLoad point in the registry: skipping the load-shed demo)\n")
        return
    out.write(f"\nShedding load: {point} := 3.0 kW\n")
    readback = device.set(point, 3.0)
    out.write(f"  accepted by the API; immediate read-back: {_show(readback)} (the station has not applied it yet)\n")
    value = _wait_for(device, point, lambda v: v == 3.0, out)
    out.write(f"  after propagation: {point} = {_show(value)}\n")
    clear = next((n for n in ("shedStatePort1", "shedState") if n in names), None)
    if clear:
        out.write(f"Clearing the shed: {clear} := 0\n")
        device.set(clear, 0)
        value = _wait_for(device, point, lambda v: v is None, out)
        out.write(f"  after propagation: {point} = {_show(value)}\n")


def _wait_for(device: Any, point: str, done: Callable[[Any], bool], out: TextIO, limit: float = 20.0) -> Any:
    deadline = time.monotonic() + limit
    value = None
    while time.monotonic() < deadline:
        values, _errors = device.scrape()
        value = values.get(point)
        if done(value):
            return value
        out.write("  . waiting for the station to apply the change\n")
        time.sleep(1.0)
    return value


def _print_table(device: Any, values: dict[str, Any], errors: dict[str, str], out: TextIO) -> None:
    width = max((len(n) for n in device.point_names), default=10)
    out.write(f"{'point':<{width}}  {'value':<32}  units\n")
    out.write(f"{'-' * width}  {'-' * 32}  {'-' * 12}\n")
    for name in device.point_names:
        units = device.register(name).get_units()
        shown = f"ERROR: {errors[name]}" if name in errors else _show(values.get(name))
        out.write(f"{name:<{width}}  {shown:<32}  {units}\n")


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    return "None" if value is None else str(value)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
