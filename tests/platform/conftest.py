"""Fixtures for tests that run a real VOLTTRON platform (marker ``platform``; ``-m "not platform"`` leaves them out).

One platform, with the Platform Driver agent installed, serves the whole session; it is shut down and every process
it started is ended when the session ends, also after failures.

A machine that cannot run the platform skips these tests, saying why and what to install; with the environment
variable ``CI`` set (``.ci/run`` sets it) the same reason is a failure, so CI cannot pass without them.
"""
from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator

import pytest

from platform_harness import Platform, running_platform

PLATFORM_PYTHON = os.environ.get("CHARGEPOINT_PLATFORM_PYTHON", "/usr/bin/python3.11")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "log_allows(*patterns): platform log records (ERROR, or with a traceback) "
                                       "that the test expects, as regular expressions")


def missing_prerequisite() -> str | None:
    """What this machine lacks to run a platform, and how to get it; None when nothing is missing.

    Root can install a missing Python (scripts/platform-env.sh does, with apt-get); another user cannot.
    """
    if not sys.platform.startswith("linux"):
        return "the platform tests need Linux (abstract unix sockets, /proc)"
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            return ("running as root, and setpriv is missing to run the platform as another user: install "
                    "util-linux (apt-get install util-linux)")
        return None
    if not os.access(PLATFORM_PYTHON, os.X_OK):
        return (f"not root and {PLATFORM_PYTHON} is missing: install python3.11 and python3.11-venv (apt-get "
                "install python3.11 python3.11-venv), or set CHARGEPOINT_PLATFORM_PYTHON to a Python 3.10+ with "
                "venv that this user can run")
    return None


def unavailable(reason: str) -> None:
    """Skip, or under CI fail, for a missing prerequisite."""
    if os.environ.get("CI"):
        pytest.fail(f"the platform tests cannot run: {reason}. CI is set, so this is a failure, not a skip",
                    pytrace=False)
    pytest.skip(f"{reason} (set CI=1 to make this a failure)")


@pytest.fixture(scope="session")
def platform() -> Iterator[Platform]:
    """A running platform with platform.driver installed and started."""
    reason = missing_prerequisite()
    if reason:
        unavailable(reason)
    started = time.monotonic()
    with running_platform() as running:
        running.install_platform_driver()
        print(f"\nplatform: environment, start and platform driver took {time.monotonic() - started:.1f} s;"
              f" VOLTTRON_HOME {running.home}")
        yield running
