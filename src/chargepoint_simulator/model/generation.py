"""Drawing a seeded organisation: its fixed facts, and each station's state when the model starts.

Two kinds of random stream keep the draws independent of the order stations are read in: one for the
organisation (names, sites, groups and every station's fixed facts, drawn up front in station order)
and one per station (its history and present state, drawn the first time it is touched). The order
of the draws is part of the seed's meaning: tests compare against fixed expectations, so a draw may
not be added, dropped or moved without changing every answer.
"""
from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from chargepoint_simulator.model.entities import (
    AVAILABLE,
    INUSE,
    UNKNOWN,
    UNREACHABLE,
    Organization,
    Port,
    Pricing,
    Session,
    Station,
    StationGroup,
)
from chargepoint_simulator.model.evolution import (
    ALARM_MEAN_SECONDS,
    IDLE_MEAN_SECONDS,
    QUIET_SECONDS,
    SESSION_MAX_SECONDS,
    SESSION_MIN_SECONDS,
    StationEvolution,
)
from chargepoint_simulator.model.instants import instant, whole_seconds

_log = logging.getLogger(__name__)

# Stations beyond the first two (always two-port) have two ports with this chance.
TWO_PORT_CHANCE = 0.6
RESERVABLE_CHANCE = 0.2

# A port's state at start-up, from one roll: in use, else unreachable, else unknown, else available.
START_INUSE_CHANCE = 0.35
START_UNREACHABLE_CHANCE = 0.03
START_UNKNOWN_CHANCE = 0.02
# The chance that a station starts with one or two uncleared alarms from the last three days.
START_ALARM_CHANCE = 0.4

CPN_INSTANCES = (
    {"cpnID": "1", "cpnName": "CPN NA", "cpnDescription": "ChargePoint Network (North America)"},
    {"cpnID": "2", "cpnName": "CPN EU", "cpnDescription": "ChargePoint Network (Europe)"},
)

_ORG_NAMES = (
    "Lakeside Facilities",
    "Northwind Campus Services",
    "Riverbend Municipal Fleet",
    "Summit Properties",
    "Harborview Parking",
)

# (site name, street, city, state, postal code, latitude, longitude, UTC offset)
_SITES = (
    ("Oakland Garage", "2100 Harbor Blvd", "Oakland", "CA", "94607", 37.795500, -122.279000, "-08:00"),
    ("Austin Campus", "455 Innovation Way", "Austin", "TX", "78701", 30.267200, -97.743100, "-06:00"),
    ("Denver Depot", "80 Commerce St", "Denver", "CO", "80202", 39.739200, -104.990300, "-07:00"),
    ("Chicago Tower", "1200 Lakeshore Dr", "Chicago", "IL", "60601", 41.885800, -87.618100, "-06:00"),
    ("Boston Yard", "30 Market Sq", "Boston", "MA", "02109", 42.360100, -71.058900, "-05:00"),
)

_TWO_PORT_MODELS = ("CT4021-GW1", "CT4025-GW1", "CT4020-HD")
_ONE_PORT_MODELS = ("CT4011-GW1", "CT4013-GW1", "CPF50-L18")
_CURRENTS = (16, 24, 30, 32)
_VOLTAGE = 240


@dataclass
class Inventory:
    """The fixed facts of a generated organisation; ``stations`` is keyed by stationID, in creation order."""

    organization: Organization
    groups: list[StationGroup]
    stations: dict[str, Station]


def build_inventory(seed: int, count: int, start: datetime) -> Inventory:
    """The organisation, its groups (one per site plus "Demand Response") and ``count`` stations."""
    rng = random.Random(f"chargepoint-sim/{seed}/org")
    org_name = rng.choice(_ORG_NAMES)
    organization = Organization(orgID=f"1:ORG{rng.randint(1000, 99999):05d}", organizationName=org_name)
    site_count = max(1, min(len(_SITES), 3, count))
    sites = rng.sample(_SITES, site_count)
    sg_ids = rng.sample(range(20000, 99999), site_count + 1)
    site_groups = [StationGroup(sgID=sg_ids[i], sgName=sites[i][0]) for i in range(site_count)]
    dr_group = StationGroup(sgID=sg_ids[-1], sgName="Demand Response")
    short = org_name.split()[0].upper()
    stations: dict[str, Station] = {}
    for index in range(count):
        site_index = index % site_count
        groups = [site_groups[site_index]]
        if index % 3 == 0:
            groups.append(dr_group)
        station = _make_station(rng, index, sites[site_index], groups, organization, short, start)
        for group in groups:
            group.station_ids.append(station.stationID)
        stations[station.stationID] = station
    _log.debug("built %d stations for %s (%s)", count, org_name, organization.orgID)
    return Inventory(organization, site_groups + [dr_group], stations)


def _make_station(
    rng: random.Random,
    index: int,
    site: tuple[Any, ...],
    groups: list[StationGroup],
    organization: Organization,
    short: str,
    start: datetime,
) -> Station:
    """The fixed facts of one station."""
    site_name, street, city, state, postal, lat, lon, tz = site
    station_id = f"1:{10001 + index}"
    two_ports = index < 2 or rng.random() < TWO_PORT_CHANCE
    model = rng.choice(_TWO_PORT_MODELS if two_ports else _ONE_PORT_MODELS)
    name = f"{short} / {site_name.upper()} {index + 1:03d}"
    s_lat = round(lat + rng.uniform(-0.002, 0.002), 6)
    s_lon = round(lon + rng.uniform(-0.002, 0.002), 6)
    current = rng.choice(_CURRENTS)
    reservable = 1 if rng.random() < RESERVABLE_CHANCE else 0
    ports = [
        Port(
            portNumber=str(n),
            stationName=name,
            Lat=round(s_lat + 0.00001 * (n - 1), 6),
            Long=s_lon,
            Description=f"Level 2 port {n}",
            Reservable=reservable,
            Level="L2",
            Mode="1",
            Connector="J1772",
            Voltage=_VOLTAGE,
            Current=current,
            Power=round(_VOLTAGE * current / 1000.0, 3),
            estimatedCost=0.0,
        )
        for n in range(1, (2 if two_ports else 1) + 1)
    ]
    activated = start - timedelta(days=rng.randint(60, 1800), seconds=rng.randint(0, 86399))
    modified = activated + timedelta(days=rng.randint(0, 50), seconds=rng.randint(0, 86399))
    high = rng.choice((0, 1))
    return Station(
        stationID=station_id,
        stationManufacturer="ChargePoint",
        stationModel=model,
        stationMacAddr=f"0024:B100:{0x0002 + ((index + 1) >> 16):04X}:{(index + 1) & 0xFFFF:04X}",
        stationSerialNum=str(rng.randint(10**11, 10**12 - 1)),
        stationActivationDate=activated,
        stationName=name,
        Address=street,
        City=city,
        State=state,
        Country="United States",
        postalCode=postal,
        Lat=s_lat,
        Long=s_lon,
        ports=ports,
        pricing=_make_pricing(rng, high),
        lastModifiedDate=modified,
        modTimeStamp=modified,
        mainPhone="1-888-555-0142",
        timezoneOffset=tz,
        currencyCode="USD",
        orgID=organization.orgID,
        organizationName=organization.organizationName,
        sgIDs=[g.sgID for g in groups],
        sgNames=[g.sgName for g in groups],
        index=index,
    )


def _make_pricing(rng: random.Random, split: int) -> list[Pricing]:
    """One all-day schedule, or a morning and an afternoon one."""
    spans = [(time(0, 0, 0), time(23, 59, 59))]
    if split:
        spans = [(time(0, 0, 0), time(11, 59, 59)), (time(12, 0, 0), time(23, 59, 59))]
    schedules = []
    for start, end in spans:
        hourly = round(rng.uniform(1.0, 3.0), 2)
        schedules.append(
            Pricing(
                Type=rng.choice(("Hourly", "kWh", "Session")),
                startTime=start,
                endTime=end,
                minPrice=1.0,
                maxPrice=round(rng.uniform(15.0, 40.0), 2),
                initialUnitPriceDuration=rng.choice((1, 2, 4)),
                unitPricePerHour=hourly,
                unitPricePerHourThereafter=round(hourly * 2, 2),
                unitPricePerSession=round(rng.uniform(0.0, 2.0), 2),
                unitPricePerKWh=round(rng.uniform(0.15, 0.45), 2),
                sessionTime="Anytime",
            )
        )
    return schedules


def start_evolution(station: Station, seed: int, t0: float) -> StationEvolution:
    """Draw the station's state at ``t0`` (its history, port states and alarms); returns its evolution."""
    rng = random.Random(f"chargepoint-sim/{seed}/{station.stationID}")
    evolution = StationEvolution(station, rng, t0)
    _draw_history(evolution, t0)
    for port in station.ports:
        _draw_port_state(evolution, port, t0)
    if rng.random() < START_ALARM_CHANCE:
        for _ in range(rng.randint(1, 2)):
            evolution.random_alarm(whole_seconds(t0 - rng.uniform(3600.0, 3 * 86400.0)))
        station.alarms.sort(key=lambda a: a.alarmTime)
    evolution.next_alarm = whole_seconds(t0 + QUIET_SECONDS + rng.expovariate(1.0 / ALARM_MEAN_SECONDS))
    return evolution


def _draw_history(evolution: StationEvolution, t0: float) -> None:
    """One to five completed sessions per port before ``t0``, recorded oldest first."""
    station, rng = evolution.station, evolution.rng
    history: list[tuple[Port, float, float, float]] = []
    for port in station.ports:
        cursor = t0 - rng.uniform(1800.0, 7200.0)
        for _ in range(rng.randint(1, 5)):
            duration = rng.uniform(SESSION_MIN_SECONDS, SESSION_MAX_SECONDS)
            demand = port.Power * rng.uniform(0.5, 1.0)
            history.append((port, whole_seconds(cursor - duration), whole_seconds(cursor), demand))
            cursor -= duration + rng.uniform(1800.0, 12 * 3600.0)
    history.sort(key=lambda item: (item[1], item[0].portNumber))
    for port, start, end, demand in history:
        user, credential = evolution.new_driver()
        station.sessions.append(
            Session(
                sessionID=evolution.next_session_id(),
                stationID=station.stationID,
                portNumber=port.portNumber,
                Energy=round(demand * (end - start) / 3600.0, 6),
                startTime=instant(start),
                endTime=instant(end),
                userID=user,
                credentialID=credential,
            )
        )


def _draw_port_state(evolution: StationEvolution, port: Port, t0: float) -> None:
    """The port's status at ``t0``, since when, and when it first changes (never within the quiet start)."""
    rng = evolution.rng
    roll = rng.random()
    if roll < START_INUSE_CHANCE:
        started = whole_seconds(t0 - rng.uniform(300.0, 7200.0))
        demand = round(port.Power * rng.uniform(0.55, 1.0), 3)
        port.Status = INUSE
        port.TimeStamp = instant(started)
        port.session = evolution.new_session(started, demand)
        port.session.energy_kwh = demand * (t0 - started) / 3600.0
        next_event = whole_seconds(t0 + QUIET_SECONDS + rng.uniform(0.0, 3 * 3600.0))
    elif roll < START_INUSE_CHANCE + START_UNREACHABLE_CHANCE + START_UNKNOWN_CHANCE:
        port.Status = UNREACHABLE if roll < START_INUSE_CHANCE + START_UNREACHABLE_CHANCE else UNKNOWN
        port.TimeStamp = instant(whole_seconds(t0 - rng.uniform(300.0, 3600.0)))
        next_event = whole_seconds(t0 + QUIET_SECONDS + rng.uniform(0.0, 1800.0))
    else:
        port.Status = AVAILABLE
        port.TimeStamp = instant(whole_seconds(t0 - rng.uniform(600.0, 6 * 3600.0)))
        next_event = whole_seconds(t0 + QUIET_SECONDS + rng.expovariate(1.0 / IDLE_MEAN_SECONDS))
    evolution.next_event[port.portNumber] = next_event
