"""Our WSDL: loads in suds, matches the published 5.0 WSDL for every operation it keeps, and is served
with the simulator's own address; every response the simulator writes fits the WSDL's sequences."""
from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree

import pytest
from sim_helpers import OUR_WSDL, REAL_WSDL, START, envelope, http, make_suds_client
from sim_wsdl_schema import WSOAP, WSDL, WsdlSchema

pytestmark = pytest.mark.timeout(60)

OPERATIONS = [
    "getStations",
    "getStationStatus",
    "getLoad",
    "shedLoad",
    "clearShedState",
    "getAlarms",
    "clearAlarms",
    "getStationRights",
    "getChargingSessionData",
    "getCPNInstances",
    "getOrgsAndStationGroups",
    "createLoadShedEvent",
    "removeLoadShedEvent",
]
ELEMENTS = OPERATIONS + [op + "Response" for op in OPERATIONS]
PRODUCTION = "https://webservices.chargepoint.com/webservices/chargepoint/services/5.0"
needs_real = pytest.mark.skipif(not REAL_WSDL.is_file(), reason="the published WSDL is not stored here")


@pytest.fixture(scope="module")
def ours() -> WsdlSchema:
    return WsdlSchema(OUR_WSDL)


@pytest.fixture(scope="module")
def real() -> WsdlSchema:
    return WsdlSchema(REAL_WSDL)


def test_our_wsdl_loads_in_suds_with_exactly_the_thirteen_operations() -> None:
    client = make_suds_client(OUR_WSDL.as_uri())
    port = client.wsdl.services[0].ports[0]
    assert sorted(m.name for m in port.methods.values()) == sorted(OPERATIONS)
    assert port.location == PRODUCTION


def test_a_client_from_the_packaged_file_reaches_the_simulator(sim) -> None:
    client = make_suds_client(OUR_WSDL.as_uri(), location=sim.endpoint)
    assert [c.cpnID for c in client.service.getCPNInstances()] == ["1", "2"]


def test_our_wsdl_basics(ours: WsdlSchema) -> None:
    assert ours.root.get("targetNamespace") == "urn:dictionary:com.chargepoint.webservices"
    assert ours.schema.get("targetNamespace") == "urn:dictionary:com.chargepoint.webservices"
    assert ours.schema.get("elementFormDefault") is None
    assert ours.service() == ("chargepointservices", "ChargepointServicesSOAP", "chargepointservicesSOAP", PRODUCTION)
    binding = ours.binding()
    assert (binding["style"], binding["transport"]) == ("document", "http://schemas.xmlsoap.org/soap/http")
    for op in OPERATIONS:
        assert binding["operations"][op] == (f"urn:provider/interface/chargepointservices/{op}", ("literal", "literal"))


@needs_real
def test_every_kept_type_matches_the_published_wsdl(ours: WsdlSchema, real: WsdlSchema) -> None:
    ours_complex, ours_simple = ours.reachable_types(ELEMENTS)
    real_complex, real_simple = real.reachable_types(ELEMENTS)
    assert ours_complex == real_complex
    assert ours_simple == real_simple
    assert set(ours.complex_types) == ours_complex, "our WSDL should carry no unused types"
    for name in sorted(real_complex):
        assert ours.describe_complex(ours.complex_types[name]) == real.describe_complex(real.complex_types[name]), name
    for name in sorted(real_simple):
        assert ours.describe_simple(name) == real.describe_simple(name), name
    for name in ELEMENTS:
        assert ours.describe_element(ours.elements[name]) == real.describe_element(real.elements[name]), name
    assert set(ours.elements) == set(ELEMENTS)


@needs_real
def test_messages_port_type_binding_and_service_match(ours: WsdlSchema, real: WsdlSchema) -> None:
    real_ops = real.port_type_operations()
    our_ops = ours.port_type_operations()
    assert set(our_ops) == set(OPERATIONS)
    real_messages, our_messages = real.messages(), ours.messages()
    for op in OPERATIONS:
        assert our_ops[op] == real_ops[op], op
        for message in our_ops[op]:
            assert our_messages[message] == real_messages[message], message
    assert set(our_messages) == {m for pair in our_ops.values() for m in pair}
    real_binding, our_binding = real.binding(), ours.binding()
    for key in ("name", "type", "style", "transport"):
        assert our_binding[key] == real_binding[key]
    for op in OPERATIONS:
        assert our_binding["operations"][op] == real_binding["operations"][op]
    assert ours.service() == real.service()
    assert real.root.find(f"{WSDL}portType").get("name") == ours.root.find(f"{WSDL}portType").get("name")


def test_served_wsdl_points_at_the_simulator(sim) -> None:
    for url in (sim.wsdl_url, sim.endpoint + "?wsdl"):
        status, body = http(url)
        assert status == 200
        address = ElementTree.fromstring(body).find(f"{WSDL}service/{WSDL}port/{WSOAP}address")
        assert address.get("location") == sim.endpoint
    assert b"webservices.chargepoint.com" not in http(sim.wsdl_url)[1]
    status, _ = http(sim.url + "/nothing-here")
    assert status == 404


def _requests(sim) -> dict[str, list[str]]:
    """Request bodies that make every response type carry every kind of child the simulator writes."""
    sid = sim.model.station_ids()[0]
    group = sim.model.groups[0].sgID
    ns = 'xmlns:cp="urn:dictionary:com.chargepoint.webservices"'
    def call(op: str, inner: str = "") -> str:
        return f"<cp:{op} {ns}>{inner}</cp:{op}>"
    since = (START - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    soon = (START + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    def event(target: str, value: str) -> str:
        return call("createLoadShedEvent", f"<shedEvent>{target}<eventStartTime>{soon}</eventStartTime>"
                    f"<eventDuration>30</eventDuration><allowOptOut>true</allowOptOut>{value}</shedEvent>")
    return {
        "getStations": [call("getStations", "<searchQuery/>"), call("getStations", "<searchQuery><stationID>nope</stationID></searchQuery>")],
        "getStationStatus": [call("getStationStatus", f"<searchQuery><stationIDs><stationID>{sid}</stationID></stationIDs></searchQuery>")],
        "getLoad": [
            call("getLoad", f"<searchQuery><sgID>{group}</sgID></searchQuery>"),
            call("getLoad", f"<searchQuery><stationID>{sid}</stationID></searchQuery>"),
        ],
        "shedLoad": [
            call("shedLoad", f"<shedQuery><shedStation><stationID>{sid}</stationID><Ports><Port><portNumber>1</portNumber>"
                 "<allowedLoadPerPort>2.5</allowedLoadPerPort></Port></Ports></shedStation><timeInterval>0</timeInterval></shedQuery>"),
            call("shedLoad", f"<shedQuery><shedGroup><sgID>{group}</sgID><allowedLoadPerStation>4</allowedLoadPerStation></shedGroup>"
                 "<timeInterval>5</timeInterval></shedQuery>"),
            call("shedLoad", f"<shedQuery><shedStation><stationID>{sid}</stationID><percentShedPerStation>101</percentShedPerStation>"
                 "</shedStation><timeInterval/></shedQuery>"),
        ],
        "clearShedState": [call("clearShedState", f"<shedQuery><shedStation><stationID>{sid}</stationID></shedStation></shedQuery>")],
        "getAlarms": [call("getAlarms", "<searchQuery/>")],
        "clearAlarms": [call("clearAlarms", f"<searchQuery><stationID>{sid}</stationID></searchQuery>")],
        "getStationRights": [call("getStationRights", "<searchQuery/>")],
        "getChargingSessionData": [call("getChargingSessionData", f"<searchQuery><fromTimeStamp>{since}</fromTimeStamp></searchQuery>")],
        "getCPNInstances": [call("getCPNInstances")],
        "getOrgsAndStationGroups": [call("getOrgsAndStationGroups", "<searchQuery/>")],
        "createLoadShedEvent": [
            event(f"<stationID>{sid}</stationID>", "<allowedLoadPerPort>3.5</allowedLoadPerPort>"),
            event(f"<sgID>{group}</sgID>", "<allowedLoadPerPort>3.5</allowedLoadPerPort>"),
            event(f"<stationID>{sid}</stationID>", "<percentShedPerStation>101</percentShedPerStation>"),
        ],
        "removeLoadShedEvent": [
            call("removeLoadShedEvent", "<eventId>1</eventId>"),
            call("removeLoadShedEvent", "<eventId>1</eventId>"),
        ],
    }


def _responses(sim) -> list[tuple[str, bytes]]:
    sid = sim.model.station_ids()[0]
    sim.model.add_alarm(sid, "GFCI Trip", 1)
    sim.model.add_alarm(sid, "Reachable")
    sim.model.set_port_status(sid, 1, "INUSE", load_kw=6.0)
    collected = []
    for op, bodies in _requests(sim).items():
        for body in bodies:
            status, answer = http(sim.endpoint, envelope(body), {"Content-Type": "text/xml"})
            assert status == 200, (op, answer)
            collected.append((op, answer))
    return collected


def test_responses_fit_our_wsdl(sim, ours: WsdlSchema) -> None:
    for op, answer in _responses(sim):
        assert ours.check_response(answer) == [], op


@needs_real
def test_responses_fit_the_published_wsdl_sequences(sim, real: WsdlSchema) -> None:
    seen = set()
    for op, answer in _responses(sim):
        assert real.check_response(answer) == [], op
        seen.add(op)
    assert seen == set(OPERATIONS)


def test_response_wire_shape(sim) -> None:
    body = _requests(sim)["getLoad"][1]
    _, answer = http(sim.endpoint, envelope(body), {"Content-Type": "text/xml"})
    text = answer.decode()
    assert "<SOAP-ENV:Envelope" in text and 'xmlns:ns1="urn:dictionary:com.chargepoint.webservices"' in text
    assert "<ns1:getLoadResponse>" in text
    assert "<responseCode>100</responseCode><responseText>API input request executed successfully.</responseText>" in text
    assert "<sgID></sgID><numStations></numStations><groupName></groupName><sgLoad></sgLoad>" in text
    status, answer = http(sim.endpoint, envelope(_requests(sim)["getStationStatus"][0]), {"Content-Type": "text/xml"})
    stamp = ElementTree.fromstring(answer).find(".//TimeStamp").text
    assert stamp.endswith("Z") and len(stamp) == 20


def test_the_event_requests_reach_every_child_of_the_event_responses(sim) -> None:
    seen = {}
    for op, answer in _responses(sim):
        if op in ("createLoadShedEvent", "removeLoadShedEvent"):
            wrapper = list(ElementTree.fromstring(answer).find("{http://schemas.xmlsoap.org/soap/envelope/}Body"))[0]
            seen.setdefault(op, []).append({child.tag: child.text for child in wrapper})
    assert [(a["responseCode"], a.get("eventId")) for a in seen["createLoadShedEvent"]] == [
        ("100", "1"), ("100", "2"), ("188", None)]
    assert [(a["responseCode"], "response" in a) for a in seen["removeLoadShedEvent"]] == [("100", True), ("191", False)]
