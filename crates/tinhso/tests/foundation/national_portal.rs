//! National portal sync (issue 3, item 9) against a real HTTP server on 127.0.0.1 that
//! imitates the portal's integration API: it checks the login and the session of every
//! call and records each call. A dossier goes through its life with a pinned clock; the
//! outbox worker delivers `DongBoHoSoMC` / `CapNhatTienDoHoSoMC`, and the test checks field
//! names, `TrangThaiHoSo` codes and `yyyyMMddHHmmss` Vietnam-time dates exactly. Then the
//! portal is down, failing, refusing our password and refusing a record: messages wait and
//! go later, or end dead when the portal refuses the record itself. And a change committed
//! while a call is in flight is sent again, so the portal ends on the newest state. Both
//! databases.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post as route_post;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tinhso_platform::config::NationalPortalConfig;
use tinhso_platform::outbox::{Dispatch, WorkerOptions, tick_dispatch};

use super::onestop::{act, answers, post, token};
use super::support::{Backend, TestApp, upload_documents};
use crate::both;

both!(portal_receives_each_state_with_exact_fields);
both!(portal_down_failing_or_refusing_keeps_messages);
both!(a_change_during_the_call_is_sent_again);

const USER: &str = "khanhhoa";
const PASSWORD: &str = "mat-khau-dung";
const AGENCY: &str = "000.00.00.H32";

/// What the imitation portal knows and saw.
#[derive(Debug, Default)]
struct PortalState {
    password: String,
    issued: u32,
    valid_sessions: Vec<String>,
    logins: usize,
    /// (session header, body) of every accepted service call.
    calls: Vec<(String, Value)>,
    fail_with_500: bool,
    /// Answer every record with a non-success `error_code`.
    refuse_records: bool,
    /// Hold the next service call: say it arrived, wait for the release, then answer.
    hold: Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::sync::oneshot::Receiver<()>,
    )>,
}

type Shared = Arc<Mutex<PortalState>>;

struct FakePortal {
    base: String,
    state: Shared,
    server: tokio::task::JoinHandle<()>,
}

async fn auth(
    State(state): State<Shared>,
    axum::Json(body): axum::Json<Value>,
) -> axum::Json<Value> {
    let mut s = state.lock().unwrap();
    s.logins += 1;
    if body["username"] == USER && body["password"] == s.password.as_str() {
        s.issued += 1;
        let session = format!("phien-{}", s.issued);
        s.valid_sessions.push(session.clone());
        axum::Json(json!({ "session": session, "error_code": 0 }))
    } else {
        axum::Json(json!({ "error_code": 1, "message": "Sai tên đăng nhập hoặc mật khẩu" }))
    }
}

async fn service(
    State(state): State<Shared>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> (StatusCode, axum::Json<Value>) {
    let hold = state.lock().unwrap().hold.take();
    if let Some((arrived, release)) = hold {
        let _ = arrived.send(());
        let _ = release.await;
    }
    let mut s = state.lock().unwrap();
    if s.fail_with_500 {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({ "error": "bảo trì" })),
        );
    }
    let session = headers
        .get("session")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if !s.valid_sessions.contains(&session) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({ "error_code": 401, "message": "Phiên làm việc hết hạn" })),
        );
    }
    if s.refuse_records {
        return (
            StatusCode::OK,
            axum::Json(json!({ "error_code": "99", "message": "Mã thủ tục không tồn tại" })),
        );
    }
    s.calls.push((session, body));
    (
        StatusCode::OK,
        axum::Json(json!({ "error_code": "00", "message": "Thành công" })),
    )
}

impl FakePortal {
    async fn start_on(listener: tokio::net::TcpListener) -> Self {
        let state: Shared = Arc::new(Mutex::new(PortalState {
            password: PASSWORD.into(),
            ..PortalState::default()
        }));
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = axum::Router::new()
            .route("/auth", route_post(auth))
            .route("/service", route_post(service))
            .with_state(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            base,
            state,
            server,
        }
    }

    async fn start() -> Self {
        Self::start_on(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).await
    }

    fn calls(&self) -> Vec<(String, Value)> {
        self.state.lock().unwrap().calls.clone()
    }

    fn with<R>(&self, f: impl FnOnce(&mut PortalState) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }
}

impl Drop for FakePortal {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn portal_config(url: &str) -> NationalPortalConfig {
    NationalPortalConfig {
        enabled: true,
        url: url.to_owned(),
        username: USER.into(),
        password: PASSWORD.into(),
        agency_code: AGENCY.into(),
        ..NationalPortalConfig::default()
    }
}

/// The worker's dispatch for the portal topic only (notifications stay queued).
fn dispatch(app: &TestApp) -> Dispatch {
    let portal = tinhso_platform::national_portal::from_config(&app.platform.config)
        .unwrap()
        .expect("the connector is enabled");
    Dispatch::new().route(
        tinhso_onestop::portal_sync::TOPIC,
        Arc::new(tinhso_onestop::portal_sync::PortalSync::new(portal)),
    )
}

async fn deliver(app: &TestApp, dispatch: &Dispatch) -> usize {
    tick_dispatch(&app.platform, dispatch, &WorkerOptions::default())
        .await
        .unwrap()
}

/// (attempts, delivered, dead, last error) of the portal's outbox rows, oldest first.
async fn portal_rows(app: &TestApp) -> Vec<(i64, bool, bool, String)> {
    use sqlx::Row;
    sqlx::query("SELECT attempts, delivered_ms, dead_ms, last_error FROM outbox WHERE topic = 'national_portal' ORDER BY id")
        .fetch_all(app.platform.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.try_get::<i64, _>(0).unwrap(),
                r.try_get::<Option<i64>, _>(1).unwrap().is_some(),
                r.try_get::<Option<i64>, _>(2).unwrap().is_some(),
                r.try_get::<Option<String>, _>(3)
                    .unwrap()
                    .unwrap_or_default(),
            )
        })
        .collect()
}

fn keys(record: &Value) -> Vec<String> {
    let mut names: Vec<String> = record.as_object().unwrap().keys().cloned().collect();
    names.sort_unstable();
    names
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    v.sort_unstable();
    v
}

const DONG_BO_FIELDS: [&str; 20] = [
    "MaHoSo",
    "MaTTHC",
    "TenTTHC",
    "MaLinhVuc",
    "TenLinhVuc",
    "SoBienNhan",
    "ChuHoSo",
    "LoaiDoiTuong",
    "MaDoiTuong",
    "SoDienThoai",
    "Email",
    "TrichYeuHoSo",
    "NgayTiepNhan",
    "NgayHenTra",
    "TrangThaiHoSo",
    "NgayTra",
    "HinhThuc",
    "NgayKetThucXuLy",
    "DonViXuLy",
    "KenhThucHien",
];

const CAP_NHAT_FIELDS: [&str; 9] = [
    "MaHoSo",
    "NguoiXuLy",
    "ChucDanh",
    "ThoiDiemXuLy",
    "PhongBanXuLy",
    "NoiDungXuLy",
    "TrangThai",
    "NgayBatDau",
    "NgayKetThucTheoQuyDinh",
];

/// Checks one delivered event: a `DongBoHoSoMC` call then a `CapNhatTienDoHoSoMC` call, with
/// the portal's exact field names; returns the two records.
fn pair(calls: &[(String, Value)], code: &str) -> (Value, Value) {
    let [(_, dong_bo), (_, cap_nhat)] = calls else {
        panic!("expected two calls, got {calls:?}");
    };
    assert_eq!(dong_bo["service"], "DongBoHoSoMC", "{dong_bo}");
    assert_eq!(dong_bo["MaDinhDanhDV"], AGENCY);
    assert_eq!(cap_nhat["service"], "CapNhatTienDoHoSoMC", "{cap_nhat}");
    let (d, c) = (dong_bo["data"][0].clone(), cap_nhat["data"][0].clone());
    assert_eq!(keys(&d), sorted(&DONG_BO_FIELDS));
    assert_eq!(keys(&c), sorted(&CAP_NHAT_FIELDS));
    assert_eq!(
        (d["MaHoSo"].as_str(), c["MaHoSo"].as_str()),
        (Some(code), Some(code))
    );
    (dong_bo.clone(), c)
}

async fn portal_receives_each_state_with_exact_fields(backend: Backend) {
    let portal = FakePortal::start().await;
    let url = portal.base.clone();
    let app = TestApp::start_with(backend, |c| c.national_portal = portal_config(&url)).await;
    let client = app.client();
    let citizen = token(&app, "001099000001").await;
    let counter = token(&app, "motcua").await;
    let specialist = token(&app, "chuyenvien").await;
    let leader = token(&app, "lanhdao").await;
    let dispatch = dispatch(&app);
    let form = answers(&app, "1.001193").await;

    // Filed online Monday 1/3/2027 08:00: "Mới đăng ký" (1), not yet received.
    app.clock.set("2027-03-01T08:00:00+07:00");
    let (status, filed) = post(&client, app.url("/api/v1/dossiers"), &citizen, &json!({
        "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "online", "form": form,
        "documents": upload_documents(&app, &client, &citizen, 3).await,
    })).await;
    assert_eq!(status, 200, "{filed}");
    let code = filed["code"].as_str().unwrap().to_owned();
    assert_eq!(deliver(&app, &dispatch).await, 1);
    let calls = portal.calls();
    assert!(calls.iter().all(|(session, _)| session == "phien-1"));
    let (dong_bo, step) = pair(&calls, &code);
    assert_eq!(
        dong_bo["isUpdating"], false,
        "the first sync creates the dossier"
    );
    let d = &dong_bo["data"][0];
    for (field, value) in [
        ("TrangThaiHoSo", "1"),
        ("MaTTHC", "1.001193"),
        ("TenTTHC", "Đăng ký khai sinh"),
        ("SoBienNhan", code.as_str()),
        ("ChuHoSo", "Nguyễn Văn An"),
        ("LoaiDoiTuong", "1"),
        ("MaDoiTuong", "001099000001"),
        ("NgayTiepNhan", ""),
        ("NgayHenTra", ""),
        ("NgayTra", ""),
        ("HinhThuc", "0"),
        ("KenhThucHien", "2"),
    ] {
        assert_eq!(d[field], value, "{field} in {d}");
    }
    for (field, value) in [
        ("TrangThai", "1"),
        ("ThoiDiemXuLy", "20270301080000"),
        ("NgayBatDau", "20270301080000"),
        ("NoiDungXuLy", "Nộp hồ sơ"),
        ("NguoiXuLy", "Nguyễn Văn An"),
        ("NgayKetThucTheoQuyDinh", ""),
    ] {
        assert_eq!(step[field], value, "{field} in {step}");
    }

    // Accepted at 02:00 UTC, i.e. 09:00 in Vietnam: every date says Vietnam time. Eight
    // working hours → Tuesday 09:00.
    app.clock.set("2027-03-01T02:00:00Z");
    let (status, accepted) = act(&app, &client, &counter, &code, json!({"action": "accept"})).await;
    assert_eq!(
        (status, accepted["due_at"].as_str()),
        (200, Some("2027-03-02T09:00:00+07:00"))
    );
    assert_eq!(deliver(&app, &dispatch).await, 1);
    let (dong_bo, step) = pair(&portal.calls()[2..], &code);
    assert_eq!(dong_bo["isUpdating"], true);
    let d = &dong_bo["data"][0];
    assert_eq!(
        (
            d["TrangThaiHoSo"].as_str(),
            d["NgayTiepNhan"].as_str(),
            d["NgayHenTra"].as_str(),
            d["DonViXuLy"].as_str()
        ),
        (
            Some("2"),
            Some("20270301090000"),
            Some("20270302090000"),
            Some("Ủy ban nhân dân phường Nha Trang")
        ),
        "{d}"
    );
    for (field, value) in [
        ("TrangThai", "2"),
        ("ThoiDiemXuLy", "20270301090000"),
        ("NgayBatDau", "20270301080000"),
        ("NgayKetThucTheoQuyDinh", "20270302090000"),
        ("NoiDungXuLy", "Tiếp nhận hồ sơ"),
        ("NguoiXuLy", "Phạm Minh Châu (bộ phận một cửa)"),
    ] {
        assert_eq!(step[field], value, "{field} in {step}");
    }

    // The portal forgets our session: the connector logs in again, once, and goes on.
    portal.with(|s| s.valid_sessions.clear());
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
    assert_eq!(deliver(&app, &dispatch).await, 1);
    let calls = portal.calls();
    let (dong_bo, step) = pair(&calls[4..], &code);
    assert_eq!(dong_bo["data"][0]["TrangThaiHoSo"], "4");
    assert_eq!(
        (step["TrangThai"].as_str(), step["NgayBatDau"].as_str()),
        (Some("4"), Some("20270301090000"))
    );
    assert!(calls[4..].iter().all(|(session, _)| session == "phien-2"));
    assert_eq!(portal.with(|s| s.logins), 2);

    // Two changes before the worker runs: both messages carry the state read when they are
    // sent, so the portal never ends on an older state than the dossier's.
    app.clock.set("2027-03-01T14:00:00+07:00");
    assert_eq!(
        act(
            &app,
            &client,
            &leader,
            &code,
            json!({"action": "approve", "note": "Đồng ý"})
        )
        .await
        .0,
        200
    );
    app.clock.set("2027-03-01T15:00:00+07:00");
    assert_eq!(
        act(
            &app,
            &client,
            &counter,
            &code,
            json!({"action": "return_result", "method": "postal"})
        )
        .await
        .0,
        200
    );
    assert_eq!(deliver(&app, &dispatch).await, 2);
    let calls = portal.calls();
    assert_eq!(calls.len(), 10);
    let (_, approved) = pair(&calls[6..8], &code);
    let (last, returned) = pair(&calls[8..10], &code);
    for (_, body) in calls[6..]
        .iter()
        .filter(|(_, b)| b["service"] == "DongBoHoSoMC")
    {
        let d = &body["data"][0];
        assert_eq!(
            (
                d["TrangThaiHoSo"].as_str(),
                d["NgayKetThucXuLy"].as_str(),
                d["NgayTra"].as_str(),
                d["HinhThuc"].as_str()
            ),
            (
                Some("10"),
                Some("20270301140000"),
                Some("20270301150000"),
                Some("1")
            ),
            "{d}"
        );
    }
    assert_eq!(last["data"][0]["TrangThaiHoSo"], "10");
    assert_eq!(
        (
            approved["TrangThai"].as_str(),
            approved["NoiDungXuLy"].as_str(),
            approved["NguoiXuLy"].as_str(),
            approved["ThoiDiemXuLy"].as_str()
        ),
        (
            Some("9"),
            Some("Đã xử lý xong: Đồng ý"),
            Some("Võ Văn Dũng (lãnh đạo)"),
            Some("20270301140000")
        )
    );
    assert_eq!(
        (
            returned["TrangThai"].as_str(),
            returned["ThoiDiemXuLy"].as_str()
        ),
        (Some("10"), Some("20270301150000"))
    );
    for (_, body) in &calls {
        for key in [
            "NgayTiepNhan",
            "NgayHenTra",
            "NgayTra",
            "ThoiDiemXuLy",
            "NgayBatDau",
        ] {
            if let Some(v) = body["data"][0][key].as_str().filter(|v| !v.is_empty()) {
                assert!(
                    v.len() == 14 && v.bytes().all(|b| b.is_ascii_digit()),
                    "{key}: {v}"
                );
            }
        }
    }

    // Nothing is left, nothing went twice.
    assert_eq!(deliver(&app, &dispatch).await, 0);
    let rows = portal_rows(&app).await;
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r.1 && !r.2 && r.0 == 1), "{rows:?}");
    assert_eq!(portal.calls().len(), 10);
    app.stop().await;
}

async fn portal_down_failing_or_refusing_keeps_messages(backend: Backend) {
    // A port with nobody listening: connection refused.
    let addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let url = format!("http://{addr}");
    let app = TestApp::start_with(backend, |c| c.national_portal = portal_config(&url)).await;
    let client = app.client();
    let citizen = token(&app, "001099000001").await;
    let counter = token(&app, "motcua").await;
    let specialist = token(&app, "chuyenvien").await;
    let leader = token(&app, "lanhdao").await;
    let dispatch = dispatch(&app);
    let form = answers(&app, "1.001193").await;

    app.clock.set("2027-03-01T08:00:00+07:00");
    let (_, filed) = post(&client, app.url("/api/v1/dossiers"), &citizen, &json!({
        "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "online", "form": form,
        "documents": upload_documents(&app, &client, &citizen, 3).await,
    })).await;
    let code = filed["code"].as_str().unwrap().to_owned();
    assert_eq!(deliver(&app, &dispatch).await, 1);
    let rows = portal_rows(&app).await;
    assert_eq!(rows.len(), 1);
    let (attempts, delivered, dead, error) = &rows[0];
    assert_eq!((*attempts, *delivered, *dead), (1, false, false), "{error}");
    assert!(error.contains("unreachable"), "{error}");
    // Backing off: not retried at once.
    assert_eq!(deliver(&app, &dispatch).await, 0);

    // The portal comes up on that address; after the backoff the message goes.
    let mut listener = None;
    for _ in 0..50 {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => {
                listener = Some(l);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    let portal = FakePortal::start_on(listener.expect("the address is free again")).await;
    app.clock.set("2027-03-01T08:00:31+07:00");
    assert_eq!(deliver(&app, &dispatch).await, 1);
    assert!(portal_rows(&app).await[0].1);
    pair(&portal.calls(), &code);

    // A 500 answer: kept and retried.
    portal.with(|s| s.fail_with_500 = true);
    app.clock.set("2027-03-01T09:00:00+07:00");
    assert_eq!(
        act(&app, &client, &counter, &code, json!({"action": "accept"}))
            .await
            .0,
        200
    );
    assert_eq!(deliver(&app, &dispatch).await, 1);
    let (attempts, delivered, dead, error) = portal_rows(&app).await[1].clone();
    assert_eq!((attempts, delivered, dead), (1, false, false));
    assert!(error.contains("500"), "{error}");
    portal.with(|s| s.fail_with_500 = false);
    app.clock.set("2027-03-01T09:00:31+07:00");
    assert_eq!(deliver(&app, &dispatch).await, 1);
    assert!(portal_rows(&app).await[1].1);
    assert_eq!(portal.calls().len(), 4);

    // The portal's password was changed and ours was not: a clear failure, the message
    // kept (not dead), and delivered once the credentials match again.
    portal.with(|s| {
        s.password = "mat-khau-moi".into();
        s.valid_sessions.clear();
    });
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
    assert_eq!(deliver(&app, &dispatch).await, 1);
    let (attempts, delivered, dead, error) = portal_rows(&app).await[2].clone();
    assert_eq!((attempts, delivered, dead), (1, false, false), "{error}");
    assert!(
        error.contains("refused the login of `khanhhoa`")
            && error.contains("national_portal.password"),
        "{error}"
    );
    assert!(!error.contains(PASSWORD), "no secret in the error: {error}");
    app.clock.set("2027-03-01T10:00:31+07:00");
    assert_eq!(deliver(&app, &dispatch).await, 1);
    assert_eq!(portal_rows(&app).await[2].0, 2);
    portal.with(|s| s.password = PASSWORD.into());
    app.clock.set("2027-03-01T10:02:00+07:00");
    assert_eq!(deliver(&app, &dispatch).await, 1);
    let row = portal_rows(&app).await[2].clone();
    assert!(row.1 && !row.2, "{row:?}");
    let (dong_bo, step) = pair(&portal.calls()[4..], &code);
    assert_eq!(
        (
            dong_bo["data"][0]["TrangThaiHoSo"].as_str(),
            step["TrangThai"].as_str()
        ),
        (Some("4"), Some("4"))
    );

    // The portal refuses the record itself, even with a fresh session: dead at once, kept
    // for operators with the portal's answer.
    portal.with(|s| s.refuse_records = true);
    app.clock.set("2027-03-01T11:00:00+07:00");
    assert_eq!(
        act(&app, &client, &leader, &code, json!({"action": "approve"}))
            .await
            .0,
        200
    );
    let logins = portal.with(|s| s.logins);
    assert_eq!(deliver(&app, &dispatch).await, 1);
    let (attempts, delivered, dead, error) = portal_rows(&app).await[3].clone();
    assert_eq!((attempts, delivered, dead), (1, false, true), "{error}");
    assert!(error.contains("error_code \"99\""), "{error}");
    assert_eq!(
        portal.with(|s| s.logins),
        logins + 1,
        "one fresh session tried"
    );
    app.stop().await;
}

/// A change committed while a `DongBoHoSoMC` call is in flight (as when another node is
/// sending): the handler sees the dossier moved and sends the newer state before it is done,
/// so the portal does not end on the older one.
async fn a_change_during_the_call_is_sent_again(backend: Backend) {
    let portal = FakePortal::start().await;
    let url = portal.base.clone();
    let app = TestApp::start_with(backend, |c| c.national_portal = portal_config(&url)).await;
    let client = app.client();
    let citizen = token(&app, "001099000001").await;
    let counter = token(&app, "motcua").await;
    let specialist = token(&app, "chuyenvien").await;
    let dispatch = dispatch(&app);
    let form = answers(&app, "1.001193").await;

    app.clock.set("2027-03-01T08:00:00+07:00");
    let (_, filed) = post(&client, app.url("/api/v1/dossiers"), &citizen, &json!({
        "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "online", "form": form,
        "documents": upload_documents(&app, &client, &citizen, 3).await,
    })).await;
    let code = filed["code"].as_str().unwrap().to_owned();
    assert_eq!(deliver(&app, &dispatch).await, 1);
    app.clock.set("2027-03-01T09:00:00+07:00");
    assert_eq!(
        act(&app, &client, &counter, &code, json!({"action": "accept"}))
            .await
            .0,
        200
    );

    // The acceptance's sync is held at the portal while processing starts.
    let (arrived_tx, arrived) = tokio::sync::oneshot::channel();
    let (release, release_rx) = tokio::sync::oneshot::channel();
    portal.with(|s| s.hold = Some((arrived_tx, release_rx)));
    let worker = {
        let (platform, dispatch) = (app.platform.clone(), dispatch.clone());
        tokio::spawn(async move {
            tick_dispatch(&platform, &dispatch, &WorkerOptions::default())
                .await
                .unwrap()
        })
    };
    arrived.await.unwrap();
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
    release.send(()).unwrap();
    assert_eq!(worker.await.unwrap(), 1);
    let calls = portal.calls();
    let services: Vec<(&str, &str)> = calls[2..]
        .iter()
        .map(|(_, b)| {
            let record = &b["data"][0];
            (
                b["service"].as_str().unwrap(),
                record["TrangThaiHoSo"]
                    .as_str()
                    .or(record["TrangThai"].as_str())
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(
        services,
        [
            ("DongBoHoSoMC", "2"),
            ("DongBoHoSoMC", "4"),
            ("CapNhatTienDoHoSoMC", "2")
        ],
        "the newer state follows the one that was overtaken"
    );

    // The start of processing goes as usual; the portal's last upsert is the current state.
    assert_eq!(deliver(&app, &dispatch).await, 1);
    let calls = portal.calls();
    let (last, step) = pair(&calls[5..], &code);
    assert_eq!(
        (
            last["data"][0]["TrangThaiHoSo"].as_str(),
            step["TrangThai"].as_str()
        ),
        (Some("4"), Some("4"))
    );
    app.stop().await;
}
