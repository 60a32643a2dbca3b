//! Dossier documents (issue 3): uploads checked by size, by content type and by a REAL clamd
//! (started here on a loopback port with a signature file made here, so nothing depends on
//! freshclam); required documents at filing; another citizen's uploads and documents stay out
//! of reach; results reach the citizen's document store and are reused in a later filing.
//! Each scenario runs on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use tinhso_core::access::Action;

use super::onestop::{get, post, token};
use super::support::{Backend, TestApp, sample_pdf, upload, valid_answers};
use crate::both;

/// The EICAR test file: every anti-virus engine reports it, it harms nothing.
const EICAR: &str = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// clamd in the foreground on a free loopback port, with only a signature of EICAR made by
/// `sigtool --md5`; killed when dropped.
struct Clamd {
    child: std::process::Child,
    address: String,
    /// Its unix socket, served beside the TCP port.
    socket: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Clamd {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        std::fs::create_dir_all(&db).unwrap();
        let eicar = dir.path().join("eicar.com");
        std::fs::write(&eicar, EICAR).unwrap();
        let signature = std::process::Command::new("sigtool")
            .arg("--md5")
            .arg(&eicar)
            .output()
            .unwrap_or_else(|e| {
                panic!("sigtool (Debian package clamav) is required for the upload tests: {e}")
            });
        assert!(signature.status.success(), "sigtool failed: {signature:?}");
        std::fs::write(db.join("test.hdb"), &signature.stdout).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.path().join("clamd.conf");
        let socket = dir.path().join("clamd.sock");
        std::fs::write(
            &config,
            format!(
                "Foreground yes\nTCPSocket {port}\nTCPAddr 127.0.0.1\nLocalSocket {}\nDatabaseDirectory {}\nLogFile {}\nStreamMaxLength 20M\nSelfCheck 0\n",
                socket.display(),
                db.display(),
                dir.path().join("clamd.log").display()
            ),
        )
        .unwrap();
        let child = std::process::Command::new("clamd")
            .arg("-c")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("clamd (Debian package clamav-daemon) is required for the upload tests: {e}")
            });
        let address = format!("127.0.0.1:{port}");
        let mut clamd = Self {
            child,
            address,
            socket,
            _dir: dir,
        };
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(&clamd.address).is_err() {
            if let Ok(Some(status)) = clamd.child.try_wait() {
                panic!("clamd exited at start-up ({status})");
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "clamd did not listen on {} within 60 s",
                clamd.address
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        clamd
    }
}

impl Drop for Clamd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Uploads raw bytes; returns status and answer (for the refusals).
async fn try_upload(
    app: &TestApp,
    client: &reqwest::Client,
    bearer: &str,
    filename: &str,
    bytes: Vec<u8>,
) -> (u16, Value) {
    let r = client
        .post(app.url("/api/v1/uploads"))
        .query(&[("filename", filename)])
        .bearer_auth(bearer)
        .body(bytes)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(app.platform.db.pool())
        .await
        .unwrap()
}

async fn citizen_stranger(app: &TestApp) -> String {
    let stranger = tinhso_platform::identity::create_user(
        &app.platform,
        &app.ctx(),
        &tinhso_platform::identity::NewUser {
            kind: tinhso_core::identity::AccountKind::Citizen,
            username: String::new(),
            display_name: "Người khác".into(),
            personal_id: Some("079200007777".into()),
            tax_code: None,
            email: String::new(),
            phone: String::new(),
            agency_id: None,
            password: None,
            must_change_password: false,
        },
    )
    .await
    .unwrap();
    tinhso_platform::identity::create_api_token(
        &app.platform,
        &app.ctx(),
        stranger.id,
        "t",
        &Action::ALL,
        366,
    )
    .await
    .unwrap()
    .1
}

async fn documents_through_clamd(backend: Backend) {
    let clamd = Clamd::start();
    let address = clamd.address.clone();
    let app = TestApp::start_with(backend, move |config| {
        config.scanner.backend = "clamd".into();
        config.scanner.address = address;
        config.limits.max_upload_bytes = 256 * 1024;
    })
    .await;
    let client = app.client();
    let citizen = token(&app, "001099000001").await;
    let stranger = citizen_stranger(&app).await;
    let counter = token(&app, "motcua").await;
    let specialist = token(&app, "chuyenvien").await;
    let leader = token(&app, "lanhdao").await;
    app.clock.set("2027-03-01T08:00:00+07:00");

    // Refused uploads write nothing: EICAR through the real clamd (named as a PDF, so the
    // scanner and not the type check stops it), HTML named .pdf, a file over the limit.
    let head = app.audit_head().await;
    let (status, error) = try_upload(&app, &client, &citizen, "to-khai.pdf", EICAR.into()).await;
    assert_eq!(
        (status, error["error"]["rule"].as_str()),
        (422, Some("upload.infected")),
        "{error}"
    );
    assert!(
        error["error"]["detail"].as_str().unwrap().contains("eicar"),
        "the signature is named: {error}"
    );
    let (status, error) = try_upload(
        &app,
        &client,
        &citizen,
        "to-khai.pdf",
        b"<!doctype html><script>alert(1)</script>".to_vec(),
    )
    .await;
    assert_eq!(
        (
            status,
            error["error"]["code"].as_str(),
            error["error"]["rule"].as_str()
        ),
        (422, Some("invalid_input"), Some("upload.type_not_allowed")),
        "{error}"
    );
    let mut big = sample_pdf(0);
    big.resize(300 * 1024, b' ');
    let (status, error) = try_upload(&app, &client, &citizen, "big.pdf", big).await;
    assert_eq!(
        (
            status,
            error["error"]["code"].as_str(),
            error["error"]["rule"].as_str()
        ),
        (413, Some("payload_too_large"), Some("upload.too_large")),
        "{error}"
    );
    assert_eq!(app.audit_head().await, head);
    assert_eq!(count(&app, "uploads").await, 0);

    // A clean PDF passes the same scanner; its name is made safe.
    let first = client
        .post(app.url("/api/v1/uploads"))
        .query(&[("filename", "../Tờ khai \"khai sinh\".pdf")])
        .bearer_auth(&citizen)
        .body(sample_pdf(1))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status().as_u16(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(
        (
            first["scan_verdict"].as_str(),
            first["content_type"].as_str(),
            first["filename"].as_str()
        ),
        (
            Some("clean"),
            Some("application/pdf"),
            Some("Tờ khai khai sinh .pdf")
        ),
        "{first}"
    );
    // Larger than the global JSON body limit of the tests (64 KiB), within the upload limit:
    // the upload route has its own.
    let mut scan = sample_pdf(2);
    scan.resize(100 * 1024, b' ');
    let second = upload(&app, &client, &citizen, "giay-chung-sinh.pdf", scan).await;
    let third = upload(&app, &client, &citizen, "uy-quyen.pdf", sample_pdf(3)).await;
    let form = valid_answers(
        &tinhso_onestop::catalog::get(&app.platform, "1.001193")
            .await
            .unwrap()
            .spec,
    );

    // A required document missing: refused, naming it; nothing written.
    let head = app.audit_head().await;
    let (status, error) = post(&client, app.url("/api/v1/dossiers"), &citizen, &json!({
        "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "online", "form": form,
        "documents": [{"requirement": 0, "upload_id": first["id"]}, {"requirement": 1, "upload_id": second}],
    })).await;
    assert_eq!(
        (status, error["error"]["rule"].as_str()),
        (422, Some("dossier.documents_missing")),
        "{error}"
    );
    assert!(
        error["error"]["detail"]
            .as_str()
            .unwrap()
            .contains("Văn bản ủy quyền"),
        "{error}"
    );
    assert_eq!(app.audit_head().await, head);
    assert_eq!(count(&app, "dossiers").await, 0);
    assert_eq!(count(&app, "dossier_documents").await, 0);

    // Another citizen can neither attach these uploads nor reuse them.
    let (status, _) = post(&client, app.url("/api/v1/dossiers"), &stranger, &json!({
        "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "online", "form": form,
        "documents": [{"requirement": 0, "upload_id": first["id"]}, {"requirement": 1, "upload_id": second}, {"requirement": 2, "upload_id": third}],
    })).await;
    assert_eq!(status, 404, "another citizen's upload is not found");
    assert_eq!(app.audit_head().await, head);

    // Filed with every document.
    let (status, filed) = post(&client, app.url("/api/v1/dossiers"), &citizen, &json!({
        "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "online", "form": form,
        "documents": [{"requirement": "Tờ khai đăng ký khai sinh", "upload_id": first["id"]}, {"requirement": 1, "upload_id": second}, {"requirement": 2, "upload_id": third}],
    })).await;
    assert_eq!(status, 200, "{filed}");
    let code = filed["code"].as_str().unwrap().to_owned();
    let documents = filed["documents"].as_array().unwrap();
    assert_eq!(documents.len(), 3);
    assert_eq!(documents[0]["name"], "Tờ khai đăng ký khai sinh");
    assert_eq!(documents[0]["role"], "submitted");
    let document_id = documents[0]["id"].as_i64().unwrap();
    // An upload is attached once.
    let (status, error) = post(&client, app.url("/api/v1/dossiers"), &citizen, &json!({
        "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "online", "form": form,
        "documents": [{"requirement": 0, "upload_id": first["id"]}, {"requirement": 1, "upload_id": second}, {"requirement": 2, "upload_id": third}],
    })).await;
    assert_eq!(
        (status, error["error"]["rule"].as_str()),
        (409, Some("upload.already_attached")),
        "{error}"
    );
    // Two filings racing for the same fresh uploads: however they interleave (both past the
    // check before the write, so the claim in the batch decides, or one after the other),
    // one goes through and the other is refused and leaves nothing.
    let count_dossiers = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM dossiers")
            .fetch_one(app.platform.db.pool())
            .await
            .unwrap()
    };
    let dossiers_before = count_dossiers().await;
    let racing = json!({
        "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "online", "form": form,
        "documents": super::support::upload_documents(&app, &client, &citizen, 3).await,
    });
    let url = app.url("/api/v1/dossiers");
    let (one, other) = tokio::join!(
        post(&client, url.clone(), &citizen, &racing),
        post(&client, url.clone(), &citizen, &racing)
    );
    let mut statuses = vec![one.0, other.0];
    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 409], "{one:?} {other:?}");
    let refused = if one.0 == 409 { &one.1 } else { &other.1 };
    assert_eq!(
        refused["error"]["rule"], "upload.already_attached",
        "{refused}"
    );
    assert_eq!(
        count_dossiers().await,
        dossiers_before + 1,
        "the refused filing left nothing"
    );

    // Download: the applicant and the counter get the file as an attachment; another citizen
    // is told it does not exist.
    let url = app.url(&format!("/api/v1/dossiers/{code}/documents/{document_id}"));
    for bearer in [&citizen, &counter] {
        let r = client.get(&url).bearer_auth(bearer).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let h = r.headers().clone();
        assert_eq!(h["content-type"], "application/pdf");
        assert_eq!(h["x-content-type-options"], "nosniff");
        let disposition = h["content-disposition"].to_str().unwrap();
        assert!(
            disposition.starts_with("attachment;") && disposition.contains("filename*=UTF-8''"),
            "{disposition}"
        );
        assert_eq!(r.bytes().await.unwrap().to_vec(), sample_pdf(1));
    }
    let (status, error) = get(&client, url.clone(), &stranger).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, _) = get(
        &client,
        app.url(&format!("/api/v1/dossiers/{code}/documents")),
        &stranger,
    )
    .await;
    assert_eq!(status, 404);

    // Processing, with a supplement document, then the decision with its result document.
    for (bearer, action) in [
        (&counter, json!({"action": "accept"})),
        (&specialist, json!({"action": "start_processing"})),
        (
            &specialist,
            json!({"action": "request_supplement", "items": ["Giấy chứng sinh rõ nét hơn"], "reason": "Bản chụp mờ"}),
        ),
    ] {
        let (status, d) = post(
            &client,
            app.url(&format!("/api/v1/dossiers/{code}/actions")),
            bearer,
            &action,
        )
        .await;
        assert_eq!(status, 200, "{action}: {d}");
    }
    let better = upload(
        &app,
        &client,
        &citizen,
        "giay-chung-sinh-2.pdf",
        sample_pdf(4),
    )
    .await;
    let (status, d) = post(
        &client,
        app.url(&format!("/api/v1/dossiers/{code}/actions")),
        &citizen,
        &json!({"action": "supplement", "note": "Bản rõ hơn", "documents": [better]}),
    )
    .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["documents"].as_array().unwrap()[3]["role"], "supplement");
    // The leader cannot attach the citizen's upload as a result, only their own.
    let stray = upload(
        &app,
        &client,
        &citizen,
        "khong-phai-ket-qua.pdf",
        sample_pdf(5),
    )
    .await;
    let (status, _) = post(
        &client,
        app.url(&format!("/api/v1/dossiers/{code}/actions")),
        &leader,
        &json!({"action": "approve", "result_documents": [stray]}),
    )
    .await;
    assert_eq!(status, 404);
    let result = upload(&app, &client, &leader, "Giấy khai sinh.pdf", sample_pdf(6)).await;
    let (status, d) = post(
        &client,
        app.url(&format!("/api/v1/dossiers/{code}/actions")),
        &leader,
        &json!({"action": "approve", "note": "Đồng ý", "result_documents": [result]}),
    )
    .await;
    assert_eq!(status, 200, "{d}");
    // Before it is returned the result is the officers' alone.
    let (_, listed) = get(
        &client,
        app.url(&format!("/api/v1/dossiers/{code}/documents")),
        &citizen,
    )
    .await;
    assert_eq!(listed["documents"].as_array().unwrap().len(), 4, "{listed}");
    let (_, store) = get(&client, app.url("/api/v1/me/documents"), &citizen).await;
    assert_eq!(store["documents"].as_array().unwrap().len(), 0);
    let (status, d) = post(
        &client,
        app.url(&format!("/api/v1/dossiers/{code}/actions")),
        &counter,
        &json!({"action": "return_result", "method": "online"}),
    )
    .await;
    assert_eq!(status, 200, "{d}");

    // Returned: the result is in the citizen's store, and not in the stranger's.
    let (status, store) = get(&client, app.url("/api/v1/me/documents"), &citizen).await;
    assert_eq!(status, 200, "{store}");
    let stored = store["documents"].as_array().unwrap();
    assert_eq!(stored.len(), 1, "{store}");
    assert_eq!(stored[0]["source_dossier"], code.as_str());
    assert_eq!(stored[0]["name"], "Giấy khai sinh.pdf");
    let store_id = stored[0]["id"].as_i64().unwrap();
    let (_, other_store) = get(&client, app.url("/api/v1/me/documents"), &stranger).await;
    assert_eq!(other_store["documents"].as_array().unwrap().len(), 0);
    assert_eq!(
        get(&client, app.url("/api/v1/me/documents"), &counter)
            .await
            .0,
        403,
        "officers have no citizen's store"
    );

    // Reused later: the birth certificate is the civil-status paper a correction needs
    // (requirement 2 of 1.004859 is reusable; requirement 0 is not).
    let correction = valid_answers(
        &tinhso_onestop::catalog::get(&app.platform, "1.004859")
            .await
            .unwrap()
            .spec,
    );
    let a = upload(
        &app,
        &client,
        &citizen,
        "to-khai-cai-chinh.pdf",
        sample_pdf(7),
    )
    .await;
    let b = upload(&app, &client, &citizen, "can-cu.pdf", sample_pdf(8)).await;
    let head = app.audit_head().await;
    let (status, error) = post(&client, app.url("/api/v1/dossiers"), &citizen, &json!({
        "procedure_code": "1.004859", "agency_code": "000.00.31.H32", "channel": "online", "form": correction,
        "documents": [{"requirement": 0, "store_document_id": store_id}, {"requirement": 1, "upload_id": b}, {"requirement": 2, "upload_id": a}],
    })).await;
    assert_eq!(
        (status, error["error"]["rule"].as_str()),
        (422, Some("dossier.document_not_reusable")),
        "{error}"
    );
    assert_eq!(app.audit_head().await, head);
    let theirs = super::support::upload_documents(&app, &client, &stranger, 2).await;
    let head = app.audit_head().await;
    let (status, _) = post(&client, app.url("/api/v1/dossiers"), &stranger, &json!({
        "procedure_code": "1.004859", "agency_code": "000.00.31.H32", "channel": "online", "form": correction,
        "documents": [theirs[0], theirs[1], {"requirement": 2, "store_document_id": store_id}],
    })).await;
    assert_eq!(status, 404, "another citizen's store document is not found");
    assert_eq!(app.audit_head().await, head);
    let (status, reused) = post(&client, app.url("/api/v1/dossiers"), &citizen, &json!({
        "procedure_code": "1.004859", "agency_code": "000.00.31.H32", "channel": "online", "form": correction,
        "documents": [{"requirement": 0, "upload_id": a}, {"requirement": 1, "upload_id": b}, {"requirement": 2, "store_document_id": store_id}],
    })).await;
    assert_eq!(status, 200, "{reused}");
    let reused_docs = reused["documents"].as_array().unwrap();
    assert_eq!(reused_docs[2]["source"], "store");
    let reused_code = reused["code"].as_str().unwrap();
    let r = client
        .get(app.url(&format!(
            "/api/v1/dossiers/{reused_code}/documents/{}",
            reused_docs[2]["id"]
        )))
        .bearer_auth(&counter)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), sample_pdf(6));

    // The same daemon through its unix socket, the usual production set-up.
    use tinhso_platform::scanner::{ClamdScanner, MalwareScanner, ScanVerdict};
    let local = ClamdScanner::new(
        &format!("unix:{}", clamd.socket.display()),
        std::time::Duration::from_secs(30),
    );
    assert!(matches!(
        local.scan(EICAR.as_bytes()).await.unwrap(),
        ScanVerdict::Infected(_)
    ));
    assert_eq!(
        local.scan(&sample_pdf(0)).await.unwrap(),
        ScanVerdict::Clean
    );
    drop(clamd);
    app.stop().await;
}
both!(documents_through_clamd);

/// A configured scanner that cannot be reached: uploads fail closed, nothing stored. Counter
/// intake with paper originals needs no upload; a counter filing missing one is refused.
async fn scanner_down_fails_closed(backend: Backend) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = TestApp::start_with(backend, move |config| {
        config.scanner.backend = "clamd".into();
        config.scanner.address = format!("127.0.0.1:{port}");
        config.scanner.timeout_seconds = 5;
        config.limits.max_pending_uploads = 2;
    })
    .await;
    let client = app.client();
    let citizen = token(&app, "001099000001").await;
    let counter = token(&app, "motcua").await;
    let head = app.audit_head().await;
    let (status, error) = try_upload(&app, &client, &citizen, "a.pdf", sample_pdf(0)).await;
    assert_eq!(
        (
            status,
            error["error"]["code"].as_str(),
            error["error"]["rule"].as_str()
        ),
        (503, Some("unavailable"), Some("upload.scanner_unavailable")),
        "{error}"
    );
    assert_eq!(app.audit_head().await, head);
    assert_eq!(count(&app, "uploads").await, 0);

    let form = valid_answers(
        &tinhso_onestop::catalog::get(&app.platform, "1.001193")
            .await
            .unwrap()
            .spec,
    );
    let (status, error) = post(
        &client,
        app.url("/api/v1/dossiers"),
        &counter,
        &json!({
            "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "counter",
            "applicant": {"name": "Trần Văn Bảo", "id_number": "079200004321"}, "form": form,
            "documents": [{"requirement": 0, "paper": true}, {"requirement": 1, "paper": true}],
        }),
    )
    .await;
    assert_eq!(
        (status, error["error"]["rule"].as_str()),
        (422, Some("dossier.documents_missing")),
        "{error}"
    );
    let (status, filed) = post(
        &client,
        app.url("/api/v1/dossiers"),
        &counter,
        &json!({
            "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "counter",
            "applicant": {"name": "Trần Văn Bảo", "id_number": "079200004321"}, "form": form,
            "documents": super::support::paper_documents(3),
        }),
    )
    .await;
    assert_eq!(status, 200, "{filed}");
    assert_eq!(filed["documents"][0]["source"], "paper");
    assert_eq!(filed["documents"][0]["downloadable"], false);
    app.stop().await;
}
both!(scanner_down_fails_closed);

/// Without a scanner (development), uploads are stored as not scanned; the per-account
/// quota of pending uploads holds; a counter officer files with a scan and paper originals.
async fn quota_and_counter_scans(backend: Backend) {
    let app = TestApp::start_with(backend, |config| {
        config.limits.max_pending_uploads = 2;
    })
    .await;
    let client = app.client();
    let citizen = token(&app, "001099000001").await;
    for n in 0..2 {
        let (status, body) = try_upload(&app, &client, &citizen, "a.png", {
            let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
            png.push(u8::try_from(n).unwrap());
            png
        })
        .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(
            (body["scan_verdict"].as_str(), body["filename"].as_str()),
            (Some("not_scanned"), Some("a.png"))
        );
    }
    let (status, error) = try_upload(&app, &client, &citizen, "c.pdf", sample_pdf(9)).await;
    assert_eq!(
        (status, error["error"]["rule"].as_str()),
        (429, Some("upload.too_many_pending")),
        "{error}"
    );
    let (status, _) = try_upload(&app, &client, "tsk_garbage", "c.pdf", sample_pdf(9)).await;
    assert_eq!(status, 401);

    // At the counter the officer scans one document and checks the others on paper.
    let counter = token(&app, "motcua").await;
    let scan = upload(&app, &client, &counter, "scan-to-khai.pdf", sample_pdf(10)).await;
    let form = valid_answers(
        &tinhso_onestop::catalog::get(&app.platform, "1.001193")
            .await
            .unwrap()
            .spec,
    );
    let (status, filed) = post(&client, app.url("/api/v1/dossiers"), &counter, &json!({
        "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "counter",
        "applicant": {"name": "Trần Văn Bảo", "id_number": "079200004321"}, "form": form,
        "documents": [{"requirement": 0, "upload_id": scan}, {"requirement": 1, "paper": true}, {"requirement": 2, "paper": true}],
    })).await;
    assert_eq!(status, 200, "{filed}");
    assert_eq!(
        (
            filed["documents"][0]["source"].as_str(),
            filed["documents"][1]["source"].as_str()
        ),
        (Some("upload"), Some("paper"))
    );
    app.stop().await;
}
both!(quota_and_counter_scans);
