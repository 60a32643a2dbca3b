//! Online fee payment of dossiers (nộp phí, lệ phí trực tuyến) through the payment-gateway
//! port of the platform.
//!
//! Invariants:
//! - A fee is marked paid only on a gateway callback whose signature verified, whose reference
//!   is one of ours and still pending, and whose amount equals both the attempt's amount and
//!   the fee the dossier asks for. Marking the attempt paid and confirming the payment on the
//!   dossier (status back to processing, legal clock restarted, history line, citizen
//!   notification, audit records) happen in one transaction.
//! - Callbacks are idempotent: the same verified result delivered again (IPN retry, browser
//!   return after the IPN) is acknowledged and changes nothing.
//! - Starting a payment is idempotent: while an attempt for the dossier and amount is pending
//!   it is handed out again, so the back button or a double click never makes two charges
//!   (a partial unique index also keeps at most one attempt per dossier pending).
//! - Refused callbacks write nothing (they are logged): they come from outside, unauthenticated,
//!   and must not let anyone grow the audit trail at will.

use serde::Serialize;
use sqlx::Row;
use tinhso_core::access::{Action as AccessAction, Target};
use tinhso_core::{DomainError, ErrorCode};
use tinhso_platform::audit::Change;
use tinhso_platform::payment::{PaymentRequest, VerifiedPayment};
use tinhso_platform::{Caller, Ctx, Dialect, Error, Platform, Result};

use crate::domain::dossier::Status;
use crate::dossiers::{self, Command};

/// Payment attempts listed per dossier, at most.
const LIST_LIMIT: i64 = 100;

/// One attempt to pay a dossier's fee.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PaymentView {
    pub reference: String,
    pub dossier_code: String,
    /// Whole đồng.
    pub amount: i64,
    /// `pending`, `paid`, `failed` or `cancelled`.
    pub status: String,
    pub gateway_transaction: Option<String>,
    pub created_at: String,
    pub paid_at: Option<String>,
}

/// A started (or resumed) attempt and where to send the payer.
#[derive(Debug, Clone, Serialize)]
pub struct Started {
    pub payment: PaymentView,
    pub checkout_url: String,
    /// True when a pending attempt was handed out again.
    pub reused: bool,
}

/// What a verified callback did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Paid,
    /// The gateway took the money for an attempt that can no longer settle the fee (the
    /// dossier was withdrawn, refused or suspended, or the attempt was superseded, while
    /// the payer was on the gateway): recorded as `paid_unapplied` for a refund, never lost.
    PaidUnapplied,
    Cancelled,
    Failed,
}

#[derive(Debug, Clone, Serialize)]
pub struct CallbackResult {
    pub outcome: Outcome,
    /// True when this result had already been applied (nothing changed this time).
    pub replayed: bool,
    pub reference: String,
    pub dossier_code: String,
    pub amount: i64,
}

fn not_awaiting() -> Error {
    DomainError::new(ErrorCode::Conflict, "the dossier is not awaiting a payment")
        .with_rule("payment.not_awaiting")
        .into()
}

/// The applicant, or a counter officer of the receiving agency, may start a payment. Anyone
/// else who may see the dossier is refused; anyone who may not is told it does not exist.
async fn authorize_start(
    p: &Platform,
    ctx: &Ctx,
    code: &str,
    applicant: Option<i64>,
    receiving: &tinhso_platform::org::Agency,
) -> Result<()> {
    if matches!(ctx.caller, Caller::Local) {
        return Ok(());
    }
    let own = applicant.is_some_and(|owner| {
        ctx.principal().is_some_and(|pr| pr.user_id == owner)
            && ctx
                .authorize(AccessAction::SubmitDossier, &Target::OwnedBy(owner))
                .is_ok()
    });
    let counter = ctx
        .authorize(
            AccessAction::ReceiveDossier,
            &Target::Agency(&receiving.agency_path()),
        )
        .is_ok();
    if own || counter {
        return Ok(());
    }
    // Not found for those who may not see it, forbidden for those who may.
    dossiers::view(p, ctx, code).await?;
    Err(DomainError::forbidden().into())
}

fn view_of(row: &sqlx::any::AnyRow) -> Result<PaymentView> {
    Ok(PaymentView {
        reference: row.try_get("reference")?,
        dossier_code: row.try_get("code")?,
        amount: row.try_get("amount")?,
        status: row.try_get("status")?,
        gateway_transaction: row.try_get("gateway_transaction")?,
        created_at: tinhso_core::calendar::vietnam_instant(row.try_get("created_ms")?).to_rfc3339(),
        paid_at: row
            .try_get::<Option<i64>, _>("paid_ms")?
            .map(|ms| tinhso_core::calendar::vietnam_instant(ms).to_rfc3339()),
    })
}

const SELECT_PAYMENT: &str = "SELECT p.id, p.reference, d.code, p.amount, p.status, p.gateway_transaction, p.created_ms, p.paid_ms FROM payments p JOIN dossiers d ON d.id = p.dossier_id";

/// Where to send the payer for `payment` (the same reference and amount every time).
fn checkout_url(p: &Platform, ctx: &Ctx, payment: &PaymentView, created_ms: i64) -> Result<String> {
    p.payments.checkout_url(&PaymentRequest {
        reference: payment.reference.clone(),
        amount: payment.amount,
        order_info: format!("Nop phi, le phi ho so {}", payment.dossier_code),
        return_url: format!("{}/payment/return", p.config.public_base()),
        created_at: tinhso_core::calendar::vietnam_instant(created_ms)
            .format("%Y%m%d%H%M%S")
            .to_string(),
        client_addr: ctx.source_addr.clone(),
    })
}

/// Starts paying the fee a dossier awaits, or hands out the attempt already pending for it.
pub async fn start(p: &Platform, ctx: &Ctx, code: &str) -> Result<Started> {
    let (row, agency, _) = dossiers::dossier_with_agencies(p, code).await?;
    authorize_start(p, ctx, code, row.applicant_user_id, &agency).await?;
    if row.status != Status::AwaitingPayment {
        return Err(not_awaiting());
    }
    let mut tx = p.db.begin_write().await?;
    // Lock the dossier so two racing starts on PostgreSQL see each other's attempt (SQLite's
    // write transactions are serialised already).
    let lock = match tx.dialect {
        Dialect::Postgres => "SELECT status, fee_amount FROM dossiers WHERE id = $1 FOR UPDATE",
        Dialect::Sqlite => "SELECT status, fee_amount FROM dossiers WHERE id = $1",
    };
    let current = sqlx::query(lock)
        .bind(row.id)
        .fetch_one(&mut *tx.tx)
        .await?;
    let fee: Option<i64> = current.try_get(1)?;
    let fee = match fee {
        Some(fee) if current.try_get::<String, _>(0)? == Status::AwaitingPayment.as_str() => fee,
        _ => return Err(not_awaiting()),
    };
    let pending = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT_PAYMENT} WHERE p.dossier_id = $1 AND p.status = 'pending'"
    )))
    .bind(row.id)
    .fetch_optional(&mut *tx.tx)
    .await?;
    if let Some(pending) = pending {
        let payment = view_of(&pending)?;
        if payment.amount == fee {
            drop(tx);
            let created_ms: i64 = pending.try_get("created_ms")?;
            return Ok(Started {
                checkout_url: checkout_url(p, ctx, &payment, created_ms)?,
                payment,
                reused: true,
            });
        }
        // The fee asked for changed: the old attempt can no longer settle it (a payment that
        // still arrives for it is kept as `paid_unapplied`).
        sqlx::query("UPDATE payments SET status = 'void', updated_ms = $1 WHERE id = $2")
            .bind(ctx.now_ms)
            .bind(pending.try_get::<i64, _>("id")?)
            .execute(&mut *tx.tx)
            .await?;
        p.audit(
            &mut tx,
            ctx,
            Change {
                action: "payment.supersede",
                object_type: "payment",
                object_id: &payment.reference,
                before: Some(&"pending"),
                after: Some(&"void"),
            },
        )
        .await?;
    }
    let attempts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE dossier_id = $1")
        .bind(row.id)
        .fetch_one(&mut *tx.tx)
        .await?;
    // `{dossier code}-{yyyyMMddHHmmss}` as the national payment platform names requests; a
    // later attempt in the same second stays unique by its number.
    let stamp = tinhso_core::calendar::vietnam_instant(ctx.now_ms).format("%Y%m%d%H%M%S");
    let reference = if attempts == 0 {
        format!("{code}-{stamp}")
    } else {
        format!("{code}-{stamp}-{}", attempts + 1)
    };
    sqlx::query("INSERT INTO payments (dossier_id, reference, amount, status, started_by, created_ms, updated_ms) VALUES ($1, $2, $3, 'pending', $4, $5, $5)")
        .bind(row.id)
        .bind(&reference)
        .bind(fee)
        .bind(&ctx.actor)
        .bind(ctx.now_ms)
        .execute(&mut *tx.tx)
        .await?;
    p.audit(
        &mut tx,
        ctx,
        Change::after(
            "payment.start",
            "payment",
            &reference,
            &serde_json::json!({ "dossier": code, "amount": fee }),
        ),
    )
    .await?;
    let payment = PaymentView {
        reference,
        dossier_code: code.to_owned(),
        amount: fee,
        status: "pending".into(),
        gateway_transaction: None,
        created_at: tinhso_core::calendar::vietnam_instant(ctx.now_ms).to_rfc3339(),
        paid_at: None,
    };
    let url = checkout_url(p, ctx, &payment, ctx.now_ms)?;
    tx.commit().await?;
    Ok(Started {
        payment,
        checkout_url: url,
        reused: false,
    })
}

/// The payment attempts of a dossier, for whoever may see the dossier.
pub async fn list(p: &Platform, ctx: &Ctx, code: &str) -> Result<Vec<PaymentView>> {
    dossiers::view(p, ctx, code).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT_PAYMENT} WHERE d.code = $1 ORDER BY p.id LIMIT {LIST_LIMIT}"
    )))
    .bind(code)
    .fetch_all(p.db.pool())
    .await?
    .iter()
    .map(view_of)
    .collect()
}

/// The stored attempt a callback names.
struct Attempt {
    id: i64,
    amount: i64,
    status: String,
    gateway_transaction: Option<String>,
    dossier_code: String,
    dossier_status: String,
    fee: Option<i64>,
}

async fn attempt(p: &Platform, reference: &str) -> Result<Attempt> {
    let row = sqlx::query("SELECT p.id, p.amount, p.status, p.gateway_transaction, d.code, d.status, d.fee_amount FROM payments p JOIN dossiers d ON d.id = p.dossier_id WHERE p.reference = $1")
        .bind(reference)
        .fetch_optional(p.db.pool())
        .await?
        .ok_or_else(|| {
            DomainError::not_found("no payment has this reference")
                .with_rule("payment.unknown_reference")
        })?;
    Ok(Attempt {
        id: row.try_get(0)?,
        amount: row.try_get(1)?,
        status: row.try_get(2)?,
        gateway_transaction: row.try_get(3)?,
        dossier_code: row.try_get(4)?,
        dossier_status: row.try_get(5)?,
        fee: row.try_get(6)?,
    })
}

fn amount_mismatch() -> Error {
    DomainError::invalid("the amount paid is not the amount asked for")
        .with_rule("payment.amount_mismatch")
        .into()
}

fn outcome_of(v: &VerifiedPayment) -> Outcome {
    if v.success {
        Outcome::Paid
    } else if v.response_code == tinhso_platform::payment::CODE_CANCELLED {
        Outcome::Cancelled
    } else {
        Outcome::Failed
    }
}

fn status_of(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Paid => "paid",
        Outcome::PaidUnapplied => "paid_unapplied",
        Outcome::Cancelled => "cancelled",
        Outcome::Failed => "failed",
    }
}

/// Handles a gateway callback (the server-to-server IPN or the browser's return, which carry
/// the same signed result). `ctx` is the gateway's: the signature is its authority.
pub async fn callback(
    p: &Platform,
    ctx: &Ctx,
    params: &[(String, String)],
) -> Result<CallbackResult> {
    let verified = p.payments.verify_callback(params)?;
    // A second pass only after a racing delivery of the same result won the update.
    for _ in 0..2 {
        let a = attempt(p, &verified.reference).await?;
        let mut outcome = outcome_of(&verified);
        // Money taken for an attempt the platform voided, or for a dossier that left
        // `awaiting_payment` meanwhile, is recorded (and acknowledged) for a refund.
        if outcome == Outcome::Paid
            && (a.status == "void"
                || a.status == "paid_unapplied"
                || (a.status == "pending" && a.dossier_status != Status::AwaitingPayment.as_str()))
        {
            outcome = Outcome::PaidUnapplied;
        }
        let result = |replayed| CallbackResult {
            outcome,
            replayed,
            reference: verified.reference.clone(),
            dossier_code: a.dossier_code.clone(),
            amount: a.amount,
        };
        if verified.amount != a.amount {
            return Err(amount_mismatch());
        }
        if a.status != "pending" && !(a.status == "void" && outcome == Outcome::PaidUnapplied) {
            if a.status == status_of(outcome)
                && a.gateway_transaction.as_deref() == Some(&verified.gateway_transaction)
            {
                return Ok(result(true));
            }
            let rule = if a.status == "paid" {
                "payment.already_paid"
            } else {
                "payment.not_pending"
            };
            return Err(DomainError::new(
                ErrorCode::Conflict,
                format!("the payment is {} already", a.status),
            )
            .with_rule(rule)
            .into());
        }
        // Gateways number cancelled and failed results 0; only money taken is unique.
        let reused: Option<i64> = match outcome {
            Outcome::Paid | Outcome::PaidUnapplied => sqlx::query_scalar(
                "SELECT id FROM payments WHERE gateway_transaction = $1 AND status IN ('paid', 'paid_unapplied')",
            )
            .bind(&verified.gateway_transaction)
            .fetch_optional(p.db.pool())
            .await?,
            Outcome::Cancelled | Outcome::Failed => None,
        };
        if reused.is_some() {
            return Err(DomainError::new(
                ErrorCode::Conflict,
                "this gateway transaction settled another payment",
            )
            .with_rule("payment.duplicate_transaction")
            .into());
        }
        // A successful payment must settle exactly the fee the dossier is waiting for.
        let transition = if outcome == Outcome::Paid {
            if a.dossier_status != Status::AwaitingPayment.as_str() {
                return Err(DomainError::new(
                    ErrorCode::Conflict,
                    "the dossier is not awaiting a payment",
                )
                .with_rule("payment.not_awaiting")
                .into());
            }
            if a.fee != Some(a.amount) {
                return Err(amount_mismatch());
            }
            let (row, agency, handling) =
                dossiers::dossier_with_agencies(p, &a.dossier_code).await?;
            let command = Command::ConfirmPayment {
                reference: verified.reference.clone(),
            };
            Some(dossiers::prepare(p, ctx, row, &agency, &handling, &command).await?)
        } else {
            None
        };
        let mut tx = p.db.begin_write().await?;
        let changed = sqlx::query("UPDATE payments SET status = $1, gateway_transaction = $2, response_code = $3, paid_ms = CASE WHEN $1 IN ('paid', 'paid_unapplied') THEN $4 ELSE NULL END, updated_ms = $4 WHERE id = $5 AND status = $6")
            .bind(status_of(outcome))
            .bind(&verified.gateway_transaction)
            .bind(&verified.response_code)
            .bind(ctx.now_ms)
            .bind(a.id)
            .bind(&a.status)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        if changed == 0 {
            continue;
        }
        p.audit(
            &mut tx,
            ctx,
            Change {
                action: &format!("payment.{}", status_of(outcome)),
                object_type: "payment",
                object_id: &verified.reference,
                before: Some(&a.status),
                after: Some(&serde_json::json!({
                    "status": status_of(outcome),
                    "amount": a.amount,
                    "gateway_transaction": verified.gateway_transaction,
                })),
            },
        )
        .await?;
        if let Some(transition) = &transition {
            dossiers::write_transition(p, &mut tx, ctx, &a.dossier_code, transition).await?;
        }
        tx.commit().await?;
        return Ok(result(false));
    }
    Err(Error::domain(
        ErrorCode::Conflict,
        "the payment changed meanwhile; deliver the callback again",
    ))
}
