//! Parse → build → parse on hand-written fixtures that follow the public samples' structure,
//! and on packages built here; the error codes of broken packages; the writer's layout.

// Helpers outside #[test] functions: a failed assumption should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use tinhso_edxml::model::{
    AttachmentMeta, BussinessPlacement, NAMESPACE, ReceiverType, StatusCode,
};
use tinhso_edxml::read::{DirSink, DiscardSink, Package, ParsedDocument, read_package};
use tinhso_edxml::validate::{validate_package, validate_status};
use tinhso_edxml::write::{AttachmentInput, write_document, write_status};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn read_fixture(name: &str, sink: &mut dyn tinhso_edxml::AttachmentSink) -> Package {
    let file = File::open(fixture(name)).unwrap();
    read_package(BufReader::new(file), sink).unwrap()
}

fn document(p: Package) -> ParsedDocument {
    match p {
        Package::Document(d) => *d,
        Package::Status(_) => panic!("expected a document package"),
    }
}

fn codes(issues: &[tinhso_edxml::Issue]) -> Vec<String> {
    issues.iter().map(|i| i.code.clone()).collect()
}

/// Parses a fixture into a temp dir, rebuilds it from the parsed model and the decoded files,
/// parses the rebuilt package and checks both parses agree; returns the first parse and the
/// rebuilt XML.
fn round_trip(name: &str) -> (ParsedDocument, Vec<u8>, Vec<Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    let mut sink = DirSink::new(dir.path());
    let first = document(read_fixture(name, &mut sink));
    assert!(
        validate_package(&Package::Document(Box::new(first.clone()))).is_empty(),
        "{name}: {:?}",
        validate_package(&Package::Document(Box::new(first.clone())))
    );
    let decoded: Vec<Vec<u8>> = sink
        .files()
        .iter()
        .map(|(_, p)| std::fs::read(p).unwrap())
        .collect();
    assert_eq!(decoded.len(), first.attachments.len());
    for (bytes, info) in decoded.iter().zip(&first.attachments) {
        assert_eq!(bytes.len() as u64, info.size);
    }
    let mut inputs: Vec<AttachmentInput> = first
        .manifest
        .iter()
        .zip(&decoded)
        .map(|(meta, bytes)| AttachmentInput {
            meta: meta.clone(),
            content: Box::new(Cursor::new(bytes.clone())),
        })
        .collect();
    let mut out = Vec::new();
    let summary = write_document(&mut out, &first.package, &mut inputs).unwrap();
    assert_eq!(summary.bytes_written, out.len() as u64);
    let dir2 = tempfile::tempdir().unwrap();
    let mut sink2 = DirSink::new(dir2.path());
    let second = document(read_package(Cursor::new(out.clone()), &mut sink2).unwrap());
    assert_eq!(first.package, second.package, "{name}: header changed");
    assert_eq!(first.manifest, second.manifest);
    assert_eq!(first.attachments, second.attachments);
    let decoded2: Vec<Vec<u8>> = sink2
        .files()
        .iter()
        .map(|(_, p)| std::fs::read(p).unwrap())
        .collect();
    assert_eq!(decoded, decoded2);
    (first, out, decoded)
}

#[test]
fn new_document_round_trips_with_its_attachments() {
    let (doc, _, decoded) = round_trip("document_new.edxml");
    let h = &doc.package.message_header;
    assert_eq!(h.from.organ_id, "000.00.31.H53");
    assert_eq!(h.to.len(), 2);
    assert_eq!(
        h.subject.as_deref(),
        Some("V/v triển khai phần mềm quản lý văn bản & hồ sơ công việc")
    );
    assert_eq!(
        h.other_info.as_ref().and_then(|o| o.priority.as_deref()),
        Some("1")
    );
    assert!(doc.signature_present);
    let trace = doc.package.trace_header_list.as_ref().unwrap();
    assert_eq!(trace.bussiness_placement, BussinessPlacement::Last);
    assert_eq!(trace.trace_header[0].timestamp, "2026/11/20 08:15:00");
    assert_eq!(
        decoded[0],
        std::fs::read(fixture("attachment1.txt")).unwrap()
    );
    // The second attachment is wrapped at 76 columns in the fixture.
    assert_eq!(
        decoded[1],
        std::fs::read(fixture("attachment2.bin")).unwrap()
    );
    assert_eq!(doc.attachments[1].size, 768);
    assert!(doc.ignored.is_empty(), "{:?}", doc.ignored);
}

#[test]
fn bussiness_before_trace_headers_is_read_and_written_back_first() {
    let (doc, xml, _) = round_trip("document_bussiness_first.edxml");
    let trace = doc.package.trace_header_list.as_ref().unwrap();
    assert_eq!(trace.bussiness_placement, BussinessPlacement::First);
    assert_eq!(trace.trace_header.len(), 1);
    let text = String::from_utf8(xml).unwrap();
    let b = text.find("<edXML:Bussiness>").unwrap();
    let t = text.find("<edXML:TraceHeader>").unwrap();
    assert!(b < t);
    assert!(!doc.signature_present);
}

#[test]
fn update_with_receivers_added_and_removed() {
    let (doc, _, _) = round_trip("document_update.edxml");
    let b = doc.package.trace_header_list.unwrap().bussiness.unwrap();
    assert_eq!(
        b.doc_type(),
        Some(tinhso_edxml::model::BussinessDocType::Update)
    );
    let receivers = b.bussiness_document_info.unwrap().receiver_list.unwrap();
    let kinds: Vec<_> = receivers
        .iter()
        .map(|r| {
            (
                r.organ_id.as_str(),
                ReceiverType::from_code(&r.receiver_type),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("000.00.40.H53", Some(ReceiverType::Removed)),
            ("000.00.45.H53", Some(ReceiverType::Added))
        ]
    );
}

#[test]
fn reply_keeps_response_for_and_unknown_elements() {
    let (doc, xml, _) = round_trip("document_reply.edxml");
    let h = &doc.package.message_header;
    assert_eq!(h.response_for.len(), 1);
    assert_eq!(h.response_for[0].code, "88/SNV-VP");
    assert_eq!(
        h.response_for[0].document_id.as_deref(),
        Some("000.00.32.H53,2026/11/10,88/SNV-VP")
    );
    assert_eq!(h.extra.len(), 1);
    assert_eq!(h.extra[0].name, "edXML:ApplicationType");
    assert_eq!(h.extra[0].text, "MCDT_DT");
    assert!(
        String::from_utf8(xml)
            .unwrap()
            .contains("<edXML:ApplicationType>MCDT_DT</edXML:ApplicationType>")
    );
}

#[test]
fn status_package_05_round_trips() {
    let parsed = match read_fixture("status_05.edxml", &mut DiscardSink) {
        Package::Status(s) => s,
        Package::Document(_) => panic!("expected a status package"),
    };
    let s = &parsed.package;
    assert_eq!(s.code(), Some(StatusCode::Processing));
    assert_eq!(
        StatusCode::Processing.label_vi(),
        "Đã phân công, đang xử lý"
    );
    // From's fields come in another order than in document packages.
    assert_eq!(
        s.from.organ_name.as_deref(),
        Some("Sở Nội vụ tỉnh Tây Ninh")
    );
    assert_eq!(
        s.from.organization_in_charge.as_deref(),
        Some("UBND tỉnh Tây Ninh")
    );
    assert_eq!(s.response_for.code, "125/STTTT-VP");
    assert!(validate_status(s).is_empty(), "{:?}", validate_status(s));
    let mut out = Vec::new();
    write_status(&mut out, s).unwrap();
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(!text.contains("edXMLBody"));
    assert!(!text.contains("AttachmentEncoded"));
    match read_package(Cursor::new(out), &mut DiscardSink).unwrap() {
        Package::Status(again) => assert_eq!(&again.package, s),
        Package::Document(_) => panic!("status became a document"),
    }
}

#[test]
fn wrong_namespace_uri_is_refused() {
    let file = File::open(fixture("bad_namespace.edxml")).unwrap();
    let err = read_package(BufReader::new(file), &mut DiscardSink).unwrap_err();
    assert_eq!(err.code(), "M.edXML.namespace");
    assert!(err.message.contains("QCVN_102_2015"), "{}", err.message);
}

#[test]
fn envelope_child_without_prefix_is_refused() {
    let file = File::open(fixture("bad_prefix.edxml")).unwrap();
    let err = read_package(BufReader::new(file), &mut DiscardSink).unwrap_err();
    assert_eq!(err.code(), "M.edXML.prefix");
    assert!(err.message.contains("Subject"), "{}", err.message);
}

#[test]
fn malformed_xml_reports_the_position() {
    let bytes = std::fs::read(fixture("malformed.edxml")).unwrap();
    let err = read_package(Cursor::new(bytes.clone()), &mut DiscardSink).unwrap_err();
    assert_eq!(err.code(), "edxml.xml.malformed");
    let at = String::from_utf8_lossy(&bytes[err.offset as usize..]).into_owned();
    assert!(
        at.starts_with("</edXML:Contents>"),
        "offset {} points at {:.40}",
        err.offset,
        at
    );
}

#[test]
fn bad_base64_is_refused() {
    let file = File::open(fixture("bad_base64.edxml")).unwrap();
    let err = read_package(BufReader::new(file), &mut DiscardSink).unwrap_err();
    assert_eq!(err.code(), "M.Attachment.ContentTransferEncoded");
    assert!(err.message.contains("cid:1"));
}

#[test]
fn every_broken_field_is_reported() {
    let doc = read_fixture("invalid_fields.edxml", &mut DiscardSink);
    let found = codes(&validate_package(&doc));
    for expected in [
        "N.MessageHeader.Subject",
        "R.MessageHeader.Code.CodeNumber",
        "M.MessageHeader.OtherInfo.Priority",
        "N.MessageHeader.To.OrganId",
        "M.MessageHeader.PromulgationInfo.PromulgationDate",
    ] {
        assert!(
            found.iter().any(|c| c == expected),
            "{expected} missing from {found:?}"
        );
    }
    assert_eq!(found.len(), 5, "{found:?}");
}

#[test]
fn manifest_and_attachments_are_matched() {
    let doc = read_fixture("manifest_mismatch.edxml", &mut DiscardSink);
    let issues = validate_package(&doc);
    let found = codes(&issues);
    assert_eq!(
        found,
        vec![
            "N.AttachmentEncoded.Attachment",
            "N.AttachmentEncoded.Attachment",
            "M.AttachmentEncoded.Attachment.ContentId"
        ],
        "{issues:?}"
    );
    assert!(issues[0].message.contains("cid:1"));
    assert!(issues[2].message.contains("cid:9"));
}

/// A package built here from a model with awkward text and a large binary attachment, read
/// back through a tiny buffer so chunk and quantum boundaries fall everywhere.
#[test]
fn built_package_round_trips_through_a_small_buffer() {
    let doc = document(read_fixture("document_update.edxml", &mut DiscardSink));
    let mut package = doc.package.clone();
    package.message_header.subject = Some("A < B & C > D \"quoted\" 'x'\r\nline two  ".to_owned());
    package.message_header.content = Some(String::new());
    let mut big = vec![0u8; 300_001];
    let mut seed = 0x2545_f491_u32;
    for b in &mut big {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        *b = seed as u8;
    }
    let metas = [
        AttachmentMeta {
            content_id: "cid:1".into(),
            content_type: "application/octet-stream".into(),
            description: None,
            attachment_name: "big & <odd>.bin".into(),
        },
        AttachmentMeta {
            content_id: "cid:2".into(),
            content_type: "text/plain".into(),
            description: Some("rỗng".into()),
            attachment_name: "empty.txt".into(),
        },
    ];
    let mut inputs = vec![
        AttachmentInput {
            meta: metas[0].clone(),
            content: Box::new(Cursor::new(big.clone())),
        },
        AttachmentInput {
            meta: metas[1].clone(),
            content: Box::new(std::io::empty()),
        },
    ];
    let mut out = Vec::new();
    let summary = write_document(&mut out, &package, &mut inputs).unwrap();
    assert_eq!(summary.attachment_sizes, vec![300_001, 0]);
    let dir = tempfile::tempdir().unwrap();
    let mut sink = DirSink::new(dir.path());
    let parsed =
        document(read_package(BufReader::with_capacity(7, Cursor::new(out)), &mut sink).unwrap());
    assert_eq!(parsed.package, package);
    assert_eq!(parsed.manifest, metas.to_vec());
    assert_eq!(parsed.attachments[0].size, 300_001);
    let mut first = Vec::new();
    File::open(&sink.files()[0].1)
        .unwrap()
        .read_to_end(&mut first)
        .unwrap();
    assert_eq!(first, big);
    assert_eq!(std::fs::read(&sink.files()[1].1).unwrap(), Vec::<u8>::new());
}

#[test]
fn writer_layout_matches_the_samples() {
    let doc = document(read_fixture("document_new.edxml", &mut DiscardSink));
    let mut inputs = vec![AttachmentInput {
        meta: doc.manifest[0].clone(),
        content: Box::new(Cursor::new(b"abc".to_vec())),
    }];
    let mut out = Vec::new();
    write_document(&mut out, &doc.package, &mut inputs).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with(&format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<edXML xmlns=\"{NAMESPACE}\">\n  <edXML:edXMLEnvelope xmlns:edXML=\"{NAMESPACE}\">\n    <edXML:edXMLHeader>\n      <edXML:MessageHeader>\n        <edXML:From>\n          <edXML:OrganId>000.00.31.H53</edXML:OrganId>\n"
    )));
    // The signer's place: right before the header closes, after the TraceHeaderList.
    assert!(text.contains("      </edXML:TraceHeaderList>\n    </edXML:edXMLHeader>\n    <edXML:edXMLBody>\n      <edXML:edXMLManifest version=\"1.0\">\n"));
    assert!(text.contains(&format!(
        "  </edXML:edXMLEnvelope>\n  <AttachmentEncoded>\n    <Attachment>\n      <ContentId>cid:1</ContentId>\n      <AttachmentName>125-STTTT-VP.txt</AttachmentName>\n      <Description>125-STTTT-VP.txt</Description>\n      <ContentType>text/plain</ContentType>\n      <edXML:ContentTransferEncoded xmlns:edXML=\"{NAMESPACE}\">YWJj</edXML:ContentTransferEncoded>\n    </Attachment>\n  </AttachmentEncoded>\n</edXML>\n"
    )));
    assert!(!text.contains("Signature"));
}

#[test]
fn header_json_round_trips() {
    let doc = document(read_fixture("document_reply.edxml", &mut DiscardSink));
    let json = serde_json::to_string_pretty(&doc.package).unwrap();
    assert!(json.contains("\"MessageHeader\""));
    assert!(json.contains("\"CodeNumber\": \"125\""));
    let back: tinhso_edxml::DocumentPackage = serde_json::from_str(&json).unwrap();
    assert_eq!(back, doc.package);
    // Fields may be left out of hand-written JSON.
    let minimal: tinhso_edxml::DocumentPackage =
        serde_json::from_str(r#"{"MessageHeader": {"Subject": "V/v thử"}}"#).unwrap();
    assert_eq!(minimal.message_header.subject.as_deref(), Some("V/v thử"));
    assert!(minimal.trace_header_list.is_none());
}

#[test]
fn markup_inside_attachment_content_is_refused() {
    let text = std::fs::read_to_string(fixture("document_update.edxml")).unwrap();
    let broken = text.replacen(
        "</edXML:ContentTransferEncoded>",
        "<!-- x -->QUJD</edXML:ContentTransferEncoded>",
        1,
    );
    assert_ne!(text, broken);
    let err = read_package(Cursor::new(broken), &mut DiscardSink).unwrap_err();
    assert_eq!(err.code(), "M.Attachment.ContentTransferEncoded");
}
