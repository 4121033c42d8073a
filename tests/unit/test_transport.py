"""Transport: the WS-Security header added to outgoing envelopes, credentials that never show the password, and
the size cap and DTD refusal on every answer read."""
from __future__ import annotations

import io
import pickle
import xml.etree.ElementTree as ET

import pytest

from volttron.driver.interfaces.chargepoint.exceptions import MalformedResponse
from volttron.driver.interfaces.chargepoint.transport import BoundedTransport, Credentials, add_security_header

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_TEXT = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
BODY = ('<SOAP-ENV:Body><ns0:getLoad><searchQuery><stationID>1:10001</stationID></searchQuery></ns0:getLoad>'
        '</SOAP-ENV:Body>')
OPEN = (f'<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:ns0="urn:dictionary:com.chargepoint.'
        f'webservices" xmlns:SOAP-ENV="{SOAP}">')
ENVELOPES = {
    "empty header": f"{OPEN}<SOAP-ENV:Header/>{BODY}</SOAP-ENV:Envelope>",
    "empty header with space": f"{OPEN}<SOAP-ENV:Header />{BODY}</SOAP-ENV:Envelope>",
    "no header": f"{OPEN}{BODY}</SOAP-ENV:Envelope>",
    "other prefix": (f'<soap-env:Envelope xmlns:soap-env="{SOAP}"><soap-env:Body><x/></soap-env:Body>'
                     "</soap-env:Envelope>"),
}
PASSWORD = 'p<a&s>s"w\'rd'
USERNAME = "LICENSE&KEY<1>"


@pytest.mark.parametrize("case", list(ENVELOPES))
def test_security_header_holds_username_token(case):
    envelope = ENVELOPES[case].encode()
    secured = add_security_header(envelope, Credentials(USERNAME, PASSWORD))
    root = ET.fromstring(secured)  # still well-formed, with the special characters escaped
    headers = root.findall(f"{{{SOAP}}}Header")
    assert len(headers) == 1
    assert list(root)[0] is headers[0]                        # Header comes before Body
    assert root.find(f"{{{SOAP}}}Body") is not None
    token = headers[0].find(f"{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
    assert token.find(f"{{{WSSE}}}Username").text == USERNAME
    password = token.find(f"{{{WSSE}}}Password")
    assert password.text == PASSWORD
    assert password.get("Type") == PASSWORD_TEXT


def test_body_is_unchanged():
    envelope = ENVELOPES["empty header"].encode()
    secured = add_security_header(envelope, Credentials("u", "p"))
    assert BODY.encode() in secured
    assert secured.endswith(BODY.encode() + b"</SOAP-ENV:Envelope>")


def test_envelope_without_body_is_refused():
    with pytest.raises(ValueError, match="Body"):
        add_security_header(b"<Envelope><Nothing/></Envelope>", Credentials("u", "p"))


def test_credentials_never_show_the_password():
    credentials = Credentials("LICENSEKEY", "hunter2-secret")
    for text in (repr(credentials), str(credentials), f"{credentials}", f"{credentials!r}"):
        assert "hunter2-secret" not in text
        assert "LICENSEKEY" in text


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_credentials_cannot_be_pickled(protocol):
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(Credentials("u", "hunter2-secret"), protocol=protocol)


def test_redact_removes_plain_and_escaped_password():
    credentials = Credentials("u", "a&b")
    assert credentials.redact("echo a&b and a&amp;b") == "echo *** and ***"


# --- reading answers --------------------------------------------------------------------------------------------


@pytest.fixture
def transport():
    return BoundedTransport(None, timeout=5, max_response_bytes=64)


def test_body_at_the_cap_is_read(transport):
    body = b"<a>" + b"x" * 57 + b"</a>"
    assert len(body) == 64
    assert transport._read(io.BytesIO(body)) == body


def test_body_over_the_cap_is_refused(transport):
    with pytest.raises(MalformedResponse, match="64 bytes"):
        transport._read(io.BytesIO(b"x" * 65))


class Endless:
    """A response that never ends; records how much was asked for."""

    def __init__(self) -> None:
        self.asked: list = []

    def read(self, size=-1):
        self.asked.append(size)
        if size is None or size < 0:
            raise AssertionError("unbounded read of an endless response")
        return b"x" * size


def test_endless_body_is_refused_after_reading_one_byte_past_the_cap(transport):
    endless = Endless()
    with pytest.raises(MalformedResponse):
        transport._read(endless)
    assert endless.asked == [65]


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><a>&lol;</a>',
    b'<!ENTITY xxe SYSTEM "file:///etc/passwd">',
    b"<?xml version='1.0'?><!doctype a><a/>",
], ids=["doctype", "entity", "lower-case"])
def test_dtd_or_entity_is_refused(body):
    transport = BoundedTransport(None, timeout=5)
    with pytest.raises(MalformedResponse, match="DTD"):
        transport._read(io.BytesIO(body))


def test_plain_soap_answer_is_read():
    transport = BoundedTransport(None, timeout=5)
    body = f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP}"><SOAP-ENV:Body/></SOAP-ENV:Envelope>'.encode()
    assert transport._read(io.BytesIO(body)) == body
