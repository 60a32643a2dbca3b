//! Dossier documents, the pure rules: which file types are accepted (by their content), how a
//! client's file name is made safe, and whether the documents offered with a filing account
//! for every required document of the procedure.
//!
//! Invariant: [`plan_documents`] either returns one planned attachment per offered item, each
//! pointing at an existing requirement and covering every requirement at least once, or an
//! error with a stable rule — a filing is never stored with a required document missing.

use serde::{Deserialize, Serialize};
use tinhso_core::DomainError;

use super::catalog::{Channel, RequiredDocument};

/// Most documents one filing (or one supplement) may carry.
pub const MAX_DOCUMENTS: usize = 50;

/// Longest file name kept (characters), extension included.
pub const MAX_FILENAME_CHARS: usize = 120;

/// The file types an upload may have, detected from the first bytes of the content.
///
/// Only PDF, JPEG and PNG: they are what scanners, phones and the national public-service
/// portal produce for paper documents and filled-in forms, and none of them runs code when a
/// browser or an officer's viewer opens it. HTML, SVG, office documents (macros) and archives
/// (which hide their contents from a quick look) are refused, whatever name or type the client
/// claims.
pub fn detect_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else {
        None
    }
}

/// The usual extension of a detected type.
pub fn extension_of(content_type: &str) -> &'static str {
    match content_type {
        "application/pdf" => "pdf",
        "image/jpeg" => "jpg",
        "image/png" => "png",
        _ => "bin",
    }
}

/// A file name safe to store and to send back in `Content-Disposition`: the last path
/// segment only, no control or quoting characters, at most [`MAX_FILENAME_CHARS`], and ending
/// with the extension of the detected type (so the file opens with the right program).
pub fn sanitize_filename(raw: &str, content_type: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .map(|c| {
            if c.is_control() || "\"<>:|?*;%".contains(c) {
                ' '
            } else {
                c
            }
        })
        .collect();
    let mut name = cleaned
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches('.')
        .trim()
        .to_owned();
    let ext = extension_of(content_type);
    let has_ext = name.rsplit_once('.').is_some_and(|(_, e)| {
        e.eq_ignore_ascii_case(ext) || (ext == "jpg" && e.eq_ignore_ascii_case("jpeg"))
    });
    if name.is_empty() {
        name = "tai-lieu".into();
    }
    let suffix = if has_ext {
        String::new()
    } else {
        format!(".{ext}")
    };
    let room = MAX_FILENAME_CHARS.saturating_sub(suffix.chars().count());
    if name.chars().count() > room {
        // Keep the end of a long name that already has its extension.
        name = if has_ext {
            let chars: Vec<char> = name.chars().collect();
            let ext_len = name
                .rsplit_once('.')
                .map_or(0, |(_, e)| e.chars().count() + 1);
            let tail: String = chars[chars.len() - ext_len..].iter().collect();
            let head: String = chars[..room - tail.chars().count()].iter().collect();
            format!("{head}{tail}")
        } else {
            name.chars().take(room).collect()
        };
    }
    format!("{name}{suffix}")
}

/// Which required document an item is for: its position in the procedure's list (from 0) or
/// its exact name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequirementRef {
    Index(usize),
    Name(String),
}

/// One document offered with a filing: exactly one of an upload, a document of the citizen's
/// store, or (counter and postal intake only) the paper the officer checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentInput {
    pub requirement: RequirementRef,
    #[serde(default)]
    pub upload_id: Option<i64>,
    #[serde(default)]
    pub store_document_id: Option<i64>,
    #[serde(default)]
    pub paper: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Upload(i64),
    Store(i64),
    Paper,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub requirement_index: usize,
    pub source: Source,
}

fn rule(detail: String, rule: &'static str) -> DomainError {
    DomainError::invalid(detail).with_rule(rule)
}

/// Checks the documents of a filing against the procedure's list. Online: each requirement
/// needs an upload, or a store document where the requirement is `reusable`. Counter and
/// postal: each needs a scan (upload) or the paper checked by the officer.
pub fn plan_documents(
    required: &[RequiredDocument],
    items: &[DocumentInput],
    channel: Channel,
) -> Result<Vec<Planned>, DomainError> {
    if items.len() > MAX_DOCUMENTS {
        return Err(rule(
            format!("at most {MAX_DOCUMENTS} documents per filing"),
            "dossier.documents_too_many",
        ));
    }
    let mut planned = Vec::with_capacity(items.len());
    let mut seen = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let index = match &item.requirement {
            RequirementRef::Index(i) if *i < required.len() => *i,
            RequirementRef::Name(name) => required
                .iter()
                .position(|r| r.name == name.trim())
                .ok_or_else(|| {
                    rule(
                        format!("document {n}: the procedure requires no document `{name}`"),
                        "dossier.document_requirement",
                    )
                })?,
            RequirementRef::Index(i) => {
                return Err(rule(
                    format!(
                        "document {n}: requirement {i} does not exist (the procedure lists {})",
                        required.len()
                    ),
                    "dossier.document_requirement",
                ));
            }
        };
        let requirement = &required[index];
        let source = match (item.upload_id, item.store_document_id, item.paper) {
            (Some(id), None, false) => Source::Upload(id),
            (None, Some(id), false) => Source::Store(id),
            (None, None, true) => Source::Paper,
            _ => {
                return Err(rule(
                    format!(
                        "document {n}: give exactly one of upload_id, store_document_id or paper"
                    ),
                    "dossier.document_source",
                ));
            }
        };
        match (source, channel) {
            (Source::Paper, Channel::Online) => {
                return Err(rule(
                    format!(
                        "document {n} ({}): paper documents are checked at the counter; online filings upload them",
                        requirement.name
                    ),
                    "dossier.document_paper_online",
                ));
            }
            (Source::Store(_), Channel::Online) if !requirement.reusable => {
                return Err(rule(
                    format!(
                        "document {n} ({}): this document cannot be taken from the document store; upload it",
                        requirement.name
                    ),
                    "dossier.document_not_reusable",
                ));
            }
            (Source::Store(_), Channel::Counter | Channel::Postal) => {
                return Err(rule(
                    format!(
                        "document {n} ({}): the citizen's document store is used when filing online",
                        requirement.name
                    ),
                    "dossier.document_source",
                ));
            }
            _ => {}
        }
        if source != Source::Paper {
            if seen.contains(&source) {
                return Err(rule(
                    format!("document {n}: the same file is offered twice"),
                    "dossier.document_duplicate",
                ));
            }
            seen.push(source);
        }
        planned.push(Planned {
            requirement_index: index,
            source,
        });
    }
    let missing: Vec<&str> = required
        .iter()
        .enumerate()
        .filter(|(i, _)| !planned.iter().any(|p| p.requirement_index == *i))
        .map(|(_, r)| r.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(rule(
            format!("required documents missing: {}", missing.join("; ")),
            "dossier.documents_missing",
        ));
    }
    Ok(planned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::DocumentKind;

    fn doc(name: &str, reusable: bool) -> RequiredDocument {
        RequiredDocument {
            name: name.into(),
            kind: DocumentKind::Original,
            count: 1,
            template: None,
            reusable,
        }
    }

    fn item(requirement: RequirementRef, upload: Option<i64>, store: Option<i64>) -> DocumentInput {
        DocumentInput {
            requirement,
            upload_id: upload,
            store_document_id: store,
            paper: false,
        }
    }

    #[test]
    fn types_by_content() {
        assert_eq!(detect_type(b"%PDF-1.7\n..."), Some("application/pdf"));
        assert_eq!(detect_type(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(detect_type(b"\x89PNG\r\n\x1a\n\0\0"), Some("image/png"));
        assert_eq!(detect_type(b"<html><script>alert(1)</script>"), None);
        assert_eq!(detect_type(b"PK\x03\x04"), None);
        assert_eq!(detect_type(b""), None);
    }

    #[test]
    fn filenames() {
        assert_eq!(
            sanitize_filename("C:\\Users\\an\\Tờ khai.pdf", "application/pdf"),
            "Tờ khai.pdf"
        );
        assert_eq!(
            sanitize_filename("../../etc/passwd", "application/pdf"),
            "passwd.pdf"
        );
        assert_eq!(
            sanitize_filename("a\"b\r\nc<d>.png", "image/png"),
            "a b c d .png"
        );
        assert_eq!(sanitize_filename("...", "image/jpeg"), "tai-lieu.jpg");
        assert_eq!(sanitize_filename("photo.JPEG", "image/jpeg"), "photo.JPEG");
        let long = format!("{}.pdf", "đ".repeat(500));
        let safe = sanitize_filename(&long, "application/pdf");
        assert_eq!(safe.chars().count(), MAX_FILENAME_CHARS);
        assert!(safe.ends_with(".pdf"));
        assert_eq!(
            sanitize_filename(&"x".repeat(300), "image/png")
                .chars()
                .count(),
            MAX_FILENAME_CHARS
        );
    }

    #[test]
    fn every_requirement_is_accounted_for() {
        let required = [doc("Tờ khai", false), doc("Giấy tờ đất", true)];
        let ok = plan_documents(
            &required,
            &[
                item(RequirementRef::Index(0), Some(1), None),
                item(RequirementRef::Name("Giấy tờ đất".into()), None, Some(9)),
            ],
            Channel::Online,
        )
        .unwrap();
        assert_eq!(ok[1].source, Source::Store(9));
        let cases: Vec<(Vec<DocumentInput>, Channel, &str)> = vec![
            (
                vec![item(RequirementRef::Index(0), Some(1), None)],
                Channel::Online,
                "dossier.documents_missing",
            ),
            (
                vec![
                    item(RequirementRef::Index(0), None, Some(3)),
                    item(RequirementRef::Index(1), Some(1), None),
                ],
                Channel::Online,
                "dossier.document_not_reusable",
            ),
            (
                vec![DocumentInput {
                    paper: true,
                    ..item(RequirementRef::Index(0), None, None)
                }],
                Channel::Online,
                "dossier.document_paper_online",
            ),
            (
                vec![item(RequirementRef::Index(5), Some(1), None)],
                Channel::Counter,
                "dossier.document_requirement",
            ),
            (
                vec![item(RequirementRef::Index(0), Some(1), Some(2))],
                Channel::Counter,
                "dossier.document_source",
            ),
            (
                vec![
                    item(RequirementRef::Index(0), Some(1), None),
                    item(RequirementRef::Index(1), Some(1), None),
                ],
                Channel::Counter,
                "dossier.document_duplicate",
            ),
        ];
        for (items, channel, expected) in cases {
            let err = plan_documents(&required, &items, channel).unwrap_err();
            assert_eq!(err.rule, Some(expected), "{err}");
        }
        let err = plan_documents(&required, &[], Channel::Counter).unwrap_err();
        assert!(err.detail.contains("Tờ khai") && err.detail.contains("Giấy tờ đất"));
        let paper = DocumentInput {
            paper: true,
            ..item(RequirementRef::Index(0), None, None)
        };
        let counter = plan_documents(
            &required,
            &[
                paper.clone(),
                DocumentInput {
                    requirement: RequirementRef::Index(1),
                    ..paper
                },
            ],
            Channel::Counter,
        )
        .unwrap();
        assert_eq!(counter.len(), 2);
    }
}
