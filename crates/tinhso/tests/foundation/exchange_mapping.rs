//! The documents ⇄ edXML mapping against the real services and database: the demo's
//! released reply, given an external recipient, becomes a package (its signed PDF streamed
//! out of the blob store), is written and read back, its attachment checked and stored from
//! the file, and registered for several agencies in one transaction — once, and atomically.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tinhso_documents::exchange::{self, ReceivedFile};
use tinhso_documents::outgoing::{self, RecipientChange, RecipientInput};
use tinhso_documents::{files, incoming};
use tinhso_edxml::model::{Organization, StatusCode};
use tinhso_edxml::read::{DirSink, Package, read_package};
use tinhso_edxml::write::{AttachmentInput, write_document};
use tinhso_exchange::mapping::{self, SenderInfo, StatusSubject};
use tinhso_platform::Ctx;

use super::support::{Backend, TestApp};
use crate::both;

const WARD: &str = "000.00.31.H32";
const CAO_BANG: &str = "000.00.00.H14";

async fn demo_document_travels_and_registers_once(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.clock.set("2026-03-02T08:30:00+07:00");
    let p = &app.platform;
    assert!(tinhso_documents::demo::seed(p).await.unwrap());
    let system = Ctx::system(p.now_ms());
    let summaries = outgoing::list(p, &system, WARD).await.unwrap();
    let reply = summaries
        .iter()
        .find(|s| s.code.is_some())
        .expect("the demo's released reply");
    let view = outgoing::change_recipients(
        p,
        &system,
        reply.id,
        &RecipientChange {
            add: vec![RecipientInput {
                organ_id: CAO_BANG.into(),
                organ_name: "Ủy ban nhân dân tỉnh Cao Bằng".into(),
            }],
            remove: vec![],
        },
    )
    .await
    .unwrap();
    let to = mapping::external_recipients(&view);
    assert_eq!(to.len(), 1);
    assert_eq!(to[0].organ_id, CAO_BANG);
    let sender = SenderInfo {
        from: mapping::organization(WARD, "Ủy ban nhân dân phường Nha Trang"),
        place: Some("Nha Trang".into()),
        signer_competence: Some("TM.".into()),
        ..SenderInfo::default()
    };
    let out = mapping::document_package(&view, &sender, &to, &[], p.now_ms()).unwrap();
    assert_eq!(
        tinhso_edxml::validate::validate_document(&out.package),
        vec![]
    );
    assert_eq!(
        out.package.trace_header_list.as_ref().unwrap().trace_header[0].timestamp,
        "2026/03/02 08:30:00"
    );

    // Out of the blob store by file, into the package, back out of it by file.
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = Vec::new();
    for (i, a) in out.attachments.iter().enumerate() {
        let path = dir.path().join(format!("out-{i}"));
        assert!(p.blobs.copy_to_file(&a.blob_key, &path).await.unwrap());
        inputs.push(AttachmentInput {
            meta: a.meta.clone(),
            content: Box::new(std::fs::File::open(&path).unwrap()),
        });
    }
    let mut xml = Vec::new();
    write_document(&mut xml, &out.package, &mut inputs).unwrap();
    drop(inputs);
    let received_dir = dir.path().join("in");
    std::fs::create_dir(&received_dir).unwrap();
    let mut sink = DirSink::new(&received_dir);
    let parsed = match read_package(std::io::Cursor::new(xml), &mut sink).unwrap() {
        Package::Document(d) => d,
        Package::Status(_) => panic!("a document package reads as a status"),
    };
    assert_eq!(parsed.package, out.package);
    let mut stored = Vec::new();
    for (meta, path) in sink.files() {
        let blob = files::put_checked_file(p, path, 500 * 1024 * 1024)
            .await
            .unwrap();
        assert_eq!(blob.key, out.attachments[0].blob_key, "the same bytes");
        stored.push(ReceivedFile {
            filename: meta.attachment_name.clone(),
            blob,
        });
    }

    // Two departments in one transaction, and the one the reply already reached inside
    // the installation (same document id: answered, nothing written).
    let docs: Vec<_> = ["000.00.03.H32", "000.00.04.H32", "000.00.02.H32"]
        .iter()
        .map(|code| mapping::received_document(&parsed.package, code, stored.clone()).unwrap())
        .collect();
    let mut expected = view.metadata.clone();
    expected.code_number = "01".into();
    expected.code_notation = "BC-UBND".into();
    expected.issued_date = view.issued_date;
    expected.organ_id = WARD.into();
    expected.organ_name = "Ủy ban nhân dân phường Nha Trang".into();
    expected.language = String::new();
    assert_eq!(docs[0].metadata, expected);

    // A failure in the middle leaves nothing of the first registration.
    let head = app.audit_head().await;
    let mut unknown = docs[0].clone();
    unknown.to_agency_code = "000.00.99.H32".into();
    let mut tx = p.db.begin_write().await.unwrap();
    let first = exchange::register_received_in(p, &mut tx, &system, &docs[0])
        .await
        .unwrap();
    assert!(first.created);
    assert!(
        exchange::register_received_in(p, &mut tx, &system, &unknown)
            .await
            .is_err()
    );
    drop(tx);
    assert_eq!(app.audit_head().await, head, "rolled back whole");

    let mut tx = p.db.begin_write().await.unwrap();
    let mut results = Vec::new();
    for doc in &docs {
        results.push(
            exchange::register_received_in(p, &mut tx, &system, doc)
                .await
                .unwrap(),
        );
    }
    // Within the same transaction, a repeat sees the entry just written.
    let again = exchange::register_received_in(p, &mut tx, &system, &docs[0])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        results.iter().map(|r| r.created).collect::<Vec<_>>(),
        [true, true, false]
    );
    assert_eq!(
        (again.incoming_id, again.created),
        (results[0].incoming_id, false)
    );
    let entry = incoming::get(p, &system, results[0].incoming_id)
        .await
        .unwrap();
    assert_eq!(entry.metadata, expected);
    assert_eq!(entry.files.len(), 1);
    assert_eq!(entry.files[0].sha256, out.attachments[0].blob_key);
    assert_eq!(entry.files[0].filename, "bao-cao-da-ky.pdf");
    let head = app.audit_head().await;
    let repeat = exchange::register_received(p, &system, &docs[1])
        .await
        .unwrap();
    assert_eq!(
        (repeat.incoming_id, repeat.created),
        (results[1].incoming_id, false)
    );
    assert_eq!(app.audit_head().await, head, "a repeat writes nothing");

    // The receiver's status package points back at the document.
    let subject = StatusSubject::of(&entry.metadata, entry.document_id.as_deref()).unwrap();
    let status = mapping::status_package(
        &Organization {
            organ_id: "000.00.03.H32".into(),
            ..Organization::default()
        },
        &subject,
        StatusCode::Accepted,
        None,
        "",
        p.now_ms(),
    );
    assert_eq!(status.response_for.code, "01/BC-UBND");
    assert_eq!(status.response_for.document_id, view.document_id);
    assert_eq!(tinhso_edxml::validate::validate_status(&status), vec![]);
    app.stop().await;
}
both!(demo_document_travels_and_registers_once);
