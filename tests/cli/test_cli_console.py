"""The installed ``chargepoint-driver`` console script, run as a user would, and argument handling."""

from __future__ import annotations

import pytest

from cp_cli import PASSWORD, ROOT, WRONG_PASSWORD, run_script
from volttron.driver.interfaces.chargepoint import console
from volttron.driver.interfaces.chargepoint.cli import EPILOG, main, parse_arguments

pytestmark = pytest.mark.timeout(60)

COMMANDS = ("init", "demo", "scrape", "set", "check", "registry")


def test_help_lists_every_command() -> None:
    process = run_script("--help", timeout=30)
    assert process.returncode == 0 and process.stderr == ""
    for command in COMMANDS:
        assert command in process.stdout
    assert "CHARGEPOINT_PASSWORD" in process.stdout and "chargepoint-driver init" in process.stdout
    description = process.stdout.split("\n\n")[1]
    assert description.startswith("Read, write and check a ChargePoint station") and "`" not in process.stdout


def test_auth_failure_is_one_line_on_stderr(device_config) -> None:
    # In a real process: no greenlet tracebacks from the failed reads, just the reason (and no password). Nothing
    # could be read, so there is no table of errors on stdout either.
    process = run_script("scrape", str(device_config(password=WRONG_PASSWORD)), timeout=30)
    assert process.returncode == 3 and process.stdout == ""
    assert process.stderr.count("\n") == 1 and "FailedAuthentication" in process.stderr
    assert WRONG_PASSWORD not in process.stderr + process.stdout


def test_debug_logging_never_shows_the_password(device_config) -> None:
    process = run_script("-vv", "scrape", str(device_config()), "--json", timeout=30)
    assert process.returncode == 0, process.stderr
    assert "DEBUG" in process.stderr and "<wsse:Password" not in process.stderr
    assert PASSWORD not in process.stderr + process.stdout


@pytest.mark.parametrize("argv", [[], ["scrape"], ["set", "x.config", "point"], ["demo", "--cycles", "0"],
                                  ["demo", "--interval", "-1"], ["nope"], ["init", "a", "b"]])
def test_bad_arguments_exit_2(argv, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "usage: chargepoint-driver" in capsys.readouterr().err


def test_parse_arguments_defaults() -> None:
    args = parse_arguments(["demo"])
    assert (args.cycles, args.interval, args.stations, args.config) == (3, 1.0, 4, None)
    args = parse_arguments(["init"])
    assert str(args.directory) == "." and not args.force
    args = parse_arguments(["scrape", "cp.config", "--json"])
    assert args.json and args.registry is None and str(args.config) == "cp.config"


def test_readme_help_and_code_give_the_same_exit_codes() -> None:
    # README's one table of exit codes, the --help epilog and the constants the commands return agree.
    readme = (ROOT / "README.rst").read_text(encoding="utf-8")
    table = readme[readme.index("Exit code  Meaning"):]
    table = table[:table.index("\n\n")]
    documented = {int(line.split()[0]) for line in table.splitlines() if line[:1].isdigit()}
    returned = {value for name, value in vars(console).items() if name.startswith("EXIT_")}
    assert documented == returned == {0, 1, 2, 3, 130, 141}
    assert all(f"{code} " in EPILOG for code in returned)
