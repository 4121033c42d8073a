"""``chargepoint-driver schedule-shed`` and ``cancel-shed``: a demand-response event the cloud runs by itself, for
the device's station or group; refusals are one line with exit code 1, bad arguments exit 2, and nothing is sent
when the error is knowable before a call."""

from __future__ import annotations

from datetime import timedelta, timezone
from pathlib import Path

import pytest

from cp_cli import ROOT, WRONG_PASSWORD

pytestmark = pytest.mark.timeout(30)

GROUP_CSV = (ROOT / "chargepoint-group.csv").read_text(encoding="utf-8")


def start_in(sim, minutes: float, tz: timezone = timezone(timedelta(hours=-7))) -> str:
    """ISO-8601 ``minutes`` from the simulator's (frozen) now; the commands' own clock is the wall clock, which is
    the same instant or a little later."""
    return (sim.clock.now() + timedelta(minutes=minutes)).astimezone(tz).isoformat(timespec="seconds")


@pytest.fixture
def group_config(sim, device_config):
    """A group device config (sgID instead of stationID) beside the sample group registry."""
    def write(**settings) -> Path:
        group = max(sim.model.groups, key=lambda g: len(g.station_ids))
        return device_config("garage.config", registry=GROUP_CSV, stationID=None, sgID=group.sgID, **settings)
    return write


class TestSchedule:
    def test_prints_the_event_id_and_the_cloud_has_the_event(self, sim, device_config, cli) -> None:
        station = sim.model.station_ids()[0]
        result = cli("schedule-shed", device_config(station_id=station), "--start", start_in(sim, 60),
                     "--minutes", "180", "--kw-per-port", "3.3")
        assert (result.code, result.err) == (0, "")
        (event,) = sim.model.events()
        assert result.out == f"{event.eventId}\n"
        assert (event.stationID, event.minutes, event.limit.allowed_kw, event.allowOptOut) == (station, 180, 3.3,
                                                                                              False)
        assert event.start == (sim.clock.now() + timedelta(minutes=60)).timestamp()

    def test_for_a_group_device_the_event_is_the_groups(self, sim, group_config, cli) -> None:
        result = cli("schedule-shed", group_config(), "--start", start_in(sim, 5, timezone.utc), "--minutes", "60",
                     "--percent", "40", "--allow-opt-out")
        assert result.code == 0, result.err
        (event,) = sim.model.events()
        group = max(sim.model.groups, key=lambda g: len(g.station_ids))
        assert (event.sgID, event.limit.percent, event.allowOptOut) == (group.sgID, 40, True)
        assert set(event.station_ids) == set(group.station_ids)

    @pytest.mark.parametrize(("start", "minutes", "value", "says"), [
        ("2026-06-01T16:00:00", "60", ["--percent", "40"], "has no UTC offset, and a time is never guessed"),
        ("past", "60", ["--percent", "40"], "is in the past"),
        ("soon", "0", ["--percent", "40"], "positive whole number of minutes"),
        ("soon", "1.5", ["--percent", "40"], "positive whole number of minutes"),
        ("soon", "60", ["--percent", "0"], "1 to 100"),
        ("soon", "60", ["--kw-per-port", "-2"], "kW >= 0"),
        ("soon", "60", ["--kw-per-port", "2.0001"], "three decimals"),
    ], ids=["no offset", "past", "0 minutes", "fractional minutes", "0 %", "negative kW", "kW precision"])
    def test_refused_before_any_call(self, sim, group_config, cli, start, minutes, value, says) -> None:
        when = {"past": start_in(sim, -1), "soon": start_in(sim, 5)}.get(start, start)
        result = cli("schedule-shed", group_config(), "--start", when, "--minutes", minutes, *value)
        assert (result.code, result.out) == (1, "")
        assert len(result.err_lines) == 1 and result.err.startswith("refused (nothing was sent to the API): ")
        assert says in result.err
        assert sim.calls["createLoadShedEvent"] == 0

    def test_refused_by_the_api_with_its_code(self, sim, group_config, cli) -> None:
        from chargepoint_simulator.model import ShedLimit

        group = max(sim.model.groups, key=lambda g: len(g.station_ids))
        sim.model.shed(group.station_ids[0], ShedLimit(allowed_kw=3.0))  # a kW shed when a percent event comes
        result = cli("schedule-shed", group_config(), "--start", start_in(sim, 5), "--minutes", "60",
                     "--percent", "40")
        assert (result.code, result.out) == (1, "")
        assert result.err.startswith("refused by the API: createLoadShedEvent refused with ChargePoint response "
                                     "code 190: ")

    @pytest.mark.parametrize("argv", [
        ["--minutes", "60", "--percent", "40"],
        ["--start", "2026-06-01T16:00:00Z", "--percent", "40"],
        ["--start", "2026-06-01T16:00:00Z", "--minutes", "60"],
        ["--start", "2026-06-01T16:00:00Z", "--minutes", "60", "--percent", "40", "--kw-per-port", "3"],
    ], ids=["no start", "no minutes", "no value", "both values"])
    def test_bad_arguments_exit_2(self, sim, group_config, cli, argv) -> None:
        config = group_config()
        with pytest.raises(SystemExit) as exit_info:
            cli("schedule-shed", config, *argv)
        assert exit_info.value.code == 2
        assert sim.calls["createLoadShedEvent"] == 0

    def test_a_config_error_exits_2(self, sim, device_config, cli) -> None:
        result = cli("schedule-shed", device_config(sgID=12345), "--start", start_in(sim, 5), "--minutes", "60",
                     "--percent", "40")
        assert result.code == 2 and "'stationID' and 'sgID'" in result.err
        assert sum(sim.calls.values()) == 0

    def test_refused_credentials_exit_3(self, sim, group_config, cli) -> None:
        result = cli("schedule-shed", group_config(password=WRONG_PASSWORD), "--start", start_in(sim, 5),
                     "--minutes", "60", "--percent", "40")
        assert result.code == 3 and "credentials" in result.err and len(result.err_lines) == 1
        assert sim.model.events() == []


class TestCancel:
    def test_prints_the_apis_answer_and_the_event_is_gone(self, sim, group_config, cli) -> None:
        config = group_config()
        event = cli("schedule-shed", config, "--start", start_in(sim, 5), "--minutes", "60", "--percent", "40").out
        result = cli("cancel-shed", config, event.strip())
        assert (result.code, result.err) == (0, "")
        assert result.out == f"Load shed event {event.strip()} was cancelled before its start.\n"
        assert [e["status"] for e in sim.model.event_snapshots()] == ["cancelled"]

    def test_an_unknown_event_is_refused_by_the_api(self, sim, group_config, cli) -> None:
        result = cli("cancel-shed", group_config(), "4242")
        assert (result.code, result.out) == (1, "")
        assert result.err == ("refused by the API: removeLoadShedEvent refused with ChargePoint response code 191: "
                              "No load shed event found with eventId 4242.\n")

    @pytest.mark.parametrize("event_id", ["abc", "0", "-1", "1.5"])
    def test_a_malformed_event_id_is_refused_before_any_call(self, sim, group_config, cli, event_id) -> None:
        result = cli("cancel-shed", group_config(), event_id)
        assert (result.code, result.out) == (1, "")
        assert result.err.startswith("refused (nothing was sent to the API): event_id: ")
        assert sim.calls["removeLoadShedEvent"] == 0


def test_help_lists_both_commands(capsys) -> None:
    from volttron.driver.interfaces.chargepoint.cli import parse_arguments

    with pytest.raises(SystemExit) as exit_info:
        parse_arguments(["--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and "schedule-shed" in out and "cancel-shed" in out


class TestGroupDevice:
    """The other commands take a group device config too."""

    def test_scrape(self, sim, group_config, cli) -> None:
        result = cli("scrape", group_config(), "--json")
        assert result.code == 0, result.err
        group = max(sim.model.groups, key=lambda g: len(g.station_ids))
        values = result.json()["values"]
        assert (values["sgName"], values["numStations"], values["shedState"]) == (group.sgName,
                                                                                  len(group.station_ids), 0)

    def test_set_caps_every_member(self, sim, group_config, cli) -> None:
        result = cli("set", group_config(), "allowedLoadPerStation", "2.5")
        assert result.code == 0, result.err
        group = max(sim.model.groups, key=lambda g: len(g.station_ids))
        for station_id in group.station_ids:
            assert {s.limit.allowed_kw for s in sim.model.shed_state(station_id).values()} == {2.5}

    def test_check_refuses_station_rows_in_a_group_registry(self, sim, device_config, cli) -> None:
        config = device_config("garage.config", stationID=None, sgID=12345)  # beside the sample station registry
        result = cli("check", config)
        assert result.code == 1
        problems = [line for line in result.err.splitlines() if line.startswith("problem: ")]  # on stderr
        assert problems and all("only StationGroupRegister rows" in p for p in problems)
        assert "line 2 (point 'stationID')" in problems[0]
        assert sum(sim.calls.values()) == 0

    def test_check_online_finds_the_group(self, sim, group_config, cli) -> None:
        result = cli("check", group_config(), "--online")
        assert result.code == 0, result.out + result.err
        group = max(sim.model.groups, key=lambda g: len(g.station_ids))
        assert f"group {group.sgID} found ({group.sgName})" in result.out

    def test_check_online_an_unknown_group(self, sim, device_config, cli) -> None:
        result = cli("check", device_config("garage.config", registry=GROUP_CSV, stationID=None, sgID=12345),
                     "--online")
        assert result.code == 1 and "problem: group 12345 is not visible to this account" in result.err

    def test_registry_writes_the_group_points(self, sim, group_config, cli) -> None:
        result = cli("registry", group_config())
        assert result.code == 0, result.err
        assert result.out.splitlines()[1:] == GROUP_CSV.splitlines()[1:]
        assert result.err.startswith("wrote 6 points for group ")
