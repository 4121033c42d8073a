"""The core (client, registers, config, account) imports nothing from VOLTTRON, so the CLI and other platforms can
use it without the platform; only the interface module (chargepoint.py) may."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

CORE = [
    "volttron.driver.interfaces.chargepoint.client",
    "volttron.driver.interfaces.chargepoint.chargepoint_registers",
    "volttron.driver.interfaces.chargepoint.registry",
    "volttron.driver.interfaces.chargepoint.config",
    "volttron.driver.interfaces.chargepoint.account",
    "volttron.driver.interfaces.chargepoint.groups",
    "volttron.driver.interfaces.chargepoint.shed_events",
]
FORBIDDEN = ("volttron.driver.base", "volttron.platform", "volttron.client")

PROBE = r"""
import importlib, json, sys
FORBIDDEN = {forbidden!r}
NAMESPACES = {{"volttron", "volttron.driver", "volttron.driver.interfaces"}}

def offenders():
    found = []
    for name in sorted(sys.modules):
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
            found.append(name)
        elif (name.startswith("volttron.") and name not in NAMESPACES
              and not name.startswith("volttron.driver.interfaces.chargepoint")):
            found.append(name)  # any other part of VOLTTRON (volttron-core utils, ...)
    if "volttron.driver.interfaces.chargepoint.chargepoint" in sys.modules:
        found.append("volttron.driver.interfaces.chargepoint.chargepoint")
    return found

for module in {core!r}:
    importlib.import_module(module)
core = offenders()
# Control: the probe must see a VOLTTRON import when there is one.
importlib.import_module("volttron.driver.base.interfaces")
control = offenders()
print(json.dumps({{"core": core, "control": control}}))
"""


def test_core_modules_import_nothing_from_volttron():
    code = PROBE.format(forbidden=FORBIDDEN, core=CORE)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["core"] == [], f"the core pulled in VOLTTRON modules: {result['core']}"
    assert any(name.startswith("volttron.driver.base") for name in result["control"])


LIGHT_PROBE = r"""
import importlib, json, sys
importlib.import_module({module!r})
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in {heavy!r})))
"""

# Tools validate a config or a registry without the SOAP stack: these modules load neither suds nor gevent.
LIGHT = [
    "volttron.driver.interfaces.chargepoint.config",
    "volttron.driver.interfaces.chargepoint.registry",
    "volttron.driver.interfaces.chargepoint.chargepoint_registers",
    "volttron.driver.interfaces.chargepoint.attributes",
    "volttron.driver.interfaces.chargepoint.models",
    "volttron.driver.interfaces.chargepoint.shed_events",
]


@pytest.mark.parametrize("module", LIGHT)
def test_config_and_register_model_load_no_soap_stack(module):
    code = LIGHT_PROBE.format(module=module, heavy=["suds", "gevent"])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [], f"{module} pulled in the SOAP stack"


def test_the_light_probe_sees_the_soap_stack_when_it_is_there():
    code = LIGHT_PROBE.format(module="volttron.driver.interfaces.chargepoint.client", heavy=["suds", "gevent"])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "suds" in loaded and "gevent" in loaded
