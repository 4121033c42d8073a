"""The simulator as one object: clock, model, faults and the HTTP server, started and stopped together."""
from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Any

from chargepoint_simulator.clock import SimClock
from chargepoint_simulator.faults import Faults
from chargepoint_simulator.model import Model
from chargepoint_simulator.server import ENDPOINT_PATH, WSDL_PATH, SimulatorApp, SimulatorServer, default_wsdl_path

_log = logging.getLogger(__name__)

DEFAULT_USERNAME = "cp-user"
DEFAULT_PASSWORD = "cp-secret-password"


class Simulator:
    """A ChargePoint Web Services 5.0 endpoint on 127.0.0.1 backed by a seeded, living model.

    ``clock`` defaults to a ``SimClock`` starting now and running at ``time_scale``. Everything
    stateful is reachable for tests: ``model`` (true state), ``faults`` (mutable settings),
    ``calls`` / ``requests`` (what arrived).
    """

    def __init__(
        self,
        stations: int = 4,
        seed: int = 1,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        host: str = "127.0.0.1",
        port: int = 0,
        propagation_delay: float = 2.0,
        clock: SimClock | None = None,
        time_scale: float = 1.0,
        faults: Faults | None = None,
        wsdl_path: str | Path | None = None,
        request_log_size: int = 1000,
    ) -> None:
        self.clock = clock if clock is not None else SimClock(scale=time_scale)
        self.model = Model(stations=stations, seed=seed, clock=self.clock, propagation_delay=propagation_delay)
        self.faults = faults if faults is not None else Faults(seed=seed)
        wsdl = Path(wsdl_path) if wsdl_path is not None else default_wsdl_path()
        self.app = SimulatorApp(
            self.model,
            self.faults,
            username=username,
            password=password,
            wsdl=wsdl.read_text(encoding="utf-8"),
            log_size=request_log_size,
        )
        self.username = username
        self._server = SimulatorServer(self.app, host=host, port=port)

    # ------------------------------------------------------------------ life cycle

    def start(self) -> "Simulator":
        """Bind and serve in the background (a gevent server); returns self."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving; safe to call twice. Requests held by a blackhole are dropped."""
        self._server.stop()

    @property
    def running(self) -> bool:
        """True between start and stop."""
        return self._server.running

    def __enter__(self) -> "Simulator":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ addresses

    @property
    def host(self) -> str:
        return self._server.host

    @property
    def port(self) -> int:
        """The bound TCP port (after start)."""
        return self._server.port

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        host = self._server.host
        if host in ("", "0.0.0.0", "::"):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def wsdl_url(self) -> str:
        """Where the WSDL (pointing back at this server) is served."""
        return self.url + WSDL_PATH

    @property
    def endpoint(self) -> str:
        """The SOAP endpoint."""
        return self.url + ENDPOINT_PATH

    # ------------------------------------------------------------------ what arrived

    @property
    def calls(self) -> Counter[str]:
        """SOAP requests received per operation (faulted ones included); the live Counter."""
        return self.app.calls

    @property
    def requests(self) -> list[tuple[str, dict[str, Any]]]:
        """(operation, query fields) of the latest requests, most recent last (a copy)."""
        return list(self.app.requests)

    def reset_calls(self) -> None:
        """Zero ``calls`` and empty ``requests``."""
        self.app.reset_calls()

    def __repr__(self) -> str:
        where = self.url if self.running else "not running"
        return f"Simulator({len(self.model.station_ids())} stations, {where})"
