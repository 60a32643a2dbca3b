//! The plans' indicators for one agency and period: documents in and out, the share
//! exchanged electronically, the share digitally signed, the share handled on time.
//!
//! Definitions: incoming "electronic" = arrived as an electronic file, by internal dispatch or
//! from the exchange (not a paper scan); outgoing "electronic" = released and sent to at least
//! one recipient through the system; "signed" = released with a signed PDF attached at the
//! signing step; "on time" = incoming with a deadline, done on or before it (Vietnam date).
//! Shares are 0 when nothing was counted. With `subtree`, everything is counted over the
//! agency and all its descendants (by materialised path).

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::Row;
use tinhso_core::DomainError;
use tinhso_platform::{Ctx, Platform, Result};

use crate::common::{active_agency, check_view, parse_date, today};
use crate::domain::types::Confidentiality;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Statistics {
    pub agency_code: String,
    /// Counted over the agency and all its descendants (the organisation tree's subtree).
    pub subtree: bool,
    /// The agencies counted.
    pub agencies: i64,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub incoming: i64,
    pub incoming_electronic: i64,
    pub outgoing: i64,
    pub outgoing_electronic: i64,
    pub outgoing_signed: i64,
    pub with_deadline: i64,
    pub done_on_time: i64,
    pub overdue: i64,
    pub share_incoming_electronic: f64,
    pub share_outgoing_electronic: f64,
    pub share_signed: f64,
    pub share_on_time: f64,
}

fn share(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn start_ms(d: NaiveDate) -> i64 {
    let offset = tinhso_core::calendar::vietnam_offset();
    d.and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(offset).single())
        .map(|t| t.timestamp_millis())
        .unwrap_or_default()
}

/// The indicators of one agency.
pub async fn compute(
    p: &Platform,
    ctx: &Ctx,
    agency_code: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Statistics> {
    compute_scope(p, ctx, agency_code, from, to, false).await
}

/// The indicators of an agency, or with `subtree` of the agency and all its descendants
/// (selected by the materialised path, one query per indicator whatever the tree's size).
/// Seeing the agency's documents is enough: a grant over an agency covers its subtree.
pub async fn compute_scope(
    p: &Platform,
    ctx: &Ctx,
    agency_code: &str,
    from: NaiveDate,
    to: NaiveDate,
    subtree: bool,
) -> Result<Statistics> {
    let agency = active_agency(p, agency_code).await?;
    check_view(
        ctx,
        &agency.agency_path(),
        Confidentiality::Normal,
        &[],
        "agency",
    )?;
    if to < from {
        return Err(DomainError::invalid("the period ends before it starts")
            .with_rule("document.statistics.period")
            .into());
    }
    let (lo, hi) = (start_ms(from), start_ms(to + chrono::Days::new(1)));
    // The scope: `$1` the agency's id, `$4` its path, `$5` 1 for its whole subtree.
    let agencies: i64 = if subtree {
        sqlx::query_scalar("SELECT COUNT(*) FROM agencies WHERE path LIKE $1 || '%'")
            .bind(&agency.path)
            .bind(i64::from(subtree))
            .fetch_one(p.db.pool())
            .await?
    } else {
        1
    };
    let counts = sqlx::query("SELECT COUNT(*), COALESCE(SUM(CASE WHEN source <> 'paper' THEN 1 ELSE 0 END), 0) FROM doc_incoming WHERE agency_id IN (SELECT id FROM agencies WHERE path LIKE $4 || '%' AND ($5 = 1 OR id = $1)) AND arrival_ms >= $2 AND arrival_ms < $3")
        .bind(agency.id)
        .bind(lo)
        .bind(hi)
        .bind(&agency.path)
        .bind(i64::from(subtree))
        .fetch_one(p.db.pool())
        .await?;
    let (incoming, incoming_electronic): (i64, i64) = (counts.try_get(0)?, counts.try_get(1)?);
    let out = sqlx::query("SELECT COUNT(*), COALESCE(SUM(CASE WHEN signed_file_id IS NOT NULL THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM doc_recipients r WHERE r.outgoing_id = doc_outgoing.id) THEN 1 ELSE 0 END), 0) FROM doc_outgoing WHERE agency_id IN (SELECT id FROM agencies WHERE path LIKE $4 || '%' AND ($5 = 1 OR id = $1)) AND released_ms >= $2 AND released_ms < $3")
        .bind(agency.id)
        .bind(lo)
        .bind(hi)
        .bind(&agency.path)
        .bind(i64::from(subtree))
        .fetch_one(p.db.pool())
        .await?;
    let (outgoing, outgoing_signed, outgoing_electronic): (i64, i64, i64) =
        (out.try_get(0)?, out.try_get(1)?, out.try_get(2)?);
    let mut with_deadline = 0;
    let mut done_on_time = 0;
    let mut overdue = 0;
    let now_day = today(ctx.now_ms);
    for r in sqlx::query("SELECT deadline, done_ms FROM doc_incoming WHERE agency_id IN (SELECT id FROM agencies WHERE path LIKE $4 || '%' AND ($5 = 1 OR id = $1)) AND arrival_ms >= $2 AND arrival_ms < $3 AND deadline IS NOT NULL")
        .bind(agency.id)
        .bind(lo)
        .bind(hi)
        .bind(&agency.path)
        .bind(i64::from(subtree))
        .fetch_all(p.db.pool())
        .await?
    {
        let Some(deadline) = parse_date(r.try_get(0)?) else { continue };
        with_deadline += 1;
        match r.try_get::<Option<i64>, _>(1)? {
            Some(done) if today(done) <= deadline => done_on_time += 1,
            Some(_) => overdue += 1,
            None if now_day > deadline => overdue += 1,
            None => {}
        }
    }
    Ok(Statistics {
        agency_code: agency.code,
        subtree,
        agencies,
        from,
        to,
        incoming,
        incoming_electronic,
        outgoing,
        outgoing_electronic,
        outgoing_signed,
        with_deadline,
        done_on_time,
        overdue,
        share_incoming_electronic: share(incoming_electronic, incoming),
        share_outgoing_electronic: share(outgoing_electronic, outgoing),
        share_signed: share(outgoing_signed, outgoing),
        share_on_time: share(done_on_time, with_deadline),
    })
}
