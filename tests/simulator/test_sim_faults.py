"""Authentication, fault injection and the call log, seen from a suds client and from raw HTTP."""
from __future__ import annotations

import time
from collections import Counter
from xml.etree import ElementTree

import gevent
import pytest
from sim_helpers import envelope, http, make_suds_client
from suds import WebFault

pytestmark = pytest.mark.timeout(30)

CP = 'xmlns:cp="urn:dictionary:com.chargepoint.webservices"'
CPN_BODY = f"<cp:getCPNInstances {CP}/>"


def _wait_for(condition, seconds: float = 5.0) -> None:
    """Poll ``condition`` until true; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        gevent.sleep(0.01)


# ---------------------------------------------------------------------- authentication


@pytest.mark.parametrize("username, password", [("sim-test-license-key", "wrong"), ("someone-else", "sim-test-api-password"),
                                                (None, "")])
def test_bad_or_missing_credentials_fail_authentication(sim, username, password) -> None:
    client = make_suds_client(sim.wsdl_url, username=username, password=password)
    with pytest.raises(WebFault) as caught:
        client.service.getCPNInstances()
    assert caught.value.fault.faultcode == "wsse:FailedAuthentication"
    assert caught.value.fault.faultstring == "UsernameToken processing failed"
    assert sim.calls["getCPNInstances"] == 1


def test_auth_fault_on_the_wire(sim) -> None:
    status, body = http(sim.endpoint, envelope(CPN_BODY, password="nope"), {"Content-Type": "text/xml"})
    assert status == 500
    assert b'xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"' in body
    fault = ElementTree.fromstring(body).find(".//{http://schemas.xmlsoap.org/soap/envelope/}Fault")
    assert fault.findtext("faultcode") == "wsse:FailedAuthentication"
    assert fault.findtext("faultstring") == "UsernameToken processing failed"
    status, _ = http(sim.endpoint, envelope(CPN_BODY, header=""))
    assert status == 500


# ---------------------------------------------------------------------- injected faults


def test_latency_and_jitter(sim, service) -> None:
    sim.faults.latency_ms = 300
    began = time.monotonic()
    service.getCPNInstances()
    assert 0.3 <= time.monotonic() - began < 3
    sim.faults.latency_ms, sim.faults.jitter_ms = 0, 200
    began = time.monotonic()
    service.getCPNInstances()
    assert time.monotonic() - began < 3


def test_http500_is_a_plain_body(sim, service) -> None:
    sim.faults.http500_rate = 1.0
    status, body = http(sim.endpoint, envelope(CPN_BODY))
    assert (status, body) == (500, b"Internal Server Error\n")
    with pytest.raises(Exception):
        service.getCPNInstances()
    sim.faults.clear()
    assert service.getCPNInstances()


def test_soap_fault(sim, service) -> None:
    sim.faults.soap_fault_rate = 1.0
    with pytest.raises(WebFault) as caught:
        service.getStations({})
    assert caught.value.fault.faultcode == "SOAP-ENV:Server"


def test_rates_are_seeded_and_partial(make_sim) -> None:
    patterns = []
    for _ in range(2):
        sim = make_sim(seed=21)
        sim.faults.http500_rate = 0.5
        patterns.append([http(sim.endpoint, envelope(CPN_BODY))[0] for _ in range(30)])
    assert patterns[0] == patterns[1]
    assert set(patterns[0]) == {200, 500}


@pytest.mark.parametrize("operation, code, text", [("getLoad", 101, "Not allowed on your plan."), ("getStations", 102, None),
                                                   ("getChargingSessionData", 136, None)])
def test_forced_response_codes(sim, service, operation, code, text) -> None:
    sim.faults.force_code(operation, code, text)
    queries = {"getLoad": {"stationID": sim.model.station_ids()[0]}, "getStations": {}, "getChargingSessionData": {}}
    reply = getattr(service, operation)(queries[operation])
    assert reply.responseCode == str(code)
    assert reply.responseText == (text or {102: "No station(s) found for the given search criteria.",
                                           136: "No charging session data found for the given search criteria."}[code])
    assert service.getStationStatus({}).responseCode == "100", "other operations are untouched"


def test_forced_code_skips_the_write(sim, service) -> None:
    sid = sim.model.station_ids()[0]
    sim.faults.response_codes["shedLoad"] = (101, "Refused by plan.")
    reply = service.shedLoad({"shedStation": {"stationID": sid, "allowedLoadPerStation": 1}, "timeInterval": 0})
    assert reply.responseCode == "101"
    assert sim.model.shed_state(sid, effective=False) == {}


def test_truncate_cuts_the_body_in_half(sim, service) -> None:
    _, whole = http(sim.endpoint, envelope(CPN_BODY))
    sim.faults.truncate = True
    status, cut = http(sim.endpoint, envelope(CPN_BODY))
    assert status == 200 and cut == whole[: len(whole) // 2]
    with pytest.raises(Exception):
        service.getCPNInstances()


def test_malformed_is_not_xml(sim, service) -> None:
    sim.faults.malformed = True
    status, body = http(sim.endpoint, envelope(CPN_BODY))
    assert status == 200
    with pytest.raises(ElementTree.ParseError):
        ElementTree.fromstring(body)
    with pytest.raises(Exception):
        service.getCPNInstances()


def test_empty_answers_success_without_results(sim, service) -> None:
    sim.faults.empty = True
    reply = service.getStations({})
    assert reply.responseCode == "100" and not getattr(reply, "stationData", None)
    assert service.getCPNInstances() == []
    sid = sim.model.station_ids()[0]
    assert service.shedLoad({"shedStation": {"stationID": sid, "allowedLoadPerStation": 1},
                             "timeInterval": 0}).responseCode == "100"


def test_blackhole_times_out_then_recovers(sim) -> None:
    sim.faults.blackhole = True
    client = make_suds_client(sim.wsdl_url, timeout=0.5)
    began = time.monotonic()
    with pytest.raises(OSError):
        client.service.getCPNInstances()
    assert time.monotonic() - began < 3
    assert sim.calls["getCPNInstances"] == 1
    sim.faults.blackhole = False
    assert client.service.getCPNInstances()


def test_blackhole_releases_held_calls_when_cleared(sim) -> None:
    sim.faults.blackhole = True
    client = make_suds_client(sim.wsdl_url, timeout=10)
    call = gevent.spawn(client.service.getCPNInstances)
    _wait_for(lambda: sim.calls["getCPNInstances"] == 1)
    assert not call.ready()
    sim.faults.clear()
    assert [c.cpnID for c in call.get(timeout=5)] == ["1", "2"]


def test_stopping_drops_held_calls(sim) -> None:
    sim.faults.blackhole = True
    client = make_suds_client(sim.wsdl_url, timeout=10)
    call = gevent.spawn(client.service.getCPNInstances)
    _wait_for(lambda: sim.calls["getCPNInstances"] == 1)
    began = time.monotonic()
    sim.stop()
    call.join(timeout=5)
    assert call.ready() and not call.successful()
    assert time.monotonic() - began < 5


def test_faults_can_be_limited_to_operations(sim, service) -> None:
    sim.faults.http500_rate = 1.0
    sim.faults.operations = {"getLoad"}
    assert service.getStations({}).responseCode == "100"
    with pytest.raises(Exception):
        service.getLoad({"stationID": sim.model.station_ids()[0]})


def test_faults_update_validates() -> None:
    from chargepoint_simulator import Faults

    faults = Faults()
    faults.update({"http500_rate": 0.25, "response_codes": {"getLoad": [101]}, "operations": ["getLoad"]})
    assert faults.http500_rate == 0.25 and faults.operations == {"getLoad"}
    assert faults.response_codes["getLoad"][0] == 101
    with pytest.raises(ValueError):
        faults.update({"http500_rate": 2})
    with pytest.raises(ValueError):
        faults.update({"no_such_fault": True})
    assert faults.http500_rate == 0.25
    faults.update({"clear": True, "truncate": True})
    assert faults.truncate and faults.http500_rate == 0 and faults.operations is None and faults.response_codes == {}


# ---------------------------------------------------------------------- call log


def test_calls_count_everything_including_faults(sim, service) -> None:
    sid = sim.model.station_ids()[0]
    service.getLoad({"stationID": sid})
    sim.faults.http500_rate = 1.0
    with pytest.raises(Exception):
        service.getLoad({"stationID": sid})
    sim.faults.clear()
    service.getStations({"stationID": sid, "numStations": 10})
    assert sim.calls == Counter({"getLoad": 2, "getStations": 1})
    assert sim.requests[-1] == ("getStations", {"stationID": sid, "numStations": "10"})
    assert sim.requests[0] == ("getLoad", {"stationID": sid})
    sim.reset_calls()
    assert sim.calls == Counter() and sim.requests == []


def test_request_log_is_bounded(make_sim) -> None:
    sim = make_sim(request_log_size=5)
    for _ in range(8):
        http(sim.endpoint, envelope(CPN_BODY))
    assert len(sim.requests) == 5 and sim.calls["getCPNInstances"] == 8
