//! Benchmark: peak memory while one installation sends a document with a 500 MB signed file
//! to another over the federation (issue 5: under 100 MB each), beside a baseline.
//!
//!   cargo run --release -p tinhso --example bench_exchange_stream -- 500
//!
//! Argument: the signed file's size in MB (default 500, bounded to 1–2000). Three child
//! processes of this binary, each reporting its peak RSS (`VmHWM` of /proc/self/status):
//! - baseline: copies the file through `std::io::copy`;
//! - receiver: one Platform on SQLite in a temporary directory, its federation listener over
//!   mutual TLS on a loopback port, the real receive pipeline (spool, verify the XML-DSig,
//!   store the attachment with `put_file`, register the incoming entry);
//! - sender: one Platform on SQLite, the demo documents, an outgoing document drafted,
//!   approved, signed with the big file (stored streaming), released and dispatched to the
//!   receiver's agency, then the real send worker (package with the streamed attachment,
//!   XML-DSig, spool, streamed over mutual TLS).
//!
//! The file is a PDF header followed by filler, written in chunks (never held in memory);
//! the parent checks that the blob the receiver stored has the SHA-256 of the file sent.
//! Loopback only; every wait is bounded.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tinhso_platform::config::ExchangePeer;
use tinhso_platform::{Caller, Config, Ctx, Platform};

/// The receiver's agency (Cao Bằng, served by the receiving installation).
const CAO_BANG: &str = "000.00.00.H14";
/// The sending agency: the demo ward of Khánh Hòa.
const WARD: &str = "000.00.31.H32";
/// TLS names of the two installations (the calling peer is the client certificate's CN).
const RECEIVER_PEER: &str = "tinh-h14";
const SENDER_PEER: &str = "tinh-h32";
/// Longest a child may run.
const CHILD_LIMIT: Duration = Duration::from_secs(1800);
const MB: u64 = 1024 * 1024;

fn vm_hwm_kib() -> u64 {
    status_kib("VmHWM:")
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Prints the set-up's peak (the demo's argon2id password hashes take far more than the
/// exchange) and resets the high-water mark to the current RSS (`clear_refs` 5), so that
/// `peak_kib` at the end is the exchange's own peak.
fn reset_peak() {
    println!("setup_peak_kib {}", vm_hwm_kib());
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    println!("rss_after_setup_kib {}", status_kib("VmRSS:"));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file, read in chunks.
fn sha256_file(path: &Path) -> String {
    let mut hasher = Sha256::new();
    std::io::copy(&mut std::fs::File::open(path).unwrap(), &mut hasher).unwrap();
    hex(&hasher.finalize())
}

/// Writes a `size`-byte PDF (header, filler lines, trailer) in 1 MiB chunks; returns its
/// SHA-256.
fn write_pdf(path: &Path, size: u64) -> String {
    let head = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n";
    let tail = b"\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut hasher = Sha256::new();
    let mut put = |bytes: &[u8]| {
        out.write_all(bytes).unwrap();
        hasher.update(bytes);
    };
    put(head);
    let line = b"% filler of the exchange streaming benchmark, not content\n";
    let chunk: Vec<u8> = line.iter().copied().cycle().take(MB as usize).collect();
    let mut left = size - (head.len() + tail.len()) as u64;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        put(&chunk[..n]);
        left -= n as u64;
    }
    put(tail);
    drop(out);
    hex(&hasher.finalize())
}

/// A Platform on SQLite in `dir` with the platform demo, and `tweak` applied to its config.
async fn open(dir: &Path, tweak: impl FnOnce(&mut Config)) -> Platform {
    let mut config = Config::default();
    config.server.data_dir = dir.to_path_buf();
    config.database.url = format!("sqlite://{}", dir.join("bench.db").display());
    config.log.level = "warn".into();
    config.limits.request_timeout_seconds = 1800;
    tweak(&mut config);
    let p = Platform::open_with(config, &common::MIGRATIONS)
        .await
        .unwrap();
    println!("open_peak_kib {}", vm_hwm_kib());
    tinhso_platform::demo::seed(&p).await.unwrap();
    p
}

/// The TLS and signing material both installations read (written by the parent).
struct Keys {
    ca: PathBuf,
    p12: PathBuf,
    receiver: tinhso_signing::test_ca::TlsFiles,
    sender: tinhso_signing::test_ca::TlsFiles,
}

impl Keys {
    fn files(dir: &Path, name: &str) -> tinhso_signing::test_ca::TlsFiles {
        tinhso_signing::test_ca::TlsFiles {
            certificate: dir.join(format!("{name}.crt.pem")),
            key: dir.join(format!("{name}.key.pem")),
        }
    }

    fn at(dir: &Path) -> Self {
        Self {
            ca: dir.join("ca.crt.pem"),
            p12: dir.join("signer.p12"),
            receiver: Self::files(dir, "receiver"),
            sender: Self::files(dir, "sender"),
        }
    }

    fn generate(dir: &Path) -> Self {
        let now = chrono::Utc::now().timestamp();
        let pki = tinhso_signing::test_ca::TestPki::generate(now).unwrap();
        std::fs::write(dir.join("signer.p12"), pki.pkcs12(&pki.signer).unwrap()).unwrap();
        let authority = pki.tls_authority().unwrap();
        authority.write_ca_pem(&dir.join("ca.crt.pem")).unwrap();
        // The XML-DSig signer's CA is the trust anchor of documents; the TLS CA of peers.
        std::fs::write(
            dir.join("anchor.pem"),
            tinhso_signing::test_ca::pem(&pki.ca.certificate_der).unwrap(),
        )
        .unwrap();
        authority
            .write_tls(dir, "receiver", RECEIVER_PEER, now)
            .unwrap();
        authority
            .write_tls(dir, "sender", SENDER_PEER, now)
            .unwrap();
        Self::at(dir)
    }
}

/// The context of a demo account, as the demo builds it.
async fn ctx_of(p: &Platform, username: &str) -> Ctx {
    let user = tinhso_platform::identity::user_by_username(p, username)
        .await
        .unwrap()
        .unwrap();
    Ctx {
        actor: format!("user:{}", user.id),
        caller: Caller::User(
            tinhso_platform::identity::principal_for(p, &user)
                .await
                .unwrap(),
        ),
        request_id: "bench-exchange".into(),
        source_addr: "local".into(),
        now_ms: p.now_ms(),
    }
}

/// Seeds an installation's database in a process of its own (`seed <work> sender|receiver`):
/// the demo's accounts are hashed with argon2id (19 MiB each), whose memory the allocator
/// keeps; measured in the sending or receiving process it would hide what the transfer
/// itself takes. The sender gets the demo documents, the receiver Cao Bằng's committee.
async fn seed(work: &Path, role: &str) {
    let dir = work.join(role);
    std::fs::create_dir_all(&dir).unwrap();
    let p = open(&dir, |_| {}).await;
    if role == "sender" {
        assert!(tinhso_documents::demo::seed(&p).await.unwrap());
    } else {
        tinhso_platform::org::create_agency(
            &p,
            &Ctx::cli(p.now_ms()),
            &tinhso_platform::org::NewAgency {
                code: CAO_BANG.into(),
                name: "Ủy ban nhân dân tỉnh Cao Bằng".into(),
                short_name: String::new(),
                parent_code: None,
                level: "province".into(),
                unit_era: None,
                unit_code: None,
            },
        )
        .await
        .unwrap();
    }
    p.db.close().await;
}

async fn receiver(work: &Path, keys_dir: &Path) {
    let keys = Keys::at(keys_dir);
    let dir = work.join("receiver");
    std::fs::create_dir_all(&dir).unwrap();
    let p = open(&dir, |c| {
        c.exchange.tls_cert = keys.receiver.certificate.clone();
        c.exchange.tls_key = keys.receiver.key.clone();
        c.exchange.peer_ca = vec![keys.ca.clone()];
        c.signing.trust_anchors = vec![keys_dir.join("anchor.pem")];
        c.exchange.max_package_bytes = 4096 * MB;
        c.exchange.peers = vec![ExchangePeer {
            id: SENDER_PEER.into(),
            name: "Trục liên thông Khánh Hòa".into(),
            url: "https://127.0.0.1:9".into(),
            serves: vec![WARD.into()],
        }];
    })
    .await;
    reset_peak();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("listening https://{}", listener.local_addr().unwrap());
    std::io::stdout().flush().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tinhso_web::exchange_peer::serve(
        p.clone(),
        listener,
        async {
            let _ = stop_rx.await;
        },
    ));
    // Until the parent closes our stdin (the sender is done), at most CHILD_LIMIT.
    let _ = tokio::time::timeout(
        CHILD_LIMIT,
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().take(1024).read_to_end(&mut sink);
        }),
    )
    .await;
    let _ = stop_tx.send(());
    let _ = server.await;
    let peak = vm_hwm_kib();
    let row: Option<(String, i64)> = sqlx::query_as(
        "SELECT f.blob_key, f.size_bytes FROM doc_incoming_files x JOIN doc_files f ON f.id = x.file_id JOIN doc_incoming i ON i.id = x.incoming_id WHERE i.source = 'external' ORDER BY f.size_bytes DESC LIMIT 1",
    )
    .fetch_optional(p.db.pool())
    .await
    .unwrap();
    let log: Vec<(String, String, String)> =
        sqlx::query_as("SELECT status, code, detail FROM exchange_log WHERE direction = 'in'")
            .fetch_all(p.db.pool())
            .await
            .unwrap();
    println!("log {log:?}");
    if let Some((key, size)) = row {
        // Re-hash what the blob store holds, not just its key.
        let copy = dir.join("received.pdf");
        p.blobs.copy_to_file(&key, &copy).await.unwrap();
        println!("received {} {size}", sha256_file(&copy));
        std::fs::remove_file(&copy).unwrap();
    }
    println!("peak_kib {peak}");
    p.db.close().await;
}

async fn sender(work: &Path, keys_dir: &Path, file: &Path, url: &str) {
    use tinhso_documents::domain::workflow::OutgoingStep;
    use tinhso_documents::outgoing::{self, NewDraft, RecipientChange, RecipientInput, SignInput};
    let keys = Keys::at(keys_dir);
    let dir = work.join("sender");
    std::fs::create_dir_all(&dir).unwrap();
    let p = open(&dir, |c| {
        c.signing.trust_anchors = vec![keys_dir.join("anchor.pem")];
        c.signing.pkcs12_path = keys.p12.clone();
        c.signing.pkcs12_password = tinhso_signing::test_ca::TEST_PASSWORD.into();
        c.exchange.tls_cert = keys.sender.certificate.clone();
        c.exchange.tls_key = keys.sender.key.clone();
        c.exchange.peer_ca = vec![keys.ca.clone()];
        c.exchange.peers = vec![ExchangePeer {
            id: RECEIVER_PEER.into(),
            name: "Trục liên thông Cao Bằng".into(),
            url: url.to_owned(),
            serves: vec!["*.H14".into()],
        }];
    })
    .await;
    reset_peak();
    let started = Instant::now();
    let (specialist, leader, clerk) = (
        ctx_of(&p, "chuyenvien").await,
        ctx_of(&p, "lanhdao").await,
        ctx_of(&p, tinhso_documents::demo::DEMO_CLERK.0).await,
    );
    let draft = tinhso_documents::files::store(
        &p,
        &specialist,
        "du-thao.pdf",
        b"%PDF-1.4\n% draft\n%%EOF\n",
    )
    .await
    .unwrap();
    let doc = outgoing::create_draft(
        &p,
        &specialist,
        &NewDraft {
            agency_code: WARD.into(),
            metadata: serde_json::from_value(serde_json::json!({
                "type_code": "report", "subject": "Báo cáo kèm hồ sơ lớn",
                "issued_amount": 1, "page_amount": 1, "to_places": ["Lưu: VT"],
            }))
            .unwrap(),
            unit_abbreviation: "VP".into(),
            file_id: draft.id,
            response_for: None,
            note: String::new(),
        },
    )
    .await
    .unwrap();
    outgoing::review(&p, &specialist, doc.id, OutgoingStep::Submit, "")
        .await
        .unwrap();
    outgoing::review(&p, &leader, doc.id, OutgoingStep::Approve, "")
        .await
        .unwrap();
    let signed = tinhso_documents::files::store_file(&p, &leader, "ho-so-lon.pdf", file, 4096 * MB)
        .await
        .unwrap();
    outgoing::sign(
        &p,
        &leader,
        doc.id,
        &SignInput {
            file_id: signed.id,
            competence: "TM.".into(),
            signer_position: "Chủ tịch".into(),
            signer_name: "Võ Văn Dũng".into(),
        },
    )
    .await
    .unwrap();
    outgoing::release(&p, &clerk, doc.id).await.unwrap();
    outgoing::change_recipients(
        &p,
        &clerk,
        doc.id,
        &RecipientChange {
            add: vec![RecipientInput {
                organ_id: CAO_BANG.into(),
                organ_name: "Ủy ban nhân dân tỉnh Cao Bằng".into(),
            }],
            remove: vec![],
        },
    )
    .await
    .unwrap();
    let prepared = started.elapsed();
    let transports = tinhso_exchange::send::Transports {
        peer: std::sync::Arc::new(tinhso_exchange::send::PeerTransport::from_config(&p).unwrap()),
        national: None,
    };
    let sent = Instant::now();
    let attempted = tinhso_exchange::send::send_due(&p, &transports)
        .await
        .unwrap();
    let sent = sent.elapsed();
    let (status, detail): (String, String) = sqlx::query_as(
        "SELECT transport_status, transport_detail FROM doc_recipients WHERE outgoing_id = $1 AND organ_id = $2",
    )
    .bind(doc.id)
    .bind(CAO_BANG)
    .fetch_one(p.db.pool())
    .await
    .unwrap();
    println!("attempted {attempted} status {status} detail {detail}");
    println!(
        "prepared_ms {}\nsent_ms {}",
        prepared.as_millis(),
        sent.as_millis()
    );
    println!("peak_kib {}", vm_hwm_kib());
    p.db.close().await;
}

fn baseline(file: &Path, work: &Path) {
    let copy = work.join("baseline.copy");
    std::io::copy(
        &mut std::fs::File::open(file).unwrap(),
        &mut std::fs::File::create(&copy).unwrap(),
    )
    .unwrap();
    std::fs::remove_file(&copy).unwrap();
    println!("peak_kib {}", vm_hwm_kib());
}

/// Runs this binary as `role` with `args`, stdin piped (the receiver waits on it).
fn spawn(role: &str, args: &[&Path]) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .arg(role)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child` at most CHILD_LIMIT; its stdout lines.
fn finish(mut child: std::process::Child, lines: impl Iterator<Item = String>) -> Vec<String> {
    let out: Vec<String> = lines.collect();
    let deadline = Instant::now() + CHILD_LIMIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "child failed: {status} {out:?}");
            return out;
        }
        assert!(Instant::now() < deadline, "child still running");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn value<'a>(lines: &'a [String], key: &str) -> &'a str {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(key).map(str::trim))
        .unwrap_or_else(|| panic!("no `{key}` in {lines:?}"))
}

fn mib(kib: &str) -> String {
    format!("{:.1} MiB", kib.parse::<f64>().unwrap() / 1024.0)
}

fn parent(size_mb: u64) {
    let work = tempfile::Builder::new()
        .prefix("exchange-bench-")
        .tempdir_in("/tmp")
        .unwrap();
    let keys = work.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    Keys::generate(&keys);
    let file = work.path().join("signed.pdf");
    let size = size_mb * MB;
    let sha = write_pdf(&file, size);
    println!("file: {size} bytes, sha256 {sha}");

    let t = Instant::now();
    let mut child = spawn("baseline", &[&file, work.path()]);
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .collect();
    let base = finish(child, lines.into_iter());
    let base_ms = t.elapsed().as_millis();

    for role in ["sender", "receiver"] {
        let mut child = spawn("seed", &[work.path(), Path::new(role)]);
        let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
            .lines()
            .map_while(Result::ok)
            .collect();
        finish(child, lines.into_iter());
    }
    let mut receiver = spawn("receiver", &[work.path(), &keys]);
    let mut receiver_out = BufReader::new(receiver.stdout.take().unwrap()).lines();
    // Its set-up lines, then its address (bounded: the child writes a few lines).
    let mut early = Vec::new();
    let url = loop {
        let line = receiver_out
            .next()
            .and_then(Result::ok)
            .expect("the receiver's address");
        if let Some(url) = line.strip_prefix("listening ") {
            break url.to_owned();
        }
        assert!(early.len() < 16, "no address from the receiver: {early:?}");
        early.push(line);
    };
    let t = Instant::now();
    let url_path = PathBuf::from(&url);
    let mut sender = spawn("sender", &[work.path(), &keys, &file, &url_path]);
    let lines: Vec<String> = BufReader::new(sender.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .collect();
    let sent = finish(sender, lines.into_iter());
    let elapsed = t.elapsed();
    drop(receiver.stdin.take());
    let received = finish(
        receiver,
        early.into_iter().chain(receiver_out.map_while(Result::ok)),
    );

    println!("sender: {sent:?}");
    println!("receiver: {received:?}");
    let got = value(&received, "received ");
    let ok = got.split_whitespace().next() == Some(sha.as_str());
    println!("| run | peak RSS | time |");
    println!("|---|---|---|");
    println!(
        "| baseline: `io::copy` of {size_mb} MB | {} | {base_ms} ms |",
        mib(value(&base, "peak_kib"))
    );
    println!(
        "| sender: draft → sign with the {size_mb} MB file (stored streaming) → release → dispatch | | {} ms |",
        value(&sent, "prepared_ms")
    );
    println!(
        "| sender: send worker (package, XML-DSig, spool, mutual TLS) | {} (set-up {}, after it {}) | {} ms |",
        mib(value(&sent, "peak_kib")),
        mib(value(&sent, "setup_peak_kib")),
        mib(value(&sent, "rss_after_setup_kib")),
        value(&sent, "sent_ms")
    );
    println!(
        "| receiver: listener + receive pipeline | {} (set-up {}, after it {}) | |",
        mib(value(&received, "peak_kib")),
        mib(value(&received, "setup_peak_kib")),
        mib(value(&received, "rss_after_setup_kib")),
    );
    println!("sender process, start to end: {} ms", elapsed.as_millis());
    println!("sender status: {}", value(&sent, "attempted"));
    println!("received blob sha256 matches: {ok}");
    assert!(ok, "the stored blob differs from the file sent");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = |i: usize| PathBuf::from(&args[i]);
    // Errors of the pipeline (e.g. an internal refusal) on the child's stderr.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn,lopdf=error"))
        .with_writer(std::io::stderr)
        .init();
    match args.get(1).map(String::as_str) {
        Some("baseline") => baseline(&path(2), &path(3)),
        Some("seed") => seed(&path(2), &args[3]).await,
        Some("receiver") => receiver(&path(2), &path(3)).await,
        Some("sender") => sender(&path(2), &path(3), &path(4), &args[5]).await,
        other => {
            let size_mb = other
                .and_then(|s| s.parse().ok())
                .unwrap_or(500u64)
                .clamp(1, 2000);
            tokio::task::spawn_blocking(move || parent(size_mb))
                .await
                .unwrap();
        }
    }
}
