"""A machine that cannot run the platform skips the platform tests outside CI, and fails them under CI, saying what
to install (runs without a platform: a pytest of the platform tests in an environment lacking the prerequisite)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from platform_harness import ROOT

pytestmark = pytest.mark.timeout(120)

# As root the tests need setpriv (found on PATH); as another user, the platform's Python: both missing here.
LACKING = {"PATH": "/nonexistent", "CHARGEPOINT_PLATFORM_PYTHON": "/nonexistent/python3.11"}
WHAT_TO_INSTALL = "util-linux" if os.geteuid() == 0 else "python3.11-venv"


def run_platform_tests(**env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "CI"} | LACKING | env
    return subprocess.run([sys.executable, "-m", "pytest", "tests/platform/test_platform_fake.py", "-m", "platform",
                           "-p", "no:cacheprovider", "-rfEs", "-q"],
                          cwd=ROOT, env=environ, capture_output=True, text=True, timeout=100)


def test_outside_ci_a_missing_prerequisite_skips_saying_what_to_install() -> None:
    result = run_platform_tests()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 skipped" in result.stdout and WHAT_TO_INSTALL in result.stdout, result.stdout


def test_under_ci_a_missing_prerequisite_fails_saying_what_to_install() -> None:
    result = run_platform_tests(CI="1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "skipped" not in result.stdout, result.stdout
    assert "3 errors" in result.stdout and WHAT_TO_INSTALL in result.stdout, result.stdout
    assert "CI is set, so this is a failure" in result.stdout
