//! Citizen notifications of dossier events, written to the outbox in the same transaction as
//! the event: a crash after the change never loses the message, and the idempotency key (one
//! per event and channel) means a re-delivery is recognisable as the same message.
//!
//! Templates are Vietnamese (citizens read Vietnamese) and stored data: the shipped texts
//! (`domain::notification_templates::DEFAULTS`) until an administrator edits one
//! (`notification_templates`); the text in force is read in the event's transaction.

use serde_json::json;
use tinhso_platform::{Ctx, Result, WriteTx};

use crate::domain::dossier::Status;
use crate::domain::notification_templates::{Template, default_of, event_of, render};
use crate::dossiers::Event;

fn local(ms: i64) -> String {
    tinhso_core::calendar::vietnam_instant(ms)
        .format("%H:%M ngày %d/%m/%Y")
        .to_string()
}

/// Subject and body of the message for an event with the shipped texts, or `None` when the
/// event is internal. (The notifier uses the stored templates: [`enqueue_for_event`].)
pub fn message(
    action: &str,
    code: &str,
    status: Status,
    note: &str,
    due_ms: Option<i64>,
) -> Option<(String, String)> {
    let event = event_of(action, status).and_then(default_of)?;
    let template = Template::default_for(event);
    let due = due_ms.map(local).unwrap_or_default();
    Some((
        render(&template.subject, code, &due, note),
        render(&template.body, code, &due, note),
    ))
}

/// Whether the event may queue a message: a citizen-visible event and a contact to send to.
pub(crate) fn may_enqueue(e: &Event<'_>) -> bool {
    has_contact(e) && event_of(e.action, e.to).is_some()
}

fn has_contact(e: &Event<'_>) -> bool {
    !(e.email.trim().is_empty() && e.phone.trim().is_empty())
}

/// Queues the e-mail and the SMS of one event (each only when the applicant gave that contact).
pub(crate) async fn enqueue_for_event(
    tx: &mut WriteTx,
    ctx: &Ctx,
    event_id: i64,
    e: &Event<'_>,
) -> Result<()> {
    let Some(event) = event_of(e.action, e.to).filter(|_| has_contact(e)) else {
        return Ok(());
    };
    let Some(template) = crate::notification_templates::in_force(tx, event).await? else {
        return Ok(());
    };
    let due = e.due_ms.map(local).unwrap_or_default();
    let fill = |text: &str| render(text, e.code, &due, e.note);
    let subject = fill(&template.subject);
    for (channel, to) in [("email", e.email), ("sms", e.phone)] {
        if to.trim().is_empty() {
            continue;
        }
        let body = fill(if channel == "sms" {
            &template.sms
        } else {
            &template.body
        });
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
