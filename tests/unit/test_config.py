"""Device configuration: the spec's keys (stationID, username, password, cacheExpiration), checked when the device
is configured; the password never shows in errors, reprs or dumps."""
from __future__ import annotations

import json

import pytest

from cp_unit_helpers import SAMPLE_CONFIG
from volttron.driver.interfaces.chargepoint.config import (DEFAULT_CACHE_EXPIRATION, PASSWORD_ENV,
                                                           flatten_device_config, load_device_settings)
from volttron.driver.interfaces.chargepoint.exceptions import ConfigError

SECRET = "s3cr3t-P4ssw0rd-do-not-log"
GOOD = {"stationID": "1:00001", "username": "LICENSEKEY", "password": SECRET}


@pytest.fixture(autouse=True)
def no_password_in_environment(monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)


def refused(raw) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_device_settings(raw, "cp1.config")
    return info.value


@pytest.mark.parametrize("key", ["stationID", "username", "password"])
def test_missing_required_key_is_named(key):
    raw = {k: v for k, v in GOOD.items() if k != key}
    error = refused(raw)
    assert f"key '{key}'" in str(error)
    assert "missing" in str(error)
    assert "cp1.config" in str(error)
    assert len(error.problems) == 1


def test_every_missing_key_is_named_at_once():
    error = refused({})
    assert len(error.problems) == 3
    for key in ("stationID", "username", "password"):
        assert f"'{key}'" in str(error)
    assert PASSWORD_ENV in str(error)  # the message says how else to give the password


@pytest.mark.parametrize("station_id", ["abc", "1-00001", "100001", ":1", "1:", "1:abc", ""])
def test_bad_station_id_names_key_value_and_expected_format(station_id):
    error = refused({**GOOD, "stationID": station_id})
    assert "'stationID'" in str(error)
    assert repr(station_id) in str(error)
    assert "1:123456" in str(error)


@pytest.mark.parametrize("station_id", ["1:00001", "1:123456", " 1:10001 "])
def test_good_station_ids(station_id):
    assert load_device_settings({**GOOD, "stationID": station_id}).station_id == station_id.strip()


@pytest.mark.parametrize(("key", "value"), [("cacheExpiration", -1), ("cacheExpiration", "soon"), ("timeout", 0),
                                            ("timeout", -5)])
def test_bad_numbers_are_refused_naming_the_key(key, value):
    error = refused({**GOOD, key: value})
    assert f"key '{key}'" in str(error)
    assert repr(value) in str(error)


def test_cache_expiration_is_optional_with_documented_default():
    settings = load_device_settings(GOOD)
    assert DEFAULT_CACHE_EXPIRATION == 30
    assert settings.cache_expiration == 30


@pytest.mark.parametrize("value", [0, 5, 120.5])
def test_cache_expiration_given(value):
    assert load_device_settings({**GOOD, "cacheExpiration": value}).cache_expiration == value


def test_legacy_driver_config_nesting_is_accepted():
    raw = {"driver_config": {**GOOD, "cacheExpiration": 15}, "driver_type": "chargepoint",
           "registry_config": "config://chargepoint.csv", "interval": 60, "timezone": "UTC"}
    settings = load_device_settings(raw)
    assert (settings.station_id, settings.username, settings.cache_expiration) == ("1:00001", "LICENSEKEY", 15)
    assert settings.password.get_secret_value() == SECRET


def test_flat_config_is_accepted_and_nested_keys_win():
    assert flatten_device_config({"stationID": "1:1", "driver_config": {"stationID": "1:2"}})["stationID"] == "1:2"
    assert load_device_settings({**GOOD, "driver_type": "chargepoint"}).station_id == "1:00001"


def test_password_from_environment_when_absent(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    raw = {k: v for k, v in GOOD.items() if k != "password"}
    assert load_device_settings(raw).password.get_secret_value() == "from-env"
    assert load_device_settings({"driver_config": raw}).password.get_secret_value() == "from-env"


def test_password_in_config_wins_over_environment(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    assert load_device_settings(GOOD).password.get_secret_value() == SECRET


def test_empty_password_without_environment_is_refused():
    error = refused({**GOOD, "password": ""})
    assert "'password'" in str(error)


@pytest.mark.parametrize("raw", [
    {**GOOD, "stationID": "bad"},
    {**GOOD, "cacheExpiration": -1, "timeout": 0},
    {**GOOD, "password": [SECRET]},
    {**GOOD, "password": {"value": SECRET}},
    {**GOOD, "password": 987650321, "username": ""},
    {"driver_config": {**GOOD, "stationID": "x"}},
], ids=["bad-station", "bad-numbers", "password-list", "password-dict", "password-number", "nested"])
def test_password_never_in_error_text(raw):
    error = refused(raw)
    text = str(error) + repr(error) + " ".join(error.problems)
    assert SECRET not in text
    assert "987650321" not in text
    assert error.__cause__ is None and error.__suppress_context__  # no chained pydantic error carrying the input


def test_password_never_in_repr_str_or_dumps():
    settings = load_device_settings(GOOD)
    for text in (repr(settings), str(settings), settings.model_dump_json(), str(settings.model_dump()),
                 repr(settings.account_settings())):
        assert SECRET not in text
    assert settings.account_settings().password == SECRET  # still usable by the client


def test_sample_config_validates():
    raw = json.loads(SAMPLE_CONFIG.read_text())
    settings = load_device_settings(raw, str(SAMPLE_CONFIG))
    assert settings.station_id == "1:10001"
    assert settings.cache_expiration == 30
    assert settings.timeout > 0


# --- a station group instead of a station (sgID) ------------------------------------------------------------------

GROUP = {k: v for k, v in GOOD.items() if k != "stationID"}


@pytest.mark.parametrize("sg_id", [39491, "39491", " 39491 "])
def test_a_group_device_names_sg_id_instead_of_station_id(sg_id):
    settings = load_device_settings({**GROUP, "sgID": sg_id})
    assert (settings.is_group, settings.sg_id, settings.station_id, settings.target) == (True, 39491, None, "39491")
    assert settings.target_name == "group 39491"


def test_a_station_device_is_not_a_group():
    settings = load_device_settings(GOOD)
    assert (settings.is_group, settings.target, settings.target_name) == (False, "1:00001", "station 1:00001")


@pytest.mark.parametrize(("raw", "says"), [
    ({**GOOD, "sgID": 39491}, "keys 'stationID' and 'sgID': give exactly one of the two"),
    ({"driver_config": {**GOOD, "sgID": "39491"}}, "keys 'stationID' and 'sgID': give exactly one of the two"),
    (GROUP, "key 'stationID': required key is missing (or key 'sgID'"),
    ({**GROUP, "sgID": None}, "key 'stationID': required key is missing (or key 'sgID'"),
    ({**GROUP, "sgID": ""}, "key 'stationID': required key is missing (or key 'sgID'"),
], ids=["both", "both nested", "neither", "sgID None", "sgID empty"])
def test_exactly_one_of_station_id_and_sg_id(raw, says):
    error = refused(raw)
    assert says in str(error) and "cp1.config" in str(error)
    assert len(error.problems) == 1


def test_both_keys_and_other_bad_keys_are_reported_together():
    error = refused({**GOOD, "sgID": 7, "timeout": 0})
    assert len(error.problems) == 2
    assert any("'stationID' and 'sgID'" in p for p in error.problems)
    assert any("key 'timeout'" in p for p in error.problems)


@pytest.mark.parametrize("sg_id", [0, -5, "abc", "1:39491", 1.5, True, [39491]])
def test_bad_sg_id_names_key_and_value(sg_id):
    error = refused({**GROUP, "sgID": sg_id})
    assert "key 'sgID'" in str(error) and repr(sg_id) in str(error)
    assert SECRET not in str(error)
