//! Documents ⇄ edXML mapping through the real writer and reader: an outgoing document's
//! package, written and read back, maps to the same metadata; revocation, update and status
//! packages survive the trip; over-long or malformed received fields are refused with their
//! rule; attachments are checked and stored from a file, streaming.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use std::io::Cursor;
use tinhso_documents::domain::metadata::Metadata;
use tinhso_documents::domain::types::{Confidentiality, Urgency};
use tinhso_documents::domain::workflow::OutgoingStatus;
use tinhso_documents::exchange::ReceivedFile;
use tinhso_documents::files::{self, FileView, StoredBlob};
use tinhso_documents::outgoing::{OutgoingView, RecipientView, ResponseFor};
use tinhso_edxml::model::{DocumentPackage, Organization, StaffInfo, StatusCode, StatusPackage};
use tinhso_edxml::read::{DirSink, Package, read_package};
use tinhso_edxml::validate::{validate_document, validate_status};
use tinhso_edxml::write::{AttachmentInput, write_document, write_status};
use tinhso_exchange::mapping::{
    self, OutgoingPackage, RULE_NOT_RELEASED, RULE_SECRET, RULE_UNSIGNED, SenderInfo, StatusSubject,
};

const NOW_MS: i64 = 1_772_415_000_000; // 2026/03/02 08:30:00 in Vietnam
const OUR_ID: &str = "000.00.31.H32";
const OUR_NAME: &str = "Ủy ban nhân dân phường Nha Trang";

fn pdf(tag: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% {tag}\n%%EOF\n").into_bytes()
}

fn sha(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn file_view(id: i64, name: &str, bytes: &[u8]) -> FileView {
    FileView {
        id,
        filename: name.into(),
        content_type: "application/pdf".into(),
        size_bytes: bytes.len() as i64,
        sha256: sha(bytes),
        scan_verdict: "not_scanned".into(),
        created_ms: NOW_MS,
    }
}

fn recipient(id: i64, organ_id: &str, name: &str, active: bool, package: &str) -> RecipientView {
    RecipientView {
        id,
        kind: "external".into(),
        organ_id: organ_id.into(),
        organ_name: name.into(),
        incoming_id: None,
        transport_status: Some("INITIAL".into()),
        business_status: None,
        package: package.into(),
        active,
    }
}

/// A released reply of the ward to the provincial committee, as `outgoing::get` shows it.
fn released_view() -> OutgoingView {
    OutgoingView {
        id: 7,
        agency_code: OUR_ID.into(),
        status: OutgoingStatus::Dispatched,
        type_name: "Kế hoạch".into(),
        metadata: Metadata {
            type_code: "plan".into(),
            subject: "Kế hoạch chuyển đổi số năm 2026 của phường".into(),
            signer_position: "TM. Chủ tịch".into(),
            signer_name: "Nguyễn Văn An".into(),
            page_amount: 4,
            issued_amount: 12,
            language: "Tiếng Việt".into(),
            description: "Triển khai các nhiệm vụ chuyển đổi số trọng tâm".into(),
            due_date: NaiveDate::from_ymd_opt(2026, 3, 20),
            to_places: vec!["Như trên".into(), "Lưu: VT, VX".into()],
            urgency: Urgency::VeryUrgent,
            confidentiality: Confidentiality::Normal,
            ..Metadata::default()
        },
        unit_abbreviation: "VX".into(),
        drafter_id: 3,
        current_version: 2,
        versions: Vec::new(),
        reviews: Vec::new(),
        signed_file: Some(file_view(11, "05-KH-UBND.pdf", &pdf("signed"))),
        signed_by: Some(4),
        signed_ms: Some(NOW_MS - 3_600_000),
        year: Some(2026),
        series: Some("normal".into()),
        number: Some(5),
        code: Some("05/KH-UBND".into()),
        issued_date: NaiveDate::from_ymd_opt(2026, 3, 2),
        document_id: Some(format!("{OUR_ID},2026/03/02,05/KH-UBND")),
        released_ms: Some(NOW_MS - 1_800_000),
        response_for: Some(ResponseFor {
            incoming_id: 2,
            organ_id: "000.00.00.H32".into(),
            code: "145/KH-UBND".into(),
            issued_date: NaiveDate::from_ymd_opt(2026, 2, 20),
            document_id: Some("000.00.00.H32,2026/02/20,145/KH-UBND".into()),
        }),
        answered_by: vec![],
        recipients: vec![
            recipient(
                1,
                "000.00.00.H32",
                "Ủy ban nhân dân tỉnh Khánh Hòa",
                true,
                "new",
            ),
            recipient(
                2,
                "000.00.00.H14",
                "Ủy ban nhân dân tỉnh Cao Bằng",
                true,
                "new",
            ),
        ],
        revoked_ms: None,
        revoke_reason: None,
        signatures: Vec::new(),
        server_signature: None,
    }
}

fn sender() -> SenderInfo {
    SenderInfo {
        from: Organization {
            organ_id: OUR_ID.into(),
            organization_in_charge: Some("Ủy ban nhân dân tỉnh Khánh Hòa".into()),
            organ_name: Some(OUR_NAME.into()),
            organ_add: Some("01 Lê Thánh Tôn, Nha Trang".into()),
            email: Some("ubnd.nhatrang@khanhhoa.gov.vn".into()),
            telephone: Some("0258 3822 000".into()),
            ..Organization::default()
        },
        place: Some("Nha Trang".into()),
        staff: Some(StaffInfo {
            department: Some("Văn phòng".into()),
            staff: Some("Đặng Thị Lan".into()),
            email: Some("vanthu@khanhhoa.gov.vn".into()),
            mobile: Some("0905000111".into()),
        }),
        signer_competence: None,
        typer_notation: Some("LAN".into()),
        sphere_of_promulgation: Some("Trong tỉnh".into()),
        appendixes: vec!["Phụ lục I: Danh mục nhiệm vụ".into()],
        steering_type: Some("1".into()),
    }
}

/// Writes the package with each attachment's bytes, reads it back into `dir`.
fn write_and_read(
    out: &OutgoingPackage,
    bytes: &[Vec<u8>],
    dir: &std::path::Path,
) -> (DocumentPackage, Vec<std::path::PathBuf>) {
    let mut inputs: Vec<AttachmentInput<'_>> = out
        .attachments
        .iter()
        .zip(bytes)
        .map(|(a, b)| AttachmentInput {
            meta: a.meta.clone(),
            content: Box::new(Cursor::new(b.clone())),
        })
        .collect();
    let mut xml = Vec::new();
    let summary = write_document(&mut xml, &out.package, &mut inputs).unwrap();
    assert_eq!(
        summary.attachment_sizes,
        bytes.iter().map(|b| b.len() as u64).collect::<Vec<_>>()
    );
    let mut sink = DirSink::new(dir);
    let parsed = match read_package(Cursor::new(xml), &mut sink).unwrap() {
        Package::Document(d) => d,
        Package::Status(_) => panic!("a document package reads as a status"),
    };
    assert!(parsed.issues.is_empty(), "{:?}", parsed.issues);
    assert_eq!(parsed.manifest.len(), out.attachments.len());
    let paths = sink.files().iter().map(|(_, p)| p.clone()).collect();
    (parsed.package, paths)
}

fn stored(name: &str, bytes: &[u8]) -> ReceivedFile {
    ReceivedFile {
        filename: name.into(),
        blob: StoredBlob {
            key: sha(bytes),
            size: bytes.len() as u64,
            checked: files::Checked {
                content_type: "application/pdf",
                verdict: "not_scanned",
            },
        },
    }
}

#[test]
fn outgoing_document_round_trips_to_the_same_metadata() {
    let view = released_view();
    let to = mapping::external_recipients(&view);
    assert_eq!(to.len(), 2);
    let annex = pdf("annex");
    let out = mapping::document_package(
        &view,
        &sender(),
        &to,
        &[file_view(12, "phu-luc.pdf", &annex)],
        NOW_MS,
    )
    .unwrap();
    let h = &out.package.message_header;
    assert_eq!(h.from.organ_id, OUR_ID);
    assert_eq!(h.to, to);
    let code = h.code.as_ref().unwrap();
    assert_eq!(
        (code.code_number.as_str(), code.code_notation.as_str()),
        ("05", "KH-UBND")
    );
    let info = h.promulgation_info.as_ref().unwrap();
    assert_eq!(info.place.as_deref(), Some("Nha Trang"));
    assert_eq!(info.promulgation_date, "2026/03/02");
    assert_eq!(
        h.document_type.as_ref().unwrap().type_name.as_deref(),
        Some("Kế hoạch")
    );
    let signer = h.signer_info.as_ref().unwrap();
    assert_eq!(signer.competence.as_deref(), Some("TM."));
    assert_eq!(signer.position.as_deref(), Some("Chủ tịch"));
    assert_eq!(h.due_date.as_deref(), Some("2026/03/20"));
    let other = h.other_info.as_ref().unwrap();
    assert_eq!(other.priority.as_deref(), Some("2"));
    assert_eq!(other.promulgation_amount.as_deref(), Some("12"));
    assert_eq!(other.page_amount.as_deref(), Some("4"));
    assert_eq!(other.typer_notation.as_deref(), Some("LAN"));
    assert_eq!(h.steering_type.as_deref(), Some("1"));
    assert_eq!(h.response_for.len(), 1);
    assert_eq!(h.response_for[0].code, "145/KH-UBND");
    assert_eq!(h.response_for[0].promulgation_date, "2026/02/20");
    let trace = out.package.trace_header_list.as_ref().unwrap();
    assert_eq!(trace.trace_header[0].organ_id, OUR_ID);
    assert_eq!(trace.trace_header[0].timestamp, "2026/03/02 08:30:00");
    let business = trace.bussiness.as_ref().unwrap();
    assert_eq!(business.bussiness_doc_type, "0");
    assert_eq!(business.document_id, view.document_id);
    // The signed PDF first, then the other files, by blob key.
    let keys: Vec<&str> = out
        .attachments
        .iter()
        .map(|a| a.blob_key.as_str())
        .collect();
    assert_eq!(
        keys,
        vec![sha(&pdf("signed")).as_str(), sha(&annex).as_str()]
    );
    assert_eq!(out.attachments[0].meta.attachment_name, "05-KH-UBND.pdf");
    assert_eq!(
        validate_document(&out.package),
        vec![],
        "what we send is valid"
    );

    let dir = tempfile::tempdir().unwrap();
    let (read, paths) = write_and_read(&out, &[pdf("signed"), annex.clone()], dir.path());
    assert_eq!(read, out.package, "write → read gives the same package");
    assert_eq!(std::fs::read(&paths[1]).unwrap(), annex);

    let files = vec![stored("05-KH-UBND.pdf", &pdf("signed"))];
    let received = mapping::received_document(&read, "H32-UBND", files).unwrap();
    assert_eq!(received.to_agency_code, "H32-UBND");
    assert_eq!(received.document_id, view.document_id.clone().unwrap());
    assert_eq!(received.files.len(), 1);
    let expected = Metadata {
        code_number: "05".into(),
        code_notation: "KH-UBND".into(),
        issued_date: view.issued_date,
        organ_id: OUR_ID.into(),
        organ_name: OUR_NAME.into(),
        // No edXML field carries the language.
        language: String::new(),
        ..view.metadata.clone()
    };
    assert_eq!(received.metadata, expected);
}

#[test]
fn revocation_and_update_packages_round_trip() {
    let mut view = released_view();
    view.status = OutgoingStatus::Revoked;
    view.revoke_reason = Some("Ban hành nhầm đối tượng".into());
    let to = mapping::external_recipients(&view);
    let revoke = mapping::package_for("revoke", &view, &sender(), &to, NOW_MS).unwrap();
    assert!(revoke.attachments.is_empty());
    let b = revoke
        .package
        .trace_header_list
        .as_ref()
        .and_then(|t| t.bussiness.as_ref())
        .unwrap();
    assert_eq!(b.bussiness_doc_type, "1");
    assert_eq!(
        b.bussiness_doc_reason.as_deref(),
        Some("Ban hành nhầm đối tượng")
    );
    assert_eq!(b.staff_info, sender().staff);
    assert_eq!(validate_document(&revoke.package), vec![]);
    let dir = tempfile::tempdir().unwrap();
    let (read, _) = write_and_read(&revoke, &[], dir.path());
    assert_eq!(read, revoke.package);

    // Cao Bằng taken off, Lạng Sơn added (not sent yet), Khánh Hòa already delivered.
    let mut view = released_view();
    view.recipients = vec![
        RecipientView {
            transport_status: Some("DONE".into()),
            ..recipient(1, "000.00.00.H32", "UBND tỉnh Khánh Hòa", true, "new")
        },
        recipient(2, "000.00.00.H14", "UBND tỉnh Cao Bằng", false, "update"),
        recipient(3, "000.00.00.H37", "UBND tỉnh Lạng Sơn", true, "new"),
    ];
    let to = vec![mapping::organization("000.00.00.H14", "UBND tỉnh Cao Bằng")];
    let update =
        mapping::update_package(&view, &sender(), &to, Some("Điều chỉnh nơi nhận"), NOW_MS)
            .unwrap();
    let b = update
        .trace_header_list
        .as_ref()
        .and_then(|t| t.bussiness.as_ref())
        .unwrap();
    assert_eq!(b.bussiness_doc_type, "2");
    let info = b.bussiness_document_info.as_ref().unwrap();
    assert_eq!(info.document_receiver.as_deref(), Some("1"));
    let list: Vec<(&str, &str)> = info
        .receiver_list
        .as_ref()
        .unwrap()
        .iter()
        .map(|r| (r.organ_id.as_str(), r.receiver_type.as_str()))
        .collect();
    assert_eq!(list, vec![("000.00.00.H14", "0"), ("000.00.00.H37", "1")]);
    assert_eq!(validate_document(&update), vec![]);
    let out = OutgoingPackage {
        package: update.clone(),
        attachments: Vec::new(),
    };
    let (read, _) = write_and_read(&out, &[], dir.path());
    assert_eq!(read, update);
    assert!(mapping::package_for("replace", &view, &sender(), &to, NOW_MS).is_err());
}

#[test]
fn status_packages_round_trip_for_every_code() {
    let received = Metadata {
        type_code: "plan".into(),
        subject: "Kế hoạch".into(),
        code_number: "05".into(),
        code_notation: "KH-UBND".into(),
        issued_date: NaiveDate::from_ymd_opt(2026, 3, 2),
        organ_id: OUR_ID.into(),
        organ_name: OUR_NAME.into(),
        ..Metadata::default()
    };
    let document_id = format!("{OUR_ID},2026/03/02,05/KH-UBND");
    let subject = StatusSubject::of(&received, Some(&document_id)).unwrap();
    let reporter = mapping::organization("000.00.00.H32", "Ủy ban nhân dân tỉnh Khánh Hòa");
    for code in StatusCode::ALL {
        let staff = StaffInfo {
            department: Some("Văn phòng UBND tỉnh".into()),
            staff: Some("Trần Thị Bình".into()),
            ..StaffInfo::default()
        };
        let status = mapping::status_package(&reporter, &subject, code, Some(staff), "", NOW_MS);
        assert_eq!(status.status_code, code.code());
        assert_eq!(status.response_for.organ_id, OUR_ID);
        assert_eq!(status.response_for.code, "05/KH-UBND");
        assert_eq!(status.response_for.promulgation_date, "2026/03/02");
        assert_eq!(
            status.response_for.document_id.as_deref(),
            Some(document_id.as_str())
        );
        assert_eq!(status.timestamp, "2026/03/02 08:30:00");
        assert_eq!(status.description.as_deref(), Some(code.label_vi()));
        assert_eq!(validate_status(&status), vec![], "{code:?}");
        let mut xml = Vec::new();
        write_status(&mut xml, &status).unwrap();
        let read: StatusPackage =
            match read_package(Cursor::new(xml), &mut tinhso_edxml::read::DiscardSink).unwrap() {
                Package::Status(s) => s.package,
                Package::Document(_) => panic!("a status reads as a document"),
            };
        assert_eq!(read, status);
    }
    let with_text = mapping::status_package(
        &reporter,
        &subject,
        StatusCode::Rejected,
        None,
        "Sai thẩm quyền",
        NOW_MS,
    );
    assert_eq!(with_text.description.as_deref(), Some("Sai thẩm quyền"));
    let no_date = Metadata {
        issued_date: None,
        ..received
    };
    assert!(StatusSubject::of(&no_date, None).is_err());
}

/// A change to a good package.
type Edit = dyn Fn(&mut DocumentPackage);

fn rule_of(err: tinhso_core::DomainError) -> &'static str {
    err.rule.unwrap_or("no rule")
}

#[test]
fn over_long_or_malformed_received_fields_are_refused_not_cut() {
    let view = released_view();
    let to = mapping::external_recipients(&view);
    let good = mapping::document_package(&view, &sender(), &to, &[], NOW_MS)
        .unwrap()
        .package;
    let received = |edit: &dyn Fn(&mut DocumentPackage)| {
        let mut pkg = good.clone();
        edit(&mut pkg);
        mapping::received_document(&pkg, "H32", Vec::new()).map(|d| d.metadata)
    };
    assert!(received(&|_| {}).is_ok());
    let cases: Vec<(&str, Box<Edit>)> = vec![
        (
            "document.subject.too_long",
            Box::new(|p| p.message_header.subject = Some("đ".repeat(501))),
        ),
        (
            "document.code_number.too_long",
            Box::new(|p| {
                p.message_header.code.as_mut().unwrap().code_number = "123456789012".into()
            }),
        ),
        (
            "document.code_notation.too_long",
            Box::new(|p| p.message_header.code.as_mut().unwrap().code_notation = "A".repeat(31)),
        ),
        (
            "document.organ_name.too_long",
            Box::new(|p| p.message_header.from.organ_name = Some("x".repeat(201))),
        ),
        (
            "document.signer_name.too_long",
            Box::new(|p| {
                p.message_header.signer_info.as_mut().unwrap().full_name = Some("n".repeat(51))
            }),
        ),
        (
            "document.description.too_long",
            Box::new(|p| p.message_header.content = Some("c".repeat(501))),
        ),
        (
            "document.to_places.too_long",
            Box::new(|p| p.message_header.to_places = Some(vec!["p".repeat(151)])),
        ),
        (
            "document.page_amount.out_of_range",
            Box::new(|p| {
                p.message_header.other_info.as_mut().unwrap().page_amount = Some("1000".into())
            }),
        ),
        (
            "document.page_amount.invalid",
            Box::new(|p| {
                p.message_header.other_info.as_mut().unwrap().page_amount = Some("bốn".into())
            }),
        ),
        (
            "document.urgency.unknown",
            Box::new(|p| p.message_header.other_info.as_mut().unwrap().priority = Some("7".into())),
        ),
        (
            "document.issued_date.invalid",
            Box::new(|p| {
                p.message_header
                    .promulgation_info
                    .as_mut()
                    .unwrap()
                    .promulgation_date = "02/03/2026".into()
            }),
        ),
        (
            "document.issued_date.required",
            Box::new(|p| p.message_header.promulgation_info = None),
        ),
        (
            "document.due_date.invalid",
            Box::new(|p| p.message_header.due_date = Some("2026-03-20".into())),
        ),
        (
            "document.subject.required",
            Box::new(|p| p.message_header.subject = None),
        ),
        (
            "document.organ_id.invalid",
            Box::new(|p| p.message_header.from.organ_id = "H32".into()),
        ),
        (
            "exchange.mapping.missing",
            Box::new(|p| p.message_header.document_id = None),
        ),
        (
            "document.document_id.invalid",
            Box::new(|p| p.message_header.document_id = Some("05/KH-UBND".into())),
        ),
    ];
    for (rule, edit) in cases {
        let err = received(&*edit).expect_err(rule);
        assert_eq!(rule_of(err), rule);
    }
}

#[test]
fn only_released_signed_open_documents_become_packages() {
    let to = vec![mapping::organization("000.00.00.H32", "UBND tỉnh")];
    let mut view = released_view();
    view.metadata.confidentiality = Confidentiality::Secret;
    let err = mapping::document_package(&view, &sender(), &to, &[], NOW_MS).unwrap_err();
    assert_eq!(rule_of(err), RULE_SECRET);
    let mut view = released_view();
    view.code = None;
    view.document_id = None;
    let err = mapping::document_package(&view, &sender(), &to, &[], NOW_MS).unwrap_err();
    assert_eq!(rule_of(err), RULE_NOT_RELEASED);
    let err = mapping::revocation_package(&view, &sender(), &to, NOW_MS).unwrap_err();
    assert_eq!(rule_of(err), RULE_NOT_RELEASED);
    let mut view = released_view();
    view.signed_file = None;
    let err = mapping::document_package(&view, &sender(), &to, &[], NOW_MS).unwrap_err();
    assert_eq!(rule_of(err), RULE_UNSIGNED);
}

/// The streaming content check of attachments: size from the file, scanner fed from it,
/// type from its first bytes, then a streamed put into the blob store.
#[tokio::test]
async fn attachments_are_checked_and_stored_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = tinhso_platform::Config::default();
    config.server.data_dir = dir.path().join("data");
    let p = tinhso_platform::Platform::open(config).await.unwrap();
    let path = dir.path().join("001.bin");
    let mut bytes = pdf("big");
    bytes.resize(3 * 1024 * 1024 + 7, b'x');
    std::fs::write(&path, &bytes).unwrap();
    let limit = 500 * 1024 * 1024;
    let blob = files::put_checked_file(&p, &path, limit).await.unwrap();
    assert_eq!(blob.key, sha(&bytes));
    assert_eq!(blob.size, bytes.len() as u64);
    assert_eq!(blob.checked.content_type, "application/pdf");
    assert_eq!(blob.checked.verdict, "not_scanned");
    assert_eq!(p.blobs.get(&blob.key).await.unwrap().unwrap(), bytes);

    let err = files::check_file(&p, &path, 1024).await.unwrap_err();
    assert_eq!(err.code(), tinhso_core::ErrorCode::PayloadTooLarge);
    std::fs::write(&path, b"MZ not a document").unwrap();
    let err = files::put_checked_file(&p, &path, limit).await.unwrap_err();
    assert!(err.to_string().contains("PDF"), "{err}");
    std::fs::write(&path, b"").unwrap();
    assert!(files::check_file(&p, &path, limit).await.is_err());
    assert_eq!(p.blobs.keys().await.unwrap(), vec![blob.key]);
}
