//! The federation endpoint other provinces' exchanges push to (served on the exchange
//! listener, `exchange.listen`, with mutual TLS — never on the public listener).
//!
//! `POST /exchange/v1/packages`: the edXML file as an `application/octet-stream` body,
//! streamed to disk (never buffered whole), with `X-Edxml-From`, `X-Edxml-Message-Type`
//! (`edoc`|`status`), `X-Edxml-Document-Id` and `X-Package-Key`. 200 →
//! `{"status":"DONE","reference","repeat"}`; a refusal → 4xx
//! `{"status":"FAIL","error":{"code","message","problems"}}`, which is the FAIL transport
//! status the sender records. `GET /exchange/v1/agencies`: the agency identifiers served here.
//! Thin handlers: the pipeline is `tinhso_exchange::receive`.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::json;
use tinhso_exchange::receive::{self, CallingPeer, Refusal};
use tinhso_exchange::tls::{self, PeerCertificate, TlsError};
use tinhso_platform::Platform;

/// Serves the federation router on `listener` over mutual TLS (`exchange.tls_cert`,
/// `exchange.tls_key`; client certificates must chain to `exchange.peer_ca`) until
/// `shutdown` completes.
pub async fn serve(
    platform: Platform,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), TlsError> {
    let c = &platform.config.exchange;
    let config = tls::server_config(&c.tls_cert, &c.tls_key, &c.peer_ca)?;
    tls::serve_mtls(listener, config, router(platform.clone()), shutdown)
        .await
        .map_err(|e| TlsError::Config(e.to_string()))
}

/// The verified client certificate's CN names the calling peer.
async fn identify(mut req: Request, next: Next) -> Response {
    if let Some(cert) = req.extensions().get::<PeerCertificate>().cloned() {
        req.extensions_mut().insert(CallingPeer {
            id: cert.subject_cn,
        });
    }
    next.run(req).await
}

/// The federation router. Every request must carry [`CallingPeer`] (the listener inserts it
/// from the verified client certificate).
pub fn router(platform: Platform) -> Router {
    Router::new()
        .route("/exchange/v1/packages", post(push_package))
        .route("/exchange/v1/agencies", get(agencies))
        // The pipeline enforces `exchange.max_package_bytes` while streaming.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(identify))
        .with_state(platform)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn refused(refusal: &Refusal) -> Response {
    let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(json!({ "status": "FAIL", "error": refusal }))).into_response()
}

fn no_peer() -> Response {
    refused(&Refusal::new(
        401,
        "exchange.peer.unauthenticated",
        "a client certificate of a configured peer is required",
    ))
}

async fn push_package(
    State(p): State<Platform>,
    peer: Option<Extension<CallingPeer>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(Extension(peer)) = peer else {
        return no_peer();
    };
    let inbound = match receive::inbound_from_peer(
        &p,
        &peer,
        header(&headers, "x-edxml-message-type"),
        header(&headers, "x-edxml-from"),
        header(&headers, "x-package-key"),
    ) {
        Ok(inbound) => inbound,
        Err(refusal) => return refused(&refusal),
    };
    match receive::receive(&p, &inbound, body.into_data_stream()).await {
        Ok(accepted) => Json(json!({
            "status": "DONE",
            "reference": accepted.reference,
            "repeat": accepted.repeat,
        }))
        .into_response(),
        Err(refusal) => refused(&refusal),
    }
}

async fn agencies(State(p): State<Platform>, peer: Option<Extension<CallingPeer>>) -> Response {
    if peer.is_none() {
        return no_peer();
    }
    match receive::served_agencies(&p).await {
        Ok(list) => Json(json!({ "agencies": list })).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "listing served agencies failed");
            refused(&Refusal::new(500, "internal", "try again later"))
        }
    }
}
