//! The one-stop shop's figures, the KPIs provincial plans are measured by: dossiers received
//! by channel, resolved on time and late, in progress on time and overdue, the online share,
//! the average processing time in working days, and satisfaction shares — per agency subtree,
//! procedure and period. Aggregates only, no personal data: they are published.

use chrono::NaiveDate;
use futures_util::TryStreamExt;
use serde::Serialize;
use sqlx::Row;
use tinhso_core::DomainError;
use tinhso_platform::org::resolve_agency_code;
use tinhso_platform::{Platform, Result};

#[derive(Debug, Clone, Default, Serialize)]
pub struct Received {
    pub total: u64,
    pub online: u64,
    pub counter: u64,
    pub postal: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Split {
    pub on_time: u64,
    pub late: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Satisfaction {
    pub very_satisfied: u64,
    pub satisfied: u64,
    pub not_satisfied: u64,
    /// Shares of the three levels (0–1), when there are ratings.
    pub shares: Option<[f64; 3]>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Statistics {
    pub from: String,
    pub to: String,
    pub received: Received,
    /// Decided within the period.
    pub resolved: Split,
    /// Open at the end of the period (or now); `late` = past the appointment.
    pub in_progress: Split,
    /// Online filings / all filings received.
    pub online_share: Option<f64>,
    /// Working time from receipt to decision, including any time stopped for supplements.
    pub average_processing_working_days: Option<f64>,
    pub satisfaction: Satisfaction,
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub agency_code: Option<String>,
    pub procedure_code: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

fn day_start_ms(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .and_then(|t| {
            t.and_local_timezone(tinhso_core::calendar::vietnam_offset())
                .single()
        })
        .map(|t| t.timestamp_millis())
        .unwrap_or_default()
}

/// Computes the figures for `filter` as of `now_ms`.
pub async fn compute(p: &Platform, filter: &Filter, now_ms: i64) -> Result<Statistics> {
    let from = filter
        .from
        .unwrap_or(NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default());
    let to = filter
        .to
        .unwrap_or(NaiveDate::from_ymd_opt(2100, 1, 1).unwrap_or_default());
    if to < from {
        return Err(DomainError::invalid("the period must run forwards").into());
    }
    let (start, end) = (day_start_ms(from), day_start_ms(to) + 86_400_000);
    let scope = match &filter.agency_code {
        Some(code) => {
            let agency = resolve_agency_code(p, code)
                .await?
                .ok_or_else(|| DomainError::not_found(format!("agency {code}")))?;
            format!("{}%", agency.path)
        }
        None => "/%".into(),
    };
    let procedure = filter.procedure_code.clone().unwrap_or_default();
    let mut stats = Statistics {
        from: from.to_string(),
        to: to.to_string(),
        ..Statistics::default()
    };
    let as_of = now_ms.min(end);
    let calendar = tinhso_platform::calendar::working_calendar(p, None).await?;
    let mut spans = calendar.span_counter();
    let mut processing_minutes: i64 = 0;
    let mut decided: u64 = 0;
    // One pass over the scope's dossiers touched by the period, streamed.
    let mut rows = sqlx::query("SELECT d.channel, d.submitted_ms, d.received_ms, d.due_ms, d.resolved_ms, d.resolved_late, d.status FROM dossiers d JOIN agencies a ON a.id = d.agency_id WHERE a.path LIKE $1 AND ($2 = '' OR d.procedure_code = $2) AND d.submitted_ms < $4 AND (d.resolved_ms IS NULL OR d.resolved_ms >= $3 OR d.submitted_ms >= $3)")
        .bind(&scope)
        .bind(&procedure)
        .bind(start)
        .bind(end)
        .fetch(p.db.pool());
    while let Some(row) = rows.try_next().await? {
        let channel: String = row.try_get(0)?;
        let submitted: i64 = row.try_get(1)?;
        let received: Option<i64> = row.try_get(2)?;
        let due: Option<i64> = row.try_get(3)?;
        let resolved: Option<i64> = row.try_get(4)?;
        let late = row.try_get::<i64, _>(5)? != 0;
        let status: String = row.try_get(6)?;
        if (start..end).contains(&submitted) {
            stats.received.total += 1;
            match channel.as_str() {
                "online" => stats.received.online += 1,
                "postal" => stats.received.postal += 1,
                _ => stats.received.counter += 1,
            }
        }
        match resolved {
            Some(at) if (start..end).contains(&at) => {
                if late {
                    stats.resolved.late += 1
                } else {
                    stats.resolved.on_time += 1
                }
                if let Some(received) = received {
                    let minutes = spans
                        .working_minutes_between(
                            tinhso_core::calendar::vietnam_instant(received),
                            tinhso_core::calendar::vietnam_instant(at),
                        )
                        .unwrap_or_default();
                    processing_minutes += minutes;
                    decided += 1;
                }
            }
            None if is_open(&status) && submitted < as_of => {
                if due.is_some_and(|d| d < as_of) {
                    stats.in_progress.late += 1;
                } else {
                    stats.in_progress.on_time += 1;
                }
            }
            _ => {}
        }
    }
    if stats.received.total > 0 {
        stats.online_share = Some(stats.received.online as f64 / stats.received.total as f64);
    }
    if decided > 0 {
        let per_day = calendar.office_hours.working_day_minutes().max(1) as f64;
        stats.average_processing_working_days =
            Some(processing_minutes as f64 / decided as f64 / per_day);
    }
    stats.satisfaction = satisfaction(p, &scope, &procedure, start, end).await?;
    Ok(stats)
}

fn is_open(status: &str) -> bool {
    matches!(
        status,
        "submitted" | "received" | "processing" | "supplement_requested" | "awaiting_payment"
    )
}

async fn satisfaction(
    p: &Platform,
    scope: &str,
    procedure: &str,
    start: i64,
    end: i64,
) -> Result<Satisfaction> {
    let rows = sqlx::query("SELECT r.level, COUNT(*) FROM dossier_ratings r JOIN dossiers d ON d.id = r.dossier_id JOIN agencies a ON a.id = d.agency_id WHERE a.path LIKE $1 AND ($2 = '' OR d.procedure_code = $2) AND r.rated_ms >= $3 AND r.rated_ms < $4 GROUP BY r.level")
        .bind(scope)
        .bind(procedure)
        .bind(start)
        .bind(end)
        .fetch_all(p.db.pool())
        .await?;
    let mut s = Satisfaction::default();
    for row in rows {
        let count = u64::try_from(row.try_get::<i64, _>(1)?).unwrap_or_default();
        match row.try_get::<i64, _>(0)? {
            1 => s.very_satisfied += count,
            2 => s.satisfied += count,
            _ => s.not_satisfied += count,
        }
    }
    let total = s.very_satisfied + s.satisfied + s.not_satisfied;
    if total > 0 {
        let share = |n: u64| n as f64 / total as f64;
        s.shares = Some([
            share(s.very_satisfied),
            share(s.satisfied),
            share(s.not_satisfied),
        ]);
    }
    Ok(s)
}

/// An agency the public figures can be asked for.
#[derive(Debug, Clone, Serialize)]
pub struct Scope {
    pub code: String,
    pub name: String,
    /// 0 for the province, 1 for its departments and communes, …
    pub depth: usize,
}

/// The active agencies in tree order, for the public statistics page's choice of scope
/// (agency names and codes are public).
pub async fn scopes(p: &Platform) -> Result<Vec<Scope>> {
    let rows = sqlx::query("SELECT code, name, path FROM agencies WHERE active = 1 ORDER BY path")
        .fetch_all(p.db.pool())
        .await?;
    rows.iter()
        .map(|row| {
            let path: String = row.try_get(2)?;
            Ok(Scope {
                code: row.try_get(0)?,
                name: row.try_get(1)?,
                depth: path.matches('/').count().saturating_sub(2),
            })
        })
        .collect()
}
