"""A device whose station is not on the account: per-point errors at every poll, never an exception out of the
poll, and its own recovery once the station appears; the other devices of the account are untouched.

With the sample's cacheExpiration (30 s) several polls fall within one cache period, so the account's cached
"station not in the answer" is what most polls of the missing station see.
"""

from __future__ import annotations

import gevent
import pytest

from cp_reliability import FakeClock, use_clock

pytestmark = pytest.mark.timeout(60)

SAMPLE_CACHE = 30  # s, the sample chargepoint.config's cacheExpiration
SAMPLE_STATIC = 3600  # s, staticExpiration's default
POLL_INTERVAL = 5  # s of fake time between polls: six polls per cache period


@pytest.fixture
def garage(sim, make_device):
    """Two devices on one account, the second one's station withdrawn from the account before configuring."""
    healthy_id, gone_id = sim.model.station_ids()[0], sim.model.station_ids()[3]
    sim.model.withdraw_station(gone_id)
    # The sample's settings: live data cached 30 s, inventory, rights and sessions an hour.
    healthy = make_device(healthy_id, name="cp1", cacheExpiration=SAMPLE_CACHE, staticExpiration=SAMPLE_STATIC)
    gone = make_device(gone_id, name="cpgone", cacheExpiration=SAMPLE_CACHE, staticExpiration=SAMPLE_STATIC)
    clock = FakeClock()
    use_clock(healthy.interface.account, clock)
    assert gone.interface.account is healthy.interface.account  # one account: batched answers lack the station
    return healthy, gone, gone_id, clock


def test_every_poll_within_the_cache_period_gives_per_point_errors(garage) -> None:
    healthy, gone, gone_id, clock = garage
    baseline, _ = healthy.scrape()
    for poll in range(SAMPLE_CACHE // POLL_INTERVAL):
        values, errors = gone.scrape()  # raises nothing
        # The station's own data fails point by point, naming it; organisation-wide answers (alarms, sessions)
        # simply hold nothing for it.
        assert errors and all("102" in message and gone_id in message for message in errors.values()), (poll, errors)
        assert values and all(value is None for value in values.values())
        assert set(values) | set(errors) == set(gone.point_names)
        healthy_values, healthy_errors = healthy.scrape()
        assert healthy_errors == {} and healthy_values == baseline, f"poll {poll}: the healthy device changed"
        clock.advance(POLL_INTERVAL)


def test_the_device_recovers_by_itself_when_the_station_appears(garage, sim) -> None:
    healthy, gone, gone_id, clock = garage
    assert gone.scrape()[1]
    clock.advance(POLL_INTERVAL)
    sim.model.restore_station(gone_id)
    assert gone.scrape()[1], "served from the cache until it expires"  # the cached answer still lacks it
    clock.advance(SAMPLE_CACHE)
    values, errors = gone.scrape()
    assert errors == {}
    assert values["stationID"] == gone_id  # the inventory is looked for again at the live pace, not hourly
    assert healthy.scrape()[1] == {}
    # Its sessions, found empty while it was away, are read again now that it is back (at the next poll).
    clock.advance(POLL_INTERVAL)
    values, errors = gone.scrape()
    latest = max((s for s in sim.model.sessions(gone_id) if s.portNumber == "1"), key=lambda s: s.endTime)
    assert errors == {} and values["sessionIDPort1"] == str(latest.sessionID)


def test_polled_at_the_same_moment_the_missing_station_leaves_the_others_reads_alone(garage) -> None:
    # The two devices' polls share the account's calls: the missing station's load read (which asks for it by
    # name, as no group holds it) must not fail the healthy device's.
    healthy, gone, gone_id, clock = garage
    assert healthy.scrape()[1] == {}
    for cycle in range(3):
        clock.advance(SAMPLE_CACHE + 1)  # every cached answer expired
        polls = [gevent.spawn(gone.scrape), gevent.spawn(healthy.scrape)]  # the missing one asks first
        gevent.joinall(polls, raise_error=True)
        (_, gone_errors), (_, healthy_errors) = (poll.value for poll in polls)
        assert healthy_errors == {}, f"cycle {cycle}: {healthy_errors}"
        assert gone_errors and all(gone_id in message for message in gone_errors.values())
