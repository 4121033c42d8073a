"""What one answer may cost: the memory bound README states holds for the worst shapes an answer under the size cap
can take, and reading a huge answer leaves the other greenlets (other devices' polls) running."""

from __future__ import annotations

import time
import tracemalloc
from typing import Callable, Iterator

import gevent
import pytest

from cp_reliability import PASSWORD, USERNAME, CraftedServer, envelope
from volttron.driver.interfaces.chargepoint.client import ChargePointClient
from volttron.driver.interfaces.chargepoint.config import DEFAULT_MAX_RESPONSE_BYTES
from volttron.driver.interfaces.chargepoint.exceptions import ChargePointError
from volttron.driver.interfaces.chargepoint.exceptions import MalformedResponse
from volttron.driver.interfaces.chargepoint.replies import MAX_RUN, MAX_TAGS

pytestmark = pytest.mark.timeout(120)

CAP = DEFAULT_MAX_RESPONSE_BYTES
MEMORY_BOUND = 6 * CAP  # README: "at most six times the size cap (192 MiB at the default cap)"
ANSWER = "<ns1:getLoadResponse><responseCode>100</responseCode><responseText>ok</responseText>{}" \
         "<stationData><stationID>1:10001</stationID><stationLoad>7.2</stationLoad></stationData>" \
         "</ns1:getLoadResponse>"


def filling(unit: bytes, budget: int, count: int | None = None) -> bytes:
    """``unit`` repeated to fill the cap (or ``count`` times)."""
    return unit * (count if count is not None else budget // len(unit))


def answer(inner: bytes) -> bytes:
    head, tail = envelope(ANSWER).split(b"{}")
    body = head + inner + tail
    assert len(body) <= CAP
    return body


BUDGET = CAP - 2000
RUN = MAX_RUN - 100  # the longest text or attribute value an answer may hold
WIDE = "\U0001F600".encode()  # one character that makes Python keep a whole text at 4 bytes a character
# The shapes that cost the most per byte, each filling the cap as far as the markup caps let it.
SHAPES: dict[str, Callable[[], bytes]] = {
    "the longest texts": lambda: answer(filling(b"<x>" + b"y" * RUN + b"</x>", BUDGET)),
    "the longest texts, each with a wide character": lambda: answer(filling(b"<x>" + b"y" * RUN + WIDE + b"</x>",
                                                                            BUDGET)),
    "texts of 4-byte characters": lambda: answer(filling(b"<x>" + WIDE * (RUN // 4) + b"</x>", BUDGET)),
    "the most elements, with text": lambda: answer(filling(b"<x>" + b"y" * (2 * BUDGET // MAX_TAGS - 7) + b"</x>",
                                                           BUDGET, MAX_TAGS // 2 - 20)),
    "the most empty elements": lambda: answer(filling(b"<x/>", BUDGET, MAX_TAGS - 40)),
    "the longest attributes, each with a wide character": lambda: answer(
        filling(b'<x a="' + b"y" * RUN + WIDE + b'"/>', BUDGET)),
    "the most attributes": lambda: answer(b"<x>" + filling(b'<y a="' + b"z" * 600 + b'"/>', BUDGET, 49_000)
                                          + b"</x>"),
}
# Shapes the markup caps refuse before parsing: they cost little more than the answer itself.
REFUSED: dict[str, Callable[[], bytes]] = {
    "one text of 30 MB": lambda: answer(b"<x>" + filling(b"y", BUDGET - 7) + b"</x>"),
    "one attribute of 30 MB": lambda: answer(b'<x a="' + filling(b"y", BUDGET - 14) + WIDE + b'"/>'),
    "too many elements": lambda: answer(filling(b"<x/>", BUDGET)),
    "too many attributes": lambda: answer(b"<x " + filling(b'a="1" ', BUDGET - 10) + b"/>"),
}


@pytest.fixture
def serve() -> Iterator[Callable[[bytes], CraftedServer]]:
    servers: list[CraftedServer] = []

    def start(body: bytes) -> CraftedServer:
        server = CraftedServer(lambda environ, request: ("200 OK", [("Content-Type", "text/xml")], [body]))
        servers.append(server.__enter__())
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def client_for(server: CraftedServer, timeout: float = 30.0) -> ChargePointClient:
    return ChargePointClient(USERNAME, PASSWORD, wsdl=None, endpoint=f"{server.url}/ws", timeout=timeout)


def peak_of(call: Callable[[], object]) -> tuple[object, int]:
    """What ``call`` returned (or raised) and the most memory Python held meanwhile beyond what it held before."""
    tracemalloc.start()
    try:
        try:
            result = call()
        except ChargePointError as exc:
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("shape", list(SHAPES))
def test_the_costliest_answers_within_the_caps_stay_under_the_stated_bound(shape, serve) -> None:
    client = client_for(serve(SHAPES[shape]()))
    loads, peak = peak_of(lambda: client.get_load("1:10001"))
    assert not isinstance(loads, ChargePointError), loads  # read, not refused
    assert loads["1:10001"].station_load == 7.2  # type: ignore[index]
    assert peak < MEMORY_BOUND, f"{peak / 2**20:.0f} MiB"


@pytest.mark.parametrize("shape", list(REFUSED))
def test_answers_beyond_the_markup_caps_are_refused_before_they_cost_more(shape, serve) -> None:
    client = client_for(serve(REFUSED[shape]()))
    refused, peak = peak_of(lambda: client.get_load("1:10001"))
    assert isinstance(refused, MalformedResponse) and "refused" in str(refused), refused
    assert peak < 2 * CAP, f"{peak / 2**20:.0f} MiB"


@pytest.mark.parametrize("shape", ["the longest attributes, each with a wide character",
                                   "the most elements, with text"])
def test_other_greenlets_run_while_a_huge_answer_is_read(shape, serve) -> None:
    client = client_for(serve(SHAPES[shape]()))
    gaps: list[float] = []
    done = False

    def ticker() -> None:
        last = time.monotonic()
        while not done:
            gevent.sleep(0.005)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    ticking = gevent.spawn(ticker)
    try:
        assert client.get_load("1:10001")["1:10001"].station_load == 7.2
    finally:
        done = True
        ticking.join(timeout=2)
    assert len(gaps) > 10 and max(gaps) < 1.0, f"the hub was held for {max(gaps):.2f} s at once"
