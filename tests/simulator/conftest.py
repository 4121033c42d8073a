"""Fixtures of the simulator's tests: a simulator per test and a suds client for it."""

from __future__ import annotations

from typing import Callable, Iterator

import pytest
from suds.client import Client

from chargepoint_simulator import Simulator
from sim_helpers import PASSWORD, USERNAME, frozen_clock, make_suds_client


@pytest.fixture
def make_sim() -> Iterator[Callable[..., Simulator]]:
    """Start simulators (frozen clock and test credentials unless told otherwise); all stop at teardown."""
    started: list[Simulator] = []

    def make(**kwargs: object) -> Simulator:
        kwargs.setdefault("stations", 4)
        kwargs.setdefault("seed", 3)
        kwargs.setdefault("username", USERNAME)
        kwargs.setdefault("password", PASSWORD)
        kwargs.setdefault("clock", frozen_clock())
        sim = Simulator(**kwargs).start()  # type: ignore[arg-type]
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim()


@pytest.fixture
def client(sim: Simulator) -> Client:
    """A suds client built from the WSDL the simulator serves."""
    return make_suds_client(sim.wsdl_url)


@pytest.fixture
def service(client: Client):
    return client.service
