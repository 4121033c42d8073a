"""``chargepoint-driver check``: every problem of a config and registry at once; ``--online`` asks the API.

Problems are lines on stderr; the verdict is the one line on stdout.
"""

from __future__ import annotations

import json

import pytest

from cp_cli import SAMPLE_CONFIG, WRONG_PASSWORD, csv_text, sample_rows

pytestmark = pytest.mark.timeout(30)


class TestOffline:
    def test_the_sample_config_and_registry_pass(self, cli) -> None:
        result = cli("check", SAMPLE_CONFIG)
        assert result.code == 0 and result.err == ""
        assert f"{len(sample_rows())} valid points" in result.out

    def test_every_problem_is_listed_at_once_with_line_column_and_value(self, sim, device_config, cli) -> None:
        rows = sample_rows()
        by_name = {row["Volttron Point Name"]: index for index, row in enumerate(rows)}
        rows[by_name["stationModel"]] = {**rows[by_name["stationModel"]], "Register Name": "StationRegistr"}
        rows[by_name["numPorts"]] = {**rows[by_name["numPorts"]], "Port #": "1"}
        rows[by_name["portLoadPort1"]] = {**rows[by_name["portLoadPort1"]], "Writable": "True"}
        rows[by_name["allowedLoadPort1"]] = {**rows[by_name["allowedLoadPort1"]], "Starting Value": "-5"}
        rows[by_name["City"]] = {**rows[by_name["City"]], "Volttron Point Name": "State"}
        config = device_config(registry=csv_text(rows), stationID="10001", timeout=0)
        result = cli("check", config)
        assert result.code == 1
        assert result.out == "7 problem(s) found\n"
        problems = result.err_lines
        assert len(problems) == 7 and all(line.startswith("problem: ") for line in problems)
        line = {name: index + 2 for name, index in by_name.items()}  # as an editor numbers them: header is line 1
        expected = [
            ("key 'stationID', value '10001'", "must look like 1:123456"),
            ("key 'timeout', value 0", "greater than 0"),
            (f"line {line['stationModel']} (point 'stationModel'), column 'Register Name', "
             f"value 'StationRegistr'", "must be one of StationRegister"),
            (f"line {line['numPorts']} (point 'numPorts'), column 'Port #', value '1'", "station-level"),
            (f"line {line['portLoadPort1']} (point 'portLoadPort1'), column 'Writable', value 'True'",
             "portLoad is read-only; writable attributes are"),
            (f"line {line['allowedLoadPort1']} (point 'allowedLoadPort1'), column 'Starting Value', "
             f"value '-5'", "kW >= 0"),
            (f"line {line['State']}, column 'Volttron Point Name', value 'State'",
             f"duplicate of line {line['City']}"),
        ]
        for where, allowed in expected:
            assert any(where in line and allowed in line for line in problems), (where, problems)
        assert sum(sim.calls.values()) == 0

    def test_unreadable_config_still_checks_a_given_registry(self, tmp_path, cli) -> None:
        config = tmp_path / "broken.config"
        config.write_text("[1, 2]", encoding="utf-8")
        rows = sample_rows()
        rows[0] = {**rows[0], "Attribute Name": "stationIDx"}
        registry = tmp_path / "given.csv"
        registry.write_text(csv_text(rows), encoding="utf-8")
        result = cli("check", config, "--registry", registry)
        assert result.code == 1
        assert "must be a JSON object" in result.err and "value 'stationIDx'" in result.err
        assert result.out == "2 problem(s) found\n"

    def test_wrong_driver_type(self, device_config, cli) -> None:
        config = device_config()
        raw = json.loads(config.read_text())
        config.write_text(json.dumps({**raw, "driver_type": "bacnet"}))
        result = cli("check", config)
        assert result.code == 1 and "key 'driver_type', value 'bacnet'" in result.err

    def test_chargepoint_keys_at_the_top_level_are_named_with_where_they_belong(self, device_config, cli) -> None:
        # A config written as the simulator once printed it, keys at the top level: the platform would not see
        # them, so check says where they go rather than that they are missing.
        config = device_config()
        raw = json.loads(config.read_text())
        config.write_text(json.dumps({**raw.pop("driver_config"), **raw}))
        result = cli("check", config)
        assert result.code == 1
        assert any(line.startswith(f"problem: {config}, key 'stationID': at the top level, where the platform "
                                   f"ignores it; the ChargePoint keys belong inside \"driver_config\"")
                   for line in result.err_lines), result.err
        assert "required key is missing" not in result.err
        assert result.out == f"{len(result.err_lines)} problem(s) found\n"

    def test_validator_messages_read_without_pydantic_prefix(self, device_config, cli) -> None:
        result = cli("check", device_config(stationID="10001"))
        assert result.code == 1
        assert "key 'stationID', value '10001': must look like 1:123456" in result.err
        assert "Value error" not in result.err

    def test_what_only_the_platform_checks_is_checked_too(self, device_config, cli) -> None:
        # check ends by configuring the interface as the platform does, so its own keys are validated as well.
        config = device_config()
        raw = json.loads(config.read_text())
        config.write_text(json.dumps({**raw, "driver_config": {**raw["driver_config"], "plugins": 5}}))
        result = cli("check", config)
        assert result.code == 1 and f"{config}, key 'plugins': Input should be a valid list" in result.err


class TestOnline:
    def test_good_credentials_and_station(self, sim, device_config, cli) -> None:
        station = sim.model.station_ids()[0]
        result = cli("check", device_config(station_id=station), "--online")
        assert result.code == 0 and result.err == ""
        assert "credentials accepted by the API" in result.out
        assert f"station {station} found, port(s) 1, 2" in result.out
        assert sim.calls["getCPNInstances"] == 1 and sim.calls["getStations"] == 1

    def test_bad_credentials(self, sim, device_config, cli) -> None:
        result = cli("check", device_config(password=WRONG_PASSWORD), "--online")
        assert result.code == 3
        assert "valid" in result.out and "credentials accepted" not in result.out
        assert len(result.err_lines) == 1 and "refused the credentials" in result.err

    def test_station_not_visible(self, sim, device_config, cli) -> None:
        result = cli("check", device_config(station_id="1:99999"), "--online")
        assert result.code == 1
        assert result.err_lines == ["problem: station 1:99999 is not visible to this account"]

    def test_points_on_ports_the_station_lacks_are_noted(self, sim, device_config, cli) -> None:
        one_port = next(s for s in sim.model.station_ids() if len(sim.model.snapshot(s)["ports"]) == 1)
        result = cli("check", device_config(station_id=one_port), "--online")
        assert result.code == 0
        note = next(line for line in result.err_lines if line.startswith("note: "))
        assert "port(s) 2, which the station lacks" in note and "StatusPort2" in note

    def test_offline_problems_stop_before_the_api(self, sim, device_config, cli) -> None:
        result = cli("check", device_config(stationID="nope"), "--online")
        assert result.code == 1 and sum(sim.calls.values()) == 0
