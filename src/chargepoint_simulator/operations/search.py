"""Choosing what a search query asks for: the stations its filters match, and one page of results."""
from __future__ import annotations

import fnmatch
from typing import Any, Callable, Iterable

from chargepoint_simulator.model import Model, Station
from chargepoint_simulator.query import Query, int_field, text_field


def _group_ids(st: Station) -> list[str]:
    """The station's group IDs as strings."""
    return [str(sg) for sg in st.sgIDs]


def _port_values(attribute: str) -> Callable[[Station], list[str]]:
    """A filter reading one attribute of every port."""
    return lambda st: [str(getattr(p, attribute)) for p in st.ports]


# Query field -> the station's values it is compared with (any match passes; * and ? are wildcards).
STATION_FILTERS: dict[str, Callable[[Station], list[str]]] = {
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


def matches(pattern: str, values: Iterable[str]) -> bool:
    """Case-insensitive match; a comma-separated pattern matches any of its parts."""
    wanted = [p.strip().lower() for p in pattern.split(",") if p.strip()]
    return any(fnmatch.fnmatchcase(v.lower(), w) for v in values for w in wanted)


def select_stations(model: Model, query: Query, names: Iterable[str]) -> list[Station]:
    """The stations matching every filter of ``names`` present in the query (fixed fields only)."""
    active = [(name, value) for name in names if (value := text_field(query, name)) is not None]
    stations = model.static_stations()
    if not active:
        return stations
    return [st for st in stations if all(matches(value, STATION_FILTERS[name](st)) for name, value in active)]


def page_of(items: list[Any], start_record: int | None, size: int) -> tuple[list[Any], int, int]:
    """One page of ``items``: (page, index of its first item, moreFlag). startRecord is 1-based."""
    first = max(1, start_record or 1) - 1
    page = items[first : first + size]
    return page, first, 1 if first + size < len(items) else 0


def page_size(query: Query, name: str, default: int, maximum: int) -> int:
    """A requested page size, defaulted when absent or not positive, and capped."""
    size = int_field(query, name)
    if size is None or size <= 0:
        return default
    return min(size, maximum)
