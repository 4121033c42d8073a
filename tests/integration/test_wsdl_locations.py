"""A process that meets many WSDL locations (a simulator on a new port each run, configs tried one after another)
keeps only the parses it used last, and a device whose parse was dropped keeps working."""

from __future__ import annotations

import gc
import shutil
import weakref

from volttron.driver.interfaces.chargepoint import wsdl
from volttron.driver.interfaces.chargepoint.wsdl import BUNDLED_WSDL, KEPT_LOCATIONS


def copies(tmp_path, count: int) -> list[str]:
    paths = [tmp_path / f"cp_api_{number}.wsdl" for number in range(count)]
    for path in paths:
        shutil.copy(BUNDLED_WSDL, path)
    return [str(path) for path in paths]


def test_a_device_reads_on_after_its_wsdl_parse_is_dropped_and_dropped_parses_are_freed(sim, make_device, tmp_path):
    locations = copies(tmp_path, KEPT_LOCATIONS + 2)
    first = make_device(wsdl=locations[0], endpoint=sim.endpoint, name="first")
    assert first.scrape()[1] == {}
    parsed = weakref.ref(wsdl.prototype(wsdl.wsdl_url(locations[0]), 5, None).wsdl)
    unused = weakref.ref(wsdl.prototype(wsdl.wsdl_url(locations[1]), 5, None).wsdl)
    for number, location in enumerate(locations[2:]):
        make_device(wsdl=location, endpoint=sim.endpoint, name=f"other{number}").scrape()
    gc.collect()
    assert unused() is None  # no device used it: dropped and freed
    assert parsed() is not None  # the first device still holds the parse it was made from
    values, errors = first.scrape()
    assert errors == {} and values["stationID"] == sim.model.station_ids()[0]
    first.set("allowedLoadPort1", 3.0)
    shed = sim.model.shed_state(values["stationID"], effective=False)
    assert {int(port): state.limit.allowed_kw for port, state in shed.items()} == {1: 3.0}


def test_a_location_in_use_is_parsed_once_however_many_others_come_and_go(tmp_path):
    main, *others = [wsdl.wsdl_url(location) for location in copies(tmp_path, 3 * KEPT_LOCATIONS)]
    parsed = wsdl.prototype(main, 5, None)
    for other in others:
        wsdl.prototype(other, 5, None)
        assert wsdl.prototype(main, 5, None) is parsed
