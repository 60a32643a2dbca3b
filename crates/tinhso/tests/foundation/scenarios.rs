//! Foundation scenarios, each on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use std::process::Command;

use super::support::WriteBehind;
use super::support::{
    Backend, DEMO_PASSWORD, TestApp, csrf_of, login, page, test_config, totp_code,
};
use crate::both;

// ------------------------------------------------------------------ login, lockout, CSRF

async fn login_lockout_and_reset(backend: Backend) {
    let app = TestApp::start(backend).await;
    let browser = app.client();
    let (status, html) = page(&browser, app.url("/login")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<html lang=\"vi\">") && html.contains("Đăng nhập"),
        "{html}"
    );

    // A wrong password: generic message, no hint whether the account exists.
    let (status, body) = login(&app, &browser, "chuyenvien", "wrong-password-1").await;
    assert_eq!(status, 401);
    assert!(body.contains("Tên đăng nhập hoặc mật khẩu không đúng"));
    let (status_unknown, body_unknown) =
        login(&app, &browser, "nobody-here", "wrong-password-1").await;
    assert_eq!(status_unknown, 401);
    assert!(body_unknown.contains("Tên đăng nhập hoặc mật khẩu không đúng"));

    // Five failures lock the account; then even the right password is refused.
    for _ in 0..4 {
        login(&app, &browser, "chuyenvien", "wrong-password-1").await;
    }
    let (status, body) = login(&app, &browser, "chuyenvien", DEMO_PASSWORD).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("tạm khóa"));

    // An administrator's reset lifts the lockout.
    let user = tinhso_platform::identity::user_by_username(&app.platform, "chuyenvien")
        .await
        .unwrap()
        .unwrap();
    tinhso_platform::identity::reset_password(
        &app.platform,
        &app.ctx(),
        user.id,
        "a-new-password-42",
        true,
    )
    .await
    .unwrap();
    let (status, location) = login(&app, &browser, "chuyenvien", "a-new-password-42").await;
    assert_eq!((status, location.as_str()), (303, "/"));
    let (_, home) = page(&browser, app.url("/")).await;
    assert!(home.contains("Đăng xuất") && home.contains("Nguyễn Thị Hoa"));

    // A form posted without its CSRF token is refused and changes nothing.
    let head = app.audit_head().await;
    let refused = browser
        .post(app.url("/logout"))
        .form(&[("csrf_token", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    assert_eq!(app.audit_head().await, head);
    let (_, still_home) = page(&browser, app.url("/")).await;
    assert!(still_home.contains("Đăng xuất"));

    // Changing one's own password needs the current one.
    let (_, account) = page(&browser, app.url("/account")).await;
    let change = |current: &'static str| {
        let browser = browser.clone();
        let url = app.url("/account/password");
        let token = csrf_of(&account);
        async move {
            let r = browser
                .post(url)
                .form(&[
                    ("csrf_token", token.as_str()),
                    ("current_password", current),
                    ("new_password", "a-new-password-42"),
                ])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, html) = change("not-the-password").await;
    assert_eq!(status, 422);
    assert!(html.contains("không đúng"), "{html}");
    let (status, html) = change("a-new-password-42").await;
    assert_eq!(status, 200);
    assert!(html.contains("Đã đổi mật khẩu"), "{html}");

    // "Log out everywhere" ends the other browser's session too.
    let other = app.client();
    assert_eq!(
        login(&app, &other, "chuyenvien", "a-new-password-42")
            .await
            .0,
        303
    );
    let (_, account) = page(&browser, app.url("/account")).await;
    let done = browser
        .post(app.url("/logout/all"))
        .form(&[("csrf_token", csrf_of(&account).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status().as_u16(), 303);
    let (_, other_home) = page(&other, app.url("/")).await;
    assert!(
        !other_home.contains("Đăng xuất"),
        "the other session survived"
    );
    app.stop().await;
}
both!(login_lockout_and_reset);

// ------------------------------------------------------------------ TOTP for administrators

async fn admins_must_enrol_totp(backend: Backend) {
    let app = TestApp::start(backend).await;
    let browser = app.client();
    let (status, next) = login(&app, &browser, "quantri.tinh", DEMO_PASSWORD).await;
    assert_eq!((status, next.as_str()), (303, "/account/totp"));
    // Until enrolled, every page leads back to enrolment and the API refuses.
    let home = browser.get(app.url("/admin/users")).send().await.unwrap();
    assert_eq!(home.headers()["location"], "/account/totp");
    let api = browser.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(api.status().as_u16(), 403);
    assert_eq!(
        api.json::<Value>().await.unwrap()["error"]["code"],
        "totp_required"
    );

    let (_, enrol) = page(&browser, app.url("/account/totp")).await;
    assert!(enrol.contains("<svg"), "QR code missing");
    let secret = secret_on(&enrol);
    let wrong = post_code(&browser, app.url("/account/totp"), &enrol, "000000").await;
    assert_eq!(wrong.status().as_u16(), 422);
    let ok = post_code(
        &browser,
        app.url("/account/totp"),
        &enrol,
        &totp_code(&secret, 0),
    )
    .await;
    assert_eq!(ok.headers()["location"], "/account");
    let (_, users) = page(&browser, app.url("/admin/users")).await;
    assert!(
        users.contains("chuyenvien"),
        "provincial admin sees the officials"
    );

    // Next login asks for the code; a replayed code is refused, the next one accepted.
    let again = app.client();
    assert_eq!(
        login(&app, &again, "quantri.tinh", DEMO_PASSWORD).await.1,
        "/login/totp"
    );
    let (_, form) = page(&again, app.url("/login/totp")).await;
    let replay = post_code(
        &again,
        app.url("/login/totp"),
        &form,
        &totp_code(&secret, 0),
    )
    .await;
    assert_eq!(
        replay.status().as_u16(),
        422,
        "a used code must not work twice"
    );
    let next = post_code(
        &again,
        app.url("/login/totp"),
        &form,
        &totp_code(&secret, 1),
    )
    .await;
    assert_eq!(next.headers()["location"], "/");
    let (_, audit) = page(&again, app.url("/audit")).await;
    assert!(audit.contains("user.totp_enabled"));
    app.stop().await;
}
both!(admins_must_enrol_totp);

// ------------------------------------------------------------------ navigation per role

async fn each_role_sees_its_navigation(backend: Backend) {
    let app = TestApp::start(backend).await;
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "001099000001",
            &["/units", "/account"],
            &["/admin/agencies", "/calendar", "/audit", "/admin/users"],
        ),
        (
            "chuyenvien",
            &["/admin/agencies", "/calendar", "/account"],
            &["/admin/users", "/audit"],
        ),
        (
            "motcua",
            &["/admin/agencies", "/calendar"],
            &["/admin/users", "/audit"],
        ),
        (
            "lanhdao",
            &["/admin/agencies", "/admin/users", "/calendar"],
            &["/audit"],
        ),
        (
            "vanthu",
            &["/admin/agencies", "/calendar"],
            &["/admin/users", "/audit"],
        ),
        (
            "kiemtoan",
            &["/admin/agencies", "/admin/users", "/audit"],
            &[],
        ),
    ];
    for (username, shown, hidden) in cases {
        let browser = app.client();
        assert_eq!(
            login(&app, &browser, username, DEMO_PASSWORD).await.0,
            303,
            "{username}"
        );
        let (_, home) = page(&browser, app.url("/")).await;
        let nav = &home[home.find("<nav").unwrap()..home.find("</nav>").unwrap()];
        for href in *shown {
            assert!(
                nav.contains(&format!("href=\"{href}\"")),
                "{username} should see {href}"
            );
        }
        for href in *hidden {
            assert!(
                !nav.contains(&format!("href=\"{href}\"")),
                "{username} should not see {href}"
            );
            let direct = browser
                .get(app.url(href))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            assert!(
                direct == 403 || direct == 303,
                "{username} opened {href}: {direct}"
            );
        }
    }
    app.stop().await;
}
both!(each_role_sees_its_navigation);

// ------------------------------------------------------------------ organisation rules

async fn agency_identifiers_rename_and_merge(backend: Backend) {
    let app = TestApp::start(backend).await;
    let p = &app.platform;
    let ctx = app.ctx();
    use tinhso_platform::org::{
        NewAgency, create_agency, merge_agency, rename_agency, resolve_agency_code, successor,
    };
    let new = |code: &str, name: &str| NewAgency {
        code: code.into(),
        name: name.into(),
        short_name: String::new(),
        parent_code: Some("000.00.00.H32".into()),
        level: "department".into(),
        unit_era: None,
        unit_code: None,
    };
    let err = create_agency(p, &ctx, &new("000.00.0X.H32", "Sở sai mã"))
        .await
        .unwrap_err();
    match err {
        tinhso_platform::Error::Domain(d) => assert_eq!(d.rule, Some("agency_id.level2")),
        other => panic!("{other:?}"),
    }
    let health = create_agency(p, &ctx, &new("000.00.09.H32", "Sở Y tế"))
        .await
        .unwrap();
    let renamed = rename_agency(
        p,
        &ctx,
        health.id,
        "000.00.19.H32",
        "Sở Y tế tỉnh Khánh Hòa",
    )
    .await
    .unwrap();
    assert_eq!(renamed.code, "000.00.19.H32");
    assert_eq!(
        resolve_agency_code(p, "000.00.09.H32")
            .await
            .unwrap()
            .unwrap()
            .id,
        health.id,
        "old identifier resolves"
    );
    let culture = create_agency(p, &ctx, &new("000.00.10.H32", "Sở Văn hóa"))
        .await
        .unwrap();
    merge_agency(p, &ctx, culture.id, health.id).await.unwrap();
    let old = resolve_agency_code(p, "000.00.10.H32")
        .await
        .unwrap()
        .unwrap();
    assert!(!old.active);
    assert_eq!(successor(p, old).await.unwrap().id, health.id);
    let reuse = create_agency(p, &ctx, &new("000.00.10.H32", "Trùng mã"))
        .await
        .unwrap_err();
    assert_eq!(reuse.code(), tinhso_core::ErrorCode::Conflict);

    // The same rule through the admin form, in Vietnamese, keeping what was typed.
    let browser = app.client();
    let secret = enrol_admin(&app, &browser, "quantri.tinh").await;
    assert!(!secret.is_empty());
    let (_, form) = page(&browser, app.url("/admin/agencies")).await;
    let response = browser
        .post(app.url("/admin/agencies"))
        .form(&[
            ("csrf_token", csrf_of(&form).as_str()),
            ("code", "000.00.00.h99"),
            ("name", "Sở Thử"),
            ("parent_code", "000.00.00.H32"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("chữ cái in hoa"),
        "rule not explained: {html}"
    );
    assert!(html.contains("value=\"Sở Thử\""), "typed values lost");
    // And through the API: the stable code and the rule key.
    let api = browser
        .post(app.url("/api/v1/agencies"))
        .header("x-csrf-token", csrf_of(&form))
        .json(&json!({"code": "000.00.00.H9", "name": "X", "parent_code": "000.00.00.H32"}))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status().as_u16(), 422);
    let body: Value = api.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_agency_id");
    assert_eq!(body["error"]["rule"], "agency_id.length");
    app.stop().await;
}
both!(agency_identifiers_rename_and_merge);

/// Posts a TOTP code through the form on `form_page`.
async fn post_code(
    client: &reqwest::Client,
    url: String,
    form_page: &str,
    code: &str,
) -> reqwest::Response {
    client
        .post(url)
        .form(&[("csrf_token", csrf_of(form_page).as_str()), ("code", code)])
        .send()
        .await
        .unwrap()
}

/// The TOTP secret shown on the enrolment page.
fn secret_on(enrol_page: &str) -> String {
    let marker = "class=\"secret\">";
    let start = enrol_page.find(marker).unwrap() + marker.len();
    enrol_page[start..start + enrol_page[start..].find('<').unwrap()].to_owned()
}

/// Logs an administrator in and enrols TOTP; returns the secret.
async fn enrol_admin(app: &TestApp, browser: &reqwest::Client, username: &str) -> String {
    assert_eq!(
        login(app, browser, username, DEMO_PASSWORD).await.1,
        "/account/totp"
    );
    let (_, enrol) = page(browser, app.url("/account/totp")).await;
    let secret = secret_on(&enrol);
    let ok = post_code(
        browser,
        app.url("/account/totp"),
        &enrol,
        &totp_code(&secret, 0),
    )
    .await;
    assert_eq!(ok.status().as_u16(), 303);
    secret
}

async fn units_resolve_by_record_date(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = app.client();
    let old: Value = client
        .get(app.url("/api/v1/units/resolve?code=22333&date=2024-05-01"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(old["unit"]["name"], "Phường Vĩnh Phước");
    assert_eq!(old["ancestors"][0]["name"], "Thành phố Nha Trang");
    assert_eq!(old["ancestors"][0]["level"], "district");
    let new: Value = client
        .get(app.url("/api/v1/units/resolve?code=22333&date=2026-05-01"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(new["unit"]["name"], "Phường Bắc Nha Trang");
    assert_eq!(new["ancestors"][0]["level"], "province");
    let missing = client
        .get(app.url("/api/v1/units/resolve?code=99999&date=2026-05-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    let (status, html) = page(&client, app.url("/units?code=22333&date=2024-05-01")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Phường Vĩnh Phước") && html.contains("Thành phố Nha Trang"));
    app.stop().await;
}
both!(units_resolve_by_record_date);

// ------------------------------------------------------------------ web shell

async fn shell_headers_errors_and_limits(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = app.client();
    for path in [
        "/",
        "/login",
        "/khong-ton-tai",
        "/api/v1/me",
        "/api/v1/openapi.json",
        "/static/app.css",
    ] {
        let r = client.get(app.url(path)).send().await.unwrap();
        assert!(r.headers().contains_key("x-request-id"), "{path}");
        assert!(
            r.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'self'"),
            "{path}"
        );
        assert_eq!(r.headers()["x-frame-options"], "DENY");
    }
    let missing = client.get(app.url("/khong-ton-tai")).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    let id = missing.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = missing.text().await.unwrap();
    assert!(
        html.contains("Không tìm thấy") && html.contains(&id),
        "404 page must be Vietnamese and name the request id"
    );
    let english = client.get(app.url("/lang/en")).send().await.unwrap();
    assert!(
        english.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("tinhso_lang=en")
    );
    let (_, en_login) = page(&client, app.url("/login")).await;
    assert!(en_login.contains("<html lang=\"en\">") && en_login.contains("Log in"));

    // Bodies over the limit get 413 (form and API), and change nothing.
    let head = app.audit_head().await;
    let big = "x".repeat(200 * 1024);
    let form = oversized(
        app.url("/login"),
        "application/x-www-form-urlencoded",
        format!("username={big}"),
    )
    .await;
    assert_eq!(form.status().as_u16(), 413);
    assert_eq!(form.headers()["connection"], "close");
    let api = oversized(app.url("/api/v1/agencies"), "application/json", big.clone()).await;
    assert_eq!(api.status().as_u16(), 413);
    assert_eq!(
        api.json::<Value>().await.unwrap()["error"]["code"],
        "payload_too_large"
    );
    assert_eq!(app.audit_head().await, head);

    // Health, readiness and the documented API.
    assert_eq!(page(&client, app.url("/healthz")).await, (200, "ok".into()));
    assert_eq!(page(&client, app.url("/readyz")).await.0, 200);
    let doc: Value = client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/agencies"]["post"]["summary"].is_string());
    app.stop().await;
}
both!(shell_headers_errors_and_limits);

/// Posts a body over the limit on a client of its own. The server answers 413 without
/// reading the body and closes the connection, so the client can see the reset before the
/// answer; a few bounded retries make the test about the server, not about that race, and
/// the test's main client never holds the closed connection.
async fn oversized(url: String, content_type: &str, body: String) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut last_error = None;
    for _ in 0..5 {
        match client
            .post(&url)
            .header("content-type", content_type)
            .body(body.clone())
            .send()
            .await
        {
            Ok(response) => return response,
            Err(e) => last_error = Some(e),
        }
    }
    panic!("no answer to an oversized request: {last_error:?}");
}

async fn login_rate_limit_per_address(backend: Backend) {
    let app = TestApp::start_with(backend, |c| c.security.login_rate_per_minute = 3).await;
    let client = app.client();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(login(&app, &client, "lanhdao", "wrong-password-1").await.0);
    }
    assert_eq!(statuses[..3], [401, 401, 401]);
    assert_eq!(statuses[3..], [429, 429]);
    app.stop().await;
}
both!(login_rate_limit_per_address);

// ------------------------------------------------------------------ audit chain and CLI

fn tinhso(app_dir: &std::path::Path, url: &str, args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tinhso"))
        .arg("--data-dir")
        .arg(app_dir)
        .arg("--database")
        .arg(url)
        .args(args)
        .env("TINHSO_LOG__LEVEL", "warn")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

async fn audit_tamper_is_named(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (code, out) = tinhso(app.dir.path(), &app.db.url, &["audit", "verify"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact"), "{out}");
    // Every state change of the demo seed left a record in the same transaction.
    let records = app.audit_head().await;
    assert!(records > 20, "{records}");
    sqlx::query("UPDATE audit_log SET actor = 'user:999' WHERE seq = 7")
        .write_behind(&app.platform.db)
        .await
        .unwrap();
    let (code, out) = tinhso(app.dir.path(), &app.db.url, &["audit", "verify"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("audit record 7"), "{out}");
    sqlx::query(
        "UPDATE audit_log SET actor = (SELECT actor FROM audit_log WHERE seq = 6) WHERE seq = 7",
    )
    .write_behind(&app.platform.db)
    .await
    .unwrap();
    sqlx::query("DELETE FROM audit_log WHERE seq = 12")
        .write_behind(&app.platform.db)
        .await
        .unwrap();
    let (code, out) = tinhso(app.dir.path(), &app.db.url, &["audit", "verify"]);
    assert_eq!(code, 2);
    assert!(
        out.contains("record 13"),
        "deletion must be named at the record after the gap: {out}"
    );
    app.stop().await;
}
both!(audit_tamper_is_named);

/// Two processes on one database (the server and the CLI, or two nodes) each guess the chain's
/// tip from their own last record; interleaved appends, and one rolled back after appending,
/// must still leave one contiguous chain that verifies.
async fn audit_chain_with_two_writers_and_a_rollback(backend: Backend) {
    use tinhso_platform::audit::{Change, Verdict};
    let app = TestApp::start(backend).await;
    let other = tinhso_platform::Platform::open_with(
        test_config(app.dir.path(), &app.db.url),
        &super::support::MIGRATIONS,
    )
    .await
    .unwrap();
    let before = app.audit_head().await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..40 {
        let p = if n % 2 == 0 {
            app.platform.clone()
        } else {
            other.clone()
        };
        tasks.spawn(async move {
            let ctx = tinhso_platform::Ctx::cli(p.now_ms());
            let mut tx = p.db.begin_write().await.unwrap();
            let id = n.to_string();
            let change = Change::<(), ()> {
                action: "test.append",
                object_type: "test",
                object_id: &id,
                before: None,
                after: None,
            };
            p.audit(&mut tx, &ctx, change).await.unwrap();
            // Every tenth appends and rolls back: its guess of the tip is then wrong.
            if n % 10 == 3 {
                drop(tx);
            } else {
                tx.commit().await.unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    assert_eq!(app.audit_head().await, before + 36);
    let verdict = tinhso_platform::audit::verify(&app.platform.db, &app.platform.audit_key)
        .await
        .unwrap();
    assert!(
        matches!(verdict, Verdict::Intact { records } if records == before + 36),
        "{verdict:?}"
    );
    if backend == Backend::Postgres {
        second_chain_while_the_first_is_held(&app).await;
    }
    other.db.close().await;
    app.stop().await;
}

/// On PostgreSQL a writer that finds chain 1's head locked appends to chain 2 at once; both
/// chains verify, and a change to chain 2's record is named.
async fn second_chain_while_the_first_is_held(app: &TestApp) {
    use tinhso_core::audit::chain_of;
    use tinhso_platform::audit::{Change, Verdict};
    let p = &app.platform;
    let ctx = tinhso_platform::Ctx::cli(p.now_ms());
    let change = |id: &'static str| Change::<(), ()> {
        action: "test.append",
        object_type: "test",
        object_id: id,
        before: None,
        after: None,
    };
    let mut holding = p.db.begin_write().await.unwrap();
    let first = p.audit(&mut holding, &ctx, change("a")).await.unwrap();
    let mut beside = p.db.begin_write().await.unwrap();
    let second = p.audit(&mut beside, &ctx, change("b")).await.unwrap();
    let third = p.audit(&mut beside, &ctx, change("c")).await.unwrap();
    assert_eq!(chain_of(first), 1);
    assert_eq!(
        chain_of(second),
        2,
        "the writer waited instead of taking chain 2"
    );
    assert_eq!(
        third,
        second + 1,
        "one transaction's records stay on its chain"
    );
    beside.commit().await.unwrap();
    holding.commit().await.unwrap();
    let verdict = tinhso_platform::audit::verify(&p.db, &p.audit_key)
        .await
        .unwrap();
    assert!(matches!(verdict, Verdict::Intact { .. }), "{verdict:?}");
    sqlx::query("UPDATE audit_log SET actor = 'user:999' WHERE seq = $1")
        .bind(second)
        .write_behind(&p.db)
        .await
        .unwrap();
    let verdict = tinhso_platform::audit::verify(&p.db, &p.audit_key)
        .await
        .unwrap();
    assert!(
        matches!(verdict, Verdict::Broken(ref b) if b.to_string().contains(&second.to_string())),
        "{verdict:?}"
    );
}
both!(audit_chain_with_two_writers_and_a_rollback);

/// A batch runs its statements in order in the caller's transaction, each with its own
/// `$1`… (shifted past the others' in SQLite's one call, quoted text left alone), and gives
/// back each one's rows and count; an audit record deferred into it behind a stale guess of
/// the chain's tip still lands in one chain that verifies; and a batch one statement of which
/// fails leaves nothing written.
async fn batched_statements_keep_their_outcomes(backend: Backend) {
    use sqlx::Row;
    use tinhso_platform::audit::Change;
    use tinhso_platform::{Batch, Ctx};
    let app = TestApp::start(backend).await;
    let p = &app.platform;
    let other = tinhso_platform::Platform::open_with(
        test_config(app.dir.path(), &app.db.url),
        &super::support::MIGRATIONS,
    )
    .await
    .unwrap();
    let ctx = Ctx::cli(p.now_ms());
    let change = |id: &'static str| Change::<(), ()> {
        action: "test.batch",
        object_type: "test",
        object_id: id,
        before: None,
        after: None,
    };
    let mut tx = p.db.begin_write().await.unwrap();
    sqlx::raw_sql("CREATE TABLE batch_probe (id BIGINT PRIMARY KEY, label TEXT NOT NULL)")
        .execute(&mut *tx.tx)
        .await
        .unwrap();
    p.audit(&mut tx, &ctx, change("first")).await.unwrap();
    tx.commit().await.unwrap();
    // Another process appends: this one's guess of the tip is now stale.
    let mut tx = other.db.begin_write().await.unwrap();
    other.audit(&mut tx, &ctx, change("other")).await.unwrap();
    tx.commit().await.unwrap();
    let before = app.audit_head().await;

    let mut tx = p.db.begin_write().await.unwrap();
    let mut batch = Batch::new();
    let first = batch.push(
        "INSERT INTO batch_probe (id, label) VALUES ($1, '$1:' || $2) RETURNING label",
        |q| q.bind(1_i64).bind("một"),
    );
    let second = batch.push(
        "INSERT INTO batch_probe (id, label) VALUES ($2, $1) RETURNING id",
        |q| q.bind("hai").bind(2_i64),
    );
    let renamed = batch.push("UPDATE batch_probe SET label = $1 WHERE id = $2", |q| {
        q.bind("hai (sửa)").bind(2_i64)
    });
    let missed = batch.push("UPDATE batch_probe SET label = $1 WHERE id = $2", |q| {
        q.bind("không có").bind(99_i64)
    });
    let audit = p.defer_audit(&mut batch, &mut tx, &ctx, change("batched"));
    let mut outcomes = batch.run(&mut tx).await.unwrap();
    let label: String = outcomes.take_rows(first)[0].try_get(0).unwrap();
    assert_eq!(label, "$1:một", "the quoted $1 is text, not a parameter");
    let id: i64 = outcomes.get(second).rows[0].try_get(0).unwrap();
    assert_eq!(id, 2);
    assert_eq!(outcomes.get(renamed).affected, 1);
    assert_eq!(outcomes.get(missed).affected, 0);
    let seq = p.settle_audit(&mut tx, audit, &outcomes).await.unwrap();
    assert_eq!(
        seq,
        before + 1,
        "the stale guess was found and the record follows the tip"
    );
    tx.commit().await.unwrap();
    let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, label FROM batch_probe ORDER BY id")
        .fetch_all(p.db.pool())
        .await
        .unwrap();
    assert_eq!(rows, vec![(1, "$1:một".into()), (2, "hai (sửa)".into())]);

    // The second insert repeats a key: the batch fails and its first insert is undone too.
    let mut tx = p.db.begin_write().await.unwrap();
    let mut batch = Batch::new();
    batch.push("INSERT INTO batch_probe (id, label) VALUES ($1, $2)", |q| {
        q.bind(3_i64).bind("ba")
    });
    batch.push("INSERT INTO batch_probe (id, label) VALUES ($1, $2)", |q| {
        q.bind(1_i64).bind("trùng")
    });
    let _pending = p.defer_audit(&mut batch, &mut tx, &ctx, change("failed"));
    assert!(batch.run(&mut tx).await.is_err());
    drop(tx);
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM batch_probe")
        .fetch_one(p.db.pool())
        .await
        .unwrap();
    assert_eq!(count, 2);
    // A record deferred and never settled: the commit refuses, on both databases alike (on
    // SQLite the batch had written it already), and the batch's write goes with it.
    let mut tx = p.db.begin_write().await.unwrap();
    let mut batch = Batch::new();
    batch.push("INSERT INTO batch_probe (id, label) VALUES ($1, $2)", |q| {
        q.bind(4_i64).bind("bốn")
    });
    let _forgotten = p.defer_audit(&mut batch, &mut tx, &ctx, change("forgotten"));
    batch.run(&mut tx).await.unwrap();
    assert!(
        tx.commit().await.is_err(),
        "an unsettled record blocks the commit"
    );
    // A statement binding one value too few is refused before anything runs; so is one
    // binding too many, which on SQLite would shift the next statement's values.
    for extra in [false, true] {
        let mut tx = p.db.begin_write().await.unwrap();
        let mut batch = Batch::new();
        batch.push(
            "INSERT INTO batch_probe (id, label) VALUES ($1, $2)",
            move |q| {
                let q = q.bind(5_i64);
                if extra {
                    q.bind("năm").bind("thừa")
                } else {
                    q
                }
            },
        );
        batch.push("UPDATE batch_probe SET label = $1 WHERE id = $2", |q| {
            q.bind("không").bind(1_i64)
        });
        let refused = batch.run(&mut tx).await.err().map(|e| e.to_string());
        assert!(
            refused.as_deref().is_some_and(|e| e.contains("bound")),
            "{refused:?}"
        );
    }
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM batch_probe")
        .fetch_one(p.db.pool())
        .await
        .unwrap();
    assert_eq!(count, 2);
    // The chain goes on after the failed batch (its guess was not taken for the tip).
    let mut tx = p.db.begin_write().await.unwrap();
    let next = p.audit(&mut tx, &ctx, change("after")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(next, before + 2);
    assert_eq!(app.verified_audit_records().await, before + 2);
    other.db.close().await;
    app.stop().await;
}
both!(batched_statements_keep_their_outcomes);

/// A statement pushed with the row count it must have stops the batch where that count is
/// wrong: the statements after it do not run, the transaction is still open (what ran before
/// it is the caller's to keep or roll back), and `run_and_commit` does not commit. When every
/// check passes it commits — on SQLite in the batch's own call, with the audit record the
/// batch carried in the chain.
async fn checked_statements_stop_the_batch(backend: Backend) {
    use tinhso_platform::audit::Change;
    use tinhso_platform::batch::Finished;
    use tinhso_platform::{Batch, Ctx, WriteTx};
    let app = TestApp::start(backend).await;
    let p = &app.platform;
    let ctx = Ctx::cli(p.now_ms());
    let change = Change::<(), ()> {
        action: "test.checked",
        object_type: "test",
        object_id: "checked",
        before: None,
        after: None,
    };
    let mut tx = p.db.begin_write().await.unwrap();
    sqlx::raw_sql("CREATE TABLE checked_probe (id BIGINT PRIMARY KEY)")
        .execute(&mut *tx.tx)
        .await
        .unwrap();
    p.audit(&mut tx, &ctx, change).await.unwrap();
    tx.commit().await.unwrap();
    let insert = "INSERT INTO checked_probe (id) VALUES ($1)";
    let ids = || async {
        sqlx::query_scalar::<_, i64>("SELECT id FROM checked_probe ORDER BY id")
            .fetch_all(p.db.pool())
            .await
            .unwrap()
    };

    // A check that passes, then one that fails: the batch stops at the second.
    let stopped_batch = |tx: WriteTx| async move {
        let mut batch = Batch::new();
        let passed = batch.push_expecting(insert, 1, |q| q.bind(1_i64));
        let missed = batch.push_expecting("DELETE FROM checked_probe WHERE id = $1", 1, |q| {
            q.bind(99_i64)
        });
        let skipped = batch.push(insert, |q| q.bind(2_i64));
        let Finished::Open(outcomes, tx) = batch.run_and_commit(tx).await.unwrap() else {
            panic!("a failed check must not commit");
        };
        assert_eq!(outcomes.get(passed).affected, 1);
        assert_eq!(outcomes.stopped_at(), Some(missed));
        assert_eq!(outcomes.get(skipped).affected, 0);
        tx
    };
    let tx = stopped_batch(p.db.begin_write().await.unwrap()).await;
    // A later batch whose checks pass does not commit the stopped one's writes either.
    let mut batch = Batch::new();
    batch.push(insert, |q| q.bind(8_i64));
    let Finished::Open(_, tx) = batch.run_and_commit(tx).await.unwrap() else {
        panic!("a transaction with a stopped batch must not commit in a later call");
    };
    assert!(
        tx.commit().await.is_err(),
        "a stopped batch's transaction does not commit unless told to go on"
    );
    assert!(ids().await.is_empty());
    let mut tx = stopped_batch(p.db.begin_write().await.unwrap()).await;
    assert!(ids().await.is_empty(), "nothing is committed yet");
    // Told to go on, the transaction keeps what ran before the check.
    tx.go_on_after_stop();
    sqlx::query(insert)
        .bind(3_i64)
        .execute(&mut *tx.tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        ids().await,
        vec![1, 3],
        "the statement after the check never ran"
    );

    let before = app.audit_head().await;
    let mut tx = p.db.begin_write().await.unwrap();
    let mut batch = Batch::new();
    batch.push(insert, |q| q.bind(4_i64));
    batch.push_expecting("DELETE FROM checked_probe WHERE id = $1", 1, |q| {
        q.bind(1_i64)
    });
    let audit = p.defer_audit(&mut batch, &mut tx, &ctx, change);
    let seq = match batch.run_and_commit(tx).await.unwrap() {
        Finished::Committed(outcomes) => {
            assert!(
                matches!(backend, Backend::Sqlite),
                "only SQLite commits in the call"
            );
            assert_eq!(outcomes.stopped_at(), None);
            audit.settle_committed(&outcomes).unwrap()
        }
        Finished::Open(outcomes, mut tx) => {
            assert!(
                matches!(backend, Backend::Postgres),
                "SQLite commits in the call"
            );
            assert_eq!(outcomes.stopped_at(), None);
            let seq = p.settle_audit(&mut tx, audit, &outcomes).await.unwrap();
            tx.commit().await.unwrap();
            seq
        }
    };
    assert_eq!(seq, before + 1);
    assert_eq!(ids().await, vec![3, 4]);
    assert_eq!(app.verified_audit_records().await, before + 1);
    // A writer waiting for the lock gets its transaction begun by the batch's call.
    let tx = p.db.begin_write().await.unwrap();
    let waiter = {
        let p = p.clone();
        tokio::spawn(async move {
            let mut tx = p.db.begin_write().await.unwrap();
            sqlx::query(insert)
                .bind(5_i64)
                .execute(&mut *tx.tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        })
    };
    if matches!(backend, Backend::Sqlite) {
        let start = std::time::Instant::now();
        while p.db.writers_waiting() == 0 {
            assert!(start.elapsed() < std::time::Duration::from_secs(5));
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
    let mut batch = Batch::new();
    batch.push(insert, |q| q.bind(6_i64));
    let finished = batch.run_and_commit(tx).await.unwrap();
    if let Finished::Open(_, tx) = finished {
        tx.commit().await.unwrap();
    }
    tokio::time::timeout(std::time::Duration::from_secs(10), waiter)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ids().await, vec![3, 4, 5, 6]);

    // Another process moved the chain's tip: the guess is stale, the batch stops at the
    // audit head's move (its last statements), and the record is written after it.
    let other = tinhso_platform::Platform::open_with(
        test_config(app.dir.path(), &app.db.url),
        &super::support::MIGRATIONS,
    )
    .await
    .unwrap();
    let mut tx = other.db.begin_write().await.unwrap();
    other.audit(&mut tx, &ctx, change).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = p.db.begin_write().await.unwrap();
    let mut batch = Batch::new();
    batch.push(insert, |q| q.bind(7_i64));
    let audit = p.defer_audit(&mut batch, &mut tx, &ctx, change);
    let Finished::Open(outcomes, mut tx) = batch.run_and_commit(tx).await.unwrap() else {
        panic!("a stale guess does not commit in the call");
    };
    let seq = p.settle_audit(&mut tx, audit, &outcomes).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(seq, before + 3);
    assert_eq!(ids().await, vec![3, 4, 5, 6, 7]);
    assert_eq!(app.verified_audit_records().await, before + 3);
    other.db.close().await;
    app.stop().await;
}
both!(checked_statements_stop_the_batch);

/// A write transaction dropped without commit, one dropped in the middle of a statement, and a
/// begin given up while its BEGIN was on the way all leave nothing behind, and the next
/// writer goes ahead at once (SQLite's writer connection is this code's own to roll back).
async fn abandoned_write_transactions_roll_back(backend: Backend) {
    let app = TestApp::start(backend).await;
    let db = &app.platform.db;
    let insert = |id: i64| sqlx::query("INSERT INTO probe_rows (id) VALUES ($1)").bind(id);
    let mut tx = db.begin_write().await.unwrap();
    sqlx::raw_sql("CREATE TABLE probe_rows (id BIGINT PRIMARY KEY)")
        .execute(&mut *tx.tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = db.begin_write().await.unwrap();
    insert(1).execute(&mut *tx.tx).await.unwrap();
    drop(tx);

    let mut tx = db.begin_write().await.unwrap();
    // Polled once and dropped while the statement is with the database.
    let cut = tokio::time::timeout(std::time::Duration::ZERO, insert(2).execute(&mut *tx.tx)).await;
    drop(cut);
    drop(tx);

    for _ in 0..3 {
        let begun = tokio::time::timeout(std::time::Duration::ZERO, db.begin_write()).await;
        drop(begun);
    }

    let next = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        let mut tx = db.begin_write().await.unwrap();
        insert(3).execute(&mut *tx.tx).await.unwrap();
        tx.commit().await.unwrap();
    })
    .await;
    assert!(next.is_ok(), "the next writer waited for an abandoned one");

    // A commit with a writer waiting begins that writer's transaction in the same call; the
    // waiter then gives up. What was begun for it must not keep the write lock from another
    // process (here a second handle on the same database). SQLite's alone: PostgreSQL's
    // writers do not queue for one lock.
    let rounds = if db.dialect() == tinhso_platform::Dialect::Sqlite {
        3
    } else {
        0
    };
    for round in 0..rounds {
        let tx = db.begin_write().await.unwrap();
        // Polled once: it waits for the lock. Dropped after the commit without being
        // polled again: the lock had been handed to it.
        let mut waiter = Box::pin(db.begin_write());
        let polled = tokio::time::timeout(std::time::Duration::ZERO, &mut waiter).await;
        assert!(polled.is_err(), "round {round}: the lock is held");
        assert_eq!(db.writers_waiting(), 1, "round {round}: the waiter waits");
        tx.commit().await.unwrap();
        // The commit began the waiter's transaction: another process finds the lock taken.
        let mut probe = {
            use sqlx::Connection;
            sqlx::AnyConnection::connect(&app.db.url).await.unwrap()
        };
        let busy = sqlx::raw_sql("PRAGMA busy_timeout=0; BEGIN IMMEDIATE")
            .execute(&mut probe)
            .await;
        assert!(
            busy.is_err(),
            "round {round}: a transaction was begun for the waiter"
        );
        drop(probe);
        drop(waiter);
        let other = tinhso_platform::Db::connect(&app.db.url, 2, "full")
            .await
            .unwrap();
        let wrote = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            let mut tx = other.begin_write().await.unwrap();
            insert(10 + round).execute(&mut *tx.tx).await.unwrap();
            tx.commit().await.unwrap();
        })
        .await;
        other.close().await;
        assert!(
            wrote.is_ok(),
            "round {round}: another process waited for the lock"
        );
    }
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM probe_rows ORDER BY id")
        .fetch_all(db.pool())
        .await
        .unwrap();
    let expected: Vec<i64> = std::iter::once(3)
        .chain((0..rounds).map(|r| 10 + r))
        .collect();
    assert_eq!(ids, expected);
    app.stop().await;
}
both!(abandoned_write_transactions_roll_back);

/// Reads run on connections kept warm between them (no release round trip): they still see
/// every commit, a read cut off mid-stream or failing leaves its connection fit for the next
/// one, more readers than connections all finish, the warm connections never keep a
/// transaction or snapshot waiting, and the database closes with them.
async fn warm_read_connections_stay_sound(backend: Backend) {
    use futures_util::StreamExt;
    let app = TestApp::start(backend).await;
    let db = app.platform.db.clone();
    async fn within<F: std::future::Future>(what: &str, f: F) -> F::Output {
        tokio::time::timeout(std::time::Duration::from_secs(20), f)
            .await
            .unwrap_or_else(|_| panic!("{what} waited"))
    }
    let mut tx = db.begin_write().await.unwrap();
    sqlx::raw_sql("CREATE TABLE warm_rows (id BIGINT PRIMARY KEY)")
        .execute(&mut *tx.tx)
        .await
        .unwrap();
    for id in 1..=50_i64 {
        sqlx::query("INSERT INTO warm_rows (id) VALUES ($1)")
            .bind(id)
            .execute(&mut *tx.tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let count = |db: tinhso_platform::Db| async move {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM warm_rows")
            .fetch_one(db.pool())
            .await
            .unwrap()
    };
    assert_eq!(count(db.clone()).await, 50);

    // Cut off after its first row, then a statement that fails: the next reads are whole.
    let mut rows =
        sqlx::query_scalar::<_, i64>("SELECT id FROM warm_rows ORDER BY id").fetch(db.pool());
    assert_eq!(rows.next().await.unwrap().unwrap(), 1);
    drop(rows);
    let cut = tokio::time::timeout(
        std::time::Duration::ZERO,
        sqlx::query("SELECT id FROM warm_rows").fetch_all(db.pool()),
    )
    .await;
    drop(cut);
    assert!(
        sqlx::query("SELECT nothing FROM warm_rows")
            .fetch_all(db.pool())
            .await
            .is_err()
    );
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM warm_rows ORDER BY id")
        .fetch_all(db.pool())
        .await
        .unwrap();
    assert_eq!(ids, (1..=50).collect::<Vec<_>>());

    // Four times as many readers as connections, each reading twenty times.
    let readers: Vec<_> = (0..64)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                for _ in 0..20 {
                    assert_eq!(count(db.clone()).await, 50);
                }
            })
        })
        .collect();
    within("the readers", async {
        for reader in readers {
            reader.await.unwrap();
        }
    })
    .await;

    // Every connection is warm now: a snapshot and a write still get theirs, and the warm
    // connections see the write's commit.
    let mut snapshot = within("a snapshot", db.begin_snapshot()).await.unwrap();
    let seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM warm_rows")
        .fetch_one(&mut *snapshot)
        .await
        .unwrap();
    assert_eq!(seen, 50);
    drop(snapshot);
    let mut tx = within("a writer", db.begin_write()).await.unwrap();
    sqlx::query("DELETE FROM warm_rows WHERE id > 10")
        .execute(&mut *tx.tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    for _ in 0..20 {
        assert_eq!(count(db.clone()).await, 10);
    }
    within("closing", app.stop()).await;
    assert!(sqlx::query("SELECT 1").fetch_all(db.pool()).await.is_err());
}
both!(warm_read_connections_stay_sound);
async fn backup_restore_round_trip(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.platform.blobs.put(b"hello blob").await.unwrap();
    let archive = app.dir.path().join("backup.tar");
    let (code, out) = tinhso(
        app.dir.path(),
        &app.db.url,
        &["backup", archive.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{out}");
    // Restore into the other backend too: the format does not depend on the database.
    for target in [Backend::Sqlite, Backend::Postgres] {
        let dir = tempfile::tempdir().unwrap();
        let db = super::support::TestDb::new(target, dir.path()).await;
        let (code, out) = tinhso(dir.path(), &db.url, &["restore", archive.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}");
        let (code, out) = tinhso(dir.path(), &db.url, &["audit", "verify"]);
        assert_eq!(code, 0, "restored chain must verify: {out}");
        let restored = tinhso_platform::Platform::open_with(
            test_config(dir.path(), &db.url),
            &super::support::MIGRATIONS,
        )
        .await
        .unwrap();
        let user = tinhso_platform::identity::user_by_username(&restored, "chuyenvien")
            .await
            .unwrap();
        assert!(user.is_some());
        assert_eq!(restored.blobs.keys().await.unwrap().len(), 1);
        // New rows get fresh ids after a restore (PostgreSQL sequences were moved on).
        let created = tinhso_platform::org::create_agency(
            &restored,
            &tinhso_platform::Ctx::cli(0),
            &tinhso_platform::org::NewAgency {
                code: "000.00.20.H32".into(),
                name: "Sở mới".into(),
                short_name: String::new(),
                parent_code: Some("000.00.00.H32".into()),
                level: "department".into(),
                unit_era: None,
                unit_code: None,
            },
        )
        .await;
        assert!(created.is_ok(), "{created:?}");
        // Restoring twice into the same place is refused.
        let (code, _) = tinhso(dir.path(), &db.url, &["restore", archive.to_str().unwrap()]);
        assert_ne!(code, 0);
        restored.db.close().await;
        db.drop_database().await;
    }
    app.stop().await;
}
both!(backup_restore_round_trip);

// ------------------------------------------------------------------ CLI without a database

#[test]
fn calendar_cli_answers_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("none.db").display());
    assert_eq!(
        tinhso(dir.path(), &url, &["calendar", "lunar", "2027-02-06"]),
        (0, "2027-01-01\n".into())
    );
    assert_eq!(
        tinhso(dir.path(), &url, &["calendar", "solar", "2027-01-01"]),
        (0, "2027-02-06\n".into())
    );
    let (code, out) = tinhso(
        dir.path(),
        &url,
        &[
            "calendar",
            "add",
            "--from",
            "2027-02-03T16:00:00+07:00",
            "--working-days",
            "3",
        ],
    );
    assert_eq!((code, out.trim()), (0, "2027-02-15T16:00:00+07:00"));
    let (code, out) = tinhso(dir.path(), &url, &["calendar", "holidays", "2027"]);
    assert_eq!(code, 0);
    for date in [
        "2027-01-01",
        "2027-02-05",
        "2027-02-09",
        "2027-02-10",
        "2027-04-16",
        "2027-04-30",
        "2027-05-01",
        "2027-09-02",
        "2027-11-24",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(date)),
            "{date} missing in {out}"
        );
    }
    assert!(
        !dir.path().join("none.db").exists(),
        "checking the calendar must not create a database"
    );
    // A leap month: 2025 had a leap 6th month.
    let (code, out) = tinhso(dir.path(), &url, &["calendar", "lunar", "2025-07-25"]);
    assert_eq!((code, out.trim()), (0, "2025-06-01 leap"));
}

#[test]
fn malformed_config_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tinhso.toml");
    std::fs::write(&file, "[security]\nmax_failed_login = 3\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tinhso"))
        .args(["--config", file.to_str().unwrap(), "config", "print"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("max_failed_login"), "{err}");
    let output = Command::new(env!("CARGO_BIN_EXE_tinhso"))
        .args(["config", "print"])
        .env("TINHSO_DATABASE__URL", "postgres://app:hunter2@db/x")
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && printed.contains("app:***@db") && !printed.contains("hunter2"),
        "{printed}"
    );
}

// ------------------------------------------------------------------ calendar administration

async fn calendar_schedule_and_office_hours(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = tinhso_platform::identity::user_by_username(&app.platform, "quantri.tinh")
        .await
        .unwrap()
        .unwrap();
    let (_, token) = tinhso_platform::identity::create_api_token(
        &app.platform,
        &app.ctx(),
        admin.id,
        "calendar admin",
        &[tinhso_core::access::Action::ManageCalendar],
        1,
    )
    .await
    .unwrap();
    let client = app.client();
    let due = |query: &'static str| {
        let client = client.clone();
        let url = app.url(&format!("/api/v1/calendar/due?{query}"));
        async move {
            client
                .get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()["due"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    assert_eq!(
        due("from=2027-02-03T16:00:00%2B07:00&working_days=3").await,
        "2027-02-15T16:00:00+07:00"
    );

    // The province adds Friday 12/2 as a day off and swaps Saturday 20/2 into a working day.
    let schedule = json!({
        "year": 2027,
        "extra_days_off": [{"date": "2027-02-12", "reason_vi": "Nghỉ Tết thêm", "reason_en": "Extra Tết day"}],
        "extra_working_days": [{"date": "2027-02-20", "reason_vi": "Làm bù", "reason_en": "Make-up day"}]
    });
    let stored = client
        .put(app.url("/api/v1/calendar/schedules/2027"))
        .bearer_auth(&token)
        .json(&schedule)
        .send()
        .await
        .unwrap();
    assert_eq!(stored.status().as_u16(), 200);
    let holidays: Value = client
        .get(app.url("/api/v1/calendar/holidays/2027"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        holidays["days_off"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["date"] == "2027-02-12")
    );
    // 1 h on Wed 3/2, 8 h on Thu 4/2, then 12/2 is off: 8 h on Mon 15/2 and 7 h on Tue 16/2.
    assert_eq!(
        due("from=2027-02-03T16:00:00%2B07:00&working_days=3").await,
        "2027-02-16T16:00:00+07:00"
    );
    // The swapped Saturday counts: from Friday 19/2 16:00, one working day ends Saturday 16:00.
    assert_eq!(
        due("from=2027-02-19T16:00:00%2B07:00&working_days=1").await,
        "2027-02-20T16:00:00+07:00"
    );

    // Office hours of a commune apply to it, not to the rest of the province.
    let nha_trang = tinhso_platform::org::resolve_agency_code(&app.platform, "000.00.31.H32")
        .await
        .unwrap()
        .unwrap();
    let hours = json!({"periods": [["07:00:00", "11:30:00"], ["13:30:00", "17:00:00"]]});
    let set = client
        .put(app.url(&format!("/api/v1/agencies/{}/office-hours", nha_trang.id)))
        .bearer_auth(&token)
        .json(&hours)
        .send()
        .await
        .unwrap();
    assert_eq!(set.status().as_u16(), 200);
    assert_eq!(
        due("from=2027-03-03T07:10:00%2B07:00&working_hours=1&agency=000.00.31.H32").await,
        "2027-03-03T08:10:00+07:00"
    );
    assert_eq!(
        due("from=2027-03-03T07:10:00%2B07:00&working_hours=1").await,
        "2027-03-03T08:30:00+07:00"
    );
    let bad = client
        .put(app.url(&format!("/api/v1/agencies/{}/office-hours", nha_trang.id)))
        .bearer_auth(&token)
        .json(&json!({"periods": [["13:00:00", "11:00:00"]]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 422);
    app.stop().await;
}
both!(calendar_schedule_and_office_hours);
