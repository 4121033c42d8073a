"""``chargepoint-driver``: try the driver before installing it into a platform.

Every subcommand goes through the same interface code the platform uses (see :mod:`.standalone`). Heavy modules are
imported inside :func:`main`, after gevent has patched the standard library, as in a VOLTTRON process. Results go to
stdout; reasons, problems and logs to stderr; the exit codes are those of :mod:`.console`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, TextIO

from .console import (EXIT_API, EXIT_CONFIG, EXIT_INTERRUPTED, EXIT_OK, EXIT_PIPE, EXIT_REFUSED, Interrupted,
                      ctrl_c_in_main_greenlet, fail, interrupted_line, silence_closed_pipe)
from .terminal import group_errors, print_table, same_value, with_units

__all__ = ["EXIT_API", "EXIT_CONFIG", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_PIPE", "EXIT_REFUSED", "main",
           "parse_arguments"]

DESCRIPTION = ("Read, write and check a ChargePoint station exactly as the VOLTTRON platform driver would, or try "
               "it all on a simulated one (demo).")
EPILOG = ("Start with 'chargepoint-driver init' (writes the sample chargepoint.config and chargepoint.csv). "
          "Results go to stdout; reasons and logs to stderr. Exit codes: 0 ok; 1 write refused or check failed; "
          "2 configuration error or bad arguments; 3 API unusable; 130 interrupted; 141 output closed early "
          "(| head). The password may be left out of CONFIG and given in $CHARGEPOINT_PASSWORD.")


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
    parser = argparse.ArgumentParser(prog="chargepoint-driver", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr (-vv: DEBUG)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser("init", help="write the sample chargepoint.config and chargepoint.csv to edit",
                               description="Write the sample device config and registry into DIR and say what to "
                                           "edit next. Files already there are left alone unless --force.")
    init.add_argument("directory", nargs="?", type=Path, default=Path("."), metavar="DIR",
                      help="where to write them (default: the current directory; made if missing)")
    init.add_argument("--force", action="store_true", help="replace chargepoint.config and chargepoint.csv there")

    demo = commands.add_parser("demo", help="poll and shed load on an embedded simulator (no account needed)",
                               description="Start the ChargePoint simulator on a free loopback port, configure the "
                                           "driver from CONFIG and its registry pointed at it, poll a few times, "
                                           "then shed load on a port and clear it.")
    demo.add_argument("--cycles", type=_positive_int, default=3, help="polling cycles before the load shed (3)")
    demo.add_argument("--interval", type=_non_negative, default=1.0, help="seconds between polling cycles (1)")
    demo.add_argument("--stations", type=_positive_int, default=4, help="stations in the simulated organisation (4)")
    demo.add_argument("--config", type=Path, default=None, metavar="CONFIG",
                      help="device config to start from (default: ./chargepoint.config if there, else the sample "
                           "shipped with the package)")
    demo.add_argument("--registry", type=Path, default=None, metavar="CSV",
                      help="registry CSV (default: the one CONFIG names)")

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
    out = out or sys.stdout
    try:
        from gevent import monkey
        if not monkey.is_module_patched("socket"):
            monkey.patch_all()
        with ctrl_c_in_main_greenlet():
            args = parse_arguments(argv)  # argparse ignores a failed write of --help, then exits 0
            code = _run(args, out)
            out.flush()
            return code
    except BrokenPipeError:
        silence_closed_pipe()
        return EXIT_PIPE
    except KeyboardInterrupt as exc:
        fail(interrupted_line(exc))
        return EXIT_INTERRUPTED


def _run(args: argparse.Namespace, out: TextIO) -> int:
    from pydantic import ValidationError

    from .device_files import validation_problems
    from .exceptions import ChargePointError, ConfigError
    handlers: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
        "init": _init, "demo": _demo, "scrape": _scrape, "set": _set, "check": _check, "registry": _registry,
        "schedule-shed": _schedule_shed, "cancel-shed": _cancel_shed,
    }
    with _stderr_logging(args.verbose):
        try:
            return handlers[args.command](args, out)
        except ConfigError as exc:
            fail(f"configuration error: {_summary(exc.problems)}")
            return EXIT_CONFIG
        except ValidationError as exc:
            where = str(getattr(args, "config", None) or "device config")
            fail(f"configuration error: {_summary(validation_problems(exc, where))}")
            return EXIT_CONFIG
        except ChargePointError as exc:  # an AuthError says the API refused the credentials
            fail(f"error: {exc}")
            return EXIT_API


# -- commands ----------------------------------------------------------------------------------------------------

def _init(args: argparse.Namespace, out: TextIO) -> int:
    from .registry import read_registry_csv
    from .samples import ExistingFiles, write_samples

    try:
        config, registry = write_samples(args.directory, force=args.force)
    except ExistingFiles as exc:
        fail(f"init: {' and '.join(map(str, exc.paths))} already there; nothing was written (--force replaces "
             f"{'them' if len(exc.paths) > 1 else 'it'})")
        return EXIT_CONFIG
    except OSError as exc:
        fail(f"init: cannot write into {args.directory}: {exc.strerror or exc}")
        return EXIT_CONFIG
    out.write(f"wrote {config} (the sample device config) and {registry} (its registry: "
              f"{len(read_registry_csv(registry))} points, every attribute of a station with two ports)\n"
              f"Next, edit {config}: in \"driver_config\", set \"stationID\" to your station (e.g. \"1:123456\"), "
              f"\"username\" to your API license key and \"password\" to your API password (or leave the password "
              f"out and set $CHARGEPOINT_PASSWORD). Then:\n"
              f"  chargepoint-driver check {config} --online\n"
              f"  chargepoint-driver scrape {config}\n"
              f"No account at hand? 'chargepoint-driver demo' runs on a simulated one, and 'chargepoint-sim "
              f"--write-config sim.config' serves one and writes a config for it.\n")
    return EXIT_OK


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    from .demo import run_demo
    return run_demo(args, out)


def _scrape(args: argparse.Namespace, out: TextIO) -> int:
    from .device_files import load_device_files
    device = load_device_files(args.config, args.registry)
    values, errors = device.scrape()
    # Per-point errors are normal (e.g. one operation not in the account's plan). When nothing but errors and
    # empty values came back, the device as configured cannot be read: wrong station, credentials or address.
    unreadable = bool(errors) and all(value is None for value in values.values())
    if args.json:
        json.dump({"values": values, "errors": errors}, out, default=str, sort_keys=True)
        out.write("\n")
    elif not unreadable:
        print_table(device, values, errors, out)
    if unreadable:
        causes = "; ".join(cause.describe() for cause in group_errors(device, errors))
        fail(f"error: the device could not be read: {causes}")
        return EXIT_API
    return EXIT_OK


def _set(args: argparse.Namespace, out: TextIO) -> int:
    from .device_files import load_device_files
    from .exceptions import ApiError, AuthError, SoapFault, WriteRejected
    from .models import Source

    sent = False
    try:
        device = load_device_files(args.config, args.registry)
        if args.point not in device.point_names:
            writable = [name for name in device.point_names if not device.register(name).read_only]
            fail(f"refused (nothing was sent to the API): no point {args.point!r} on this device; writable points: "
                 f"{', '.join(writable) or 'none'}")
            return EXIT_REFUSED
        register = device.register(args.point)
        device.interface.account.client  # the WSDL is read here, before any part of the write leaves
        sent = True
        readback = device.set(args.point, args.value)
    except KeyboardInterrupt:
        if not sent:
            raise Interrupted("before the write was sent") from None
        watch = "alarmType" if register.source is Source.ALARMS else "shedState"
        raise Interrupted(f"after the write was sent: read {watch} to know whether it took effect") from None
    except AuthError:
        raise
    except (WriteRejected, ApiError, SoapFault) as exc:
        return _refused(exc)
    if args.json:
        json.dump({"point": args.point, "written": _as_json(args.value), "value": readback}, out, default=str)
        out.write("\n")
        return EXIT_OK
    units = register.get_units()
    out.write(f"{args.point} := {args.value} accepted by the API\n")
    out.write(f"read-back: {args.point} = {with_units(readback, units)}\n")
    if not same_value(readback, args.value):
        out.write("(the read-back shows the station's state: a shed or clear takes effect once the station applies "
                  "it, which may take a minute; scrape again to see it)\n")
    return EXIT_OK


def _as_json(text: str) -> Any:
    """VALUE as the JSON value it reads as: 6.6 and 50 are numbers, None (or null, or nothing) is null."""
    if text.strip().lower() in ("", "none", "null"):
        return None
    for kind in (int, float):
        try:
            number = kind(text)
        except ValueError:
            continue
        if number == number and abs(number) != float("inf"):
            return number
    return text


def _schedule_shed(args: argparse.Namespace, out: TextIO) -> int:
    from .device_files import load_device_files
    device = load_device_files(args.config, args.registry)
    return _event_command(lambda: device.interface.schedule_shed(
        args.start, args.minutes, kw_per_port=args.kw_per_port, percent=args.percent,
        allow_opt_out=args.allow_opt_out), out)


def _cancel_shed(args: argparse.Namespace, out: TextIO) -> int:
    from .device_files import load_device_files
    device = load_device_files(args.config, args.registry)
    return _event_command(lambda: device.interface.cancel_shed(args.event_id), out)


def _event_command(run: Callable[[], Any], out: TextIO) -> int:
    """Run a shed-event call and print its answer; a refusal is one line and exit code 1."""
    from .exceptions import ApiError, AuthError, SoapFault, WriteRejected
    try:
        answer = run()
    except AuthError:
        raise
    except (WriteRejected, ApiError, SoapFault) as exc:
        return _refused(exc)
    out.write(f"{answer}\n")
    return EXIT_OK


def _refused(exc: Exception) -> int:
    """One line saying who refused (this driver, before any call, or the API) and exit code 1; a wrong password
    is not a refusal of this write and goes to the caller."""
    from .exceptions import WriteRejected
    if isinstance(exc, WriteRejected):
        fail(f"refused (nothing was sent to the API): {exc}")
    else:
        fail(f"refused by the API: {exc}")
    return EXIT_REFUSED


def _check(args: argparse.Namespace, out: TextIO) -> int:
    from .check import run_check
    return run_check(args, out)


def _registry(args: argparse.Namespace, out: TextIO) -> int:
    import csv

    from .account import account_for
    from .chargepoint_registers import StationRegister
    from .device_files import read_device_config
    from .registry import registry_rows_for
    from .standalone import build_device

    raw, settings = read_device_config(args.config)
    if args.output:
        problem = _unwritable(args.output)  # refused before the API is asked anything
        if problem:
            fail(f"cannot write {args.output}: {problem}")
            return EXIT_CONFIG
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
        fail(f"cannot write {args.output}: {exc.strerror or exc}")
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
        report.write(f"left out {len(left_out)} attribute(s) the station does not return: {', '.join(left_out)}\n")
        for cause in group_errors(device, {name: errors[name] for name in left_out if name in errors}):
            report.write(f"  because: {cause.describe()}\n")
    return EXIT_OK


def _unwritable(path: Path) -> str | None:
    """Why ``path`` cannot be written as a file, or None."""
    if path.is_dir():
        return "it is a directory"
    if not path.parent.is_dir():
        return f"no directory {path.parent}"
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return "permission denied"
    return None


# -- reporting -------------------------------------------------------------------------------------------------

def _summary(problems: list[str]) -> str:
    """One line: the only problem, or the first and how many more (``check`` lists them all)."""
    lines = [" ".join(problem.split()) for problem in problems] or ["(no details)"]
    if len(lines) == 1:
        return lines[0]
    return f"{len(lines)} problems; the first: {lines[0]} (chargepoint-driver check lists them all)"


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
