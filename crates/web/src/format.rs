//! Vietnamese display formats: dates as 25/04/2027, times in Vietnam time (UTC+7), money as
//! 1.500.000 đ.

use chrono::{DateTime, FixedOffset};
use tinhso_core::calendar::working_time::{vietnam_instant, vietnam_offset};

/// Vietnam's offset (UTC+7, no daylight saving): the core calendar's.
pub fn vietnam() -> FixedOffset {
    vietnam_offset()
}

/// `25/04/2027 14:05` in Vietnam time.
pub fn vn_datetime(ms: i64) -> String {
    vietnam_instant(ms).format("%d/%m/%Y %H:%M").to_string()
}

/// `1.500.000 đ`
pub fn vn_money(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    let sign = if amount < 0 { "-" } else { "" };
    format!("{sign}{out} đ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(vn_money(1_500_000), "1.500.000 đ");
        assert_eq!(vn_money(0), "0 đ");
        assert_eq!(vn_datetime(1_800_000_000_000), "15/01/2027 15:00");
    }
}

/// A share (0–1) as `85,7 %` (Vietnamese decimal comma, one decimal).
pub fn vn_percent(share: f64) -> String {
    let tenths = (share * 1000.0).round() as i64;
    format!("{},{} %", tenths / 10, (tenths % 10).abs())
}

/// `25/04/2027` (Vietnam time) of an instant in milliseconds.
pub fn vn_date(ms: i64) -> String {
    vietnam_instant(ms).format("%d/%m/%Y").to_string()
}

/// `25/04/2027 14:05` of an RFC 3339 instant (as the services return them); empty when the
/// text is not one.
pub fn vn_datetime_text(rfc3339: &str) -> String {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| vn_datetime(t.timestamp_millis()))
        .unwrap_or_default()
}

/// `25/04/2027` of a `YYYY-MM-DD` date (as form answers hold them); the text itself otherwise.
pub fn vn_day(iso: &str) -> String {
    chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d")
        .map(|d| d.format("%d/%m/%Y").to_string())
        .unwrap_or_else(|_| iso.to_owned())
}

#[cfg(test)]
mod format_tests {
    use super::*;

    #[test]
    fn shares_and_dates() {
        assert_eq!(vn_percent(0.857), "85,7 %");
        assert_eq!(vn_percent(1.0), "100,0 %");
        assert_eq!(vn_percent(0.0), "0,0 %");
        assert_eq!(
            vn_datetime_text("2027-04-25T14:05:00+07:00"),
            "25/04/2027 14:05"
        );
        assert_eq!(vn_datetime_text("not a date"), "");
        assert_eq!(vn_day("2027-04-25"), "25/04/2027");
        assert_eq!(vn_date(1_800_000_000_000), "15/01/2027");
    }
}
