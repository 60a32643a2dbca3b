//! The crash test of issue 3: the real `tinhso serve` binary is killed with SIGKILL,
//! repeatedly, while counter officers' submissions are being acknowledged, and restarted each
//! time. Notifications go to a real SMTP server (aiosmtpd) that keeps every message it
//! receives. At the end, with the server up until the outbox is drained:
//!
//! - every acknowledged dossier (HTTP 200 received) exists, with its history line and its
//!   audit record, and `tinhso audit verify` passes;
//! - every notification queued (for acknowledged dossiers and for any other that committed)
//!   was delivered, none is dead;
//! - each Message-ID (the idempotency key) reached the SMTP server; a raw repeat is possible
//!   only when a kill lands between a send and its "delivered" mark, the worker marks each
//!   message right after sending it, so there is at most one repeat per kill, and the repeat
//!   carries the same Message-ID. The test prints raw and distinct counts and checks that
//!   bound.
//!
//! Bounded: 5 kills at random moments 0.6–2 s apart, waits bounded in time. 127.0.0.1 only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rand::Rng;
use serde_json::{Value, json};
use sqlx::Row;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tinhso_core::access::Action;
use tinhso_platform::Platform;

use super::support::{Backend, MIGRATIONS, TestDb, paper_documents, test_config, valid_answers};
use crate::both;

both!(sigkill_loses_no_acknowledged_dossier_or_notification);

const KILLS: usize = 5;
const CLIENTS: usize = 4;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// aiosmtpd writing a maildir on a free loopback port; killed on drop.
struct Smtp {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl Smtp {
    fn start(dir: &Path) -> Self {
        let port = free_port();
        let maildir = dir.join("maildir");
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .spawn()
            .expect("/usr/bin/python3 with aiosmtpd (Debian python3-aiosmtpd) is required");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "aiosmtpd did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            port,
            maildir,
        }
    }

    /// The `Message-ID` of every message received, repeats included.
    fn message_ids(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        entries
            .map(|e| {
                let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
                text.lines()
                    .take_while(|l| !l.is_empty())
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("message-id")
                            .then(|| value.trim().to_owned())
                    })
                    .expect("every message has a Message-ID")
            })
            .collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running server, SIGKILLed when stopped or dropped (a failing assertion leaves no
/// server behind).
struct Running(Child);

impl Running {
    fn stop(&mut self) {
        // `Child::kill` is SIGKILL on Unix: no shutdown handler runs.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How to start the real binary on this test's data directory and database.
#[derive(Debug, Clone)]
struct ServerSpec {
    data_dir: PathBuf,
    database: String,
    port: u16,
    admin_port: u16,
    smtp_port: u16,
    log: PathBuf,
}

impl ServerSpec {
    fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tinhso"));
        command
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--database")
            .arg(&self.database)
            .env("TINHSO_NOTIFY__EMAIL", "smtp")
            .env("TINHSO_NOTIFY__SMTP_HOST", "127.0.0.1")
            .env("TINHSO_NOTIFY__SMTP_PORT", self.smtp_port.to_string())
            .env("TINHSO_NOTIFY__SMTP_TLS", "none")
            // Short lease and retry: a message claimed by a killed process is taken again
            // within seconds, not minutes, so the test stays bounded.
            .env("TINHSO_OUTBOX__LEASE_SECONDS", "2")
            .env("TINHSO_OUTBOX__POLL_MS", "50")
            .env("TINHSO_OUTBOX__RETRY_BASE_SECONDS", "1")
            .env("TINHSO_LOG__LEVEL", "warn");
        command
    }

    fn spawn(&self) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut child = self
            .command()
            .arg("serve")
            .arg("--demo")
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--admin-listen")
            .arg(format!("127.0.0.1:{}", self.admin_port))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let start = Instant::now();
        let url = format!("http://127.0.0.1:{}/readyz", self.port);
        while start.elapsed() < Duration::from_secs(30) {
            if http_status(&url).is_ok_and(|status| status == 200) {
                return child;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "tinhso serve did not become ready; log: {}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }
}

/// The status of `GET {url}`, by hand: the readiness probe runs on a blocking thread and
/// the std library speaks enough HTTP/1.1 for it.
fn http_status(url: &str) -> std::io::Result<u16> {
    use std::io::{Read, Write};
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = std::net::TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status line"))
}

async fn open(dir: &Path, url: &str) -> Platform {
    Platform::open_with(test_config(dir, url), &MIGRATIONS)
        .await
        .unwrap()
}

/// What the demo seed left before the test began: the last dossier and outbox ids and the
/// Message-IDs its notifications will carry.
struct Seeded {
    last_dossier: i64,
    last_outbox: i64,
    message_ids: HashSet<String>,
}

impl Seeded {
    async fn read(p: &tinhso_platform::Platform) -> Self {
        let max = |sql: &'static str| async move {
            sqlx::query_scalar::<_, Option<i64>>(sql)
                .fetch_one(p.db.pool())
                .await
                .unwrap()
                .unwrap_or(0)
        };
        let keys: Vec<String> = sqlx::query_scalar(
            "SELECT idempotency_key FROM outbox WHERE topic = 'citizen_notification'",
        )
        .fetch_all(p.db.pool())
        .await
        .unwrap();
        Self {
            last_dossier: max("SELECT MAX(id) FROM dossiers").await,
            last_outbox: max("SELECT MAX(id) FROM outbox").await,
            message_ids: keys
                .iter()
                .map(|k| format!("<{}@tinhso>", tinhso_platform::notifier::encode_key(k)))
                .collect(),
        }
    }
}

async fn sigkill_loses_no_acknowledged_dossier_or_notification(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let db = TestDb::new(backend, dir.path()).await;
    let smtp = Smtp::start(dir.path());

    // Seed the demo data (its backdated dossiers too, so the server's `--demo` adds none
    // while it is being killed), mint the counter officer's token and prepare the form, then
    // let the server have the database. Rows up to `seeded` are the demo's, not this test's.
    let (token, form, seeded) = {
        let p = open(&data_dir, &db.url).await;
        tinhso_platform::demo::seed(&p).await.unwrap();
        tinhso_onestop::catalog::seed_demo(&p).await.unwrap();
        tinhso_onestop::demo_dossiers::seed(&p).await.unwrap();
        let seeded = Seeded::read(&p).await;
        let officer = tinhso_platform::identity::user_by_username(&p, "motcua")
            .await
            .unwrap()
            .unwrap();
        let ctx = tinhso_platform::Ctx::cli(p.now_ms());
        let token = tinhso_platform::identity::create_api_token(
            &p,
            &ctx,
            officer.id,
            "crash-test",
            &Action::ALL,
            30,
        )
        .await
        .unwrap()
        .1;
        let spec = tinhso_onestop::catalog::get(&p, "1.001193")
            .await
            .unwrap()
            .spec;
        p.db.close().await;
        (token, valid_answers(&spec), seeded)
    };

    let spec = ServerSpec {
        data_dir: data_dir.clone(),
        database: db.url.clone(),
        port: free_port(),
        admin_port: free_port(),
        smtp_port: smtp.port,
        log: dir.path().join("server.log"),
    };
    let mut server = Running(spec.spawn());
    let base = format!("http://127.0.0.1:{}", spec.port);

    // Counter officers submit as fast as they can; a code counts once its 200 arrived.
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut clients = Vec::new();
    for client_no in 0..CLIENTS {
        let (stop, acknowledged, token, form, base) = (
            stop.clone(),
            acknowledged.clone(),
            token.clone(),
            form.clone(),
            base.clone(),
        );
        clients.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let (mut sent, mut failed) = (0_u64, 0_u64);
            while !stop.load(Ordering::SeqCst) {
                sent += 1;
                let body = json!({
                    "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "counter",
                    "documents": paper_documents(3),
                    "applicant": {
                        "name": format!("Công dân {client_no}-{sent}"),
                        "id_number": "079200004321",
                        "email": format!("cong.dan.{client_no}.{sent}@example.vn"),
                    },
                    "form": form,
                });
                let answer = http
                    .post(format!("{base}/api/v1/dossiers"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await;
                match answer {
                    Ok(r) if r.status().as_u16() == 200 => match r.json::<Value>().await {
                        Ok(v) => {
                            acknowledged
                                .lock()
                                .unwrap()
                                .push(v["code"].as_str().unwrap().to_owned());
                            // A busy counter, not a flood: the SMTP server must keep up.
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        // The body was cut by the kill: not acknowledged.
                        Err(_) => failed += 1,
                    },
                    Ok(r) => {
                        let status = r.status().as_u16();
                        assert!(status >= 500, "a submission was refused with {status}");
                        failed += 1;
                    }
                    Err(_) => {
                        failed += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            (sent, failed)
        }));
    }

    // SIGKILL at random moments, restarting each time.
    let started = Instant::now();
    let mut restarts_ms = Vec::new();
    for _ in 0..KILLS {
        let pause = rand::thread_rng().gen_range(600..2000);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        server.stop();
        let restart = Instant::now();
        server = Running(
            tokio::task::spawn_blocking({
                let spec = spec.clone();
                move || spec.spawn()
            })
            .await
            .unwrap(),
        );
        restarts_ms.push(restart.elapsed().as_millis());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let kill_phase = started.elapsed();
    let (mut sent, mut failed) = (0, 0);
    for client in clients {
        let (s, f) = client.await.unwrap();
        sent += s;
        failed += f;
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 20,
        "too few acknowledged submissions ({}) to mean anything",
        acknowledged.len()
    );

    // The server stays up until the outbox is drained (bounded).
    let p = open(&data_dir, &db.url).await;
    let drain = Instant::now();
    loop {
        let pending: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE delivered_ms IS NULL AND dead_ms IS NULL",
        )
        .fetch_one(p.db.pool())
        .await
        .unwrap();
        if pending == 0 {
            break;
        }
        assert!(
            drain.elapsed() < Duration::from_secs(60),
            "{pending} notifications still pending; log: {}",
            std::fs::read_to_string(&spec.log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drained_in = drain.elapsed();
    server.stop();

    // Every acknowledged dossier is there, with its history line and its audit record.
    let codes_with_history: HashMap<String, i64> = sqlx::query(
        "SELECT d.code, e.id FROM dossiers d JOIN dossier_events e ON e.dossier_id = d.id WHERE e.action = 'submit' AND d.id > $1",
    )
    .bind(seeded.last_dossier)
    .fetch_all(p.db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| (r.try_get(0).unwrap(), r.try_get(1).unwrap()))
    .collect();
    let audited: HashSet<String> = sqlx::query_scalar(
        "SELECT object_id FROM audit_log WHERE action = 'dossier.submit' AND object_type = 'dossier'",
    )
    .fetch_all(p.db.pool())
    .await
    .unwrap()
    .into_iter()
    .collect();
    let distinct_acknowledged: HashSet<&String> = acknowledged.iter().collect();
    assert_eq!(
        distinct_acknowledged.len(),
        acknowledged.len(),
        "a code was acknowledged twice"
    );
    for code in &acknowledged {
        assert!(
            codes_with_history.contains_key(code),
            "acknowledged {code} is lost"
        );
        assert!(
            audited.contains(code),
            "acknowledged {code} has no audit record"
        );
    }
    let verify = spec.command().args(["audit", "verify"]).output().unwrap();
    assert!(
        verify.status.success(),
        "audit verify: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(String::from_utf8_lossy(&verify.stdout).contains("audit chain intact"));

    // Every queued notification was delivered, none is dead, and each reached the SMTP
    // server under its idempotency key.
    let rows = sqlx::query(
        "SELECT idempotency_key, delivered_ms, dead_ms FROM outbox WHERE topic = 'citizen_notification' AND id > $1",
    )
    .bind(seeded.last_outbox)
    .fetch_all(p.db.pool())
    .await
    .unwrap();
    let mut expected_ids = HashSet::new();
    for row in &rows {
        let key: String = row.try_get(0).unwrap();
        assert!(
            row.try_get::<Option<i64>, _>(1).unwrap().is_some()
                && row.try_get::<Option<i64>, _>(2).unwrap().is_none(),
            "{key} not delivered"
        );
        expected_ids.insert(format!(
            "<{}@tinhso>",
            tinhso_platform::notifier::encode_key(&key)
        ));
    }
    assert_eq!(
        rows.len(),
        codes_with_history.len(),
        "one e-mail per committed dossier"
    );
    for code in &acknowledged {
        let key = format!("dossier-event-{}-email", codes_with_history[code]);
        assert!(
            expected_ids.contains(&format!("<{key}@tinhso>")),
            "no notification queued for {code}"
        );
    }
    // The demo's own messages are delivered too; they are not this test's subject.
    let received: Vec<String> = smtp
        .message_ids()
        .into_iter()
        .filter(|id| !seeded.message_ids.contains(id))
        .collect();
    let distinct: HashSet<String> = received.iter().cloned().collect();
    assert_eq!(
        distinct, expected_ids,
        "the SMTP server must have received exactly the queued notifications"
    );
    let repeats = received.len() - distinct.len();
    eprintln!(
        "crash test ({backend:?}): {KILLS} kills in {:.1} s (restarts ready in {restarts_ms:?} ms), outbox drained {:.1} s later; {sent} submissions sent, {} acknowledged, {failed} cut or refused during a kill; {} dossiers committed; {} e-mails queued; SMTP received {} raw, {} distinct Message-IDs ({repeats} repeats)",
        kill_phase.as_secs_f64(),
        drained_in.as_secs_f64(),
        acknowledged.len(),
        codes_with_history.len(),
        rows.len(),
        received.len(),
        distinct.len(),
    );
    assert!(
        repeats <= KILLS,
        "{repeats} repeated messages: more than one per kill"
    );
    p.db.close().await;
    db.drop_database().await;
}
