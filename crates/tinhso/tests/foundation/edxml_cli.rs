//! `tinhso edxml validate | inspect | build` run as the real binary on files: a package built
//! from JSON and files and signed with a key of the test CA validates (its signer trusted
//! only with the CA as anchor) and inspects with the attachments' sizes; unsigned, altered
//! and broken packages exit non-zero with one `CODE message` line per problem.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tinhso(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tinhso"))
        .arg("edxml")
        .args(args)
        .output()
        .unwrap()
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../edxml/tests/fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

const HEADER: &str = r#"{
  "MessageHeader": {
    "From": {"OrganId": "000.00.31.H53", "OrganName": "Sở Thông tin và Truyền thông"},
    "To": [
      {"OrganId": "000.00.32.H53", "OrganName": "Sở Nội vụ"},
      {"OrganId": "000.00.40.H53", "OrganName": "Sở Tài chính"}
    ],
    "DocumentId": "000.00.31.H53,2026/12/01,130/STTTT-VP",
    "Code": {"CodeNumber": "130", "CodeNotation": "STTTT-VP"},
    "PromulgationInfo": {"Place": "Tây Ninh", "PromulgationDate": "2026/12/01"},
    "DocumentType": {"Type": "1", "TypeName": "Công văn"},
    "Subject": "V/v thử nghiệm liên thông văn bản",
    "OtherInfo": {"Priority": "0"}
  },
  "TraceHeaderList": {
    "TraceHeader": [{"OrganId": "000.00.31.H53", "Timestamp": "2026/12/01 09:00:00"}],
    "Bussiness": {"BussinessDocType": "0", "Paper": "0"}
  }
}"#;

/// A test CA in `dir` (`tinhso signing test-ca`): returns the signer's PKCS#12 and the CA's PEM.
fn test_ca(dir: &Path) -> (String, String) {
    let made = Command::new(env!("CARGO_BIN_EXE_tinhso"))
        .args(["signing", "test-ca", "--out"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    (path("signer.p12"), path("ca.pem"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    (dir, path)
}

#[test]
fn build_then_validate_and_inspect_a_document() {
    let (_keep, dir) = scratch();
    let header = dir.join("header.json");
    std::fs::write(&header, HEADER).unwrap();
    let pdf = dir.join("cong-van.pdf");
    std::fs::write(&pdf, b"%PDF-1.4 not really a pdf\n").unwrap();
    let data = dir.join("so-lieu.dat");
    std::fs::write(&data, vec![7u8; 100_000]).unwrap();
    let (p12, ca) = test_ca(&dir);
    let out = dir.join("out.edxml");
    let build = |extra: &[&str], out: &Path| {
        let mut args = vec![
            "build",
            "--header",
            header.to_str().unwrap(),
            "--attach",
            pdf.to_str().unwrap(),
        ];
        let csv = format!("{}:text/csv", data.display());
        args.extend(["--attach", &csv, "--out", out.to_str().unwrap()]);
        args.extend(extra);
        tinhso(&args)
    };
    let built = build(&["--p12", &p12, "--password", "tinhso-demo"], &out);
    assert!(built.status.success(), "{}", stderr(&built));
    assert!(!dir.join("out.edxml.partial").exists());
    assert!(!dir.join("out.edxml.unsigned").exists());

    // Valid, signature included; the test CA is no anchor yet, so its signer is untrusted:
    // a warning, or a problem when trust is required.
    let file = out.to_str().unwrap();
    let validated = tinhso(&["validate", file]);
    assert_eq!(validated.status.code(), Some(0), "{}", stdout(&validated));
    assert_eq!(stdout(&validated), "");
    assert!(
        stderr(&validated).contains("signature valid: "),
        "{}",
        stderr(&validated)
    );
    assert!(stderr(&validated).contains("warning: edxml.signature.chain.untrusted"));
    let required = tinhso(&["validate", file, "--require-trusted"]);
    assert_eq!(required.status.code(), Some(1));
    assert!(stdout(&required).starts_with("edxml.signature.chain.untrusted "));
    let trusted = tinhso(&["validate", file, "--require-trusted", "--anchor", &ca]);
    assert_eq!(trusted.status.code(), Some(0), "{}", stdout(&trusted));
    assert!(
        !stderr(&trusted).contains("warning"),
        "{}",
        stderr(&trusted)
    );

    // Altered after signing: the reason names the signature.
    let altered = dir.join("altered.edxml");
    let text = std::fs::read_to_string(&out).unwrap();
    std::fs::write(&altered, text.replace("thử nghiệm", "thu nghiem")).unwrap();
    let checked = tinhso(&["validate", altered.to_str().unwrap(), "--anchor", &ca]);
    assert_eq!(checked.status.code(), Some(1));
    assert!(
        stdout(&checked).starts_with("edxml.signature.digest_mismatch "),
        "{}",
        stdout(&checked)
    );

    // Unsigned packages are written only on request, and do not validate.
    let unsigned = dir.join("unsigned.edxml");
    let refused = build(&[], &unsigned);
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("edxml.build.no_key"));
    assert!(build(&["--unsigned"], &unsigned).status.success());
    let checked = tinhso(&["validate", unsigned.to_str().unwrap()]);
    assert_eq!(checked.status.code(), Some(1));
    assert!(stdout(&checked).starts_with("edxml.signature.missing "));

    let inspected = tinhso(&["inspect", out.to_str().unwrap()]);
    assert!(inspected.status.success());
    let json: serde_json::Value = serde_json::from_str(&stdout(&inspected)).unwrap();
    assert_eq!(json["Kind"], "Document");
    assert_eq!(
        json["Package"]["MessageHeader"]["Subject"],
        "V/v thử nghiệm liên thông văn bản"
    );
    let attachments = json["Attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 2);
    assert_eq!(attachments[0]["AttachmentName"], "cong-van.pdf");
    assert_eq!(attachments[0]["ContentType"], "application/pdf");
    assert_eq!(attachments[0]["Size"], 26);
    assert_eq!(attachments[1]["ContentType"], "text/csv");
    assert_eq!(attachments[1]["Size"], 100_000);
}

#[test]
fn build_refuses_an_invalid_header_and_writes_nothing() {
    let (_keep, dir) = scratch();
    let header = dir.join("header.json");
    std::fs::write(
        &header,
        HEADER
            .replace("\"V/v thử nghiệm liên thông văn bản\"", "\"\"")
            .replace("\"Priority\": \"0\"", "\"Priority\": \"9\""),
    )
    .unwrap();
    let out = dir.join("out.edxml");
    let built = tinhso(&[
        "build",
        "--header",
        header.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--unsigned",
    ]);
    assert_eq!(built.status.code(), Some(1));
    let lines: Vec<String> = stdout(&built).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("N.MessageHeader.Subject "));
    assert!(lines[1].starts_with("M.MessageHeader.OtherInfo.Priority "));
    assert!(!out.exists());
}

#[test]
fn validate_lists_every_problem_one_per_line() {
    let checked = tinhso(&["validate", &fixture("invalid_fields.edxml")]);
    assert_eq!(checked.status.code(), Some(1));
    let text = stdout(&checked);
    let codes: Vec<&str> = text.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(
        codes,
        vec![
            "N.MessageHeader.To.OrganId",
            "R.MessageHeader.Code.CodeNumber",
            "M.MessageHeader.PromulgationInfo.PromulgationDate",
            "N.MessageHeader.Subject",
            "M.MessageHeader.OtherInfo.Priority",
        ],
        "{text}"
    );
    assert!(
        text.lines()
            .all(|l| l.split_once(' ').is_some_and(|(_, m)| !m.is_empty()))
    );
}

#[test]
fn validate_rejects_a_wrong_namespace_and_a_missing_file() {
    let checked = tinhso(&["validate", &fixture("bad_namespace.edxml")]);
    assert_eq!(checked.status.code(), Some(1));
    assert!(stdout(&checked).starts_with("M.edXML.namespace "));
    let malformed = tinhso(&["validate", &fixture("malformed.edxml")]);
    assert_eq!(malformed.status.code(), Some(1));
    let text = stdout(&malformed);
    assert!(text.starts_with("edxml.xml.malformed "), "{text}");
    assert!(text.contains("line 51, column 99"), "{text}");
    let missing = tinhso(&["validate", "/nonexistent/package.edxml"]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn status_package_from_json() {
    let (_keep, dir) = scratch();
    let status = dir.join("status.json");
    std::fs::write(
        &status,
        r#"{
          "From": {"OrganId": "000.00.32.H53", "OrganName": "Sở Nội vụ"},
          "ResponseFor": {"OrganId": "000.00.31.H53", "Code": "130/STTTT-VP",
                          "PromulgationDate": "2026/12/01",
                          "DocumentId": "000.00.31.H53,2026/12/01,130/STTTT-VP"},
          "StatusCode": "03",
          "Description": "Đã tiếp nhận",
          "Timestamp": "2026/12/01 10:30:00"
        }"#,
    )
    .unwrap();
    let (p12, _) = test_ca(&dir);
    let out = dir.join("status.edxml");
    let built = tinhso(&[
        "build",
        "--status",
        status.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--p12",
        &p12,
        "--password",
        "tinhso-demo",
    ]);
    assert!(built.status.success(), "{}", stdout(&built));
    assert_eq!(
        tinhso(&["validate", out.to_str().unwrap()]).status.code(),
        Some(0)
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&tinhso(&["inspect", out.to_str().unwrap()]))).unwrap();
    assert_eq!(json["Kind"], "Status");
    assert_eq!(json["Package"]["StatusCode"], "03");
}
