"""Loading a device config and registry into an interface the way VOLTTRON's platform driver does.

The CLI and the tests use this so that they exercise the very code path of the platform: the config is split
into remote config and registry, the interface validates the rows (``prepare_registry_config``), builds each
register from a ``ChargePointPointConfig`` and inserts it under the device topic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from volttron.driver.base.config import RemoteConfig

from .chargepoint import ChargePoint, ChargePointPointConfig
from .registry import read_registry_csv
from .exceptions import ConfigError


@dataclass
class Device:
    """A configured interface with the topic of each point."""

    interface: ChargePoint
    base_topic: str

    def topic(self, point_name: str) -> str:
        return f"{self.base_topic}/{point_name}"

    @property
    def point_names(self) -> list[str]:
        return [register.point_name for register in self.interface.point_map.values()]

    def register(self, point_name: str) -> Any:
        try:
            return self.interface.point_map[self.topic(point_name)]
        except KeyError:
            raise ConfigError(f"no point {point_name!r} on this device; points: "
                              f"{', '.join(self.point_names)}") from None

    def scrape(self) -> tuple[dict[str, Any], dict[str, str]]:
        """One full poll: values and errors keyed by point name."""
        results, errors = self.interface.get_multiple_points(list(self.interface.point_map))
        strip = len(self.base_topic) + 1
        return ({t[strip:]: v for t, v in results.items()}, {t[strip:]: e for t, e in errors.items()})

    def set(self, point_name: str, value: Any) -> Any:
        """One write through the interface; returns its read-back."""
        self.register(point_name)
        return self.interface.set_point(self.topic(point_name), value)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """A device config file as stored in the config store (JSON)."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ConfigError(f"cannot read device config {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"device config {path} is not UTF-8 text: byte 0x{exc.object[exc.start]:02x} at offset "
                          f"{exc.start}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"device config {path} is not valid JSON: line {exc.lineno}, column {exc.colno}: "
                          f"{exc.msg}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"device config {path} must be a JSON object, not {type(raw).__name__}")
    return raw


def registry_path_for(config_path: str | Path, raw: dict[str, Any]) -> Path:
    """Resolve ``registry_config: "config://name"`` to the file of that name beside the config."""
    reference = raw.get("registry_config")
    if not isinstance(reference, str) or not reference:
        raise ConfigError(f"device config {config_path}: 'registry_config' must name the registry, e.g. "
                          f"\"config://chargepoint.csv\" (or pass --registry)")
    name = reference.removeprefix("config://")
    return Path(config_path).absolute().parent / name  # beside the file as named, also when it is a symlink


def split_config(raw: dict[str, Any]) -> dict[str, Any]:
    """The remote-config part of a device config, as the platform driver separates it."""
    config = dict(raw)
    remote = dict(config.pop("remote_config", config.pop("driver_config", {})) or {})
    remote.setdefault("driver_type", config.get("driver_type", "chargepoint"))
    return remote


def build_device(raw: dict[str, Any], rows: list[dict[str, Any]], base_topic: str = "devices/chargepoint",
                 overrides: dict[str, Any] | None = None) -> Device:
    """Configure an interface from a device config and registry rows, as the platform driver would."""
    remote = split_config(raw)
    remote.update(overrides or {})
    if ChargePoint.default_config is None:
        ChargePoint.default_config = {}
    interface = ChargePoint(RemoteConfig(**remote), None)
    rows = interface.prepare_registry_config([dict(r) for r in rows], None)
    for row in rows:
        register = interface.create_register(ChargePointPointConfig(**row))
        interface.insert_register(register, base_topic)
    interface.finalize_setup(initial_setup=True)
    return Device(interface, base_topic)


def load_device(config_path: str | Path, registry_path: str | Path | None = None,
                overrides: dict[str, Any] | None = None) -> Device:
    """Read a device config file and its registry CSV and configure an interface from them."""
    raw = read_config_file(config_path)
    registry = Path(registry_path) if registry_path else registry_path_for(config_path, raw)
    rows = read_registry_csv(registry)
    return build_device(raw, rows, f"devices/{Path(config_path).stem}", overrides)
