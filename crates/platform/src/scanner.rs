//! The malware scanner port: every uploaded file passes it before it is stored.
//!
//! Adapters: [`ClamdScanner`] streams the bytes to ClamAV's daemon with its `INSTREAM`
//! command over TCP or a unix socket; [`Disabled`] scans nothing (development only). The
//! invariant callers rely on: with a scanner configured, a file is either reported clean by
//! it or refused — a daemon that cannot be reached, answers late or answers something
//! unexpected is an error (fail closed), never "clean".

use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use tinhso_core::{DomainError, ErrorCode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::config::ScannerConfig;
use crate::error::{Error, Result};

/// Rule of the error returned when the scanner cannot give a verdict.
pub const RULE_UNAVAILABLE: &str = "upload.scanner_unavailable";

/// What the scanner found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanVerdict {
    Clean,
    /// Infected, with the signature's name (e.g. `Eicar-Test-Signature`).
    Infected(String),
    /// No scanner is configured: the file was not looked at.
    NotScanned,
}

impl ScanVerdict {
    /// The value stored beside an upload.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Clean => "clean",
            Self::Infected(_) => "infected",
            Self::NotScanned => "not_scanned",
        }
    }
}

#[async_trait]
pub trait MalwareScanner: Send + Sync + std::fmt::Debug {
    /// Scans `bytes`. An `Err` means no verdict (callers must refuse the file).
    async fn scan(&self, bytes: &[u8]) -> Result<ScanVerdict>;
}

/// The scanner `config.scanner.backend` names.
pub fn scanner(config: &ScannerConfig) -> Result<Arc<dyn MalwareScanner>> {
    match config.backend.as_str() {
        "none" => Ok(Arc::new(Disabled)),
        "clamd" => Ok(Arc::new(ClamdScanner::new(
            &config.address,
            Duration::from_secs(config.timeout_seconds),
        ))),
        other => Err(Error::Config(format!(
            "`scanner.backend` must be `none` or `clamd` (got `{other}`)"
        ))),
    }
}

/// No scanning.
#[derive(Debug, Default, Clone, Copy)]
pub struct Disabled;

#[async_trait]
impl MalwareScanner for Disabled {
    async fn scan(&self, _bytes: &[u8]) -> Result<ScanVerdict> {
        Ok(ScanVerdict::NotScanned)
    }
}

/// ClamAV's clamd, reached over TCP (`host:port`) or a unix socket (a path).
#[derive(Debug, Clone)]
pub struct ClamdScanner {
    address: String,
    timeout: Duration,
}

/// Size of one INSTREAM chunk. clamd counts the whole stream against its `StreamMaxLength`
/// (and answers `INSTREAM size limit exceeded` past it, which is an error here, not clean);
/// chunks only bound the memory each write takes.
const CHUNK: usize = 64 * 1024;

/// The longest reply we read from clamd (a signature name is short).
const MAX_REPLY: usize = 4096;

fn unavailable(detail: impl Into<String>) -> Error {
    DomainError::new(ErrorCode::Unavailable, detail)
        .with_rule(RULE_UNAVAILABLE)
        .into()
}

impl ClamdScanner {
    pub fn new(address: &str, timeout: Duration) -> Self {
        Self {
            address: address.trim().to_owned(),
            timeout,
        }
    }

    fn unix_path(&self) -> Option<&str> {
        let address = self.address.strip_prefix("unix:").unwrap_or(&self.address);
        address.starts_with('/').then_some(address)
    }

    async fn scan_inner(&self, bytes: &[u8]) -> Result<ScanVerdict> {
        let reply = match self.unix_path() {
            Some(path) => {
                let stream = tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(|e| unavailable(format!("clamd at {path}: {e}")))?;
                instream(stream, bytes).await
            }
            None => {
                let stream = tokio::net::TcpStream::connect(&self.address)
                    .await
                    .map_err(|e| unavailable(format!("clamd at {}: {e}", self.address)))?;
                instream(stream, bytes).await
            }
        }
        .map_err(|e| unavailable(format!("clamd at {}: {e}", self.address)))?;
        parse_reply(&reply)
    }
}

#[async_trait]
impl MalwareScanner for ClamdScanner {
    async fn scan(&self, bytes: &[u8]) -> Result<ScanVerdict> {
        match tokio::time::timeout(self.timeout, self.scan_inner(bytes)).await {
            Ok(result) => result,
            Err(_) => Err(unavailable(format!(
                "clamd at {} gave no verdict within {} s",
                self.address,
                self.timeout.as_secs()
            ))),
        }
    }
}

/// `zINSTREAM\0`, then chunks each preceded by its length (4 bytes, network order), then a
/// zero length; the reply ends with `\0`.
async fn instream<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    bytes: &[u8],
) -> std::io::Result<String> {
    stream.write_all(b"zINSTREAM\0").await?;
    for chunk in bytes.chunks(CHUNK) {
        let len = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
        stream.write_all(&len.to_be_bytes()).await?;
        stream.write_all(chunk).await?;
    }
    stream.write_all(&0u32.to_be_bytes()).await?;
    stream.flush().await?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&buf[..n]);
        if reply.contains(&0) || reply.len() > MAX_REPLY {
            break;
        }
    }
    let end = reply.iter().position(|b| *b == 0).unwrap_or(reply.len());
    Ok(String::from_utf8_lossy(&reply[..end]).trim().to_owned())
}

/// `stream: OK`, `stream: <signature> FOUND`, or an error (`… ERROR`, anything else).
fn parse_reply(reply: &str) -> Result<ScanVerdict> {
    let body = reply.strip_prefix("stream:").map(str::trim);
    match body {
        Some("OK") => Ok(ScanVerdict::Clean),
        Some(found) if found.ends_with(" FOUND") => Ok(ScanVerdict::Infected(
            found.trim_end_matches(" FOUND").trim().to_owned(),
        )),
        _ => Err(unavailable(format!("clamd answered `{reply}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies() {
        assert_eq!(parse_reply("stream: OK").unwrap(), ScanVerdict::Clean);
        assert_eq!(
            parse_reply("stream: Eicar-Test-Signature FOUND").unwrap(),
            ScanVerdict::Infected("Eicar-Test-Signature".into())
        );
        for bad in ["INSTREAM size limit exceeded. ERROR", "", "stream: weird"] {
            let err = parse_reply(bad).unwrap_err();
            assert_eq!(err.code(), ErrorCode::Unavailable, "{bad}");
        }
    }

    #[tokio::test]
    async fn unreachable_daemon_fails_closed() {
        // A port nobody listens on: bind, learn the port, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let scanner = ClamdScanner::new(&format!("127.0.0.1:{port}"), Duration::from_secs(2));
        let err = scanner.scan(b"%PDF-1.4").await.unwrap_err();
        match err {
            Error::Domain(d) => assert_eq!(d.rule, Some(RULE_UNAVAILABLE)),
            other => panic!("{other}"),
        }
        let err = ClamdScanner::new("/nonexistent/clamd.ctl", Duration::from_secs(2))
            .scan(b"x")
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Unavailable);
    }
}
