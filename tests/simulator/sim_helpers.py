"""Helpers the simulator's tests share (the fixtures are in conftest.py)."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

from suds.cache import NoCache
from suds.client import Client
from suds.wsse import Security, UsernameToken

from chargepoint_simulator import SimClock

ROOT = Path(__file__).resolve().parents[2]
OUR_WSDL = ROOT / "src" / "volttron" / "driver" / "interfaces" / "chargepoint" / "cp_api_5.0.wsdl"
REAL_WSDL = ROOT.parent / "shared" / "reference" / "cp_api_5.0.wsdl"
START = datetime(2025, 3, 3, 12, 0, 0, tzinfo=timezone.utc)
USERNAME = "sim-test-license-key"
PASSWORD = "sim-test-api-password"


def frozen_clock(start: datetime = START) -> SimClock:
    """A clock that moves only when a test advances it."""
    return SimClock(start=start, scale=0.0)


def security(username: str = USERNAME, password: str = PASSWORD) -> Security:
    wsse = Security()
    wsse.tokens.append(UsernameToken(username, password))
    return wsse


def make_suds_client(
    wsdl: str,
    location: str | None = None,
    username: str | None = USERNAME,
    password: str = PASSWORD,
    timeout: float = 10.0,
) -> Client:
    """A suds client; ``username=None`` sends no Security header at all."""
    options = {"cache": NoCache(), "timeout": timeout}
    if location is not None:
        options["location"] = location
    if username is not None:
        options["wsse"] = security(username, password)
    return Client(wsdl, **options)


def http(url: str, data: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 10.0) -> tuple[int, bytes]:
    """(status, body) of one HTTP request; error statuses are returned, not raised."""
    request = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def envelope(body: str, username: str = USERNAME, password: str = PASSWORD, header: str | None = None) -> bytes:
    """A hand-written SOAP 1.1 request (for tolerance tests that suds would never send)."""
    if header is None:
        header = (
            '<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">'
            f"<wsse:UsernameToken><wsse:Username>{username}</wsse:Username>"
            f"<wsse:Password>{password}</wsse:Password></wsse:UsernameToken></wsse:Security>"
        )
    return (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        f"<soapenv:Header>{header}</soapenv:Header><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    ).encode()


def charge(model, station_id: str, load_kw: float = 6.0) -> None:
    """Every port of the station charging at ``load_kw``, held there (so the random evolution keeps away)."""
    for port in model.station(station_id).ports:
        model.set_port_status(station_id, port.portNumber, "AVAILABLE")
        model.set_port_status(station_id, port.portNumber, "INUSE", load_kw=load_kw)


def port_loads(service, station_id: str) -> list[tuple[int, float, float, int]]:
    """(shedState, portLoad, allowedLoad, percentShed) per port as getLoad reports them."""
    [data] = service.getLoad({"stationID": station_id}).stationData
    return [(p.shedState, float(p.portLoad), float(p.allowedLoad), int(p.percentShed)) for p in data.Port]
