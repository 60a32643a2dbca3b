//! One-stop shop scenarios (issue 3, first slice): catalogue, counter and online intake with
//! appointment dates exact to the minute, access to dossiers, out-of-order actions, and
//! 1,000 concurrent submissions. Each runs on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use tinhso_core::access::Action;

use super::support::{Backend, TestApp, paper_documents, upload_documents, valid_answers};
use crate::both;

/// A full-scope API token of a demo account.
pub(super) async fn token(app: &TestApp, username: &str) -> String {
    let user = tinhso_platform::identity::user_by_username(&app.platform, username)
        .await
        .unwrap()
        .unwrap();
    tinhso_platform::identity::create_api_token(
        &app.platform,
        &app.ctx(),
        user.id,
        "test",
        &Action::ALL,
        366,
    )
    .await
    .unwrap()
    .1
}

pub(super) async fn answers(app: &TestApp, procedure: &str) -> serde_json::Map<String, Value> {
    valid_answers(
        &tinhso_onestop::catalog::get(&app.platform, procedure)
            .await
            .unwrap()
            .spec,
    )
}

pub(super) async fn post(
    client: &reqwest::Client,
    url: String,
    bearer: &str,
    body: &Value,
) -> (u16, Value) {
    let r = client
        .post(url)
        .bearer_auth(bearer)
        .json(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

pub(super) async fn put(
    client: &reqwest::Client,
    url: String,
    bearer: &str,
    body: &Value,
) -> (u16, Value) {
    let r = client
        .put(url)
        .bearer_auth(bearer)
        .json(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// Posts one action to a dossier.
pub(super) async fn act(
    app: &TestApp,
    client: &reqwest::Client,
    bearer: &str,
    code: &str,
    body: Value,
) -> (u16, Value) {
    post(
        client,
        app.url(&format!("/api/v1/dossiers/{code}/actions")),
        bearer,
        &body,
    )
    .await
}

pub(super) async fn get(client: &reqwest::Client, url: String, bearer: &str) -> (u16, Value) {
    let r = client.get(url).bearer_auth(bearer).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn intake_and_deadlines(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = app.client();
    let officer = token(&app, "motcua").await;
    let citizen = token(&app, "001099000001").await;

    // The catalogue is public and holds the real national codes.
    let catalogue: Value = client
        .get(app.url("/api/v1/procedures"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(catalogue["procedures"].as_array().unwrap().len() >= 30);
    let birth: Value = client
        .get(app.url("/api/v1/procedures/1.001193"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(birth["spec"]["name"], "Đăng ký khai sinh");

    // Counter intake on Wednesday 3/2/2027 at 16:00: one working day (8 h) runs 1 h that day
    // and 7 h on Thursday, so the appointment is Thursday 4/2 at 16:00.
    app.clock.set("2027-02-03T16:00:00+07:00");
    let form = answers(&app, "1.001193").await;
    let (status, dossier) = post(&client, app.url("/api/v1/dossiers"), &officer, &json!({
        "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "counter", "documents": paper_documents(3),
        "applicant": {"name": "Trần Văn Bảo", "id_number": "079200004321", "phone": "0905111222"},
        "proxy": {"name": "Trần Thị Lan", "id_number": "079200004322", "authorization": "Giấy ủy quyền số 12/2027 ngày 01/02/2027"},
        "form": form,
    })).await;
    assert_eq!(status, 200, "{dossier}");
    assert_eq!(dossier["code"], "000.00.31.H32-270203-0001");
    assert_eq!(
        (
            dossier["status"].as_str(),
            dossier["national_status"].as_u64()
        ),
        (Some("received"), Some(2))
    );
    assert_eq!(dossier["received_at"], "2027-02-03T16:00:00+07:00");
    assert_eq!(dossier["due_at"], "2027-02-04T16:00:00+07:00");

    // Filed online on Saturday 6/2 (Tết): waits for the counter (national status 1). Accepted
    // on Friday 12/2 at 09:00 (the first working day after Tết and its compensatory days):
    // 6.5 h on Friday, 1.5 h on Monday 15/2 → 09:00.
    app.clock.set("2027-02-06T10:00:00+07:00");
    let uploaded = upload_documents(&app, &client, &citizen, 3).await;
    let (status, online) = post(&client, app.url("/api/v1/dossiers"), &citizen, &json!({
        "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "online", "form": form, "documents": uploaded,
    })).await;
    assert_eq!(status, 200, "{online}");
    let code = online["code"].as_str().unwrap().to_owned();
    assert_eq!(code, "000.00.31.H32-270206-0001");
    assert_eq!(
        (
            online["national_status"].as_u64(),
            online["due_at"].is_null()
        ),
        (Some(1), true)
    );
    assert_eq!(online["applicant_name"], "Nguyễn Văn An");
    app.clock.set("2027-02-12T09:00:00+07:00");
    let (status, accepted) = post(
        &client,
        app.url(&format!("/api/v1/dossiers/{code}/accept")),
        &officer,
        &json!({}),
    )
    .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["due_at"], "2027-02-15T09:00:00+07:00");
    assert_eq!(accepted["events"].as_array().unwrap().len(), 2);

    // The citizen was told, by e-mail and SMS, through the outbox written with each change:
    // submission and acceptance, two channels each. Delivering twice sends nothing twice.
    let queued: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE topic = 'citizen_notification' AND payload_json LIKE $1",
    )
    .bind(format!("%{code}%"))
    .fetch_one(app.platform.db.pool())
    .await
    .unwrap();
    assert_eq!(queued, 4);
    let sink = tempfile::tempdir().unwrap();
    let notifier = tinhso_platform::notifier::FileSink::new(sink.path().to_path_buf());
    let options = tinhso_platform::outbox::WorkerOptions::default();
    let delivered = tinhso_platform::outbox::tick(&app.platform, &notifier, &options)
        .await
        .unwrap();
    assert!(delivered >= 4, "{delivered}");
    assert_eq!(
        tinhso_platform::outbox::tick(&app.platform, &notifier, &options)
            .await
            .unwrap(),
        0
    );
    let messages: Vec<String> = std::fs::read_dir(sink.path())
        .unwrap()
        .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains(&format!("Hồ sơ {code} đã được tiếp nhận"))
                && m.contains("09:00 ngày 15/02/2027")),
        "{messages:?}"
    );

    // The applicant sees it and lists it; another citizen and another commune do not.
    let (status, mine) = get(&client, app.url("/api/v1/me/dossiers"), &citizen).await;
    assert_eq!(
        (status, mine["codes"][0].as_str()),
        (200, Some(code.as_str()))
    );
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
    let (_, stranger_token) = tinhso_platform::identity::create_api_token(
        &app.platform,
        &app.ctx(),
        stranger.id,
        "t",
        &Action::ALL,
        366,
    )
    .await
    .unwrap();
    assert_eq!(
        get(
            &client,
            app.url(&format!("/api/v1/dossiers/{code}")),
            &stranger_token
        )
        .await
        .0,
        404
    );
    assert_eq!(
        get(
            &client,
            app.url(&format!("/api/v1/dossiers/{code}")),
            &citizen
        )
        .await
        .0,
        200
    );
    assert_eq!(
        get(
            &client,
            app.url(&format!("/api/v1/dossiers/{code}")),
            &token(&app, "chuyenvien").await
        )
        .await
        .0,
        200
    );

    // Bad input changes nothing: malformed form, wrong channel, action out of order.
    let head = app.audit_head().await;
    let mut broken = form.clone();
    broken.insert("child_birth_date".into(), json!("2027-02-30"));
    broken.remove("mother_full_name");
    let (status, error) = post(
        &client,
        app.url("/api/v1/dossiers"),
        &officer,
        &json!({
            "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "counter", "documents": paper_documents(3),
            "applicant": {"name": "X", "id_number": "079200004321"}, "form": broken,
        }),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(error["error"]["rule"], "form.invalid");
    let detail = error["error"]["detail"].as_str().unwrap();
    assert!(
        detail.contains("child_birth_date=form.date")
            && detail.contains("mother_full_name=form.required"),
        "{detail}"
    );
    let (status, _) = post(&client, app.url("/api/v1/dossiers"), &citizen, &json!({
        "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "counter", "documents": paper_documents(3), "form": form,
    })).await;
    assert_eq!(status, 422, "a citizen does not file counter dossiers");
    let (status, error) = post(
        &client,
        app.url(&format!("/api/v1/dossiers/{code}/accept")),
        &officer,
        &json!({}),
    )
    .await;
    assert_eq!(
        (status, error["error"]["rule"].as_str()),
        (409, Some("dossier.out_of_order"))
    );
    let (status, _) = post(&client, app.url("/api/v1/dossiers"), &officer, &json!({
        "procedure_code": "1.013831", "agency_code": "000.00.31.H32", "channel": "counter",
        "applicant": {"name": "X", "id_number": "079200004321"}, "form": answers(&app, "1.013831").await,
    })).await;
    assert_eq!(
        status, 422,
        "a province-level procedure is not received by a commune"
    );
    assert_eq!(app.audit_head().await, head);
    app.stop().await;
}
both!(intake_and_deadlines);

/// Runs the binary against a data directory and database.
fn tinhso(dir: &std::path::Path, url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tinhso"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--database")
        .arg(url)
        .args(args)
        .env("TINHSO_LOG__LEVEL", "warn")
        .output()
        .unwrap()
}

/// `tinhso catalog export` prints the configured database's catalogue (JSON, or xlsx), and
/// the KPIs come as a spreadsheet too.
async fn catalogue_and_statistics_exports(backend: Backend) {
    let app = TestApp::start(backend).await;
    let run = |format: &str| {
        tinhso(
            app.dir.path(),
            &app.db.url,
            &["catalog", "export", "--format", format],
        )
    };
    let json_out = run("json");
    assert!(
        json_out.status.success(),
        "{}",
        String::from_utf8_lossy(&json_out.stderr)
    );
    let exported: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    let procedures = exported["procedures"].as_array().unwrap();
    assert!(procedures.len() >= 30);
    assert!(
        procedures
            .iter()
            .any(|p| p["code"] == "1.001193" && p["name"] == "Đăng ký khai sinh")
    );
    let xlsx_out = run("xlsx");
    assert!(xlsx_out.status.success() && xlsx_out.stdout.starts_with(b"PK"));
    assert!(!run("csv").status.success());

    let r = app
        .client()
        .get(app.url("/api/v1/statistics/xlsx?agency=000.00.31.H32"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));
    app.stop().await;
}
both!(catalogue_and_statistics_exports);

/// The xlsx round trip an administrator makes: export the catalogue, import the workbook into
/// a fresh database with `tinhso catalog import FILE` (format told by content), export again:
/// the same catalogue. A workbook with an invalid procedure is refused naming sheet, row and
/// column, and nothing of it is stored.
async fn catalogue_xlsx_round_trip(backend: Backend) {
    use tinhso_onestop::workbook;
    let app = TestApp::start(backend).await;
    let exported = tinhso(
        app.dir.path(),
        &app.db.url,
        &["catalog", "export", "--format", "xlsx"],
    );
    assert!(exported.status.success());
    let original = workbook::read(&exported.stdout).unwrap();
    assert!(original.procedures.len() >= 30);

    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = super::support::TestDb::new(backend, fresh_dir.path()).await;
    let (dir, url) = (fresh_dir.path(), fresh.url.as_str());

    let mut broken = original.clone();
    let spec = broken
        .procedures
        .iter_mut()
        .rfind(|p| !p.process.is_empty())
        .unwrap();
    spec.process[0].duration_hours = -1.0;
    let file = dir.join("broken.xlsx");
    std::fs::write(&file, workbook::write(&broken).unwrap()).unwrap();
    let refused = tinhso(dir, url, &["catalog", "import", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        stderr.contains("sheet `Quy trình`, row ")
            && stderr.contains("column D (Thời gian (giờ làm việc))")
            && stderr.contains("non-negative"),
        "{stderr}"
    );
    let empty = tinhso(dir, url, &["catalog", "export", "--format", "json"]);
    let empty: Value = serde_json::from_slice(&empty.stdout).unwrap();
    assert_eq!(empty["procedures"], json!([]), "all or nothing");

    let file = dir.join("thu-tuc.xlsx");
    std::fs::write(&file, &exported.stdout).unwrap();
    let imported = tinhso(dir, url, &["catalog", "import", file.to_str().unwrap()]);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&imported.stdout).trim(),
        format!(
            "created {}, new versions 0, unchanged 0",
            original.procedures.len()
        )
    );
    let again = tinhso(dir, url, &["catalog", "export", "--format", "xlsx"]);
    assert_eq!(workbook::read(&again.stdout).unwrap(), original);
    let json_of = |dir: &std::path::Path, url: &str| {
        tinhso(dir, url, &["catalog", "export", "--format", "json"]).stdout
    };
    assert_eq!(json_of(dir, url), json_of(app.dir.path(), &app.db.url));
    let repeated = tinhso(dir, url, &["catalog", "import", file.to_str().unwrap()]);
    assert_eq!(
        String::from_utf8_lossy(&repeated.stdout).trim(),
        format!(
            "created 0, new versions 0, unchanged {}",
            original.procedures.len()
        )
    );
    fresh.drop_database().await;
    app.stop().await;
}
both!(catalogue_xlsx_round_trip);

/// 1,000 concurrent counter submissions to one agency on one day: 1,000 distinct,
/// consecutive codes, and the day's counter ends at 1,000.
async fn concurrent_codes_are_consecutive(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.clock.set("2027-03-03T09:00:00+07:00");
    let officer = token(&app, "motcua").await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let body = json!({
        "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "counter", "documents": paper_documents(3),
        "applicant": {"name": "Phạm Văn Cường", "id_number": "079200005555"},
        "form": answers(&app, "1.001193").await,
    });
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let (client, url, officer, body) = (
            client.clone(),
            app.url("/api/v1/dossiers"),
            officer.clone(),
            body.clone(),
        );
        tasks.spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(officer)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200);
            r.json::<Value>().await.unwrap()["code"]
                .as_str()
                .unwrap()
                .to_owned()
        });
    }
    let mut codes = Vec::new();
    while let Some(code) = tasks.join_next().await {
        codes.push(code.unwrap());
    }
    codes.sort();
    let expected: Vec<String> = (1..=1000)
        .map(|n| format!("000.00.31.H32-270303-{n:04}"))
        .collect();
    assert_eq!(codes, expected);
    // Past 9,999 the sequence widens (on SQLite the code is made by the insert's SQL, which
    // must agree with the domain's format).
    use super::support::WriteBehind;
    sqlx::query("UPDATE dossier_counters SET last_seq = 9998 WHERE agency_code = $1")
        .bind("000.00.31.H32")
        .write_behind(&app.platform.db)
        .await
        .unwrap();
    for expected in ["9999", "10000"] {
        let (status, filed) = post(&client, app.url("/api/v1/dossiers"), &officer, &body).await;
        assert_eq!(status, 200, "{filed}");
        let code = filed["code"].clone();
        let day = chrono::NaiveDate::from_ymd_opt(2027, 3, 3).unwrap();
        let sequence: i64 = expected.parse().unwrap();
        assert_eq!(
            code,
            json!(tinhso_onestop::domain::dossier::dossier_code(
                "000.00.31.H32",
                day,
                sequence
            ))
        );
        assert_eq!(code, json!(format!("000.00.31.H32-270303-{expected}")));
    }
    // Every intake's audit record is in the chain, which verifies (most were committed in
    // their batch's call, the chain's tip guessed from the one before).
    let submits: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'dossier.submit'")
            .fetch_one(app.platform.db.pool())
            .await
            .unwrap();
    assert_eq!(submits, 1002);
    app.verified_audit_records().await;
    app.stop().await;
}
both!(concurrent_codes_are_consecutive);

/// Online application → acceptance → processing → supplement request (clock stops) →
/// supplement (clock restarts, the appointment moves) → late approval → return; plus
/// withdrawal, refusal, and actions out of order or by the wrong role.
async fn lifecycle_with_supplement_and_lateness(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = app.client();
    let citizen = token(&app, "001099000001").await;
    let counter = token(&app, "motcua").await;
    let specialist = token(&app, "chuyenvien").await;
    let leader = token(&app, "lanhdao").await;
    let form = answers(&app, "1.001193").await;

    app.clock.set("2027-03-01T08:00:00+07:00");
    let uploaded = upload_documents(&app, &client, &citizen, 3).await;
    let (_, filed) = post(&client, app.url("/api/v1/dossiers"), &citizen, &json!({
        "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "online", "form": form, "documents": uploaded,
    })).await;
    let code = filed["code"].as_str().unwrap().to_owned();
    assert_eq!(code, "000.00.31.H32-270301-0001");

    // Accepted Monday 09:00: 8 working hours → Tuesday 09:00.
    app.clock.set("2027-03-01T09:00:00+07:00");
    let (status, d) = act(&app, &client, &counter, &code, json!({"action": "accept"})).await;
    assert_eq!(
        (status, d["due_at"].as_str()),
        (200, Some("2027-03-02T09:00:00+07:00")),
        "{d}"
    );
    app.clock.set("2027-03-01T10:00:00+07:00");
    assert_eq!(
        act(
            &app,
            &client,
            &specialist,
            &code,
            json!({"action": "start_processing"})
        )
        .await
        .0,
        200
    );

    // Supplement requested Monday 14:00 after 3.5 h of work; the clock stops.
    app.clock.set("2027-03-01T14:00:00+07:00");
    let (status, _) = act(
        &app,
        &client,
        &specialist,
        &code,
        json!({"action": "request_supplement", "items": [], "reason": "x"}),
    )
    .await;
    assert_eq!(status, 422, "the missing items must be listed");
    let (status, d) = act(&app, &client, &specialist, &code, json!({"action": "request_supplement", "items": ["Giấy chứng sinh (bản chính)"], "reason": "Thiếu giấy chứng sinh"})).await;
    assert_eq!(
        (status, d["national_status"].as_u64()),
        (200, Some(5)),
        "{d}"
    );

    // The citizen supplements on Wednesday 10:00: the remaining 4.5 h run from then → 16:00.
    app.clock.set("2027-03-03T10:00:00+07:00");
    let (status, d) = act(
        &app,
        &client,
        &citizen,
        &code,
        json!({"action": "supplement", "note": "Đã bổ sung giấy chứng sinh"}),
    )
    .await;
    assert_eq!(
        (status, d["status"].as_str()),
        (200, Some("processing")),
        "{d}"
    );
    assert_eq!(d["due_at"], "2027-03-03T16:00:00+07:00");

    // Wednesday 15:00: it will be late. An apology letter sets a new appointment; the legal
    // one stays, and lateness is still counted against it.
    app.clock.set("2027-03-03T15:00:00+07:00");
    let (status, _) = act(&app, &client, &specialist, &code, json!({"action": "apologize", "new_due": "2027-03-03T12:00:00+07:00", "reason": "Chờ xác minh"})).await;
    assert_eq!(status, 422, "the new date must be later");
    let (status, d) = act(&app, &client, &specialist, &code, json!({"action": "apologize", "new_due": "2027-03-04T10:00:00+07:00", "reason": "Chờ xác minh thông tin nơi sinh"})).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(
        (
            d["status"].as_str(),
            d["due_at"].as_str(),
            d["apology_due_at"].as_str()
        ),
        (
            Some("processing"),
            Some("2027-03-03T16:00:00+07:00"),
            Some("2027-03-04T10:00:00+07:00")
        )
    );

    // Only a leader decides; deciding after the appointment marks the dossier late.
    app.clock.set("2027-03-04T08:00:00+07:00");
    assert_eq!(
        act(
            &app,
            &client,
            &specialist,
            &code,
            json!({"action": "approve"})
        )
        .await
        .0,
        403
    );
    let (status, d) = act(
        &app,
        &client,
        &leader,
        &code,
        json!({"action": "approve", "note": "Đồng ý"}),
    )
    .await;
    assert_eq!(
        (
            status,
            d["national_status"].as_u64(),
            d["resolved_late"].as_bool()
        ),
        (200, Some(9), Some(true)),
        "{d}"
    );
    let (status, d) = act(
        &app,
        &client,
        &counter,
        &code,
        json!({"action": "return_result", "method": "online"}),
    )
    .await;
    assert_eq!((status, d["national_status"].as_u64()), (200, Some(10)));
    let history: Vec<&str> = d["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        [
            "submit",
            "accept",
            "start_processing",
            "request_supplement",
            "supplement",
            "apologize",
            "approve",
            "return_result"
        ]
    );

    // A withdrawn dossier cannot be approved; a refusal needs a reason and a leader.
    let (_, counter_filed) = post(
        &client,
        app.url("/api/v1/dossiers"),
        &counter,
        &json!({
            "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "counter", "documents": paper_documents(3),
            "applicant": {"name": "Đỗ Thị Hằng", "id_number": "079200006666"}, "form": form,
        }),
    )
    .await;
    let second = counter_filed["code"].as_str().unwrap().to_owned();
    assert_eq!(
        act(
            &app,
            &client,
            &citizen,
            &second,
            json!({"action": "withdraw"})
        )
        .await
        .0,
        404,
        "not the citizen's dossier"
    );
    assert_eq!(
        act(
            &app,
            &client,
            &counter,
            &second,
            json!({"action": "withdraw", "reason": "Công dân xin rút"})
        )
        .await
        .0,
        200
    );
    let head = app.audit_head().await;
    let (status, error) = act(
        &app,
        &client,
        &leader,
        &second,
        json!({"action": "approve"}),
    )
    .await;
    assert_eq!(
        (status, error["error"]["rule"].as_str()),
        (409, Some("dossier.out_of_order"))
    );
    let (_, third) = post(
        &client,
        app.url("/api/v1/dossiers"),
        &counter,
        &json!({
            "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "counter", "documents": paper_documents(3),
            "applicant": {"name": "Đỗ Văn Hùng", "id_number": "079200006667"}, "form": form,
        }),
    )
    .await;
    let third = third["code"].as_str().unwrap().to_owned();
    let head_after_third = app.audit_head().await;
    assert_eq!(
        head_after_third,
        head + 1,
        "only the third intake was written"
    );
    assert_eq!(
        act(
            &app,
            &client,
            &leader,
            &third,
            json!({"action": "refuse", "reason": " "})
        )
        .await
        .0,
        422
    );
    assert_eq!(
        act(
            &app,
            &client,
            &specialist,
            &third,
            json!({"action": "refuse", "reason": "Không đủ điều kiện"})
        )
        .await
        .0,
        403
    );
    let (status, d) = act(
        &app,
        &client,
        &leader,
        &third,
        json!({"action": "refuse", "reason": "Không đủ điều kiện"}),
    )
    .await;
    assert_eq!((status, d["national_status"].as_u64()), (200, Some(8)));
    assert_eq!(app.audit_head().await, head_after_third + 1);
    let (status, _) = act(
        &app,
        &client,
        &leader,
        &third,
        json!({"action": "fly_away"}),
    )
    .await;
    assert_eq!(status, 422, "unknown actions are refused");

    // Rating: by the applicant, once, after the result.
    let rate = |bearer: &str, code: &str, body: Value| {
        let (client, url, bearer) = (
            client.clone(),
            app.url(&format!("/api/v1/dossiers/{code}/rating")),
            bearer.to_owned(),
        );
        async move { post(&client, url, &bearer, &body).await }
    };
    assert_eq!(rate(&citizen, &code, json!({"level": 4})).await.0, 422);
    assert_eq!(
        rate(&counter, &code, json!({"level": 1})).await.0,
        404,
        "only the applicant rates"
    );
    assert_eq!(
        rate(
            &citizen,
            &code,
            json!({"level": 1, "comment": "Nhanh, tận tình"})
        )
        .await
        .0,
        200
    );
    let (status, error) = rate(&citizen, &code, json!({"level": 3})).await;
    assert_eq!(
        (status, error["error"]["rule"].as_str()),
        (409, Some("rating.already"))
    );

    // Public lookup: code + last 4 digits of the ID number; no personal data; a wrong
    // factor looks like an unknown code.
    let lookup = |check: &str| {
        let url = app.url(&format!("/api/v1/public/dossiers/{code}?check={check}"));
        let client = client.clone();
        async move {
            let r = client.get(url).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, public) = lookup("0001").await;
    assert_eq!(status, 200, "{public}");
    assert!(public.contains("\"national_status\":10") && public.contains("Đăng ký khai sinh"));
    for private in [
        "Nguyễn Văn An",
        "001099000001",
        "Thiếu giấy chứng sinh",
        "user:",
    ] {
        assert!(
            !public.contains(private),
            "public status leaks {private}: {public}"
        );
    }
    assert_eq!(lookup("9999").await.0, 404);
    assert_eq!(lookup("abc").await.0, 404);

    // The inbox: open dossiers of the commune, most urgent first, with their urgency.
    let (status, inbox) = get(&client, app.url("/api/v1/dossiers"), &specialist).await;
    assert_eq!(status, 200, "{inbox}");
    let items = inbox["dossiers"].as_array().unwrap();
    assert!(
        items.iter().all(|d| d["code"] != code.as_str()),
        "closed dossiers leave the inbox"
    );
    assert_eq!(
        get(&client, app.url("/api/v1/dossiers"), &citizen).await.0,
        403
    );
    // A new counter dossier on Thursday 08:00 is due Friday 08:00 (7.5 h + 0.5 h).
    let (_, open) = post(
        &client,
        app.url("/api/v1/dossiers"),
        &counter,
        &json!({
            "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "counter", "documents": paper_documents(3),
            "applicant": {"name": "Lý Thị Mai", "id_number": "079200006668"}, "form": form,
        }),
    )
    .await;
    assert_eq!(open["due_at"], "2027-03-05T08:00:00+07:00");
    for (now, urgency) in [
        ("2027-03-04T08:00:00+07:00", "on_time"),
        ("2027-03-05T07:00:00+07:00", "due_soon"),
        ("2027-03-05T09:00:00+07:00", "overdue"),
    ] {
        app.clock.set(now);
        let (_, inbox) = get(&client, app.url("/api/v1/dossiers"), &specialist).await;
        let item = inbox["dossiers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["code"] == open["code"])
            .cloned()
            .unwrap();
        assert_eq!(item["urgency"], urgency, "at {now}");
    }

    // The KPIs of the commune for March 2027, as of Friday 09:00: 1 online and 3 counter
    // filings; one decision, late, after 23 working hours (2.875 days); one open dossier past
    // its appointment; one "very satisfied" rating.
    let stats: Value = client
        .get(app.url("/api/v1/statistics?agency=000.00.31.H32&from=2027-03-01&to=2027-03-31"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        stats["received"],
        json!({"total": 4, "online": 1, "counter": 3, "postal": 0}),
        "{stats}"
    );
    assert_eq!(stats["resolved"], json!({"on_time": 0, "late": 1}));
    assert_eq!(stats["in_progress"], json!({"on_time": 0, "late": 1}));
    assert_eq!(stats["online_share"], 0.25);
    assert_eq!(stats["average_processing_working_days"], 2.875);
    assert_eq!(stats["satisfaction"]["very_satisfied"], 1);
    let elsewhere: Value = client
        .get(app.url("/api/v1/statistics?agency=000.00.03.H32&from=2027-03-01&to=2027-03-31"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        elsewhere["received"]["total"], 0,
        "another agency's figures are its own"
    );
    app.stop().await;
}
both!(lifecycle_with_supplement_and_lateness);

/// Transfer between agencies (liên thông): the commune receives, hands processing to the
/// Department of Justice, whose leader decides; the commune returns the result.
async fn transfer_between_agencies(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = app.client();
    let p = &app.platform;
    let ctx = app.ctx();
    let stp = tinhso_platform::org::resolve_agency_code(p, "000.00.03.H32")
        .await
        .unwrap()
        .unwrap();
    let director = tinhso_platform::identity::create_user(
        p,
        &ctx,
        &tinhso_platform::identity::NewUser {
            kind: tinhso_core::identity::AccountKind::Official,
            username: "giamdoc.stp".into(),
            display_name: "Giám đốc Sở Tư pháp".into(),
            personal_id: None,
            tax_code: None,
            email: String::new(),
            phone: String::new(),
            agency_id: Some(stp.id),
            password: None,
            must_change_password: false,
        },
    )
    .await
    .unwrap();
    tinhso_platform::identity::grant_role(
        p,
        &ctx,
        director.id,
        tinhso_core::access::Role::Leader,
        stp.id,
    )
    .await
    .unwrap();
    let director = token(&app, "giamdoc.stp").await;
    let counter = token(&app, "motcua").await;
    let specialist = token(&app, "chuyenvien").await;
    let commune_leader = token(&app, "lanhdao").await;

    app.clock.set("2027-03-08T08:00:00+07:00");
    let (_, filed) = post(&client, app.url("/api/v1/dossiers"), &counter, &json!({
        "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "counter", "documents": paper_documents(3),
        "applicant": {"name": "Hà Văn Nam", "id_number": "079200008888"}, "form": answers(&app, "1.001193").await,
    })).await;
    let code = filed["code"].as_str().unwrap().to_owned();
    assert_eq!(
        get(
            &client,
            app.url(&format!("/api/v1/dossiers/{code}")),
            &director
        )
        .await
        .0,
        404,
        "not yet theirs"
    );
    assert_eq!(
        act(
            &app,
            &client,
            &specialist,
            &code,
            json!({"action": "start_processing"})
        )
        .await
        .0,
        200
    );
    let (status, _) = act(
        &app,
        &client,
        &specialist,
        &code,
        json!({"action": "transfer", "to_agency_code": "000.00.31.H32"}),
    )
    .await;
    assert_eq!(status, 422, "already there");
    let (status, moved) = act(&app, &client, &specialist, &code, json!({"action": "transfer", "to_agency_code": "000.00.03.H32", "note": "Cần ý kiến Sở Tư pháp"})).await;
    assert_eq!(status, 200, "{moved}");

    // Now the department sees it in its inbox and decides; the commune no longer decides.
    let (_, inbox) = get(&client, app.url("/api/v1/dossiers"), &director).await;
    assert!(
        inbox["dossiers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == code.as_str()),
        "{inbox}"
    );
    assert_eq!(
        act(
            &app,
            &client,
            &commune_leader,
            &code,
            json!({"action": "approve"})
        )
        .await
        .0,
        403
    );
    let (status, decided) = act(
        &app,
        &client,
        &director,
        &code,
        json!({"action": "approve", "note": "Đồng ý"}),
    )
    .await;
    assert_eq!(
        (status, decided["status"].as_str()),
        (200, Some("resolved")),
        "{decided}"
    );
    // The receiving commune returns the result; the department cannot.
    assert_eq!(
        act(
            &app,
            &client,
            &director,
            &code,
            json!({"action": "return_result", "method": "counter"})
        )
        .await
        .0,
        403
    );
    let (status, returned) = act(
        &app,
        &client,
        &counter,
        &code,
        json!({"action": "return_result", "method": "counter"}),
    )
    .await;
    assert_eq!(
        (status, returned["national_status"].as_u64()),
        (200, Some(10))
    );
    let notes: Vec<&str> = returned["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["note"].as_str().unwrap())
        .collect();
    assert!(
        notes.contains(&"→ 000.00.03.H32 Cần ý kiến Sở Tư pháp"),
        "{notes:?}"
    );
    app.stop().await;
}
both!(transfer_between_agencies);
