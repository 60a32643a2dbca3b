//! The malware scanner port: every uploaded file passes it before it is stored.
//!
//! Adapters: [`ClamdScanner`] streams the bytes to ClamAV's daemon with its `INSTREAM`
//! command over TCP or a unix socket; [`Disabled`] scans nothing (development only). The
//! invariant callers rely on: with a scanner configured, a file is either reported clean by
//! it or refused — a daemon that cannot be reached, answers late or answers something
//! unexpected is an error (fail closed), never "clean".

use async_trait::async_trait;
use std::path::Path;
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
    /// Scans the file at `path`, read in chunks (memory does not grow with its size).
    async fn scan_file(&self, path: &Path) -> Result<ScanVerdict>;
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

    async fn scan_file(&self, _path: &Path) -> Result<ScanVerdict> {
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

    async fn scan_inner<R: AsyncRead + Unpin + Send>(&self, source: R) -> Result<ScanVerdict> {
        let reply = match self.unix_path() {
            Some(path) => {
                let stream = tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(|e| unavailable(format!("clamd at {path}: {e}")))?;
                instream(stream, source).await
            }
            None => {
                let stream = tokio::net::TcpStream::connect(&self.address)
                    .await
                    .map_err(|e| unavailable(format!("clamd at {}: {e}", self.address)))?;
                instream(stream, source).await
            }
        }
        .map_err(|e| unavailable(format!("clamd at {}: {e}", self.address)))?;
        parse_reply(&reply)
    }

    /// [`Self::scan_inner`] within the configured timeout.
    async fn scan_timed<R: AsyncRead + Unpin + Send>(&self, source: R) -> Result<ScanVerdict> {
        match tokio::time::timeout(self.timeout, self.scan_inner(source)).await {
            Ok(result) => result,
            Err(_) => Err(unavailable(format!(
                "clamd at {} gave no verdict within {} s",
                self.address,
                self.timeout.as_secs()
            ))),
        }
    }
}

#[async_trait]
impl MalwareScanner for ClamdScanner {
    async fn scan(&self, bytes: &[u8]) -> Result<ScanVerdict> {
        self.scan_timed(bytes).await
    }

    async fn scan_file(&self, path: &Path) -> Result<ScanVerdict> {
        // A file we cannot read is our failure, not the daemon's: a plain I/O error.
        let file = tokio::fs::File::open(path).await?;
        self.scan_timed(file).await
    }
}

/// `zINSTREAM\0`, then chunks each preceded by its length (4 bytes, network order), then a
/// zero length; the reply ends with `\0`. The source is read one chunk at a time.
async fn instream<S: AsyncRead + AsyncWrite + Unpin, R: AsyncRead + Unpin>(
    mut stream: S,
    mut source: R,
) -> std::io::Result<String> {
    stream.write_all(b"zINSTREAM\0").await?;
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let n = source.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        let len = u32::try_from(n).unwrap_or(u32::MAX);
        stream.write_all(&len.to_be_bytes()).await?;
        stream.write_all(&chunk[..n]).await?;
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

    /// A stand-in clamd on loopback that reads one INSTREAM session, checks its framing and
    /// answers `FOUND` when the stream holds `EICAR`, else `OK`. Returns the chunk sizes.
    async fn fake_clamd() -> (String, tokio::task::JoinHandle<Vec<usize>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let task = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut command = [0u8; 10];
            socket.read_exact(&mut command).await.unwrap();
            assert_eq!(&command, b"zINSTREAM\0");
            let (mut sizes, mut content) = (Vec::new(), Vec::new());
            loop {
                let len = socket.read_u32().await.unwrap() as usize;
                if len == 0 {
                    break;
                }
                let mut chunk = vec![0u8; len];
                socket.read_exact(&mut chunk).await.unwrap();
                sizes.push(len);
                content.extend_from_slice(&chunk);
            }
            let found = content.windows(5).any(|w| w == b"EICAR");
            let reply: &[u8] = if found {
                b"stream: Eicar-Test-Signature FOUND\0"
            } else {
                b"stream: OK\0"
            };
            socket.write_all(reply).await.unwrap();
            sizes
        });
        (address, task)
    }

    #[tokio::test]
    async fn scan_file_streams_in_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.pdf");
        let mut bytes = vec![b'x'; CHUNK * 2 + 5];
        std::fs::write(&path, &bytes).unwrap();
        let (address, task) = fake_clamd().await;
        let scanner = ClamdScanner::new(&address, Duration::from_secs(10));
        assert_eq!(scanner.scan_file(&path).await.unwrap(), ScanVerdict::Clean);
        let sizes = task.await.unwrap();
        assert_eq!(sizes.iter().sum::<usize>(), bytes.len());
        assert!(sizes.iter().all(|n| *n <= CHUNK), "{sizes:?}");

        bytes.extend_from_slice(b"EICAR");
        std::fs::write(&path, &bytes).unwrap();
        let (address, task) = fake_clamd().await;
        let scanner = ClamdScanner::new(&address, Duration::from_secs(10));
        assert_eq!(
            scanner.scan_file(&path).await.unwrap(),
            ScanVerdict::Infected("Eicar-Test-Signature".into())
        );
        task.await.unwrap();
        assert!(scanner.scan_file(&dir.path().join("absent")).await.is_err());
        assert_eq!(
            Disabled.scan_file(&path).await.unwrap(),
            ScanVerdict::NotScanned
        );
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
