"""Registry validation: every bad row is refused with a message naming the row, the column, the value and what is
allowed; all problems of a registry are reported at once; the sample registry is complete and loads."""
from __future__ import annotations

import csv
import dataclasses
import io

import pytest

import test_alarm_register
import test_charging_session_register
import test_load_register
import test_station_register
import test_station_rights_register
import test_station_status_register
from cp_unit_helpers import SAMPLE_CSV, assert_names, make_row, rejected
from volttron.driver.interfaces.chargepoint.registry import (parse_registry_csv, read_registry_csv, registry_rows, registry_rows_for,
                                                        validate_rows)
from volttron.driver.interfaces.chargepoint.exceptions import ConfigError

# Every attribute of the spec, from the per-register spec tables: (Register Name, Attribute Name) -> SpecAttribute.
SPEC = {(module.REGISTER, attribute.name): attribute
        for module in (test_station_register, test_station_status_register, test_load_register,
                       test_alarm_register, test_station_rights_register, test_charging_session_register)
        for attribute in module.SPEC}

HEADER = ["Volttron Point Name", "Attribute Name", "Port #", "Type", "Units", "Writable", "Notes", "Register Name",
          "Starting Value"]

# id -> (row, column, value, phrases saying what is allowed)
BAD_ROWS = {
    "unknown register": (make_row("Status", "StatusRegister", port="1"),
                         "Register Name", "StatusRegister", ("StationStatusRegister", "LoadRegister")),
    "unknown attribute": (make_row("Voltag", "StationRegister", port="1", type_="float"),
                          "Attribute Name", "Voltag", ("Voltage",)),
    "attribute under wrong register": (make_row("Status", "StationRegister", port="1"),
                                       "Attribute Name", "Status", ("belongs to StationStatusRegister",)),
    "load attribute under alarms": (make_row("percentShed", "AlarmRegister", type_="float", writable="True"),
                                    "Attribute Name", "percentShed", ("belongs to LoadRegister",)),
    "station attribute given a port": (make_row("stationID", "StationRegister", port="1"),
                                       "Port #", "1", ("station-level", "empty or 0")),
    "port attribute without port": (make_row("Status", "StationStatusRegister", port=""),
                                    "Port #", "", ("port-level", "a port number")),
    "port attribute with port 0": (make_row("portLoad", "LoadRegister", port="0", type_="float"),
                                   "Port #", "0", ("port-level", "a port number")),
    "negative port": (make_row("allowedLoad", "LoadRegister", port="-2", type_="float"),
                      "Port #", "-2", ("a port number",)),
    "non-numeric port": (make_row("alarmType", "AlarmRegister", port="two"), "Port #", "two", ("a port number",)),
    "writable read-only attribute": (make_row("Status", "StationStatusRegister", port="1", writable="True"),
                                     "Writable", "True", ("read-only", "shedState", "allowedLoad", "percentShed",
                                                          "clearAlarms")),
    "writable maybe": (make_row("City", "StationRegister", writable="maybe"), "Writable", "maybe",
                       ("True or False",)),
    "bool cannot hold Lat": (make_row("Lat", "StationRegister", port="1", type_="bool"), "Type", "bool",
                             ("float",)),
    "int cannot hold Status": (make_row("Status", "StationStatusRegister", port="1", type_="int"), "Type", "int",
                               ("string",)),
    "float cannot hold rights": (make_row("stationRightsProfile", "StationRightsRegister", type_="float"),
                                 "Type", "float", ("dict",)),
    "unknown type name": (make_row("Energy", "ChargingSessionRegister", type_="number"), "Type", "number",
                          ("float",)),
    "shedState starting 1": (make_row("shedState", "LoadRegister", type_="int", writable="True", starting="1"),
                             "Starting Value", "1", ("only 0",)),
    "percentShed starting 150": (make_row("percentShed", "LoadRegister", type_="float", writable="True",
                                          starting="150"), "Starting Value", "150", ("1 to 100",)),
    "allowedLoad starting negative": (make_row("allowedLoad", "LoadRegister", type_="float", writable="True",
                                               starting="-3"), "Starting Value", "-3", (">= 0",)),
    "clearAlarms starting 1": (make_row("clearAlarms", "AlarmRegister", type_="int", writable="True",
                                        starting="1"), "Starting Value", "1", ("0 or empty",)),
    "starting value on read-only point": (make_row("Status", "StationStatusRegister", port="1",
                                                   starting="AVAILABLE"),
                                          "Starting Value", "AVAILABLE", ("must be empty",)),
    "starting value on writable attribute configured read-only": (
        make_row("shedState", "LoadRegister", type_="int", writable="False", starting="0"),
        "Starting Value", "0", ("must be empty",)),
    "missing point name": (make_row("City", "StationRegister", point=""), "Volttron Point Name", "",
                           ("required",)),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_bad_row_is_refused_naming_row_column_value_and_what_is_allowed(case):
    row, column, value, allowed = BAD_ROWS[case]
    error = rejected(dataclasses.replace(row, line=17))
    assert_names(str(error), row=17, column=column, value=value, allowed=allowed)
    assert len(error.problems) == 1, error.problems


@pytest.mark.parametrize("value", ["None", "null"])
@pytest.mark.parametrize("name", ["allowedLoad", "percentShed"])
def test_clear_word_as_starting_value_is_a_config_error(name, value):
    row = make_row(name, "LoadRegister", type_="float", writable="True", starting=value, row=4)
    with pytest.raises(ConfigError) as info:
        validate_rows([row])
    assert_names(str(info.value), row=4, column="Starting Value", value=value)


def test_valid_starting_values_become_revert_defaults():
    specs = validate_rows([
        make_row("shedState", "LoadRegister", type_="int", writable="True", starting="0", row=1),
        make_row("allowedLoad", "LoadRegister", type_="float", writable="True", starting="7.5", row=2),
        make_row("percentShed", "LoadRegister", port="1", type_="float", writable="True", starting="25", row=3),
        make_row("clearAlarms", "AlarmRegister", type_="int", writable="True", starting="0", row=4),
    ])
    assert [s.starting_value for s in specs] == [0, 7.5, 25.0, None]


def test_a_row_reports_every_problem_it_has():
    row = make_row("Lat", "StationRegister", port="", type_="bool", writable="maybe", row=3)
    error = rejected(row)
    assert len(error.problems) == 3
    assert {p.split("column ")[1].split(",")[0] for p in error.problems} == {"'Port #'", "'Type'", "'Writable'"}


def test_long_values_are_truncated_but_still_name_row_and_column():
    long_value = "Voltage" + "x" * 5000
    error = rejected(make_row(long_value, "StationRegister", point="p", port="1", type_="float", row=21))
    message = str(error)
    assert_names(message, row=21, column="Attribute Name")
    assert long_value not in message
    assert long_value[:40] in message
    assert len(message) < 1000


def test_long_point_name_is_truncated_in_messages():
    long_name = "p" * 5000
    error = rejected(make_row("Status", "StationStatusRegister", point=long_name, port="", type_="int", row=2))
    assert_names(str(error), row=2, column="Port #")
    assert len(str(error)) < 1000


def test_duplicate_point_names_are_refused_naming_both_rows():
    rows = [make_row("Status", "StationStatusRegister", point="Status", port="1", row=1),
            make_row("City", "StationRegister", row=2),
            make_row("Status", "StationStatusRegister", point="Status", port="2", row=3)]
    with pytest.raises(ConfigError) as info:
        validate_rows(rows)
    assert len(info.value.problems) == 1
    assert_names(str(info.value), row=3, column="Volttron Point Name", value="Status", allowed=("unique",))
    assert "duplicate of line 1" in info.value.problems[0]


def test_validate_rows_reports_every_problem_at_once():
    rows = [
        make_row("stationID", "StationRegister", row=1),                                    # fine
        make_row("stationID", "StationRegister", port="2", row=2, point="sid2"),            # 1: port
        make_row("Lat", "StationRegister", port="", type_="bool", row=3),                    # 2: port + type
        make_row("Bogus", "StationRegister", row=4),                                         # 1: attribute
        make_row("shedState", "LoadRegister", type_="int", writable="True", starting="1", row=5),  # 1: start
        make_row("stationID", "StationRegister", row=6),                                     # 1: duplicate
        make_row("Status", "StationStatusRegister", port="1", row=7),                        # fine
    ]
    with pytest.raises(ConfigError) as info:
        validate_rows(rows, "registry cp1.csv")
    problems = info.value.problems
    assert len(problems) == 6, problems
    assert str(info.value).startswith("6 problem(s) in registry cp1.csv")
    for row_number in (2, 3, 4, 5, 6):
        assert any(f"line {row_number}" in p for p in problems)
    assert not any("line 1 " in p or "line 7" in p for p in problems)


def test_empty_registry_is_refused():
    with pytest.raises(ConfigError, match="no points"):
        validate_rows([])


# --- the sample registry ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_rows():
    return registry_rows(read_registry_csv(SAMPLE_CSV))


def test_sample_registry_validates(sample_rows):
    specs = validate_rows(sample_rows, str(SAMPLE_CSV))
    assert len(specs) == len(sample_rows)


def test_sample_registry_covers_every_spec_attribute(sample_rows):
    covered = {(r.register_name, r.attribute_name) for r in sample_rows}
    assert set(SPEC) - covered == set()


def test_sample_registry_point_names_are_unique(sample_rows):
    names = [r.point_name for r in sample_rows]
    assert len(names) == len(set(names))


def test_sample_registry_pricing_and_session_times_are_distinct_points(sample_rows):
    def names(register, attribute):
        return {r.point_name for r in sample_rows if (r.register_name, r.attribute_name) == (register, attribute)}
    for attribute in ("startTime", "endTime"):
        pricing, session = names("StationRegister", attribute), names("ChargingSessionRegister", attribute)
        assert pricing and session
        assert pricing.isdisjoint(session)


def test_sample_registry_starting_values_only_on_writable_points(sample_rows):
    for row in sample_rows:
        if row.starting_value:
            assert row.writable.lower() == "true", row
            assert SPEC[(row.register_name, row.attribute_name)].writable, row


def test_sample_registry_types_publish_the_spec_types(sample_rows):
    # Lesson 7 of the old driver: metadata types were always "integer". Each point publishes its own type.
    for spec in validate_rows(sample_rows):
        register = spec.build()
        assert issubclass(register.python_type, SPEC[(type(register).__name__, register.attribute_name)].published)


# --- generated registries ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("writable", [True, False])
def test_generated_registry_is_valid_complete_and_unique(writable):
    rows = registry_rows_for([2, 1], writable=writable)
    specs = validate_rows(registry_rows(rows))
    assert {(type(s.build()).__name__, s.attribute.name) for s in specs} == set(SPEC)
    assert len({r["Volttron Point Name"] for r in rows}) == len(rows)
    for row in rows:
        if row["Starting Value"]:
            assert writable and row["Writable"] == "True"
    assert any(s.writable for s in specs) is writable


# --- CSV parsing ------------------------------------------------------------------------------------------------


def csv_text(rows, header=HEADER):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


ROW_STATUS = ["StatusPort1", "Status", "1", "string", "", "False", "", "StationStatusRegister", ""]


def test_bom_is_ignored(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_text(csv_text([ROW_STATUS]), encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = read_registry_csv(path)
    assert rows[0]["Volttron Point Name"] == "StatusPort1"
    assert validate_rows(registry_rows(rows))[0].point_name == "StatusPort1"
    assert parse_registry_csv("\ufeff" + csv_text([ROW_STATUS]))[0]["Volttron Point Name"] == "StatusPort1"


@pytest.mark.parametrize("text", ["", "\ufeff", "\n\n"])
def test_empty_file_is_a_clear_error(text):
    with pytest.raises(ConfigError, match="empty.*Volttron Point Name"):
        parse_registry_csv(text, "cp1.csv")


@pytest.mark.parametrize("missing", ["Volttron Point Name", "Attribute Name", "Register Name"])
def test_missing_required_column_is_named(missing):
    header = [h for h in HEADER if h != missing]
    row = [v for h, v in zip(HEADER, ROW_STATUS) if h != missing]
    with pytest.raises(ConfigError) as info:
        parse_registry_csv(csv_text([row], header), "cp1.csv")
    assert missing in str(info.value)
    assert "cp1.csv" in str(info.value)


def test_extra_columns_are_ignored():
    header = HEADER + ["Comment", "Owner"]
    text = csv_text([ROW_STATUS + ["north bay", "facilities"]], header)
    specs = validate_rows(registry_rows(parse_registry_csv(text)))
    assert [(s.point_name, s.attribute.name, s.port) for s in specs] == [("StatusPort1", "Status", 1)]


def test_blank_lines_are_skipped_and_rows_numbered_by_their_line():
    # The header is line 1, as an editor shows it; the blank rows a spreadsheet leaves at the end are dropped.
    text = csv_text([ROW_STATUS, ["Bad", "Status", "", "string", "", "False", "", "StationStatusRegister", ""],
                     [""] * len(HEADER), [""] * len(HEADER)])
    rows = registry_rows(parse_registry_csv(text))
    assert [r.line for r in rows] == [2, 3]
    with pytest.raises(ConfigError) as info:
        validate_rows(rows)
    assert_names(str(info.value), row=3, column="Port #")


def test_unreadable_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read registry"):
        read_registry_csv(tmp_path / "missing.csv")


ROW_CITY = ["City", "City", "", "string", "", "False", "", "StationRegister", ""]


@pytest.mark.parametrize("length", [131_073, 1_000_000])
def test_a_runaway_cell_is_reported_with_its_line_and_column(length):
    long_notes = ROW_CITY[:6] + ["n" * length] + ROW_CITY[7:]
    with pytest.raises(ConfigError) as info:
        parse_registry_csv(csv_text([ROW_STATUS, long_notes]), "cp1.csv")
    assert str(info.value) == (f"cp1.csv line 3, column 'Notes': a cell of {length} characters (more than 131072); "
                               "an unclosed quote (\") makes the rest of the file one cell")


def test_an_unclosed_quote_is_reported_where_it_opens():
    text = csv_text([ROW_STATUS]) + 'City,City,,string,,False,"unclosed notes,StationRegister,\n' + \
        "\n".join(",".join(ROW_STATUS) for _ in range(20_000))
    with pytest.raises(ConfigError, match="cp1.csv line 3, column 'Notes': a cell of"):
        parse_registry_csv(text, "cp1.csv")


def test_a_long_cell_leaves_the_csv_field_limit_as_it_was():
    before = csv.field_size_limit()
    with pytest.raises(ConfigError):
        parse_registry_csv(csv_text([ROW_CITY[:6] + ["n" * 200_000] + ROW_CITY[7:]]), "cp1.csv")
    assert csv.field_size_limit() == before


def test_a_cell_at_the_limit_is_read():
    notes = "n" * 131_072
    rows = parse_registry_csv(csv_text([ROW_CITY[:6] + [notes] + ROW_CITY[7:]]), "cp1.csv")
    assert rows[0]["Notes"] == notes
