"""Reply parsing from recorded answers in the real wire shape (``SOAP-ENV`` envelope, ``ns1`` wrapper, unqualified
children, numbers as text, empty group fields), with no transport: each operation's records become the plain values
of ``models``, and a field the answer leaves out or empty reads None, never "" or 0."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pytest

from volttron.driver.interfaces.chargepoint import replies
from volttron.driver.interfaces.chargepoint.exceptions import MalformedResponse
from volttron.driver.interfaces.chargepoint.models import (Alarm, GroupLoad, PortInfo, PortLoad, PortStatus, Pricing,
                                                           RightsEntry, Session, StationInfo, StationLoad)

RECORDED = Path(__file__).with_name("recorded")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def reply(operation: str, recording: str | None = None) -> replies.Reply:
    """The recorded answer to ``operation`` (in ``<recording or operation>.xml``)."""
    return replies.read_reply((RECORDED / f"{recording or operation}.xml").read_bytes(), operation)


def records(operation: str) -> list[Any]:
    """The records of the recorded answer to ``operation``, as read while it was parsed."""
    return reply(operation).records


STATION_1 = StationInfo(
    station_id="1:33923", manufacturer="ChargePoint", model="CT4021-GW1", mac_addr="0024:B100:0002:1B2C",
    serial_num="115110013418", address="1 Main St", city="Campbell", state="California", country="United States",
    postal_code="95008",
    ports={1: PortInfo(1, station_name="COMPANY / STATION 1", lat=37.28729, long=-121.94483,
                       description="Level 2 port", reservable=False, status="AVAILABLE", level="L2", mode=1,
                       connector="J1772", voltage=240.0, current=30.0, power=6.6),
           2: PortInfo(2, station_name="COMPANY / STATION 1", lat=37.2873, long=-121.94483, description=None,
                       reservable=True, status=None, level="L2", mode=1, connector="NEMA 5-20R", voltage=120.0,
                       current=16.0, power=1.92)},
    pricing=(Pricing(type="Hourly", start_time="00:00:00", end_time="23:59:59", min_price=1.0, max_price=20.0,
                     initial_unit_price_duration=2, unit_price_per_hour=1.5, unit_price_per_hour_thereafter=3.0,
                     unit_price_per_session=0.0, unit_price_per_kwh=0.25, session_time="Anytime"),),
    num_ports=2, main_phone="1-888-123-4567", currency_code="USD", org_id="1:ORG07225",
    organization_name="Company Inc", sg_id="39491, 41020", sg_name="Garage, Demand Response")
# Fields left out or empty read None, never an invented "" or 0.
STATION_2 = StationInfo(station_id="1:33924", manufacturer="ChargePoint", model="CPF50-L18", address="2 Main St",
                        org_id="1:ORG07225", organization_name="Company Inc")

CASES: list[tuple[str, Callable[[], Any], Any]] = [
    ("getStations", lambda: replies.stations(records("getStations")), [STATION_1, STATION_2]),
    ("getStationStatus", lambda: replies.port_statuses(records("getStationStatus")), {
        "1:33923": {1: PortStatus(1, "AVAILABLE", utc("2016-11-07T19:19:19")),
                    2: PortStatus(2, "INUSE", utc("2016-11-07T19:19:19"))},
        "1:33924": {1: PortStatus(1, "UNREACHABLE", None)}}),
    ("getLoad", lambda: replies.station_loads(reply("getLoad")), {
        "1:33923": StationLoad("1:33923", 3.314, {
            1: PortLoad(1, port_load=0.0, allowed_load=0.0, percent_shed=0.0, shed_state=0, user_id=None,
                        credential_id=None),
            2: PortLoad(2, port_load=3.314, allowed_load=3.5, percent_shed=0.0, shed_state=1, user_id="664719",
                        credential_id="CNCP0000481668")})}),
    ("getAlarms", lambda: replies.alarms(records("getAlarms")), {
        "1:33923": [Alarm("1:33923", None, "Reachable", utc("2016-10-25T15:53:35"), 1),
                    Alarm("1:33923", 2, "GFCI Trip", utc("2016-10-26T08:00:00"), 2)]}),
    ("getStationRights", lambda: replies.station_rights(records("getStationRights")), {
        "1:33923": [RightsEntry("39491", "Garage", "network_manager"),
                    RightsEntry("41020", "Demand Response", "viewer")],
        "1:33924": [RightsEntry("39491", "Garage", "network_manager")]}),
    ("getChargingSessionData",
     lambda: replies.sessions(records("getChargingSessionData")), {
         "1:33923": [Session("1:33923", 2, "53068029", 12.120572, utc("2016-11-07T16:02:11"),
                             utc("2016-11-07T19:40:55"), "664719", "CNCP0000481668"),
                     Session("1:33923", 1, "53068111", None, utc("2016-11-07T18:00:00"), None, None, None)]}),
    ("getCPNInstances", lambda: replies.cpn_instances(reply("getCPNInstances")),
     [{"cpnID": "1", "cpnName": "CPN NA", "cpnDescription": "ChargePoint Network (North America)"}]),
    # A group's getLoad: the group fields filled in, then every member station's load.
    ("getLoad by sgID", lambda: replies.group_load(reply("getLoad", "getLoad-group")), GroupLoad(
        sg_id=39491, group_name="Garage", num_stations=2, sg_load=9.914, stations={
            "1:33923": StationLoad("1:33923", 3.314, {
                1: PortLoad(1, port_load=0.0, allowed_load=3.5, percent_shed=0.0, shed_state=1, user_id=None,
                            credential_id=None),
                2: PortLoad(2, port_load=3.314, allowed_load=3.5, percent_shed=0.0, shed_state=1,
                            user_id="664719", credential_id="CNCP0000481668")}),
            "1:33924": StationLoad("1:33924", 6.6, {
                1: PortLoad(1, port_load=6.6, allowed_load=0.0, percent_shed=0.0, shed_state=0, user_id="771204",
                            credential_id="CNCP0000512377")})})),
    # A station's getLoad leaves the group fields empty: they read None, never "" or 0.
    ("getLoad by stationID, group fields", lambda: dataclasses.replace(replies.group_load(reply("getLoad")),
                                                                       stations={}),
     GroupLoad(None, None, None, None)),
    ("createLoadShedEvent", lambda: replies.event_id(reply("createLoadShedEvent")), 48213),
    ("removeLoadShedEvent", lambda: reply("removeLoadShedEvent").text("response"),
     "Load shed event 48213 was cancelled."),
]


@pytest.mark.parametrize(("operation", "parse", "expected"), CASES, ids=[c[0] for c in CASES])
def test_recorded_answer_reads_as_plain_values(operation, parse, expected):
    assert parse() == expected


def test_rights_paging_counts_group_station_pairs():
    assert [block.records for block in records("getStationRights")] == [2, 1]


def test_a_fault_is_raised_with_its_code_and_text():
    with pytest.raises(replies.Fault) as fault:
        replies.read_reply((RECORDED / "fault-auth.xml").read_bytes(), "getLoad")
    assert (fault.value.faultcode, fault.value.faultstring) == ("wsse:FailedAuthentication",
                                                                "UsernameToken processing failed")


@pytest.mark.parametrize(("body", "says"), [
    (b"", "empty answer"),
    (b"<html><body>proxy error</body></html>", "not a SOAP 1.1 envelope"),
    ((RECORDED / "getLoad.xml").read_bytes(), "no getAlarmsResponse element"),
])
def test_an_answer_that_is_not_the_expected_reply_is_malformed(body, says):
    with pytest.raises(MalformedResponse, match=says):
        replies.read_reply(body, "getAlarms")


def test_an_event_answer_without_its_id_is_malformed_and_says_the_event_may_exist():
    body = (RECORDED / "createLoadShedEvent.xml").read_text().replace("<eventId>48213</eventId>", "<eventId/>")
    with pytest.raises(MalformedResponse, match="no usable eventId.*may have been created"):
        replies.event_id(replies.read_reply(body.encode(), "createLoadShedEvent"))


def test_records_without_their_key_are_skipped():
    # A station record with no stationID or a port with no portNumber cannot be filed anywhere.
    body = (RECORDED / "getStationStatus.xml").read_text().replace("<stationID>1:33924</stationID>", "")
    body = body.replace("<portNumber>2</portNumber>", "<portNumber></portNumber>")
    statuses = replies.port_statuses(replies.read_reply(body.encode(), "getStationStatus").records)
    assert list(statuses) == ["1:33923"] and list(statuses["1:33923"]) == [1]


# --- fields that do not parse as their type -------------------------------------------------------------------

@pytest.mark.parametrize(("text", "number"), [
    ("240", 240.0), ("6.600", 6.6), ("-121.94483", -121.94483), ("1e3", 1000.0), (".5", 0.5),
    ("NaN", None), ("nan", None), ("inf", None), ("-Infinity", None), ("1e400", None), ("lots", None),
    ("1_000", None), ("0x10", None), ("1,5", None), ("", None),
])
def test_a_float_field_reads_only_finite_decimal_numbers(text, number):
    assert replies.as_float(text) == number


@pytest.mark.parametrize(("text", "number"), [
    ("2", 2), ("-7", -7), ("2.0", 2), ("9223372036854775807", 2 ** 63 - 1),
    ("NaN", None), ("inf", None), ("1e400", None), ("2.5", None), ("9223372036854775808", None),
    ("1" + "0" * 30, None), ("two", None),
])
def test_an_int_field_reads_only_whole_numbers_within_64_bits(text, number):
    assert replies.as_int(text) == number


@pytest.mark.parametrize(("text", "value"), [("1", True), ("true", True), ("TRUE", True), ("0", False),
                                             ("false", False), ("maybe", None), ("NaN", None)])
def test_a_bool_field_reads_only_booleans(text, value):
    assert replies.as_bool(text) is value


def _getload(port_load: str, station: str = "1:33923",
             reported: replies.Reported | None = None) -> replies.Reply:
    body = (RECORDED / "getLoad.xml").read_text().replace("<portLoad>3.314</portLoad>",
                                                          f"<portLoad>{port_load}</portLoad>")
    return replies.read_reply(body.replace("1:33923", station).encode(), "getLoad", reported=reported)


def test_a_field_that_does_not_parse_reads_none_and_the_rest_of_the_answer_is_used():
    loads = replies.station_loads(_getload("NaN", reported=replies.Reported()))
    port = loads["1:33923"].ports[2]
    assert port.port_load is None and port.allowed_load == 3.5 and port.shed_state == 1
    assert loads["1:33923"].station_load == 3.314


def test_an_unreadable_field_is_logged_once_per_station_and_field(caplog):
    reported = replies.Reported()
    caplog.set_level("WARNING", logger="volttron.driver.interfaces.chargepoint.replies")
    for _ in range(3):
        _getload("NaN", reported=reported)
    _getload("inf", station="1:99999", reported=reported)
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2, said
    assert "1:33923" in said[0] and "portLoad" in said[0] and "'NaN'" in said[0]
    assert "1:99999" in said[1] and "'inf'" in said[1]


# --- which children count -------------------------------------------------------------------------------------

SERVICE = "urn:dictionary:com.chargepoint.webservices"


def _node(children: str) -> replies.Node:
    return replies.Node(replies.parse(f'<r xmlns:cp="{SERVICE}" xmlns:evil="urn:evil">{children}</r>'.encode(), "t")[0])


@pytest.mark.parametrize(("children", "text"), [
    ("<Mode>1</Mode>", "1"),
    ("<cp:Mode>2</cp:Mode>", "2"),
    ("<evil:Mode>3</evil:Mode><Mode>1</Mode>", "1"),
    ("<evil:Mode>3</evil:Mode><cp:Mode>2</cp:Mode>", "2"),
    ("<evil:Mode>3</evil:Mode>", None),
])
def test_only_children_in_no_namespace_or_the_services_count(children, text):
    assert _node(children).text("Mode") == text


def test_records_of_another_namespace_are_not_listed():
    node = _node("<evil:Port><portNumber>9</portNumber></evil:Port><Port><portNumber>1</portNumber></Port>"
                 "<cp:Port><portNumber>2</portNumber></cp:Port>")
    assert [port.text("portNumber") for port in node.all("Port")] == ["1", "2"]


def test_an_answer_element_of_another_namespace_is_not_the_answer():
    body = (RECORDED / "getLoad.xml").read_text().replace(
        "<ns1:getLoadResponse>", '<evil:getLoadResponse xmlns:evil="urn:evil"><responseCode>101</responseCode>'
                                 "</evil:getLoadResponse><ns1:getLoadResponse>", 1)
    assert replies.read_reply(body.encode(), "getLoad").text("responseCode") == "100"


# --- markup caps ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "says"), [
    (b"<a>" + b"<b/>" * replies.MAX_TAGS + b"</a>", f"more than {replies.MAX_TAGS} tags"),
    (b"<a " + b'x="1" ' * (replies.MAX_ATTRIBUTES + 1) + b"/>", f"more than {replies.MAX_ATTRIBUTES} attributes"),
    (b"<a>" + b"y" * replies.MAX_RUN + b"</a>", f"longer than {replies.MAX_RUN} bytes"),
    (b'<a b="' + b"y>" * replies.MAX_RUN + b'"/>', f"longer than {replies.MAX_RUN} bytes"),
])
def test_markup_beyond_the_caps_is_refused_before_parsing(body, says):
    with pytest.raises(MalformedResponse, match=says):
        replies.parse(body, "getLoad")


def test_markup_at_the_caps_is_parsed():
    body = b"<a>" + b"<b/>" * (replies.MAX_TAGS - 4) + b"<c>" + b"y" * (replies.MAX_RUN - 3) + b"</c></a>"
    assert body.count(b"<") == replies.MAX_TAGS
    root, _paused, _records = replies.parse(body, "getLoad")
    assert len(root) == replies.MAX_TAGS - 3 and len(root[-1].text) == replies.MAX_RUN - 3


# --- the password in an answer --------------------------------------------------------------------------------

def test_every_text_of_an_answer_is_redacted():
    from volttron.driver.interfaces.chargepoint.redaction import Redactor
    password = 'Pw "q\' & <tü>'
    quoted = "".join(f"&#{ord(c)};" for c in password)
    body = (RECORDED / "getLoad.xml").read_text().replace(
        "<responseText>API input request executed successfully.</responseText>",
        f"<responseText>echo {quoted}</responseText>").replace("664719", quoted)
    reply = replies.read_reply(body.encode(), "getLoad", Redactor(password, "user"))
    assert reply.text("responseText") == "echo ***"
    assert replies.station_loads(reply)["1:33923"].ports[2].user_id == "***"


# --- what reading a page holds --------------------------------------------------------------------------------

def _page_of(stations: int) -> bytes:
    """A getStations page of ``stations`` copies of the recorded first station, each with its own ID."""
    text = (RECORDED / "getStations.xml").read_text()
    head, rest = text.split("<stationData>", 1)
    first = "<stationData>" + rest.split("</stationData>", 1)[0] + "</stationData>"
    tail = "<moreFlag>" + text.split("<moreFlag>", 1)[1]
    records = "".join(first.replace("1:33923", f"1:{50000 + number}") for number in range(stations))
    return (head + records + tail).encode()


def test_a_page_is_read_record_by_record_without_holding_its_whole_tree():
    # A 500-station page's element tree takes over five times the answer's bytes; its records, read as they
    # complete, take far less, and a platform polling a thousand stations holds one such page per read.
    import tracemalloc
    body = _page_of(500)
    tracemalloc.start()
    try:
        listed = replies.stations(replies.read_reply(body, "getStations").records)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [info.station_id for info in listed] == [f"1:{50000 + number}" for number in range(500)]
    assert listed[-1] == dataclasses.replace(STATION_1, station_id="1:50499")
    assert peak < 2.5 * len(body), f"{peak / len(body):.1f} times the answer's size"
