//! The workflows: an incoming document (registered → assigned → in progress → done) and an
//! outgoing one (draft → submitted → reviewed → approved → signed → released → dispatched,
//! or revoked), with who may take each step.
//!
//! Invariants: a transition not in the tables is refused with `document.transition.not_allowed`
//! and changes nothing; only the main handler closes an incoming document; sending a draft
//! back and revoking need a reason; the drafter of a document does not review it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tinhso_core::access::Action as Access;
use tinhso_core::{DomainError, ErrorCode};

use super::invalid;
use super::metadata::check_len;

pub const RULE_TRANSITION: &str = "document.transition.not_allowed";

fn not_allowed(from: &str, step: &str) -> DomainError {
    DomainError::new(
        ErrorCode::Conflict,
        format!("`{step}` is not possible while the document is `{from}`"),
    )
    .with_rule(RULE_TRANSITION)
}

/// Another request changed the document between reading and writing it.
pub fn changed_meanwhile() -> DomainError {
    DomainError::new(
        ErrorCode::Conflict,
        "the document was changed meanwhile; reload it and try again",
    )
    .with_rule(RULE_TRANSITION)
}

macro_rules! string_enum {
    ($name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),* }
            }

            pub fn parse(s: &str) -> Result<Self, DomainError> {
                match s {
                    $($text => Ok(Self::$variant),)*
                    _ => Err(invalid("document.status.unknown", format!("unknown value `{s}`"))),
                }
            }
        }
    };
}

string_enum!(IncomingStatus {
    Registered = "registered",
    Assigned = "assigned",
    InProgress = "in_progress",
    Done = "done",
});

string_enum!(IncomingStep {
    Assign = "assign",
    Progress = "progress",
    Complete = "complete",
});

impl IncomingStep {
    /// The right the step needs on the document's agency.
    pub fn permission(self) -> Access {
        match self {
            Self::Assign => Access::AssignDocuments,
            Self::Progress | Self::Complete => Access::DraftDocuments,
        }
    }
}

/// Where an incoming document goes on `step`. Assigning again (reassignment) is allowed
/// until the document is done; it returns to `assigned`.
pub fn incoming_next(
    from: IncomingStatus,
    step: IncomingStep,
) -> Result<IncomingStatus, DomainError> {
    use IncomingStatus::*;
    use IncomingStep::*;
    match (from, step) {
        (Registered | Assigned | InProgress, Assign) => Ok(Assigned),
        (Assigned | InProgress, Progress) => Ok(InProgress),
        (Assigned | InProgress, Complete) => Ok(Done),
        _ => Err(not_allowed(from.as_str(), step.as_str())),
    }
}

/// The leader's routing (phiếu giải quyết văn bản đến).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Assignment {
    /// Đơn vị/người chủ trì (an official's user id).
    pub main_handler: i64,
    /// Phối hợp.
    pub co_handlers: Vec<i64>,
    /// Để biết.
    pub for_information: Vec<i64>,
    /// Thời hạn giải quyết.
    pub deadline: Option<NaiveDate>,
    /// Ý kiến chỉ đạo (1000).
    pub direction: String,
}

impl Assignment {
    /// One person, one part: the main handler is neither co-handler nor informed, and
    /// nobody is named twice. A deadline, when given, is not before `today`.
    pub fn check(&self, today: NaiveDate) -> Result<(), DomainError> {
        if self.main_handler <= 0 {
            return Err(invalid(
                "document.assignment.main_handler_required",
                "name the main handler",
            ));
        }
        let mut seen = std::collections::BTreeSet::from([self.main_handler]);
        for id in self.co_handlers.iter().chain(&self.for_information) {
            if !seen.insert(*id) {
                return Err(invalid(
                    "document.assignment.duplicate_person",
                    format!("user {id} is named twice in the assignment"),
                ));
            }
        }
        if self.deadline.is_some_and(|d| d < today) {
            return Err(invalid(
                "document.assignment.deadline_past",
                "the deadline is in the past",
            ));
        }
        check_len(
            &self.direction,
            1000,
            "document.assignment.direction.too_long",
        )
    }

    /// Everyone the assignment names, with their part.
    pub fn people(&self) -> Vec<(i64, HandlerPart)> {
        std::iter::once((self.main_handler, HandlerPart::Main))
            .chain(self.co_handlers.iter().map(|id| (*id, HandlerPart::Co)))
            .chain(
                self.for_information
                    .iter()
                    .map(|id| (*id, HandlerPart::Info)),
            )
            .collect()
    }
}

string_enum!(HandlerPart {
    Main = "main",
    Co = "co",
    Info = "info",
});

/// Who may note progress and who may close: handlers (main and co) note progress; only the
/// main handler closes.
pub fn check_handler(step: IncomingStep, part: Option<HandlerPart>) -> Result<(), DomainError> {
    let ok = match step {
        IncomingStep::Progress => matches!(part, Some(HandlerPart::Main | HandlerPart::Co)),
        IncomingStep::Complete => part == Some(HandlerPart::Main),
        IncomingStep::Assign => true,
    };
    if ok {
        Ok(())
    } else {
        Err(DomainError::new(
            ErrorCode::Forbidden,
            match step {
                IncomingStep::Complete => "only the main handler marks the document done",
                _ => "only the document's handlers note its progress",
            },
        )
        .with_rule(match step {
            IncomingStep::Complete => "document.done.main_handler_only",
            _ => "document.progress.handlers_only",
        }))
    }
}

string_enum!(OutgoingStatus {
    Draft = "draft",
    Submitted = "submitted",
    Reviewed = "reviewed",
    Approved = "approved",
    Signed = "signed",
    Released = "released",
    Dispatched = "dispatched",
    Revoked = "revoked",
});

string_enum!(OutgoingStep {
    NewVersion = "new_version",
    Submit = "submit",
    Review = "review",
    Approve = "approve",
    Return = "return",
    Sign = "sign",
    Release = "release",
    Dispatch = "dispatch",
    Revoke = "revoke",
    UpdateRecipients = "update_recipients",
});

impl OutgoingStep {
    /// The right the step needs on the document's agency.
    pub fn permission(self) -> Access {
        match self {
            Self::NewVersion | Self::Submit => Access::DraftDocuments,
            Self::Review | Self::Approve | Self::Return | Self::Sign => Access::ApproveDocuments,
            Self::Release | Self::Dispatch | Self::Revoke | Self::UpdateRecipients => {
                Access::RegisterDocuments
            }
        }
    }

    /// Steps that must say why.
    pub fn needs_reason(self) -> bool {
        matches!(self, Self::Return | Self::Revoke)
    }
}

/// Where an outgoing document goes on `step`.
pub fn outgoing_next(
    from: OutgoingStatus,
    step: OutgoingStep,
) -> Result<OutgoingStatus, DomainError> {
    use OutgoingStatus::*;
    use OutgoingStep::*;
    match (from, step) {
        (Draft, NewVersion) => Ok(Draft),
        (Draft, Submit) => Ok(Submitted),
        (Submitted, Review) => Ok(Reviewed),
        (Submitted | Reviewed, Approve) => Ok(Approved),
        (Submitted | Reviewed | Approved, Return) => Ok(Draft),
        (Approved, Sign) => Ok(Signed),
        (Signed, Release) => Ok(Released),
        (Released | Dispatched, Dispatch) => Ok(Dispatched),
        (Released | Dispatched, UpdateRecipients) => Ok(from),
        (Released | Dispatched, Revoke) => Ok(Revoked),
        _ => Err(not_allowed(from.as_str(), step.as_str())),
    }
}

/// Person rules beyond the role: a drafter does not review or approve their own draft, and
/// only the drafter adds versions or submits it.
pub fn check_person(step: OutgoingStep, actor: i64, drafter: i64) -> Result<(), DomainError> {
    match step {
        OutgoingStep::NewVersion | OutgoingStep::Submit if actor != drafter => {
            Err(DomainError::new(
                ErrorCode::Forbidden,
                "only the drafter changes or submits a draft",
            )
            .with_rule("document.draft.drafter_only"))
        }
        OutgoingStep::Review | OutgoingStep::Approve if actor == drafter => Err(DomainError::new(
            ErrorCode::Forbidden,
            "the drafter does not review or approve their own draft",
        )
        .with_rule("document.review.not_own_draft")),
        _ => Ok(()),
    }
}

/// A reason or comment (1000), required where the step needs one.
pub fn check_comment(step: OutgoingStep, comment: &str) -> Result<(), DomainError> {
    if step.needs_reason() && comment.trim().is_empty() {
        return Err(invalid("document.reason.required", "say why"));
    }
    check_len(comment, 1000, "document.comment.too_long")
}

// Transport status of one dispatch to an external recipient (edXML exchange).
string_enum!(TransportStatus {
    Initial = "INITIAL",
    Processing = "PROCESSING",
    Done = "DONE",
    Fail = "FAIL",
});

/// The business status codes of the edXML status package (01–06, 13, 15, 16).
pub const BUSINESS_STATUS_CODES: &[(&str, &str)] = &[
    ("01", "Đã đến"),
    ("02", "Từ chối tiếp nhận"),
    ("03", "Đã tiếp nhận"),
    ("04", "Đã đến, đang chờ phân công"),
    ("05", "Đã phân công, đang xử lý"),
    ("06", "Đã xử lý xong"),
    ("13", "Thu hồi văn bản"),
    ("15", "Đồng ý thu hồi / cập nhật"),
    ("16", "Từ chối thu hồi / cập nhật"),
];

pub fn check_business_status(code: &str) -> Result<&'static str, DomainError> {
    BUSINESS_STATUS_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, label)| *label)
        .ok_or_else(|| {
            invalid(
                "document.business_status.unknown",
                format!("`{code}` is not one of 01–06, 13, 15, 16"),
            )
        })
}

/// The business status an incoming document's state reports back to its sender.
pub fn business_status_of(status: IncomingStatus) -> &'static str {
    match status {
        IncomingStatus::Registered => "03",
        IncomingStatus::Assigned | IncomingStatus::InProgress => "05",
        IncomingStatus::Done => "06",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncomingStatus as I;
    use OutgoingStatus as O;
    use OutgoingStep as S;

    #[test]
    fn incoming_runs_registered_to_done() {
        let s = incoming_next(I::Registered, IncomingStep::Assign).unwrap();
        assert_eq!(s, I::Assigned);
        let s = incoming_next(s, IncomingStep::Progress).unwrap();
        assert_eq!(s, I::InProgress);
        assert_eq!(incoming_next(s, IncomingStep::Assign).unwrap(), I::Assigned);
        assert_eq!(incoming_next(s, IncomingStep::Complete).unwrap(), I::Done);
    }

    #[test]
    fn incoming_refuses_skips_and_reopening() {
        for (from, step) in [
            (I::Registered, IncomingStep::Progress),
            (I::Registered, IncomingStep::Complete),
            (I::Done, IncomingStep::Assign),
            (I::Done, IncomingStep::Progress),
            (I::Done, IncomingStep::Complete),
        ] {
            let e = incoming_next(from, step).unwrap_err();
            assert_eq!(e.rule, Some(RULE_TRANSITION), "{from:?} {step:?}");
            assert_eq!(e.code, ErrorCode::Conflict);
        }
    }

    #[test]
    fn only_the_main_handler_closes() {
        assert!(check_handler(IncomingStep::Complete, Some(HandlerPart::Main)).is_ok());
        for part in [Some(HandlerPart::Co), Some(HandlerPart::Info), None] {
            assert_eq!(
                check_handler(IncomingStep::Complete, part)
                    .unwrap_err()
                    .rule,
                Some("document.done.main_handler_only")
            );
        }
        assert!(check_handler(IncomingStep::Progress, Some(HandlerPart::Co)).is_ok());
        assert_eq!(
            check_handler(IncomingStep::Progress, Some(HandlerPart::Info))
                .unwrap_err()
                .rule,
            Some("document.progress.handlers_only")
        );
    }

    #[test]
    fn assignment_names_each_person_once() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let mut a = Assignment {
            main_handler: 5,
            co_handlers: vec![6],
            for_information: vec![7],
            deadline: NaiveDate::from_ymd_opt(2026, 3, 9),
            direction: "Giao Phòng VH-XH chủ trì".into(),
        };
        assert!(a.check(today).is_ok());
        assert_eq!(a.people().len(), 3);
        a.for_information.push(5);
        assert_eq!(
            a.check(today).unwrap_err().rule,
            Some("document.assignment.duplicate_person")
        );
        a.for_information.pop();
        a.deadline = NaiveDate::from_ymd_opt(2026, 3, 1);
        assert_eq!(
            a.check(today).unwrap_err().rule,
            Some("document.assignment.deadline_past")
        );
        a.main_handler = 0;
        assert_eq!(
            a.check(today).unwrap_err().rule,
            Some("document.assignment.main_handler_required")
        );
    }

    #[test]
    fn outgoing_happy_path_and_return() {
        let mut s = O::Draft;
        for (step, want) in [
            (S::NewVersion, O::Draft),
            (S::Submit, O::Submitted),
            (S::Review, O::Reviewed),
            (S::Return, O::Draft),
            (S::Submit, O::Submitted),
            (S::Approve, O::Approved),
            (S::Sign, O::Signed),
            (S::Release, O::Released),
            (S::Dispatch, O::Dispatched),
            (S::UpdateRecipients, O::Dispatched),
            (S::Revoke, O::Revoked),
        ] {
            s = outgoing_next(s, step).unwrap();
            assert_eq!(s, want, "{step:?}");
        }
    }

    #[test]
    fn outgoing_refuses_skipping_steps() {
        for (from, step) in [
            (O::Draft, S::Approve),
            (O::Draft, S::Release),
            (O::Submitted, S::Sign),
            (O::Approved, S::Release),
            (O::Signed, S::Dispatch),
            (O::Released, S::NewVersion),
            (O::Revoked, S::Dispatch),
            (O::Draft, S::Revoke),
        ] {
            assert_eq!(
                outgoing_next(from, step).unwrap_err().rule,
                Some(RULE_TRANSITION)
            );
        }
    }

    #[test]
    fn who_may_do_what() {
        assert_eq!(S::Submit.permission(), Access::DraftDocuments);
        assert_eq!(S::Approve.permission(), Access::ApproveDocuments);
        assert_eq!(S::Sign.permission(), Access::ApproveDocuments);
        assert_eq!(S::Release.permission(), Access::RegisterDocuments);
        assert!(check_person(S::Submit, 3, 3).is_ok());
        assert_eq!(
            check_person(S::Submit, 4, 3).unwrap_err().rule,
            Some("document.draft.drafter_only")
        );
        assert_eq!(
            check_person(S::Approve, 3, 3).unwrap_err().rule,
            Some("document.review.not_own_draft")
        );
        assert!(check_person(S::Approve, 4, 3).is_ok());
        assert_eq!(
            check_comment(S::Return, " ").unwrap_err().rule,
            Some("document.reason.required")
        );
        assert!(check_comment(S::Approve, "").is_ok());
    }

    #[test]
    fn status_codes() {
        assert_eq!(
            check_business_status("05").unwrap(),
            "Đã phân công, đang xử lý"
        );
        assert!(check_business_status("07").is_err());
        assert_eq!(
            TransportStatus::parse("FAIL").unwrap(),
            TransportStatus::Fail
        );
        assert_eq!(business_status_of(IncomingStatus::Done), "06");
    }
}
