//! PAdES signatures on PDFs: signing (B-B, and B-T with a timestamp) and verifying.
//!
//! Signing never rewrites the document: it appends one incremental update holding a
//! signature dictionary (`/Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached`), an
//! invisible signature field with its widget on the first page, the page and the AcroForm
//! (or catalog) with the new references, and a cross-reference section of the same kind as
//! the file's last one (table or stream) chained with `/Prev`. Earlier signatures therefore
//! stay valid. `/Contents` is a zero-filled hex placeholder sized for the CMS; `/ByteRange`
//! is written with fixed-width room and filled in before hashing, so the signed bytes are
//! the final file except the placeholder.
//!
//! Verifying reads every signature field, checks the byte range (starts at 0, its gap is
//! exactly `/Contents`, whether it reaches the end of the file), the CMS digest and
//! signature, the signer's chain against the caller's anchors, and a B-T timestamp. Every
//! problem has a stable code (`signature.digest_mismatch`, `signature.untrusted`, ...).

use lopdf::{Dictionary, Document, Object, ObjectId};

use crate::cades::{self, CadesError, DetachedSignature};
use crate::pki::{self, CertificateInfo, ChainError, Hash};
use crate::signer::Signer;
use crate::timestamp::{self, HttpTimestampAuthority, TimestampError, TimestampReport};

/// What a signature says besides the signature itself.
#[derive(Clone, Debug, Default)]
pub struct SignOptions {
    /// The claimed signing time (`/M`), Unix seconds; written at Vietnam's offset (+07:00).
    pub signing_time_unix: i64,
    pub reason: Option<String>,
    pub location: Option<String>,
}

/// Why a PDF could not be signed or read.
#[derive(Debug, thiserror::Error)]
pub enum PadesError {
    #[error("the PDF cannot be read: {0}")]
    Unreadable(String),
    #[error("the PDF is encrypted")]
    Encrypted,
    #[error("the PDF has no page")]
    NoPage,
    #[error("the signature ({needed} bytes) does not fit the {reserved} bytes reserved")]
    TooLarge { needed: usize, reserved: usize },
    #[error(transparent)]
    Cms(#[from] CadesError),
    #[error(transparent)]
    Timestamp(#[from] TimestampError),
}

impl PadesError {
    pub fn code(&self) -> &'static str {
        match self {
            PadesError::Unreadable(_) => "pades.pdf_unreadable",
            PadesError::Encrypted => "pades.encrypted",
            PadesError::NoPage => "pades.no_page",
            PadesError::TooLarge { .. } => "pades.signature_too_large",
            PadesError::Cms(CadesError::Sign(_)) => "pades.signer_failed",
            PadesError::Cms(_) => "pades.cms_encoding",
            PadesError::Timestamp(e) => e.code(),
        }
    }
}

fn unreadable<E: std::fmt::Display>(e: E) -> PadesError {
    PadesError::Unreadable(e.to_string())
}

/// Signs `pdf` as PAdES B-B.
pub fn sign_pdf(
    pdf: &[u8],
    signer: &dyn Signer,
    options: &SignOptions,
) -> Result<Vec<u8>, PadesError> {
    prepare(pdf, signer, options, false)?.finish()
}

/// Signs `pdf` as PAdES B-T: B-B plus a timestamp from `authority` over the signature value.
pub async fn sign_pdf_timestamped(
    pdf: &[u8],
    signer: &dyn Signer,
    options: &SignOptions,
    authority: &HttpTimestampAuthority,
) -> Result<Vec<u8>, PadesError> {
    let mut prepared = prepare(pdf, signer, options, true)?;
    let token = authority.stamp(prepared.signature_value()).await?;
    prepared.set_timestamp_token(&token)?;
    prepared.finish()
}

/// A PDF with its signature update written and signed, the CMS not yet embedded: the point
/// where a timestamp (from any source) can still be added.
#[derive(Debug)]
pub struct PreparedPdf {
    bytes: Vec<u8>,
    /// Offsets of `<` and just past `>` of the `/Contents` placeholder.
    contents: (usize, usize),
    signature: DetachedSignature,
}

impl PreparedPdf {
    /// The RSA signature value, which a B-T timestamp stamps.
    pub fn signature_value(&self) -> &[u8] {
        self.signature.signature_value()
    }

    pub fn set_timestamp_token(&mut self, token_der: &[u8]) -> Result<(), PadesError> {
        Ok(self.signature.set_timestamp_token(token_der)?)
    }

    /// The signed PDF.
    pub fn finish(mut self) -> Result<Vec<u8>, PadesError> {
        let cms = self.signature.to_der()?;
        let (start, end) = self.contents;
        let reserved = (end - start - 2) / 2;
        if cms.len() > reserved {
            return Err(PadesError::TooLarge {
                needed: cms.len(),
                reserved,
            });
        }
        let hex = hex::encode_upper(&cms);
        self.bytes[start + 1..start + 1 + hex.len()].copy_from_slice(hex.as_bytes());
        Ok(self.bytes)
    }
}

/// Writes the signature update and signs it; `with_timestamp` reserves room for a token.
pub fn prepare(
    pdf: &[u8],
    signer: &dyn Signer,
    options: &SignOptions,
    with_timestamp: bool,
) -> Result<PreparedPdf, PadesError> {
    let doc = Document::load_mem(pdf).map_err(unreadable)?;
    if doc.trailer.has(b"Encrypt") {
        return Err(PadesError::Encrypted);
    }
    let prev = last_startxref(pdf).ok_or_else(|| unreadable("no startxref"))?;
    let xref_is_stream = !pdf
        .get(prev..)
        .is_some_and(|rest| rest.starts_with(b"xref"));
    let root_id = doc
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(unreadable)?;
    let page_id = *doc.get_pages().values().next().ok_or(PadesError::NoPage)?;
    let trailer_size = doc
        .trailer
        .get(b"Size")
        .and_then(Object::as_i64)
        .ok()
        .and_then(|s| u32::try_from(s).ok())
        .unwrap_or(0);
    let first_new = trailer_size.max(doc.max_id + 1);
    let sig_id: ObjectId = (first_new, 0);
    let field_id: ObjectId = (first_new + 1, 0);

    // The AcroForm gains the field; it is rewritten where it lives (its own object, or
    // inside the catalog).
    let mut catalog = doc.get_dictionary(root_id).map_err(unreadable)?.clone();
    let (acro_id, mut acro) = match catalog.get(b"AcroForm") {
        Ok(Object::Reference(id)) => (
            Some(*id),
            doc.get_dictionary(*id).map_err(unreadable)?.clone(),
        ),
        Ok(Object::Dictionary(d)) => (None, d.clone()),
        _ => (None, Dictionary::new()),
    };
    let mut fields = resolved_array(&doc, acro.get(b"Fields").ok());
    let names: Vec<Vec<u8>> = fields
        .iter()
        .filter_map(|f| resolve_dict(&doc, f))
        .filter_map(|d| {
            d.get(b"T")
                .ok()
                .and_then(|t| t.as_str().ok())
                .map(<[u8]>::to_vec)
        })
        .collect();
    let field_name = (1..)
        .map(|n| format!("Signature{n}"))
        .find(|n| !names.iter().any(|existing| existing == n.as_bytes()))
        .unwrap_or_else(|| "Signature".into());
    fields.push(Object::Reference(field_id));
    acro.set("Fields", Object::Array(fields));
    acro.set("SigFlags", Object::Integer(3));

    let mut page = doc.get_dictionary(page_id).map_err(unreadable)?.clone();
    let mut annots = resolved_array(&doc, page.get(b"Annots").ok());
    annots.push(Object::Reference(field_id));
    page.set("Annots", Object::Array(annots));

    let chain_size: usize = signer.certificate_chain().iter().map(Vec::len).sum();
    let reserved = 4096 + chain_size + if with_timestamp { 12_288 } else { 0 };

    let mut update = Update::new(pdf);
    let (byte_range_at, contents) =
        update.signature_dictionary(sig_id, options, reserved, signer)?;
    let mut widget = Dictionary::new();
    widget.set("Type", Object::Name(b"Annot".to_vec()));
    widget.set("Subtype", Object::Name(b"Widget".to_vec()));
    widget.set("FT", Object::Name(b"Sig".to_vec()));
    widget.set(
        "T",
        Object::String(field_name.into_bytes(), lopdf::StringFormat::Literal),
    );
    widget.set("V", Object::Reference(sig_id));
    // Print + Locked: an invisible widget that viewers do not let anyone move.
    widget.set("F", Object::Integer(132));
    widget.set(
        "Rect",
        Object::Array(vec![0.into(), 0.into(), 0.into(), 0.into()]),
    );
    widget.set("P", Object::Reference(page_id));
    update.object(field_id, &Object::Dictionary(widget))?;
    update.object(page_id, &Object::Dictionary(page))?;
    match acro_id {
        Some(id) => update.object(id, &Object::Dictionary(acro))?,
        None => {
            catalog.set("AcroForm", Object::Dictionary(acro));
            update.object(root_id, &Object::Dictionary(catalog))?;
        }
    }
    let mut trailer = Dictionary::new();
    trailer.set("Root", Object::Reference(root_id));
    for key in [&b"Info"[..], b"ID"] {
        if let Ok(value) = doc.trailer.get(key) {
            trailer.set(key, value.clone());
        }
    }
    let mut bytes = update.finish(trailer, prev, xref_is_stream, first_new + 2)?;

    // Fill in the byte range (fixed width, padded with spaces), then hash everything but the
    // placeholder.
    let (start, end) = contents;
    let range = format!("[0 {} {} {}]", start, end, bytes.len() - end);
    let slot = &mut bytes[byte_range_at..byte_range_at + BYTE_RANGE_PLACEHOLDER.len()];
    slot.fill(b' ');
    slot[..range.len()].copy_from_slice(range.as_bytes());
    let digest = Hash::Sha256.digest(&[&bytes[..start], &bytes[end..]].concat());
    let signature = DetachedSignature::sign(signer, &digest)?;
    Ok(PreparedPdf {
        bytes,
        contents,
        signature,
    })
}

const BYTE_RANGE_PLACEHOLDER: &str = "[0 0000000000 0000000000 0000000000]";

/// The offset in the last `startxref` line.
fn last_startxref(pdf: &[u8]) -> Option<usize> {
    let tail_start = pdf.len().saturating_sub(2048);
    let tail = &pdf[tail_start..];
    let at = tail.windows(9).rposition(|w| w == b"startxref")?;
    let digits: String = tail[at + 9..]
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .map(|&b| char::from(b))
        .collect();
    digits.parse().ok()
}

fn resolve_dict<'a>(doc: &'a Document, object: &'a Object) -> Option<&'a Dictionary> {
    doc.dereference(object)
        .ok()
        .and_then(|(_, o)| o.as_dict().ok())
}

/// An array given inline or by reference, as an owned list (empty when absent).
fn resolved_array(doc: &Document, object: Option<&Object>) -> Vec<Object> {
    object
        .and_then(|o| doc.dereference(o).ok())
        .and_then(|(_, o)| o.as_array().ok())
        .cloned()
        .unwrap_or_default()
}

/// The bytes appended to a PDF, with the offset of each object written.
struct Update {
    bytes: Vec<u8>,
    offsets: Vec<(ObjectId, usize)>,
}

impl Update {
    fn new(pdf: &[u8]) -> Update {
        let mut bytes = pdf.to_vec();
        if !bytes.ends_with(b"\n") && !bytes.ends_with(b"\r") {
            bytes.push(b'\n');
        }
        Update {
            bytes,
            offsets: Vec::new(),
        }
    }

    fn begin(&mut self, id: ObjectId) {
        self.offsets.push((id, self.bytes.len()));
        self.bytes
            .extend_from_slice(format!("{} {} obj\n", id.0, id.1).as_bytes());
    }

    fn object(&mut self, id: ObjectId, object: &Object) -> Result<(), PadesError> {
        self.begin(id);
        write_object(&mut self.bytes, object)?;
        self.bytes.extend_from_slice(b"\nendobj\n");
        Ok(())
    }

    /// Writes the signature dictionary; returns the offset of the `/ByteRange` placeholder
    /// and the span of the `/Contents` placeholder.
    fn signature_dictionary(
        &mut self,
        id: ObjectId,
        options: &SignOptions,
        reserved: usize,
        signer: &dyn Signer,
    ) -> Result<(usize, (usize, usize)), PadesError> {
        self.begin(id);
        self.bytes.extend_from_slice(
            b"<</Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange ",
        );
        let byte_range_at = self.bytes.len();
        self.bytes
            .extend_from_slice(BYTE_RANGE_PLACEHOLDER.as_bytes());
        self.bytes.extend_from_slice(b" /Contents ");
        let contents_start = self.bytes.len();
        self.bytes.push(b'<');
        self.bytes.resize(self.bytes.len() + 2 * reserved, b'0');
        self.bytes.push(b'>');
        let contents_end = self.bytes.len();
        self.bytes
            .extend_from_slice(format!(" /M ({})", pdf_date(options.signing_time_unix)).as_bytes());
        if let Some(name) = signer
            .certificate_chain()
            .first()
            .and_then(|c| CertificateInfo::from_der(c).ok())
            .and_then(|info| info.subject.common_name)
        {
            self.bytes.extend_from_slice(b" /Name ");
            self.bytes.extend_from_slice(&text_string(&name));
        }
        for (key, value) in [("Reason", &options.reason), ("Location", &options.location)] {
            if let Some(value) = value {
                self.bytes.extend_from_slice(format!(" /{key} ").as_bytes());
                self.bytes.extend_from_slice(&text_string(value));
            }
        }
        self.bytes.extend_from_slice(b">>\nendobj\n");
        Ok((byte_range_at, (contents_start, contents_end)))
    }

    /// Appends the cross-reference section and trailer; `next_id` is the first unused
    /// object number (an xref stream takes it).
    fn finish(
        mut self,
        mut trailer: Dictionary,
        prev: usize,
        as_stream: bool,
        next_id: u32,
    ) -> Result<Vec<u8>, PadesError> {
        trailer.set(
            "Prev",
            Object::Integer(i64::try_from(prev).map_err(unreadable)?),
        );
        let xref_at = self.bytes.len();
        if as_stream {
            let own: ObjectId = (next_id, 0);
            self.offsets.push((own, xref_at));
            self.offsets.sort();
            let mut data = Vec::new();
            let mut index = Vec::new();
            for (id, offset) in &self.offsets {
                data.push(1u8);
                data.extend_from_slice(&u32::try_from(*offset).map_err(unreadable)?.to_be_bytes());
                data.extend_from_slice(&id.1.to_be_bytes());
                index.push(Object::Integer(i64::from(id.0)));
                index.push(Object::Integer(1));
            }
            trailer.set("Type", Object::Name(b"XRef".to_vec()));
            trailer.set("Size", Object::Integer(i64::from(next_id) + 1));
            trailer.set("W", Object::Array(vec![1.into(), 4.into(), 2.into()]));
            trailer.set("Index", Object::Array(index));
            trailer.set(
                "Length",
                Object::Integer(i64::try_from(data.len()).map_err(unreadable)?),
            );
            self.bytes
                .extend_from_slice(format!("{} 0 obj\n", next_id).as_bytes());
            write_object(&mut self.bytes, &Object::Dictionary(trailer))?;
            self.bytes.extend_from_slice(b"\nstream\n");
            self.bytes.extend_from_slice(&data);
            self.bytes.extend_from_slice(b"\nendstream\nendobj\n");
        } else {
            self.offsets.sort();
            self.bytes.extend_from_slice(b"xref\n");
            for (id, offset) in &self.offsets {
                self.bytes.extend_from_slice(
                    format!("{} 1\n{:010} {:05} n\r\n", id.0, offset, id.1).as_bytes(),
                );
            }
            trailer.set("Size", Object::Integer(i64::from(next_id)));
            self.bytes.extend_from_slice(b"trailer\n");
            write_object(&mut self.bytes, &Object::Dictionary(trailer))?;
            self.bytes.push(b'\n');
        }
        self.bytes
            .extend_from_slice(format!("startxref\n{xref_at}\n%%EOF\n").as_bytes());
        Ok(self.bytes)
    }
}

/// PDF date string at +07:00, e.g. `D:20261202091500+07'00'`.
fn pdf_date(unix_seconds: i64) -> String {
    let offset = chrono::FixedOffset::east_opt(7 * 3600);
    match (chrono::DateTime::from_timestamp(unix_seconds, 0), offset) {
        (Some(utc), Some(offset)) => {
            format!(
                "D:{}+07'00'",
                utc.with_timezone(&offset).format("%Y%m%d%H%M%S")
            )
        }
        _ => "D:19700101000000Z".into(),
    }
}

/// Parses a PDF date (`D:YYYYMMDDHHmmSS` with `Z`, `+HH'mm'` or `-HH'mm'`, later parts
/// optional) to Unix seconds.
pub fn parse_pdf_date(text: &str) -> Option<i64> {
    let s = text.strip_prefix("D:").unwrap_or(text);
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    if digits.len() < 4 {
        return None;
    }
    let part = |from: usize, len: usize, default: u32| -> Option<u32> {
        match digits.get(from..from + len) {
            Some(p) => p.parse().ok(),
            None if from >= digits.len() => Some(default),
            None => None,
        }
    };
    let date = chrono::NaiveDate::from_ymd_opt(
        i32::try_from(part(0, 4, 0)?).ok()?,
        part(4, 2, 1)?,
        part(6, 2, 1)?,
    )?;
    let time = chrono::NaiveTime::from_hms_opt(part(8, 2, 0)?, part(10, 2, 0)?, part(12, 2, 0)?)?;
    let local = date.and_time(time).and_utc().timestamp();
    let rest = &s[digits.len()..];
    let offset = match rest.chars().next() {
        Some(sign @ ('+' | '-')) => {
            let nums: Vec<i64> = rest[1..]
                .split(|c: char| !c.is_ascii_digit())
                .filter(|p| !p.is_empty())
                .filter_map(|p| p.parse().ok())
                .collect();
            let minutes =
                nums.first().copied().unwrap_or(0) * 60 + nums.get(1).copied().unwrap_or(0);
            if sign == '+' {
                minutes * 60
            } else {
                -minutes * 60
            }
        }
        _ => 0,
    };
    Some(local - offset)
}

/// A text string as UTF-16BE with its byte-order mark, in hex: any Vietnamese text is safe.
fn text_string(text: &str) -> Vec<u8> {
    let mut out = b"<FEFF".to_vec();
    for unit in text.encode_utf16() {
        out.extend_from_slice(format!("{unit:04X}").as_bytes());
    }
    out.push(b'>');
    out
}

/// Serialises a PDF object that has no stream (dictionaries of pages, catalogs, forms).
fn write_object(out: &mut Vec<u8>, object: &Object) -> Result<(), PadesError> {
    match object {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Object::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Object::Real(r) => out.extend_from_slice(format_real(*r).as_bytes()),
        Object::Name(name) => write_name(out, name),
        Object::String(bytes, lopdf::StringFormat::Hexadecimal) => {
            out.push(b'<');
            out.extend_from_slice(hex::encode_upper(bytes).as_bytes());
            out.push(b'>');
        }
        Object::String(bytes, lopdf::StringFormat::Literal) => {
            out.push(b'(');
            for &b in bytes {
                match b {
                    b'(' | b')' | b'\\' => out.extend_from_slice(&[b'\\', b]),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    _ => out.push(b),
                }
            }
            out.push(b')');
        }
        Object::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_object(out, item)?;
            }
            out.push(b']');
        }
        Object::Dictionary(dict) => {
            out.extend_from_slice(b"<<");
            for (key, value) in dict.iter() {
                write_name(out, key);
                out.push(b' ');
                write_object(out, value)?;
            }
            out.extend_from_slice(b">>");
        }
        Object::Reference((id, generation)) => {
            out.extend_from_slice(format!("{id} {generation} R").as_bytes());
        }
        Object::Stream(_) => return Err(unreadable("a stream where a dictionary was expected")),
    }
    Ok(())
}

fn format_real(r: f32) -> String {
    let text = format!("{r:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() || text == "-" {
        "0".into()
    } else {
        text.to_string()
    }
}

fn write_name(out: &mut Vec<u8>, name: &[u8]) {
    out.push(b'/');
    for &b in name {
        let regular = b.is_ascii_graphic() && !b"#()<>[]{}/%".contains(&b);
        if regular {
            out.push(b);
        } else {
            out.extend_from_slice(format!("#{b:02X}").as_bytes());
        }
    }
}

/// A problem found with a signature: a stable code and a readable message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub code: &'static str,
    pub message: String,
}

/// What verifying one signature found.
#[derive(Clone, Debug)]
pub struct SignatureReport {
    pub field_name: Option<String>,
    pub sub_filter: Option<String>,
    pub signer: Option<CertificateInfo>,
    /// The claimed signing time `/M`, Unix seconds.
    pub signing_time_unix: Option<i64>,
    /// The B-T timestamp, when the signature carries one.
    pub timestamp: Option<TimestampReport>,
    pub byte_range: Vec<i64>,
    /// The signed range reaches the end of the file: nothing was appended after signing.
    pub covers_whole_file: bool,
    /// The content digest matches and the signature verifies with the signer's key.
    pub intact: bool,
    /// The signer's chain leads to an anchor and was valid at the time checked.
    pub trusted: bool,
    /// The signer's chain, leaf first, when it verified.
    pub chain: Vec<CertificateInfo>,
    pub problems: Vec<Problem>,
}

impl SignatureReport {
    /// Intact, trusted, covering the file, timestamp (if any) good: nothing to report.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn has(&self, code: &str) -> bool {
        self.problems.iter().any(|p| p.code == code)
    }

    fn problem(&mut self, code: &'static str, message: impl Into<String>) {
        self.problems.push(Problem {
            code,
            message: message.into(),
        });
    }
}

/// Verifies every signature of `pdf`, in the order of the form's fields. Chains are
/// checked against `anchors_der` at the timestamp's time when a valid timestamp is present,
/// else at `at_unix_seconds`.
pub fn verify_pdf(
    pdf: &[u8],
    anchors_der: &[Vec<u8>],
    at_unix_seconds: i64,
) -> Result<Vec<SignatureReport>, PadesError> {
    let doc = Document::load_mem(pdf).map_err(unreadable)?;
    let mut found = Vec::new();
    let catalog = doc.catalog().map_err(unreadable)?;
    let fields = catalog
        .get(b"AcroForm")
        .ok()
        .and_then(|a| resolve_dict(&doc, a))
        .map(|acro| resolved_array(&doc, acro.get(b"Fields").ok()))
        .unwrap_or_default();
    collect_signature_fields(&doc, &fields, None, 0, &mut found);
    Ok(found
        .into_iter()
        .map(|(name, sig)| verify_one(pdf, name, &sig, anchors_der, at_unix_seconds))
        .collect())
}

/// Depth of nested field kids walked: forms are shallow, and this bounds a reference loop.
const MAX_FIELD_DEPTH: usize = 16;

fn collect_signature_fields(
    doc: &Document,
    fields: &[Object],
    parent: Option<&str>,
    depth: usize,
    out: &mut Vec<(Option<String>, Dictionary)>,
) {
    if depth > MAX_FIELD_DEPTH {
        return;
    }
    for field in fields {
        let Some(dict) = doc
            .dereference(field)
            .ok()
            .and_then(|(_, o)| o.as_dict().ok())
        else {
            continue;
        };
        let own = dict
            .get(b"T")
            .ok()
            .and_then(|t| t.as_str().ok())
            .map(|t| String::from_utf8_lossy(t).into_owned());
        let name = match (parent, own) {
            (Some(p), Some(o)) => Some(format!("{p}.{o}")),
            (None, o) => o,
            (Some(p), None) => Some(p.to_string()),
        };
        let is_sig = dict.get(b"FT").ok().and_then(|f| f.as_name().ok()) == Some(b"Sig");
        if is_sig && let Some(value) = dict.get(b"V").ok().and_then(|v| resolve_dict(doc, v)) {
            out.push((name.clone(), value.clone()));
        }
        if let Ok(kids) = dict.get(b"Kids") {
            let kids = resolved_array(doc, Some(kids));
            // Widgets are kids without a name of their own; only fields are walked.
            let field_kids: Vec<Object> = kids
                .into_iter()
                .filter(|k| resolve_dict(doc, k).is_some_and(|d| d.has(b"T") || d.has(b"Kids")))
                .collect();
            collect_signature_fields(doc, &field_kids, name.as_deref(), depth + 1, out);
        }
    }
}

fn verify_one(
    pdf: &[u8],
    field_name: Option<String>,
    sig: &Dictionary,
    anchors: &[Vec<u8>],
    at: i64,
) -> SignatureReport {
    let text = |key: &[u8]| {
        sig.get(key)
            .ok()
            .and_then(|v| v.as_name().or_else(|_| v.as_str()).ok())
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };
    let mut report = SignatureReport {
        field_name,
        sub_filter: text(b"SubFilter"),
        signer: None,
        signing_time_unix: text(b"M").and_then(|m| parse_pdf_date(&m)),
        timestamp: None,
        byte_range: Vec::new(),
        covers_whole_file: false,
        intact: false,
        trusted: false,
        chain: Vec::new(),
        problems: Vec::new(),
    };
    report.byte_range = sig
        .get(b"ByteRange")
        .ok()
        .and_then(|r| r.as_array().ok())
        .map(|a| a.iter().filter_map(|v| v.as_i64().ok()).collect())
        .unwrap_or_default();
    let contents = match sig.get(b"Contents").ok().and_then(|c| c.as_str().ok()) {
        Some(c) => c.to_vec(),
        None => {
            report.problem("signature.malformed", "the signature has no /Contents");
            return report;
        }
    };
    let Some(signed) = signed_bytes(pdf, &report.byte_range, &contents) else {
        report.problem(
            "signature.byte_range_invalid",
            "the /ByteRange does not start at 0, leave out exactly /Contents, or stay inside the file",
        );
        return report;
    };
    report.covers_whole_file = signed.covers_whole_file;
    if !signed.covers_whole_file {
        report.problem(
            "signature.updated_after_signing",
            "the document was changed or extended after this signature",
        );
    }
    // A document timestamp's CMS holds a TSTInfo over the byte range, not a signer's
    // signature; checking those (PAdES B-LTA) is not done yet, and saying so beats a false
    // digest mismatch.
    if report.sub_filter.as_deref() == Some("ETSI.RFC3161") {
        report.problem(
            "signature.unsupported",
            "document timestamps (ETSI.RFC3161) are not checked yet",
        );
        return report;
    }
    let signed_data = match cades::parse_signed_data(&contents) {
        Ok(sd) => sd,
        Err(e) => {
            report.problem(
                "signature.malformed",
                format!("the CMS cannot be read: {e}"),
            );
            return report;
        }
    };
    let check = cades::check_signer(&signed_data, &|hash| hash.digest(&signed.bytes));
    if let Some(what) = &check.unsupported {
        report.problem("signature.unsupported", format!("cannot check: {what}"));
    }
    report.signer = check
        .signer_certificate
        .as_deref()
        .and_then(|c| CertificateInfo::from_der(c).ok());
    let Some(leaf) = check.signer_certificate.clone() else {
        report.problem(
            "signature.signer_certificate_missing",
            "the signer's certificate is not in the signature",
        );
        return report;
    };
    if !check.digest_matches {
        report.problem(
            "signature.digest_mismatch",
            "the signed bytes changed after signing",
        );
    }
    if check.unsupported.is_none() && !check.signature_valid {
        report.problem(
            "signature.invalid",
            "the signature does not verify with the signer's key",
        );
    }
    if !check.signing_certificate_matches {
        report.problem(
            "signature.signing_certificate_mismatch",
            "the signing-certificate attribute names another certificate",
        );
    }
    report.intact =
        check.digest_matches && check.signature_valid && check.signing_certificate_matches;

    let mut chain_at = at;
    if let Some(token) = &check.timestamp_token {
        match timestamp::check_token(token, &check.signature_value, anchors) {
            Ok(ts) => {
                if !ts.intact {
                    report.problem(
                        "signature.timestamp_invalid",
                        "the timestamp does not verify or stamps something else",
                    );
                } else if let Some(e) = &ts.chain_error {
                    report.problem(
                        "signature.timestamp_untrusted",
                        format!("timestamp authority: {e}"),
                    );
                } else {
                    chain_at = ts.time_unix;
                }
                report.timestamp = Some(ts);
            }
            Err(e) => report.problem(
                "signature.timestamp_invalid",
                format!("the timestamp cannot be read: {e}"),
            ),
        }
    }
    match pki::verify_chain(&leaf, &check.certificates, anchors, chain_at) {
        Ok(chain) => {
            report.trusted = true;
            report.chain = chain.certificates;
        }
        Err(e) => {
            let code = match e {
                ChainError::Untrusted(_) => "signature.untrusted",
                ChainError::Expired(_) => "signature.expired",
                ChainError::NotYetValid(_) => "signature.not_yet_valid",
                _ => "signature.certificate_invalid",
            };
            report.problem(code, format!("{e} ({})", e.code()));
        }
    }
    report
}

struct SignedBytes {
    bytes: Vec<u8>,
    covers_whole_file: bool,
}

/// The bytes a `/ByteRange` covers, when the range is well formed: two parts, the first at
/// 0, the gap between them exactly the hex `/Contents`, all inside the file.
fn signed_bytes(pdf: &[u8], range: &[i64], contents: &[u8]) -> Option<SignedBytes> {
    let [a, b, c, d] = <[i64; 4]>::try_from(range).ok()?;
    let [a, b, c, d] = [a, b, c, d].map(|v| usize::try_from(v).ok());
    let (a, b, c, d) = (a?, b?, c?, d?);
    let end = c.checked_add(d)?;
    if a != 0 || c < b || end > pdf.len() {
        return None;
    }
    let gap = &pdf[b..c];
    let hex_ok = gap.first() == Some(&b'<')
        && gap.last() == Some(&b'>')
        && hex::decode(
            gap[1..gap.len() - 1]
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect::<Vec<u8>>(),
        )
        .ok()
        .as_deref()
            == Some(contents);
    if !hex_ok {
        return None;
    }
    Some(SignedBytes {
        bytes: [&pdf[..b], &pdf[c..end]].concat(),
        covers_whole_file: end == pdf.len(),
    })
}
