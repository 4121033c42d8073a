"""The VOLTTRON interface: adapts the ChargePoint core to the modular platform driver (``driver_type: chargepoint``).

One interface instance serves one device (one station); devices that use the same API account share one
:class:`~.account.Account` (client, cache, batching). Configuring a device never writes to its station.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any, Callable, Iterable

from pydantic import ConfigDict, Field, SecretStr, ValidationError

from volttron.driver.base.config import PointConfig, RemoteConfig
from volttron.driver.base.interfaces import BaseInterface, BasicRevert

from .account import Account, account_for
from .chargepoint_registers import ChargepointRegister
from .client import ChargePointClient
from .config import AccountSettings, DeviceSettings, load_device_settings
from .exceptions import ChargePointError, ConfigError, WriteRejected
from .registry import PointSpec, RegistryRow, registry_rows, validate_row, validate_rows

_log = logging.getLogger(__name__)


class ChargePointPointConfig(PointConfig):
    """A registry row: VOLTTRON's columns plus the ChargePoint ones of the spec."""

    attribute_name: str = Field(default="", alias="Attribute Name")
    port: str = Field(default="", alias="Port #")
    type: str = Field(default="", alias="Type")
    register_name: str = Field(default="", alias="Register Name")
    starting_value: str = Field(default="", alias="Starting Value")


class ChargePointRemoteConfig(RemoteConfig):
    """The device's remote config; the ChargePoint keys are validated by :class:`DeviceSettings`.

    Only the password is declared here, as a secret, so that no repr or dump of the config shows it.
    """

    model_config = ConfigDict(hide_input_in_errors=True)

    password: SecretStr | None = None


class ChargePoint(BasicRevert, BaseInterface):
    """Reads and controls one ChargePoint station through the ChargePoint Web Services API 5.0."""

    REGISTER_CONFIG_CLASS = ChargePointPointConfig
    INTERFACE_CONFIG_CLASS = ChargePointRemoteConfig
    # Replaceable so tests and other platforms can supply their own client (e.g. a recording fake).
    client_factory: Callable[[AccountSettings], ChargePointClient] | None = None

    def __init__(self, config: RemoteConfig, *args: Any, **kwargs: Any) -> None:
        BasicRevert.__init__(self)
        try:
            BaseInterface.__init__(self, config, *args, **kwargs)
        except ValidationError as exc:
            # The platform's remote-config model would quote values back, the password among them.
            problems = [f"ChargePoint device config, key '{'.'.join(map(str, e['loc']))}': {e['msg']}"
                        for e in exc.errors(include_input=False)]
            raise ConfigError("; ".join(problems), problems=problems) from None
        self._specs: dict[str, PointSpec] = {}  # rows validated by prepare_registry_config, by point name
        self._defaults_by_point: dict[str, Any] = {}  # revert defaults wait here until their topic is known
        self.settings: DeviceSettings = load_device_settings(self.config.model_dump(), "ChargePoint device config")
        self._account: Account | None = None

    def __repr__(self) -> str:
        return f"<ChargePoint station {self.settings.station_id}, {len(self.point_map)} points>"

    @property
    def account(self) -> Account:
        """The shared account; its client (and WSDL) are made at the first API call, not when configuring."""
        if self._account is None:
            self._account = account_for(self.settings.account_settings(), self.client_factory)
            self._account.register(self.settings.station_id, self)
        return self._account

    # -- configuration -------------------------------------------------------------------------------------------

    @property
    def _registry_name(self) -> str:
        return f"registry of station {self.settings.station_id}"

    def prepare_registry_config(self, registry_config: list[dict], remote_config: RemoteConfig | None = None
                                ) -> list[dict]:
        """Check every row before any is used, so one bad row names itself and refuses only this device.

        The validated rows are kept for :meth:`create_register`, which the platform calls once per row next.
        """
        specs = validate_rows(registry_rows(registry_config), self._registry_name)
        self._specs = {spec.point_name: spec for spec in specs}
        return registry_config

    def create_register(self, register_definition: PointConfig) -> ChargepointRegister:
        spec = self._specs.get(register_definition.volttron_point_name)
        if spec is None:  # a row that did not come through prepare_registry_config
            values = register_definition.model_dump(by_alias=True)
            values["Writable"] = str(register_definition.writable)
            spec = validate_row(RegistryRow.from_mapping(0, values), self._registry_name)
        register = spec.build()
        if spec.starting_value is not None:
            self._defaults_by_point[register.point_name] = spec.starting_value
        return register

    def insert_register(self, register: ChargepointRegister, base_topic: str) -> None:
        super().insert_register(register, base_topic)
        topic = f"{base_topic}/{register.point_name}"
        if register.point_name in self._defaults_by_point:
            self.set_default(topic, self._defaults_by_point.pop(register.point_name))
        self.account  # join the account (no API call) so batched reads include this station from the first poll

    # -- reads -----------------------------------------------------------------------------------------------------

    def get_point(self, topic: str, **kwargs: Any) -> Any:
        results, errors = self._get_multiple_points([topic])
        if topic in errors:
            raise ChargePointError(errors[topic])
        return results.get(topic)

    def _get_multiple_points(self, topics: Iterable[str], **kwargs: Any) -> tuple[dict, dict]:
        """One poll: at most one API call per source, fetched concurrently; errors are per point."""
        results: dict[str, Any] = {}
        errors: dict[str, str] = {}
        by_source: dict[Any, list[tuple[str, ChargepointRegister]]] = defaultdict(list)
        for topic in topics:
            register = self.point_map.get(topic)
            if register is None:
                errors[topic] = f"Point not configured on device: {topic}"
            else:
                by_source[register.source].append((topic, register))
        if not by_source:
            return results, errors
        data = self.account.read_sources(self.settings.station_id, by_source, self.settings.cache_expiration)
        for source, points in by_source.items():
            value = data[source]
            for topic, register in points:
                if isinstance(value, ChargePointError):
                    errors[topic] = str(value)
                    continue
                try:
                    results[topic] = register.value_from(value)
                except ChargePointError as exc:  # a value that does not convert to the point's Type
                    errors[topic] = str(exc)
                except (AttributeError, KeyError, TypeError, ValueError) as exc:
                    errors[topic] = f"cannot read {register.attribute_name}: {exc!r}"
        return results, errors

    # -- writes ----------------------------------------------------------------------------------------------------

    def _set_point(self, topic: str, value: Any) -> Any:
        """Validate, write through the API, then return a fresh read-back.

        The read-back may still show the old value: the API accepts a shed at once but the station applies it
        after a delay. Any refusal raises (WriteRejected before a call, ApiError/SoapFault/TransportError after).
        """
        register = self.point_map.get(topic)
        if register is None:
            writable = [r.point_name for r in self.point_map.values() if not r.read_only]
            raise WriteRejected(f"Point not configured on device: {topic}; writable points: "
                                f"{', '.join(writable) or 'none'}")
        if register.read_only:
            raise WriteRejected(f"{register.point_name} is read-only (Writable is False for "
                                f"{register.attribute_name})")
        action = register.plan_write(value)
        self.account.write(action, self.settings.station_id, self.settings.shed_duration)
        _log.info("station %s: %s written (%s)", self.settings.station_id, register.point_name, action.operation)
        try:
            return self.get_point(topic)
        except ChargePointError as exc:
            _log.warning("station %s: %s written, but its read-back failed: %s", self.settings.station_id,
                         register.point_name, exc)
            return None

    def revert_point(self, topic: str, **kwargs: Any) -> None:
        register = self.point_map.get(topic)
        if register is not None and not register.revertible:
            _log.debug("%s cannot be reverted (cleared alarms stay cleared)", topic)
            return
        super().revert_point(topic)

    def revert_all(self, **kwargs: Any) -> None:
        for topic in [t for t, r in self.point_map.items() if not r.revertible]:
            self._tracker.clear_dirty_point(topic)
            self._tracker.defaults.pop(topic, None)
        super().revert_all()


__all__ = ["ChargePoint", "ChargePointPointConfig", "ChargePointRemoteConfig", "ConfigError"]
