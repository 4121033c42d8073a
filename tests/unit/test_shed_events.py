"""Scheduled shed events: every value checked before any call, and the platform driver's ``call`` convention.

The platform (volttron-lib-base-driver 2.x, ``DriverAgent.call``) invokes an interface method as
``getattr(interface, name)(interface, topics=topics, *args, **kwargs)`` and merges the ``(results, errors)`` it
returns, keyed by topic. These tests drive ``schedule_shed``/``cancel_shed`` through that very function, with a
recording client in place of the API, and directly as the CLI does.
"""
from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from cp_unit_helpers import REPO_ROOT, SAMPLE_CSV
from volttron.driver.interfaces.chargepoint.account import forget_accounts
from volttron.driver.interfaces.chargepoint.exceptions import ApiError, WriteRejected
from volttron.driver.interfaces.chargepoint.shed_events import EventRequest, checked_event_id, event_request

NOW = datetime(2026, 6, 1, 20, 0, tzinfo=timezone.utc)  # 1 pm in California (UTC-7)
FOUR_PM = "2026-06-01T16:00:00-07:00"
FOUR_PM_UTC = datetime(2026, 6, 1, 23, 0, tzinfo=timezone.utc)


# --- the request, checked before any call ----------------------------------------------------------------------

@pytest.mark.parametrize(("arguments", "expected"), [
    ((FOUR_PM, 180, 3.3), EventRequest(FOUR_PM_UTC, 180, kw_per_port=3.3)),
    (("2026-06-01T23:00:00Z", "180", None, "40"), EventRequest(FOUR_PM_UTC, 180, percent=40.0)),
    ((FOUR_PM_UTC, 180.0, 0, None, True), EventRequest(FOUR_PM_UTC, 180, kw_per_port=0.0, allow_opt_out=True)),
    ((NOW, 1, None, 100), EventRequest(NOW, 1, percent=100.0)),  # starting now is not in the past
], ids=["kW, offset", "percent, Z, text", "datetime, 0 kW, opt-out", "now"])
def test_a_good_request(arguments, expected):
    request = event_request(*arguments, now=NOW)
    assert request == expected and request.start == expected.start


@pytest.mark.parametrize(("arguments", "says"), [
    (("2026-06-01T16:00:00", 180, 3.3), "has no UTC offset, and a time is never guessed"),
    ((datetime(2026, 6, 1, 16), 180, 3.3), "has no UTC offset"),
    (("4 pm", 180, 3.3), "not an ISO-8601 time"),
    ((None, 180, 3.3), "ISO-8601 time with a UTC offset"),
    (("2026-06-01T12:59:59-07:00", 180, 3.3), "in the past"),
    ((FOUR_PM, 0, 3.3), "positive whole number of minutes"),
    ((FOUR_PM, -5, 3.3), "positive whole number of minutes"),
    ((FOUR_PM, 1.5, 3.3), "positive whole number of minutes"),
    ((FOUR_PM, "three hours", 3.3), "positive whole number of minutes"),
    ((FOUR_PM, True, 3.3), "positive whole number of minutes"),
    ((FOUR_PM, 2**31, 3.3), "positive whole number of minutes"),
    ((FOUR_PM, 180), "exactly one of kw_per_port (kW per port) and percent"),
    ((FOUR_PM, 180, "", "None"), "exactly one of kw_per_port"),
    ((FOUR_PM, 180, 3.3, 40), "not both"),
    ((FOUR_PM, 180, -1), "kW >= 0"),
    ((FOUR_PM, 180, 3.14159), "three decimals"),
    ((FOUR_PM, 180, 0.0004), "resolution"),
    ((FOUR_PM, 180, None, 0), "1 to 100"),
    ((FOUR_PM, 180, None, 12.5), "1 to 100"),
    ((FOUR_PM, 180, None, 150), "1 to 100"),
    ((FOUR_PM, 180, 3.3, None, "yes"), "allow_opt_out"),
], ids=lambda value: None)
def test_a_bad_request_is_refused_saying_why(arguments, says):
    with pytest.raises(WriteRejected) as refused:
        event_request(*arguments, now=NOW)
    assert says in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("value", [0, -1, 1.5, "abc", "", None, True, 2**31])
def test_an_event_id_must_be_a_positive_whole_number(value):
    with pytest.raises(WriteRejected, match="event_id.*positive whole number"):
        checked_event_id(value)


@pytest.mark.parametrize(("value", "expected"), [(7, 7), ("48213", 48213), (12.0, 12)])
def test_event_ids(value, expected):
    assert checked_event_id(value) == expected


# --- through the platform driver's call -------------------------------------------------------------------------

class RecordingClient:
    """Stands in for the API client: records the event calls and answers like the API."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, settings: Any) -> "RecordingClient":  # used as the client factory
        return self

    def create_load_shed_event(self, **arguments: Any) -> int:
        self.calls.append(("createLoadShedEvent", arguments))
        return 48213

    def remove_load_shed_event(self, event_id: int) -> str:
        self.calls.append(("removeLoadShedEvent", {"event_id": event_id}))
        if event_id != 48213:
            raise ApiError(191, f"No load shed event found with eventId {event_id}.",
                           operation="removeLoadShedEvent")
        return "Load shed event 48213 was cancelled."


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> RecordingClient:
    from volttron.driver.interfaces.chargepoint.chargepoint import ChargePoint

    recording = RecordingClient()
    monkeypatch.setattr(ChargePoint, "client_factory", recording)
    forget_accounts()
    yield recording
    forget_accounts()


def device(target: dict[str, Any]) -> Any:
    from volttron.driver.interfaces.chargepoint.standalone import build_device

    registry = REPO_ROOT / "chargepoint-group.csv" if "sgID" in target else SAMPLE_CSV
    with registry.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    raw = {"driver_config": {"username": "LICENSEKEY", "password": "pw", **target}, "driver_type": "chargepoint"}
    built = build_device(raw, rows, "devices/campus/garage")
    built.interface.account.wall_clock = lambda: NOW
    return built


def platform_call(interface: Any, method: str, topics: list[str], *args: Any, **kwargs: Any) -> tuple[dict, dict]:
    """The platform's own DriverAgent.call, on a driver agent holding this interface."""
    from volttron.driver.base.driver import DriverAgent

    return DriverAgent.call(SimpleNamespace(interface=interface), method, topics, *args, **kwargs)


TOPICS = ["devices/campus/garage/sgLoad", "devices/campus/garage/shedState"]
GROUP, STATION = {"sgID": 39491}, {"stationID": "1:10001"}


def test_the_interface_declares_the_two_methods_in_its_own_set():
    from volttron.driver.base.interfaces import BaseInterface
    from volttron.driver.interfaces.chargepoint.chargepoint import ChargePoint

    assert ChargePoint.interface_callable_methods == {"schedule_shed", "cancel_shed"}
    assert "schedule_shed" not in BaseInterface.interface_callable_methods  # the shared base set is untouched


@pytest.mark.parametrize(("target", "sent"), [(GROUP, {"sg_id": 39491}), (STATION, {"station_id": "1:10001"})],
                         ids=["group", "station"])
def test_schedule_shed_through_call_returns_the_event_id_for_every_topic(client, target, sent):
    results, errors = platform_call(device(target).interface, "schedule_shed", TOPICS, start=FOUR_PM, minutes=180,
                                    kw_per_port=3.3)
    assert (results, errors) == ({topic: 48213 for topic in TOPICS}, {})
    assert client.calls == [("createLoadShedEvent", {
        **sent, "start": FOUR_PM_UTC, "minutes": 180, "allowed_kw_per_port": 3.3, "percent_per_station": None,
        "allow_opt_out": False})]


def test_positional_arguments_come_after_the_interface(client):
    results, errors = platform_call(device(GROUP).interface, "schedule_shed", TOPICS[:1], FOUR_PM, 180, None, 40,
                                    True)
    assert (results, errors) == ({TOPICS[0]: 48213}, {})
    assert client.calls[0][1]["percent_per_station"] == 40.0 and client.calls[0][1]["allow_opt_out"] is True


@pytest.mark.parametrize(("arguments", "says"), [
    ({"start": "2026-06-01T16:00:00", "minutes": 180, "percent": 40}, "no UTC offset"),
    ({"start": "2026-06-01T12:00:00-07:00", "minutes": 180, "percent": 40}, "in the past"),
    ({"start": FOUR_PM, "percent": 40}, "missing a required argument: 'minutes'"),
    ({"start": FOUR_PM, "minutes": 180, "kw": 3}, "unexpected keyword argument 'kw'"),
], ids=["no offset", "past", "missing", "unknown"])
def test_a_refusal_through_call_is_every_topics_error_and_nothing_is_sent(client, arguments, says):
    results, errors = platform_call(device(GROUP).interface, "schedule_shed", TOPICS, **arguments)
    assert results == {} and set(errors) == set(TOPICS)
    assert all(says in message and "\n" not in message for message in errors.values()), errors
    assert client.calls == []


def test_cancel_shed_through_call(client):
    interface = device(GROUP).interface
    assert platform_call(interface, "cancel_shed", TOPICS[:1], 48213) == (
        {TOPICS[0]: "Load shed event 48213 was cancelled."}, {})
    results, errors = platform_call(interface, "cancel_shed", TOPICS[:1], event_id=99)
    assert results == {} and "response code 191: No load shed event found with eventId 99" in errors[TOPICS[0]]
    assert platform_call(interface, "cancel_shed", TOPICS[:1], "abc")[1][TOPICS[0]].startswith("event_id: 'abc'")
    assert [call[1]["event_id"] for call in client.calls] == [48213, 99]  # nothing sent for "abc"


def test_a_direct_call_returns_the_value_and_raises(client):
    interface = device(STATION).interface
    assert interface.schedule_shed(FOUR_PM, 180, percent=40) == 48213
    assert interface.cancel_shed("48213") == "Load shed event 48213 was cancelled."
    with pytest.raises(WriteRejected, match="in the past"):
        interface.schedule_shed(NOW - timedelta(seconds=1), 180, percent=40)
    with pytest.raises(ApiError, match="191"):
        interface.cancel_shed(5)
    assert [name for name, _ in client.calls] == ["createLoadShedEvent", "removeLoadShedEvent",
                                                  "removeLoadShedEvent"]
