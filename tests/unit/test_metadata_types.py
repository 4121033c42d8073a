"""The metadata type of every point, as the platform driver itself derives it from the register
(``DriverAgent.update_metadata`` of volttron-lib-base-driver): a name of the platform's vocabulary, and a
JSON-friendly name for points whose value is a mapping, never a Python repr such as ``"<class 'dict'>"``."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from cp_unit_helpers import SAMPLE_CSV
from volttron.driver.base.driver import DriverAgent
from volttron.driver.interfaces.chargepoint.registry import read_registry_csv, registry_rows, validate_rows

# Registry Type -> metadata type. Timestamps travel as ISO-8601 text (units "Timestamp"), so they are strings.
METADATA_TYPE = {"string": "string", "int": "integer", "float": "float", "bool": "boolean",
                 "datetime": "string", "time": "string", "dict": "object"}

SAMPLE = [(spec, row["Type"]) for spec, row in zip(validate_rows(registry_rows(read_registry_csv(SAMPLE_CSV))),
                                                     read_registry_csv(SAMPLE_CSV))]


def platform_metadata(register: Any) -> dict[str, Any]:
    """What the platform stores as the point's metadata (and publishes beside every value)."""
    node = SimpleNamespace(meta_data=None)
    agent = SimpleNamespace(interface=SimpleNamespace(get_register_by_name=lambda _topic: register),
                            equipment_model=SimpleNamespace(get_node=lambda _topic: node), tz="UTC")
    DriverAgent.update_metadata(agent, "devices/campus/garage/cp1/point")
    return node.meta_data


@pytest.mark.parametrize("spec, registry_type", SAMPLE, ids=[spec.point_name for spec, _ in SAMPLE])
def test_every_sample_point_has_a_proper_metadata_type(spec, registry_type: str) -> None:
    register = spec.build()
    assert platform_metadata(register) == {"units": register.units, "type": METADATA_TYPE[registry_type],
                                           "tz": "UTC"}


def test_every_registry_type_is_covered_by_the_sample() -> None:
    assert {registry_type for _, registry_type in SAMPLE} == set(METADATA_TYPE)
