"""Device configuration: the keys of the spec, validated when the device is configured, never at first poll.

Free of VOLTTRON and of the SOAP stack, so that the CLI and other tools can validate a configuration on their own.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from typing import Any, Hashable

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .exceptions import ConfigError

PASSWORD_ENV = "CHARGEPOINT_PASSWORD"
DEFAULT_CACHE_EXPIRATION = 30.0
DEFAULT_TIMEOUT = 10.0
DEFAULT_SETTLE_LIMIT = 300.0
_STATION_ID = re.compile(r"^\d+:\d+$")
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024


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
    """Validate the ChargePoint keys; the error names every bad key without echoing the password."""
    flat = flatten_device_config(raw)
    target = target_problem(flat)
    problems = [f"{where}, {target}"] if target is not None else []
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
            problems.append(f"{where}, key '{field_name}'{shown}: {error['msg']}")
    if problems or settings is None:
        raise ConfigError("; ".join(problems), problems=problems) from None  # no chained error carrying the input
    return settings


def _alias(key: str) -> str:
    field = DeviceSettings.model_fields.get(key)
    return field.alias if field is not None and field.alias else key
