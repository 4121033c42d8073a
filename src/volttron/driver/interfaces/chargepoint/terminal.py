"""How results look on a terminal: the table of points, errors grouped by cause, and values shown as text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TextIO

VALUE_WIDTH = 40  # table cells longer than this are shortened (--json shows them whole)
UNITS_WIDTH = 24
# Units shown after a value ("6.6 kW"); the registry's other Units texts describe the values ("0 or 1", "ID").
MEASURES = {"kW", "kWh", "Percent", "Volts", "Amps"}


@dataclass(frozen=True)
class Cause:
    """One distinct error of a poll: the API operations that gave it, its text, and the points it hit."""

    text: str
    operations: tuple[str, ...]
    points: tuple[str, ...]

    def describe(self) -> str:
        count = f"{len(self.points)} point{'' if len(self.points) == 1 else 's'}"
        return f"{', '.join(self.operations)}{self.text} ({count})"


def group_errors(device: Any, errors: dict[str, str]) -> list[Cause]:
    """The errors of a poll by cause, in order of first appearance.

    Each operation's failures are worded "<operation>: <reason>" (or "<operation> refused with ..."): the same
    reason from several operations (refused credentials, no answer) is one cause.
    """
    groups: dict[str, tuple[list[str], list[str]]] = {}
    for name, message in errors.items():
        operation = device.register(name).source.value
        named = message.startswith(operation) and message[len(operation):len(operation) + 1] in (":", " ")
        operations, points = groups.setdefault(message[len(operation):] if named else message, ([], []))
        if named and operation not in operations:
            operations.append(operation)
        points.append(name)
    return [Cause(text, tuple(operations), tuple(points)) for text, (operations, points) in groups.items()]


def print_table(device: Any, values: dict[str, Any], errors: dict[str, str], out: TextIO) -> None:
    """Point, value and units, one row per point; a failed point shows ``ERROR n``, its cause listed below."""
    names = device.point_names
    causes = group_errors(device, errors)
    marks = {point: f"ERROR {number}" for number, cause in enumerate(causes, start=1) for point in cause.points}
    cells = {name: marks.get(name) or clip(show(values.get(name)), VALUE_WIDTH) for name in names}
    point_width = max((len(name) for name in names), default=5)
    value_width = max([len("value"), *(len(cell) for cell in cells.values())])
    out.write(f"{'point':<{point_width}}  {'value':<{value_width}}  units\n")
    out.write(f"{'-' * point_width}  {'-' * value_width}  {'-' * 5}\n")
    for name in names:
        units = clip(device.register(name).get_units(), UNITS_WIDTH)
        out.write(f"{name:<{point_width}}  {cells[name]:<{value_width}}  {units}".rstrip() + "\n")
    if any(show(values.get(name)) != cells[name] for name in names if name not in errors):
        out.write(f"(values longer than {VALUE_WIDTH} characters are shortened; --json shows them whole)\n")
    if causes:
        out.write(f"\n{len(errors)} point(s) could not be read:\n")
        for number, cause in enumerate(causes, start=1):
            out.write(f"  ERROR {number}  {cause.describe()}\n")


def show(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return "None" if value is None else str(value)


def with_units(value: Any, units: str) -> str:
    """The value as text, followed by its units when they are a measure ("6.6 kW"; "0", not "0 0 or 1")."""
    return f"{show(value)} {units}" if value is not None and units in MEASURES else show(value)


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def same_value(readback: Any, written: str) -> bool:
    if readback is None or written.strip().lower() in ("none", "null", ""):
        return readback is None and written.strip().lower() in ("none", "null", "")
    try:
        return float(readback) == float(written)
    except (TypeError, ValueError):
        return str(readback) == written
