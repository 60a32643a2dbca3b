//! Interoperability with independent implementations: poppler's `pdfsig` validates our
//! signatures (with the test CA trusted through an NSS database from `certutil`), OpenSSL's
//! `pkcs12 -export` files (current and `-legacy`) load, `pdftocairo` output signs, and B-T
//! timestamps come from a real RFC 3161 responder (`openssl ts -reply`) behind a small HTTP
//! server on 127.0.0.1. Debian packages: poppler-utils, libnss3-tools, openssl.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use tinhso_signing::Pkcs12Signer;
use tinhso_signing::pades::{SignOptions, sign_pdf, sign_pdf_timestamped, verify_pdf};
use tinhso_signing::signer::Signer;
use tinhso_signing::test_ca::{self, TEST_PASSWORD, TestPki};
use tinhso_signing::timestamp::HttpTimestampAuthority;

/// The test CA, written once per test binary into a directory that outlives the tests.
struct Fixture {
    pki: TestPki,
    dir: PathBuf,
    now: i64,
    _keep: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // pdfsig and openssl check certificates against the real clock, so the PKI is made
        // around the current time (the crate itself takes instants as parameters).
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let pki = TestPki::generate(now).unwrap();
        let keep = tempfile::tempdir().unwrap();
        let dir = keep.path().to_path_buf();
        pki.write_to(&dir).unwrap();
        Fixture {
            pki,
            dir,
            now,
            _keep: keep,
        }
    })
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

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn our_pdf() -> Vec<u8> {
    let mut doc = tinhso_pdf::Document::new("Quyết định thử");
    doc.push(tinhso_pdf::Paragraph::new(
        "Văn bản thử ký số PAdES của Ủy ban nhân dân tỉnh.",
    ));
    doc.render().unwrap()
}

fn options(f: &Fixture) -> SignOptions {
    SignOptions {
        signing_time_unix: f.now,
        reason: Some("Ký ban hành".into()),
        location: Some("Tỉnh số".into()),
    }
}

fn signer(f: &Fixture) -> Pkcs12Signer {
    Pkcs12Signer::from_pkcs12(
        &std::fs::read(f.dir.join("signer.p12")).unwrap(),
        TEST_PASSWORD,
    )
    .unwrap()
}

/// A throwaway NSS database trusting the test CA.
fn nss_db(f: &Fixture) -> String {
    static DB: OnceLock<String> = OnceLock::new();
    DB.get_or_init(|| {
        let db = f.dir.join("nssdb");
        std::fs::create_dir_all(&db).unwrap();
        let db = format!("sql:{}", path(&db));
        let (ok, out) = run("certutil", &["-N", "-d", &db, "--empty-password"]);
        assert!(ok, "certutil -N: {out}");
        let ca = f.dir.join("ca.pem");
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
                path(&ca),
            ],
        );
        assert!(ok, "certutil -A: {out}");
        db
    })
    .clone()
}

fn pdfsig(file: &Path, nss: Option<&str>) -> String {
    let mut args = Vec::new();
    if let Some(db) = nss {
        args.extend(["-nssdir", db]);
    }
    args.push(path(file));
    let (_, out) = run("pdfsig", &args);
    out
}

#[test]
fn pdfsig_validates_our_signature_and_trusts_the_test_ca() {
    let f = fixture();
    let signed = sign_pdf(&our_pdf(), &signer(f), &options(f)).unwrap();
    let file = f.dir.join("signed-bb.pdf");
    std::fs::write(&file, &signed).unwrap();

    let out = pdfsig(&file, Some(&nss_db(f)));
    assert!(out.contains("Signature is Valid"), "{out}");
    assert!(out.contains("Certificate is Trusted"), "{out}");
    assert!(
        out.contains(test_ca::SIGNER_NAME),
        "the signer's Vietnamese name shows: {out}"
    );
    assert!(out.contains("ETSI.CAdES.detached"), "{out}");
    assert!(out.contains("Total document signed"), "{out}");

    // Without the CA in its database poppler still checks the signature, not the issuer.
    let empty = f.dir.join("empty-nssdb");
    std::fs::create_dir_all(&empty).unwrap();
    let empty = format!("sql:{}", path(&empty));
    run("certutil", &["-N", "-d", &empty, "--empty-password"]);
    let out = pdfsig(&file, Some(&empty));
    assert!(out.contains("Signature is Valid"), "{out}");
    assert!(!out.contains("Certificate is Trusted"), "{out}");

    // A byte changed after signing: poppler agrees with our verifier.
    let mut tampered = signed.clone();
    let at = tampered.windows(9).position(|w| w == b"/MediaBox").unwrap() + 2;
    tampered[at] = b'x';
    let file = f.dir.join("tampered.pdf");
    std::fs::write(&file, &tampered).unwrap();
    let out = pdfsig(&file, Some(&nss_db(f)));
    assert!(!out.contains("Signature is Valid"), "{out}");
    let ours = verify_pdf(
        &tampered,
        std::slice::from_ref(&f.pki.ca.certificate_der),
        f.now,
    )
    .unwrap();
    assert!(ours[0].has("signature.digest_mismatch"));
}

#[test]
fn a_pdf_from_another_producer_signs_twice_and_pdfsig_validates_both() {
    let f = fixture();
    let source = f.dir.join("ours-for-cairo.pdf");
    std::fs::write(&source, our_pdf()).unwrap();
    let cairo = f.dir.join("cairo.pdf");
    let (ok, out) = run("pdftocairo", &["-pdf", path(&source), path(&cairo)]);
    assert!(ok, "pdftocairo: {out}");
    let cairo_pdf = std::fs::read(&cairo).unwrap();
    assert!(
        String::from_utf8_lossy(&cairo_pdf).contains("cairo"),
        "made by cairo"
    );

    let once = sign_pdf(&cairo_pdf, &signer(f), &options(f)).unwrap();
    let twice = sign_pdf(&once, &signer(f), &options(f)).unwrap();
    let file = f.dir.join("cairo-signed-twice.pdf");
    std::fs::write(&file, &twice).unwrap();
    let out = pdfsig(&file, Some(&nss_db(f)));
    assert_eq!(out.matches("Signature is Valid").count(), 2, "{out}");
    // poppler 22.12 trusts only the first signature's certificate in one run and reports
    // "Unknown issue with Certificate" for any later one, also on a PDF that pdfsig
    // itself signed twice (`pdfsig -add-signature`, checked by hand): the trust of the
    // second signature is asserted with our verifier below.
    assert!(out.contains("Certificate is Trusted"), "{out}");

    let ours = verify_pdf(
        &twice,
        std::slice::from_ref(&f.pki.ca.certificate_der),
        f.now,
    )
    .unwrap();
    assert_eq!(ours.len(), 2);
    assert!(ours[0].intact && ours[0].trusted && !ours[0].covers_whole_file);
    assert!(ours[1].is_valid(), "{:?}", ours[1].problems);
}

#[test]
fn openssl_pkcs12_files_load_modern_and_legacy() {
    let f = fixture();
    let key = f.dir.join("signer.key");
    std::fs::write(
        &key,
        f.pki
            .signer
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    for (name, extra) in [("modern.p12", None), ("legacy.p12", Some("-legacy"))] {
        let out_file = f.dir.join(name);
        let mut args = vec!["pkcs12", "-export", "-inkey", path(&key), "-in"];
        let signer_pem = f.dir.join("signer.pem");
        let ca_pem = f.dir.join("ca.pem");
        args.extend([
            path(&signer_pem),
            "-certfile",
            path(&ca_pem),
            "-out",
            path(&out_file),
            "-passout",
            "pass:mật-khẩu",
        ]);
        if let Some(flag) = extra {
            args.push(flag);
        }
        let (ok, out) = run("openssl", &args);
        assert!(ok, "openssl {args:?}: {out}");
        let bytes = std::fs::read(&out_file).unwrap();
        let signer =
            Pkcs12Signer::from_pkcs12(&bytes, "mật-khẩu").unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            signer.certificate_chain(),
            std::slice::from_ref(&f.pki.signer.certificate_der),
            "{name}"
        );
        // The key signs and the result verifies under the certificate.
        let pdf = sign_pdf(&our_pdf(), &signer, &options(f)).unwrap();
        let report =
            &verify_pdf(&pdf, std::slice::from_ref(&f.pki.ca.certificate_der), f.now).unwrap()[0];
        assert!(report.is_valid(), "{name}: {:?}", report.problems);
    }
    // And OpenSSL reads what the test CA writes.
    let ours = f.dir.join("signer.p12");
    let (ok, out) = run(
        "openssl",
        &[
            "pkcs12",
            "-in",
            path(&ours),
            "-passin",
            &format!("pass:{TEST_PASSWORD}"),
            "-nokeys",
        ],
    );
    assert!(ok && out.contains("BEGIN CERTIFICATE"), "{out}");
}

/// An RFC 3161 responder: `openssl ts -reply` behind HTTP/1.1 on 127.0.0.1, answering at
/// most `requests` requests within 60 seconds.
fn start_tsa(f: &Fixture, requests: usize) -> String {
    let dir = f.dir.join(format!("tsa-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("serial"), "01\n").unwrap();
    let config = format!(
        "[ tsa ]\ndefault_tsa = tsa_config\n[ tsa_config ]\nserial = {serial}\ncrypto_device = builtin\n\
         signer_cert = {cert}\ncerts = {ca}\nsigner_key = {key}\nsigner_digest = sha256\n\
         default_policy = 1.2.3.4.1\ndigests = sha256, sha384, sha512\naccuracy = secs:1\n\
         ordering = no\ntsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n",
        serial = path(&dir.join("serial")),
        cert = path(&f.dir.join("tsa.pem")),
        ca = path(&f.dir.join("ca.pem")),
        key = path(&f.dir.join("tsa.key")),
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
                    path(&dir.join("tsa.cnf")),
                    "-queryfile",
                    path(&query),
                    "-out",
                    path(&reply),
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

#[tokio::test]
async fn b_t_signatures_carry_a_real_rfc3161_timestamp() {
    let f = fixture();
    let url = start_tsa(f, 1);
    let authority = HttpTimestampAuthority::new(&url, Duration::from_secs(20)).unwrap();
    let signed = sign_pdf_timestamped(&our_pdf(), &signer(f), &options(f), &authority)
        .await
        .unwrap_or_else(|e| panic!("{e} ({})", e.code()));
    let anchors = [f.pki.ca.certificate_der.clone()];
    let report = &verify_pdf(&signed, &anchors, f.now).unwrap()[0];
    assert!(report.is_valid(), "{:?}", report.problems);
    let stamp = report
        .timestamp
        .as_ref()
        .expect("a B-T signature has a timestamp");
    assert!(stamp.intact && stamp.chain_error.is_none(), "{stamp:?}");
    assert!(
        (stamp.time_unix - f.now).abs() < 300,
        "genTime is the responder's clock"
    );
    assert_eq!(
        stamp
            .authority
            .as_ref()
            .and_then(|a| a.subject.common_name.as_deref()),
        Some(test_ca::TSA_NAME)
    );

    let file = f.dir.join("signed-bt.pdf");
    std::fs::write(&file, &signed).unwrap();
    let out = pdfsig(&file, Some(&nss_db(f)));
    assert!(out.contains("Signature is Valid"), "{out}");
    assert!(out.contains("Certificate is Trusted"), "{out}");

    // The timestamp is checked, not just shown: trusting the signer's certificate alone
    // leaves the timestamp authority untrusted.
    let only_signer = [f.pki.signer.certificate_der.clone()];
    let report = &verify_pdf(&signed, &only_signer, f.now).unwrap()[0];
    assert!(report.trusted, "{:?}", report.problems);
    assert_eq!(
        report.problems.iter().map(|p| p.code).collect::<Vec<_>>(),
        ["signature.timestamp_untrusted"]
    );
}

#[tokio::test]
async fn an_unreachable_authority_is_a_stable_error() {
    let f = fixture();
    // A port nothing listens on: bind, note it, close.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let authority =
        HttpTimestampAuthority::new(&format!("http://127.0.0.1:{port}/"), Duration::from_secs(5))
            .unwrap();
    let err = sign_pdf_timestamped(&our_pdf(), &signer(f), &options(f), &authority)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "timestamp.unreachable");
}

#[test]
fn we_verify_what_poppler_signs() {
    let f = fixture();
    // poppler signs with a key in an NSS database: import the test signer's PKCS#12 file.
    let db_dir = f.dir.join("poppler-signer-db");
    std::fs::create_dir_all(&db_dir).unwrap();
    let db = format!("sql:{}", path(&db_dir));
    let (ok, out) = run("certutil", &["-N", "-d", &db, "--empty-password"]);
    assert!(ok, "{out}");
    let p12 = f.dir.join("signer.p12");
    let (ok, out) = run(
        "pk12util",
        &["-i", path(&p12), "-d", &db, "-W", TEST_PASSWORD],
    );
    assert!(ok, "pk12util: {out}");
    let (_, listing) = run("certutil", &["-L", "-d", &db]);
    let nick = listing
        .lines()
        .find(|l| l.trim_end().ends_with("u,u,u"))
        .map(|l| {
            l.trim_end()
                .trim_end_matches("u,u,u")
                .trim_end()
                .to_string()
        })
        .unwrap_or_else(|| panic!("no key in {listing}"));

    let input = f.dir.join("for-poppler.pdf");
    std::fs::write(&input, our_pdf()).unwrap();
    let output = f.dir.join("poppler-signed.pdf");
    let (_, out) = run(
        "pdfsig",
        &[
            "-nssdir",
            &db,
            "-nick",
            &nick,
            "-add-signature",
            "-reason",
            "thử",
            path(&input),
            path(&output),
        ],
    );
    let signed = std::fs::read(&output).unwrap_or_else(|_| panic!("pdfsig did not sign: {out}"));

    let anchors = [f.pki.ca.certificate_der.clone()];
    let reports = verify_pdf(&signed, &anchors, f.now).unwrap();
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(r.sub_filter.as_deref(), Some("adbe.pkcs7.detached"));
    assert!(r.is_valid(), "{:?}", r.problems);
    assert_eq!(
        r.signer
            .as_ref()
            .and_then(|s| s.subject.common_name.as_deref()),
        Some(test_ca::SIGNER_NAME)
    );

    // And a signature of ours added after poppler's keeps both verifiable.
    let both = sign_pdf(&signed, &signer(f), &options(f)).unwrap();
    let reports = verify_pdf(&both, &anchors, f.now).unwrap();
    assert_eq!(reports.len(), 2);
    assert!(
        reports[0].intact && reports[0].trusted,
        "{:?}",
        reports[0].problems
    );
    assert!(reports[1].is_valid(), "{:?}", reports[1].problems);
}
