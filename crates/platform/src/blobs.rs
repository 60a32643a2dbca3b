//! The blob store port: immutable, content-addressed files (uploads, generated PDFs, signed
//! packages). Keys are the SHA-256 of the content, so writing the same file twice stores it
//! once and a blob can never change under a record that points at it — which is also what
//! lets a backup copy blobs while the server keeps running.

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;

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
    /// Every key, for backups.
    async fn keys(&self) -> Result<Vec<String>>;
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
}
