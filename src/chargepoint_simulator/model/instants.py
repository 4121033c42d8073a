"""Instants as the API reports them: aware UTC datetimes in whole seconds.

The model computes in POSIX seconds (floats) and converts only when it stores an instant in an
entity, so that every reported time is a whole second, as the service's are.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone


def instant(ts: float) -> datetime:
    """POSIX seconds to an aware UTC datetime, truncated to the whole second."""
    return datetime.fromtimestamp(math.floor(ts), timezone.utc)


def posix(value: datetime) -> float:
    """An aware (or naive, taken as UTC) datetime to POSIX seconds."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def whole_seconds(ts: float) -> float:
    """POSIX seconds rounded to the nearest whole second; scheduled events fall on these."""
    return float(round(ts))
