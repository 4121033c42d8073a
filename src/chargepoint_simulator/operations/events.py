"""The scheduled shed events: createLoadShedEvent and removeLoadShedEvent (rules in ``model.events``)."""
from __future__ import annotations

from chargepoint_simulator.model import Model, ShedError, UnknownGroupError, UnknownStationError
from chargepoint_simulator.model.events import CANCELLED, read_event_id, read_event_request
from chargepoint_simulator.operations.replies import (
    NOT_FOUND,
    Fields,
    reply,
    unknown_group_text,
    unknown_station_text,
)
from chargepoint_simulator.query import Query


def create_load_shed_event(model: Model, query: Query) -> Fields:
    """Schedule a shed for a station or a group; answers the new eventId."""
    try:
        request = read_event_request(query)
        event = model.create_event(request)
    except ShedError as refusal:
        return reply(refusal.code, refusal.text)
    except UnknownStationError:
        return reply(NOT_FOUND, unknown_station_text(request.station_id))
    except UnknownGroupError:
        return reply(NOT_FOUND, unknown_group_text(request.sg_id))
    return reply(eventId=event.eventId)


def remove_load_shed_event(model: Model, query: Query) -> Fields:
    """Cancel an event before its start, or end it early; ``response`` says which."""
    try:
        event = model.remove_event(read_event_id(query))
    except ShedError as refusal:
        return reply(refusal.code, refusal.text)
    if event.status(model.clock.timestamp()) == CANCELLED:
        return reply(response=f"Load shed event {event.eventId} was cancelled before its start.")
    return reply(response=f"Load shed event {event.eventId} was ended; its shed lifts from the stations shortly.")
