"""The service description: parsed once per process and location, shared by every client that uses it.

Parsing the WSDL costs tens of milliseconds and, for a URL, a download; each client gets its own suds client
(transport, endpoint) over the one parsed document. The default is the copy bundled with this package, so start-up
never downloads anything. Only the locations used last are kept: one parse holds about 10,000 objects, and a
process that meets many locations (a simulator on a new port each run) would otherwise keep them all, and every
full garbage collection would walk them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import gevent
import suds.cache
import suds.client
import suds.options
from gevent.lock import RLock

from .exceptions import TransportError
from .transport import BoundedTransport

BUNDLED_WSDL = Path(__file__).with_name("cp_api_5.0.wsdl")
PRODUCTION_ENDPOINT = "https://webservices.chargepoint.com/webservices/chargepoint/services/5.0"

KEPT_LOCATIONS = 4  # a platform uses one or two
_prototypes: dict[str, suds.client.Client] = {}  # least recently used first
_prototypes_lock = RLock()  # guards the two dicts, never held during a download
_prototype_locks: dict[str, RLock] = {}  # one per WSDL URL: a download that hangs holds up only its own URL


def wsdl_url(location: str | Path | None) -> str:
    """Accept a URL or a file path; None means the WSDL bundled with this package."""
    if location is None or location == "":
        return BUNDLED_WSDL.resolve().as_uri()
    text = str(location)
    if "://" in text:
        return text
    return Path(text).expanduser().resolve().as_uri()


def prototype(url: str, timeout: float, ca_file: str | None) -> suds.client.Client:
    """The parsed WSDL at ``url``; raises whatever fetching or parsing raised (the client translates it)."""
    with _prototypes_lock:
        client = _prototypes.pop(url, None)
        if client is not None:
            _prototypes[url] = client
            return client
        lock = _prototype_locks.setdefault(url, RLock())
    with lock:
        client = _prototypes.get(url)
        if client is None:
            _quiet_suds_envelope_logging()
            transport = BoundedTransport(None, timeout, ca_file=ca_file)
            # The socket timeout bounds each read; this bounds a server that trickles the document.
            with gevent.Timeout(timeout + 1.0, TransportError(f"cannot load the WSDL from {url}: no complete "
                                                              f"answer within {timeout:g} s")):
                client = suds.client.Client(url, transport=transport, cache=suds.cache.NoCache(), faults=True)
            _keep(url, client)
        return client


def _keep(url: str, client: suds.client.Client) -> None:
    # Clients made from an evicted parse keep it alive as long as they need it.
    with _prototypes_lock:
        _prototypes[url] = client
        while len(_prototypes) > KEPT_LOCATIONS:
            evicted = next(iter(_prototypes))
            del _prototypes[evicted]
            _prototype_locks.pop(evicted, None)


def forget_prototypes() -> None:
    """Drop every parsed WSDL (the benchmark measures parsing)."""
    with _prototypes_lock:
        _prototypes.clear()


def shared_client(url: str, timeout: float, ca_file: str | None, *, transport: BoundedTransport,
                  endpoint: str | None) -> tuple[suds.client.Client, Any]:
    """A suds client that only builds envelopes (``nosend``) over the shared parse, and the WSDL's SOAP port."""
    parsed = prototype(url, timeout, ca_file)
    options: dict[str, Any] = {"transport": transport, "timeout": timeout, "nosend": True}
    if endpoint:
        options["location"] = endpoint
    return _share(parsed, **options), parsed.wsdl.services[0].ports[0]


def _share(parsed: suds.client.Client, **options: Any) -> suds.client.Client:
    # suds' own Client.clone deep-copies the options and recurses forever on Python 3.11, so build the clone the
    # way suds does, minus the copy.
    clone = object.__new__(suds.client.Client)
    clone.options = suds.options.Options()
    clone.set_options(cache=suds.cache.NoCache(), **options)
    clone.wsdl = parsed.wsdl
    clone.factory = parsed.factory
    clone.service = suds.client.ServiceSelector(clone, parsed.wsdl.services)
    clone.sd = parsed.sd
    clone.messages = dict(tx=None, rx=None)
    return clone


def _quiet_suds_envelope_logging() -> None:
    # suds would log every envelope at DEBUG when the root logger is at DEBUG; ours are already logged by the
    # transport. Only raise the level when nobody configured the suds logger explicitly.
    suds_logger = logging.getLogger("suds")
    if suds_logger.level == logging.NOTSET:
        suds_logger.setLevel(logging.INFO)
