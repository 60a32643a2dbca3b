//! The S3 adapter of the blob store port: blobs as objects `<prefix><sha256>` in a bucket of
//! any S3-compatible object storage (AWS, MinIO, Ceph, Vietnamese providers' storage).
//!
//! Requests are signed with AWS Signature Version 4 in the `Authorization` header, over the
//! real SHA-256 of the payload, so the server also checks that an upload arrived intact.
//! Every call has a connect timeout, a total timeout and a bounded number of retries (only
//! for failures that may pass: transport errors, 408, 429 and 5xx). Errors name the
//! operation, the HTTP status and the S3 error code — never a credential.

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};

use crate::blobs::{BlobStore, STREAM_CHUNK, hash_stream, write_atomically};
use crate::config::BlobConfig;
use crate::error::{Error, Result};

/// Time to open a connection to the endpoint.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time for a whole request, body included (bodies are bounded by `limits.max_body_bytes`).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Slowest transfer rate a streamed upload or download is given time for (1 MiB/s): its
/// total timeout is [`REQUEST_TIMEOUT`] plus its size at this rate.
const MIN_BYTES_PER_SECOND: u64 = 1024 * 1024;
/// Total time for a streamed download, whose size is only known from its answer; each
/// chunk must also arrive within [`REQUEST_TIMEOUT`].
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(2 * 3600);
/// Attempts per call, the first included.
const MAX_ATTEMPTS: u32 = 3;
/// Pause before the first retry; doubled for each further one.
const RETRY_BACKOFF: Duration = Duration::from_millis(200);
/// Keys per listing page (the S3 maximum).
const DEFAULT_PAGE_SIZE: usize = 1000;
/// Listing pages before `keys` gives up: 10 million blobs at the default page size. A
/// listing is never silently cut short, because a backup would then miss blobs.
const MAX_PAGES: usize = 10_000;
/// SHA-256 of the empty payload.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Characters left as they are by SigV4 URI encoding: the unreserved ones.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub struct S3BlobStore {
    client: reqwest::Client,
    /// `http` or `https`.
    scheme: String,
    /// Host (and port, if not the scheme's default) that requests go to and are signed for.
    host: String,
    /// Path of the bucket, URI-encoded, without a trailing `/`: `/base/bucket` (path style)
    /// or `/base` (virtual-hosted style).
    bucket_path: String,
    bucket: String,
    region: String,
    prefix: String,
    access_key: String,
    secret_key: String,
    page_size: usize,
}

impl std::fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3BlobStore")
            .field("endpoint", &format!("{}://{}", self.scheme, self.host))
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl S3BlobStore {
    /// A store over the bucket described by the `s3_*` keys of `config`. Makes no request:
    /// an unreachable endpoint shows up on the first blob operation.
    pub fn new(config: &BlobConfig) -> Result<Self> {
        let endpoint = url::Url::parse(&config.s3_endpoint).map_err(|_| {
            Error::Config(format!(
                "`blobs.s3_endpoint` is not a URL (`{}`)",
                crate::config::redact_url(&config.s3_endpoint)
            ))
        })?;
        let scheme = endpoint.scheme().to_owned();
        let Some(endpoint_host) = endpoint
            .host_str()
            .filter(|_| scheme == "http" || scheme == "https")
        else {
            return Err(Error::Config(
                "`blobs.s3_endpoint` must be an http:// or https:// URL with a host".into(),
            ));
        };
        let bucket = config.s3_bucket.trim().to_owned();
        if bucket.is_empty() || bucket.contains('/') {
            return Err(Error::Config(
                "`blobs.s3_bucket` must be a bucket name".into(),
            ));
        }
        let port = endpoint.port().map(|p| format!(":{p}")).unwrap_or_default();
        let base = endpoint.path().trim_end_matches('/').to_owned();
        let (host, bucket_path) = if config.s3_path_style {
            (
                format!("{endpoint_host}{port}"),
                format!("{base}/{}", encode(&bucket)),
            )
        } else {
            (format!("{bucket}.{endpoint_host}{port}"), base)
        };
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| Error::Other(format!("S3 blob store: cannot build HTTP client: {e}")))?;
        Ok(Self {
            client,
            scheme,
            host,
            bucket_path,
            bucket,
            region: config.s3_region.trim().to_owned(),
            prefix: config.s3_prefix.clone(),
            access_key: config.s3_access_key.clone(),
            secret_key: config.s3_secret_key.clone(),
            page_size: DEFAULT_PAGE_SIZE,
        })
    }

    /// Keys per listing page (1–1000); small pages are for tests.
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.clamp(1, DEFAULT_PAGE_SIZE);
        self
    }

    fn object_path(&self, key: &str) -> String {
        let name = format!("{}{key}", self.prefix);
        let encoded: Vec<String> = name.split('/').map(encode).collect();
        format!("{}/{}", self.bucket_path, encoded.join("/"))
    }

    /// Sends one signed request, retrying what may pass, and returns the final response
    /// (whatever its status) or a transport error.
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Payload<'_>>,
        what: &str,
    ) -> Result<reqwest::Response> {
        let payload_hash = match &body {
            Some(Payload::Bytes(bytes)) => hex::encode(Sha256::digest(bytes)),
            Some(Payload::File { sha256, .. }) => (*sha256).to_owned(),
            None => EMPTY_SHA256.to_owned(),
        };
        let query = canonical_query(query);
        let url = if query.is_empty() {
            format!("{}://{}{path}", self.scheme, self.host)
        } else {
            format!("{}://{}{path}?{query}", self.scheme, self.host)
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let amz_date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
            let authorization = sign(
                &SigningInput {
                    method: method.as_str(),
                    host: &self.host,
                    path,
                    query: &query,
                    payload_hash: &payload_hash,
                    amz_date: &amz_date,
                },
                &self.region,
                &self.access_key,
                &self.secret_key,
            );
            let mut request = self
                .client
                .request(method.clone(), &url)
                .header("x-amz-date", &amz_date)
                .header("x-amz-content-sha256", &payload_hash)
                .header(reqwest::header::AUTHORIZATION, authorization);
            match &body {
                Some(Payload::Bytes(bytes)) => {
                    request = request
                        .header(reqwest::header::CONTENT_LENGTH, bytes.len())
                        .body(bytes.to_vec());
                }
                Some(Payload::File { path, len, .. }) => {
                    // A stream is consumed by sending, so each attempt reopens the file.
                    let file = tokio::fs::File::open(path).await?;
                    request = request
                        .header(reqwest::header::CONTENT_LENGTH, *len)
                        .timeout(transfer_timeout(*len))
                        .body(reqwest::Body::wrap(FileBody::new(file, *len)));
                }
                None if what == DOWNLOAD => request = request.timeout(DOWNLOAD_TIMEOUT),
                None => {}
            }
            let retry = match request.send().await {
                Ok(response) if !retryable(response.status()) || attempt >= MAX_ATTEMPTS => {
                    return Ok(response);
                }
                Ok(response) => format!("HTTP {}", response.status().as_u16()),
                Err(e) if attempt >= MAX_ATTEMPTS => {
                    return Err(Error::Other(format!(
                        "S3 blob store: {what}: {} (after {attempt} attempts)",
                        e.without_url()
                    )));
                }
                Err(e) => e.without_url().to_string(),
            };
            tracing::warn!(%what, attempt, error = %retry, "S3 request failed; retrying");
            tokio::time::sleep(RETRY_BACKOFF * 2u32.pow(attempt - 1)).await;
        }
    }

    async fn list_page(&self, token: Option<&str>) -> Result<ListPage> {
        let page_size = self.page_size.to_string();
        let mut query = vec![("list-type", "2"), ("max-keys", page_size.as_str())];
        if !self.prefix.is_empty() {
            query.push(("prefix", self.prefix.as_str()));
        }
        if let Some(token) = token {
            query.push(("continuation-token", token));
        }
        // The bucket itself: `/bucket` (path style) or `/` (virtual-hosted style).
        let path = if self.bucket_path.is_empty() {
            "/".to_owned()
        } else {
            self.bucket_path.clone()
        };
        let response = self
            .send(Method::GET, &path, &query, None, "list objects")
            .await?;
        if !response.status().is_success() {
            return Err(failure("list objects", response).await);
        }
        let text = response.text().await.map_err(|e| {
            Error::Other(format!("S3 blob store: list objects: {}", e.without_url()))
        })?;
        Ok(ListPage::parse(&text))
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, bytes: &[u8]) -> Result<String> {
        let key = hex::encode(Sha256::digest(bytes));
        let path = self.object_path(&key);
        // Content-addressed: an object under this key already holds these bytes. Anything
        // but 200 (404, or 403 where the credentials may not list the bucket) means upload.
        let head = self
            .send(Method::HEAD, &path, &[], None, "check blob")
            .await?;
        if head.status() == StatusCode::OK {
            return Ok(key);
        }
        let response = self
            .send(
                Method::PUT,
                &path,
                &[],
                Some(Payload::Bytes(bytes)),
                "store blob",
            )
            .await?;
        if !response.status().is_success() {
            return Err(failure("store blob", response).await);
        }
        Ok(key)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        let response = self
            .send(Method::GET, &self.object_path(key), &[], None, "read blob")
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(failure("read blob", response).await);
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| Error::Other(format!("S3 blob store: read blob: {}", e.without_url())))?;
        if !hex::encode(Sha256::digest(&bytes)).eq_ignore_ascii_case(key) {
            return Err(Error::Other(format!(
                "S3 blob store: blob {key} does not match its key (corrupted in storage)"
            )));
        }
        Ok(Some(bytes.to_vec()))
    }

    async fn put_file(&self, path: &Path) -> Result<String> {
        // Two passes over the file: the hash first (it is the key, and SigV4 signs it, so
        // the server checks the upload arrived intact), then the upload itself, streamed.
        let (key, len) = hash_stream(tokio::fs::File::open(path).await?).await?;
        let object = self.object_path(&key);
        let head = self
            .send(Method::HEAD, &object, &[], None, "check blob")
            .await?;
        if head.status() == StatusCode::OK {
            return Ok(key);
        }
        let payload = Payload::File {
            path,
            len,
            sha256: &key,
        };
        let response = self
            .send(Method::PUT, &object, &[], Some(payload), "store blob")
            .await?;
        if !response.status().is_success() {
            return Err(failure("store blob", response).await);
        }
        Ok(key)
    }

    async fn copy_to_file(&self, key: &str, dest: &Path) -> Result<bool> {
        check_key(key)?;
        let mut response = self
            .send(Method::GET, &self.object_path(key), &[], None, DOWNLOAD)
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        if !response.status().is_success() {
            return Err(failure(DOWNLOAD, response).await);
        }
        let digest = write_atomically(dest, |mut file| async move {
            let mut hasher = Sha256::new();
            loop {
                let chunk = tokio::time::timeout(REQUEST_TIMEOUT, response.chunk())
                    .await
                    .map_err(|_| {
                        Error::Other(format!(
                            "S3 blob store: {DOWNLOAD}: no data for {} s",
                            REQUEST_TIMEOUT.as_secs()
                        ))
                    })?
                    .map_err(|e| {
                        Error::Other(format!("S3 blob store: {DOWNLOAD}: {}", e.without_url()))
                    })?;
                let Some(chunk) = chunk else { break };
                hasher.update(&chunk);
                file.write_all(&chunk).await?;
            }
            Ok((hex::encode(hasher.finalize()), file))
        });
        let digest = digest.await?;
        if !digest.eq_ignore_ascii_case(key) {
            let _ = tokio::fs::remove_file(dest).await;
            return Err(Error::Other(format!(
                "S3 blob store: blob {key} does not match its key (corrupted in storage)"
            )));
        }
        Ok(true)
    }

    async fn keys(&self) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self.list_page(token.as_deref()).await?;
            keys.extend(
                page.keys
                    .iter()
                    .filter_map(|name| name.strip_prefix(self.prefix.as_str()))
                    .filter(|key| check_key(key).is_ok())
                    .map(str::to_owned),
            );
            match (page.truncated, page.next_token) {
                (false, _) => {
                    keys.sort();
                    return Ok(keys);
                }
                (true, Some(next)) => token = Some(next),
                (true, None) => {
                    return Err(Error::Other(
                        "S3 blob store: list objects: truncated page without a continuation token"
                            .into(),
                    ));
                }
            }
        }
        Err(Error::Other(format!(
            "S3 blob store: list objects: more than {MAX_PAGES} pages; refusing a partial listing"
        )))
    }
}

/// The operation name of a streamed download (also selects its longer timeout).
const DOWNLOAD: &str = "read blob to file";

/// The body of a request.
enum Payload<'a> {
    Bytes(&'a [u8]),
    /// A file of known length and SHA-256, streamed.
    File {
        path: &'a Path,
        len: u64,
        sha256: &'a str,
    },
}

/// Total time for an upload of `len` bytes.
fn transfer_timeout(len: u64) -> Duration {
    REQUEST_TIMEOUT + Duration::from_secs(len / MIN_BYTES_PER_SECOND)
}

/// A file as an HTTP body of exactly `remaining` bytes, read a chunk at a time. A file that
/// turns out shorter than announced is an error (the server would wait for the rest).
struct FileBody {
    file: tokio::fs::File,
    remaining: u64,
    buf: Vec<u8>,
}

impl FileBody {
    fn new(file: tokio::fs::File, len: u64) -> Self {
        Self {
            file,
            remaining: len,
            buf: vec![0u8; STREAM_CHUNK],
        }
    }
}

impl http_body::Body for FileBody {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = usize::try_from(this.remaining)
            .unwrap_or(usize::MAX)
            .min(this.buf.len());
        let mut buf = ReadBuf::new(&mut this.buf[..want]);
        match Pin::new(&mut this.file).poll_read(cx, &mut buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) if buf.filled().is_empty() => {
                Poll::Ready(Some(Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the file got shorter while it was uploaded",
                ))))
            }
            Poll::Ready(Ok(())) => {
                let chunk = bytes::Bytes::copy_from_slice(buf.filled());
                this.remaining -= chunk.len() as u64;
                Poll::Ready(Some(Ok(http_body::Frame::data(chunk))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}

fn check_key(key: &str) -> Result<()> {
    if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::Other(format!("invalid blob key `{key}`")));
    }
    Ok(())
}

fn retryable(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
}

/// The error for a final non-success response: status and S3 error code only (the message
/// may echo request details; the code never holds a credential).
async fn failure(what: &str, response: reqwest::Response) -> Error {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    let code = tag_values(&body, "Code")
        .into_iter()
        .next()
        .filter(|c| c.len() <= 64 && c.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(|c| format!(" {c}"))
        .unwrap_or_default();
    Error::Other(format!("S3 blob store: {what}: HTTP {status}{code}"))
}

/// URI encoding as SigV4 wants it: everything but the unreserved characters.
fn encode(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

/// Parameters encoded and sorted by name, joined with `&`: both the canonical query of the
/// signature and the query string actually sent.
fn canonical_query(query: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> =
        query.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

struct SigningInput<'a> {
    method: &'a str,
    host: &'a str,
    /// Already URI-encoded.
    path: &'a str,
    /// Already canonical.
    query: &'a str,
    payload_hash: &'a str,
    /// `YYYYMMDDTHHMMSSZ`.
    amz_date: &'a str,
}

/// The `Authorization` header of AWS Signature Version 4 for service `s3`, signing the
/// headers `host`, `x-amz-content-sha256` and `x-amz-date`.
fn sign(input: &SigningInput<'_>, region: &str, access_key: &str, secret_key: &str) -> String {
    const SIGNED_HEADERS: &str = "host;x-amz-content-sha256;x-amz-date";
    let canonical_request = format!(
        "{}\n{}\n{}\nhost:{}\nx-amz-content-sha256:{}\nx-amz-date:{}\n\n{SIGNED_HEADERS}\n{}",
        input.method,
        input.path,
        input.query,
        input.host,
        input.payload_hash,
        input.amz_date,
        input.payload_hash
    );
    let date = input.amz_date.get(..8).unwrap_or_default();
    let scope = format!("{date}/{region}/s3/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        input.amz_date,
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let mut key = hmac_sha256(format!("AWS4{secret_key}").as_bytes(), date.as_bytes());
    for part in [region, "s3", "aws4_request"] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    let signature = hex::encode(hmac_sha256(&key, string_to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={SIGNED_HEADERS}, Signature={signature}"
    )
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this never fails.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// One page of a ListObjectsV2 answer.
#[derive(Debug, PartialEq)]
struct ListPage {
    keys: Vec<String>,
    truncated: bool,
    next_token: Option<String>,
}

impl ListPage {
    fn parse(xml: &str) -> Self {
        Self {
            keys: tag_values(xml, "Key"),
            truncated: tag_values(xml, "IsTruncated")
                .first()
                .is_some_and(|v| v.trim() == "true"),
            next_token: tag_values(xml, "NextContinuationToken").into_iter().next(),
        }
    }
}

/// The unescaped text of every `<tag>…</tag>` element. S3 answers are flat enough for this:
/// `Key` appears only in `Contents`, and text holds no markup.
fn tag_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut values = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else {
            break;
        };
        values.push(unescape(&after[..end]));
        rest = &after[end + close.len()..];
    }
    values
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let Some(semi) = tail.find(';') else {
            out.push_str(tail);
            return out;
        };
        let entity = &tail[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &tail[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "Example: GET Bucket (List Objects)" of the AWS Signature Version 4 documentation
    /// for S3 (header signing), which signs exactly our header set.
    #[test]
    fn signature_matches_aws_list_example() {
        let query = canonical_query(&[("max-keys", "2"), ("prefix", "J")]);
        assert_eq!(query, "max-keys=2&prefix=J");
        let auth = sign(
            &SigningInput {
                method: "GET",
                host: "examplebucket.s3.amazonaws.com",
                path: "/",
                query: &query,
                payload_hash: EMPTY_SHA256,
                amz_date: "20130524T000000Z",
            },
            "us-east-1",
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
        );
    }

    #[test]
    fn list_page_parsing() {
        let xml = "<?xml version=\"1.0\"?><ListBucketResult><Name>b</Name><Prefix>p/</Prefix>\
            <IsTruncated>true</IsTruncated><NextContinuationToken>a+b/c&amp;d=</NextContinuationToken>\
            <Contents><Key>p/one</Key><Size>1</Size></Contents><Contents><Key>p/t&lt;o</Key></Contents>\
            </ListBucketResult>";
        assert_eq!(
            ListPage::parse(xml),
            ListPage {
                keys: vec!["p/one".into(), "p/t<o".into()],
                truncated: true,
                next_token: Some("a+b/c&d=".into()),
            }
        );
        assert_eq!(unescape("a&#x41;&#66;&bogus;&"), "aAB&bogus;&");
    }

    #[test]
    fn urls_in_both_styles() {
        let mut config = BlobConfig {
            backend: "s3".into(),
            s3_endpoint: "https://s3.example.vn:8443/base/".into(),
            s3_bucket: "tinh-so".into(),
            s3_prefix: "hồ sơ/".into(),
            s3_access_key: "AK".into(),
            s3_secret_key: "SK".into(),
            ..BlobConfig::default()
        };
        let store = S3BlobStore::new(&config).unwrap();
        assert_eq!(store.host, "s3.example.vn:8443");
        assert_eq!(
            store.object_path("ab"),
            "/base/tinh-so/h%E1%BB%93%20s%C6%A1/ab"
        );
        assert!(!format!("{store:?}").contains("SK"));
        config.s3_path_style = false;
        config.s3_endpoint = "https://s3.example.vn".into();
        let store = S3BlobStore::new(&config).unwrap();
        assert_eq!(store.host, "tinh-so.s3.example.vn");
        assert_eq!(store.object_path("ab"), "/h%E1%BB%93%20s%C6%A1/ab");
    }
}
