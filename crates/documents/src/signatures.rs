//! Digital signatures on the documents' PDFs: verifying what arrives or is attached, and
//! signing on the server with the organisation's key at the signing step.
//!
//! Verification: every PDF file of an incoming document (registered by the clerk, arriving
//! by internal dispatch or from the exchange) and every signed PDF attached to an outgoing
//! document is verified with `tinhso_signing::verify_pdf` against `signing.trust_anchors`
//! at the instant of registration, in the registering transaction; the result is stored per
//! file (`doc_file_signatures`) so the document's view shows signer, time and validity
//! without re-reading the PDF. A file's verdict is `unsigned` (no signature), `valid`
//! (every signature intact, trusted, covering the file), `untrusted` (intact, but the chain
//! leads to no anchor) or `invalid` with the first problem's stable code
//! (`signature.digest_mismatch`, `signature.updated_after_signing`, `pades.pdf_unreadable`).
//! Re-verifying on demand replaces the row (e.g. after the anchors changed).
//!
//! Signing: the signer port is chosen by configuration — a PKCS#12 file
//! (`signing.pkcs12_path`) today; B-T with a timestamp when `signing.timestamp_url` is set.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use tinhso_core::DomainError;
use tinhso_platform::{Error, Platform, Result, WriteTx};
use tinhso_signing::Pkcs12Signer;
use tinhso_signing::pades::{self, SignOptions, SignatureReport};
use tinhso_signing::timestamp::HttpTimestampAuthority;

use crate::common::{from_json_text, json_text};
use crate::files::FileView;

pub const RULE_NO_KEY: &str = "document.signing.no_key";
pub const RULE_NOT_PDF: &str = "document.signing.not_pdf";
pub const RULE_KEY_UNREADABLE: &str = "document.signing.key_unreadable";
pub const RULE_FAILED: &str = "document.signing.failed";

/// The largest PDF whose signatures are verified when it is stored (verification holds the
/// file in memory).
pub const MAX_VERIFIED_BYTES: i64 = 64 * 1024 * 1024;

/// One signature of a file, as the UI shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SignatureInfo {
    /// The signer's common name (Vietnamese intact).
    pub signer_name: Option<String>,
    pub organization: Option<String>,
    /// The signer certificate's serial number (hex).
    pub serial: Option<String>,
    /// The claimed signing time (`/M`), or the timestamp's when present.
    pub signing_ms: Option<i64>,
    pub timestamp: bool,
    pub timestamp_ms: Option<i64>,
    /// `valid`, `untrusted` or `invalid`.
    pub status: String,
    /// Stable codes of every problem found.
    pub problems: Vec<String>,
}

/// What verifying one stored file found.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileSignatures {
    pub file_id: i64,
    /// `valid`, `invalid`, `untrusted` or `unsigned`.
    pub status: String,
    /// The first problem's code when invalid or untrusted.
    pub problem: Option<String>,
    pub signatures: Vec<SignatureInfo>,
    /// The instant the chains were checked at.
    pub checked_at_ms: i64,
}

/// Problems that only say the signer is not (or no longer) trusted: the bytes are intact.
fn trust_only(code: &str) -> bool {
    matches!(
        code,
        "signature.untrusted" | "signature.timestamp_untrusted"
    )
}

fn info(report: &SignatureReport) -> SignatureInfo {
    let codes: Vec<String> = report.problems.iter().map(|p| p.code.to_owned()).collect();
    let status = if codes.is_empty() {
        "valid"
    } else if codes.iter().all(|c| trust_only(c)) {
        "untrusted"
    } else {
        "invalid"
    };
    let timestamp_ms = report.timestamp.as_ref().map(|t| t.time_unix * 1000);
    SignatureInfo {
        signer_name: report.signer.as_ref().map(|s| s.subject.short().to_owned()),
        organization: report
            .signer
            .as_ref()
            .and_then(|s| s.subject.organization.clone()),
        serial: report.signer.as_ref().map(|s| s.serial.clone()),
        signing_ms: timestamp_ms.or(report.signing_time_unix.map(|t| t * 1000)),
        timestamp: report.timestamp.is_some(),
        timestamp_ms,
        status: status.into(),
        problems: codes,
    }
}

/// The verdict on a PDF's bytes (pure but for the anchors passed in).
pub fn assess(pdf: &[u8], anchors: &[Vec<u8>], file_id: i64, at_ms: i64) -> FileSignatures {
    let (status, problem, signatures) = match pades::verify_pdf(pdf, anchors, at_ms / 1000) {
        Err(e) => ("invalid", Some(e.code().to_owned()), Vec::new()),
        Ok(reports) if reports.is_empty() => ("unsigned", None, Vec::new()),
        Ok(reports) => {
            let infos: Vec<SignatureInfo> = reports.iter().map(info).collect();
            let worst = if infos.iter().any(|i| i.status == "invalid") {
                "invalid"
            } else if infos.iter().any(|i| i.status == "untrusted") {
                "untrusted"
            } else {
                "valid"
            };
            let problem = infos
                .iter()
                .find(|i| i.status == worst)
                .and_then(|i| i.problems.first().cloned());
            (worst, problem, infos)
        }
    };
    FileSignatures {
        file_id,
        status: status.into(),
        problem,
        signatures,
        checked_at_ms: at_ms,
    }
}

/// The configured trust anchors (DER), read from their PEM files.
pub fn anchors(p: &Platform) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for path in &p.config.signing.trust_anchors {
        let pem = std::fs::read(path).map_err(|e| {
            Error::Config(format!(
                "signing.trust_anchors: cannot read {}: {e}",
                path.display()
            ))
        })?;
        out.extend(
            tinhso_signing::pki::certificates_from_pem(&pem).map_err(|e| {
                Error::Config(format!("signing.trust_anchors: {}: {e}", path.display()))
            })?,
        );
    }
    Ok(out)
}

async fn bytes_of(p: &Platform, file: &FileView) -> Result<Vec<u8>> {
    p.blobs
        .get(&file.sha256)
        .await?
        .ok_or_else(|| Error::Other(format!("blob of file {} is missing", file.id)))
}

/// Verifies a PDF file (other types are left alone) and stores the verdict inside `tx`.
pub(crate) async fn verify_and_store(
    p: &Platform,
    tx: &mut WriteTx,
    file: &FileView,
    anchors: &[Vec<u8>],
    at_ms: i64,
    now_ms: i64,
) -> Result<Option<FileSignatures>> {
    // PAdES verification reads the whole PDF into memory; a file above the bound (a large
    // attachment received through the exchange) gets no verdict, like a non-PDF, instead of
    // holding hundreds of megabytes.
    if file.content_type != "application/pdf" || file.size_bytes > MAX_VERIFIED_BYTES {
        return Ok(None);
    }
    let bytes = bytes_of(p, file).await?;
    let verdict = assess(&bytes, anchors, file.id, at_ms);
    store(tx, &verdict, now_ms).await?;
    Ok(Some(verdict))
}

async fn store(tx: &mut WriteTx, v: &FileSignatures, now_ms: i64) -> Result<()> {
    sqlx::query("INSERT INTO doc_file_signatures (file_id, status, problem, signatures, checked_at_ms, verified_ms) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (file_id) DO UPDATE SET status = excluded.status, problem = excluded.problem, signatures = excluded.signatures, checked_at_ms = excluded.checked_at_ms, verified_ms = excluded.verified_ms")
        .bind(v.file_id)
        .bind(&v.status)
        .bind(v.problem.clone().unwrap_or_default())
        .bind(json_text(&v.signatures)?)
        .bind(v.checked_at_ms)
        .bind(now_ms)
        .execute(&mut *tx.tx)
        .await?;
    Ok(())
}

/// The stored verdicts of `file_ids` (files never verified are absent), in that order.
pub async fn of_files(p: &Platform, file_ids: &[i64]) -> Result<Vec<FileSignatures>> {
    let mut out = Vec::new();
    for id in file_ids {
        let row = sqlx::query("SELECT status, problem, signatures, checked_at_ms FROM doc_file_signatures WHERE file_id = $1")
            .bind(id)
            .fetch_optional(p.db.pool())
            .await?;
        if let Some(r) = row {
            let problem: String = r.try_get(1)?;
            out.push(FileSignatures {
                file_id: *id,
                status: r.try_get(0)?,
                problem: Some(problem).filter(|p| !p.is_empty()),
                signatures: from_json_text(&r.try_get::<String, _>(2)?)?,
                checked_at_ms: r.try_get(3)?,
            });
        }
    }
    Ok(out)
}

fn rule(rule: &'static str, detail: impl Into<String>) -> Error {
    DomainError::invalid(detail).with_rule(rule).into()
}

/// The certificate the server signed with, as recorded on the document.
#[derive(Debug, Clone)]
pub struct ServerSigned {
    pub pdf: Vec<u8>,
    pub subject: String,
    pub common_name: Option<String>,
    pub serial: String,
}

/// The organisation's signer, from configuration; `document.signing.no_key` when none.
fn configured_signer(p: &Platform) -> Result<Pkcs12Signer> {
    let cfg = &p.config.signing;
    if cfg.pkcs12_path.as_os_str().is_empty() {
        return Err(rule(
            RULE_NO_KEY,
            "no signing key is configured (signing.pkcs12_path)",
        ));
    }
    let data = std::fs::read(&cfg.pkcs12_path).map_err(|e| {
        rule(
            RULE_KEY_UNREADABLE,
            format!("cannot read {}: {e}", cfg.pkcs12_path.display()),
        )
    })?;
    Pkcs12Signer::from_pkcs12(&data, &cfg.pkcs12_password)
        .map_err(|e| rule(RULE_KEY_UNREADABLE, format!("{}: {e}", e.code())))
}

/// Signs `pdf` with the organisation's key: PAdES B-T when a timestamp authority is
/// configured, else B-B. Checks the key before the content, so a server without a key says
/// so whatever it is given.
pub async fn sign_on_server(
    p: &Platform,
    pdf: &[u8],
    content_type: &str,
    signing_ms: i64,
    reason: &str,
) -> Result<ServerSigned> {
    let signer = configured_signer(p)?;
    if content_type != "application/pdf" {
        return Err(rule(RULE_NOT_PDF, "only a PDF is signed on the server"));
    }
    let options = SignOptions {
        signing_time_unix: signing_ms / 1000,
        reason: Some(reason.to_owned()).filter(|r| !r.is_empty()),
        location: None,
    };
    let url = &p.config.signing.timestamp_url;
    let signed = if url.is_empty() {
        pades::sign_pdf(pdf, &signer, &options)
    } else {
        let authority = HttpTimestampAuthority::new(url, std::time::Duration::from_secs(30))
            .map_err(|e| rule(RULE_FAILED, format!("{}: {e}", e.code())))?;
        pades::sign_pdf_timestamped(pdf, &signer, &options, &authority).await
    }
    .map_err(|e| rule(RULE_FAILED, format!("{}: {e}", e.code())))?;
    let leaf = tinhso_signing::signer::Signer::certificate_chain(&signer)
        .first()
        .cloned()
        .ok_or_else(|| rule(RULE_KEY_UNREADABLE, "the key file holds no certificate"))?;
    let cert = tinhso_signing::pki::CertificateInfo::from_der(&leaf)
        .map_err(|e| rule(RULE_KEY_UNREADABLE, format!("{}: {e}", e.code())))?;
    Ok(ServerSigned {
        pdf: signed,
        subject: cert.subject.full.clone(),
        common_name: cert.subject.common_name.clone(),
        serial: cert.serial,
    })
}
