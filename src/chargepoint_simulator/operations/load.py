"""The load operations: getLoad, and the shed requests shedLoad and clearShedState."""
from __future__ import annotations

from chargepoint_simulator.model import (
    Model,
    ShedError,
    ShedLimit,
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
from chargepoint_simulator.operations.replies import (
    NOT_FOUND,
    Fields,
    Refusal,
    reply,
    unknown_group_text,
    unknown_station_text,
)
from chargepoint_simulator.query import Query, int_field, text_field


# ---------------------------------------------------------------------- getLoad


def get_load(model: Model, query: Query) -> Fields:
    """Present load and shed state of a group (with group totals) or of one station."""
    sg_id = int_field(query, "sgID")
    station_id = text_field(query, "stationID")
    if sg_id is not None:
        try:
            group = model.group(sg_id)
        except UnknownGroupError:
            return reply(NOT_FOUND, unknown_group_text(sg_id))
        ids = [sid for sid in group.station_ids if station_id in (None, sid)]
        if not ids:
            return reply(NOT_FOUND, unknown_station_text(station_id))
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
        return reply(NOT_FOUND, unknown_station_text(station_id))
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
    except (ShedError, Refusal) as refusal:
        return reply(refusal.code, refusal.text, Success=0, **_shed_echo(query))
    return reply(Success=1, **fields)


def _shed_group(model: Model, request: GroupShedRequest) -> Fields:
    """Shed every station of a group; returns the fields to echo."""
    try:
        model.shed_group(request.sg_id, request.limit, request.minutes)
    except UnknownGroupError:
        raise Refusal(NOT_FOUND, unknown_group_text(request.sg_id)) from None
    return {"sgID": request.sg_id, **_limit_echo(request.limit, STATION_FIELDS)}


def _shed_station(model: Model, request: StationShedRequest) -> Fields:
    """Shed a whole station or listed ports; returns the fields to echo."""
    try:
        model.shed(request.station_id, request.limit, request.port_limits or None, request.minutes)
    except UnknownStationError:
        raise Refusal(NOT_FOUND, unknown_station_text(request.station_id)) from None
    except UnknownPortError as exc:
        raise Refusal(NOT_FOUND, f"{exc.args[0]}.") from None
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
                raise Refusal(NOT_FOUND, unknown_station_text(station_id))
            model.clear_shed(station_id)
            return reply(Success=1, stationID=station_id)
        sg_id = int_field(block, "sgID")
        try:
            model.clear_group_shed(sg_id if sg_id is not None else "")
        except UnknownGroupError:
            raise Refusal(NOT_FOUND, unknown_group_text(sg_id)) from None
        return reply(Success=1, sgID=sg_id)
    except (ShedError, Refusal) as refusal:
        return reply(refusal.code, refusal.text, Success=0)
