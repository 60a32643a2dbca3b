//! A work file exported for the archive (nộp lưu): one tar holding `metadata.xml` (the file's
//! and each document's metadata of Phụ lục VI, schema below), `metadata.xsd` (that schema)
//! and every document's PDF under `documents/NN-in-ID/` or `documents/NN-out-ID/`.
//!
//! Why tar and not zip: each member's header carries its size, which the database knows
//! before the bytes are read, so the archive is written front to back with no central
//! directory, no CRC pass and no seeking; the installation's backups are tar already, and
//! every archive tool reads it. The export is streamed: [`Export::next_chunk`] yields the
//! next header, file or trailer, reading one blob at a time, so memory holds one file, never
//! the archive.
//!
//! PDF/A, honestly: PDFs are put in the archive unchanged. A signed PDF cannot be rewritten
//! without breaking its signature, and a PDF received from others may use anything PDF
//! allows. What the export guarantees is the check: per PDF, `metadata.xml` says whether it
//! declares PDF/A conformance (XMP `pdfaid:part`/`conformance`), whether it has an output
//! intent, and whether every font it uses is embedded. PDFs this installation generates
//! (`tinhso-pdf`) embed every font (Liberation Serif subsets); adding the identification
//! XMP and an sRGB output intent to them belongs in `tinhso-pdf`'s writer, before signing.
//!
//! Schema (`urn:tinhso:archive:1`): `ArchivePackage` (attribute `exported` = ISO 8601 UTC)
//! holds one `File` (FileCode, OrganId, FileCatalog, FileNotation, Title, Maintenance,
//! Rights, Creator, Language, StartDate, EndDate, DocTotal, PageTotal, Description) and
//! `Documents` with one `Document` per item (attributes `direction` in|out and `id`):
//! Identifier, OrganId, OrganName, CodeNumber, CodeNotation, IssuedDate, TypeName, Subject,
//! SignerPosition, SignerName, Language, PageAmount, Description, Confidentiality, Urgency,
//! and `Files` of `Item` (attributes `path`, `sha256`, `size`, `pdfa`, `outputIntent`,
//! `fontsEmbedded`, `signature`).

use lopdf::{Document as Pdf, Object};
use tinhso_core::xml::escape;
use tinhso_platform::{Ctx, Error, Platform, Result};

use crate::domain::metadata::Metadata;
use crate::files::FileView;
use crate::signatures::FileSignatures;
use crate::{incoming, outgoing, work_files};

const BLOCK: usize = 512;

/// The XML schema of `metadata.xml`, shipped inside every export.
pub const SCHEMA: &str = include_str!("archive.xsd");

enum Source {
    Bytes(Vec<u8>),
    Blob { key: String, size: u64 },
}

struct Member {
    path: String,
    source: Source,
}

/// A prepared export: the members to write, in order.
pub struct Export {
    /// A file name for the download (`HS-000.00.31.H32.2026.01.tar`).
    pub filename: String,
    members: std::collections::VecDeque<Member>,
    /// Data of the member whose header was just written.
    pending: Option<Member>,
    finished: bool,
}

struct Doc {
    direction: &'static str,
    id: i64,
    identifier: Option<String>,
    metadata: Metadata,
    type_name: String,
    files: Vec<FileView>,
    signatures: Vec<FileSignatures>,
}

fn element(out: &mut String, indent: &str, name: &str, value: &str) {
    out.push_str(&format!("{indent}<{name}>{}</{name}>\n", escape(value)));
}

/// What the PDF/A check found for one PDF.
struct PdfaCheck {
    declared: String,
    output_intent: bool,
    fonts_embedded: bool,
}

/// Declared PDF/A part and conformance, output intent, fonts embedded (see the module doc).
fn check_pdfa(bytes: &[u8]) -> Option<PdfaCheck> {
    let doc = Pdf::load_mem(bytes).ok()?;
    let declared = xmp_pdfa(bytes).unwrap_or_default();
    let catalog = doc.catalog().ok()?;
    let output_intent = catalog.get(b"OutputIntents").is_ok();
    let mut fonts_embedded = true;
    for (_, object) in doc.objects.iter() {
        let Ok(dict) = object.as_dict() else { continue };
        let is_descriptor = dict
            .get(b"Type")
            .ok()
            .and_then(|t| t.as_name().ok())
            .is_some_and(|n| n == b"FontDescriptor");
        if is_descriptor
            && !(dict.has(b"FontFile") || dict.has(b"FontFile2") || dict.has(b"FontFile3"))
        {
            fonts_embedded = false;
        }
        let is_simple_font = dict
            .get(b"Type")
            .ok()
            .and_then(|t| t.as_name().ok())
            .is_some_and(|n| n == b"Font")
            && dict
                .get(b"Subtype")
                .ok()
                .and_then(|t| t.as_name().ok())
                .is_some_and(|n| matches!(n, b"Type1" | b"TrueType" | b"MMType1"));
        // A simple font without a descriptor is one of the standard 14, never embedded.
        if is_simple_font && !matches!(dict.get(b"FontDescriptor"), Ok(Object::Reference(_))) {
            fonts_embedded = false;
        }
    }
    Some(PdfaCheck {
        declared,
        output_intent,
        fonts_embedded,
    })
}

/// `2b` from `pdfaid:part="2"` and `pdfaid:conformance="B"` in the XMP packet (attribute or
/// element form), when the file declares it.
fn xmp_pdfa(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let value = |name: &str| -> Option<String> {
        let at = text.find(name)?;
        let rest = &text[at + name.len()..];
        let rest = rest.trim_start_matches(['=', '"', '\'', '>', ' ']);
        let end = rest.find(|c: char| !c.is_ascii_alphanumeric())?;
        Some(rest[..end].to_owned()).filter(|v| !v.is_empty())
    };
    let part = value("pdfaid:part")?;
    let conformance = value("pdfaid:conformance").unwrap_or_default();
    Some(format!("{part}{}", conformance.to_lowercase()))
}

/// Prepares the export of a work file the caller sees: the items they may see (a
/// confidential document hidden from them is left out, as in the file's own view).
pub async fn export(p: &Platform, ctx: &Ctx, work_file_id: i64) -> Result<Export> {
    let file = work_files::get(p, ctx, work_file_id).await?;
    let mut docs = Vec::new();
    for item in &file.items {
        if item.direction == "in" {
            let d = incoming::get(p, ctx, item.document_id).await?;
            docs.push(Doc {
                direction: "in",
                id: d.id,
                identifier: d.document_id,
                type_name: d.type_name,
                files: d.files,
                signatures: d.signatures,
                metadata: d.metadata,
            });
        } else {
            let d = outgoing::get(p, ctx, item.document_id).await?;
            // The signed PDF is the document; before signing, the current version.
            let file = match d.signed_file {
                Some(f) => Some(f),
                None => d
                    .versions
                    .iter()
                    .find(|v| v.version == d.current_version)
                    .and_then(|v| v.file.clone()),
            };
            docs.push(Doc {
                direction: "out",
                id: d.id,
                identifier: d.document_id,
                type_name: d.type_name,
                files: file.into_iter().collect(),
                signatures: d.signatures,
                metadata: d.metadata,
            });
        }
    }
    let mut members = std::collections::VecDeque::new();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let exported = chrono::DateTime::from_timestamp_millis(ctx.now_ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    xml.push_str(&format!(
        "<ArchivePackage xmlns=\"urn:tinhso:archive:1\" exported=\"{exported}\">\n  <File>\n"
    ));
    let m = &file.metadata;
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    for (name, value) in [
        ("FileCode", file.file_code.clone()),
        ("OrganId", file.agency_code.clone()),
        ("FileCatalog", file.year.to_string()),
        ("FileNotation", m.file_notation.clone()),
        ("Title", m.title.clone()),
        ("Maintenance", m.maintenance.clone()),
        ("Rights", m.rights.clone()),
        ("Creator", m.creator.clone()),
        ("Language", m.language.clone()),
        ("StartDate", date(m.start_date)),
        ("EndDate", date(m.end_date)),
        ("DocTotal", docs.len().to_string()),
        ("PageTotal", m.page_total.to_string()),
        ("Description", m.description.clone()),
    ] {
        element(&mut xml, "    ", name, &value);
    }
    xml.push_str("  </File>\n  <Documents>\n");
    for (n, d) in docs.iter().enumerate() {
        let dir = format!("documents/{:02}-{}-{}", n + 1, d.direction, d.id);
        xml.push_str(&format!(
            "    <Document direction=\"{}\" id=\"{}\">\n",
            d.direction, d.id
        ));
        let md = &d.metadata;
        for (name, value) in [
            ("Identifier", d.identifier.clone().unwrap_or_default()),
            ("OrganId", md.organ_id.clone()),
            ("OrganName", md.organ_name.clone()),
            ("CodeNumber", md.code_number.clone()),
            ("CodeNotation", md.code_notation.clone()),
            ("IssuedDate", date(md.issued_date)),
            ("TypeName", d.type_name.clone()),
            ("Subject", md.subject.clone()),
            ("SignerPosition", md.signer_position.clone()),
            ("SignerName", md.signer_name.clone()),
            ("Language", md.language.clone()),
            ("PageAmount", md.page_amount.to_string()),
            ("Description", md.description.clone()),
            ("Confidentiality", md.confidentiality.level().to_string()),
            ("Urgency", md.urgency.priority().to_string()),
        ] {
            element(&mut xml, "      ", name, &value);
        }
        xml.push_str("      <Files>\n");
        let mut seen = std::collections::BTreeSet::new();
        for f in &d.files {
            let mut path = format!("{dir}/{}", f.filename);
            if !seen.insert(path.clone()) {
                path = format!("{dir}/{}-{}", f.id, f.filename);
            }
            let size = u64::try_from(f.size_bytes).map_err(|e| Error::Other(e.to_string()))?;
            let (pdfa, intent, fonts) = if f.content_type == "application/pdf" {
                let bytes = p
                    .blobs
                    .get(&f.sha256)
                    .await?
                    .ok_or_else(|| Error::Other(format!("blob of file {} is missing", f.id)))?;
                match check_pdfa(&bytes) {
                    Some(c) => (
                        if c.declared.is_empty() {
                            "none".to_owned()
                        } else {
                            c.declared
                        },
                        c.output_intent.to_string(),
                        c.fonts_embedded.to_string(),
                    ),
                    None => ("unreadable".into(), "false".into(), "false".into()),
                }
            } else {
                ("not_pdf".into(), "false".into(), "false".into())
            };
            let signature = d
                .signatures
                .iter()
                .find(|s| s.file_id == f.id)
                .map(|s| s.status.clone())
                .unwrap_or_else(|| "not_checked".into());
            xml.push_str(&format!(
                "        <Item path=\"{}\" sha256=\"{}\" size=\"{size}\" pdfa=\"{}\" outputIntent=\"{intent}\" fontsEmbedded=\"{fonts}\" signature=\"{}\"/>\n",
                escape(&path),
                escape(&f.sha256),
                escape(&pdfa),
                escape(&signature)
            ));
            members.push_back(Member {
                path,
                source: Source::Blob {
                    key: f.sha256.clone(),
                    size,
                },
            });
        }
        xml.push_str("      </Files>\n    </Document>\n");
    }
    xml.push_str("  </Documents>\n</ArchivePackage>\n");
    members.push_front(Member {
        path: "metadata.xsd".into(),
        source: Source::Bytes(SCHEMA.as_bytes().to_vec()),
    });
    members.push_front(Member {
        path: "metadata.xml".into(),
        source: Source::Bytes(xml.into_bytes()),
    });
    Ok(Export {
        filename: format!("HS-{}.tar", file.file_code),
        members,
        pending: None,
        finished: false,
    })
}

fn header(path: &str, size: u64, mtime: u64) -> Result<Vec<u8>> {
    let mut h = tar::Header::new_gnu();
    // GNU headers take long (Vietnamese, multi-byte) names through a LongName entry.
    let mut out = Vec::with_capacity(BLOCK * 3);
    if path.len() > 99 {
        let mut long = tar::Header::new_gnu();
        let name = path.as_bytes();
        long.as_mut_bytes()[..13].copy_from_slice(b"././@LongLink");
        long.set_mode(0o644);
        long.set_entry_type(tar::EntryType::GNULongName);
        long.set_size(u64::try_from(name.len() + 1).unwrap_or_default());
        long.set_cksum();
        out.extend_from_slice(long.as_bytes());
        out.extend_from_slice(name);
        out.push(0);
        pad(&mut out);
        h.as_mut_bytes()[..99].copy_from_slice(&name[..99]);
    } else {
        h.set_path(path)
            .map_err(|e| Error::Other(format!("tar path {path}: {e}")))?;
    }
    h.set_mode(0o644);
    h.set_size(size);
    h.set_mtime(mtime);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
    Ok(out)
}

fn pad(out: &mut Vec<u8>) {
    let rest = out.len() % BLOCK;
    if rest != 0 {
        out.resize(out.len() + BLOCK - rest, 0);
    }
}

impl Export {
    /// The next piece of the tar (a header, a member's padded data, or the trailer); `None`
    /// at the end.
    pub async fn next_chunk(&mut self, p: &Platform, mtime_ms: i64) -> Result<Option<Vec<u8>>> {
        if let Some(member) = self.pending.take() {
            let mut data = match member.source {
                Source::Bytes(b) => b,
                Source::Blob { key, size } => {
                    let bytes = p
                        .blobs
                        .get(&key)
                        .await?
                        .ok_or_else(|| Error::Other(format!("blob {key} is missing")))?;
                    if u64::try_from(bytes.len()).ok() != Some(size) {
                        return Err(Error::Other(format!(
                            "blob {key} has {} bytes, not the {size} recorded",
                            bytes.len()
                        )));
                    }
                    bytes
                }
            };
            pad(&mut data);
            return Ok(Some(data));
        }
        match self.members.pop_front() {
            Some(member) => {
                let size = match &member.source {
                    Source::Bytes(b) => u64::try_from(b.len()).unwrap_or_default(),
                    Source::Blob { size, .. } => *size,
                };
                let mtime = u64::try_from(mtime_ms / 1000).unwrap_or_default();
                let h = header(&member.path, size, mtime)?;
                self.pending = Some(member);
                Ok(Some(h))
            }
            None if !self.finished => {
                self.finished = true;
                Ok(Some(vec![0; BLOCK * 2]))
            }
            None => Ok(None),
        }
    }
}
