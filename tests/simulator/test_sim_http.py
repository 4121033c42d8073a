"""What arrives on the wire: tolerance towards other clients' request shapes, and the admin endpoint."""
from __future__ import annotations

import base64
import hashlib
import json

import pytest
from sim_helpers import PASSWORD, USERNAME, envelope, http

pytestmark = pytest.mark.timeout(30)

CP_NS = "urn:dictionary:com.chargepoint.webservices"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
TEXT_TYPE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
DIGEST_TYPE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"


def _load_body(sid: str, style: str) -> str:
    if style == "unqualified":
        return f'<ns0:getLoad xmlns:ns0="{CP_NS}"><searchQuery><stationID>{sid}</stationID></searchQuery></ns0:getLoad>'
    if style == "default-namespace":
        return f'<getLoad xmlns="{CP_NS}"><searchQuery><stationID>{sid}</stationID></searchQuery></getLoad>'
    return f'<tns:getLoad xmlns:tns="{CP_NS}"><tns:searchQuery><tns:stationID>{sid}</tns:stationID></tns:searchQuery></tns:getLoad>'


@pytest.mark.parametrize("style", ["unqualified", "default-namespace", "prefixed"])
@pytest.mark.parametrize("action", [None, "urn:provider/interface/chargepointservices/getLoad",
                                    '"urn:provider/interface/chargepointservices/getLoad"', '""'])
def test_request_shapes_are_tolerated(sim, style, action) -> None:
    sid = sim.model.station_ids()[0]
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    if action is not None:
        headers["SOAPAction"] = action
    status, body = http(sim.endpoint, envelope(_load_body(sid, style)), headers)
    assert status == 200, body
    assert b"<responseCode>100</responseCode>" in body and f"<stationID>{sid}</stationID>".encode() in body
    assert sim.requests[-1] == ("getLoad", {"stationID": sid})


@pytest.mark.parametrize(
    "header",
    [
        f'<wsse:Security xmlns:wsse="{WSSE}" soapenv:mustUnderstand="1"><wsse:UsernameToken><wsse:Username>{USERNAME}'
        f'</wsse:Username><wsse:Password Type="{TEXT_TYPE}">{PASSWORD}</wsse:Password></wsse:UsernameToken></wsse:Security>',
        f'<Security xmlns="{WSSE}" mustUnderstand="true"><UsernameToken xmlns:wsu="{WSU}" wsu:Id="t-1"><Username>{USERNAME}'
        f"</Username><Password>{PASSWORD}</Password></UsernameToken></Security>",
    ],
)
def test_security_header_variants(sim, header) -> None:
    status, body = http(sim.endpoint, envelope(f'<cp:getCPNInstances xmlns:cp="{CP_NS}"/>', header=header))
    assert status == 200, body


@pytest.mark.parametrize("password, expected", [(PASSWORD, 200), ("not-it", 500)])
def test_password_digest(sim, password, expected) -> None:
    nonce, created = b"0123456789abcdef", "2025-03-03T12:00:00Z"
    digest = base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest()).decode()
    header = (
        f'<wsse:Security xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}"><wsse:UsernameToken><wsse:Username>{USERNAME}</wsse:Username>'
        f'<wsse:Password Type="{DIGEST_TYPE}">{digest}</wsse:Password>'
        f"<wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce><wsu:Created>{created}</wsu:Created>"
        "</wsse:UsernameToken></wsse:Security>"
    )
    status, _ = http(sim.endpoint, envelope(f'<cp:getCPNInstances xmlns:cp="{CP_NS}"/>', header=header))
    assert status == expected


def test_trailing_slash_and_methods(sim) -> None:
    status, body = http(sim.endpoint + "/", envelope(f'<cp:getCPNInstances xmlns:cp="{CP_NS}"/>'))
    assert status == 200 and b"<cpnID>1</cpnID>" in body
    assert http(sim.endpoint)[0] == 405


def test_unknown_operation_is_a_fault(sim) -> None:
    status, body = http(sim.endpoint, envelope(f'<cp:getUsers xmlns:cp="{CP_NS}"><searchQuery/></cp:getUsers>'))
    assert status == 500
    assert b"<faultcode>SOAP-ENV:Client</faultcode>" in body and b"getUsers" in body
    assert sim.calls["getUsers"] == 1


@pytest.mark.parametrize("payload", [b"this is not xml", b"<notAnEnvelope/>",
                                     b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>'])
def test_unreadable_requests_are_client_faults(sim, payload) -> None:
    status, body = http(sim.endpoint, payload)
    assert status == 500 and b"<faultcode>SOAP-ENV:Client</faultcode>" in body


# ---------------------------------------------------------------------- admin


def _json(sim, path: str, payload: dict | None = None) -> tuple[int, dict]:
    data = None if payload is None else json.dumps(payload).encode()
    status, body = http(sim.url + path, data, {"Content-Type": "application/json"})
    return status, json.loads(body)


def test_admin_calls_and_reset(sim, service) -> None:
    sid = sim.model.station_ids()[0]
    service.getLoad({"stationID": sid})
    service.getCPNInstances()
    status, calls = _json(sim, "/admin/calls")
    assert status == 200
    assert calls["calls"] == {"getLoad": 1, "getCPNInstances": 1} and calls["total"] == 2
    assert calls["requests"][0] == ["getLoad", {"stationID": sid}]
    assert _json(sim, "/admin/calls/reset", {})[0] == 200
    assert _json(sim, "/admin/calls")[1]["total"] == 0 and sim.calls["getLoad"] == 0


def test_admin_faults(sim, service) -> None:
    status, faults = _json(sim, "/admin/faults", {"http500_rate": 1, "operations": ["getLoad"],
                                                  "response_codes": {"getStations": {"code": 102, "text": "none"}}})
    assert status == 200 and faults["http500_rate"] == 1 and faults["operations"] == ["getLoad"]
    assert sim.faults.http500_rate == 1 and sim.faults.response_codes["getStations"] == (102, "none")
    assert service.getStations({}).responseText == "none"
    assert _json(sim, "/admin/faults", {"bogus": 1})[0] == 400
    assert _json(sim, "/admin/faults", {"latency_ms": -5})[0] == 400
    status, faults = _json(sim, "/admin/faults", {"clear": True})
    assert faults == _json(sim, "/admin/faults")[1]
    assert faults["http500_rate"] == 0 and faults["response_codes"] == {} and faults["operations"] is None
    assert service.getStations({}).responseCode == "100"


def test_admin_stations_and_clock(sim) -> None:
    status, listing = _json(sim, "/admin/stations")
    assert status == 200 and listing["stations"] == sim.model.station_ids()
    sid = listing["stations"][0]
    sim.model.set_port_status(sid, 1, "INUSE", load_kw=3.3)
    status, station = _json(sim, f"/admin/stations/{sid}")
    assert status == 200 and station["stationID"] == sid
    assert station["ports"][0]["Status"] == "INUSE" and station["load"]["Port"][0]["portLoad"] == 3.3
    assert _json(sim, "/admin/stations/1:99999")[0] == 404
    before = sim.clock.now()
    status, clock = _json(sim, "/admin/clock/advance", {"seconds": 90})
    assert status == 200 and (sim.clock.now() - before).total_seconds() == 90
    assert _json(sim, "/admin/nothing")[0] == 404


def test_admin_ports_stage_statuses_and_record_the_sessions_that_end(sim) -> None:
    sid = sim.model.station_ids()[0]
    status, answer = _json(sim, "/admin/ports", {"changes": [{"stationID": sid, "port": 1, "status": "INUSE",
                                                              "load_kw": 2.5}]})
    assert (status, answer) == (200, {"changed": 1})
    assert sim.model.station(sid).ports[0].Status == "INUSE"
    sessions = len(sim.model.sessions(sid))
    sim.clock.advance(600)
    _json(sim, "/admin/ports", {"changes": [{"stationID": sid, "port": 1, "status": "AVAILABLE"}]})
    assert len(sim.model.sessions(sid)) == sessions + 1
    assert _json(sim, "/admin/ports", {"changes": [{"stationID": sid, "port": 1, "status": "PARKED"}]})[0] == 400
