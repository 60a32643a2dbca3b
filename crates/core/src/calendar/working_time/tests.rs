//! Tests of working-time arithmetic with exact expected instants (default calendar: office
//! 07:30–11:30 and 13:00–17:00, Saturday and Sunday closed, default holiday rules and the
//! built-in 2025 schedule).

use super::*;

fn at(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).expect("RFC 3339 test instant")
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
}

fn time(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("valid test time")
}

fn add_days(from: &str, days: u64) -> DateTime<FixedOffset> {
    WorkingCalendar::default()
        .add_working_days(at(from), days)
        .expect("working time exists")
}

fn next(from: &str) -> DateTime<FixedOffset> {
    WorkingCalendar::default()
        .next_working_instant(at(from))
        .expect("working time exists")
}

#[test]
fn default_office_hours_and_validation() {
    let hours = OfficeHours::default();
    assert_eq!(
        hours.periods(),
        &[(time(7, 30), time(11, 30)), (time(13, 0), time(17, 0))]
    );
    assert_eq!(hours.working_day_minutes(), 480);
    let code = |periods| OfficeHours::new(periods).map_err(|e| e.code());
    assert_eq!(code(vec![]), Err("calendar.invalid_office_hours"));
    assert_eq!(
        code(vec![(time(9, 0), time(8, 0))]),
        Err("calendar.invalid_office_hours")
    );
    assert_eq!(
        code(vec![(time(7, 0), time(12, 0)), (time(11, 0), time(17, 0))]),
        Err("calendar.invalid_office_hours")
    );
    assert_eq!(
        code(vec![(time(13, 0), time(17, 0)), (time(7, 0), time(11, 0))]),
        Err("calendar.invalid_office_hours")
    );
    // Thanh Hóa's sessions, touching periods are fine.
    assert!(
        OfficeHours::new(vec![
            (time(7, 0), time(11, 30)),
            (time(13, 30), time(17, 0))
        ])
        .is_ok()
    );
    assert!(OfficeHours::new(vec![(time(7, 0), time(12, 0)), (time(12, 0), time(16, 0))]).is_ok());
}

#[test]
fn office_hours_are_validated_when_deserialized() {
    let json = serde_json::to_string(&OfficeHours::default()).expect("serialize");
    assert_eq!(
        json,
        r#"{"periods":[["07:30:00","11:30:00"],["13:00:00","17:00:00"]]}"#
    );
    assert_eq!(
        serde_json::from_str::<OfficeHours>(&json).expect("valid"),
        OfficeHours::default()
    );
    let reversed = r#"{"periods":[["17:00:00","13:00:00"]]}"#;
    assert!(serde_json::from_str::<OfficeHours>(reversed).is_err());
    let calendar = WorkingCalendar::default();
    let json = serde_json::to_string(&calendar).expect("serialize");
    assert_eq!(
        serde_json::from_str::<WorkingCalendar>(&json).expect("valid"),
        calendar
    );
}

#[test]
fn working_days() {
    let calendar = WorkingCalendar::default();
    assert!(calendar.is_working_day(date(2027, 3, 5))); // Friday
    assert!(!calendar.is_working_day(date(2027, 3, 6))); // Saturday
    assert!(!calendar.is_working_day(date(2027, 2, 10))); // compensatory day for Tết
    assert!(calendar.is_working_day(date(2027, 2, 12)));
    assert!(calendar.is_working_day(date(2025, 4, 26))); // swapped working Saturday
    assert!(!calendar.is_working_day(date(2025, 5, 2))); // its day off
    assert_eq!(calendar.holidays_in_year(2027).len(), 15);
}

#[test]
fn next_working_instant_cases() {
    // Inside office hours: unchanged, seconds kept.
    assert_eq!(
        next("2027-03-04T09:15:20+07:00"),
        at("2027-03-04T09:15:20+07:00")
    );
    // Before opening, during lunch (also exactly at 11:30), after 17:00 (also exactly 17:00).
    assert_eq!(
        next("2027-03-04T06:00:00+07:00"),
        at("2027-03-04T07:30:00+07:00")
    );
    assert_eq!(
        next("2027-03-04T12:00:00+07:00"),
        at("2027-03-04T13:00:00+07:00")
    );
    assert_eq!(
        next("2027-03-04T11:30:00+07:00"),
        at("2027-03-04T13:00:00+07:00")
    );
    assert_eq!(
        next("2027-03-04T17:30:00+07:00"),
        at("2027-03-05T07:30:00+07:00")
    );
    assert_eq!(
        next("2027-03-04T17:00:00+07:00"),
        at("2027-03-05T07:30:00+07:00")
    );
    // Saturday → Monday; first day of the Tết block → the Friday after the compensatory days.
    assert_eq!(
        next("2027-03-06T10:00:00+07:00"),
        at("2027-03-08T07:30:00+07:00")
    );
    assert_eq!(
        next("2027-02-05T09:00:00+07:00"),
        at("2027-02-12T07:30:00+07:00")
    );
    // A swapped working Saturday is a working day.
    assert_eq!(
        next("2025-04-26T06:45:00+07:00"),
        at("2025-04-26T07:30:00+07:00")
    );
    // Other offsets are converted to Vietnamese time: 10:30 UTC is 17:30 in Hà Nội.
    let converted = next("2027-03-04T10:30:00Z");
    assert_eq!(converted, at("2027-03-05T07:30:00+07:00"));
    assert_eq!(converted.offset(), &vietnam_offset());
}

#[test]
fn adding_working_days_edge_cases() {
    // Friday 16:59: 1 minute on Friday, 479 on Monday → Monday 16:59.
    assert_eq!(
        add_days("2027-03-05T16:59:00+07:00", 1),
        at("2027-03-08T16:59:00+07:00")
    );
    // Submitted on Saturday: counting starts Monday 07:30, a full day ends Monday 17:00.
    assert_eq!(
        add_days("2027-03-06T10:00:00+07:00", 1),
        at("2027-03-08T17:00:00+07:00")
    );
    // Eve of Tết, Thursday 4/2/2027 10:00: 90 + 240 minutes that day; Fri 5/2 – Thu 11/2 are
    // off (Tết block and its two compensatory days); the last 150 minutes end Fri 12/2 10:00.
    assert_eq!(
        add_days("2027-02-04T10:00:00+07:00", 1),
        at("2027-02-12T10:00:00+07:00")
    );
    // Swapped working Saturday 26/4/2025 09:00: 390 minutes that day, 90 on Monday 28/4.
    assert_eq!(
        add_days("2025-04-26T09:00:00+07:00", 1),
        at("2025-04-28T09:00:00+07:00")
    );
    // During lunch: from 13:00, 240 minutes Thursday, 240 Friday morning.
    assert_eq!(
        add_days("2027-03-04T12:00:00+07:00", 1),
        at("2027-03-05T11:30:00+07:00")
    );
    // After 17:00: the whole next working day.
    assert_eq!(
        add_days("2027-03-04T18:00:00+07:00", 1),
        at("2027-03-05T17:00:00+07:00")
    );
    // Zero is the next working instant.
    assert_eq!(
        add_days("2027-03-04T18:00:00+07:00", 0),
        at("2027-03-05T07:30:00+07:00")
    );
}

#[test]
fn three_working_days_from_wednesday_before_tet_2027() {
    // Tết 2027 is Saturday 6/2. Default rules: Fri 5/2 (last day of the lunar year) to Tue
    // 9/2 are Tết, and its Saturday and Sunday give compensatory Wed 10/2 and Thu 11/2.
    // 3 working days = 24 h = 1440 min from Wed 3/2 16:00:
    //   Wed 3/2 16:00–17:00 →   60 (60)
    //   Thu 4/2 full day    →  480 (540)
    //   Fri 5/2 – Thu 11/2  →  off
    //   Fri 12/2 full day   →  480 (1020)
    //   Sat 13/2, Sun 14/2  →  rest
    //   Mon 15/2            →  420 = 07:30–11:30 (240) + 13:00–16:00 (180)
    assert_eq!(
        add_days("2027-02-03T16:00:00+07:00", 3),
        at("2027-02-15T16:00:00+07:00")
    );
}

#[test]
fn hours_and_minutes() {
    let calendar = WorkingCalendar::default();
    let t = at("2027-03-04T09:00:00+07:00");
    // 150 minutes before lunch, 90 after.
    assert_eq!(
        calendar.add_working_hours(t, 4),
        Ok(at("2027-03-04T14:30:00+07:00"))
    );
    assert_eq!(
        calendar.add_working_minutes(t, 150),
        Ok(at("2027-03-04T11:30:00+07:00"))
    );
    assert_eq!(
        calendar.add_working_minutes(t, 151),
        Ok(at("2027-03-04T13:01:00+07:00"))
    );
}

#[test]
fn sixty_working_days_end_at_closing_time_of_the_sixtieth_working_day() {
    let calendar = WorkingCalendar::default();
    let start = at("2027-01-04T07:30:00+07:00");
    let due = calendar.add_working_days(start, 60).expect("due");
    assert_eq!(due.time(), time(17, 0));
    let mut working_days = 0;
    let mut day = date(2027, 1, 4);
    while day <= due.date_naive() {
        working_days += u32::from(calendar.is_working_day(day));
        day = day.succ_opt().expect("next day");
    }
    assert_eq!(working_days, 60);
    // January: 20 working days (4/1–29/1); February: 4 + 1 + 10 = 15 (1/2–4/2, 12/2, then
    // two full weeks; 5/2–11/2 are Tết and its compensatory days); March: 23 (58 in all);
    // so the 60th is Friday 2/4.
    assert_eq!(due, at("2027-04-02T17:00:00+07:00"));
    assert_eq!(calendar.working_minutes_between(start, due), Ok(60 * 480));
}

#[test]
fn working_minutes_between_is_the_inverse_of_adding() {
    let calendar = WorkingCalendar::default();
    // A deterministic linear congruential sequence of instants over 2024–2028 and spans of
    // up to ~200 working days.
    let mut state: u64 = 0x2027_0206;
    let mut random = move |bound: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % bound
    };
    let base = at("2024-01-01T00:00:00+07:00");
    for _ in 0..300 {
        let seconds = i64::try_from(random(5 * 365 * 86_400)).expect("small");
        let a = base + TimeDelta::seconds(seconds);
        let minutes = random(100_000);
        let b = calendar.add_working_minutes(a, minutes).expect("add");
        let m = i64::try_from(minutes).expect("small");
        assert_eq!(
            calendar.working_minutes_between(a, b),
            Ok(m),
            "{a} + {minutes}"
        );
        assert_eq!(calendar.working_minutes_between(b, a), Ok(-m));
        assert!(b >= a);
    }
}

#[test]
fn a_calendar_without_working_days_errors_instead_of_looping() {
    let calendar = WorkingCalendar {
        rest_days: vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ],
        schedules: Vec::new(),
        ..WorkingCalendar::default()
    };
    let t = at("2027-03-04T09:00:00+07:00");
    let err = calendar
        .add_working_days(t, 1)
        .expect_err("no working day at all");
    assert_eq!(err.code(), "calendar.no_working_time");
    assert_eq!(
        calendar.working_minutes_between(t, at("2027-04-04T09:00:00+07:00")),
        Ok(0)
    );
    let far = at("2200-01-01T00:00:00+07:00");
    let err = WorkingCalendar::default()
        .working_minutes_between(t, far)
        .expect_err("too long");
    assert_eq!(err.code(), "calendar.out_of_range");
}

#[test]
fn span_counter_agrees_with_single_spans() {
    let calendar = WorkingCalendar::default();
    let mut spans = calendar.span_counter();
    // Across Tết 2027 and backwards, each as the one-off computation gives it.
    for (a, b) in [
        ("2027-02-03T16:00:00+07:00", "2027-02-15T10:00:00+07:00"),
        ("2027-03-01T09:00:00+07:00", "2027-03-01T14:00:00+07:00"),
        ("2026-12-31T16:00:00+07:00", "2027-01-04T08:00:00+07:00"),
        ("2027-03-02T09:00:00+07:00", "2027-03-01T09:00:00+07:00"),
    ] {
        assert_eq!(
            spans.working_minutes_between(at(a), at(b)).unwrap(),
            calendar.working_minutes_between(at(a), at(b)).unwrap(),
            "{a} → {b}"
        );
    }
    assert_eq!(
        spans
            .working_minutes_between(
                at("2027-03-01T09:00:00+07:00"),
                at("2027-03-01T14:00:00+07:00")
            )
            .unwrap(),
        210
    );
}

#[test]
fn remembered_days_off_follow_a_change_of_the_rules() {
    // 2027-09-02 (a Thursday) is National Day.
    let national_day = date(2027, 9, 2);
    let calendar = WorkingCalendar::default();
    assert!(!calendar.is_working_day(national_day));
    // A clone shares what was computed, and gives it up once its rules differ.
    let mut without_holidays = calendar.clone();
    without_holidays.rules.holidays.clear();
    assert!(without_holidays.is_working_day(national_day));
    assert!(!calendar.is_working_day(national_day));
    assert_eq!(
        calendar.holidays_in_year(2027),
        WorkingCalendar::default().holidays_in_year(2027)
    );
}

#[test]
fn days_off_of_many_years_are_all_right() {
    let calendar = WorkingCalendar::default();
    // More years than the memo keeps: each is still answered from its own rules.
    for year in 2000..2200 {
        let national_day = date(year, 9, 2);
        let weekend = matches!(national_day.weekday(), Weekday::Sat | Weekday::Sun);
        assert!(weekend || !calendar.is_working_day(national_day), "{year}");
    }
}
