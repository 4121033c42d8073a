"""JSON-friendly pictures of the model's true state, for the admin endpoints and tests."""
from __future__ import annotations

from typing import Any, Mapping

from chargepoint_simulator.model.entities import INUSE, PortShed, Station


def station_picture(st: Station, accepted: Mapping[str, PortShed], load: dict[str, Any]) -> dict[str, Any]:
    """One station: ports, present load, the sheds the cloud accepted, alarms and the number of sessions."""
    return {
        "stationID": st.stationID,
        "stationName": st.stationName,
        "stationModel": st.stationModel,
        "sgID": st.sgID,
        "sgName": st.sgName,
        "ports": [
            {
                "portNumber": p.portNumber,
                "Status": p.Status,
                "TimeStamp": p.TimeStamp.isoformat() if p.TimeStamp else None,
                "Power": p.Power,
                "held": p.held,
                "userID": p.userID,
                "credentialID": p.credentialID,
                "demand_kw": p.session.demand_kw if p.session and p.Status == INUSE else 0.0,
            }
            for p in st.ports
        ],
        "load": load,
        "accepted_sheds": {
            n: {"allowed_kw": s.limit.allowed_kw, "percent": s.limit.percent, "expires_at": s.expires_at,
                "event_id": s.event_id}
            for n, s in accepted.items()
        },
        "alarms": [
            {"portNumber": a.portNumber, "alarmType": a.alarmType, "alarmTime": a.alarmTime.isoformat()}
            for a in st.alarms
        ],
        "sessions": len(st.sessions),
    }
