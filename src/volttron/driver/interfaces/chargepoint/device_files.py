"""A device's files as the commands read them: the config file and its registry CSV, every problem naming its file.

The platform knows neither file name (it gets both from its config store), so the commands validate the files
themselves before configuring the interface exactly as the platform does (:mod:`.standalone`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import DeviceSettings, load_device_settings
from .exceptions import ConfigError
from .registry import read_registry_csv, registry_rows, validate_rows
from .standalone import Device, build_device, read_config_file, registry_path_for


def misplaced_keys(raw: dict[str, Any], where: str) -> list[str]:
    """ChargePoint keys at the top level of a device config, where the platform never looks for them."""
    nested = "remote_config" if "remote_config" in raw else "driver_config"
    keys = [field.alias or name for name, field in DeviceSettings.model_fields.items()]
    return [f"{where}, key '{key}': at the top level, where the platform ignores it; the ChargePoint keys belong "
            f"inside \"{nested}\"" for key in keys if key in raw]


def read_device_config(path: Path) -> tuple[dict[str, Any], DeviceSettings]:
    """The raw device config and its validated ChargePoint settings; ConfigError names the file and the keys.

    A password left out of the file (and not in the environment) is reported as missing.
    """
    raw = read_config_file(path)
    misplaced = misplaced_keys(raw, str(path))
    if misplaced:
        raise ConfigError("; ".join(misplaced), problems=misplaced)
    return raw, load_device_settings(raw, str(path))


def load_device_files(config: Path, registry: Path | None = None) -> Device:
    """The device as the platform would configure it from ``config`` and its registry (or ``registry``)."""
    raw, settings = read_device_config(config)
    registry = registry or registry_path_for(config, raw)
    rows = read_registry_csv(registry)
    validate_rows(registry_rows(rows), str(registry), group=settings.is_group)
    return build_device(raw, rows, f"devices/{config.stem}")


def validation_problems(exc: Any, where: str) -> list[str]:
    """The problems of a pydantic ValidationError raised by the platform's own config models, one per key.

    Their inputs are not echoed: one may be a password.
    """
    return [f"{where}, key '{'.'.join(map(str, e['loc']))}': {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()]
