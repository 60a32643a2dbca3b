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
//! so the warm set never starves the others. A connection unused for a minute goes back to
//! the pool too, whose idle timeout closes it.

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

/// A warm connection unused this long goes back to the pool, whose idle timeout closes it:
/// kept warm forever, the connections a burst opened would stay open on the server.
const RETURN_IDLE_AFTER: Duration = Duration::from_secs(60);

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
    /// [`RETURN_IDLE_AFTER`], shorter in tests.
    return_after: Duration,
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
                return_after: RETURN_IDLE_AFTER,
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

    /// Closes the pool, the warm connections handed back first (closing waits for every
    /// connection taken from the pool).
    pub(crate) async fn close(&self) {
        let idle = std::mem::take(&mut self.lock().idle);
        drop(idle);
        self.pool.close().await;
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
        // The least recently used are at the bottom.
        let unused = state
            .idle
            .iter()
            .take_while(|idle| idle.since.elapsed() >= self.reads.warm.return_after)
            .count();
        let returned: Vec<Idle> = state.idle.drain(..unused).collect();
        let spare = if state.waiting == 0 && state.idle.len() < self.reads.warm.keep {
            state.idle.push(Idle {
                conn,
                since: Instant::now(),
            });
            None
        } else {
            Some(conn)
        };
        // Dropped outside the lock: the pool's release takes them from here.
        drop(state);
        drop(returned);
        drop(spare);
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn memory_reads(return_after: Duration) -> Reads {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(3)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let mut reads = Reads::new(pool, 3);
        Arc::get_mut(&mut reads.warm).unwrap().return_after = return_after;
        reads
    }

    /// Three reads at once, then one more: how many connections wait warm after it.
    async fn warm_after_burst(reads: &Reads) -> usize {
        let burst = [
            reads.lease().await,
            reads.lease().await,
            reads.lease().await,
        ];
        for lease in burst {
            lease.unwrap().keep();
        }
        assert_eq!(
            reads.lock().idle.len(),
            3,
            "a burst's connections are kept warm"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        reads.lease().await.unwrap().keep();
        reads.lock().idle.len()
    }

    #[tokio::test]
    async fn unused_warm_connections_go_back_to_the_pool() {
        let reads = memory_reads(Duration::from_millis(10)).await;
        assert_eq!(warm_after_burst(&reads).await, 1, "only the one just used");
        // The pool takes them back on a task of its own.
        let mut back = 0;
        for _ in 0..100 {
            back = reads.pool.num_idle();
            if back == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(back, 2, "the pool has the others back");
        reads.close().await;
    }

    #[tokio::test]
    async fn recently_used_warm_connections_stay() {
        let reads = memory_reads(RETURN_IDLE_AFTER).await;
        assert_eq!(warm_after_burst(&reads).await, 3);
        reads.close().await;
    }
}
