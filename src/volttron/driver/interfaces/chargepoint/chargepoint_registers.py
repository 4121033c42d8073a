"""The register types: a configured point reads one attribute of one station (or port), or of one station group.

The six of the spec serve station devices; ``StationGroupRegister`` (our extension) serves group devices, whose
registries hold only it.

Registers are duck-compatible with VOLTTRON's ``BaseRegister`` but import nothing from VOLTTRON; what each
attribute means lives in :mod:`.attributes`, how a registry row becomes a register in :mod:`.registry`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from .attributes import (ALARM_ATTRIBUTES, GROUP_ATTRIBUTES, LOAD_ATTRIBUTES, PUBLISHED_TYPES, RIGHTS_ATTRIBUTES,
                         SESSION_ATTRIBUTES, STATION_ATTRIBUTES, STATUS_ATTRIBUTES, Attribute)
from .conversions import iso_utc
from .exceptions import BadValue, WriteRejected
from .models import Source, WriteAction


class _MetadataName(type):
    """A type whose ``str()`` is a JSON-friendly type name.

    The platform driver publishes ``boolean``, ``integer``, ``float`` or ``string`` as a point's metadata type, and
    ``str(python_type)`` for any other type: ``"<class 'dict'>"`` for a dict.
    """

    metadata_type: str

    def __str__(cls) -> str:
        return cls.metadata_type


class JsonObject(dict, metaclass=_MetadataName):
    """The python_type of points whose value is a mapping (published as a plain dict, type ``object``)."""

    metadata_type = "object"


# Python types of attribute values that the platform would otherwise name by their repr.
_NAMED_TYPES: dict[type, type] = {dict: JsonObject}


class ChargepointRegister:
    """A configured point: one attribute of one station, optionally of one port."""

    source: ClassVar[Source]
    attributes: ClassVar[dict[str, Attribute]]

    def __init__(self, attribute: Attribute, point_name: str, port: int | None, units: str = "",
                 description: str = "", read_only: bool = True, kind: str | None = None) -> None:
        self.attribute = attribute
        self.point_name = point_name
        self.port = port or None
        self.units = units
        self.description = description
        self.read_only = read_only
        self.register_type = "byte"
        self.kind = kind or attribute.kind  # the registry row's Type: what the point publishes
        self.python_type = _NAMED_TYPES.get(PUBLISHED_TYPES[self.kind], PUBLISHED_TYPES[self.kind])

    # The four accessors VOLTTRON's platform driver calls on every register.
    def get_register_python_type(self) -> type:
        return self.python_type

    def get_register_type(self) -> tuple[str, bool]:
        return self.register_type, self.read_only

    def get_units(self) -> str:
        return self.units

    def get_description(self) -> str:
        return self.description

    @property
    def attribute_name(self) -> str:
        return self.attribute.name

    @property
    def revertible(self) -> bool:
        """False when a write cannot be undone, so reverting the point does nothing."""
        return self.attribute.revertible

    def value_from(self, data: Any) -> Any:
        """The point's value in the data fetched for its station, as its Type (None when the station lacks it).

        Raises BadValue when the value does not convert to the Type.
        """
        value = self.attribute.read(data, self.port)
        if value is None:
            return None
        try:
            return self.attribute.convert(value, self.kind)
        except ValueError:
            shown = iso_utc(value) if isinstance(value, datetime) else value
            hint = f"; Type {self.attribute.kind} reads it as it is" if self.kind != self.attribute.kind else ""
            raise BadValue(f"{self.point_name}: {self.attribute.name} value {shown!r} does not convert to "
                           f"{self.kind}, the point's Type{hint}") from None

    def plan_write(self, value: Any) -> WriteAction:
        """Validate a write and say what it asks of the API; raises WriteRejected before any call."""
        if self.attribute.write is None:
            raise WriteRejected(f"Point {self.point_name!r} ({self.attribute.name}) is read-only")
        return self.attribute.write(self.point_name, self.port, value)

    def __repr__(self) -> str:
        port = f", port {self.port}" if self.port else ""
        return f"<{type(self).__name__} {self.point_name!r}: {self.attribute.name}{port}>"


def _table(attributes: tuple[Attribute, ...]) -> dict[str, Attribute]:
    return {attribute.name: attribute for attribute in attributes}


class StationRegister(ChargepointRegister):
    """Inventory, location, hardware and pricing data (getStations); read-only."""

    source = Source.STATIONS
    attributes = _table(STATION_ATTRIBUTES)


class StationStatusRegister(ChargepointRegister):
    """Live port status (getStationStatus); read-only, port-level."""

    source = Source.STATUS
    attributes = _table(STATUS_ATTRIBUTES)


class LoadRegister(ChargepointRegister):
    """Live load and load-shed control (getLoad, shedLoad, clearShedState)."""

    source = Source.LOAD
    attributes = _table(LOAD_ATTRIBUTES)


class AlarmRegister(ChargepointRegister):
    """Most recent alarm (getAlarms) and alarm clearing (clearAlarms), per station or port."""

    source = Source.ALARMS
    attributes = _table(ALARM_ATTRIBUTES)


class StationRightsRegister(ChargepointRegister):
    """Rights profiles of every group the station belongs to (getStationRights), keyed by group id."""

    source = Source.RIGHTS
    attributes = _table(RIGHTS_ATTRIBUTES)


class ChargingSessionRegister(ChargepointRegister):
    """The most recent completed charging session (getChargingSessionData), on the station or on one port."""

    source = Source.SESSIONS
    attributes = _table(SESSION_ATTRIBUTES)


class StationGroupRegister(ChargepointRegister):
    """A station group's load and load-shed control (getLoad, shedLoad, clearShedState by sgID); station-level."""

    source = Source.GROUP_LOAD
    attributes = _table(GROUP_ATTRIBUTES)


STATION_REGISTER_TYPES: dict[str, type[ChargepointRegister]] = {
    cls.__name__: cls for cls in (StationRegister, StationStatusRegister, LoadRegister, AlarmRegister,
                                  StationRightsRegister, ChargingSessionRegister)
}
"""The register types a station device's registry may hold."""
GROUP_REGISTER_TYPES: dict[str, type[ChargepointRegister]] = {StationGroupRegister.__name__: StationGroupRegister}
"""The register types a group device's registry may hold."""
REGISTER_TYPES: dict[str, type[ChargepointRegister]] = {**STATION_REGISTER_TYPES, **GROUP_REGISTER_TYPES}
SHED_SOURCES = frozenset({Source.LOAD, Source.GROUP_LOAD})
"""The sources whose writable points are load sheds: what reverts bring back."""
