"""Hostile answers: whatever bytes an API sends, a poll returns in time, only the points of the answer that was bad
are affected, nothing crashes, and the password shows nowhere, in no spelling.

Every case is the simulator's own answer changed on its way to the client by a small server of the tests
(:class:`cp_reliability.HostileApi`). The password holds the characters that need escaping (``" ' & < >``), a
non-ASCII letter and a space, and every output (point errors and values, logs of every logger at DEBUG, stdout and
stderr) is searched for it after undoing any XML escaping, URL-encoding, backslash escaping and base64.
"""

from __future__ import annotations

import base64
import html
import logging
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import pytest

from cp_reliability import (USERNAME, CraftedServer, HostileApi, finished_within, points_reading, shows,
                            start_simulator, xml_reply)
from volttron.driver.interfaces.chargepoint.account import POLL_MARGIN
from volttron.driver.interfaces.chargepoint.client import ChargePointClient
from volttron.driver.interfaces.chargepoint.exceptions import ChargePointError
from volttron.driver.interfaces.chargepoint.replies import MAX_RUN, MAX_TAGS
from volttron.driver.interfaces.chargepoint.transport import MAX_DOCUMENT_BYTES, MAX_DOCUMENT_TAGS

pytestmark = pytest.mark.timeout(90)

PASSWORD = "Pw \"q' & <tü> 7z-X"
TIMEOUT = 2.0
BOUND = TIMEOUT + POLL_MARGIN + 0.5  # the promise (timeout + POLL_MARGIN) plus scheduling slack
THIRTY_MB = 30 * 1024 * 1024
Answer = tuple[str, list[tuple[str, str]], Any]


@pytest.fixture
def sim() -> Iterator[Any]:
    simulator = start_simulator(password=PASSWORD)
    try:
        yield simulator
    finally:
        simulator.stop()


@pytest.fixture
def hostile(sim) -> Iterator[HostileApi]:
    with HostileApi(sim) as api:
        yield api


@pytest.fixture
def device(hostile, make_device) -> Any:
    return make_device(bundled=True, endpoint=hostile.endpoint, password=PASSWORD, timeout=TIMEOUT)


# -- how answers are changed ---------------------------------------------------------------------------------------

def xml(status: str = "200 OK") -> Callable[[bytes], Answer]:
    return lambda body: xml_reply(body, status)


def replaced(pattern: str, replacement: str, count: int = 1) -> Callable[[bytes], Answer]:
    """The answer with the first ``count`` matches of a regular expression replaced."""
    return lambda body: xml_reply(re.sub(pattern.encode(), replacement.encode(), body, count=count))


def field_set(name: str, text: str) -> Callable[[bytes], Answer]:
    """The answer with the first ``<name>`` element's text replaced (the first port's, for port fields)."""
    return replaced(f"<{name}>[^<]*</{name}>", f"<{name}>{text}</{name}>")


def padded(inner: bytes, where: bytes = b"</responseText>") -> Callable[[bytes], Answer]:
    """The answer with ``inner`` inserted after ``where`` (chunked, no Content-Length)."""
    def tamper(body: bytes) -> Answer:
        head, tail = body.split(where, 1)
        return "200 OK", [("Content-Type", "text/xml; charset=utf-8")], iter([head + where, inner, tail])
    return tamper


def fault(faultcode: str, faultstring: str) -> Callable[[bytes], Answer]:
    envelope = ('<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope '
                'xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><SOAP-ENV:Fault>'
                f"<faultcode>{faultcode}</faultcode><faultstring>{faultstring}</faultstring>"
                "</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>").encode()
    return lambda body: xml_reply(envelope, "500 Internal Server Error")


def plain(status: str, text: str) -> Callable[[bytes], Answer]:
    return lambda body: (status, [("Content-Type", "text/plain; charset=utf-8")], [text.encode()])


def redirect(location: str) -> Callable[[bytes], Answer]:
    return lambda body: ("302 Found", [("Location", location), ("Content-Length", "0")], [b""])


# -- the password in the spellings a server could quote it back in -------------------------------------------------

def _mixed(text: str) -> str:
    return "".join((f"&#{ord(c)};", f"&#x{ord(c):X};", html.escape(c, quote=True))[i % 3] for i, c in enumerate(text))


BASIC = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
# Spellings that are well-formed XML text (the "raw" one escapes only what XML requires).
IN_XML = {
    "entities": html.escape(PASSWORD, quote=True).replace("&#x27;", "&apos;"),
    "decimal references": "".join(f"&#{ord(c)};" for c in PASSWORD),
    "hex references": "".join(f"&#x{ord(c):x};" for c in PASSWORD),
    "mixed references": _mixed(PASSWORD),
    "escaped twice": html.escape(html.escape(PASSWORD, quote=True), quote=True),
    "URL-encoded": urllib.parse.quote(PASSWORD),
    "base64 of user:password": BASIC,
}
# Spellings in plain text and headers.
IN_TEXT = {"raw": PASSWORD, "URL-encoded": urllib.parse.quote_plus(PASSWORD), "base64 of user:password": BASIC,
           "decimal references": IN_XML["decimal references"]}
IN_HEADER = {"raw (latin-1)": PASSWORD, "URL-encoded": urllib.parse.quote(PASSWORD, safe=""),
             "base64 of user:password": BASIC}


@dataclass(frozen=True)
class Case:
    """One bad answer: which operation sends it, how it differs from the honest one, what its points show."""

    id: str
    operation: str
    tamper: Callable[[bytes], Answer]
    says: str | None = None  # every point of the operation errors, saying this
    reads: dict[str, Any] = field(default_factory=dict)  # else: these points read this, the others as before
    echoes: bool = False  # the answer quotes the password (checked, so that the test cannot pass vacuously)


def _code_101(text: str) -> Callable[[bytes], Answer]:
    return replaced("<responseCode>100</responseCode><responseText>[^<]*</responseText>",
                    f"<responseCode>101</responseCode><responseText>{text}</responseText>")


ECHOES = (
    [Case(f"responseText, {name}", "getLoad", _code_101(f"refused for {s}"), says="refused for ***", echoes=True)
     for name, s in IN_XML.items()]
    + [Case(f"faultstring, {name}", "getLoad", fault("SOAP-ENV:Server", f"bad request {s}"), says="bad request ***",
            echoes=True) for name, s in IN_XML.items()]
    + [Case(f"faultcode, {name}", "getLoad", fault(f"ns:{s}", "no"), says="SOAP fault ns:***", echoes=True)
       for name, s in IN_XML.items()]
    + [Case(f"a point's value, {name}", "getStations", field_set("stationName", s),
            reads={"stationNamePort1": "***"}, echoes=True) for name, s in IN_XML.items()]
    + [Case(f"an HTTP 500 page, {name}", "getLoad", plain("500 Internal Server Error", f"denied: {s}"),
            says="HTTP 500", echoes=True) for name, s in IN_TEXT.items()]
    + [Case(f"an answer that is not XML, {name}", "getLoad", plain("200 OK", f"<<{s}"), says="not well-formed XML",
            echoes=True) for name, s in IN_TEXT.items()]
    + [Case(f"a redirect's Location, {name}", "getLoad", redirect(f"https://evil.example/login?p={s}"),
            says="redirect (HTTP 302 to https://evil.example/login?p=***", echoes=True)
       for name, s in IN_HEADER.items()]
)

NUMBERS = [
    Case("NaN in an int field", "getStations", field_set("Mode", "NaN"), reads={"ModePort1": None}),
    Case("infinity in a float field", "getStations", field_set("Voltage", "INF"), reads={"VoltagePort1": None}),
    Case("an overflowing float", "getStations", field_set("Power", "1e400"), reads={"PowerPort1": None}),
    Case("an overflowing int", "getStations", field_set("numPorts", "1" + "0" * 30), reads={"numPorts": None}),
    Case("garbage in a bool field", "getStations", field_set("Reservable", "maybe"),
         reads={"ReservablePort1": None}),
    Case("NaN in a load", "getLoad", field_set("portLoad", "nan"), reads={"portLoadPort1": None}),
    Case("a timestamp that is not one", "getStationStatus", field_set("TimeStamp", "yesterday"),
         reads={"TimeStampPort1": None}),
]

SIZES = [
    Case("30 MB of tiny elements", "getLoad", padded(b"<x/>" * (THIRTY_MB // 4)),
         says=f"more than {MAX_TAGS} tags"),
    Case("30 MB of attributes", "getLoad", padded(b'<x ' + b'a="1" ' * (THIRTY_MB // 6) + b"/>"),
         says="attributes; refused"),
    Case("30 MB of text in one element", "getLoad", padded(b"<x>" + b"y" * THIRTY_MB + b"</x>"),
         says=f"text or tag longer than {MAX_RUN} bytes"),
    Case("one 30 MB tag", "getLoad", padded(b'<x a="' + b"y" * THIRTY_MB + b'"/>'),
         says=f"text or tag longer than {MAX_RUN} bytes"),
    Case("30 MB of 1 MB texts", "getLoad", padded((b"<x>" + b"y" * (MAX_RUN - 100) + b"</x>") * 30)),
    Case("30 MB of 1 MB attributes", "getLoad", padded((b'<x a="' + b"y" * (MAX_RUN - 100) + b'"/>') * 30)),
]

SHAPES = [
    Case("a foreign-namespace field placed first", "getStations",
         replaced("<Mode>", '<evil:Mode xmlns:evil="urn:evil">3</evil:Mode><Mode>')),
    Case("a foreign-namespace record placed first", "getLoad",
         replaced("<stationData>", '<evil:stationData xmlns:evil="urn:evil"><stationID>1:10001</stationID>'
                                   "<stationLoad>99</stationLoad></evil:stationData><stationData>")),
    Case("a foreign-namespace answer element placed first", "getLoad",
         replaced("<ns1:getLoadResponse>", '<evil:getLoadResponse xmlns:evil="urn:evil"><responseCode>101'
                                           "</responseCode></evil:getLoadResponse><ns1:getLoadResponse>")),
    Case("a redirect", "getStationStatus", redirect("http://127.0.0.1:9/elsewhere"), says="redirects are not followed"),
]

CASES = NUMBERS + SIZES + SHAPES + ECHOES


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_hostile_answer_costs_its_own_points_only(case, hostile, device, debug_logs, capfd) -> None:
    baseline, errors = device.scrape()
    assert errors == {}
    hostile.tamper = lambda operation, status, body: case.tamper(body) if operation == case.operation else None
    (values, errors), elapsed = finished_within(BOUND + 10, device.scrape)

    assert elapsed < BOUND, f"{elapsed:.1f} s"
    affected = points_reading(device, [case.operation])
    unaffected = set(device.point_names) - affected
    assert not set(errors) & unaffected, {n: errors[n] for n in set(errors) & unaffected}
    assert {n: values[n] for n in unaffected} == {n: baseline[n] for n in unaffected}
    if case.says is not None:
        assert set(errors) == affected and values.keys().isdisjoint(affected)
        assert all(case.says in message for message in errors.values()), set(errors.values())
    else:
        assert errors == {}
        assert {n: values[n] for n in affected} == {n: baseline[n] for n in affected} | case.reads
    if case.echoes:
        sent = [text for operation, text in hostile.answers if operation == case.operation]
        assert any(shows(text, PASSWORD) for text in sent)  # the answer did quote it: the check below means something
    captured = capfd.readouterr()
    everything = "\n".join([*errors.values(), *map(repr, values.values()), debug_logs.text(), captured.out,
                            captured.err])
    assert not shows(everything, PASSWORD)
    assert "Traceback" not in captured.err
    logged = [len(r.getMessage()) for r in debug_logs.records if r.name.endswith(".transport")]
    assert logged and max(logged) < 10_000  # logged bodies are cut short, however large the answer


@pytest.mark.parametrize("case", [c for c in ECHOES if c.operation == "getLoad" and "Location" not in c.id][:9],
                         ids=lambda c: c.id)
def test_a_write_refused_with_an_echo_raises_without_the_password(case, hostile, device, debug_logs, capfd) -> None:
    hostile.tamper = lambda operation, status, body: case.tamper(body) if operation == "shedLoad" else None
    with pytest.raises(ChargePointError) as failed:
        device.set("allowedLoadPort1", 2.0)
    texts, exc = [], failed.value
    while exc is not None:
        texts += [str(exc), repr(exc), repr(vars(exc))]
        exc = exc.__cause__ or exc.__context__
    captured = capfd.readouterr()
    assert not shows("\n".join([*texts, debug_logs.text(), captured.out, captured.err]), PASSWORD)


def test_an_unparsable_number_is_logged_once_per_station_and_field(hostile, device, debug_logs) -> None:
    hostile.tamper = lambda operation, status, body: field_set("Mode", "NaN")(body) if operation == "getStations" \
        else None
    for _ in range(3):
        values, errors = device.scrape()
        assert errors == {} and values["ModePort1"] is None
    said = [r for r in debug_logs.records if r.levelno == logging.WARNING and "Mode" in r.getMessage()]
    assert len(said) == 1 and "'NaN'" in said[0].getMessage(), [r.getMessage() for r in said]


def test_a_bad_number_in_a_batched_answer_costs_one_field_of_one_station(sim, hostile, make_device) -> None:
    first, second = sim.model.station_ids()[:2]
    fleet = [make_device(sid, name=f"cp{i}", bundled=True, endpoint=hostile.endpoint, password=PASSWORD,
                         timeout=TIMEOUT) for i, sid in enumerate((first, second))]
    baseline = [device.scrape()[0] for device in fleet]
    hostile.tamper = lambda operation, status, body: field_set("Mode", "NaN")(body) if operation == "getStations" \
        else None
    fleet[0].interface.account.cache.invalidate(lambda key: True)
    polls = [finished_within(BOUND + 5, device.scrape)[0] for device in fleet]
    assert all(errors == {} for _values, errors in polls)
    assert polls[0][0] == baseline[0] | {"ModePort1": None}  # the first Mode of the organisation's answer
    assert polls[1][0] == baseline[1]


def test_a_stuck_more_flag_stops_at_the_second_page(hostile, device) -> None:
    first: list[bytes] = []

    def stuck(operation: str, status: str, body: bytes) -> Answer | None:
        if operation != "getChargingSessionData":
            return None
        first.append(first[0] if first else body.replace(b"<MoreFlag>0</MoreFlag>", b"<MoreFlag>1</MoreFlag>"))
        return xml_reply(first[0])

    hostile.tamper = stuck
    (values, errors), elapsed = finished_within(BOUND + 5, device.scrape)
    sessions = points_reading(device, ["getChargingSessionData"])
    assert set(errors) == sessions and all("kept answering MoreFlag 1" in e for e in errors.values())
    assert len(first) == 2 and elapsed < BOUND


def test_more_records_than_asked_for_stop_the_paging(hostile, device) -> None:
    served: list[int] = []

    def growing(operation: str, status: str, body: bytes) -> Answer | None:
        if operation != "getStationStatus":
            return None
        served.append(len(served))
        extra = f"<stationData><stationID>1:9{len(served):04d}</stationID></stationData><moreFlag>1</moreFlag>"
        return xml_reply(body.replace(b"<moreFlag>0</moreFlag>", extra.encode()))

    hostile.tamper = growing
    values, errors = device.scrape()
    status = points_reading(device, ["getStationStatus"])
    assert set(errors) == status and all("kept answering moreFlag 1" in e for e in errors.values()), errors
    assert len(served) == 1  # one station asked for: two records on a page claiming more is already too many


def test_a_redirect_is_not_followed(hostile, device) -> None:
    with CraftedServer(lambda environ, body: xml_reply(b"<never/>")) as elsewhere:
        hostile.tamper = lambda operation, status, body: redirect(elsewhere.url + "/api")(body) \
            if operation == "getLoad" else None
        values, errors = device.scrape()
    load = points_reading(device, ["getLoad"])
    assert set(errors) == load and all(f"redirect (HTTP 302 to {elsewhere.url}/api)" in e for e in errors.values())
    assert elsewhere.requests == []


# id -> (what a hostile server answers for the WSDL, what the refusal says)
BAD_WSDLS = {
    "a redirect": (("302 Found", [("Location", "http://127.0.0.1:9/other.wsdl")], [b""]),
                   "WSDL: the server answered with a redirect (HTTP 302 to http://127.0.0.1:9/other.wsdl)"),
    "larger than a WSDL can be": (xml_reply(b"<d>" + b"x" * (5 * 1024 * 1024) + b"</d>"),
                                  f"larger than the cap of {MAX_DOCUMENT_BYTES} bytes"),
    "more tags than a WSDL has": (xml_reply(b"<d>" + b"<x/>" * (MAX_DOCUMENT_TAGS + 1) + b"</d>"),
                                  f"more than {MAX_DOCUMENT_TAGS} tags"),
}


@pytest.mark.parametrize("case", list(BAD_WSDLS))
def test_a_hostile_wsdl_download_is_refused_in_time(case) -> None:
    answer, says = BAD_WSDLS[case]
    with CraftedServer(lambda environ, body: answer) as server:
        started = time.monotonic()
        with pytest.raises(ChargePointError) as refused:
            ChargePointClient(USERNAME, PASSWORD, wsdl=f"{server.url}/api.wsdl", timeout=TIMEOUT)
    assert says in str(refused.value) and time.monotonic() - started < TIMEOUT + 1
