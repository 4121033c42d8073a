"""Scheduled shed events (demand response the cloud runs by itself): the request checked before any call, and the
platform driver's ``call`` convention for the interface methods that carry them out.

An event is created with createLoadShedEvent: the ChargePoint cloud sheds the station (or every station of the
group) from the start for so many minutes and ends the shed itself, so the window holds even if no driver runs
then. Every value is checked here first, with the same value rules as a written shed: a start without a UTC offset
is refused (never guessed), so is a start in the past, a duration that is not a positive whole number of minutes,
and anything but exactly one of kW per port and percent per station.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, TypeVar

from .attributes import is_blank, kw_value, number, percent_value
from .exceptions import ChargePointError, WriteRejected

XSD_INT_MAX = 2**31 - 1  # eventDuration and eventId are xsd:int

T = TypeVar("T")


@dataclass(frozen=True)
class EventRequest:
    """A checked shed event: an aware start, whole minutes, and one value (kW per port or percent per station)."""

    start: datetime
    minutes: int
    kw_per_port: float | None = None
    percent: float | None = None
    allow_opt_out: bool = False


def event_request(start: Any, minutes: Any, kw_per_port: Any = None, percent: Any = None,
                  allow_opt_out: Any = False, *, now: datetime) -> EventRequest:
    """Check a schedule request against ``now`` (aware); raises WriteRejected naming the value and the rule."""
    when = event_start(start)
    if when < now:
        raise WriteRejected(f"start {when.isoformat()} is in the past (it is {now.isoformat(timespec='seconds')} "
                            "now): give a time to come")
    duration = _whole(minutes, "minutes", "the event's length, a positive whole number of minutes")
    kw_given, percent_given = not is_blank(kw_per_port), not is_blank(percent)
    if kw_given == percent_given:
        raise WriteRejected("give exactly one of kw_per_port (kW per port) and percent (percent per station)"
                            f"{', not both' if kw_given else ''}")
    if not isinstance(allow_opt_out, bool):
        raise WriteRejected(f"allow_opt_out: {allow_opt_out!r} refused: true or false")
    if kw_given:
        kw = kw_value("kw_per_port", kw_per_port, "kW per port takes kW >= 0 with at most three decimals")
        return EventRequest(when, duration, kw_per_port=kw, allow_opt_out=allow_opt_out)
    pct = percent_value("percent", percent, "percent takes a whole percent from 1 to 100")
    return EventRequest(when, duration, percent=pct, allow_opt_out=allow_opt_out)


def event_start(value: Any) -> datetime:
    """An event's start: an aware datetime, or ISO-8601 text with a UTC offset (``Z`` or ``+hh:mm``)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text)
        except ValueError:
            raise WriteRejected(f"start: {value!r} refused: not an ISO-8601 time such as "
                                "2026-06-01T16:00:00-07:00") from None
    if not isinstance(value, datetime):
        raise WriteRejected(f"start: {value!r} refused: an ISO-8601 time with a UTC offset, such as "
                            "2026-06-01T16:00:00-07:00")
    if value.tzinfo is None or value.utcoffset() is None:
        raise WriteRejected(f"start: {value.isoformat()} has no UTC offset, and a time is never guessed: add one, "
                            f"e.g. {value.isoformat()}Z for UTC or {value.isoformat()}-07:00")
    return value


def checked_event_id(value: Any) -> int:
    """An eventId as the API gives them: a positive whole number."""
    return _whole(value, "event_id", "an event ID, the positive whole number schedule_shed returned")


def _whole(value: Any, name: str, accepted: str) -> int:
    found = number(name, value, accepted)
    if found != int(found) or not 1 <= found <= XSD_INT_MAX:
        raise WriteRejected(f"{name}: {value!r} refused: {accepted}")
    return int(found)


def platform_callable(method: Callable[..., T]) -> Callable[..., Any]:
    """An interface method callable both directly and through the platform driver's ``call`` RPC.

    The platform (volttron-lib-base-driver 2.x, ``DriverAgent.call``) invokes
    ``getattr(interface, name)(interface, topics=topics, *args, **kwargs)``: the bound method receives the
    interface again as its first argument, then the topics of the points the caller selected, and must return
    ``(results, errors)`` keyed by topic. Called that way the method's value is the result of every topic, and a
    refusal or failure is every topic's error (one line). Called directly (no ``topics``) it returns its value and
    raises.
    """
    signature = inspect.signature(method)

    @functools.wraps(method)
    def call(self: Any, *args: Any, topics: Any = None, **kwargs: Any) -> Any:
        if args and args[0] is self:
            args = args[1:]
        if topics is None:
            return method(self, *args, **kwargs)
        topics = [topics] if isinstance(topics, str) else list(topics)
        try:
            signature.bind(self, *args, **kwargs)
        except TypeError as exc:
            return {}, {topic: f"{method.__name__}: {exc}" for topic in topics}
        try:
            value = method(self, *args, **kwargs)
        except ChargePointError as exc:
            return {}, {topic: " ".join(str(exc).split()) for topic in topics}
        return {topic: value for topic in topics}, {}

    return call


__all__ = ["EventRequest", "checked_event_id", "event_request", "event_start", "platform_callable"]
