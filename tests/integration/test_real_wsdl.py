"""The driver works unchanged with ChargePoint's own published WSDL (when a copy is stored beside the repo)."""

from __future__ import annotations

import pytest

from cp_integration import ROOT

REAL_WSDL = ROOT.parent / "shared" / "reference" / "cp_api_5.0.wsdl"

pytestmark = pytest.mark.skipif(not REAL_WSDL.exists(), reason="the published WSDL is not stored beside the repo")


def test_every_sample_point_and_a_write_work_with_the_published_wsdl(sim, make_device):
    station_id = sim.model.station_ids()[0]
    device = make_device(station_id, wsdl=str(REAL_WSDL), endpoint=sim.endpoint)
    values, errors = device.scrape()
    assert errors == {}
    assert values["stationID"] == station_id
    assert values["StatusPort1"] == sim.model.station(station_id).ports[0].Status
    device.set("allowedLoadPort2", 2.5)
    assert {int(p): s.limit.allowed_kw for p, s in sim.model.shed_state(station_id, effective=False).items()} == {2: 2.5}


def test_a_group_device_and_a_shed_event_work_with_the_published_wsdl(sim, make_device):
    from datetime import timedelta

    from cp_integration import group_rows

    group = max(sim.model.groups, key=lambda g: len(g.station_ids))
    device = make_device(None, rows=group_rows(), stationID=None, sgID=group.sgID, wsdl=str(REAL_WSDL),
                         endpoint=sim.endpoint)
    values, errors = device.scrape()
    assert errors == {} and (values["sgName"], values["numStations"]) == (group.sgName, len(group.station_ids))
    device.set("allowedLoadPerStation", 2.5)
    for station_id in group.station_ids:
        assert {s.limit.allowed_kw for s in sim.model.shed_state(station_id, effective=False).values()} == {2.5}
    device.interface.account.wall_clock = sim.clock.now
    event = device.interface.schedule_shed(sim.clock.now() + timedelta(minutes=5), 60, kw_per_port=2.5)
    assert [e.eventId for e in sim.model.events()] == [event]
    assert "cancelled" in device.interface.cancel_shed(event)
