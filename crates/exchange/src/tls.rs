//! Federation over mutual TLS: the listener another province's exchange connects to, and
//! the client we connect to theirs with.
//!
//! Both ends authenticate: the server refuses a handshake without a client certificate
//! chaining to one of its configured client CAs, and the client trusts only the configured
//! server CAs (never the system roots), presenting its own certificate. Who the peer is —
//! the leaf's subject CN and SHA-256 fingerprint — reaches every handler as
//! `axum::Extension<PeerCertificate>`; mapping it to a configured peer is the caller's.
//!
//! Cryptography is rustls with the *ring* provider, passed explicitly to every config: it
//! is the provider reqwest already compiles in, and nothing here installs a process-wide
//! default (which can fail, or panic when two are compiled in).
//!
//! The listener bounds what a connection may hold: a TLS handshake must finish within
//! `handshake_timeout` (a silent client cannot keep a slot), request headers within
//! `header_read_timeout` (also the idle limit of a kept-alive connection), and at most
//! `max_connections` are served at once (further clients wait in the kernel's backlog).
//! Bodies are streamed both ways; nothing here buffers a request or a response.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use sha2::Digest;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// The authenticated client of a federation connection: its leaf certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerCertificate {
    /// The subject's common name (empty when the certificate has none).
    pub subject_cn: String,
    pub der: Vec<u8>,
    /// SHA-256 of `der`, lowercase hex: a stable way to pin a peer in configuration.
    pub sha256_hex: String,
}

impl PeerCertificate {
    /// Reads a DER certificate (as received in a handshake).
    pub fn from_der(der: &[u8]) -> Result<PeerCertificate, TlsError> {
        use x509_cert::der::Decode;
        let certificate = x509_cert::Certificate::from_der(der)
            .map_err(|e| TlsError::Certificate(format!("peer certificate: {e}")))?;
        Ok(PeerCertificate {
            subject_cn: common_name(&certificate.tbs_certificate.subject).unwrap_or_default(),
            der: der.to_vec(),
            sha256_hex: hex::encode(sha2::Sha256::digest(der)),
        })
    }

    /// Reads the first certificate of a PEM file (to pin a peer by its certificate file).
    pub fn from_pem_file(path: &Path) -> Result<PeerCertificate, TlsError> {
        match read_certificates(path)?.first() {
            Some(first) => PeerCertificate::from_der(first),
            None => Err(TlsError::Certificate(format!(
                "{}: no certificate",
                path.display()
            ))),
        }
    }
}

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path} failed: {message}")]
    Read { path: String, message: String },
    #[error("bad certificate: {0}")]
    Certificate(String),
    #[error("bad private key: {0}")]
    Key(String),
    #[error("bad trust anchors: {0}")]
    TrustAnchors(String),
    #[error("TLS configuration refused: {0}")]
    Config(String),
    #[error("HTTPS client could not be built: {0}")]
    Client(String),
}

impl TlsError {
    pub fn code(&self) -> &'static str {
        match self {
            TlsError::Read { .. } => "exchange.tls.read",
            TlsError::Certificate(_) => "exchange.tls.certificate",
            TlsError::Key(_) => "exchange.tls.key",
            TlsError::TrustAnchors(_) => "exchange.tls.trust_anchors",
            TlsError::Config(_) => "exchange.tls.config",
            TlsError::Client(_) => "exchange.tls.client",
        }
    }
}

/// The listener's configuration: our certificate chain (`cert_pem`, leaf first) and key,
/// and the CAs a client certificate must chain to. A client without a certificate, or with
/// one from another CA, is refused during the handshake.
pub fn server_config(
    cert_pem: &Path,
    key_pem: &Path,
    client_ca_pems: &[PathBuf],
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = provider();
    let roots = Arc::new(root_store(client_ca_pems)?);
    let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
        .build()
        .map_err(|e| TlsError::TrustAnchors(e.to_string()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(read_chain(cert_pem)?, read_key(key_pem)?)
        .map_err(|e| TlsError::Key(format!("{}: {e}", key_pem.display())))?;
    // The listener speaks HTTP/1.1 only (hyper's http1 connection below).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// An HTTPS client for federation: presents `cert_pem` (chain, leaf first) with `key_pem`,
/// trusts only `server_ca_pems`. `timeout` bounds connecting and each wait for data, not a
/// whole exchange, so a large package may stream for as long as it keeps moving. No proxy:
/// federation links are direct between the provinces' exchanges.
pub fn client(
    cert_pem: &Path,
    key_pem: &Path,
    server_ca_pems: &[PathBuf],
    timeout: Duration,
) -> Result<reqwest::Client, TlsError> {
    let roots = root_store(server_ca_pems)?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_client_auth_cert(read_chain(cert_pem)?, read_key(key_pem)?)
        .map_err(|e| TlsError::Key(format!("{}: {e}", key_pem.display())))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .https_only(true)
        .no_proxy()
        .connect_timeout(timeout)
        .read_timeout(timeout)
        .build()
        .map_err(|e| TlsError::Client(e.to_string()))
}

/// Bounds of the listener (see the module documentation).
#[derive(Clone, Copy, Debug)]
pub struct ServeLimits {
    pub max_connections: usize,
    pub handshake_timeout: Duration,
    pub header_read_timeout: Duration,
    /// How long a stop waits for requests in progress before giving up on them.
    pub shutdown_grace: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            max_connections: 256,
            handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Serves `app` over mutual TLS on `listener` with the default [`ServeLimits`] until
/// `shutdown` completes, then lets requests in progress finish (within the grace period).
pub async fn serve_mtls(
    listener: tokio::net::TcpListener,
    config: Arc<rustls::ServerConfig>,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_mtls_with(listener, config, app, shutdown, ServeLimits::default()).await
}

/// [`serve_mtls`] with explicit limits. Every request carries the client's
/// `PeerCertificate` and its `ConnectInfo<SocketAddr>` as extensions.
pub async fn serve_mtls_with(
    listener: tokio::net::TcpListener,
    config: Arc<rustls::ServerConfig>,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: ServeLimits,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(config);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A slot first, then accept: when all are taken, new clients wait in the backlog
        // instead of being accepted and starved.
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: not fatal
                    // for the listener; pause briefly so a persistent error cannot spin.
                    tracing::warn!(error = %e, "federation listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _slot = slot;
            let tls = match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(stream))
                .await
            {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::info!(%remote, error = %e, "federation: TLS handshake refused");
                    return;
                }
                Err(_) => {
                    tracing::info!(%remote, "federation: TLS handshake timed out");
                    return;
                }
            };
            let peer = match tls.get_ref().1.peer_certificates().and_then(|c| c.first()) {
                Some(leaf) => match PeerCertificate::from_der(leaf) {
                    Ok(peer) => peer,
                    Err(e) => {
                        tracing::info!(%remote, error = %e, "federation: unreadable client certificate");
                        return;
                    }
                },
                // The verifier requires a certificate; without one there is nobody to serve.
                None => return,
            };
            let service =
                hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                    request.extensions_mut().insert(peer.clone());
                    request
                        .extensions_mut()
                        .insert(ConnectInfo::<SocketAddr>(remote));
                    app.clone().oneshot(request)
                });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .serve_connection(TokioIo::new(tls), service);
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!(%remote, error = %e, "federation: connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("federation listener: requests still running after the grace period");
    }
    Ok(())
}

/// One provider for every config, never installed process-wide (see the module comment).
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    CertificateDer::pem_slice_iter(&read(path)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Certificate(format!("{}: {e}", path.display())))
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = read_certificates(path)?;
    if chain.is_empty() {
        return Err(TlsError::Certificate(format!(
            "{}: no certificate",
            path.display()
        )));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(&read(path)?)
        .map_err(|e| TlsError::Key(format!("{}: {e}", path.display())))
}

fn root_store(ca_pems: &[PathBuf]) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for path in ca_pems {
        for certificate in read_certificates(path)? {
            roots
                .add(certificate)
                .map_err(|e| TlsError::TrustAnchors(format!("{}: {e}", path.display())))?;
        }
    }
    if roots.is_empty() {
        return Err(TlsError::TrustAnchors(
            "no CA certificate configured".to_string(),
        ));
    }
    Ok(roots)
}

/// The subject's first common name, whichever string type it was encoded with.
fn common_name(name: &x509_cert::name::Name) -> Option<String> {
    use x509_cert::der::asn1::{Ia5StringRef, PrintableStringRef, TeletexStringRef, Utf8StringRef};
    const CN: x509_cert::der::asn1::ObjectIdentifier =
        x509_cert::der::asn1::ObjectIdentifier::new_unwrap("2.5.4.3");
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == CN)
        .and_then(|atv| {
            let value = &atv.value;
            value
                .decode_as::<Utf8StringRef<'_>>()
                .map(|s| s.to_string())
                .or_else(|_| {
                    value
                        .decode_as::<PrintableStringRef<'_>>()
                        .map(|s| s.to_string())
                })
                .or_else(|_| value.decode_as::<Ia5StringRef<'_>>().map(|s| s.to_string()))
                .or_else(|_| {
                    value
                        .decode_as::<TeletexStringRef<'_>>()
                        .map(|s| s.to_string())
                })
                .ok()
        })
}
