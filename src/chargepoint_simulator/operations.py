"""The eleven API operations: a parsed query in, the response's fields out (rendered by ``soap``).

Response codes follow the service where it is known: 100 success, 102 no station (or group) found,
136 no charging-session data, 153 no alarms. The service's codes for refused sheds are not published,
so the simulator uses its own, each with a plain-language responseText (``model.sheds`` holds the
rules; a request with several faults gets the code of the first, in this order):

* 187 malformed shed request (no target or both, no value, kW and percent together, station-wide
  values together with Ports, an unparsable number, kW and percent mixed in one request);
* 188 shed value out of range (percent outside 0-100 or not whole, negative or non-finite kW,
  negative timeInterval);
* 102 the station, group or port is unknown;
* 190 the station already has a shed of the other kind: clear it first.

A value that cannot be read at all outside shedLoad (``startRecord=abc``) raises RequestError, which the
server turns into a ``SOAP-ENV:Client`` fault.
"""
from __future__ import annotations

import fnmatch
import logging
from typing import Any, Callable, Iterable

from chargepoint_simulator.model import (
    AVAILABLE,
    INUSE,
    UNKNOWN,
    UNREACHABLE,
    Model,
    ShedError,
    ShedLimit,
    Station,
    StationGroup,
    UnknownGroupError,
    UnknownPortError,
    UnknownStationError,
)
from chargepoint_simulator.model.sheds import (
    PORT_FIELDS,
    STATION_FIELDS,
    GroupShedRequest,
    StationShedRequest,
    read_shed_request,
    read_target,
)
from chargepoint_simulator.query import Query, RequestError, as_list, datetime_field, int_field, text_field

_log = logging.getLogger(__name__)

SUCCESS = 100
SUCCESS_TEXT = "API input request executed successfully."
NOT_FOUND = 102
NO_SESSIONS = 136
NO_ALARMS = 153

MAX_STATIONS_PER_PAGE = 500
SESSIONS_PER_PAGE = 100
DEFAULT_ALARMS_PER_PAGE = 100
MAX_ALARMS_PER_PAGE = 500
RIGHTS_PER_PAGE = 500

Fields = dict[str, Any]

class _Refusal(Exception):
    """An in-band refusal: answered with this code and text rather than a fault."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


def reply(code: int = SUCCESS, text: str | None = None, **fields: Any) -> Fields:
    """A response's fields, opening with responseCode and responseText."""
    return {"responseCode": str(code), "responseText": SUCCESS_TEXT if text is None else text, **fields}


# ---------------------------------------------------------------------- paging


def _page(items: list[Any], start_record: int | None, size: int) -> tuple[list[Any], int, int]:
    """One page of ``items``: (page, index of its first item, moreFlag). startRecord is 1-based."""
    first = max(1, start_record or 1) - 1
    page = items[first : first + size]
    return page, first, 1 if first + size < len(items) else 0


# ---------------------------------------------------------------------- choosing stations


def _group_ids(st: Station) -> list[str]:
    """The station's group IDs as strings."""
    return [str(sg) for sg in st.sgIDs]


def _port_values(attribute: str) -> Callable[[Station], list[str]]:
    """A filter reading one attribute of every port."""
    return lambda st: [str(getattr(p, attribute)) for p in st.ports]


# Query field -> the station's values it is compared with (any match passes; * and ? are wildcards).
_STATION_FILTERS: dict[str, Callable[[Station], list[str]]] = {
    "stationID": lambda st: [st.stationID],
    "stationManufacturer": lambda st: [st.stationManufacturer],
    "stationModel": lambda st: [st.stationModel],
    "stationName": lambda st: [st.stationName],
    "serialNumber": lambda st: [st.stationSerialNum],
    "Address": lambda st: [st.Address, st.full_address],
    "City": lambda st: [st.City],
    "State": lambda st: [st.State],
    "Country": lambda st: [st.Country],
    "postalCode": lambda st: [st.postalCode],
    "orgID": lambda st: [st.orgID],
    "organizationName": lambda st: [st.organizationName],
    "sgID": _group_ids,
    "sgName": lambda st: list(st.sgNames),
    "Level": _port_values("Level"),
    "Mode": _port_values("Mode"),
    "Connector": _port_values("Connector"),
    "Voltage": _port_values("Voltage"),
    "Current": _port_values("Current"),
}


def _matches(pattern: str, values: Iterable[str]) -> bool:
    """Case-insensitive match; a comma-separated pattern matches any of its parts."""
    wanted = [p.strip().lower() for p in pattern.split(",") if p.strip()]
    return any(fnmatch.fnmatchcase(v.lower(), w) for v in values for w in wanted)


def _select(model: Model, query: Query, names: Iterable[str]) -> list[Station]:
    """The stations matching every filter of ``names`` present in the query (fixed fields only)."""
    active = [(name, text_field(query, name)) for name in names]
    active = [(name, value) for name, value in active if value is not None]
    stations = model.static_stations()
    if not active:
        return stations
    return [st for st in stations if all(_matches(value, _STATION_FILTERS[name](st)) for name, value in active)]


def _unknown_station_text(station_id: str | None) -> str:
    """responseText of a 102."""
    if station_id:
        return f"No station found with stationID {station_id}."
    return "No stations found for the given search criteria."


# ---------------------------------------------------------------------- getStations


def _port_data(st: Station) -> list[Fields]:
    """The portData entries of a station."""
    return [
        {
            "portNumber": p.portNumber,
            "stationName": p.stationName,
            "Geo": {"Lat": p.Lat, "Long": p.Long},
            "Description": p.Description,
            "Reservable": p.Reservable,
            "Status": p.Status,
            "Level": p.Level,
            "timeStamp": p.TimeStamp,
            "Mode": p.Mode,
            "Connector": p.Connector,
            "Voltage": str(p.Voltage),
            "Current": str(p.Current),
            "Power": p.Power,
            "estimatedCost": p.estimatedCost,
        }
        for p in st.ports
    ]


_STATION_ATTRIBUTES = (
    "stationID",
    "stationManufacturer",
    "stationModel",
    "stationMacAddr",
    "stationSerialNum",
    "stationActivationDate",
    "Address",
    "City",
    "State",
    "Country",
    "postalCode",
    "numPorts",
    "lastModifiedDate",
    "mainPhone",
    "modTimeStamp",
    "timezoneOffset",
    "currencyCode",
    "orgID",
    "organizationName",
    "sgID",
    "sgName",
)
"""Station attributes copied as they are into stationDataExtended."""


def _station_data(st: Station) -> Fields:
    """One stationDataExtended."""
    fields = {name: getattr(st, name) for name in _STATION_ATTRIBUTES}
    fields["Port"] = _port_data(st)
    fields["Pricing"] = [vars(p) for p in st.pricing]
    return fields


_INVENTORY_FILTERS = tuple(_STATION_FILTERS)


def _page_size(query: Query, name: str, default: int, maximum: int) -> int:
    """A requested page size, defaulted when absent or not positive, and capped."""
    size = int_field(query, name)
    if size is None or size <= 0:
        return default
    return min(size, maximum)


def get_stations(model: Model, query: Query) -> Fields:
    """Station inventory, up to 500 per page."""
    stations = _select(model, query, _INVENTORY_FILTERS)
    size = _page_size(query, "numStations", MAX_STATIONS_PER_PAGE, MAX_STATIONS_PER_PAGE)
    page, _, more = _page(stations, int_field(query, "startRecord"), size)
    if not page:
        return reply(NOT_FOUND, _unknown_station_text(text_field(query, "stationID")))
    live = model.stations(st.stationID for st in page)
    return reply(stationData=[_station_data(st) for st in live], moreFlag=more)


# ---------------------------------------------------------------------- getStationStatus

_STATUS_CODES = {1: (AVAILABLE,), 2: (INUSE,), 3: (UNKNOWN, UNREACHABLE)}
_STATUS_FILTERS = tuple(name for name in _STATION_FILTERS if name not in ("serialNumber", "sgID", "sgName"))


def get_station_status(model: Model, query: Query) -> Fields:
    """Port status of one station, a batch (stationIDs) or all, paged like getStations."""
    block = query.get("stationIDs")
    listed = as_list(block.get("stationID")) if isinstance(block, dict) else []
    wanted = [s.strip() for s in listed if isinstance(s, str) and s.strip()]
    single = text_field(query, "stationID")
    if single:
        wanted.insert(0, single)
    filters = [n for n in _STATUS_FILTERS if n != "stationID"]
    stations = _select(model, query, filters)
    if wanted:
        chosen = {st.stationID for st in stations}
        seen: set[str] = set()
        ordered = []
        for sid in wanted:
            if sid in chosen and sid not in seen:
                seen.add(sid)
                ordered.append(sid)
        ids = ordered
    else:
        ids = [st.stationID for st in stations]
    status = int_field(query, "Status")
    if status is not None:
        accepted = _STATUS_CODES.get(status, ())
        ids = [st.stationID for st in model.stations(ids) if any(p.Status in accepted for p in st.ports)]
    size = _page_size(query, "numStations", MAX_STATIONS_PER_PAGE, MAX_STATIONS_PER_PAGE)
    page, _, more = _page(ids, int_field(query, "startRecord"), size)
    if not page:
        return reply(NOT_FOUND, _unknown_station_text(single))
    data = [
        {
            "stationID": st.stationID,
            "Port": [
                {
                    "portNumber": p.portNumber,
                    "Status": p.Status,
                    "TimeStamp": p.TimeStamp,
                    "Connector": p.Connector,
                    "Power": p.Power,
                }
                for p in st.ports
            ],
        }
        for st in model.stations(page)
    ]
    return reply(stationData=data, moreFlag=more)


# ---------------------------------------------------------------------- getLoad


def get_load(model: Model, query: Query) -> Fields:
    """Present load and shed state of a group (with group totals) or of one station."""
    sg_id = int_field(query, "sgID")
    station_id = text_field(query, "stationID")
    if sg_id is not None:
        try:
            group = model.group(sg_id)
        except UnknownGroupError:
            return reply(NOT_FOUND, f"No station group found with sgID {sg_id}.")
        ids = [sid for sid in group.station_ids if station_id in (None, sid)]
        if not ids:
            return reply(NOT_FOUND, _unknown_station_text(station_id))
        views = [model.load_view(sid) for sid in ids]
        return reply(
            sgID=group.sgID,
            numStations=len(views),
            groupName=group.sgName,
            sgLoad=round(sum(v["stationLoad"] for v in views), 3),
            stationData=views,
        )
    if station_id is None:
        return reply(NOT_FOUND, "Give either sgID or stationID.")
    try:
        view = model.load_view(station_id)
    except UnknownStationError:
        return reply(NOT_FOUND, _unknown_station_text(station_id))
    return reply(sgID="", numStations="", groupName="", sgLoad="", stationData=[view])


# ---------------------------------------------------------------------- shedLoad / clearShedState


def _shed_echo(query: Query) -> Fields:
    """The target's ID as sent, repeated in a refusal (nothing when the target itself is wrong)."""
    try:
        key, block = read_target(query)
    except ShedError:
        return {}
    value = text_field(block, key)
    return {key: value} if value else {}


def _limit_echo(limit: ShedLimit, fields: tuple[str, str]) -> Fields:
    """The response fields repeating an accepted value."""
    kw_name, percent_name = fields
    if limit.allowed_kw is not None:
        return {kw_name: limit.allowed_kw}
    return {percent_name: limit.percent}


def shed_load(model: Model, query: Query) -> Fields:
    """Accept a shed for a group, a station or listed ports; it reaches the stations after the delay."""
    try:
        request = read_shed_request(query)
        if isinstance(request, GroupShedRequest):
            fields = _shed_group(model, request)
        else:
            fields = _shed_station(model, request)
    except (ShedError, _Refusal) as refusal:
        return reply(refusal.code, refusal.text, Success=0, **_shed_echo(query))
    return reply(Success=1, **fields)


def _shed_group(model: Model, request: GroupShedRequest) -> Fields:
    """Shed every station of a group; returns the fields to echo."""
    try:
        model.shed_group(request.sg_id, request.limit, request.minutes)
    except UnknownGroupError:
        raise _Refusal(NOT_FOUND, f"No station group found with sgID {request.sg_id}.") from None
    return {"sgID": request.sg_id, **_limit_echo(request.limit, STATION_FIELDS)}


def _shed_station(model: Model, request: StationShedRequest) -> Fields:
    """Shed a whole station or listed ports; returns the fields to echo."""
    try:
        model.shed(request.station_id, request.limit, request.port_limits or None, request.minutes)
    except UnknownStationError:
        raise _Refusal(NOT_FOUND, _unknown_station_text(request.station_id)) from None
    except UnknownPortError as exc:
        raise _Refusal(NOT_FOUND, f"{exc.args[0]}.") from None
    fields: Fields = {"stationID": request.station_id}
    if request.limit is not None:
        fields.update(_limit_echo(request.limit, STATION_FIELDS))
    else:
        ports = [{"portNumber": n, **_limit_echo(one, PORT_FIELDS)} for n, one in request.port_limits.items()]
        fields["Ports"] = {"Port": ports}
    return fields


def clear_shed_state(model: Model, query: Query) -> Fields:
    """Clear the sheds of a group or of a whole station (listed Ports do not narrow it)."""
    try:
        key, block = read_target(query)
        if key == "stationID":
            station_id = text_field(block, "stationID")
            if station_id is None or not model.has_station(station_id):
                raise _Refusal(NOT_FOUND, _unknown_station_text(station_id))
            model.clear_shed(station_id)
            return reply(Success=1, stationID=station_id)
        sg_id = int_field(block, "sgID")
        try:
            model.clear_group_shed(sg_id if sg_id is not None else "")
        except UnknownGroupError:
            raise _Refusal(NOT_FOUND, f"No station group found with sgID {sg_id}.") from None
        return reply(Success=1, sgID=sg_id)
    except (ShedError, _Refusal) as refusal:
        return reply(refusal.code, refusal.text, Success=0)


# ---------------------------------------------------------------------- alarms

_ALARM_FILTERS = ("stationID", "stationName", "orgID", "organizationName", "sgID", "sgName")


def _alarm_stations(model: Model, query: Query) -> list[Station]:
    """The stations an alarm query concerns; a named but unknown station is a 102."""
    stations = _select(model, query, _ALARM_FILTERS)
    station_id = text_field(query, "stationID")
    if station_id is not None and not stations:
        raise _Refusal(NOT_FOUND, _unknown_station_text(station_id))
    return model.stations(st.stationID for st in stations)


def get_alarms(model: Model, query: Query) -> Fields:
    """Uncleared alarms, oldest first, paged by startRecord/numTransactions; 153 when there are none."""
    try:
        stations = _alarm_stations(model, query)
    except _Refusal as refusal:
        return reply(refusal.code, refusal.text)
    port = text_field(query, "portNumber")
    since, until = datetime_field(query, "startTime"), datetime_field(query, "endTime")
    found = [
        (alarm, st)
        for st in stations
        for alarm in st.alarms
        if (port is None or alarm.portNumber == port)
        and (since is None or alarm.alarmTime >= since)
        and (until is None or alarm.alarmTime <= until)
    ]
    found.sort(key=lambda pair: (pair[0].alarmTime, pair[1].index, pair[0].portNumber))
    size = _page_size(query, "numTransactions", DEFAULT_ALARMS_PER_PAGE, MAX_ALARMS_PER_PAGE)
    page, first, more = _page(found, int_field(query, "startRecord"), size)
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
        stations = _alarm_stations(model, query)
    except _Refusal as refusal:
        return reply(refusal.code, refusal.text)
    port = text_field(query, "portNumber")
    alarm_type = text_field(query, "alarmType")
    since, until = datetime_field(query, "startTime"), datetime_field(query, "endTime")
    cleared = sum(model.clear_alarms(st.stationID, port, alarm_type, since, until) for st in stations)
    if not cleared:
        return reply(NO_ALARMS, "No alarms found to clear.")
    _log.debug("cleared %d alarms (reason %r)", cleared, text_field(query, "clearReason"))
    return reply()


# ---------------------------------------------------------------------- getStationRights

def get_station_rights(model: Model, query: Query) -> Fields:
    """One rightsData block per station group, listing the matching stations it grants rights on."""
    stations = _select(model, query, _INVENTORY_FILTERS)
    if not stations:
        return reply(NOT_FOUND, _unknown_station_text(text_field(query, "stationID")))
    chosen = {st.stationID: st for st in stations}
    sg_filter, name_filter = text_field(query, "sgID"), text_field(query, "sgName")
    pairs: list[tuple[StationGroup, Station]] = [
        (group, chosen[sid])
        for group in model.groups
        if (sg_filter is None or _matches(sg_filter, [str(group.sgID)]))
        and (name_filter is None or _matches(name_filter, [group.sgName]))
        for sid in group.station_ids
        if sid in chosen
    ]
    page, _, more = _page(pairs, int_field(query, "startRecord"), RIGHTS_PER_PAGE)
    if not page:
        return reply(NOT_FOUND, "No station rights found for the given search criteria.")
    blocks: list[Fields] = []
    for group, st in page:
        if not blocks or blocks[-1]["sgID"] != str(group.sgID):
            blocks.append(
                {
                    "sgID": str(group.sgID),
                    "sgName": group.sgName,
                    "stationRightsProfile": group.stationRightsProfile,
                    "stationData": [],
                }
            )
        blocks[-1]["stationData"].append(
            {
                "stationID": st.stationID,
                "stationName": st.stationName,
                "stationSerialNum": st.stationSerialNum,
                "stationMacAddr": st.stationMacAddr,
            }
        )
    return reply(rightsData=blocks, moreFlag=more)


# ---------------------------------------------------------------------- getChargingSessionData

_SESSION_FILTERS = ("stationID", "stationName", "Address", "City", "State", "Country", "postalCode")


def get_charging_session_data(model: Model, query: Query) -> Fields:
    """Completed sessions started within [fromTimeStamp, toTimeStamp], oldest first, 100 per page."""
    stations = _select(model, query, _SESSION_FILTERS)
    station_id = text_field(query, "stationID")
    if station_id is not None and not stations:
        return reply(NOT_FOUND, _unknown_station_text(station_id))
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
    page, first, more = _page(found, int_field(query, "startRecord"), SESSIONS_PER_PAGE)
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


# ---------------------------------------------------------------------- organisation


def get_cpn_instances(model: Model, query: Query) -> Fields:
    """The regional networks; the only response without responseCode."""
    return {"CPN": [dict(cpn) for cpn in model.cpn_instances]}


def get_orgs_and_station_groups(model: Model, query: Query) -> Fields:
    """The organisation and its station groups, optionally narrowed by orgID/sgID/name."""
    org = model.organization
    org_id, org_name = text_field(query, "orgID"), text_field(query, "organizationName")
    if (org_id and not _matches(org_id, [org.orgID])) or (org_name and not _matches(org_name, [org.organizationName])):
        return reply(NOT_FOUND, "No organization found for the given search criteria.")
    sg_id, sg_name = int_field(query, "sgID"), text_field(query, "sgName")
    groups = [
        g
        for g in model.groups
        if (sg_id is None or g.sgID == sg_id) and (sg_name is None or _matches(sg_name, [g.sgName]))
    ]
    if (sg_id is not None or sg_name is not None) and not groups:
        return reply(NOT_FOUND, "No station group found for the given search criteria.")
    sg_data = [{"sgID": g.sgID, "sgName": g.sgName, "parentGroupID": g.parentGroupID} for g in groups]
    return reply(orgData=[{"orgID": org.orgID, "organizationName": org.organizationName, "sgData": sg_data}])


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
}
"""Operation name -> handler. Handlers never raise for an in-band refusal; RequestError means a client fault."""
