//! Tests of the lunar calendar against an independent reference and known dates.

use super::*;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
}

fn lunar(year: i32, month: u32, day: u32, leap: bool) -> LunarDate {
    LunarDate {
        year,
        month,
        day,
        leap,
    }
}

/// Tết 1900–2100 as computed by two independent sources (see the fixture's header and
/// scripts/gen_tet_reference.py).
const TET_REFERENCE: &str = include_str!("../../../tests/fixtures/tet_1900_2100.txt");

#[test]
fn tet_matches_the_independent_reference_for_1900_to_2100() {
    let mut years = 0;
    for line in TET_REFERENCE.lines().filter(|l| !l.starts_with('#')) {
        let (year, expected) = line.split_once(' ').expect("`YEAR DATE` line");
        let year: i32 = year.parse().expect("year");
        let expected: NaiveDate = expected.parse().expect("ISO date");
        assert_eq!(tet(year), expected, "Tết {year}");
        assert_eq!(solar_to_lunar(expected), lunar(year, 1, 1, false));
        years += 1;
    }
    assert_eq!(years, 201);
}

#[test]
fn required_2027_example() {
    assert_eq!(solar_to_lunar(date(2027, 2, 6)), lunar(2027, 1, 1, false));
    assert_eq!(
        lunar_to_solar(lunar(2027, 1, 1, false)),
        Ok(date(2027, 2, 6))
    );
    // The day before is the last day (29th) of month 12 of lunar year 2026.
    assert_eq!(solar_to_lunar(date(2027, 2, 5)), lunar(2026, 12, 29, false));
}

#[test]
fn vietnamese_tet_differs_from_the_chinese_new_year_in_some_years() {
    // Chinese (UTC+8): 1985-02-20, 2007-02-18, 1968-01-30.
    assert_eq!(tet(1985), date(1985, 1, 21));
    assert_eq!(tet(2007), date(2007, 2, 17));
    assert_eq!(tet(1968), date(1968, 1, 29));
}

#[test]
fn leap_months_are_found_and_numbered() {
    assert_eq!(leap_month(2020), Some(4));
    assert_eq!(leap_month(2023), Some(2));
    assert_eq!(leap_month(2025), Some(6));
    assert_eq!(leap_month(2027), None);
    // The famous 2033 case: a leap month 11, after the solstice month.
    assert_eq!(leap_month(2033), Some(11));
    assert_eq!(solar_to_lunar(date(2025, 7, 25)), lunar(2025, 6, 1, true));
    assert_eq!(solar_to_lunar(date(2025, 7, 24)), lunar(2025, 6, 30, false));
    assert_eq!(
        lunar_to_solar(lunar(2023, 2, 1, true)),
        Ok(date(2023, 3, 22))
    );
}

#[test]
fn every_day_of_several_years_round_trips() {
    for year in [
        1900, 1968, 1985, 2007, 2023, 2025, 2027, 2033, 2034, 2057, 2100,
    ] {
        let mut day = date(year, 1, 1);
        while day.year() == year {
            let l = solar_to_lunar(day);
            assert_eq!(lunar_to_solar(l), Ok(day), "{day} → {l:?}");
            day = day.succ_opt().expect("next day");
        }
    }
}

#[test]
fn lunar_days_advance_one_by_one_and_months_have_29_or_30_days() {
    let mut previous = solar_to_lunar(date(2032, 12, 31));
    let mut day = date(2033, 1, 1);
    while day.year() < 2035 {
        let l = solar_to_lunar(day);
        if l.day == 1 {
            assert!(
                previous.day == 29 || previous.day == 30,
                "{day}: {previous:?}"
            );
        } else {
            assert_eq!(
                (l.year, l.month, l.leap, l.day),
                (
                    previous.year,
                    previous.month,
                    previous.leap,
                    previous.day + 1
                )
            );
        }
        previous = l;
        day = day.succ_opt().expect("next day");
    }
}

#[test]
fn impossible_lunar_dates_are_rejected() {
    let code = |d| lunar_to_solar(d).map_err(|e| e.code());
    // 2027 has no leap month.
    assert_eq!(
        code(lunar(2027, 3, 1, true)),
        Err("calendar.invalid_lunar_date")
    );
    // Month 12 of lunar year 2026 has 29 days (Tết 2027 follows its 29th).
    assert_eq!(
        code(lunar(2026, 12, 30, false)),
        Err("calendar.invalid_lunar_date")
    );
    assert_eq!(
        code(lunar(2026, 13, 1, false)),
        Err("calendar.invalid_lunar_date")
    );
    assert_eq!(
        code(lunar(2026, 0, 1, false)),
        Err("calendar.invalid_lunar_date")
    );
    assert_eq!(
        code(lunar(2026, 1, 0, false)),
        Err("calendar.invalid_lunar_date")
    );
    assert_eq!(
        code(lunar(2026, 1, 31, false)),
        Err("calendar.invalid_lunar_date")
    );
    assert_eq!(code(lunar(1799, 1, 1, false)), Err("calendar.out_of_range"));
}

#[test]
fn extreme_years_do_not_panic() {
    let _ = tet(i32::MIN);
    let _ = tet(i32::MAX);
    let _ = solar_to_lunar(NaiveDate::MIN);
    let _ = solar_to_lunar(NaiveDate::MAX);
}

#[test]
fn gregorian_jdn_matches_chrono() {
    assert_eq!(gregorian_jdn(2000, 1, 1), 2_451_545);
    assert_eq!(gregorian_jdn(1999, 12, 31), jdn(date(1999, 12, 31)));
    assert_eq!(gregorian_jdn(-4713, 11, 24), 0);
}

/// Ad-hoc check of every day 1900–2100 against a dump from the reference script
/// (`--days 1900 2100`); run with `TET_DAYS=/tmp/days.txt cargo test -- --ignored`.
#[test]
#[ignore = "needs a dump made by scripts/gen_tet_reference.py --days"]
fn every_day_matches_a_reference_dump() {
    let path = std::env::var("TET_DAYS").expect("TET_DAYS=path of the dump");
    let dump = std::fs::read_to_string(path).expect("readable dump");
    for line in dump.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let day: NaiveDate = f[0].parse().expect("date");
        let n = |i: usize| f[i].parse::<i64>().expect("number");
        let expected = lunar(n(1) as i32, n(2) as u32, n(3) as u32, n(4) == 1);
        assert_eq!(solar_to_lunar(day), expected, "{day}");
        assert_eq!(lunar_to_solar(expected), Ok(day), "{day}");
    }
}
