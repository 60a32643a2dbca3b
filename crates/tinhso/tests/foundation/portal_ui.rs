//! The public portal over HTTP on both databases: the search API (no diacritics, typos,
//! filters with counts), the index following catalogue changes, and the public pages —
//! home, search and browse, procedure page, status lookup, statistics — in Vietnamese and
//! English.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};

use super::onestop::{answers, post, token};
use super::support::{Backend, TestApp, page, paper_documents};
use crate::both;

async fn get_json(app: &TestApp, path: &str) -> (u16, Value) {
    let r = app.client().get(app.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn codes(body: &Value) -> Vec<String> {
    body["procedures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_owned())
        .collect()
}

fn facet(body: &Value, name: &str, value: &str) -> Option<u64> {
    body["facets"][name]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["value"] == value)
        .and_then(|c| c["count"].as_u64())
}

async fn search_api(backend: Backend) {
    let app = TestApp::start(backend).await;
    for (q, code) in [
        ("dang+ky+khai+sinh", "1.001193"),
        ("khai+sinh", "1.001193"),
        ("dang+ki+khai+sinh", "1.001193"),
        ("khai+snh", "1.001193"),
        ("giay+phep+xay+dung", "1.013225"),
        ("giay+phep+xay+dng", "1.013225"),
        ("chung+thuc+ban+sao", "2.000815"),
        ("%C4%90%C4%83ng+k%C3%BD+k%E1%BA%BFt+h%C3%B4n", "1.000894"),
    ] {
        let (status, body) = get_json(&app, &format!("/api/v1/procedures?q={q}")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            codes(&body).first().map(String::as_str),
            Some(code),
            "{q}: {body}"
        );
        assert!(body["procedures"][0]["score"].as_f64().unwrap() > 0.0);
    }
    // Without a query: the whole catalogue, with counts per field and level.
    let (_, all) = get_json(&app, "/api/v1/procedures").await;
    let total = codes(&all).len();
    assert_eq!(total, 39);
    assert!(all["procedures"][0].get("score").is_none());
    assert_eq!(all["procedures"][0]["version"], 1);
    assert_eq!(facet(&all, "field", "Hộ tịch"), Some(13));
    let fields: u64 = all["facets"]["field"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_u64().unwrap())
        .sum();
    assert_eq!(fields, 39, "each procedure has one field");
    // Filters combine; each facet counts what choosing its value would give.
    let (_, civil) = get_json(&app, "/api/v1/procedures?field=H%E1%BB%99+t%E1%BB%8Bch").await;
    assert_eq!(codes(&civil).len(), 13);
    let province = facet(&civil, "level", "province").unwrap();
    let (_, both_filters) = get_json(
        &app,
        "/api/v1/procedures?field=H%E1%BB%99+t%E1%BB%8Bch&level=province",
    )
    .await;
    assert_eq!(codes(&both_filters).len() as u64, province);
    assert_eq!(codes(&both_filters), ["2.000635"]);
    assert_eq!(facet(&both_filters, "field", "Chứng thực"), None);
    // Text and filter together: birth in the civil-status field only.
    let (_, births) = get_json(
        &app,
        "/api/v1/procedures?q=khai+sinh&field=H%E1%BB%99+t%E1%BB%8Bch",
    )
    .await;
    assert!(codes(&births).iter().all(|c| c != "2.000815"));
    assert_eq!(codes(&births)[0], "1.001193");
    let (_, nothing) = get_json(&app, "/api/v1/procedures?q=qwxzqwxz").await;
    assert!(codes(&nothing).is_empty());

    // An import changes the catalogue: the next search sees the new version at once.
    let mut file = tinhso_onestop::catalog::demo_catalogue().unwrap();
    let spec = file
        .procedures
        .iter_mut()
        .find(|p| p.code == "1.003677")
        .unwrap();
    spec.name = "Khai báo tạm vắng (thử nghiệm tìm kiếm Quỳnh Lưu)".into();
    let report = tinhso_onestop::catalog::import(&app.platform, &app.ctx(), &file)
        .await
        .unwrap();
    assert_eq!(report.new_versions, 1);
    let (_, renamed) = get_json(&app, "/api/v1/procedures?q=quynh+luu").await;
    assert_eq!(codes(&renamed), ["1.003677"]);
    assert_eq!(renamed["procedures"][0]["version"], 2);
    app.stop().await;
}
both!(search_api);

async fn public_pages(backend: Backend) {
    let app = TestApp::start(backend).await;
    let browser = app.client();

    // Home: the search box, most used procedures, fields, lookup, statistics.
    let (status, home) = page(&browser, app.url("/")).await;
    assert_eq!(status, 200);
    for part in [
        "action=\"/procedures\"",
        "name=\"q\"",
        "Thủ tục được dùng nhiều",
        "href=\"/procedures?field=H%E1%BB%99%20t%E1%BB%8Bch\"",
        "action=\"/tra-cuu\"",
        "href=\"/statistics\"",
        "Đăng ký khai sinh",
    ] {
        assert!(home.contains(part), "home lacks {part}");
    }

    // A filed dossier makes its procedure the most used one and enters the statistics.
    app.clock.set("2027-02-03T09:00:00+07:00");
    let officer = token(&app, "motcua").await;
    let form = answers(&app, "1.004873").await;
    let documents = paper_documents(2);
    let (status, dossier) = post(&browser, app.url("/api/v1/dossiers"), &officer, &json!({
        "procedure_code": "1.004873", "agency_code": "000.00.31.H32", "channel": "counter",
        "documents": documents, "form": form,
        "applicant": {"name": "Lê Văn Cổng", "id_number": "079200007788", "phone": "0905007788"},
    }))
    .await;
    assert_eq!(status, 200, "{dossier}");
    let code = dossier["code"].as_str().unwrap().to_owned();
    let (_, home) = page(&browser, app.url("/")).await;
    let popular = &home[home.find("Thủ tục được dùng nhiều").unwrap()..];
    let first_link = &popular[popular.find("href=\"/procedures/").unwrap()..];
    assert!(
        first_link.starts_with("href=\"/procedures/1.004873\""),
        "{first_link:.80}"
    );

    // Search results page: the right procedure first, the query kept, counts per filter.
    let (status, results) = page(&browser, app.url("/procedures?q=giay+phep+xay+dng")).await;
    assert_eq!(status, 200);
    let first = &results[results.find("class=\"result-title\"").unwrap()..];
    assert!(first.contains("Cấp giấy phép xây dựng mới"), "{first:.200}");
    assert!(results.contains("value=\"giay phep xay dng\""));
    let (_, browse) = page(
        &browser,
        app.url("/procedures?field=H%E1%BB%99+t%E1%BB%8Bch&level=commune"),
    )
    .await;
    assert!(browse.contains("<option value=\"Hộ tịch\" selected>Hộ tịch (13)</option>"));
    assert!(browse.contains("13 thủ tục"));
    // Pagination beyond 20: page 2 of the whole catalogue holds the other 19.
    let (_, second) = page(&browser, app.url("/procedures?page=2")).await;
    assert_eq!(second.matches("class=\"result-title\"").count(), 19);
    assert!(second.contains("rel=\"prev\""));

    // The procedure page: documents with the template named, fees in Vietnamese money,
    // time limit, legal basis, the apply button.
    let (status, birth) = page(&browser, app.url("/procedures/2.000635")).await;
    assert_eq!(status, 200);
    for part in [
        "Thành phần hồ sơ",
        "Tờ khai cấp bản sao trích lục hộ tịch (TT 04/2024/TT-BTP)",
        "8.000 đ",
        "Thời hạn giải quyết",
        "Căn cứ pháp lý",
        "href=\"/apply/2.000635\"",
        "Cấp xã, Cấp tỉnh",
    ] {
        assert!(birth.contains(part), "procedure page lacks {part}");
    }
    let (_, counter_only) = page(&browser, app.url("/procedures/2.001019")).await;
    assert!(!counter_only.contains("href=\"/apply/"));
    let (status, _) = page(&browser, app.url("/procedures/9.999999")).await;
    assert_eq!(status, 404);

    // Status lookup: the receipt's QR code opens it with the code only (no error yet); the
    // form sent without the digits says so beside the box; the right digits show the status.
    let lookup = format!("/tra-cuu?ma={code}");
    let (status, qr) = page(&browser, app.url(&lookup)).await;
    assert_eq!(status, 200);
    assert!(qr.contains(&format!("value=\"{code}\"")) && !qr.contains("error-summary"));
    let (status, missing) = page(&browser, app.url(&format!("{lookup}&check="))).await;
    assert_eq!(status, 422);
    assert!(missing.contains("id=\"check-error\"") && missing.contains("href=\"#check\""));
    let (status, found) = page(&browser, app.url(&format!("{lookup}&check=7788"))).await;
    assert_eq!(status, 200);
    assert!(found.contains("Cấp Giấy xác nhận tình trạng hôn nhân"));
    assert!(found.contains("03/02/2027 09:00"));
    assert!(!found.contains("Lê Văn Cổng"), "no personal data");

    // Statistics: the dossier is counted, the period filter works, bad dates are refused
    // beside their field, and the English switch translates the page.
    let (status, stats) = page(&browser, app.url("/statistics")).await;
    assert_eq!(status, 200);
    assert_eq!(stats.matches("class=\"donut\"").count(), 3);
    assert!(stats.contains("<th scope=\"row\">Hồ sơ tiếp nhận</th><td class=\"num\">1</td>"));
    let (_, period) = page(
        &browser,
        app.url("/statistics?agency=000.00.31.H32&from=01/02/2027&to=28/02/2027"),
    )
    .await;
    assert!(period.contains("01/02/2027 – 28/02/2027"));
    assert!(period.contains("<th scope=\"row\">Hồ sơ tiếp nhận</th><td class=\"num\">1</td>"));
    assert!(period.contains("href=\"/api/v1/statistics/xlsx?agency=000.00.31.H32&#38;from=2027-02-01&#38;to=2027-02-28\""));
    let (_, before) = page(
        &browser,
        app.url("/statistics?from=2026-01-01&to=2026-12-31"),
    )
    .await;
    assert!(before.contains("<th scope=\"row\">Hồ sơ tiếp nhận</th><td class=\"num\">0</td>"));
    let (status, bad) = page(&browser, app.url("/statistics?from=31/02/2027")).await;
    assert_eq!(status, 422);
    assert!(bad.contains("id=\"from-error\"") && bad.contains("value=\"31/02/2027\""));

    let english = reqwest::Client::new();
    for (path, text) in [
        ("/", "Online public services"),
        ("/procedures?q=khai+sinh", "Search for a procedure"),
        ("/procedures/1.001193", "Required documents"),
        ("/statistics", "Share filed online"),
        ("/tra-cuu", "Look up a dossier"),
    ] {
        let r = english
            .get(app.url(path))
            .header("cookie", "tinhso_lang=en")
            .send()
            .await
            .unwrap();
        let html = r.text().await.unwrap();
        assert!(html.contains("<html lang=\"en\">"), "{path}");
        assert!(html.contains(text), "{path} in English lacks {text}");
    }
    app.stop().await;
}
both!(public_pages);
