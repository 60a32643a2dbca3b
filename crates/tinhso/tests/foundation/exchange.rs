//! The document exchange: packages pushed to the federation endpoint of a real instance over
//! loopback, checked by the real pipeline (parse, rules, XML-DSig with a test CA, the sender
//! served by the calling peer, routing, repeat and conflict), registered in one transaction;
//! every refusal answered FAIL with its code and nothing stored but its log row.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{Value, json};
use tinhso_edxml::DocumentPackage;
use tinhso_edxml::model::AttachmentMeta;
use tinhso_edxml::write::{AttachmentInput, write_document};
use tinhso_platform::config::ExchangePeer;
use tinhso_signing::pki::Pkcs12Signer;
use tinhso_signing::test_ca::{TestPki, TlsFiles, pem};

use super::support::WriteBehind;
use super::support::{Backend, TestApp, sample_pdf};
use crate::both;

/// The receiving installation's ward (demo organisation, Khánh Hòa).
pub(super) const NHA_TRANG: &str = "000.00.31.H32";
/// The sending agency, of another province served by the peer `tinh-h14`.
pub(super) const SENDER: &str = "000.00.01.H14";
const PEER: &str = "tinh-h14";
/// The demo installation (Khánh Hòa) as a peer of the receiver, for the sending tests.
const SENDING_PEER: &str = "tinh-h32";
/// The receiver's own province-level agency in the sending tests.
const CAO_BANG: &str = "000.00.00.H14";
/// A second agency of the receiver, added to the recipient list later.
const NOI_VU: &str = "000.00.02.H14";

/// One test PKI per binary (RSA key generation is slow in debug builds), valid now.
pub(super) fn pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| TestPki::generate(chrono::Utc::now().timestamp()).unwrap())
}

/// A CA nobody here trusts.
fn stranger_pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| TestPki::generate(chrono::Utc::now().timestamp()).unwrap())
}

pub(super) fn signer(pki: &TestPki) -> Pkcs12Signer {
    pki.signer_for(&pki.signer).unwrap()
}

/// TLS material of the federation (serverAuth and clientAuth certificates of the test CA): the
/// receiver `tinh-h14`, the sender `tinh-h32`, and an exchange nobody configured.
struct TlsKit {
    ca: PathBuf,
    peer: TlsFiles,
    /// The sending installation's certificate (CN `tinh-h32`).
    sender: TlsFiles,
    stranger: TlsFiles,
    _dir: tempfile::TempDir,
}

fn tls_kit() -> TlsKit {
    let dir = tempfile::tempdir().unwrap();
    let now = chrono::Utc::now().timestamp();
    let authority = pki().tls_authority().unwrap();
    TlsKit {
        ca: authority
            .write_ca_pem(&dir.path().join("ca.crt.pem"))
            .unwrap(),
        peer: authority.write_tls(dir.path(), "peer", PEER, now).unwrap(),
        sender: authority
            .write_tls(dir.path(), "sender", SENDING_PEER, now)
            .unwrap(),
        stranger: authority
            .write_tls(dir.path(), "stranger", "tinh-khac", now)
            .unwrap(),
        _dir: dir,
    }
}

/// A federation client presenting `files`.
fn client(kit: &TlsKit, files: &TlsFiles) -> reqwest::Client {
    tinhso_exchange::tls::client(
        &files.certificate,
        &files.key,
        std::slice::from_ref(&kit.ca),
        std::time::Duration::from_secs(20),
    )
    .unwrap()
}

/// The receiver's federation listener, over mutual TLS on a loopback port of its own.
struct Federation {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Federation {
    async fn start(app: &TestApp) -> Self {
        let (listener, base) = Self::bind().await;
        Self::serve(app, listener, base)
    }

    /// A loopback port and its base URL, before the instance that will serve it exists.
    async fn bind() -> (tokio::net::TcpListener, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("https://{}", listener.local_addr().unwrap());
        (listener, base)
    }

    fn serve(app: &TestApp, listener: tokio::net::TcpListener, base: String) -> Self {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let platform = app.platform.clone();
        let task = tokio::spawn(async move {
            tinhso_web::exchange_peer::serve(platform, listener, async {
                let _ = stop_rx.await;
            })
            .await
            .unwrap();
        });
        Self {
            base,
            stop: Some(stop_tx),
            task,
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// The receiving instance: the demo organisation, one peer (`tinh-h14`, serving `*.H14`),
/// the test CA as trust anchor, packages up to 2 MB.
async fn receiver(
    backend: Backend,
    anchors: &Path,
    kit: &TlsKit,
    more_peers: Vec<ExchangePeer>,
    p12: Option<PathBuf>,
) -> TestApp {
    let anchors = anchors.to_path_buf();
    // The peer certificate (CN tinh-h14) is both the listener's and, when this instance
    // sends statuses back, its client certificate.
    let (cert, key, ca) = (
        kit.peer.certificate.clone(),
        kit.peer.key.clone(),
        kit.ca.clone(),
    );
    TestApp::start_with(backend, move |c| {
        c.exchange.tls_cert = cert;
        c.exchange.tls_key = key;
        c.exchange.peer_ca = vec![ca];
        c.signing.trust_anchors = vec![anchors];
        c.exchange.max_package_bytes = 2 * 1024 * 1024;
        c.limits.max_upload_bytes = 1024 * 1024;
        c.exchange.peers = vec![ExchangePeer {
            id: PEER.into(),
            name: "Trục liên thông tỉnh H14".into(),
            url: "https://127.0.0.1:9".into(),
            serves: vec!["*.H14".into()],
        }];
        c.exchange.peers.extend(more_peers);
        if let Some(p12) = p12 {
            c.signing.pkcs12_path = p12;
            c.signing.pkcs12_password = tinhso_signing::test_ca::TEST_PASSWORD.into();
        }
    })
    .await
}

pub(super) fn header(from: &str, to: &[&str], number: &str, subject: &str) -> Value {
    json!({
        "MessageHeader": {
            "From": {"OrganId": from, "OrganName": "Ủy ban nhân dân tỉnh H14"},
            "To": to.iter().map(|id| json!({"OrganId": id, "OrganName": "Nơi nhận"})).collect::<Vec<_>>(),
            "DocumentId": format!("{from},2026/12/01,{number}/UBND-VP"),
            "Code": {"CodeNumber": number, "CodeNotation": "UBND-VP"},
            "PromulgationInfo": {"Place": "H14", "PromulgationDate": "2026/12/01"},
            "DocumentType": {"Type": "1", "TypeName": "Công văn"},
            "Subject": subject,
            "SignerInfo": {"Competence": "TM.", "Position": "Chủ tịch", "FullName": "Nguyễn Văn A"},
            "OtherInfo": {"Priority": "1", "PageAmount": "1"}
        },
        "TraceHeaderList": {
            "TraceHeader": [{"OrganId": from, "Timestamp": "2026/12/01 09:00:00"}],
            "Bussiness": {"BussinessDocType": "0", "Paper": "0"}
        }
    })
}

/// Writes the package of `header` with one PDF attachment into `dir`, signed by `signer`
/// (unsigned when `None`); returns the file.
pub(super) fn package(
    dir: &Path,
    name: &str,
    header: &Value,
    signer: Option<&Pkcs12Signer>,
) -> PathBuf {
    let package: DocumentPackage = serde_json::from_value(header.clone()).unwrap();
    let unsigned = dir.join(format!("{name}.unsigned"));
    let pdf = sample_pdf(7);
    let mut attachments = [AttachmentInput {
        meta: AttachmentMeta {
            content_id: "cid:1".into(),
            content_type: "application/pdf".into(),
            description: None,
            attachment_name: "cong-van.pdf".into(),
        },
        content: Box::new(std::io::Cursor::new(pdf)),
    }];
    write_document(
        std::fs::File::create(&unsigned).unwrap(),
        &package,
        &mut attachments,
    )
    .unwrap();
    let Some(signer) = signer else {
        return unsigned;
    };
    let signed = dir.join(format!("{name}.edxml"));
    tinhso_edxml::dsig::sign_enveloped(&unsigned, std::fs::File::create(&signed).unwrap(), signer)
        .unwrap();
    signed
}

async fn push(
    fed: &Federation,
    client: &reqwest::Client,
    body: Vec<u8>,
    from: &str,
    key: &str,
) -> (u16, Value) {
    let r = client
        .post(format!("{}/exchange/v1/packages", fed.base))
        .header("content-type", "application/octet-stream")
        .header("x-edxml-from", from)
        .header("x-edxml-message-type", "edoc")
        .header("x-package-key", key)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

/// Rows that a package may write: incoming entries, files, received packages, audit records
/// of registrations.
pub(super) async fn stored(app: &TestApp) -> [i64; 4] {
    let mut out = [0; 4];
    for (i, sql) in [
        "SELECT COUNT(*) FROM doc_incoming",
        "SELECT COUNT(*) FROM doc_files",
        "SELECT COUNT(*) FROM exchange_received",
        "SELECT COUNT(*) FROM exchange_received_documents",
    ]
    .iter()
    .enumerate()
    {
        out[i] = sqlx::query_scalar(*sql)
            .fetch_one(app.platform.db.pool())
            .await
            .unwrap();
    }
    out
}

/// The newest log row: (direction, status, code).
async fn last_log(app: &TestApp) -> (String, String, String) {
    sqlx::query_as("SELECT direction, status, code FROM exchange_log ORDER BY id DESC LIMIT 1")
        .fetch_one(app.platform.db.pool())
        .await
        .unwrap()
}

/// Pushes `body`, expects a refusal `(status, code)` with a FAIL answer, nothing stored and a
/// FAIL log row carrying the code.
async fn refused(
    app: &TestApp,
    fed: &Federation,
    c: &reqwest::Client,
    body: Vec<u8>,
    from: &str,
    want: (u16, &str),
) {
    let before = stored(app).await;
    let (status, answer) = push(fed, c, body, from, "k-refused").await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (want.0, Some(want.1)),
        "{answer}"
    );
    assert_eq!(answer["status"], "FAIL", "{answer}");
    assert_eq!(stored(app).await, before, "{} stored something", want.1);
    assert_eq!(
        last_log(app).await,
        ("in".into(), "FAIL".into(), want.1.into())
    );
}

async fn received_and_refused(backend: Backend) {
    let keys = tempfile::tempdir().unwrap();
    let anchor = keys.path().join("ca.pem");
    std::fs::write(&anchor, pem(&pki().ca.certificate_der).unwrap()).unwrap();
    let kit = tls_kit();
    let app = receiver(backend, &anchor, &kit, Vec::new(), None).await;
    let fed = Federation::start(&app).await;
    let c = client(&kit, &kit.peer);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = signer(pki());

    // The agencies served here, by identifier.
    let r = c
        .get(format!("{}/exchange/v1/agencies", fed.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let served: Value = r.json().await.unwrap();
    assert!(
        served["agencies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == NHA_TRANG),
        "{served}"
    );

    // A valid package: registered with an arrival number, its attachment stored.
    let good = std::fs::read(package(
        d,
        "good",
        &header(
            SENDER,
            &[NHA_TRANG, "000.00.02.H14"],
            "12",
            "V/v phối hợp liên tỉnh",
        ),
        Some(&s),
    ))
    .unwrap();
    let before = stored(&app).await;
    let (status, answer) = push(&fed, &c, good.clone(), SENDER, "k-good").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["status"].as_str(), answer["repeat"].as_bool()),
        (Some("DONE"), Some(false)),
        "{answer}"
    );
    let reference = answer["reference"].as_str().unwrap().to_owned();
    let after = stored(&app).await;
    assert_eq!(
        after,
        [before[0] + 1, before[1] + 1, before[2] + 1, before[3] + 1]
    );
    let (arrival, subject, source, organ): (i64, String, String, String) = sqlx::query_as(
        "SELECT arrival_number, subject, source, organ_id FROM doc_incoming WHERE document_id = $1",
    )
    .bind(format!("{SENDER},2026/12/01,12/UBND-VP"))
    .fetch_one(app.platform.db.pool())
    .await
    .unwrap();
    assert!(arrival >= 1);
    assert_eq!(
        (subject.as_str(), source.as_str(), organ.as_str()),
        ("V/v phối hợp liên tỉnh", "external", SENDER)
    );
    assert_eq!(
        last_log(&app).await,
        ("in".into(), "DONE".into(), String::new())
    );
    // Arrival (01) is queued back to the sender.
    let queued: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM exchange_outbound WHERE kind = 'status' AND status_code = '01'",
    )
    .fetch_one(app.platform.db.pool())
    .await
    .unwrap();
    assert_eq!(queued, 1);

    // The same package again (a sender retrying): a repeat, answered with the first
    // reference, nothing stored twice.
    let (status, answer) = push(&fed, &c, good.clone(), SENDER, "k-good").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["repeat"], true, "{answer}");
    assert_eq!(answer["reference"], reference.as_str());
    assert_eq!(stored(&app).await, after);

    // The same document id with other content: a conflict.
    let altered = std::fs::read(package(
        d,
        "altered",
        &header(
            SENDER,
            &[NHA_TRANG, "000.00.02.H14"],
            "12",
            "V/v nội dung khác",
        ),
        Some(&s),
    ))
    .unwrap();
    refused(
        &app,
        &fed,
        &c,
        altered,
        SENDER,
        (409, "exchange.package.conflict"),
    )
    .await;

    // Malformed XML.
    let text = String::from_utf8(good.clone()).unwrap();
    let mismatched = text.replacen("</edXML:Subject>", "</edXML:Subjec>", 1);
    refused(
        &app,
        &fed,
        &c,
        mismatched.into_bytes(),
        SENDER,
        (400, "edxml.xml.malformed"),
    )
    .await;

    // Wrong namespace, wrong prefix.
    let wrong_ns = text.replacen(
        tinhso_edxml::model::NAMESPACE,
        "http://example.com/not-edxml",
        1,
    );
    refused(
        &app,
        &fed,
        &c,
        wrong_ns.into_bytes(),
        SENDER,
        (400, "M.edXML.namespace"),
    )
    .await;
    let wrong_prefix = text
        .replace("<edXML:Subject>", "<Subject>")
        .replace("</edXML:Subject>", "</Subject>");
    refused(
        &app,
        &fed,
        &c,
        wrong_prefix.into_bytes(),
        SENDER,
        (400, "M.edXML.prefix"),
    )
    .await;

    // A field over its length limit (Subject: 500).
    let long = std::fs::read(package(
        d,
        "long",
        &header(SENDER, &[NHA_TRANG], "13", &"x".repeat(501)),
        Some(&s),
    ))
    .unwrap();
    refused(
        &app,
        &fed,
        &c,
        long,
        SENDER,
        (422, "R.MessageHeader.Subject"),
    )
    .await;

    // No recipient of this installation; a malformed one.
    let unknown = std::fs::read(package(
        d,
        "unknown",
        &header(
            SENDER,
            &["000.00.00.G22"],
            "14",
            "V/v không có nơi nhận ở đây",
        ),
        Some(&s),
    ))
    .unwrap();
    refused(
        &app,
        &fed,
        &c,
        unknown,
        SENDER,
        (422, "exchange.recipient.unknown"),
    )
    .await;

    // A byte changed after signing.
    let broken = text.replacen("V/v phối hợp liên tỉnh", "V/v phối hợp liên tinh", 1);
    refused(
        &app,
        &fed,
        &c,
        broken.into_bytes(),
        SENDER,
        (422, "edxml.signature.digest_mismatch"),
    )
    .await;

    // Unsigned; signed by a CA nobody here trusts.
    let unsigned = std::fs::read(package(
        d,
        "unsigned",
        &header(SENDER, &[NHA_TRANG], "15", "V/v chưa ký"),
        None,
    ))
    .unwrap();
    refused(
        &app,
        &fed,
        &c,
        unsigned,
        SENDER,
        (422, "edxml.signature.missing"),
    )
    .await;
    let untrusted = std::fs::read(package(
        d,
        "untrusted",
        &header(SENDER, &[NHA_TRANG], "16", "V/v chữ ký lạ"),
        Some(&signer(stranger_pki())),
    ))
    .unwrap();
    refused(
        &app,
        &fed,
        &c,
        untrusted,
        SENDER,
        (422, "edxml.signature.chain.untrusted"),
    )
    .await;

    // A sender the calling peer does not serve (another province; this installation's own).
    for (from, number) in [("000.00.01.H20", "17"), (NHA_TRANG, "18")] {
        let foreign = std::fs::read(package(
            d,
            &format!("foreign-{number}"),
            &header(from, &["000.00.32.H32"], number, "V/v giả danh"),
            Some(&s),
        ))
        .unwrap();
        refused(
            &app,
            &fed,
            &c,
            foreign,
            from,
            (403, "exchange.sender.not_served"),
        )
        .await;
    }

    // Over exchange.max_package_bytes: refused while streaming.
    refused(
        &app,
        &fed,
        &c,
        vec![b' '; 3 * 1024 * 1024],
        SENDER,
        (413, "exchange.package.too_large"),
    )
    .await;

    // A caller without a client certificate: refused in the handshake, nothing stored.
    let before = stored(&app).await;
    let anonymous = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&kit.ca).unwrap()).unwrap(),
        )
        .build()
        .unwrap();
    let sent = anonymous
        .post(format!("{}/exchange/v1/packages", fed.base))
        .body(good.clone())
        .send()
        .await;
    assert!(sent.is_err(), "{sent:?}");
    // A certificate of the right CA for an exchange that is no configured peer.
    let (status, answer) = push(
        &fed,
        &client(&kit, &kit.stranger),
        good.clone(),
        SENDER,
        "k-x",
    )
    .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (403, Some("exchange.peer.unknown")),
        "{answer}"
    );
    assert_eq!(stored(&app).await, before);

    fed.stop().await;
    app.stop().await;
}
both!(received_and_refused);

/// The business status that `organ_id` reported on the outgoing document `outgoing_id`.
async fn business_of(
    p: &tinhso_platform::Platform,
    outgoing_id: i64,
    organ_id: &str,
) -> Option<String> {
    sqlx::query_scalar(
        "SELECT business_status FROM doc_recipients WHERE outgoing_id = $1 AND organ_id = $2",
    )
    .bind(outgoing_id)
    .bind(organ_id)
    .fetch_one(p.db.pool())
    .await
    .unwrap()
}

/// The newest incoming entry of the agency `code`.
async fn entry_of(app: &TestApp, code: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT i.id FROM doc_incoming i JOIN agencies a ON a.id = i.agency_id WHERE a.code = $1 ORDER BY i.id DESC LIMIT 1",
    )
    .bind(code)
    .fetch_one(app.platform.db.pool())
    .await
    .unwrap()
}

/// A request context of the official `user_id` of `app`.
async fn as_user(app: &TestApp, user_id: i64) -> tinhso_platform::Ctx {
    let p = &app.platform;
    let user = tinhso_platform::identity::user_by_id(p, user_id)
        .await
        .unwrap()
        .unwrap();
    tinhso_platform::Ctx {
        actor: format!("user:{user_id}"),
        caller: tinhso_platform::Caller::User(
            tinhso_platform::identity::principal_for(p, &user)
                .await
                .unwrap(),
        ),
        request_id: "exchange-test".into(),
        source_addr: "127.0.0.1".into(),
        now_ms: p.now_ms(),
    }
}

/// B's reply to its entry `answered` (of Cao Bằng's committee), through the whole chain:
/// drafted by `drafter`, approved and signed on the server by a leader, released and
/// dispatched to A's ward by a clerk.
async fn reply_from_b(
    b: &TestApp,
    drafter: i64,
    answered: i64,
) -> tinhso_documents::outgoing::OutgoingView {
    use tinhso_core::access::Role;
    use tinhso_documents::domain::workflow::OutgoingStep;
    use tinhso_documents::outgoing::{self, NewDraft, RecipientChange, RecipientInput};
    use tinhso_documents::settings::{self, Settings, Unit};
    let p = &b.platform;
    settings::put(
        p,
        &b.ctx(),
        CAO_BANG,
        &Settings {
            issuer_abbreviation: "UBND".into(),
            units: vec![Unit {
                abbreviation: "VP".into(),
                name: "Văn phòng".into(),
            }],
        },
    )
    .await
    .unwrap();
    let (leader, _) =
        super::documents_ns30::official(b, "cb.lanhdao", Role::Leader, CAO_BANG).await;
    let (clerk, _) = super::documents_ns30::official(b, "cb.vanthu", Role::Clerk, CAO_BANG).await;
    let (drafter, leader, clerk) = (
        as_user(b, drafter).await,
        as_user(b, leader).await,
        as_user(b, clerk).await,
    );
    let file = tinhso_documents::files::store(
        p,
        &drafter,
        "bao-cao.pdf",
        &super::documents_server::real_pdf("Báo cáo phúc đáp"),
    )
    .await
    .unwrap();
    let draft = outgoing::create_draft(
        p,
        &drafter,
        &NewDraft {
            agency_code: CAO_BANG.into(),
            metadata: serde_json::from_value(json!({
                "type_code": "report", "subject": "Báo cáo phúc đáp",
                "issued_amount": 1, "page_amount": 1, "to_places": ["Ủy ban nhân dân phường Nha Trang"],
            }))
            .unwrap(),
            unit_abbreviation: "VP".into(),
            file_id: file.id,
            response_for: Some(answered),
            note: String::new(),
        },
    )
    .await
    .unwrap();
    outgoing::review(p, &drafter, draft.id, OutgoingStep::Submit, "")
        .await
        .unwrap();
    outgoing::review(p, &leader, draft.id, OutgoingStep::Approve, "Đồng ý")
        .await
        .unwrap();
    outgoing::sign_on_server(
        p,
        &leader,
        draft.id,
        &outgoing::ServerSignInput {
            competence: "TM.".into(),
            signer_position: "Chủ tịch".into(),
            signer_name: "Hoàng Văn B".into(),
        },
    )
    .await
    .unwrap();
    outgoing::release(p, &clerk, draft.id).await.unwrap();
    outgoing::change_recipients(
        p,
        &clerk,
        draft.id,
        &RecipientChange {
            add: vec![RecipientInput {
                organ_id: NHA_TRANG.into(),
                organ_name: "Ủy ban nhân dân phường Nha Trang".into(),
            }],
            remove: vec![],
        },
    )
    .await
    .unwrap()
}

/// Store-and-forward from the demo installation (Khánh Hòa) to another province's exchange:
/// the worker builds the released reply's package with its signed PDF, signs it, streams it
/// over mutual TLS; the receiver registers it for its agency (DONE) and refuses a recipient
/// it does not have (FAIL with the receiver's code on the sender's row). Nothing is sent twice.
async fn sent_store_and_forward(backend: Backend) {
    use tinhso_documents::outgoing::{self, RecipientChange, RecipientInput};
    let keys = tempfile::tempdir().unwrap();
    let anchor = keys.path().join("ca.pem");
    std::fs::write(&anchor, pem(&pki().ca.certificate_der).unwrap()).unwrap();
    let p12 = keys.path().join("signer.p12");
    std::fs::write(&p12, pki().pkcs12(&pki().signer).unwrap()).unwrap();
    let kit = tls_kit();

    // B: serves Cao Bằng's agency; the demo installation is its peer for the ward.
    let (a_listener, a_base) = Federation::bind().await;
    let b = receiver(
        backend,
        &anchor,
        &kit,
        vec![ExchangePeer {
            id: SENDING_PEER.into(),
            name: "Trục liên thông Khánh Hòa".into(),
            url: a_base.clone(),
            serves: vec!["000.00.31.H32".into()],
        }],
        Some(p12.clone()),
    )
    .await;
    tinhso_platform::org::create_agency(
        &b.platform,
        &b.ctx(),
        &tinhso_platform::org::NewAgency {
            code: CAO_BANG.into(),
            name: "Ủy ban nhân dân tỉnh Cao Bằng".into(),
            short_name: String::new(),
            parent_code: None,
            level: "province".into(),
            unit_era: None,
            unit_code: None,
        },
    )
    .await
    .unwrap();
    // B plays Cao Bằng alone: the demo organisation (Khánh Hòa) every test instance is seeded
    // with is retired there (no service retires an agency), so A's agencies are outside B and
    // B's reply to A's ward travels over the exchange instead of being dispatched internally.
    sqlx::query("UPDATE agencies SET active = 0 WHERE code LIKE '%.H32'")
        .write_behind(&b.platform.db)
        .await
        .unwrap();
    let fed = Federation::start(&b).await;

    // A: the demo installation, its key, its certificate, B as the peer serving H14.
    let (cert, key, ca, url) = (
        kit.sender.certificate.clone(),
        kit.sender.key.clone(),
        kit.ca.clone(),
        fed.base.clone(),
    );
    let p12_path = p12.clone();
    let a_anchor = anchor.clone();
    let a = TestApp::start_with(backend, move |c| {
        c.signing.trust_anchors = vec![a_anchor];
        c.signing.pkcs12_path = p12_path;
        c.signing.pkcs12_password = tinhso_signing::test_ca::TEST_PASSWORD.into();
        c.exchange.tls_cert = cert;
        c.exchange.tls_key = key;
        c.exchange.peer_ca = vec![ca];
        c.exchange.peers = vec![ExchangePeer {
            id: PEER.into(),
            name: "Trục liên thông Cao Bằng".into(),
            url,
            serves: vec!["*.H14".into()],
        }];
    })
    .await;
    a.clock.set("2026-03-02T08:30:00+07:00");
    let p = &a.platform;
    assert!(tinhso_documents::demo::seed(p).await.unwrap());
    let system = tinhso_platform::Ctx::system(p.now_ms());
    let reply = outgoing::list(p, &system, "000.00.31.H32")
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.code.is_some())
        .expect("the demo's released reply");
    outgoing::change_recipients(
        p,
        &system,
        reply.id,
        &RecipientChange {
            add: vec![
                RecipientInput {
                    organ_id: CAO_BANG.into(),
                    organ_name: "Ủy ban nhân dân tỉnh Cao Bằng".into(),
                },
                RecipientInput {
                    organ_id: "000.00.05.H14".into(),
                    organ_name: "Sở Tư pháp tỉnh Cao Bằng".into(),
                },
            ],
            remove: vec![],
        },
    )
    .await
    .unwrap();
    // From here on A's clock is now again: it verifies B's signatures at this instant.
    a.clock.set(&chrono::Utc::now().to_rfc3339());
    let a_fed = Federation::serve(&a, a_listener, a_base);
    let transports = tinhso_exchange::send::Transports {
        peer: std::sync::Arc::new(tinhso_exchange::send::PeerTransport::from_config(p).unwrap()),
        national: None,
    };
    let b_before = stored(&b).await;
    assert_eq!(
        tinhso_exchange::send::send_due(p, &transports)
            .await
            .unwrap(),
        2
    );
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT organ_id, transport_status, transport_detail FROM doc_recipients WHERE outgoing_id = $1 AND kind = 'external' ORDER BY organ_id",
    )
    .bind(reply.id)
    .fetch_all(p.db.pool())
    .await
    .unwrap();
    assert_eq!(rows[0].0, CAO_BANG);
    assert_eq!(rows[0].1, "DONE", "{rows:?}");
    assert_eq!(rows[1].0, "000.00.05.H14");
    assert_eq!(rows[1].1, "FAIL", "{rows:?}");
    assert!(
        rows[1].2.starts_with("exchange.recipient.unknown"),
        "{rows:?}"
    );
    // B registered it once, for Cao Bằng, with the signed PDF.
    let after = stored(&b).await;
    assert_eq!(after[0], b_before[0] + 1);
    assert_eq!(after[2], b_before[2] + 1);
    let (agency, source): (String, String) = sqlx::query_as(
        "SELECT a.code, i.source FROM doc_incoming i JOIN agencies a ON a.id = i.agency_id ORDER BY i.id DESC LIMIT 1",
    )
    .fetch_one(b.platform.db.pool())
    .await
    .unwrap();
    assert_eq!((agency.as_str(), source.as_str()), (CAO_BANG, "external"));
    let files: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM doc_incoming_files f JOIN doc_incoming i ON i.id = f.incoming_id WHERE i.source = 'external'",
    )
    .fetch_one(b.platform.db.pool())
    .await
    .unwrap();
    assert!(files >= 1);
    // Both sides logged both exchanges.
    let out: Vec<(String, String)> =
        sqlx::query_as("SELECT status, code FROM exchange_log WHERE direction = 'out' ORDER BY id")
            .fetch_all(p.db.pool())
            .await
            .unwrap();
    assert_eq!(
        out,
        [
            ("DONE".into(), String::new()),
            ("FAIL".into(), "exchange.recipient.unknown".into())
        ]
    );
    // Nothing left to send.
    assert_eq!(
        tinhso_exchange::send::send_due(p, &transports)
            .await
            .unwrap(),
        0
    );

    // B reports back to A: arrival (01, queued on receipt), then the entry's state
    // (03, registered), each once; A records them on its recipient row.
    let b_transports = tinhso_exchange::send::Transports {
        peer: std::sync::Arc::new(
            tinhso_exchange::send::PeerTransport::from_config(&b.platform).unwrap(),
        ),
        national: None,
    };
    let business = || business_of(p, reply.id, CAO_BANG);
    use tinhso_exchange::send::{report_progress, send_statuses};
    assert_eq!(send_statuses(&b.platform, &b_transports).await.unwrap(), 1);
    let sent: (String, String, String) = sqlx::query_as(
        "SELECT status, code, detail FROM exchange_log WHERE direction = 'out' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(b.platform.db.pool())
    .await
    .unwrap();
    assert_eq!(sent.0, "DONE", "{sent:?}");
    assert_eq!(business().await.as_deref(), Some("01"));
    assert_eq!(report_progress(&b.platform).await.unwrap(), 1);
    assert_eq!(send_statuses(&b.platform, &b_transports).await.unwrap(), 1);
    assert_eq!(business().await.as_deref(), Some("03"));
    assert_eq!(report_progress(&b.platform).await.unwrap(), 0);
    assert_eq!(send_statuses(&b.platform, &b_transports).await.unwrap(), 0);
    let statuses: Vec<(String, String)> = sqlx::query_as(
        "SELECT status, code FROM exchange_log WHERE direction = 'in' AND message_type = 'status' ORDER BY id",
    )
    .fetch_all(p.db.pool())
    .await
    .unwrap();
    assert_eq!(statuses.len(), 2, "{statuses:?}");
    assert!(statuses.iter().all(|(s, _)| s == "DONE"), "{statuses:?}");

    // On B the leader routes the entry to a handler (05 back to A), who completes it (06).
    use tinhso_documents::domain::workflow::{Assignment, IncomingStep};
    use tinhso_documents::incoming;
    let (handler, _) = super::documents_ns30::official(
        &b,
        "cb.chuyenvien",
        tinhso_core::access::Role::Specialist,
        CAO_BANG,
    )
    .await;
    let entry = entry_of(&b, CAO_BANG).await;
    incoming::assign(
        &b.platform,
        &b.ctx(),
        entry,
        &Assignment {
            main_handler: handler,
            direction: "Giao chuyên viên xử lý".into(),
            ..Assignment::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(report_progress(&b.platform).await.unwrap(), 1);
    assert_eq!(send_statuses(&b.platform, &b_transports).await.unwrap(), 1);
    assert_eq!(business().await.as_deref(), Some("05"));
    incoming::handle(
        &b.platform,
        &b.ctx(),
        entry,
        IncomingStep::Complete,
        "Đã xử lý xong",
    )
    .await
    .unwrap();
    assert_eq!(report_progress(&b.platform).await.unwrap(), 1);
    assert_eq!(send_statuses(&b.platform, &b_transports).await.unwrap(), 1);
    assert_eq!(business().await.as_deref(), Some("06"));
    // Done is the last progress there is to report.
    assert_eq!(report_progress(&b.platform).await.unwrap(), 0);

    // B answers: a report of Cao Bằng's committee whose ResponseFor is A's document, drafted,
    // approved, signed on the server, released and dispatched to A's ward over the exchange.
    let a_document_id = outgoing::get(p, &system, reply.id)
        .await
        .unwrap()
        .document_id
        .unwrap();
    let answer = reply_from_b(&b, handler, entry).await;
    assert_eq!(
        answer
            .response_for
            .as_ref()
            .and_then(|r| r.document_id.as_deref()),
        Some(a_document_id.as_str())
    );
    assert_eq!(
        tinhso_exchange::send::send_due(&b.platform, &b_transports)
            .await
            .unwrap(),
        1
    );
    let b_rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT organ_id, transport_status FROM doc_recipients WHERE outgoing_id = $1",
    )
    .bind(answer.id)
    .fetch_all(b.platform.db.pool())
    .await
    .unwrap();
    assert_eq!(b_rows, [(NHA_TRANG.into(), "DONE".into())]);
    // A registered it for its ward, linked to the document it answers.
    let at_a = entry_of(&a, NHA_TRANG).await;
    let view = incoming::get(p, &system, at_a).await.unwrap();
    assert_eq!(view.source, "external");
    assert_eq!(view.document_id, answer.document_id);
    assert_eq!(view.answers_outgoing_id, Some(reply.id));
    let replies = outgoing::get(p, &system, reply.id)
        .await
        .unwrap()
        .answered_by;
    assert_eq!(
        replies.iter().map(|r| r.incoming_id).collect::<Vec<_>>(),
        [at_a]
    );
    // The ward's leader sees the link both ways on the document pages.
    let browser = a.client();
    let (st, _) =
        super::support::login(&a, &browser, "lanhdao", super::support::DEMO_PASSWORD).await;
    assert_eq!(st, 303);
    let (_, page) =
        super::support::page(&browser, a.url(&format!("/van-ban/di/{}", reply.id))).await;
    assert!(
        page.contains("data-answered-by") && page.contains(&format!("/van-ban/den/{at_a}")),
        "{page}"
    );
    let (_, page) = super::support::page(&browser, a.url(&format!("/van-ban/den/{at_a}"))).await;
    assert!(
        page.contains("data-answers") && page.contains(&format!("/van-ban/di/{}", reply.id)),
        "{page}"
    );
    // A's statuses travel back to B: arrival (01), registered (03).
    let a_statuses = || business_of(&b.platform, answer.id, NHA_TRANG);
    assert_eq!(send_statuses(p, &transports).await.unwrap(), 1);
    assert_eq!(a_statuses().await.as_deref(), Some("01"));
    assert_eq!(report_progress(p).await.unwrap(), 1);
    assert_eq!(send_statuses(p, &transports).await.unwrap(), 1);
    assert_eq!(a_statuses().await.as_deref(), Some("03"));

    // A updates the recipient list: B's Sở Nội vụ added, Cao Bằng's committee taken off. B
    // revokes the committee's entry (15 back) and registers the document for Sở Nội vụ (01).
    tinhso_platform::org::create_agency(
        &b.platform,
        &b.ctx(),
        &tinhso_platform::org::NewAgency {
            code: NOI_VU.into(),
            name: "Sở Nội vụ tỉnh Cao Bằng".into(),
            short_name: String::new(),
            parent_code: None,
            level: "department".into(),
            unit_era: None,
            unit_code: None,
        },
    )
    .await
    .unwrap();
    outgoing::change_recipients(
        p,
        &tinhso_platform::Ctx::system(p.now_ms()),
        reply.id,
        &RecipientChange {
            add: vec![RecipientInput {
                organ_id: NOI_VU.into(),
                organ_name: "Sở Nội vụ tỉnh Cao Bằng".into(),
            }],
            remove: vec![CAO_BANG.into()],
        },
    )
    .await
    .unwrap();
    assert_eq!(
        tinhso_exchange::send::send_due(p, &transports)
            .await
            .unwrap(),
        2
    );
    let removed: Option<i64> =
        sqlx::query_scalar("SELECT revoked_ms FROM doc_incoming WHERE id = $1")
            .bind(entry)
            .fetch_one(b.platform.db.pool())
            .await
            .unwrap();
    assert!(removed.is_some(), "the removal reached B");
    let added = entry_of(&b, NOI_VU).await;
    // The added agency's entry carries the document itself (its signed PDF), once.
    let added_files: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM doc_incoming_files WHERE incoming_id = $1")
            .bind(added)
            .fetch_one(b.platform.db.pool())
            .await
            .unwrap();
    assert_eq!(added_files, 1);
    assert_eq!(send_statuses(&b.platform, &b_transports).await.unwrap(), 2);
    assert_eq!(business().await.as_deref(), Some("15"));
    assert_eq!(
        business_of(p, reply.id, NOI_VU).await.as_deref(),
        Some("01")
    );
    assert_eq!(report_progress(&b.platform).await.unwrap(), 1);
    assert_eq!(send_statuses(&b.platform, &b_transports).await.unwrap(), 1);
    assert_eq!(
        business_of(p, reply.id, NOI_VU).await.as_deref(),
        Some("03")
    );

    // A revokes the document: the revocation reaches B, which marks its entry revoked and
    // answers 15 (agreed) back to A.
    outgoing::revoke(
        p,
        &tinhso_platform::Ctx::system(p.now_ms()),
        reply.id,
        "Ban hành nhầm",
    )
    .await
    .unwrap();
    assert_eq!(
        tinhso_exchange::send::send_due(p, &transports)
            .await
            .unwrap(),
        2
    );
    let revoked: Option<i64> =
        sqlx::query_scalar("SELECT revoked_ms FROM doc_incoming WHERE id = $1")
            .bind(added)
            .fetch_one(b.platform.db.pool())
            .await
            .unwrap();
    assert!(revoked.is_some());
    assert_eq!(send_statuses(&b.platform, &b_transports).await.unwrap(), 1);
    assert_eq!(
        business_of(p, reply.id, NOI_VU).await.as_deref(),
        Some("15")
    );
    // A revoked entry reports no more progress.
    assert_eq!(report_progress(&b.platform).await.unwrap(), 0);

    a_fed.stop().await;
    fed.stop().await;
    a.stop().await;
    b.stop().await;
}
both!(sent_store_and_forward);
