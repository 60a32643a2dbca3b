//! Stored notification templates: what an administrator changed, read by the notifier in
//! the event's own transaction so the next message uses the new text.
//!
//! The templates are the province's, so reading and changing them needs the right to manage
//! agencies at installation level (a provincial administrator).

use serde::Serialize;
use sqlx::Row;
use tinhso_core::DomainError;
use tinhso_core::access::Action;
use tinhso_platform::audit::Change;
use tinhso_platform::identity::authorize_installation;
use tinhso_platform::{Ctx, Platform, Result, WriteTx};

use crate::domain::notification_templates::{
    DEFAULTS, EventTemplate, Template, TemplatePart, default_of, problems,
};

/// One event's template as an administrator sees it.
#[derive(Debug, Clone, Serialize)]
pub struct StoredTemplate {
    pub event: &'static str,
    pub placeholders: &'static [&'static str],
    #[serde(flatten)]
    pub template: Template,
    /// False while the shipped text is in use.
    pub customised: bool,
    pub updated_ms: Option<i64>,
}

fn known(event: &str) -> Result<&'static EventTemplate> {
    default_of(event)
        .ok_or_else(|| DomainError::not_found(format!("notification event {event}")).into())
}

async fn stored_row<'e, E>(exec: E, event: &str) -> Result<Option<(Template, i64)>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query(
        "SELECT subject, body, sms, updated_ms FROM notification_templates WHERE event = $1",
    )
    .bind(event)
    .fetch_optional(exec)
    .await?;
    row.map(|r| {
        Ok((
            Template {
                subject: r.try_get(0)?,
                body: r.try_get(1)?,
                sms: r.try_get(2)?,
            },
            r.try_get(3)?,
        ))
    })
    .transpose()
}

fn view(event: &'static EventTemplate, stored: Option<(Template, i64)>) -> StoredTemplate {
    let customised = stored.is_some();
    let (template, updated_ms) = match stored {
        Some((t, ms)) => (t, Some(ms)),
        None => (Template::default_for(event), None),
    };
    StoredTemplate {
        event: event.event,
        placeholders: event.placeholders,
        template,
        customised,
        updated_ms,
    }
}

/// Every event's template, in lifecycle order.
pub async fn list(p: &Platform, ctx: &Ctx) -> Result<Vec<StoredTemplate>> {
    authorize_installation(ctx, Action::ManageAgency)?;
    let mut out = Vec::with_capacity(DEFAULTS.len());
    for event in DEFAULTS {
        out.push(view(event, stored_row(p.db.pool(), event.event).await?));
    }
    Ok(out)
}

pub async fn get(p: &Platform, ctx: &Ctx, event: &str) -> Result<StoredTemplate> {
    authorize_installation(ctx, Action::ManageAgency)?;
    let event = known(event)?;
    Ok(view(event, stored_row(p.db.pool(), event.event).await?))
}

/// The first problem of `template` for `event`, for the API's error (the page shows all).
pub fn check(event: &str, template: &Template) -> Result<Vec<(TemplatePart, DomainError)>> {
    Ok(problems(known(event)?, template))
}

/// Stores an edited template (audited, before and after). An invalid one is refused with
/// the first problem and nothing is written; saving the shipped text again removes the
/// customisation.
pub async fn put(
    p: &Platform,
    ctx: &Ctx,
    event: &str,
    template: &Template,
) -> Result<StoredTemplate> {
    authorize_installation(ctx, Action::ManageAgency)?;
    let event = known(event)?;
    if let Some((_, e)) = problems(event, template).into_iter().next() {
        return Err(e.into());
    }
    let mut tx = p.db.begin_write().await?;
    let before = stored_row(&mut *tx.tx, event.event)
        .await?
        .map(|(t, _)| t)
        .unwrap_or_else(|| Template::default_for(event));
    let is_default = *template == Template::default_for(event);
    sqlx::query("DELETE FROM notification_templates WHERE event = $1")
        .bind(event.event)
        .execute(&mut *tx.tx)
        .await?;
    if !is_default {
        sqlx::query("INSERT INTO notification_templates (event, subject, body, sms, updated_ms, updated_by) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(event.event)
            .bind(&template.subject)
            .bind(&template.body)
            .bind(&template.sms)
            .bind(ctx.now_ms)
            .bind(&ctx.actor)
            .execute(&mut *tx.tx)
            .await?;
    }
    p.audit(
        &mut tx,
        ctx,
        Change {
            action: "notification_template.update",
            object_type: "notification_template",
            object_id: event.event,
            before: Some(&before),
            after: Some(template),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(view(
        event,
        (!is_default).then(|| (template.clone(), ctx.now_ms)),
    ))
}

/// The template in force for `event` inside a write transaction (the notifier's read).
pub(crate) async fn in_force(tx: &mut WriteTx, event: &str) -> Result<Option<Template>> {
    let Some(default) = default_of(event) else {
        return Ok(None);
    };
    Ok(Some(
        stored_row(&mut *tx.tx, event)
            .await?
            .map(|(t, _)| t)
            .unwrap_or_else(|| Template::default_for(default)),
    ))
}
