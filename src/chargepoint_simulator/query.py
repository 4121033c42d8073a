"""Reading the fields of a parsed request into typed values: absent or empty fields are None.

``soap`` hands every field over as a string (or a dict, or a list for repeated elements); the
operations and the shed rules read them through these functions so that a value that cannot be read
at all is refused the same way everywhere.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, TypeVar

Query = dict[str, Any]
T = TypeVar("T")


class RequestError(ValueError):
    """A request field that cannot be read (answered with a client fault)."""


def text_field(query: Query, name: str) -> str | None:
    """A non-empty string field, stripped; None when absent or empty."""
    value = query.get(name)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def int_field(query: Query, name: str) -> int | None:
    """An integer field (``"3"`` or ``"3.0"``); RequestError when it is not a whole number."""
    return _parsed(query, name, _whole_number, "an integer")


def number_field(query: Query, name: str) -> float | None:
    """A decimal field; RequestError when it is not a number."""
    return _parsed(query, name, float, "a number")


def datetime_field(query: Query, name: str) -> datetime | None:
    """An xsd:dateTime field in UTC; naive values are taken as UTC, offsets are honoured."""
    return _parsed(query, name, _utc_datetime, "an xsd:dateTime")


def bool_field(query: Query, name: str) -> bool | None:
    """An xsd:boolean field (``true``/``false``/``1``/``0``); RequestError for anything else."""
    return _parsed(query, name, _xsd_boolean, "true or false")


def _parsed(query: Query, name: str, parse: Callable[[str], T], kind: str) -> T | None:
    """A field read by ``parse``; the ValueError of a value it cannot read becomes a RequestError."""
    raw = text_field(query, name)
    if raw is None:
        return None
    try:
        return parse(raw)
    except ValueError:
        raise RequestError(f"{name} must be {kind}, not {raw!r}") from None


def _whole_number(raw: str) -> int:
    """``"3"`` or ``"3.0"`` as 3; ValueError for anything else."""
    try:
        return int(raw)
    except ValueError:
        number = float(raw)
        if not number.is_integer():
            raise
        return int(number)


def _xsd_boolean(raw: str) -> bool:
    """The four lexical forms of xsd:boolean; ValueError for anything else."""
    try:
        return {"true": True, "1": True, "false": False, "0": False}[raw]
    except KeyError:
        raise ValueError(raw) from None


def _utc_datetime(raw: str) -> datetime:
    """An ISO 8601 instant (``Z`` suffix allowed) in UTC."""
    value = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def as_list(value: Any) -> list[Any]:
    """Repeated elements arrive as a list, a single one as itself."""
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]
