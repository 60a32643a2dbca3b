//! In-process caches of rarely changing data, one set per [`crate::Platform`] (so two
//! platforms on two databases in one process never share an entry).
//!
//! [`Caches`] holds one value per type, created on first use: each system crate keeps its
//! own cache type without the platform knowing it. [`Bounded`] is the map such caches are
//! made of: at most `capacity` entries, emptied when full (entries are cheap to refill, and
//! an unbounded cache keyed by stored ids would grow with the data). Whether an entry may be
//! trusted is the owner's rule: immutable rows (a stored procedure version) are cached for
//! good; mutable data is cached beside a stamp its writers change in their transaction and
//! readers re-read (see `calendar`), so a node never serves another node's stale data.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

/// One cache value per type, shared by all clones of the platform.
#[derive(Default)]
pub struct Caches {
    slots: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl std::fmt::Debug for Caches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caches").finish_non_exhaustive()
    }
}

impl Caches {
    /// The cache of type `T`, created empty on first use.
    pub fn get<T: Any + Send + Sync + Default>(&self) -> Arc<T> {
        // A panic while the lock was held cannot leave the map half-changed (one insert).
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = slots
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(T::default()));
        match slot.clone().downcast::<T>() {
            Ok(cache) => cache,
            // Unreachable (the slot of T's id holds a T); a fresh cache is still correct.
            Err(_) => Arc::new(T::default()),
        }
    }
}

/// A bounded map from keys to cloned values, with the stamp its entries were read under.
pub struct Bounded<K, V> {
    capacity: usize,
    inner: Mutex<(Option<String>, HashMap<K, V>)>,
}

impl<K: Eq + Hash, V: Clone> Bounded<K, V> {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::new((None, HashMap::new())),
        }
    }

    /// The entry for `key`, if it was stored under `stamp` (`None` for immutable data).
    pub fn get(&self, stamp: Option<&str>, key: &K) -> Option<V> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.0.as_deref() != stamp {
            return None;
        }
        inner.1.get(key).cloned()
    }

    /// Stores an entry read under `stamp`; entries of another stamp are dropped first.
    pub fn insert(&self, stamp: Option<&str>, key: K, value: V) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.0.as_deref() != stamp {
            inner.0 = stamp.map(str::to_owned);
            inner.1.clear();
        }
        if inner.1.len() >= self.capacity {
            inner.1.clear();
        }
        inner.1.insert(key, value);
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A new stamp: a random token naming one state of some cached data.
fn new_stamp() -> String {
    use rand::RngCore;
    let mut token = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut token);
    hex::encode(token)
}

/// Replaces the stamp under settings `key`, in the transaction that changes the data it
/// covers: every node's cached copy read under the old stamp stops being served.
pub(crate) async fn bump_stamp(tx: &mut crate::WriteTx, key: &str) -> crate::Result<()> {
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(key)
        .bind(new_stamp())
        .execute(&mut *tx.tx)
        .await?;
    Ok(())
}

/// Gives a database without the stamp `key` (new, or older than the cache) its first one;
/// until then the data it covers is read without caching.
pub(crate) async fn ensure_stamp(p: &crate::Platform, key: &str) -> crate::Result<()> {
    if p.setting(key).await?.is_some() {
        return Ok(());
    }
    let mut tx = p.db.begin_write().await?;
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
        .bind(key)
        .bind(new_stamp())
        .execute(&mut *tx.tx)
        .await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Counter(Mutex<u32>);

    #[test]
    fn one_value_per_type_shared_between_calls() {
        let caches = Caches::default();
        *caches.get::<Counter>().0.lock().unwrap() += 1;
        assert_eq!(*caches.get::<Counter>().0.lock().unwrap(), 1);
    }

    #[test]
    fn entries_of_another_stamp_are_not_served_and_the_size_is_bounded() {
        let cache: Bounded<i64, &str> = Bounded::new(2);
        cache.insert(Some("a"), 1, "one");
        assert_eq!(cache.get(Some("a"), &1), Some("one"));
        assert_eq!(cache.get(Some("b"), &1), None);
        assert_eq!(cache.get(None, &1), None);
        cache.insert(Some("b"), 2, "two");
        assert_eq!(
            cache.get(Some("a"), &1),
            None,
            "a new stamp drops old entries"
        );
        cache.insert(Some("b"), 3, "three");
        cache.insert(Some("b"), 4, "four");
        assert!(cache.len() <= 2);
        assert_eq!(cache.get(Some("b"), &4), Some("four"));
    }
}
