"""Building a response's fields: the response codes, ``reply`` and in-band refusals."""
from __future__ import annotations

from typing import Any

SUCCESS = 100
SUCCESS_TEXT = "API input request executed successfully."
NOT_FOUND = 102
NO_SESSIONS = 136
NO_ALARMS = 153

Fields = dict[str, Any]


class Refusal(Exception):
    """An in-band refusal: answered with this code and text rather than a fault."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


def reply(code: int = SUCCESS, text: str | None = None, **fields: Any) -> Fields:
    """A response's fields, opening with responseCode and responseText."""
    return {"responseCode": str(code), "responseText": SUCCESS_TEXT if text is None else text, **fields}


def unknown_station_text(station_id: str | None) -> str:
    """responseText of a 102 for a station (or for a search that matched none)."""
    if station_id:
        return f"No station found with stationID {station_id}."
    return "No stations found for the given search criteria."


def unknown_group_text(sg_id: object) -> str:
    """responseText of a 102 for a station group."""
    return f"No station group found with sgID {sg_id}."
