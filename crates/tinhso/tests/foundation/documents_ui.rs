//! The document management pages (issue 5 item 7) over real HTTP with the demo officials of
//! the ward 000.00.31.H32: each page for the right role and a refusal (403/404) for the
//! wrong one; the clerk registers through the multipart form (CSRF, scan upload), a wrong
//! form shows the Vietnamese message beside its field and stores nothing, a duplicate links
//! to the entry; the leader assigns, the specialist handles and drafts the reply, the leader
//! approves and uploads the signed PDF, the clerk releases (the number shows) and
//! dispatches, and the tracking table shows each recipient's status. SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::support::{Backend, DEMO_PASSWORD, TestApp, csrf_of, login, page, sample_pdf};
use crate::both;

const WARD: &str = "000.00.31.H32";

/// A `multipart/form-data` body of text fields and files (name, filename, bytes).
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----tinhso-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, filename, bytes) in files {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: application/pdf\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Posts a multipart form; returns status, `Location` and body.
async fn post_multipart(
    client: &reqwest::Client,
    url: String,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> (u16, String, String) {
    let (content_type, body) = multipart(fields, files);
    let r = client
        .post(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    response(r).await
}

async fn post_form(
    client: &reqwest::Client,
    url: String,
    fields: &[(&str, &str)],
) -> (u16, String, String) {
    response(client.post(url).form(fields).send().await.unwrap()).await
}

async fn response(r: reqwest::Response) -> (u16, String, String) {
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, location, r.text().await.unwrap())
}

/// A logged-in browser of a demo account.
async fn browser(app: &TestApp, username: &str) -> reqwest::Client {
    let client = app.client();
    let (status, _) = login(app, &client, username, DEMO_PASSWORD).await;
    assert_eq!(status, 303, "login {username}");
    client
}

async fn user_id(app: &TestApp, username: &str) -> i64 {
    tinhso_platform::identity::user_by_username(&app.platform, username)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(app.platform.db.pool())
        .await
        .unwrap()
}

/// The id at the end of a redirect to `/van-ban/{den|di}/{id}?done=…`.
fn id_of(location: &str) -> i64 {
    location
        .split('/')
        .next_back()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("no id in {location}"))
}

/// The app with the demo officials and the demo documents, on a fixed working morning.
async fn start(backend: Backend) -> TestApp {
    let app = TestApp::start(backend).await;
    app.clock.set("2026-03-02T09:00:00+07:00");
    assert!(tinhso_documents::demo::seed(&app.platform).await.unwrap());
    app
}

async fn pages_by_role(backend: Backend) {
    let app = start(backend).await;
    let anonymous = app.client();
    let r = anonymous.get(app.url("/van-ban")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303, "anonymous → login");

    let clerk = browser(&app, "vanthu.phuong").await;
    let leader = browser(&app, "lanhdao").await;
    let specialist = browser(&app, "chuyenvien").await;
    let counter = browser(&app, "motcua").await;
    let other_clerk = browser(&app, "vanthu").await;

    for client in [&clerk, &leader, &specialist] {
        for path in [
            "/van-ban",
            "/van-ban/den",
            "/van-ban/di",
            "/van-ban/di?status=register",
        ] {
            let (status, html) = page(client, app.url(path)).await;
            assert_eq!(status, 200, "{path}");
            assert!(html.contains("lang=\"vi\""), "{path}");
        }
    }
    // The home shows what waits, by rights: leaders see drafts to approve and to sign.
    let (_, home) = page(&leader, app.url("/van-ban")).await;
    assert!(home.contains("dự thảo chờ duyệt") && home.contains("văn bản chờ ký"));
    let (_, home) = page(&clerk, app.url("/van-ban")).await;
    assert!(home.contains("văn bản chờ phát hành") && home.contains("/van-ban/den/moi"));
    assert!(!home.contains("văn bản chờ ký"));
    // The nav links the area for those who see documents only.
    assert!(home.contains("href=\"/van-ban\""));
    let (status, html) = page(&counter, app.url("/van-ban")).await;
    assert_eq!(status, 403, "a counter officer sees no documents");
    assert!(!html.contains("href=\"/van-ban\""));
    // Registration is the clerk's; drafting is not the counter's.
    assert_eq!(page(&clerk, app.url("/van-ban/den/moi")).await.0, 200);
    assert_eq!(page(&leader, app.url("/van-ban/den/moi")).await.0, 403);
    assert_eq!(page(&specialist, app.url("/van-ban/den/moi")).await.0, 403);
    assert_eq!(page(&specialist, app.url("/van-ban/di/moi")).await.0, 200);
    assert_eq!(page(&counter, app.url("/van-ban/di/moi")).await.0, 403);
    // A document of the ward: seen in the ward, not found elsewhere.
    let ward_doc: i64 = count(
        &app,
        &format!("SELECT MIN(i.id) FROM doc_incoming i JOIN agencies a ON a.id = i.agency_id WHERE a.code = '{WARD}'"),
    )
    .await;
    assert_eq!(
        page(&specialist, app.url(&format!("/van-ban/den/{ward_doc}")))
            .await
            .0,
        200
    );
    assert_eq!(
        page(&other_clerk, app.url(&format!("/van-ban/den/{ward_doc}")))
            .await
            .0,
        404
    );
    assert_eq!(
        page(&counter, app.url(&format!("/van-ban/den/{ward_doc}")))
            .await
            .0,
        404
    );
    let ward_out: i64 = count(
        &app,
        &format!("SELECT MIN(o.id) FROM doc_outgoing o JOIN agencies a ON a.id = o.agency_id WHERE a.code = '{WARD}'"),
    )
    .await;
    assert_eq!(
        page(&leader, app.url(&format!("/van-ban/di/{ward_out}")))
            .await
            .0,
        200
    );
    assert_eq!(
        page(&other_clerk, app.url(&format!("/van-ban/di/{ward_out}")))
            .await
            .0,
        404
    );
    // A form without its CSRF token is refused and changes nothing.
    let before = count(&app, "SELECT COUNT(*) FROM doc_incoming").await;
    let (status, _, _) = post_multipart(
        &clerk,
        app.url("/van-ban/den/moi"),
        &[("subject", "Không có mã CSRF"), ("organ_name", "Sở Nội vụ")],
        &[],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM doc_incoming").await,
        before
    );
    app.stop().await;
}
both!(pages_by_role);

async fn register_assign_handle_reply_release(backend: Backend) {
    let app = start(backend).await;
    let clerk = browser(&app, "vanthu.phuong").await;
    let leader = browser(&app, "lanhdao").await;
    let specialist = browser(&app, "chuyenvien").await;
    let specialist_id = user_id(&app, "chuyenvien").await;
    let clerk_id = user_id(&app, "vanthu.phuong").await;

    // ---- registration: a wrong form keeps the values, names the field, stores nothing.
    let (_, form) = page(&clerk, app.url("/van-ban/den/moi")).await;
    let csrf = csrf_of(&form);
    let incoming_before = count(&app, "SELECT COUNT(*) FROM doc_incoming").await;
    let files_before = count(&app, "SELECT COUNT(*) FROM doc_files").await;
    let scan = sample_pdf(501);
    let mut fields = vec![
        ("csrf_token", csrf.as_str()),
        ("source", "paper"),
        ("organ_name", "Sở Văn hóa và Thể thao tỉnh Khánh Hòa"),
        ("organ_id", "000.00.12.H32"),
        ("code_number", "88"),
        ("code_notation", "SVHTT-VP"),
        ("issued_date", "2026-02-27"),
        ("type_code", "official_letter"),
        ("subject", ""),
        ("urgency", "1"),
        ("confidentiality", "0"),
        ("page_amount", "3"),
    ];
    let (status, _, html) = post_multipart(
        &clerk,
        app.url("/van-ban/den/moi"),
        &fields,
        &[("file", "cong-van-88.pdf", &scan)],
    )
    .await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains("id=\"subject-error\""),
        "error beside the field"
    );
    assert!(
        html.contains("Nhập trích yếu nội dung văn bản."),
        "in Vietnamese"
    );
    assert!(
        html.contains("href=\"#subject\""),
        "the summary links to the field"
    );
    assert!(html.contains("value=\"SVHTT-VP\"") && html.contains("value=\"2026-02-27\""));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM doc_incoming").await,
        incoming_before
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM doc_files").await,
        files_before,
        "no file stored"
    );
    // A number without its notation is named on the number.
    fields[5] = ("code_notation", "");
    fields[8] = ("subject", "Về việc tổ chức Ngày hội văn hóa các dân tộc");
    let (status, _, html) = post_multipart(&clerk, app.url("/van-ban/den/moi"), &fields, &[]).await;
    assert_eq!(status, 422);
    assert!(html.contains("id=\"code_number-error\""));
    // Complete: registered with its scan, shown in the register.
    fields[5] = ("code_notation", "SVHTT-VP");
    let (status, location, _) = post_multipart(
        &clerk,
        app.url("/van-ban/den/moi"),
        &fields,
        &[("file", "cong-van-88.pdf", &scan)],
    )
    .await;
    assert_eq!(status, 303);
    assert!(location.ends_with("?done=registered"), "{location}");
    let incoming = id_of(&location);
    let (_, list) = page(&clerk, app.url("/van-ban/den?q=ngay+hoi+van+hoa")).await;
    assert!(list.contains("Về việc tổ chức Ngày hội văn hóa các dân tộc"));
    assert!(list.contains("88/SVHTT-VP"));
    let (_, list) = page(&clerk, app.url("/van-ban/den?status=done&q=ngay+hoi")).await;
    assert!(!list.contains("Ngày hội văn hóa"), "status filter");
    let (status, doc) = page(&clerk, app.url(&location)).await;
    assert_eq!(status, 200);
    assert!(doc.contains("Đã vào sổ văn bản đến."), "flash message");
    assert!(doc.contains("cong-van-88.pdf") && doc.contains("Chờ phân công"));
    // The same document again: refused, linked to the entry.
    let (status, _, html) = post_multipart(&clerk, app.url("/van-ban/den/moi"), &fields, &[]).await;
    assert_eq!(status, 409);
    assert!(html.contains("Văn bản này đã được vào sổ văn bản đến."));
    assert!(html.contains(&format!("href=\"/van-ban/den/{incoming}\" data-duplicate")));

    // ---- assignment by the leader.
    let (_, doc) = page(&leader, app.url(&format!("/van-ban/den/{incoming}"))).await;
    assert!(doc.contains("id=\"action-assign\"") && doc.contains("Nguyễn Thị Hoa"));
    let csrf = csrf_of(&doc);
    let specialist_s = specialist_id.to_string();
    let clerk_s = clerk_id.to_string();
    let assign_url = app.url(&format!("/van-ban/den/{incoming}/phan-cong"));
    let (status, _, html) = post_form(
        &leader,
        assign_url.clone(),
        &[
            ("csrf_token", csrf.as_str()),
            ("main_handler", &specialist_s),
            ("deadline", "2026-02-01"),
            ("direction", "Giao chuyên viên tham mưu"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("Hạn xử lý không được trước ngày hôm nay."));
    assert!(html.contains("Giao chuyên viên tham mưu"), "direction kept");
    let (status, _, _) = post_form(
        &specialist,
        assign_url.clone(),
        &[
            (
                "csrf_token",
                csrf_of(&page(&specialist, app.url("/van-ban")).await.1).as_str(),
            ),
            ("main_handler", &specialist_s),
        ],
    )
    .await;
    assert_eq!(status, 403, "only leaders assign");
    let (status, location, _) = post_form(
        &leader,
        assign_url,
        &[
            ("csrf_token", csrf.as_str()),
            ("main_handler", &specialist_s),
            ("for_information", &clerk_s),
            ("deadline", "2026-03-20"),
            ("direction", "Giao chuyên viên tham mưu"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (_, doc) = page(&leader, app.url(&location)).await;
    assert!(doc.contains("Đã phân công xử lý."));
    assert!(doc.contains("<strong>Nguyễn Thị Hoa (chuyên viên)</strong> — Chủ trì xử lý"));
    assert!(doc.contains("Để biết") && doc.contains("20/03/2026"));

    // ---- handling by the specialist; only the main handler closes.
    let (_, doc) = page(&specialist, app.url(&format!("/van-ban/den/{incoming}"))).await;
    assert!(doc.contains("id=\"action-progress\"") && doc.contains("id=\"action-complete\""));
    let csrf = csrf_of(&doc);
    let handle_url = app.url(&format!("/van-ban/den/{incoming}/xu-ly"));
    let (status, _, html) = post_form(
        &specialist,
        handle_url.clone(),
        &[
            ("csrf_token", csrf.as_str()),
            ("step", "progress"),
            ("note", ""),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("Nhập nội dung đã xử lý."));
    let (status, _, _) = post_form(
        &specialist,
        handle_url.clone(),
        &[
            ("csrf_token", csrf.as_str()),
            ("step", "progress"),
            ("note", "Đã làm việc với Sở"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (_, leader_doc) = page(&leader, app.url(&format!("/van-ban/den/{incoming}"))).await;
    let (status, _, _) = post_form(
        &leader,
        handle_url.clone(),
        &[
            ("csrf_token", csrf_of(&leader_doc).as_str()),
            ("step", "complete"),
        ],
    )
    .await;
    assert_eq!(status, 403, "the leader is not the main handler");

    // ---- the reply: drafted from the document, linked to it.
    let (status, form) = page(
        &specialist,
        app.url(&format!("/van-ban/di/moi?tra_loi={incoming}")),
    )
    .await;
    assert_eq!(status, 200);
    assert!(form.contains(&format!("name=\"response_for\" value=\"{incoming}\"")));
    let csrf = csrf_of(&form);
    let draft = sample_pdf(502);
    let reply_fields = [
        ("csrf_token", csrf.as_str()),
        ("response_for", &incoming.to_string()),
        ("type_code", "official_letter"),
        ("subject", "V/v tham gia Ngày hội văn hóa các dân tộc"),
        ("urgency", "0"),
        ("confidentiality", "0"),
        ("unit_abbreviation", "VX"),
        ("to_places", "Như trên;\nLưu: VT, VX."),
    ];
    let (status, _, html) =
        post_multipart(&specialist, app.url("/van-ban/di/moi"), &reply_fields, &[]).await;
    assert_eq!(status, 422);
    assert!(html.contains("id=\"file-error\"") && html.contains("Chọn tệp văn bản."));
    let (status, location, _) = post_multipart(
        &specialist,
        app.url("/van-ban/di/moi"),
        &reply_fields,
        &[("file", "du-thao-v1.pdf", &draft)],
    )
    .await;
    assert_eq!(status, 303);
    let outgoing = id_of(&location);
    let (_, doc) = page(&specialist, app.url(&format!("/van-ban/den/{incoming}"))).await;
    assert!(
        doc.contains(&format!("href=\"/van-ban/di/{outgoing}\"")),
        "reply linked"
    );
    let (status, _, _) = post_form(
        &specialist,
        handle_url,
        &[
            ("csrf_token", csrf_of(&doc).as_str()),
            ("step", "complete"),
            ("note", "Đã trả lời"),
        ],
    )
    .await;
    assert_eq!(status, 303);

    // ---- submit, approval (not by the drafter), sending back needs a reason.
    let out_url = |tail: &str| app.url(&format!("/van-ban/di/{outgoing}{tail}"));
    let (_, doc) = page(&specialist, out_url("")).await;
    assert!(doc.contains("id=\"action-submit\"") && doc.contains("du-thao-v1.pdf"));
    let csrf = csrf_of(&doc);
    let (status, _, _) = post_form(
        &specialist,
        out_url("/duyet"),
        &[("csrf_token", csrf.as_str()), ("step", "submit")],
    )
    .await;
    assert_eq!(status, 303);
    let (status, _, _) = post_form(
        &specialist,
        out_url("/duyet"),
        &[("csrf_token", csrf.as_str()), ("step", "approve")],
    )
    .await;
    assert_eq!(status, 403, "the drafter does not approve");
    let (_, doc) = page(&leader, out_url("")).await;
    assert!(doc.contains("id=\"action-approve\"") && doc.contains("id=\"action-return\""));
    let csrf = csrf_of(&doc);
    let (status, _, html) = post_form(
        &leader,
        out_url("/duyet"),
        &[
            ("csrf_token", csrf.as_str()),
            ("step", "return"),
            ("comment", ""),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("Nhập lý do."));
    let (status, _, _) = post_form(
        &leader,
        out_url("/duyet"),
        &[
            ("csrf_token", csrf.as_str()),
            ("step", "approve"),
            ("comment", "Đồng ý"),
        ],
    )
    .await;
    assert_eq!(status, 303);

    // ---- signing: the signed PDF is uploaded; who signed shows.
    let (_, doc) = page(&leader, out_url("")).await;
    assert!(doc.contains("id=\"action-sign\""));
    let signed = sample_pdf(503);
    let (status, _, _) = post_multipart(
        &leader,
        out_url("/ky"),
        &[
            ("csrf_token", csrf.as_str()),
            ("competence", "TM."),
            ("signer_position", "Chủ tịch"),
            ("signer_name", "Võ Văn Dũng"),
        ],
        &[("file", "cong-van-da-ky.pdf", &signed)],
    )
    .await;
    assert_eq!(status, 303);
    let (_, doc) = page(&leader, out_url("")).await;
    assert!(doc.contains("TM. Chủ tịch Võ Văn Dũng"), "who signed");
    assert!(doc.contains("cong-van-da-ky.pdf"));
    let (status, _, _) = post_form(
        &leader,
        out_url("/phat-hanh"),
        &[("csrf_token", csrf.as_str())],
    )
    .await;
    assert_eq!(status, 403, "release is the clerk's");

    // ---- release: the number and notation of the register.
    let (_, doc) = page(&clerk, out_url("")).await;
    assert!(doc.contains("id=\"action-release\""));
    let csrf = csrf_of(&doc);
    let (status, location, _) = post_form(
        &clerk,
        out_url("/phat-hanh"),
        &[("csrf_token", csrf.as_str())],
    )
    .await;
    assert_eq!(status, 303);
    let (_, doc) = page(&clerk, app.url(&location)).await;
    let code: String = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
        "SELECT code_notation FROM doc_outgoing WHERE id = {outgoing}"
    )))
    .fetch_one(app.platform.db.pool())
    .await
    .unwrap();
    assert_eq!(code, "UBND-VX");
    let start = doc.find("<span data-code>").expect("the number shows") + "<span data-code>".len();
    let shown = &doc[start..start + doc[start..].find('<').unwrap()];
    assert!(
        shown.ends_with("/UBND-VX") && shown.len() >= "01/UBND-VX".len(),
        "{shown}"
    );
    let (_, register) = page(&clerk, app.url("/van-ban/di?status=register")).await;
    assert!(register.contains(shown));

    // ---- dispatch: an internal recipient gets it at once, an external one waits.
    let (status, _, _) = post_form(
        &clerk,
        out_url("/noi-nhan"),
        &[
            ("csrf_token", csrf.as_str()),
            ("add", "000.00.00.H32"),
            ("external_id", "000.00.00.H40"),
            ("external_name", "Ủy ban nhân dân tỉnh Nghệ An"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (_, doc) = page(&clerk, out_url("")).await;
    assert!(doc.contains("data-recipient=\"000.00.00.H32\"") && doc.contains("Đã gửi đến"));
    assert!(
        doc.contains("03 — Đã tiếp nhận"),
        "internal recipient's business status"
    );
    assert!(doc.contains("data-recipient=\"000.00.00.H40\"") && doc.contains("Chờ gửi"));
    // Taking the external recipient off the list.
    let (status, location, _) = post_form(
        &clerk,
        out_url("/noi-nhan"),
        &[("csrf_token", csrf.as_str()), ("remove", "000.00.00.H40")],
    )
    .await;
    assert_eq!(status, 303);
    let (_, doc) = page(&clerk, app.url(&location)).await;
    assert!(doc.contains("Đã cập nhật nơi nhận.") && doc.contains("đã bỏ"));
    // Revocation needs a reason.
    let (status, _, html) = post_form(
        &clerk,
        out_url("/thu-hoi"),
        &[("csrf_token", csrf.as_str()), ("reason", "")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("Nhập lý do."));
    let (status, location, _) = post_form(
        &clerk,
        out_url("/thu-hoi"),
        &[
            ("csrf_token", csrf.as_str()),
            ("reason", "Sai sót về thời gian tổ chức"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (_, doc) = page(&clerk, app.url(&location)).await;
    assert!(doc.contains("Đã thu hồi văn bản.") && doc.contains("Sai sót về thời gian tổ chức"));
    assert!(!doc.contains("id=\"action-revoke\""), "nothing more to do");
    app.stop().await;
}
both!(register_assign_handle_reply_release);
