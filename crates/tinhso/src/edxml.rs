//! `tinhso edxml validate | inspect | build`: edXML packages on files, for integrators and
//! administrators.
//!
//! `validate` runs the structural checks first (parse, every field rule, manifest against
//! attachments), then the signature: the enveloped XML-DSig must verify with the certificate
//! the package carries, and that certificate's chain to the trust anchors is a warning, or a
//! problem with `--require-trusted`. `build` writes the package and signs it with the
//! configured PKCS#12 key unless told `--unsigned`. Exit codes: 0 valid / done, 1 the package
//! is invalid or could not be parsed, 2 a file could not be opened or written. Problems go
//! to stdout one per line as `CODE message`; notes and I/O errors to stderr.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tinhso_edxml::model::AttachmentMeta;
use tinhso_edxml::read::{DiscardSink, ReadError, line_and_column, read_package};
use tinhso_edxml::validate::{
    check_structure, validate_attachments, validate_document, validate_status,
};
use tinhso_edxml::write::{AttachmentInput, write_document, write_status};
use tinhso_edxml::{DocumentPackage, Issue, StatusPackage};

use tinhso_edxml::dsig::{sign_enveloped, verify_enveloped};
use tinhso_platform::config::SigningConfig;
use tinhso_signing::pki::{Pkcs12Signer, certificates_from_pem, verify_chain};

use crate::cli::EdxmlCommand;

const INVALID: u8 = 1;
const IO_FAILURE: u8 = 2;

pub fn run(command: EdxmlCommand, signing: &SigningConfig, now_unix: i64) -> ExitCode {
    match command {
        EdxmlCommand::Validate {
            file,
            anchors,
            require_trusted,
        } => {
            let paths: Vec<PathBuf> = signing
                .trust_anchors
                .iter()
                .chain(&anchors)
                .cloned()
                .collect();
            match read_anchors(&paths) {
                Ok(anchors) => validate(&file, &anchors, require_trusted, now_unix),
                Err(code) => code,
            }
        }
        EdxmlCommand::Inspect { file } => inspect(&file),
        EdxmlCommand::Build {
            header,
            status,
            attach,
            out,
            p12,
            password,
            unsigned,
        } => {
            let signer = if unsigned {
                None
            } else {
                match load_signer(p12, password, signing) {
                    Ok(signer) => Some(signer),
                    Err(code) => return code,
                }
            };
            match (header, status) {
                (Some(header), None) => build_document(&header, &attach, &out, signer.as_ref()),
                (None, Some(status)) => build_status(&status, &out, signer.as_ref()),
                // clap enforces exactly one of the two.
                _ => ExitCode::from(IO_FAILURE),
            }
        }
    }
}

/// The CA certificates (DER) of every PEM file named.
fn read_anchors(paths: &[PathBuf]) -> Result<Vec<Vec<u8>>, ExitCode> {
    let mut anchors = Vec::new();
    for path in paths {
        let pem = std::fs::read(path).map_err(|e| {
            eprintln!("edxml.io: {}: {e}", path.display());
            ExitCode::from(IO_FAILURE)
        })?;
        anchors.extend(certificates_from_pem(&pem).map_err(|e| {
            eprintln!("{}: {}: {e}", e.code(), path.display());
            ExitCode::from(IO_FAILURE)
        })?);
    }
    Ok(anchors)
}

/// The key `build` signs with: `--p12`, else `signing.pkcs12_path`.
fn load_signer(
    p12: Option<PathBuf>,
    password: Option<String>,
    signing: &SigningConfig,
) -> Result<Pkcs12Signer, ExitCode> {
    let path = p12.or_else(|| {
        (!signing.pkcs12_path.as_os_str().is_empty()).then(|| signing.pkcs12_path.clone())
    });
    let Some(path) = path else {
        eprintln!(
            "edxml.build.no_key: give --p12 (or set signing.pkcs12_path) to sign the package, or --unsigned"
        );
        return Err(ExitCode::from(IO_FAILURE));
    };
    let data = std::fs::read(&path).map_err(|e| {
        eprintln!("edxml.io: {}: {e}", path.display());
        ExitCode::from(IO_FAILURE)
    })?;
    let password = password.unwrap_or_else(|| signing.pkcs12_password.clone());
    Pkcs12Signer::from_pkcs12(&data, &password).map_err(|e| {
        eprintln!("{}: {}: {e}", e.code(), path.display());
        ExitCode::from(IO_FAILURE)
    })
}

fn open(path: &Path) -> Result<BufReader<File>, ExitCode> {
    File::open(path).map(BufReader::new).map_err(|e| {
        eprintln!("edxml.io: {}: {e}", path.display());
        ExitCode::from(IO_FAILURE)
    })
}

/// The message of a read error with where it happened (line, column and byte).
fn describe(e: &ReadError, path: &Path) -> String {
    match File::open(path).and_then(|f| line_and_column(BufReader::new(f), e.offset)) {
        Ok((line, column)) => format!(
            "{} (line {line}, column {column}, byte {})",
            e.message, e.offset
        ),
        Err(_) => format!("{} (byte {})", e.message, e.offset),
    }
}

fn print_issues(issues: &[Issue]) {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for issue in issues {
        let _ = writeln!(out, "{issue}");
    }
}

fn validate(path: &Path, anchors: &[Vec<u8>], require_trusted: bool, now_unix: i64) -> ExitCode {
    let input = match open(path) {
        Ok(i) => i,
        Err(code) => return code,
    };
    match check_structure(input) {
        Err(e) => {
            println!("{} {}", e.code, describe(&e, path));
            ExitCode::from(INVALID)
        }
        Ok((_, issues)) if !issues.is_empty() => {
            print_issues(&issues);
            ExitCode::from(INVALID)
        }
        Ok(_) => match signature_step(path, anchors, require_trusted, now_unix) {
            Ok(outcome) => {
                eprintln!("signature valid: {}", outcome.signer);
                if let Some(warning) = outcome.untrusted {
                    eprintln!("warning: {warning}");
                }
                ExitCode::SUCCESS
            }
            Err(issue) => {
                print_issues(&[issue]);
                ExitCode::from(INVALID)
            }
        },
    }
}

/// A signature that verified: who signed, and why its certificate is not trusted, if it is
/// not (reported as a warning unless trust was required).
struct VerifiedSigner {
    signer: String,
    untrusted: Option<Issue>,
}

/// The signature step of `validate`, run on a structurally valid file: the enveloped
/// signature must verify with the certificate it carries; the chain to `anchors` is checked
/// at `now_unix`.
fn signature_step(
    path: &Path,
    anchors: &[Vec<u8>],
    require_trusted: bool,
    now_unix: i64,
) -> Result<VerifiedSigner, Issue> {
    let input = File::open(path).map(BufReader::new).map_err(|e| Issue {
        code: "edxml.io".into(),
        message: e.to_string(),
    })?;
    let verified = verify_enveloped(input).map_err(|e| Issue {
        code: e.code().into(),
        message: e.to_string(),
    })?;
    let untrusted = verify_chain(
        &verified.certificate,
        &verified.extra_certificates,
        anchors,
        now_unix,
    )
    .err()
    .map(|e| Issue {
        code: format!("edxml.signature.{}", e.code()),
        message: format!(
            "the signer's certificate ({}) is not trusted: {e}",
            verified.subject
        ),
    });
    match untrusted {
        Some(issue) if require_trusted => Err(issue),
        untrusted => Ok(VerifiedSigner {
            signer: verified.subject,
            untrusted,
        }),
    }
}

fn inspect(path: &Path) -> ExitCode {
    let input = match open(path) {
        Ok(i) => i,
        Err(code) => return code,
    };
    match read_package(input, &mut DiscardSink) {
        Err(e) => {
            eprintln!("{} {}", e.code, describe(&e, path));
            ExitCode::from(INVALID)
        }
        Ok(package) => match serde_json::to_string_pretty(&package) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("edxml.inspect.json: {e}");
                ExitCode::from(IO_FAILURE)
            }
        },
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ExitCode> {
    let input = open(path)?;
    serde_json::from_reader(input).map_err(|e| {
        eprintln!("edxml.build.json: {}: {e}", path.display());
        ExitCode::from(INVALID)
    })
}

/// `FILE` or `FILE:ContentType` (a content type always has a `/`, a path after the last `:`
/// usually does too, so the type is recognised by having no `/` beyond its one separator).
fn split_attach(spec: &str) -> (PathBuf, Option<String>) {
    if let Some((file, kind)) = spec.rsplit_once(':')
        && kind.matches('/').count() == 1
        && !kind.starts_with('/')
        && !kind.ends_with('/')
        && !file.is_empty()
    {
        return (PathBuf::from(file), Some(kind.to_owned()));
    }
    (PathBuf::from(spec), None)
}

/// Content type by file extension, for attachments given without one.
fn guess_content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "odt" => "application/vnd.oasis.opendocument.text",
        "zip" => "application/zip",
        "xml" => "application/xml",
        "txt" => "text/plain",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "tif" | "tiff" => "image/tiff",
        _ => "application/octet-stream",
    }
}

/// Writes to `OUT.partial` and renames, so a failed build leaves no half package at `out`.
/// With a signer the package is first written unsigned beside it, then copied with its
/// signature into the partial file (the signer streams both passes).
fn write_atomically(
    out: &Path,
    signer: Option<&Pkcs12Signer>,
    write: impl FnOnce(BufWriter<File>) -> Result<u64, String>,
) -> ExitCode {
    let sibling = |suffix: &str| {
        let mut name = out.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let (partial, unsigned) = (sibling(".partial"), sibling(".unsigned"));
    let result = match signer {
        None => create_and_write(&partial, write),
        Some(signer) => create_and_write(&unsigned, write).and_then(|_| {
            let output = File::create(&partial).map_err(|e| e.to_string())?;
            let mut output = BufWriter::new(output);
            sign_enveloped(&unsigned, &mut output, signer)
                .map_err(|e| format!("{}: {e}", e.code()))?;
            output.flush().map_err(|e| e.to_string())?;
            Ok(())
        }),
    }
    .and_then(|()| std::fs::rename(&partial, out).map_err(|e| e.to_string()))
    .and_then(|()| {
        std::fs::metadata(out)
            .map(|m| m.len())
            .map_err(|e| e.to_string())
    });
    let _ = std::fs::remove_file(&unsigned);
    match result {
        Ok(n) => {
            println!("{}: {n} bytes", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            eprintln!("edxml.build.write: {}: {e}", out.display());
            ExitCode::from(IO_FAILURE)
        }
    }
}

fn create_and_write(
    path: &Path,
    write: impl FnOnce(BufWriter<File>) -> Result<u64, String>,
) -> Result<(), String> {
    let file = File::create(path).map_err(|e| e.to_string())?;
    write(BufWriter::new(file)).map(|_| ())
}

fn build_document(
    header: &Path,
    attach: &[String],
    out: &Path,
    signer: Option<&Pkcs12Signer>,
) -> ExitCode {
    let package: DocumentPackage = match read_json(header) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let mut metas = Vec::new();
    let mut files = Vec::new();
    for (i, spec) in attach.iter().enumerate() {
        let (path, kind) = split_attach(spec);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        metas.push(AttachmentMeta {
            content_id: format!("cid:{}", i + 1),
            content_type: kind.unwrap_or_else(|| guess_content_type(&path).to_owned()),
            description: Some(name.clone()),
            attachment_name: name,
        });
        files.push(path);
    }
    let mut issues = validate_document(&package);
    let infos: Vec<_> = metas
        .iter()
        .map(|m| tinhso_edxml::model::AttachmentInfo {
            meta: m.clone(),
            size: 0,
        })
        .collect();
    issues.extend(validate_attachments(&metas, &infos));
    if !issues.is_empty() {
        print_issues(&issues);
        return ExitCode::from(INVALID);
    }
    let mut inputs = Vec::new();
    for (meta, path) in metas.into_iter().zip(&files) {
        match File::open(path) {
            Ok(f) => inputs.push(AttachmentInput {
                meta,
                content: Box::new(f),
            }),
            Err(e) => {
                eprintln!("edxml.io: {}: {e}", path.display());
                return ExitCode::from(IO_FAILURE);
            }
        }
    }
    write_atomically(out, signer, |w| {
        write_document(w, &package, &mut inputs)
            .map(|s| s.bytes_written)
            .map_err(|e| e.to_string())
    })
}

fn build_status(status: &Path, out: &Path, signer: Option<&Pkcs12Signer>) -> ExitCode {
    let package: StatusPackage = match read_json(status) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let issues = validate_status(&package);
    if !issues.is_empty() {
        print_issues(&issues);
        return ExitCode::from(INVALID);
    }
    write_atomically(out, signer, |w| {
        write_status(w, &package)
            .map(|s| s.bytes_written)
            .map_err(|e| e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attach_spec_splits_only_at_a_content_type() {
        assert_eq!(
            split_attach("a/b.pdf:application/pdf"),
            (PathBuf::from("a/b.pdf"), Some("application/pdf".to_owned()))
        );
        assert_eq!(split_attach("a/b.pdf"), (PathBuf::from("a/b.pdf"), None));
        assert_eq!(
            split_attach("C:/x/y.pdf"),
            (PathBuf::from("C:/x/y.pdf"), None)
        );
        assert_eq!(guess_content_type(Path::new("x.PDF")), "application/pdf");
        assert_eq!(
            guess_content_type(Path::new("x")),
            "application/octet-stream"
        );
    }
}
