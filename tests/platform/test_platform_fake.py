"""The harness itself, proved with the reference fake driver: configured from the store, polled, written, reverted."""
from __future__ import annotations

import pytest

from platform_harness import BusClient, Platform

pytestmark = [pytest.mark.platform, pytest.mark.timeout(480)]

DEVICE = "e2e/fake/dev1"
MULTI = f"devices/{DEVICE}/multi"
REGISTRY = """Volttron Point Name,Units,Units Details,Writable,Starting Value,Type,Notes
Temperature,F,,TRUE,50,float,writable temperature
Label,,,FALSE,hello,string,read-only label
"""


@pytest.fixture(scope="module")
def fake_device(platform: Platform) -> BusClient:
    client = platform.bus_client("e2e.fake.listener", "devices/e2e/fake")
    platform.store_config("platform.driver", "fake-e2e.csv", REGISTRY, kind="csv")
    platform.store_config("platform.driver", f"devices/{DEVICE}", {
        "driver_config": {"remote_id": "fake-e2e"}, "driver_type": "fake",
        "registry_config": "config://fake-e2e.csv", "interval": 1, "timezone": "UTC"})
    return client


def test_device_from_the_store_publishes_its_starting_values(fake_device: BusClient) -> None:
    values, meta = fake_device.wait_publish(MULTI, timeout=60)["message"]
    assert values == {"Temperature": 50.0, "Label": "hello"}
    assert meta["Temperature"]["units"] == "F"


def test_set_point_then_revert_point(fake_device: BusClient) -> None:
    answer = fake_device.rpc("platform.driver", "set_point", DEVICE, "Temperature", 77.5)
    assert answer == {"id": answer["id"], "ok": True, "result": 77.5}
    mark = fake_device.mark()
    fake_device.wait_publish(MULTI, 30, since=mark, where=lambda p: p["message"][0]["Temperature"] == 77.5)

    assert fake_device.rpc("platform.driver", "revert_point", DEVICE, "Temperature")["ok"]
    mark = fake_device.mark()
    fake_device.wait_publish(MULTI, 30, since=mark, where=lambda p: p["message"][0]["Temperature"] == 50.0)


def test_refused_write_returns_an_error_to_the_caller(fake_device: BusClient) -> None:
    answer = fake_device.rpc("platform.driver", "set_point", DEVICE, "Label", "changed")
    assert not answer["ok"]
    assert answer["error"]["remote_type"].endswith("RuntimeError")
    assert "read only" in answer["error"]["message"]
