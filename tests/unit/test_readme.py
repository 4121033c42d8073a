"""README.rst is valid reStructuredText and documents every config key and every attribute of the spec."""

from __future__ import annotations

from pathlib import Path

import docutils.core
import docutils.utils

from volttron.driver.interfaces.chargepoint.registry import all_attributes
from volttron.driver.interfaces.chargepoint.config import DeviceSettings

README = Path(__file__).resolve().parents[2] / "README.rst"


def test_readme_renders_without_warnings():
    docutils.core.publish_doctree(README.read_text(encoding="utf-8"),
                                  settings_overrides={"report_level": docutils.utils.Reporter.WARNING_LEVEL,
                                                      "halt_level": docutils.utils.Reporter.WARNING_LEVEL})


def test_readme_documents_every_attribute_and_config_key():
    text = README.read_text(encoding="utf-8")
    missing = [a.name for _cls, a in all_attributes() if a.name not in text]
    keys = [f.alias or name for name, f in DeviceSettings.model_fields.items()]
    missing += [key for key in keys if f"``{key}``" not in text]
    assert missing == []


def test_readme_gives_the_two_setup_commands_first():
    text = README.read_text(encoding="utf-8")
    assert text.index("./demo.sh") < text.index("Installing into a VOLTTRON platform")
    assert text.index("./test.sh") < text.index("Installing into a VOLTTRON platform")
