//! Federation over mutual TLS, for real on 127.0.0.1: certificates from the test CA (and
//! from an independent CA for the refusals), the listener `serve_mtls`, the `client`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::routing::{get, post};
use axum::{Extension, Router};
use futures_util::StreamExt;
use sha2::Digest;
use tinhso_exchange::tls::{self, PeerCertificate, ServeLimits};
use tinhso_signing::test_ca::{TestPki, TlsAuthority, TlsFiles};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Pki {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    other_ca: PathBuf,
    server: TlsFiles,
    client: TlsFiles,
    /// A client certificate from the other CA.
    intruder: TlsFiles,
    /// A server certificate from the other CA.
    other_server: TlsFiles,
}

const CLIENT_CN: &str = "Trục liên thông tỉnh Cao Bằng (H14)";

/// One set of keys per test binary: RSA key generation is slow in debug builds.
fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let now = i64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let test_pki = TestPki::generate(now).unwrap();
        let ours = test_pki.tls_authority().unwrap();
        let other = TlsAuthority::generate("Một CA khác", now).unwrap();
        let ca = ours.write_ca_pem(&dir.path().join("ca.crt.pem")).unwrap();
        let other_ca = other
            .write_ca_pem(&dir.path().join("other-ca.crt.pem"))
            .unwrap();
        Pki {
            server: ours
                .write_tls(dir.path(), "server", "localhost", now)
                .unwrap(),
            client: ours
                .write_tls(dir.path(), "client", CLIENT_CN, now)
                .unwrap(),
            intruder: other
                .write_tls(dir.path(), "intruder", CLIENT_CN, now)
                .unwrap(),
            other_server: other
                .write_tls(dir.path(), "other-server", "localhost", now)
                .unwrap(),
            ca,
            other_ca,
            _dir: dir,
        }
    })
}

#[derive(Clone, Default)]
struct Seen {
    requests: Arc<AtomicUsize>,
}

async fn whoami(
    State(seen): State<Seen>,
    Extension(peer): Extension<PeerCertificate>,
    ConnectInfo(remote): ConnectInfo<std::net::SocketAddr>,
) -> String {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    format!(
        "{}|{}|{}|{}",
        peer.subject_cn,
        peer.sha256_hex,
        peer.der.len(),
        remote.ip()
    )
}

/// Hashes the request body as it streams in.
async fn upload(State(seen): State<Seen>, body: Body) -> String {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    let mut stream = body.into_data_stream();
    let mut hash = sha2::Sha256::new();
    let mut length = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        length += chunk.len();
        hash.update(&chunk);
    }
    format!("{}|{length}", hex::encode(hash.finalize()))
}

/// Streams `mib` MiB of `pattern` bytes.
async fn download(Path(mib): Path<usize>) -> Body {
    let chunks = futures_util::stream::iter(
        (0..mib).map(|i| Ok::<_, std::io::Error>(axum::body::Bytes::from(pattern(i)))),
    );
    Body::from_stream(chunks)
}

fn pattern(i: usize) -> Vec<u8> {
    (0..1 << 20)
        .map(|j: usize| ((i * 31 + j * 7) % 251) as u8)
        .collect()
}

struct Server {
    url: String,
    seen: Seen,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("listener stops")
            .unwrap()
            .unwrap();
    }
}

async fn start(server: &TlsFiles, client_ca: &PathBuf, limits: ServeLimits) -> Server {
    let config = tls::server_config(
        &server.certificate,
        &server.key,
        std::slice::from_ref(client_ca),
    )
    .unwrap();
    let seen = Seen::default();
    let app = Router::new()
        .route("/whoami", get(whoami))
        .route("/upload", post(upload))
        .route("/download/{mib}", get(download))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(tls::serve_mtls_with(
        listener,
        config,
        app,
        async move {
            let _ = stopped.await;
        },
        limits,
    ));
    Server {
        url: format!("https://localhost:{port}"),
        seen,
        stop: Some(stop),
        task,
    }
}

fn client_with(files: &TlsFiles, server_ca: &PathBuf) -> reqwest::Client {
    tls::client(
        &files.certificate,
        &files.key,
        std::slice::from_ref(server_ca),
        Duration::from_secs(10),
    )
    .unwrap()
}

#[tokio::test]
async fn a_client_with_a_certificate_from_the_ca_reaches_the_route_and_is_identified() {
    let pki = pki();
    let server = start(&pki.server, &pki.ca, ServeLimits::default()).await;
    let client = client_with(&pki.client, &pki.ca);
    let expected = PeerCertificate::from_pem_file(&pki.client.certificate).unwrap();
    assert_eq!(expected.subject_cn, CLIENT_CN);
    assert_eq!(expected.sha256_hex.len(), 64);

    // Twice: the second request reuses the kept-alive connection and still carries the peer.
    for _ in 0..2 {
        let response = client
            .get(format!("{}/whoami", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.text().await.unwrap(),
            format!(
                "{}|{}|{}|127.0.0.1",
                CLIENT_CN,
                expected.sha256_hex,
                expected.der.len()
            )
        );
    }
    // By IP address too: the certificate names 127.0.0.1.
    let by_ip = server.url.replace("localhost", "127.0.0.1");
    let response = client.get(format!("{by_ip}/whoami")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.seen.requests.load(Ordering::SeqCst), 3);
    server.stop().await;
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused() {
    let pki = pki();
    let server = start(&pki.server, &pki.ca, ServeLimits::default()).await;
    // Trusts the server, presents nothing.
    let mut roots = rustls::RootCertStore::empty();
    let ca = std::fs::read(&pki.ca).unwrap();
    for certificate in rustls::pki_types::CertificateDer::pem_slice_iter(&ca) {
        roots.add(certificate.unwrap()).unwrap();
    }
    use rustls::pki_types::pem::PemObject;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let anonymous = reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .no_proxy()
        .build()
        .unwrap();
    let result = anonymous.get(format!("{}/whoami", server.url)).send().await;
    assert!(
        result.is_err(),
        "served without a client certificate: {result:?}"
    );
    assert_eq!(server.seen.requests.load(Ordering::SeqCst), 0);
    server.stop().await;
}

#[tokio::test]
async fn a_client_certificate_from_another_ca_is_refused() {
    let pki = pki();
    let server = start(&pki.server, &pki.ca, ServeLimits::default()).await;
    // Same subject name as the real client, other issuer.
    let intruder = client_with(&pki.intruder, &pki.ca);
    let result = intruder.get(format!("{}/whoami", server.url)).send().await;
    assert!(result.is_err(), "served another CA's client: {result:?}");
    assert_eq!(server.seen.requests.load(Ordering::SeqCst), 0);
    server.stop().await;
}

#[tokio::test]
async fn the_client_refuses_a_server_whose_certificate_is_from_another_ca() {
    let pki = pki();
    // The impostor server would accept our client (it trusts our CA for clients).
    let server = start(&pki.other_server, &pki.ca, ServeLimits::default()).await;
    let client = client_with(&pki.client, &pki.ca);
    let error = client
        .get(format!("{}/whoami", server.url))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_connect() || error.is_request(), "{error:?}");
    assert_eq!(server.seen.requests.load(Ordering::SeqCst), 0);
    // The system roots are not trusted either: only the configured CA is.
    server.stop().await;
}

#[tokio::test]
async fn a_50_mb_streamed_body_arrives_intact_both_ways() {
    let pki = pki();
    let server = start(&pki.server, &pki.ca, ServeLimits::default()).await;
    let client = client_with(&pki.client, &pki.ca);

    // Upload from a file, the way packages leave: the client streams it (reqwest's body
    // from a tokio file reads it in chunks) and the handler hashes what arrives.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("package.edxml");
    let mut expected = sha2::Sha256::new();
    {
        let mut file = tokio::fs::File::create(&path).await.unwrap();
        for i in 0..50 {
            let chunk = pattern(i);
            expected.update(&chunk);
            file.write_all(&chunk).await.unwrap();
        }
        file.sync_all().await.unwrap();
    }
    let expected = hex::encode(expected.finalize());
    let file = tokio::fs::File::open(&path).await.unwrap();
    let response = client
        .post(format!("{}/upload", server.url))
        .header("content-type", "application/octet-stream")
        .body(reqwest::Body::from(file))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.text().await.unwrap(),
        format!("{expected}|{}", 50 << 20)
    );

    // Download chunk by chunk, never holding the whole body.
    let mut response = client
        .get(format!("{}/download/50", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut received = sha2::Sha256::new();
    let mut largest_chunk = 0usize;
    let mut length = 0usize;
    while let Some(chunk) = response.chunk().await.unwrap() {
        largest_chunk = largest_chunk.max(chunk.len());
        length += chunk.len();
        received.update(&chunk);
    }
    assert_eq!(length, 50 << 20);
    assert_eq!(hex::encode(received.finalize()), expected);
    assert!(largest_chunk <= 4 << 20, "chunks of {largest_chunk} bytes");
    server.stop().await;
}

#[tokio::test]
async fn a_silent_client_cannot_hold_the_only_slot() {
    let pki = pki();
    let limits = ServeLimits {
        max_connections: 1,
        handshake_timeout: Duration::from_millis(300),
        ..ServeLimits::default()
    };
    let server = start(&pki.server, &pki.ca, limits).await;
    let address = server.url.replace("https://localhost", "127.0.0.1");
    // Connects and says nothing: it takes the only slot until the handshake times out.
    let mut silent = tokio::net::TcpStream::connect(&address).await.unwrap();
    let started = Instant::now();
    let mut buffer = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buffer))
        .await
        .expect("the server hangs up on a silent client");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(started.elapsed() >= Duration::from_millis(250));

    let client = client_with(&pki.client, &pki.ca);
    let response = client
        .get(format!("{}/whoami", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn the_listener_stops_on_shutdown_and_refuses_new_connections() {
    let pki = pki();
    let server = start(&pki.server, &pki.ca, ServeLimits::default()).await;
    let address = server.url.replace("https://localhost", "127.0.0.1");
    let client = client_with(&pki.client, &pki.ca);
    assert_eq!(
        client
            .get(format!("{}/whoami", server.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // The kept-alive idle connection does not hold the stop up.
    server.stop().await;
    assert!(tokio::net::TcpStream::connect(&address).await.is_err());
}

#[test]
fn configuration_errors_have_stable_codes() {
    let pki = pki();
    let ca = std::slice::from_ref(&pki.ca);
    let missing = PathBuf::from("/nonexistent/server.crt.pem");
    let error = tls::server_config(&missing, &pki.server.key, ca).unwrap_err();
    assert_eq!(error.code(), "exchange.tls.read");
    // A key file given as certificate: no certificate in it.
    let error = tls::server_config(&pki.server.key, &pki.server.key, ca).unwrap_err();
    assert_eq!(error.code(), "exchange.tls.certificate");
    // The key of another certificate.
    let error = tls::server_config(&pki.server.certificate, &pki.client.key, ca).unwrap_err();
    assert_eq!(error.code(), "exchange.tls.key");
    // No trust anchors at all.
    let error = tls::server_config(&pki.server.certificate, &pki.server.key, &[]).unwrap_err();
    assert_eq!(error.code(), "exchange.tls.trust_anchors");
    let error = tls::client(
        &pki.client.certificate,
        &pki.client.key,
        &[],
        Duration::from_secs(1),
    )
    .unwrap_err();
    assert_eq!(error.code(), "exchange.tls.trust_anchors");
    // Both CAs may be trusted at once.
    assert!(
        tls::server_config(
            &pki.server.certificate,
            &pki.server.key,
            &[pki.ca.clone(), pki.other_ca.clone()]
        )
        .is_ok()
    );
}
