"""The Type column: a point's value converted to the type its registry row declares.

The Type column says what users get. A value that converts cleanly (the text "1" to 1 for ``int``, 3 to 3.0 for
``float``, a timestamp to ISO-8601 text for ``datetime``) is converted; one that does not raises ValueError, which
the register turns into an error on that point only, naming the value and the Type. Non-finite numbers never
convert, so NaN and infinity are never published.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, time, timezone
from typing import Any, Callable

Conversion = Callable[[Any], Any]

_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_TRUE, _FALSE = ("1", "true"), ("0", "false")


def iso_utc(value: datetime | None) -> str | None:
    """Publish timestamps as ISO-8601 UTC text; naive values are taken as UTC, as the API sends them."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return iso_utc(value)  # type: ignore[return-value]
    if isinstance(value, bool) or (isinstance(value, (int, float)) and math.isfinite(value)):
        return str(value)
    raise ValueError


def to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    raise ValueError


def to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        value = float(value.strip())
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    raise ValueError


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError


def to_datetime(value: Any) -> str:
    """ISO-8601 UTC text of a timestamp, or of a text that is one."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError from None
    if isinstance(value, datetime):
        return iso_utc(value)  # type: ignore[return-value]
    raise ValueError


def to_time(value: Any) -> str:
    """``HH:MM:SS`` text of a time of day (``24:00`` allowed: the end of a pricing period)."""
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    found = _TIME.fullmatch(value.strip()) if isinstance(value, str) else None
    if found is None:
        raise ValueError
    hours, minutes, seconds = (int(part or 0) for part in found.groups())
    if hours > 24 or minutes > 59 or seconds > 59 or (hours == 24 and minutes + seconds):
        raise ValueError
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}"


def to_dict(value: Any) -> dict:
    if isinstance(value, dict):
        return value
    raise ValueError


# Type column kind (see attributes.TYPE_ALIASES) -> how a value becomes that type.
CONVERSIONS: dict[str, Conversion] = {
    "string": to_string, "int": to_int, "float": to_float, "bool": to_bool, "datetime": to_datetime,
    "time": to_time, "dict": to_dict,
}

# The pricing Type as the spec numbers it (1 session, 2 hourly, 3 kWh) for the words the API sends.
_PRICING_TYPES = {"session": 1, "hourly": 2, "kwh": 3}


def pricing_type_number(value: Any) -> int | None:
    """The spec's number for a pricing Type word; "None" (no pricing type) is None."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word == "none":
            return None
        if word in _PRICING_TYPES:
            return _PRICING_TYPES[word]
    number = to_int(value)
    if number not in _PRICING_TYPES.values():
        raise ValueError
    return number
