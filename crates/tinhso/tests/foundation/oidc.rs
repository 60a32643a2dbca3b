//! Citizen login through a real OpenID Connect provider: the certified npm `oidc-provider`,
//! started from `e2e/oidc-provider.mjs` on a loopback port, driven through every redirect of
//! the authorization-code flow with PKCE.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::support::WriteBehind;
use super::support::{Backend, TestApp};

const PERSONAL_ID: &str = "079200001234";
const CITIZEN_NAME: &str = "Nguyễn Văn Định Danh";
const CLIENT_ID: &str = "tinhso-test";

/// The provider process; killed when dropped.
struct Provider {
    issuer: String,
    _child: tokio::process::Child,
}

fn e2e_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../e2e")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_provider(port: u16, client_secret: &str, redirect_uri: &str) -> Provider {
    let dir = e2e_dir();
    assert!(
        dir.join("node_modules/oidc-provider").is_dir(),
        "{} has no node_modules/oidc-provider: run `npm ci --ignore-scripts` in e2e/ first",
        dir.display()
    );
    let node = ["/usr/bin/node", "/usr/local/bin/node"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or("node");
    let mut child = tokio::process::Command::new(node)
        .arg("oidc-provider.mjs")
        .current_dir(&dir)
        .env("OIDC_PORT", port.to_string())
        .env("OIDC_CLIENT_ID", CLIENT_ID)
        .env("OIDC_CLIENT_SECRET", client_secret)
        .env("OIDC_REDIRECT_URI", redirect_uri)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start node ({node}): {e}"));
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(issuer) = line.strip_prefix("READY ") {
                return Some(issuer.trim().to_owned());
            }
        }
        None
    })
    .await
    .expect("the OpenID Connect provider did not start within 30 s")
    .expect("the OpenID Connect provider exited before it was ready");
    // Keep draining stdout so the provider never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Provider {
        issuer: ready,
        _child: child,
    }
}

/// Follows redirects by hand from `/login/oidc` through the provider until the provider
/// sends the browser back to the callback; returns the callback URL, not yet visited.
async fn authorize(app: &TestApp, client: &reqwest::Client) -> reqwest::Url {
    let mut url = reqwest::Url::parse(&app.url("/login/oidc")).unwrap();
    for _ in 0..15 {
        if url.path() == "/login/oidc/callback" && url.as_str().starts_with(&app.base) {
            return url;
        }
        let response = client.get(url.clone()).send().await.unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        let Some(location) = location.filter(|_| status.is_redirection()) else {
            let body = response.text().await.unwrap_or_default();
            panic!("{url} answered {status} without a redirect: {body}");
        };
        url = url.join(&location).unwrap();
    }
    panic!("too many redirects before the callback (last: {url})");
}

fn with_query(url: &reqwest::Url, change: impl Fn(&str, &str) -> Option<String>) -> reqwest::Url {
    let mut changed = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter_map(|(k, v)| change(&k, &v).map(|v| (k.into_owned(), v)))
        .collect();
    changed.query_pairs_mut().clear().extend_pairs(pairs);
    changed
}

async fn home_of(app: &TestApp, client: &reqwest::Client) -> String {
    client
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(app.platform.db.pool())
        .await
        .unwrap()
}

async fn oidc_citizen_login(backend: Backend) {
    let provider_port = free_port();
    let issuer = format!("http://127.0.0.1:{provider_port}");
    let secret = format!("secret-{}", rand::random::<u64>());
    let app = TestApp::start_with_base(backend, |config, base| {
        config.server.public_url = base.to_owned();
        config.oidc.issuer_url = issuer.clone();
        config.oidc.client_id = CLIENT_ID.into();
        config.oidc.client_secret = secret.clone();
    })
    .await;
    let provider = start_provider(provider_port, &secret, &app.url("/login/oidc/callback")).await;
    assert_eq!(provider.issuer, issuer);

    let login_page = home_of_path(&app, "/login").await;
    assert!(
        login_page.contains("href=\"/login/oidc\""),
        "no e-identity button"
    );

    // 1. A tampered state is refused, and nothing is logged in.
    let client = app.client();
    let callback = authorize(&app, &client).await;
    assert!(
        callback.query_pairs().any(|(k, _)| k == "code"),
        "{callback}"
    );
    let tampered = with_query(&callback, |k, v| {
        Some(if k == "state" {
            format!("{v}x")
        } else {
            v.to_owned()
        })
    });
    let response = client.get(tampered).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let page = response.text().await.unwrap();
    assert!(page.contains("định danh điện tử"), "{page}");
    assert!(!home_of(&app, &client).await.contains("Đăng xuất"));

    // 2. An absent state is refused (with a fresh pending login).
    let callback = authorize(&app, &client).await;
    let stateless = with_query(&callback, |k, v| (k != "state").then(|| v.to_owned()));
    let response = client.get(stateless).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);

    // 3. A genuine callback in another browser (no pending-login cookie) is refused: the
    //    login cannot be planted into someone else's browser.
    let callback = authorize(&app, &client).await;
    let response = app.client().get(callback.clone()).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM users WHERE personal_id = '{PERSONAL_ID}'")
        )
        .await,
        0,
        "a refused login created an account"
    );

    // 4. The real login: account created, session open, audited.
    let response = client.get(callback).send().await.unwrap();
    assert_eq!(
        response.status().as_u16(),
        303,
        "{:?}",
        response.text().await
    );
    assert_eq!(response.headers()["location"], "/");
    let home = home_of(&app, &client).await;
    assert!(
        home.contains("Đăng xuất") && home.contains(CITIZEN_NAME),
        "{home}"
    );
    let user = tinhso_platform::identity::user_by_username(&app.platform, PERSONAL_ID)
        .await
        .unwrap()
        .expect("no citizen account keyed by the personal ID");
    assert_eq!(user.kind, tinhso_core::identity::AccountKind::Citizen);
    assert_eq!(user.personal_id.as_deref(), Some(PERSONAL_ID));
    assert_eq!(user.display_name, CITIZEN_NAME);
    let (linked_issuer, subject): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT oidc_issuer, oidc_subject FROM users WHERE id = $1")
            .bind(user.id)
            .fetch_one(app.platform.db.pool())
            .await
            .unwrap();
    assert_eq!(linked_issuer.as_deref(), Some(issuer.as_str()));
    assert_eq!(subject.as_deref(), Some("test-citizen-1"));
    let logins = "SELECT COUNT(*) FROM audit_log WHERE action = 'session.login_oidc'";
    assert_eq!(count(&app, logins).await, 1);
    assert_eq!(
        count(&app, &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'user.create' AND actor = 'oidc' AND object_id = '{}'", user.id)).await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'user.oidc_link' AND actor = 'oidc'"
        )
        .await,
        1
    );

    // 5. A second login (another browser) reuses the same account.
    let other = app.client();
    let callback = authorize(&app, &other).await;
    let response = other.get(callback).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 303);
    assert!(home_of(&app, &other).await.contains("Đăng xuất"));
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM users WHERE personal_id = '{PERSONAL_ID}'")
        )
        .await,
        1
    );
    assert_eq!(count(&app, logins).await, 2);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'user.create' AND actor = 'oidc'"
        )
        .await,
        1
    );

    // 6. The account is linked to another subject of this provider: refused. Linked to
    //    another provider (the installation moved): relinked, audited.
    exec(
        &app,
        format!(
            "UPDATE users SET oidc_subject = 'someone-else' WHERE id = {}",
            user.id
        ),
    )
    .await;
    let third = app.client();
    let callback = authorize(&app, &third).await;
    let response = third.get(callback).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert!(!home_of(&app, &third).await.contains("Đăng xuất"));
    exec(&app, format!(
        "UPDATE users SET oidc_issuer = 'https://old-id.example', oidc_subject = 'old' WHERE id = {}",
        user.id
    ))
    .await;
    let callback = authorize(&app, &third).await;
    let response = third.get(callback).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'user.oidc_link'"
        )
        .await,
        2
    );
    assert_eq!(count(&app, logins).await, 3);

    // A disabled account stays closed.
    exec(
        &app,
        format!("UPDATE users SET disabled = 1 WHERE id = {}", user.id),
    )
    .await;
    let fourth = app.client();
    let callback = authorize(&app, &fourth).await;
    let response = fourth.get(callback).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(count(&app, logins).await, 3);

    // The audit chain still verifies with the new records in it.
    app.verified_audit_records().await;

    drop(provider);
    app.stop().await;
}
crate::both!(oidc_citizen_login);

async fn home_of_path(app: &TestApp, path: &str) -> String {
    app.client()
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn exec(app: &TestApp, sql: String) {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .write_behind(&app.platform.db)
        .await
        .unwrap();
}
