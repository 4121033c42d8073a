"""SOAP 1.1 on the wire: reading requests tolerantly and writing responses the way the service does.

Requests are read by local name only, so qualified and unqualified children, any envelope prefix and
either SOAP version are accepted. Responses use the service's own shape: a ``SOAP-ENV`` envelope, the
wrapper element in the ``ns1`` prefix and unqualified children in WSDL order (see ``schema``).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

from chargepoint_simulator.schema import RESPONSES, Table

_log = logging.getLogger(__name__)

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
CP_NS = "urn:dictionary:com.chargepoint.webservices"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_DIGEST = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
)
CONTENT_TYPE = "text/xml; charset=utf-8"

# The wrapper children whose content is "the query" of an operation (what the request log records).
QUERY_ELEMENTS = ("searchQuery", "shedQuery")


class SoapParseError(ValueError):
    """The body is not a SOAP envelope with one operation element in its Body."""


def _local(tag: str) -> str:
    """``{ns}name`` -> ``name``."""
    return tag.rsplit("}", 1)[-1]


def _child(element: ElementTree.Element | None, name: str) -> ElementTree.Element | None:
    """The first child with this local name."""
    if element is None:
        return None
    for child in element:
        if isinstance(child.tag, str) and _local(child.tag) == name:
            return child
    return None


def element_value(element: ElementTree.Element) -> Any:
    """An element as plain data: a dict for elements with children (lists for repeats), else its text."""
    children = [c for c in element if isinstance(c.tag, str)]
    if not children:
        nil = any(_local(k) == "nil" and v in ("true", "1") for k, v in element.attrib.items())
        return None if nil else (element.text or "").strip()
    result: dict[str, Any] = {}
    for child in children:
        name = _local(child.tag)
        value = element_value(child)
        if name in result:
            existing = result[name]
            if isinstance(existing, list):
                existing.append(value)
            else:
                result[name] = [existing, value]
        else:
            result[name] = value
    return result


@dataclass
class UsernameToken:
    """The WS-Security UsernameToken a request carried."""

    username: str
    password: str
    password_type: str = ""
    nonce: str = ""
    created: str = ""

    def matches(self, username: str, password: str) -> bool:
        """True when the token names this user with this password (PasswordText or PasswordDigest)."""
        if not hmac.compare_digest(self.username.encode(), username.encode()):
            return False
        if self.password_type == PASSWORD_DIGEST:
            try:
                nonce = base64.b64decode(self.nonce) if self.nonce else b""
            except ValueError:
                return False
            expected = base64.b64encode(
                hashlib.sha1(nonce + self.created.encode() + password.encode()).digest()
            ).decode()
            return hmac.compare_digest(self.password.encode(), expected.encode())
        return hmac.compare_digest(self.password.encode(), password.encode())


@dataclass
class SoapRequest:
    """One parsed request: the operation, the wrapper's content as plain data and the credentials."""

    operation: str
    fields: dict[str, Any] = field(default_factory=dict)
    token: UsernameToken | None = None

    @property
    def query(self) -> dict[str, Any]:
        """The searchQuery/shedQuery content, or the wrapper's fields when there is no such element."""
        for name in QUERY_ELEMENTS:
            value = self.fields.get(name)
            if isinstance(value, dict):
                return value
            if name in self.fields:
                return {}
        return self.fields


def _read_token(header: ElementTree.Element | None) -> UsernameToken | None:
    """The UsernameToken of the Security header, if any (mustUnderstand and prefixes do not matter)."""
    security = _child(header, "Security")
    token = _child(security, "UsernameToken")
    if token is None:
        return None
    username = _child(token, "Username")
    password = _child(token, "Password")
    if username is None or password is None:
        return None
    nonce = _child(token, "Nonce")
    created = _child(token, "Created")
    return UsernameToken(
        username=(username.text or "").strip(),
        password=(password.text or "").strip(),
        password_type=password.get("Type", "").strip(),
        nonce=(nonce.text or "").strip() if nonce is not None else "",
        created=(created.text or "").strip() if created is not None else "",
    )


def parse_request(body: bytes) -> SoapRequest:
    """Read an envelope; raises SoapParseError when it is not one."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise SoapParseError(f"request is not well-formed XML: {exc}") from exc
    if _local(root.tag) != "Envelope":
        raise SoapParseError("request root is not a SOAP Envelope")
    soap_body = _child(root, "Body")
    if soap_body is None:
        raise SoapParseError("SOAP Envelope has no Body")
    operations = [c for c in soap_body if isinstance(c.tag, str)]
    if len(operations) != 1:
        raise SoapParseError(f"SOAP Body holds {len(operations)} elements; expected one operation")
    wrapper = operations[0]
    value = element_value(wrapper)
    return SoapRequest(
        operation=_local(wrapper.tag),
        fields=value if isinstance(value, dict) else {},
        token=_read_token(_child(root, "Header")),
    )


def render_fields(table: Table, data: Mapping[str, Any]) -> str:
    """The children of one element in table order. None is left out; "" becomes an empty element."""
    parts: list[str] = []
    for spec in table:
        value = data.get(spec.name)
        if value is None:
            continue
        for item in value if isinstance(value, (list, tuple)) else (value,):
            if item is None:
                continue
            if spec.children is not None:
                parts.append(f"<{spec.name}>{render_fields(spec.children, item)}</{spec.name}>")
            elif item == "":
                parts.append(f"<{spec.name}></{spec.name}>")
            else:
                parts.append(f"<{spec.name}>{escape(spec.fmt(item))}</{spec.name}>")
    return "".join(parts)


def _envelope(body: str, extra_ns: Mapping[str, str] | None = None) -> bytes:
    """Wrap a Body's content in the service's envelope (SOAP-ENV and ns1 prefixes declared)."""
    namespaces = {"SOAP-ENV": SOAP_ENV_NS, "ns1": CP_NS, **(extra_ns or {})}
    declarations = " ".join(f"xmlns:{prefix}={quoteattr(uri)}" for prefix, uri in namespaces.items())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<SOAP-ENV:Envelope {declarations}><SOAP-ENV:Body>{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode("utf-8")


def render_response(operation: str, data: Mapping[str, Any]) -> bytes:
    """The full envelope answering ``operation`` with ``data`` (keys are the response's element names)."""
    wrapper = f"{operation}Response"
    return _envelope(f"<ns1:{wrapper}>{render_fields(RESPONSES[operation], data)}</ns1:{wrapper}>")


def render_fault(faultcode: str, faultstring: str, extra_ns: Mapping[str, str] | None = None) -> bytes:
    """A SOAP 1.1 Fault envelope; declare any prefix ``faultcode`` uses in ``extra_ns``."""
    return _envelope(
        "<SOAP-ENV:Fault>"
        f"<faultcode>{escape(faultcode)}</faultcode>"
        f"<faultstring>{escape(faultstring)}</faultstring>"
        "</SOAP-ENV:Fault>",
        extra_ns,
    )


def auth_fault() -> bytes:
    """The fault the service sends for a missing or wrong UsernameToken."""
    return render_fault("wsse:FailedAuthentication", "UsernameToken processing failed", {"wsse": WSSE_NS})
