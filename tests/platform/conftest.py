"""Fixtures for tests that run a real VOLTTRON platform (marker ``platform``; ``-m "not platform"`` leaves them out).

One platform, with the Platform Driver agent installed, serves the whole session; it is shut down and every process
it started is ended when the session ends, also after failures.
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


def _unavailable() -> str | None:
    """Why a platform cannot run here, or None. Root can install what is missing; another user cannot."""
    if not sys.platform.startswith("linux"):
        return "the platform tests need Linux (abstract unix sockets, /proc)"
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            return "running as root, and setpriv (util-linux) is missing to run the platform as another user"
        return None
    if not os.access(PLATFORM_PYTHON, os.X_OK):
        return (f"not root and {PLATFORM_PYTHON} is missing: set CHARGEPOINT_PLATFORM_PYTHON to a Python 3.10+ "
                "this user can run")
    return None


@pytest.fixture(scope="session")
def platform() -> Iterator[Platform]:
    """A running platform with platform.driver installed and started."""
    reason = _unavailable()
    if reason:
        pytest.skip(reason)
    started = time.monotonic()
    with running_platform() as running:
        running.install_platform_driver()
        print(f"\nplatform: environment, start and platform driver took {time.monotonic() - started:.1f} s;"
              f" VOLTTRON_HOME {running.home}")
        yield running
