"""``chargepoint-sim``: run the ChargePoint API simulator from a shell until interrupted."""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from datetime import datetime, timezone
from typing import Sequence, TextIO

from chargepoint_simulator.clock import SimClock
from chargepoint_simulator.faults import Faults
from chargepoint_simulator.simulator import DEFAULT_PASSWORD, DEFAULT_USERNAME, Simulator

_log = logging.getLogger(__name__)

PASSWORD_ENV = "CHARGEPOINT_SIM_PASSWORD"


def _rate(text: str) -> float:
    """argparse type: a share between 0 and 1."""
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("a rate is a share of calls between 0 and 1")
    return value


def _non_negative(text: str) -> float:
    """argparse type: a number >= 0."""
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _start_time(text: str) -> datetime:
    """argparse type: an ISO 8601 instant, naive taken as UTC."""
    try:
        value = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected an ISO 8601 date and time, e.g. 2025-01-01T08:00:00Z") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _forced_code(text: str) -> tuple[str, int, str | None]:
    """argparse type: OPERATION=CODE[:TEXT]."""
    operation, sep, rest = text.partition("=")
    code, _, message = rest.partition(":")
    if not sep or not operation or not code.strip().isdigit():
        raise argparse.ArgumentTypeError("expected OPERATION=CODE or OPERATION=CODE:TEXT, e.g. getLoad=101")
    return operation.strip(), int(code), message or None


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line (``argv`` without the program name; None means sys.argv)."""
    parser = argparse.ArgumentParser(
        prog="chargepoint-sim",
        description="Serve a simulated ChargePoint Web Services API 5.0 (SOAP over HTTP) until interrupted.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="TCP port; 0 picks a free one (default 8080)")
    parser.add_argument("--stations", type=int, default=4, help="number of stations (default 4)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the simulated organisation (default 1)")
    parser.add_argument("--username", default=DEFAULT_USERNAME, help="API license key to accept")
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
        help="force a responseCode on an operation (repeatable), e.g. getLoad=101",
    )
    faults.add_argument("--truncate", action="store_true", help="cut every response body in half")
    faults.add_argument("--malformed", action="store_true", help="answer 200 with a body that is not XML")
    faults.add_argument("--blackhole", action="store_true", help="accept calls and never answer")
    faults.add_argument("--empty", action="store_true", help="answer success with no result elements")
    faults.add_argument(
        "--fault-operations",
        default=None,
        metavar="OP[,OP...]",
        help="limit the faults above to these operations (default: all)",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    args = parser.parse_args(argv)
    if args.stations < 1:
        parser.error("--stations must be at least 1")
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
        operations={op.strip() for op in args.fault_operations.split(",") if op.strip()}
        if args.fault_operations
        else None,
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


def print_banner(sim: Simulator, args: argparse.Namespace, out: TextIO) -> None:
    """The URLs and a driver config snippet to paste."""
    snippet = {
        "wsdl": sim.wsdl_url,
        "username": args.username,
        "password": f"<value of ${PASSWORD_ENV}>" if args.password_from_env else args.password,
        "stationID": sim.model.station_ids()[0],
    }
    lines = [
        f"ChargePoint API simulator: {len(sim.model.station_ids())} stations, seed {args.seed}",
        f"WSDL:     {sim.wsdl_url}",
        f"Endpoint: {sim.endpoint}",
        f"Admin:    {sim.url}/admin/calls",
        "Driver config snippet:",
        json.dumps(snippet, indent=2),
        "Press Ctrl+C to stop.",
    ]
    out.write("\n".join(lines) + "\n")
    out.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator until SIGINT or SIGTERM; returns the exit status."""
    from gevent import monkey

    monkey.patch_all()
    import gevent
    from gevent.event import Event

    args = parse_arguments(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sim = build_simulator(args)
    try:
        sim.start()
    except OSError as exc:
        print(f"chargepoint-sim: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    done = Event()
    handlers = [gevent.signal_handler(signum, done.set) for signum in (signal.SIGINT, signal.SIGTERM)]
    try:
        print_banner(sim, args, sys.stdout)
        done.wait()
    finally:
        for handler in handlers:
            handler.cancel()
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
