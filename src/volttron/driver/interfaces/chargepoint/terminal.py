"""How results look on a terminal: the table of points, and values shown as text."""

from __future__ import annotations

import json
from typing import Any, TextIO

VALUE_WIDTH = 40  # table cells longer than this are shortened (--json shows them whole)
UNITS_WIDTH = 24


def print_table(device: Any, values: dict[str, Any], errors: dict[str, str], out: TextIO) -> None:
    """Point, value and units, one row per point; errors are listed once each below the table."""
    names = device.point_names
    cells = {name: ("ERROR (see below)" if name in errors else clip(show(values.get(name)), VALUE_WIDTH))
             for name in names}
    point_width = max((len(name) for name in names), default=5)
    value_width = max([len("value"), *(len(cell) for cell in cells.values())])
    out.write(f"{'point':<{point_width}}  {'value':<{value_width}}  units\n")
    out.write(f"{'-' * point_width}  {'-' * value_width}  {'-' * 5}\n")
    for name in names:
        units = clip(device.register(name).get_units(), UNITS_WIDTH)
        out.write(f"{name:<{point_width}}  {cells[name]:<{value_width}}  {units}".rstrip() + "\n")
    if any(show(values.get(name)) != cells[name] for name in names if name not in errors):
        out.write(f"(values longer than {VALUE_WIDTH} characters are shortened; --json shows them whole)\n")
    by_message: dict[str, list[str]] = {}
    for name, message in errors.items():
        by_message.setdefault(message, []).append(name)
    if by_message:
        out.write(f"\n{len(errors)} point(s) could not be read:\n")
        for message, points in by_message.items():
            out.write(f"  {message}\n    points: {', '.join(points)}\n")


def show(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return "None" if value is None else str(value)


def kw_suffix(device: Any, name: str, value: Any) -> str:
    units = device.register(name).get_units()
    return f" {units}" if value is not None and units == "kW" else ""


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def same_value(readback: Any, written: str) -> bool:
    if readback is None or written.strip().lower() in ("none", "null", ""):
        return readback is None and written.strip().lower() in ("none", "null", "")
    try:
        return float(readback) == float(written)
    except (TypeError, ValueError):
        return str(readback) == written
