"""The inventory operations: stations, their port status, station rights, the organisation and the CPNs."""
from __future__ import annotations

from chargepoint_simulator.model import AVAILABLE, INUSE, UNKNOWN, UNREACHABLE, Model, Station, StationGroup
from chargepoint_simulator.operations.replies import NOT_FOUND, Fields, reply, unknown_station_text
from chargepoint_simulator.operations.search import STATION_FILTERS, matches, page_of, page_size, select_stations
from chargepoint_simulator.query import Query, as_list, int_field, text_field

MAX_STATIONS_PER_PAGE = 500
RIGHTS_PER_PAGE = 500


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


_INVENTORY_FILTERS = tuple(STATION_FILTERS)


def get_stations(model: Model, query: Query) -> Fields:
    """Station inventory, up to 500 per page."""
    stations = select_stations(model, query, _INVENTORY_FILTERS)
    size = page_size(query, "numStations", MAX_STATIONS_PER_PAGE, MAX_STATIONS_PER_PAGE)
    page, _, more = page_of(stations, int_field(query, "startRecord"), size)
    if not page:
        return reply(NOT_FOUND, unknown_station_text(text_field(query, "stationID")))
    live = model.stations(st.stationID for st in page)
    return reply(stationData=[_station_data(st) for st in live], moreFlag=more)


# ---------------------------------------------------------------------- getStationStatus

_STATUS_CODES = {1: (AVAILABLE,), 2: (INUSE,), 3: (UNKNOWN, UNREACHABLE)}
_STATUS_FILTERS = tuple(name for name in STATION_FILTERS if name not in ("serialNumber", "sgID", "sgName"))


def get_station_status(model: Model, query: Query) -> Fields:
    """Port status of one station, a batch (stationIDs) or all, paged like getStations."""
    block = query.get("stationIDs")
    listed = as_list(block.get("stationID")) if isinstance(block, dict) else []
    wanted = [s.strip() for s in listed if isinstance(s, str) and s.strip()]
    single = text_field(query, "stationID")
    if single:
        wanted.insert(0, single)
    filters = [n for n in _STATUS_FILTERS if n != "stationID"]
    stations = select_stations(model, query, filters)
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
    size = page_size(query, "numStations", MAX_STATIONS_PER_PAGE, MAX_STATIONS_PER_PAGE)
    page, _, more = page_of(ids, int_field(query, "startRecord"), size)
    if not page:
        return reply(NOT_FOUND, unknown_station_text(single))
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


# ---------------------------------------------------------------------- getStationRights

def get_station_rights(model: Model, query: Query) -> Fields:
    """One rightsData block per station group, listing the matching stations it grants rights on."""
    stations = select_stations(model, query, _INVENTORY_FILTERS)
    if not stations:
        return reply(NOT_FOUND, unknown_station_text(text_field(query, "stationID")))
    chosen = {st.stationID: st for st in stations}
    sg_filter, name_filter = text_field(query, "sgID"), text_field(query, "sgName")
    pairs: list[tuple[StationGroup, Station]] = [
        (group, chosen[sid])
        for group in model.groups
        if (sg_filter is None or matches(sg_filter, [str(group.sgID)]))
        and (name_filter is None or matches(name_filter, [group.sgName]))
        for sid in group.station_ids
        if sid in chosen
    ]
    page, _, more = page_of(pairs, int_field(query, "startRecord"), RIGHTS_PER_PAGE)
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


# ---------------------------------------------------------------------- organisation


def get_cpn_instances(model: Model, query: Query) -> Fields:
    """The regional networks; the only response without responseCode."""
    return {"CPN": [dict(cpn) for cpn in model.cpn_instances]}


def get_orgs_and_station_groups(model: Model, query: Query) -> Fields:
    """The organisation and its station groups, optionally narrowed by orgID/sgID/name."""
    org = model.organization
    org_id, org_name = text_field(query, "orgID"), text_field(query, "organizationName")
    if (org_id and not matches(org_id, [org.orgID])) or (org_name and not matches(org_name, [org.organizationName])):
        return reply(NOT_FOUND, "No organization found for the given search criteria.")
    sg_id, sg_name = int_field(query, "sgID"), text_field(query, "sgName")
    groups = [
        g
        for g in model.groups
        if (sg_id is None or g.sgID == sg_id) and (sg_name is None or matches(sg_name, [g.sgName]))
    ]
    if (sg_id is not None or sg_name is not None) and not groups:
        return reply(NOT_FOUND, "No station group found for the given search criteria.")
    sg_data = [{"sgID": g.sgID, "sgName": g.sgName, "parentGroupID": g.parentGroupID} for g in groups]
    return reply(orgData=[{"orgID": org.orgID, "organizationName": org.organizationName, "sgData": sg_data}])
