"""``chargepoint-driver registry``: a registry CSV of what the station really returns, ready to use."""

from __future__ import annotations

import csv
import io

import pytest

from cp_cli import read_csv
from volttron.driver.interfaces.chargepoint.registry import registry_rows_for

pytestmark = pytest.mark.timeout(30)


def one_port_station(sim) -> str:
    return next(s for s in sim.model.station_ids() if len(sim.model.snapshot(s)["ports"]) == 1)


class TestRegistry:
    def test_one_port_station_registry_checks_and_scrapes_clean(self, sim, device_config, cli, tmp_path) -> None:
        station = one_port_station(sim)
        config = device_config(station_id=station)
        target = tmp_path / "generated.csv"
        result = cli("registry", config, "-o", target)
        assert result.code == 0 and result.err == ""
        rows = read_csv(target)
        assert f"wrote {len(rows)} points for station {station} (port(s) 1) to {target}" in result.out

        names = [row["Volttron Point Name"] for row in rows]
        assert len(names) == len(set(names))
        assert {row["Port #"] for row in rows} <= {"", "1"}
        assert not [name for name in names if name.endswith("Port2")]
        identities = [(row["Register Name"], row["Attribute Name"], row["Port #"]) for row in rows]
        assert len(identities) == len(set(identities))
        # Every live attribute of the port is there (even when empty right now), and every control point.
        for name in ("StatusPort1", "portLoadPort1", "allowedLoadPort1", "percentShedPort1", "shedStatePort1",
                     "alarmTypePort1", "clearAlarmsPort1", "sessionIDPort1", "stationRightsProfile"):
            assert name in names
        assert {r["Volttron Point Name"]: r["Starting Value"] for r in rows}["shedStatePort1"] == "0"

        check = cli("check", config, "--registry", target)
        assert check.code == 0, check.out
        scrape = cli("scrape", config, "--registry", target, "--json")
        assert scrape.code == 0
        document = scrape.json()
        assert document["errors"] == {} and sorted(document["values"]) == sorted(names)
        # Inventory rows are kept only when the station returns a value for them.
        inventory = [r["Volttron Point Name"] for r in rows if r["Register Name"] == "StationRegister"]
        assert inventory and all(document["values"][name] is not None for name in inventory)
        all_inventory = [r for r in registry_rows_for([1]) if r["Register Name"] == "StationRegister"]
        assert len(inventory) <= len(all_inventory)

    def test_attributes_the_api_refuses_are_left_out_with_the_reason(self, sim, device_config, cli,
                                                                       tmp_path) -> None:
        sim.faults.response_codes["getStationRights"] = (101, "Not in your plan.")
        target = tmp_path / "generated.csv"
        result = cli("registry", device_config(), "-o", target)
        assert result.code == 0
        assert "stationRightsProfile" not in [row["Volttron Point Name"] for row in read_csv(target)]
        assert "left out" in result.out and "Not in your plan." in result.out

    def test_to_stdout_is_pure_csv(self, sim, device_config, cli) -> None:
        result = cli("registry", device_config())
        assert result.code == 0
        rows = list(csv.DictReader(io.StringIO(result.out)))
        assert rows and rows[0]["Volttron Point Name"] == "stationID"
        assert any(row["Volttron Point Name"] == "StatusPort2" for row in rows)
        assert "wrote" in result.err

    def test_unknown_station_exits_3(self, sim, device_config, cli, tmp_path) -> None:
        target = tmp_path / "generated.csv"
        result = cli("registry", device_config(station_id="1:99999"), "-o", target)
        assert result.code == 3 and len(result.err_lines) == 1 and "102" in result.err
        assert not target.exists()

    def test_unwritable_output_exits_2(self, device_config, cli, tmp_path) -> None:
        result = cli("registry", device_config(), "-o", tmp_path / "no-such-dir" / "out.csv")
        assert result.code == 2 and len(result.err_lines) == 1 and "cannot write" in result.err
