"""``chargepoint-driver set``: one write through the interface, its read-back, and refusals."""

from __future__ import annotations

import pytest

from chargepoint_simulator.model import ShedLimit

from cp_cli import WRONG_PASSWORD

pytestmark = pytest.mark.timeout(30)


def port_sheds(sim, station: str) -> dict[int, tuple[float | None, float | None]]:
    """(allowed kW, percent) per port of the sheds in force on the simulated station."""
    return {int(port): (shed.limit.allowed_kw, shed.limit.percent)
            for port, shed in sim.model.shed_state(station).items()}


class TestAccepted:
    def test_shed_prints_the_read_back_and_reaches_the_station(self, sim, device_config, cli) -> None:
        station = sim.model.station_ids()[0]
        result = cli("set", device_config(station_id=station), "allowedLoadPort1", "6.6")
        assert result.code == 0 and result.err == ""
        assert result.out.splitlines() == ["allowedLoadPort1 := 6.6 accepted by the API",
                                           "read-back: allowedLoadPort1 = 6.6 kW"]
        assert port_sheds(sim, station) == {1: (6.6, None)}
        assert sim.calls["shedLoad"] == 1

    def test_clear_through_shed_state(self, sim, device_config, cli) -> None:
        station = sim.model.station_ids()[0]
        config = device_config(station_id=station)
        assert cli("set", config, "allowedLoadPort2", "2").code == 0
        result = cli("set", config, "shedStatePort2", "0")
        assert result.code == 0
        # Units that describe the values ("0 or 1") are not glued to the value; kW are (see above).
        assert result.out.splitlines() == ["shedStatePort2 := 0 accepted by the API", "read-back: shedStatePort2 = 0"]
        assert port_sheds(sim, station) == {} and sim.calls["clearShedState"] == 1

    def test_json(self, sim, device_config, cli) -> None:
        station = sim.model.station_ids()[0]
        result = cli("set", device_config(station_id=station), "percentShedPort1", "50", "--json")
        assert result.code == 0 and result.err == ""
        assert result.out.count("\n") == 1
        assert result.json() == {"point": "percentShedPort1", "written": 50, "value": 50.0}
        assert port_sheds(sim, station) == {1: (None, 50)}

    @pytest.mark.parametrize("value, written", [("6.6", 6.6), ("0", 0)])
    def test_json_gives_the_written_value_as_json(self, sim, device_config, cli, value, written) -> None:
        result = cli("set", device_config(), "allowedLoadPort1", value, "--json")
        assert result.code == 0 and result.json()["written"] == written

    def test_a_read_back_still_old_is_explained(self, device_config, cli, sim) -> None:
        # With a propagation delay the API accepts the shed but the station shows it only later.
        sim.model.propagation_delay = 60.0
        result = cli("set", device_config(), "allowedLoadPort1", "4")
        assert result.code == 0
        assert "read-back: allowedLoadPort1 = None" in result.out and "scrape again" in result.out


class TestRefused:
    def test_refused_by_the_driver_before_any_call(self, sim, device_config, cli) -> None:
        config = device_config()
        before = dict(sim.calls)
        result = cli("set", config, "shedStatePort1", "1")
        assert result.code == 1 and result.out == ""
        assert len(result.err_lines) == 1
        assert "nothing was sent" in result.err and "only 0 is accepted" in result.err
        assert dict(sim.calls) == before

    def test_read_only_point_refused_before_any_call(self, sim, device_config, cli) -> None:
        result = cli("set", device_config(), "stationModel", "X")
        assert result.code == 1 and "read-only" in result.err
        assert sum(sim.calls.values()) == 0

    def test_refused_by_the_api_with_its_code_and_text(self, sim, device_config, cli) -> None:
        # A kW shed accepted by the cloud a moment ago (by another process) but not yet applied at the station, so
        # no read can show it; then a percent shed without clearing first: the API says no.
        station = sim.model.station_ids()[0]
        config = device_config(station_id=station)
        sim.model.propagation_delay = 60.0
        sim.model.shed(station, port_limits={"1": ShedLimit(allowed_kw=3.0)})
        result = cli("set", config, "percentShedPort2", "50")
        assert result.code == 1 and result.out == ""
        assert len(result.err_lines) == 1
        assert result.err.startswith("refused by the API: shedLoad refused with ChargePoint response code 190: ")
        assert "already has a kW shed" in result.err
        assert sim.calls["shedLoad"] == 1
        assert {int(p): shed.limit.allowed_kw for p, shed in sim.model.shed_state(station, effective=False).items()} \
            == {1: 3.0}

    def test_a_shed_of_the_other_kind_shown_in_force_is_refused_before_the_call(self, sim, device_config,
                                                                                 cli) -> None:
        station = sim.model.station_ids()[0]
        config = device_config(station_id=station)
        sim.model.propagation_delay = 0.0
        sim.model.shed(station, port_limits={"1": ShedLimit(allowed_kw=3.0)})
        result = cli("set", config, "percentShedPort2", "50")
        assert result.code == 1 and result.err.startswith("refused (nothing was sent to the API): percentShedPort2")
        assert "kW shed in force (port 1 3 kW)" in result.err
        assert sim.calls["shedLoad"] == 0

    def test_switching_kind_in_one_process_is_refused_before_the_call(self, sim, device_config, cli) -> None:
        station = sim.model.station_ids()[0]
        config = device_config(station_id=station)
        assert cli("set", config, "allowedLoadPort1", "3").code == 0
        result = cli("set", config, "percentShedPort2", "50")
        assert result.code == 1 and "shedState 0" in result.err
        assert sim.calls["shedLoad"] == 1

    def test_unknown_point_is_refused_before_any_call(self, sim, device_config, cli) -> None:
        # A refusal like any other (exit 1, nothing sent), naming the points that can be written.
        result = cli("set", device_config(), "noSuchPoint", "1")
        assert result.code == 1 and result.out == ""
        assert result.err_lines == [
            "refused (nothing was sent to the API): no point 'noSuchPoint' on this device; writable points: "
            "shedState, shedStatePort1, shedStatePort2, allowedLoad, allowedLoadPort1, allowedLoadPort2, "
            "percentShed, percentShedPort1, percentShedPort2, clearAlarms, clearAlarmsPort1, clearAlarmsPort2"]
        assert sum(sim.calls.values()) == 0

    def test_bad_credentials_exit_3(self, sim, device_config, cli) -> None:
        result = cli("set", device_config(password=WRONG_PASSWORD), "allowedLoadPort1", "3")
        assert result.code == 3 and len(result.err_lines) == 1
        assert "refused the credentials" in result.err
        assert sim.model.shed_state(sim.model.station_ids()[0]) == {}
