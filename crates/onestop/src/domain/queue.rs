//! Queue tickets of the one-stop counter (phiếu số thứ tự), pure rules: the day a ticket
//! belongs to, how its number is shown and announced, and what a counter desk may be called.
//!
//! Numbers restart every Vietnam-time day per agency; the service takes them from a counter
//! row inside the ticket's transaction.

use chrono::NaiveDate;
use tinhso_core::DomainError;

/// The Vietnam-time day of an instant: tickets of one day share one sequence.
pub fn queue_day(now_ms: i64) -> NaiveDate {
    tinhso_core::calendar::vietnam_instant(now_ms).date_naive()
}

/// A ticket number as printed and shown on the display: at least four digits (`0007`).
pub fn ticket_label(number: i64) -> String {
    format!("{number:04}")
}

/// The longest desk name (`Quầy 12`, `Bàn tiếp nhận 3`).
pub const MAX_DESK_CHARS: usize = 30;

/// A counter desk's name, trimmed: 1–30 letters, digits, spaces, dots or dashes.
pub fn check_desk(desk: &str) -> Result<String, DomainError> {
    let desk = desk.trim();
    let ok = !desk.is_empty()
        && desk.chars().count() <= MAX_DESK_CHARS
        && desk
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '.' | '-'));
    if ok {
        Ok(desk.to_owned())
    } else {
        Err(
            DomainError::invalid("a desk is 1–30 letters, digits, spaces, dots or dashes")
                .with_rule("queue.desk"),
        )
    }
}

/// Of the waiting numbers, the one to call next: the lowest (first come, first served).
pub fn next_to_call(waiting: &[i64]) -> Option<i64> {
    waiting.iter().copied().min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_is_vietnam_time() {
        // 2027-03-01T17:30Z is 00:30 on 2 March in Vietnam.
        let ms = chrono::DateTime::parse_from_rfc3339("2027-03-01T17:30:00Z")
            .unwrap()
            .timestamp_millis();
        assert_eq!(queue_day(ms), NaiveDate::from_ymd_opt(2027, 3, 2).unwrap());
        assert_eq!(
            queue_day(ms - 3_600_000),
            NaiveDate::from_ymd_opt(2027, 3, 1).unwrap()
        );
    }

    #[test]
    fn labels_desks_and_order() {
        assert_eq!(ticket_label(7), "0007");
        assert_eq!(ticket_label(12345), "12345");
        assert_eq!(check_desk("  Quầy 2 ").unwrap(), "Quầy 2");
        assert_eq!(check_desk("").unwrap_err().rule, Some("queue.desk"));
        assert!(check_desk("<script>").is_err());
        assert!(check_desk(&"x".repeat(31)).is_err());
        assert_eq!(next_to_call(&[5, 3, 9]), Some(3));
        assert_eq!(next_to_call(&[]), None);
    }
}
