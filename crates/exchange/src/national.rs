//! The national document exchange connector (trục liên thông văn bản quốc gia, VPCP).
//!
//! `NationalExchange` is the [`PackageTransport`] for [`Destination::National`] and the
//! [`InboundSource`] we poll for packages addressed to our agencies. It is modelled on the
//! VPCP SDK's Knobstick calls (`sendEdoc`, `getReceivedEdocList`, `getEdoc`,
//! `updateStatus`). **The wire format below is our reading of that SDK, not verified byte
//! for byte against the national exchange**: header names and JSON field names may need
//! adjusting once tested against the real endpoint; everything that would change is here.
//!
//! # Wire format
//!
//! Every call carries the headers `systemId` (our centre's id, e.g. `00.14.W00`) and
//! `secret` (its secret). Header values that may hold non-ASCII text (document ids such as
//! `000.00.00.H14,2026/12/01,12/QĐ-UBND`) are percent-encoded as UTF-8 (RFC 3986).
//!
//! * `POST {endpoint}/sendEdoc` — body: the edXML file, `application/octet-stream`, streamed
//!   from disk with its `Content-Length`. Headers: `from` (sending agency id), `to` (recipient
//!   agency ids, comma-separated), `servicetype` (`eDoc` | `status`), `messagetype` (`edoc` |
//!   `status`), `docId` (the document id the package is about). Answer (JSON):
//!   `{"status":"OK","docId":"<the exchange's id>","repeat":false}` or
//!   `{"status":"FAIL","errorCode":"…","errorDesc":"…"}`.
//! * `GET {endpoint}/getReceivedEdocList` — answer `{"status":"OK","data":[{"docId":"…",
//!   "from":"…","servicetype":"eDoc","messagetype":"edoc"}, …]}`, oldest first (we take the
//!   first `limit`).
//! * `GET {endpoint}/getEdoc?docId=<id>` — answer: the package bytes
//!   (`application/octet-stream`), written to the caller's file as they arrive; a JSON answer
//!   instead is a status answer (`FAIL` → refused).
//! * `POST {endpoint}/updateStatus` — JSON body `{"docId":"…","status":"processing"|"done"|
//!   "fail"}`, with `"errorCode"` and `"errorDesc"` on `fail`; answer as for `sendEdoc`.
//!
//! # Errors
//!
//! Not reached, timed out, 5xx, 408, 429, 401 (credentials: the secret may be rotated and
//! the package is not at fault) and unreadable or oversized answers are
//! [`TransportError::Retry`]. Any other 4xx, or a `FAIL` answer, is
//! [`TransportError::Rejected`] with the exchange's `errorCode` (or
//! `exchange.national.http_<status>` when it gave none). A secret is sent as configured, not
//! exchanged for a token, so there is no re-login.
//!
//! Answers other than packages are read up to a bound ([`MAX_ANSWER_BYTES`],
//! [`MAX_LIST_BYTES`]); a package up to [`MAX_PACKAGE_BYTES`].

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use crate::transport::{
    Acknowledgement, DeliveryReceipt, Destination, InboundSource, MessageType, OutgoingPackage,
    PackageTransport, TransportError, WaitingPackage,
};

/// Connect and read timeout of a connector built from the configuration.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest package `fetch` writes (the edXML limit the exchange itself keeps is lower).
pub const MAX_PACKAGE_BYTES: u64 = 1 << 30;
/// The largest JSON answer read from `sendEdoc`, `updateStatus` or an error.
pub const MAX_ANSWER_BYTES: usize = 64 << 10;
/// The largest list answer read from `getReceivedEdocList`.
pub const MAX_LIST_BYTES: usize = 8 << 20;

/// What characters stay as they are in a percent-encoded header value.
const HEADER_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'.')
    .remove(b'-')
    .remove(b'_')
    .remove(b'/')
    .remove(b',');

/// `[exchange.national]`: where the national exchange is and who we are to it.
#[derive(Clone)]
pub struct NationalSettings {
    /// Base URL, e.g. `https://…/XrdAdapter/adapter` (a trailing `/` is ignored).
    pub endpoint: String,
    /// Our centre's id at the national exchange.
    pub system_id: String,
    pub secret: String,
    /// Bounds connecting and each wait for data (not a whole transfer).
    pub timeout: Duration,
}

impl std::fmt::Debug for NationalSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NationalSettings")
            .field("endpoint", &self.endpoint)
            .field("system_id", &self.system_id)
            .field("secret", &"[redacted]")
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why the connector could not be built.
#[derive(Debug, thiserror::Error)]
pub enum NationalError {
    #[error("bad national exchange settings: {0}")]
    Settings(String),
    #[error("HTTPS client could not be built: {0}")]
    Client(String),
}

impl NationalError {
    pub fn code(&self) -> &'static str {
        match self {
            NationalError::Settings(_) => "exchange.national.settings",
            NationalError::Client(_) => "exchange.national.client",
        }
    }
}

/// The national exchange over HTTPS (see the module documentation for the wire format).
#[derive(Debug, Clone)]
pub struct NationalExchange {
    settings: NationalSettings,
    http: reqwest::Client,
}

/// The exchange's answer to everything but a package.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Answer {
    status: String,
    #[serde(rename = "docId")]
    doc_id: String,
    repeat: bool,
    #[serde(rename = "errorCode")]
    error_code: String,
    #[serde(rename = "errorDesc")]
    error_desc: String,
    data: Vec<ListedPackage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListedPackage {
    #[serde(rename = "docId")]
    doc_id: String,
    from: String,
    servicetype: String,
    messagetype: String,
}

#[derive(Debug, Serialize)]
struct StatusUpdate<'a> {
    #[serde(rename = "docId")]
    doc_id: &'a str,
    status: &'a str,
    #[serde(rename = "errorCode", skip_serializing_if = "Option::is_none")]
    error_code: Option<&'a str>,
    #[serde(rename = "errorDesc", skip_serializing_if = "Option::is_none")]
    error_desc: Option<&'a str>,
}

impl NationalExchange {
    /// The connector with its own HTTPS client (system roots, rustls).
    pub fn new(settings: NationalSettings) -> Result<NationalExchange, NationalError> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.timeout)
            .read_timeout(settings.timeout)
            .build()
            .map_err(|e| NationalError::Client(e.to_string()))?;
        NationalExchange::with_client(settings, http)
    }

    /// The connector over a given client (e.g. `tls::client` where the national exchange
    /// asks for a client certificate).
    pub fn with_client(
        mut settings: NationalSettings,
        http: reqwest::Client,
    ) -> Result<NationalExchange, NationalError> {
        let endpoint = settings.endpoint.trim_end_matches('/').to_string();
        if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
            return Err(NationalError::Settings(format!(
                "endpoint {endpoint:?} is not an http(s) URL"
            )));
        }
        if settings.system_id.is_empty() || settings.secret.is_empty() {
            return Err(NationalError::Settings(
                "system_id and secret are required".to_string(),
            ));
        }
        settings.endpoint = endpoint;
        Ok(NationalExchange { settings, http })
    }

    /// The connector of `[exchange.national]`, or `None` when it is not enabled.
    pub fn from_config(
        c: &tinhso_platform::config::ExchangeNationalConfig,
    ) -> Result<Option<NationalExchange>, NationalError> {
        if !c.enabled {
            return Ok(None);
        }
        NationalExchange::new(NationalSettings {
            endpoint: c.endpoint.clone(),
            system_id: c.system_id.clone(),
            secret: c.secret.clone(),
            timeout: DEFAULT_TIMEOUT,
        })
        .map(Some)
    }

    /// Reports that we took a package and are still working on it (`processing`).
    pub async fn mark_processing(&self, reference: &str) -> Result<(), TransportError> {
        self.update_status(reference, "processing", None, None)
            .await
    }

    fn request(&self, method: reqwest::Method, call: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}/{call}", self.settings.endpoint))
            .header("systemId", encode(&self.settings.system_id))
            .header("secret", encode(&self.settings.secret))
    }

    async fn update_status(
        &self,
        reference: &str,
        status: &str,
        error_code: Option<&str>,
        error_desc: Option<&str>,
    ) -> Result<(), TransportError> {
        let request = self
            .request(reqwest::Method::POST, "updateStatus")
            .json(&StatusUpdate {
                doc_id: reference,
                status,
                error_code,
                error_desc,
            });
        let response = send(request, "updateStatus").await?;
        answer(response, MAX_ANSWER_BYTES, "updateStatus")
            .await
            .map(|_| ())
    }
}

#[async_trait]
impl PackageTransport for NationalExchange {
    async fn deliver(
        &self,
        destination: &Destination,
        package: &OutgoingPackage<'_>,
    ) -> Result<DeliveryReceipt, TransportError> {
        if *destination != Destination::National {
            return Err(TransportError::Rejected {
                code: "exchange.national.destination".to_string(),
                detail: format!("the national connector cannot deliver to {destination:?}"),
            });
        }
        let file = tokio::fs::File::open(package.file).await.map_err(|e| {
            TransportError::Retry(format!(
                "exchange.national.file: {}: {e}",
                package.file.display()
            ))
        })?;
        let servicetype = match package.message_type {
            MessageType::Edoc => "eDoc",
            MessageType::Status => "status",
        };
        let to = package
            .to_organ_ids
            .iter()
            .map(|id| encode(id))
            .collect::<Vec<_>>()
            .join(",");
        let request = self
            .request(reqwest::Method::POST, "sendEdoc")
            .header("from", encode(package.from_organ_id))
            .header("to", to)
            .header("servicetype", servicetype)
            .header("messagetype", package.message_type.as_str())
            .header("docId", encode(package.document_id))
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .header(reqwest::header::CONTENT_LENGTH, package.size_bytes)
            .body(reqwest::Body::from(file));
        let response = send(request, "sendEdoc").await?;
        let answer = answer(response, MAX_ANSWER_BYTES, "sendEdoc").await?;
        if answer.doc_id.is_empty() {
            // Accepted without saying under what id: we cannot fetch or track it, but it is
            // there; a repeat is recognised by the document id.
            tracing::warn!(
                document_id = package.document_id,
                "sendEdoc: no docId in the answer"
            );
        }
        Ok(DeliveryReceipt {
            reference: answer.doc_id,
            repeat: answer.repeat,
            detail: if answer.error_desc.is_empty() {
                answer.status
            } else {
                answer.error_desc
            },
        })
    }
}

#[async_trait]
impl InboundSource for NationalExchange {
    async fn waiting(&self, limit: usize) -> Result<Vec<WaitingPackage>, TransportError> {
        let request = self.request(reqwest::Method::GET, "getReceivedEdocList");
        let response = send(request, "getReceivedEdocList").await?;
        let answer = answer(response, MAX_LIST_BYTES, "getReceivedEdocList").await?;
        Ok(answer
            .data
            .into_iter()
            .filter_map(|listed| {
                let message_type =
                    MessageType::parse(&listed.messagetype).or(match listed.servicetype.as_str() {
                        "eDoc" => Some(MessageType::Edoc),
                        "status" => Some(MessageType::Status),
                        _ => None,
                    });
                match message_type {
                    Some(message_type) if !listed.doc_id.is_empty() => Some(WaitingPackage {
                        reference: listed.doc_id,
                        from_organ_id: listed.from,
                        message_type,
                    }),
                    // Nothing we could fetch or acknowledge: left for the exchange's operators.
                    _ => {
                        tracing::warn!(?listed, "getReceivedEdocList: unusable entry skipped");
                        None
                    }
                }
            })
            .take(limit)
            .collect())
    }

    async fn fetch(&self, reference: &str, into: &Path) -> Result<(), TransportError> {
        let request = self
            .request(reqwest::Method::GET, "getEdoc")
            .query(&[("docId", reference)]);
        let mut response = send(request, "getEdoc").await?;
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if is_json {
            let answer = answer(response, MAX_ANSWER_BYTES, "getEdoc").await?;
            return Err(TransportError::Retry(format!(
                "exchange.national.no_package: getEdoc answered {:?} without a package",
                answer.status
            )));
        }
        if response
            .content_length()
            .is_some_and(|length| length > MAX_PACKAGE_BYTES)
        {
            return Err(too_large("getEdoc"));
        }
        let local = |e: std::io::Error| {
            TransportError::Retry(format!("exchange.national.file: {}: {e}", into.display()))
        };
        let mut file = tokio::fs::File::create(into).await.map_err(local)?;
        let mut written = 0u64;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| unreachable("getEdoc", &e))?
        {
            written += chunk.len() as u64;
            if written > MAX_PACKAGE_BYTES {
                return Err(too_large("getEdoc"));
            }
            file.write_all(&chunk).await.map_err(local)?;
        }
        // Durable before the caller acknowledges it as done.
        file.sync_all().await.map_err(local)?;
        Ok(())
    }

    async fn acknowledge(
        &self,
        reference: &str,
        outcome: &Acknowledgement,
    ) -> Result<(), TransportError> {
        match outcome {
            Acknowledgement::Done => self.update_status(reference, "done", None, None).await,
            Acknowledgement::Failed { code, detail } => {
                self.update_status(reference, "fail", Some(code), Some(detail))
                    .await
            }
        }
    }
}

fn encode(value: &str) -> String {
    utf8_percent_encode(value, HEADER_VALUE).to_string()
}

fn unreachable(call: &str, error: &reqwest::Error) -> TransportError {
    // The chain names the cause (refused, timed out, TLS) beyond reqwest's summary.
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    TransportError::Retry(format!("exchange.national.unreachable: {call}: {message}"))
}

fn too_large(call: &str) -> TransportError {
    TransportError::Retry(format!(
        "exchange.national.answer_too_large: {call} answered more than allowed"
    ))
}

async fn send(
    request: reqwest::RequestBuilder,
    call: &str,
) -> Result<reqwest::Response, TransportError> {
    let response = request.send().await.map_err(|e| unreachable(call, &e))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry = status.is_server_error()
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
        || status == reqwest::StatusCode::UNAUTHORIZED;
    let body = read_bounded(response, MAX_ANSWER_BYTES, call)
        .await
        .unwrap_or_default();
    let answer: Answer = serde_json::from_slice(&body).unwrap_or_default();
    let detail = if answer.error_desc.is_empty() {
        String::from_utf8_lossy(&body).chars().take(500).collect()
    } else {
        answer.error_desc
    };
    if retry {
        let code = if status == reqwest::StatusCode::UNAUTHORIZED {
            "exchange.national.unauthorized".to_string()
        } else {
            format!("exchange.national.http_{}", status.as_u16())
        };
        return Err(TransportError::Retry(format!("{code}: {call}: {detail}")));
    }
    Err(TransportError::Rejected {
        code: if answer.error_code.is_empty() {
            format!("exchange.national.http_{}", status.as_u16())
        } else {
            answer.error_code
        },
        detail,
    })
}

/// A 2xx JSON answer: `OK` passes, `FAIL` is the exchange refusing.
async fn answer(
    response: reqwest::Response,
    max: usize,
    call: &str,
) -> Result<Answer, TransportError> {
    let body = read_bounded(response, max, call).await?;
    let answer: Answer = serde_json::from_slice(&body).map_err(|e| {
        TransportError::Retry(format!(
            "exchange.national.bad_answer: {call}: unreadable answer: {e}"
        ))
    })?;
    if answer.status.eq_ignore_ascii_case("OK") {
        Ok(answer)
    } else if answer.status.eq_ignore_ascii_case("FAIL") {
        Err(TransportError::Rejected {
            code: if answer.error_code.is_empty() {
                "exchange.national.fail".to_string()
            } else {
                answer.error_code
            },
            detail: answer.error_desc,
        })
    } else {
        Err(TransportError::Retry(format!(
            "exchange.national.bad_answer: {call}: status {:?}",
            answer.status
        )))
    }
}

async fn read_bounded(
    mut response: reqwest::Response,
    max: usize,
    call: &str,
) -> Result<Vec<u8>, TransportError> {
    if response
        .content_length()
        .is_some_and(|length| length > max as u64)
    {
        return Err(too_large(call));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(call, &e))? {
        if body.len() + chunk.len() > max {
            return Err(too_large(call));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
