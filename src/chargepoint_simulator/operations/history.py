"""The history operations: uncleared alarms (read and clear) and completed charging sessions."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from chargepoint_simulator.model import Model, Station
from chargepoint_simulator.operations.replies import (
    NO_ALARMS,
    NO_SESSIONS,
    NOT_FOUND,
    Fields,
    Refusal,
    reply,
    unknown_station_text,
)
from chargepoint_simulator.operations.search import page_of, page_size, select_stations
from chargepoint_simulator.query import Query, datetime_field, int_field, text_field

_log = logging.getLogger(__name__)

SESSIONS_PER_PAGE = 100
DEFAULT_ALARMS_PER_PAGE = 100
MAX_ALARMS_PER_PAGE = 500


# ---------------------------------------------------------------------- alarms

_ALARM_FILTERS = ("stationID", "stationName", "orgID", "organizationName", "sgID", "sgName")


@dataclass(frozen=True)
class _AlarmSearch:
    """What an alarm query asks for: its stations (brought up to now) and the alarm filters."""

    stations: list[Station]
    port: str | None
    since: datetime | None
    until: datetime | None


def _alarm_search(model: Model, query: Query) -> _AlarmSearch:
    """The alarm query's stations and filters; a named but unknown station is a 102 (Refusal)."""
    stations = select_stations(model, query, _ALARM_FILTERS)
    station_id = text_field(query, "stationID")
    if station_id is not None and not stations:
        raise Refusal(NOT_FOUND, unknown_station_text(station_id))
    return _AlarmSearch(
        model.stations(st.stationID for st in stations),
        text_field(query, "portNumber"),
        datetime_field(query, "startTime"),
        datetime_field(query, "endTime"),
    )


def get_alarms(model: Model, query: Query) -> Fields:
    """Uncleared alarms, oldest first, paged by startRecord/numTransactions; 153 when there are none."""
    try:
        search = _alarm_search(model, query)
    except Refusal as refusal:
        return reply(refusal.code, refusal.text)
    found = [
        (alarm, st)
        for st in search.stations
        for alarm in st.alarms
        if alarm.matches(search.port, None, search.since, search.until)
    ]
    found.sort(key=lambda pair: (pair[0].alarmTime, pair[1].index, pair[0].portNumber))
    size = page_size(query, "numTransactions", DEFAULT_ALARMS_PER_PAGE, MAX_ALARMS_PER_PAGE)
    page, first, more = page_of(found, int_field(query, "startRecord"), size)
    if not page:
        return reply(NO_ALARMS, "No alarms found for the given search criteria.")
    alarms = [
        {
            "stationID": st.stationID,
            "stationName": st.stationName,
            "stationModel": st.stationModel,
            "orgID": st.orgID,
            "organizationName": st.organizationName,
            "stationManufacturer": st.stationManufacturer,
            "stationSerialNum": st.stationSerialNum,
            "portNumber": alarm.portNumber,
            "alarmType": alarm.alarmType,
            "alarmTime": alarm.alarmTime,
            "recordNumber": first + i + 1,
        }
        for i, (alarm, st) in enumerate(page)
    ]
    return reply(Alarms=alarms, moreFlag=more)


def clear_alarms(model: Model, query: Query) -> Fields:
    """Clear matching alarms (a portNumber clears only that port's); 153 when nothing matched."""
    try:
        search = _alarm_search(model, query)
    except Refusal as refusal:
        return reply(refusal.code, refusal.text)
    alarm_type = text_field(query, "alarmType")
    cleared = sum(
        model.clear_alarms(st.stationID, search.port, alarm_type, search.since, search.until)
        for st in search.stations
    )
    if not cleared:
        return reply(NO_ALARMS, "No alarms found to clear.")
    _log.debug("cleared %d alarms (reason %r)", cleared, text_field(query, "clearReason"))
    return reply()


# ---------------------------------------------------------------------- getChargingSessionData

_SESSION_FILTERS = ("stationID", "stationName", "Address", "City", "State", "Country", "postalCode")


def get_charging_session_data(model: Model, query: Query) -> Fields:
    """Completed sessions started within [fromTimeStamp, toTimeStamp], oldest first, 100 per page."""
    stations = select_stations(model, query, _SESSION_FILTERS)
    station_id = text_field(query, "stationID")
    if station_id is not None and not stations:
        return reply(NOT_FOUND, unknown_station_text(station_id))
    session_id = int_field(query, "sessionID")
    since, until = datetime_field(query, "fromTimeStamp"), datetime_field(query, "toTimeStamp")
    live = model.stations(st.stationID for st in stations)
    by_id = {st.stationID: st for st in live}
    found = [
        s
        for st in live
        for s in st.sessions
        if (session_id is None or s.sessionID == session_id)
        and (since is None or s.startTime >= since)
        and (until is None or s.startTime <= until)
    ]
    found.sort(key=lambda s: (s.startTime, s.sessionID))
    page, first, more = page_of(found, int_field(query, "startRecord"), SESSIONS_PER_PAGE)
    if not page:
        return reply(NO_SESSIONS, "No charging session data found for the given search criteria.")
    data = []
    for i, session in enumerate(page):
        st = by_id[session.stationID]
        data.append(
            {
                "stationID": st.stationID,
                "stationName": st.stationName,
                "portNumber": session.portNumber,
                "Address": st.Address,
                "City": st.City,
                "State": st.State,
                "Country": st.Country,
                "postalCode": st.postalCode,
                "sessionID": session.sessionID,
                "Energy": session.Energy,
                "startTime": session.startTime,
                "endTime": session.endTime,
                "userID": session.userID,
                "recordNumber": first + i + 1,
                "credentialID": session.credentialID,
            }
        )
    return reply(ChargingSessionData=data, MoreFlag=more)
