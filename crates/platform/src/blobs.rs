//! The blob store port: immutable, content-addressed files (uploads, generated PDFs, signed
//! packages). Keys are the SHA-256 of the content, so writing the same file twice stores it
//! once and a blob can never change under a record that points at it — which is also what
//! lets a backup copy blobs while the server keeps running.

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::config::Config;
use crate::error::{Error, Result};

pub use crate::blobs_s3::S3BlobStore;

/// The blob store `config.blobs.backend` names: `local` (the default) or `s3`. Used by
/// [`crate::Platform::open`] and by restore, so both always write to the same place.
pub fn blob_store(config: &Config) -> Result<Arc<dyn BlobStore>> {
    match config.blobs.backend.as_str() {
        "local" => Ok(Arc::new(LocalBlobStore::new(config.blob_dir())?)),
        "s3" => Ok(Arc::new(S3BlobStore::new(&config.blobs)?)),
        other => Err(Error::Config(format!(
            "`blobs.backend` must be `local` or `s3` (got `{other}`)"
        ))),
    }
}

#[async_trait]
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// Stores `bytes` and returns their key (hex SHA-256).
    async fn put(&self, bytes: &[u8]) -> Result<String>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Stores the content of the file at `path` and returns its key, like [`Self::put`],
    /// reading the file in chunks: memory does not grow with its size (500 MB attachments).
    async fn put_file(&self, path: &Path) -> Result<String>;
    /// Writes blob `key` to `dest` (replacing it) in chunks; `false` when there is no such
    /// blob. `dest` appears whole or not at all: the bytes go to a temporary file beside it
    /// that is renamed at the end.
    async fn copy_to_file(&self, key: &str, dest: &Path) -> Result<bool>;
    /// Every key, for backups.
    async fn keys(&self) -> Result<Vec<String>>;
}

/// Bytes read or written at once by the streaming operations.
pub(crate) const STREAM_CHUNK: usize = 64 * 1024;

/// The hex SHA-256 and the length of everything `reader` yields, read in chunks.
pub(crate) async fn hash_stream<R: AsyncRead + Unpin>(mut reader: R) -> Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; STREAM_CHUNK];
    let mut len = 0u64;
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok((hex::encode(hasher.finalize()), len));
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
}

/// A fresh temporary path in `dir` for a file that will be renamed to `name`: the process
/// id and a counter keep concurrent writers (and a crashed run's leftovers) apart.
pub(crate) fn temp_path(dir: &Path, name: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

/// The directory `path` is in (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes a file that appears at `dest` only once complete: `fill` writes into a temporary
/// file beside it, which is synced and renamed; on any error the temporary file is removed.
pub(crate) async fn write_atomically<T, F, Fut>(dest: &Path, fill: F) -> Result<T>
where
    F: FnOnce(tokio::fs::File) -> Fut,
    Fut: std::future::Future<Output = Result<(T, tokio::fs::File)>>,
{
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "blob".into());
    let tmp = temp_path(&parent_dir(dest), &name);
    let result = async {
        let file = tokio::fs::File::create(&tmp).await?;
        let (value, mut file) = fill(file).await?;
        file.flush().await?;
        file.sync_all().await?;
        drop(file);
        tokio::fs::rename(&tmp, dest).await?;
        Ok(value)
    }
    .await;
    if result.is_err() {
        // Best effort: the error that matters is the one being returned.
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    result
}

/// Blobs as files under a directory, fanned out by the first two hex digits.
#[derive(Debug)]
pub struct LocalBlobStore {
    root: PathBuf,
}

impl LocalBlobStore {
    pub fn new(root: PathBuf) -> Result<Self> {
        std::fs::create_dir_all(&root)?;
        Ok(Self { root })
    }

    fn path_of(&self, key: &str) -> Result<PathBuf> {
        if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::Other(format!("invalid blob key `{key}`")));
        }
        Ok(self.root.join(&key[..2]).join(key))
    }
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    async fn put(&self, bytes: &[u8]) -> Result<String> {
        let key = hex::encode(Sha256::digest(bytes));
        let path = self.path_of(&key)?;
        if tokio::fs::try_exists(&path).await? {
            return Ok(key);
        }
        let dir = path
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(|| self.root.clone());
        tokio::fs::create_dir_all(&dir).await?;
        // Write to a temporary name, fsync, then rename: a crash never leaves a half blob
        // under a valid key.
        let tmp = dir.join(format!(".{key}.{}.tmp", std::process::id()));
        let mut file = tokio::fs::File::create(&tmp).await?;
        tokio::io::AsyncWriteExt::write_all(&mut file, bytes).await?;
        file.sync_all().await?;
        tokio::fs::rename(&tmp, &path).await?;
        Ok(key)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        match tokio::fs::read(self.path_of(key)?).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn put_file(&self, path: &Path) -> Result<String> {
        // One pass: hash while copying into a temporary file in the store (same file
        // system, so the final rename is atomic), then rename it under its key.
        let mut source = tokio::fs::File::open(path).await?;
        let tmp = temp_path(&self.root, "upload");
        let copied = async {
            let mut file = tokio::fs::File::create(&tmp).await?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; STREAM_CHUNK];
            loop {
                let n = source.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                file.write_all(&buf[..n]).await?;
            }
            file.flush().await?;
            file.sync_all().await?;
            let key = hex::encode(hasher.finalize());
            let dest = self.path_of(&key)?;
            if tokio::fs::try_exists(&dest).await? {
                tokio::fs::remove_file(&tmp).await?;
                return Ok(key);
            }
            tokio::fs::create_dir_all(parent_dir(&dest)).await?;
            tokio::fs::rename(&tmp, &dest).await?;
            Ok(key)
        }
        .await;
        if copied.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        copied
    }

    async fn copy_to_file(&self, key: &str, dest: &Path) -> Result<bool> {
        let mut source = match tokio::fs::File::open(self.path_of(key)?).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        write_atomically(dest, |mut file| async move {
            tokio::io::copy(&mut source, &mut file).await?;
            Ok(((), file))
        })
        .await?;
        Ok(true)
    }

    async fn keys(&self) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut shards = tokio::fs::read_dir(&self.root).await?;
        while let Some(shard) = shards.next_entry().await? {
            if !shard.file_type().await?.is_dir() {
                continue;
            }
            let mut files = tokio::fs::read_dir(shard.path()).await?;
            while let Some(file) = files.next_entry().await? {
                let name = file.file_name().to_string_lossy().into_owned();
                if self.path_of(&name).is_ok() {
                    keys.push(name);
                }
            }
        }
        keys.sort();
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn content_addressed_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::new(dir.path().to_path_buf()).unwrap();
        let key = store.put(b"hello").await.unwrap();
        assert_eq!(store.put(b"hello").await.unwrap(), key);
        assert_eq!(store.get(&key).await.unwrap().unwrap(), b"hello");
        assert_eq!(store.keys().await.unwrap(), vec![key]);
        assert!(store.get("../etc/passwd").await.is_err());
    }

    /// A file of several chunks (and a ragged end) goes in and out by path, under the same
    /// key as `put` gives its bytes, and leaves no temporary file behind.
    #[tokio::test]
    async fn streaming_put_file_and_copy_to_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::new(dir.path().join("blobs")).unwrap();
        let bytes: Vec<u8> = (0..STREAM_CHUNK * 3 + 17)
            .map(|i| (i % 251) as u8)
            .collect();
        let src = dir.path().join("in.bin");
        std::fs::write(&src, &bytes).unwrap();
        let key = store.put_file(&src).await.unwrap();
        assert_eq!(key, hex::encode(Sha256::digest(&bytes)));
        assert_eq!(store.put_file(&src).await.unwrap(), key);
        assert_eq!(store.put(&bytes).await.unwrap(), key);
        assert_eq!(store.keys().await.unwrap(), vec![key.clone()]);
        let out = dir.path().join("out.bin");
        assert!(store.copy_to_file(&key, &out).await.unwrap());
        assert_eq!(std::fs::read(&out).unwrap(), bytes);
        let absent = "0".repeat(64);
        let missing = dir.path().join("missing.bin");
        assert!(!store.copy_to_file(&absent, &missing).await.unwrap());
        assert!(!missing.exists());
        assert!(store.copy_to_file("../x", &missing).await.is_err());
        assert!(store.put_file(&dir.path().join("nope")).await.is_err());
        let leftovers: Vec<_> = walk(dir.path())
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        let (hash, len) = hash_stream(&bytes[..]).await.unwrap();
        assert_eq!((hash, len), (key, bytes.len() as u64));
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
        out
    }
}
