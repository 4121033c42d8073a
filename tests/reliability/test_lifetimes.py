"""What devices leave behind: a removed device's station leaves its account's batches, an account with no device left
is dropped, and a failure nobody foresaw is an error of its points, said once in the log, never a traceback."""

from __future__ import annotations

import gc
import logging
import weakref

import pytest

from cp_reliability import HostileApi, points_reading, xml_reply
from volttron.driver.interfaces.chargepoint import replies
from volttron.driver.interfaces.chargepoint.account import Account

pytestmark = pytest.mark.timeout(60)


def live_accounts() -> list[Account]:
    gc.collect()
    return [obj for obj in gc.get_objects() if isinstance(obj, Account)]


def test_a_removed_device_leaves_its_accounts_batches(sim, make_device) -> None:
    first, second, third = sim.model.station_ids()[:3]
    keep, other = make_device(first, name="cp1"), make_device(second, name="cp2")
    removed = make_device(third, name="cp3")
    account = keep.interface.account
    assert account.stations == sorted([first, second, third])
    del removed  # the platform drops the interface of a device whose config was removed
    gc.collect()
    assert account.stations == sorted([first, second])
    sim.reset_calls()
    assert keep.scrape()[1] == {} and other.scrape()[1] == {}
    asked = [query["stationIDs"]["stationID"] for operation, query in sim.requests if operation == "getStationStatus"]
    assert asked and all(sorted(ids) == sorted([first, second]) for ids in asked), asked


def test_an_account_with_no_device_left_is_dropped(sim, make_device) -> None:
    device = make_device()
    account = weakref.ref(device.interface.account)
    assert device.scrape()[1] == {}
    del device
    gc.collect()
    assert account() is None
    again = make_device()
    assert again.interface.account is not None and again.scrape()[1] == {}


def test_fifty_reconfigurations_leave_one_account_alive(sim, make_device) -> None:
    station = sim.model.station_ids()[0]
    device = make_device(station)
    for round_number in range(50):
        # A changed timeout is another account: the old one must go with the old device.
        device = make_device(station, timeout=1 + round_number / 100)
        assert device.scrape()[1] == {}
    assert len(live_accounts()) == 1


def test_an_unforeseen_failure_is_an_error_of_its_points_said_once(sim, make_device, monkeypatch, caplog,
                                                                   capfd) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug in parsing")

    monkeypatch.setattr(replies, "port_statuses", broken)
    caplog.set_level(logging.DEBUG, logger="volttron.driver.interfaces.chargepoint.account")
    device = make_device()
    status = points_reading(device, ["getStationStatus"])
    for _ in range(3):
        values, errors = device.scrape()
        assert set(errors) == status, errors
        assert all(e == "getStationStatus: failed unexpectedly (ZeroDivisionError('a bug in parsing'))"
                   for e in errors.values())
        assert set(values) == set(device.point_names) - status
    said = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(said) == 1 and "ZeroDivisionError" in said[0].getMessage()
    assert any("Traceback" in r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG)
    assert "Traceback" not in capfd.readouterr().err


def test_a_station_left_out_of_a_batched_answer_is_an_error_of_its_points_on_every_poll(sim, make_device) -> None:
    first, second = sim.model.station_ids()[:2]
    with HostileApi(sim) as api:
        def without_second(operation: str, status: str, body: bytes) -> object:
            if operation != "getStationStatus":
                return None
            start = body.index(f"<stationData><stationID>{second}".encode())
            return xml_reply(body[:start] + body[body.index(b"</stationData>", start) + 14:])

        api.tamper = without_second
        fleet = [make_device(sid, name=f"cp{i}", bundled=True, endpoint=api.endpoint, cacheExpiration=30)
                 for i, sid in enumerate((first, second))]
        status = points_reading(fleet[1], ["getStationStatus"])
        for _ in range(3):  # the first poll asks; the later ones find the answer in the cache
            polls = [device.scrape() for device in fleet]
            assert polls[0][1] == {}
            assert set(polls[1][1]) == status and all(f"station {second} not found" in e
                                                       for e in polls[1][1].values())
