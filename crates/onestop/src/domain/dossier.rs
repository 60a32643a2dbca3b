//! The dossier (hồ sơ) lifecycle as a state machine, its national-portal status codes, and
//! the dossier code.
//!
//! Every action is checked against the current status here before anything is written, so
//! an action out of order (approving a withdrawn dossier, paying a refused one) is refused
//! with a stable code whatever the channel it came from.

use serde::{Deserialize, Serialize};
use tinhso_core::{DomainError, ErrorCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Filed online, waiting for the one-stop counter to accept it.
    Submitted,
    /// Accepted at intake (receipt issued, legal clock running).
    Received,
    /// Not accepted at intake.
    NotAccepted,
    Processing,
    /// Waiting for the citizen to supplement (clock stopped).
    SupplementRequested,
    /// Waiting for the fee (nghĩa vụ tài chính).
    AwaitingPayment,
    /// Withdrawn at the citizen's request.
    Withdrawn,
    /// Processing stopped: refusal or suspension.
    Stopped,
    /// Decided; the result is ready for return.
    Resolved,
    /// Result handed over (counter, online or postal).
    Returned,
}

impl Status {
    pub const ALL: [Status; 10] = [
        Status::Submitted,
        Status::Received,
        Status::NotAccepted,
        Status::Processing,
        Status::SupplementRequested,
        Status::AwaitingPayment,
        Status::Withdrawn,
        Status::Stopped,
        Status::Resolved,
        Status::Returned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Received => "received",
            Self::NotAccepted => "not_accepted",
            Self::Processing => "processing",
            Self::SupplementRequested => "supplement_requested",
            Self::AwaitingPayment => "awaiting_payment",
            Self::Withdrawn => "withdrawn",
            Self::Stopped => "stopped",
            Self::Resolved => "resolved",
            Self::Returned => "returned",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| DomainError::invalid(format!("unknown dossier status `{s}`")))
    }

    /// `TrangThaiHoSo` of the national public-service portal (DVCQG), codes 1–10.
    pub fn national_code(self) -> u8 {
        match self {
            Self::Submitted => 1,
            Self::Received => 2,
            Self::NotAccepted => 3,
            Self::Processing => 4,
            Self::SupplementRequested => 5,
            Self::AwaitingPayment => 6,
            Self::Withdrawn => 7,
            Self::Stopped => 8,
            Self::Resolved => 9,
            Self::Returned => 10,
        }
    }

    /// No action leaves these.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::NotAccepted | Self::Withdrawn | Self::Stopped | Self::Returned
        )
    }
}

/// What someone does to a dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Accept,
    RejectAtIntake,
    StartProcessing,
    RequestSupplement,
    Supplement,
    RequestPayment,
    ConfirmPayment,
    Approve,
    Refuse,
    Suspend,
    Withdraw,
    ReturnResult,
    /// Hand processing to another agency (liên thông).
    Transfer,
    /// Apologise for lateness with a new appointment (the status does not change).
    Apologize,
    /// Complete the open step of the internal process and open the next (chuyển bước).
    CompleteStep,
}

/// The transition table: the status an action leads to from a status, or why not.
pub fn next_status(from: Status, action: Action) -> Result<Status, DomainError> {
    use Action as A;
    use Status as S;
    let to = match (from, action) {
        (S::Submitted, A::Accept) => Some(S::Received),
        (S::Submitted, A::RejectAtIntake) => Some(S::NotAccepted),
        (S::Received, A::StartProcessing) => Some(S::Processing),
        (S::Processing | S::Received, A::RequestSupplement) => Some(S::SupplementRequested),
        (S::SupplementRequested, A::Supplement) => Some(S::Processing),
        (S::Processing, A::RequestPayment) => Some(S::AwaitingPayment),
        (S::AwaitingPayment, A::ConfirmPayment) => Some(S::Processing),
        (S::Processing, A::Approve) => Some(S::Resolved),
        (
            S::Processing | S::SupplementRequested | S::AwaitingPayment | S::Received,
            A::Refuse | A::Suspend,
        ) => Some(S::Stopped),
        (s, A::Withdraw) if !s.is_final() && s != S::Resolved => Some(S::Withdrawn),
        (S::Resolved, A::ReturnResult) => Some(S::Returned),
        (S::Processing, A::Transfer | A::CompleteStep) => Some(S::Processing),
        (
            S::Received | S::Processing | S::SupplementRequested | S::AwaitingPayment,
            A::Apologize,
        ) => Some(from),
        _ => None,
    };
    to.ok_or_else(|| {
        DomainError::new(
            ErrorCode::Conflict,
            format!(
                "action {action:?} is not allowed on a dossier that is {}",
                from.as_str()
            ),
        )
        .with_rule("dossier.out_of_order")
    })
}

/// `{agency identifier}-{yyMMdd}-{NNNN}`: the receiving agency, the Vietnam-time date of
/// filing, and the agency's sequence of that day (from 0001; more than 9,999 widens).
pub fn dossier_code(agency_code: &str, local_date: chrono::NaiveDate, sequence: i64) -> String {
    format!(
        "{}{sequence:04}",
        dossier_code_prefix(agency_code, local_date)
    )
}

/// The part of a dossier code before its sequence number.
pub fn dossier_code_prefix(agency_code: &str, local_date: chrono::NaiveDate) -> String {
    format!("{agency_code}-{}-", local_date.format("%y%m%d"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_codes_cover_1_to_10_once() {
        let mut codes: Vec<u8> = Status::ALL.iter().map(|s| s.national_code()).collect();
        codes.sort_unstable();
        assert_eq!(codes, (1..=10).collect::<Vec<_>>());
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()).unwrap(), s);
        }
    }

    #[test]
    fn lifecycle_and_out_of_order_actions() {
        let path = [
            (Action::Accept, Status::Received),
            (Action::StartProcessing, Status::Processing),
            (Action::RequestSupplement, Status::SupplementRequested),
            (Action::Supplement, Status::Processing),
            (Action::RequestPayment, Status::AwaitingPayment),
            (Action::ConfirmPayment, Status::Processing),
            (Action::Approve, Status::Resolved),
            (Action::ReturnResult, Status::Returned),
        ];
        let mut status = Status::Submitted;
        for (action, expected) in path {
            status = next_status(status, action).unwrap();
            assert_eq!(status, expected);
        }
        let withdrawn = next_status(Status::Processing, Action::Withdraw).unwrap();
        let err = next_status(withdrawn, Action::Approve).unwrap_err();
        assert_eq!(
            (err.code, err.rule),
            (ErrorCode::Conflict, Some("dossier.out_of_order"))
        );
        assert!(next_status(Status::Resolved, Action::Withdraw).is_err());
        assert!(next_status(Status::Submitted, Action::ConfirmPayment).is_err());
    }

    #[test]
    fn codes() {
        let day = chrono::NaiveDate::from_ymd_opt(2024, 3, 15).unwrap();
        assert_eq!(
            dossier_code("000.00.01.H56", day, 7),
            "000.00.01.H56-240315-0007"
        );
        assert_eq!(
            dossier_code("000.00.01.H56", day, 12345),
            "000.00.01.H56-240315-12345"
        );
    }
}
