//! The S3 blob store against a real S3-compatible server on loopback: moto in server mode,
//! with IAM authentication switched on so request signatures are really checked.
//!
//! Needs Python 3 with `pip install 'moto[server]'`; each test starts its own server on a
//! free port and kills it when done.
//!
//! Key prefixes here avoid `/`: moto decodes `prefix=a%2F` in the query before checking the
//! signature and so rejects any correctly signed listing under such a prefix (boto3's
//! included). Real S3 accepts it; the signing itself is checked against AWS's published
//! example in the unit tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sha2::{Digest, Sha256};
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tinhso_platform::blobs::{BlobStore, S3BlobStore};
use tinhso_platform::config::BlobConfig;
use tinhso_platform::{Config, Db, Platform, backup};

const INSTALL: &str = "install it with: pip install 'moto[server]'";
const BUCKET: &str = "tinhso-blobs";

/// Creates an IAM user allowed `s3:*` and its access key, creates the bucket, then turns
/// moto's authentication on (`reset-auth 0`): from then on every request must be signed
/// with that key. Prints `<access key id> <secret>`.
const SETUP: &str = r#"
import sys, urllib.request, boto3
endpoint, bucket = sys.argv[1], sys.argv[2]
kw = dict(endpoint_url=endpoint, region_name="us-east-1",
          aws_access_key_id="AKIASETUPSETUPSETUP0", aws_secret_access_key="setup")
iam = boto3.client("iam", **kw)
iam.create_user(UserName="tinhso")
iam.put_user_policy(UserName="tinhso", PolicyName="s3", PolicyDocument=
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}')
key = iam.create_access_key(UserName="tinhso")["AccessKey"]
boto3.client("s3", **kw).create_bucket(Bucket=bucket)
urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset-auth", data=b"0",
    method="POST", headers={"Content-Type": "text/plain"})).read()
print(key["AccessKeyId"], key["SecretAccessKey"])
"#;

/// A moto server child process, killed on drop.
struct Moto {
    child: Child,
    endpoint: String,
    access_key: String,
    secret_key: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Moto {
    fn start() -> Self {
        let probe = Command::new("python3")
            .args(["-c", "import moto.server, boto3, flask_cors"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !matches!(probe, Ok(status) if status.success()) {
            panic!("the S3 tests need the moto server (Python): {INSTALL}");
        }
        let port = free_port();
        let mut child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start moto ({e}); {INSTALL}"));
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                panic!("moto exited ({status}) before listening: {stderr}\n{INSTALL}");
            }
            assert!(Instant::now() < deadline, "moto did not listen within 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        // Nothing reads moto's stderr from here on: let it go nowhere rather than fill a pipe.
        drop(child.stderr.take());
        let mut moto = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            access_key: String::new(),
            secret_key: String::new(),
        };
        let out = Command::new("python3")
            .args(["-c", SETUP, &moto.endpoint, BUCKET])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "moto setup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let mut words = text.split_whitespace();
        moto.access_key = words.next().unwrap().to_owned();
        moto.secret_key = words.next().unwrap().to_owned();
        moto
    }

    fn blob_config(&self, prefix: &str) -> BlobConfig {
        BlobConfig {
            backend: "s3".into(),
            s3_endpoint: self.endpoint.clone(),
            s3_region: "us-east-1".into(),
            s3_bucket: BUCKET.into(),
            s3_prefix: prefix.into(),
            s3_access_key: self.access_key.clone(),
            s3_secret_key: self.secret_key.clone(),
            s3_path_style: true,
            ..BlobConfig::default()
        }
    }

    fn store(&self, prefix: &str) -> S3BlobStore {
        S3BlobStore::new(&self.blob_config(prefix)).unwrap()
    }
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test]
async fn round_trip_idempotent_put_missing_key_and_paged_listing() {
    let moto = Moto::start();
    let store = moto.store("unit-").with_page_size(2);

    let key = store.put(b"hello").await.unwrap();
    assert_eq!(key, sha(b"hello"));
    assert_eq!(store.put(b"hello").await.unwrap(), key, "idempotent put");
    assert_eq!(store.get(&key).await.unwrap().unwrap(), b"hello");
    let empty = store.put(b"").await.unwrap();
    assert_eq!(store.get(&empty).await.unwrap().unwrap(), b"");
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let big_key = store.put(&big).await.unwrap();
    assert_eq!(store.get(&big_key).await.unwrap().unwrap(), big);

    assert_eq!(store.get(&sha(b"never stored")).await.unwrap(), None);
    assert!(store.get("../../etc/passwd").await.is_err());

    // Seven blobs at two keys a page: four pages, joined and sorted.
    let mut expected = vec![key, empty, big_key];
    for i in 0..4 {
        expected.push(store.put(format!("blob {i}").as_bytes()).await.unwrap());
    }
    expected.sort();
    // Objects outside the prefix, or not named like a blob, are not the store's.
    moto.store("other-").put(b"elsewhere").await.unwrap();
    moto.store("unit-not-a-blob-").put(b"x").await.unwrap();
    assert_eq!(store.keys().await.unwrap(), expected);
    assert_eq!(
        moto.store("other-").keys().await.unwrap(),
        vec![sha(b"elsewhere")]
    );
}

#[tokio::test]
async fn bad_credentials_and_unreachable_endpoint_are_errors() {
    let moto = Moto::start();
    let key = moto
        .store("")
        .put(b"stored with the right key")
        .await
        .unwrap();

    let mut config = moto.blob_config("");
    config.s3_secret_key = "wrong-secret-value".into();
    let wrong = S3BlobStore::new(&config).unwrap();
    let err = wrong.put(b"data").await.unwrap_err().to_string();
    assert!(
        err.contains("403") && err.contains("SignatureDoesNotMatch"),
        "{err}"
    );
    assert!(!err.contains("wrong-secret-value"), "{err}");
    let err = wrong.get(&key).await.unwrap_err().to_string();
    assert!(
        err.contains("403"),
        "a refused read is an error, not a missing blob: {err}"
    );
    assert!(wrong.keys().await.is_err());
    assert!(!format!("{wrong:?}").contains("wrong-secret-value"));

    let mut config = moto.blob_config("");
    config.s3_access_key = "AKIAUNKNOWNUNKNOWN00".into();
    let err = S3BlobStore::new(&config)
        .unwrap()
        .get(&key)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("403"), "{err}");

    // Nothing listens there: bounded retries, then an error naming the operation.
    let mut config = moto.blob_config("");
    config.s3_endpoint = format!("http://127.0.0.1:{}", free_port());
    let started = Instant::now();
    let err = S3BlobStore::new(&config)
        .unwrap()
        .put(b"data")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("check blob") && err.contains("3 attempts"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

/// `put_file` streams a file of many chunks with its signed SHA-256 (moto checks it),
/// under the key `put` gives the same bytes; `copy_to_file` streams it back.
#[tokio::test]
async fn streaming_blobs_put_file_and_copy_to_file() {
    let moto = Moto::start();
    let store = moto.store("stream-");
    let dir = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = (0..3_000_017u32).map(|i| (i % 253) as u8).collect();
    let src = dir.path().join("attachment.pdf");
    std::fs::write(&src, &bytes).unwrap();

    let key = store.put_file(&src).await.unwrap();
    assert_eq!(key, sha(&bytes));
    assert_eq!(store.put_file(&src).await.unwrap(), key, "idempotent");
    assert_eq!(store.get(&key).await.unwrap().unwrap(), bytes);
    let out = dir.path().join("out.pdf");
    assert!(store.copy_to_file(&key, &out).await.unwrap());
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
    let small = store.put(b"small").await.unwrap();
    assert!(store.copy_to_file(&small, &out).await.unwrap());
    assert_eq!(std::fs::read(&out).unwrap(), b"small", "replaced");

    let missing = dir.path().join("missing");
    assert!(!store.copy_to_file(&sha(b"never"), &missing).await.unwrap());
    assert!(!missing.exists());
    assert!(store.copy_to_file("../x", &missing).await.is_err());
    let empty = dir.path().join("empty");
    std::fs::write(&empty, b"").unwrap();
    assert_eq!(store.put_file(&empty).await.unwrap(), sha(b""));

    let mut config = moto.blob_config("stream-");
    config.s3_secret_key = "wrong-secret-value".into();
    std::fs::write(&src, b"other content").unwrap();
    let err = S3BlobStore::new(&config)
        .unwrap()
        .put_file(&src)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("403"), "{err}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn platform_config(moto: &Moto, dir: &std::path::Path, prefix: &str) -> Config {
    let mut config = Config::default();
    config.server.data_dir = dir.to_path_buf();
    config.blobs = moto.blob_config(prefix);
    config
}

#[tokio::test]
async fn backup_and_restore_with_the_s3_backend() {
    let moto = Moto::start();
    let tmp = tempfile::tempdir().unwrap();

    let source = Platform::open(platform_config(&moto, &tmp.path().join("a"), "site-a-"))
        .await
        .unwrap();
    let mut keys = Vec::new();
    for blob in [&b"giay-to.pdf"[..], b"ho-so.xml", b"\x00\x01binary"] {
        keys.push(source.blobs.put(blob).await.unwrap());
    }
    keys.sort();
    let archive = tmp.path().join("backup.tar");
    let manifest = backup::backup(&source, &archive).await.unwrap();
    assert_eq!(manifest.blobs, 3);

    // A new installation with its own database, data directory and bucket prefix.
    let target = platform_config(&moto, &tmp.path().join("b"), "site-b-");
    let db = Db::connect(&target.database_url(), 4, "full")
        .await
        .unwrap();
    let restored = backup::restore(
        &db,
        &target,
        &[tinhso_platform::FOUNDATION_MIGRATIONS],
        &archive,
    )
    .await
    .unwrap();
    assert_eq!(restored.blobs, 3);
    db.close().await;

    let reopened = Platform::open(target).await.unwrap();
    assert_eq!(reopened.blobs.keys().await.unwrap(), keys);
    assert_eq!(
        reopened
            .blobs
            .get(&sha(b"ho-so.xml"))
            .await
            .unwrap()
            .unwrap(),
        b"ho-so.xml"
    );
    // The restore wrote to S3, not to a local directory.
    assert!(!tmp.path().join("b").join("blobs").exists());
}
