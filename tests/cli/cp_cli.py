"""Constants and helpers shared by the ``chargepoint-driver`` tests (a module name unique across test folders)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CONFIG = ROOT / "chargepoint.config"
SAMPLE_CSV = ROOT / "chargepoint.csv"
SCRIPT = Path(sys.executable).with_name("chargepoint-driver")
USERNAME = "cli-license-key-0123456789"
PASSWORD = "Cli-s3cret-Passw0rd-7f3a"
WRONG_PASSWORD = "Wr0ng-Passw0rd-c41d"
SECRETS = (PASSWORD, WRONG_PASSWORD)


@dataclass
class Result:
    """What one ``main(argv)`` call produced."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """stdout as exactly one JSON document (fails on anything before or after it)."""
        return json.loads(self.out)

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def sample_rows() -> list[dict[str, str]]:
    with SAMPLE_CSV.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def sample_point_names() -> list[str]:
    return [row["Volttron Point Name"] for row in sample_rows()]


def wrong_password_lines() -> list[str]:
    """What ``scrape`` says when the API refuses the credentials: one cause, once, with the points it hit."""
    return ["error: the device could not be read: getStations, getStationStatus, getLoad, getAlarms, "
            "getStationRights, getChargingSessionData: the API refused the credentials (username or password): "
            f"SOAP fault wsse:FailedAuthentication: UsernameToken processing failed ({len(sample_point_names())} "
            "points)"]


def csv_text(rows: list[dict[str, str]]) -> str:
    target = io.StringIO()
    writer = csv.DictWriter(target, fieldnames=list(sample_rows()[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return target.getvalue()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def script_env() -> dict[str, str]:
    """The environment of a command run as a user would: no password given in it."""
    return {k: v for k, v in os.environ.items() if k != "CHARGEPOINT_PASSWORD"}


def run_script(*argv: str, timeout: float, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """The installed ``chargepoint-driver`` in a process of its own, from the repository root by default."""
    assert SCRIPT.exists(), f"{SCRIPT} is not installed (pip install -e .)"
    return subprocess.run([str(SCRIPT), *argv], cwd=cwd, env=script_env(), capture_output=True, text=True,
                          timeout=timeout)
