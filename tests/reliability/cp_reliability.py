"""Helpers shared by the reliability tests (a module name unique across test folders).

A crafted-response HTTP server, self-signed certificates, a log collector, a controllable clock and the checks
the fault tests repeat.
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import csv
import dataclasses
import datetime as dt
import gc
import html
import io
import ipaddress
import logging
import re
import shutil
import subprocess
import time
import urllib.parse
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import gevent
from gevent.event import Event
from gevent.pywsgi import WSGIServer

from volttron.driver.interfaces.chargepoint.models import STATION_SOURCES
from volttron.driver.interfaces.chargepoint.client import BUNDLED_WSDL

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CONFIG = ROOT / "chargepoint.config"
SAMPLE_CSV = ROOT / "chargepoint.csv"
USERNAME = "reliability-license-key-0123"
# Distinctive, and with characters XML escapes, so an escaped copy in an envelope would be found too.
PASSWORD = "Pw-7f3Q&<tr0ub4dor>-zx"
_ESCAPED = PASSWORD.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
PASSWORD_FORMS = (PASSWORD, _ESCAPED, _ESCAPED.replace("&", "&amp;"))  # as is, as sent, as quoted in an answer
FROZEN = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
METHODS = tuple(source.value for source in STATION_SOURCES)  # what a station device polls
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
CP_NS = "urn:dictionary:com.chargepoint.webservices"


def start_simulator(port: int = 0, **options: Any) -> Any:
    """The reliability tests' simulator (seed 11, frozen clock), started; same port and seed = same true state."""
    from chargepoint_simulator import SimClock, Simulator
    settings = {"stations": 4, "seed": 11, "username": USERNAME, "password": PASSWORD,
                "clock": SimClock(start=FROZEN, scale=0), **options}
    return Simulator(port=port, **settings).start()


def break_simulator(sim: Any, kind: str, operations: list[str], rng: Any, timeout: float) -> None:
    """Clear earlier faults, then break the simulator in one of its own ways for ``operations``.

    ``kind``: none, http500, soap_fault, malformed, truncate, empty, code (a random response code), auth (the
    password changed on the API's side), latency (past ``timeout``) or blackhole.
    """
    sim.faults.clear()
    sim.app.password = PASSWORD
    if kind == "code":
        for operation in operations:
            sim.faults.force_code(operation, rng.choice([101, 102, 136, 153, 999]))
    elif kind == "auth":
        sim.app.password = "rotated-by-someone-else"
    elif kind != "none":
        setting = {"http500": ("http500_rate", 1.0), "soap_fault": ("soap_fault_rate", 1.0),
                   "latency": ("latency_ms", timeout * 1000 + 300)}.get(kind, (kind, True))
        sim.faults.update({setting[0]: setting[1], "operations": operations})


def count_calls(client: Any) -> dict[str, int]:
    """Count every call the client attempts, per operation (also those that never reach a server)."""
    counts: dict[str, int] = {}
    original = client._call

    def call(operation: str, **arguments: Any) -> Any:
        counts[operation] = counts.get(operation, 0) + 1
        return original(operation, **arguments)

    client._call = call
    return counts


def sample_rows() -> list[dict[str, str]]:
    with SAMPLE_CSV.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def envelope(inner: str, prolog: str = '<?xml version="1.0" encoding="UTF-8"?>') -> bytes:
    return (f'{prolog}<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}" xmlns:ns1="{CP_NS}">'
            f"<SOAP-ENV:Body>{inner}</SOAP-ENV:Body></SOAP-ENV:Envelope>").encode("utf-8")


def stage_sessions(sim: Any, station_id: str, count: int) -> None:
    """Give a station ``count`` more completed sessions, all older than its own (so its latest stay latest), a
    minute apart: the last day holds up to 1440 of them, so even a first read (which asks for the last day) pages."""
    station = sim.model.station(station_id)
    latest: dict[Any, Any] = {}
    for session in sorted(station.sessions, key=lambda s: s.startTime):
        latest[session.portNumber] = session
    template = min(latest.values(), key=lambda s: s.startTime)  # the earliest of the ports' latest sessions
    for i in range(1, count + 1):
        start = template.startTime - dt.timedelta(minutes=i)
        station.sessions.append(dataclasses.replace(template, sessionID=template.sessionID + 10_000_000 + i,
                                                    startTime=start, endTime=start + dt.timedelta(seconds=30)))


def source_of(device: Any, point: str) -> str:
    """The SOAP operation a point of the device reads."""
    return device.register(point).source.value


def points_reading(device: Any, operations: Iterable[str]) -> set[str]:
    wanted = set(operations)
    return {name for name in device.point_names if source_of(device, name) in wanted}


def finished_within(seconds: float, run: Callable[[], Any]) -> tuple[Any, float]:
    """Run ``run`` in a greenlet; fail (instead of hanging the suite) if it is not done in ``seconds``."""
    def guarded() -> tuple[bool, Any]:
        try:
            return True, run()
        except Exception as exc:  # handed to the caller below (gevent would print it as a crash)
            return False, exc

    started = time.monotonic()
    greenlet = gevent.spawn(guarded)
    greenlet.join(timeout=seconds)
    elapsed = time.monotonic() - started
    if not greenlet.ready():
        greenlet.kill(block=True, timeout=1)
        raise AssertionError(f"still running after {seconds:g} s")
    ok, value = greenlet.value
    if not ok:
        raise value
    return value, elapsed


def wait_for(condition: Callable[[], bool], limit: float = 5.0, what: str = "condition") -> None:
    """Yield to other greenlets until ``condition()`` holds (bounded); not a fixed sleep."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {limit:g} s waiting for {what}")
        gevent.sleep(0.01)


def live_greenlets() -> list[gevent.Greenlet]:
    """Every gevent Greenlet that is scheduled, running or blocked (not finished)."""
    return [obj for obj in gc.get_objects() if isinstance(obj, gevent.Greenlet) and not obj.dead]


class FakeClock:
    """A monotonic clock the test moves by hand (for back-off windows)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def use_clock(account: Any, clock: Callable[[], float]) -> None:
    """Drive an account's back-off and cache ages from ``clock``."""
    account.cache.clock = clock
    account.backoff.clock = clock


class Records(logging.Handler):
    """Collects every record it sees, formatted with arguments and traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(self.format(record) for record in self.records)

    def at_least(self, level: int, prefix: str = "") -> list[logging.LogRecord]:
        return [r for r in self.records if r.levelno >= level and r.name.startswith(prefix)]


@contextlib.contextmanager
def debug_logging() -> Iterator[Records]:
    """Every record of every logger (suds included) at DEBUG, as a user debugging the driver would set it up."""
    handler = Records()
    root, suds = logging.getLogger(), logging.getLogger("suds")
    levels = root.level, suds.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    suds.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(levels[0])
        suds.setLevel(levels[1])


# -- a server that answers what the test says ------------------------------------------------------------------

Responder = Callable[[dict[str, Any], bytes], tuple[str, list[tuple[str, str]], Iterable[bytes]]]


class CraftedServer:
    """A gevent WSGI server on 127.0.0.1 whose answers the test crafts; records every request.

    ``respond(environ, body)`` returns (status, headers, body chunks). ``release`` ends every held request.
    """

    def __init__(self, respond: Responder, **ssl: Any) -> None:
        self.respond = respond
        self.requests: list[tuple[str, str, bytes]] = []
        self.released = Event()
        self._server = WSGIServer(("127.0.0.1", 0), self._app, log=None, error_log=None, **ssl)

    def __enter__(self) -> "CraftedServer":
        self._server.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.released.set()
        self._server.stop(timeout=1)

    @property
    def url(self) -> str:
        scheme = "https" if self._server.ssl_enabled else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_port}"

    def hold(self) -> None:
        """Block the calling handler until the test ends (a black hole that cannot outlive the test)."""
        self.released.wait(timeout=60)

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        self.requests.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), body))
        status, headers, chunks = self.respond(environ, body)
        start_response(status, headers)
        return chunks


def xml_reply(body: bytes, status: str = "200 OK") -> tuple[str, list[tuple[str, str]], list[bytes]]:
    return status, [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))], [body]


def bundled_wsdl() -> str:
    return str(BUNDLED_WSDL)


# -- certificates ----------------------------------------------------------------------------------------------

def make_certificate(directory: Path, name: str, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
                     ) -> tuple[Path, Path] | None:
    """A self-signed certificate (usable as its own CA) and key for ``hosts``; None when no tool can make one."""
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        return _openssl_certificate(cert, key, hosts)
    private = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} test CA")])
    alt_names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt_names.append(x509.DNSName(host))
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(private.public_key()), critical=False)
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return cert, key


def _openssl_certificate(cert: Path, key: Path, hosts: tuple[str, ...]) -> tuple[Path, Path] | None:
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    san = ",".join(f"IP:{h}" if h.replace(".", "").isdigit() else f"DNS:{h}" for h in hosts)
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", "/CN=reliability test CA", "-keyout", str(key),
                    "-out", str(cert), "-addext", f"subjectAltName={san}",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,digitalSignature,keyCertSign,cRLSign"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def drain(chunks: Iterator[bytes]) -> bytes:
    return b"".join(chunks)


# -- a hostile API: the simulator's answers, changed on the way --------------------------------------------------

Answer = tuple[str, list[tuple[str, str]], Iterable[bytes]]
# (operation, the simulator's status and body) -> what the client gets instead; None leaves the answer alone.
Tamper = Callable[[str, str, bytes], "Answer | None"]


def operation_of(environ: dict[str, Any]) -> str:
    """The SOAP operation of a request, from its SOAPAction header."""
    return environ.get("HTTP_SOAPACTION", "").strip('"').rsplit("/", 1)[-1]


class HostileApi:
    """A crafted server in front of the simulator: every request reaches the simulator, and ``tamper`` may replace
    what it answered (set it to None for honest answers)."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.tamper: Tamper | None = None
        self.answers: list[tuple[str, str]] = []  # what the client was sent (status, headers, body), per operation
        self.server = CraftedServer(self._respond)

    def __enter__(self) -> "HostileApi":
        self.server.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.__exit__(*exc)

    @property
    def endpoint(self) -> str:
        return self.server.url + "/webservices/chargepoint/services/5.0"

    def _respond(self, environ: dict[str, Any], body: bytes) -> Answer:
        operation = operation_of(environ)
        forwarded = dict(environ, **{"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
                                     "PATH_INFO": "/webservices/chargepoint/services/5.0"})
        started: dict[str, Any] = {}
        answer = b"".join(self.sim.app(forwarded, lambda status, headers: started.update(status=status,
                                                                                         headers=headers)))
        replaced = self.tamper(operation, started["status"], answer) if self.tamper is not None else None
        status, headers, chunks = replaced or (started["status"], started["headers"], [answer])
        if isinstance(chunks, list):
            sent = b"".join(chunks).decode("utf-8", "replace")
            self.answers.append((operation, "\n".join([status, *(f"{k}: {v}" for k, v in headers), sent])))
        return status, headers, chunks


# -- the password, however it might show -------------------------------------------------------------------------

_BASE64_TOKEN = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}")


def _unbackslashed(text: str) -> str:
    try:
        text = codecs.escape_decode(text.encode("utf-8"))[0].decode("utf-8", "replace")  # type: ignore[attr-defined]
    except ValueError:
        pass
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)


def decodings(text: str) -> dict[str, str]:
    """``text`` and what it reads as once XML escapes (at any depth), URL-encoding, backslash escapes or base64 are
    undone: where a password quoted back in any spelling shows as itself."""
    unescaped = text
    for _ in range(5):
        unescaped = html.unescape(unescaped)
    found = {"as is": text, "XML-unescaped": unescaped, "URL-decoded": urllib.parse.unquote_plus(unescaped),
             "backslash-unescaped": _unbackslashed(unescaped)}
    for token in _BASE64_TOKEN.findall(text):
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                found[f"base64 {token[:12]}"] = decode(token + "=" * (-len(token) % 4)).decode("utf-8", "replace")
            except ValueError:
                continue
    return found


def shows(text: str, password: str) -> list[str]:
    """The decodings of ``text`` (see :func:`decodings`) in which the password appears."""
    return [name for name, decoded in decodings(text).items() if password in decoded]
