"""``chargepoint-driver scrape``: the table, the JSON contract, and the exit code with a one-line reason."""

from __future__ import annotations

import json
import socket
import time

import pytest

from cp_cli import WRONG_PASSWORD, csv_text, sample_point_names, sample_rows, wrong_password_lines

pytestmark = pytest.mark.timeout(30)


class TestRead:
    def test_table_has_a_row_per_point_with_value_and_units(self, sim, device_config, cli) -> None:
        station = sim.model.station_ids()[0]
        result = cli("scrape", device_config(station_id=station))
        assert result.code == 0 and result.err == ""
        lines = result.out.splitlines()
        assert lines[0].split() == ["point", "value", "units"]
        rows = {line.split()[0]: line.split()[1:] for line in lines[2:] if line and not line.startswith("(")}
        assert list(rows) == sample_point_names()
        assert rows["stationID"] == [station, "ID"]
        assert rows["portLoadPort1"][-1] == "kW"

    def test_json_is_one_object_with_the_simulators_values(self, sim, device_config, cli) -> None:
        station = sim.model.station_ids()[0]
        result = cli("scrape", device_config(station_id=station), "--json")
        assert result.code == 0 and result.err == ""
        assert result.out.count("\n") == 1 and result.out.endswith("}\n")
        document = result.json()
        assert set(document) == {"values", "errors"}
        assert document["errors"] == {}
        values = document["values"]
        assert sorted(values) == sorted(sample_point_names())
        truth = sim.model.snapshot(station)
        load = {port["portNumber"]: port for port in truth["load"]["Port"]}
        status = {port["portNumber"]: port for port in truth["ports"]}
        assert values["stationID"] == station
        assert values["stationModel"] == truth["stationModel"]
        assert values["numPorts"] == len(truth["ports"]) == 2
        assert values["StatusPort1"] == status[load_key(load, 1)]["Status"]
        assert values["portLoadPort1"] == load[load_key(load, 1)]["portLoad"]
        assert values["shedState"] == 0 and values["allowedLoadPort1"] is None

    def test_per_point_errors_still_exit_0(self, sim, device_config, cli) -> None:
        # One operation outside the account's plan: its points carry the API's reason, the rest read normally.
        sim.faults.response_codes["getAlarms"] = (101, "This API call is not allowed for your account plan.")
        result = cli("scrape", device_config(), "--json")
        assert result.code == 0 and result.err == ""
        document = result.json()
        alarm_points = {row["Volttron Point Name"] for row in sample_rows() if row["Register Name"] == "AlarmRegister"}
        assert set(document["errors"]) == alarm_points
        assert all("101" in message and "not allowed" in message for message in document["errors"].values())
        assert document["values"]["stationID"] == sim.model.station_ids()[0]

    def test_table_marks_failed_points_and_lists_each_cause_once(self, sim, device_config, cli) -> None:
        sim.faults.response_codes["getStationRights"] = (101, "Not in your plan.")
        sim.faults.response_codes["getAlarms"] = (101, "Not in your plan.")
        result = cli("scrape", device_config())
        assert result.code == 0 and result.err == ""
        rows = {line.split()[0]: line.split()[1:] for line in result.out.splitlines()[2:] if line.strip()}
        alarm_points = [row["Volttron Point Name"] for row in sample_rows() if row["Register Name"] == "AlarmRegister"]
        assert rows["stationRightsProfile"][:2] == ["ERROR", "1"]
        assert all(rows[name][:2] == ["ERROR", "1"] for name in alarm_points)
        assert rows["stationID"][0] == sim.model.station_ids()[0]
        below = result.out.split("\n\n")[-1].splitlines()
        assert below == [f"{1 + len(alarm_points)} point(s) could not be read:",
                         f"  ERROR 1  getAlarms, getStationRights refused with ChargePoint response code 101: "
                         f"Not in your plan. ({1 + len(alarm_points)} points)"]

    def test_distinct_causes_are_numbered_in_the_table(self, sim, device_config, cli) -> None:
        sim.faults.response_codes["getStationRights"] = (101, "Not in your plan.")
        sim.faults.response_codes["getAlarms"] = (187, "Malformed.")
        result = cli("scrape", device_config())
        assert result.code == 0
        rows = {line.split()[0]: line.split()[1:] for line in result.out.splitlines()[2:] if line.strip()}
        assert rows["stationRightsProfile"][:2] == ["ERROR", "2"] and rows["alarmType"][:2] == ["ERROR", "1"]
        assert "  ERROR 1  getAlarms refused with ChargePoint response code 187: Malformed. (9 points)" in result.out
        assert "  ERROR 2  getStationRights refused with ChargePoint response code 101: Not in your plan. (1 point)" \
            in result.out

    def test_registry_option_replaces_the_config_reference(self, sim, device_config, cli, tmp_path) -> None:
        rows = [row for row in sample_rows() if row["Volttron Point Name"] in ("stationID", "StatusPort1")]
        other = tmp_path / "elsewhere" / "two-points.csv"
        other.parent.mkdir()
        other.write_text(csv_text(rows), encoding="utf-8")
        result = cli("scrape", device_config(), "--registry", other, "--json")
        assert result.code == 0
        assert sorted(result.json()["values"]) == ["StatusPort1", "stationID"]


def load_key(ports: dict, number: int):
    """The model keys ports by its own spelling of the number."""
    return next(key for key in ports if int(key) == number)


class TestCannotRead:
    def test_unknown_station_exits_3_and_still_prints_the_errors(self, sim, device_config, cli) -> None:
        # Decision: the API answers, but for this station it has nothing (code 102) - the device as configured
        # cannot be read, so the exit code is 3 like any other unusable API; the JSON still carries every error.
        result = cli("scrape", device_config(station_id="1:99999"), "--json")
        assert result.code == 3
        assert len(result.err_lines) == 1
        assert "could not be read" in result.err and "102" in result.err and "1:99999" in result.err
        document = result.json()
        assert document["errors"] and all(value is None for value in document["values"].values())

    def test_bad_credentials(self, device_config, cli) -> None:
        result = cli("scrape", device_config(password=WRONG_PASSWORD), "--json")
        assert result.code == 3
        assert len(result.err_lines) == 1 and "FailedAuthentication" in result.err
        assert result.json()["values"] == {}

    def test_bad_credentials_are_one_cause_on_one_line_and_no_table(self, device_config, cli) -> None:
        # Every operation fails for the same reason: one line naming it once, with the number of points it hit,
        # instead of a table of 98 errors and the same fault six times.
        result = cli("scrape", device_config(password=WRONG_PASSWORD))
        assert result.code == 3 and result.out == ""
        assert result.err_lines == wrong_password_lines()

    def test_unreachable_api(self, device_config, cli) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        # Nothing listens on the port now: the WSDL cannot even be fetched.
        config = device_config(wsdl=f"http://127.0.0.1:{port}/cp_api_5.0.wsdl", timeout=2)
        started = time.monotonic()
        result = cli("scrape", config)
        assert result.code == 3 and time.monotonic() - started < 5
        assert len(result.err_lines) == 1 and "refused" in result.err.lower()

    def test_blackholed_api_returns_within_the_timeout(self, sim, device_config, cli) -> None:
        config = device_config(timeout=1)
        sim.faults.blackhole = True
        started = time.monotonic()
        result = cli("scrape", config, "--json")
        elapsed = time.monotonic() - started
        assert result.code == 3
        assert elapsed < 1 + 3, f"took {elapsed:.1f} s with a 1 s timeout"
        assert len(result.err_lines) == 1 and "no answer within 1 s" in result.err
        assert set(result.json()["errors"]) == set(sample_point_names())


class TestConfigErrors:
    @pytest.mark.parametrize("breakage, expected", [
        ("bad json", "is not valid JSON: line 1"),
        ("not utf-8", "is not UTF-8 text: byte 0xff at offset 0"),
        ("missing key", "key 'stationID': required key is missing"),
        ("bad registry row", "chargepoint.csv line 6 (point 'portNumberPort2'), column 'Register Name', value "
                             "'NoSuchRegister'"),
        ("missing registry", "cannot read registry"),
        ("platform key", "key 'plugins': Input should be a valid list"),
    ])
    def test_exit_2_with_a_one_line_reason_and_no_api_call(self, sim, device_config, cli, tmp_path,
                                                            breakage, expected) -> None:
        if breakage == "missing key":
            config = device_config(stationID=None)
        elif breakage == "platform key":
            config = device_config(plugins=5)
        elif breakage == "bad registry row":
            rows = sample_rows()
            rows[4] = {**rows[4], "Register Name": "NoSuchRegister"}
            config = device_config(registry=csv_text(rows))
        else:
            config = device_config()
            if breakage == "bad json":
                config.write_text('{"driver_config": {"stationID": "1:10001",}', encoding="utf-8")
            elif breakage == "not utf-8":
                config.write_bytes(b"\xff\xfe" + config.read_text(encoding="utf-8").encode("utf-16-le"))
            else:
                (tmp_path / "chargepoint.csv").unlink()
        result = cli("scrape", config, "--json")
        assert result.code == 2
        assert result.out == ""
        assert len(result.err_lines) == 1
        assert result.err.startswith("configuration error: ") and expected in result.err
        assert sum(sim.calls.values()) == 0

    def test_several_bad_rows_are_summed_up_on_one_line(self, device_config, cli) -> None:
        rows = sample_rows()
        rows[0] = {**rows[0], "Port #": "x"}
        rows[1] = {**rows[1], "Type": "blob"}
        result = cli("scrape", device_config(registry=csv_text(rows)))
        assert result.code == 2 and len(result.err_lines) == 1
        assert "2 problems" in result.err and "chargepoint-driver check" in result.err

    def test_json_of_a_successful_scrape_round_trips(self, device_config, cli) -> None:
        # Timestamps and dicts are plain JSON (strings and objects), so another tool can read them back.
        document = cli("scrape", device_config(), "--json").json()
        assert isinstance(document["values"]["stationRightsProfile"], dict)
        assert isinstance(document["values"]["TimeStampPort1"], str)
        assert json.loads(json.dumps(document)) == document
