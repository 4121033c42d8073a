"""Simulated time: follows the wall clock at a chosen speed and can be pushed forward by tests."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone


class SimClock:
    """A UTC clock that runs ``scale`` times faster than real time and jumps on ``advance``.

    ``scale=0`` freezes the clock so that only ``advance`` moves it, which makes runs reproducible.
    """

    def __init__(self, start: datetime | None = None, scale: float = 1.0) -> None:
        if scale < 0:
            raise ValueError("scale must be >= 0")
        if start is None:
            start = datetime.now(timezone.utc).replace(microsecond=0)
        elif start.tzinfo is None:
            start = start.replace(tzinfo=timezone.utc)
        self._start = start.astimezone(timezone.utc).timestamp()
        self._scale = float(scale)
        self._origin = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    @property
    def scale(self) -> float:
        """Simulated seconds per wall-clock second."""
        return self._scale

    @property
    def start(self) -> datetime:
        """The simulated time at which the clock was created."""
        return datetime.fromtimestamp(self._start, timezone.utc)

    def timestamp(self) -> float:
        """Simulated now as POSIX seconds; the model works in these."""
        with self._lock:
            elapsed = (time.monotonic() - self._origin) * self._scale
            return self._start + elapsed + self._offset

    def now(self) -> datetime:
        """Simulated now as an aware UTC datetime."""
        return datetime.fromtimestamp(self.timestamp(), timezone.utc)

    def advance(self, seconds: float) -> datetime:
        """Move simulated time forward by ``seconds`` (no sleeping); returns the new now."""
        if seconds < 0:
            raise ValueError("a simulated clock never goes backwards")
        with self._lock:
            self._offset += float(seconds)
        return self.now()

    def __repr__(self) -> str:
        return f"SimClock(now={self.now().isoformat()}, scale={self._scale})"
