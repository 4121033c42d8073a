"""Shared helpers for the unit tests: registry rows, spec tables' common shape, message checks.

Not a test module (no ``test_`` prefix); the unit test modules import it by name (pytest puts this folder on
``sys.path`` because it is not a package).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from volttron.driver.interfaces.chargepoint.chargepoint_registers import ChargepointRegister
from volttron.driver.interfaces.chargepoint.registry import RegistryRow, validate_row
from volttron.driver.interfaces.chargepoint.exceptions import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CSV = REPO_ROOT / "chargepoint.csv"
SAMPLE_CONFIG = REPO_ROOT / "chargepoint.config"

# Port rules as the spec words them in the "Port #" row of each attribute.
STATION = "N/A (Must be empty or 0)"
PORT = "1 or 2"
ANY = "0, 1, or 2"


@dataclass(frozen=True)
class SpecAttribute:
    """One attribute as the spec documents it, plus the Python type its value is published as."""

    name: str
    port_rule: str
    spec_type: str       # the Type column of the spec (accepted in a registry row)
    published: type      # python_type of the register (metadata type)
    units: str
    writable: bool = False

    def __str__(self) -> str:  # readable parametrize ids
        return self.name


def valid_ports(attribute: SpecAttribute) -> list[str]:
    """Port # values the spec allows for the attribute."""
    return {STATION: ["", "0"], PORT: ["1", "2"], ANY: ["", "0", "1", "2"]}[attribute.port_rule]


def invalid_ports(attribute: SpecAttribute) -> list[tuple[str, str]]:
    """(Port # value, phrase of what the error must say is allowed) for ports that break the attribute's rule."""
    malformed = [(port, "a port number") for port in ("-1", "one", "1.5")]
    by_rule = {STATION: [("1", "empty or 0"), ("2", "empty or 0")],
               PORT: [("", "a port number"), ("0", "a port number")],
               ANY: []}
    return by_rule[attribute.port_rule] + malformed


def make_row(attribute: str, register: str, *, port: str = "", type_: str = "string", writable: str = "False",
             starting: str = "", point: str | None = None, units: str = "", notes: str = "",
             row: int = 1) -> RegistryRow:
    return RegistryRow(line=row, point_name=attribute if point is None else point, attribute_name=attribute,
                       port=port, type=type_, units=units, writable=writable, notes=notes, register_name=register,
                       starting_value=starting)


def spec_row(register: str, attribute: SpecAttribute, *, port: str | None = None, row: int = 1,
             **overrides: Any) -> RegistryRow:
    """A row written the way the spec documents the attribute (its Type, its writability)."""
    values: dict[str, Any] = {
        "port": valid_ports(attribute)[-1] if port is None else port,
        "type_": attribute.spec_type,
        "writable": str(attribute.writable),
        "row": row,
    }
    values.update(overrides)
    return make_row(attribute.name, register, **values)


def build(register: str, attribute: str, port: int | None = None, *, writable: bool = False,
          type_: str | None = None) -> ChargepointRegister:
    """A register built through registry validation, as the driver builds it."""
    from volttron.driver.interfaces.chargepoint.chargepoint_registers import REGISTER_TYPES

    kind = type_ or REGISTER_TYPES[register].attributes[attribute].kind
    row = make_row(attribute, register, port="" if port is None else str(port), type_=kind, writable=str(writable))
    return validate_row(row).build()


def rejected(row: RegistryRow) -> ConfigError:
    """The ConfigError a row must raise."""
    with pytest.raises(ConfigError) as info:
        validate_row(row)
    return info.value


def assert_names(message: str, *, row: int, column: str, value: str | None = None, allowed: tuple[str, ...] = ()
                 ) -> None:
    """A registry error names the line (``row`` is the line an editor shows), the column, the value and what would
    be accepted."""
    assert f"line {row}" in message, message
    assert f"'{column}'" in message, message
    if value is not None:
        assert repr(value) in message, message
    for phrase in allowed:
        assert phrase in message, message
