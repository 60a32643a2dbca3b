//! Queue tickets of the one-stop counter: anyone takes a number at the agency's ticket page,
//! counter officers call the next number to their desk, and the waiting room's display shows
//! the numbers called.
//!
//! A ticket's number comes from the per-agency, per-day counter row upserted in the ticket's
//! own transaction (like dossier codes): consecutive and never duplicated under concurrency.
//! Calling the next number first bumps the same row, so two desks calling at once are
//! ordered by its lock and never get the same ticket.

use serde::Serialize;
use sqlx::Row;
use tinhso_core::DomainError;
use tinhso_core::access::{Action as AccessAction, Target};
use tinhso_platform::audit::Change;
use tinhso_platform::org::{Agency, resolve_agency_code};
use tinhso_platform::{Ctx, Platform, Result};

use crate::domain::queue::{check_desk, queue_day, ticket_label};

/// A ticket as printed.
#[derive(Debug, Clone, Serialize)]
pub struct Ticket {
    pub id: i64,
    pub agency_code: String,
    pub agency_name: String,
    /// `YYYY-MM-DD`, Vietnam time.
    pub day: String,
    pub number: i64,
    pub label: String,
    pub taken_ms: i64,
    /// `waiting` or `called`.
    pub status: String,
    pub desk: Option<String>,
    /// Tickets of the day still waiting before this one.
    pub waiting_before: i64,
}

/// One number called to a desk.
#[derive(Debug, Clone, Serialize)]
pub struct Call {
    pub number: i64,
    pub label: String,
    pub desk: String,
    pub called_ms: i64,
}

/// What the waiting-room display shows.
#[derive(Debug, Clone, Serialize)]
pub struct Display {
    pub agency_code: String,
    pub agency_name: String,
    pub day: String,
    /// The latest calls, newest first (at most 8).
    pub calls: Vec<Call>,
    pub waiting: i64,
    /// The last number handed out today (0 when none).
    pub last_number: i64,
}

async fn agency(p: &Platform, code: &str) -> Result<Agency> {
    resolve_agency_code(p, code.trim())
        .await?
        .filter(|a| a.active)
        .ok_or_else(|| DomainError::not_found(format!("agency {code}")).into())
}

/// Takes the next number of today at `agency_code`. Open to everyone (the ticket machine).
pub async fn take(p: &Platform, ctx: &Ctx, agency_code: &str) -> Result<Ticket> {
    let agency = agency(p, agency_code).await?;
    let day = queue_day(ctx.now_ms).to_string();
    let mut tx = p.db.begin_write().await?;
    let number: i64 = sqlx::query_scalar("INSERT INTO queue_counters (agency_code, day, last_number, calls) VALUES ($1, $2, 1, 0) ON CONFLICT (agency_code, day) DO UPDATE SET last_number = queue_counters.last_number + 1 RETURNING last_number")
        .bind(&agency.code)
        .bind(&day)
        .fetch_one(&mut *tx.tx)
        .await?;
    let id: i64 = sqlx::query_scalar("INSERT INTO queue_tickets (agency_id, day, number, taken_ms, status) VALUES ($1, $2, $3, $4, 'waiting') RETURNING id")
        .bind(agency.id)
        .bind(&day)
        .bind(number)
        .bind(ctx.now_ms)
        .fetch_one(&mut *tx.tx)
        .await?;
    let object_id = format!("{}/{day}/{number}", agency.code);
    p.audit(
        &mut tx,
        ctx,
        Change::after(
            "queue.take",
            "queue_ticket",
            &object_id,
            &serde_json::json!({ "number": number }),
        ),
    )
    .await?;
    tx.commit().await?;
    ticket(p, &agency, id).await
}

/// A ticket of `agency_code` by id (what the printed ticket page shows).
pub async fn get(p: &Platform, agency_code: &str, id: i64) -> Result<Ticket> {
    let agency = agency(p, agency_code).await?;
    ticket(p, &agency, id).await
}

async fn ticket(p: &Platform, agency: &Agency, id: i64) -> Result<Ticket> {
    let row = sqlx::query("SELECT day, number, taken_ms, status, desk FROM queue_tickets WHERE id = $1 AND agency_id = $2")
        .bind(id)
        .bind(agency.id)
        .fetch_optional(p.db.pool())
        .await?
        .ok_or_else(|| DomainError::not_found("ticket"))?;
    let day: String = row.try_get(0)?;
    let number: i64 = row.try_get(1)?;
    let waiting_before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM queue_tickets WHERE agency_id = $1 AND day = $2 AND status = 'waiting' AND number < $3")
        .bind(agency.id)
        .bind(&day)
        .bind(number)
        .fetch_one(p.db.pool())
        .await?;
    Ok(Ticket {
        id,
        agency_code: agency.code.clone(),
        agency_name: agency.name.clone(),
        day,
        number,
        label: ticket_label(number),
        taken_ms: row.try_get(2)?,
        status: row.try_get(3)?,
        desk: row.try_get(4)?,
        waiting_before,
    })
}

/// A counter officer of the agency calls today's lowest waiting number to `desk`. `None`
/// when nobody is waiting.
pub async fn call_next(
    p: &Platform,
    ctx: &Ctx,
    agency_code: &str,
    desk: &str,
) -> Result<Option<Call>> {
    let agency = agency(p, agency_code).await?;
    ctx.authorize(
        AccessAction::ReceiveDossier,
        &Target::Agency(&agency.agency_path()),
    )?;
    let desk = check_desk(desk)?;
    let day = queue_day(ctx.now_ms).to_string();
    let mut tx = p.db.begin_write().await?;
    // The counter row's lock orders concurrent calls of the same agency and day.
    let bumped = sqlx::query(
        "UPDATE queue_counters SET calls = calls + 1 WHERE agency_code = $1 AND day = $2",
    )
    .bind(&agency.code)
    .bind(&day)
    .execute(&mut *tx.tx)
    .await?
    .rows_affected();
    if bumped == 0 {
        return Ok(None);
    }
    let next = sqlx::query("SELECT id, number FROM queue_tickets WHERE agency_id = $1 AND day = $2 AND status = 'waiting' ORDER BY number LIMIT 1")
        .bind(agency.id)
        .bind(&day)
        .fetch_optional(&mut *tx.tx)
        .await?;
    let Some(next) = next else {
        return Ok(None);
    };
    let (id, number): (i64, i64) = (next.try_get(0)?, next.try_get(1)?);
    sqlx::query("UPDATE queue_tickets SET status = 'called', called_ms = $1, desk = $2, called_by = $3 WHERE id = $4 AND status = 'waiting'")
        .bind(ctx.now_ms)
        .bind(&desk)
        .bind(&ctx.actor)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
    let object_id = format!("{}/{day}/{number}", agency.code);
    p.audit(
        &mut tx,
        ctx,
        Change {
            action: "queue.call",
            object_type: "queue_ticket",
            object_id: &object_id,
            before: Some(&"waiting"),
            after: Some(&serde_json::json!({ "status": "called", "desk": desk })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Some(Call {
        number,
        label: ticket_label(number),
        desk,
        called_ms: ctx.now_ms,
    }))
}

/// Today's state of the agency's queue, for the waiting-room display (public: numbers and
/// desks only).
pub async fn display(p: &Platform, agency_code: &str, now_ms: i64) -> Result<Display> {
    let agency = agency(p, agency_code).await?;
    let day = queue_day(now_ms).to_string();
    let calls = sqlx::query("SELECT number, desk, called_ms FROM queue_tickets WHERE agency_id = $1 AND day = $2 AND status = 'called' ORDER BY called_ms DESC, number DESC LIMIT 8")
        .bind(agency.id)
        .bind(&day)
        .fetch_all(p.db.pool())
        .await?
        .iter()
        .map(|r| {
            let number: i64 = r.try_get(0)?;
            Ok(Call {
                number,
                label: ticket_label(number),
                desk: r.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
                called_ms: r.try_get::<Option<i64>, _>(2)?.unwrap_or_default(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let waiting: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM queue_tickets WHERE agency_id = $1 AND day = $2 AND status = 'waiting'",
    )
    .bind(agency.id)
    .bind(&day)
    .fetch_one(p.db.pool())
    .await?;
    let last_number: Option<i64> = sqlx::query_scalar(
        "SELECT last_number FROM queue_counters WHERE agency_code = $1 AND day = $2",
    )
    .bind(&agency.code)
    .bind(&day)
    .fetch_optional(p.db.pool())
    .await?;
    Ok(Display {
        agency_code: agency.code,
        agency_name: agency.name,
        day,
        calls,
        waiting,
        last_number: last_number.unwrap_or(0),
    })
}
