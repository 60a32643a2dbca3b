//! The internal process of a dossier, step by step (quy trình nội bộ): which step is running,
//! which actions close it and which step opens next.
//!
//! Each step of the procedure's process has its own deadline — the step's duration in
//! working hours from the moment it opens, on the handling agency's calendar — and, like the
//! dossier's legal clock, the step's clock stops while the citizen owes a supplement or the
//! fee. A step completed after its deadline is late, independently of the dossier as a whole
//! (a dossier can be on time overall with one late step, and the other way round).
//!
//! This module only decides *what happens to the steps* for an action; storing them and
//! running the clocks is the service's job.

use tinhso_core::access::Role;
use tinhso_core::{DomainError, ErrorCode};

use super::catalog::ProcessStep;
use super::dossier::Action;

/// What an action does to the steps of a dossier whose open step is `current`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepEffect {
    /// The steps are untouched.
    None,
    /// The open step's clock stops (the citizen owes something).
    Pause,
    /// The open step's clock restarts.
    Resume,
    /// Steps up to and including `complete_through` are done now (those not yet opened are
    /// recorded as passed at the same instant); `open` starts next, if any.
    Advance {
        complete_through: usize,
        open: Option<usize>,
    },
    /// Processing ended without a result (refusal, suspension, withdrawal): the open step
    /// is closed as stopped.
    Stop,
}

/// The intake step: the first step when the counter performs it. Receipt completes it.
fn intake_step(process: &[ProcessStep]) -> Option<usize> {
    process
        .first()
        .filter(|s| s.role == Role::CounterOfficer)
        .map(|_| 0)
}

/// The step a leader's decision completes: the last leader step, if any lies at or after
/// the open one; otherwise the open step itself.
fn decision_step(process: &[ProcessStep], current: usize) -> usize {
    process
        .iter()
        .rposition(|s| s.role == Role::Leader)
        .filter(|&i| i >= current)
        .unwrap_or(current)
}

fn advance(process: &[ProcessStep], through: usize) -> StepEffect {
    let next = through + 1;
    StepEffect::Advance {
        complete_through: through,
        open: (next < process.len()).then_some(next),
    }
}

/// The effect of `action` on a dossier with `process`, whose open step is `current` (none
/// before receipt and after the last step). `Receive` is the receipt itself (counter intake
/// or acceptance of an online filing).
pub fn effect(process: &[ProcessStep], current: Option<usize>, action: Action) -> StepEffect {
    if process.is_empty() {
        return StepEffect::None;
    }
    match (action, current) {
        (Action::Accept, None) => match intake_step(process) {
            Some(intake) => advance(process, intake),
            None => StepEffect::Advance {
                complete_through: usize::MAX,
                open: Some(0),
            },
        },
        (Action::RequestSupplement | Action::RequestPayment, Some(_)) => StepEffect::Pause,
        (Action::Supplement | Action::ConfirmPayment, Some(_)) => StepEffect::Resume,
        (Action::CompleteStep | Action::Transfer, Some(open)) => advance(process, open),
        (Action::Approve, Some(open)) => advance(process, decision_step(process, open)),
        (Action::ReturnResult, Some(_)) => StepEffect::Advance {
            complete_through: process.len() - 1,
            open: None,
        },
        (Action::Refuse | Action::Suspend | Action::Withdraw, Some(_)) => StepEffect::Stop,
        _ => StepEffect::None,
    }
}

/// Whether the open step may be completed by hand ("chuyển bước"): a leader's step is
/// completed by the decision (approve / refuse) and the last step by returning the result, so
/// neither can be skipped by forwarding.
pub fn check_forward(process: &[ProcessStep], current: Option<usize>) -> Result<(), DomainError> {
    let refuse = |message: &str, rule: &'static str| {
        Err(DomainError::new(ErrorCode::Conflict, message.to_owned()).with_rule(rule))
    };
    match current.and_then(|i| process.get(i).map(|s| (i, s))) {
        None => refuse("no step of this dossier is open", "dossier.no_open_step"),
        Some((_, step)) if step.role == Role::Leader => refuse(
            "a leader's step is completed by the decision",
            "dossier.step_needs_decision",
        ),
        Some((i, _)) if i + 1 >= process.len() => refuse(
            "the last step is completed by returning the result",
            "dossier.last_step",
        ),
        Some(_) => Ok(()),
    }
}

/// Steps of `process` completed by `StepEffect::Advance { complete_through, .. }` when the
/// open step is `current` (none before receipt): the open one and any passed over.
pub fn completed_range(
    current: Option<usize>,
    complete_through: usize,
) -> std::ops::RangeInclusive<usize> {
    match current {
        Some(open) => open..=complete_through,
        // Before receipt nothing was open: the intake step (if any) is done at receipt.
        None if complete_through == usize::MAX => std::ops::RangeInclusive::new(1, 0),
        None => 0..=complete_through,
    }
}

/// A step's working time in whole minutes (durations may be fractions of an hour).
pub fn budget_minutes(step: &ProcessStep) -> u64 {
    let minutes = (step.duration_hours.max(0.0) * 60.0).round();
    // Durations are validated to be small; the cast saturates on anything absurd.
    minutes as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(role: Role, hours: f64) -> ProcessStep {
        ProcessStep {
            name: format!("{role:?}"),
            role,
            duration_hours: hours,
            transfer_to: None,
        }
    }

    /// The shape of most demo procedures: intake, review, decision, registry, return.
    fn process() -> Vec<ProcessStep> {
        vec![
            step(Role::CounterOfficer, 1.0),
            step(Role::Specialist, 4.0),
            step(Role::Leader, 2.0),
            step(Role::Clerk, 0.5),
            step(Role::CounterOfficer, 0.0),
        ]
    }

    #[test]
    fn receipt_completes_intake_and_opens_review() {
        let p = process();
        assert_eq!(
            effect(&p, None, Action::Accept),
            StepEffect::Advance {
                complete_through: 0,
                open: Some(1)
            }
        );
        assert_eq!(completed_range(None, 0), 0..=0);
    }

    #[test]
    fn without_intake_step_receipt_opens_the_first() {
        let p = vec![step(Role::Specialist, 8.0), step(Role::Leader, 1.0)];
        let e = effect(&p, None, Action::Accept);
        assert_eq!(
            e,
            StepEffect::Advance {
                complete_through: usize::MAX,
                open: Some(0)
            }
        );
        assert!(completed_range(None, usize::MAX).is_empty());
    }

    #[test]
    fn decision_passes_over_review_and_opens_registry() {
        let p = process();
        assert_eq!(
            effect(&p, Some(1), Action::Approve),
            StepEffect::Advance {
                complete_through: 2,
                open: Some(3)
            }
        );
        assert_eq!(completed_range(Some(1), 2), 1..=2);
        assert_eq!(
            effect(&p, Some(3), Action::ReturnResult),
            StepEffect::Advance {
                complete_through: 4,
                open: None
            }
        );
    }

    #[test]
    fn forward_pause_stop() {
        let p = process();
        assert_eq!(
            effect(&p, Some(1), Action::CompleteStep),
            StepEffect::Advance {
                complete_through: 1,
                open: Some(2)
            }
        );
        assert_eq!(
            effect(&p, Some(4), Action::CompleteStep),
            StepEffect::Advance {
                complete_through: 4,
                open: None
            }
        );
        assert_eq!(
            effect(&p, Some(1), Action::RequestSupplement),
            StepEffect::Pause
        );
        assert_eq!(effect(&p, Some(1), Action::Supplement), StepEffect::Resume);
        assert_eq!(effect(&p, Some(2), Action::Refuse), StepEffect::Stop);
        assert_eq!(effect(&p, Some(1), Action::Apologize), StepEffect::None);
        assert_eq!(effect(&[], Some(1), Action::Approve), StepEffect::None);
    }

    #[test]
    fn forwarding_cannot_skip_the_decision_or_the_return() {
        let p = process();
        assert!(check_forward(&p, Some(1)).is_ok());
        let rule = |r: Result<(), DomainError>| r.unwrap_err().rule;
        assert_eq!(
            rule(check_forward(&p, Some(2))),
            Some("dossier.step_needs_decision")
        );
        assert_eq!(rule(check_forward(&p, Some(4))), Some("dossier.last_step"));
        assert_eq!(rule(check_forward(&p, None)), Some("dossier.no_open_step"));
    }

    #[test]
    fn budgets_in_minutes() {
        assert_eq!(budget_minutes(&step(Role::Clerk, 0.5)), 30);
        assert_eq!(budget_minutes(&step(Role::Clerk, 4.0)), 240);
        assert_eq!(budget_minutes(&step(Role::Clerk, -1.0)), 0);
    }
}
