//! The transactional outbox and its delivery worker, on SQLite and PostgreSQL: enqueue in the
//! caller's transaction, delivery to a real SMTP server (aiosmtpd) on loopback, a crash and
//! restart of the worker with a flaky notifier, and poisoned payloads.
//!
//! PostgreSQL comes from `TINHSO_TEST_POSTGRES_URL` (an admin URL) or 127.0.0.1:5432; each
//! test creates a database of its own and drops it at the end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use async_trait::async_trait;
use serde_json::json;
use sqlx::{Connection, Row};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tinhso_platform::notifier::{FileSink, Message, Notifier};
use tinhso_platform::outbox::{self, WorkerOptions};
use tinhso_platform::{Config, Error, Platform, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(super::Backend::Postgres).await
            }
        }
    };
}

both!(enqueue_is_transactional_and_idempotent);
both!(delivers_through_real_smtp);
both!(worker_crash_and_restart_deliver_every_message);
both!(poisoned_payloads_end_dead_and_worker_goes_on);

fn postgres_admin_url() -> String {
    std::env::var("TINHSO_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A platform over a database of its own.
struct Env {
    platform: Platform,
    dir: tempfile::TempDir,
    pg_name: Option<String>,
}

impl Env {
    async fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (url, pg_name) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("test.db").display()),
                None,
            ),
            Backend::Postgres => {
                sqlx::any::install_default_drivers();
                let admin = postgres_admin_url();
                let name = format!(
                    "tinhso_outbox_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::SeqCst),
                    rand::random::<u32>()
                );
                let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL is required for the test suite and is not reachable at {admin}: {e}")
                });
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let _ = conn.close().await;
                let i = admin.rfind('/').expect("bad PostgreSQL URL");
                (format!("{}/{name}", &admin[..i]), Some(name))
            }
        };
        let mut config = Config::default();
        config.server.data_dir = dir.path().join("data");
        config.database.url = url;
        let platform = Platform::open(config).await.unwrap();
        Self {
            platform,
            dir,
            pg_name,
        }
    }

    fn sink_dir(&self) -> PathBuf {
        self.dir.path().join("sink")
    }

    async fn finish(self) {
        self.platform.db.close().await;
        if let Some(name) = &self.pg_name
            && let Ok(mut conn) = sqlx::AnyConnection::connect(&postgres_admin_url()).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
        }
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(self.platform.db.pool())
            .await
            .unwrap()
    }

    async fn enqueue(&self, key: &str, payload: serde_json::Value) {
        let mut tx = self.platform.db.begin_write().await.unwrap();
        outbox::enqueue(&mut tx, "test", key, &payload, self.platform.now_ms())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// Waits (≤ 20 s) until `done` holds of the outbox statistics.
    async fn wait_for(&self, what: &str, done: impl Fn(outbox::Stats) -> bool) {
        let start = Instant::now();
        loop {
            let stats = outbox::stats(&self.platform).await.unwrap();
            if done(stats) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what}: {stats:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn fast_options() -> WorkerOptions {
    WorkerOptions {
        batch: 5,
        poll: Duration::from_millis(20),
        lease_ms: 1_000,
        backoff_base_ms: 10,
        backoff_max_ms: 100,
        max_attempts: 12,
    }
}

fn email(to: &str, subject: &str, body: &str) -> serde_json::Value {
    json!({"channel": "email", "to": to, "subject": subject, "body": body})
}

struct Worker {
    stop: tokio::sync::watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
}

fn start_worker(
    platform: &Platform,
    notifier: Arc<dyn Notifier>,
    options: WorkerOptions,
) -> Worker {
    let (stop, rx) = tokio::sync::watch::channel(false);
    let handle = tokio::spawn(outbox::run_worker_with(
        platform.clone(),
        notifier,
        rx,
        options,
    ));
    Worker { stop, handle }
}

impl Worker {
    async fn stop(self) {
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(10), self.handle)
            .await
            .expect("worker stops on shutdown")
            .unwrap();
    }
}

async fn enqueue_is_transactional_and_idempotent(backend: Backend) {
    let env = Env::new(backend).await;
    let p = &env.platform;
    let payload = email("dan@example.vn", "Hồ sơ đã tiếp nhận", "Kính gửi ông/bà");

    // Rolled back with the state change: nothing queued.
    let mut tx = p.db.begin_write().await.unwrap();
    outbox::enqueue(
        &mut tx,
        "dossier.accepted",
        "k-rollback",
        &payload,
        p.now_ms(),
    )
    .await
    .unwrap();
    drop(tx);
    assert_eq!(env.count("SELECT COUNT(*) FROM outbox").await, 0);

    // Committed: queued, due now, not yet attempted.
    let mut tx = p.db.begin_write().await.unwrap();
    outbox::enqueue(&mut tx, "dossier.accepted", "k-1", &payload, p.now_ms())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(env.count("SELECT COUNT(*) FROM outbox").await, 1);

    // The same key again (in another transaction, and twice in one): still one row, and the
    // first payload wins.
    let other = email("khac@example.vn", "Khác", "Khác");
    for _ in 0..2 {
        let mut tx = p.db.begin_write().await.unwrap();
        outbox::enqueue(&mut tx, "dossier.accepted", "k-1", &other, p.now_ms())
            .await
            .unwrap();
        outbox::enqueue(&mut tx, "dossier.accepted", "k-1", &other, p.now_ms())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(env.count("SELECT COUNT(*) FROM outbox").await, 1);
    let row = sqlx::query(
        "SELECT topic, payload_json, attempts FROM outbox WHERE idempotency_key = 'k-1'",
    )
    .fetch_one(p.db.pool())
    .await
    .unwrap();
    assert_eq!(row.try_get::<String, _>(0).unwrap(), "dossier.accepted");
    let stored: serde_json::Value =
        serde_json::from_str(&row.try_get::<String, _>(1).unwrap()).unwrap();
    assert_eq!(stored, payload);
    assert_eq!(row.try_get::<i64, _>(2).unwrap(), 0);
    assert_eq!(
        outbox::stats(p).await.unwrap(),
        outbox::Stats {
            pending: 1,
            delivered: 0,
            dead: 0
        }
    );
    env.finish().await;
}

/// aiosmtpd writing a maildir, on a free loopback port; killed on drop.
struct SmtpServer {
    child: std::process::Child,
    port: u16,
    maildir: PathBuf,
}

impl SmtpServer {
    fn start(dir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = dir.join("maildir");
        let child = std::process::Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("/usr/bin/python3 with aiosmtpd (Debian python3-aiosmtpd) is required");
        let server = Self {
            child,
            port,
            maildir,
        };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "aiosmtpd did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn messages(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.maildir.join("new"))
            .map(|entries| entries.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parses a message with Python's own e-mail package (MIME decoding of the header and body).
fn parse_mail(path: &Path) -> serde_json::Value {
    let script = "import email, email.policy, json, sys\n\
        m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)\n\
        print(json.dumps({'subject': str(m['subject']), 'message_id': str(m['message-id']), 'to': str(m['to']), 'body': m.get_content()}))";
    let out = std::process::Command::new("/usr/bin/python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn delivers_through_real_smtp(backend: Backend) {
    let env = Env::new(backend).await;
    let smtp = SmtpServer::start(env.dir.path());
    let mut config = (*env.platform.config).clone();
    config.notify.email = "smtp".into();
    config.notify.smtp_host = "127.0.0.1".into();
    config.notify.smtp_port = smtp.port;
    config.notify.smtp_tls = "none".into();
    config.notify.file_dir = env.sink_dir();
    let notifier = tinhso_platform::notifier::from_config(&config).unwrap();

    let subject = "Hồ sơ HCM-250101-0001 đã được tiếp nhận";
    let body = "Kính gửi ông Nguyễn Văn Ánh,\n\nHồ sơ của ông đã được tiếp nhận. Ngày hẹn trả kết quả: thứ Năm, 09/01/2025.\n\nTrân trọng.";
    let key = "dossier.accepted/HCM-250101-0001";
    env.enqueue(key, email("nguyen.van.anh@example.vn", subject, body))
        .await;

    let worker = start_worker(&env.platform, notifier, fast_options());
    let start = Instant::now();
    while smtp.messages().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no mail arrived at aiosmtpd"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    env.wait_for("the delivered mark", |s| s.delivered == 1)
        .await;
    worker.stop().await;

    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    let mail = parse_mail(&messages[0]);
    assert_eq!(mail["subject"], subject);
    assert_eq!(mail["to"], "nguyen.van.anh@example.vn");
    assert_eq!(
        mail["body"]
            .as_str()
            .unwrap()
            .replace("\r\n", "\n")
            .trim_end(),
        body
    );
    let message_id = mail["message_id"].as_str().unwrap();
    assert_eq!(
        message_id,
        format!("<{}@tinhso>", tinhso_platform::notifier::encode_key(key))
    );
    assert!(message_id.contains("HCM-250101-0001"), "{message_id}");
    let attempts = env
        .count("SELECT attempts FROM outbox WHERE delivered_ms IS NOT NULL")
        .await;
    assert_eq!(attempts, 1);
    drop(smtp);
    env.finish().await;
}

/// Delivers to a file sink, failing every other call, and counts successful sends per key.
#[derive(Debug)]
struct Flaky {
    sink: FileSink,
    calls: AtomicUsize,
    sent: Mutex<HashMap<String, usize>>,
}

#[async_trait]
impl Notifier for Flaky {
    async fn send(&self, message: &Message) -> Result<()> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        // Slow enough for the crash below to land while the worker is busy.
        tokio::time::sleep(Duration::from_millis(15)).await;
        if call.is_multiple_of(2) {
            return Err(Error::Other(format!("gateway unavailable (call {call})")));
        }
        self.sink.send(message).await?;
        *self
            .sent
            .lock()
            .unwrap()
            .entry(message.idempotency_key.clone())
            .or_default() += 1;
        Ok(())
    }
}

async fn worker_crash_and_restart_deliver_every_message(backend: Backend) {
    let env = Env::new(backend).await;
    const N: usize = 40;
    let keys: Vec<String> = (0..N)
        .map(|i| format!("sms:0912345{i:03}/nhắc hẹn"))
        .collect();
    for key in &keys {
        env.enqueue(
            key,
            json!({"channel": "sms", "to": "0912345678", "body": format!("Hồ sơ {key}: mời ông/bà đến nhận kết quả")}),
        )
        .await;
    }
    let flaky = Arc::new(Flaky {
        sink: FileSink::new(env.sink_dir()),
        calls: AtomicUsize::new(0),
        sent: Mutex::new(HashMap::new()),
    });
    let options = fast_options();

    // First worker: crash it (abort, no graceful shutdown) once some messages are out.
    let first = start_worker(&env.platform, flaky.clone(), options);
    env.wait_for("some deliveries", |s| s.delivered >= 8).await;
    first.handle.abort();
    let _ = first.handle.await;
    let stats = outbox::stats(&env.platform).await.unwrap();
    assert!(stats.delivered < N as i64, "crash came too late: {stats:?}");

    // Second worker: picks up the rest, including rows whose claim the crash left behind
    // (after their lease expires).
    let second = start_worker(&env.platform, flaky.clone(), options);
    env.wait_for("every message", |s| s.delivered == N as i64)
        .await;
    second.stop().await;

    // One file per key, each the message of its key.
    let mut files: Vec<PathBuf> = std::fs::read_dir(env.sink_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), N, "{files:?}");
    for key in &keys {
        let path = FileSink::new(env.sink_dir()).path_of(key);
        let message: Message = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(&message.idempotency_key, key);
        assert!(message.body.contains(key.as_str()));
    }
    // Every key was sent; a key is sent twice only if the crash fell between its send and
    // its "delivered" mark (at most the one batch in flight).
    let sent = flaky.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), N);
    let resent = sent.values().filter(|&&n| n > 1).count();
    assert!(sent.values().all(|&n| n <= 2), "{sent:?}");
    assert!(resent <= options.batch as usize, "{sent:?}");

    // Attempts are recorded: every failure counted, nothing left claimed or dead.
    let attempts = env
        .count("SELECT CAST(SUM(attempts) AS BIGINT) FROM outbox")
        .await;
    let calls = flaky.calls.load(Ordering::SeqCst) as i64;
    assert!(
        attempts >= N as i64 && attempts <= calls,
        "{attempts} attempts, {calls} calls"
    );
    assert!(env.count("SELECT MAX(attempts) FROM outbox").await >= 2);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM outbox WHERE dead_ms IS NOT NULL OR last_error IS NOT NULL OR claimed_until_ms <> 0")
            .await,
        0
    );
    env.finish().await;
}

/// Always fails.
#[derive(Debug)]
struct Down;

#[async_trait]
impl Notifier for Down {
    async fn send(&self, _message: &Message) -> Result<()> {
        Err(Error::Other("connection refused".into()))
    }
}

async fn poisoned_payloads_end_dead_and_worker_goes_on(backend: Backend) {
    let env = Env::new(backend).await;
    env.enqueue("bad-shape", json!({"kenh": "email", "noi_dung": "x"}))
        .await;
    env.enqueue("bad-type", json!("chỉ là một chuỗi")).await;
    env.enqueue(
        "bad-channel",
        email("a@example.vn", "s", "b")
            .as_object()
            .cloned()
            .map(|mut o| {
                o.insert("channel".into(), json!("fax"));
                serde_json::Value::Object(o)
            })
            .unwrap(),
    )
    .await;
    env.enqueue("bad-to", email(" ", "s", "b")).await;
    env.enqueue("good", email("dan@example.vn", "Thông báo", "Nội dung"))
        .await;

    let notifier = tinhso_platform::notifier::from_config(&{
        let mut c = (*env.platform.config).clone();
        c.notify.file_dir = env.sink_dir();
        c
    })
    .unwrap();
    let worker = start_worker(&env.platform, notifier, fast_options());
    env.wait_for("the good message", |s| s.delivered == 1 && s.dead == 4)
        .await;
    worker.stop().await;
    let rows = sqlx::query(
        "SELECT idempotency_key, attempts, last_error FROM outbox WHERE dead_ms IS NOT NULL ORDER BY id",
    )
    .fetch_all(env.platform.db.pool())
    .await
    .unwrap();
    assert_eq!(rows.len(), 4);
    for row in rows {
        let key: String = row.try_get(0).unwrap();
        assert_eq!(row.try_get::<i64, _>(1).unwrap(), 1, "{key}");
        let error: String = row.try_get(2).unwrap();
        assert!(error.starts_with("malformed payload"), "{key}: {error}");
    }
    assert!(FileSink::new(env.sink_dir()).path_of("good").exists());

    // A message that keeps failing is retried with backoff, then dead with its last error.
    env.enqueue("down", email("dan@example.vn", "s", "b")).await;
    let options = WorkerOptions {
        max_attempts: 3,
        ..fast_options()
    };
    let worker = start_worker(&env.platform, Arc::new(Down), options);
    env.wait_for("the failing message to die", |s| s.dead == 5)
        .await;
    worker.stop().await;
    let row = sqlx::query("SELECT attempts, last_error FROM outbox WHERE idempotency_key = 'down'")
        .fetch_one(env.platform.db.pool())
        .await
        .unwrap();
    assert_eq!(row.try_get::<i64, _>(0).unwrap(), 3);
    assert_eq!(row.try_get::<String, _>(1).unwrap(), "connection refused");
    env.finish().await;
}
