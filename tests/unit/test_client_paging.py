"""Paging: an API that keeps answering moreFlag 1 is stopped with an error that says so, after a repeated page, after
twice the records that can exist, or after MAX_PAGES pages, never after an unbounded number of calls."""
from __future__ import annotations

from typing import Any, Callable

import pytest

from volttron.driver.interfaces.chargepoint.client import MAX_PAGES, ChargePointClient
from volttron.driver.interfaces.chargepoint.exceptions import MalformedResponse
from volttron.driver.interfaces.chargepoint.replies import read_reply

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


def answer(operation: str, records: str, more: int, flag: str = "moreFlag") -> bytes:
    return (f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP}"><SOAP-ENV:Body><{operation}Response>'
            f"<responseCode>100</responseCode>{records}<{flag}>{more}</{flag}></{operation}Response>"
            "</SOAP-ENV:Body></SOAP-ENV:Envelope>").encode()


def alarm(n: int) -> str:
    return f"<Alarms><stationID>1:{n}</stationID><alarmType>GFCI</alarmType></Alarms>"


def status(n: int) -> str:
    return f"<stationData><stationID>1:{n}</stationID></stationData>"


def fake(pages: Callable[[int], bytes]) -> tuple[ChargePointClient, list[dict[str, Any]]]:
    """A client whose calls are answered by ``pages(call number)``; records the arguments of every call."""
    client = ChargePointClient("user", "secret", timeout=5)
    calls: list[dict[str, Any]] = []

    def call(operation: str, **arguments: Any) -> Any:
        calls.append(arguments)
        return read_reply(pages(len(calls)), operation)

    client._call = call  # type: ignore[method-assign]
    return client, calls


def test_an_honest_api_is_followed_to_the_last_page():
    client, calls = fake(lambda n: answer("getAlarms", alarm(n), int(n < 3)))
    assert sorted(client.get_alarms()) == ["1:1", "1:2", "1:3"]
    assert [c["searchQuery"]["startRecord"] for c in calls] == [1, 2, 3]


def test_the_same_page_again_stops_at_the_second_call():
    client, calls = fake(lambda n: answer("getAlarms", alarm(1), 1))
    with pytest.raises(MalformedResponse, match="getAlarms: the API kept answering moreFlag 1 with the same page"):
        client.get_alarms()
    assert len(calls) == 2


def test_new_records_forever_stop_at_the_page_cap():
    client, calls = fake(lambda n: answer("getAlarms", alarm(n), 1))
    with pytest.raises(MalformedResponse, match=f"kept answering moreFlag 1 after {MAX_PAGES} pages"):
        client.get_alarms()
    assert len(calls) == MAX_PAGES


def test_more_records_than_stations_asked_for_stop_the_paging():
    client, calls = fake(lambda n: answer("getStationStatus", status(2 * n) + status(2 * n + 1), 1))
    with pytest.raises(MalformedResponse, match="after 2 pages and 4 records, for at most 2 expected"):
        client.get_station_status(["1:2", "1:3"])
    assert len(calls) == 2


def test_sessions_say_their_own_flag():
    record = "<ChargingSessionData><stationID>1:1</stationID><sessionID>{}</sessionID></ChargingSessionData>"
    client, calls = fake(lambda n: answer("getChargingSessionData", record.format(1), 1, flag="MoreFlag"))
    with pytest.raises(MalformedResponse, match="kept answering MoreFlag 1"):
        client.get_charging_sessions("1:1")
