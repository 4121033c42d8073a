"""The installed ``chargepoint-driver`` console script, run as a user would, and argument handling."""

from __future__ import annotations

import os
import subprocess

import pytest

from cp_cli import PASSWORD, ROOT, SCRIPT, WRONG_PASSWORD
from volttron.driver.interfaces.chargepoint.cli import main, parse_arguments

pytestmark = pytest.mark.timeout(60)

COMMANDS = ("demo", "scrape", "set", "check", "registry")


def run_script(*argv: str, timeout: float) -> subprocess.CompletedProcess[str]:
    assert SCRIPT.exists(), f"{SCRIPT} is not installed (pip install -e .)"
    env = {k: v for k, v in os.environ.items() if k != "CHARGEPOINT_PASSWORD"}
    return subprocess.run([str(SCRIPT), *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_help_lists_every_command() -> None:
    process = run_script("--help", timeout=30)
    assert process.returncode == 0 and process.stderr == ""
    for command in COMMANDS:
        assert command in process.stdout
    assert "CHARGEPOINT_PASSWORD" in process.stdout


def test_demo_runs_end_to_end_from_the_repository_root() -> None:
    process = run_script("demo", "--cycles", "2", "--interval", "0.2", timeout=50)
    assert process.returncode == 0, process.stderr
    out = process.stdout
    assert "Driver configured from chargepoint.config + chargepoint.csv: 98 points" in out
    assert "[poll 1/2]" in out and "[poll 2/2]" in out
    assert "point" in out and "units" in out and "stationID" in out
    assert "read-back right away: allowedLoadPort" in out and "still the old value" in out
    assert out.count("<- applied by the station") == 2
    assert "Done in" in out
    assert "Traceback" not in process.stderr and "WARNING" not in process.stderr


def test_auth_failure_is_one_line_on_stderr(device_config) -> None:
    # In a real process: no greenlet tracebacks from the failed reads, just the reason (and no password).
    process = run_script("scrape", str(device_config(password=WRONG_PASSWORD)), timeout=30)
    assert process.returncode == 3 and process.stdout.startswith("point")
    assert process.stderr.count("\n") == 1 and "FailedAuthentication" in process.stderr
    assert WRONG_PASSWORD not in process.stderr + process.stdout


def test_debug_logging_never_shows_the_password(device_config) -> None:
    process = run_script("-vv", "scrape", str(device_config()), "--json", timeout=30)
    assert process.returncode == 0, process.stderr
    assert "DEBUG" in process.stderr and "<wsse:Password" not in process.stderr
    assert PASSWORD not in process.stderr + process.stdout


def test_demo_without_a_config_uses_the_built_in_registry(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    import io
    out = io.StringIO()
    assert main(["demo", "--cycles", "1", "--interval", "0", "--stations", "1"], out=out) == 0
    text = out.getvalue()
    assert "the built-in registry (chargepoint.config not found)" in text
    assert text.count("<- applied by the station") == 2
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("argv", [[], ["scrape"], ["set", "x.config", "point"], ["demo", "--cycles", "0"],
                                  ["demo", "--interval", "-1"], ["nope"]])
def test_bad_arguments_exit_2(argv, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "usage: chargepoint-driver" in capsys.readouterr().err


def test_parse_arguments_defaults() -> None:
    args = parse_arguments(["demo"])
    assert (args.cycles, args.interval, args.stations) == (3, 1.0, 4)
    args = parse_arguments(["scrape", "cp.config", "--json"])
    assert args.json and args.registry is None and str(args.config) == "cp.config"
