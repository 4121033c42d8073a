"""Paging over a large organisation: getStations and getStationStatus at 500 per page, 1-based startRecord."""
from __future__ import annotations

import time

import pytest
from sim_helpers import PASSWORD, USERNAME, frozen_clock, make_suds_client

from chargepoint_simulator import Simulator

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def big():
    began = time.monotonic()
    sim = Simulator(stations=1200, seed=9, username=USERNAME, password=PASSWORD, clock=frozen_clock()).start()
    assert time.monotonic() - began < 2
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture(scope="module")
def big_service(big):
    return make_suds_client(big.wsdl_url, timeout=30).service


def _walk(call, query: dict) -> list[tuple[int, int]]:
    """(page length, moreFlag) of every page, following moreFlag from startRecord 1."""
    pages, start = [], 1
    while True:
        reply = call({**query, "startRecord": start})
        assert reply.responseCode == "100"
        pages.append(reply)
        if not reply.moreFlag:
            return pages
        start += len(reply.stationData)
        assert len(pages) < 20


def test_get_stations_pages_of_500(big, big_service) -> None:
    pages = _walk(big_service.getStations, {})
    assert [(len(p.stationData), p.moreFlag) for p in pages] == [(500, 1), (500, 1), (200, 0)]
    ids = [s.stationID for p in pages for s in p.stationData]
    assert ids == big.model.station_ids()


def test_page_size_is_capped_and_adjustable(big_service) -> None:
    assert len(big_service.getStations({"numStations": 2000}).stationData) == 500
    reply = big_service.getStations({"numStations": 100, "startRecord": 1101})
    assert (len(reply.stationData), reply.moreFlag, reply.stationData[0].stationID) == (100, 0, "1:11101")
    assert big_service.getStations({"startRecord": 1201}).responseCode == "102"


def test_get_station_status_pages(big, big_service) -> None:
    pages = _walk(big_service.getStationStatus, {"numStations": 400})
    assert [(len(p.stationData), p.moreFlag) for p in pages] == [(400, 1), (400, 1), (400, 0)]
    batch = big.model.station_ids()[100:150]
    reply = big_service.getStationStatus({"stationIDs": {"stationID": batch}})
    assert [s.stationID for s in reply.stationData] == batch
