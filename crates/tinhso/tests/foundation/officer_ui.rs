//! Officials at work (issue 4 §3–4): queue tickets numbered consecutively under concurrency
//! and called in order, bulk approval with per-dossier outcomes, the demo dossiers (seeded
//! once, some overdue), and the counter's intake page creating a dossier over HTTP. Each
//! runs on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};

use super::onestop::{act, answers, get, post, token};
use super::support::{Backend, DEMO_PASSWORD, TestApp, csrf_of, login, paper_documents};
use crate::both;

const AGENCY: &str = "000.00.31.H32";

async fn queue_numbering_and_calls(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.clock.set("2027-03-03T07:30:00+07:00");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();

    // 60 people take a number at the same moment: 1..=60, none twice, none skipped.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..60 {
        let (client, url) = (
            client.clone(),
            app.url(&format!("/api/v1/queue/{AGENCY}/tickets")),
        );
        tasks.spawn(async move {
            let r = client.post(url).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 200);
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["day"], "2027-03-03");
            body["number"].as_i64().unwrap()
        });
    }
    let mut numbers = Vec::new();
    while let Some(n) = tasks.join_next().await {
        numbers.push(n.unwrap());
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=60).collect::<Vec<i64>>());

    // Calling needs a counter officer of the agency.
    let (status, _) = post(
        &client,
        app.url(&format!("/api/v1/queue/{AGENCY}/call")),
        "tsk_garbage",
        &json!({"desk": "Quầy 1"}),
    )
    .await;
    assert_eq!(status, 401);
    let specialist = token(&app, "chuyenvien").await;
    let (status, _) = post(
        &client,
        app.url(&format!("/api/v1/queue/{AGENCY}/call")),
        &specialist,
        &json!({"desk": "Quầy 1"}),
    )
    .await;
    assert_eq!(status, 403, "specialists do not call the queue");
    let counter = token(&app, "motcua").await;
    let (status, e) = post(
        &client,
        app.url(&format!("/api/v1/queue/{AGENCY}/call")),
        &counter,
        &json!({"desk": "<b>"}),
    )
    .await;
    assert_eq!(
        (status, e["error"]["rule"].as_str()),
        (422, Some("queue.desk"))
    );

    // Sequential calls come lowest first.
    for expected in 1..=3 {
        let (status, body) = post(
            &client,
            app.url(&format!("/api/v1/queue/{AGENCY}/call")),
            &counter,
            &json!({"desk": "Quầy 1"}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["called"]["number"], expected);
        assert_eq!(body["called"]["label"], format!("{expected:04}"));
    }
    // Two desks calling at once never get the same ticket: the remaining 57 are each called
    // exactly once.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..57 {
        let (client, url, counter) = (
            client.clone(),
            app.url(&format!("/api/v1/queue/{AGENCY}/call")),
            counter.clone(),
        );
        tasks.spawn(async move {
            let desk = if i % 2 == 0 { "Quầy 2" } else { "Quầy 3" };
            let r = client
                .post(url)
                .bearer_auth(counter)
                .json(&json!({ "desk": desk }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200);
            r.json::<Value>().await.unwrap()["called"]["number"]
                .as_i64()
                .unwrap()
        });
    }
    let mut called = Vec::new();
    while let Some(n) = tasks.join_next().await {
        called.push(n.unwrap());
    }
    called.sort_unstable();
    assert_eq!(called, (4..=60).collect::<Vec<i64>>());
    let (status, body) = post(
        &client,
        app.url(&format!("/api/v1/queue/{AGENCY}/call")),
        &counter,
        &json!({"desk": "Quầy 1"}),
    )
    .await;
    assert_eq!(
        (status, &body["called"]),
        (200, &Value::Null),
        "nobody left"
    );

    // The display: last number, nobody waiting, the latest calls first.
    let (status, display) = get(&client, app.url(&format!("/api/v1/queue/{AGENCY}")), "").await;
    assert_eq!(status, 200);
    assert_eq!(display["last_number"], 60);
    assert_eq!(display["waiting"], 0);
    assert_eq!(display["calls"].as_array().unwrap().len(), 8);

    // A new day starts again at 1; the page flow works without scripts.
    app.clock.set("2027-03-04T07:30:00+07:00");
    let browser = app.client();
    let page = browser
        .get(app.url(&format!("/queue/{AGENCY}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("action=\"/queue/000.00.31.H32\""),
        "the take-a-number form"
    );
    let r = browser
        .post(app.url(&format!("/queue/{AGENCY}")))
        .form(&[("csrf_token", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let ticket = browser
        .get(app.url(&location))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ticket.contains("data-ticket-number>0001<"), "{ticket}");
    let display = browser
        .get(app.url(&format!("/queue/{AGENCY}/display")))
        .send()
        .await
        .unwrap();
    assert_eq!(display.headers()["refresh"], "15");
    app.stop().await;
}
both!(queue_numbering_and_calls);

/// Files a counter dossier of birth registration; returns its code.
async fn counter_dossier(
    app: &TestApp,
    client: &reqwest::Client,
    counter: &str,
    name: &str,
) -> String {
    let (status, d) = post(
        client,
        app.url("/api/v1/dossiers"),
        counter,
        &json!({
            "procedure_code": "1.001193", "agency_code": AGENCY, "channel": "counter", "documents": paper_documents(3),
            "applicant": {"name": name, "id_number": "079200004400"}, "form": answers(app, "1.001193").await,
        }),
    )
    .await;
    assert_eq!(status, 200, "{d}");
    d["code"].as_str().unwrap().to_owned()
}

async fn bulk_approval_outcomes(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.clock.set("2027-03-01T09:00:00+07:00");
    let client = app.client();
    let counter = token(&app, "motcua").await;
    let specialist = token(&app, "chuyenvien").await;
    let leader = token(&app, "lanhdao").await;
    let mut ready = Vec::new();
    for name in ["Lê Thị Hoa", "Trần Văn Minh"] {
        let code = counter_dossier(&app, &client, &counter, name).await;
        for action in ["start_processing", "complete_step"] {
            let (status, d) = act(
                &app,
                &client,
                &specialist,
                &code,
                json!({ "action": action }),
            )
            .await;
            assert_eq!(status, 200, "{d}");
        }
        ready.push(code);
    }
    // Received but not processed: approving it is out of order.
    let early = counter_dossier(&app, &client, &counter, "Phan Văn Tâm").await;
    let unknown = "000.00.31.H32-270301-9999".to_owned();
    let codes = vec![
        ready[0].clone(),
        early.clone(),
        ready[1].clone(),
        unknown.clone(),
        ready[0].clone(),
    ];

    // Only those who may decide somewhere may ask.
    let (status, _) = post(
        &client,
        app.url("/api/v1/dossiers/bulk-approval"),
        &specialist,
        &json!({ "codes": codes }),
    )
    .await;
    assert_eq!(status, 403);
    let head = app.audit_head().await;
    let (status, body) = post(
        &client,
        app.url("/api/v1/dossiers/bulk-approval"),
        &leader,
        &json!({ "codes": codes }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let results: Vec<(String, bool, Option<String>)> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["code"].as_str().unwrap().to_owned(),
                r["approved"].as_bool().unwrap(),
                r["rule"]
                    .as_str()
                    .or(r["error"].as_str())
                    .map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        results,
        vec![
            (ready[0].clone(), true, None),
            (early.clone(), false, Some("dossier.out_of_order".into())),
            (ready[1].clone(), true, None),
            (unknown, false, Some("not_found".into())),
        ],
        "one outcome per distinct code, in order"
    );
    // Two decisions, two audit records; the refused ones wrote nothing.
    assert_eq!(app.audit_head().await, head + 2);
    for (code, expected) in [
        (&ready[0], "resolved"),
        (&ready[1], "resolved"),
        (&early, "received"),
    ] {
        let (_, d) = get(
            &client,
            app.url(&format!("/api/v1/dossiers/{code}")),
            &leader,
        )
        .await;
        assert_eq!(d["status"], expected, "{code}");
    }
    let (status, e) = post(
        &client,
        app.url("/api/v1/dossiers/bulk-approval"),
        &leader,
        &json!({ "codes": [] }),
    )
    .await;
    assert_eq!(
        (status, e["error"]["rule"].as_str()),
        (422, Some("bulk.count"))
    );

    // The same through the inbox page: the leader ticks a dossier and approves it.
    let another = counter_dossier(&app, &client, &counter, "Võ Thị Sen").await;
    for action in ["start_processing", "complete_step"] {
        act(
            &app,
            &client,
            &specialist,
            &another,
            json!({ "action": action }),
        )
        .await;
    }
    let browser = app.client();
    login(&app, &browser, "lanhdao", DEMO_PASSWORD).await;
    let inbox = browser
        .get(app.url("/inbox"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        inbox.contains(&format!("name=\"code\" value=\"{another}\"")),
        "a checkbox for {another}"
    );
    let r = browser
        .post(app.url("/inbox/approve"))
        .form(&[
            ("csrf_token", csrf_of(&inbox).as_str()),
            ("code", another.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("bulk-ok"), "outcome shown");
    let (_, d) = get(
        &client,
        app.url(&format!("/api/v1/dossiers/{another}")),
        &leader,
    )
    .await;
    assert_eq!(d["status"], "resolved");
    app.stop().await;
}
both!(bulk_approval_outcomes);

async fn demo_dossiers_seed_once_with_overdue(backend: Backend) {
    let app = TestApp::start(backend).await;
    // The Saturday CI first found the demo with only two late dossiers on.
    app.clock.set("2026-12-05T03:04:00+07:00");
    assert!(
        tinhso_onestop::demo_dossiers::seed(&app.platform)
            .await
            .unwrap()
    );
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM dossiers")
            .fetch_one(app.platform.db.pool())
            .await
            .unwrap()
    };
    let seeded = count().await;
    assert!(seeded >= 30, "a few dozen dossiers, got {seeded}");
    assert!(
        !tinhso_onestop::demo_dossiers::seed(&app.platform)
            .await
            .unwrap()
    );
    assert_eq!(count().await, seeded, "seeding again adds nothing");

    let client = app.client();
    let leader = token(&app, "lanhdao").await;
    let (status, inbox) = get(&client, app.url("/api/v1/dossiers"), &leader).await;
    assert_eq!(status, 200);
    let items = inbox["dossiers"].as_array().unwrap();
    let overdue_processing = items
        .iter()
        .filter(|d| d["urgency"] == "overdue" && d["status"] == "processing")
        .count();
    assert!(
        overdue_processing >= 2,
        "overdue dossiers to apologise for: {inbox}"
    );
    for status in [
        "received",
        "supplement_requested",
        "awaiting_payment",
        "resolved",
        "submitted",
    ] {
        assert!(
            items.iter().any(|d| d["status"] == status),
            "a demo dossier {status}"
        );
    }
    let (returned, late, rated): (i64, i64, i64) = (
        sqlx::query_scalar("SELECT COUNT(*) FROM dossiers WHERE status = 'returned'")
            .fetch_one(app.platform.db.pool())
            .await
            .unwrap(),
        sqlx::query_scalar("SELECT COUNT(*) FROM dossiers WHERE resolved_late = 1")
            .fetch_one(app.platform.db.pool())
            .await
            .unwrap(),
        sqlx::query_scalar("SELECT COUNT(*) FROM dossier_ratings")
            .fetch_one(app.platform.db.pool())
            .await
            .unwrap(),
    );
    assert!(
        returned >= 8 && late >= 3 && rated >= 4,
        "returned {returned}, late {late}, rated {rated}"
    );
    // Every seeded change is audited and the chain verifies.
    app.verified_audit_records().await;

    // An overdue one gets its apology through the dossier page.
    let code = items
        .iter()
        .find(|d| d["urgency"] == "overdue" && d["status"] == "processing")
        .unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let browser = app.client();
    login(&app, &browser, "chuyenvien", DEMO_PASSWORD).await;
    let page = browser
        .get(app.url(&format!("/dossiers/{code}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("action-apologize"), "the apology is offered");
    let new_due = (chrono::Utc::now() + chrono::Duration::days(3))
        .with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).unwrap())
        .format("%Y-%m-%dT10:00")
        .to_string();
    let r = browser
        .post(app.url(&format!("/dossiers/{code}/act")))
        .form(&[
            ("csrf_token", csrf_of(&page).as_str()),
            ("action", "apologize"),
            ("reason", ""),
            ("new_due", new_due.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422, "a reason is required");
    let again = r.text().await.unwrap();
    assert!(again.contains(&new_due), "the typed date is kept");
    let r = browser
        .post(app.url(&format!("/dossiers/{code}/act")))
        .form(&[
            ("csrf_token", csrf_of(&page).as_str()),
            ("action", "apologize"),
            ("reason", "Cần xác minh thêm với cơ quan khác"),
            ("new_due", new_due.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let (_, d) = get(
        &client,
        app.url(&format!("/api/v1/dossiers/{code}")),
        &leader,
    )
    .await;
    assert!(
        d["apology_due_at"]
            .as_str()
            .unwrap()
            .contains("T10:00:00+07:00"),
        "{d}"
    );
    app.stop().await;
}
both!(demo_dossiers_seed_once_with_overdue);

/// The demo is seeded relative to today, so what it shows must not depend on the weekday or on
/// a holiday just gone: on each of these dates its three late dossiers are late and overdue
/// ones wait for an apology.
async fn demo_dossiers_late_whatever_the_date(backend: Backend) {
    for today in [
        "2026-12-04T10:00:00+07:00", // Friday
        "2026-12-05T10:00:00+07:00", // Saturday
        "2026-12-07T08:05:00+07:00", // Monday, first minutes
        "2026-09-03T14:00:00+07:00", // right after National Day
        "2027-02-16T09:00:00+07:00", // after the Tết break
    ] {
        let app = TestApp::start(backend).await;
        app.clock.set(today);
        assert!(
            tinhso_onestop::demo_dossiers::seed(&app.platform)
                .await
                .unwrap()
        );
        let late: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM dossiers WHERE resolved_late = 1 AND status = 'returned'",
        )
        .fetch_one(app.platform.db.pool())
        .await
        .unwrap();
        assert_eq!(late, 3, "late demo dossiers on {today}");
        let leader = token(&app, "lanhdao").await;
        let (_, inbox) = get(&app.client(), app.url("/api/v1/dossiers"), &leader).await;
        let overdue = inbox["dossiers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["urgency"] == "overdue")
            .count();
        assert!(overdue >= 2, "overdue demo dossiers on {today}: {overdue}");
        app.stop().await;
    }
}
both!(demo_dossiers_late_whatever_the_date);

async fn counter_intake_page_creates_a_dossier(backend: Backend) {
    let app = TestApp::start(backend).await;
    let browser = app.client();
    let (status, _) = login(&app, &browser, "motcua", DEMO_PASSWORD).await;
    assert_eq!(status, 303);
    let page = browser
        .get(app.url("/counter?procedure=1.001193"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("name=\"form.") && page.contains("name=\"doc_0\""),
        "the form and the checklist"
    );
    let csrf = csrf_of(&page);
    // Half filled: each error beside its field, the other answers kept.
    let r = browser
        .post(app.url("/counter"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("procedure", "1.001193"),
            ("applicant_name", ""),
            ("applicant_id", "079200004400"),
            ("applicant_phone", "0905123456"),
            ("doc_0", "paper"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let again = r.text().await.unwrap();
    assert!(
        again.contains("id=\"applicant_name-error\""),
        "name error beside the field"
    );
    assert!(
        again.contains("id=\"doc_1-error\""),
        "missing document flagged"
    );
    assert!(
        again.contains("value=\"079200004400\"") && again.contains("value=\"0905123456\""),
        "answers kept"
    );
    assert!(
        again.contains("href=\"#applicant_name\""),
        "summary links to the field"
    );
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM dossiers")
            .fetch_one(app.platform.db.pool())
            .await
            .unwrap(),
        0
    );
    // Complete.
    let spec = tinhso_onestop::catalog::get(&app.platform, "1.001193")
        .await
        .unwrap()
        .spec;
    let mut form: Vec<(String, String)> = vec![
        ("csrf_token".into(), csrf.clone()),
        ("procedure".into(), "1.001193".into()),
        ("applicant_name".into(), "Lê Thị Hoa".into()),
        ("applicant_id".into(), "079200004400".into()),
        ("proxy_name".into(), "Lê Văn Bình".into()),
        ("proxy_id".into(), "079200001234".into()),
        (
            "proxy_authorization".into(),
            "Giấy ủy quyền số 12/2027 ngày 01/03/2027".into(),
        ),
    ];
    for (key, value) in super::support::valid_answers(&spec) {
        form.push((format!("form.{key}"), value.as_str().unwrap().to_owned()));
    }
    for i in 0..spec.required_documents.len() {
        form.push((format!("doc_{i}"), "paper".into()));
    }
    let r = browser
        .post(app.url("/counter"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let code = location
        .strip_prefix("/dossiers/")
        .and_then(|rest| rest.split('?').next())
        .unwrap()
        .to_owned();
    let page = browser
        .get(app.url(&location))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&code) && page.contains("Lê Văn Bình"),
        "the dossier page with the proxy"
    );
    assert!(
        page.contains(&format!("/api/v1/dossiers/{code}/forms/receipt")),
        "receipt link"
    );
    let receipt = browser
        .get(app.url(&format!("/api/v1/dossiers/{code}/forms/receipt")))
        .send()
        .await
        .unwrap();
    assert_eq!(receipt.status().as_u16(), 200);
    assert_eq!(receipt.headers()["content-type"], "application/pdf");
    assert!(receipt.bytes().await.unwrap().starts_with(b"%PDF-"));
    // Received by the officer who is logged in, with its audit record.
    let received_by: Option<i64> =
        sqlx::query_scalar("SELECT received_by FROM dossiers WHERE code = $1")
            .bind(&code)
            .fetch_one(app.platform.db.pool())
            .await
            .unwrap();
    let motcua = tinhso_platform::identity::user_by_username(&app.platform, "motcua")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(received_by, Some(motcua.id));
    // A citizen cannot open the officials' dossier page.
    let citizen = app.client();
    login(&app, &citizen, "001099000001", DEMO_PASSWORD).await;
    let r = citizen
        .get(app.url(&format!("/dossiers/{code}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    app.stop().await;
}
both!(counter_intake_page_creates_a_dossier);
