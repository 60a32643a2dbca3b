//! Tests of the holiday rules: exact lists for 2025–2027 and the editable-data behaviour.

use super::*;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
}

/// `(date, kind)` of each day off, for compact expectations.
fn summary(days: &[DayOff]) -> Vec<(NaiveDate, DayOffKind)> {
    days.iter().map(|day| (day.date, day.kind)).collect()
}

use DayOffKind::{Compensatory as C, Scheduled as X, Statutory as S};

#[test]
fn holidays_2027_with_default_rules() {
    // Tết 2027 is Saturday 6/2: the block is Fri 5/2 (last day of the lunar year) to Tue 9/2;
    // its Saturday and Sunday give Wed 10/2 and Thu 11/2. 1/5 is a Saturday: Mon 3/5.
    let days = holidays_in_year(2027, &HolidayRules::default(), &default_schedules());
    assert_eq!(
        summary(&days),
        vec![
            (date(2027, 1, 1), S),
            (date(2027, 2, 5), S),
            (date(2027, 2, 6), S),
            (date(2027, 2, 7), S),
            (date(2027, 2, 8), S),
            (date(2027, 2, 9), S),
            (date(2027, 2, 10), C),
            (date(2027, 2, 11), C),
            (date(2027, 4, 16), S), // Giỗ Tổ, 10/3 lunar
            (date(2027, 4, 30), S),
            (date(2027, 5, 1), S),
            (date(2027, 5, 3), C),
            (date(2027, 9, 1), S),
            (date(2027, 9, 2), S),
            (date(2027, 11, 24), S),
        ]
    );
    assert_eq!(days[1].name_vi, "Tết Âm lịch");
    assert_eq!(days[6].name_vi, "Nghỉ bù Tết Âm lịch");
    assert_eq!(
        days[6].name_en,
        "Compensatory day off for Lunar New Year (Tết)"
    );
}

#[test]
fn holidays_2026_include_culture_day_and_a_compensated_gio_to() {
    let days = holidays_in_year(2026, &HolidayRules::default(), &default_schedules());
    assert_eq!(
        summary(&days),
        vec![
            (date(2026, 1, 1), S),
            (date(2026, 2, 16), S),
            (date(2026, 2, 17), S), // Tết Bính Ngọ
            (date(2026, 2, 18), S),
            (date(2026, 2, 19), S),
            (date(2026, 2, 20), S),
            (date(2026, 4, 26), S), // Giỗ Tổ on a Sunday…
            (date(2026, 4, 27), C), // …compensated on Monday
            (date(2026, 4, 30), S),
            (date(2026, 5, 1), S),
            (date(2026, 9, 1), S),
            (date(2026, 9, 2), S),
            (date(2026, 11, 24), S),
        ]
    );
    assert_eq!(days[12].name_vi, "Ngày Văn hóa Việt Nam");
    assert_eq!(days[12].name_en, "Vietnam Culture Day");
}

#[test]
fn culture_day_is_not_a_holiday_before_its_effective_date() {
    let days = holidays_in_year(2025, &HolidayRules::default(), &[]);
    assert!(days.iter().all(|day| day.date != date(2025, 11, 24)));
}

#[test]
fn the_2025_schedule_replaces_the_default_tet_block_and_swaps_a_saturday() {
    let days = holidays_in_year(2025, &HolidayRules::default(), &default_schedules());
    assert_eq!(
        summary(&days),
        vec![
            (date(2025, 1, 1), S),
            (date(2025, 1, 27), X),
            (date(2025, 1, 28), X),
            (date(2025, 1, 29), X),
            (date(2025, 1, 30), X),
            (date(2025, 1, 31), X),
            (date(2025, 4, 7), S),
            (date(2025, 4, 30), S),
            (date(2025, 5, 1), S),
            (date(2025, 5, 2), X),
            (date(2025, 9, 1), S),
            (date(2025, 9, 2), S),
        ]
    );
    // Without the schedule the rule alone gives 28/1–1/2 and a compensatory Monday 3/2.
    let by_rule = holidays_in_year(2025, &HolidayRules::default(), &[]);
    assert!(
        by_rule
            .iter()
            .any(|d| d.date == date(2025, 2, 3) && d.kind == C)
    );
}

#[test]
fn a_holiday_on_new_years_eve_is_compensated_in_january() {
    let mut rules = HolidayRules::default();
    rules.holidays.push(rule(
        "test",
        "Thử",
        "Test",
        HolidayAnchor::Solar { month: 12, day: 31 },
    ));
    // 31/12/2022 was a Saturday and 1/1/2023 a Sunday: Monday 2/1 and Tuesday 3/1 are off.
    let days = holidays_in_year(2023, &rules, &[]);
    assert_eq!(
        summary(&days[..3]),
        vec![
            (date(2023, 1, 1), S),
            (date(2023, 1, 2), C),
            (date(2023, 1, 3), C)
        ]
    );
    assert_eq!(days[1].name_vi, "Nghỉ bù Thử");
}

#[test]
fn national_day_adjacent_day_and_rules_are_editable() {
    let mut rules = HolidayRules::default();
    let quoc_khanh = rules.rule_mut("quoc_khanh").expect("default rule");
    quoc_khanh.span = HolidaySpan::WithAdjacentDay {
        side: Adjacent::After,
    };
    rules
        .rule_mut("ngay_van_hoa_viet_nam")
        .expect("default rule")
        .enabled = false;
    rules.compensatory_days = false;
    let days = summary(&holidays_in_year(2027, &rules, &[]));
    assert!(days.contains(&(date(2027, 9, 3), S)));
    assert!(
        !days
            .iter()
            .any(|(d, _)| *d == date(2027, 9, 1) || *d == date(2027, 11, 24))
    );
    assert!(!days.iter().any(|(_, kind)| *kind == C));
}

#[test]
fn lunar_day_30_falls_back_to_the_last_day_of_a_short_month() {
    let mut rules = HolidayRules {
        holidays: Vec::new(),
        ..HolidayRules::default()
    };
    rules.holidays.push(rule(
        "ba_muoi",
        "Ba mươi Tết",
        "Tết eve",
        HolidayAnchor::Lunar { month: 12, day: 30 },
    ));
    // Month 12 of lunar 2026 has 29 days: its last day is 5/2/2027.
    let days = summary(&holidays_in_year(2027, &rules, &[]));
    assert_eq!(days, vec![(date(2027, 2, 5), S)]);
}

#[test]
fn a_week_of_rest_days_cannot_loop_forever() {
    let rules = HolidayRules {
        weekly_rest_days: vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ],
        ..HolidayRules::default()
    };
    let days = holidays_in_year(2027, &rules, &[]);
    assert!(days.iter().all(|day| day.kind == S));
}

#[test]
fn rules_and_schedules_round_trip_through_json() {
    let rules = HolidayRules::default();
    let json = serde_json::to_string_pretty(&rules).expect("serialize");
    assert!(json.contains("\"calendar\": \"lunar\""));
    let back: HolidayRules = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, rules);

    let schedule: YearSchedule = serde_json::from_str(
        r#"{"year": 2030, "extra_working_days": [
            {"date": "2030-02-09", "reason_vi": "Làm bù", "reason_en": "Make-up day"}]}"#,
    )
    .expect("minimal schedule");
    assert!(schedule.extra_days_off.is_empty() && schedule.replaces_rules.is_empty());
    assert!(serde_json::from_str::<YearSchedule>(r#"{"year": 2030, "typo": []}"#).is_err());
    let schedules = default_schedules();
    let json = serde_json::to_string(&schedules).expect("serialize");
    assert_eq!(
        serde_json::from_str::<Vec<YearSchedule>>(&json).expect("deserialize"),
        schedules
    );
}
