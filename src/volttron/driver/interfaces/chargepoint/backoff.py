"""Back-off: after repeated transport or SOAP failures of one kind of call, wait longer and longer before the next.

A dead API or wrong credentials then cost a dozen calls in half an hour instead of one per poll, with one warning
when it starts and one notice when the API answers again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, Hashable, Iterable, TypeVar

from .exceptions import BackingOff, SoapFault, TransportError

_log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class _Health:
    failures: int = 0
    retry_at: float = 0.0
    last_error: str = ""


class Backoff:
    """Failure counts and retry times per key (one key per API method); the second failure in a row starts it.

    The delay doubles from ``base`` up to ``maximum`` seconds; the first success resets the key.
    """

    def __init__(self, keys: Iterable[Hashable], what: str, *, base: float = 5.0, maximum: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.what = what  # names the account in the log lines
        self.base = base
        self.maximum = maximum
        self.clock = clock
        self._health = {key: _Health() for key in keys}
        self._degraded = False

    def run(self, key: Hashable, label: str, call: Callable[[], T], *, counted: bool = True) -> T:
        """``call()``, unless ``key`` is backing off (BackingOff, not sent); failures extend the back-off.

        ``counted`` False: a failure leaves the back-off as it was (a read a write makes for itself must not
        delay the polls' recovery); a success still ends it.
        """
        health = self._health[key]
        now = self.clock()
        if now < health.retry_at:
            raise BackingOff(f"{label} not sent: the last {health.failures} calls failed ({health.last_error}); "
                             f"next try in {health.retry_at - now:.0f} s", retry_in=health.retry_at - now)
        try:
            result = call()
        except (TransportError, SoapFault) as exc:
            if counted:
                self._failed(health, exc)
            raise
        if health.failures:
            health.failures, health.retry_at = 0, 0.0
            if self._degraded and all(h.failures == 0 for h in self._health.values()):
                self._degraded = False
                _log.info("ChargePoint API for %s answers again", self.what)
        return result

    def _failed(self, health: _Health, exc: Exception) -> None:
        health.failures += 1
        health.last_error = str(exc)
        if health.failures < 2:
            return
        # The exponent is capped: calls in flight together all fail, and 2 ** 1024 is more than a float holds.
        health.retry_at = self.clock() + min(self.maximum, self.base * 2 ** min(health.failures - 2, 64))
        if not self._degraded:
            self._degraded = True
            _log.warning("ChargePoint API for %s keeps failing (%s); backing off, up to %g s between tries",
                         self.what, exc, self.maximum)
