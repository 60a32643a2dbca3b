//! The one-stop shop's PDF forms read back with real tools: poppler's `pdftotext` and
//! `pdffonts`, and `zbarimg` on a `pdftoppm` rendering for the QR code. A counter dossier
//! filed at a pinned time goes through an apology, a supplement request and a refusal, and
//! each form is downloaded when it applies (409 `form.not_applicable` before), by officers
//! of the agency only (another citizen is told the dossier does not exist).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use super::onestop::{act, answers, post, token};
use super::support::{Backend, TestApp, paper_documents};
use crate::both;

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} (poppler-utils / zbar-tools) is needed: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn download(
    app: &TestApp,
    client: &reqwest::Client,
    bearer: &str,
    code: &str,
    kind: &str,
) -> (u16, String, Vec<u8>) {
    let r = client
        .get(app.url(&format!("/api/v1/dossiers/{code}/forms/{kind}")))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, r.bytes().await.unwrap().to_vec())
}

/// Downloads a form, checks it is a small PDF with embedded subset fonts, and returns its text.
async fn pdf_text(
    app: &TestApp,
    client: &reqwest::Client,
    bearer: &str,
    code: &str,
    kind: &str,
) -> (String, std::path::PathBuf) {
    let (status, content_type, bytes) = download(app, client, bearer, code, kind).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/pdf"),
        "{kind}: {}",
        String::from_utf8_lossy(&bytes)
    );
    assert!(bytes.len() < 100_000, "{kind}: {} bytes", bytes.len());
    println!("form {kind}: {} bytes", bytes.len());
    let path = app.dir.path().join(format!("{kind}.pdf"));
    std::fs::write(&path, &bytes).unwrap();
    // `TINHSO_FORMS_KEEP=/some/dir` keeps the PDFs for a look.
    if let Ok(dir) = std::env::var("TINHSO_FORMS_KEEP") {
        std::fs::copy(&path, Path::new(&dir).join(format!("{kind}.pdf"))).unwrap();
    }
    let file = path.to_str().unwrap();
    let fonts = run("pdffonts", &[file]);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty(), "{fonts}");
    for row in rows {
        let cols: Vec<&str> = row.split_whitespace().collect();
        // name, type (2 words), encoding, emb, sub, uni, object, generation
        assert!(cols[0].contains("+LiberationSerif"), "{fonts}");
        assert_eq!(
            &cols[cols.len() - 5..cols.len() - 2],
            ["yes", "yes", "yes"],
            "{fonts}"
        );
    }
    (run("pdftotext", &[file, "-"]), path)
}

fn assert_lines(kind: &str, text: &str, expected: &[&str]) {
    for line in expected {
        assert!(
            text.lines().any(|l| l.contains(line)),
            "{kind}: {line:?} not in\n{text}"
        );
    }
}

/// The QR code of the first page decodes to the dossier's status address.
fn qr_of(pdf: &Path) -> String {
    let prefix = pdf.with_extension("");
    let prefix = prefix.to_str().unwrap();
    run(
        "pdftoppm",
        &[
            "-png",
            "-r",
            "150",
            "-f",
            "1",
            "-l",
            "1",
            pdf.to_str().unwrap(),
            prefix,
        ],
    );
    let png = format!("{prefix}-1.png");
    run("zbarimg", &["--raw", "--quiet", &png])
        .trim()
        .to_owned()
}

async fn not_applicable(
    app: &TestApp,
    client: &reqwest::Client,
    bearer: &str,
    code: &str,
    kind: &str,
) {
    let (status, _, body) = download(app, client, bearer, code, kind).await;
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (status, body["error"]["rule"].as_str()),
        (409, Some("form.not_applicable")),
        "{kind}: {body}"
    );
}

async fn forms_as_pdf(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = app.client();
    let counter = token(&app, "motcua").await;
    let specialist = token(&app, "chuyenvien").await;
    let leader = token(&app, "lanhdao").await;
    let other_citizen = token(&app, "001099000001").await;

    // Counter intake on Wednesday 3/2/2027 at 16:00; the appointment is Thursday 4/2 16:00.
    app.clock.set("2027-02-03T16:00:00+07:00");
    let form = answers(&app, "1.001193").await;
    let (status, dossier) = post(&client, app.url("/api/v1/dossiers"), &counter, &json!({
        "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "counter", "documents": paper_documents(3),
        "applicant": {"name": "Trần Văn Bảo", "id_number": "079200004321", "phone": "0905111222"},
        "form": form,
    })).await;
    assert_eq!(status, 200, "{dossier}");
    let code = dossier["code"].as_str().unwrap().to_owned();
    assert_eq!(code, "000.00.31.H32-270203-0001");

    for kind in ["supplement_request", "refusal", "apology"] {
        not_applicable(&app, &client, &counter, &code, kind).await;
    }
    let (status, _, body) = download(&app, &client, &counter, &code, "minutes").await;
    assert_eq!(status, 422, "{}", String::from_utf8_lossy(&body));
    // Another citizen cannot tell the dossier exists.
    let (status, _, _) = download(&app, &client, &other_citizen, &code, "receipt").await;
    assert_eq!(status, 404);
    let (status, _, _) = download(&app, &client, "", &code, "receipt").await;
    assert_eq!(status, 401);

    let (receipt, receipt_pdf) = pdf_text(&app, &client, &counter, &code, "receipt").await;
    // The agency's name may take two lines under its parent, as Nghị định 30 allows.
    let flat = receipt.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("UBND TỈNH KHÁNH HÒA ỦY BAN NHÂN DÂN PHƯỜNG NHA TRANG"),
        "{flat}"
    );
    assert_lines(
        "receipt",
        &receipt,
        &[
            "UBND TỈNH KHÁNH HÒA",
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "Độc lập - Tự do - Hạnh phúc",
            "Khánh Hòa, ngày 03 tháng 02 năm 2027",
            "Số: 000.00.31.H32-270203-0001/TNHS",
            "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
            "Ông/bà: Trần Văn Bảo",
            "Nội dung yêu cầu giải quyết: Đăng ký khai sinh",
            "4. Thời gian nhận hồ sơ: 16 giờ 00 phút, ngày 03 tháng 02 năm 2027",
            "5. Thời gian trả kết quả giải quyết hồ sơ: 16 giờ 00 phút, ngày 04 tháng 02 năm 2027",
            "Phạm Minh Châu",
        ],
    );
    let status_url = format!(
        "{}/tra-cuu?ma={code}",
        app.platform.config.server.public_url.trim_end_matches('/')
    );
    assert_eq!(qr_of(&receipt_pdf), status_url);

    // The page behind the QR code: the code alone shows the form; with the last four digits
    // of the ID number, the status in Vietnamese; with wrong digits, "not found".
    let page = |query: String| {
        let client = client.clone();
        let url = app.url(&format!("/tra-cuu?{query}"));
        async move {
            let r = client.get(url).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, html) = page(format!("ma={code}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("value=\"{code}\"")), "{html}");
    let (status, html) = page(format!("ma={code}&check=4321")).await;
    assert_eq!(status, 200, "{html}");
    for expected in [
        "Đăng ký khai sinh",
        "Đã tiếp nhận",
        "04/02/2027 16:00",
        "Nộp hồ sơ",
    ] {
        assert!(html.contains(expected), "{expected} not in {html}");
    }
    assert!(
        !html.contains("Trần Văn Bảo"),
        "no personal data on the public page"
    );
    let (status, html) = page(format!("ma={code}&check=0000")).await;
    assert_eq!(status, 404);
    assert!(!html.contains("Đăng ký khai sinh"));

    // A new appointment with an apology, then a supplement request, then a refusal.
    app.clock.set("2027-02-04T10:00:00+07:00");
    let (status, d) = act(
        &app,
        &client,
        &specialist,
        &code,
        json!({
            "action": "apologize", "new_due": "2027-02-10T16:00:00+07:00",
            "reason": "Cần xác minh thông tin với cơ quan đăng ký hộ tịch nơi cư trú trước đây",
        }),
    )
    .await;
    assert_eq!(status, 200, "{d}");
    let (apology, _) = pdf_text(&app, &client, &counter, &code, "apology").await;
    assert_lines(
        "apology",
        &apology,
        &[
            "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
            "Số: 000.00.31.H32-270203-0001/XLHS",
            "Khánh Hòa, ngày 04 tháng 02 năm 2027",
            "Kính gửi: Trần Văn Bảo",
        ],
    );
    let flat = apology.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        "Thời gian hẹn trả kết quả giải quyết hồ sơ: 16 giờ 00 phút, ngày 04 tháng 02 năm 2027.",
        "Thời gian hẹn trả kết quả mới: 16 giờ 00 phút, ngày 10 tháng 02 năm 2027.",
        "cơ quan đăng ký hộ tịch nơi cư trú trước đây",
    ] {
        assert!(flat.contains(expected), "{expected:?} not in {flat}");
    }

    app.clock.set("2027-02-04T11:00:00+07:00");
    let (status, d) = act(&app, &client, &specialist, &code, json!({
        "action": "request_supplement",
        "items": ["Bản sao giấy chứng nhận kết hôn của cha mẹ", "Giấy tờ chứng minh nơi cư trú"],
        "reason": "Thiếu giấy tờ chứng minh quan hệ cha mẹ",
    }))
    .await;
    assert_eq!(status, 200, "{d}");
    let (supplement, _) = pdf_text(&app, &client, &specialist, &code, "supplement_request").await;
    assert_lines(
        "supplement_request",
        &supplement,
        &[
            "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
            "Số: 000.00.31.H32-270203-0001/HDHS",
            "Ông/bà: Trần Văn Bảo",
            "Bản sao giấy chứng nhận kết hôn của cha mẹ",
            "Giấy tờ chứng minh nơi cư trú",
            "Lý do: Thiếu giấy tờ chứng minh quan hệ cha mẹ",
            "NGƯỜI HƯỚNG DẪN",
        ],
    );
    not_applicable(&app, &client, &counter, &code, "refusal").await;

    app.clock.set("2027-02-05T09:00:00+07:00");
    let (status, d) = act(&app, &client, &leader, &code, json!({
        "action": "refuse", "reason": "Người yêu cầu không bổ sung giấy tờ chứng minh quan hệ cha mẹ",
    }))
    .await;
    assert_eq!(status, 200, "{d}");
    let (refusal, refusal_pdf) = pdf_text(&app, &client, &leader, &code, "refusal").await;
    assert_lines(
        "refusal",
        &refusal,
        &[
            "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
            "Số: 000.00.31.H32-270203-0001/TCHS",
            "Khánh Hòa, ngày 05 tháng 02 năm 2027",
            "Người yêu cầu không bổ sung giấy tờ chứng minh quan hệ cha mẹ",
        ],
    );
    assert_eq!(qr_of(&refusal_pdf), status_url);
    // Earlier forms stay available: the receipt still shows the original appointment.
    let (receipt, _) = pdf_text(&app, &client, &counter, &code, "receipt").await;
    assert_lines(
        "receipt",
        &receipt,
        &["16 giờ 00 phút, ngày 04 tháng 02 năm 2027"],
    );
}
both!(forms_as_pdf);
