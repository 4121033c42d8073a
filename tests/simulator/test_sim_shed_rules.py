"""The shed rules on their own (no server, no model): each refusal reason gets its documented code."""
from __future__ import annotations

import pytest
from sim_helpers import START

from chargepoint_simulator.model import (
    PortShed,
    ShedConflictError,
    ShedError,
    ShedLimit,
    ShedValueError,
    UnknownPortError,
)
from chargepoint_simulator.model.generation import build_inventory
from chargepoint_simulator.model.sheds import (
    SHED_CONFLICT,
    SHED_MALFORMED,
    SHED_OUT_OF_RANGE,
    StationShedRequest,
    check_shed,
    plan_shed,
    read_shed_request,
)

STATION = build_inventory(seed=1, count=2, start=START).stations["1:10001"]  # two ports
KW = ShedLimit(allowed_kw=3.0)
PERCENT = ShedLimit(percent=20)
PORT1_KW = {"portNumber": "1", "allowedLoadPerPort": "1"}
PORT2_PERCENT = {"portNumber": "2", "percentShedPerPort": "5"}


def _station(interval: str | None = None, **values):
    """A shedLoad query for STATION; ``Ports`` is given as a list of Port entries."""
    block = {"stationID": STATION.stationID, **values}
    if "Ports" in block:
        block["Ports"] = {"Port": block["Ports"]}
    query = {"shedStation": block}
    if interval is not None:
        query["timeInterval"] = interval
    return query


def _apply(query, in_force: ShedLimit | None = None):
    """Read, check and plan a shed on STATION, whose every port has ``in_force`` accepted."""
    request = read_shed_request(query)
    port_limits = request.port_limits if isinstance(request, StationShedRequest) else None
    checked = check_shed(request.limit, port_limits, request.minutes)
    commanded = {p.portNumber: PortShed(in_force) for p in STATION.ports} if in_force else {}
    return plan_shed(checked, STATION, commanded, effective_at=START.timestamp())


# (what is wrong, query, shed already in force, code, phrase of the responseText)
REFUSALS = [
    ("no target", {}, None, 187, "exactly one of shedGroup or shedStation"),
    ("both targets", {"shedGroup": {"sgID": "1"}, **_station(allowedLoadPerStation="1")}, None, 187, "exactly one"),
    ("no stationID", {"shedStation": {"allowedLoadPerStation": "1"}}, None, 187, "needs a stationID"),
    ("sgID not a number", {"shedGroup": {"sgID": "abc", "allowedLoadPerStation": "1"}}, None, 187, "numeric sgID"),
    ("no value", _station(), None, 187, "Give allowedLoadPerStation, percentShedPerStation or Ports"),
    ("group without a value", {"shedGroup": {"sgID": "5"}}, None, 187, "Give allowedLoadPerStation or percentShed"),
    ("port without a value", _station(Ports=[{"portNumber": "1"}]), None, 187, "percentShedPerPort for Port 1"),
    ("port without a number", _station(Ports=[{"allowedLoadPerPort": "1"}]), None, 187, "needs a portNumber"),
    ("kW and percent together", _station(allowedLoadPerStation="3", percentShedPerStation="10"), None, 187, "not both"),
    (
        "kW and percent on one port",
        _station(Ports=[{"portNumber": "2", "allowedLoadPerPort": "1", "percentShedPerPort": "5"}]),
        None,
        187,
        "(percent) for Port 2, not both",
    ),
    (
        "station-wide values with Ports",
        _station(allowedLoadPerStation="3", Ports=[PORT1_KW]),
        None,
        187,
        "not both at once",
    ),
    ("unparsable number", _station(allowedLoadPerStation="lots"), None, 187, "must be a number, not 'lots'"),
    ("unparsable timeInterval", _station("soon", allowedLoadPerStation="1"), None, 187, "whole number of minutes"),
    (
        "kinds mixed across ports",
        _station(Ports=[PORT1_KW, PORT2_PERCENT]),
        None,
        187,
        "not a mix",
    ),
    ("percent above 100", _station(percentShedPerStation="101"), None, 188, "from 0 to 100, not 101"),
    ("percent below 0", _station(percentShedPerStation="-1"), None, 188, "from 0 to 100, not -1"),
    ("percent not whole", _station(percentShedPerStation="12.5"), None, 188, "whole number from 0 to 100, not 12.5"),
    ("negative kW", _station(allowedLoadPerStation="-0.5"), None, 188, "non-negative number of kW, not -0.5"),
    ("infinite kW", _station(allowedLoadPerStation="inf"), None, 188, "non-negative number of kW, not inf"),
    ("kW not a number", _station(allowedLoadPerStation="nan"), None, 188, "non-negative number of kW, not nan"),
    (
        "negative kW on a port",
        _station(Ports=[{"portNumber": "2", "allowedLoadPerPort": "-1"}]),
        None,
        188,
        "allowedLoadPerPort for Port 2 must be a non-negative",
    ),
    ("negative timeInterval", _station("-5", allowedLoadPerStation="1"), None, 188, "timeInterval must be >= 0"),
    ("percent while kW in force", _station(percentShedPerStation="50"), KW, 190, "clear the shed first"),
    (
        "kW on a port while percent in force",
        _station(Ports=[PORT1_KW]),
        PERCENT,
        190,
        "already has a percent shed",
    ),
]


@pytest.mark.parametrize(
    "query, in_force, code, phrase", [case[1:] for case in REFUSALS], ids=[case[0] for case in REFUSALS]
)
def test_each_refusal_has_its_documented_code_and_says_why(query, in_force, code, phrase) -> None:
    with pytest.raises(ShedError) as refused:
        _apply(query, in_force)
    assert refused.value.code == code
    assert phrase in refused.value.text


def test_the_codes_are_the_documented_ones() -> None:
    assert (SHED_MALFORMED, SHED_OUT_OF_RANGE, SHED_CONFLICT) == (187, 188, 190)


def test_value_refusals_and_conflicts_share_one_refusal_type() -> None:
    with pytest.raises(ShedValueError) as malformed:
        check_shed(ShedLimit(), None, 0)
    with pytest.raises(ShedValueError) as out_of_range:
        check_shed(ShedLimit(percent=12.5), None, 0)
    with pytest.raises(ShedConflictError) as conflict:
        _apply(_station(percentShedPerStation="50"), in_force=KW)
    assert (malformed.value.code, out_of_range.value.code, conflict.value.code) == (187, 188, 190)
    for refused in (malformed, out_of_range, conflict):
        assert isinstance(refused.value, ShedError) and isinstance(refused.value, ValueError)


def test_with_several_faults_the_first_in_the_documented_order_decides() -> None:
    with pytest.raises(ShedError) as mixed_and_out_of_range:
        _apply(_station(Ports=[{"portNumber": "1", "allowedLoadPerPort": "-1"}, PORT2_PERCENT]))
    assert mixed_and_out_of_range.value.code == 187, "malformed comes before out of range"
    with pytest.raises(UnknownPortError):  # answered 102 by shedLoad, before the conflict (190)
        _apply(_station(Ports=[{"portNumber": "7", "percentShedPerPort": "5"}]), in_force=KW)


def test_an_accepted_port_shed_keeps_the_other_ports_and_lapses_on_time() -> None:
    command = _apply(_station("10", Ports=[{"portNumber": "2", "allowedLoadPerPort": "1.5"}]), in_force=KW)
    assert {n: shed.limit for n, shed in command.ports.items()} == {"1": KW, "2": ShedLimit(allowed_kw=1.5)}
    assert command.ports["1"].expires_at is None
    assert command.ports["2"].expires_at == START.timestamp() + 600


def test_a_whole_percent_is_read_as_an_integer() -> None:
    limit = read_shed_request(_station(percentShedPerStation="25.0")).limit
    assert limit == ShedLimit(percent=25) and isinstance(limit.percent, int)
