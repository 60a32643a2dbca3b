#!/usr/bin/env python3
"""Generate crates/core/tests/fixtures/tet_1900_2100.txt, the reference Tết dates that
`tinhso_core::calendar::lunar` is tested against.

Each date is the Vietnamese Tết (lunar 1/1) computed at UTC+7 by two sources that share no
code with each other nor with the Rust module, and the script aborts unless they agree:

* PyPI `lunar-vn` 1.4.0, an implementation of Hồ Ngọc Đức's UTC+7 algorithm;
* a full-precision astronomical computation with PyPI `ephem` 4.2.1 (new moons, December
  solstice, apparent solar longitude), the calendar rules being applied here at UTC+7.

Hồ Ngọc Đức's precomputed year tables (TK19..TK22, read through PyPI `vnlunar` 1.0.5) are
compared too; the years where they differ by a day (all before 1968) are listed in the
fixture header rather than used, because the platform computes at UTC+7 throughout.

Usage (a throwaway virtualenv is fine; nothing here is needed to build or test the crate):

    python3 -m venv /tmp/tetref && /tmp/tetref/bin/pip install lunar-vn==1.4.0 ephem==4.2.1 vnlunar==1.0.5
    /tmp/tetref/bin/python scripts/gen_tet_reference.py > crates/core/tests/fixtures/tet_1900_2100.txt

    # every day of a range (within 1900-2100): solar date, then lunar year month day leap(0/1)
    /tmp/tetref/bin/python scripts/gen_tet_reference.py --days 1900 2100 > /tmp/days.txt
"""

import datetime as dt
import math
import sys

import ephem
import lunar_vn
import vnlunar

FIRST, LAST = 1900, 2100
TZ_DAYS = 7 / 24  # Vietnam, UTC+7


def table_lunar(day: dt.date):
    """Lunar (year, month, day, leap) of a solar date from Hồ Ngọc Đức's tables."""
    lunar = vnlunar.get_lunar_date_from_table(day.day, day.month, day.year)
    if lunar is None:
        raise SystemExit(f"{day} is outside the published tables")
    return lunar["year"], lunar["month"], lunar["day"], bool(lunar["leap"])


def table_tet(year: int) -> dt.date:
    """Tết is always between 21 January and 20 February; find lunar 1/1 there."""
    day = dt.date(year, 1, 15)
    while day < dt.date(year, 2, 28):
        if table_lunar(day) == (year, 1, 1, False):
            return day
        day += dt.timedelta(days=1)
    raise SystemExit(f"no Tết found for {year} in the tables")


def lunar_vn_tet(year: int) -> dt.date:
    return lunar_vn.lunar_to_solar(lunar_vn.LunarDate(1, 1, year))


# --- astronomical cross-check (ephem), rules applied at UTC+7 ---------------------------

def local_day(when: float) -> dt.date:
    return ephem.Date(when + TZ_DAYS).datetime().date()


def utc_of_local_midnight(day: dt.date) -> ephem.Date:
    return ephem.Date(ephem.Date(day) - TZ_DAYS)


def sun_sector(day: dt.date) -> int:
    """30° sector of the Sun's apparent longitude at the local midnight starting `day`."""
    when = utc_of_local_midnight(day)
    sun = ephem.Sun()
    sun.compute(when, epoch=when)
    ecliptic = ephem.Ecliptic(ephem.Equatorial(sun.g_ra, sun.g_dec, epoch=when), epoch=when)
    return int(ecliptic.lon / (math.pi / 6))


def month11_start(year: int) -> dt.date:
    """First day of the lunar month containing the December solstice of `year`."""
    solstice_day = local_day(ephem.next_solstice(ephem.Date(dt.date(year, 12, 1))))
    end_of_that_day = utc_of_local_midnight(solstice_day + dt.timedelta(days=1))
    return local_day(ephem.previous_new_moon(end_of_that_day))


def ephem_tet(year: int) -> dt.date:
    first, last = month11_start(year - 1), month11_start(year)
    starts = [first]
    while starts[-1] < last:
        after = utc_of_local_midnight(starts[-1] + dt.timedelta(days=1))
        starts.append(local_day(ephem.next_new_moon(after)))
    months = len(starts) - 1  # 12 or 13
    leap = None
    if months == 13:
        leap = next(i for i in range(1, 13) if sun_sector(starts[i]) == sun_sector(starts[i + 1]))
    return starts[3] if leap in (1, 2) else starts[2]


def write_fixture() -> None:
    rows, table_differs = [], []
    for year in range(FIRST, LAST + 1):
        tet = lunar_vn_tet(year)
        astronomical = ephem_tet(year)
        if astronomical != tet:
            raise SystemExit(f"{year}: lunar-vn says {tet}, ephemeris says {astronomical}")
        published = table_tet(year)
        if published != tet:
            table_differs.append(f"{year} (tables: {published})")
        rows.append(f"{year} {tet.isoformat()}")
    print("# Tết Nguyên đán (lunar 1/1 of the Vietnamese calendar, computed at UTC+7), one line per")
    print("# lunar year: YEAR SOLAR-DATE. Source: PyPI lunar-vn 1.4.0 (Hồ Ngọc Đức's algorithm,")
    print("# time zone 7.0), every year confirmed by an independent full-precision ephemeris")
    print("# computation (PyPI ephem 4.2.1, calendar rules applied at UTC+7).")
    print("# Hồ Ngọc Đức's precomputed tables (TK19..TK22, via PyPI vnlunar 1.0.5) say one day later in:")
    print("#   " + ", ".join(table_differs))
    print("# Made by: python scripts/gen_tet_reference.py > crates/core/tests/fixtures/tet_1900_2100.txt")
    for row in rows:
        print(row)


def write_days(first: int, last: int) -> None:
    day, end = dt.date(first, 1, 1), dt.date(last, 12, 31)
    while day <= end:
        lunar = lunar_vn.solar_to_lunar(day)
        print(f"{day.isoformat()} {lunar.year} {lunar.month} {lunar.day} {int(lunar.leap)}")
        day += dt.timedelta(days=1)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--days":
        write_days(int(sys.argv[2]), int(sys.argv[3]))
    else:
        write_fixture()
