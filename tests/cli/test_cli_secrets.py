"""The password: taken from $CHARGEPOINT_PASSWORD when the file has none, and never printed by any command.

(The ``cli`` fixture already fails any run whose stdout or stderr shows a password; these tests make the runs
where a leak would be most likely: DEBUG logging with SOAP envelopes, and the API refusing the credentials.)
"""

from __future__ import annotations

import pytest

from cp_cli import PASSWORD, WRONG_PASSWORD

pytestmark = pytest.mark.timeout(30)


class TestEnvironment:
    def test_password_from_the_environment(self, sim, device_config, cli, monkeypatch) -> None:
        config = device_config(password=None)
        assert "password" not in config.read_text()
        monkeypatch.setenv("CHARGEPOINT_PASSWORD", PASSWORD)
        assert cli("check", config, "--online").code == 0
        result = cli("scrape", config, "--json")
        assert result.code == 0 and result.json()["errors"] == {}
        assert cli("set", config, "allowedLoadPort1", "5").code == 0

    def test_empty_password_in_the_file_also_falls_back(self, sim, device_config, cli, monkeypatch) -> None:
        monkeypatch.setenv("CHARGEPOINT_PASSWORD", PASSWORD)
        assert cli("scrape", device_config(password=""), "--json").code == 0

    def test_no_password_anywhere_is_a_configuration_error(self, sim, device_config, cli) -> None:
        result = cli("scrape", device_config(password=None))
        assert result.code == 2
        assert "key 'password': required key is missing (or set $CHARGEPOINT_PASSWORD)" in result.err
        assert sum(sim.calls.values()) == 0


class TestNeverPrinted:
    def test_debug_logging_shows_envelopes_but_not_the_password(self, device_config, cli) -> None:
        result = cli("-vv", "scrape", device_config(), "--json")
        assert result.code == 0
        assert "DEBUG" in result.err and "getStations" in result.err and "reply HTTP 200" in result.err
        assert result.json()["errors"] == {}

    @pytest.mark.parametrize("argv", [
        ["scrape"], ["scrape", "--json"], ["set", "allowedLoadPort1", "3"], ["check", "--online"], ["registry"],
    ])
    def test_auth_failure_with_debug_logging(self, device_config, cli, argv) -> None:
        config = device_config(password=WRONG_PASSWORD)
        command, *rest = argv
        result = cli("-vv", command, config, *rest)
        assert result.code == 3
        assert "FailedAuthentication" in result.err and "DEBUG" in result.err

    def test_config_errors_do_not_echo_the_password(self, device_config, cli) -> None:
        # A wrong type for the password is reported by key, without its value.
        result = cli("check", device_config(password=["not", PASSWORD]))
        assert result.code == 1 and "key 'password'" in result.err
