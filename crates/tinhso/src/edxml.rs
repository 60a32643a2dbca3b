//! `tinhso edxml …`: validate, inspect and build edXML packages from the command line.
//!
//! Invariants: `validate` runs the structural checks first (parse with attachments decoded and
//! dropped, then every field rule) and only a structurally valid file goes to the signature
//! step, [`signature_step`], which the XML-DSig module plugs into; until then it reports that
//! the signature was not checked instead of pretending it was. Exit codes: 0 valid / done,
//! 1 the package is invalid or could not be parsed, 2 a file could not be opened or written.
//! Problems go to stdout one per line as `CODE message`; notes and I/O errors to stderr.

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

use crate::cli::EdxmlCommand;

const INVALID: u8 = 1;
const IO_FAILURE: u8 = 2;

pub fn run(command: EdxmlCommand) -> ExitCode {
    match command {
        EdxmlCommand::Validate { file } => validate(&file),
        EdxmlCommand::Inspect { file } => inspect(&file),
        EdxmlCommand::Build {
            header,
            status,
            attach,
            out,
        } => match (header, status) {
            (Some(header), None) => build_document(&header, &attach, &out),
            (None, Some(status)) => build_status(&status, &out),
            // clap enforces exactly one of the two.
            _ => ExitCode::from(IO_FAILURE),
        },
    }
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

fn validate(path: &Path) -> ExitCode {
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
        Ok(_) => match signature_step(path) {
            SignatureOutcome::Valid { signer } => {
                eprintln!("signature valid: {signer}");
                ExitCode::SUCCESS
            }
            SignatureOutcome::Invalid(issue) => {
                print_issues(&[issue]);
                ExitCode::from(INVALID)
            }
            SignatureOutcome::NotChecked => {
                eprintln!(
                    "edxml.signature.not_checked: structure valid; the signature was not verified (XML-DSig not wired in this build)"
                );
                ExitCode::SUCCESS
            }
        },
    }
}

/// What the signature step found.
#[expect(
    dead_code,
    reason = "Valid and Invalid are built once the XML-DSig verifier is wired at merge"
)]
pub enum SignatureOutcome {
    /// Verified; `signer` names the certificate's subject.
    Valid { signer: String },
    /// Missing or not verifying; the issue carries the `edxml.signature.*` code.
    Invalid(Issue),
    /// No verifier in this build.
    NotChecked,
}

/// The signature step of `validate`, run on a structurally valid file. The lead wires
/// `tinhso_edxml::dsig::verify_enveloped` here at merge (open the file, map
/// `VerifiedSignature` to `Valid` and `DsigError` to `Invalid`).
fn signature_step(_path: &Path) -> SignatureOutcome {
    SignatureOutcome::NotChecked
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
fn write_atomically(
    out: &Path,
    write: impl FnOnce(BufWriter<File>) -> Result<u64, String>,
) -> ExitCode {
    let mut partial = out.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let result = File::create(&partial)
        .map_err(|e| e.to_string())
        .and_then(|f| write(BufWriter::new(f)))
        .and_then(|n| {
            std::fs::rename(&partial, out)
                .map(|_| n)
                .map_err(|e| e.to_string())
        });
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

fn build_document(header: &Path, attach: &[String], out: &Path) -> ExitCode {
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
    write_atomically(out, |w| {
        write_document(w, &package, &mut inputs)
            .map(|s| s.bytes_written)
            .map_err(|e| e.to_string())
    })
}

fn build_status(status: &Path, out: &Path) -> ExitCode {
    let package: StatusPackage = match read_json(status) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let issues = validate_status(&package);
    if !issues.is_empty() {
        print_issues(&issues);
        return ExitCode::from(INVALID);
    }
    write_atomically(out, |w| {
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
