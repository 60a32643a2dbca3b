//! Sending, store-and-forward and at-least-once: the worker `serve` starts takes the
//! documents system's pending external recipients, claims each with a lease (several nodes
//! may run the worker: a claim is an upsert that only succeeds on a free or expired lease),
//! builds the package (`mapping`), signs it with `signing.pkcs12_path`, spools it to disk,
//! routes the recipient and delivers the file through the destination's
//! [`PackageTransport`], then records DONE, FAIL (the receiver's code on a refusal), or puts
//! the row back for a retry after a backoff. A row left PROCESSING by a node that died is
//! sent again once its lease expires: the receiver recognises the repeat.

use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tinhso_documents::domain::workflow::TransportStatus;
use tinhso_documents::exchange::{self as docs, PendingSend};
use tinhso_edxml::write::{AttachmentInput, write_document};
use tinhso_platform::{Ctx, Platform, Result};
use tinhso_signing::pki::Pkcs12Signer;

use crate::domain::Route;
use crate::mapping::{self, SenderInfo};
use crate::receive::{directory, spool_dir};
use crate::store::{self, LogEntry};
use crate::transport::{
    DeliveryReceipt, Destination, MessageType, OutgoingPackage, PackageTransport, TransportError,
};

/// How long a claim is reserved for the node that made it.
const LEASE_MS: i64 = 10 * 60 * 1000;
/// First retry delay; doubled per attempt, at most [`MAX_BACKOFF_MS`].
const BACKOFF_MS: i64 = 30 * 1000;
const MAX_BACKOFF_MS: i64 = 6 * 3600 * 1000;

/// Where a package goes, through which transport, and the peer's name for the log.
type Way = (Destination, Arc<dyn PackageTransport>, String);

/// A queued status row as selected: key, code, reporter, sender, document id, its code and
/// date, when it was queued, the exchange it came through.
type StatusRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
);

/// The transports by destination kind (the national one only when configured).
#[derive(Debug, Clone)]
pub struct Transports {
    pub peer: Arc<dyn PackageTransport>,
    pub national: Option<Arc<dyn PackageTransport>>,
}

/// Federated peers over HTTPS with our client certificate: the file is the streamed body.
#[derive(Debug, Clone)]
pub struct PeerTransport {
    pub client: reqwest::Client,
}

impl PeerTransport {
    /// The mutual-TLS client of `exchange.tls_cert`/`tls_key`, trusting `exchange.peer_ca`.
    pub fn from_config(p: &Platform) -> std::result::Result<Self, crate::tls::TlsError> {
        let c = &p.config.exchange;
        Ok(Self {
            client: crate::tls::client(
                &c.tls_cert,
                &c.tls_key,
                &c.peer_ca,
                Duration::from_secs(60),
            )?,
        })
    }
}

#[async_trait]
impl PackageTransport for PeerTransport {
    async fn deliver(
        &self,
        destination: &Destination,
        package: &OutgoingPackage<'_>,
    ) -> std::result::Result<DeliveryReceipt, TransportError> {
        let Destination::Peer { url, .. } = destination else {
            return Err(TransportError::Rejected {
                code: "exchange.destination.unsupported".into(),
                detail: "the peer transport only delivers to peers".into(),
            });
        };
        let file = tokio::fs::File::open(package.file)
            .await
            .map_err(|e| TransportError::Retry(e.to_string()))?;
        let body = reqwest::Body::wrap_stream(crate::receive::file_stream(file));
        let answer = self
            .client
            .post(format!(
                "{}/exchange/v1/packages",
                url.trim_end_matches('/')
            ))
            .header("content-type", "application/octet-stream")
            .header("content-length", package.size_bytes)
            .header("x-edxml-from", package.from_organ_id)
            .header("x-edxml-message-type", package.message_type.as_str())
            .header("x-edxml-document-id", package.document_id)
            .header("x-package-key", package.package_key)
            .body(body)
            .send()
            .await
            .map_err(|e| TransportError::Retry(e.to_string()))?;
        let status = answer.status().as_u16();
        // Answers are small JSON; bound what we read of a misbehaving peer.
        let text = answer
            .text()
            .await
            .map_err(|e| TransportError::Retry(e.to_string()))?;
        let json: serde_json::Value =
            serde_json::from_str(&text.chars().take(64 * 1024).collect::<String>())
                .unwrap_or_default();
        match status {
            200 => Ok(DeliveryReceipt {
                reference: json["reference"].as_str().unwrap_or("").to_owned(),
                repeat: json["repeat"].as_bool().unwrap_or(false),
                detail: "DONE".into(),
            }),
            429 | 500..=599 => Err(TransportError::Retry(format!("HTTP {status}"))),
            _ => Err(TransportError::Rejected {
                code: json["error"]["code"]
                    .as_str()
                    .unwrap_or("exchange.peer.refused")
                    .to_owned(),
                detail: json["error"]["message"]
                    .as_str()
                    .map_or_else(|| format!("HTTP {status}"), str::to_owned),
            }),
        }
    }
}

/// The installation's signing key (`signing.pkcs12_path`), if configured and readable.
fn signer(p: &Platform) -> std::result::Result<Pkcs12Signer, (String, String)> {
    let s = &p.config.signing;
    if s.pkcs12_path.as_os_str().is_empty() {
        return Err((
            "exchange.signing.no_key".into(),
            "no signing key is configured (signing.pkcs12_path)".into(),
        ));
    }
    let data = std::fs::read(&s.pkcs12_path)
        .map_err(|e| ("exchange.signing.no_key".to_owned(), e.to_string()))?;
    Pkcs12Signer::from_pkcs12(&data, &s.pkcs12_password)
        .map_err(|e| ("exchange.signing.no_key".to_owned(), e.to_string()))
}

/// Claims the send of `row` (`package_key`) for this node: true when the lease is ours.
async fn claim(p: &Platform, row: &PendingSend, key: &str, now: i64) -> Result<bool> {
    let mut tx = p.db.begin_write().await?;
    let done = sqlx::query("INSERT INTO exchange_outbound (kind, recipient_id, package, package_key, state, attempts, next_attempt_ms, lease_until_ms, created_ms) VALUES ('document', $1, $2, $3, 'PROCESSING', 1, $4, $5, $4) ON CONFLICT (package_key) DO UPDATE SET state = 'PROCESSING', attempts = exchange_outbound.attempts + 1, lease_until_ms = $5 WHERE exchange_outbound.lease_until_ms < $4 AND exchange_outbound.next_attempt_ms <= $4 AND exchange_outbound.state <> 'DONE'")
        .bind(row.recipient_id)
        .bind(&row.package)
        .bind(key)
        .bind(now)
        .bind(now + LEASE_MS)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(done == 1)
}

async fn finish(p: &Platform, key: &str, state: &str, next_ms: i64, error: &str) -> Result<()> {
    let mut tx = p.db.begin_write().await?;
    sqlx::query("UPDATE exchange_outbound SET state = $1, lease_until_ms = 0, next_attempt_ms = $2, last_error = $3 WHERE package_key = $4")
        .bind(state)
        .bind(next_ms)
        .bind(store::clip(error, 1000))
        .bind(key)
        .execute(&mut *tx.tx)
        .await?;
    tx.commit().await
}

/// One pass: every due pending send, each claimed, built, delivered and recorded. Returns
/// how many were attempted.
pub async fn send_due(p: &Platform, transports: &Transports) -> Result<usize> {
    let rows = docs::pending_sends(p, p.config.exchange.batch).await?;
    let mut attempted = 0;
    for row in rows {
        let now = p.now_ms();
        let key = format!("doc-{}-{}", row.recipient_id, row.package);
        if !claim(p, &row, &key, now).await? {
            continue;
        }
        attempted += 1;
        let ctx = Ctx {
            actor: "exchange:worker".into(),
            ..Ctx::system(now)
        };
        docs::record_transport_status(p, &ctx, row.recipient_id, TransportStatus::Processing, "")
            .await?;
        // Built at the instant of the first claim, so every retry is the same package
        // byte for byte and the receiver can tell a repeat from a conflict.
        let built_ms: i64 =
            sqlx::query_scalar("SELECT created_ms FROM exchange_outbound WHERE package_key = $1")
                .bind(&key)
                .fetch_one(p.db.pool())
                .await?;
        let outcome = send_one(p, &ctx, transports, &row, &key, built_ms).await;
        let mut log = LogEntry {
            direction: "out".into(),
            message_type: MessageType::Edoc.as_str().into(),
            from_organ_id: row.sender_code.clone(),
            to_organ_ids: vec![row.organ_id.clone()],
            document_id: row.document_id.clone().unwrap_or_default(),
            package_key: key.clone(),
            ..LogEntry::default()
        };
        match outcome {
            Ok((peer, receipt)) => {
                log.peer = peer;
                log.status = "DONE".into();
                log.detail = format!("reference {} repeat {}", receipt.reference, receipt.repeat);
                docs::record_transport_status(
                    p,
                    &ctx,
                    row.recipient_id,
                    TransportStatus::Done,
                    &store::clip(&log.detail, 1000),
                )
                .await?;
                finish(p, &key, "DONE", now, "").await?;
            }
            Err(SendError::Refused { peer, code, detail }) => {
                log.peer = peer;
                log.status = "FAIL".into();
                log.code.clone_from(&code);
                log.detail.clone_from(&detail);
                docs::record_transport_status(
                    p,
                    &ctx,
                    row.recipient_id,
                    TransportStatus::Fail,
                    &store::clip(&format!("{code}: {detail}"), 1000),
                )
                .await?;
                finish(p, &key, "FAIL", now, &code).await?;
            }
            Err(SendError::Retry { peer, detail }) => {
                log.peer = peer;
                log.status = "PROCESSING".into();
                log.code = "exchange.retry".into();
                log.detail.clone_from(&detail);
                let attempts: i64 = sqlx::query_scalar(
                    "SELECT attempts FROM exchange_outbound WHERE package_key = $1",
                )
                .bind(&key)
                .fetch_one(p.db.pool())
                .await?;
                let backoff = BACKOFF_MS
                    .saturating_mul(1i64 << attempts.clamp(0, 20))
                    .min(MAX_BACKOFF_MS);
                // Back to INITIAL so the next pass (after the backoff) takes it again.
                docs::record_transport_status(
                    p,
                    &ctx,
                    row.recipient_id,
                    TransportStatus::Initial,
                    &store::clip(&detail, 1000),
                )
                .await?;
                finish(p, &key, "RETRY", now + backoff, &detail).await?;
            }
        }
        store::log_alone(p, &ctx, &log).await?;
    }
    Ok(attempted)
}

enum SendError {
    Refused {
        peer: String,
        code: String,
        detail: String,
    },
    Retry {
        peer: String,
        detail: String,
    },
}

/// The destination refused the package for good (or we cannot build it): FAIL.
fn refused(peer: &str, code: &str, detail: String) -> SendError {
    SendError::Refused {
        peer: peer.to_owned(),
        code: code.to_owned(),
        detail,
    }
}

/// Our own failure (database, blob store) before anything left: try again later.
fn internal(e: tinhso_platform::Error) -> SendError {
    SendError::Retry {
        peer: String::new(),
        detail: e.to_string(),
    }
}

/// Builds, signs, spools and delivers one package.
async fn send_one(
    p: &Platform,
    ctx: &Ctx,
    transports: &Transports,
    row: &PendingSend,
    key: &str,
    built_ms: i64,
) -> std::result::Result<(String, DeliveryReceipt), SendError> {
    let directory = directory(p).await.map_err(internal)?;
    let (destination, transport, peer) = destination_of(p, transports, &directory, &row.organ_id)
        .map_err(|(code, detail)| refused("", &code, detail))?;
    let signer = signer(p).map_err(|(code, detail)| refused(&peer, &code, detail))?;
    let view = tinhso_documents::outgoing::get(p, ctx, row.outgoing_id)
        .await
        .map_err(internal)?;
    let sender_name = tinhso_platform::org::resolve_agency_code(p, &row.sender_code)
        .await
        .map_err(internal)?
        .map(|a| a.name)
        .unwrap_or_default();
    let sender = SenderInfo {
        from: mapping::organization(&row.sender_code, &sender_name),
        ..SenderInfo::default()
    };
    let recipients = [mapping::organization(&row.organ_id, &row.organ_name)];
    let built = mapping::package_for(&row.package, &view, &sender, &recipients, built_ms)
        .map_err(|e| refused(&peer, e.rule.unwrap_or(e.code.as_str()), e.detail.clone()))?;
    let dir = spool_tempdir(p).map_err(internal)?;
    let mut files = Vec::new();
    for (i, a) in built.attachments.iter().enumerate() {
        let path = dir.path().join(format!("{i:03}.bin"));
        p.blobs
            .copy_to_file(&a.blob_key, &path)
            .await
            .map_err(internal)?;
        files.push((a.meta.clone(), path));
    }
    let unsigned = dir.path().join("package.unsigned");
    let signed = dir.path().join("package.edxml");
    let package = built.package.clone();
    let (u, s) = (unsigned.clone(), signed.clone());
    tokio::task::spawn_blocking(move || write_and_sign(&package, &files, &u, &s, &signer))
        .await
        .map_err(|e| internal(tinhso_platform::Error::Other(e.to_string())))?
        .map_err(|detail| refused(&peer, "exchange.package.build", detail))?;
    let size = std::fs::metadata(&signed)
        .map_err(|e| internal(e.into()))?
        .len();
    let document_id = row.document_id.clone().unwrap_or_default();
    let outgoing = OutgoingPackage {
        from_organ_id: &row.sender_code,
        to_organ_ids: std::slice::from_ref(&row.organ_id),
        message_type: MessageType::Edoc,
        document_id: &document_id,
        package_key: key,
        file: &signed,
        size_bytes: size,
    };
    match transport.deliver(&destination, &outgoing).await {
        Ok(receipt) => Ok((peer, receipt)),
        Err(TransportError::Rejected { code, detail }) => Err(refused(&peer, &code, detail)),
        Err(TransportError::Retry(detail)) => Err(SendError::Retry { peer, detail }),
    }
}

/// Where packages for `organ_id` go, through which transport, and the peer's name for the
/// log; or the refusal's code and detail.
fn destination_of(
    p: &Platform,
    transports: &Transports,
    directory: &crate::domain::Directory,
    organ_id: &str,
) -> std::result::Result<Way, (String, String)> {
    match directory.route(organ_id) {
        Ok(Route::Peer { peer }) => {
            let url = p
                .config
                .exchange
                .peers
                .iter()
                .find(|c| c.id == peer)
                .map(|c| c.url.clone())
                .unwrap_or_default();
            Ok((
                Destination::Peer {
                    name: peer.clone(),
                    url,
                },
                transports.peer.clone(),
                peer,
            ))
        }
        Ok(Route::National) => match &transports.national {
            Some(t) => Ok((Destination::National, t.clone(), "national".to_owned())),
            None => Err((
                "exchange.recipient.unknown".into(),
                "the national exchange is not configured".into(),
            )),
        },
        Ok(Route::Local { .. }) => Err((
            "exchange.recipient.local".into(),
            format!("{organ_id} is an agency of this installation"),
        )),
        Err(e) => Err((e.rule().into(), e.to_string())),
    }
}

/// The way back to the exchange a package came through (a peer by id, or the national one).
fn back_to(
    p: &Platform,
    transports: &Transports,
    via: &str,
) -> std::result::Result<Way, (String, String)> {
    if via == "national" {
        return match &transports.national {
            Some(t) => Ok((Destination::National, t.clone(), via.to_owned())),
            None => Err((
                "exchange.national.disabled".into(),
                "the national exchange is no longer configured".into(),
            )),
        };
    }
    let peer = p
        .config
        .exchange
        .peers
        .iter()
        .find(|c| c.id == via)
        .ok_or_else(|| {
            (
                "exchange.peer.unknown".to_owned(),
                format!("`{via}` is no longer a configured peer"),
            )
        })?;
    Ok((
        Destination::Peer {
            name: peer.id.clone(),
            url: peer.url.clone(),
        },
        transports.peer.clone(),
        peer.id.clone(),
    ))
}

/// A scratch directory under the spool directory (removed when dropped).
fn spool_tempdir(p: &Platform) -> Result<tempfile::TempDir> {
    let d = spool_dir(p);
    std::fs::create_dir_all(&d)?;
    Ok(tempfile::Builder::new().prefix("out-").tempdir_in(d)?)
}

fn write_and_sign(
    package: &tinhso_edxml::DocumentPackage,
    files: &[(tinhso_edxml::model::AttachmentMeta, std::path::PathBuf)],
    unsigned: &Path,
    signed: &Path,
    signer: &Pkcs12Signer,
) -> std::result::Result<(), String> {
    let mut inputs = Vec::new();
    for (meta, path) in files {
        let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
        inputs.push(AttachmentInput {
            meta: meta.clone(),
            content: Box::new(BufReader::new(file)),
        });
    }
    let out = std::fs::File::create(unsigned).map_err(|e| e.to_string())?;
    write_document(std::io::BufWriter::new(out), package, &mut inputs)
        .map_err(|e| e.to_string())?;
    let out = std::fs::File::create(signed).map_err(|e| e.to_string())?;
    tinhso_edxml::dsig::sign_enveloped(unsigned, std::io::BufWriter::new(out), signer)
        .map_err(|e| e.to_string())
}

/// The worker: a pass every `exchange.poll_interval_ms` until `stop` turns true.
pub async fn run(
    p: Platform,
    transports: Transports,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let pause = Duration::from_millis(p.config.exchange.poll_interval_ms);
    loop {
        if *stop.borrow() {
            return;
        }
        if let Err(e) = send_due(&p, &transports).await {
            tracing::warn!(error = %e, "exchange send pass failed");
        }
        if let Err(e) = report_progress(&p).await {
            tracing::warn!(error = %e, "exchange status report pass failed");
        }
        if let Err(e) = send_statuses(&p, &transports).await {
            tracing::warn!(error = %e, "exchange status send pass failed");
        }
        tokio::select! {
            _ = stop.changed() => {}
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

/// Progress of received documents, reported back: for every received entry whose state's
/// business status (03 registered, 05 assigned or in progress, 06 done) differs from the last
/// one queued, the new one is queued. Documents' services need no change for it.
pub async fn report_progress(p: &Platform) -> Result<usize> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT incoming_id, last_reported FROM exchange_received_documents WHERE last_reported <> '06' ORDER BY incoming_id",
    )
    .fetch_all(p.db.pool())
    .await?;
    let mut queued = 0;
    for (incoming_id, last) in rows {
        let Some((code, revoked)) = docs::received_state(p, incoming_id).await? else {
            continue;
        };
        if revoked || code <= last {
            continue;
        }
        let ctx = Ctx {
            actor: "exchange:worker".into(),
            ..Ctx::system(p.now_ms())
        };
        let mut tx = p.db.begin_write().await?;
        crate::receive::queue_status(&mut tx, &ctx, incoming_id, &code).await?;
        tx.commit().await?;
        queued += 1;
    }
    Ok(queued)
}

/// One queued status package, with what it reports on.
struct QueuedStatus {
    key: String,
    code: String,
    to_organ_id: String,
    from_organ_id: String,
    document_id: String,
    response_code: String,
    promulgation_date: String,
    created_ms: i64,
    /// The exchange the document came through: its statuses go back the same way.
    via: String,
}

/// Sends the due status packages (arrival, progress, revocation answers) to the exchange of
/// the document's sender. Returns how many were attempted.
pub async fn send_statuses(p: &Platform, transports: &Transports) -> Result<usize> {
    let now = p.now_ms();
    let rows: Vec<StatusRow> = sqlx::query_as(
        "SELECT o.package_key, o.status_code, d.to_organ_id, d.from_organ_id, d.document_id, d.response_code, d.promulgation_date, o.created_ms, r.peer FROM exchange_outbound o JOIN exchange_received_documents d ON d.incoming_id = o.incoming_id JOIN exchange_received r ON r.id = d.received_id WHERE o.kind = 'status' AND o.state IN ('INITIAL', 'RETRY') AND o.next_attempt_ms <= $1 AND o.lease_until_ms < $1 ORDER BY o.id LIMIT $2",
    )
    .bind(now)
    .bind(p.config.exchange.batch)
    .fetch_all(p.db.pool())
    .await?;
    let mut attempted = 0;
    for r in rows {
        let q = QueuedStatus {
            key: r.0,
            code: r.1,
            to_organ_id: r.2,
            from_organ_id: r.3,
            document_id: r.4,
            response_code: r.5,
            promulgation_date: r.6,
            created_ms: r.7,
            via: r.8,
        };
        let mut tx = p.db.begin_write().await?;
        let claimed = sqlx::query("UPDATE exchange_outbound SET state = 'PROCESSING', attempts = attempts + 1, lease_until_ms = $1 WHERE package_key = $2 AND lease_until_ms < $3 AND state IN ('INITIAL', 'RETRY')")
            .bind(now + LEASE_MS)
            .bind(&q.key)
            .bind(now)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        if claimed != 1 {
            continue;
        }
        attempted += 1;
        let ctx = Ctx {
            actor: "exchange:worker".into(),
            ..Ctx::system(now)
        };
        let outcome = send_status(p, transports, &q).await;
        let mut log = LogEntry {
            direction: "out".into(),
            message_type: MessageType::Status.as_str().into(),
            from_organ_id: q.to_organ_id.clone(),
            to_organ_ids: vec![q.from_organ_id.clone()],
            document_id: q.document_id.clone(),
            package_key: q.key.clone(),
            ..LogEntry::default()
        };
        match outcome {
            Ok((peer, receipt)) => {
                log.peer = peer;
                log.status = "DONE".into();
                log.detail = format!("status {} reference {}", q.code, receipt.reference);
                finish(p, &q.key, "DONE", now, "").await?;
            }
            Err(SendError::Refused { peer, code, detail }) => {
                log.peer = peer;
                log.status = "FAIL".into();
                log.code.clone_from(&code);
                log.detail = detail;
                finish(p, &q.key, "FAIL", now, &code).await?;
            }
            Err(SendError::Retry { peer, detail }) => {
                log.peer = peer;
                log.status = "PROCESSING".into();
                log.code = "exchange.retry".into();
                log.detail.clone_from(&detail);
                finish(p, &q.key, "RETRY", now + BACKOFF_MS, &detail).await?;
            }
        }
        store::log_alone(p, &ctx, &log).await?;
    }
    Ok(attempted)
}

async fn send_status(
    p: &Platform,
    transports: &Transports,
    q: &QueuedStatus,
) -> std::result::Result<(String, DeliveryReceipt), SendError> {
    let (destination, transport, peer) =
        back_to(p, transports, &q.via).map_err(|(code, detail)| refused("", &code, detail))?;
    let signer = signer(p).map_err(|(code, detail)| refused(&peer, &code, detail))?;
    let code = tinhso_edxml::model::StatusCode::ALL
        .into_iter()
        .find(|c| c.code() == q.code)
        .ok_or_else(|| refused(&peer, "document.business_status.unknown", q.code.clone()))?;
    let date = tinhso_edxml::model::parse_date(&q.promulgation_date).ok_or_else(|| {
        refused(
            &peer,
            "document.issued_date.invalid",
            q.promulgation_date.clone(),
        )
    })?;
    let reporter_name = tinhso_platform::org::resolve_agency_code(p, &q.to_organ_id)
        .await
        .map_err(internal)?
        .map(|a| a.name)
        .unwrap_or_default();
    let subject = mapping::StatusSubject {
        organ_id: q.from_organ_id.clone(),
        code: q.response_code.clone(),
        promulgation_date: date,
        document_id: Some(q.document_id.clone()),
    };
    let package = mapping::status_package(
        &mapping::organization(&q.to_organ_id, &reporter_name),
        &subject,
        code,
        None,
        "",
        q.created_ms,
    );
    let dir = spool_tempdir(p).map_err(internal)?;
    let unsigned = dir.path().join("status.unsigned");
    let signed = dir.path().join("status.edxml");
    let (u, s) = (unsigned.clone(), signed.clone());
    tokio::task::spawn_blocking(move || -> std::result::Result<(), String> {
        let out = std::fs::File::create(&u).map_err(|e| e.to_string())?;
        tinhso_edxml::write::write_status(std::io::BufWriter::new(out), &package)
            .map_err(|e| e.to_string())?;
        let out = std::fs::File::create(&s).map_err(|e| e.to_string())?;
        tinhso_edxml::dsig::sign_enveloped(&u, std::io::BufWriter::new(out), &signer)
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| internal(tinhso_platform::Error::Other(e.to_string())))?
    .map_err(|detail| refused(&peer, "exchange.package.build", detail))?;
    let size = std::fs::metadata(&signed)
        .map_err(|e| internal(e.into()))?
        .len();
    let to = [q.from_organ_id.clone()];
    let outgoing = OutgoingPackage {
        from_organ_id: &q.to_organ_id,
        to_organ_ids: &to,
        message_type: MessageType::Status,
        document_id: &q.document_id,
        package_key: &q.key,
        file: &signed,
        size_bytes: size,
    };
    match transport.deliver(&destination, &outgoing).await {
        Ok(receipt) => Ok((peer, receipt)),
        Err(TransportError::Rejected { code, detail }) => Err(refused(&peer, &code, detail)),
        Err(TransportError::Retry(detail)) => Err(SendError::Retry { peer, detail }),
    }
}
