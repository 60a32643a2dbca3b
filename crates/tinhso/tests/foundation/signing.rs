//! `tinhso signing`: the test CA the demo uses, signing a PDF with its PKCS#12 file, and
//! verifying it, through the real binary; poppler's `pdfsig` checks the result
//! independently (Debian poppler-utils).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

fn tinhso(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tinhso"))
        .args(args)
        .env("TINHSO_LOG__LEVEL", "warn")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn test_ca_sign_and_verify_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    let (ok, out) = tinhso(&["signing", "test-ca", "--out", path(&ca_dir)]);
    assert!(ok, "{out}");
    for file in [
        "ca.pem",
        "signer.p12",
        "tsa.pem",
        "tsa.key",
        "expired-signer.p12",
    ] {
        assert!(ca_dir.join(file).is_file(), "{file} written: {out}");
    }

    let mut doc = tinhso_pdf::Document::new("Giấy mời");
    doc.push(tinhso_pdf::Paragraph::new("Kính mời đồng chí dự họp."));
    let input = dir.path().join("giay-moi.pdf");
    std::fs::write(&input, doc.render().unwrap()).unwrap();
    let signed = dir.path().join("giay-moi-signed.pdf");
    let (ok, out) = tinhso(&[
        "signing",
        "sign",
        path(&input),
        "--out",
        path(&signed),
        "--p12",
        path(&ca_dir.join("signer.p12")),
        "--password",
        "tinhso-demo",
        "--reason",
        "Ký ban hành",
    ]);
    assert!(ok, "{out}");

    let (ok, out) = tinhso(&[
        "signing",
        "verify",
        path(&signed),
        "--anchor",
        path(&ca_dir.join("ca.pem")),
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("Nguyễn Văn A — UBND tỉnh (demo)"), "{out}");
    assert!(out.contains("VALID") && !out.contains("NOT VALID"), "{out}");

    // Trusting another certificate only: the same signature is untrusted, and the exit code
    // says so.
    let (ok, out) = tinhso(&[
        "signing",
        "verify",
        path(&signed),
        "--anchor",
        path(&ca_dir.join("tsa.pem")),
    ]);
    assert!(!ok, "{out}");
    assert!(out.contains("signature.untrusted"), "{out}");

    // A wrong password is a stable error, not a crash.
    let (ok, out) = tinhso(&[
        "signing",
        "sign",
        path(&input),
        "--out",
        path(&signed),
        "--p12",
        path(&ca_dir.join("signer.p12")),
        "--password",
        "sai",
    ]);
    assert!(!ok && out.contains("pki.pkcs12_unreadable"), "{out}");

    let pdfsig = Command::new("pdfsig").arg(&signed).output().unwrap();
    let text = String::from_utf8_lossy(&pdfsig.stdout);
    assert!(text.contains("Signature is Valid"), "{text}");
}
