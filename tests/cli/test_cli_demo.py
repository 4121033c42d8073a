"""``chargepoint-driver demo``: where it starts from, what it changes for the run (and says so), and caching."""

from __future__ import annotations

import json
import re

import pytest

from cp_cli import SAMPLE_CONFIG, SAMPLE_CSV, run_script, sample_point_names

pytestmark = pytest.mark.timeout(60)

POLL = re.compile(r"^\[poll (\d+)/\d+\] .*; (\d+) API calls", re.MULTILINE)


def calls_per_poll(text: str) -> list[int]:
    return [int(calls) for _poll, calls in POLL.findall(text)]


def write_config(directory, **driver) -> None:
    raw = json.loads(SAMPLE_CONFIG.read_text(encoding="utf-8"))
    raw["driver_config"].update(driver)
    (directory / "chargepoint.config").write_text(json.dumps(raw, indent=4), encoding="utf-8")
    (directory / "chargepoint.csv").write_bytes(SAMPLE_CSV.read_bytes())


def test_from_the_repository_root_warm_polls_are_served_by_the_cache() -> None:
    process = run_script("demo", "--cycles", "3", "--interval", "0.2", timeout=50)
    assert process.returncode == 0, process.stderr
    assert process.stderr == ""
    out = process.stdout
    assert f"Driver configured from chargepoint.config and chargepoint.csv: {len(sample_point_names())} points" in out
    assert "the simulator's address, username and password replace the config's (no file is changed)" in out
    # The sample's cacheExpiration (30 s): the first poll asks each of the six API methods, the next ones nothing.
    assert "cacheExpiration is 30 s: a poll within 30 s of the API's last answers is served from the cache" in out
    assert calls_per_poll(out) == [6, 0, 0]
    assert out.count("0 API calls (every answer from the cache)") == 2
    assert "read-back right away: allowedLoadPort" in out and "still the old value" in out
    assert "each read asking the API (cacheExpiration 0)" in out
    assert out.count("<- applied by the station") == 2
    assert "  chargepoint-driver check chargepoint.config --online" in out and "init" not in out.split("Done in")[1]


# A poll after the cache period asks status, load and alarms again; inventory and rights keep for staticExpiration
# and sessions until a port stops charging.
@pytest.mark.parametrize("expiration, interval, expected", [(0, 0, [6, 3]), (0.2, 0.4, [6, 3]), (5, 0, [6, 0])])
def test_polls_follow_the_configs_cache_expiration(tmp_path, monkeypatch, cli, expiration, interval,
                                                   expected) -> None:
    write_config(tmp_path, cacheExpiration=expiration)
    monkeypatch.chdir(tmp_path)
    result = cli("demo", "--cycles", "2", "--interval", interval, "--stations", "2")
    assert result.code == 0 and result.err == ""
    assert calls_per_poll(result.out) == expected
    if expiration == 0:
        assert "cacheExpiration is 0 s: every poll asks the API for status, load and alarms" in result.out


def test_without_a_config_here_it_uses_the_samples_shipped_in_the_package(tmp_path, monkeypatch, cli) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("demo", "--cycles", "1", "--interval", "0", "--stations", "1")
    assert result.code == 0 and result.err == ""
    assert (f"Driver configured from the sample chargepoint.config shipped with the package and its "
            f"chargepoint.csv: {len(sample_point_names())} points") in result.out
    assert result.out.count("<- applied by the station") == 2
    closing = result.out.split("Done in")[1]
    assert "'chargepoint-driver init' writes this sample chargepoint.config and chargepoint.csv here" in closing
    assert list(tmp_path.iterdir()) == []  # the demo writes nothing


def test_a_config_that_does_not_exist_is_refused(tmp_path, cli) -> None:
    missing = tmp_path / "nonexistent.config"
    result = cli("demo", "--config", missing)
    assert result.code == 2 and result.out == ""
    assert result.err_lines == [f"configuration error: cannot read device config {missing}: No such file or "
                                f"directory"]


def test_a_station_the_simulation_lacks_is_replaced_and_said_so(tmp_path, monkeypatch, cli) -> None:
    write_config(tmp_path, stationID="1:424242")
    before = (tmp_path / "chargepoint.config").read_bytes()
    monkeypatch.chdir(tmp_path)
    result = cli("demo", "--cycles", "1", "--interval", "0", "--stations", "2")
    assert result.code == 0
    assert ("The config names station 1:424242, which the simulated organisation does not have: the demo uses its "
            "station 1:10001 instead.") in result.out
    assert "points of station 1:10001" in result.out
    assert (tmp_path / "chargepoint.config").read_bytes() == before
