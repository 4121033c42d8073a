"""The package as a newcomer gets it: the wheel built from this tree, installed into a fresh venv outside the
repository, and every documented command run there the way README shows it, the usual mistakes included.

Each run is checked for its exit code, the stream each line goes to and the one-line message, and that nothing
anywhere shows a traceback. The wheel, the venv and the simulator (``chargepoint-sim`` from the wheel) are made once
per session.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import signal
import subprocess
import sys
import tarfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from cp_cli import ROOT, SAMPLE_CONFIG, SAMPLE_CSV, Result, sample_point_names, wrong_password_lines

pytestmark = pytest.mark.timeout(300)

PROJECT = "volttron-lib-chargepoint-driver"
EXIT_PIPE = 141


def installed_closure(name: str) -> list[str]:
    """``name==version`` of every distribution the project's declared dependencies need, as installed here.

    The fresh venv gets exactly these (the versions this tree is tested with) and no others, so a dependency the
    wheel failed to declare would be missing there; ``pip check`` then proves the wheel's own requirements hold.
    """
    pins: dict[str, str] = {}
    todo: list[tuple[str, frozenset[str]]] = [(name, frozenset())]
    while todo:
        wanted, extras = todo.pop()
        dist = importlib.metadata.distribution(wanted)
        key = canonicalize_name(dist.metadata["Name"])
        if key != canonicalize_name(name):
            pins[key] = f"{dist.metadata['Name']}=={dist.version}"
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker and not any(requirement.marker.evaluate({"extra": extra})
                                              for extra in (extras or {""})):
                continue
            if canonicalize_name(requirement.name) not in pins:
                todo.append((requirement.name, frozenset(requirement.extras)))
    return sorted(pins.values())


@dataclass
class Installed:
    """The fresh venv, and running its commands from a directory outside the repository."""

    venv: Path
    home: Path

    def env(self) -> dict[str, str]:
        return {"PATH": f"{self.venv / 'bin'}:/usr/bin:/bin", "HOME": os.environ.get("HOME", str(self.home)),
                "LANG": "C.UTF-8"}

    def run(self, *argv: Any, cwd: Path | None = None, stdout: Any = subprocess.PIPE, timeout: float = 60) -> Result:
        process = subprocess.run([str(arg) for arg in argv], cwd=cwd or self.home, env=self.env(), stdout=stdout,
                                 stderr=subprocess.PIPE, text=True, timeout=timeout)
        out = process.stdout if isinstance(process.stdout, str) else ""
        assert "Traceback" not in out + process.stderr, out + process.stderr
        return Result(process.returncode, out, process.stderr)

    def into_closed_pipe(self, *argv: Any) -> Result:
        reader, writer = os.pipe()
        os.close(reader)
        try:
            return self.run(*argv, stdout=writer)
        finally:
            os.close(writer)


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(dist), str(ROOT)], check=True, timeout=180, capture_output=True)
    (wheel,) = dist.glob("*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    requirements = base / "requirements.txt"
    requirements.write_text("\n".join(installed_closure(PROJECT)) + "\n", encoding="utf-8")
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
    subprocess.run([*pip, "install", "-q", "--no-compile", "--no-deps", "-r", str(requirements), str(wheel)],
                   check=True, timeout=300, capture_output=True)
    check = subprocess.run([*pip, "check"], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    home = base / "home"
    home.mkdir()
    return Installed(venv, home)


@dataclass
class SimulatorProcess:
    """``chargepoint-sim`` from the wheel, with the device config it wrote."""

    url: str
    config: Path

    def calls(self) -> int:
        with urllib.request.urlopen(f"{self.url}/admin/calls", timeout=10) as answer:
            return json.load(answer)["total"]


@pytest.fixture(scope="session")
def simulator(installed: Installed) -> Iterator[SimulatorProcess]:
    where = installed.home / "sim"
    where.mkdir()
    config = where / "sim.config"
    process = subprocess.Popen([installed.venv / "bin" / "chargepoint-sim", "--port", "0", "--write-config",
                                config, "--propagation-delay", "0", "--log-level", "WARNING"],
                               cwd=where, env=installed.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        deadline = time.monotonic() + 30
        while not config.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "chargepoint-sim wrote no config"
            time.sleep(0.1)
        wsdl = json.loads(config.read_text(encoding="utf-8"))["driver_config"]["wsdl"]
        yield SimulatorProcess(wsdl.rsplit("/", 1)[0], config)
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
        assert process.returncode == 0 and "Traceback" not in out + err, err


def edited(config: Path, target: Path, **driver: Any) -> Path:
    """A copy of a device config with some driver_config keys changed (None removes one), beside its registry."""
    raw = json.loads(config.read_text(encoding="utf-8"))
    for key, value in driver.items():
        if value is None:
            raw["driver_config"].pop(key, None)
        else:
            raw["driver_config"][key] = value
    target.write_text(json.dumps(raw, indent=4), encoding="utf-8")
    return target


class TestPackage:
    def test_the_commands_run_the_installed_wheel(self, installed) -> None:
        result = installed.run(installed.venv / "bin" / "python", "-c",
                               "import chargepoint_simulator, volttron.driver.interfaces.chargepoint.samples as s; "
                               "print(chargepoint_simulator.__file__); print(s.SAMPLE_CONFIG); print(s.SAMPLE_REGISTRY)")
        assert result.code == 0
        paths = [Path(line) for line in result.out.splitlines()]
        assert all(installed.venv in path.parents for path in paths), paths
        assert paths[1].read_bytes() == SAMPLE_CONFIG.read_bytes() and paths[2].read_bytes() == SAMPLE_CSV.read_bytes()
        (license_file,) = installed.venv.glob("lib/python*/site-packages/volttron_lib_chargepoint_driver-*.dist-info/"
                                              "licenses/LICENSE")
        assert license_file.read_bytes() == (ROOT / "LICENSE").read_bytes()

    def test_the_license_is_the_apache_license_2_0_in_the_sdist_too(self, tmp_path) -> None:
        text = (ROOT / "LICENSE").read_text(encoding="utf-8")
        assert "Apache License\n                           Version 2.0, January 2004" in text
        assert "END OF TERMS AND CONDITIONS" in text and len(text.splitlines()) == 202
        subprocess.run([sys.executable, "-c", "import sys; from poetry.core.masonry.api import build_sdist; "
                        "build_sdist(sys.argv[1])", str(tmp_path)], cwd=ROOT, check=True, timeout=120)
        (sdist,) = tmp_path.glob("*.tar.gz")
        with tarfile.open(sdist) as archive:
            names = {name.split("/", 1)[1] for name in archive.getnames()}
            assert archive.extractfile(next(m for m in archive.getmembers() if m.name.endswith("/LICENSE"))).read() \
                == (ROOT / "LICENSE").read_bytes()
        assert {"LICENSE", "src/volttron/driver/interfaces/chargepoint/samples/chargepoint.config",
                "src/volttron/driver/interfaces/chargepoint/samples/chargepoint.csv"} <= names

    def test_help(self, installed) -> None:
        result = installed.run("chargepoint-driver", "--help")
        assert result.code == 0 and result.err == "" and "`" not in result.out
        listed = re.findall(r"^    (\w+) ", result.out, re.MULTILINE)
        assert listed == ["init", "demo", "scrape", "set", "check", "registry"]
        result = installed.run("chargepoint-sim", "--help")
        assert result.code == 0 and "(default 'cp-user')" in result.out and "--write-config PATH" in result.out


class TestQuickStart:
    def test_init_edit_check_online_scrape(self, installed, simulator, tmp_path) -> None:
        # README's quick start, with the simulator standing in for an account: its config gives the values to edit in.
        work = installed.home / "quick-start"
        result = installed.run("chargepoint-driver", "init", work)
        assert result.code == 0 and result.err == ""
        assert f"  chargepoint-driver check {work / 'chargepoint.config'} --online" in result.out.splitlines()
        account = json.loads(simulator.config.read_text(encoding="utf-8"))["driver_config"]
        config = edited(work / "chargepoint.config", work / "chargepoint.config",
                        **{key: account[key] for key in ("stationID", "username", "password", "wsdl")})
        result = installed.run("chargepoint-driver", "check", config, "--online")
        assert result.code == 0 and result.err == ""
        assert result.out.splitlines() == [
            f"{config}: valid; {work / 'chargepoint.csv'}: {len(sample_point_names())} valid points",
            "credentials accepted by the API", f"station {account['stationID']} found, port(s) 1, 2"]
        result = installed.run("chargepoint-driver", "scrape", config)
        assert result.code == 0 and result.err == ""
        rows = [line.split()[0] for line in result.out.splitlines()[2:] if line and not line.startswith("(")]
        assert rows == sample_point_names()

    def test_init_does_not_replace_files(self, installed) -> None:
        work = installed.home / "twice"
        assert installed.run("chargepoint-driver", "init", work).code == 0
        result = installed.run("chargepoint-driver", "init", work)
        assert result.code == 2 and result.out == ""
        assert result.err_lines == [f"init: {work / 'chargepoint.config'} and {work / 'chargepoint.csv'} already "
                                    f"there; nothing was written (--force replaces them)"]


class TestCheck:
    def test_the_sample_passes_offline(self, installed) -> None:
        work = installed.home / "sample"
        installed.run("chargepoint-driver", "init", work)
        result = installed.run("chargepoint-driver", "check", work / "chargepoint.config")
        assert result.code == 0 and result.err == ""

    def test_the_simulators_config_as_written(self, installed, simulator) -> None:
        result = installed.run("chargepoint-driver", "check", simulator.config, "--online")
        assert result.code == 0 and result.err == ""
        assert "credentials accepted by the API" in result.out

    def test_keys_at_the_top_level_say_where_they_belong(self, installed, simulator) -> None:
        raw = json.loads(simulator.config.read_text(encoding="utf-8"))
        flat = simulator.config.with_name("flat.config")
        flat.write_text(json.dumps({**raw.pop("driver_config"), **raw}), encoding="utf-8")
        result = installed.run("chargepoint-driver", "check", flat)
        assert result.code == 1 and result.out == f"{len(result.err_lines)} problem(s) found\n"
        assert f"problem: {flat}, key 'stationID': at the top level, where the platform ignores it; the ChargePoint " \
               f"keys belong inside \"driver_config\"" in result.err_lines

    def test_a_bad_row_is_named_by_its_line(self, installed) -> None:
        work = installed.home / "bad-row"
        installed.run("chargepoint-driver", "init", work)
        registry = work / "chargepoint.csv"
        lines = registry.read_text(encoding="utf-8").splitlines()
        lines[5] = lines[5].replace("StationRegister", "StationRegistr")  # line 6 as an editor shows it
        registry.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = installed.run("chargepoint-driver", "check", work / "chargepoint.config")
        assert result.code == 1 and result.out == "1 problem(s) found\n"
        assert len(result.err_lines) == 1
        assert result.err_lines[0].startswith(f"problem: {registry} line 6 (point '{lines[5].split(',')[0]}'), "
                                              f"column 'Register Name', value 'StationRegistr': must be one of")
        result = installed.run("chargepoint-driver", "scrape", work / "chargepoint.config")
        assert result.code == 2 and result.out == ""
        assert result.err_lines[0].startswith(f"configuration error: {registry} line 6 (point")


class TestScrape:
    def test_into_a_closed_pipe(self, installed, simulator) -> None:
        result = installed.into_closed_pipe("chargepoint-driver", "scrape", simulator.config)
        assert (result.code, result.err) == (EXIT_PIPE, "")

    def test_a_wrong_password_is_one_line(self, installed, simulator) -> None:
        config = edited(simulator.config, simulator.config.with_name("wrong.config"), password="not-the-password")
        result = installed.run("chargepoint-driver", "scrape", config)
        assert result.code == 3 and result.out == ""
        assert result.err_lines == wrong_password_lines()


class TestSet:
    def test_shed_then_clear(self, installed, simulator) -> None:
        result = installed.run("chargepoint-driver", "set", simulator.config, "allowedLoadPort1", "3.3")
        assert (result.code, result.err) == (0, "")
        assert result.out.splitlines() == ["allowedLoadPort1 := 3.3 accepted by the API",
                                           "read-back: allowedLoadPort1 = 3.3 kW"]
        result = installed.run("chargepoint-driver", "set", simulator.config, "shedState", "0", "--json")
        assert (result.code, result.err) == (0, "")
        assert json.loads(result.out) == {"point": "shedState", "written": 0, "value": 0}

    @pytest.mark.parametrize("point, value, message", [
        ("noSuchPoint", "1", "refused (nothing was sent to the API): no point 'noSuchPoint' on this device; "
                             "writable points: shedState,"),
        ("shedState", "1", "refused (nothing was sent to the API): "),
        ("stationModel", "X", "refused (nothing was sent to the API): stationModel is read-only"),
    ])
    def test_refused_before_anything_is_sent(self, installed, simulator, point, value, message) -> None:
        before = simulator.calls()
        result = installed.run("chargepoint-driver", "set", simulator.config, point, value)
        assert result.code == 1 and result.out == ""
        assert len(result.err_lines) == 1 and result.err_lines[0].startswith(message), result.err
        assert simulator.calls() == before


class TestRegistry:
    def test_a_registry_that_check_accepts(self, installed, simulator) -> None:
        target = simulator.config.with_name("generated.csv")
        result = installed.run("chargepoint-driver", "registry", simulator.config, "-o", target)
        assert result.code == 0 and result.err == ""
        assert result.out.splitlines()[0].startswith("wrote ") and str(target) in result.out
        result = installed.run("chargepoint-driver", "check", simulator.config, "--registry", target)
        assert result.code == 0 and result.err == ""

    def test_an_output_that_cannot_be_written_asks_the_api_nothing(self, installed, simulator) -> None:
        before = simulator.calls()
        result = installed.run("chargepoint-driver", "registry", simulator.config, "-o", "/no/such/dir/x.csv")
        assert result.code == 2 and result.out == ""
        assert result.err_lines == ["cannot write /no/such/dir/x.csv: no directory /no/such/dir"]
        assert simulator.calls() == before


class TestDemo:
    def test_outside_the_repository_it_runs_on_the_packaged_samples(self, installed) -> None:
        work = installed.home / "demo"
        work.mkdir()
        result = installed.run("chargepoint-driver", "demo", "--cycles", "2", "--interval", "0", "--stations", "1",
                               cwd=work)
        assert result.code == 0 and result.err == ""
        assert "Driver configured from the sample chargepoint.config shipped with the package" in result.out
        assert re.findall(r"\[poll \d/2\] .*; (\d+) API calls", result.out) == ["6", "0"]
        assert "'chargepoint-driver init' writes this sample" in result.out.split("Done in")[1]
        assert list(work.iterdir()) == []

    def test_a_config_that_does_not_exist(self, installed) -> None:
        result = installed.run("chargepoint-driver", "demo", "--config", "/nonexistent.config")
        assert result.code == 2 and result.out == ""
        assert result.err_lines == ["configuration error: cannot read device config /nonexistent.config: No such "
                                    "file or directory"]


class TestSimulatorCommand:
    @pytest.mark.parametrize("argv, message", [
        (["--port", "99999"], "chargepoint-sim: error: argument --port: '99999' is not a TCP port: give 0-65535 (0 "
                              "picks a free port)"),
        (["--response-code", "getLod=101"], "chargepoint-sim: error: argument --response-code: unknown operation "
                                            "'getLod'; the operations are getStations, getStationStatus, getLoad,"),
    ])
    def test_bad_arguments(self, installed, argv, message) -> None:
        result = installed.run("chargepoint-sim", *argv)
        assert result.code == 2 and result.out == ""
        assert result.err_lines[0].startswith("usage: chargepoint-sim")
        assert result.err_lines[-1].startswith(message), result.err_lines[-1]
