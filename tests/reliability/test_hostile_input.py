"""Hostile files and configs: a typo in a key, a CA file that is missing or not PEM, an endpoint that is not a URL, a
WSDL that is not there, a registry cell that runs on: each is refused when the device is configured and by
``chargepoint-driver check``, in one line naming the key (or row and column) and the path, with no traceback and no
API call. And the Type column decides what a point publishes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from cp_reliability import PASSWORD, SAMPLE_CONFIG, USERNAME, make_certificate, sample_rows, shows
from volttron.driver.interfaces.chargepoint import cli
from volttron.driver.interfaces.chargepoint.exceptions import ConfigError

pytestmark = pytest.mark.timeout(60)


def missing(tmp: Path) -> str:
    return str(tmp / "certs" / "no-such-ca.pem")


def not_pem(tmp: Path) -> str:
    path = tmp / "ca.pem"
    path.write_text("this is not a certificate\n")
    return str(path)


# id -> (the setting: key and how to make its value from a scratch folder, texts the refusal must contain)
BAD_SETTINGS: dict[str, tuple[str, Any, tuple[str, ...]]] = {
    "a typo in timeout": ("timout", lambda tmp: 5, ("'timout'", "did you mean 'timeout'")),
    "a typo in shedDuration": ("shedDurationn", lambda tmp: 15, ("'shedDurationn'", "did you mean 'shedDuration'")),
    "a missing caFile": ("caFile", missing, ("'caFile'", "there is no file at {path}")),
    "a caFile that is not PEM": ("caFile", not_pem, ("'caFile'", "{path} cannot be loaded as a PEM CA bundle")),
    "an endpoint that is not a URL": ("endpoint", lambda tmp: "webservices.chargepoint.com/5.0",
                                      ("'endpoint'", "must be an http:// or https:// URL")),
    "a wsdl file that is not there": ("wsdl", lambda tmp: str(tmp / "api.wsdl"),
                                      ("'wsdl'", "there is no file at {path}")),
}


def write_device(tmp: Path, settings: dict[str, Any], rows: list[dict[str, str]] | None = None) -> Path:
    raw = json.loads(SAMPLE_CONFIG.read_text(encoding="utf-8"))
    raw["driver_config"].update(settings)
    config = tmp / "cp1.config"
    config.write_text(json.dumps(raw), encoding="utf-8")
    rows = rows if rows is not None else sample_rows()
    with (tmp / "chargepoint.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return config


def check(config: Path, capfd: Any) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main(["check", str(config)], out=out)
    captured = capfd.readouterr()
    return code, out.getvalue() + captured.out + captured.err


@pytest.mark.parametrize("case", list(BAD_SETTINGS))
def test_a_bad_setting_is_refused_at_configure_and_by_check(case, sim, make_device, tmp_path, capfd) -> None:
    key, make, says = BAD_SETTINGS[case]
    value = make(tmp_path)
    expected = [text.format(path=Path(str(value)).resolve()) for text in says]
    with pytest.raises(ConfigError) as refused:
        make_device(**{key: value})
    assert all(text in str(refused.value) for text in expected), str(refused.value)

    code, output = check(write_device(tmp_path, {"username": USERNAME, "password": PASSWORD, "wsdl": sim.wsdl_url,
                                                 key: value}), capfd)
    assert code == cli.EXIT_REFUSED and "Traceback" not in output
    problems = [line for line in output.splitlines() if line.startswith("problem:")]
    assert len(problems) == 1 and all(text in problems[0] for text in expected), output
    assert not shows(output + str(refused.value), PASSWORD)
    assert sum(sim.calls.values()) == 0


def test_a_registry_cell_that_runs_on_is_refused_by_check_naming_line_and_column(sim, tmp_path, capfd) -> None:
    rows = sample_rows()
    rows[6]["Notes"] = "n" * 131_073
    config = write_device(tmp_path, {"username": USERNAME, "password": PASSWORD, "wsdl": sim.wsdl_url}, rows)
    code, output = check(config, capfd)
    assert code == cli.EXIT_REFUSED and "Traceback" not in output
    assert "line 8, column 'Notes': a cell of 131073 characters (more than 131072)" in output, output


# point -> (Type written in the registry, what the point reads: a value, or the error's words)
TYPED = {
    "postalCode": ("int", int),
    "Type": ("int", {"Session": 1, "Hourly": 2, "kWh": 3}),
    "Address": ("int", "does not convert to int, the point's Type; Type string reads it as it is"),
    "mainPhone": ("datetime", "does not convert to datetime"),
}


def test_the_type_column_decides_what_a_point_publishes(sim, make_device) -> None:
    station_id = sim.model.station_ids()[0]
    station = sim.model.station(station_id)
    plain = make_device(station_id, name="plain")
    baseline, errors = plain.scrape()
    assert errors == {}
    rows = sample_rows()
    for row in rows:
        if row["Volttron Point Name"] in TYPED:
            row["Type"] = TYPED[row["Volttron Point Name"]][0]
    values, errors = make_device(station_id, rows=rows, name="typed").scrape()

    assert set(errors) == {name for name, (_t, reads) in TYPED.items() if isinstance(reads, str)}
    for name, (_type, reads) in TYPED.items():
        if isinstance(reads, str):
            assert reads in errors[name] and repr(baseline[name]) in errors[name], errors[name]
        elif isinstance(reads, dict):
            assert values[name] == reads[station.pricing[0].Type]
        else:
            assert values[name] == reads(baseline[name]) and type(values[name]) is reads
    others = set(baseline) - set(TYPED)
    assert {n: values[n] for n in others} == {n: baseline[n] for n in others}


def test_a_wrong_password_says_the_api_refused_the_credentials(sim, make_device) -> None:
    sim.app.password = "changed-by-the-account-owner"
    device = make_device()
    values, errors = device.scrape()
    assert values == {} and set(errors) == set(device.point_names)
    assert all("the API refused the credentials" in e for e in errors.values()), set(errors.values())


def test_a_ca_file_gone_after_configure_is_an_error_naming_it_with_back_off(sim, make_device, tmp_path,
                                                                            capfd) -> None:
    made = make_certificate(tmp_path, "ca")
    if made is None:
        pytest.skip("neither the cryptography package nor the openssl command is available to make certificates")
    device = make_device(caFile=str(made[0]))
    made[0].unlink()
    for _ in range(3):
        values, errors = device.scrape()
        assert values == {} and set(errors) == set(device.point_names)
    assert all(f"caFile {made[0]}: cannot load it as a PEM CA bundle" in e or "not sent" in e
               for e in errors.values()), set(errors.values())
    assert any("not sent" in e for e in errors.values())  # backing off, not failing the same way every poll
    assert "Traceback" not in capfd.readouterr().err
