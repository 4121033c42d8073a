"""Device configuration: the keys of the spec, validated when the device is configured, never at first poll.

Free of VOLTTRON and of the SOAP stack, so that the CLI and other tools can validate a configuration on their own.
An unknown key is refused with the nearest known one (a typo must not quietly fall back to a default), and the
files and addresses a config names (``caFile``, ``wsdl``, ``endpoint``) are checked here, not at the first call.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Hashable
from urllib.parse import urlsplit
from urllib.request import url2pathname

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .exceptions import ConfigError

PASSWORD_ENV = "CHARGEPOINT_PASSWORD"
DEFAULT_CACHE_EXPIRATION = 30.0
DEFAULT_TIMEOUT = 10.0
DEFAULT_SETTLE_LIMIT = 300.0
DEFAULT_STATIC_EXPIRATION = 3600.0
_STATION_ID = re.compile(r"^\d+:\d+$")
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024

# Keys of a device config that belong to the platform (VOLTTRON's RemoteConfig, DeviceConfig and EquipmentConfig,
# by field name and alias, and the keys of the 1.x device config), and of its remote config; any "publish_" key.
PLATFORM_KEYS = frozenset({
    "debug", "driver_type", "heart_beat_point", "module", "plugins",
    "active", "group", "interval", "polling_interval", "reservation_required_for_write", "stale_timeout",
    "stale_timeout_configured", "stale_timeout_multiplier", "strict_all_publishes", "all_publish_interval",
    "allow_duplicate_remotes", "equipment_specific_fields", "registry_config",
    "driver_config", "remote_config", "timezone", "campus", "building", "unit",
})
_PLATFORM_PREFIXES = ("publish_",)


@dataclass(frozen=True)
class AccountSettings:
    """How to reach one API account; devices with equal settings share one account (client, cache, batching)."""

    username: str
    password: str = field(repr=False)
    wsdl: str | None = None
    endpoint: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    ca_file: str | None = None
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    def key(self) -> tuple[Hashable, ...]:
        digest = hashlib.sha256(self.password.encode()).hexdigest()
        return (self.wsdl, self.endpoint, self.username, digest, self.timeout, self.ca_file, self.max_response_bytes)


class DeviceSettings(BaseModel):
    """The ChargePoint keys of a device config (inside ``driver_config`` for legacy configs)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    station_id: str | None = Field(None, alias="stationID", description="ChargePoint station ID, e.g. 1:123456")
    sg_id: int | None = Field(None, alias="sgID", gt=0,
                              description="ChargePoint station group ID, e.g. 39491: a group device instead of a "
                                          "station device")
    username: str = Field(min_length=1, description="API license key")
    password: SecretStr = Field(description=f"API password; taken from ${PASSWORD_ENV} when absent")
    cache_expiration: float = Field(DEFAULT_CACHE_EXPIRATION, alias="cacheExpiration", ge=0,
                                    description="seconds a response serves every device of the account")
    static_expiration: float = Field(DEFAULT_STATIC_EXPIRATION, alias="staticExpiration", ge=0,
                                     description="seconds inventory, pricing and rights answers serve; 0 = as "
                                                 "cacheExpiration")
    wsdl: str | None = Field(None, description="WSDL URL or path; default: the bundled copy of the 5.0 WSDL")
    endpoint: str | None = Field(None, description="SOAP endpoint URL overriding the WSDL's address")
    timeout: float = Field(DEFAULT_TIMEOUT, gt=0, le=600, description="seconds allowed for each API call")
    shed_duration: int = Field(0, alias="shedDuration", ge=0,
                               description="minutes a load shed lasts before it lapses; 0 = until cleared")
    shed_lease: int = Field(0, alias="shedLease", ge=0, le=1440,
                            description="minutes a shed is written for and renewed while the device is polled, so "
                                        "that it lapses within this time once polling stops; 0 = off")
    settle_limit: float = Field(DEFAULT_SETTLE_LIMIT, alias="settleLimit", ge=0, le=3600,
                                description="seconds a station's load is re-read at every poll after a write, "
                                            "until it shows the write")
    ca_file: str | None = Field(None, alias="caFile", description="CA bundle to verify the API's certificate")

    @model_validator(mode="before")
    @classmethod
    def _password_from_environment(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("password"):
            # None or "" (e.g. an unset field of the platform's remote config) count as missing.
            data = {key: value for key, value in data.items() if key != "password"}
            if os.environ.get(PASSWORD_ENV):
                data["password"] = os.environ[PASSWORD_ENV]
        return data

    @field_validator("password")
    @classmethod
    def _password_not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError(f"must not be empty (or leave it out and set ${PASSWORD_ENV})")
        return value

    @field_validator("station_id")
    @classmethod
    def _station_id_format(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not _STATION_ID.match(value):
            raise ValueError("must look like 1:123456 (network id, colon, station number)")
        return value

    @field_validator("sg_id", mode="before")
    @classmethod
    def _sg_id_is_a_number(cls, value: Any) -> Any:
        if isinstance(value, (bool, float)):
            raise ValueError("must be a whole group number, e.g. 39491")
        if isinstance(value, str):
            return value.strip() or None  # empty counts as not given, as for the other optional keys
        return value

    @model_validator(mode="after")
    def _one_target(self) -> "DeviceSettings":
        problem = target_problem({"stationID": self.station_id, "sgID": self.sg_id})
        if problem is not None:
            raise PydanticCustomError(_TARGET_ERROR, problem)
        return self

    @property
    def is_group(self) -> bool:
        """True for a group device (``sgID``), False for a station device (``stationID``)."""
        return self.sg_id is not None

    @property
    def target(self) -> str:
        """What the device reads and writes: its station ID, or its group ID as text."""
        return str(self.sg_id) if self.sg_id is not None else str(self.station_id)

    @property
    def target_name(self) -> str:
        """The device's target for messages: ``station 1:123456`` or ``group 39491``."""
        return f"group {self.sg_id}" if self.sg_id is not None else f"station {self.station_id}"

    @field_validator("wsdl", "endpoint", "ca_file", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("endpoint")
    @classmethod
    def _endpoint_is_a_url(cls, value: str | None) -> str | None:
        if value is not None and not _is_web_url(value):
            raise ValueError("must be an http:// or https:// URL of the SOAP endpoint")
        return value

    @field_validator("wsdl")
    @classmethod
    def _wsdl_exists(cls, value: str | None) -> str | None:
        if value is None or _is_web_url(value):
            return value
        if "://" in value and not value.startswith("file:"):
            raise ValueError("must be an http:// or https:// URL, or the path of a WSDL file")
        path = Path(url2pathname(urlsplit(value).path)) if value.startswith("file:") else Path(value).expanduser()
        if not path.is_file():
            raise ValueError(f"must be an http:// or https:// URL, or the path of a WSDL file; there is no file "
                             f"at {path.resolve()}")
        return value

    @field_validator("ca_file")
    @classmethod
    def _ca_file_loads(cls, value: str | None) -> str | None:
        if value is None:
            return value
        path = Path(value).expanduser()
        if not path.is_file():
            raise ValueError(f"there is no file at {path.resolve()} (caFile names a PEM CA bundle)")
        try:
            ssl.create_default_context(cafile=str(path))
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"{path.resolve()} cannot be loaded as a PEM CA bundle ({exc.strerror or exc})") \
                from None
        return value

    def account_settings(self) -> AccountSettings:
        return AccountSettings(self.username, self.password.get_secret_value(), self.wsdl, self.endpoint,
                               self.timeout, self.ca_file)


_TARGET_ERROR = "device_target"


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def target_problem(flat: dict[str, Any]) -> str | None:
    """Why a device config names neither or both of ``stationID`` and ``sgID`` (None when it names one)."""
    station, group = _given(flat.get("stationID")), _given(flat.get("sgID"))
    if station and group:
        return ("keys 'stationID' and 'sgID': give exactly one of the two (a device is one station or one station "
                "group), not both")
    if not station and not group:
        return ("key 'stationID': required key is missing (or key 'sgID' for a station group device; exactly one "
                "of the two)")
    return None


def flatten_device_config(raw: dict[str, Any]) -> dict[str, Any]:
    """Accept both the legacy shape (keys inside ``driver_config``) and the flat 2.x remote config."""
    flat = {k: v for k, v in raw.items() if k not in ("driver_config", "remote_config")}
    for nested in ("driver_config", "remote_config"):
        if nested in raw and not isinstance(raw[nested], dict):
            raise ConfigError(f"'{nested}' must be a JSON object with the ChargePoint keys, not "
                              f"{type(raw[nested]).__name__}")
        if isinstance(raw.get(nested), dict):
            flat.update(raw[nested])
    return flat


def load_device_settings(raw: dict[str, Any], where: str = "device config") -> DeviceSettings:
    """Validate the ChargePoint keys; the error names every bad or unknown key without echoing the password."""
    flat = flatten_device_config(raw)
    target = target_problem(flat)
    problems = [f"{where}, {target}"] if target is not None else []
    problems += [f"{where}, key '{key}': {unknown_key_message(key)}" for key in unknown_keys(flat)]
    settings: DeviceSettings | None = None
    try:
        settings = DeviceSettings.model_validate(flat)
    except ValidationError as exc:
        for error in exc.errors():
            if error["type"] == _TARGET_ERROR:
                continue  # reported above, from the raw keys, even when other keys are wrong too
            key = ".".join(str(part) for part in error["loc"]) or "(config)"
            field_name = _alias(key)
            if error["type"] == "missing":
                message = "required key is missing"
                if field_name == "password":
                    message += f" (or set ${PASSWORD_ENV})"
                problems.append(f"{where}, key '{field_name}': {message}")
                continue
            shown = "" if field_name == "password" else f", value {error.get('input')!r}"
            problems.append(f"{where}, key '{field_name}'{shown}: {error['msg'].removeprefix('Value error, ')}")
    if problems or settings is None:
        raise ConfigError("; ".join(problems), problems=problems) from None  # no chained error carrying the input
    return settings


def driver_keys() -> list[str]:
    """The ChargePoint keys, as spelled in configs."""
    return [f.alias or name for name, f in DeviceSettings.model_fields.items()]


def known_keys() -> list[str]:
    """The ChargePoint keys and the platform's own keys."""
    return driver_keys() + sorted(PLATFORM_KEYS)


def unknown_keys(flat: dict[str, Any]) -> list[str]:
    """Keys of a (flattened) device config that neither the driver nor the platform knows."""
    known = set(known_keys()) | set(DeviceSettings.model_fields)
    return [key for key in flat if key not in known and not str(key).startswith(_PLATFORM_PREFIXES)]


def unknown_key_message(key: str) -> str:
    """What to say about an unknown key: the nearest known one, or the list of the driver's keys."""
    candidates = {known.lower(): known for known in known_keys()}
    nearest = difflib.get_close_matches(str(key).lower(), list(candidates), n=1, cutoff=0.6)
    if nearest:
        return f"unknown key; did you mean '{candidates[nearest[0]]}'?"
    return f"unknown key; the driver's keys are {', '.join(driver_keys())}"


def _is_web_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _alias(key: str) -> str:
    field = DeviceSettings.model_fields.get(key)
    return field.alias if field is not None and field.alias else key
