"""``chargepoint-driver check``: every problem of a device config and its registry at once, then optionally the API.

Each problem is a line on stderr; the verdict (valid, or how many problems) is the one line on stdout, so that
``check CONFIG 2>/dev/null`` still says whether the files are good.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from .config import DeviceSettings, load_device_settings
from .console import EXIT_OK, EXIT_REFUSED, fail
from .device_files import misplaced_keys, validation_problems
from .exceptions import ApiError, ConfigError
from .registry import PointSpec, read_registry_csv, registry_rows, validate_rows
from .standalone import build_device, read_config_file, registry_path_for


def run_check(args: argparse.Namespace, out: TextIO) -> int:
    """Offline checks (no API call), then with ``--online`` the credentials and the station; the exit code."""
    problems: list[str] = []
    settings: DeviceSettings | None = None
    raw: dict[str, Any] | None = None
    try:
        raw = read_config_file(args.config)
        problems.extend(misplaced_keys(raw, str(args.config)))
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
    specs: list[PointSpec] = []
    if registry is not None:
        try:
            specs = validate_rows(registry_rows(read_registry_csv(registry)), str(registry),
                                  group=settings is not None and settings.is_group)
        except ConfigError as exc:
            problems.extend(exc.problems)
    if not problems and raw is not None and registry is not None:
        # Finally configure the interface exactly as the platform would (no API call), for what only it checks.
        try:
            build_device(raw, read_registry_csv(registry), f"devices/{args.config.stem}")
        except ConfigError as exc:
            problems.extend(exc.problems)
        except ValidationError as exc:
            problems.extend(validation_problems(exc, str(args.config)))
    for problem in problems:
        print(f"problem: {' '.join(problem.split())}", file=sys.stderr)
    if registry is None:
        fail("registry not checked: the config could not be read (give it with --registry)")
    if problems:
        out.write(f"{len(problems)} problem(s) found\n")
        return EXIT_REFUSED
    out.write(f"{args.config}: valid; {registry}: {len(specs)} valid points\n")
    if not args.online or settings is None:
        return EXIT_OK
    return _check_online(settings, specs, out)


def _check_online(settings: DeviceSettings, specs: list[PointSpec], out: TextIO) -> int:
    from .account import account_for
    from .client import NO_DATA

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
        fail(f"problem: station {settings.station_id} is not visible to this account")
        return EXIT_REFUSED
    ports = sorted(stations[0].ports)
    out.write(f"station {settings.station_id} found, port(s) {', '.join(map(str, ports)) or 'none'}\n")
    missing = sorted({spec.port for spec in specs if spec.port and spec.port not in ports})
    if missing:
        names = [spec.point_name for spec in specs if spec.port in missing]
        fail(f"note: {len(names)} point(s) name port(s) {', '.join(map(str, missing))}, which the station lacks; "
             f"they will read None: {', '.join(names)}")
    return EXIT_OK


def _check_group_online(client: Any, sg_id: int, out: TextIO) -> int:
    from .client import NO_DATA
    try:
        group = client.get_load(sg_id=sg_id)
    except ApiError as exc:
        if exc.code != NO_DATA:
            raise
        fail(f"problem: group {sg_id} is not visible to this account")
        return EXIT_REFUSED
    out.write(f"group {sg_id} found ({group.group_name}), station(s) {', '.join(sorted(group.stations)) or 'none'}\n")
    return EXIT_OK

