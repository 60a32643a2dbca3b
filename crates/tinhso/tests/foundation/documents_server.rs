//! Documents on the server, over HTTP on SQLite and PostgreSQL: the release signed on the
//! server with the organisation's PKCS#12 key (PAdES B-B, checked independently by poppler's
//! `pdfsig` trusting the test CA through an NSS database; B-T with `openssl ts` as the
//! timestamp authority), no key → a stable error and nothing changed, an attached tampered
//! PDF stored as invalid with its code, a document signed by the test CA arriving at another
//! agency verified valid with the signer's name, arrival notices, the 30-day archiving
//! reminder, the work file's tar export checked with `tar` and `xmllint --schema`, and the
//! statistics of an agency's subtree. Debian: poppler-utils, libnss3-tools, openssl, tar,
//! libxml2-utils.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tinhso_core::access::Role;
use tinhso_signing::test_ca::{self, TEST_PASSWORD, TestPki};

use super::documents_ns30::{BAC_NHA_TRANG, NHA_TRANG, official, rule, settings};
use super::onestop::{get, post, token};
use super::support::{Backend, DEMO_PASSWORD, TestApp, csrf_of, login, page};
use crate::both;

/// The test CA around the real current time (pdfsig and openssl check against the real
/// clock), written to a directory of its own.
struct Pki {
    pki: TestPki,
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let now = chrono::Utc::now().timestamp();
        let pki = TestPki::generate(now).unwrap();
        let dir = tempfile::tempdir().unwrap();
        pki.write_to(dir.path()).unwrap();
        Pki { pki, dir }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// Configures the app to sign with the test signer and trust the test CA.
    fn configure(&self, config: &mut tinhso_platform::Config, timestamp_url: &str) {
        config.signing.pkcs12_path = self.path("signer.p12");
        config.signing.pkcs12_password = TEST_PASSWORD.into();
        config.signing.trust_anchors = vec![self.path("ca.pem")];
        config.signing.timestamp_url = timestamp_url.into();
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn run(program: &str, args: &[&str]) -> (bool, String) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} cannot run ({e}): install it (see the module doc)"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// A throwaway NSS database trusting the test CA.
fn nss_db(pki: &Pki) -> String {
    let db = pki.path("nssdb");
    std::fs::create_dir_all(&db).unwrap();
    let db = format!("sql:{}", s(&db));
    let (ok, out) = run("certutil", &["-N", "-d", &db, "--empty-password"]);
    assert!(ok, "certutil -N: {out}");
    let ca = pki.path("ca.pem");
    let (ok, out) = run(
        "certutil",
        &[
            "-A",
            "-d",
            &db,
            "-n",
            "tinhso-test-ca",
            "-t",
            "CT,C,C",
            "-i",
            s(&ca),
        ],
    );
    assert!(ok, "certutil -A: {out}");
    db
}

/// A real PDF with one page (the server signs the first page's widget).
pub(super) fn real_pdf(title: &str) -> Vec<u8> {
    let mut doc = tinhso_pdf::Document::new(title);
    doc.push(tinhso_pdf::Paragraph::new(
        "Văn bản thử ký số trên máy chủ của Ủy ban nhân dân phường.",
    ));
    doc.render().unwrap()
}

async fn upload(app: &TestApp, bearer: &str, name: &str, bytes: Vec<u8>) -> i64 {
    let r = app
        .client()
        .post(app.url("/api/v1/documents/files"))
        .query(&[("filename", name)])
        .bearer_auth(bearer)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

async fn download(app: &TestApp, bearer: &str, path: &str) -> Vec<u8> {
    let r = app
        .client()
        .get(app.url(path))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{path}");
    r.bytes().await.unwrap().to_vec()
}

struct People {
    specialist: String,
    leader: String,
    clerk: String,
    clerk_b: String,
}

async fn people(app: &TestApp) -> People {
    settings(app).await;
    People {
        specialist: token(app, "chuyenvien").await,
        leader: token(app, "lanhdao").await,
        clerk: official(app, "vanthu.nt", Role::Clerk, NHA_TRANG).await.1,
        clerk_b: official(app, "vanthu.bnt", Role::Clerk, BAC_NHA_TRANG)
            .await
            .1,
    }
}

/// A draft of the ward with `file` as its version, submitted and approved: its id.
async fn approved(app: &TestApp, who: &People, subject: &str, file: Vec<u8>, name: &str) -> i64 {
    let c = app.client();
    let api = |p: &str| app.url(&format!("/api/v1/documents{p}"));
    let file_id = upload(app, &who.specialist, name, file).await;
    let (st, out) = post(
        &c,
        api("/outgoing"),
        &who.specialist,
        &json!({
            "agency_code": NHA_TRANG,
            "metadata": {"type_code": "plan", "subject": subject, "issued_amount": 2},
            "file_id": file_id,
        }),
    )
    .await;
    assert_eq!(st, 201, "{out}");
    let id = out["id"].as_i64().unwrap();
    for (bearer, step) in [(&who.specialist, "submit"), (&who.leader, "approve")] {
        let (st, body) = post(
            &c,
            api(&format!("/outgoing/{id}/review")),
            bearer,
            &json!({"step": step, "comment": "Đồng ý"}),
        )
        .await;
        assert_eq!(st, 200, "{step}: {body}");
    }
    id
}

async fn sign_release_dispatch(backend: Backend) {
    let pki = Pki::new();
    let app = TestApp::start_with(backend, |c| pki.configure(c, "")).await;
    let who = people(&app).await;
    let c = app.client();
    let api = |p: &str| app.url(&format!("/api/v1/documents{p}"));

    // Signed on the server by the leader (the sign right): B-B, valid, subject recorded.
    let id = approved(
        &app,
        &who,
        "Kế hoạch ký số",
        real_pdf("Kế hoạch"),
        "ke-hoach.pdf",
    )
    .await;
    let (st, body) = post(
        &c,
        api(&format!("/outgoing/{id}/sign-on-server")),
        &who.specialist,
        &json!({"signer_position": "Chủ tịch"}),
    )
    .await;
    assert_eq!(st, 403, "a specialist has no sign right: {body}");
    let (st, out) = post(
        &c,
        api(&format!("/outgoing/{id}/sign-on-server")),
        &who.leader,
        &json!({"competence": "TM.", "signer_position": "Chủ tịch"}),
    )
    .await;
    assert_eq!(st, 200, "{out}");
    assert_eq!(out["status"], "signed");
    assert_eq!(out["metadata"]["signer_name"], test_ca::SIGNER_NAME);
    assert_eq!(out["metadata"]["signer_position"], "TM. Chủ tịch");
    let subject = out["server_signature"]["subject"].as_str().unwrap();
    assert!(subject.contains(test_ca::SIGNER_NAME), "{out}");
    assert!(
        !out["server_signature"]["serial"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    let sig = &out["signatures"][0];
    assert_eq!(sig["status"], "valid", "{out}");
    assert_eq!(sig["signatures"][0]["signer_name"], test_ca::SIGNER_NAME);
    assert_eq!(
        sig["signatures"][0]["organization"],
        test_ca::SIGNER_ORGANIZATION
    );
    assert_eq!(sig["signatures"][0]["timestamp"], false);
    let signed_file = out["signed_file"]["id"].as_i64().unwrap();
    let audit: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'document_outgoing.sign_on_server' AND object_id = $1",
    )
    .bind(id.to_string())
    .fetch_one(app.platform.db.pool())
    .await
    .unwrap();
    assert_eq!(audit, 1);

    // poppler checks the stored PDF on its own, trusting the test CA.
    let pdf = download(
        &app,
        &who.leader,
        &format!("/api/v1/documents/files/{signed_file}"),
    )
    .await;
    let stored = pki.path("stored.pdf");
    std::fs::write(&stored, &pdf).unwrap();
    let (_, text) = run("pdfsig", &["-nssdir", &nss_db(&pki), s(&stored)]);
    assert!(text.contains("Signature is Valid"), "{text}");
    assert!(text.contains("Certificate is Trusted"), "{text}");
    assert!(text.contains(test_ca::SIGNER_NAME), "{text}");

    // Released and dispatched to the other ward: the entry there has the PDF verified (valid,
    // with the signer's name) and its leaders and clerks a notice.
    let (st, body) = post(
        &c,
        api(&format!("/outgoing/{id}/release")),
        &who.clerk,
        &json!({}),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let (st, out) = post(
        &c,
        api(&format!("/outgoing/{id}/recipients")),
        &who.clerk,
        &json!({"add": [{"organ_id": BAC_NHA_TRANG}]}),
    )
    .await;
    assert_eq!(st, 200, "{out}");
    let incoming_id = out["recipients"][0]["incoming_id"].as_i64().unwrap();
    let (st, doc) = get(&c, api(&format!("/incoming/{incoming_id}")), &who.clerk_b).await;
    assert_eq!(st, 200, "{doc}");
    assert_eq!(doc["signatures"][0]["status"], "valid", "{doc}");
    assert_eq!(
        doc["signatures"][0]["signatures"][0]["signer_name"],
        test_ca::SIGNER_NAME
    );
    let (st, notices) = get(&c, api("/notices?unread=true"), &who.clerk_b).await;
    assert_eq!(st, 200, "{notices}");
    let list = notices["notices"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{notices}");
    assert_eq!(list[0]["kind"], "arrival");
    assert_eq!(list[0]["object_id"], incoming_id);
    assert_eq!(list[0]["subject"], "Kế hoạch ký số");
    let notice = list[0]["id"].as_i64().unwrap();
    // Someone else's notice is not found; the addressee reads it.
    let (st, _) = post(
        &c,
        api(&format!("/notices/{notice}/read")),
        &who.clerk,
        &json!({}),
    )
    .await;
    assert_eq!(st, 404);
    let (st, _) = post(
        &c,
        api(&format!("/notices/{notice}/read")),
        &who.clerk_b,
        &json!({}),
    )
    .await;
    assert_eq!(st, 204);
    let (_, notices) = get(&c, api("/notices?unread=true"), &who.clerk_b).await;
    assert_eq!(notices["notices"].as_array().unwrap().len(), 0, "{notices}");
    // The sending ward's own people got nothing for a document they sent.
    let (_, mine) = get(&c, api("/notices"), &who.clerk).await;
    assert!(
        mine["notices"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["object_id"] != incoming_id),
        "{mine}"
    );

    // An uploaded PDF whose signed bytes were changed afterwards: recorded, and invalid.
    let id2 = approved(&app, &who, "Tamper", real_pdf("Tamper Test"), "tamper.pdf").await;
    let signed = tinhso_signing::sign_pdf(
        &real_pdf("Tamper Test"),
        &pki.pki.signer_for(&pki.pki.signer).unwrap(),
        &tinhso_signing::SignOptions {
            signing_time_unix: chrono::Utc::now().timestamp(),
            ..Default::default()
        },
    )
    .unwrap();
    let tampered = replace_all(&signed, b"Tamper Test", b"Tamper Fest");
    assert_ne!(tampered, signed, "the title is in the signed bytes");
    let file = upload(&app, &who.leader, "da-ky.pdf", tampered).await;
    let (st, out) = post(
        &c,
        api(&format!("/outgoing/{id2}/sign")),
        &who.leader,
        &json!({"file_id": file, "signer_position": "Chủ tịch", "signer_name": "Võ Văn Dũng"}),
    )
    .await;
    assert_eq!(st, 200, "{out}");
    assert_eq!(out["signatures"][0]["status"], "invalid", "{out}");
    assert_eq!(
        out["signatures"][0]["problem"], "signature.digest_mismatch",
        "{out}"
    );

    // A version that is no PDF is not signed on the server, and nothing changes.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xff\xff?\0\x05\xfe\x02\xfe\xa7\x35\x81\x84\0\0\0\0IEND\xaeB`\x82".to_vec();
    let id3 = approved(&app, &who, "Ảnh", png, "anh.png").await;
    let (st, body) = post(
        &c,
        api(&format!("/outgoing/{id3}/sign-on-server")),
        &who.leader,
        &json!({"signer_position": "Chủ tịch"}),
    )
    .await;
    assert_eq!(
        (st, rule(&body)),
        (422, "document.signing.not_pdf"),
        "{body}"
    );
    let (_, out) = get(&c, api(&format!("/outgoing/{id3}")), &who.leader).await;
    assert_eq!(out["status"], "approved");
    assert!(out["signed_file"].is_null());

    // A received PDF, signed by the test CA elsewhere, registered by the clerk: valid.
    let elsewhere = tinhso_signing::sign_pdf(
        &real_pdf("Công văn đến"),
        &pki.pki.signer_for(&pki.pki.signer).unwrap(),
        &tinhso_signing::SignOptions {
            signing_time_unix: chrono::Utc::now().timestamp(),
            ..Default::default()
        },
    )
    .unwrap();
    let scan = upload(&app, &who.clerk, "cong-van-den.pdf", elsewhere).await;
    let unsigned = upload(&app, &who.clerk, "phu-luc.pdf", real_pdf("Phụ lục")).await;
    let (st, doc) = post(
        &c,
        api("/incoming"),
        &who.clerk,
        &json!({
            "agency_code": NHA_TRANG,
            "source": "electronic",
            "metadata": {
                "type_code": "plan", "subject": "Kế hoạch nhận được", "code_number": "7",
                "code_notation": "KH-UBND", "issued_date": "2026-11-30",
                "organ_id": "000.00.00.H32", "organ_name": "Ủy ban nhân dân tỉnh Khánh Hòa",
            },
            "file_ids": [scan, unsigned],
        }),
    )
    .await;
    assert_eq!(st, 201, "{doc}");
    let verdicts = doc["signatures"].as_array().unwrap();
    assert_eq!(verdicts.len(), 2, "{doc}");
    assert_eq!(verdicts[0]["file_id"], scan);
    assert_eq!(verdicts[0]["status"], "valid");
    assert_eq!(
        verdicts[0]["signatures"][0]["signer_name"],
        test_ca::SIGNER_NAME
    );
    assert!(
        verdicts[0]["signatures"][0]["signing_ms"]
            .as_i64()
            .is_some()
    );
    assert_eq!(verdicts[1]["status"], "unsigned");
    let received = doc["id"].as_i64().unwrap();
    // The leader of the receiving ward has an arrival notice.
    let (_, notices) = get(&c, api("/notices"), &who.leader).await;
    assert!(
        notices["notices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "arrival" && n["object_id"] == received),
        "{notices}"
    );
    let (st, doc) = post(
        &c,
        api(&format!("/incoming/{received}/verify-signatures")),
        &who.clerk,
        &json!({}),
    )
    .await;
    assert_eq!(st, 200, "{doc}");
    assert_eq!(doc["signatures"][0]["status"], "valid");

    // Received through the exchange (an edXML package from another province), signed by
    // the test CA, and by an expired certificate: verified at the registration instant.
    let system = tinhso_platform::Ctx::system(app.platform.now_ms());
    let sign_with = |issued: &test_ca::Issued| {
        tinhso_signing::sign_pdf(
            &real_pdf("Công văn liên thông"),
            &pki.pki.signer_for(issued).unwrap(),
            &tinhso_signing::SignOptions {
                signing_time_unix: chrono::Utc::now().timestamp(),
                ..Default::default()
            },
        )
        .unwrap()
    };
    let package = tinhso_documents::exchange::ReceivedDocument {
        to_agency_code: NHA_TRANG.into(),
        document_id: "000.00.00.G22,2026/11/30,7816/VPCP-TTĐT".into(),
        metadata: serde_json::from_value(json!({
            "type_code": "official_letter", "subject": "V/v cung cấp thông tin",
            "code_number": "7816", "code_notation": "VPCP-TTĐT", "issued_date": "2026-11-30",
            "organ_id": "000.00.00.G22", "organ_name": "Văn phòng Chính phủ",
        }))
        .unwrap(),
        files: vec![
            tinhso_documents::exchange::ReceivedFile {
                filename: "7816.pdf".into(),
                blob: tinhso_documents::files::put_checked_bytes(
                    &app.platform,
                    &sign_with(&pki.pki.signer),
                )
                .await
                .unwrap(),
            },
            tinhso_documents::exchange::ReceivedFile {
                filename: "7816-cu.pdf".into(),
                blob: tinhso_documents::files::put_checked_bytes(
                    &app.platform,
                    &sign_with(&pki.pki.expired_signer),
                )
                .await
                .unwrap(),
            },
        ],
    };
    let got = tinhso_documents::exchange::register_received(&app.platform, &system, &package)
        .await
        .unwrap();
    let (_, doc) = get(
        &c,
        api(&format!("/incoming/{}", got.incoming_id)),
        &who.clerk,
    )
    .await;
    assert_eq!(doc["signatures"][0]["status"], "valid", "{doc}");
    assert_eq!(
        doc["signatures"][0]["signatures"][0]["signer_name"],
        test_ca::SIGNER_NAME
    );
    assert_eq!(doc["signatures"][1]["status"], "invalid", "{doc}");
    assert_eq!(
        doc["signatures"][1]["problem"], "signature.expired",
        "{doc}"
    );
    assert_eq!(
        doc["signatures"][1]["signatures"][0]["signer_name"],
        test_ca::EXPIRED_SIGNER_NAME
    );

    archive_and_reminder(&app, &who, received, id).await;
    subtree_statistics(&app, &who).await;
}
both!(sign_release_dispatch);

fn replace_all(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// The work file with the received and the sent document: exported as a tar, closed, due
/// for archiving after 30 days, then handed over.
async fn archive_and_reminder(app: &TestApp, who: &People, incoming_id: i64, outgoing_id: i64) {
    let c = app.client();
    let api = |p: &str| app.url(&format!("/api/v1/documents{p}"));
    let (st, wf) = post(
        &c,
        api("/work-files"),
        &who.specialist,
        &json!({"agency_code": NHA_TRANG, "metadata": {
            "file_notation": "KH.01", "title": "Hồ sơ kế hoạch chuyển đổi số",
            "maintenance": "10 năm", "rights": "Công khai", "creator": "Nguyễn Thị Hoa",
            "language": "Tiếng Việt", "page_total": 2, "description": "Kế hoạch & báo cáo <2026>",
        }}),
    )
    .await;
    assert_eq!(st, 201, "{wf}");
    let wf_id = wf["id"].as_i64().unwrap();
    for (direction, doc) in [("in", incoming_id), ("out", outgoing_id)] {
        let (st, body) = post(
            &c,
            api(&format!("/work-files/{wf_id}/items")),
            &who.specialist,
            &json!({"direction": direction, "document_id": doc}),
        )
        .await;
        assert_eq!(st, 200, "{body}");
    }
    let r = c
        .get(api(&format!("/work-files/{wf_id}/archive")))
        .bearer_auth(&who.specialist)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-tar");
    let tar = r.bytes().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hs.tar");
    std::fs::write(&file, &tar).unwrap();
    let (ok, listing) = run("tar", &["-tf", s(&file)]);
    assert!(ok, "{listing}");
    let names: Vec<&str> = listing.lines().collect();
    assert_eq!(
        names,
        [
            "metadata.xml",
            "metadata.xsd",
            &format!("documents/01-in-{incoming_id}/cong-van-den.pdf"),
            &format!("documents/01-in-{incoming_id}/phu-luc.pdf"),
            &format!("documents/02-out-{outgoing_id}/ke-hoach-da-ky.pdf"),
        ],
        "{listing}"
    );
    let (ok, out) = run("tar", &["-xf", s(&file), "-C", s(dir.path())]);
    assert!(ok, "{out}");
    let (ok, out) = run(
        "xmllint",
        &[
            "--noout",
            "--schema",
            s(&dir.path().join("metadata.xsd")),
            s(&dir.path().join("metadata.xml")),
        ],
    );
    assert!(ok, "metadata.xml follows its schema: {out}");
    let xml = std::fs::read_to_string(dir.path().join("metadata.xml")).unwrap();
    assert!(xml.contains("<FileCode>000.00.31.H32."), "{xml}");
    assert!(
        xml.contains("<Title>Hồ sơ kế hoạch chuyển đổi số</Title>"),
        "{xml}"
    );
    assert!(
        xml.contains("<Description>Kế hoạch &amp; báo cáo &lt;2026&gt;</Description>"),
        "{xml}"
    );
    assert!(xml.contains("<DocTotal>2</DocTotal>"), "{xml}");
    assert!(xml.contains("<Subject>Kế hoạch ký số</Subject>"), "{xml}");
    assert!(
        xml.contains("fontsEmbedded=\"true\""),
        "our PDFs embed their fonts: {xml}"
    );
    assert!(xml.contains("signature=\"valid\""), "{xml}");
    // The files tinhso-pdf wrote declare PDF/A-2b and carry their sRGB output intent.
    assert!(
        xml.contains("pdfa=\"2b\" outputIntent=\"true\" fontsEmbedded=\"true\""),
        "our PDFs are PDF/A-2b: {xml}"
    );
    // The PDFs in the tar are the stored ones, byte for byte (signatures intact).
    let signed = std::fs::read(
        dir.path()
            .join(format!("documents/02-out-{outgoing_id}/ke-hoach-da-ky.pdf")),
    )
    .unwrap();
    let anchors = [std::fs::read(app.platform.config.signing.trust_anchors[0].clone()).unwrap()];
    let anchors = tinhso_signing::pki::certificates_from_pem(&anchors[0]).unwrap();
    let report =
        tinhso_signing::verify_pdf(&signed, &anchors, chrono::Utc::now().timestamp()).unwrap();
    assert!(report[0].is_valid(), "{:?}", report[0].problems);

    // Closed today: not yet due. 31 days later: in the list and a notice of the clerk's.
    let (st, body) = post(
        &c,
        api(&format!("/work-files/{wf_id}/close")),
        &who.specialist,
        &json!({}),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    assert!(body["closed_ms"].as_i64().is_some());
    let (st, body) = post(
        &c,
        api(&format!("/work-files/{wf_id}/close")),
        &who.specialist,
        &json!({}),
    )
    .await;
    assert_eq!(
        (st, rule(&body)),
        (409, "work_file.close.not_open"),
        "{body}"
    );
    let due = |bearer: String| {
        let c = c.clone();
        let url = api(&format!("/work-files/due-for-archiving?agency={NHA_TRANG}"));
        async move { get(&c, url, &bearer).await }
    };
    let (st, list) = due(who.clerk.clone()).await;
    assert_eq!(st, 200, "{list}");
    assert_eq!(list["work_files"].as_array().unwrap().len(), 0, "{list}");
    let later = chrono::Utc::now() + chrono::Duration::days(31);
    app.clock.set(&later.to_rfc3339());
    let (_, list) = due(who.clerk.clone()).await;
    let files = list["work_files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{list}");
    assert_eq!(files[0]["work_file_id"], wf_id);
    assert_eq!(files[0]["days_closed"], 31);
    let (_, notices) = get(&c, api("/notices"), &who.clerk).await;
    assert!(
        notices["notices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "archive_due" && n["object_id"] == wf_id),
        "{notices}"
    );
    // The specialist may not hand files over; the clerk does, and the reminder ends.
    let (st, _) = post(
        &c,
        api(&format!("/work-files/{wf_id}/hand-over")),
        &who.specialist,
        &json!({}),
    )
    .await;
    assert_eq!(st, 403);
    let (st, body) = post(
        &c,
        api(&format!("/work-files/{wf_id}/hand-over")),
        &who.clerk,
        &json!({}),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let (_, list) = due(who.clerk.clone()).await;
    assert_eq!(list["work_files"].as_array().unwrap().len(), 0, "{list}");
    app.clock.set(&chrono::Utc::now().to_rfc3339());
}

/// The ward's and the other ward's documents, counted for the province's subtree.
async fn subtree_statistics(app: &TestApp, who: &People) {
    let c = app.client();
    let today = chrono::Utc::now().date_naive();
    let (from, to) = (today - chrono::Days::new(2), today + chrono::Days::new(2));
    let province_leader = official(app, "lanhdao.tinh", Role::Leader, "000.00.00.H32")
        .await
        .1;
    let stats = |agency: &str, subtree: bool, bearer: &str| {
        let url = app.url(&format!(
            "/api/v1/documents/statistics?agency={agency}&from={from}&to={to}&subtree={subtree}"
        ));
        let c = c.clone();
        let bearer = bearer.to_owned();
        async move { get(&c, url, &bearer).await }
    };
    let (st, ward) = stats(NHA_TRANG, false, &who.leader).await;
    assert_eq!(st, 200, "{ward}");
    // Nha Trang: two documents received (the clerk's registration and the exchange's),
    // one released (signed on the server, dispatched electronically).
    assert_eq!(
        (ward["incoming"].as_i64(), ward["outgoing"].as_i64()),
        (Some(2), Some(1)),
        "{ward}"
    );
    assert_eq!(ward["outgoing_signed"], 1);
    assert_eq!(ward["share_outgoing_electronic"], 1.0);
    let (st, province) = stats("000.00.00.H32", false, &province_leader).await;
    assert_eq!(st, 200, "{province}");
    assert_eq!(
        (province["incoming"].as_i64(), province["outgoing"].as_i64()),
        (Some(0), Some(0))
    );
    let (st, tree) = stats("000.00.00.H32", true, &province_leader).await;
    assert_eq!(st, 200, "{tree}");
    assert_eq!(tree["subtree"], true);
    assert!(tree["agencies"].as_i64().unwrap() > 2, "{tree}");
    // Both wards: Nha Trang's two and Bắc Nha Trang's dispatched arrival.
    assert_eq!(tree["incoming"], 3, "{tree}");
    assert_eq!(tree["incoming_electronic"], 3, "{tree}");
    assert_eq!(tree["outgoing"], 1, "{tree}");
    assert_eq!(tree["share_signed"], 1.0);
    // The ward's leader sees no further than the ward.
    let (st, body) = stats("000.00.00.H32", true, &who.leader).await;
    assert_eq!(st, 404, "{body}");
}

async fn no_key_writes_nothing(backend: Backend) {
    let app = TestApp::start(backend).await;
    let who = people(&app).await;
    let c = app.client();
    let id = approved(&app, &who, "Không có khóa", real_pdf("Không khóa"), "a.pdf").await;
    let head = app.audit_head().await;
    let (st, body) = post(
        &c,
        app.url(&format!("/api/v1/documents/outgoing/{id}/sign-on-server")),
        &who.leader,
        &json!({"signer_position": "Chủ tịch", "signer_name": "Võ Văn Dũng"}),
    )
    .await;
    assert_eq!(
        (st, rule(&body)),
        (422, "document.signing.no_key"),
        "{body}"
    );
    let (_, out) = get(
        &c,
        app.url(&format!("/api/v1/documents/outgoing/{id}")),
        &who.leader,
    )
    .await;
    assert_eq!(out["status"], "approved");
    assert!(
        out["signed_file"].is_null() && out["server_signature"].is_null(),
        "{out}"
    );
    let files: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM doc_files")
        .fetch_one(app.platform.db.pool())
        .await
        .unwrap();
    assert_eq!(files, 1, "only the draft's file");
    assert_eq!(
        app.audit_head().await,
        head,
        "nothing audited: nothing happened"
    );
}
both!(no_key_writes_nothing);

/// An RFC 3161 responder: `openssl ts -reply` behind HTTP/1.1 on 127.0.0.1, answering at
/// most `requests` requests within 60 seconds.
fn start_tsa(pki: &Pki, requests: usize) -> String {
    let dir = pki.path("tsa");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("serial"), "01\n").unwrap();
    let config = format!(
        "[ tsa ]\ndefault_tsa = tsa_config\n[ tsa_config ]\nserial = {serial}\ncrypto_device = builtin\n\
         signer_cert = {cert}\ncerts = {ca}\nsigner_key = {key}\nsigner_digest = sha256\n\
         default_policy = 1.2.3.4.1\ndigests = sha256, sha384, sha512\naccuracy = secs:1\n\
         ordering = no\ntsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n",
        serial = s(&dir.join("serial")),
        cert = s(&pki.path("tsa.pem")),
        ca = s(&pki.path("ca.pem")),
        key = s(&pki.path("tsa.key")),
    );
    std::fs::write(dir.join("tsa.cnf"), config).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/tsa", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut served = 0;
        while served < requests && Instant::now() < deadline {
            let Ok((mut stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            };
            served += 1;
            stream.set_nonblocking(false).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            let body = loop {
                let n = stream.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break None;
                }
                request.extend_from_slice(&buf[..n]);
                if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&request[..end]).to_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break Some(request[end + 4..end + 4 + length].to_vec());
                    }
                }
            };
            let Some(body) = body else { continue };
            let query = dir.join(format!("q{served}.tsq"));
            let reply = dir.join(format!("r{served}.tsr"));
            std::fs::write(&query, body).unwrap();
            let status = Command::new("openssl")
                .args([
                    "ts",
                    "-reply",
                    "-config",
                    s(&dir.join("tsa.cnf")),
                    "-queryfile",
                    s(&query),
                    "-out",
                    s(&reply),
                ])
                .output()
                .unwrap();
            let answer = std::fs::read(&reply).unwrap_or_default();
            let head = if status.status.success() {
                "200 OK"
            } else {
                "500 Internal Server Error"
            };
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 {head}\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    answer.len()
                )
                .as_bytes(),
            );
            let _ = stream.write_all(&answer);
        }
    });
    url
}

async fn signed_with_timestamp(backend: Backend) {
    let pki = Pki::new();
    let url = start_tsa(&pki, 1);
    let app = TestApp::start_with(backend, |c| pki.configure(c, &url)).await;
    let who = people(&app).await;
    let c = app.client();
    let id = approved(
        &app,
        &who,
        "Quyết định B-T",
        real_pdf("Quyết định"),
        "qd.pdf",
    )
    .await;
    let (st, out) = post(
        &c,
        app.url(&format!("/api/v1/documents/outgoing/{id}/sign-on-server")),
        &who.leader,
        &json!({"signer_position": "Chủ tịch"}),
    )
    .await;
    assert_eq!(st, 200, "{out}");
    let sig = &out["signatures"][0];
    assert_eq!(sig["status"], "valid", "{out}");
    assert_eq!(sig["signatures"][0]["timestamp"], true, "{out}");
    let stamped = sig["signatures"][0]["timestamp_ms"].as_i64().unwrap();
    assert!((stamped - chrono::Utc::now().timestamp_millis()).abs() < 300_000);
    let file = out["signed_file"]["id"].as_i64().unwrap();
    let pdf = download(
        &app,
        &who.leader,
        &format!("/api/v1/documents/files/{file}"),
    )
    .await;
    let stored = pki.path("stored-bt.pdf");
    std::fs::write(&stored, &pdf).unwrap();
    let (_, text) = run("pdfsig", &["-nssdir", &nss_db(&pki), s(&stored)]);
    assert!(text.contains("Signature is Valid"), "{text}");
    assert!(text.contains("Certificate is Trusted"), "{text}");
}
both!(signed_with_timestamp);

/// The signer's page: with the agency's key configured the leader has the server sign from
/// the document page; the signed file then shows a valid signature and the signer's name.
/// Without a key the same form answers in Vietnamese and nothing is signed.
async fn sign_on_server_from_the_page(backend: Backend) {
    let pki = Pki::new();
    for configured in [true, false] {
        let app = TestApp::start_with(backend, |c| {
            if configured {
                pki.configure(c, "")
            }
        })
        .await;
        let who = people(&app).await;
        let id = approved(
            &app,
            &who,
            "Kế hoạch ký từ trang văn bản",
            real_pdf("Kế hoạch"),
            "ke-hoach.pdf",
        )
        .await;
        let browser = app.client();
        let (st, _) = login(&app, &browser, "lanhdao", DEMO_PASSWORD).await;
        assert_eq!(st, 303);
        let doc_url = app.url(&format!("/van-ban/di/{id}"));
        let (_, doc) = page(&browser, doc_url.clone()).await;
        assert!(doc.contains("data-sign-server"), "the server-sign form");
        let form = [
            ("csrf_token", csrf_of(&doc)),
            ("competence", "TM.".to_owned()),
            ("signer_position", "Chủ tịch".to_owned()),
            ("signer_name", String::new()),
        ];
        let sign_url = app.url(&format!("/van-ban/di/{id}/ky-so"));
        let forged = browser
            .post(sign_url.clone())
            .form(&[("csrf_token", "forged")])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status().as_u16(), 403, "CSRF checked");
        let r = browser.post(sign_url).form(&form).send().await.unwrap();
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        let (_, doc) = page(&browser, doc_url).await;
        if configured {
            assert_eq!(status, 303, "{body}");
            assert!(doc.contains("data-signature=\"valid\""), "{doc}");
            assert!(doc.contains("Chữ ký số hợp lệ"));
            assert!(
                doc.contains(test_ca::SIGNER_NAME),
                "the signer from the certificate"
            );
        } else {
            assert!(
                body.contains("chưa cấu hình chứng thư số"),
                "the no-key message in Vietnamese: {body}"
            );
            assert!(!doc.contains("data-signature=\"valid\""));
            assert!(doc.contains("data-sign-server"), "still to sign");
        }
        app.stop().await;
    }
}
both!(sign_on_server_from_the_page);
