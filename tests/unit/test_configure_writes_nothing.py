"""Lesson 4 of the old driver: configuring a device wrote Starting Values to the live station (the sample's
shedState row cleared every load shed at each restart). Configuring must make no API call at all; Starting Values
only become revert defaults."""
from __future__ import annotations

import pytest

from cp_unit_helpers import SAMPLE_CSV
from volttron.driver.interfaces.chargepoint.account import forget_accounts
from volttron.driver.interfaces.chargepoint.registry import read_registry_csv


class RecordingClient:
    """Stands in for the API client: records being made and every method called on it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, settings):  # used as the client factory
        self.calls.append("client made")
        return self

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)

        def call(*args, **kwargs):
            self.calls.append(name)
        return call


@pytest.fixture
def interface(monkeypatch):
    from volttron.driver.base.config import RemoteConfig
    from volttron.driver.interfaces.chargepoint.chargepoint import ChargePoint

    client = RecordingClient()
    monkeypatch.setattr(ChargePoint, "default_config", {})
    monkeypatch.setattr(ChargePoint, "client_factory", client)
    forget_accounts()
    config = RemoteConfig(driver_type="chargepoint", stationID="1:10001", username="LICENSEKEY", password="pw")
    yield ChargePoint(config, None), client
    forget_accounts()


def test_configuring_the_sample_registry_calls_no_api(interface):
    from volttron.driver.interfaces.chargepoint.chargepoint import ChargePointPointConfig

    cp, client = interface
    rows = cp.prepare_registry_config(read_registry_csv(SAMPLE_CSV), None)
    for row in rows:
        cp.insert_register(cp.create_register(ChargePointPointConfig(**row)), "devices/campus/cp1")
    cp.finalize_setup(initial_setup=True)

    assert client.calls == []
    assert len(cp.point_map) == len(rows)
    # shedState's Starting Value 0 is kept as what a revert brings each port to (no shed), not written.
    assert cp._revert_defaults == {None: None, 1: None, 2: None}
