"""The thirteen API operations: a parsed query in, the response's fields out (rendered by ``soap``).

Response codes follow the service where it is known: 100 success, 102 no station (or group) found,
136 no charging-session data, 153 no alarms. The service's codes for refused sheds and shed events
are not published, so the simulator uses its own, each with a plain-language responseText
(``model.sheds`` and ``model.events`` hold the rules; a request with several faults gets the code
of the first, in this order):

* 187 malformed shed request (no target or both, no value, kW and percent together, station-wide
  values together with Ports, an unparsable number, kW and percent mixed in one request); for a
  shed event also eventStartTime or eventDuration missing or unreadable, allowOptOut not a boolean,
  and a missing or unreadable eventId;
* 188 shed value out of range (percent outside 0-100 or not whole, negative or non-finite kW,
  negative timeInterval); for a shed event also eventDuration not above 0 and an eventStartTime in
  the past;
* 102 the station, group or port is unknown;
* 190 the station already has a shed of the other kind: clear it first (for a shed event: at the
  moment it is created);
* 191 removeLoadShedEvent: no event with this eventId, or it was already removed, or it has ended.

A value that cannot be read at all outside shedLoad (``startRecord=abc``) raises RequestError, which the
server turns into a ``SOAP-ENV:Client`` fault.
"""
from __future__ import annotations

from typing import Callable

from chargepoint_simulator.model import Model
from chargepoint_simulator.operations.events import create_load_shed_event, remove_load_shed_event
from chargepoint_simulator.operations.history import clear_alarms, get_alarms, get_charging_session_data
from chargepoint_simulator.operations.inventory import (
    get_cpn_instances,
    get_orgs_and_station_groups,
    get_station_rights,
    get_station_status,
    get_stations,
)
from chargepoint_simulator.operations.load import clear_shed_state, get_load, shed_load
from chargepoint_simulator.operations.replies import SUCCESS, SUCCESS_TEXT, Fields, reply
from chargepoint_simulator.query import Query, RequestError

__all__ = ["OPERATIONS", "SUCCESS", "SUCCESS_TEXT", "Fields", "Handler", "RequestError", "reply"]

Handler = Callable[[Model, Query], Fields]

OPERATIONS: dict[str, Handler] = {
    "getStations": get_stations,
    "getStationStatus": get_station_status,
    "getLoad": get_load,
    "shedLoad": shed_load,
    "clearShedState": clear_shed_state,
    "getAlarms": get_alarms,
    "clearAlarms": clear_alarms,
    "getStationRights": get_station_rights,
    "getChargingSessionData": get_charging_session_data,
    "getCPNInstances": get_cpn_instances,
    "getOrgsAndStationGroups": get_orgs_and_station_groups,
    "createLoadShedEvent": create_load_shed_event,
    "removeLoadShedEvent": remove_load_shed_event,
}
"""Operation name -> handler. Handlers never raise for an in-band refusal; RequestError means a client fault."""
