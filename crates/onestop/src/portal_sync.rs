//! Synchronisation of dossiers with the national public-service portal (Cổng DVCQG) through
//! the outbox.
//!
//! Every dossier event enqueues, in its own transaction, one message on [`TOPIC`] naming the
//! dossier and the event (idempotency key `dossier-event-{id}-national_portal`). The
//! [`PortalSync`] handler turns it into two calls: `DongBoHoSoMC` with the dossier's state
//! **read at send time**, then `CapNhatTienDoHoSoMC` with the event's step (immutable).
//!
//! Why the last state wins: `DongBoHoSoMC` is an upsert of the full record, so what matters
//! is that the last upsert to reach the portal carries the newest state. Building it at send
//! time gives that for a single worker (a later send reads a state at least as new); across
//! nodes, two sends can overlap, so after each send the handler re-reads the dossier's
//! version (its last event id) and, if it moved while the call was in flight, sends again
//! with the newer state. A send that carried a stale state is therefore always followed by
//! one that carries a newer state, and the last one to arrive is current. (This assumes the
//! portal applies a call before answering it, as a synchronous upsert does.) Retries and
//! crashes can repeat a call; both services are safe to repeat — the upsert trivially, the
//! progress record because it carries the same `MaHoSo` and `ThoiDiemXuLy`.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use std::sync::Arc;
use tinhso_platform::national_portal::NationalPortal;
use tinhso_platform::org::agency_by_id;
use tinhso_platform::outbox::{Delivery, DeliveryError, Handler};
use tinhso_platform::{Ctx, Error, Platform, Result, WriteTx};

use crate::catalog;
use crate::domain::catalog::Channel;
use crate::domain::dossier::Status;
use crate::domain::national::{
    DossierFacts, StepFacts, cap_nhat_request, cap_nhat_tien_do, dong_bo_ho_so, dong_bo_request,
    step_content,
};
use crate::dossiers::Event;
use tinhso_core::calendar::vietnam_instant;

/// The outbox topic of national portal sync.
pub const TOPIC: &str = "national_portal";

/// How often one delivery re-sends when the dossier keeps changing under it.
const MAX_ROUNDS: usize = 3;

/// What a queued message says: which dossier and which event; everything else is read when
/// it is sent.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncRef {
    dossier_id: i64,
    event_id: i64,
    /// The account that acted (`NguoiXuLy`), if any.
    officer_user_id: Option<i64>,
}

/// Queues the portal sync of one event in the caller's transaction.
pub(crate) async fn enqueue_for_event(
    tx: &mut WriteTx,
    ctx: &Ctx,
    event_id: i64,
    e: &Event<'_>,
) -> Result<()> {
    let payload = json!(SyncRef {
        dossier_id: e.dossier_id,
        event_id,
        officer_user_id: ctx.principal().map(|pr| pr.user_id),
    });
    let key = format!("dossier-event-{event_id}-{TOPIC}");
    tinhso_platform::outbox::enqueue(tx, TOPIC, &key, &payload, ctx.now_ms).await
}

/// The outbox handler of [`TOPIC`].
#[derive(Debug, Clone)]
pub struct PortalSync {
    portal: Arc<dyn NationalPortal>,
}

impl PortalSync {
    pub fn new(portal: Arc<dyn NationalPortal>) -> Self {
        Self { portal }
    }
}

fn retry(e: Error) -> DeliveryError {
    DeliveryError::Retry(e.to_string())
}

#[async_trait]
impl Handler for PortalSync {
    async fn deliver(
        &self,
        platform: &Platform,
        delivery: &Delivery<'_>,
    ) -> std::result::Result<(), DeliveryError> {
        let sync: SyncRef = serde_json::from_str(delivery.payload)
            .map_err(|e| DeliveryError::Permanent(format!("malformed payload: {e}")))?;
        // The dossier's first event creates it at the portal; every later one updates it.
        let first_event: Option<i64> =
            sqlx::query_scalar("SELECT MIN(id) FROM dossier_events WHERE dossier_id = $1")
                .bind(sync.dossier_id)
                .fetch_one(platform.db.pool())
                .await
                .map_err(|e| retry(e.into()))?;
        let Some(first_event) = first_event else {
            return Err(DeliveryError::Permanent(format!(
                "dossier {} has no history",
                sync.dossier_id
            )));
        };
        let is_updating = first_event != sync.event_id;
        let mut settled = false;
        for _ in 0..MAX_ROUNDS {
            let before = version(platform, sync.dossier_id).await.map_err(retry)?;
            let record = dong_bo_ho_so(&facts(platform, sync.dossier_id).await.map_err(retry)?);
            self.portal
                .call(&dong_bo_request(&[record], is_updating))
                .await?;
            if version(platform, sync.dossier_id).await.map_err(retry)? == before {
                settled = true;
                break;
            }
        }
        if !settled {
            return Err(DeliveryError::Retry(
                "the dossier kept changing while it was sent; sending again later".into(),
            ));
        }
        let (code, step) = step(platform, &sync).await.map_err(retry)?;
        self.portal
            .call(&cap_nhat_request(&[cap_nhat_tien_do(&code, &step)]))
            .await?;
        Ok(())
    }
}

/// The dossier's version: its last history line (every change writes one).
async fn version(p: &Platform, dossier_id: i64) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT MAX(id) FROM dossier_events WHERE dossier_id = $1")
            .bind(dossier_id)
            .fetch_one(p.db.pool())
            .await?,
    )
}

fn parse_channel(s: &str) -> Channel {
    match s {
        "online" => Channel::Online,
        "postal" => Channel::Postal,
        _ => Channel::Counter,
    }
}

/// The dossier as the portal sees it, now.
async fn facts(p: &Platform, dossier_id: i64) -> Result<DossierFacts> {
    let row = sqlx::query("SELECT code, procedure_version_id, applicant_name, applicant_id_number, applicant_phone, applicant_email, channel, status, received_ms, due_ms, resolved_ms, closed_ms, result_method, agency_id, handling_agency_id FROM dossiers WHERE id = $1")
        .bind(dossier_id)
        .fetch_one(p.db.pool())
        .await?;
    let procedure = catalog::version(p, row.try_get(1)?).await?;
    let status = Status::parse(&row.try_get::<String, _>(7)?)?;
    let agency_id: i64 = row.try_get(13)?;
    let handling_id: Option<i64> = row.try_get(14)?;
    let handling = agency_by_id(p, handling_id.unwrap_or(agency_id))
        .await?
        .map(|a| a.name)
        .unwrap_or_default();
    let id_number: String = row.try_get(3)?;
    let instant =
        |i: usize| -> Result<_> { Ok(row.try_get::<Option<i64>, _>(i)?.map(vietnam_instant)) };
    let closed = instant(11)?;
    let result_method: Option<String> = row.try_get(12)?;
    Ok(DossierFacts {
        code: row.try_get(0)?,
        procedure_code: procedure.spec.code.clone(),
        procedure_name: procedure.spec.name.clone(),
        field_code: procedure.spec.field.code.clone(),
        field_name: procedure.spec.field.name.clone(),
        applicant_name: row.try_get(2)?,
        // A 12-digit personal ID is a citizen; anything else (a tax code) an organisation.
        applicant_kind: if id_number.len() == 12 && id_number.bytes().all(|b| b.is_ascii_digit()) {
            1
        } else {
            2
        },
        applicant_id_number: id_number,
        phone: row.try_get(4)?,
        email: row.try_get(5)?,
        summary: procedure.spec.name,
        channel: parse_channel(&row.try_get::<String, _>(6)?),
        status,
        received_at: instant(8)?,
        due_at: instant(9)?,
        returned_at: if status == Status::Returned {
            closed
        } else {
            None
        },
        resolved_at: instant(10)?.or(if status.is_final() { closed } else { None }),
        handling_agency: handling,
        result_by_post: result_method.as_deref() == Some("postal"),
    })
}

/// The event's processing step, with the dossier code.
async fn step(p: &Platform, sync: &SyncRef) -> Result<(String, StepFacts)> {
    let row = sqlx::query("SELECT e.at_ms, e.action, e.to_status, e.note, e.due_ms, d.code FROM dossier_events e JOIN dossiers d ON d.id = e.dossier_id WHERE e.id = $1 AND e.dossier_id = $2")
        .bind(sync.event_id)
        .bind(sync.dossier_id)
        .fetch_one(p.db.pool())
        .await?;
    let at_ms: i64 = row.try_get(0)?;
    // The step began when the previous one ended (or with this event, for the first).
    let started_ms: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(at_ms) FROM dossier_events WHERE dossier_id = $1 AND id < $2",
    )
    .bind(sync.dossier_id)
    .bind(sync.event_id)
    .fetch_one(p.db.pool())
    .await?;
    let (officer, department) = match sync.officer_user_id {
        Some(id) => match tinhso_platform::identity::user_by_id(p, id).await? {
            Some(user) => {
                let department = match user.agency_id {
                    Some(agency) => agency_by_id(p, agency)
                        .await?
                        .map(|a| a.name)
                        .unwrap_or_default(),
                    None => String::new(),
                };
                (user.display_name, department)
            }
            None => (String::new(), String::new()),
        },
        None => (String::new(), String::new()),
    };
    let action: String = row.try_get(1)?;
    let note: String = row.try_get(3)?;
    Ok((
        row.try_get(5)?,
        StepFacts {
            officer,
            title: String::new(),
            department,
            content: step_content(&action, &note),
            at: vietnam_instant(at_ms),
            started_at: vietnam_instant(started_ms.unwrap_or(at_ms)),
            due_at: row.try_get::<Option<i64>, _>(4)?.map(vietnam_instant),
            status: Status::parse(&row.try_get::<String, _>(2)?)?,
        },
    ))
}
