//! Citizen notifications of dossier events, written to the outbox in the same transaction as
//! the event: a crash after the change never loses the message, and the idempotency key (one
//! per event and channel) means a re-delivery is recognisable as the same message.
//!
//! Templates are Vietnamese (citizens read Vietnamese); SMS bodies are short and unaccented-
//! safe in length (one segment of Unicode text is 70 characters, so they stay brief).

use serde_json::json;
use sqlx::Row;
use tinhso_platform::{Ctx, Result, WriteTx};

use crate::domain::dossier::Status;
use crate::dossiers::Event;

fn local(ms: i64) -> String {
    tinhso_core::calendar::vietnam_instant(ms)
        .format("%H:%M ngày %d/%m/%Y")
        .to_string()
}

/// Subject and body of the message for an event, or `None` when the event is internal.
pub fn message(
    action: &str,
    code: &str,
    status: Status,
    note: &str,
    due_ms: Option<i64>,
) -> Option<(String, String)> {
    let due = due_ms.map(local).unwrap_or_default();
    let (subject, body) = match (action, status) {
        ("submit", Status::Submitted) => (
            format!("Hồ sơ {code} đã được gửi"),
            format!("Hồ sơ {code} đã được gửi trực tuyến và đang chờ bộ phận một cửa tiếp nhận."),
        ),
        ("submit" | "accept", Status::Received) => (
            format!("Hồ sơ {code} đã được tiếp nhận"),
            format!("Hồ sơ {code} đã được tiếp nhận. Ngày hẹn trả kết quả: {due}."),
        ),
        ("request_supplement", _) => (
            format!("Hồ sơ {code} cần bổ sung"),
            format!(
                "Hồ sơ {code} cần bổ sung: {note}. Thời hạn giải quyết tạm dừng cho đến khi hồ sơ được bổ sung."
            ),
        ),
        ("supplement", _) => (
            format!("Đã nhận nội dung bổ sung hồ sơ {code}"),
            format!(
                "Nội dung bổ sung của hồ sơ {code} đã được nhận. Ngày hẹn trả kết quả mới: {due}."
            ),
        ),
        ("request_payment", _) => (
            format!("Hồ sơ {code}: đề nghị nộp phí, lệ phí"),
            format!("Hồ sơ {code} cần nộp phí, lệ phí: {note}."),
        ),
        ("confirm_payment", _) => (
            format!("Hồ sơ {code}: đã nhận phí, lệ phí"),
            format!(
                "Hồ sơ {code} đã được ghi nhận nộp phí, lệ phí (mã giao dịch {note}). Ngày hẹn trả kết quả mới: {due}."
            ),
        ),
        ("apologize", _) => (
            format!("Thư xin lỗi về việc chậm trả kết quả hồ sơ {code}"),
            format!(
                "Chúng tôi xin lỗi vì hồ sơ {code} không thể trả kết quả đúng hẹn. Lý do: {note}. Ngày hẹn mới: {due}."
            ),
        ),
        ("approve", _) => (
            format!("Hồ sơ {code} đã có kết quả"),
            format!("Hồ sơ {code} đã được giải quyết; mời nhận kết quả theo hình thức đã đăng ký."),
        ),
        ("refuse", _) => (
            format!("Hồ sơ {code} không được giải quyết"),
            format!("Hồ sơ {code} không được giải quyết. Lý do: {note}."),
        ),
        ("reject_at_intake", _) => (
            format!("Hồ sơ {code} không được tiếp nhận"),
            format!("Hồ sơ {code} không được tiếp nhận. Lý do: {note}."),
        ),
        ("suspend", _) => (
            format!("Hồ sơ {code} bị dừng xử lý"),
            format!("Hồ sơ {code} bị dừng xử lý. Lý do: {note}."),
        ),
        ("withdraw", _) => (
            format!("Hồ sơ {code} đã được rút"),
            format!("Hồ sơ {code} đã được rút theo yêu cầu."),
        ),
        ("return_result", _) => (
            format!("Hồ sơ {code} đã trả kết quả"),
            format!(
                "Kết quả hồ sơ {code} đã được trả. Mời ông/bà đánh giá mức độ hài lòng trên Cổng dịch vụ công."
            ),
        ),
        _ => return None,
    };
    Some((subject, body))
}

/// Queues the e-mail and the SMS of one event (each only when the applicant gave that contact).
pub(crate) async fn enqueue_for_event(
    tx: &mut WriteTx,
    ctx: &Ctx,
    event_id: i64,
    e: &Event<'_>,
) -> Result<()> {
    let row =
        sqlx::query("SELECT code, applicant_email, applicant_phone FROM dossiers WHERE id = $1")
            .bind(e.dossier_id)
            .fetch_one(&mut *tx.tx)
            .await?;
    let (code, email, phone): (String, String, String) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    let Some((subject, body)) = message(e.action, &code, e.to, e.note, e.due_ms) else {
        return Ok(());
    };
    for (channel, to) in [("email", email), ("sms", phone)] {
        if to.trim().is_empty() {
            continue;
        }
        let payload =
            json!({ "channel": channel, "to": to.trim(), "subject": subject, "body": body });
        let key = format!("dossier-event-{event_id}-{channel}");
        tinhso_platform::outbox::enqueue(
            tx,
            tinhso_platform::outbox::CITIZEN_NOTIFICATION,
            &key,
            &payload,
            ctx.now_ms,
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_vietnamese_and_internal_events_silent() {
        let (subject, body) = message(
            "accept",
            "000.00.31.H32-270301-0001",
            Status::Received,
            "",
            Some(
                chrono::DateTime::parse_from_rfc3339("2027-02-23T16:00:00+07:00")
                    .unwrap()
                    .timestamp_millis(),
            ),
        )
        .unwrap();
        assert_eq!(subject, "Hồ sơ 000.00.31.H32-270301-0001 đã được tiếp nhận");
        assert!(
            body.contains("Ngày hẹn trả kết quả: 16:00 ngày 23/02/2027"),
            "{body}"
        );
        assert!(message("start_processing", "x", Status::Processing, "", None).is_none());
        assert!(message("transfer", "x", Status::Processing, "", None).is_none());
    }
}
