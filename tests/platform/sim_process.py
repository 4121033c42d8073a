"""The ChargePoint simulator in its own process, with its true state readable over a pipe.

Run by the platform tests with the project's Python (``python sim_process.py --stations 4 --seed 1 --username U
--password P``). It starts ``chargepoint_simulator.Simulator`` on a free loopback port and prints one JSON line,
``{"event": "ready", "wsdl_url": ..., "endpoint": ...}``. Then it answers JSON requests read from stdin, one per
line, with one JSON line each:

- ``{"op": "station", "id": "1:10001"}``: the station's full true state (every field of the model, the groups it
  belongs to with their rights profile, and ``load``: what getLoad would answer now);
- ``{"op": "calls"}``: SOAP calls per operation since the last reset; ``{"op": "reset_calls"}``;
- ``{"op": "writes"}``: ``[operation, fields]`` of every write request (shedLoad, clearShedState, clearAlarms)
  since the last reset, oldest first;
- ``{"op": "shed", "id": ..., "port": N, "kw": X}`` and ``{"op": "clear_shed", "id": ...}``: change the station
  directly, as the ChargePoint portal or another program would (the usual propagation delay applies);
- ``{"op": "withdraw", "id": ...}`` and ``{"op": "restore", "id": ...}``: take the station off the account and put
  it back.

End of input (the test ending or dying) stops the simulator, so it never outlives the test. The simulator serves
from gevent greenlets, so this process reads its input through gevent.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import date, datetime, time
from typing import Any

from gevent.fileobject import FileObjectPosix

from chargepoint_simulator import Simulator
from chargepoint_simulator.model import ShedLimit

WRITES = {"shedLoad", "clearShedState", "clearAlarms"}


def plain(value: Any) -> Any:
    """A model object as JSON-ready data: dataclass fields (not the private ones), instants in ISO-8601."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not f.name.startswith("_")}
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    return value


def station_truth(sim: Simulator, station_id: str) -> dict[str, Any]:
    model = sim.model
    station = model.station(station_id)
    truth = plain(station)
    truth["numPorts"] = station.numPorts
    truth["sgID"] = station.sgID
    truth["sgName"] = station.sgName
    truth["groups"] = [plain(model.group(sg)) for sg in station.sgIDs]
    truth["load"] = plain(model.load_view(station_id))
    return truth


def answer(sim: Simulator, request: dict[str, Any]) -> Any:
    op, model = request.get("op"), sim.model
    if op == "station":
        return station_truth(sim, request["id"])
    if op == "calls":
        return dict(sim.calls)
    if op == "writes":
        return [[operation, fields] for operation, fields in sim.requests if operation in WRITES]
    if op == "groups":
        return [{"sgID": g.sgID, "sgName": g.sgName, "stations": list(g.station_ids)} for g in model.groups]
    if op == "events":
        return plain(model.event_snapshots())
    actions = {
        "reset_calls": sim.reset_calls,
        "shed": lambda: model.shed(request["id"],
                                   port_limits={str(request["port"]): ShedLimit(allowed_kw=float(request["kw"]))}),
        "clear_shed": lambda: model.clear_shed(request["id"]),
        "withdraw": lambda: model.withdraw_station(request["id"]),
        "restore": lambda: model.restore_station(request["id"]),
    }
    if op not in actions:
        raise ValueError(f"unknown op {op!r}")
    actions[op]()
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args(argv)
    sim = Simulator(stations=args.stations, seed=args.seed, username=args.username, password=args.password,
                    port=0).start()
    try:
        print(json.dumps({"event": "ready", "wsdl_url": sim.wsdl_url, "endpoint": sim.endpoint}), flush=True)
        # The simulator serves from gevent greenlets in this process: read stdin cooperatively so they keep running.
        for line in FileObjectPosix(sys.stdin.fileno(), "r", close=False):
            if not line.strip():
                continue
            request = json.loads(line)
            try:
                reply = {"id": request.get("id"), "ok": True, "result": answer(sim, request)}
            except Exception as exc:  # the test asserts on it
                reply = {"id": request.get("id"), "ok": False, "error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(reply, default=str), flush=True)
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
