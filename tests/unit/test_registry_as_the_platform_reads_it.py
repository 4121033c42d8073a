"""A registry file is accepted by the platform exactly when ``chargepoint-driver check`` accepts it, with the same
points: the same files go through both paths.

- The platform's path: ``vctl config store ... --csv`` reads the file as text (``argparse.FileType("r")``), the
  config store parses it with volttron-core's own ``process_raw_config`` (csv.DictReader on the raw text: a
  byte-order mark or spaces stay in the header keys), then the Platform Driver hands the rows to
  ``prepare_registry_config``, validates each returned row as the interface's point config and creates the
  registers.
- The CLI's path: ``read_registry_csv`` and the same row validation ``check`` runs.

The files are the sample registry saved the ways Excel and other editors save it.
"""
from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path
from typing import Any, Callable

import pytest

from cp_unit_helpers import SAMPLE_CSV
from volttron.driver.base.config import RemoteConfig
from volttron.driver.interfaces.chargepoint.account import forget_accounts
from volttron.driver.interfaces.chargepoint.chargepoint import ChargePoint, ChargePointPointConfig
from volttron.driver.interfaces.chargepoint.exceptions import ConfigError
from volttron.driver.interfaces.chargepoint.registry import read_registry_csv, registry_rows, validate_rows
from volttron.services.config_store.config_store_service import process_raw_config


def _sample_table() -> list[list[str]]:
    return list(csv.reader(io.StringIO(SAMPLE_CSV.read_text(encoding="utf-8"))))


def _write(table: list[list[str]], *, bom: bool = False, newline: str = "\n",
           pad: Callable[[str], str] = lambda cell: cell, pad_header: Callable[[str], str] = lambda cell: cell,
           extra_lines: tuple[str, ...] = (), quote_header: bool = False) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator=newline, quoting=csv.QUOTE_ALL if quote_header else csv.QUOTE_MINIMAL
               ).writerow([pad_header(cell) for cell in table[0]])
    writer = csv.writer(out, lineterminator=newline)
    for row in table[1:]:
        writer.writerow([pad(cell) for cell in row])
    for line in extra_lines:
        out.write(line + newline)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")


# id -> how the sample registry is saved
SAVED_AS: dict[str, Callable[[list[list[str]]], bytes]] = {
    "as shipped": lambda t: _write(t),
    "Excel CSV UTF-8 (BOM, CRLF)": lambda t: _write(t, bom=True, newline="\r\n"),
    "spaces around header names": lambda t: _write(t, pad_header=lambda c: f" {c} "),
    "spaces around every cell": lambda t: _write(t, pad=lambda c: f"  {c} " if c else c,
                                                 pad_header=lambda c: f" {c}"),
    "BOM, CRLF, spaces and Excel's empty rows": lambda t: _write(
        t, bom=True, newline="\r\n", pad_header=lambda c: f"{c} ", pad=lambda c: f" {c}" if c else c,
        extra_lines=(",,,,,,,,", "", ",,,,,,,,")),
    "carriage returns left at line ends": lambda t: _write(t, newline="\r\r\n"),
    "quoted headers behind a BOM": lambda t: _write(t, bom=True, newline="\r\n", quote_header=True),
}


@pytest.fixture
def interface(monkeypatch: pytest.MonkeyPatch) -> ChargePoint:
    monkeypatch.setattr(ChargePoint, "default_config", {})
    forget_accounts()
    yield ChargePoint(RemoteConfig(driver_type="chargepoint", stationID="1:10001", username="LICENSEKEY",
                                   password="pw"), None)
    forget_accounts()


def platform_points(interface: ChargePoint, path: Path) -> list[tuple[Any, ...]]:
    """The registers the Platform Driver makes from a file stored with ``vctl config store NAME FILE --csv``."""
    with argparse.FileType("r")(str(path)) as infile:  # how vctl opens the file it stores
        stored = infile.read()
    rows = process_raw_config(stored, "csv")
    rows = interface.prepare_registry_config(rows, None)
    registers = [interface.create_register(ChargePointPointConfig(**row)) for row in rows]
    return [_describe(register) for register in registers]


def cli_points(path: Path) -> list[tuple[Any, ...]]:
    """The registers ``chargepoint-driver check`` validates from the same file."""
    return [_describe(spec.build()) for spec in validate_rows(registry_rows(read_registry_csv(path)), str(path))]


def _describe(register: Any) -> tuple[Any, ...]:
    return (register.point_name, type(register).__name__, register.attribute_name, register.port,
            register.read_only, register.units, register.description, register.python_type)


@pytest.mark.parametrize("saved_as", SAVED_AS, ids=list(SAVED_AS))
def test_both_paths_accept_the_file_with_the_same_points(tmp_path: Path, interface: ChargePoint,
                                                         saved_as: str) -> None:
    path = tmp_path / "chargepoint.csv"
    path.write_bytes(SAVED_AS[saved_as](_sample_table()))
    expected = cli_points(SAMPLE_CSV)

    assert cli_points(path) == expected
    assert platform_points(interface, path) == expected


def test_both_paths_refuse_a_bad_row_with_the_same_problem(tmp_path: Path, interface: ChargePoint) -> None:
    table = _sample_table()
    bad = next(i for i, row in enumerate(table) if row[0] == "stationModel")
    table[bad][7] = "NoSuchRegister"
    path = tmp_path / "chargepoint.csv"
    path.write_bytes(_write(table, bom=True, newline="\r\n", pad_header=lambda c: f" {c} "))

    with pytest.raises(ConfigError) as by_cli:
        cli_points(path)
    with pytest.raises(ConfigError) as by_platform:
        platform_points(interface, path)

    def problems(error: pytest.ExceptionInfo[ConfigError]) -> list[str]:
        return [problem.split(" line ", 1)[1] for problem in error.value.problems]  # without the file's name

    assert problems(by_platform) == problems(by_cli) == [
        f"{bad + 1} (point 'stationModel'), column 'Register Name', value 'NoSuchRegister': must be one of "
        "StationRegister, StationStatusRegister, LoadRegister, AlarmRegister, StationRightsRegister, "
        "ChargingSessionRegister, StationGroupRegister"]


def test_both_paths_refuse_a_file_without_a_point_name_column(tmp_path: Path, interface: ChargePoint) -> None:
    table = _sample_table()
    table[0][0] = "Point"
    path = tmp_path / "chargepoint.csv"
    path.write_bytes(_write(table, bom=True, newline="\r\n"))

    with pytest.raises(ConfigError, match="header lacks column.s. Volttron Point Name; found Point, Attribute Name"):
        cli_points(path)
    with pytest.raises(ConfigError, match="header lacks column.s. Volttron Point Name; found Point, Attribute Name"):
        platform_points(interface, path)
