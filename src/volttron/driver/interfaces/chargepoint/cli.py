"""``chargepoint-driver``: try the driver before installing it into a platform.

Every subcommand goes through the same interface code the platform uses (see :mod:`.device`). Heavy modules are
imported inside :func:`main`, after gevent has patched the standard library, as in a VOLTTRON process.

Exit codes: 0 success; 1 a refused write (or shed event) or a failed check; 2 a configuration error (or bad
command-line arguments); 3 the API could not be used (unreachable, no answer, bad credentials, station not found).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, TextIO

from .terminal import print_table, same_value, show

EXIT_OK, EXIT_REFUSED, EXIT_CONFIG, EXIT_API = 0, 1, 2, 3
EXIT_INTERRUPTED = 130



# -- command line ------------------------------------------------------------------------------------------------

def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be a number >= 0")
    return value


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line (``argv`` without the program name; None means sys.argv)."""
    parser = argparse.ArgumentParser(
        prog="chargepoint-driver", description=__doc__.split("\n\n")[0].strip("`: "),
        epilog="Exit codes: 0 ok; 1 write refused or check failed; 2 configuration error; 3 API unusable. "
               "The password may be left out of CONFIG and given in $CHARGEPOINT_PASSWORD.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr (-vv: DEBUG)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="poll and shed load on an embedded simulator (no account needed)",
                               description="Start the ChargePoint simulator on a free loopback port, configure the "
                                           "driver from CONFIG and its registry pointed at it, poll a few times, "
                                           "then shed load on a port and clear it.")
    demo.add_argument("--cycles", type=_positive_int, default=3, help="polling cycles before the load shed (3)")
    demo.add_argument("--interval", type=_non_negative, default=1.0, help="seconds between polling cycles (1)")
    demo.add_argument("--stations", type=_positive_int, default=4, help="stations in the simulated organisation (4)")
    demo.add_argument("--config", type=Path, default=Path("chargepoint.config"),
                      help="device config to start from (default: ./chargepoint.config)")
    demo.add_argument("--registry", type=Path, default=None, help="registry CSV (default: the config's)")

    def device_command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("config", type=Path, metavar="CONFIG",
                         help="device config file (JSON), as stored in the config store")
        sub.add_argument("--registry", type=Path, default=None, metavar="CSV",
                         help="registry CSV (default: the file registry_config names, beside CONFIG)")
        return sub

    scrape = device_command("scrape", "read every point of the device once")
    scrape.add_argument("--json", action="store_true", help='print {"values": {...}, "errors": {...}}')
    write = device_command("set", "write one point and print its read-back")
    write.add_argument("point", metavar="POINT", help="Volttron Point Name")
    write.add_argument("value", metavar="VALUE", help="value to write (e.g. 6.6, 50, 0, None)")
    write.add_argument("--json", action="store_true", help='print {"point": ..., "written": ..., "value": ...}')
    check = device_command("check", "validate the config and every registry row, listing all problems")
    check.add_argument("--online", action="store_true", help="also check the credentials and the station")
    schedule = device_command("schedule-shed", "schedule a shed that the ChargePoint cloud starts and ends by itself "
                                               "for the device's station or group; prints the event ID")
    schedule.add_argument("--start", required=True, metavar="ISO8601",
                          help="when it starts, with a UTC offset (e.g. 2026-06-01T16:00:00-07:00 or ...Z)")
    schedule.add_argument("--minutes", required=True, metavar="N", help="how long it lasts, in whole minutes")
    value = schedule.add_mutually_exclusive_group(required=True)
    value.add_argument("--kw-per-port", metavar="X", help="cap each port at X kW")
    value.add_argument("--percent", metavar="Y", help="shed Y %% of each station's power (1-100)")
    schedule.add_argument("--allow-opt-out", action="store_true", help="let drivers opt out of the event")
    cancel = device_command("cancel-shed", "cancel a scheduled shed event (or end it early if it runs)")
    cancel.add_argument("event_id", metavar="EVENT_ID", help="the ID schedule-shed printed")
    registry = commands.add_parser("registry", help="write a registry CSV of what the station really returns",
                                   description="Ask the API what the station returns and write a registry CSV "
                                               "with a row for each of its attributes (per port where port-level).")
    registry.add_argument("config", type=Path, metavar="CONFIG", help="device config file (JSON)")
    registry.add_argument("-o", "--output", type=Path, default=None, metavar="FILE",
                          help="CSV file to write (default: stdout)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """Run one command; returns the exit code. Results go to ``out`` (stdout), reasons and logs to stderr."""
    from gevent import monkey
    if not monkey.is_module_patched("socket"):
        monkey.patch_all()
    args = parse_arguments(argv)
    out = out or sys.stdout

    from pydantic import ValidationError

    from .exceptions import AuthError, ChargePointError, ConfigError
    handlers: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
        "demo": _demo, "scrape": _scrape, "set": _set, "check": _check, "registry": _registry,
        "schedule-shed": _schedule_shed, "cancel-shed": _cancel_shed,
    }
    with _stderr_logging(args.verbose):
        try:
            return handlers[args.command](args, out)
        except ConfigError as exc:
            _fail(f"configuration error: {_summary(exc.problems)}")
            return EXIT_CONFIG
        except ValidationError as exc:
            _fail(f"configuration error: {_summary(_validation_problems(exc, str(args.config)))}")
            return EXIT_CONFIG
        except AuthError as exc:
            _fail(f"error: the API refused the credentials ({exc})")
            return EXIT_API
        except ChargePointError as exc:
            _fail(f"error: {exc}")
            return EXIT_API
        except KeyboardInterrupt:
            _fail("interrupted")
            return EXIT_INTERRUPTED


# -- commands ----------------------------------------------------------------------------------------------------

def _demo(args: argparse.Namespace, out: TextIO) -> int:
    from .demo import run_demo
    return run_demo(args, out)


def _load_device(args: argparse.Namespace) -> Any:
    """The device as the platform would configure it from CONFIG and its registry."""
    from .config import load_device_settings
    from .standalone import load_device, read_config_file
    # Validated from the file first, so that problems name the file and a password left out of the file (and
    # not in the environment) is reported as missing.
    load_device_settings(read_config_file(args.config), str(args.config))
    return load_device(args.config, args.registry)


def _scrape(args: argparse.Namespace, out: TextIO) -> int:
    device = _load_device(args)
    values, errors = device.scrape()
    if args.json:
        json.dump({"values": values, "errors": errors}, out, default=str, sort_keys=True)
        out.write("\n")
    else:
        print_table(device, values, errors, out)
    # Per-point errors are normal (e.g. one operation not in the account's plan). When nothing but errors and
    # empty values came back, the device as configured cannot be read: wrong station, credentials or address.
    if errors and all(value is None for value in values.values()):
        _fail(f"error: the device could not be read: {next(iter(errors.values()))}")
        return EXIT_API
    return EXIT_OK


def _set(args: argparse.Namespace, out: TextIO) -> int:
    from .exceptions import ApiError, AuthError, SoapFault, WriteRejected
    device = _load_device(args)
    try:
        readback = device.set(args.point, args.value)
    except WriteRejected as exc:
        _fail(f"refused (nothing was sent to the API): {exc}")
        return EXIT_REFUSED
    except AuthError:
        raise
    except (ApiError, SoapFault) as exc:
        _fail(f"refused by the API: {exc}")
        return EXIT_REFUSED
    if args.json:
        json.dump({"point": args.point, "written": args.value, "value": readback}, out, default=str)
        out.write("\n")
        return EXIT_OK
    units = device.register(args.point).get_units()
    out.write(f"{args.point} := {args.value} accepted by the API\n")
    out.write(f"read-back: {args.point} = {show(readback)}{f' {units}' if readback is not None else ''}\n")
    if not same_value(readback, args.value):
        out.write("(the read-back shows the station's state: a shed or clear takes effect once the station applies "
                  "it, which may take a minute; scrape again to see it)\n")
    return EXIT_OK


def _schedule_shed(args: argparse.Namespace, out: TextIO) -> int:
    device = _load_device(args)
    return _event_command(lambda: device.interface.schedule_shed(
        args.start, args.minutes, kw_per_port=args.kw_per_port, percent=args.percent,
        allow_opt_out=args.allow_opt_out), out)


def _cancel_shed(args: argparse.Namespace, out: TextIO) -> int:
    device = _load_device(args)
    return _event_command(lambda: device.interface.cancel_shed(args.event_id), out)


def _event_command(run: Callable[[], Any], out: TextIO) -> int:
    """Run a shed-event call and print its answer; a refusal is one line and exit code 1."""
    from .exceptions import ApiError, AuthError, SoapFault, WriteRejected
    try:
        answer = run()
    except WriteRejected as exc:
        _fail(f"refused (nothing was sent to the API): {exc}")
        return EXIT_REFUSED
    except AuthError:
        raise
    except (ApiError, SoapFault) as exc:
        _fail(f"refused by the API: {exc}")
        return EXIT_REFUSED
    out.write(f"{answer}\n")
    return EXIT_OK


def _check(args: argparse.Namespace, out: TextIO) -> int:
    from pydantic import ValidationError

    from .config import load_device_settings
    from .registry import read_registry_csv, registry_rows, validate_rows
    from .standalone import build_device, read_config_file, registry_path_for
    from .exceptions import ConfigError

    problems: list[str] = []
    settings = None
    raw: dict[str, Any] | None = None
    try:
        raw = read_config_file(args.config)
        settings = load_device_settings(raw, str(args.config))
    except ConfigError as exc:
        problems.extend(exc.problems)
    if raw is not None and raw.get("driver_type", "chargepoint") != "chargepoint":
        problems.append(f"{args.config}, key 'driver_type', value {raw['driver_type']!r}: must be \"chargepoint\" "
                        f"for this driver")
    registry: Path | None = args.registry
    if registry is None and raw is not None:
        try:
            registry = registry_path_for(args.config, raw)
        except ConfigError as exc:
            problems.extend(exc.problems)
    specs = []
    if registry is not None:
        try:
            specs = validate_rows(registry_rows(read_registry_csv(registry)), str(registry))
        except ConfigError as exc:
            problems.extend(exc.problems)
    else:
        out.write("registry not checked: the config could not be read (give it with --registry)\n")
    if not problems and raw is not None and registry is not None:
        # Finally configure the interface exactly as the platform would (no API call), for what only it checks.
        try:
            build_device(raw, read_registry_csv(registry), f"devices/{args.config.stem}")
        except ConfigError as exc:
            problems.extend(exc.problems)
        except ValidationError as exc:
            problems.extend(_validation_problems(exc, str(args.config)))
    for problem in problems:
        out.write(f"problem: {problem}\n")
    if problems:
        out.write(f"{len(problems)} problem(s) found\n")
        return EXIT_REFUSED
    out.write(f"{args.config}: valid; {registry}: {len(specs)} valid points\n")
    if not args.online or settings is None:
        return EXIT_OK
    return _check_online(settings, specs, out)


def _check_online(settings: Any, specs: list[Any], out: TextIO) -> int:
    from .account import account_for
    from .client import NO_DATA
    from .exceptions import ApiError

    client = account_for(settings.account_settings()).client
    client.get_cpn_instances()  # AuthError / TransportError end the command with exit code 3
    out.write("credentials accepted by the API\n")
    if settings.is_group:
        return _check_group_online(client, settings.sg_id, out)
    try:
        stations = client.get_stations(settings.station_id)
    except ApiError as exc:
        if exc.code != NO_DATA:
            raise
        stations = []
    if not stations:
        out.write(f"problem: station {settings.station_id} is not visible to this account\n")
        return EXIT_REFUSED
    ports = sorted(stations[0].ports)
    out.write(f"station {settings.station_id} found, port(s) {', '.join(map(str, ports)) or 'none'}\n")
    missing = sorted({spec.port for spec in specs if spec.port and spec.port not in ports})
    if missing:
        names = [spec.point_name for spec in specs if spec.port in missing]
        out.write(f"note: {len(names)} point(s) name port(s) {', '.join(map(str, missing))}, which the station "
                  f"lacks; they will read None: {', '.join(names)}\n")
    return EXIT_OK


def _check_group_online(client: Any, sg_id: int, out: TextIO) -> int:
    from .client import NO_DATA
    from .exceptions import ApiError
    try:
        group = client.get_load(sg_id=sg_id)
    except ApiError as exc:
        if exc.code != NO_DATA:
            raise
        out.write(f"problem: group {sg_id} is not visible to this account\n")
        return EXIT_REFUSED
    out.write(f"group {sg_id} found ({group.group_name}), station(s) {', '.join(sorted(group.stations)) or 'none'}\n")
    return EXIT_OK


def _registry(args: argparse.Namespace, out: TextIO) -> int:
    import csv

    from .account import account_for
    from .chargepoint_registers import StationRegister
    from .config import load_device_settings
    from .registry import registry_rows_for
    from .standalone import build_device, read_config_file

    raw = read_config_file(args.config)
    settings = load_device_settings(raw, str(args.config))
    ports: list[int] = []
    if not settings.is_group:  # a group's points are all group-wide
        # The same shared client the interface uses; an unknown station ends the command (ApiError, exit code 3).
        stations = account_for(settings.account_settings()).client.get_stations(settings.station_id)
        ports = sorted(stations[0].ports) if stations else []
    candidates = registry_rows_for(ports, group=settings.is_group)
    device = build_device(raw, candidates, f"devices/{args.config.stem}")
    values, errors = device.scrape()
    # Inventory fields the station leaves empty are attributes it does not have; the live data (status, load,
    # alarms, sessions, rights) is kept even when empty right now, unless the API refused to give it.
    kept, left_out = [], []
    for row in candidates:
        name = row["Volttron Point Name"]
        inventory = row["Register Name"] == StationRegister.__name__
        if name in errors or (inventory and values.get(name) is None):
            left_out.append(name)
        else:
            kept.append(row)
    try:
        target = args.output.open("w", newline="", encoding="utf-8") if args.output else out
    except OSError as exc:
        _fail(f"cannot write {args.output}: {exc.strerror or exc}")
        return EXIT_CONFIG
    try:
        writer = csv.DictWriter(target, fieldnames=list(candidates[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(kept)
    finally:
        if args.output:
            target.close()
    report = out if args.output else sys.stderr  # keep stdout pure CSV when the CSV goes there
    where = f" to {args.output}" if args.output else ""
    scope = settings.target_name if settings.is_group else \
        f"station {settings.station_id} (port(s) {', '.join(map(str, ports)) or 'none'})"
    report.write(f"wrote {len(kept)} points for {scope}{where}\n")
    if left_out:
        reasons = sorted({errors[name] for name in left_out if name in errors})
        report.write(f"left out {len(left_out)} attribute(s) the station does not return: {', '.join(left_out)}\n")
        for reason in reasons:
            report.write(f"  because: {reason}\n")
    return EXIT_OK


# -- reporting -------------------------------------------------------------------------------------------------

def _summary(problems: list[str]) -> str:
    """One line: the only problem, or the first and how many more (``check`` lists them all)."""
    lines = [" ".join(problem.split()) for problem in problems] or ["(no details)"]
    if len(lines) == 1:
        return lines[0]
    return f"{len(lines)} problems; the first: {lines[0]} (chargepoint-driver check lists them all)"


def _validation_problems(exc: Any, where: str) -> list[str]:
    # Only the platform's own config models raise these here; their inputs are not echoed (one may be a password).
    return [f"{where}, key '{'.'.join(map(str, e['loc']))}': {e['msg']}" for e in exc.errors()]


def _fail(message: str) -> None:
    print(" ".join(message.split()), file=sys.stderr)


class _KnownNoise(logging.Filter):
    """Drops the platform's notice that no interface plugins are installed (this driver uses none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "volttron.driver.base.interfaces"
                    and "volttron.driver.plugins" in record.getMessage())


@contextmanager
def _stderr_logging(verbosity: int) -> Iterator[None]:
    """Log to the current stderr for the duration of one command (WARNING, -v INFO, -vv DEBUG)."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    if verbosity == 0:
        handler.addFilter(_KnownNoise())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
