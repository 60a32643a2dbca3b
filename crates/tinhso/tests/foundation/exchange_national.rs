//! The national document exchange, end to end on a real instance: an imitation of the
//! national exchange on 127.0.0.1 (credentials checked, sent packages kept, waiting packages
//! served and acknowledged) receives what the sending worker routes `National` and hands
//! the poller packages addressed to this installation, which the receive pipeline registers
//! (DONE) or refuses with its code (FAIL), storing nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tinhso_exchange::national::NationalExchange;
use tinhso_exchange::transport::PackageTransport;
use tinhso_platform::config::ExchangeNationalConfig;
use tinhso_signing::test_ca::pem;

use super::exchange::{NHA_TRANG, SENDER, header, package, pki, signer, stored};
use super::support::{Backend, TestApp};
use crate::both;

const SYSTEM_ID: &str = "00.32.W00";
const SECRET: &str = "bí-mật-của-trục";
/// Hà Nội's people's committee: not an agency here and no peer serves it.
const HA_NOI: &str = "000.00.00.H26";

/// What the imitation holds: packages sent to it (headers, bytes), packages waiting for us
/// (id → bytes, in order), the status updates it was sent.
#[derive(Default)]
struct Inner {
    sent: Vec<(HashMap<String, String>, Vec<u8>)>,
    waiting: Vec<(String, String, Vec<u8>)>,
    statuses: Vec<Value>,
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

fn answer(status: StatusCode, value: Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// Every call must carry our system id and secret.
fn gate(headers: &HeaderMap) -> Option<Response> {
    (decoded(headers, "systemId").as_deref() != Some(SYSTEM_ID)
        || decoded(headers, "secret").as_deref() != Some(SECRET))
    .then(|| {
        answer(
            StatusCode::UNAUTHORIZED,
            json!({"status": "FAIL", "errorCode": "AUTH", "errorDesc": "sai systemId hoặc secret"}),
        )
    })
}

async fn send_edoc(State(x): State<Imitation>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = gate(&headers) {
        return refused;
    }
    let seen = ["from", "to", "servicetype", "messagetype", "docId"]
        .into_iter()
        .filter_map(|name| Some((name.to_string(), decoded(&headers, name)?)))
        .collect::<HashMap<_, _>>();
    let mut inner = x.0.lock().unwrap();
    inner.sent.push((seen, body.to_vec()));
    let id = format!("VPCP-OUT-{}", inner.sent.len());
    answer(StatusCode::OK, json!({"status": "OK", "docId": id}))
}

async fn received_list(State(x): State<Imitation>, headers: HeaderMap) -> Response {
    if let Some(refused) = gate(&headers) {
        return refused;
    }
    let data: Vec<Value> =
        x.0.lock()
            .unwrap()
            .waiting
            .iter()
            .map(|(id, from, _)| json!({"docId": id, "from": from, "servicetype": "eDoc", "messagetype": "edoc"}))
            .collect();
    answer(StatusCode::OK, json!({"status": "OK", "data": data}))
}

async fn get_edoc(
    State(x): State<Imitation>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let wanted = query
        .as_deref()
        .and_then(|q| q.strip_prefix("docId="))
        .and_then(|v| percent_encoding::percent_decode_str(v).decode_utf8().ok())
        .map(|v| v.into_owned());
    if let Some(refused) = gate(&headers) {
        return refused;
    }
    let inner = x.0.lock().unwrap();
    match inner
        .waiting
        .iter()
        .find(|(id, _, _)| wanted.as_ref() == Some(id))
    {
        Some((_, _, body)) => (
            [("content-type", "application/octet-stream")],
            Body::from(body.clone()),
        )
            .into_response(),
        None => answer(
            StatusCode::NOT_FOUND,
            json!({"status": "FAIL", "errorCode": "NOT_FOUND"}),
        ),
    }
}

async fn update_status(State(x): State<Imitation>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = gate(&headers) {
        return refused;
    }
    let update: Value = serde_json::from_slice(&body).unwrap();
    let mut inner = x.0.lock().unwrap();
    let id = update["docId"].as_str().unwrap_or_default().to_string();
    if matches!(update["status"].as_str(), Some("done" | "fail")) {
        inner.waiting.retain(|(w, _, _)| *w != id);
    }
    inner.statuses.push(update);
    answer(StatusCode::OK, json!({"status": "OK"}))
}

/// Starts the imitation; returns it and its endpoint.
async fn imitation() -> (Imitation, String) {
    let x = Imitation::default();
    let app = Router::new()
        .route("/adapter/sendEdoc", post(send_edoc))
        .route("/adapter/getReceivedEdocList", get(received_list))
        .route("/adapter/getEdoc", get(get_edoc))
        .route("/adapter/updateStatus", post(update_status))
        .with_state(x.clone())
        .layer(axum::extract::DefaultBodyLimit::disable());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/adapter", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (x, endpoint)
}

async fn national_exchange(backend: Backend) {
    use tinhso_documents::outgoing::{self, RecipientChange, RecipientInput};
    let keys = tempfile::tempdir().unwrap();
    let anchor = keys.path().join("ca.pem");
    std::fs::write(&anchor, pem(&pki().ca.certificate_der).unwrap()).unwrap();
    let p12 = keys.path().join("signer.p12");
    std::fs::write(&p12, pki().pkcs12(&pki().signer).unwrap()).unwrap();
    let (x, endpoint) = imitation().await;

    // A: the demo installation, its key, no peers, the national exchange enabled.
    let national = ExchangeNationalConfig {
        enabled: true,
        endpoint,
        system_id: SYSTEM_ID.into(),
        secret: SECRET.into(),
    };
    let config = national.clone();
    let (a_anchor, a_p12) = (anchor.clone(), p12.clone());
    let a = TestApp::start_with(backend, move |c| {
        c.signing.trust_anchors = vec![a_anchor];
        c.signing.pkcs12_path = a_p12;
        c.signing.pkcs12_password = tinhso_signing::test_ca::TEST_PASSWORD.into();
        c.exchange.max_package_bytes = 2 * 1024 * 1024;
        c.exchange.national = config;
    })
    .await;
    a.clock.set("2026-03-02T08:30:00+07:00");
    let p = &a.platform;
    assert!(tinhso_documents::demo::seed(p).await.unwrap());
    let system = tinhso_platform::Ctx::system(p.now_ms());
    let reply = outgoing::list(p, &system, NHA_TRANG)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.code.is_some())
        .expect("the demo's released reply");
    outgoing::change_recipients(
        p,
        &system,
        reply.id,
        &RecipientChange {
            add: vec![RecipientInput {
                organ_id: HA_NOI.into(),
                organ_name: "Ủy ban nhân dân thành phố Hà Nội".into(),
            }],
            remove: vec![],
        },
    )
    .await
    .unwrap();
    a.clock.set(&chrono::Utc::now().to_rfc3339());

    // Sending: the recipient is routed National and delivered through the connector serve
    // builds from the configuration.
    let connector = Arc::new(NationalExchange::from_config(&national).unwrap().unwrap());
    let as_transport: Arc<dyn PackageTransport> = connector.clone();
    let transports = tinhso_exchange::send::Transports {
        // No peers are configured: the peer transport is never asked.
        peer: as_transport.clone(),
        national: Some(as_transport),
    };
    assert_eq!(
        tinhso_exchange::send::send_due(p, &transports)
            .await
            .unwrap(),
        1
    );
    let (status, detail): (String, String) = sqlx::query_as(
        "SELECT transport_status, transport_detail FROM doc_recipients WHERE outgoing_id = $1 AND organ_id = $2",
    )
    .bind(reply.id)
    .bind(HA_NOI)
    .fetch_one(p.db.pool())
    .await
    .unwrap();
    assert_eq!(status, "DONE", "{detail}");
    assert!(detail.contains("VPCP-OUT-1"), "{detail}");
    let (headers, bytes) = x.0.lock().unwrap().sent[0].clone();
    assert_eq!(headers["from"], NHA_TRANG);
    assert_eq!(headers["to"], HA_NOI);
    assert_eq!(headers["servicetype"], "eDoc");
    assert_eq!(headers["messagetype"], "edoc");
    assert!(headers["docId"].starts_with(NHA_TRANG), "{headers:?}");
    // The stored bytes are the package as signed, by A's key.
    let verified = tinhso_edxml::dsig::verify_enveloped(std::io::Cursor::new(&bytes)).unwrap();
    assert_eq!(verified.certificate, pki().signer.certificate_der);
    let peer: String = sqlx::query_scalar(
        "SELECT peer FROM exchange_log WHERE direction = 'out' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(p.db.pool())
    .await
    .unwrap();
    assert_eq!(peer, "national");
    assert_eq!(
        tinhso_exchange::send::send_due(p, &transports)
            .await
            .unwrap(),
        0
    );

    // Receiving: a package of another province waiting for A's ward is fetched,
    // registered and acknowledged done.
    let dir = tempfile::tempdir().unwrap();
    let s = signer(pki());
    let good = std::fs::read(package(
        dir.path(),
        "good",
        &header(SENDER, &[NHA_TRANG], "41", "V/v phối hợp liên tỉnh"),
        Some(&s),
    ))
    .unwrap();
    x.0.lock()
        .unwrap()
        .waiting
        .push(("VPCP-IN-1".into(), SENDER.into(), good));
    let before = stored(&a).await;
    let outcome = tinhso_exchange::poll::poll_once(p, connector.as_ref())
        .await
        .unwrap();
    assert_eq!((outcome.done, outcome.failed, outcome.left), (1, 0, 0));
    let after = stored(&a).await;
    assert_eq!(after[0], before[0] + 1, "one incoming entry");
    assert_eq!(after[2], before[2] + 1, "one received package");
    let (agency, source): (String, String) = sqlx::query_as(
        "SELECT a.code, i.source FROM doc_incoming i JOIN agencies a ON a.id = i.agency_id ORDER BY i.id DESC LIMIT 1",
    )
    .fetch_one(p.db.pool())
    .await
    .unwrap();
    assert_eq!((agency.as_str(), source.as_str()), (NHA_TRANG, "external"));
    let via: String = sqlx::query_scalar("SELECT peer FROM exchange_received ORDER BY id DESC")
        .fetch_one(p.db.pool())
        .await
        .unwrap();
    assert_eq!(via, "national");
    {
        let inner = x.0.lock().unwrap();
        assert_eq!(
            inner.statuses,
            [json!({"docId": "VPCP-IN-1", "status": "done"})]
        );
        assert!(inner.waiting.is_empty());
    }
    // Its arrival (01) goes back the way it came: through the national exchange.
    assert_eq!(
        tinhso_exchange::send::send_statuses(p, &transports)
            .await
            .unwrap(),
        1
    );
    {
        let inner = x.0.lock().unwrap();
        let (headers, _) = inner.sent.last().unwrap();
        assert_eq!(headers["messagetype"], "status", "{headers:?}");
        assert_eq!(headers["to"], SENDER, "{headers:?}");
    }

    // A byte changed after signing: acknowledged failed with the pipeline's code, nothing
    // stored.
    let text = String::from_utf8(
        std::fs::read(package(
            dir.path(),
            "broken",
            &header(SENDER, &[NHA_TRANG], "42", "V/v phối hợp liên tỉnh"),
            Some(&s),
        ))
        .unwrap(),
    )
    .unwrap();
    let broken = text.replacen("V/v phối hợp liên tỉnh", "V/v phối hợp liên tinh", 1);
    x.0.lock()
        .unwrap()
        .waiting
        .push(("VPCP-IN-2".into(), SENDER.into(), broken.into_bytes()));
    let before = stored(&a).await;
    let outcome = tinhso_exchange::poll::poll_once(p, connector.as_ref())
        .await
        .unwrap();
    assert_eq!((outcome.done, outcome.failed, outcome.left), (0, 1, 0));
    assert_eq!(
        stored(&a).await,
        before,
        "a broken package stored something"
    );
    {
        let inner = x.0.lock().unwrap();
        let last = inner.statuses.last().unwrap();
        assert_eq!(last["docId"], "VPCP-IN-2");
        assert_eq!(last["status"], "fail");
        assert_eq!(
            last["errorCode"], "edxml.signature.digest_mismatch",
            "{last}"
        );
        assert!(inner.waiting.is_empty());
    }
    // A package claiming to come from one of our own agencies cannot arrive from outside:
    // acknowledged failed as a sender the caller does not serve, nothing stored.
    let forged = std::fs::read(package(
        dir.path(),
        "forged",
        &header(NHA_TRANG, &[NHA_TRANG], "43", "V/v giả danh cơ quan"),
        Some(&s),
    ))
    .unwrap();
    x.0.lock()
        .unwrap()
        .waiting
        .push(("VPCP-IN-3".into(), NHA_TRANG.into(), forged));
    let before = stored(&a).await;
    let outcome = tinhso_exchange::poll::poll_once(p, connector.as_ref())
        .await
        .unwrap();
    assert_eq!((outcome.done, outcome.failed, outcome.left), (0, 1, 0));
    assert_eq!(stored(&a).await, before, "a forged sender stored something");
    {
        let inner = x.0.lock().unwrap();
        let last = inner.statuses.last().unwrap();
        assert_eq!(last["docId"], "VPCP-IN-3");
        assert_eq!(last["errorCode"], "exchange.sender.not_served", "{last}");
    }
    // Nothing is waiting any more.
    let outcome = tinhso_exchange::poll::poll_once(p, connector.as_ref())
        .await
        .unwrap();
    assert_eq!(outcome, tinhso_exchange::poll::PollOutcome::default());

    a.stop().await;
}
both!(national_exchange);
