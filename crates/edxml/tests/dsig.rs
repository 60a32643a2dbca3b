//! Canonicalisation against libxml2 (`xmllint`) and enveloped XML-DSig against xmlsec1, both
//! run as subprocesses (Debian packages `libxml2-utils`, `xmlsec1`); keys and certificates are
//! made with `openssl` for the run.

// Helpers outside #[test] functions: a failed assumption should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use rsa::pkcs8::DecodePrivateKey;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use tinhso_edxml::c14n::{Mode, SubtreeFilter, TEXT_CHUNK, canonicalize_document};
use tinhso_edxml::dsig::{
    DSIG_NAMESPACE, DsigError, SignatureAlgorithm, sign_enveloped, verify_enveloped,
};
use tinhso_signing::signer::{DigestAlgorithm, SignError, Signer};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dsig_fixtures")
}

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn run(cmd: &mut Command) -> std::process::Output {
    let output = cmd
        .output()
        .expect("run a tool (xmllint, xmlsec1, openssl)");
    assert!(
        output.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

// ---------------------------------------------------------------- canonicalisation

fn ours(path: &Path, mode: Mode, buffer: usize) -> Vec<u8> {
    let file = fs::File::open(path).expect("open fixture");
    canonicalize_document(
        BufReader::with_capacity(buffer, file),
        Vec::new(),
        mode,
        None,
    )
    .expect("canonicalise")
}

/// xmllint's canonical output always keeps comments; C14N without comments is the same bytes
/// with each comment removed, and at document level with the line feed that separated it from
/// the document element.
fn without_comments(canonical: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(canonical.to_vec()).expect("utf-8");
    let root_start = text
        .match_indices('<')
        .map(|(i, _)| i)
        .find(|&i| !text[i..].starts_with("<?") && !text[i..].starts_with("<!--"))
        .expect("a document element");
    // The document element ends at the last '>' that is not part of a trailing PI or comment.
    let mut root_end = text.len();
    let mut tail = text.as_str();
    loop {
        let trimmed = tail.trim_end();
        if trimmed.ends_with("?>") {
            tail = &trimmed[..trimmed.rfind("<?").expect("pi start")];
        } else if trimmed.ends_with("-->") {
            tail = &trimmed[..trimmed.rfind("<!--").expect("comment start")];
        } else {
            root_end = root_end.min(trimmed.len());
            break;
        }
    }
    let mut out = String::new();
    let mut rest = 0;
    while let Some(found) = text[rest..].find("<!--") {
        let start = rest + found;
        let end = start + text[start..].find("-->").expect("comment end") + 3;
        if start < root_start {
            out.push_str(&text[rest..start]);
            rest = end + usize::from(text[end..].starts_with('\n'));
        } else if start >= root_end {
            let keep = &text[rest..start];
            out.push_str(keep.strip_suffix('\n').unwrap_or(keep));
            rest = end;
        } else {
            out.push_str(&text[rest..start]);
            rest = end;
        }
    }
    out.push_str(&text[rest..]);
    out.into_bytes()
}

fn xmllint(flag: &str, path: &Path) -> Vec<u8> {
    without_comments(&run(Command::new("xmllint").arg(flag).arg(path)).stdout)
}

fn assert_same_as_xmllint(path: &Path) {
    for (mode, flag) in [
        (Mode::Inclusive, "--c14n"),
        (
            Mode::Exclusive {
                inclusive_prefixes: Vec::new(),
            },
            "--exc-c14n",
        ),
    ] {
        let expected = xmllint(flag, path);
        // Tiny buffers put references, CR LF pairs and multi-byte characters across reads.
        for buffer in [1, 3, 7, 64 * 1024] {
            let actual = ours(path, mode.clone(), buffer);
            assert_eq!(
                String::from_utf8_lossy(&actual),
                String::from_utf8_lossy(&expected),
                "{} {flag} with a {buffer}-byte buffer",
                path.display()
            );
        }
    }
}

#[test]
fn canonical_bytes_match_libxml2_on_varied_documents() {
    let dir = fixtures().join("c14n");
    let mut checked = 0;
    for entry in fs::read_dir(&dir).expect("fixtures") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "xml") {
            assert_same_as_xmllint(&path);
            checked += 1;
        }
    }
    assert!(checked >= 5, "fixtures found: {checked}");
}

#[test]
fn crlf_and_lone_cr_are_normalised_like_libxml2() {
    let dir = scratch();
    let path = dir.path().join("crlf.xml");
    fs::write(
        &path,
        "<?xml version=\"1.0\"?>\r\n<doc a=\"x\r\ny\rz\">\r\n  <t>line one\r\nline two\rline three\r\n\r\n</t>\r\n\
         <c><![CDATA[cdata\r\nline]]></c>\r\n  <?pi a\r\nb?>\r\n</doc>\r\n",
    )
    .expect("write");
    assert_same_as_xmllint(&path);
}

#[test]
fn a_byte_order_mark_is_dropped_like_libxml2() {
    let dir = scratch();
    let path = dir.path().join("bom.xml");
    fs::write(
        &path,
        "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<doc>ok</doc>\n",
    )
    .expect("write");
    assert_same_as_xmllint(&path);
}

#[test]
fn text_longer_than_a_chunk_streams_and_matches_libxml2() {
    let dir = scratch();
    let path = dir.path().join("long.xml");
    let mut body = String::new();
    // References, CR LF and 2-, 3- and 4-byte characters land on both sides of chunk edges.
    let piece = "abc&amp;dé&#x20AC;f\r\n—𝄞&lt;gh";
    while body.len() < 3 * TEXT_CHUNK + 17 {
        body.push_str(piece);
    }
    fs::write(
        &path,
        format!("<doc><big>{body}</big><small>x</small></doc>"),
    )
    .expect("write");
    assert_same_as_xmllint(&path);
}

#[test]
fn an_excluded_subtree_leaves_no_trace() {
    let dir = scratch();
    let with = dir.path().join("with.xml");
    let without = dir.path().join("without.xml");
    let inner = "<a xmlns=\"urn:a\"><b>keep</b></a>";
    fs::write(
        &with,
        format!(
            "<r xmlns:s=\"{DSIG_NAMESPACE}\"><s:Signature><s:x>gone</s:x></s:Signature>{inner}</r>"
        ),
    )
    .expect("write");
    fs::write(
        &without,
        format!("<r xmlns:s=\"{DSIG_NAMESPACE}\">{inner}</r>"),
    )
    .expect("write");
    let mut filter = SubtreeFilter::new(DSIG_NAMESPACE, "Signature");
    let excluded = canonicalize_document(
        BufReader::new(fs::File::open(&with).expect("open")),
        Vec::new(),
        Mode::Inclusive,
        Some(&mut filter),
    )
    .expect("canonicalise");
    assert_eq!(filter.found(), 1);
    assert_eq!(excluded, xmllint("--c14n", &without));
}

#[test]
fn documents_that_would_canonicalise_differently_are_refused() {
    let dir = scratch();
    for (name, xml) in [
        ("entity.xml", "<!DOCTYPE d [<!ENTITY e \"x\">]><d>&e;</d>"),
        (
            "entity-decl.xml",
            "<!DOCTYPE d [<!ENTITY e \"x\">]><d>ok</d>",
        ),
        (
            "attlist.xml",
            "<!DOCTYPE d [<!ATTLIST d a CDATA \"default\">]><d/>",
        ),
        ("two-roots.xml", "<d/><e/>"),
        ("text-outside.xml", "<d/>stray"),
        ("unknown.xml", "<d>&nbsp;</d>"),
        (
            "latin1.xml",
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><d/>",
        ),
        ("unbound.xml", "<p:d/>"),
        ("mismatch.xml", "<a><b></a></b>"),
    ] {
        let path = dir.path().join(name);
        fs::write(&path, xml).expect("write");
        let result = canonicalize_document(
            BufReader::new(fs::File::open(&path).expect("open")),
            Vec::new(),
            Mode::Inclusive,
            None,
        );
        assert!(result.is_err(), "{name} was accepted");
    }
}

// ---------------------------------------------------------------- keys, signer

struct Keys {
    dir: PathBuf,
    leaf_key: PathBuf,
    leaf_pem: PathBuf,
    ca_pem: PathBuf,
    signer: TestSigner,
}

struct TestSigner {
    key: RsaPrivateKey,
    chain: Vec<Vec<u8>>,
}

impl Signer for TestSigner {
    fn certificate_chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    fn sign_digest(&self, algorithm: DigestAlgorithm, digest: &[u8]) -> Result<Vec<u8>, SignError> {
        let scheme = match algorithm {
            DigestAlgorithm::Sha1 => Pkcs1v15Sign::new::<sha1::Sha1>(),
            DigestAlgorithm::Sha256 => Pkcs1v15Sign::new::<sha2::Sha256>(),
        };
        self.key
            .sign(scheme, digest)
            .map_err(|e| SignError::Key(e.to_string()))
    }
}

fn make_keys(dir: &Path) {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).expect("key dir");
    let p = |name: &str| dir.join(name);
    run(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-utf8",
        ])
        .args(["-subj", "/C=VN/O=Tỉnh số thử nghiệm/CN=Tỉnh số Test CA"])
        .arg("-keyout")
        .arg(p("ca.key"))
        .arg("-out")
        .arg(p("ca.pem")));
    run(Command::new("openssl")
        .args(["req", "-newkey", "rsa:2048", "-nodes", "-utf8"])
        .args(["-subj", "/C=VN/O=UBND xã Thử Nghiệm/CN=Văn thư UBND xã"])
        .arg("-keyout")
        .arg(p("leaf.key"))
        .arg("-out")
        .arg(p("leaf.csr")));
    fs::write(
        p("leaf.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n",
    )
    .expect("ext");
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "30", "-CAcreateserial"])
        .arg("-in")
        .arg(p("leaf.csr"))
        .arg("-CA")
        .arg(p("ca.pem"))
        .arg("-CAkey")
        .arg(p("ca.key"))
        .arg("-extfile")
        .arg(p("leaf.ext"))
        .arg("-out")
        .arg(p("leaf.pem")));
    run(Command::new("openssl")
        .args(["x509", "-outform", "DER"])
        .arg("-in")
        .arg(p("leaf.pem"))
        .arg("-out")
        .arg(p("leaf.der")));
}

/// Set on the child process of the memory test: it uses the parent's keys instead of making
/// (and racing to replace) its own.
const REUSE_KEYS: &str = "TINHSO_DSIG_TEST_REUSE_KEYS";

/// A CA and a leaf certificate it issued, made with openssl once per test run.
fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dsig-keys");
        let p = |name: &str| dir.join(name);
        if std::env::var_os(REUSE_KEYS).is_none() {
            make_keys(&dir);
        }
        let key = RsaPrivateKey::from_pkcs8_pem(&fs::read_to_string(p("leaf.key")).expect("key"))
            .expect("PKCS#8 key");
        let signer = TestSigner {
            key,
            chain: vec![fs::read(p("leaf.der")).expect("der")],
        };
        Keys {
            leaf_key: p("leaf.key"),
            leaf_pem: p("leaf.pem"),
            ca_pem: p("ca.pem"),
            dir,
            signer,
        }
    })
}

// ---------------------------------------------------------------- packages

fn unsigned_package() -> String {
    fs::read_to_string(fixtures().join("package.xml")).expect("package fixture")
}

const HEADER_END: &str = "</edXML:edXMLHeader>";

/// The same package with more in scope around the Signature: extra prefixes on the root and the
/// header, `xml:lang` on the envelope. Inclusive C14N renders all of it on SignedInfo.
fn package_with_context() -> String {
    unsigned_package()
        .replacen(
            "<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">",
            "<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\" \
             xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"urn:x x.xsd\">",
            1,
        )
        .replacen("<edXML:edXMLEnvelope ", "<edXML:edXMLEnvelope xml:lang=\"vi\" ", 1)
        .replacen(
            "<edXML:edXMLHeader>",
            "<edXML:edXMLHeader xmlns:lgsp=\"urn:lang-son:lgsp\" lgsp:hop=\"1\">",
            1,
        )
}

/// Comments and processing instructions in and around the document, which a same-document
/// reference leaves out (comments) or keeps (PIs, with their line feeds).
fn package_with_comments() -> String {
    unsigned_package()
        .replacen(
            "<edXML xmlns",
            "<!-- gói tin thử -->\n<?edxml-producer tinhso?>\n<edXML xmlns",
            1,
        )
        .replacen(
            "<edXML:TraceHeaderList>",
            "<!-- trace --><edXML:TraceHeaderList>",
            1,
        )
        + "<?after the root?>\n<!-- end -->\n"
}

fn packages() -> [String; 3] {
    [
        unsigned_package(),
        package_with_context(),
        package_with_comments(),
    ]
}

/// An xmlsec1 template shaped like the real packages' Signature (indented, as they are).
fn template(
    signature_method: &str,
    digest_method: &str,
    c14n: &str,
    extra: Option<&str>,
) -> String {
    let extra = extra
        .map(|a| format!("\n            <Transform Algorithm=\"{a}\"/>"))
        .unwrap_or_default();
    format!(
        r#"<Signature xmlns="{DSIG_NAMESPACE}">
        <SignedInfo>
          <CanonicalizationMethod Algorithm="{c14n}"/>
          <SignatureMethod Algorithm="{signature_method}"/>
          <Reference URI="">
            <Transforms>
              <Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>{extra}
            </Transforms>
            <DigestMethod Algorithm="{digest_method}"/>
            <DigestValue/>
          </Reference>
        </SignedInfo>
        <SignatureValue/>
        <KeyInfo>
          <X509Data>
            <X509SubjectName/>
            <X509Certificate/>
          </X509Data>
        </KeyInfo>
      </Signature>
    "#
    )
}

fn xmlsec_sign(dir: &Path, unsigned: &str, template: &str) -> PathBuf {
    let keys = keys();
    let input = dir.join("template.xml");
    let output = dir.join("signed-by-xmlsec.xml");
    fs::write(
        &input,
        unsigned.replacen(HEADER_END, &format!("{template}{HEADER_END}"), 1),
    )
    .expect("template");
    run(Command::new("xmlsec1")
        .arg("--sign")
        .arg("--privkey-pem")
        .arg(format!(
            "{},{}",
            keys.leaf_key.display(),
            keys.leaf_pem.display()
        ))
        .arg("--output")
        .arg(&output)
        .arg(&input));
    output
}

fn verify_file(path: &Path) -> Result<tinhso_edxml::dsig::VerifiedSignature, DsigError> {
    verify_enveloped(BufReader::new(fs::File::open(path).expect("open")))
}

fn sign_ours(dir: &Path, unsigned: &str) -> PathBuf {
    let input = dir.join("unsigned.xml");
    let output = dir.join("signed.xml");
    fs::write(&input, unsigned).expect("write");
    let mut out = fs::File::create(&output).expect("create");
    sign_enveloped(&input, &mut out, &keys().signer).expect("sign");
    out.flush().expect("flush");
    output
}

fn xmlsec_verify(path: &Path) -> std::process::Output {
    Command::new("xmlsec1")
        .arg("--verify")
        .arg("--trusted-pem")
        .arg(&keys().ca_pem)
        .arg(path)
        .output()
        .expect("xmlsec1")
}

#[test]
fn packages_signed_by_xmlsec1_verify() {
    let leaf_der = fs::read(keys().dir.join("leaf.der")).expect("der");
    let cases = [
        // The older packages' shape: RSA-SHA1, SHA-1, enveloped then exclusive c14n.
        (
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            "http://www.w3.org/2000/09/xmldsig#sha1",
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
            Some("http://www.w3.org/2001/10/xml-exc-c14n#"),
            SignatureAlgorithm::RsaSha1,
            DigestAlgorithm::Sha1,
        ),
        (
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2001/04/xmlenc#sha256",
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
            None,
            SignatureAlgorithm::RsaSha256,
            DigestAlgorithm::Sha256,
        ),
        // SignedInfo canonicalised exclusively: the edXML prefix in scope must not be rendered.
        (
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2001/04/xmlenc#sha256",
            "http://www.w3.org/2001/10/xml-exc-c14n#",
            Some("http://www.w3.org/TR/2001/REC-xml-c14n-20010315"),
            SignatureAlgorithm::RsaSha256,
            DigestAlgorithm::Sha256,
        ),
    ];
    for ((signature_method, digest_method, c14n, extra, algorithm, digest), unsigned) in cases
        .into_iter()
        .flat_map(|case| packages().map(|p| (case, p)))
    {
        let dir = scratch();
        let signed = xmlsec_sign(
            dir.path(),
            &unsigned,
            &template(signature_method, digest_method, c14n, extra),
        );
        let verified = verify_file(&signed)
            .unwrap_or_else(|e| panic!("{signature_method} {c14n} {extra:?}: {} {e}", e.code()));
        assert_eq!(verified.algorithm, algorithm);
        assert_eq!(verified.digest_algorithm, digest);
        assert_eq!(verified.canonicalization, c14n);
        assert_eq!(verified.certificate, leaf_der);
        assert!(
            verified.subject.contains("CN=Văn thư UBND xã"),
            "{}",
            verified.subject
        );
        assert!(verified.not_before < verified.not_after);
        assert!(verified.extra_certificates.is_empty());
    }
}

#[test]
fn an_inclusive_namespaces_prefix_list_on_signed_info_is_honoured() {
    let exc = "http://www.w3.org/2001/10/xml-exc-c14n#";
    let plain = template(
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "http://www.w3.org/2001/04/xmlenc#sha256",
        exc,
        None,
    );
    // With edXML in the PrefixList the canonical SignedInfo carries xmlns:edXML, which plain
    // exclusive canonicalisation would leave out: ignoring the list breaks the signature.
    let with_list = plain.replacen(
        &format!("<CanonicalizationMethod Algorithm=\"{exc}\"/>"),
        &format!(
            "<CanonicalizationMethod Algorithm=\"{exc}\"><ec:InclusiveNamespaces \
             xmlns:ec=\"{exc}\" PrefixList=\"edXML #default\"/></CanonicalizationMethod>"
        ),
        1,
    );
    assert_ne!(with_list, plain);
    let dir = scratch();
    let signed = xmlsec_sign(dir.path(), &unsigned_package(), &with_list);
    let verified = verify_file(&signed).expect("verifies");
    assert_eq!(verified.canonicalization, exc);
}

#[test]
fn packages_signed_here_verify_with_xmlsec1_against_the_ca() {
    for unsigned in packages() {
        signed_here_verifies_with_xmlsec1(&unsigned);
    }
}

fn signed_here_verifies_with_xmlsec1(unsigned: &str) {
    let dir = scratch();
    let signed = sign_ours(dir.path(), unsigned);
    let output = xmlsec_verify(&signed);
    assert!(
        output.status.success(),
        "xmlsec1 rejected our signature: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("OK"));

    let text = fs::read_to_string(&signed).expect("signed");
    // The Signature is the last child of the header, and nothing else changed.
    let at = text.find("<Signature ").expect("signature");
    let end = text.find("</Signature>").expect("end") + "</Signature>".len();
    assert!(text[end..].starts_with(HEADER_END));
    assert_eq!(format!("{}{}", &text[..at], &text[end..]), unsigned);

    let verified = verify_file(&signed).expect("our own signature verifies");
    assert_eq!(verified.algorithm, SignatureAlgorithm::RsaSha256);
    assert_eq!(verified.digest_algorithm, DigestAlgorithm::Sha256);
    assert_eq!(
        verified.claimed_subject_name.as_deref(),
        Some(verified.subject.as_str())
    );
}

#[test]
fn an_empty_header_gets_the_signature_too() {
    let dir = scratch();
    let unsigned = "<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><edXML:edXMLEnvelope \
        xmlns:edXML=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><edXML:edXMLHeader/><edXML:edXMLBody/>\
        </edXML:edXMLEnvelope></edXML>";
    let signed = sign_ours(dir.path(), unsigned);
    assert!(xmlsec_verify(&signed).status.success());
    verify_file(&signed).expect("verifies");
}

fn assert_code(path: &Path, code: &str) {
    match verify_file(path) {
        Ok(v) => panic!(
            "{} verified ({:?}), expected {code}",
            path.display(),
            v.algorithm
        ),
        Err(e) => assert_eq!(e.code(), code, "{e}"),
    }
}

fn altered(dir: &Path, signed: &Path, name: &str, change: impl Fn(&str) -> String) -> PathBuf {
    let original = fs::read_to_string(signed).expect("signed");
    let changed = change(&original);
    assert_ne!(changed, original, "{name}: the alteration changed nothing");
    let path = dir.join(name);
    fs::write(&path, changed).expect("write");
    path
}

#[test]
fn altered_packages_are_rejected_with_the_matching_code() {
    let dir = scratch();
    for signed in [
        sign_ours(dir.path(), &unsigned_package()),
        xmlsec_sign(
            dir.path(),
            &package_with_context(),
            &template(
                "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
                "http://www.w3.org/2000/09/xmldsig#sha1",
                "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
                Some("http://www.w3.org/2001/10/xml-exc-c14n#"),
            ),
        ),
    ] {
        verify_file(&signed).expect("the unaltered package verifies");
        let subject = altered(dir.path(), &signed, "subject.xml", |s| {
            s.replacen("chữ ký số", "chữ ky số", 1)
        });
        assert_code(&subject, "edxml.signature.digest_mismatch");
        assert!(!xmlsec_verify(&subject).status.success());

        let attachment = altered(dir.path(), &signed, "attachment.xml", |s| {
            s.replacen("c3RyZWFtCnicK", "c3RyZWFtCnjcK", 1)
        });
        assert_code(&attachment, "edxml.signature.digest_mismatch");

        let value = altered(dir.path(), &signed, "value.xml", |s| {
            let at = s.find("<SignatureValue>").expect("value") + "<SignatureValue>".len() + 10;
            let old = &s[at..at + 1];
            let new = if old == "A" { "B" } else { "A" };
            format!("{}{new}{}", &s[..at], &s[at + 1..])
        });
        assert_code(&value, "edxml.signature.value_invalid");
        assert!(!xmlsec_verify(&value).status.success());

        let digest_value = altered(dir.path(), &signed, "digest-value.xml", |s| {
            let at = s.find("<DigestValue>").expect("digest") + "<DigestValue>".len() + 3;
            let old = &s[at..at + 1];
            let new = if old == "A" { "B" } else { "A" };
            format!("{}{new}{}", &s[..at], &s[at + 1..])
        });
        assert_code(&digest_value, "edxml.signature.digest_mismatch");

        let certificate = altered(dir.path(), &signed, "certificate.xml", |s| {
            let start = s.find("<X509Certificate>").expect("cert") + "<X509Certificate>".len();
            let end = s.find("</X509Certificate>").expect("cert end");
            format!("{}MIIBAAAA{}", &s[..start], &s[end..])
        });
        assert_code(&certificate, "edxml.signature.certificate_invalid");

        let algorithm = altered(dir.path(), &signed, "algorithm.xml", |s| {
            s.replace("#rsa-sha256\"", "#rsa-sha512\"")
                .replace("#rsa-sha1\"", "#dsa-sha1\"")
        });
        assert_code(&algorithm, "edxml.signature.algorithm_unsupported");

        let twice = altered(dir.path(), &signed, "twice.xml", |s| {
            let start = s.find("<Signature").expect("sig");
            let end = s.find("</Signature>").expect("end") + "</Signature>".len();
            format!("{}{}", &s[..end], &s[start..])
        });
        assert_code(&twice, "edxml.signature.multiple");

        // As in some packages in circulation: the Signature without the XML-DSig namespace.
        let foreign = altered(dir.path(), &signed, "foreign.xml", |s| {
            s.replacen(
                &format!("<Signature xmlns=\"{DSIG_NAMESPACE}\">"),
                "<Signature>",
                1,
            )
        });
        assert_code(&foreign, "edxml.signature.malformed");
    }
    let unsigned = dir.path().join("unsigned-only.xml");
    fs::write(&unsigned, unsigned_package()).expect("write");
    assert_code(&unsigned, "edxml.signature.missing");
    let broken = dir.path().join("broken.xml");
    fs::write(
        &broken,
        unsigned_package().replace("</edXML:edXMLBody>", ""),
    )
    .expect("write");
    assert_code(&broken, "edxml.signature.malformed");
}

#[test]
fn signing_refuses_a_signed_package_and_one_without_header() {
    let dir = scratch();
    let signed = sign_ours(dir.path(), &unsigned_package());
    let again = sign_enveloped(&signed, Vec::new(), &keys().signer).expect_err("signed twice");
    assert_eq!(again.code(), "edxml.signature.multiple");
    let headless = dir.path().join("headless.xml");
    fs::write(
        &headless,
        "<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"/>",
    )
    .expect("write");
    let error = sign_enveloped(&headless, Vec::new(), &keys().signer).expect_err("no header");
    assert_eq!(error.code(), "edxml.signature.malformed");
}

/// Peak resident memory of this process so far, in KiB.
fn peak_rss_kib() -> u64 {
    let status = fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// Peak memory is per process, so the measurement runs alone in a child process: a test failing
/// (and panicking) in parallel here would otherwise show up in the figure.
#[test]
fn a_fifty_megabyte_attachment_signs_and_verifies_in_bounded_memory() {
    keys();
    let output = run(Command::new(std::env::current_exe().expect("test binary"))
        .env(REUSE_KEYS, "1")
        .args([
            "large_attachment_alone",
            "--exact",
            "--ignored",
            "--nocapture",
        ]));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("1 passed"), "{stdout}");
}

#[test]
#[ignore = "run in its own process by a_fifty_megabyte_attachment_signs_and_verifies_in_bounded_memory"]
fn large_attachment_alone() {
    const ATTACHMENT: usize = 50 * 1024 * 1024;
    let dir = scratch();
    let input = dir.path().join("large.xml");
    let package = unsigned_package();
    let open_tag =
        "<edXML:ContentTransferEncoded xmlns:edXML=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">";
    let split = package.find(open_tag).expect("attachment") + open_tag.len();
    let close = package[split..]
        .find("</edXML:ContentTransferEncoded>")
        .expect("close")
        + split;
    {
        let mut file = std::io::BufWriter::new(fs::File::create(&input).expect("create"));
        file.write_all(&package.as_bytes()[..split]).expect("write");
        // Base64-looking lines from a fixed pseudo-random sequence, CR LF ended as Windows
        // senders write them.
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut line = [0u8; 78];
        line[76] = b'\r';
        line[77] = b'\n';
        let mut written = 0;
        while written < ATTACHMENT {
            for byte in &mut line[..76] {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *byte = ALPHABET[(state % 64) as usize];
            }
            file.write_all(&line).expect("write");
            written += line.len();
        }
        file.write_all(&package.as_bytes()[close..]).expect("write");
        file.flush().expect("flush");
    }
    let before = peak_rss_kib();
    let started = std::time::Instant::now();
    let output = dir.path().join("large-signed.xml");
    sign_enveloped(
        &input,
        fs::File::create(&output).expect("create"),
        &keys().signer,
    )
    .expect("sign");
    let signed_after = started.elapsed();
    let verified = verify_file(&output).expect("verify");
    assert_eq!(verified.algorithm, SignatureAlgorithm::RsaSha256);
    // A figure for the record (not asserted): both signing passes, then the verifying pass.
    eprintln!(
        "50 MB package: signed in {signed_after:?}, verified in {:?}",
        started.elapsed() - signed_after
    );
    let grown_mib = (peak_rss_kib().saturating_sub(before)) / 1024;
    eprintln!(
        "peak memory grew by {grown_mib} MiB (before: {} MiB)",
        before / 1024
    );
    assert!(
        grown_mib < 20,
        "signing and verifying a 50 MB attachment raised peak memory by {grown_mib} MiB"
    );
    assert!(fs::metadata(&output).expect("size").len() > ATTACHMENT as u64);
    // The streamed digest over 50 MB of CR LF text agrees with libxml2's (its own process).
    let xmlsec = xmlsec_verify(&output);
    assert!(
        xmlsec.status.success(),
        "{}",
        String::from_utf8_lossy(&xmlsec.stderr)
    );
}

#[test]
fn a_chain_in_key_info_names_the_leaf_as_signer_in_any_order() {
    let keys = keys();
    let ca_der = {
        let dir = scratch();
        let der = dir.path().join("ca.der");
        run(Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&keys.ca_pem)
            .arg("-out")
            .arg(&der));
        fs::read(der).expect("ca der")
    };
    let signer = TestSigner {
        key: keys.signer.key.clone(),
        chain: vec![keys.signer.chain[0].clone(), ca_der.clone()],
    };
    let dir = scratch();
    let input = dir.path().join("unsigned.xml");
    fs::write(&input, unsigned_package()).expect("write");
    let signed = dir.path().join("signed.xml");
    sign_enveloped(&input, fs::File::create(&signed).expect("create"), &signer).expect("sign");
    assert!(xmlsec_verify(&signed).status.success());
    let verified = verify_file(&signed).expect("verify");
    assert_eq!(verified.certificate, keys.signer.chain[0]);
    assert_eq!(verified.extra_certificates, vec![ca_der.clone()]);

    // KeyInfo is outside what is signed: its certificates may come in any order.
    let text = fs::read_to_string(&signed).expect("read");
    let certs: Vec<&str> = text
        .match_indices("<X509Certificate>")
        .map(|(i, _)| {
            let end =
                text[i..].find("</X509Certificate>").expect("end") + i + "</X509Certificate>".len();
            &text[i..end]
        })
        .collect();
    assert_eq!(certs.len(), 2);
    let swapped = text
        .replacen(certs[0], "\u{0}", 1)
        .replacen(certs[1], certs[0], 1)
        .replacen('\u{0}', certs[1], 1);
    let swapped_path = dir.path().join("swapped.xml");
    fs::write(&swapped_path, &swapped).expect("write");
    assert!(swapped.find(certs[1]) < swapped.find(certs[0]));
    let verified = verify_file(&swapped_path).expect("verify swapped");
    assert_eq!(verified.certificate, keys.signer.chain[0]);
    assert_eq!(verified.extra_certificates, vec![ca_der]);
}
