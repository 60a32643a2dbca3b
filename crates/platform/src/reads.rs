//! The connections reads run on, kept warm between reads.
//!
//! sqlx tests every connection it takes back into its pool (a ping: on SQLite a hand-off to
//! the connection's thread and back, on PostgreSQL a round trip to its backend), so every
//! read run on the pool cost a second round trip, paid by the whole machine's CPU though not
//! by the caller's wait. [`Reads`] keeps connections checked out of the pool between reads
//! instead: a read that ends well hands its connection to the next read as it is, the most
//! recently used first (its page cache is the warmest). A read that fails, is cancelled or
//! finds the warm set full drops its connection, and sqlx's own release — ping included —
//! checks it as before. Everything that needs a connection of the pool takes it here first,
//! so the warm set never starves the others.

use sqlx::any::{AnyQueryResult, AnyRow};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Either, Execute, Executor, SqlStr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;

/// A connection idle this long is pinged before its next use: a PostgreSQL restart or a
/// firewall's idle cut shows there, and a busy connection would fail loudly anyway.
pub(crate) const CHECK_IDLE_AFTER: Duration = Duration::from_secs(10);

/// The database's connection pool with its warm connections; `&Reads` runs queries like a
/// pool does (`sqlx::query(…).fetch_one(db.pool())`).
#[derive(Debug, Clone)]
pub struct Reads {
    pool: AnyPool,
    warm: Arc<Warm>,
}

#[derive(Debug)]
struct Warm {
    state: Mutex<WarmState>,
    /// At most this many kept; the rest go back to the pool.
    keep: usize,
}

#[derive(Debug, Default)]
struct WarmState {
    idle: Vec<Idle>,
    /// Leases waiting for the pool to hand out a connection. While one waits, a connection
    /// that is done goes back to the pool instead of waiting warm, or the waiter would wait
    /// for a connection nobody returns.
    waiting: usize,
}

/// Counts a lease as waiting for the pool until it has its connection or gives up.
struct Waiting<'a>(&'a Reads);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.lock().waiting -= 1;
    }
}

#[derive(Debug)]
struct Idle {
    conn: PoolConnection<Any>,
    since: Instant,
}

/// A connection taken for one use: [`Lease::keep`] hands it back warm; dropped without that
/// (an error, a cancelled future), it goes back to the pool, which checks it.
pub(crate) struct Lease {
    conn: Option<PoolConnection<Any>>,
    reads: Reads,
}

impl Reads {
    pub(crate) fn new(pool: AnyPool, keep: usize) -> Self {
        Self {
            pool,
            warm: Arc::new(Warm {
                state: Mutex::new(WarmState::default()),
                keep,
            }),
        }
    }

    /// The most recently used warm connection, or one from the pool.
    pub(crate) async fn lease(&self) -> Result<Lease, sqlx::Error> {
        loop {
            let Some(Idle { mut conn, since }) = self.pop_or_wait() else {
                // Found none warm and counted as waiting, in one step: a connection done
                // after that goes back to the pool, which hands it to this waiter.
                let waiting = Waiting(self);
                let conn = self.pool.acquire().await?;
                drop(waiting);
                return Ok(self.leased(conn));
            };
            // One that fails the check is dropped and the next tried: the pool replaces it.
            if since.elapsed() < CHECK_IDLE_AFTER || conn.ping().await.is_ok() {
                return Ok(self.leased(conn));
            }
        }
    }

    /// A transaction on a connection taken like a read's (`None`: the database's plain
    /// `BEGIN`). The connection goes back to the pool when the transaction ends.
    pub(crate) async fn begin_with(
        &self,
        statement: Option<&'static str>,
    ) -> Result<sqlx::Transaction<'static, Any>, sqlx::Error> {
        let conn = self.lease().await?.detach();
        sqlx::Transaction::begin(conn, statement.map(SqlStr::from_static)).await
    }

    /// Hands every warm connection back to the pool (before the pool closes, which waits for
    /// every connection taken from it).
    pub(crate) fn release_all(&self) {
        let idle = std::mem::take(&mut self.lock().idle);
        drop(idle);
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WarmState> {
        self.warm
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The most recently used warm connection; with none, the caller counts as waiting.
    fn pop_or_wait(&self) -> Option<Idle> {
        let mut state = self.lock();
        let idle = state.idle.pop();
        if idle.is_none() {
            state.waiting += 1;
        }
        idle
    }

    fn leased(&self, conn: PoolConnection<Any>) -> Lease {
        Lease {
            conn: Some(conn),
            reads: self.clone(),
        }
    }
}

impl Lease {
    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        // Only `keep` and `detach` take the connection, and both consume the lease.
        self.conn.as_deref_mut().unwrap_or_else(|| unreachable!())
    }

    /// The use ended well: the connection waits warm for the next one.
    pub(crate) fn keep(mut self) {
        let Some(conn) = self.conn.take() else { return };
        if self.reads.pool.is_closed() {
            return;
        }
        let mut state = self.reads.lock();
        if state.waiting == 0 && state.idle.len() < self.reads.warm.keep {
            state.idle.push(Idle {
                conn,
                since: Instant::now(),
            });
            return;
        }
        // Dropped outside the lock: the pool's release takes it from here.
        drop(state);
        drop(conn);
    }

    /// The connection itself, which goes back to the pool when dropped.
    fn detach(mut self) -> PoolConnection<Any> {
        self.conn.take().unwrap_or_else(|| unreachable!())
    }
}

impl<'c> Executor<'c> for &'c Reads {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        Box::pin(async_stream::try_stream! {
            let mut lease = self.lease().await?;
            {
                let mut results = lease.conn().fetch_many(query);
                while let Some(result) = results.try_next().await? {
                    yield result;
                }
            }
            lease.keep();
        })
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        Box::pin(async move {
            let mut lease = self.lease().await?;
            let row = lease.conn().fetch_optional(query).await?;
            lease.keep();
            Ok(row)
        })
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [sqlx::any::AnyTypeInfo],
    ) -> BoxFuture<'e, Result<sqlx::any::AnyStatement, sqlx::Error>>
    where
        'c: 'e,
    {
        Box::pin(async move {
            let mut lease = self.lease().await?;
            let statement = lease.conn().prepare_with(sql, parameters).await?;
            lease.keep();
            Ok(statement)
        })
    }
}
