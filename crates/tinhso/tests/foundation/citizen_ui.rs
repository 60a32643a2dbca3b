//! Citizen area (issue 4 §2) over real HTTP, on SQLite and PostgreSQL: the application
//! wizard keeps answers beside their errors, a draft submitted twice at once (double click,
//! re-post, API) makes one dossier, answers posted after the session ended come back after
//! login, and nobody else reads a citizen's draft or dossier page.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};

use super::onestop::{answers, get, put, token};
use super::support::WriteBehind;
use super::support::{Backend, DEMO_PASSWORD, TestApp, csrf_of, page, upload_documents};
use crate::both;

const PROCEDURE: &str = "1.001193";
const AGENCY: &str = "000.00.31.H32";
const CITIZEN: &str = "001099000001";

/// Logs in through the real form, with a return path.
async fn login_to(app: &TestApp, client: &reqwest::Client, next: &str) -> String {
    let page = client
        .get(app.url(&format!("/login?next={}", urlencode(next))))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("name=\"next\""),
        "the login form carries the return path"
    );
    let response = client
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf_of(&page).as_str()),
            ("username", CITIZEN),
            ("password", DEMO_PASSWORD),
            ("next", next),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    response.headers()["location"].to_str().unwrap().to_owned()
}

fn urlencode(s: &str) -> String {
    s.replace('%', "%25")
        .replace('/', "%2F")
        .replace('?', "%3F")
        .replace('=', "%3D")
        .replace('&', "%26")
}

async fn open_draft(app: &TestApp, client: &reqwest::Client, bearer: &str) -> Value {
    let (status, draft) = super::onestop::post(
        client,
        app.url("/api/v1/drafts"),
        bearer,
        &json!({ "procedure_code": PROCEDURE }),
    )
    .await;
    assert_eq!(status, 200, "{draft}");
    draft
}

async fn my_codes(app: &TestApp, client: &reqwest::Client, bearer: &str) -> Vec<String> {
    let (status, mine) = get(client, app.url("/api/v1/me/dossiers"), bearer).await;
    assert_eq!(status, 200);
    mine["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

async fn wizard_keeps_answers_and_submits_once(backend: Backend) {
    let app = TestApp::start(backend).await;
    let browser = app.client();
    let http = reqwest::Client::new();
    let citizen = token(&app, CITIZEN).await;
    let apply = format!("/apply/{PROCEDURE}?step=1");
    assert_eq!(login_to(&app, &browser, &apply).await, apply);
    let (status, html) = page(&browser, app.url(&apply)).await;
    assert_eq!(status, 200);
    let csrf = csrf_of(&html);
    let spec = tinhso_onestop::catalog::get(&app.platform, PROCEDURE)
        .await
        .unwrap()
        .spec;
    let first = &spec.form.fields[0];
    let second = &spec.form.fields[1];
    assert!(first.required && second.required, "{first:?} {second:?}");

    // Half-filled: the answer given is kept, the missing one is named beside its field.
    let response = browser
        .post(app.url(&format!("/apply/{PROCEDURE}")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("step", "1"),
            ("action", "next"),
            ("agency", AGENCY),
            (&format!("form.{}", first.key), "Nguyễn Thị Bình"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("value=\"Nguyễn Thị Bình\""), "answer kept");
    assert!(
        html.contains(&format!("id=\"field-{}-error\"", second.key)),
        "error beside the missing field"
    );
    assert!(
        html.contains(&format!("href=\"#field-{}\"", second.key)),
        "summary links to the field"
    );
    assert!(
        !html.contains(&format!("id=\"field-{}-error\"", first.key)),
        "no error on the answered field"
    );

    // The same draft through the API: the invalid page was saved too.
    let draft = open_draft(&app, &http, &citizen).await;
    let id = draft["id"].as_i64().unwrap();
    assert_eq!(draft["answers"][&first.key], "Nguyễn Thị Bình");
    assert_eq!(draft["agency_code"], AGENCY);

    // Complete it: answers, and one upload per required document.
    let documents: Vec<Value> = upload_documents(&app, &http, &citizen, 3)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|d| json!({ "requirement": d["requirement"], "upload_id": d["upload_id"], "filename": "giay-to.pdf" }))
        .collect();
    let (status, saved) = put(
        &http,
        app.url(&format!("/api/v1/drafts/{id}")),
        &citizen,
        &json!({ "answers": answers(&app, PROCEDURE).await, "documents": documents, "step": "review" }),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    let (status, html) = page(
        &browser,
        app.url(&format!("/apply/{PROCEDURE}?step=review")),
    )
    .await;
    assert_eq!(status, 200);
    assert!(!html.contains("class=\"tag\""), "nothing missing on review");

    // A double click: two submissions of the review at once → one dossier.
    let before = my_codes(&app, &http, &citizen).await.len();
    let draft_id = id.to_string();
    let submit = || {
        browser
            .post(app.url(&format!("/apply/{PROCEDURE}")))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("step", "review"),
                ("action", "submit"),
                ("draft", draft_id.as_str()),
            ])
            .send()
    };
    let (a, b) = tokio::join!(submit(), submit());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (303, 303));
    let location = |r: &reqwest::Response| {
        r.headers()
            .get("location")
            .unwrap_or_else(|| panic!("no location: {:?}", r.headers()))
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(location(&a), location(&b), "both go to the same dossier");
    let codes = my_codes(&app, &http, &citizen).await;
    assert_eq!(codes.len(), before + 1, "exactly one dossier: {codes:?}");
    let code = codes[0].clone();
    assert_eq!(location(&a), format!("/my/dossiers/{code}/confirmation"));

    // A re-post of the page and the API twin return the same dossier.
    let again = submit().await.unwrap();
    assert_eq!(location(&again), location(&a));
    let (status, api) = super::onestop::post(
        &http,
        app.url(&format!("/api/v1/drafts/{id}/submit")),
        &citizen,
        &json!({}),
    )
    .await;
    assert_eq!((status, api["code"].as_str()), (200, Some(code.as_str())));
    assert_eq!(my_codes(&app, &http, &citizen).await.len(), before + 1);
    // A submitted draft is not changed any more; the next application opens a new one.
    let (status, refused) = put(
        &http,
        app.url(&format!("/api/v1/drafts/{id}")),
        &citizen,
        &json!({ "step": "1" }),
    )
    .await;
    assert_eq!(
        (status, refused["error"]["rule"].as_str()),
        (409, Some("draft.submitted"))
    );
    assert_ne!(
        open_draft(&app, &http, &citizen).await["id"].as_i64(),
        Some(id)
    );

    // The confirmation and the dossier page belong to the applicant.
    let (status, html) = page(
        &browser,
        app.url(&format!("/my/dossiers/{code}/confirmation")),
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains(&code));
    let (status, html) = page(&browser, app.url(&format!("/my/dossiers/{code}"))).await;
    assert_eq!(status, 200);
    assert!(html.contains("Chờ tiếp nhận"), "status in plain Vietnamese");
    let (status, list) = page(&browser, app.url("/my/dossiers")).await;
    assert_eq!(status, 200);
    assert!(list.contains(&code));
    assert!(
        !list.contains("Hồ sơ đang soạn"),
        "the new, empty draft is not listed as in progress"
    );

    // The audit trail holds the draft's life and the filing.
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE object_type = 'draft' AND object_id = $1 ORDER BY seq",
    )
    .bind(id.to_string())
    .fetch_all(app.platform.db.pool())
    .await
    .unwrap();
    assert_eq!(actions.first().map(String::as_str), Some("draft.create"));
    assert_eq!(
        actions.iter().filter(|a| *a == "draft.submit").count(),
        1,
        "{actions:?}"
    );
    app.stop().await;
}
both!(wizard_keeps_answers_and_submits_once);

async fn answers_survive_an_expired_session(backend: Backend) {
    let app = TestApp::start(backend).await;
    let browser = app.client();
    let apply = format!("/apply/{PROCEDURE}?step=1");
    login_to(&app, &browser, &apply).await;
    let (_, html) = page(&browser, app.url(&apply)).await;
    let csrf = csrf_of(&html);
    let spec = tinhso_onestop::catalog::get(&app.platform, PROCEDURE)
        .await
        .unwrap()
        .spec;
    let key = spec.form.fields[0].key.clone();

    // The session ends (every session of the account is revoked) while the form is open.
    sqlx::query("DELETE FROM sessions")
        .write_behind(&app.platform.db)
        .await
        .unwrap();
    let response = browser
        .post(app.url(&format!("/apply/{PROCEDURE}")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("step", "1"),
            ("action", "next"),
            (&format!("form.{key}"), "Trần Văn Giữ Lại"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    let to_login = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(to_login.starts_with("/login?next="), "{to_login}");
    assert!(
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("tinhso_pending=")),
        "the answers are kept under a cookie token"
    );
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM citizen_pending_answers")
        .fetch_one(app.platform.db.pool())
        .await
        .unwrap();
    assert_eq!(pending, 1);

    // After logging in, the same step shows what was typed, and the draft holds it.
    let back = login_to(&app, &browser, &apply).await;
    assert_eq!(back, apply);
    let (status, html) = page(&browser, app.url(&back)).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("value=\"Trần Văn Giữ Lại\""),
        "answer restored"
    );
    assert!(html.contains("được giữ lại"), "the citizen is told");
    let citizen = token(&app, CITIZEN).await;
    let draft = open_draft(&app, &reqwest::Client::new(), &citizen).await;
    assert_eq!(draft["answers"][&key], "Trần Văn Giữ Lại");
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM citizen_pending_answers")
        .fetch_one(app.platform.db.pool())
        .await
        .unwrap();
    assert_eq!(pending, 0, "merged once, then forgotten");
    let (status, list) = page(&browser, app.url("/my/dossiers")).await;
    assert_eq!(status, 200);
    assert!(
        list.contains("Hồ sơ đang soạn") && list.contains(&format!("href=\"/apply/{PROCEDURE}\"")),
        "the draft in progress is listed with a link to resume it"
    );
    app.stop().await;
}
both!(answers_survive_an_expired_session);

async fn drafts_and_dossier_pages_are_private(backend: Backend) {
    let app = TestApp::start(backend).await;
    let http = reqwest::Client::new();
    let citizen = token(&app, CITIZEN).await;
    let draft = open_draft(&app, &http, &citizen).await;
    let id = draft["id"].as_i64().unwrap();
    // File a dossier through the draft.
    let documents: Vec<Value> = upload_documents(&app, &http, &citizen, 3)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|d| json!({ "requirement": d["requirement"], "upload_id": d["upload_id"] }))
        .collect();
    let (status, _) = put(
        &http,
        app.url(&format!("/api/v1/drafts/{id}")),
        &citizen,
        &json!({ "answers": answers(&app, PROCEDURE).await, "agency_code": AGENCY, "documents": documents }),
    )
    .await;
    assert_eq!(status, 200);
    let (status, filed) = super::onestop::post(
        &http,
        app.url(&format!("/api/v1/drafts/{id}/submit")),
        &citizen,
        &json!({}),
    )
    .await;
    assert_eq!(status, 200, "{filed}");
    let code = filed["code"].as_str().unwrap().to_owned();
    let other_draft = open_draft(&app, &http, &citizen).await["id"]
        .as_i64()
        .unwrap();

    // Another citizen.
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
            password: Some(DEMO_PASSWORD.into()),
            must_change_password: false,
        },
    )
    .await
    .unwrap();
    let stranger_token = tinhso_platform::identity::create_api_token(
        &app.platform,
        &app.ctx(),
        stranger.id,
        "test",
        &tinhso_core::access::Action::ALL,
        30,
    )
    .await
    .unwrap()
    .1;
    let (status, _) = get(
        &http,
        app.url(&format!("/api/v1/drafts/{other_draft}")),
        &stranger_token,
    )
    .await;
    assert_eq!(status, 404, "another's draft does not exist for them");
    let (status, _) = put(
        &http,
        app.url(&format!("/api/v1/drafts/{other_draft}")),
        &stranger_token,
        &json!({ "step": "2" }),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = super::onestop::post(
        &http,
        app.url(&format!("/api/v1/drafts/{other_draft}/submit")),
        &stranger_token,
        &json!({}),
    )
    .await;
    assert_eq!(status, 404);
    // An official is no citizen: no drafts.
    let specialist = token(&app, "chuyenvien").await;
    let (status, _) = get(
        &http,
        app.url(&format!("/api/v1/drafts/{other_draft}")),
        &specialist,
    )
    .await;
    assert_eq!(status, 403);

    // The stranger's browser: the dossier page and the confirmation are "not found".
    let browser = app.client();
    let login = browser
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let response = browser
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf_of(&login).as_str()),
            ("username", "079200007777"),
            ("password", DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    for path in [
        format!("/my/dossiers/{code}"),
        format!("/my/dossiers/{code}/confirmation"),
    ] {
        let (status, html) = page(&browser, app.url(&path)).await;
        assert_eq!(status, 404, "{path}");
        assert!(
            !html.contains(&code) || html.contains("Không tìm thấy"),
            "{path}"
        );
    }
    let (status, html) = page(&browser, app.url("/my/dossiers")).await;
    assert_eq!(status, 200);
    assert!(!html.contains(&code), "not in the stranger's list");
    let (status, notes) = get(&http, app.url("/api/v1/me/notifications"), &stranger_token).await;
    assert_eq!(
        (status, notes["notifications"].as_array().map(Vec::len)),
        (200, Some(0))
    );
    // The owner's notifications: the filing's e-mail and SMS.
    let (status, notes) = get(&http, app.url("/api/v1/me/notifications"), &citizen).await;
    assert_eq!(status, 200);
    let list = notes["notifications"].as_array().unwrap();
    assert!(
        list.iter()
            .any(|n| n["dossier_code"] == code.as_str() && n["channel"] == "email"),
        "{notes}"
    );
    app.stop().await;
}
both!(drafts_and_dossier_pages_are_private);
