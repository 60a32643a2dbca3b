#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Unit tests over the shared test PKI: chains, PKCS#12 round trips, PAdES signing and the
//! verifier's findings on tampered, extended, untrusted and expired signatures, on PDFs from
//! `tinhso-pdf` and on hand-written ones (classic xref table and xref stream).

use crate::pades::{self, SignOptions, parse_pdf_date, sign_pdf, verify_pdf};
use crate::pki::{ChainError, Pkcs12Signer, Purpose, verify_chain, verify_chain_for};
use crate::signer::{DigestAlgorithm, Signer};
use crate::test_ca::shared::{AT, pki};
use crate::test_ca::{self, TEST_PASSWORD};

fn anchors() -> Vec<Vec<u8>> {
    vec![pki().ca.certificate_der.clone()]
}

fn our_pdf() -> Vec<u8> {
    let mut doc = tinhso_pdf::Document::new("Công văn thử");
    doc.push(tinhso_pdf::Paragraph::new(
        "Ủy ban nhân dân tỉnh — văn bản thử ký số.",
    ));
    match doc.render() {
        Ok(pdf) => pdf,
        Err(e) => panic!("render: {e}"),
    }
}

/// A one-page PDF written by hand with a classic cross-reference table.
fn handwritten_pdf() -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        "<< /Length 21 >>\nstream\nBT /F1 12 Tf (x) Tj ET\nendstream",
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f\r\n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n\r\n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// The same page with a cross-reference stream (PDF 1.5), an AcroForm in its own object
/// with an existing text field, and `/Annots` given by reference.
fn xref_stream_pdf() -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R /AcroForm 5 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots 7 0 R >>",
        "<< /FT /Tx /T (ten) /Rect [10 10 100 30] /Subtype /Widget /Type /Annot /P 3 0 R >>",
        "<< /Fields [4 0 R] >>",
        "null",
        "[4 0 R]",
    ];
    let mut out = b"%PDF-1.5\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    let own = objects.len() + 1;
    offsets.push(xref);
    let mut data = vec![0u8, 0, 0, 0, 0xff];
    for offset in &offsets {
        data.push(1);
        data.extend_from_slice(&(*offset as u32).to_be_bytes());
    }
    out.extend_from_slice(
        format!(
            "{own} 0 obj\n<< /Type /XRef /Size {} /W [1 4 0] /Root 1 0 R /Length {} >>\nstream\n",
            own + 1,
            data.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&data);
    out.extend_from_slice(format!("\nendstream\nendobj\nstartxref\n{xref}\n%%EOF\n").as_bytes());
    out
}

fn options() -> SignOptions {
    SignOptions {
        signing_time_unix: AT,
        reason: Some("Phê duyệt".into()),
        location: Some("Tỉnh số".into()),
    }
}

fn signer() -> Pkcs12Signer {
    match pki().signer_for(&pki().signer) {
        Ok(s) => s,
        Err(e) => panic!("signer: {e}"),
    }
}

fn signed(pdf: &[u8], signer: &dyn Signer) -> Vec<u8> {
    match sign_pdf(pdf, signer, &options()) {
        Ok(out) => out,
        Err(e) => panic!("sign: {e} ({})", e.code()),
    }
}

fn reports(pdf: &[u8], anchors: &[Vec<u8>], at: i64) -> Vec<pades::SignatureReport> {
    match verify_pdf(pdf, anchors, at) {
        Ok(r) => r,
        Err(e) => panic!("verify: {e}"),
    }
}

#[test]
fn the_test_chain_verifies_with_vietnamese_names_intact() {
    let p = pki();
    let report = verify_chain(&p.signer.certificate_der, &[], &anchors(), AT).unwrap();
    assert_eq!(report.certificates.len(), 2);
    let leaf = &report.certificates[0];
    assert_eq!(
        leaf.subject.common_name.as_deref(),
        Some(test_ca::SIGNER_NAME)
    );
    assert_eq!(
        leaf.subject.organization.as_deref(),
        Some(test_ca::SIGNER_ORGANIZATION)
    );
    assert_eq!(leaf.issuer.common_name.as_deref(), Some(test_ca::CA_NAME));
    assert!(
        leaf.subject.full.starts_with("CN=Nguyễn Văn A"),
        "{}",
        leaf.subject.full
    );
    assert!(leaf.subject.full.ends_with("C=VN"));
}

#[test]
fn chain_errors_name_the_problem() {
    let p = pki();
    let untrusted = verify_chain(
        &p.signer.certificate_der,
        &[],
        std::slice::from_ref(&p.tsa.certificate_der),
        AT,
    );
    assert_eq!(untrusted.unwrap_err().code(), "chain.untrusted");
    let expired = verify_chain(&p.expired_signer.certificate_der, &[], &anchors(), AT).unwrap_err();
    assert!(matches!(expired, ChainError::Expired(ref who) if who == test_ca::EXPIRED_SIGNER_NAME));
    let early =
        verify_chain(&p.signer.certificate_der, &[], &anchors(), AT - 3 * 86_400).unwrap_err();
    assert_eq!(early.code(), "chain.not_yet_valid");
    // The signer's certificate has no timeStamping usage; the TSA's has.
    let not_tsa = verify_chain_for(
        Purpose::Timestamping,
        &p.signer.certificate_der,
        &[],
        &anchors(),
        AT,
    );
    assert_eq!(not_tsa.unwrap_err().code(), "chain.key_usage");
    assert!(
        verify_chain_for(
            Purpose::Timestamping,
            &p.tsa.certificate_der,
            &[],
            &anchors(),
            AT
        )
        .is_ok()
    );
    // A leaf is no CA: a certificate issued with the signer's key under its name does not
    // chain, although every signature on the path verifies.
    let under_leaf = test_ca::issue(
        &test_ca::name("Cấp dưới", "Không hợp lệ").unwrap(),
        &p.tsa.key,
        &test_ca::name(test_ca::SIGNER_NAME, test_ca::SIGNER_ORGANIZATION).unwrap(),
        &p.signer.key,
        AT - 10,
        AT + 10,
        Vec::new(),
    )
    .unwrap();
    let not_ca = verify_chain(
        &under_leaf,
        std::slice::from_ref(&p.signer.certificate_der),
        &anchors(),
        AT,
    );
    assert!(
        matches!(not_ca, Err(ChainError::NotCa(ref who)) if who == test_ca::SIGNER_NAME),
        "{not_ca:?}"
    );
    // A trusted certificate is its own chain.
    assert!(
        verify_chain(
            &p.signer.certificate_der,
            &[],
            std::slice::from_ref(&p.signer.certificate_der),
            AT
        )
        .is_ok()
    );
    let tampered = {
        let mut der = p.signer.certificate_der.clone();
        let at = der.len() - 10;
        der[at] ^= 1;
        der
    };
    assert_eq!(
        verify_chain(&tampered, &[], &anchors(), AT)
            .unwrap_err()
            .code(),
        "chain.bad_signature"
    );
}

#[test]
fn pkcs12_written_by_the_test_ca_loads_and_signs() {
    let p = pki();
    let file = p.pkcs12(&p.signer).unwrap();
    assert_eq!(
        Pkcs12Signer::from_pkcs12(&file, "wrong")
            .unwrap_err()
            .code(),
        "pki.pkcs12_unreadable"
    );
    let signer = Pkcs12Signer::from_pkcs12(&file, TEST_PASSWORD).unwrap();
    // The chain is the leaf only: the root is the verifier's anchor, not part of the chain.
    assert_eq!(
        signer.certificate_chain(),
        std::slice::from_ref(&p.signer.certificate_der)
    );
    let digest = [7u8; 32];
    let signature = signer
        .sign_digest(DigestAlgorithm::Sha256, &digest)
        .unwrap();
    assert_eq!(signature.len(), 256);
    assert!(
        signer.sign_digest(DigestAlgorithm::Sha1, &digest).is_err(),
        "a SHA-1 digest is 20 bytes"
    );
    assert_eq!(
        signer
            .sign_digest(DigestAlgorithm::Sha1, &[1u8; 20])
            .unwrap()
            .len(),
        256
    );
}

#[test]
fn our_pdf_signs_and_verifies() {
    let pdf = our_pdf();
    let out = signed(&pdf, &signer());
    assert!(
        out.starts_with(&pdf),
        "the original bytes are kept: an incremental update"
    );
    let found = reports(&out, &anchors(), AT + 60);
    assert_eq!(found.len(), 1);
    let r = &found[0];
    assert!(r.is_valid(), "{:?}", r.problems);
    assert!(r.intact && r.trusted && r.covers_whole_file);
    assert_eq!(r.sub_filter.as_deref(), Some("ETSI.CAdES.detached"));
    assert_eq!(r.field_name.as_deref(), Some("Signature1"));
    assert_eq!(r.signing_time_unix, Some(AT));
    assert_eq!(
        r.signer
            .as_ref()
            .and_then(|s| s.subject.common_name.as_deref()),
        Some(test_ca::SIGNER_NAME)
    );
    assert_eq!(r.byte_range[0], 0);
    assert_eq!((r.byte_range[2] + r.byte_range[3]) as usize, out.len());
    assert!(r.timestamp.is_none());
}

#[test]
fn a_byte_changed_after_signing_is_a_digest_mismatch() {
    let out = signed(&our_pdf(), &signer());
    let mut tampered = out.clone();
    // A byte of the original document, inside the first signed range.
    let at = tampered.windows(8).position(|w| w == b"/MediaBo").unwrap() + 1;
    tampered[at] = b'm';
    let r = &reports(&tampered, &anchors(), AT)[0];
    assert!(r.has("signature.digest_mismatch"), "{:?}", r.problems);
    assert!(!r.intact);
    assert!(r.covers_whole_file);
}

#[test]
fn an_appended_update_is_flagged_and_a_second_signature_keeps_the_first() {
    let out = signed(&our_pdf(), &signer());
    let mut appended = out.clone();
    appended.extend_from_slice(b"% an unsigned update\n");
    let r = &reports(&appended, &anchors(), AT)[0];
    assert!(r.intact && r.trusted);
    assert!(!r.covers_whole_file);
    assert_eq!(
        r.problems.iter().map(|p| p.code).collect::<Vec<_>>(),
        ["signature.updated_after_signing"]
    );

    let twice = signed(&out, &signer());
    let found = reports(&twice, &anchors(), AT);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].field_name.as_deref(), Some("Signature1"));
    assert_eq!(found[1].field_name.as_deref(), Some("Signature2"));
    assert!(found[0].intact && !found[0].covers_whole_file);
    assert!(found[1].is_valid(), "{:?}", found[1].problems);
}

#[test]
fn untrusted_and_expired_signers_are_reported() {
    let out = signed(&our_pdf(), &signer());
    let r = &reports(&out, &[pki().tsa.certificate_der.clone()], AT)[0];
    assert!(r.intact && !r.trusted);
    assert!(r.has("signature.untrusted"), "{:?}", r.problems);

    let expired = pki().signer_for(&pki().expired_signer).unwrap();
    let out = signed(&our_pdf(), &expired);
    let r = &reports(&out, &anchors(), AT)[0];
    assert!(r.intact);
    assert!(r.has("signature.expired"), "{:?}", r.problems);
    assert_eq!(
        r.signer
            .as_ref()
            .and_then(|s| s.subject.common_name.as_deref()),
        Some(test_ca::EXPIRED_SIGNER_NAME)
    );
}

#[test]
fn handwritten_pdfs_with_a_table_or_a_stream_sign() {
    for (pdf, kind) in [(handwritten_pdf(), "table"), (xref_stream_pdf(), "stream")] {
        let once = signed(&pdf, &signer());
        let twice = signed(&once, &signer());
        let found = reports(&twice, &anchors(), AT);
        assert_eq!(found.len(), 2, "{kind}");
        assert!(
            found[0].intact && found[0].trusted,
            "{kind}: {:?}",
            found[0].problems
        );
        assert!(found[1].is_valid(), "{kind}: {:?}", found[1].problems);
        // The appended cross-reference section is of the file's own kind.
        let tail = &twice[once.len()..];
        assert_eq!(
            tail.windows(5).any(|w| w == b"/XRef"),
            kind == "stream",
            "{kind}"
        );
        // lopdf reads the updated file back with the field added beside the existing ones.
        let doc = lopdf::Document::load_mem(&twice).unwrap();
        let acro = doc.catalog().unwrap().get(b"AcroForm").unwrap();
        let acro = doc.dereference(acro).unwrap().1.as_dict().unwrap();
        let fields = acro.get(b"Fields").unwrap().as_array().unwrap();
        assert_eq!(fields.len(), if kind == "stream" { 3 } else { 2 }, "{kind}");
    }
}

#[test]
fn pdf_dates_round_trip_at_vietnam_offset() {
    assert_eq!(parse_pdf_date("D:20261201070000+07'00'"), Some(AT));
    assert_eq!(parse_pdf_date("D:20261201000000Z"), Some(AT));
    assert_eq!(parse_pdf_date("D:20261130190000-05'00"), Some(AT));
    assert_eq!(parse_pdf_date("D:2026"), Some(1_767_225_600));
    assert_eq!(parse_pdf_date("garbage"), None);
}
