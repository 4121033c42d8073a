"""``chargepoint-driver init [DIR]``: the sample config and registry written out, never over a user's files."""

from __future__ import annotations

import pytest

from cp_cli import SAMPLE_CONFIG, SAMPLE_CSV, sample_point_names

pytestmark = pytest.mark.timeout(30)


class TestWrite:
    def test_writes_the_samples_here_and_says_what_to_edit_next(self, tmp_path, monkeypatch, cli) -> None:
        monkeypatch.chdir(tmp_path)
        result = cli("init")
        assert result.code == 0 and result.err == ""
        assert (tmp_path / "chargepoint.config").read_bytes() == SAMPLE_CONFIG.read_bytes()
        assert (tmp_path / "chargepoint.csv").read_bytes() == SAMPLE_CSV.read_bytes()
        lines = result.out.splitlines()
        assert lines[0] == (f"wrote chargepoint.config (the sample device config) and chargepoint.csv (its registry: "
                            f"{len(sample_point_names())} points, every attribute of a station with two ports)")
        assert lines[1].startswith('Next, edit chargepoint.config: in "driver_config", set "stationID" to your '
                                   'station (e.g. "1:123456"), "username" to your API license key and "password" to '
                                   'your API password (or leave the password out and set $CHARGEPOINT_PASSWORD)')
        assert lines[2:4] == ["  chargepoint-driver check chargepoint.config --online",
                              "  chargepoint-driver scrape chargepoint.config"]

    def test_into_a_directory_made_for_them(self, tmp_path, cli) -> None:
        target = tmp_path / "garage" / "cp1"
        result = cli("init", target)
        assert result.code == 0
        assert sorted(path.name for path in target.iterdir()) == ["chargepoint.config", "chargepoint.csv"]
        assert f"  chargepoint-driver check {target / 'chargepoint.config'} --online" in result.out.splitlines()

    def test_what_it_writes_passes_check(self, tmp_path, cli) -> None:
        assert cli("init", tmp_path).code == 0
        result = cli("check", tmp_path / "chargepoint.config")
        assert result.code == 0 and result.err == ""
        assert result.out.endswith(f"{len(sample_point_names())} valid points\n")


class TestRefuse:
    def test_existing_files_are_left_alone(self, tmp_path, cli) -> None:
        mine = tmp_path / "chargepoint.csv"
        mine.write_text("my registry\n", encoding="utf-8")
        result = cli("init", tmp_path)
        assert result.code == 2 and result.out == ""
        assert result.err_lines == [f"init: {mine} already there; nothing was written (--force replaces it)"]
        assert mine.read_text(encoding="utf-8") == "my registry\n"
        assert not (tmp_path / "chargepoint.config").exists()

    def test_force_replaces_them(self, tmp_path, cli) -> None:
        for name in ("chargepoint.config", "chargepoint.csv"):
            (tmp_path / name).write_text("old\n", encoding="utf-8")
        result = cli("init", tmp_path, "--force")
        assert result.code == 0
        assert (tmp_path / "chargepoint.csv").read_bytes() == SAMPLE_CSV.read_bytes()
        assert (tmp_path / "chargepoint.config").read_bytes() == SAMPLE_CONFIG.read_bytes()

    def test_a_directory_that_cannot_be_made(self, tmp_path, cli) -> None:
        (tmp_path / "file").write_text("", encoding="utf-8")
        result = cli("init", tmp_path / "file" / "sub")
        assert result.code == 2 and result.out == ""
        assert result.err_lines == [f"init: cannot write into {tmp_path / 'file' / 'sub'}: Not a directory"]
