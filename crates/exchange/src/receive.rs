//! The receive pipeline: one function for every package that reaches this installation, from
//! a federated peer's push (the federation endpoint) or from the national exchange's poller.
//!
//! Order: the bytes are spooled to a file under the data directory while they are hashed
//! (over `exchange.max_package_bytes` → `exchange.package.too_large`, nothing kept); the file
//! is parsed with attachments decoded into a temporary directory, every field rule checked,
//! the enveloped signature verified and the signer's chain checked against
//! `signing.trust_anchors`; the sender must be one the calling peer serves; every recipient is
//! routed and those of this installation are registered. A package seen before under the same
//! sender and key is a repeat when identical (answered, nothing written) and refused when it
//! differs. Invariants: everything a package changes — registrations, the received-package
//! row, the log row, the audit records — is written in one transaction, so a refusal stores
//! nothing but its log row; spooled and decoded files are temporary and removed on every path.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tinhso_core::ErrorCode;
use tinhso_documents::exchange as docs;
use tinhso_edxml::Issue;
use tinhso_edxml::read::{DirSink, Package, ParsedDocument, ParsedStatus, read_package};
use tinhso_edxml::validate::validate_package;
use tinhso_platform::audit::Change;
use tinhso_platform::{Ctx, Platform};
use tokio::io::AsyncWriteExt;

use crate::domain::{Directory, PeerRoute, ReceiveDecision, Route, decide_receive};
use crate::mapping;
use crate::store::{self, LogEntry};
use crate::transport::MessageType;

/// Who hands us the package.
#[derive(Debug, Clone)]
pub struct Inbound {
    /// The calling peer's id (the CN of its client certificate), or `national`.
    pub peer: String,
    /// The agency patterns the caller serves (`exchange.peers[].serves`); `None` for the
    /// national exchange, which may carry packages of any agency outside this installation.
    pub serves: Option<Vec<String>>,
    /// `X-Edxml-Message-Type`, when the caller said.
    pub message_type: Option<MessageType>,
    /// `X-Edxml-From`, when the caller said: must agree with the package.
    pub from_header: Option<String>,
    /// `X-Package-Key`: the sender's idempotency key of the package.
    pub package_key: String,
}

/// The package was taken (or recognised as a repeat).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Accepted {
    pub reference: String,
    pub repeat: bool,
    /// Incoming entries registered (empty for a repeat or a status package).
    pub registered: Vec<i64>,
}

/// Why a package was refused: its HTTP status, a stable code and every problem found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Refusal {
    #[serde(skip)]
    pub status: u16,
    pub code: String,
    pub message: String,
    pub problems: Vec<Issue>,
}

impl Refusal {
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        Refusal {
            status,
            code: code.into(),
            message: message.into(),
            problems: Vec::new(),
        }
    }

    fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "exchange receive failed");
        Refusal::new(
            500,
            "internal",
            "the package could not be processed; send it again later",
        )
    }

    fn from_platform(e: tinhso_platform::Error) -> Self {
        match &e {
            tinhso_platform::Error::Domain(d) => {
                let status = match d.code {
                    ErrorCode::Conflict => 409,
                    ErrorCode::NotFound => 404,
                    ErrorCode::PayloadTooLarge => 413,
                    ErrorCode::Forbidden | ErrorCode::Unauthenticated => 403,
                    _ => 422,
                };
                let code = d.rule.unwrap_or(d.code.as_str());
                Refusal::new(status, code, d.detail.clone())
            }
            _ => Refusal::internal(e),
        }
    }
}

/// A package spooled to disk: removed when dropped.
#[derive(Debug)]
pub struct Spooled {
    file: tempfile::TempPath,
    pub size: u64,
    /// SHA-256 of the bytes, hex.
    pub digest: String,
}

impl Spooled {
    pub fn path(&self) -> &Path {
        &self.file
    }
}

/// Where packages wait while they are checked.
pub fn spool_dir(p: &Platform) -> PathBuf {
    tinhso_platform::config::ExchangeConfig::spool_dir(&p.config.server.data_dir)
}

/// Streams `body` into a spool file, hashing it; stops at `exchange.max_package_bytes`.
pub async fn spool<S, E>(p: &Platform, mut body: S) -> Result<Spooled, Refusal>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let limit = p.config.exchange.max_package_bytes;
    let dir = spool_dir(p);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(Refusal::internal)?;
    let temp = tempfile::Builder::new()
        .prefix("in-")
        .suffix(".edxml")
        .tempfile_in(&dir)
        .map_err(Refusal::internal)?
        .into_temp_path();
    let mut out = tokio::io::BufWriter::new(
        tokio::fs::File::create(&temp)
            .await
            .map_err(Refusal::internal)?,
    );
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            Refusal::new(
                400,
                "exchange.package.incomplete",
                format!("the body was cut: {e}"),
            )
        })?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(Refusal::new(
                413,
                "exchange.package.too_large",
                format!("a package has at most {limit} bytes"),
            ));
        }
        hasher.update(&chunk);
        out.write_all(&chunk).await.map_err(Refusal::internal)?;
    }
    out.flush().await.map_err(Refusal::internal)?;
    Ok(Spooled {
        file: temp,
        size,
        digest: hex::encode(hasher.finalize()),
    })
}

/// Spools a package that is already a file (the national poller fetched it) by hashing it in
/// place; the file stays the caller's.
pub async fn spool_file(p: &Platform, path: &Path) -> Result<Spooled, Refusal> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(Refusal::internal)?;
    spool(p, file_stream(file)).await
}

/// A file as a stream of chunks (bounded memory).
pub fn file_stream(
    file: tokio::fs::File,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
    use tokio::io::AsyncReadExt;
    Box::pin(futures_util::stream::unfold(
        (file, false),
        |(mut file, done)| async move {
            if done {
                return None;
            }
            let mut buf = vec![0u8; 64 * 1024];
            match file.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(Bytes::from(buf)), (file, false)))
                }
                Err(e) => Some((Err(e), (file, true))),
            }
        },
    ))
}

/// What the checks made of a spooled file.
struct Checked {
    package: Package,
    /// Decoded attachments (removed with the directory).
    attachments: Vec<(tinhso_edxml::model::AttachmentMeta, PathBuf)>,
    _dir: tempfile::TempDir,
}

/// Parse, every rule, the signature and its chain: blocking work on a worker thread.
fn check_file(
    path: &Path,
    spool: &Path,
    anchors: &[Vec<u8>],
    now_unix: i64,
) -> Result<Checked, Refusal> {
    let dir = tempfile::Builder::new()
        .prefix("att-")
        .tempdir_in(spool)
        .map_err(Refusal::internal)?;
    let mut sink = DirSink::new(dir.path());
    let input = std::fs::File::open(path).map_err(Refusal::internal)?;
    let package = read_package(BufReader::with_capacity(256 * 1024, input), &mut sink)
        .map_err(|e| Refusal::new(400, e.code(), e.message.clone()))?;
    let issues = validate_package(&package);
    if !issues.is_empty() {
        let mut refusal = Refusal::new(
            422,
            issues[0].code.clone(),
            format!("the package breaks {} rule(s)", issues.len()),
        );
        refusal.problems = issues;
        return Err(refusal);
    }
    let input = std::fs::File::open(path).map_err(Refusal::internal)?;
    let verified =
        tinhso_edxml::dsig::verify_enveloped(BufReader::with_capacity(256 * 1024, input))
            .map_err(|e| Refusal::new(422, e.code(), e.to_string()))?;
    tinhso_signing::pki::verify_chain(
        &verified.certificate,
        &verified.extra_certificates,
        anchors,
        now_unix,
    )
    .map_err(|e| {
        // A certificate that does not lead to one of our anchors (unknown issuer, or an
        // issuer of the same name whose key did not sign it) is simply not trusted; the
        // reason stays in the message.
        let code = match e.code() {
            "chain.bad_signature" => "chain.untrusted",
            other => other,
        };
        Refusal::new(
            422,
            format!("edxml.signature.{code}"),
            format!(
                "the signer's certificate ({}) is not trusted: {e}",
                verified.subject
            ),
        )
    })?;
    let attachments = sink.files().to_vec();
    Ok(Checked {
        package,
        attachments,
        _dir: dir,
    })
}

/// The CA certificates of `signing.trust_anchors`.
fn trust_anchors(p: &Platform) -> Result<Vec<Vec<u8>>, Refusal> {
    let mut anchors = Vec::new();
    for path in &p.config.signing.trust_anchors {
        let pem = std::fs::read(path).map_err(Refusal::internal)?;
        anchors
            .extend(tinhso_signing::pki::certificates_from_pem(&pem).map_err(Refusal::internal)?);
    }
    Ok(anchors)
}

/// This installation's agencies by identifier (active ones), the configured peers and the
/// national connector: the router of both directions.
pub async fn directory(p: &Platform) -> tinhso_platform::Result<Directory> {
    let agencies = tinhso_platform::org::list_agencies(p, &Ctx::system(p.now_ms())).await?;
    Ok(Directory {
        local: agencies
            .into_iter()
            .filter(|a| a.active)
            .map(|a| (a.code, a.id))
            .collect(),
        peers: p
            .config
            .exchange
            .peers
            .iter()
            .map(|peer| PeerRoute {
                peer: peer.id.clone(),
                serves: peer.serves.clone(),
            })
            .collect(),
        national: p.config.exchange.national.enabled,
    })
}

/// The context receiving runs in: a local caller, audited as the calling exchange.
fn receiving_ctx(p: &Platform, inbound: &Inbound) -> Ctx {
    Ctx {
        actor: format!("exchange:{}", inbound.peer),
        ..Ctx::system(p.now_ms())
    }
}

/// The header facts the log and the deduplication need, taken from a parsed package.
struct Facts {
    message_type: MessageType,
    from: String,
    to: Vec<String>,
    document_id: String,
    dedupe_key: String,
}

fn facts(package: &Package, inbound: &Inbound) -> Facts {
    match package {
        Package::Document(d) => {
            let h = &d.package.message_header;
            let document_id = h.document_id.clone().unwrap_or_default();
            let kind = business_type(d);
            let dedupe_key = match kind {
                "1" => format!("revoke:{document_id}"),
                "2" | "3" => format!("update:{}:{document_id}", inbound.package_key),
                // A document may reach this installation once per recipient list (a sender
                // adding a recipient later sends it again to that one).
                _ => {
                    let mut to: Vec<&str> = h.to.iter().map(|o| o.organ_id.trim()).collect();
                    to.sort_unstable();
                    format!("new:{document_id}:{}", to.join(","))
                }
            };
            Facts {
                message_type: MessageType::Edoc,
                from: h.from.organ_id.trim().to_owned(),
                to: h.to.iter().map(|o| o.organ_id.trim().to_owned()).collect(),
                document_id,
                dedupe_key,
            }
        }
        Package::Status(s) => {
            let document_id = s
                .package
                .response_for
                .document_id
                .clone()
                .unwrap_or_default();
            Facts {
                message_type: MessageType::Status,
                from: s.package.from.organ_id.trim().to_owned(),
                to: vec![s.package.response_for.organ_id.trim().to_owned()],
                dedupe_key: format!("status:{}:{document_id}", s.package.status_code.trim()),
                document_id,
            }
        }
    }
}

/// BussinessDocType: 0 new, 1 revocation, 2 update, 3 replacement.
fn business_type(d: &ParsedDocument) -> &str {
    d.package
        .trace_header_list
        .as_ref()
        .and_then(|t| t.bussiness.as_ref())
        .map_or("0", |b| b.bussiness_doc_type.trim())
}

/// Receives one package whose bytes arrive as `body`: see the module documentation. A refusal
/// is logged (FAIL) and answered; nothing else is stored.
pub async fn receive<S, E>(p: &Platform, inbound: &Inbound, body: S) -> Result<Accepted, Refusal>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let ctx = receiving_ctx(p, inbound);
    let mut log = LogEntry {
        direction: "in".into(),
        peer: inbound.peer.clone(),
        message_type: inbound
            .message_type
            .map_or("edoc", MessageType::as_str)
            .into(),
        from_organ_id: inbound.from_header.clone().unwrap_or_default(),
        package_key: inbound.package_key.clone(),
        ..LogEntry::default()
    };
    let outcome = match spool(p, body).await {
        Ok(spooled) => {
            log.size_bytes = i64::try_from(spooled.size).unwrap_or(i64::MAX);
            log.digest = spooled.digest.clone();
            receive_spooled(p, &ctx, inbound, &spooled, &mut log).await
        }
        Err(refusal) => Err(refusal),
    };
    match outcome {
        Ok(accepted) => Ok(accepted),
        Err(refusal) => {
            log.status = "FAIL".into();
            log.code = refusal.code.clone();
            log.detail = refusal.message.clone();
            if let Err(e) = store::log_alone(p, &ctx, &log).await {
                tracing::error!(error = %e, "the exchange could not log a refusal");
            }
            Err(refusal)
        }
    }
}

async fn receive_spooled(
    p: &Platform,
    ctx: &Ctx,
    inbound: &Inbound,
    spooled: &Spooled,
    log: &mut LogEntry,
) -> Result<Accepted, Refusal> {
    let anchors = trust_anchors(p)?;
    let (path, dir) = (spooled.path().to_path_buf(), spool_dir(p));
    let now_unix = ctx.now_ms / 1000;
    let checked = tokio::task::spawn_blocking(move || check_file(&path, &dir, &anchors, now_unix))
        .await
        .map_err(Refusal::internal)??;
    let f = facts(&checked.package, inbound);
    log.message_type = f.message_type.as_str().into();
    log.from_organ_id.clone_from(&f.from);
    log.to_organ_ids.clone_from(&f.to);
    log.document_id.clone_from(&f.document_id);
    if let Some(said) = &inbound.message_type
        && *said != f.message_type
    {
        return Err(Refusal::new(
            400,
            "exchange.message_type.mismatch",
            format!(
                "X-Edxml-Message-Type says {} but the package is {}",
                said.as_str(),
                f.message_type.as_str()
            ),
        ));
    }
    if let Some(said) = &inbound.from_header
        && said.trim() != f.from
    {
        return Err(Refusal::new(
            400,
            "exchange.sender.mismatch",
            format!(
                "X-Edxml-From says {said} but the package is from {}",
                f.from
            ),
        ));
    }
    let directory = directory(p).await.map_err(Refusal::from_platform)?;
    check_sender(inbound, &directory, &f.from)?;

    let stored = store::received(p, &f.from, &f.dedupe_key)
        .await
        .map_err(Refusal::from_platform)?;
    match decide_receive(&spooled.digest, stored.as_ref().map(|s| s.digest.as_str())) {
        ReceiveDecision::Conflict => {
            return Err(Refusal::new(
                409,
                "exchange.package.conflict",
                format!(
                    "a different package from {} under document id {} was received before",
                    f.from, f.document_id
                ),
            ));
        }
        ReceiveDecision::Repeat => {
            let stored = stored.ok_or_else(|| Refusal::internal("repeat without a row"))?;
            log.status = "DONE".into();
            log.repeat_of = Some(stored.id);
            log.detail = "repeat of a package received before".into();
            store::log_alone(p, ctx, log)
                .await
                .map_err(Refusal::from_platform)?;
            return Ok(Accepted {
                reference: stored.reference,
                repeat: true,
                registered: Vec::new(),
            });
        }
        ReceiveDecision::New => {}
    }

    match &checked.package {
        Package::Document(d) => {
            let local = local_recipients(&directory, &f.to)?;
            let files = store_attachments(p, &checked.attachments).await?;
            let reference = new_reference();
            let registered = register_document(
                p, ctx, inbound, spooled, &f, d, &local, &files, &reference, log,
            )
            .await
            .map_err(Refusal::from_platform)?;
            Ok(Accepted {
                reference,
                repeat: false,
                registered,
            })
        }
        Package::Status(s) => {
            let reference = new_reference();
            apply_status(p, ctx, inbound, spooled, &f, s, &reference, log)
                .await
                .map_err(Refusal::from_platform)?;
            Ok(Accepted {
                reference,
                repeat: false,
                registered: Vec::new(),
            })
        }
    }
}

/// The sender must be an agency the calling peer serves (a peer may not speak for agencies of
/// another province, nor for ours). The national exchange carries any province's agencies,
/// but never ours: a package "from" one of our agencies arriving from outside is forged.
fn check_sender(inbound: &Inbound, directory: &Directory, from: &str) -> Result<(), Refusal> {
    let not_served = || {
        Refusal::new(
            403,
            "exchange.sender.not_served",
            format!("{} does not serve the sending agency {from}", inbound.peer),
        )
    };
    if directory.local.iter().any(|(code, _)| code == from.trim()) {
        return Err(not_served());
    }
    let Some(serves) = &inbound.serves else {
        return Ok(());
    };
    let only_caller = Directory {
        local: Vec::new(),
        peers: vec![PeerRoute {
            peer: inbound.peer.clone(),
            serves: serves.clone(),
        }],
        national: false,
    };
    match only_caller.route(from) {
        Ok(Route::Peer { .. }) => Ok(()),
        Err(e @ crate::domain::RouteError::Malformed { .. }) => Err(Refusal::new(
            422,
            "exchange.sender.malformed",
            e.to_string(),
        )),
        _ => Err(not_served()),
    }
}

/// The recipients of this installation: (identifier, agency id). Malformed ones refuse the
/// package; recipients elsewhere are not ours to deliver; none here is `unknown`.
fn local_recipients(directory: &Directory, to: &[String]) -> Result<Vec<String>, Refusal> {
    let only_local = Directory {
        local: directory.local.clone(),
        peers: Vec::new(),
        national: false,
    };
    let mut local = Vec::new();
    for organ_id in to {
        match only_local.route(organ_id) {
            Ok(Route::Local { .. }) if !local.contains(organ_id) => local.push(organ_id.clone()),
            Err(e @ crate::domain::RouteError::Malformed { .. }) => {
                return Err(Refusal::new(422, e.rule(), e.to_string()));
            }
            _ => {}
        }
    }
    if local.is_empty() {
        return Err(Refusal::new(
            422,
            "exchange.recipient.unknown",
            format!(
                "none of the recipients ({}) is an agency of this installation",
                to.join(", ")
            ),
        ));
    }
    Ok(local)
}

/// Checks every attachment as an upload is checked (streamed from its file: malware, type by
/// content) and puts it in the blob store, before the transaction (content-addressed, so a
/// later refusal leaves no reference behind).
async fn store_attachments(
    p: &Platform,
    attachments: &[(tinhso_edxml::model::AttachmentMeta, PathBuf)],
) -> Result<Vec<docs::ReceivedFile>, Refusal> {
    let mut stored = Vec::new();
    for (meta, path) in attachments {
        let blob =
            tinhso_documents::files::put_checked_file(p, path, p.config.exchange.max_package_bytes)
                .await
                .map_err(Refusal::from_platform)?;
        stored.push(docs::ReceivedFile {
            filename: meta.attachment_name.clone(),
            blob,
        });
    }
    Ok(stored)
}

fn new_reference() -> String {
    hex::encode(rand::random::<[u8; 12]>())
}

async fn insert_received(
    tx: &mut tinhso_platform::WriteTx,
    ctx: &Ctx,
    inbound: &Inbound,
    spooled: &Spooled,
    f: &Facts,
    reference: &str,
) -> tinhso_platform::Result<i64> {
    Ok(sqlx::query_scalar("INSERT INTO exchange_received (from_organ_id, dedupe_key, document_id, message_type, peer, digest, size_bytes, reference, received_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id")
        .bind(&f.from)
        .bind(&f.dedupe_key)
        .bind(&f.document_id)
        .bind(f.message_type.as_str())
        .bind(&inbound.peer)
        .bind(&spooled.digest)
        .bind(i64::try_from(spooled.size).unwrap_or(i64::MAX))
        .bind(reference)
        .bind(ctx.now_ms)
        .fetch_one(&mut *tx.tx)
        .await?)
}

/// A document package: registered (new), revoked (type 1) or the recipient list updated
/// (type 2/3) for every local recipient, all in one transaction.
#[allow(clippy::too_many_arguments)]
async fn register_document(
    p: &Platform,
    ctx: &Ctx,
    inbound: &Inbound,
    spooled: &Spooled,
    f: &Facts,
    d: &ParsedDocument,
    local: &[String],
    files: &[docs::ReceivedFile],
    reference: &str,
    log: &mut LogEntry,
) -> tinhso_platform::Result<Vec<i64>> {
    let bussiness = d
        .package
        .trace_header_list
        .as_ref()
        .and_then(|t| t.bussiness.as_ref());
    let kind = business_type(d);
    // The document a revocation or update is about: Bussiness/DocumentId, else its own id.
    let about = bussiness
        .and_then(|b| b.document_id.clone())
        .filter(|id| !id.trim().is_empty())
        .unwrap_or_else(|| f.document_id.clone());
    let mut tx = p.db.begin_write().await?;
    let received_id = insert_received(&mut tx, ctx, inbound, spooled, f, reference).await?;
    let mut registered = Vec::new();
    match kind {
        "1" => {
            let reason = bussiness
                .and_then(|b| b.bussiness_doc_reason.clone())
                .unwrap_or_default();
            for organ_id in local {
                if let Some(id) =
                    docs::revoke_received_in(p, &mut tx, ctx, organ_id, &about, &reason).await?
                {
                    queue_status(&mut tx, ctx, id, "15").await?;
                    registered.push(id);
                }
            }
        }
        "2" | "3" => {
            let receivers = bussiness
                .and_then(|b| b.bussiness_document_info.as_ref())
                .and_then(|i| i.receiver_list.clone())
                .unwrap_or_default();
            for r in receivers {
                let organ_id = r.organ_id.trim().to_owned();
                if !local.contains(&organ_id) {
                    continue;
                }
                if r.receiver_type.trim() == "0" {
                    let reason = "removed from the recipient list by the sender";
                    if let Some(id) =
                        docs::revoke_received_in(p, &mut tx, ctx, &organ_id, &about, reason).await?
                    {
                        queue_status(&mut tx, ctx, id, "15").await?;
                    }
                } else {
                    let mut doc =
                        mapping::received_document(&d.package, &organ_id, files.to_vec())?;
                    doc.document_id.clone_from(&about);
                    let got = docs::register_received_in(p, &mut tx, ctx, &doc).await?;
                    if got.created {
                        track_received(
                            &mut tx,
                            got.incoming_id,
                            received_id,
                            &organ_id,
                            f,
                            d,
                            &about,
                        )
                        .await?;
                        link_answers(p, &mut tx, ctx, got.incoming_id, d).await?;
                        queue_status(&mut tx, ctx, got.incoming_id, "01").await?;
                        registered.push(got.incoming_id);
                    }
                }
            }
        }
        _ => {
            for organ_id in local {
                let doc = mapping::received_document(&d.package, organ_id, files.to_vec())?;
                let got = docs::register_received_in(p, &mut tx, ctx, &doc).await?;
                if got.created {
                    track_received(
                        &mut tx,
                        got.incoming_id,
                        received_id,
                        organ_id,
                        f,
                        d,
                        &f.document_id,
                    )
                    .await?;
                    link_answers(p, &mut tx, ctx, got.incoming_id, d).await?;
                    queue_status(&mut tx, ctx, got.incoming_id, "01").await?;
                    registered.push(got.incoming_id);
                }
            }
        }
    }
    audit_received(p, &mut tx, ctx, received_id, f, &registered).await?;
    log.status = "DONE".into();
    log.detail = format!("registered {} entr(ies)", registered.len());
    store::log(p, &mut tx, ctx, log).await?;
    tx.commit().await?;
    Ok(registered)
}

/// Links a received reply to this installation's documents it answers (its ResponseFor
/// list), so their senders see the answer on their own outgoing documents.
async fn link_answers(
    p: &Platform,
    tx: &mut tinhso_platform::WriteTx,
    ctx: &Ctx,
    incoming_id: i64,
    d: &ParsedDocument,
) -> tinhso_platform::Result<()> {
    for r in &d.package.message_header.response_for {
        if let Some(answered) = r.document_id.as_deref().filter(|id| !id.trim().is_empty()) {
            docs::link_answer_in(p, tx, ctx, incoming_id, answered).await?;
        }
    }
    Ok(())
}

/// Remembers where a received entry came from, so its business statuses go back there.
async fn track_received(
    tx: &mut tinhso_platform::WriteTx,
    incoming_id: i64,
    received_id: i64,
    to_organ_id: &str,
    f: &Facts,
    d: &ParsedDocument,
    document_id: &str,
) -> tinhso_platform::Result<()> {
    let h = &d.package.message_header;
    let code = h
        .code
        .as_ref()
        .map(|c| format!("{}/{}", c.code_number.trim(), c.code_notation.trim()))
        .unwrap_or_default();
    let date = h
        .promulgation_info
        .as_ref()
        .map(|p| p.promulgation_date.clone())
        .unwrap_or_default();
    sqlx::query("INSERT INTO exchange_received_documents (incoming_id, received_id, to_organ_id, from_organ_id, document_id, response_code, promulgation_date, last_reported) VALUES ($1, $2, $3, $4, $5, $6, $7, '')")
        .bind(incoming_id)
        .bind(received_id)
        .bind(to_organ_id)
        .bind(&f.from)
        .bind(document_id)
        .bind(code)
        .bind(date)
        .execute(&mut *tx.tx)
        .await?;
    Ok(())
}

/// Queues a status package about a received entry (sent by the worker).
pub(crate) async fn queue_status(
    tx: &mut tinhso_platform::WriteTx,
    ctx: &Ctx,
    incoming_id: i64,
    code: &str,
) -> tinhso_platform::Result<()> {
    sqlx::query("INSERT INTO exchange_outbound (kind, incoming_id, status_code, package_key, state, next_attempt_ms, created_ms) VALUES ('status', $1, $2, $3, 'INITIAL', $4, $4)")
        .bind(incoming_id)
        .bind(code)
        .bind(format!("status-{incoming_id}-{code}-{}", new_reference()))
        .bind(ctx.now_ms)
        .execute(&mut *tx.tx)
        .await?;
    // Progress codes are what the status reporter compares with the entry's state; a
    // revocation's answer (15) is not progress.
    if code != "15" {
        sqlx::query(
            "UPDATE exchange_received_documents SET last_reported = $1 WHERE incoming_id = $2",
        )
        .bind(code)
        .bind(incoming_id)
        .execute(&mut *tx.tx)
        .await?;
    }
    Ok(())
}

async fn audit_received(
    p: &Platform,
    tx: &mut tinhso_platform::WriteTx,
    ctx: &Ctx,
    received_id: i64,
    f: &Facts,
    registered: &[i64],
) -> tinhso_platform::Result<()> {
    p.audit(
        tx,
        ctx,
        Change::<(), _> {
            action: "exchange.received",
            object_type: "exchange_received",
            object_id: &received_id.to_string(),
            before: None,
            after: Some(&serde_json::json!({
                "from": f.from, "document_id": f.document_id,
                "message_type": f.message_type.as_str(), "registered": registered,
            })),
        },
    )
    .await
    .map(|_| ())
}

/// A status package: the recipient's business status recorded on our sent document.
#[allow(clippy::too_many_arguments)]
async fn apply_status(
    p: &Platform,
    ctx: &Ctx,
    inbound: &Inbound,
    spooled: &Spooled,
    f: &Facts,
    s: &ParsedStatus,
    reference: &str,
    log: &mut LogEntry,
) -> tinhso_platform::Result<()> {
    let mut tx = p.db.begin_write().await?;
    let received_id = insert_received(&mut tx, ctx, inbound, spooled, f, reference).await?;
    docs::record_business_status_in(
        p,
        &mut tx,
        ctx,
        &f.document_id,
        &f.from,
        s.package.status_code.trim(),
        s.package.description.as_deref().unwrap_or(""),
    )
    .await?;
    audit_received(p, &mut tx, ctx, received_id, f, &[]).await?;
    log.status = "DONE".into();
    log.detail = format!("business status {}", s.package.status_code.trim());
    store::log(p, &mut tx, ctx, log).await?;
    tx.commit().await
}

/// The exchange that called the federation endpoint, as its TLS client certificate
/// established (the certificate's CN = `exchange.peers[].id`), inserted into each request by
/// the federation listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallingPeer {
    pub id: String,
}

/// The [`Inbound`] of a federated peer's push, or a refusal when the peer is not configured.
pub fn inbound_from_peer(
    p: &Platform,
    peer: &CallingPeer,
    message_type: Option<&str>,
    from: Option<&str>,
    package_key: Option<&str>,
) -> Result<Inbound, Refusal> {
    let configured = p
        .config
        .exchange
        .peers
        .iter()
        .find(|c| c.id == peer.id)
        .ok_or_else(|| {
            Refusal::new(
                403,
                "exchange.peer.unknown",
                format!("`{}` is not a configured peer of this exchange", peer.id),
            )
        })?;
    let message_type = match message_type {
        None => None,
        Some(s) => Some(MessageType::parse(s.trim()).ok_or_else(|| {
            Refusal::new(
                400,
                "exchange.message_type.unknown",
                format!("X-Edxml-Message-Type must be edoc or status (got `{s}`)"),
            )
        })?),
    };
    Ok(Inbound {
        peer: configured.id.clone(),
        serves: Some(configured.serves.clone()),
        message_type,
        from_header: from.map(str::to_owned),
        package_key: package_key.unwrap_or("").chars().take(200).collect(),
    })
}

/// An agency this installation serves, as `GET /exchange/v1/agencies` lists it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ServedAgency {
    pub id: String,
    pub name: String,
}

/// The agencies of this installation (active ones), by identifier.
pub async fn served_agencies(p: &Platform) -> tinhso_platform::Result<Vec<ServedAgency>> {
    let agencies = tinhso_platform::org::list_agencies(p, &Ctx::system(p.now_ms())).await?;
    Ok(agencies
        .into_iter()
        .filter(|a| a.active)
        .map(|a| ServedAgency {
            id: a.code,
            name: a.name,
        })
        .collect())
}
