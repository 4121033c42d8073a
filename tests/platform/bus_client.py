"""A message-bus client for the end-to-end tests, run by the platform's own Python as the platform user.

It is not imported by pytest: the harness starts it as
``<platform venv>/bin/python bus_client.py IDENTITY PREFIX [PREFIX ...]`` with VOLTTRON_HOME set, and talks to it
over pipes, one JSON object per line:

- stdout, from the client: ``{"event": "ready"}`` once connected and subscribed;
  ``{"event": "publish", "topic": ..., "headers": ..., "message": ...}`` for every message under PREFIX;
  ``{"id": N, "ok": true, "result": ...}`` or ``{"id": N, "ok": false, "error": {...}}`` answering a request.
- stdin, to the client: ``{"id": N, "op": "rpc", "peer": ..., "method": ..., "args": [...], "kwargs": {...},
  "timeout": S}``. End of input stops the client.

It connects the way ``vctl subscribe`` does: the control connection asks the auth service for credentials for
IDENTITY, then a second agent connects with them (so it never shares an identity with a concurrent ``vctl``).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import gevent
import gevent.event
from gevent.fileobject import FileObjectPosix


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, default=repr) + "\n")
    sys.stdout.flush()


def _error_fields(exc: BaseException) -> dict[str, Any]:
    exc_info = getattr(exc, "exc_info", None)
    return {
        "type": type(exc).__name__,
        "message": str(exc),
        # Set for RemoteError: the exception type and arguments raised inside the called agent.
        "remote_type": exc_info.get("exc_type") if isinstance(exc_info, dict) else None,
        "remote_args": exc_info.get("exc_args") if isinstance(exc_info, dict) else None,
    }


def _connect(identity: str):
    from volttron.client.commands.connection import ControlConnection
    from volttron.client.known_identities import AUTH
    from volttron.client.vip.agent import Agent
    from volttron.types.agent_context import AgentOptions
    from volttron.types.auth import VolttronCredentials
    from volttron.utils import ClientContext, jsonapi

    address = ClientContext.get_address()
    control = ControlConnection(address=address)
    try:
        control.server.vip.rpc.call(AUTH, "create_credentials", identity=identity).get(timeout=20)
    finally:
        control.server.core.stop(timeout=5)
        control.kill()
    path = Path(ClientContext.get_volttron_home()) / "credentials_store" / f"{identity}.json"
    credentials = VolttronCredentials(**jsonapi.load(path.open("r")))
    options = AgentOptions(heartbeat_autostart=False, volttron_home=ClientContext.get_volttron_home(),
                           enable_store=False)
    agent = Agent(credentials=credentials, options=options, address=address)
    started = gevent.event.Event()
    gevent.spawn(agent.core.run, started)
    if not started.wait(timeout=30):
        raise TimeoutError("bus client could not connect to the platform within 30 s")
    return agent


def _serve(agent, stdin) -> None:
    for raw in stdin:
        line = raw.strip()
        if not line:
            continue
        request = json.loads(line)
        gevent.spawn(_answer, agent, request)


def _answer(agent, request: dict[str, Any]) -> None:
    try:
        if request.get("op") != "rpc":
            raise ValueError(f"unknown op {request.get('op')!r}")
        result = agent.vip.rpc.call(request["peer"], request["method"], *request.get("args", []),
                                    **request.get("kwargs", {})).get(timeout=request.get("timeout", 30))
        _emit({"id": request["id"], "ok": True, "result": result})
    except Exception as exc:  # every failure goes back to the caller, which asserts on it
        _emit({"id": request["id"], "ok": False, "error": _error_fields(exc)})


def main(argv: list[str]) -> int:
    identity, prefixes = argv[0], argv[1:]
    agent = _connect(identity)

    def on_message(peer, sender, bus, topic, headers, message):
        _emit({"event": "publish", "topic": topic, "sender": sender, "headers": headers, "message": message})

    for prefix in prefixes:
        agent.vip.pubsub.subscribe("pubsub", prefix=prefix, callback=on_message).get(timeout=20)
    _emit({"event": "ready"})
    try:
        _serve(agent, FileObjectPosix(sys.stdin.fileno(), "r", close=False))
    finally:
        agent.core.stop(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
