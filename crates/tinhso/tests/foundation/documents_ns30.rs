//! Document management (Nghị định 30/2020) over HTTP, on SQLite and PostgreSQL: an incoming
//! document registered, routed, handled and answered by a reply that is approved, signed,
//! released with the right number and notation and dispatched to another agency of the
//! installation, where it arrives in the incoming register; duplicates refused with nothing
//! written; the confidential series kept apart and out of sight; numbering under
//! concurrency; bad input and wrong steps with stable codes; the exchange's service hooks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use tinhso_core::access::{Action, Role};
use tinhso_core::identity::AccountKind;
use tinhso_documents::domain::workflow::TransportStatus;
use tinhso_documents::exchange;
use tinhso_platform::identity::{NewUser, create_api_token, create_user, grant_role};

use super::onestop::{get, post, token};
use super::support::{Backend, TestApp, sample_pdf};
use crate::both;

pub(super) const NHA_TRANG: &str = "000.00.31.H32";
pub(super) const BAC_NHA_TRANG: &str = "000.00.32.H32";

/// A new official with one role at an agency: (user id, API token).
pub(super) async fn official(
    app: &TestApp,
    username: &str,
    role: Role,
    agency_code: &str,
) -> (i64, String) {
    let agency = tinhso_platform::org::resolve_agency_code(&app.platform, agency_code)
        .await
        .unwrap()
        .unwrap();
    let user = create_user(
        &app.platform,
        &app.ctx(),
        &NewUser {
            kind: AccountKind::Official,
            username: username.into(),
            display_name: format!("Cán bộ {username}"),
            personal_id: None,
            tax_code: None,
            email: format!("{username}@example.invalid"),
            phone: String::new(),
            agency_id: Some(agency.id),
            password: None,
            must_change_password: false,
        },
    )
    .await
    .unwrap();
    grant_role(&app.platform, &app.ctx(), user.id, role, agency.id)
        .await
        .unwrap();
    let token = create_api_token(&app.platform, &app.ctx(), user.id, "t", &Action::ALL, 366)
        .await
        .unwrap()
        .1;
    (user.id, token)
}

pub(super) async fn user_id(app: &TestApp, username: &str) -> i64 {
    tinhso_platform::identity::user_by_username(&app.platform, username)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Issuer abbreviations and units of the two wards, set as their administrator would.
pub(super) async fn settings(app: &TestApp) {
    for code in [NHA_TRANG, BAC_NHA_TRANG] {
        tinhso_documents::settings::put(
            &app.platform,
            &app.ctx(),
            code,
            &tinhso_documents::settings::Settings {
                issuer_abbreviation: "UBND".into(),
                units: vec![tinhso_documents::settings::Unit {
                    abbreviation: "VX".into(),
                    name: "Phòng Văn hóa - Xã hội".into(),
                }],
            },
        )
        .await
        .unwrap();
    }
}

async fn upload_file(app: &TestApp, bearer: &str, name: &str, n: usize) -> i64 {
    let r = app
        .client()
        .post(app.url("/api/v1/documents/files"))
        .query(&[("filename", name)])
        .bearer_auth(bearer)
        .body(sample_pdf(n))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

fn incoming_body(n: i64, file_id: Option<i64>, confidentiality: &str) -> Value {
    json!({
        "agency_code": NHA_TRANG,
        "source": "paper",
        "document_id": format!("000.00.00.H32,2026/02/27,{n}/KH-UBND"),
        "metadata": {
            "type_code": "plan",
            "subject": format!("Kế hoạch số {n} về chuyển đổi số"),
            "code_number": n.to_string(),
            "code_notation": "KH-UBND",
            "issued_date": "2026-02-27",
            "organ_id": "000.00.00.H32",
            "organ_name": "Ủy ban nhân dân tỉnh Khánh Hòa",
            "urgency": "urgent",
            "confidentiality": confidentiality,
        },
        "file_ids": file_id.into_iter().collect::<Vec<_>>(),
    })
}

pub(super) fn rule(body: &Value) -> &str {
    body["error"]["rule"].as_str().unwrap_or_default()
}

async fn incoming_reply_dispatched_internally(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.clock.set("2026-03-02T08:30:00+07:00");
    settings(&app).await;
    let c = app.client();
    let (_, clerk) = official(&app, "vanthu.nt", Role::Clerk, NHA_TRANG).await;
    let (_, clerk_b) = official(&app, "vanthu.bnt", Role::Clerk, BAC_NHA_TRANG).await;
    let leader = token(&app, "lanhdao").await;
    let specialist = token(&app, "chuyenvien").await;
    let specialist_id = user_id(&app, "chuyenvien").await;
    let citizen = token(&app, "001099000001").await;
    let api = |p: &str| app.url(&format!("/api/v1/documents{p}"));

    // Registration by the clerk, with the scan.
    let scan = upload_file(&app, &clerk, "van-ban-den.pdf", 1).await;
    let (s, doc) = post(
        &c,
        api("/incoming"),
        &clerk,
        &incoming_body(145, Some(scan), "normal"),
    )
    .await;
    assert_eq!(s, 201, "{doc}");
    let id = doc["id"].as_i64().unwrap();
    assert_eq!(doc["arrival_number"], 1);
    assert_eq!(doc["arrival_label"], "01");
    assert_eq!(doc["year"], 2026);
    assert_eq!(doc["code"], "145/KH-UBND");
    assert_eq!(doc["status"], "registered");
    assert_eq!(doc["files"][0]["id"], scan);

    // Routing by the leader, progress by the main handler.
    let (s, doc) = post(
        &c,
        api(&format!("/incoming/{id}/assign")),
        &leader,
        &json!({"main_handler": specialist_id, "deadline": "2026-03-09", "direction": "Giao chuyên viên tham mưu trả lời"}),
    )
    .await;
    assert_eq!(s, 200, "{doc}");
    assert_eq!(doc["status"], "assigned");
    assert_eq!(doc["handlers"][0]["part"], "main");
    let (s, doc) = post(
        &c,
        api(&format!("/incoming/{id}/progress")),
        &specialist,
        &json!({"note": "Đang dự thảo trả lời"}),
    )
    .await;
    assert_eq!(s, 200, "{doc}");
    assert_eq!(doc["status"], "in_progress");
    // Only the main handler closes: the leader routed it but does not handle it.
    let (s, body) = post(
        &c,
        api(&format!("/incoming/{id}/done")),
        &leader,
        &json!({}),
    )
    .await;
    assert_eq!(
        (s, rule(&body)),
        (403, "document.done.main_handler_only"),
        "{body}"
    );

    // The reply: draft, submit, approve, sign, release.
    let draft_file = upload_file(&app, &specialist, "du-thao.pdf", 2).await;
    let (s, out) = post(
        &c,
        api("/outgoing"),
        &specialist,
        &json!({
            "agency_code": NHA_TRANG,
            "metadata": {"type_code": "official_letter", "subject": "V/v triển khai Kế hoạch 145/KH-UBND", "issued_amount": 3, "to_places": ["Lưu: VT, VX"]},
            "unit_abbreviation": "VX",
            "file_id": draft_file,
            "response_for": id,
        }),
    )
    .await;
    assert_eq!(s, 201, "{out}");
    let out_id = out["id"].as_i64().unwrap();
    assert_eq!(out["status"], "draft");
    assert_eq!(out["response_for"]["code"], "145/KH-UBND");
    // Releasing a draft skips the chain: refused.
    let (s, body) = post(
        &c,
        api(&format!("/outgoing/{out_id}/release")),
        &clerk,
        &json!({}),
    )
    .await;
    assert_eq!(
        (s, rule(&body)),
        (409, "document.transition.not_allowed"),
        "{body}"
    );
    let (s, body) = post(
        &c,
        api(&format!("/outgoing/{out_id}/review")),
        &specialist,
        &json!({"step": "submit"}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    // The leader sends it back once, with a reason; the drafter resubmits.
    let (s, body) = post(
        &c,
        api(&format!("/outgoing/{out_id}/review")),
        &leader,
        &json!({"step": "return"}),
    )
    .await;
    assert_eq!(
        (s, rule(&body)),
        (422, "document.reason.required"),
        "{body}"
    );
    let (s, body) = post(
        &c,
        api(&format!("/outgoing/{out_id}/review")),
        &leader,
        &json!({"step": "return", "comment": "Bổ sung thời hạn"}),
    )
    .await;
    assert_eq!((s, body["status"].as_str()), (200, Some("draft")), "{body}");
    let v2 = upload_file(&app, &specialist, "du-thao-2.pdf", 3).await;
    let (s, body) = post(
        &c,
        api(&format!("/outgoing/{out_id}/versions")),
        &specialist,
        &json!({"file_id": v2, "note": "Đã bổ sung"}),
    )
    .await;
    assert_eq!(
        (s, body["current_version"].as_i64()),
        (200, Some(2)),
        "{body}"
    );
    post(
        &c,
        api(&format!("/outgoing/{out_id}/review")),
        &specialist,
        &json!({"step": "submit"}),
    )
    .await;
    let (s, body) = post(
        &c,
        api(&format!("/outgoing/{out_id}/review")),
        &leader,
        &json!({"step": "approve", "comment": "Đồng ý"}),
    )
    .await;
    assert_eq!(
        (s, body["status"].as_str()),
        (200, Some("approved")),
        "{body}"
    );
    let signed = upload_file(&app, &leader, "da-ky.pdf", 4).await;
    let (s, body) = post(
        &c,
        api(&format!("/outgoing/{out_id}/sign")),
        &leader,
        &json!({"file_id": signed, "competence": "TM.", "signer_position": "Chủ tịch", "signer_name": "Võ Văn Dũng"}),
    )
    .await;
    assert_eq!(
        (s, body["status"].as_str()),
        (200, Some("signed")),
        "{body}"
    );
    let (s, out) = post(
        &c,
        api(&format!("/outgoing/{out_id}/release")),
        &clerk,
        &json!({}),
    )
    .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["code"], "01/UBND-VX");
    assert_eq!(out["number"], 1);
    assert_eq!(out["issued_date"], "2026-03-02");
    assert_eq!(out["document_id"], "000.00.31.H32,2026/03/02,01/UBND-VX");
    let steps: Vec<&str> = out["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["submit", "return", "submit", "approve", "sign", "release"]
    );

    // Dispatch: one agency of the installation, one outside.
    let (s, out) = post(
        &c,
        api(&format!("/outgoing/{out_id}/recipients")),
        &clerk,
        &json!({"add": [{"organ_id": BAC_NHA_TRANG}, {"organ_id": "000.00.00.G22", "organ_name": "Văn phòng Chính phủ"}]}),
    )
    .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["status"], "dispatched");
    let recipients = out["recipients"].as_array().unwrap();
    assert_eq!(recipients[0]["kind"], "internal");
    assert_eq!(recipients[1]["kind"], "external");
    assert_eq!(recipients[1]["transport_status"], "INITIAL");
    let arrived = recipients[0]["incoming_id"].as_i64().unwrap();

    // It arrived in the other ward's incoming register, with the signed file.
    let (s, got) = get(&c, api(&format!("/incoming/{arrived}")), &clerk_b).await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(got["agency_code"], BAC_NHA_TRANG);
    assert_eq!(got["arrival_number"], 1);
    assert_eq!(got["source"], "internal");
    assert_eq!(got["code"], "01/UBND-VX");
    assert_eq!(got["document_id"], "000.00.31.H32,2026/03/02,01/UBND-VX");
    assert_eq!(
        got["metadata"]["organ_name"],
        "Ủy ban nhân dân phường Nha Trang"
    );
    assert_eq!(got["files"][0]["id"], signed);
    let r = c
        .get(api(&format!("/files/{signed}")))
        .bearer_auth(&clerk_b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), sample_pdf(4));
    let (s, register) = get(
        &c,
        api(&format!("/registers/{BAC_NHA_TRANG}/2026?direction=in")),
        &clerk_b,
    )
    .await;
    assert_eq!(s, 200, "{register}");
    assert_eq!(register["incoming"][0]["arrival_number"], "01");
    assert_eq!(register["incoming"][0]["code"], "01/UBND-VX");
    let (s, register) = get(
        &c,
        api(&format!("/registers/{NHA_TRANG}/2026?direction=out")),
        &clerk,
    )
    .await;
    assert_eq!(s, 200, "{register}");
    assert_eq!(register["outgoing"][0]["code"], "01/UBND-VX");
    assert_eq!(register["outgoing"][0]["signer"], "Võ Văn Dũng");
    assert_eq!(register["outgoing"][0]["copies"], 3);
    let r = c
        .get(api(&format!(
            "/registers/{NHA_TRANG}/2026?direction=out&format=xlsx"
        )))
        .bearer_auth(&clerk)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));

    // The original shows its reply; the main handler closes it.
    let (_, doc) = get(&c, api(&format!("/incoming/{id}")), &specialist).await;
    assert_eq!(doc["replies"][0]["code"], "01/UBND-VX");
    let (s, doc) = post(
        &c,
        api(&format!("/incoming/{id}/done")),
        &specialist,
        &json!({"note": "Đã trả lời"}),
    )
    .await;
    assert_eq!((s, doc["status"].as_str()), (200, Some("done")), "{doc}");
    let (s, stats) = get(
        &c,
        api(&format!(
            "/statistics?agency={NHA_TRANG}&from=2026-01-01&to=2026-12-31"
        )),
        &leader,
    )
    .await;
    assert_eq!(s, 200, "{stats}");
    assert_eq!(
        (stats["incoming"].as_i64(), stats["outgoing"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        (
            stats["share_signed"].as_f64(),
            stats["share_on_time"].as_f64()
        ),
        (Some(1.0), Some(1.0))
    );
    assert_eq!(stats["share_incoming_electronic"].as_f64(), Some(0.0));

    // The matter's work file holds the incoming letter and its reply.
    let (s, wf) = post(
        &c,
        api("/work-files"),
        &specialist,
        &json!({"agency_code": NHA_TRANG, "metadata": {"file_notation": "VX.01", "title": "Hồ sơ triển khai chuyển đổi số", "maintenance": "10 năm", "start_date": "2026-03-02"}}),
    )
    .await;
    assert_eq!(s, 201, "{wf}");
    assert_eq!(wf["file_code"], "000.00.31.H32.2026.VX.01");
    let wf_id = wf["id"].as_i64().unwrap();
    post(
        &c,
        api(&format!("/work-files/{wf_id}/items")),
        &specialist,
        &json!({"direction": "in", "document_id": id}),
    )
    .await;
    let (s, wf) = post(
        &c,
        api(&format!("/work-files/{wf_id}/items")),
        &specialist,
        &json!({"direction": "out", "document_id": out_id}),
    )
    .await;
    assert_eq!((s, wf["doc_total"].as_i64()), (200, Some(2)), "{wf}");
    assert_eq!(wf["items"][1]["code"], "01/UBND-VX");
    let (s, body) = post(
        &c,
        api(&format!("/work-files/{wf_id}/items")),
        &specialist,
        &json!({"direction": "in", "document_id": id}),
    )
    .await;
    assert_eq!(
        (s, rule(&body)),
        (409, "work_file.item.duplicate"),
        "{body}"
    );
    let (s, body) = post(
        &c,
        api(&format!("/work-files/{wf_id}/items")),
        &specialist,
        &json!({"direction": "in", "document_id": arrived}),
    )
    .await;
    assert_eq!(s, 404, "another agency's document: {body}");
    let (s, _) = get(&c, api(&format!("/work-files/{wf_id}")), &clerk_b).await;
    assert_eq!(s, 404);

    // Out of reach: the other ward's clerk, a citizen, nobody at all.
    let (s, body) = get(&c, api(&format!("/incoming/{id}")), &clerk_b).await;
    assert_eq!(s, 404, "{body}");
    let (s, _) = get(&c, api(&format!("/outgoing/{out_id}")), &clerk_b).await;
    assert_eq!(s, 404);
    let (s, _) = get(&c, api(&format!("/incoming/{id}")), &citizen).await;
    assert_eq!(s, 404);
    let (s, body) = post(
        &c,
        api("/incoming"),
        &citizen,
        &incoming_body(7, None, "normal"),
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    let r = c.get(api(&format!("/incoming/{id}"))).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let (s, list) = get(
        &c,
        api(&format!("/incoming?agency={NHA_TRANG}&year=2026")),
        &clerk_b,
    )
    .await;
    assert_eq!(s, 404, "{list}");

    // The exchange: pending package, transport and business statuses, then revocation.
    let system = tinhso_platform::Ctx::system(app.platform.now_ms());
    let pending = exchange::pending_sends(&app.platform, 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].organ_id.as_str(), pending[0].package.as_str()),
        ("000.00.00.G22", "new")
    );
    exchange::record_transport_status(
        &app.platform,
        &system,
        pending[0].recipient_id,
        TransportStatus::Done,
        "",
    )
    .await
    .unwrap();
    assert!(
        exchange::pending_sends(&app.platform, 10)
            .await
            .unwrap()
            .is_empty()
    );
    exchange::record_business_status(
        &app.platform,
        &system,
        "000.00.31.H32,2026/03/02,01/UBND-VX",
        "000.00.00.G22",
        "03",
        "Đã tiếp nhận",
    )
    .await
    .unwrap();
    let bad = exchange::record_business_status(
        &app.platform,
        &system,
        "000.00.31.H32,2026/03/02,01/UBND-VX",
        "000.00.00.G22",
        "07",
        "",
    )
    .await
    .unwrap_err();
    assert_eq!(bad.code(), tinhso_core::ErrorCode::InvalidInput);
    let (s, out) = post(
        &c,
        api(&format!("/outgoing/{out_id}/revoke")),
        &clerk,
        &json!({"reason": "Sai thẩm quyền"}),
    )
    .await;
    assert_eq!((s, out["status"].as_str()), (200, Some("revoked")), "{out}");
    assert_eq!(out["recipients"][1]["business_status"], "03");
    let pending = exchange::pending_sends(&app.platform, 10).await.unwrap();
    assert_eq!(pending[0].package, "revoke");
    let (_, got) = get(&c, api(&format!("/incoming/{arrived}")), &clerk_b).await;
    assert_eq!(got["revoked"], true);
    app.stop().await;
}
both!(incoming_reply_dispatched_internally);

async fn duplicates_write_nothing(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.clock.set("2026-03-02T08:30:00+07:00");
    let c = app.client();
    let (_, clerk) = official(&app, "vanthu.nt", Role::Clerk, NHA_TRANG).await;
    let url = app.url("/api/v1/documents/incoming");
    let (s, first) = post(&c, url.clone(), &clerk, &incoming_body(145, None, "normal")).await;
    assert_eq!(s, 201, "{first}");
    let head = app.audit_head().await;
    // The same document identifier again.
    let (s, body) = post(&c, url.clone(), &clerk, &incoming_body(145, None, "normal")).await;
    assert_eq!((s, rule(&body)), (409, "document.duplicate"), "{body}");
    let detail = body["error"]["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
        + body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        detail.contains(&format!("id {}", first["id"]))
            || body.to_string().contains(&format!("id {}", first["id"])),
        "{body}"
    );
    // The same number, notation and issuer without an identifier (a paper copy).
    let mut copy = incoming_body(145, None, "normal");
    copy["document_id"] = Value::Null;
    let (s, body) = post(&c, url.clone(), &clerk, &copy).await;
    assert_eq!((s, rule(&body)), (409, "document.duplicate"), "{body}");
    assert_eq!(
        app.audit_head().await,
        head,
        "a refused duplicate writes nothing"
    );
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM doc_incoming")
        .fetch_one(app.platform.db.pool())
        .await
        .unwrap();
    assert_eq!(count, 1);
    // The refused ones consumed no number.
    let (s, next) = post(&c, url, &clerk, &incoming_body(146, None, "normal")).await;
    assert_eq!(
        (s, next["arrival_number"].as_i64()),
        (201, Some(2)),
        "{next}"
    );
    // The exchange registers a received package once.
    let system = tinhso_platform::Ctx::system(app.platform.now_ms());
    let received = exchange::ReceivedDocument {
        to_agency_code: NHA_TRANG.into(),
        document_id: "000.00.00.G22,2026/03/01,7816/VPCP-TTĐT".into(),
        metadata: serde_json::from_value(json!({
            "type_code": "official_letter", "subject": "V/v cung cấp thông tin",
            "code_number": "7816", "code_notation": "VPCP-TTĐT", "issued_date": "2026-03-01",
            "organ_id": "000.00.00.G22", "organ_name": "Văn phòng Chính phủ",
        }))
        .unwrap(),
        files: vec![exchange::ReceivedFile {
            filename: "7816.pdf".into(),
            blob: tinhso_documents::files::put_checked_bytes(&app.platform, &sample_pdf(9))
                .await
                .unwrap(),
        }],
    };
    let first = exchange::register_received(&app.platform, &system, &received)
        .await
        .unwrap();
    assert!(first.created);
    let head = app.audit_head().await;
    let again = exchange::register_received(&app.platform, &system, &received)
        .await
        .unwrap();
    assert_eq!(
        again,
        exchange::Received {
            incoming_id: first.incoming_id,
            created: false
        }
    );
    assert_eq!(app.audit_head().await, head);
    app.stop().await;
}
both!(duplicates_write_nothing);

async fn confidential_series_apart(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.clock.set("2026-03-02T08:30:00+07:00");
    let c = app.client();
    let (_, clerk) = official(&app, "vanthu.nt", Role::Clerk, NHA_TRANG).await;
    let specialist = token(&app, "chuyenvien").await;
    let leader = token(&app, "lanhdao").await;
    let url = app.url("/api/v1/documents/incoming");
    let (_, a) = post(&c, url.clone(), &clerk, &incoming_body(1, None, "normal")).await;
    let (s, secret) = post(&c, url.clone(), &clerk, &incoming_body(2, None, "secret")).await;
    assert_eq!(s, 201, "{secret}");
    let (_, b) = post(&c, url.clone(), &clerk, &incoming_body(3, None, "normal")).await;
    assert_eq!(
        (a["series"].as_str(), a["arrival_number"].as_i64()),
        (Some("normal"), Some(1))
    );
    assert_eq!(
        (secret["series"].as_str(), secret["arrival_number"].as_i64()),
        (Some("secret"), Some(1))
    );
    assert_eq!(
        (b["series"].as_str(), b["arrival_number"].as_i64()),
        (Some("normal"), Some(2))
    );
    let secret_id = secret["id"].as_i64().unwrap();
    // A specialist of the agency who is not its handler does not see it, nor its register.
    let (s, _) = get(
        &c,
        app.url(&format!("/api/v1/documents/incoming/{secret_id}")),
        &specialist,
    )
    .await;
    assert_eq!(s, 404);
    let (_, list) = get(
        &c,
        app.url(&format!("/api/v1/documents/incoming?agency={NHA_TRANG}")),
        &specialist,
    )
    .await;
    let ids: Vec<i64> = list["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{list}");
    assert!(!ids.contains(&secret_id));
    let (s, _) = get(
        &c,
        app.url(&format!(
            "/api/v1/documents/registers/{NHA_TRANG}/2026?series=secret"
        )),
        &specialist,
    )
    .await;
    assert_eq!(s, 404);
    // The leader sees it and makes the specialist its handler; then the specialist sees it.
    let (s, _) = get(
        &c,
        app.url(&format!("/api/v1/documents/incoming/{secret_id}")),
        &leader,
    )
    .await;
    assert_eq!(s, 200);
    let specialist_id = user_id(&app, "chuyenvien").await;
    let (s, body) = post(
        &c,
        app.url(&format!("/api/v1/documents/incoming/{secret_id}/assign")),
        &leader,
        &json!({"main_handler": specialist_id}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (s, _) = get(
        &c,
        app.url(&format!("/api/v1/documents/incoming/{secret_id}")),
        &specialist,
    )
    .await;
    assert_eq!(s, 200);
    let (s, register) = get(
        &c,
        app.url(&format!(
            "/api/v1/documents/registers/{NHA_TRANG}/2026?series=secret"
        )),
        &clerk,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(register["incoming"].as_array().unwrap().len(), 1);
    app.stop().await;
}
both!(confidential_series_apart);

async fn numbering_under_concurrency(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.clock.set("2026-03-02T08:30:00+07:00");
    let (_, clerk) = official(&app, "vanthu.nt", Role::Clerk, NHA_TRANG).await;
    let url = app.url("/api/v1/documents/incoming");
    let mut tasks = Vec::new();
    for n in 0..100 {
        let (c, url, clerk) = (app.client(), url.clone(), clerk.clone());
        tasks.push(tokio::spawn(async move {
            let r = c
                .post(url)
                .bearer_auth(clerk)
                .json(&incoming_body(1000 + n, None, "normal"))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            assert_eq!(status, 201, "{body}");
            body["arrival_number"].as_i64().unwrap()
        }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(
            tokio::time::timeout(std::time::Duration::from_secs(120), t)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=100).collect::<Vec<i64>>());
    app.stop().await;
}
both!(numbering_under_concurrency);

async fn bad_input_has_stable_codes(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.clock.set("2026-03-02T08:30:00+07:00");
    settings(&app).await;
    let c = app.client();
    let (_, clerk) = official(&app, "vanthu.nt", Role::Clerk, NHA_TRANG).await;
    let specialist = token(&app, "chuyenvien").await;
    let url = app.url("/api/v1/documents/incoming");
    let head = app.audit_head().await;
    let mut long = incoming_body(1, None, "normal");
    long["metadata"]["subject"] = json!("đ".repeat(501));
    let (s, body) = post(&c, url.clone(), &clerk, &long).await;
    assert_eq!(
        (s, rule(&body)),
        (422, "document.subject.too_long"),
        "{body}"
    );
    let mut bad = incoming_body(1, None, "normal");
    bad["metadata"]["type_code"] = json!("memo");
    let (s, body) = post(&c, url.clone(), &clerk, &bad).await;
    assert_eq!((s, rule(&body)), (422, "document.type.unknown"), "{body}");
    let mut bad = incoming_body(1, None, "normal");
    bad["document_id"] = json!("145/KH-UBND");
    let (s, body) = post(&c, url.clone(), &clerk, &bad).await;
    assert_eq!(
        (s, rule(&body)),
        (422, "document.document_id.invalid"),
        "{body}"
    );
    // Someone else's file is not yours to attach.
    let theirs = upload_file(&app, &specialist, "x.pdf", 1).await;
    let head_after_upload = app.audit_head().await;
    assert_eq!(head_after_upload, head + 1);
    let (s, body) = post(
        &c,
        url.clone(),
        &clerk,
        &incoming_body(1, Some(theirs), "normal"),
    )
    .await;
    assert_eq!((s, rule(&body)), (422, "document.file.unknown"), "{body}");
    // Not a PDF, JPEG or PNG.
    let r = c
        .post(app.url("/api/v1/documents/files?filename=a.html"))
        .bearer_auth(&clerk)
        .body("<html>")
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (status, rule(&body)),
        (422, "document.file.type_not_allowed"),
        "{body}"
    );
    assert_eq!(
        app.audit_head().await,
        head_after_upload,
        "refused input writes nothing"
    );
    // A Công văn without its unit; an unknown recipient; a wrong step.
    let file = upload_file(&app, &specialist, "d.pdf", 2).await;
    let draft = json!({"agency_code": NHA_TRANG, "metadata": {"type_code": "official_letter", "subject": "V/v"}, "file_id": file});
    let (s, body) = post(
        &c,
        app.url("/api/v1/documents/outgoing"),
        &specialist,
        &draft,
    )
    .await;
    assert_eq!(
        (s, rule(&body)),
        (422, "document.unit_abbreviation.required"),
        "{body}"
    );
    let mut draft = draft;
    draft["unit_abbreviation"] = json!("KT");
    let (s, body) = post(
        &c,
        app.url("/api/v1/documents/outgoing"),
        &specialist,
        &draft,
    )
    .await;
    assert_eq!(
        (s, rule(&body)),
        (422, "document.unit_abbreviation.unknown"),
        "{body}"
    );
    draft["unit_abbreviation"] = json!("VX");
    let (s, out) = post(
        &c,
        app.url("/api/v1/documents/outgoing"),
        &specialist,
        &draft,
    )
    .await;
    assert_eq!(s, 201, "{out}");
    let id = out["id"].as_i64().unwrap();
    let (s, body) = post(
        &c,
        app.url(&format!("/api/v1/documents/outgoing/{id}/recipients")),
        &clerk,
        &json!({"add": [{"organ_id": "khong-ton-tai"}]}),
    )
    .await;
    assert_eq!(
        (s, rule(&body)),
        (422, "document.recipient.invalid"),
        "{body}"
    );
    let (s, body) = post(
        &c,
        app.url(&format!("/api/v1/documents/outgoing/{id}/review")),
        &specialist,
        &json!({"step": "approve"}),
    )
    .await;
    assert_eq!(s, 403, "a specialist does not approve: {body}");
    let (s, body) = post(
        &c,
        app.url(&format!("/api/v1/documents/outgoing/{id}/review")),
        &specialist,
        &json!({"step": "fly"}),
    )
    .await;
    assert_eq!((s, rule(&body)), (422, "document.status.unknown"), "{body}");
    let (s, body) = post(
        &c,
        app.url(&format!("/api/v1/documents/outgoing/{id}/sign")),
        &specialist,
        &json!({"file_id": file, "signer_position": "x", "signer_name": "y"}),
    )
    .await;
    assert_eq!(s, 403, "{body}");
    app.stop().await;
}
both!(bad_input_has_stable_codes);

async fn demo_documents(backend: Backend) {
    let app = TestApp::start(backend).await;
    assert!(tinhso_documents::demo::seed(&app.platform).await.unwrap());
    assert!(
        !tinhso_documents::demo::seed(&app.platform).await.unwrap(),
        "created once"
    );
    let c = app.client();
    let clerk = token(&app, tinhso_documents::demo::DEMO_CLERK.0).await;
    let (s, list) = get(
        &c,
        app.url(&format!("/api/v1/documents/incoming?agency={NHA_TRANG}")),
        &clerk,
    )
    .await;
    assert_eq!(s, 200, "{list}");
    let statuses: Vec<&str> = list["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["in_progress", "registered"]);
    let (_, out) = get(
        &c,
        app.url(&format!("/api/v1/documents/outgoing?agency={NHA_TRANG}")),
        &clerk,
    )
    .await;
    let out = out["documents"].as_array().unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0]["status"], "submitted");
    assert_eq!(out[0]["confidentiality"], "confidential");
    assert_eq!(out[1]["status"], "dispatched");
    assert_eq!(out[1]["code"], "01/BC-UBND");
    // The reply arrived at the Department of Home Affairs.
    let arrived: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM doc_incoming i JOIN agencies a ON a.id = i.agency_id WHERE a.code = '000.00.02.H32' AND i.source = 'internal'")
        .fetch_one(app.platform.db.pool())
        .await
        .unwrap();
    assert_eq!(arrived, 1);
    app.verified_audit_records().await;
    app.stop().await;
}
both!(demo_documents);
