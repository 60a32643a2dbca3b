//! Low-precision astronomy for the lunisolar calendar: new moons and the Sun's longitude.
//!
//! These are the truncated series from Jean Meeus, *Astronomical Algorithms*, in the form Hồ
//! Ngọc Đức published for the Vietnamese calendar. The calendar's reference tables were made
//! with exactly these formulae, so they are kept as published instead of being replaced by a
//! more precise ephemeris: a "better" new moon would move a handful of month starts by a day
//! and disagree with every Vietnamese almanac.
//!
//! Invariants: every function is pure and total (no panics for any input); Julian days are
//! in Universal Time; "day numbers" are integer Julian Day Numbers (JDN) of civil dates in
//! the calendar's time zone, i.e. the day that begins at local midnight.

use std::f64::consts::PI;

/// Mean length of a synodic month in days.
pub(crate) const SYNODIC_MONTH: f64 = 29.530_588_853;

/// Julian day (UT) of the mean new moon numbered 0 (1900-01-01 13:52 UT); the month
/// numbers `k` used below count synodic months from it.
pub(crate) const NEW_MOON_EPOCH: f64 = 2_415_021.076_998_695;

/// Degrees → radians.
const DEG: f64 = PI / 180.0;

/// Julian day (UT, fractional) of the `k`-th new moon after [`NEW_MOON_EPOCH`]
/// (Meeus ch. 49, truncated, with the ΔT correction Hồ Ngọc Đức uses).
pub(crate) fn new_moon_jd(k: i64) -> f64 {
    // `k` stays far below 2^52 for any date chrono can represent, so the cast is exact.
    let k = k as f64;
    let t = k / 1236.85; // Julian centuries since 1900
    let t2 = t * t;
    let t3 = t2 * t;
    let mean = 2_415_020.759_33 + 29.530_588_68 * k + 0.000_117_8 * t2 - 0.000_000_155 * t3
        + 0.000_33 * ((166.56 + 132.87 * t - 0.009_173 * t2) * DEG).sin();
    let sun_anomaly = (359.2242 + 29.105_356_08 * k - 0.000_033_3 * t2 - 0.000_003_47 * t3) * DEG;
    let moon_anomaly = (306.0253 + 385.816_918_06 * k + 0.010_730_6 * t2 + 0.000_012_36 * t3) * DEG;
    let latitude_arg = (21.2964 + 390.670_506_46 * k - 0.001_652_8 * t2 - 0.000_002_39 * t3) * DEG;
    let correction = new_moon_correction(t, sun_anomaly, moon_anomaly, latitude_arg);
    mean + correction - delta_t(t)
}

/// Periodic terms that move the mean new moon to the true one (days).
fn new_moon_correction(t: f64, m: f64, mpr: f64, f: f64) -> f64 {
    (0.1734 - 0.000_393 * t) * m.sin() + 0.0021 * (2.0 * m).sin() - 0.4068 * mpr.sin()
        + 0.0161 * (2.0 * mpr).sin()
        - 0.0004 * (3.0 * mpr).sin()
        + 0.0104 * (2.0 * f).sin()
        - 0.0051 * (m + mpr).sin()
        - 0.0074 * (m - mpr).sin()
        + 0.0004 * (2.0 * f + m).sin()
        - 0.0004 * (2.0 * f - m).sin()
        - 0.0006 * (2.0 * f + mpr).sin()
        + 0.0010 * (2.0 * f - mpr).sin()
        + 0.0005 * (2.0 * mpr + m).sin()
}

/// ΔT (TT − UT) in days as a polynomial in centuries since 1900; two fits, split at 1800.
fn delta_t(t: f64) -> f64 {
    let t2 = t * t;
    let t3 = t2 * t;
    if t < -11.0 {
        0.001 + 0.000_839 * t + 0.000_226_1 * t2 - 0.000_008_45 * t3 - 0.000_000_081 * t * t3
    } else {
        -0.000_278 + 0.000_265 * t + 0.000_262 * t2
    }
}

/// Apparent geometric longitude of the Sun, radians in `[0, 2π)`, at Julian day `jd` (UT)
/// (Meeus ch. 25, low precision).
pub(crate) fn sun_longitude(jd: f64) -> f64 {
    let t = (jd - 2_451_545.0) / 36_525.0; // Julian centuries since J2000
    let t2 = t * t;
    let mean_anomaly =
        (357.529_10 + 35_999.050_30 * t - 0.000_155_9 * t2 - 0.000_000_48 * t2 * t) * DEG;
    let mean_longitude = 280.466_45 + 36_000.769_83 * t + 0.000_303_2 * t2;
    let centre = (1.914_600 - 0.004_817 * t - 0.000_014 * t2) * mean_anomaly.sin()
        + (0.019_993 - 0.000_101 * t) * (2.0 * mean_anomaly).sin()
        + 0.000_290 * (3.0 * mean_anomaly).sin();
    ((mean_longitude + centre) * DEG).rem_euclid(2.0 * PI)
}

/// Local day number (JDN) on which the `k`-th new moon falls in a zone `tz_hours` east of UT.
pub(crate) fn new_moon_day(k: i64, tz_hours: f64) -> i64 {
    // A JD starts at noon; +0.5 moves the day boundary to midnight UT, then to local midnight.
    // `as` saturates, which is the total behaviour wanted for absurd inputs.
    (new_moon_jd(k) + 0.5 + tz_hours / 24.0).floor() as i64
}

/// Which 30° sector (0..=11, sector 0 starting at the March equinox) the Sun is in at the
/// local midnight that starts day `day`. A lunar month whose first day and the next month's
/// first day share a sector contains no major solar term (trung khí) — the leap-month test.
pub(crate) fn sun_sector_at_day_start(day: i64, tz_hours: f64) -> i64 {
    let jd = day as f64 - 0.5 - tz_hours / 24.0;
    (sun_longitude(jd) / PI * 6.0).floor() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_moon_of_january_2000_is_on_the_6th() {
        // Meeus: new moon 2000-01-06 18:14 UT. k for it counts from 1900-01-01.
        let k = ((2_451_550.26 - NEW_MOON_EPOCH) / SYNODIC_MONTH).round() as i64;
        let jd = new_moon_jd(k);
        assert!((jd - 2_451_550.26).abs() < 0.01, "jd = {jd}");
        // 18:14 UT is 01:14 on the 7th in Vietnam.
        assert_eq!(new_moon_day(k, 7.0), 2_451_551);
    }

    #[test]
    fn sun_is_near_270_degrees_at_the_2000_winter_solstice() {
        // December solstice 2000-12-21 13:37 UT ≈ JD 2451900.067.
        let deg = sun_longitude(2_451_900.067) / DEG;
        assert!((deg - 270.0).abs() < 0.02, "longitude = {deg}");
        assert_eq!(sun_sector_at_day_start(2_451_900, 7.0), 8);
        assert_eq!(sun_sector_at_day_start(2_451_901, 7.0), 9);
    }
}
