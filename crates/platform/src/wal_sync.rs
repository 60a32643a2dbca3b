//! Group commit for SQLite: concurrent transactions made durable by one `fsync` of the WAL.
//!
//! With `PRAGMA synchronous=FULL` every commit waits for its own `fsync` of the write-ahead
//! log while it still holds the one write lock, so writers queue behind each other's disk
//! flushes. Instead the connections run `synchronous=NORMAL` (a commit only writes its frames
//! to the WAL; SQLite itself still syncs the WAL before each checkpoint and the database
//! file after it), and a committed transaction is acknowledged only once [`WalSync::durable`]
//! has seen an `fsync` of the WAL that started after the commit returned. Writers that
//! committed meanwhile share that flush: the leader flushes everything written so far, the
//! others wait for it. An acknowledged transaction therefore survives power loss exactly as
//! with `FULL` — its frames, and every frame before them, are on disk.
//!
//! `fsync` of a file flushes every dirty page of that file, whichever descriptor wrote it,
//! so the WAL is opened afresh for each flush (it may be deleted and recreated when the last
//! connection closes; a new file also gets its directory entry flushed).
//!
//! A failed flush poisons the store: the kernel may have dropped the unwritten pages, so a
//! later successful `fsync` would prove nothing. Every commit after that fails with a clear
//! error until the process restarts and SQLite recovers from what is on disk.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use tokio::sync::Notify;

use crate::error::{Error, Result};

/// The shared flush state of one SQLite database.
#[derive(Debug)]
pub struct WalSync {
    wal: PathBuf,
    dir: PathBuf,
    state: Mutex<State>,
    flushed: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// Commits counted so far; a commit's ticket is its number.
    committed: u64,
    /// Every commit with a ticket up to this one is on disk.
    durable: u64,
    /// A flush is running (its leader will wake the others).
    flushing: bool,
    /// The WAL file's inode at the last flush: a new file needs its directory entry flushed.
    wal_inode: Option<u64>,
    /// Why a flush failed: from then on nothing is acknowledged.
    failed: Option<String>,
}

/// What one waiter does next.
enum Turn {
    Done,
    Lead { through: u64, inode: Option<u64> },
    Wait,
}

impl WalSync {
    /// For the database file at `db_path` (its WAL is `<db_path>-wal`).
    pub fn new(db_path: &std::path::Path) -> Self {
        let mut wal = db_path.as_os_str().to_owned();
        wal.push("-wal");
        let dir = match db_path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Self {
            wal: PathBuf::from(wal),
            dir,
            state: Mutex::new(State::default()),
            flushed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is plain counters: a panic elsewhere cannot leave it half-changed.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a transaction whose `COMMIT` has returned; the ticket is what it waits for.
    pub fn committed(&self) -> u64 {
        let mut state = self.lock();
        state.committed += 1;
        state.committed
    }

    /// Returns once the commit with `ticket` is on disk, flushing the WAL itself when no
    /// other waiter is doing so already.
    pub async fn durable(&self, ticket: u64) -> Result<()> {
        loop {
            // Registered before the state is read, so a flush ending in between still wakes us.
            let notified = self.flushed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.turn(ticket)? {
                Turn::Done => return Ok(()),
                Turn::Wait => notified.await,
                Turn::Lead { through, inode } => {
                    let leading = Leading(Some(self));
                    let outcome = self.flush(inode).await;
                    leading.finished();
                    self.finish(through, outcome)?;
                }
            }
        }
    }

    fn turn(&self, ticket: u64) -> Result<Turn> {
        let mut state = self.lock();
        if let Some(why) = &state.failed {
            return Err(poisoned(why));
        }
        if state.durable >= ticket {
            return Ok(Turn::Done);
        }
        if state.flushing {
            return Ok(Turn::Wait);
        }
        state.flushing = true;
        Ok(Turn::Lead {
            through: state.committed,
            inode: state.wal_inode,
        })
    }

    fn finish(&self, through: u64, outcome: std::io::Result<Option<u64>>) -> Result<()> {
        let result = {
            let mut state = self.lock();
            state.flushing = false;
            match outcome {
                Ok(inode) => {
                    state.durable = state.durable.max(through);
                    state.wal_inode = inode.or(state.wal_inode);
                    Ok(())
                }
                Err(e) => {
                    let why = format!("fsync of {} failed: {e}", self.wal.display());
                    tracing::error!("{why}; no further write is acknowledged until restart");
                    let err = poisoned(&why);
                    state.failed = Some(why);
                    Err(err)
                }
            }
        };
        self.flushed.notify_waiters();
        result
    }

    /// Flushes the WAL (and the directory when the WAL is a new file); returns its inode.
    async fn flush(&self, known_inode: Option<u64>) -> std::io::Result<Option<u64>> {
        let (wal, dir) = (self.wal.clone(), self.dir.clone());
        tokio::task::spawn_blocking(move || {
            let file = match std::fs::File::open(&wal) {
                Ok(file) => file,
                // No WAL: the last connection checkpointed it into the (synced) database file.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            };
            file.sync_data()?;
            let inode = file.metadata()?.ino();
            if known_inode != Some(inode) {
                std::fs::File::open(&dir)?.sync_all()?;
            }
            Ok(Some(inode))
        })
        .await
        .map_err(std::io::Error::other)?
    }
}

/// The leader's duty while its flush runs. A leader whose future is dropped mid-flush (a
/// client that hung up, a cancelled task) hands the duty back: the flush's outcome is unknown,
/// so nothing more is counted durable, and the waiters are woken for one of them to lead the
/// next flush. Without this every later commit would wait for a flush nobody finishes.
struct Leading<'a>(Option<&'a WalSync>);

impl Leading<'_> {
    fn finished(mut self) {
        self.0 = None;
    }
}

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        if let Some(sync) = self.0 {
            sync.lock().flushing = false;
            sync.flushed.notify_waiters();
        }
    }
}

fn poisoned(why: &str) -> Error {
    Error::Other(format!(
        "the database cannot make writes durable ({why}); restart the server"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn concurrent_commits_share_flushes_and_every_ticket_is_durable() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        std::fs::write(dir.path().join("x.db-wal"), b"frames").unwrap();
        let sync = Arc::new(WalSync::new(&db));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..64 {
            let sync = sync.clone();
            tasks.spawn(async move {
                let ticket = sync.committed();
                sync.durable(ticket).await.unwrap();
                ticket
            });
        }
        let mut tickets = Vec::new();
        while let Some(t) = tasks.join_next().await {
            tickets.push(t.unwrap());
        }
        tickets.sort_unstable();
        assert_eq!(tickets, (1..=64).collect::<Vec<_>>());
        let state = sync.lock();
        assert_eq!(state.durable, 64);
        assert!(!state.flushing);
        assert!(state.wal_inode.is_some());
    }

    #[tokio::test]
    async fn a_leader_dropped_mid_flush_does_not_stall_later_commits() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        std::fs::write(dir.path().join("x.db-wal"), b"frames").unwrap();
        let sync = WalSync::new(&db);
        let first = sync.committed();
        // Polled once (it starts the flush and waits for it), then dropped.
        tokio::select! {
            biased;
            _ = sync.durable(first) => {}
            () = std::future::ready(()) => {}
        }
        assert!(!sync.lock().flushing);
        let second = sync.committed();
        tokio::time::timeout(std::time::Duration::from_secs(10), sync.durable(second))
            .await
            .expect("a later commit is flushed")
            .unwrap();
        assert!(sync.lock().durable >= second);
    }

    #[tokio::test]
    async fn a_missing_wal_means_nothing_is_left_to_flush() {
        let dir = tempfile::tempdir().unwrap();
        let sync = WalSync::new(&dir.path().join("none.db"));
        let ticket = sync.committed();
        sync.durable(ticket).await.unwrap();
    }

    #[tokio::test]
    async fn a_failed_flush_refuses_every_later_commit() {
        let dir = tempfile::tempdir().unwrap();
        let sync = WalSync::new(&dir.path().join("x.db"));
        let first = sync.committed();
        // The kernel's EIO cannot be provoked here; the leader's outcome is handed in.
        assert!(matches!(
            sync.turn(first).unwrap(),
            Turn::Lead { through: 1, .. }
        ));
        let err = sync
            .finish(first, Err(std::io::Error::other("EIO")))
            .unwrap_err();
        assert!(err.to_string().contains("cannot make writes durable"));
        let later = sync.committed();
        let refused = sync.durable(later).await.unwrap_err();
        assert!(refused.to_string().contains("EIO"));
    }
}
