//! The texts of citizen notifications as data: one template per dossier event (e-mail
//! subject, e-mail body, SMS), with `{placeholder}` slots filled when the event happens.
//!
//! The shipped Vietnamese texts are the defaults; an administrator's edit is stored and
//! used instead (`crate::notification_templates`). Placeholders are checked per event, so a
//! template can never name a value the event does not have.

use serde::{Deserialize, Serialize};
use tinhso_core::DomainError;

use super::dossier::Status;

/// A value a template may name.
pub const PLACEHOLDERS: &[&str] = &["code", "due", "note"];

/// One event's default texts and the placeholders it provides.
#[derive(Debug, Clone, Copy)]
pub struct EventTemplate {
    pub event: &'static str,
    pub placeholders: &'static [&'static str],
    pub subject: &'static str,
    pub body: &'static str,
}

const CODE: &[&str] = &["code"];
const CODE_DUE: &[&str] = &["code", "due"];
const CODE_NOTE: &[&str] = &["code", "note"];
const ALL: &[&str] = &["code", "due", "note"];

/// The shipped texts, in the order the lifecycle meets them. The SMS defaults to the body.
pub const DEFAULTS: &[EventTemplate] = &[
    EventTemplate {
        event: "submitted",
        placeholders: CODE,
        subject: "Hồ sơ {code} đã được gửi",
        body: "Hồ sơ {code} đã được gửi trực tuyến và đang chờ bộ phận một cửa tiếp nhận.",
    },
    EventTemplate {
        event: "received",
        placeholders: CODE_DUE,
        subject: "Hồ sơ {code} đã được tiếp nhận",
        body: "Hồ sơ {code} đã được tiếp nhận. Ngày hẹn trả kết quả: {due}.",
    },
    EventTemplate {
        event: "request_supplement",
        placeholders: CODE_NOTE,
        subject: "Hồ sơ {code} cần bổ sung",
        body: "Hồ sơ {code} cần bổ sung: {note}. Thời hạn giải quyết tạm dừng cho đến khi hồ sơ được bổ sung.",
    },
    EventTemplate {
        event: "supplement",
        placeholders: CODE_DUE,
        subject: "Đã nhận nội dung bổ sung hồ sơ {code}",
        body: "Nội dung bổ sung của hồ sơ {code} đã được nhận. Ngày hẹn trả kết quả mới: {due}.",
    },
    EventTemplate {
        event: "request_payment",
        placeholders: CODE_NOTE,
        subject: "Hồ sơ {code}: đề nghị nộp phí, lệ phí",
        body: "Hồ sơ {code} cần nộp phí, lệ phí: {note}.",
    },
    EventTemplate {
        event: "confirm_payment",
        placeholders: ALL,
        subject: "Hồ sơ {code}: đã nhận phí, lệ phí",
        body: "Hồ sơ {code} đã được ghi nhận nộp phí, lệ phí (mã giao dịch {note}). Ngày hẹn trả kết quả mới: {due}.",
    },
    EventTemplate {
        event: "apologize",
        placeholders: ALL,
        subject: "Thư xin lỗi về việc chậm trả kết quả hồ sơ {code}",
        body: "Chúng tôi xin lỗi vì hồ sơ {code} không thể trả kết quả đúng hẹn. Lý do: {note}. Ngày hẹn mới: {due}.",
    },
    EventTemplate {
        event: "approve",
        placeholders: CODE,
        subject: "Hồ sơ {code} đã có kết quả",
        body: "Hồ sơ {code} đã được giải quyết; mời nhận kết quả theo hình thức đã đăng ký.",
    },
    EventTemplate {
        event: "refuse",
        placeholders: CODE_NOTE,
        subject: "Hồ sơ {code} không được giải quyết",
        body: "Hồ sơ {code} không được giải quyết. Lý do: {note}.",
    },
    EventTemplate {
        event: "reject_at_intake",
        placeholders: CODE_NOTE,
        subject: "Hồ sơ {code} không được tiếp nhận",
        body: "Hồ sơ {code} không được tiếp nhận. Lý do: {note}.",
    },
    EventTemplate {
        event: "suspend",
        placeholders: CODE_NOTE,
        subject: "Hồ sơ {code} bị dừng xử lý",
        body: "Hồ sơ {code} bị dừng xử lý. Lý do: {note}.",
    },
    EventTemplate {
        event: "withdraw",
        placeholders: CODE,
        subject: "Hồ sơ {code} đã được rút",
        body: "Hồ sơ {code} đã được rút theo yêu cầu.",
    },
    EventTemplate {
        event: "return_result",
        placeholders: CODE,
        subject: "Hồ sơ {code} đã trả kết quả",
        body: "Kết quả hồ sơ {code} đã được trả. Mời ông/bà đánh giá mức độ hài lòng trên Cổng dịch vụ công.",
    },
];

/// The template event of a dossier action, or `None` when the action is internal.
pub fn event_of(action: &str, status: Status) -> Option<&'static str> {
    Some(match (action, status) {
        ("submit", Status::Submitted) => "submitted",
        ("submit" | "accept", Status::Received) => "received",
        ("request_supplement", _) => "request_supplement",
        ("supplement", _) => "supplement",
        ("request_payment", _) => "request_payment",
        ("confirm_payment", _) => "confirm_payment",
        ("apologize", _) => "apologize",
        ("approve", _) => "approve",
        ("refuse", _) => "refuse",
        ("reject_at_intake", _) => "reject_at_intake",
        ("suspend", _) => "suspend",
        ("withdraw", _) => "withdraw",
        ("return_result", _) => "return_result",
        _ => return None,
    })
}

pub fn default_of(event: &str) -> Option<&'static EventTemplate> {
    DEFAULTS.iter().find(|t| t.event == event)
}

/// The texts of one event's notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub subject: String,
    pub body: String,
    pub sms: String,
}

impl Template {
    pub fn default_for(event: &EventTemplate) -> Self {
        Self {
            subject: event.subject.to_owned(),
            body: event.body.to_owned(),
            sms: event.body.to_owned(),
        }
    }
}

/// Which text of a template a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplatePart {
    Subject,
    Body,
    Sms,
}

impl TemplatePart {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subject => "subject",
            Self::Body => "body",
            Self::Sms => "sms",
        }
    }
}

/// Longest texts accepted (an SMS of more than a few segments costs the province money).
pub const MAX_SUBJECT: usize = 200;
pub const MAX_BODY: usize = 4000;
pub const MAX_SMS: usize = 480;

/// Every problem of a template for `event`, with the text it is in: an empty or too long
/// text, a `{name}` the event does not provide (the error names it), an unclosed brace.
pub fn problems(event: &EventTemplate, template: &Template) -> Vec<(TemplatePart, DomainError)> {
    let mut out = Vec::new();
    for (part, text, max) in [
        (TemplatePart::Subject, &template.subject, MAX_SUBJECT),
        (TemplatePart::Body, &template.body, MAX_BODY),
        (TemplatePart::Sms, &template.sms, MAX_SMS),
    ] {
        if text.trim().is_empty() || text.chars().count() > max {
            out.push((
                part,
                DomainError::invalid(format!(
                    "the {} is required (at most {max} characters)",
                    part.as_str()
                ))
                .with_rule("template.length"),
            ));
            continue;
        }
        match placeholders_in(text) {
            None => out.push((
                part,
                DomainError::invalid(format!(
                    "the {} has a brace that is not a placeholder like {{code}}",
                    part.as_str()
                ))
                .with_rule("template.brace"),
            )),
            Some(names) => {
                if let Some(unknown) = names.iter().find(|n| !event.placeholders.contains(n)) {
                    out.push((
                        part,
                        DomainError::invalid(format!(
                            "unknown placeholder {{{unknown}}} in the {}; this event provides {}",
                            part.as_str(),
                            event
                                .placeholders
                                .iter()
                                .map(|p| format!("{{{p}}}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                        .with_rule("template.unknown_placeholder"),
                    ));
                }
            }
        }
    }
    out
}

/// The placeholder names of a text, or `None` when a brace is not part of `{name}`.
pub fn placeholders_in(text: &str) -> Option<Vec<&str>> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return None;
        }
        let after = &rest[open + 1..];
        let close = after.find('}')?;
        let name = &after[..close];
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return None;
        }
        names.push(name);
        rest = &after[close + 1..];
    }
    Some(names)
}

/// Fills the placeholders of a (valid) text.
pub fn render(text: &str, code: &str, due: &str, note: &str) -> String {
    text.replace("{code}", code)
        .replace("{due}", due)
        .replace("{note}", note)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_cover_every_notified_event() {
        for event in DEFAULTS {
            assert!(
                problems(event, &Template::default_for(event)).is_empty(),
                "{}",
                event.event
            );
            assert!(event.placeholders.iter().all(|p| PLACEHOLDERS.contains(p)));
        }
        assert_eq!(event_of("accept", Status::Received), Some("received"));
        assert_eq!(event_of("transfer", Status::Processing), None);
    }

    #[test]
    fn unknown_placeholders_and_stray_braces_are_named() {
        let event = default_of("received").unwrap();
        let mut t = Template::default_for(event);
        t.sms = "Hồ sơ {code}: {ho_ten}".into();
        t.subject = "Hồ sơ {code".into();
        let found = problems(event, &t);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].0, TemplatePart::Subject);
        assert_eq!(found[0].1.rule, Some("template.brace"));
        assert_eq!(found[1].0, TemplatePart::Sms);
        assert!(
            found[1].1.detail.contains("{ho_ten}"),
            "{}",
            found[1].1.detail
        );
        // A note is not part of the receipt event.
        t = Template::default_for(event);
        t.body = "Lý do: {note}".into();
        assert!(problems(event, &t)[0].1.detail.contains("{note}"));
        assert_eq!(
            render("{code} — {due}", "X-1", "16:00 ngày 23/02/2027", ""),
            "X-1 — 16:00 ngày 23/02/2027"
        );
    }
}
