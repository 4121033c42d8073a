"""A response cache shared by the devices of one API account, with request coalescing.

Entries are stamped when fetched and each reader decides freshness with its own ``max_age`` (its device's
``cacheExpiration``), so no device dictates another's lifetime. Concurrent misses for the same data wait for one
call instead of making their own. The cache is bounded: the oldest entries go first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any, Callable, Hashable

import gevent
from gevent import Greenlet
from gevent.event import AsyncResult

from .exceptions import ApiTimeout

DEFAULT_MAX_ENTRIES = 50_000


class ResponseCache:
    """Time-stamped values by key, plus single-flight fetching by flight key."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._flights: dict[Hashable, AsyncResult] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def in_flight(self) -> int:
        return len(self._flights)

    def get(self, key: Hashable, max_age: float) -> tuple[bool, Any]:
        """(True, value) when an entry younger than ``max_age`` seconds exists, else (False, None)."""
        entry = self._entries.get(key)
        if entry is None or max_age <= 0 or self.clock() - entry[0] >= max_age:
            return False, None
        return True, entry[1]

    def put(self, items: dict[Hashable, Any]) -> None:
        stamp = self.clock()
        for key, value in items.items():
            # Assigned in place, the entry keeps the key object it had: every poll stores an equal key afresh, and
            # the old one, kept, is one object fewer outliving the collector's young generations.
            self._entries[key] = (stamp, value)
            self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def invalidate(self, predicate: Callable[[Hashable], bool]) -> int:
        """Drop every entry whose key matches; returns how many went."""
        doomed = [key for key in self._entries if predicate(key)]
        for key in doomed:
            del self._entries[key]
        return len(doomed)

    def prune(self, max_age: float) -> None:
        """Drop entries older than any reader could still use."""
        cutoff = self.clock() - max_age
        while self._entries:
            key, (stamp, _value) = next(iter(self._entries.items()))
            if stamp >= cutoff:
                break
            del self._entries[key]

    def single_flight(self, flight: Hashable, fetch: Callable[..., Any], wait: float, *args: Any) -> Any:
        """Run ``fetch(*args)`` unless the same flight is under way, in which case wait up to ``wait`` s for its
        result.

        The result (or exception) of the one call is shared by every caller of the flight. The arguments come
        apart from ``fetch`` so that the many callers who only wait build no closure: a thousand devices waiting
        through a poll cycle keep them alive long enough for the garbage collector's oldest generation.
        """
        pending = self._flights.get(flight)
        if pending is not None:
            # wait() rather than get(timeout=): a caller's own gevent.Timeout must reach the caller, not turn into
            # this one's error.
            pending.wait(wait)
            if not pending.ready():
                raise ApiTimeout(f"waited {wait:g} s for a shared call that did not finish")
            return pending.get(block=False)
        pending = self._flights[flight] = AsyncResult()
        return self._fly(flight, pending, fetch, args, True)

    def join(self, flight: Hashable, fetch: Callable[..., Any], *args: Any) -> tuple[AsyncResult, Greenlet | None]:
        """The flight under way, else ``fetch(*args)`` started now in a greenlet of its own (returned, so that its
        starter can stop it); the caller waits on the AsyncResult, which holds the result or exception.

        A thousand devices polled together join the first one's flights: waiting for them takes no greenlet of
        their own, and none of the objects a greenlet brings that outlive the garbage collector's young
        generations.
        """
        pending = self._flights.get(flight)
        if pending is not None:
            return pending, None
        pending = self._flights[flight] = AsyncResult()
        return pending, gevent.spawn(self._fly, flight, pending, fetch, args, False)

    @staticmethod
    def give_up(run: Greenlet) -> None:
        """Stop a flight :meth:`join` started, if it is running: its callers then get a timeout. One that has not
        started yet is left to run: stopped before it starts, it would never end its flight, and every later caller
        would wait for that flight in vain (a greenlet's truth value cannot tell: it is true once scheduled)."""
        if run.gr_frame is not None:  # suspended in its fetch; not started, or finished, it has no frame
            run.kill(block=False)

    def _fly(self, flight: Hashable, pending: AsyncResult, fetch: Callable[..., Any], args: tuple[Any, ...],
             reraise: bool) -> Any:
        """``fetch(*args)`` into ``pending``; ``reraise``: its exception to the caller too (a greenlet of its own
        would have gevent report it on stderr)."""
        try:
            result = fetch(*args)
        except BaseException as exc:
            # A fetch stopped from outside (the poll that started it gave up) has no answer to share: the callers
            # waiting for it get a timeout, not the GreenletExit meant for the one greenlet that was stopped.
            pending.set_exception(exc if isinstance(exc, Exception)
                                  else ApiTimeout("no answer: the shared call was given up before it finished"))
            # Nobody may be waiting: mark the exception retrieved so gevent does not report it as unhandled.
            pending.exception  # noqa: B018
            if reraise or not isinstance(exc, Exception):
                raise
            return None
        else:
            pending.set(result)
            return result
        finally:
            del self._flights[flight]
