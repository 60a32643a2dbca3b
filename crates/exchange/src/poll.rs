//! Polling the national exchange: packages waiting for our agencies are listed (a bounded
//! batch), each fetched into a spool file and run through the one receive pipeline
//! (`receive`) with the national exchange as the caller (it authenticates the senders, so a
//! sender of any province is taken), then acknowledged: DONE when registered or recognised as
//! a repeat, FAIL with the pipeline's stable code when refused. A failure of ours (internal
//! error) or of the exchange (fetch to retry) leaves the package waiting for the next pass,
//! where the pipeline recognises it as a repeat if it was in fact stored.

use std::sync::Arc;
use std::time::Duration;

use tinhso_platform::Platform;

use crate::receive::{self, Inbound, file_stream, spool_dir};
use crate::transport::{Acknowledgement, InboundSource, WaitingPackage};

/// The caller's name on received rows and log rows (as `send::back_to` expects).
pub const NATIONAL: &str = "national";

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PollOutcome {
    /// Acknowledged DONE (registered or a repeat).
    pub done: usize,
    /// Acknowledged FAIL.
    pub failed: usize,
    /// Left waiting (fetch or our processing to retry, or the acknowledgement not taken).
    pub left: usize,
}

/// One pass over at most `exchange.batch` waiting packages.
pub async fn poll_once(
    p: &Platform,
    source: &dyn InboundSource,
) -> Result<PollOutcome, crate::transport::TransportError> {
    let limit = usize::try_from(p.config.exchange.batch).unwrap_or(1).max(1);
    let waiting = source.waiting(limit).await?;
    let mut outcome = PollOutcome::default();
    for package in waiting.iter().take(limit) {
        match take(p, source, package).await {
            Some(ack) => match source.acknowledge(&package.reference, &ack).await {
                Ok(()) if ack == Acknowledgement::Done => outcome.done += 1,
                Ok(()) => outcome.failed += 1,
                Err(e) => {
                    tracing::warn!(reference = %package.reference, error = %e, "national exchange: acknowledgement not taken");
                    outcome.left += 1;
                }
            },
            None => outcome.left += 1,
        }
    }
    Ok(outcome)
}

/// Fetches and receives one package: its acknowledgement, or `None` to leave it waiting.
async fn take(
    p: &Platform,
    source: &dyn InboundSource,
    package: &WaitingPackage,
) -> Option<Acknowledgement> {
    let dir = spool_dir(p);
    let fetched = tokio::fs::create_dir_all(&dir)
        .await
        .and_then(|()| {
            tempfile::Builder::new()
                .prefix("national-")
                .suffix(".edxml")
                .tempfile_in(&dir)
        })
        .map(tempfile::NamedTempFile::into_temp_path);
    let path = match fetched {
        Ok(path) => path,
        Err(e) => {
            tracing::warn!(error = %e, "national exchange: no spool file");
            return None;
        }
    };
    if let Err(e) = source.fetch(&package.reference, &path).await {
        // Retry or a refusal to hand it out: either way not the package's verdict.
        tracing::warn!(reference = %package.reference, error = %e, "national exchange: fetch failed");
        return None;
    }
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(e) => {
            tracing::warn!(error = %e, "national exchange: fetched file unreadable");
            return None;
        }
    };
    let inbound = Inbound {
        peer: NATIONAL.into(),
        serves: None,
        message_type: Some(package.message_type),
        from_header: (!package.from_organ_id.is_empty()).then(|| package.from_organ_id.clone()),
        package_key: package.reference.clone(),
    };
    match receive::receive(p, &inbound, file_stream(file)).await {
        Ok(_) => Some(Acknowledgement::Done),
        // Ours to fix (database, disk): the package is not at fault.
        Err(refusal) if refusal.status >= 500 => None,
        Err(refusal) => Some(Acknowledgement::Failed {
            code: refusal.code,
            detail: refusal.message,
        }),
    }
}

/// The poller: a pass every `exchange.poll_interval_ms` until `stop` turns true.
pub async fn run(
    p: Platform,
    source: Arc<dyn InboundSource>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let pause = Duration::from_millis(p.config.exchange.poll_interval_ms);
    loop {
        if *stop.borrow() {
            return;
        }
        if let Err(e) = poll_once(&p, source.as_ref()).await {
            tracing::warn!(error = %e, "national exchange poll failed");
        }
        tokio::select! {
            _ = stop.changed() => {}
            _ = tokio::time::sleep(pause) => {}
        }
    }
}
