//! The national exchange connector against an imitation of the national exchange (axum on
//! 127.0.0.1) that checks credentials and headers, stores what is sent and serves what waits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tinhso_exchange::national::{NationalExchange, NationalSettings};
use tinhso_exchange::transport::{
    Acknowledgement, Destination, InboundSource, MessageType, OutgoingPackage, PackageTransport,
    TransportError,
};

const SYSTEM_ID: &str = "00.14.W00";
const SECRET: &str = "bí-mật-của-trục";
const DOC_ID: &str = "000.00.00.H14,2026/12/01,12/QĐ-UBND";

#[derive(Debug, Clone)]
struct Sent {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

#[derive(Debug, Clone)]
struct Waiting {
    doc_id: String,
    from: String,
    messagetype: String,
    body: Vec<u8>,
}

#[derive(Default)]
struct Inner {
    sent: Vec<Sent>,
    waiting: Vec<Waiting>,
    statuses: Vec<serde_json::Value>,
    /// When set, every call answers this status and body.
    fault: Option<(StatusCode, String)>,
}

#[derive(Clone, Default)]
struct Imitation(Arc<Mutex<Inner>>);

fn decoded(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?;
    Some(
        percent_encoding::percent_decode_str(value)
            .decode_utf8()
            .ok()?
            .into_owned(),
    )
}

fn json(status: StatusCode, value: serde_json::Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        value.to_string(),
    )
        .into_response()
}

impl Imitation {
    /// The credentials check and the injected fault every call goes through first.
    fn gate(&self, headers: &HeaderMap) -> Option<Response> {
        if let Some((status, body)) = self.0.lock().unwrap().fault.clone() {
            return Some((status, body).into_response());
        }
        if decoded(headers, "systemId").as_deref() != Some(SYSTEM_ID)
            || decoded(headers, "secret").as_deref() != Some(SECRET)
        {
            return Some(json(
                StatusCode::UNAUTHORIZED,
                serde_json::json!({"status": "FAIL", "errorCode": "AUTH", "errorDesc": "sai systemId hoặc secret"}),
            ));
        }
        None
    }
}

async fn send_edoc(State(x): State<Imitation>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = x.gate(&headers) {
        return refused;
    }
    assert_eq!(
        headers.get("content-type").unwrap(),
        "application/octet-stream"
    );
    let mut seen = HashMap::new();
    for name in [
        "from",
        "to",
        "servicetype",
        "messagetype",
        "docId",
        "content-length",
    ] {
        match decoded(&headers, name) {
            Some(value) => {
                seen.insert(name.to_string(), value);
            }
            None => {
                return json(
                    StatusCode::BAD_REQUEST,
                    serde_json::json!({"status": "FAIL", "errorCode": "MISSING_HEADER", "errorDesc": name}),
                );
            }
        }
    }
    let mut inner = x.0.lock().unwrap();
    let repeat = inner
        .sent
        .iter()
        .any(|s| s.headers["docId"] == seen["docId"]);
    inner.sent.push(Sent {
        headers: seen,
        body: body.to_vec(),
    });
    let id = format!("VPCP-{}", inner.sent.len());
    json(
        StatusCode::OK,
        serde_json::json!({"status": "OK", "docId": id, "repeat": repeat}),
    )
}

async fn received_list(State(x): State<Imitation>, headers: HeaderMap) -> Response {
    if let Some(refused) = x.gate(&headers) {
        return refused;
    }
    let inner = x.0.lock().unwrap();
    let data: Vec<_> = inner
        .waiting
        .iter()
        .map(|w| {
            serde_json::json!({
                "docId": w.doc_id, "from": w.from, "messagetype": w.messagetype,
                "servicetype": if w.messagetype == "edoc" { "eDoc" } else { "status" },
            })
        })
        .collect();
    json(
        StatusCode::OK,
        serde_json::json!({"status": "OK", "data": data}),
    )
}

async fn get_edoc(
    State(x): State<Imitation>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let wanted = query
        .as_deref()
        .and_then(|q| q.strip_prefix("docId="))
        .map(|v| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8()
                .unwrap()
                .into_owned()
        });
    if let Some(refused) = x.gate(&headers) {
        return refused;
    }
    let inner = x.0.lock().unwrap();
    match inner
        .waiting
        .iter()
        .find(|w| Some(&w.doc_id) == wanted.as_ref())
    {
        Some(w) => (
            [("content-type", "application/octet-stream")],
            Body::from(w.body.clone()),
        )
            .into_response(),
        None => json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"status": "FAIL", "errorCode": "NOT_FOUND", "errorDesc": "không có gói tin"}),
        ),
    }
}

async fn update_status(State(x): State<Imitation>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = x.gate(&headers) {
        return refused;
    }
    let update: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let mut inner = x.0.lock().unwrap();
    let doc_id = update["docId"].as_str().unwrap().to_string();
    if !inner.waiting.iter().any(|w| w.doc_id == doc_id) {
        return json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"status": "FAIL", "errorCode": "NOT_FOUND", "errorDesc": doc_id}),
        );
    }
    if matches!(update["status"].as_str(), Some("done" | "fail")) {
        inner.waiting.retain(|w| w.doc_id != doc_id);
    }
    inner.statuses.push(update);
    json(StatusCode::OK, serde_json::json!({"status": "OK"}))
}

struct Running {
    imitation: Imitation,
    endpoint: String,
}

async fn start() -> Running {
    let imitation = Imitation::default();
    let app = Router::new()
        .route("/adapter/sendEdoc", post(send_edoc))
        .route("/adapter/getReceivedEdocList", get(received_list))
        .route("/adapter/getEdoc", get(get_edoc))
        .route("/adapter/updateStatus", post(update_status))
        .with_state(imitation.clone())
        // Packages are larger than axum's default 2 MB limit.
        .layer(axum::extract::DefaultBodyLimit::disable());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/adapter/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Running {
        imitation,
        endpoint,
    }
}

fn connector(endpoint: &str, secret: &str) -> NationalExchange {
    NationalExchange::new(NationalSettings {
        endpoint: endpoint.to_string(),
        system_id: SYSTEM_ID.to_string(),
        secret: secret.to_string(),
        timeout: Duration::from_secs(5),
    })
    .unwrap()
}

fn package_bytes(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 13 % 256) as u8).collect()
}

struct PackageFile {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    bytes: Vec<u8>,
}

fn package_file(size: usize) -> PackageFile {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("package.edxml");
    let bytes = package_bytes(size);
    std::fs::write(&path, &bytes).unwrap();
    PackageFile {
        _dir: dir,
        path,
        bytes,
    }
}

async fn deliver(
    national: &NationalExchange,
    file: &PackageFile,
    message_type: MessageType,
) -> Result<tinhso_exchange::transport::DeliveryReceipt, TransportError> {
    let to = vec!["000.00.00.G22".to_string(), "000.00.00.H41".to_string()];
    national
        .deliver(
            &Destination::National,
            &OutgoingPackage {
                from_organ_id: "000.00.00.H14",
                to_organ_ids: &to,
                message_type,
                document_id: DOC_ID,
                package_key: "package-1",
                file: &file.path,
                size_bytes: file.bytes.len() as u64,
            },
        )
        .await
}

#[tokio::test]
async fn a_package_is_sent_with_its_headers_and_credentials_and_stored_intact() {
    let running = start().await;
    let national = connector(&running.endpoint, SECRET);
    let file = package_file(3 << 20);
    let receipt = deliver(&national, &file, MessageType::Edoc).await.unwrap();
    assert_eq!(receipt.reference, "VPCP-1");
    assert!(!receipt.repeat);
    // A status package about the same document, and the exchange calling a resend a repeat.
    let status = package_file(2_000);
    let receipt = deliver(&national, &status, MessageType::Status)
        .await
        .unwrap();
    assert!(receipt.repeat);

    let inner = running.imitation.0.lock().unwrap();
    assert_eq!(inner.sent.len(), 2);
    let sent = &inner.sent[0];
    assert_eq!(sent.body, file.bytes);
    assert_eq!(sent.headers["from"], "000.00.00.H14");
    assert_eq!(sent.headers["to"], "000.00.00.G22,000.00.00.H41");
    assert_eq!(sent.headers["servicetype"], "eDoc");
    assert_eq!(sent.headers["messagetype"], "edoc");
    assert_eq!(sent.headers["docId"], DOC_ID);
    assert_eq!(sent.headers["content-length"], (3 << 20).to_string());
    assert_eq!(inner.sent[1].headers["servicetype"], "status");
    assert_eq!(inner.sent[1].headers["messagetype"], "status");
    assert_eq!(inner.sent[1].body, status.bytes);
}

#[tokio::test]
async fn waiting_packages_are_polled_fetched_and_acknowledged() {
    let running = start().await;
    {
        let mut inner = running.imitation.0.lock().unwrap();
        for (i, messagetype) in ["edoc", "status", "edoc"].iter().enumerate() {
            inner.waiting.push(Waiting {
                doc_id: format!("vpcp-{i}"),
                from: format!("000.00.0{i}.H41"),
                messagetype: messagetype.to_string(),
                body: package_bytes(100_000 + i),
            });
        }
    }
    let national = connector(&running.endpoint, SECRET);

    // Bounded by the limit, oldest first.
    let waiting = national.waiting(2).await.unwrap();
    assert_eq!(waiting.len(), 2);
    assert_eq!(waiting[0].reference, "vpcp-0");
    assert_eq!(waiting[0].from_organ_id, "000.00.00.H41");
    assert_eq!(waiting[0].message_type, MessageType::Edoc);
    assert_eq!(waiting[1].message_type, MessageType::Status);

    let dir = tempfile::tempdir().unwrap();
    let into = dir.path().join("received.edxml");
    national.fetch("vpcp-0", &into).await.unwrap();
    assert_eq!(std::fs::read(&into).unwrap(), package_bytes(100_000));
    national.fetch("vpcp-1", &into).await.unwrap();
    assert_eq!(std::fs::read(&into).unwrap(), package_bytes(100_001));

    national.mark_processing("vpcp-0").await.unwrap();
    national
        .acknowledge("vpcp-0", &Acknowledgement::Done)
        .await
        .unwrap();
    national
        .acknowledge(
            "vpcp-1",
            &Acknowledgement::Failed {
                code: "edxml.signature.digest_mismatch".to_string(),
                detail: "chữ ký không khớp".to_string(),
            },
        )
        .await
        .unwrap();

    let remaining = national.waiting(10).await.unwrap();
    assert_eq!(
        remaining
            .iter()
            .map(|w| w.reference.as_str())
            .collect::<Vec<_>>(),
        ["vpcp-2"]
    );
    {
        let inner = running.imitation.0.lock().unwrap();
        assert_eq!(
            inner.statuses,
            [
                serde_json::json!({"docId": "vpcp-0", "status": "processing"}),
                serde_json::json!({"docId": "vpcp-0", "status": "done"}),
                serde_json::json!({"docId": "vpcp-1", "status": "fail",
                    "errorCode": "edxml.signature.digest_mismatch", "errorDesc": "chữ ký không khớp"}),
            ]
        );
    }
    // Gone once acknowledged: the exchange's 404 with its code is a refusal, not a retry.
    let error = national.fetch("vpcp-0", &into).await.unwrap_err();
    assert!(
        matches!(&error, TransportError::Rejected { code, .. } if code == "NOT_FOUND"),
        "{error:?}"
    );
    let error = national
        .acknowledge("vpcp-0", &Acknowledgement::Done)
        .await
        .unwrap_err();
    assert!(
        matches!(error, TransportError::Rejected { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_wrong_secret_is_an_error_to_retry_after_fixing_the_configuration() {
    let running = start().await;
    let national = connector(&running.endpoint, "sai");
    let file = package_file(1_000);
    let error = deliver(&national, &file, MessageType::Edoc)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, TransportError::Retry(m) if m.starts_with("exchange.national.unauthorized")),
        "{error:?}"
    );
    let error = national.waiting(10).await.unwrap_err();
    assert!(matches!(error, TransportError::Retry(_)), "{error:?}");
    assert!(running.imitation.0.lock().unwrap().sent.is_empty());
}

#[tokio::test]
async fn an_exchange_that_is_down_is_retried() {
    // A port that was just free: nothing listens on it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}/adapter", listener.local_addr().unwrap());
    drop(listener);
    let national = connector(&endpoint, SECRET);
    let file = package_file(1_000);
    let error = deliver(&national, &file, MessageType::Edoc)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, TransportError::Retry(m) if m.starts_with("exchange.national.unreachable")),
        "{error:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        national.fetch("x", &dir.path().join("x")).await,
        Err(TransportError::Retry(_))
    ));
    assert!(matches!(
        national.acknowledge("x", &Acknowledgement::Done).await,
        Err(TransportError::Retry(_))
    ));
}

#[tokio::test]
async fn server_errors_are_retried_and_refusals_carry_the_exchange_code() {
    let running = start().await;
    let national = connector(&running.endpoint, SECRET);
    let file = package_file(1_000);
    let fault = |status: StatusCode, body: &str| {
        running.imitation.0.lock().unwrap().fault = Some((status, body.to_string()));
    };

    for status in [
        StatusCode::INTERNAL_SERVER_ERROR,
        StatusCode::BAD_GATEWAY,
        StatusCode::TOO_MANY_REQUESTS,
    ] {
        fault(status, "bận");
        let error = deliver(&national, &file, MessageType::Edoc)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, TransportError::Retry(m) if m.contains(&format!("http_{}", status.as_u16()))),
            "{status}: {error:?}"
        );
    }

    fault(
        StatusCode::BAD_REQUEST,
        r#"{"status":"FAIL","errorCode":"EDXML_INVALID","errorDesc":"thiếu MessageHeader"}"#,
    );
    let error = deliver(&national, &file, MessageType::Edoc)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        TransportError::Rejected {
            code: "EDXML_INVALID".to_string(),
            detail: "thiếu MessageHeader".to_string()
        }
    );
    // A 4xx without a code still refuses, under the HTTP status.
    fault(StatusCode::UNPROCESSABLE_ENTITY, "no");
    let error = deliver(&national, &file, MessageType::Edoc)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, TransportError::Rejected { code, .. } if code == "exchange.national.http_422"),
        "{error:?}"
    );
    // A 200 saying FAIL is a refusal too; an unreadable 200 is retried (outcome unknown).
    fault(
        StatusCode::OK,
        r#"{"status":"FAIL","errorCode":"RECEIVER_UNKNOWN","errorDesc":"x"}"#,
    );
    let error = deliver(&national, &file, MessageType::Edoc)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, TransportError::Rejected { code, .. } if code == "RECEIVER_UNKNOWN"),
        "{error:?}"
    );
    fault(StatusCode::OK, "<html>proxy</html>");
    let error = deliver(&national, &file, MessageType::Edoc)
        .await
        .unwrap_err();
    assert!(matches!(error, TransportError::Retry(_)), "{error:?}");
    // An oversized answer is not read to the end.
    fault(StatusCode::OK, &"x".repeat(200_000));
    let error = deliver(&national, &file, MessageType::Edoc)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, TransportError::Retry(m) if m.starts_with("exchange.national.answer_too_large")),
        "{error:?}"
    );

    // Recovered: the same package goes through.
    running.imitation.0.lock().unwrap().fault = None;
    assert!(deliver(&national, &file, MessageType::Edoc).await.is_ok());
}

#[test]
fn settings_are_checked_and_the_secret_is_not_printed() {
    let settings = NationalSettings {
        endpoint: "ftp://x".to_string(),
        system_id: SYSTEM_ID.to_string(),
        secret: SECRET.to_string(),
        timeout: Duration::from_secs(1),
    };
    assert!(!format!("{settings:?}").contains(SECRET));
    let error = NationalExchange::new(settings.clone()).unwrap_err();
    assert_eq!(error.code(), "exchange.national.settings");
    let error = NationalExchange::new(NationalSettings {
        endpoint: "https://vdxp.example/adapter".to_string(),
        secret: String::new(),
        ..settings
    })
    .unwrap_err();
    assert_eq!(error.code(), "exchange.national.settings");
}
