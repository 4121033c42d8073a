"""README.rst's "Run it in a real platform" section shows the commands the platform tests run (no platform needed)."""
from __future__ import annotations

import re

from platform_harness import HISTORIAN_INSTALL, PLATFORM_DRIVER_INSTALL, PLATFORM_SHUTDOWN, ROOT, VOLTTRON_START


def section() -> str:
    text = (ROOT / "README.rst").read_text(encoding="utf-8")
    start = text.index("Run it in a real platform\n---")
    end = text.find("\n---", start + 40)
    return re.sub(r"\\\n\s*", "", text[start:end if end != -1 else len(text)])  # shell line continuations


def test_readme_shows_the_commands_the_platform_tests_run() -> None:
    text = section()
    for command in (
        "scripts/platform-env.sh --volttron-home",
        " ".join(VOLTTRON_START),
        "vctl " + " ".join(PLATFORM_DRIVER_INSTALL),
        "vctl install-lib ",
        "vctl config store platform.driver chargepoint.csv ",
        "vctl config store platform.driver devices/campus/garage/cp1 ",
        "vctl " + " ".join(HISTORIAN_INSTALL),
        "vctl " + " ".join(PLATFORM_SHUTDOWN),
        "--stations 4 --seed 1",
        "VIRTUAL_ENV=",
    ):
        assert command in text, f"README.rst's platform section lacks {command!r}"
