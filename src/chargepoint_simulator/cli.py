"""``chargepoint-sim``: run the ChargePoint API simulator from a shell until interrupted.

It prints (and with ``--write-config`` writes) a complete device config pointed at itself, which
``chargepoint-driver check`` accepts as is. Exit codes: 0 stopped by Ctrl-C or SIGTERM; 1 cannot listen; 2 bad
arguments or a config file that cannot be written.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence, TextIO

from chargepoint_simulator.clock import SimClock
from chargepoint_simulator.faults import Faults
from chargepoint_simulator.operations import OPERATIONS
from chargepoint_simulator.server import default_wsdl_path
from chargepoint_simulator.simulator import DEFAULT_PASSWORD, DEFAULT_USERNAME, Simulator

_log = logging.getLogger(__name__)

PASSWORD_ENV = "CHARGEPOINT_SIM_PASSWORD"
DRIVER_PASSWORD_ENV = "CHARGEPOINT_PASSWORD"
MAX_STATIONS = 100_000
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
REGISTRY_NAME = "chargepoint.csv"


def _rate(text: str) -> float:
    """argparse type: a share between 0 and 1."""
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("a rate is a share of calls between 0 and 1")
    return value


def _non_negative(text: str) -> float:
    """argparse type: a number >= 0."""
    value = float(text)
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _start_time(text: str) -> datetime:
    """argparse type: an ISO 8601 instant, naive taken as UTC."""
    try:
        value = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected an ISO 8601 date and time, e.g. 2025-01-01T08:00:00Z") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _port(text: str) -> int:
    """argparse type: a TCP port, or 0 for a free one."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port: give 0-65535 (0 picks a free port)")
    return value


def _station_count(text: str) -> int:
    """argparse type: how many stations to simulate."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_STATIONS:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number from 1 to {MAX_STATIONS}")
    return value


def _operation(text: str) -> str:
    """One SOAP operation name, spelled as in the WSDL."""
    operation = text.strip()
    if operation not in OPERATIONS:
        raise argparse.ArgumentTypeError(f"unknown operation {operation!r}; the operations are "
                                         f"{', '.join(OPERATIONS)}")
    return operation


def _operations(text: str) -> set[str]:
    """argparse type: OP[,OP...]."""
    return {_operation(name) for name in text.split(",") if name.strip()}


def _forced_code(text: str) -> tuple[str, int, str | None]:
    """argparse type: OPERATION=CODE[:TEXT]."""
    operation, sep, rest = text.partition("=")
    code, _, message = rest.partition(":")
    if not sep or not operation or not code.strip().isdigit():
        raise argparse.ArgumentTypeError("expected OPERATION=CODE or OPERATION=CODE:TEXT, e.g. getLoad=101")
    return _operation(operation), int(code), message or None


def _log_level(text: str) -> str:
    if text.upper() not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"{text!r}: give one of {', '.join(LOG_LEVELS)}")
    return text.upper()


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line (``argv`` without the program name; None means sys.argv)."""
    parser = argparse.ArgumentParser(
        prog="chargepoint-sim",
        description="Serve a simulated ChargePoint Web Services API 5.0 (SOAP over HTTP) until interrupted.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8080, help="TCP port; 0 picks a free one (default 8080)")
    parser.add_argument("--stations", type=_station_count, default=4, help="number of stations (default 4)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the simulated organisation (default 1)")
    parser.add_argument("--username", default=DEFAULT_USERNAME,
                        help=f"API license key to accept (default {DEFAULT_USERNAME!r})")
    parser.add_argument(
        "--password",
        default=None,
        help=f"API password to accept (default: ${PASSWORD_ENV}, else {DEFAULT_PASSWORD!r})",
    )
    parser.add_argument("--time-scale", type=_non_negative, default=1.0, help="simulated seconds per real second")
    parser.add_argument("--start-time", type=_start_time, default=None, help="simulated start (default: now)")
    parser.add_argument(
        "--propagation-delay",
        type=_non_negative,
        default=2.0,
        help="simulated seconds before a shed or clear reaches the station (default 2)",
    )
    faults = parser.add_argument_group("fault injection (all can be changed later via POST /admin/faults)")
    faults.add_argument("--latency-ms", type=_non_negative, default=0.0, help="delay every answer")
    faults.add_argument("--jitter-ms", type=_non_negative, default=0.0, help="add up to this much random delay")
    faults.add_argument("--http500-rate", type=_rate, default=0.0, help="share of calls answered with a bare HTTP 500")
    faults.add_argument("--soap-fault-rate", type=_rate, default=0.0, help="share of calls answered with a SOAP fault")
    faults.add_argument(
        "--response-code",
        type=_forced_code,
        action="append",
        default=[],
        metavar="OP=CODE[:TEXT]",
        help=f"force a responseCode on an operation (repeatable), e.g. getLoad=101; operations: "
             f"{', '.join(OPERATIONS)}",
    )
    faults.add_argument("--truncate", action="store_true", help="cut every response body in half")
    faults.add_argument("--malformed", action="store_true", help="answer 200 with a body that is not XML")
    faults.add_argument("--blackhole", action="store_true", help="accept calls and never answer")
    faults.add_argument("--empty", action="store_true", help="answer success with no result elements")
    faults.add_argument(
        "--fault-operations",
        type=_operations,
        default=None,
        metavar="OP[,OP...]",
        help="limit the faults above to these operations (default: all)",
    )
    parser.add_argument("--log-level", type=_log_level, default="INFO",
                        help=f"logging level: {', '.join(LOG_LEVELS)} (default INFO)")
    parser.add_argument("--write-config", type=Path, default=None, metavar="PATH",
                        help=f"also write the device config printed at start to PATH, and the sample registry "
                             f"{REGISTRY_NAME} beside it unless one is there; 'chargepoint-driver check PATH' "
                             f"accepts it as is")
    args = parser.parse_args(argv)
    if args.write_config is not None and not args.write_config.parent.is_dir():
        parser.error(f"--write-config: no directory {args.write_config.parent}")
    args.password_from_env = args.password is None and PASSWORD_ENV in os.environ
    if args.password is None:
        args.password = os.environ.get(PASSWORD_ENV, DEFAULT_PASSWORD)
    return args


def build_simulator(args: argparse.Namespace) -> Simulator:
    """A (not yet started) simulator configured from parsed arguments."""
    faults = Faults(
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        http500_rate=args.http500_rate,
        soap_fault_rate=args.soap_fault_rate,
        truncate=args.truncate,
        malformed=args.malformed,
        blackhole=args.blackhole,
        empty=args.empty,
        operations=args.fault_operations or None,
        seed=args.seed,
    )
    for operation, code, text in args.response_code:
        faults.force_code(operation, code, text)
    return Simulator(
        stations=args.stations,
        seed=args.seed,
        username=args.username,
        password=args.password,
        host=args.host,
        port=args.port,
        propagation_delay=args.propagation_delay,
        clock=SimClock(start=args.start_time, scale=args.time_scale),
        faults=faults,
    )


def device_config(sim: Simulator, args: argparse.Namespace) -> dict[str, Any]:
    """A device config (the sample's shape) for the station of the simulated organisation with the most ports.

    A password taken from the environment is left out: the driver then reads it from its own variable.
    """
    station = max(sim.model.station_ids(), key=lambda station_id: sim.model.station(station_id).numPorts)
    driver: dict[str, Any] = {"stationID": station, "username": args.username, "password": args.password,
                              "wsdl": sim.wsdl_url, "cacheExpiration": 30, "timeout": 10, "shedDuration": 0}
    if args.password_from_env:
        del driver["password"]
    return {"driver_config": driver, "driver_type": "chargepoint",
            "registry_config": f"config://{REGISTRY_NAME}", "interval": 60, "timezone": "UTC"}


def write_config(config: dict[str, Any], path: Path) -> list[str]:
    """Write the config to ``path`` and, unless there is one, the sample registry beside it; what was done."""
    done = [f"wrote {path}"]
    staged = path.with_name(f".{path.name}.tmp")
    try:
        staged.write_text(json.dumps(config, indent=4) + "\n", encoding="utf-8")
        os.replace(staged, path)  # whole or not at all: a reader polling for the file never sees half of it
    finally:
        staged.unlink(missing_ok=True)
    registry = path.with_name(REGISTRY_NAME)
    if registry.exists():
        done.append(f"kept the {REGISTRY_NAME} already beside it")
    else:
        registry.write_bytes((default_wsdl_path().with_name("samples") / REGISTRY_NAME).read_bytes())
        done.append(f"wrote the sample registry {registry}")
    return done


def print_banner(sim: Simulator, args: argparse.Namespace, config: dict[str, Any], out: TextIO) -> None:
    """The URLs and a complete device config to save."""
    lines = [
        f"ChargePoint API simulator: {len(sim.model.station_ids())} stations, seed {args.seed}",
        f"WSDL:     {sim.wsdl_url}",
        f"Endpoint: {sim.endpoint}",
        f"Admin:    {sim.url}/admin/calls",
        f"A device config for it (save it beside {REGISTRY_NAME}, or use --write-config PATH):",
        json.dumps(config, indent=4),
    ]
    if args.password_from_env:
        lines.append(f"(the password is left out: it came from ${PASSWORD_ENV}; give the driver the same one in "
                     f"${DRIVER_PASSWORD_ENV})")
    lines.append("Press Ctrl+C to stop.")
    out.write("\n".join(lines) + "\n")
    out.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator until SIGINT or SIGTERM; returns the exit status."""
    try:
        return _serve(argv)
    except KeyboardInterrupt:  # before the signal handlers are in place, e.g. while the model is built
        print("chargepoint-sim: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except BrokenPipeError:  # stdout closed early (| head): nothing more to say, and nothing at exit either
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 128 + signal.SIGPIPE


def _serve(argv: Sequence[str] | None) -> int:
    from gevent import monkey

    monkey.patch_all()
    import gevent
    from gevent.event import Event

    args = parse_arguments(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sim = build_simulator(args)
    try:
        sim.start()
    except OSError as exc:
        print(f"chargepoint-sim: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    done = Event()
    handlers = [gevent.signal_handler(signum, done.set) for signum in (signal.SIGINT, signal.SIGTERM)]
    try:
        config = device_config(sim, args)
        if args.write_config is not None:
            try:
                for line in write_config(config, args.write_config):
                    print(f"chargepoint-sim: {line}", file=sys.stderr)
            except OSError as exc:
                print(f"chargepoint-sim: cannot write {args.write_config}: {exc.strerror or exc}", file=sys.stderr)
                return 2
        print_banner(sim, args, config, sys.stdout)
        done.wait()
    finally:
        for handler in handlers:
            handler.cancel()
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
