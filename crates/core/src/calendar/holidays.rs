//! Public holidays as editable data: statutory rules, compensatory days and yearly schedules.
//!
//! Bộ luật Lao động 2019, Điều 112 khoản 1 lists the paid holidays (Tết Dương lịch, 5 days of
//! Tết Âm lịch, Giỗ Tổ Hùng Vương, 30/4, 1/5, Quốc khánh 2/9 plus one adjacent day; from
//! 1 July 2026 also 24/11, Ngày Văn hóa Việt Nam). Khoản 3 lets the Prime Minister fix the
//! concrete Tết and Quốc khánh days each year, and Điều 111 khoản 3 gives a compensatory day
//! (nghỉ bù) on the next working day when a holiday falls on a weekly rest day. Because the
//! legislator and the Government keep changing these, everything here is data:
//!
//! * [`HolidayRules`] — the statutory rules with the defaults above, serde-editable;
//! * [`YearSchedule`] — one year's official decision: extra days off, swapped working days,
//!   and which statutory rules its explicit days replace that year.
//!
//! Invariants: [`holidays_in_year`] is pure, returns each date at most once, sorted, and never
//! returns a date that a schedule declares a working day. Every loop is bounded.

use std::collections::{BTreeMap, HashSet};

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use super::lunar::{LunarDate, lunar_to_solar};

/// Longest span one holiday rule may cover; longer spans are cut (keeps loops bounded).
const MAX_SPAN_DAYS: u32 = 31;

/// How far after a holiday a compensatory day is looked for before giving up.
const MAX_COMPENSATION_SEARCH_DAYS: u64 = 366;

/// The day a holiday is attached to, in the solar or the lunar calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "calendar", rename_all = "snake_case")]
pub enum HolidayAnchor {
    /// A Gregorian day; a 29/2 anchor is skipped in common years.
    Solar { month: u32, day: u32 },
    /// A lunar day of the non-leap month; day 30 of a 29-day month means its last day, which
    /// is how "ngày 30" is observed in years without one.
    Lunar { month: u32, day: u32 },
}

/// Which neighbour of the anchor day is also off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Adjacent {
    Before,
    After,
}

/// How many days a holiday covers around its anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HolidaySpan {
    /// The anchor day only.
    #[default]
    Single,
    /// The anchor day and the day before or after it (Quốc khánh).
    WithAdjacentDay { side: Adjacent },
    /// `days` consecutive days starting `offset_days` from the anchor (Tết: −1 and 5).
    Days { offset_days: i32, days: u32 },
}

/// One statutory holiday.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidayRule {
    /// Stable identifier, referenced by [`YearSchedule::replaces_rules`].
    pub key: String,
    pub name_vi: String,
    pub name_en: String,
    pub anchor: HolidayAnchor,
    #[serde(default)]
    pub span: HolidaySpan,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// First date on which the rule gives days off (e.g. 2026-07-01 for 24/11).
    #[serde(default)]
    pub effective_from: Option<NaiveDate>,
    /// Last date on which the rule gives days off.
    #[serde(default)]
    pub effective_until: Option<NaiveDate>,
}

fn enabled_by_default() -> bool {
    true
}

/// The statutory holiday rules and the compensatory-day rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidayRules {
    pub holidays: Vec<HolidayRule>,
    /// Weekly rest days in the sense of the Labour Code (Saturday and Sunday for civil
    /// servants): a holiday on one of them earns a compensatory day. Kept apart from an
    /// office's opening days, which may differ (a one-stop desk open on Saturday morning).
    pub weekly_rest_days: Vec<Weekday>,
    /// Whether holidays on weekly rest days give compensatory days (Điều 111 khoản 3).
    pub compensatory_days: bool,
}

impl Default for HolidayRules {
    fn default() -> Self {
        use HolidayAnchor::{Lunar, Solar};
        Self {
            holidays: vec![
                rule(
                    "tet_duong_lich",
                    "Tết Dương lịch",
                    "New Year's Day",
                    Solar { month: 1, day: 1 },
                ),
                HolidayRule {
                    // The last day of the lunar year (the day before 1/1) and 1/1 to 1/4.
                    span: HolidaySpan::Days {
                        offset_days: -1,
                        days: 5,
                    },
                    ..rule(
                        "tet_am_lich",
                        "Tết Âm lịch",
                        "Lunar New Year (Tết)",
                        Lunar { month: 1, day: 1 },
                    )
                },
                rule(
                    "gio_to_hung_vuong",
                    "Giỗ Tổ Hùng Vương",
                    "Hùng Kings' Commemoration Day",
                    Lunar { month: 3, day: 10 },
                ),
                rule(
                    "ngay_chien_thang",
                    "Ngày Chiến thắng",
                    "Reunification Day",
                    Solar { month: 4, day: 30 },
                ),
                rule(
                    "quoc_te_lao_dong",
                    "Ngày Quốc tế Lao động",
                    "International Labour Day",
                    Solar { month: 5, day: 1 },
                ),
                HolidayRule {
                    span: HolidaySpan::WithAdjacentDay {
                        side: Adjacent::Before,
                    },
                    ..rule(
                        "quoc_khanh",
                        "Quốc khánh",
                        "National Day",
                        Solar { month: 9, day: 2 },
                    )
                },
                HolidayRule {
                    // Nghị quyết 28/2026/QH16 (to be checked against the official text).
                    effective_from: NaiveDate::from_ymd_opt(2026, 7, 1),
                    ..rule(
                        "ngay_van_hoa_viet_nam",
                        "Ngày Văn hóa Việt Nam",
                        "Vietnam Culture Day",
                        Solar { month: 11, day: 24 },
                    )
                },
            ],
            weekly_rest_days: vec![Weekday::Sat, Weekday::Sun],
            compensatory_days: true,
        }
    }
}

fn rule(key: &str, name_vi: &str, name_en: &str, anchor: HolidayAnchor) -> HolidayRule {
    HolidayRule {
        key: key.to_owned(),
        name_vi: name_vi.to_owned(),
        name_en: name_en.to_owned(),
        anchor,
        span: HolidaySpan::Single,
        enabled: true,
        effective_from: None,
        effective_until: None,
    }
}

impl HolidayRules {
    /// The rule with this key, to change it (e.g. Quốc khánh's adjacent day).
    pub fn rule_mut(&mut self, key: &str) -> Option<&mut HolidayRule> {
        self.holidays.iter_mut().find(|rule| rule.key == key)
    }
}

/// A dated note of an official schedule, with its reason in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayNote {
    pub date: NaiveDate,
    pub reason_vi: String,
    pub reason_en: String,
}

/// One year's official schedule for public servants (Prime Minister's decision as announced
/// by the Ministry of Home Affairs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearSchedule {
    pub year: i32,
    /// Keys of statutory rules whose days in `year` are replaced by this schedule's own days
    /// (the Prime Minister fixes the Tết and Quốc khánh days, Điều 112 khoản 3).
    #[serde(default)]
    pub replaces_rules: Vec<String>,
    #[serde(default)]
    pub extra_days_off: Vec<DayNote>,
    /// Working days that would otherwise be off (a swapped Saturday); they win over any rule.
    #[serde(default)]
    pub extra_working_days: Vec<DayNote>,
}

/// Why a day is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayOffKind {
    /// A day of a statutory holiday rule.
    Statutory,
    /// Nghỉ bù: a statutory holiday fell on a weekly rest day.
    Compensatory,
    /// Given by a yearly schedule.
    Scheduled,
}

/// One day off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayOff {
    pub date: NaiveDate,
    pub name_vi: String,
    pub name_en: String,
    pub kind: DayOffKind,
}

/// Official schedules known to this release. Only decisions we are sure of are included;
/// administrators add the others as data.
pub fn default_schedules() -> Vec<YearSchedule> {
    let note = |m, d, vi: &str, en: &str| {
        NaiveDate::from_ymd_opt(2025, m, d).map(|date| DayNote {
            date,
            reason_vi: vi.to_owned(),
            reason_en: en.to_owned(),
        })
    };
    let tet = |d| {
        note(
            1,
            d,
            "Nghỉ Tết Âm lịch Ất Tỵ",
            "Lunar New Year holiday (Year of the Snake)",
        )
    };
    vec![YearSchedule {
        year: 2025,
        // Public servants were off Saturday 25/1 to Sunday 2/2/2025; the five Tết days were
        // Monday 27/1 to Friday 31/1, so no compensatory day.
        replaces_rules: vec!["tet_am_lich".to_owned()],
        // 30/4 and 1/5 fell on Wednesday and Thursday: Friday 2/5 was swapped with Saturday
        // 26/4, giving five days off from 30/4 to 4/5.
        extra_days_off: [tet(27), tet(28), tet(29), tet(30), tet(31)]
            .into_iter()
            .chain([note(
                5,
                2,
                "Nghỉ hoán đổi (làm bù thứ Bảy 26/4)",
                "Swapped day off (worked Saturday 26/4)",
            )])
            .flatten()
            .collect(),
        extra_working_days: note(
            4,
            26,
            "Làm bù cho ngày nghỉ 2/5",
            "Make-up working day for 2/5",
        )
        .into_iter()
        .collect(),
    }]
}

/// The days off of solar `year`, sorted by date: statutory days, their compensatory days and
/// the days of the schedules, less the working days the schedules declare.
pub fn holidays_in_year(
    year: i32,
    rules: &HolidayRules,
    schedules: &[YearSchedule],
) -> Vec<DayOff> {
    // Neighbouring years are computed too: a holiday late in December may be compensated in
    // January, and lunar anchors do not follow solar years.
    let window = year.saturating_sub(1)..=year.saturating_add(1);
    let schedules: Vec<&YearSchedule> = schedules
        .iter()
        .filter(|s| window.contains(&s.year))
        .collect();
    let mut days = statutory_days(&window, rules, &schedules);
    let on_rest_days: Vec<DayOff> = days
        .values()
        .filter(|day| rules.weekly_rest_days.contains(&day.date.weekday()))
        .cloned()
        .collect();
    for note in schedules.iter().flat_map(|s| &s.extra_days_off) {
        days.entry(note.date).or_insert_with(|| DayOff {
            date: note.date,
            name_vi: note.reason_vi.clone(),
            name_en: note.reason_en.clone(),
            kind: DayOffKind::Scheduled,
        });
    }
    if rules.compensatory_days {
        for holiday in &on_rest_days {
            add_compensatory_day(&mut days, holiday, &rules.weekly_rest_days);
        }
    }
    let working: HashSet<NaiveDate> = schedules
        .iter()
        .flat_map(|s| &s.extra_working_days)
        .map(|note| note.date)
        .collect();
    days.into_values()
        .filter(|day| day.date.year() == year && !working.contains(&day.date))
        .collect()
}

/// Statutory days whose date lies in the solar years of `window`, first rule winning a date.
fn statutory_days(
    window: &std::ops::RangeInclusive<i32>,
    rules: &HolidayRules,
    schedules: &[&YearSchedule],
) -> BTreeMap<NaiveDate, DayOff> {
    let replaced = |rule: &HolidayRule, date: NaiveDate| {
        schedules
            .iter()
            .any(|s| s.year == date.year() && s.replaces_rules.contains(&rule.key))
    };
    let mut days = BTreeMap::new();
    for rule in rules.holidays.iter().filter(|rule| rule.enabled) {
        // Anchors a year either side cover lunar dates and spans crossing New Year.
        let anchor_years = window.start().saturating_sub(1)..=window.end().saturating_add(1);
        for date in anchor_years.flat_map(|anchor_year| rule_dates(rule, anchor_year)) {
            if window.contains(&date.year()) && rule.in_force_on(date) && !replaced(rule, date) {
                days.entry(date).or_insert_with(|| DayOff {
                    date,
                    name_vi: rule.name_vi.clone(),
                    name_en: rule.name_en.clone(),
                    kind: DayOffKind::Statutory,
                });
            }
        }
    }
    days
}

impl HolidayRule {
    fn in_force_on(&self, date: NaiveDate) -> bool {
        self.effective_from.is_none_or(|from| date >= from)
            && self.effective_until.is_none_or(|until| date <= until)
    }

    /// First day offset from the anchor and number of days.
    fn offsets(&self) -> (i64, u32) {
        match self.span {
            HolidaySpan::Single => (0, 1),
            HolidaySpan::WithAdjacentDay {
                side: Adjacent::Before,
            } => (-1, 2),
            HolidaySpan::WithAdjacentDay {
                side: Adjacent::After,
            } => (0, 2),
            HolidaySpan::Days { offset_days, days } => {
                (i64::from(offset_days), days.min(MAX_SPAN_DAYS))
            }
        }
    }
}

/// The days a rule gives for the occurrence of its anchor in (solar or lunar) `anchor_year`.
fn rule_dates(rule: &HolidayRule, anchor_year: i32) -> Vec<NaiveDate> {
    let Some(anchor) = anchor_date(rule.anchor, anchor_year) else {
        return Vec::new();
    };
    let (first, count) = rule.offsets();
    (0..i64::from(count))
        .filter_map(|i| shift(anchor, first + i))
        .collect()
}

fn anchor_date(anchor: HolidayAnchor, year: i32) -> Option<NaiveDate> {
    match anchor {
        HolidayAnchor::Solar { month, day } => NaiveDate::from_ymd_opt(year, month, day),
        HolidayAnchor::Lunar { month, day } => {
            let lunar = |day| {
                lunar_to_solar(LunarDate {
                    year,
                    month,
                    day,
                    leap: false,
                })
                .ok()
            };
            lunar(day).or_else(|| if day == 30 { lunar(29) } else { None })
        }
    }
}

fn shift(date: NaiveDate, days: i64) -> Option<NaiveDate> {
    let magnitude = Days::new(days.unsigned_abs());
    if days < 0 {
        date.checked_sub_days(magnitude)
    } else {
        date.checked_add_days(magnitude)
    }
}

/// Gives `holiday` (which fell on a weekly rest day) its compensatory day: the first later
/// day that is neither a rest day nor already off. Processing holidays in date order makes a
/// block of holidays over a weekend push its compensatory days after the whole block.
fn add_compensatory_day(
    days: &mut BTreeMap<NaiveDate, DayOff>,
    holiday: &DayOff,
    rest_days: &[Weekday],
) {
    let free = (1..=MAX_COMPENSATION_SEARCH_DAYS)
        .filter_map(|n| holiday.date.checked_add_days(Days::new(n)))
        .find(|date| !rest_days.contains(&date.weekday()) && !days.contains_key(date));
    if let Some(date) = free {
        days.insert(
            date,
            DayOff {
                date,
                name_vi: format!("Nghỉ bù {}", holiday.name_vi),
                name_en: format!("Compensatory day off for {}", holiday.name_en),
                kind: DayOffKind::Compensatory,
            },
        );
    }
}

#[cfg(test)]
mod tests;
