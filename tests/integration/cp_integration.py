"""Constants and helpers shared by the integration tests (a module name unique across test folders)."""

from __future__ import annotations

import csv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
USERNAME = "test-license-key-0123456789"
PASSWORD = "s3cret-API-passw0rd-xyz"


def sample_rows() -> list[dict[str, str]]:
    with (ROOT / "chargepoint.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def group_rows() -> list[dict[str, str]]:
    """The sample group registry (chargepoint-group.csv)."""
    with (ROOT / "chargepoint-group.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
