"""Transport safety: TLS verification stays on (``caFile`` pins a CA), oversized answers are refused, and DTDs,
entity expansion and external entities in an answer cannot blow up memory, read files or reach the network.

Crafted answers come from a small gevent WSGI server on 127.0.0.1; devices use the bundled WSDL with that server
as endpoint, as a production device uses the bundled WSDL with ChargePoint's endpoint.
"""

from __future__ import annotations

import ssl
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from gevent.pywsgi import WSGIServer

from cp_reliability import (PASSWORD, USERNAME, CraftedServer, envelope, finished_within, make_certificate,
                            sample_rows, xml_reply)
from volttron.driver.interfaces.chargepoint.account import POLL_MARGIN
from volttron.driver.interfaces.chargepoint.client import ChargePointClient
from volttron.driver.interfaces.chargepoint.exceptions import ChargePointError, MalformedResponse, TransportError
from volttron.driver.interfaces.chargepoint.transport import DEFAULT_MAX_RESPONSE_BYTES

pytestmark = pytest.mark.timeout(60)

TIMEOUT = 2.0
ENDPOINT = "/webservices/chargepoint/services/5.0"
LOAD_ROWS = [row for row in sample_rows() if row["Register Name"] == "LoadRegister"]  # one API call per poll
LOAD_OK = envelope("<ns1:getLoadResponse><responseCode>100</responseCode><responseText>ok</responseText>"
                   "<stationData><stationID>1:10001</stationID><stationLoad>7.2</stationLoad>"
                   "<Port><portNumber>1</portNumber><portLoad>3.3</portLoad></Port></stationData>"
                   "</ns1:getLoadResponse>")


def client_for(server: CraftedServer, **options: Any) -> ChargePointClient:
    return ChargePointClient(USERNAME, PASSWORD, wsdl=None, endpoint=server.url + ENDPOINT, timeout=TIMEOUT,
                             **options)


# -- TLS ---------------------------------------------------------------------------------------------------------

class Https:
    """The simulator's WSGI app served over TLS with the given certificate."""

    def __init__(self, app: Callable[..., Any], cert: Path, key: Path) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._server = WSGIServer(("127.0.0.1", 0), app, ssl_context=context, log=None, error_log=None)
        self._server.start()
        self.url = f"https://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        self._server.stop(timeout=1)


@pytest.fixture
def certificates(tmp_path: Path) -> dict[str, tuple[Path, Path]]:
    made = {name: make_certificate(tmp_path, name, hosts) for name, hosts in
            (("api", ("127.0.0.1", "localhost")), ("stranger", ("127.0.0.1",)), ("elsewhere", ("example.invalid",)))}
    if any(pair is None for pair in made.values()):
        pytest.skip("neither the cryptography package nor the openssl command is available to make certificates")
    return made  # type: ignore[return-value]


@pytest.fixture
def https(sim, certificates) -> Iterator[Callable[[str], Https]]:
    servers: list[Https] = []

    def serve(name: str) -> Https:
        cert, key = certificates[name]
        servers.append(Https(sim.app, cert, key))
        return servers[-1]

    yield serve
    for server in servers:
        server.stop()


def test_https_with_an_unknown_certificate_is_refused_by_default(sim, https, make_device) -> None:
    api = https("api")
    fetched = make_device(wsdl=f"{api.url}/cp_api_5.0.wsdl")
    values, errors = fetched.scrape()
    assert values == {} and set(errors) == set(fetched.point_names)
    assert all("CERTIFICATE_VERIFY_FAILED" in e for e in errors.values()), set(errors.values())
    bundled = make_device(name="cp2", wsdl=None, endpoint=api.url + ENDPOINT)  # the call itself, not the WSDL
    values, errors = bundled.scrape()
    assert values == {} and all("CERTIFICATE_VERIFY_FAILED" in e for e in errors.values()), set(errors.values())
    with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
        bundled.set("allowedLoadPort1", 3.0)
    assert sum(sim.calls.values()) == 0  # nothing was said to a server that could not prove who it is


def test_ca_file_pins_the_certificate_of_the_api(sim, https, certificates, make_device) -> None:
    api = https("api")
    device = make_device(wsdl=f"{api.url}/cp_api_5.0.wsdl", caFile=str(certificates["api"][0]))
    values, errors = device.scrape()
    assert errors == {} and values["stationID"] == sim.model.station_ids()[0]
    device.set("allowedLoadPort1", 3.0)
    assert sim.calls["shedLoad"] == 1


@pytest.mark.parametrize("served, pinned, reason", [
    ("api", "stranger", "CERTIFICATE_VERIFY_FAILED"),  # a certificate the pinned CA did not issue
    ("elsewhere", "elsewhere", "CERTIFICATE_VERIFY_FAILED"),  # a trusted certificate for another host name
])
def test_ca_file_does_not_switch_verification_off(served, pinned, reason, sim, https, certificates,
                                                  make_device) -> None:
    api = https(served)
    device = make_device(wsdl=None, endpoint=api.url + ENDPOINT, caFile=str(certificates[pinned][0]))
    values, errors = device.scrape()
    assert values == {} and all(reason in e for e in errors.values()), set(errors.values())
    assert sum(sim.calls.values()) == 0


# -- size cap ----------------------------------------------------------------------------------------------------

def endless(environ: dict[str, Any], body: bytes) -> tuple[str, list[tuple[str, str]], Iterator[bytes]]:
    """A well-formed start of an answer that never ends (chunked, no Content-Length)."""
    def chunks() -> Iterator[bytes]:
        yield LOAD_OK[:LOAD_OK.index(b"<responseText>") + len(b"<responseText>")]
        block = b"x" * 65536
        while True:
            yield block
    return "200 OK", [("Content-Type", "text/xml; charset=utf-8")], chunks()


def test_an_endless_answer_is_cut_at_the_default_cap(make_device) -> None:
    with CraftedServer(endless) as server:
        device = make_device(rows=LOAD_ROWS, wsdl=None, endpoint=server.url + ENDPOINT, timeout=TIMEOUT)
        tracemalloc.start()
        try:
            (values, errors), elapsed = finished_within(TIMEOUT + POLL_MARGIN + 5, device.scrape)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert values == {} and set(errors) == set(device.point_names)
    assert all(f"cap of {DEFAULT_MAX_RESPONSE_BYTES} bytes" in e for e in errors.values()), set(errors.values())
    assert elapsed < TIMEOUT + POLL_MARGIN + 0.5
    assert peak < 3 * DEFAULT_MAX_RESPONSE_BYTES, f"{peak / 2**20:.0f} MiB"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_answers_are_accepted_up_to_the_cap_and_refused_beyond(chunked) -> None:
    cap = 64 * 1024
    size = {"body": 0}

    def padded(environ: dict[str, Any], body: bytes) -> tuple[str, list[tuple[str, str]], list[bytes]]:
        head, tail = LOAD_OK.split(b"<responseText>ok")
        answer = head + b"<responseText>" + b"y" * (size["body"] - len(LOAD_OK) + 2) + tail
        if chunked:
            return "200 OK", [("Content-Type", "text/xml; charset=utf-8")], [answer[:1000], answer[1000:]]
        return xml_reply(answer)

    with CraftedServer(padded) as server:
        client = client_for(server, max_response_bytes=cap)
        size["body"] = cap
        assert client.get_load("1:10001")["1:10001"].station_load == 7.2
        size["body"] = cap + 1
        with pytest.raises(MalformedResponse, match=f"larger than the cap of {cap} bytes"):
            client.get_load("1:10001")


# -- DTDs and entities -------------------------------------------------------------------------------------------

SECRET_MARKER = "file-content-that-must-never-be-read-7c1e"
LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lollollollollollollollollollol">'
          + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
          + "]>")
RESPONSE_WITH = "<ns1:getLoadResponse><responseCode>100</responseCode><responseText>{}</responseText>" \
                "</ns1:getLoadResponse>"


def crafted_answers(secret_file: Path, dtd_url: str) -> dict[str, bytes]:
    prolog = '<?xml version="1.0" encoding="UTF-8"?>'
    return {
        "billion laughs": envelope(RESPONSE_WITH.format("&lol9;"), prolog + LAUGHS),
        "external entity (file)": envelope(RESPONSE_WITH.format("&xxe;"),
                                           prolog + f'<!DOCTYPE x [<!ENTITY xxe SYSTEM "{secret_file.as_uri()}">]>'),
        "external DTD (network)": envelope(RESPONSE_WITH.format("&remote;"),
                                           prolog + f'<!DOCTYPE x SYSTEM "{dtd_url}">'),
        "parameter entity": envelope(RESPONSE_WITH.format("x"), prolog + f'<!DOCTYPE x [<!ENTITY % p SYSTEM '
                                                                          f'"{dtd_url}"> %p;]>'),
        "billion laughs in UTF-16": ('<?xml version="1.0" encoding="UTF-16"?>' + LAUGHS
                                     + envelope(RESPONSE_WITH.format("&lol9;"), "").decode()).encode("utf-16"),
        "lower-case doctype": envelope(RESPONSE_WITH.format("&lol9;"), prolog + LAUGHS.replace("DOCTYPE", "doctype")),
    }


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET_MARKER, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", list(crafted_answers(Path("/x"), "http://x/")))
def test_answers_with_a_dtd_are_refused_before_parsing(case, secret_file) -> None:
    answers: dict[str, bytes] = {}

    def respond(environ: dict[str, Any], body: bytes) -> tuple[str, list[tuple[str, str]], list[bytes]]:
        if environ["REQUEST_METHOD"] == "GET":  # the external DTD: must never be asked for
            return xml_reply(f'<!ENTITY remote "{SECRET_MARKER}">'.encode())
        return xml_reply(answers[case])

    with CraftedServer(respond) as server:
        answers.update(crafted_answers(secret_file, f"{server.url}/evil.dtd"))
        client = client_for(server)
        tracemalloc.start()
        try:
            with pytest.raises(MalformedResponse) as refused:
                client.get_load("1:10001")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert "DTD or entity declaration" in str(refused.value)  # refused by the transport, not left to the parser
    assert SECRET_MARKER not in repr(refused.value) and SECRET_MARKER not in str(refused.value.__context__)
    assert [r for r in server.requests if r[0] == "GET"] == []
    assert peak < 8 * 2**20, f"{peak / 2**20:.1f} MiB"


def test_a_dtd_in_an_http_500_answer_is_refused_too(secret_file) -> None:
    fault = envelope("<SOAP-ENV:Fault><faultcode>SOAP-ENV:Server</faultcode><faultstring>&xxe;</faultstring>"
                     "</SOAP-ENV:Fault>",
                     f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "{secret_file.as_uri()}">]>')
    with CraftedServer(lambda environ, body: xml_reply(fault, "500 Internal Server Error")) as server:
        with pytest.raises(MalformedResponse, match="DTD") as refused:
            client_for(server).get_load("1:10001")
    assert SECRET_MARKER not in str(refused.value)


def test_a_wsdl_with_external_entities_is_refused(secret_file) -> None:
    wsdl = (f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "{secret_file.as_uri()}">]>'
            '<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"><documentation>&xxe;</documentation>'
            "</definitions>").encode()
    with CraftedServer(lambda environ, body: xml_reply(wsdl)) as server:
        started = time.monotonic()
        with pytest.raises(ChargePointError, match="DTD") as refused:
            ChargePointClient(USERNAME, PASSWORD, wsdl=f"{server.url}/evil.wsdl", timeout=TIMEOUT)
        assert time.monotonic() - started < TIMEOUT + 1
    assert SECRET_MARKER not in str(refused.value)


def test_a_device_reports_a_crafted_answer_per_point_and_keeps_polling(secret_file, make_device) -> None:
    state = {"evil": True}

    def respond(environ: dict[str, Any], body: bytes) -> tuple[str, list[tuple[str, str]], list[bytes]]:
        if state["evil"]:
            return xml_reply(crafted_answers(secret_file, "http://127.0.0.1:9/evil.dtd")["billion laughs"])
        return xml_reply(LOAD_OK)

    with CraftedServer(respond) as server:
        device = make_device("1:10001", rows=LOAD_ROWS, wsdl=None, endpoint=server.url + ENDPOINT)
        values, errors = device.scrape()
        assert values == {} and all("DTD" in e for e in errors.values()) and set(errors) == set(device.point_names)
        state["evil"] = False
        values, errors = device.scrape()
        assert errors == {} and values["portLoadPort1"] == 3.3
