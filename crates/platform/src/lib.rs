//! Ports and adapters of Tỉnh số, and the foundation's services.
//!
//! [`Platform`] bundles what every service needs: the database, the configuration, the
//! installation keys and the clock. Services are plain async functions taking `&Platform`
//! and a [`Ctx`]; each checks access through the domain core, writes in one transaction and
//! appends the audit record in that same transaction.

pub mod audit;
pub mod backup;
pub mod batch;
pub mod blobs;
mod blobs_s3;
pub mod cache;
pub mod calendar;
pub mod config;
pub mod context;
pub mod db;
pub mod demo;
pub mod error;
pub mod hot_rows;
pub mod identity;
pub mod keys;
pub mod national_portal;
pub mod notifier;
pub mod oidc;
pub mod org;
pub mod outbox;
pub mod payment;
pub mod reads;
pub mod runtime;
pub mod scanner;
pub mod search;
pub mod wal_sync;

use serde::Serialize;
use std::sync::Arc;

pub use batch::{Batch, Outcomes, StatementId};
pub use config::Config;
pub use context::{Caller, Clock, Ctx, SystemClock};
pub use db::{Db, Dialect, FOUNDATION_MIGRATIONS, Migration, WriteTx};
pub use error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Platform {
    pub db: Db,
    pub config: Arc<Config>,
    pub audit_key: Arc<Vec<u8>>,
    pub session_key: Arc<Vec<u8>>,
    pub blobs: Arc<dyn blobs::BlobStore>,
    /// Malware scanner for uploads, chosen by `config.scanner`.
    pub scanner: Arc<dyn scanner::MalwareScanner>,
    pub clock: Arc<dyn Clock>,
    /// The payment-gateway port chosen by `payment.backend`.
    pub payments: Arc<dyn payment::PaymentGateway>,
    /// The search-index port chosen by `search.backend`.
    pub search: Arc<dyn search::SearchIndex>,
    /// In-process caches of rarely changing data (procedure versions, calendars).
    pub caches: Arc<cache::Caches>,
}

impl Platform {
    /// Opens the configured database with the foundation's migrations only.
    pub async fn open(config: Config) -> Result<Self> {
        Self::open_with(config, &[db::FOUNDATION_MIGRATIONS]).await
    }

    /// Opens the configured database, applying the given migration sets (the foundation's and
    /// those of every system crate the binary links), and the installation keys.
    pub async fn open_with(config: Config, migrations: &[&[db::Migration]]) -> Result<Self> {
        std::fs::create_dir_all(&config.server.data_dir)?;
        let db = Db::connect(
            &config.database_url(),
            config.database.max_connections,
            &config.database.sqlite_synchronous,
        )
        .await?;
        db.migrate_with(migrations).await?;
        let data_dir = config.server.data_dir.clone();
        let session_key = keys::load_or_create(&data_dir, keys::SESSION_KEY)?;
        let platform = Self {
            db,
            audit_key: Arc::new(keys::load_or_create(&data_dir, keys::AUDIT_KEY)?),
            payments: payment::from_config(&config, &session_key),
            session_key: Arc::new(session_key),
            blobs: blobs::blob_store(&config)?,
            scanner: scanner::scanner(&config.scanner)?,
            search: search::from_config(&config.search)?,
            config: Arc::new(config),
            clock: Arc::new(SystemClock),
            caches: Arc::default(),
        };
        platform.check_audit_key().await?;
        calendar::ensure_stamp(&platform).await?;
        cache::ensure_stamp(&platform, identity::ACCESS_STAMP_KEY).await?;
        Ok(platform)
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Appends the audit record of `change` inside `tx`.
    pub async fn audit<B: Serialize, A: Serialize>(
        &self,
        tx: &mut WriteTx,
        ctx: &Ctx,
        change: audit::Change<'_, B, A>,
    ) -> Result<i64> {
        let guess = self.caches.get::<audit::HeadGuess>();
        audit::append(tx, &self.audit_key, &guess, ctx, change).await
    }

    /// The audit record of `change`, its write joining `batch` where it can (see
    /// [`audit::PendingAudit`]); [`Platform::settle_audit`] once the batch ran.
    pub fn defer_audit<B: Serialize, A: Serialize>(
        &self,
        batch: &mut Batch<'_>,
        tx: &mut WriteTx,
        ctx: &Ctx,
        change: audit::Change<'_, B, A>,
    ) -> audit::PendingAudit {
        let guess = self.caches.get::<audit::HeadGuess>();
        audit::defer(batch, tx, &self.audit_key, &guess, ctx, change)
    }

    /// Completes a deferred audit record after its batch ran; returns its number.
    pub async fn settle_audit(
        &self,
        tx: &mut WriteTx,
        pending: audit::PendingAudit,
        outcomes: &Outcomes,
    ) -> Result<i64> {
        let guess = self.caches.get::<audit::HeadGuess>();
        pending.settle(tx, &self.audit_key, &guess, outcomes).await
    }

    /// Records which key seals the chain, and refuses to run with a different one: a lost or
    /// swapped key file would otherwise make every later verification fail mysteriously.
    async fn check_audit_key(&self) -> Result<()> {
        use sha2::Digest;
        let fingerprint = hex::encode(&sha2::Sha256::digest(self.audit_key.as_slice())[..8]);
        let stored: Option<String> =
            sqlx::query_scalar("SELECT value FROM settings WHERE key = 'audit_key_fingerprint'")
                .fetch_optional(self.db.pool())
                .await?;
        match stored {
            Some(found) if found == fingerprint => Ok(()),
            Some(found) => Err(Error::Config(format!(
                "the audit key in {} (fingerprint {fingerprint}) is not the key that sealed this database's audit chain (fingerprint {found}); restore the original key file",
                keys::keys_dir(&self.config.server.data_dir).display()
            ))),
            None => {
                let mut tx = self.db.begin_write().await?;
                sqlx::query("INSERT INTO settings (key, value) VALUES ('audit_key_fingerprint', $1) ON CONFLICT (key) DO NOTHING")
                    .bind(&fingerprint)
                    .execute(&mut *tx.tx)
                    .await?;
                tx.commit().await
            }
        }
    }

    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(self.db.pool())
                .await?,
        )
    }
}
