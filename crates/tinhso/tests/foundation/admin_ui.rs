//! Agency administration (issue 4 §5): the catalogue editor saves an edit as a new version
//! (old dossiers keep theirs), refuses an invalid edit naming the part and writing nothing,
//! works as plain HTML forms; notification templates are stored data the next notification
//! uses, with unknown placeholders refused; only provincial administrators may change either.
//! Each scenario runs on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use tinhso_web::pages::catalog_editor::Draft;

use super::onestop::{answers, get, post, put, token};
use super::support::{Backend, DEMO_PASSWORD, TestApp, csrf_of, login, paper_documents, totp_code};
use crate::both;

const PROCEDURE: &str = "1.004845";

async fn current(app: &TestApp, client: &reqwest::Client) -> Value {
    client
        .get(app.url(&format!("/api/v1/procedures/{PROCEDURE}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn file_at_counter(app: &TestApp, client: &reqwest::Client, officer: &str) -> Value {
    let spec = tinhso_onestop::catalog::get(&app.platform, PROCEDURE)
        .await
        .unwrap()
        .spec;
    let (status, dossier) = post(
        client,
        app.url("/api/v1/dossiers"),
        officer,
        &json!({
            "procedure_code": PROCEDURE, "agency_code": "000.00.31.H32", "channel": "counter",
            "documents": paper_documents(spec.required_documents.len()),
            "applicant": {"name": "Lê Văn Cường", "id_number": "079200007788", "phone": "0905333444", "email": "cuong@example.vn"},
            "form": answers(app, PROCEDURE).await,
        }),
    )
    .await;
    assert_eq!(status, 200, "{dossier}");
    dossier
}

async fn saving_makes_a_new_version(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = app.client();
    let admin = token(&app, "quantri.tinh").await;
    let officer = token(&app, "motcua").await;

    let before = current(&app, &client).await;
    assert_eq!(before["version"], 1);
    let old = file_at_counter(&app, &client, &officer).await;
    assert_eq!(old["procedure_version"], 1);

    // The administrator adds an optional field: version 2, audited once.
    let mut spec = before["spec"].clone();
    spec["form"]["fields"].as_array_mut().unwrap().push(json!({
        "key": "ghi_chu_them", "label_vi": "Ghi chú thêm", "type": "textarea", "max_length": 300
    }));
    let head = app.audit_head().await;
    let (status, saved) = put(
        &client,
        app.url(&format!("/api/v1/procedures/{PROCEDURE}")),
        &admin,
        &spec,
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["new_version"], true);
    assert_eq!(saved["procedure"]["version"], 2);
    assert_eq!(app.audit_head().await, head + 1);
    let audited: String = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE object_id = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(PROCEDURE)
    .fetch_one(app.platform.db.pool())
    .await
    .unwrap();
    assert_eq!(audited, "procedure.new_version");

    let after = current(&app, &client).await;
    assert_eq!(after["version"], 2);
    let fields = after["spec"]["form"]["fields"].as_array().unwrap();
    assert_eq!(
        fields.len(),
        spec["form"]["fields"].as_array().unwrap().len()
    );
    let added = fields.last().unwrap();
    assert_eq!(
        (
            &added["key"],
            &added["type"],
            &added["required"],
            &added["max_length"]
        ),
        (
            &json!("ghi_chu_them"),
            &json!("textarea"),
            &json!(false),
            &json!(300)
        )
    );
    assert_ne!(after["version_id"], before["version_id"]);

    // The dossier filed before keeps the version it was filed under; a new one gets v2.
    let code = old["code"].as_str().unwrap();
    let (_, reread) = get(
        &client,
        app.url(&format!("/api/v1/dossiers/{code}")),
        &officer,
    )
    .await;
    assert_eq!(reread["procedure_version"], 1);
    let version_id: i64 =
        sqlx::query_scalar("SELECT procedure_version_id FROM dossiers WHERE code = $1")
            .bind(code)
            .fetch_one(app.platform.db.pool())
            .await
            .unwrap();
    assert_eq!(Some(version_id), before["version_id"].as_i64());
    let version = tinhso_onestop::catalog::version(&app.platform, version_id)
        .await
        .unwrap();
    assert_eq!(version.version, 1);
    assert!(
        !version
            .spec
            .form
            .fields
            .iter()
            .any(|f| f.key == "ghi_chu_them")
    );
    let new = file_at_counter(&app, &client, &officer).await;
    assert_eq!(new["procedure_version"], 2);

    // Saving the same specification again writes nothing.
    let head = app.audit_head().await;
    let (status, same) = put(
        &client,
        app.url(&format!("/api/v1/procedures/{PROCEDURE}")),
        &admin,
        &spec,
    )
    .await;
    assert_eq!(
        (status, &same["new_version"]),
        (200, &json!(false)),
        "{same}"
    );
    assert_eq!(same["procedure"]["version"], 2);
    assert_eq!(app.audit_head().await, head);
    app.stop().await;
}
both!(saving_makes_a_new_version);

async fn invalid_edits_are_refused_naming_the_part(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = app.client();
    let admin = token(&app, "quantri.tinh").await;
    let base = current(&app, &client).await["spec"].clone();
    let url = app.url(&format!("/api/v1/procedures/{PROCEDURE}"));
    let head = app.audit_head().await;

    let first_key = base["form"]["fields"][0]["key"].clone();
    let mut duplicate = base.clone();
    duplicate["form"]["fields"][1]["key"] = first_key;
    let mut select = base.clone();
    select["form"]["fields"][2]["type"] = json!("select");
    select["form"]["fields"][2]["options"] = json!([]);
    let mut slow = base.clone();
    slow["process"][0]["duration_hours"] = json!(1000);
    let mut no_channel = base.clone();
    no_channel["channels"] = json!([]);
    let mut other_code = base.clone();
    other_code["code"] = json!("1.001193");
    let mut negative = base.clone();
    negative["process"][1]["duration_hours"] = json!(-1);
    for (body, rule) in [
        (&duplicate, "procedure.form_field_key"),
        (&select, "procedure.form_field_options"),
        (&slow, "procedure.processing_time"),
        (&no_channel, "procedure.channels"),
        (&other_code, "procedure.code"),
        (&negative, "procedure.step"),
    ] {
        let (status, error) = put(&client, url.clone(), &admin, body).await;
        assert_eq!(status, 422, "{rule}: {error}");
        assert_eq!(error["error"]["code"], "invalid_input");
        assert_eq!(error["error"]["rule"], rule, "{error}");
    }
    assert_eq!(app.audit_head().await, head, "nothing was written");
    assert_eq!(current(&app, &client).await["version"], 1);
    // A body that is not a specification at all.
    let (status, _) = put(&client, url.clone(), &admin, &json!({"code": PROCEDURE})).await;
    assert_eq!(status, 422);
    // An unknown procedure is not created by the editor.
    let mut unknown = base.clone();
    unknown["code"] = json!("9.999999");
    let (status, _) = put(
        &client,
        app.url("/api/v1/procedures/9.999999"),
        &admin,
        &unknown,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(app.audit_head().await, head);
    app.stop().await;
}
both!(invalid_edits_are_refused_naming_the_part);

async fn only_provincial_administrators_change_the_catalogue_and_templates(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = app.client();
    let spec = current(&app, &client).await["spec"].clone();
    let template =
        json!({"subject": "Hồ sơ {code}", "body": "Hồ sơ {code} đã nhận.", "sms": "Ho so {code}"});
    let mut callers = Vec::new();
    for username in [
        "quantri.so",
        "chuyenvien",
        "lanhdao",
        "motcua",
        "001099000001",
    ] {
        callers.push((username, token(&app, username).await));
    }
    let head = app.audit_head().await;
    for (username, bearer) in &callers {
        let bearer = bearer.as_str();
        let (status, body) = put(
            &client,
            app.url(&format!("/api/v1/procedures/{PROCEDURE}")),
            bearer,
            &spec,
        )
        .await;
        assert_eq!(status, 403, "{username}: {body}");
        let (status, _) = put(
            &client,
            app.url("/api/v1/notification-templates/received"),
            bearer,
            &template,
        )
        .await;
        assert_eq!(status, 403, "{username}");
        let (status, _) = get(&client, app.url("/api/v1/notification-templates"), bearer).await;
        assert_eq!(status, 403, "{username}");
        let r = client
            .post(app.url("/api/v1/catalog/import"))
            .bearer_auth(bearer)
            .body(r#"{"version": 1, "procedures": []}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 403, "{username}");
    }
    let anonymous = client
        .put(app.url(&format!("/api/v1/procedures/{PROCEDURE}")))
        .json(&spec)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    assert_eq!(
        app.audit_head().await,
        head,
        "no refused call wrote anything"
    );

    // The pages: a specialist is refused, an anonymous visitor sent to log in.
    let browser = app.client();
    assert_eq!(
        browser
            .get(app.url("/admin/procedures"))
            .send()
            .await
            .unwrap()
            .headers()["location"],
        "/login"
    );
    let (status, _) = login(&app, &browser, "chuyenvien", DEMO_PASSWORD).await;
    assert_eq!(status, 303);
    for path in [
        "/admin/procedures",
        "/admin/procedures/1.004845",
        "/admin/templates",
    ] {
        let r = browser.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 403, "{path}");
    }
    // The provincial administrator may, and the export is the import format.
    let admin = token(&app, "quantri.tinh").await;
    let (status, templates) = get(&client, app.url("/api/v1/notification-templates"), &admin).await;
    assert_eq!(status, 200);
    assert_eq!(
        templates["templates"].as_array().unwrap().len(),
        tinhso_onestop::domain::notification_templates::DEFAULTS.len()
    );
    let mut exported: Value = client
        .get(app.url("/api/v1/catalog/export"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let procedures = exported["procedures"].as_array_mut().unwrap();
    assert_eq!(procedures.len(), 39);
    // (One procedure back: the tests' body limit is 64 KiB, smaller than the whole file.)
    procedures.retain(|p| p["code"] == PROCEDURE);
    let r = client
        .post(app.url("/api/v1/catalog/import"))
        .bearer_auth(&admin)
        .body(exported.to_string())
        .send()
        .await
        .unwrap();
    let report: Value = r.json().await.unwrap();
    assert_eq!(
        (&report["unchanged"], &report["new_versions"]),
        (&json!(1), &json!(0)),
        "{report}"
    );
    app.stop().await;
}
both!(only_provincial_administrators_change_the_catalogue_and_templates);

async fn the_next_notification_uses_the_changed_template(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = app.client();
    let admin = token(&app, "quantri.tinh").await;
    let officer = token(&app, "motcua").await;
    let url = app.url("/api/v1/notification-templates/received");

    // An unknown placeholder is refused, named, and nothing is written.
    let head = app.audit_head().await;
    let (status, error) = put(
        &client,
        url.clone(),
        &admin,
        &json!({"subject": "Hồ sơ {code}", "body": "Kính gửi {ho_ten}: hồ sơ {code}.", "sms": "Ho so {code}"}),
    )
    .await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"]["rule"], "template.unknown_placeholder");
    assert!(
        error["error"]["detail"]
            .as_str()
            .unwrap()
            .contains("{ho_ten}"),
        "{error}"
    );
    let (status, error) = put(
        &client,
        url.clone(),
        &admin,
        &json!({"subject": "Hồ sơ {code", "body": "x", "sms": "y"}),
    )
    .await;
    assert_eq!(
        (status, &error["error"]["rule"]),
        (422, &json!("template.brace"))
    );
    assert_eq!(app.audit_head().await, head);

    // A valid change: stored, audited, and what the next receipt notification says.
    let changed = json!({
        "subject": "Đã tiếp nhận hồ sơ {code}",
        "body": "Kính gửi ông/bà, hồ sơ {code} đã được tiếp nhận; hẹn trả kết quả {due}.",
        "sms": "Ho so {code} da tiep nhan, hen tra {due}"
    });
    let (status, stored) = put(&client, url.clone(), &admin, &changed).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["customised"], true);
    assert_eq!(app.audit_head().await, head + 1);
    let (_, read) = get(&client, url.clone(), &admin).await;
    assert_eq!(read["sms"], changed["sms"]);

    let dossier = file_at_counter(&app, &client, &officer).await;
    let code = dossier["code"].as_str().unwrap();
    let payloads: Vec<String> = sqlx::query_scalar(
        "SELECT payload_json FROM outbox WHERE topic = 'citizen_notification' AND payload_json LIKE $1 ORDER BY id",
    )
    .bind(format!("%{code}%"))
    .fetch_all(app.platform.db.pool())
    .await
    .unwrap();
    let payloads: Vec<Value> = payloads
        .iter()
        .map(|p| serde_json::from_str(p).unwrap())
        .collect();
    let email = payloads.iter().find(|p| p["channel"] == "email").unwrap();
    let sms = payloads.iter().find(|p| p["channel"] == "sms").unwrap();
    assert_eq!(email["subject"], format!("Đã tiếp nhận hồ sơ {code}"));
    let body = email["body"].as_str().unwrap();
    assert!(
        body.starts_with(&format!(
            "Kính gửi ông/bà, hồ sơ {code} đã được tiếp nhận; hẹn trả kết quả "
        )) && body.contains(" ngày "),
        "{body}"
    );
    let text = sms["body"].as_str().unwrap();
    assert!(
        text.starts_with(&format!("Ho so {code} da tiep nhan, hen tra ")),
        "{text}"
    );

    // Saving the shipped text again restores the default (and the default is what is sent).
    let default = tinhso_onestop::domain::notification_templates::default_of("received").unwrap();
    let (status, restored) = put(
        &client,
        url.clone(),
        &admin,
        &json!({"subject": default.subject, "body": default.body, "sms": default.body}),
    )
    .await;
    assert_eq!((status, &restored["customised"]), (200, &json!(false)));
    let again = file_at_counter(&app, &client, &officer).await;
    let code = again["code"].as_str().unwrap();
    let subject: String = sqlx::query_scalar(
        "SELECT payload_json FROM outbox WHERE topic = 'citizen_notification' AND payload_json LIKE $1 ORDER BY id LIMIT 1",
    )
    .bind(format!("%{code}%"))
    .fetch_one(app.platform.db.pool())
    .await
    .unwrap();
    let subject: Value = serde_json::from_str(&subject).unwrap();
    assert_eq!(
        subject["subject"],
        format!("Hồ sơ {code} đã được tiếp nhận")
    );
    app.stop().await;
}
both!(the_next_notification_uses_the_changed_template);

/// Logs the demo provincial administrator in through the pages, enrolling TOTP.
async fn admin_browser(app: &TestApp) -> reqwest::Client {
    let browser = app.client();
    let (status, location) = login(app, &browser, "quantri.tinh", DEMO_PASSWORD).await;
    assert_eq!((status, location.as_str()), (303, "/account/totp"));
    let page = browser
        .get(app.url("/account/totp"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "<code class=\"secret\">";
    let start = page.find(marker).unwrap() + marker.len();
    let secret = &page[start..start + page[start..].find('<').unwrap()];
    let r = browser
        .post(app.url("/account/totp"))
        .form(&[
            ("csrf_token", csrf_of(&page).as_str()),
            ("code", totp_code(secret, 0).as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    browser
}

async fn the_editor_works_as_plain_forms(backend: Backend) {
    let app = TestApp::start(backend).await;
    let browser = admin_browser(&app).await;
    let page_url = app.url(&format!("/admin/procedures/{PROCEDURE}"));
    let page = browser.get(&page_url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    let csrf = csrf_of(&html);
    assert!(
        html.contains("name=\"fields[0].key\""),
        "indexed row inputs"
    );

    let spec = tinhso_onestop::catalog::get(&app.platform, PROCEDURE)
        .await
        .unwrap()
        .spec;
    let n = spec.form.fields.len();
    let draft = Draft::from_spec(&spec);
    let submit = |mut form: Vec<(String, String)>, op: &str| {
        form.push(("csrf_token".into(), csrf.clone()));
        form.push(("op".into(), op.into()));
        browser.post(&page_url).form(&form).send()
    };

    // "Add a field" shows one more row and keeps what was typed elsewhere.
    let mut typed = draft.to_posted();
    for (name, value) in &mut typed {
        if name == "notes" {
            *value = "Ghi chú chưa lưu".into();
        }
    }
    let r = submit(typed.clone(), "add:fields").await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains(&format!("name=\"fields[{n}].key\"")));
    assert!(html.contains("Ghi chú chưa lưu"));

    // A bad key in the new row: 422, the message beside that row's key, nothing saved.
    typed.extend([
        (format!("fields[{n}].key"), "Ghi Chu".to_owned()),
        (format!("fields[{n}].label_vi"), "Ghi chú thêm".to_owned()),
        (format!("fields[{n}].type"), "text".to_owned()),
    ]);
    let head = app.audit_head().await;
    let r = submit(typed.clone(), "save").await.unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!("id=\"ed-fields-{n}-key-error\"")),
        "{html}"
    );
    assert!(html.contains(&format!("href=\"#ed-fields-{n}-key\"")));
    assert!(html.contains("value=\"Ghi Chu\""), "the typed key is kept");
    assert_eq!(app.audit_head().await, head);

    // A step duration that is not a number is named beside the step.
    let mut bad_hours = typed.clone();
    for (name, value) in &mut bad_hours {
        if name == "steps[0].duration_hours" {
            *value = "hai giờ".into();
        }
    }
    let r = submit(bad_hours, "save").await.unwrap();
    assert_eq!(r.status().as_u16(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("id=\"ed-steps-0-duration_hours-error\"")
    );

    // Preview: the new field rendered by the citizen's form renderer; nothing saved.
    for (name, value) in &mut typed {
        if name == &format!("fields[{n}].key") {
            *value = "ghi_chu_them".into();
        }
    }
    let r = submit(typed.clone(), "preview").await.unwrap();
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"field-ghi_chu_them\""),
        "preview: {html}"
    );
    assert!(html.contains("name=\"preview.ghi_chu_them\""));
    assert_eq!(app.audit_head().await, head);

    // Save: a redirect to the editor with the new version; the note was saved too.
    let r = submit(typed, "save").await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        r.headers()["location"],
        format!("/admin/procedures/{PROCEDURE}?saved=2").as_str()
    );
    let saved = tinhso_onestop::catalog::get(&app.platform, PROCEDURE)
        .await
        .unwrap();
    assert_eq!(saved.version, 2);
    assert_eq!(saved.spec.notes, "Ghi chú chưa lưu");
    assert_eq!(saved.spec.form.fields[n].key, "ghi_chu_them");
    assert!(!saved.spec.form.fields[n].required);

    // Without the CSRF token nothing happens.
    let r = browser
        .post(&page_url)
        .form(&[("op", "save"), ("name", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);

    // The template page refuses an unknown placeholder beside its text, naming it.
    let tpl_url = app.url("/admin/templates/received");
    let html = browser
        .get(&tpl_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = browser
        .post(&tpl_url)
        .form(&[
            ("csrf_token", csrf_of(&html).as_str()),
            ("subject", "Hồ sơ {code}"),
            ("body", "Hồ sơ {code}, hẹn {due}"),
            ("sms", "Ho so {code} cua {ho_ten}"),
            ("op", "save"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"tpl-sms-error\""));
    assert!(html.contains("{ho_ten}"));
    app.stop().await;
}
both!(the_editor_works_as_plain_forms);

async fn users_roles_and_the_calendar_of_the_year(backend: Backend) {
    let app = TestApp::start(backend).await;
    let browser = admin_browser(&app).await;
    let users = app.url("/admin/users");
    let html = browser
        .get(&users)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&html);
    assert!(html.contains("action=\"/admin/users/roles\""));

    // Create an official, grant a second role, revoke it: each audited.
    let r = browser
        .post(&users)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", "canbo.moi"),
            ("display_name", "Cán bộ mới"),
            ("agency_code", "000.00.31.H32"),
            ("role", "specialist"),
            ("password", "a-long-initial-password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let roles = app.url("/admin/users/roles");
    let change = |op: &'static str, role: &'static str| {
        browser
            .post(&roles)
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("op", op),
                ("username", "canbo.moi"),
                ("role", role),
                ("agency_code", "000.00.31.H32"),
            ])
            .send()
    };
    let user = tinhso_platform::identity::user_by_username(&app.platform, "canbo.moi")
        .await
        .unwrap()
        .unwrap();
    let held = |app: &TestApp| {
        let user = user.clone();
        let platform = app.platform.clone();
        async move {
            let mut roles: Vec<&'static str> =
                tinhso_platform::identity::principal_for(&platform, &user)
                    .await
                    .unwrap()
                    .grants
                    .iter()
                    .map(|g| g.role.as_str())
                    .collect();
            roles.sort_unstable();
            roles
        }
    };
    let head = app.audit_head().await;
    let r = change("grant", "leader").await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("value=\"leader\""));
    assert_eq!(held(&app).await, vec!["leader", "specialist"]);
    let r = change("revoke", "leader").await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(held(&app).await, vec!["specialist"]);
    assert_eq!(app.audit_head().await, head + 2);
    // Revoking what is not held is refused on the page, nothing written.
    let r = change("revoke", "leader").await.unwrap();
    assert_eq!(r.status().as_u16(), 422);
    assert_eq!(app.audit_head().await, head + 2);

    // The calendar: the provincial administrator stores 2031's swapped days.
    let calendar = browser
        .get(app.url("/calendar?year=2031"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(calendar.contains("action=\"/admin/calendar/schedule\""));
    let r = browser
        .post(app.url("/admin/calendar/schedule"))
        .form(&[
            ("csrf_token", csrf_of(&calendar).as_str()),
            ("year", "2031"),
            ("days_off", "02/05/2031 — Nghỉ bù | Swapped day off"),
            ("working_days", "10/05/2031 - Làm bù cho 02/05"),
            ("replaces", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let off = tinhso_platform::calendar::holidays(&app.platform, 2031)
        .await
        .unwrap();
    assert!(
        off.iter()
            .any(|d| d.date.to_string() == "2031-05-02" && d.name_en == "Swapped day off"),
        "{off:?}"
    );
    let shown = browser
        .get(app.url("/calendar?year=2031"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(shown.contains("10/05/2031 — Làm bù cho 02/05"), "{shown}");
    // A malformed line is refused beside the form, with the line quoted.
    let r = browser
        .post(app.url("/admin/calendar/schedule"))
        .form(&[
            ("csrf_token", csrf_of(&calendar).as_str()),
            ("year", "2031"),
            ("days_off", "ngày 2 tháng 5 — Nghỉ"),
            ("working_days", ""),
            ("replaces", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("ngày 2 tháng 5"));

    // A specialist sees the calendar without the editor and cannot post it.
    let specialist = app.client();
    login(&app, &specialist, "chuyenvien", DEMO_PASSWORD).await;
    let page = specialist
        .get(app.url("/calendar"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("/admin/calendar/schedule"));
    let r = specialist
        .post(app.url("/admin/calendar/schedule"))
        .form(&[
            ("csrf_token", csrf_of(&page).as_str()),
            ("year", "2031"),
            ("days_off", ""),
            ("working_days", ""),
            ("replaces", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(
        tinhso_platform::calendar::holidays(&app.platform, 2031)
            .await
            .unwrap(),
        off,
        "the refused post changed nothing"
    );
    app.stop().await;
}
both!(users_roles_and_the_calendar_of_the_year);

async fn the_list_page_imports_and_exports(backend: Backend) {
    let app = TestApp::start(backend).await;
    let browser = admin_browser(&app).await;
    let html = browser
        .get(app.url("/admin/procedures?q=cham+dut+giam+ho"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("href=\"/admin/procedures/{PROCEDURE}\"")));
    assert!(
        !html.contains("href=\"/admin/procedures/1.001193\""),
        "the search narrows"
    );
    let csrf = csrf_of(&html);

    // Export: the import format, as a download; the xlsx is a zip.
    let json = browser
        .get(app.url("/admin/procedures/export?format=json"))
        .send()
        .await
        .unwrap();
    assert!(
        json.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("thu-tuc.json")
    );
    let mut file: Value = json.json().await.unwrap();
    let xlsx = browser
        .get(app.url("/admin/procedures/export?format=xlsx"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(xlsx.starts_with(b"PK\x03\x04"));

    // Import one changed procedure through the file input (multipart/form-data).
    let procedures = file["procedures"].as_array_mut().unwrap();
    procedures.retain(|p| p["code"] == PROCEDURE);
    procedures[0]["notes"] = json!("Ghi chú từ tệp nhập");
    let boundary = "tinhso-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"thu-tuc.json\"\r\nContent-Type: application/json\r\n\r\n"
    )
    .into_bytes();
    body.extend(file.to_string().into_bytes());
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    let multipart = |body: Vec<u8>| {
        browser
            .post(app.url("/admin/procedures/import"))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
    };
    let r = multipart(body.clone()).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("Đã nhập danh mục."));
    let stored = tinhso_onestop::catalog::get(&app.platform, PROCEDURE)
        .await
        .unwrap();
    assert_eq!(
        (stored.version, stored.spec.notes.as_str()),
        (2, "Ghi chú từ tệp nhập")
    );

    // A file that is not a catalogue: refused on the page, nothing written.
    let head = app.audit_head().await;
    let bad = String::from_utf8(body)
        .unwrap()
        .replace(&file.to_string(), "không phải JSON")
        .into_bytes();
    let r = multipart(bad).await.unwrap();
    assert_eq!(r.status().as_u16(), 422);
    assert_eq!(app.audit_head().await, head);
    app.stop().await;
}
both!(the_list_page_imports_and_exports);
