//! The server's async runtime.
//!
//! On SQLite every write goes through one connection, whose statements run on a thread of
//! its own (sqlx's worker), while the write lock is held. On a small machine under load that
//! thread shares the cores with the async workers parsing requests and rendering answers;
//! each time it waits for a core, every writer queued behind the lock waits with it. The
//! workers (and the blocking pool) therefore run at a higher `nice` than the thread that
//! builds the runtime: a new thread takes its creator's niceness, so connections opened from
//! that thread before the workers take over — the platform opens the writer's during start-up,
//! on the thread that calls `block_on` — run ahead of them. Measured in `docs/BENCHMARKS.md`
//! (with the commit in the batch's call, SQLite lifecycles per second up by about a sixth;
//! on PostgreSQL, whose server processes would be favoured instead, it is not applied).

use tokio::runtime::{Builder, Runtime};

/// A multi-threaded runtime builder whose threads run `worker_nice` lower than the calling
/// thread (none when 0).
pub fn builder(worker_nice: i32) -> Builder {
    let mut builder = Builder::new_multi_thread();
    builder.enable_all();
    if worker_nice > 0 {
        // Linux sets a thread's niceness, not an increment: the workers' is the caller's
        // plus the increment, computed here once (the blocking pool's threads are started
        // by workers that already have it).
        let own = rustix::process::getpriority_process(None).unwrap_or(0);
        let workers = own.saturating_add(worker_nice).min(19);
        builder.on_thread_start(move || {
            // Raising one's own niceness is always allowed; where it is refused anyway the
            // thread keeps the caller's, which is only slower.
            let _ = rustix::process::setpriority_process(None, workers);
        });
    }
    builder
}

/// The runtime of a server with the given configuration: workers niced only on SQLite.
pub fn for_config(config: &crate::Config) -> std::io::Result<Runtime> {
    let nice = match crate::Dialect::from_url(&config.database_url()) {
        Ok(crate::Dialect::Sqlite) => config.database.sqlite_worker_nice,
        _ => 0,
    };
    builder(nice).build()
}
