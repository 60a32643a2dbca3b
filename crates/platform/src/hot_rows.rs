//! Turns at a contended row, taken in this process before the database's row lock.
//!
//! Many writers of one row (an agency's daily dossier counter on a busy morning) all wait on
//! PostgreSQL's row lock, and every commit wakes every waiter to find the row taken again: the
//! database spends its CPU on the convoy instead of the work. Waiting here instead hands the
//! row to one writer at a time, in arrival order; the database still decides between nodes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// Rows no one waits for are forgotten once the map grows past this.
const PRUNE_AT: usize = 1024;

/// A writer's turn at a row, held until it is dropped.
pub type Turn = OwnedMutexGuard<()>;

#[derive(Default)]
pub struct HotRows {
    rows: Mutex<HashMap<String, Weak<AsyncMutex<()>>>>,
}

impl std::fmt::Debug for HotRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotRows").finish_non_exhaustive()
    }
}

impl HotRows {
    /// Waits for the turn at `row` (any stable name of it) behind the writers that asked first.
    pub async fn turn(&self, row: &str) -> Turn {
        self.slot(row).lock_owned().await
    }

    fn slot(&self, row: &str) -> Arc<AsyncMutex<()>> {
        let mut rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = rows.get(row).and_then(Weak::upgrade) {
            return slot;
        }
        if rows.len() >= PRUNE_AT {
            rows.retain(|_, slot| slot.strong_count() > 0);
        }
        let slot = Arc::new(AsyncMutex::new(()));
        rows.insert(row.to_owned(), Arc::downgrade(&slot));
        slot
    }

    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.rows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn one_writer_per_row_and_other_rows_free() {
        let rows = Arc::new(HotRows::default());
        let first = rows.turn("counter/a").await;
        // Another row is not held up.
        let other = tokio::time::timeout(Duration::from_secs(5), rows.turn("counter/b")).await;
        assert!(other.is_ok());
        // The same row waits until the first turn ends.
        let waiting = tokio::spawn({
            let rows = rows.clone();
            async move { rows.turn("counter/a").await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished());
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert!(matches!(second, Ok(Ok(_))));
    }

    #[tokio::test]
    async fn rows_no_one_holds_are_forgotten() {
        let rows = HotRows::default();
        for i in 0..PRUNE_AT + 10 {
            drop(rows.turn(&format!("counter/{i}")).await);
        }
        assert!(rows.remembered() <= PRUNE_AT, "{}", rows.remembered());
        let _held = rows.turn("kept").await;
        assert!(rows.remembered() >= 1);
    }
}
