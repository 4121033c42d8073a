"""Secrets: with every logger (suds included) at DEBUG, polls, writes, failures and every CLI command leave no
trace of the password in logs, exceptions, reprs or output. The password holds characters XML escapes, so an
escaped copy (as it travels in the envelope) would be found too."""

from __future__ import annotations

import io
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest

from cp_reliability import (PASSWORD, PASSWORD_FORMS, SAMPLE_CONFIG, SAMPLE_CSV, USERNAME, CraftedServer,
                            envelope, xml_reply)
from volttron.driver.interfaces.chargepoint import cli
from volttron.driver.interfaces.chargepoint.standalone import build_device
from volttron.driver.interfaces.chargepoint.exceptions import AuthError, ChargePointError, WriteRejected

pytestmark = pytest.mark.timeout(60)


def leaks(text: str) -> list[str]:
    return [form for form in PASSWORD_FORMS if form in text]


def chain(exc: BaseException | None) -> str:
    """str and repr of an exception and of every exception it was raised from or during."""
    parts = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        parts += [str(exc), repr(exc), repr(getattr(exc, "args", ())), repr(vars(exc) if hasattr(exc, "__dict__")
                                                                             else "")]
        exc = exc.__cause__ or exc.__context__
    return "\n".join(parts)


def test_poll_write_and_failures_at_debug_leave_no_password(sim, make_device, debug_logs, capsys) -> None:
    seen: list[str] = []
    device = make_device(timeout=2)
    interface, account = device.interface, device.interface.account
    values, errors = device.scrape()
    assert errors == {} and values
    device.set("allowedLoadPort1", 3.0)
    with pytest.raises(WriteRejected) as refused:
        device.set("percentShed", 250)
    seen.append(chain(refused.value))

    sim.app.password = "changed-by-the-account-owner"  # the configured password is now wrong
    values, errors = device.scrape()
    assert values == {} and all("UsernameToken" in e for e in errors.values())
    seen.extend(errors.values())
    with pytest.raises(AuthError) as denied:
        device.set("allowedLoadPort1", 2.0)
    seen.append(chain(denied.value))

    seen += [repr(interface), str(interface), repr(interface.config), str(interface.config.model_dump()),
             interface.config.model_dump_json(), repr(interface.settings), str(interface.settings.model_dump()),
             repr(account), repr(account.settings), str(account.settings), repr(account.client),
             repr(vars(account.client)), repr(account.client._transport.credentials)]
    captured = capsys.readouterr()
    everything = "\n".join(seen + [debug_logs.text(), captured.out, captured.err])
    assert not leaks(everything)
    # The test looked where the password could have been: envelopes were logged, suds did log at DEBUG.
    assert any(r.name.endswith("transport") and "getLoad" in r.getMessage() for r in debug_logs.records)
    assert any(r.name.startswith("suds") and r.levelno == logging.DEBUG for r in debug_logs.records)


def echo_request(status: str) -> Any:
    """A server that quotes the request it received (with its WS-Security header) back in its answer."""
    def respond(environ: dict[str, Any], body: bytes) -> Any:
        quoted = body.decode("utf-8")
        if status == "fault":
            escaped = quoted.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            return xml_reply(envelope(f"<SOAP-ENV:Fault><faultcode>wsse:FailedAuthentication</faultcode>"
                                      f"<faultstring>rejected: {escaped}</faultstring></SOAP-ENV:Fault>"),
                             "500 Internal Server Error")
        if status == "500 page":
            return "500 Internal Server Error", [("Content-Type", "text/plain")], [b"rejected: " + body]
        return "200 OK", [("Content-Type", "text/plain")], [b"not xml: " + body]
    return respond


@pytest.mark.parametrize("status", ["fault", "500 page", "garbage"])
def test_a_server_echoing_the_credentials_cannot_make_us_repeat_them(status, make_device, debug_logs,
                                                                      capsys) -> None:
    with CraftedServer(echo_request(status)) as server:
        device = make_device("1:10001", wsdl=None, endpoint=f"{server.url}/ws", timeout=2)
        values, errors = device.scrape()
        with pytest.raises(ChargePointError) as failed:
            device.set("allowedLoadPort1", 2.0)
    assert values == {} and errors
    assert any(PASSWORD_FORMS[1] in body.decode() for _m, _p, body in server.requests)  # it was sent, escaped
    captured = capsys.readouterr()
    assert not leaks("\n".join([*errors.values(), chain(failed.value), debug_logs.text(), captured.out,
                                captured.err]))


@pytest.fixture
def config_files(tmp_path: Path, sim) -> Path:
    raw = json.loads(SAMPLE_CONFIG.read_text(encoding="utf-8"))
    raw["driver_config"].update({"stationID": sim.model.station_ids()[0], "username": USERNAME,
                                 "password": PASSWORD, "wsdl": sim.wsdl_url, "timeout": 2, "cacheExpiration": 0})
    shutil.copy(SAMPLE_CSV, tmp_path / "chargepoint.csv")
    path = tmp_path / "cp1.config"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


COMMANDS = [
    ["check", "{config}"], ["check", "{config}", "--online"], ["scrape", "{config}"],
    ["scrape", "{config}", "--json"], ["set", "{config}", "allowedLoadPort1", "4"],
    ["set", "{config}", "percentShed", "250"], ["set", "{config}", "StatusPort1", "x"],
    ["registry", "{config}"],
]


@pytest.mark.parametrize("wrong_password", [False, True], ids=["accepted", "refused by the API"])
def test_no_cli_command_shows_the_password(wrong_password, sim, config_files, debug_logs, capsys) -> None:
    if wrong_password:
        sim.app.password = "changed-by-the-account-owner"
    outputs = []
    for command in COMMANDS:
        out = io.StringIO()
        capsys.readouterr()
        code = cli.main(["-vv", *[part.format(config=config_files) for part in command]], out=out)
        captured = capsys.readouterr()
        outputs.append((command, code, out.getvalue() + captured.out + captured.err))
    assert all(not leaks(text) for _c, _code, text in outputs), [(c, leaks(t)) for c, _code, t in outputs]
    assert not leaks(debug_logs.text())
    # The commands ran: the good ones read the station, the bad ones said why.
    scrape = next(text for command, _code, text in outputs if command == ["scrape", "{config}", "--json"])
    assert ("UsernameToken" in scrape) if wrong_password else (sim.model.station_ids()[0] in scrape)


@pytest.mark.parametrize("password", [987654321, ["Pw-in-a-list-77"]], ids=["number", "list"])
def test_a_password_of_the_wrong_type_is_not_quoted_in_the_error(password) -> None:
    raw = {"driver_config": {"stationID": "1:10001", "username": USERNAME, "password": password},
           "driver_type": "chargepoint"}
    row = {"Volttron Point Name": "stationID", "Attribute Name": "stationID", "Register Name": "StationRegister",
           "Type": "string", "Writable": "False"}
    with pytest.raises(Exception) as refused:
        build_device(raw, [row])
    shown = str(password[0] if isinstance(password, list) else password)
    assert shown not in chain(refused.value)
    assert isinstance(refused.value, ChargePointError)
