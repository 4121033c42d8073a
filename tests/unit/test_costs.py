"""The cost model: bulk is chosen only with fewer calls and no more time than asking station by station."""

from __future__ import annotations

import pytest

from volttron.driver.interfaces.chargepoint.costs import LARGE_ANSWER, CostModel
from volttron.driver.interfaces.chargepoint.models import Source

SMALL, RECORD = 2000, 1000  # bytes of a one-record answer, and of each record of a large one

# case: (source, stations asked about, bulk calls, records they carry, parallel, call s, record s) -> bulk?
CHOICES = {
    "one status list for 100 stations": (Source.STATUS, 100, 1, 100, False, 0.02, 0.0001, True),
    "as many bulk calls as stations": (Source.ALARMS, 3, 3, 3, False, 0.02, 0.0001, False),
    "two pages of 500 for 10 stations, heavy records": (Source.STATIONS, 10, 2, 1000, False, 0.02, 0.0003, False),
    "two pages of 500 for 100 stations": (Source.STATIONS, 100, 2, 1000, False, 0.02, 0.0002, True),
    # Near a tie (a fifth longer, by estimates that vary that much between cycles), 2 calls beat 100.
    "two pages of 500 for 100 stations, a fifth slower": (Source.STATIONS, 100, 2, 1000, False, 0.02, 0.00028, True),
    "two pages of 500 for 100 stations, a third slower": (Source.STATIONS, 100, 2, 1000, False, 0.02, 0.00031, False),
    # Three group calls in parallel take as long as one group's share, not the three added up.
    "three groups in parallel for 100 stations": (Source.LOAD, 100, 3, 1000, True, 0.015, 0.0005, True),
    "three groups one after another": (Source.LOAD, 100, 3, 1000, False, 0.015, 0.0005, False),
}


@pytest.mark.parametrize("source, stations, calls, records, parallel, call_s, record_s, bulk", CHOICES.values(),
                         ids=list(CHOICES))
def test_prefer_bulk(source, stations, calls, records, parallel, call_s, record_s, bulk):
    model = CostModel(concurrency=8)
    for _ in range(50):  # learned until the priors no longer matter
        model.answered(source.value, call_s, 1, SMALL)
        model.answered(source.value, call_s + 100 * record_s, 100, 100 * RECORD)
    assert model.prefer_bulk(source, stations, calls, records, parallel=parallel) is bulk


def test_answers_teach_the_cost_of_a_call_and_of_a_record():
    model = CostModel(concurrency=8)
    for _ in range(50):
        model.answered("getAlarms", 0.05, 1, SMALL)
        model.answered("getAlarms", 0.05 + 200 * 0.001, 200, 200 * RECORD)
    assert model.per_station_time(Source.ALARMS, 8) == pytest.approx(0.05 + 0.5 * 0.001, rel=0.05)
    assert model.bulk_time(Source.ALARMS, 1, 1000) == pytest.approx(0.05 + 1.0, rel=0.05)


def test_organisation_answers_teach_how_many_records_a_station_has():
    model = CostModel()
    for _ in range(50):
        model.learn_density(Source.RIGHTS, 3000, 1000)
    assert model.records(Source.RIGHTS, 100) == pytest.approx(300, rel=0.01)


def test_bulk_once_chosen_stays_until_clearly_slower():
    # Two pages of 500 for 100 stations; the per-record cost estimate wanders with each cycle's timings.
    model = CostModel(concurrency=8)

    def learn(record_s: float) -> None:
        for _ in range(50):
            model.answered("getStations", 0.02, 1, SMALL)
            model.answered("getStations", 0.02 + 100 * record_s, 100, 100 * RECORD)

    learn(0.0002)
    assert model.prefer_bulk(Source.STATIONS, 100, 2, 1000)
    learn(0.00031)  # a third slower than per station: not chosen afresh, but kept
    assert model.prefer_bulk(Source.STATIONS, 100, 2, 1000)
    learn(0.0005)  # twice as slow: per station from now on
    assert not model.prefer_bulk(Source.STATIONS, 100, 2, 1000)
    learn(0.00031)  # and bulk only comes back when it wins by the first rule
    assert not model.prefer_bulk(Source.STATIONS, 100, 2, 1000)


def test_a_read_no_longer_than_the_one_beside_it_costs_the_cycle_nothing():
    # Three pages of sessions against 8 stations asked at once: slower on its own, but no longer than the status
    # read the same cycle makes anyway.
    model = CostModel(concurrency=8)
    assert not model.prefer_bulk(Source.SESSIONS, 8, 3, 250)
    assert model.prefer_bulk(Source.SESSIONS, 8, 3, 250, within=model.bulk_time(Source.SESSIONS, 3, 250))
    assert not model.prefer_bulk(Source.SESSIONS, 3, 3, 250, within=10.0)  # never more calls


def test_the_cost_of_a_call_is_the_accounts_whichever_method_made_it():
    # Small session calls made while a thousand devices polled waited for the hub: so does a status call made then.
    model = CostModel(concurrency=8)
    for _ in range(50):
        model.answered("getChargingSessionData", 0.25, 1, SMALL)
    assert model.per_station_time(Source.STATUS, 8) == pytest.approx(0.25, rel=0.01)
    assert model.bulk_time(Source.STATUS, 2, 1000) == pytest.approx(0.5, rel=0.15)


def test_a_byte_costs_the_same_whichever_method_carried_it():
    # Status pages of 500 stations at 300 bytes each teach what a byte costs; a session record's cost follows from
    # its size, counted from the session answers (not from how long they took).
    model = CostModel(concurrency=8)
    for _ in range(50):
        model.answered("getStationStatus", 0.02, 1, SMALL)
        model.answered("getStationStatus", 0.02 + 150_000 * 1e-7, 500, 150_000)
        model.answered("getChargingSessionData", 0.02, 1, SMALL)
        model.answered("getChargingSessionData", 0.02 + 30 * 700 * 1e-7, 30, 30 * 700)  # too small to time
    assert model.bulk_time(Source.SESSIONS, 1, 100) == pytest.approx(0.02 + 100 * 700 * 1e-7, rel=0.01)


def test_timings_slowed_by_a_busy_process_move_the_estimates_up_gradually():
    # One cycle of a thousand devices makes every call wait for the hub; a quiet cycle shows what a call costs.
    model = CostModel(concurrency=8)
    for _ in range(20):
        model.answered("getStationStatus", 0.02, 1, SMALL)
    for _ in range(3):
        model.answered("getStationStatus", 0.5, 1, SMALL)
    assert model.per_station_time(Source.STATUS, 8) < 0.2
    model.answered("getStationStatus", 0.02, 1, SMALL)
    assert model.per_station_time(Source.STATUS, 8) < 0.1
    for _ in range(60):  # an API that really became slower is followed
        model.answered("getStationStatus", 0.5, 1, SMALL)
    assert model.per_station_time(Source.STATUS, 8) == pytest.approx(0.5, rel=0.01)


def test_a_session_read_beside_a_status_read_of_as_many_pages_is_read_in_bulk_under_load():
    # Two pages of recent sessions against 8 stations at once, beside the status read of 1000 stations (two lists
    # of 500, read at the start of the cycle, before the hub was busy); the session answers were read while a
    # thousand devices polled. Learned per method, the session calls looked dearer than the status read's.
    model = CostModel(concurrency=8)
    for _ in range(50):
        model.answered("getStationStatus", 0.1, 500, 150_000)
        model.answered("getChargingSessionData", 0.25, 1, SMALL)
        model.answered("getChargingSessionData", 0.6, 60, max(LARGE_ANSWER, 60 * 700))
    beside = model.bulk_time(Source.STATUS, 2, 1000)
    assert model.prefer_bulk(Source.SESSIONS, 8, 2, 116, within=beside)
