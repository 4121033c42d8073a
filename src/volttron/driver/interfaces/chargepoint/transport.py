"""HTTP transport for suds: bounded in time and size, TLS-verified, and the only holder of the password.

suds logs whole envelopes at DEBUG. So that no log can ever show the password, suds builds envelopes without
credentials and this transport adds the WS-Security header to the bytes just before they leave; the password
lives nowhere else, and the envelopes we log ourselves (DEBUG, logger of this module) never contain it.
"""

from __future__ import annotations

import http.client
import logging
import re
import ssl
import urllib.error
import urllib.request
from io import BytesIO
from pathlib import Path
from urllib.request import url2pathname
from typing import Any
from xml.sax.saxutils import escape

from suds.transport import Reply, Request, Transport

from .config import DEFAULT_MAX_RESPONSE_BYTES
from .exceptions import MalformedResponse, TransportError
from .redaction import Redactor, xml_encoding

_log = logging.getLogger(__name__)

_WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
_PASSWORD_TEXT = ("http://docs.oasis-open.org/wss/2004/01/"
                  "oasis-200401-wss-username-token-profile-1.0#PasswordText")
_BODY_OPEN = re.compile(rb"<(?:([\w.-]+):)?Body[\s>]")
_HEADER_EMPTY = re.compile(rb"<(?:([\w.-]+):)?Header\s*/>")
# SOAP 1.1 forbids a DTD in a message; refusing one also shuts out entity-expansion and external-entity tricks.
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
LOGGED_CHARACTERS = 4000  # of each envelope and answer logged at DEBUG
# A WSDL or schema fetched over HTTP: suds parses it in one go, element by element in Python, so it is held to
# about thirty times ChargePoint's published WSDL (109 kB, 1,700 tags).
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
MAX_DOCUMENT_TAGS = 50_000


class Credentials:
    """Username and password; the password never appears in repr, str or pickles of this object."""

    __slots__ = ("username", "_password", "redact")

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self._password = password
        # Removes the password, in any spelling a server could quote it back in, from a text.
        self.redact = Redactor(password, username)

    def security_header(self) -> bytes:
        return (f'<wsse:Security xmlns:wsse="{_WSSE_NS}"><wsse:UsernameToken>'
                f"<wsse:Username>{escape(self.username)}</wsse:Username>"
                f'<wsse:Password Type="{_PASSWORD_TEXT}">{escape(self._password)}</wsse:Password>'
                "</wsse:UsernameToken></wsse:Security>").encode("utf-8")

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=***)"

    def __reduce__(self) -> Any:
        raise TypeError("Credentials cannot be pickled")

    __str__ = __repr__


def add_security_header(envelope: bytes, credentials: Credentials) -> bytes:
    """Insert a WS-Security UsernameToken into a serialised envelope."""
    header = credentials.security_header()
    empty = _HEADER_EMPTY.search(envelope)
    if empty:
        prefix = empty.group(1).decode() + ":" if empty.group(1) else ""
        tag = f"{prefix}Header".encode()
        return envelope[:empty.start()] + b"<" + tag + b">" + header + b"</" + tag + b">" + envelope[empty.end():]
    body = _BODY_OPEN.search(envelope)
    if body is None:
        raise ValueError("no SOAP Body in the envelope")
    prefix = body.group(1).decode() + ":" if body.group(1) else ""
    tag = f"{prefix}Header".encode()
    return envelope[:body.start()] + b"<" + tag + b">" + header + b"</" + tag + b">" + envelope[body.start():]


def _has_dtd(body: bytes) -> bool:
    if _DTD.search(body):
        return True
    # UTF-16 (which XML parsers must accept) puts a zero byte beside every ASCII character of the markup.
    return b"\x00" in body[:4] and _DTD.search(body.replace(b"\x00", b"")) is not None


def ssl_context(ca_file: str | None) -> ssl.SSLContext:
    """Certificate verification is always on; ``ca_file`` pins a CA bundle instead of the system store."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:  # configuration checks the file; it may have gone since
        raise TransportError(f"caFile {ca_file}: cannot load it as a PEM CA bundle "
                             f"({exc.strerror or exc})") from None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Refuse 3xx answers: the API must answer at the configured address (urllib follows redirects by default)."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        return None  # urllib then raises the 3xx answer as an HTTPError, which the client names as a redirect


class BoundedTransport(Transport):
    """A suds transport over urllib with a per-call timeout, a response size cap and late credential injection."""

    def __init__(self, credentials: Credentials | None, timeout: float,
                 max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES, ca_file: str | None = None) -> None:
        super().__init__()
        self.credentials = credentials
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self._opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ssl_context(ca_file)),
                                                   _NoRedirects())

    def open(self, request: Request) -> Any:
        """Fetch a WSDL or schema document (http, https or file URL); failures raise as urllib raises them."""
        url = request.url if isinstance(request.url, str) else request.url.decode()
        if url.startswith("file:"):
            return BytesIO(Path(url2pathname(url[len("file:"):])).read_bytes())
        with self._opener.open(urllib.request.Request(url), timeout=self.timeout) as fp:
            document = self._read(fp, min(self.max_response_bytes, MAX_DOCUMENT_BYTES))
        if document.count(b"<") > MAX_DOCUMENT_TAGS:
            raise MalformedResponse(f"{url}: more than {MAX_DOCUMENT_TAGS} tags, far more than a WSDL has; refused")
        return BytesIO(document)

    def send(self, request: Request) -> Reply:
        """POST one envelope; any HTTP status comes back as a Reply (connection failures raise)."""
        url = request.url if isinstance(request.url, str) else request.url.decode()
        message = request.message
        if self.credentials is not None:
            message = add_security_header(message, self.credentials)
        headers = dict(request.headers)
        headers = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in headers.items()}
        if _log.isEnabledFor(logging.DEBUG):
            envelope = request.message.decode("utf-8", "replace")  # holds no credentials (added below, late)
            _log.debug("POST %s SOAPAction=%s\n%s", url, headers.get("SOAPAction"),
                       self._redact_window(envelope))
        u2request = urllib.request.Request(url, data=message, headers=headers, method="POST")
        try:
            with self._opener.open(u2request, timeout=self.timeout) as fp:
                status, reply_headers, body = http.client.OK, dict(fp.headers), self._read(fp)
        except urllib.error.HTTPError as exc:
            # Not a failure yet: the API sends its SOAP faults with HTTP 500; the client reads the status.
            status, reply_headers = exc.code, dict(exc.headers or {})
            body = self._read(exc) if exc.fp is not None else b""
        self._log_reply(status, body)
        return Reply(status, reply_headers, body)

    def _read(self, fp: Any, cap: int | None = None) -> bytes:
        cap = self.max_response_bytes if cap is None else cap
        body = fp.read(cap + 1)
        if len(body) > cap:
            raise MalformedResponse(f"response larger than the cap of {cap} bytes; refused")
        if _has_dtd(body):
            raise MalformedResponse("response contains a DTD or entity declaration, which SOAP forbids; refused")
        return body

    def _log_reply(self, status: int, body: bytes) -> None:
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("reply HTTP %s (%d bytes)\n%s", status, len(body), self._redact_window(_decoded_head(body)))

    def _redact_window(self, text: str) -> str:
        if self.credentials is None:
            return text if len(text) <= LOGGED_CHARACTERS else text[:LOGGED_CHARACTERS] + "..."
        return self.credentials.redact.shortened(text, LOGGED_CHARACTERS)


def _decoded_head(body: bytes) -> str:
    """The start of an answer as text, decoded as the answer says it is encoded (so redaction sees characters)."""
    head = body[:8 * LOGGED_CHARACTERS]
    try:
        return head.decode(xml_encoding(head), "replace")
    except LookupError:
        return head.decode("utf-8", "replace")
