//! Fee payment scenarios (issue 3, item 4) through the built-in sandbox gateway over real
//! HTTP: start → sandbox page → "Thanh toán" → signed IPN → dossier processing again with the
//! clock resumed (exact to the minute); idempotent starts and callbacks; forged, replayed and
//! out-of-place callbacks refused with their rule and nothing changed. Each runs on SQLite
//! and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use tinhso_core::access::Action;
use tinhso_platform::payment::{self, CODE_SUCCESS, CheckoutRequest, SignedRedirectGateway};

use super::onestop::{act, answers, get, post, token};
use super::support::{Backend, TestApp};
use crate::both;

const AGENCY: &str = "000.00.31.H32";
const FEE: i64 = 1_500_000;

struct Tokens {
    citizen: String,
    counter: String,
    specialist: String,
    leader: String,
}

async fn start_app(backend: Backend) -> (TestApp, Tokens) {
    let app = TestApp::start_with_base(backend, |config, base| {
        config.server.public_url = base.to_owned();
    })
    .await;
    let tokens = Tokens {
        citizen: token(&app, "001099000001").await,
        counter: token(&app, "motcua").await,
        specialist: token(&app, "chuyenvien").await,
        leader: token(&app, "lanhdao").await,
    };
    (app, tokens)
}

/// Files a birth registration online on `day` (Monday 08:00), accepts it at 09:00, starts
/// processing at 10:00 and asks for the fee at 14:00 (3.5 working hours used, 4.5 left).
async fn awaiting_payment(
    app: &TestApp,
    client: &reqwest::Client,
    t: &Tokens,
    day: &str,
) -> String {
    let form = answers(app, "1.001193").await;
    app.clock.set(&format!("{day}T08:00:00+07:00"));
    let (status, filed) = post(
        client,
        app.url("/api/v1/dossiers"),
        &t.citizen,
        &json!({
            "procedure_code": "1.001193", "agency_code": AGENCY, "channel": "online", "form": form,
            "documents": super::support::upload_documents(app, client, &t.citizen, 3).await,
        }),
    )
    .await;
    assert_eq!(status, 200, "{filed}");
    let code = filed["code"].as_str().unwrap().to_owned();
    app.clock.set(&format!("{day}T09:00:00+07:00"));
    assert_eq!(
        act(app, client, &t.counter, &code, json!({"action": "accept"}))
            .await
            .0,
        200
    );
    app.clock.set(&format!("{day}T10:00:00+07:00"));
    let (status, _) = act(
        app,
        client,
        &t.specialist,
        &code,
        json!({"action": "start_processing"}),
    )
    .await;
    assert_eq!(status, 200);
    app.clock.set(&format!("{day}T14:00:00+07:00"));
    let (status, _) = act(
        app,
        client,
        &t.specialist,
        &code,
        json!({"action": "request_payment", "amount": 0}),
    )
    .await;
    assert_eq!(status, 422, "a fee of 0 đ is refused");
    let (status, d) = act(
        app,
        client,
        &t.specialist,
        &code,
        json!({"action": "request_payment", "amount": FEE}),
    )
    .await;
    assert_eq!(
        (
            status,
            d["status"].as_str(),
            d["fee_amount"].as_i64(),
            d["fee_paid"].as_bool()
        ),
        (200, Some("awaiting_payment"), Some(FEE), Some(false)),
        "{d}"
    );
    code
}

async fn start_payment(
    app: &TestApp,
    client: &reqwest::Client,
    bearer: &str,
    code: &str,
) -> (u16, Value) {
    post(
        client,
        app.url(&format!("/api/v1/dossiers/{code}/payments")),
        bearer,
        &json!({}),
    )
    .await
}

async fn dossier(app: &TestApp, client: &reqwest::Client, t: &Tokens, code: &str) -> Value {
    let (status, d) = get(
        client,
        app.url(&format!("/api/v1/dossiers/{code}")),
        &t.counter,
    )
    .await;
    assert_eq!(status, 200, "{d}");
    d
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&amp;", "&")
}

/// The hidden fields of the sandbox's payment form.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let form = &html[html
        .find("action=\"/sandbox/payment\"")
        .expect("sandbox form")..];
    let form = &form[..form.find("</form>").unwrap()];
    form.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|tag| {
            let attr = |name: &str| {
                let start = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                unescape(&tag[start..start + tag[start..].find('"').unwrap()])
            };
            (attr("name"), attr("value"))
        })
        .collect()
}

/// Opens the sandbox page of a checkout URL and presses one of its buttons; returns the
/// page's text and where the sandbox sends the browser.
async fn pay_in_sandbox(checkout_url: &str, decision: &str) -> (String, String) {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = browser.get(checkout_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let mut fields = hidden_fields(&html);
    fields.push(("decision".into(), decision.into()));
    let action = checkout_url.split('?').next().unwrap();
    let response = browser.post(action).form(&fields).send().await.unwrap();
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    (html, location)
}

fn query_of(url: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Delivers a callback as the gateway does (form POST, no cookies).
async fn ipn(app: &TestApp, params: &[(String, String)]) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/payments/callback"))
        .form(params)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn with(params: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    params
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                if k == name {
                    value.to_owned()
                } else {
                    v.clone()
                },
            )
        })
        .collect()
}

/// A validly signed result, as the gateway holding the secret would send it.
fn signed_result(
    app: &TestApp,
    reference: &str,
    amount: i64,
    transaction: &str,
) -> Vec<(String, String)> {
    let gateway = payment::signed_gateway(&app.platform.config, &app.platform.session_key);
    let request = CheckoutRequest {
        merchant_code: gateway.merchant_code().to_owned(),
        reference: reference.to_owned(),
        amount,
        order_info: "x".into(),
        return_url: app.url("/payment/return"),
    };
    gateway
        .result_params(&request, transaction, CODE_SUCCESS, "20270303100000")
        .unwrap()
}

/// The callback is refused with `status` and `rule`, and nothing changed.
async fn refused(
    app: &TestApp,
    client: &reqwest::Client,
    t: &Tokens,
    code: &str,
    params: &[(String, String)],
    expected: (u16, &str),
) {
    let (head, before) = (app.audit_head().await, dossier(app, client, t, code).await);
    let (status, body) = ipn(app, params).await;
    assert_eq!(
        (status, body["error"]["rule"].as_str()),
        (expected.0, Some(expected.1)),
        "{body}"
    );
    assert_eq!(
        app.audit_head().await,
        head,
        "{} wrote an audit record",
        expected.1
    );
    assert_eq!(
        dossier(app, client, t, code).await,
        before,
        "{} changed the dossier",
        expected.1
    );
}

async fn pay_through_the_sandbox(backend: Backend) {
    let (app, t) = start_app(backend).await;
    let client = app.client();
    let code = awaiting_payment(&app, &client, &t, "2027-03-01").await;

    // Wednesday 10:00 the citizen pays. Starting twice (double click) gives one attempt.
    app.clock.set("2027-03-03T10:00:00+07:00");
    let (status, started) = start_payment(&app, &client, &t.citizen, &code).await;
    assert_eq!(status, 200, "{started}");
    let reference = started["payment"]["reference"].as_str().unwrap().to_owned();
    assert_eq!(reference, format!("{code}-20270303100000"));
    assert_eq!(started["reused"], false);
    let checkout = started["checkout_url"].as_str().unwrap().to_owned();
    assert!(
        checkout.starts_with(&app.url("/sandbox/payment?")),
        "{checkout}"
    );
    let head = app.audit_head().await;
    let (status, again) = start_payment(&app, &client, &t.counter, &code).await;
    assert_eq!(
        (
            status,
            again["payment"]["reference"].as_str(),
            again["reused"].as_bool()
        ),
        (200, Some(reference.as_str()), Some(true)),
        "{again}"
    );
    assert_eq!(
        app.audit_head().await,
        head,
        "handing out the pending attempt writes nothing"
    );
    let (_, listed) = get(
        &client,
        app.url(&format!("/api/v1/dossiers/{code}/payments")),
        &t.citizen,
    )
    .await;
    assert_eq!(listed["payments"].as_array().unwrap().len(), 1, "{listed}");

    // The sandbox validates what it is given: a tampered checkout is refused.
    let tampered = checkout.replace("vnp_Amount=150000000", "vnp_Amount=100");
    let r = reqwest::get(&tampered).await.unwrap();
    assert_eq!(r.status(), 422);

    // The sandbox page, then "Thanh toán": the IPN arrives before the browser returns.
    let (html, location) = pay_in_sandbox(&checkout, "pay").await;
    for expected in [
        "1.500.000 đ",
        "Thanh toán",
        "Hủy giao dịch",
        reference.as_str(),
    ] {
        assert!(html.contains(expected), "sandbox page without {expected}");
    }
    assert!(
        location.starts_with(&app.url("/payment/return?")),
        "{location}"
    );
    let d = dossier(&app, &client, &t, &code).await;
    // 4.5 working hours left from Wednesday 10:00: 10:00–11:30 and 13:00–16:00.
    assert_eq!(
        (
            d["status"].as_str(),
            d["due_at"].as_str(),
            d["fee_paid"].as_bool(),
            d["national_status"].as_u64()
        ),
        (
            Some("processing"),
            Some("2027-03-03T16:00:00+07:00"),
            Some(true),
            Some(4)
        ),
        "{d}"
    );
    let events = d["events"].as_array().unwrap().len();
    assert_eq!(d["events"][events - 1]["action"], "confirm_payment");
    assert_eq!(
        app.audit_head().await,
        head + 2,
        "payment.paid and dossier.confirm_payment"
    );
    let (_, listed) = get(
        &client,
        app.url(&format!("/api/v1/dossiers/{code}/payments")),
        &t.citizen,
    )
    .await;
    let paid = &listed["payments"][0];
    assert_eq!(paid["status"], "paid", "{listed}");
    assert!(
        paid["gateway_transaction"]
            .as_str()
            .is_some_and(|t| t.len() == 8)
    );
    let notified: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE payload_json LIKE '%đã nhận phí, lệ phí%'",
    )
    .fetch_one(app.platform.db.pool())
    .await
    .unwrap();
    assert!(notified >= 1, "the citizen is told the fee was received");

    // The browser's return and a replayed IPN are acknowledged and change nothing.
    let head = app.audit_head().await;
    let page = reqwest::get(&location).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Thanh toán thành công"));
    let result = query_of(&location);
    let (status, body) = ipn(&app, &result).await;
    assert_eq!(
        (status, body["RspCode"].as_str(), body["replayed"].as_bool()),
        (200, Some("00"), Some(true)),
        "{body}"
    );
    assert_eq!(app.audit_head().await, head);
    let after = dossier(&app, &client, &t, &code).await;
    assert_eq!(
        after["events"].as_array().unwrap().len(),
        events,
        "one history event"
    );
    assert_eq!(after, d);

    // Forged callbacks: altered amount or broken signature, unknown reference, a validly
    // signed wrong amount, a second transaction for a paid reference.
    refused(
        &app,
        &client,
        &t,
        &code,
        &with(&result, "vnp_Amount", "100"),
        (422, "payment.bad_signature"),
    )
    .await;
    refused(
        &app,
        &client,
        &t,
        &code,
        &with(&result, "vnp_SecureHash", &"0".repeat(128)),
        (422, "payment.bad_signature"),
    )
    .await;
    let unsigned: Vec<_> = result
        .iter()
        .filter(|(k, _)| k != "vnp_SecureHash")
        .cloned()
        .collect();
    refused(
        &app,
        &client,
        &t,
        &code,
        &unsigned,
        (422, "payment.bad_signature"),
    )
    .await;
    refused(
        &app,
        &client,
        &t,
        &code,
        &signed_result(
            &app,
            "000.00.31.H32-270301-9999-20270303100000",
            FEE,
            "55555555",
        ),
        (404, "payment.unknown_reference"),
    )
    .await;
    refused(
        &app,
        &client,
        &t,
        &code,
        &signed_result(&app, &reference, 1_000, "55555556"),
        (422, "payment.amount_mismatch"),
    )
    .await;
    refused(
        &app,
        &client,
        &t,
        &code,
        &signed_result(&app, &reference, FEE, "55555557"),
        (409, "payment.already_paid"),
    )
    .await;

    // The dossier no longer awaits a fee: nothing to start.
    let (status, body) = start_payment(&app, &client, &t.citizen, &code).await;
    assert_eq!(
        (status, body["error"]["rule"].as_str()),
        (409, Some("payment.not_awaiting")),
        "{body}"
    );
    // Nobody confirms a payment by hand.
    let (status, _) = act(
        &app,
        &client,
        &t.leader,
        &code,
        json!({"action": "confirm_payment", "reference": reference}),
    )
    .await;
    assert_eq!(status, 422);
    app.stop().await;
}
both!(pay_through_the_sandbox);

async fn cancelled_and_refused_payments(backend: Backend) {
    let (app, t) = start_app(backend).await;
    let client = app.client();
    let code = awaiting_payment(&app, &client, &t, "2027-03-01").await;
    app.clock.set("2027-03-03T10:00:00+07:00");

    // Another citizen may not start paying someone else's dossier, nor list its payments.
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
            password: None,
            must_change_password: false,
        },
    )
    .await
    .unwrap();
    let (_, stranger_token) = tinhso_platform::identity::create_api_token(
        &app.platform,
        &app.ctx(),
        stranger.id,
        "t",
        &Action::ALL,
        366,
    )
    .await
    .unwrap();
    let (head, before) = (
        app.audit_head().await,
        dossier(&app, &client, &t, &code).await,
    );
    let (status, body) = start_payment(&app, &client, &stranger_token, &code).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    assert_eq!(
        get(
            &client,
            app.url(&format!("/api/v1/dossiers/{code}/payments")),
            &stranger_token
        )
        .await
        .0,
        404
    );
    // A specialist sees the dossier but does not take money.
    let (status, _) = start_payment(&app, &client, &t.specialist, &code).await;
    assert_eq!(status, 403);
    assert_eq!(app.audit_head().await, head);
    assert_eq!(dossier(&app, &client, &t, &code).await, before);

    // Cancelled in the sandbox: the dossier still awaits its fee; the attempt is closed.
    let (_, started) = start_payment(&app, &client, &t.citizen, &code).await;
    let reference = started["payment"]["reference"].as_str().unwrap().to_owned();
    let (_, location) = pay_in_sandbox(started["checkout_url"].as_str().unwrap(), "cancel").await;
    let page = reqwest::get(&location).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Giao dịch đã hủy"));
    let d = dossier(&app, &client, &t, &code).await;
    assert_eq!(
        (d["status"].as_str(), d["fee_paid"].as_bool()),
        (Some("awaiting_payment"), Some(false)),
        "{d}"
    );
    let (_, listed) = get(
        &client,
        app.url(&format!("/api/v1/dossiers/{code}/payments")),
        &t.citizen,
    )
    .await;
    assert_eq!(listed["payments"][0]["status"], "cancelled", "{listed}");
    // A success callback for the cancelled attempt is refused.
    refused(
        &app,
        &client,
        &t,
        &code,
        &signed_result(&app, &reference, FEE, "66666666"),
        (409, "payment.not_pending"),
    )
    .await;

    // A new attempt gets a new reference. If the dossier stops while the payer is on the
    // gateway, the attempt is voided; the money the gateway still takes is recorded for a
    // refund (acknowledged, audited), never lost, and the dossier stays stopped.
    app.clock.set("2027-03-03T11:00:00+07:00");
    let (status, second) = start_payment(&app, &client, &t.citizen, &code).await;
    assert_eq!(status, 200, "{second}");
    let second_ref = second["payment"]["reference"].as_str().unwrap().to_owned();
    assert_eq!(second_ref, format!("{code}-20270303110000-2"));
    let (status, _) = act(
        &app,
        &client,
        &t.leader,
        &code,
        json!({"action": "suspend", "reason": "Hồ sơ giả mạo"}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, listed) = get(
        &client,
        app.url(&format!("/api/v1/dossiers/{code}/payments")),
        &t.citizen,
    )
    .await;
    assert_eq!(listed["payments"][1]["status"], "void", "{listed}");
    let head = app.audit_head().await;
    let late = signed_result(&app, &second_ref, FEE, "77777777");
    let (status, body) = ipn(&app, &late).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("paid_unapplied")),
        "{body}"
    );
    assert_eq!(app.audit_head().await, head + 1);
    let (status, body) = ipn(&app, &late).await;
    assert_eq!(
        (status, body["replayed"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    assert_eq!(app.audit_head().await, head + 1, "a replay writes nothing");
    let d = dossier(&app, &client, &t, &code).await;
    assert_eq!(
        (d["status"].as_str(), d["fee_paid"].as_bool()),
        (Some("stopped"), Some(false))
    );
    let (_, listed) = get(
        &client,
        app.url(&format!("/api/v1/dossiers/{code}/payments")),
        &t.citizen,
    )
    .await;
    assert_eq!(
        listed["payments"][1]["status"], "paid_unapplied",
        "{listed}"
    );
    app.stop().await;
}
both!(cancelled_and_refused_payments);

/// The protocol's own signature checks, beside the adapter's unit tests: what the sandbox
/// signs, the platform accepts, and a stranger's secret is refused.
#[test]
fn sandbox_secret_is_per_installation() {
    let mut config = tinhso_platform::Config::default();
    config.server.public_url = "http://127.0.0.1:1".into();
    let a = payment::signed_gateway(&config, b"installation a");
    let b = payment::signed_gateway(&config, b"installation b");
    let request = CheckoutRequest {
        merchant_code: a.merchant_code().to_owned(),
        reference: "r".into(),
        amount: 10_000,
        order_info: "x".into(),
        return_url: "http://127.0.0.1:1/payment/return".into(),
    };
    let result = a
        .result_params(&request, "1", CODE_SUCCESS, "20270303100000")
        .unwrap();
    use tinhso_platform::payment::PaymentGateway;
    assert!(a.verify_callback(&result).is_ok());
    assert!(b.verify_callback(&result).is_err());
    assert!(SignedRedirectGateway::query(&result).contains("vnp_SecureHash="));
}

/// GETs a generated form and checks it is a PDF.
async fn form_pdf(app: &TestApp, client: &reqwest::Client, bearer: &str, code: &str, kind: &str) {
    let r = client
        .get(app.url(&format!("/api/v1/dossiers/{code}/forms/{kind}")))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{kind}");
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF-"));
}

/// The whole online journey of issue 3, exact to the minute: filing with uploads →
/// acceptance (receipt) → review step → supplement request (clocks stop) → resubmission with
/// a document → fee through the sandbox (clocks stop and restart) → review forwarded →
/// approval with the result document → online return (result in the citizen's store) →
/// rating → public lookup.
async fn full_online_journey(backend: Backend) {
    let (app, t) = start_app(backend).await;
    let client = app.client();
    let form = answers(&app, "1.001193").await;

    // Monday 1/3/2027 08:00: filed online with the three required documents.
    app.clock.set("2027-03-01T08:00:00+07:00");
    let documents = super::support::upload_documents(&app, &client, &t.citizen, 3).await;
    let (status, d) = post(
        &client,
        app.url("/api/v1/dossiers"),
        &t.citizen,
        &json!({
            "procedure_code": "1.001193", "agency_code": AGENCY, "channel": "online", "form": form,
            "documents": documents,
        }),
    )
    .await;
    assert_eq!(
        (status, d["national_status"].as_u64()),
        (200, Some(1)),
        "{d}"
    );
    let code = d["code"].as_str().unwrap().to_owned();
    assert_eq!(d["documents"].as_array().unwrap().len(), 3);

    // Accepted 09:00: 8 working hours → Tuesday 09:00; the review step (4 h) → 14:30.
    app.clock.set("2027-03-01T09:00:00+07:00");
    let (status, d) = act(
        &app,
        &client,
        &t.counter,
        &code,
        json!({"action": "accept"}),
    )
    .await;
    assert_eq!(
        (status, d["due_at"].as_str()),
        (200, Some("2027-03-02T09:00:00+07:00")),
        "{d}"
    );
    assert_eq!(d["steps"][1]["due_at"], "2027-03-01T14:30:00+07:00");
    form_pdf(&app, &client, &t.citizen, &code, "receipt").await;
    app.clock.set("2027-03-01T10:00:00+07:00");
    assert_eq!(
        act(
            &app,
            &client,
            &t.specialist,
            &code,
            json!({"action": "start_processing"})
        )
        .await
        .0,
        200
    );

    // 11:00 a supplement is asked for after 2 h: both clocks stop.
    app.clock.set("2027-03-01T11:00:00+07:00");
    let (status, d) = act(&app, &client, &t.specialist, &code, json!({"action": "request_supplement", "items": ["Giấy chứng sinh (bản chính)"], "reason": "Bản chụp không rõ"})).await;
    assert_eq!(
        (status, d["national_status"].as_u64()),
        (200, Some(5)),
        "{d}"
    );
    form_pdf(&app, &client, &t.citizen, &code, "supplement_request").await;

    // Tuesday 09:00 the citizen resubmits with a new scan: 6 h left → Tuesday 16:30; the
    // review's 2 h left → 11:00.
    app.clock.set("2027-03-02T09:00:00+07:00");
    let scan = super::support::upload(
        &app,
        &client,
        &t.citizen,
        "Giấy chứng sinh.pdf",
        super::support::sample_pdf(9),
    )
    .await;
    let (status, d) = act(
        &app,
        &client,
        &t.citizen,
        &code,
        json!({"action": "supplement", "note": "Đã bổ sung", "documents": [scan]}),
    )
    .await;
    assert_eq!(
        (status, d["due_at"].as_str()),
        (200, Some("2027-03-02T16:30:00+07:00")),
        "{d}"
    );
    assert_eq!(d["steps"][1]["due_at"], "2027-03-02T11:00:00+07:00");

    // 10:00 the fee is asked for (1 h used, 5 h left) and paid in the sandbox at 10:30:
    // 10:30–11:30 and 13:00–17:00 → Tuesday 17:00; the review's 1 h left → 11:30.
    app.clock.set("2027-03-02T10:00:00+07:00");
    let (status, d) = act(
        &app,
        &client,
        &t.specialist,
        &code,
        json!({"action": "request_payment", "amount": FEE}),
    )
    .await;
    assert_eq!(
        (status, d["national_status"].as_u64()),
        (200, Some(6)),
        "{d}"
    );
    app.clock.set("2027-03-02T10:30:00+07:00");
    let (status, started) = start_payment(&app, &client, &t.citizen, &code).await;
    assert_eq!(status, 200, "{started}");
    pay_in_sandbox(started["checkout_url"].as_str().unwrap(), "pay").await;
    let d = dossier(&app, &client, &t, &code).await;
    assert_eq!(
        (
            d["status"].as_str(),
            d["fee_paid"].as_bool(),
            d["due_at"].as_str()
        ),
        (
            Some("processing"),
            Some(true),
            Some("2027-03-02T17:00:00+07:00")
        ),
        "{d}"
    );
    assert_eq!(d["steps"][1]["due_at"], "2027-03-02T11:30:00+07:00");

    // 11:00 the review is forwarded on time; 13:30 the leader approves with the result.
    app.clock.set("2027-03-02T11:00:00+07:00");
    assert_eq!(
        act(
            &app,
            &client,
            &t.specialist,
            &code,
            json!({"action": "complete_step"})
        )
        .await
        .0,
        200
    );
    app.clock.set("2027-03-02T13:30:00+07:00");
    let result = super::support::upload(
        &app,
        &client,
        &t.leader,
        "Trích lục khai sinh.pdf",
        super::support::sample_pdf(10),
    )
    .await;
    let (status, d) = act(
        &app,
        &client,
        &t.leader,
        &code,
        json!({"action": "approve", "note": "Đồng ý", "result_documents": [result]}),
    )
    .await;
    assert_eq!(
        (
            status,
            d["national_status"].as_u64(),
            d["resolved_late"].as_bool()
        ),
        (200, Some(9), Some(false)),
        "{d}"
    );

    // 14:00 returned online: the result enters the citizen's store; then the rating.
    app.clock.set("2027-03-02T14:00:00+07:00");
    let (status, d) = act(
        &app,
        &client,
        &t.counter,
        &code,
        json!({"action": "return_result", "method": "online"}),
    )
    .await;
    assert_eq!(
        (status, d["national_status"].as_u64()),
        (200, Some(10)),
        "{d}"
    );
    assert!(
        d["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["outcome"] == "done"),
        "{d}"
    );
    let (_, store) = get(&client, app.url("/api/v1/me/documents"), &t.citizen).await;
    assert!(
        store["documents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "Trích lục khai sinh.pdf"),
        "{store}"
    );
    let (status, _) = post(
        &client,
        app.url(&format!("/api/v1/dossiers/{code}/rating")),
        &t.citizen,
        &json!({"level": 1, "comment": "Nhanh, chu đáo"}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, again) = post(
        &client,
        app.url(&format!("/api/v1/dossiers/{code}/rating")),
        &t.citizen,
        &json!({"level": 3}),
    )
    .await;
    assert_eq!(
        (status, again["error"]["rule"].as_str()),
        (409, Some("rating.already")),
        "{again}"
    );

    // Anyone with the code and the last four digits of the ID number sees the status only.
    let public: Value = client
        .get(app.url(&format!("/api/v1/public/dossiers/{code}?check=0001")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(public["national_status"], 10, "{public}");
    assert!(!public.to_string().contains("Nhanh, chu đáo"));

    // Every citizen-visible event queued its messages.
    let queued: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE idempotency_key LIKE 'dossier-event-%'",
    )
    .fetch_one(app.platform.db.pool())
    .await
    .unwrap();
    assert!(queued >= 8, "{queued} messages queued");
    app.stop().await;
}
both!(full_online_journey);
