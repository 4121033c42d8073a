"""The simulator's HTTP side: one WSGI app served by ``gevent.pywsgi`` (SOAP, WSDL and admin JSON).

Routes
------
``GET  /cp_api_5.0.wsdl``
    The project's WSDL with ``soap:address`` rewritten to this server's endpoint
    (also served for ``GET <endpoint>?wsdl``).
``POST /webservices/chargepoint/services/5.0`` (a trailing slash is fine)
    The SOAP 1.1 endpoint. Wrong or missing UsernameToken: HTTP 500 with a
    ``wsse:FailedAuthentication`` fault. Unknown operation or unreadable request: HTTP 500 with a
    ``SOAP-ENV:Client`` fault.

Admin endpoints (JSON in and out, no authentication; for tests and demos):

``GET  /admin/calls``
    ``{"calls": {operation: count}, "total": n, "requests": [[operation, fields], ...]}``. Every SOAP
    request received is counted, including the ones answered with an injected fault.
``POST /admin/calls/reset``
    Zero the counters and empty the request log.
``GET  /admin/faults``
    The fault settings (see ``faults.Faults.to_dict``).
``POST /admin/faults``
    Change some settings: a JSON object with any of ``latency_ms``, ``jitter_ms``, ``http500_rate``,
    ``soap_fault_rate``, ``response_codes`` (``{"getLoad": {"code": 101, "text": "..."}}`` or
    ``{"getLoad": 101}``), ``truncate``, ``malformed``, ``blackhole``, ``empty``, ``operations``
    (a list, or null for all); ``"clear": true`` resets everything first. Answers the new settings.
``GET  /admin/stations``
    ``{"stations": [stationID, ...], "ports": {stationID: [portNumber, ...]}}``.
``GET  /admin/stations/<stationID>``
    The station's true state now (404 when unknown).
``POST /admin/ports``
    Stage port statuses now: ``{"changes": [{"stationID": ..., "port": 1, "status": "INUSE", "load_kw": 6.0},
    ...]}`` (``load_kw`` optional); answers ``{"changed": n}``. Leaving INUSE records the session.
``GET  /admin/events``
    ``{"events": [...]}``: every shed event created (createLoadShedEvent), oldest first, with its
    target, times, value and ``status`` now (scheduled, running, ended, cancelled or removed).
``GET  /admin/clock`` / ``POST /admin/clock/advance``
    The simulated time; advance it with ``{"seconds": n}``.
"""
from __future__ import annotations

import importlib.util
import json
import logging
import re
from collections import Counter, deque
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import unquote

import gevent
from gevent.pool import Pool
from gevent.pywsgi import LoggingLogAdapter, WSGIServer

from chargepoint_simulator.faults import Faults
from chargepoint_simulator.model import Model
from chargepoint_simulator.operations import OPERATIONS, SUCCESS, SUCCESS_TEXT, RequestError
from chargepoint_simulator.schema import RESPONSES, STATUS_HEAD
from chargepoint_simulator.soap import (
    CONTENT_TYPE,
    SoapParseError,
    SoapRequest,
    auth_fault,
    parse_request,
    render_fault,
    render_response,
)

_log = logging.getLogger(__name__)

WSDL_NAME = "cp_api_5.0.wsdl"
WSDL_PATH = "/" + WSDL_NAME
ENDPOINT_PATH = "/webservices/chargepoint/services/5.0"
_DRIVER_PACKAGE = "volttron.driver.interfaces.chargepoint"
_ADDRESS = re.compile(r'(<soap:address\s+location=")[^"]*(")')
_BLACKHOLE_POLL_SECONDS = 0.05
_GARBAGE = b"<<<\x00 this is not the XML you are looking for \xff\xfe ]]>"

StartResponse = Callable[..., Any]
_Reply = tuple[str, str, bytes]
_ERROR = "500 Internal Server Error"


def _fault_reply(faultcode: str, faultstring: str) -> _Reply:
    """An HTTP 500 carrying a SOAP fault."""
    return _ERROR, CONTENT_TYPE, render_fault(faultcode, faultstring)


def default_wsdl_path() -> Path:
    """Where the driver package keeps the project's WSDL (found without importing the driver)."""
    spec = importlib.util.find_spec(_DRIVER_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / WSDL_NAME
            if candidate.is_file():
                return candidate
    fallback = Path(__file__).resolve().parents[1] / "volttron" / "driver" / "interfaces" / "chargepoint" / WSDL_NAME
    if fallback.is_file():
        return fallback
    raise FileNotFoundError(f"cannot find {WSDL_NAME} in the {_DRIVER_PACKAGE} package")


def rewrite_address(wsdl: str, endpoint: str) -> str:
    """The WSDL with its soap:address pointing at ``endpoint``."""
    return _ADDRESS.sub(lambda m: f"{m.group(1)}{endpoint}{m.group(2)}", wsdl, count=1)


class SimulatorApp:
    """The WSGI application: routes, authentication, fault injection and the call log."""

    def __init__(
        self,
        model: Model,
        faults: Faults,
        username: str,
        password: str,
        wsdl: str,
        log_size: int = 1000,
    ) -> None:
        self.model = model
        self.faults = faults
        self.username = username
        self.password = password
        self.wsdl = wsdl
        self.calls: Counter[str] = Counter()
        self.requests: deque[tuple[str, dict[str, Any]]] = deque(maxlen=log_size)

    def reset_calls(self) -> None:
        """Zero the per-operation counters and forget the logged requests."""
        self.calls.clear()
        self.requests.clear()

    # ------------------------------------------------------------------ WSGI entry

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "") or "/"
        if path.rstrip("/") == ENDPOINT_PATH:
            if method == "POST":
                return self._soap(environ, start_response)
            if method == "GET" and environ.get("QUERY_STRING", "").lower().startswith("wsdl"):
                return self._serve_wsdl(environ, start_response)
            return self._plain(start_response, "405 Method Not Allowed", "POST SOAP requests here.\n")
        if path == WSDL_PATH and method == "GET":
            return self._serve_wsdl(environ, start_response)
        if path.startswith("/admin/"):
            return self._admin(method, path, environ, start_response)
        return self._plain(start_response, "404 Not Found", f"Nothing at {path}.\n")

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _plain(start_response: StartResponse, status: str, text: str) -> list[bytes]:
        body = text.encode("utf-8")
        start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
        return [body]

    @staticmethod
    def _xml(start_response: StartResponse, status: str, body: bytes) -> list[bytes]:
        start_response(status, [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))])
        return [body]

    @staticmethod
    def _json(start_response: StartResponse, status: str, payload: Any) -> list[bytes]:
        body = json.dumps(payload, indent=2, sort_keys=True, default=str).encode("utf-8")
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    @staticmethod
    def _base_url(environ: dict[str, Any]) -> str:
        """The scheme and host the client used, so the served WSDL points back the same way."""
        host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '127.0.0.1')}:{environ.get('SERVER_PORT')}"
        return f"{environ.get('wsgi.url_scheme', 'http')}://{host}"

    @staticmethod
    def _read_body(environ: dict[str, Any]) -> bytes:
        stream = environ["wsgi.input"]
        length = environ.get("CONTENT_LENGTH")
        if length:
            return stream.read(int(length))
        return stream.read()

    def _serve_wsdl(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        body = rewrite_address(self.wsdl, self._base_url(environ) + ENDPOINT_PATH).encode("utf-8")
        return self._xml(start_response, "200 OK", body)

    # ------------------------------------------------------------------ SOAP

    def _authorised(self, request: SoapRequest) -> bool:
        """True when the request carries the configured credentials."""
        return request.token is not None and request.token.matches(self.username, self.password)

    def _soap(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        """One SOAP call: count and log it, then fail it on purpose or answer it."""
        try:
            request = parse_request(self._read_body(environ))
        except SoapParseError as exc:
            _log.info("unreadable SOAP request: %s", exc)
            status, content_type, body = _fault_reply("SOAP-ENV:Client", str(exc))
        else:
            self.calls[request.operation] += 1
            self.requests.append((request.operation, request.query))
            _log.debug("%s %s", request.operation, request.query)
            status, content_type, body = self._injected_failure(request.operation) or self._answer(request)
        start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]

    def _injected_failure(self, operation: str) -> _Reply | None:
        """Apply latency and the blackhole, then any fault that replaces the service's answer."""
        faults = self.faults
        delay = faults.delay_seconds(operation)
        if delay:
            gevent.sleep(delay)
        while faults.blackhole and faults.applies(operation):
            gevent.sleep(_BLACKHOLE_POLL_SECONDS)
        if not faults.applies(operation):
            return None
        if faults.roll(faults.http500_rate):
            return _ERROR, "text/plain; charset=utf-8", b"Internal Server Error\n"
        if faults.roll(faults.soap_fault_rate):
            return _fault_reply("SOAP-ENV:Server", "Simulated service failure; try again later.")
        if faults.malformed:
            return "200 OK", CONTENT_TYPE, _GARBAGE
        return None

    def _answer(self, request: SoapRequest) -> _Reply:
        """What the service itself would answer (after the forced-code, empty and truncate faults)."""
        operation = request.operation
        if not self._authorised(request):
            _log.info("%s refused: missing or wrong UsernameToken", operation)
            return _ERROR, CONTENT_TYPE, auth_fault()
        handler = OPERATIONS.get(operation)
        if handler is None:
            return _fault_reply("SOAP-ENV:Client", f"Unknown operation {operation!r}.")
        faults = self.faults
        has_code = RESPONSES[operation][: len(STATUS_HEAD)] == STATUS_HEAD
        forced = faults.forced_code(operation)
        if forced is not None:
            fields: dict[str, Any] = {"responseCode": str(forced[0]), "responseText": forced[1]} if has_code else {}
        else:
            try:
                fields = handler(self.model, request.query)
            except RequestError as exc:
                return _fault_reply("SOAP-ENV:Client", str(exc))
            except Exception:
                _log.exception("%s failed inside the simulator", operation)
                return _fault_reply("SOAP-ENV:Server", f"Simulator error while handling {operation}.")
            if faults.empty and faults.applies(operation):
                fields = {"responseCode": str(SUCCESS), "responseText": SUCCESS_TEXT} if has_code else {}
        body = render_response(operation, fields)
        if faults.truncate and faults.applies(operation):
            body = body[: len(body) // 2]
        return "200 OK", CONTENT_TYPE, body

    # ------------------------------------------------------------------ admin

    def _admin(
        self, method: str, path: str, environ: dict[str, Any], start_response: StartResponse
    ) -> list[bytes]:
        parts = [unquote(p) for p in path.split("/") if p][1:]
        try:
            payload = self._admin_body(method, environ)
            result = self._admin_route(method, parts, payload)
        except LookupError as exc:
            return self._json(start_response, "404 Not Found", {"error": str(exc.args[0] if exc.args else exc)})
        except (ValueError, TypeError) as exc:
            return self._json(start_response, "400 Bad Request", {"error": str(exc)})
        if result is None:
            return self._json(start_response, "404 Not Found", {"error": f"no admin endpoint {method} {path}"})
        return self._json(start_response, "200 OK", result)

    def _admin_body(self, method: str, environ: dict[str, Any]) -> dict[str, Any]:
        """The JSON object posted to an admin endpoint ({} for GET or an empty body)."""
        if method != "POST":
            return {}
        raw = self._read_body(environ)
        if not raw.strip():
            return {}
        payload = json.loads(raw)
        if not isinstance(payload, dict):
            raise ValueError("the admin endpoints take a JSON object")
        return payload

    def _admin_route(self, method: str, parts: list[str], payload: dict[str, Any]) -> Any:
        """The admin answer, or None for an unknown route."""
        if parts == ["calls"] and method == "GET":
            return {
                "calls": dict(self.calls),
                "total": sum(self.calls.values()),
                "requests": [[op, fields] for op, fields in self.requests],
            }
        if parts == ["calls", "reset"] and method == "POST":
            self.reset_calls()
            return {"calls": {}, "total": 0}
        if parts == ["faults"] and method == "GET":
            return self.faults.to_dict()
        if parts == ["faults"] and method == "POST":
            self.faults.update(payload)
            return self.faults.to_dict()
        if parts == ["stations"] and method == "GET":
            return {"stations": self.model.station_ids(),
                    "ports": {st.stationID: [p.portNumber for p in st.ports] for st in self.model.static_stations()}}
        if len(parts) == 2 and parts[0] == "stations" and method == "GET":
            return self.model.snapshot(parts[1])
        if parts == ["ports"] and method == "POST":
            changes = payload.get("changes") or []
            for change in changes:
                self.model.set_port_status(str(change["stationID"]), change["port"], str(change["status"]),
                                           load_kw=change.get("load_kw"))
            return {"changed": len(changes)}
        if parts == ["events"] and method == "GET":
            return {"events": self.model.event_snapshots()}
        if parts == ["clock"] and method == "GET":
            clock = self.model.clock
            return {"now": clock.now().isoformat(), "scale": clock.scale}
        if parts == ["clock", "advance"] and method == "POST":
            now = self.model.clock.advance(float(payload.get("seconds", 0)))
            return {"now": now.isoformat(), "scale": self.model.clock.scale}
        return None


class SimulatorServer:
    """Serves a WSGI app on a gevent WSGIServer in the background (port 0 picks a free port)."""

    def __init__(self, app: SimulatorApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self._server: WSGIServer | None = None

    @property
    def port(self) -> int:
        """The bound port (only once started)."""
        if self._server is None:
            raise RuntimeError("the simulator server is not running")
        return int(self._server.server_port)

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        """Bind and start accepting; returns at once (handlers run in greenlets of a pool)."""
        if self._server is not None:
            return
        server = WSGIServer(
            (self.host, self.requested_port),
            self.app,
            spawn=Pool(),
            log=LoggingLogAdapter(_log, logging.DEBUG),
            error_log=LoggingLogAdapter(_log, logging.ERROR),
        )
        server.start()
        self._server = server
        _log.info("ChargePoint simulator listening on %s:%d", self.host, self.port)

    def stop(self, timeout: float = 0.5) -> None:
        """Stop accepting and close every connection (held blackhole requests are dropped)."""
        server, self._server = self._server, None
        if server is not None:
            server.stop(timeout=timeout)
            _log.info("ChargePoint simulator stopped")
