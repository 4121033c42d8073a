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


# --- unknown keys ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "nearest"), [
    ("timout", "timeout"), ("shedDurationn", "shedDuration"), ("stationid", "stationID"),
    ("cacheExpiry", "cacheExpiration"), ("cafile", "caFile"), ("endpiont", "endpoint"), ("heartbeat_point",
                                                                                          "heart_beat_point"),
])
def test_an_unknown_key_is_refused_naming_the_nearest_known_one(key, nearest):
    error = refused({**GOOD, key: 5})
    assert f"key '{key}': unknown key; did you mean '{nearest}'?" in str(error)
    assert SECRET not in str(error)


def test_an_unknown_key_nothing_resembles_lists_the_drivers_keys():
    error = refused({**GOOD, "zzzz": 1})
    assert "key 'zzzz': unknown key; the driver's keys are stationID, sgID, username, password" in str(error)


def test_unknown_keys_are_refused_in_driver_config_and_at_the_top_level_alike():
    error = refused({"driver_config": {**GOOD, "timout": 5}, "driver_type": "chargepoint", "intervall": 60})
    assert {p.split(":")[0] for p in error.problems} == {"cp1.config, key 'timout'", "cp1.config, key 'intervall'"}


def test_unknown_keys_are_listed_with_every_other_problem():
    error = refused({**GOOD, "stationID": "bad", "timout": 5})
    assert len(error.problems) == 2 and any("stationID" in p for p in error.problems)


def platform_keys() -> set[str]:
    """Every key VOLTTRON's own config models take (field names and aliases)."""
    from volttron.driver.base.config import DeviceConfig, EquipmentConfig, RemoteConfig
    keys = set()
    for model in (RemoteConfig, DeviceConfig, EquipmentConfig):
        for name, info in model.model_fields.items():
            keys |= {name, info.alias} - {None}
    return keys


def test_every_key_of_the_platforms_config_models_is_allowed():
    raw = {**GOOD, **{key: None for key in platform_keys()}}
    assert load_device_settings(raw).station_id == GOOD["stationID"]


@pytest.mark.parametrize("key", ["driver_type", "heart_beat_point", "module", "plugins", "equipment_specific_fields",
                                 "debug", "interval", "timezone", "registry_config", "publish_depth_first_all",
                                 "publish_breadth_first", "campus", "building", "unit"])
def test_the_platforms_own_keys_stay_allowed(key):
    assert load_device_settings({"driver_config": GOOD, key: "x"}).username == GOOD["username"]


# --- files and addresses --------------------------------------------------------------------------------------

BROKEN_PEM = "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n"


def test_a_missing_ca_file_is_refused_naming_the_key_and_the_path(tmp_path):
    missing = tmp_path / "no-such-ca.pem"
    error = refused({**GOOD, "caFile": str(missing)})
    assert "key 'caFile'" in str(error) and f"there is no file at {missing}" in str(error)


@pytest.mark.parametrize("content", ["not a certificate at all\n", BROKEN_PEM, ""],
                         ids=["text", "broken PEM", "empty"])
def test_a_ca_file_that_is_not_a_pem_bundle_is_refused(tmp_path, content):
    path = tmp_path / "ca.pem"
    path.write_text(content)
    error = refused({**GOOD, "caFile": str(path)})
    assert "key 'caFile'" in str(error) and f"{path} cannot be loaded as a PEM CA bundle" in str(error)


def test_a_ca_file_that_is_a_directory_is_refused(tmp_path):
    assert "key 'caFile'" in str(refused({**GOOD, "caFile": str(tmp_path)}))


def test_a_real_ca_bundle_is_accepted():
    import ssl
    bundle = ssl.get_default_verify_paths().cafile
    if bundle is None:
        pytest.skip("this system has no CA bundle file")
    assert load_device_settings({**GOOD, "caFile": bundle}).ca_file == bundle


@pytest.mark.parametrize("endpoint", ["webservices.chargepoint.com/5.0", "ftp://example.com/5.0", "https://",
                                      "file:///tmp/api", "http//example.com"])
def test_an_endpoint_that_is_not_an_http_url_is_refused(endpoint):
    error = refused({**GOOD, "endpoint": endpoint})
    assert f"key 'endpoint', value {endpoint!r}: must be an http:// or https:// URL" in str(error)


@pytest.mark.parametrize("endpoint", ["https://webservices.chargepoint.com/webservices/chargepoint/services/5.0",
                                      "http://127.0.0.1:8080/webservices/chargepoint/services/5.0"])
def test_http_and_https_endpoints_are_accepted(endpoint):
    assert load_device_settings({**GOOD, "endpoint": endpoint}).endpoint == endpoint


def test_a_wsdl_path_with_no_file_is_refused_naming_the_path(tmp_path):
    missing = tmp_path / "api.wsdl"
    error = refused({**GOOD, "wsdl": str(missing)})
    assert "key 'wsdl'" in str(error) and f"there is no file at {missing}" in str(error)


@pytest.mark.parametrize("wsdl", ["ftp://example.com/api.wsdl", "https://"])
def test_a_wsdl_url_that_is_not_http_is_refused(wsdl):
    assert "key 'wsdl'" in str(refused({**GOOD, "wsdl": wsdl}))


def test_a_wsdl_file_path_or_file_url_or_http_url_is_accepted(tmp_path):
    path = tmp_path / "api.wsdl"
    path.write_text("<definitions/>")
    for wsdl in (str(path), path.as_uri(), "https://example.com/api?wsdl"):
        assert load_device_settings({**GOOD, "wsdl": wsdl}).wsdl == wsdl
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
