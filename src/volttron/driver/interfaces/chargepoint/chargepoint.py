"""The VOLTTRON interface: adapts the ChargePoint core to the modular platform driver (``driver_type: chargepoint``).

One interface instance serves one device: one station (``stationID``) or one station group (``sgID``); devices
that use the same API account share one :class:`~.account.Account` (client, cache, batching). Configuring a device
never writes to its station. Scheduled shed events go through the platform's ``call`` RPC (``schedule_shed``,
``cancel_shed``; see :mod:`.shed_events`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any, Callable, Iterable

from pydantic import ConfigDict, Field, SecretStr, ValidationError

from volttron.driver.base.config import PointConfig, RemoteConfig
from volttron.driver.base.interfaces import BaseInterface

from .account import Account, account_for
from .chargepoint_registers import SHED_SOURCES, ChargepointRegister
from .client import ChargePointClient
from .config import AccountSettings, DeviceSettings, load_device_settings
from .control import revert_defaults
from .exceptions import ChargePointError, ConfigError, WriteRejected
from .models import Freshness, Shed, Source
from .registry import (PointSpec, RegistryRow, normalise_rows, registry_rows, require_columns, validate_row,
                       validate_rows)
from .shed_events import checked_event_id, event_request, platform_callable
from .writes import WriteOptions

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


class ChargePoint(BaseInterface):
    """Reads and controls one ChargePoint station, or one station group, through the ChargePoint Web Services API 5.0.

    Reverts are the driver's own (not VOLTTRON's BasicRevert, which would write back any polled value, derived
    ones included): reverting a load point brings the station (or group) back to its Starting Values, else to the
    sheds in force before the driver's first write.
    """

    REGISTER_CONFIG_CLASS = ChargePointPointConfig
    INTERFACE_CONFIG_CLASS = ChargePointRemoteConfig
    # What the platform driver's ``call`` RPC may invoke (an own set: the base class's is shared by every driver).
    interface_callable_methods = {"schedule_shed", "cancel_shed"}
    # Replaceable so tests and other platforms can supply their own client (e.g. a recording fake).
    client_factory: Callable[[AccountSettings], ChargePointClient] | None = None

    def __init__(self, config: RemoteConfig, *args: Any, **kwargs: Any) -> None:
        try:
            super().__init__(config, *args, **kwargs)
        except ValidationError as exc:
            # The platform's remote-config model would quote values back, the password among them.
            problems = [f"ChargePoint device config, key '{'.'.join(map(str, e['loc']))}': {e['msg']}"
                        for e in exc.errors(include_input=False)]
            raise ConfigError("; ".join(problems), problems=problems) from None
        self._specs: dict[str, PointSpec] = {}  # rows validated by prepare_registry_config, by point name
        # Per source: the answer the last poll converted, for which points, and their values and errors.
        self._converted: dict[Source, tuple[Any, tuple, dict[str, Any], dict[str, str]]] = {}
        self._groupings: dict[tuple[str, ...], tuple[dict, dict[str, str]]] = {}  # see _grouped
        self._revert_defaults: dict[int | None, Shed | None] = {}  # Starting Values of load points, by port
        self.settings: DeviceSettings = load_device_settings(self.config.model_dump(), "ChargePoint device config")
        self._options = WriteOptions(self.settings.shed_duration, self.settings.shed_lease, self.settings.settle_limit)
        self._freshness = Freshness(self.settings.cache_expiration, self.settings.static_expiration)
        self._account: Account | None = None

    def __repr__(self) -> str:
        return f"<ChargePoint {self.settings.target_name}, {len(self.point_map)} points>"

    @property
    def account(self) -> Account:
        """The shared account; its client (and WSDL) are made at the first API call, not when configuring."""
        if self._account is None:
            self._account = account_for(self.settings.account_settings(), self.client_factory)
            if self.settings.is_group:
                self._account.register_group(self.settings.target)
            else:
                self._account.register(self.settings.target, self)
        return self._account

    # -- configuration -------------------------------------------------------------------------------------------

    @property
    def _registry_name(self) -> str:
        return f"registry of {self.settings.target_name}"

    def prepare_registry_config(self, registry_config: list[dict], remote_config: RemoteConfig | None = None
                                ) -> list[dict]:
        """Check every row before any is used, so one bad row names itself and refuses only this device.

        The rows come from the config store's own CSV parsing: they are normalised first (byte-order mark, spaces,
        line-end leftovers), exactly as ``chargepoint-driver check`` reads the file, and the clean rows are what
        the platform validates next. The validated rows are kept for :meth:`create_register`, which the platform
        calls once per row.
        """
        rows = normalise_rows(registry_config)
        if rows:
            require_columns(dict.fromkeys(name for row in rows for name in row), self._registry_name)
        specs = validate_rows(registry_rows(rows), self._registry_name, group=self.settings.is_group)
        try:
            self._revert_defaults = revert_defaults(
                (spec.point_name, spec.port, spec.register_class(spec.attribute, spec.point_name, spec.port)
                 .plan_write(spec.starting_value)) for spec in specs
                if spec.starting_value is not None and spec.register_class.source in SHED_SOURCES)
        except ConfigError as exc:
            raise ConfigError(f"{self._registry_name}: {exc}") from None
        self._specs = {spec.point_name: spec for spec in specs}
        return rows

    def create_register(self, register_definition: PointConfig) -> ChargepointRegister:
        spec = self._specs.get(register_definition.volttron_point_name)
        if spec is None:  # a row that did not come through prepare_registry_config
            values = register_definition.model_dump(by_alias=True)
            values["Writable"] = str(register_definition.writable)
            spec = validate_row(RegistryRow.from_mapping(0, values), self._registry_name,
                                group=self.settings.is_group)
        return spec.build()

    def insert_register(self, register: ChargepointRegister, base_topic: str) -> None:
        super().insert_register(register, base_topic)
        self._groupings.clear()
        self._converted.clear()
        self.account  # join the account (no API call) so batched reads include this station from the first poll

    # -- reads -----------------------------------------------------------------------------------------------------

    def get_point(self, topic: str, **kwargs: Any) -> Any:
        results, errors = self.get_multiple_points([topic])
        if topic in errors:
            raise ChargePointError(errors[topic])
        return results.get(topic)

    def get_multiple_points(self, topics: Iterable[str], **kwargs: Any) -> tuple[dict, dict]:
        """One poll: at most one API call per source, fetched concurrently; errors are per point."""
        by_source, unknown = self._grouped(topics)
        results: dict[str, Any] = {}
        errors: dict[str, str] = dict(unknown)
        if not by_source:
            return results, errors
        data = self.account.read_sources(self.settings.target, by_source, self._freshness)
        for source, points in by_source.items():
            value = data[source]
            if isinstance(value, ChargePointError):
                errors.update((topic, str(value)) for topic, _register in points)
                continue
            # The same cached answer as the last poll converts to the same values: most of a warm poll's points
            # (inventory, pricing, rights, sessions) are not converted again.
            last = self._converted.get(source)
            if last is None or last[0] is not value or last[1] is not points:
                converted: tuple[dict[str, Any], dict[str, str]] = ({}, {})
                for topic, register in points:
                    ok, outcome = _convert(register, value)
                    converted[0 if ok else 1][topic] = outcome
                last = self._converted[source] = (value, points, *converted)
            results.update(last[2])
            errors.update(last[3])
        return results, errors

    def _grouped(self, topics: Iterable[str]) -> tuple[dict[Source, tuple[tuple[str, ChargepointRegister], ...]],
                                                       dict[str, str]]:
        """The topics' registers by source, and the topics not configured; worked out once per list of topics
        (a poll asks for the same ones every time)."""
        topics = tuple(topics)
        known = self._groupings.get(topics)
        if known is not None:
            return known
        by_source: dict[Source, list[tuple[str, ChargepointRegister]]] = defaultdict(list)
        unknown: dict[str, str] = {}
        for topic in topics:
            register = self.point_map.get(topic)
            if register is None:
                unknown[topic] = f"Point not configured on device: {topic}"
            else:
                by_source[register.source].append((topic, register))
        if len(self._groupings) >= 16:  # get_point's single topics, a few poll groups
            self._groupings.clear()
        known = self._groupings[topics] = ({source: tuple(points) for source, points in by_source.items()}, unknown)
        return known

    # -- writes ----------------------------------------------------------------------------------------------------

    def _writable(self, topic: str) -> ChargepointRegister:
        register = self.point_map.get(topic)
        if register is None:
            writable = [r.point_name for r in self.point_map.values() if not r.read_only]
            raise WriteRejected(f"Point not configured on device: {topic}; writable points: "
                                f"{', '.join(writable) or 'none'}")
        if register.read_only:
            raise WriteRejected(f"{register.point_name} is read-only (Writable is False for "
                                f"{register.attribute_name})")
        return register

    def set_point(self, topic: str, value: Any, **kwargs: Any) -> Any:
        """Validate, write exactly that through the API, then return a fresh read-back.

        The read-back shows the station before it applies the write (the API accepts a shed at once, the station
        applies it after a delay; polls re-read its load until it does). Any refusal raises: WriteRejected before a
        call, ApiError/SoapFault/TransportError after.
        """
        register = self._writable(topic)
        action = register.plan_write(value)
        self.account.write(self.settings.target, register.point_name, action, self._options,
                           source=register.source)
        _log.info("%s: %s := %r written (%s)", self.settings.target_name, register.point_name, value,
                  action.operation.value)
        try:
            return self.get_point(topic)
        except ChargePointError as exc:
            _log.warning("%s: %s written, but its read-back failed: %s", self.settings.target_name,
                         register.point_name, exc)
            return None

    def revert_point(self, topic: str, **kwargs: Any) -> None:
        """Reverting a load point brings the whole station (or group) back (see the class docstring); other points
        have nothing to revert (cleared alarms stay cleared, read-only points were never written)."""
        register = self.point_map.get(topic)
        if register is None:
            raise WriteRejected(f"Point not configured on device: {topic}")
        if register.read_only or not register.revertible or register.source not in SHED_SOURCES:
            _log.debug("%s: nothing to revert", topic)
            return
        self._revert(register.source)

    def revert_all(self, **kwargs: Any) -> None:
        """Bring the station (or group) back once, if the device has a writable load point."""
        sources = {r.source for r in self.point_map.values() if not r.read_only and r.source in SHED_SOURCES}
        for source in sources:
            self._revert(source)

    def _revert(self, source: Source) -> None:
        self.account.revert(self.settings.target, self._revert_defaults, self._options, source=source)

    # -- scheduled shed events (the platform driver's ``call`` RPC) -----------------------------------------------

    @platform_callable
    def schedule_shed(self, start: Any, minutes: Any, kw_per_port: Any = None, percent: Any = None,
                      allow_opt_out: Any = False) -> int:
        """Have the ChargePoint cloud shed this device's station (or every station of its group) from ``start``
        (an aware datetime, or ISO-8601 text with a UTC offset) for ``minutes``, capping each port at
        ``kw_per_port`` kW or shedding ``percent`` % of each station; returns the API's eventId.

        Everything is checked before any call (WriteRejected); the cloud starts and ends the event by itself, and
        neither a revert nor a restart of the driver cancels it: ``cancel_shed`` does.
        """
        request = event_request(start, minutes, kw_per_port, percent, allow_opt_out, now=self.account.wall_clock())
        target = ({"sg_id": self.settings.sg_id} if self.settings.is_group
                  else {"station_id": self.settings.station_id})
        found = self.account.client.create_load_shed_event(
            start=request.start, minutes=request.minutes, allowed_kw_per_port=request.kw_per_port,
            percent_per_station=request.percent, allow_opt_out=request.allow_opt_out, **target)
        _log.info("%s: shed event %s scheduled from %s for %d min (%s)", self.settings.target_name, found,
                  request.start.isoformat(), request.minutes,
                  f"{request.kw_per_port:g} kW per port" if request.kw_per_port is not None
                  else f"{request.percent:g} % per station")
        return found

    @platform_callable
    def cancel_shed(self, event_id: Any) -> str | None:
        """Remove a scheduled shed event (before its start: cancelled; while it runs: ended early); returns the
        API's response text. An event ID that is not a positive whole number is refused before any call."""
        checked = checked_event_id(event_id)
        text = self.account.client.remove_load_shed_event(checked)
        _log.info("%s: shed event %s removed: %s", self.settings.target_name, checked, text)
        return text


def _convert(register: ChargepointRegister, value: Any) -> tuple[bool, Any]:
    """(True, the point's value) or (False, the one-line error that replaces it)."""
    try:
        return True, register.value_from(value)
    except ChargePointError as exc:  # a value that does not convert to the point's Type
        return False, str(exc)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        return False, f"cannot read {register.attribute_name}: {exc!r}"


__all__ = ["ChargePoint", "ChargePointPointConfig", "ChargePointRemoteConfig", "ConfigError"]
