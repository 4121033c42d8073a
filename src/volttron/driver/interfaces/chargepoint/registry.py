"""The registry: CSV rows in, validated point specs out (and the generated registry for a station).

Every row is checked against the attribute tables when the device is configured, and every problem of a file is
reported at once, each naming the line (as an editor numbers it), column and value and what would be accepted.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Mapping

from .attributes import TYPE_ALIASES, Attribute, PortRule, is_blank
from .chargepoint_registers import GROUP_REGISTER_TYPES, REGISTER_TYPES, STATION_REGISTER_TYPES, ChargepointRegister
from .exceptions import ConfigError, WriteRejected


@dataclass(frozen=True)
class RegistryRow:
    """One registry CSV row as text, with the line it is on for error messages (the header is line 1)."""

    line: int
    point_name: str
    attribute_name: str
    port: str = ""
    type: str = ""
    units: str = ""
    writable: str = ""
    notes: str = ""
    register_name: str = ""
    starting_value: str = ""

    COLUMNS: ClassVar[dict[str, str]] = {
        "point_name": "Volttron Point Name", "attribute_name": "Attribute Name", "port": "Port #", "type": "Type",
        "units": "Units", "writable": "Writable", "notes": "Notes", "register_name": "Register Name",
        "starting_value": "Starting Value",
    }

    @classmethod
    def from_mapping(cls, line: int, values: dict[str, Any]) -> "RegistryRow":
        def text(column: str) -> str:
            value = values.get(column)
            return "" if value is None else str(value).strip()
        return cls(line=line, **{field: text(column) for field, column in cls.COLUMNS.items()})


@dataclass(frozen=True)
class PointSpec:
    """A validated registry row: what the driver needs to build the register."""

    register_class: type[ChargepointRegister]
    attribute: Attribute
    point_name: str
    port: int | None
    writable: bool
    units: str
    notes: str
    starting_value: Any  # None when there is no revert default
    kind: str = ""  # the Type column, normalised: what the point publishes (the attribute's own kind when empty)

    def build(self) -> ChargepointRegister:
        units = self.units or self.attribute.units
        return self.register_class(self.attribute, self.point_name, self.port, units, self.notes,
                                   read_only=not self.writable, kind=self.kind or None)


_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0", ""}


def _writable_names() -> list[str]:
    names = [name for cls in REGISTER_TYPES.values() for name, a in cls.attributes.items() if a.writable]
    return list(dict.fromkeys(names))


def _device_kind_problem(register_name: str, group: bool | None) -> str | None:
    """Why a register type does not belong in this device's registry (``group``: a group device; None: either)."""
    if group is None or register_name not in REGISTER_TYPES:
        return None
    if group and register_name not in GROUP_REGISTER_TYPES:
        return (f"a group device (sgID) may hold only {', '.join(GROUP_REGISTER_TYPES)} rows; {register_name} "
                "points belong to a station device (stationID)")
    if not group and register_name in GROUP_REGISTER_TYPES:
        return (f"a station device (stationID) may not hold {register_name} rows; they belong to a group device "
                "(sgID instead of stationID)")
    return None


def validate_row(row: RegistryRow, where: str = "registry", *, group: bool | None = None) -> PointSpec:
    """Check one row against the spec; every problem found is reported at once in one ConfigError.

    ``group`` says which device the registry is for (True: a group device, False: a station device), whose
    register types it must hold; None accepts either.
    """
    problems: list[str] = []

    def problem(column: str, value: str, message: str) -> None:
        problems.append(f"{where} line {row.line} (point {_show(row.point_name or '?')}), column '{column}', "
                        f"value {_show(value)}: {message}")

    if not row.point_name:
        problem("Volttron Point Name", row.point_name, "a point name is required")
    register_class = REGISTER_TYPES.get(row.register_name)
    attribute: Attribute | None = None
    wrong_device = _device_kind_problem(row.register_name, group)
    if register_class is None:
        problem("Register Name", row.register_name, f"must be one of {', '.join(REGISTER_TYPES)}")
    elif wrong_device is not None:
        problem("Register Name", row.register_name, wrong_device)
    else:
        attribute = register_class.attributes.get(row.attribute_name)
        if attribute is None:
            owners = [name for name, cls in REGISTER_TYPES.items() if row.attribute_name in cls.attributes]
            hint = f" ({row.attribute_name} belongs to {' or '.join(owners)})" if owners else ""
            problem("Attribute Name", row.attribute_name,
                    f"not an attribute of {row.register_name}{hint}; allowed: {', '.join(register_class.attributes)}")

    port = _check_port(row, attribute, problem)

    kind = TYPE_ALIASES.get(row.type.lower())
    if attribute is not None:
        if kind not in attribute.accepted_kinds:
            problem("Type", row.type, f"cannot hold {attribute.name}; use {' or '.join(attribute.accepted_kinds)}")

    writable_text = row.writable.lower()
    writable = writable_text in _TRUE
    if writable_text not in _TRUE | _FALSE:
        problem("Writable", row.writable, "must be True or False")
    elif attribute is not None and writable and not attribute.writable:
        problem("Writable", row.writable, f"{attribute.name} is read-only; writable attributes are "
                                          f"{', '.join(_writable_names())}")

    starting_value: Any = None
    if row.starting_value and attribute is not None:
        if not writable:
            problem("Starting Value", row.starting_value, "must be empty for a read-only point")
        else:
            starting_value = _check_starting_value(attribute, row, port, problem)

    if problems or register_class is None or attribute is None:
        raise ConfigError("; ".join(problems), problems=problems)
    return PointSpec(register_class, attribute, row.point_name, port or None, writable, row.units, row.notes,
                     starting_value, kind or "")


def _check_port(row: RegistryRow, attribute: Attribute | None,
                problem: Callable[[str, str, str], None]) -> int | None:
    try:
        port = int(row.port) if row.port else None
    except ValueError:
        port = -1
    if port is not None and port < 0:
        problem("Port #", row.port, "must be empty, 0 or a port number (1, 2, ...)")
        return None
    if attribute is not None:
        if attribute.port_rule is PortRule.STATION and port:
            problem("Port #", row.port, f"{attribute.name} is a station-level attribute: the port must be "
                                        f"{PortRule.STATION.value}")
        elif attribute.port_rule is PortRule.PORT and not port:
            problem("Port #", row.port, f"{attribute.name} is a port-level attribute: the port must be "
                                        f"{PortRule.PORT.value}")
    return port


def _check_starting_value(attribute: Attribute, row: RegistryRow, port: int | None,
                          problem: Callable[[str, str, str], None]) -> Any:
    # A write that cannot be undone (clearAlarms) has nothing to revert to: its documented Starting Value 0 means
    # "nothing"; any other write default must be a value the point would accept if written.
    if not attribute.revertible:
        if row.starting_value != "0":
            problem("Starting Value", row.starting_value,
                    f"{attribute.name} takes no revert value other than 0 or empty")
        return None
    if is_blank(row.starting_value):
        problem("Starting Value", row.starting_value, "a revert default must be a number; leave it empty for none "
                                                      "(use shedState 0 to clear the shed on revert)")
        return None
    assert attribute.write is not None  # only writable points reach here
    try:
        attribute.write(row.point_name or "?", port or None, row.starting_value)
    except WriteRejected as exc:
        problem("Starting Value", row.starting_value, str(exc))
        return None
    return float(row.starting_value) if attribute.kind == "float" else int(float(row.starting_value))


def validate_rows(rows: Iterable[RegistryRow], where: str = "registry", *, group: bool | None = None
                  ) -> list[PointSpec]:
    """Validate a whole registry: every bad row and every duplicate name is reported in one ConfigError.

    ``group`` as for :func:`validate_row`."""
    specs: list[PointSpec] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for row in rows:
        try:
            specs.append(validate_row(row, where, group=group))
        except ConfigError as exc:
            problems.extend(exc.problems)
        if row.point_name:
            if row.point_name in seen:
                problems.append(f"{where} line {row.line}, column 'Volttron Point Name', value "
                                f"{_show(row.point_name)}: duplicate of line {seen[row.point_name]}; point names must "
                                f"be unique")
            else:
                seen[row.point_name] = row.line
    if problems:
        raise ConfigError(f"{len(problems)} problem(s) in {where}:\n  " + "\n  ".join(problems), problems=problems)
    if not specs:
        raise ConfigError(f"{where} has no points", problems=[f"{where} has no points"])
    return specs


def _show(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")


# -- registry files ------------------------------------------------------------------------------------------------

def read_registry_csv(path: str | Path) -> list[dict[str, str]]:
    """Read a registry CSV (UTF-8, with or without a byte-order mark) into rows keyed by header."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read registry {path}: {exc}") from exc
    return parse_registry_csv(text, str(path))


LONGEST_CELL = 131_072  # csv's own default limit: a longer cell is nearly always an unclosed quote


def parse_registry_csv(text: str, where: str = "registry") -> list[dict[str, str]]:
    """Parse registry CSV text; an empty file, one without the required columns or with a runaway cell is an error."""
    text = text.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    # Read every cell whatever its length, so that a long one is reported where it is rather than crash the reader.
    limit = csv.field_size_limit(max(len(text), LONGEST_CELL) + 1)
    try:
        return _rows(reader, where)
    except csv.Error as exc:
        raise ConfigError(f"{where} line {reader.line_num}: not readable as CSV ({exc})") from None
    finally:
        csv.field_size_limit(limit)


def _rows(reader: csv.DictReader, where: str) -> list[dict[str, str]]:
    if not reader.fieldnames:
        raise ConfigError(f"{where} is empty: expected a header row with {', '.join(RegistryRow.COLUMNS.values())}")
    require_columns([_header(h) for h in reader.fieldnames], where)
    rows = normalise_rows(reader)
    long_cells = [f"{where} line {line}, column '{column}': a cell of {len(value)} characters (more than "
                  f"{LONGEST_CELL}); an unclosed quote (\") makes the rest of the file one cell"
                  for line, row in enumerate(rows, start=2) for column, value in row.items()
                  if isinstance(value, str) and len(value) > LONGEST_CELL]
    if long_cells:
        raise ConfigError("; ".join(long_cells), problems=long_cells)
    return rows


def normalise_rows(rows: Iterable[Mapping[Any, Any]]) -> list[dict[str, Any]]:
    """Rows as ``csv.DictReader`` makes them, keyed by clean header names, with blank rows dropped.

    The platform's config store parses a stored CSV itself and hands the interface rows keyed by the raw header
    text: a UTF-8 byte-order mark (Excel's "CSV UTF-8"), spaces around a header or a cell, a carriage return left
    at a line end, missing cells (None) and surplus ones (a list under the key None) all arrive as they are. The
    CLI reads the same files through here, so both accept exactly the same registries.
    """
    clean = []
    for raw in rows:
        row = {_header(key): _cell(value) for key, value in raw.items()}
        if any(value not in ("", None) for value in row.values()):
            clean.append(row)
    return clean


def require_columns(headers: Iterable[str], where: str = "registry") -> None:
    """Refuse a registry whose header row lacks a column every row needs, naming the columns it has."""
    found = list(headers)
    missing = [c for c in ("Volttron Point Name", "Attribute Name", "Register Name") if c not in found]
    if missing:
        raise ConfigError(f"{where}: header lacks column(s) {', '.join(missing)}; found {', '.join(found)}")


def _header(key: Any) -> str:
    name = "" if key is None else str(key).lstrip("\ufeff").strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':  # a quoted header behind a BOM keeps its quotes
        name = name[1:-1].strip()
    return name


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(str(v) for v in value).strip()
    return value.strip() if isinstance(value, str) else value  # a JSON registry's numbers and booleans stay


def registry_rows(rows: list[dict[str, Any]]) -> list[RegistryRow]:
    """Number the rows by the line an editor shows them on (the header is line 1), so errors can point at them.

    The rows come as dicts (from the platform's config store, or :func:`parse_registry_csv`), so the count assumes
    one line per row, as spreadsheets save a registry.
    """
    return [RegistryRow.from_mapping(line, row) for line, row in enumerate(rows, start=2)]


# -- the generated registry ----------------------------------------------------------------------------------------

def all_attributes(types: dict[str, type[ChargepointRegister]] = REGISTER_TYPES
                   ) -> list[tuple[type[ChargepointRegister], Attribute]]:
    """Every (register type, attribute) pair of these register types (default: all), in spec order."""
    return [(cls, attribute) for cls in types.values() for attribute in cls.attributes.values()]


# Point names for attributes whose names repeat across register types.
_DISTINCT_NAMES = {
    ("StationRegister", "startTime"): "pricingStartTime",
    ("StationRegister", "endTime"): "pricingEndTime",
    ("ChargingSessionRegister", "startTime"): "sessionStartTime",
    ("ChargingSessionRegister", "endTime"): "sessionEndTime",
}
_STARTING_VALUES = {"shedState": "0", "clearAlarms": "0"}


def registry_rows_for(port_numbers: Iterable[int], *, writable: bool = True, group: bool = False
                      ) -> list[dict[str, str]]:
    """Registry rows for every attribute of a station with these ports (``group``: of a station group, whose
    attributes are all station-level), with distinct point names.

    Station-level attributes get one row; port-level ones one row per port (suffix ``Port<n>``); attributes that
    may be either get a station row and one per port. Writable points get their revert default, and nothing is
    written when the registry is loaded.
    """
    ports = sorted(set(port_numbers))
    rows = []
    for cls, attribute in all_attributes(GROUP_REGISTER_TYPES if group else STATION_REGISTER_TYPES):
        base = _DISTINCT_NAMES.get((cls.__name__, attribute.name), attribute.name)
        scopes: list[int | None] = []
        if attribute.port_rule is not PortRule.PORT:
            scopes.append(None)
        if attribute.port_rule is not PortRule.STATION:
            scopes.extend(ports)
        for port in scopes:
            is_writable = writable and attribute.writable
            rows.append({
                "Volttron Point Name": base if port is None else f"{base}Port{port}",
                "Attribute Name": attribute.name,
                "Port #": "" if port is None else str(port),
                "Type": attribute.kind,
                "Units": attribute.units,
                "Writable": str(is_writable),
                "Notes": cls.__doc__.splitlines()[0] if cls.__doc__ else "",
                "Register Name": cls.__name__,
                "Starting Value": _STARTING_VALUES.get(attribute.name, "") if is_writable else "",
            })
    return rows
