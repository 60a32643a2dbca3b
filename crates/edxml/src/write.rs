//! Streaming writer of edXML packages, in exactly the layout of the national axis' samples:
//! default namespace on the root, the `edXML:` prefix (declared on `edXMLEnvelope`) on every
//! envelope child, `AttachmentEncoded` outside the envelope with unprefixed metadata, and each
//! attachment's bytes in `edXML:ContentTransferEncoded` (which redeclares the prefix).
//!
//! Invariants: attachment bytes are pulled from a `Read` and base64-encoded through a small
//! fixed buffer, so memory does not grow with attachment size; the manifest is derived from
//! the same attachment list as the bodies, so the two always agree; the package is written
//! unsigned and the place of the signature is the end of `edXML:edXMLHeader` (the signer adds
//! `<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">` there in a second pass). The
//! writer does not validate: run [`crate::validate`] first when the input is untrusted.

use std::io::{self, BufWriter, Read, Write};

use crate::model::{
    AttachmentMeta, Bussiness, BussinessPlacement, DocumentPackage, ExtraElement, MessageHeader,
    NAMESPACE, Organization, ResponseFor, StaffInfo, StatusPackage, TraceHeaderList,
};

/// Size of the chunks attachment bytes are read and encoded in.
const CHUNK: usize = 48 * 1024;

/// One attachment to write: its metadata (also written to the manifest) and its bytes.
pub struct AttachmentInput<'a> {
    pub meta: AttachmentMeta,
    pub content: Box<dyn Read + 'a>,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteSummary {
    /// Raw (decoded) size of each attachment, in input order.
    pub attachment_sizes: Vec<u64>,
    /// Bytes of XML written in all.
    pub bytes_written: u64,
}

/// Why a package could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Writing the output failed.
    #[error("edxml.write.io: {0}")]
    Io(#[from] io::Error),
    /// Reading an attachment's bytes failed.
    #[error("edxml.write.attachment_read: attachment {content_id}: {source}")]
    AttachmentRead {
        content_id: String,
        source: io::Error,
    },
}

impl WriteError {
    /// Stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            WriteError::Io(_) => "edxml.write.io",
            WriteError::AttachmentRead { .. } => "edxml.write.attachment_read",
        }
    }
}

/// Writes a document package: header, manifest of `attachments`, then each attachment's
/// bytes base64-encoded in chunks.
pub fn write_document<W: Write>(
    out: W,
    package: &DocumentPackage,
    attachments: &mut [AttachmentInput<'_>],
) -> Result<WriteSummary, WriteError> {
    let mut x = XmlOut::new(out);
    x.prologue()?;
    x.open("edXMLHeader")?;
    message_header(&mut x, &package.message_header)?;
    if let Some(list) = &package.trace_header_list {
        trace_header_list(&mut x, list)?;
    }
    x.close("edXMLHeader")?;
    x.open("edXMLBody")?;
    x.line("<edXML:edXMLManifest version=\"1.0\">")?;
    x.depth += 1;
    for input in attachments.iter() {
        x.open("Reference")?;
        x.leaf("ContentId", &input.meta.content_id)?;
        x.leaf("ContentType", &input.meta.content_type)?;
        x.opt_leaf("Description", &input.meta.description)?;
        x.leaf("AttachmentName", &input.meta.attachment_name)?;
        x.close("Reference")?;
    }
    x.close("edXMLManifest")?;
    x.close("edXMLBody")?;
    x.raw_close("edXML:edXMLEnvelope")?;
    let mut sizes = Vec::with_capacity(attachments.len());
    if !attachments.is_empty() {
        x.raw_open("AttachmentEncoded")?;
        for input in attachments.iter_mut() {
            x.raw_open("Attachment")?;
            x.raw_leaf("ContentId", &input.meta.content_id)?;
            x.raw_leaf("AttachmentName", &input.meta.attachment_name)?;
            if let Some(d) = &input.meta.description {
                x.raw_leaf("Description", d)?;
            }
            x.raw_leaf("ContentType", &input.meta.content_type)?;
            x.indent()?;
            x.write(b"<edXML:ContentTransferEncoded xmlns:edXML=\"")?;
            x.write(NAMESPACE.as_bytes())?;
            x.write(b"\">")?;
            let size = x.base64_from(&mut input.content, &input.meta.content_id)?;
            x.write(b"</edXML:ContentTransferEncoded>\n")?;
            sizes.push(size);
            x.raw_close("Attachment")?;
        }
        x.raw_close("AttachmentEncoded")?;
    }
    x.epilogue()?;
    Ok(WriteSummary {
        attachment_sizes: sizes,
        bytes_written: x.finish()?,
    })
}

/// Writes a status package (§1.4): envelope and header only, no body.
pub fn write_status<W: Write>(out: W, package: &StatusPackage) -> Result<WriteSummary, WriteError> {
    let mut x = XmlOut::new(out);
    x.prologue()?;
    x.open("edXMLHeader")?;
    x.open("MessageHeader")?;
    organization(&mut x, "From", &package.from)?;
    response_for(&mut x, &package.response_for)?;
    if let Some(staff) = &package.staff_info {
        staff_info(&mut x, staff)?;
    }
    x.leaf("StatusCode", &package.status_code)?;
    x.opt_leaf("Description", &package.description)?;
    x.leaf("Timestamp", &package.timestamp)?;
    extras(&mut x, &package.extra)?;
    x.close("MessageHeader")?;
    x.close("edXMLHeader")?;
    x.raw_close("edXML:edXMLEnvelope")?;
    x.epilogue()?;
    Ok(WriteSummary {
        attachment_sizes: Vec::new(),
        bytes_written: x.finish()?,
    })
}

fn message_header<W: Write>(x: &mut XmlOut<W>, h: &MessageHeader) -> io::Result<()> {
    x.open("MessageHeader")?;
    organization(x, "From", &h.from)?;
    for to in &h.to {
        organization(x, "To", to)?;
    }
    x.opt_leaf("DocumentId", &h.document_id)?;
    if let Some(code) = &h.code {
        x.open("Code")?;
        x.leaf("CodeNumber", &code.code_number)?;
        x.leaf("CodeNotation", &code.code_notation)?;
        x.close("Code")?;
    }
    if let Some(p) = &h.promulgation_info {
        x.open("PromulgationInfo")?;
        x.opt_leaf("Place", &p.place)?;
        x.leaf("PromulgationDate", &p.promulgation_date)?;
        x.close("PromulgationInfo")?;
    }
    if let Some(t) = &h.document_type {
        x.open("DocumentType")?;
        x.leaf("Type", &t.kind)?;
        x.opt_leaf("TypeDetail", &t.type_detail)?;
        x.opt_leaf("TypeName", &t.type_name)?;
        x.close("DocumentType")?;
    }
    x.opt_leaf("Subject", &h.subject)?;
    x.opt_leaf("Content", &h.content)?;
    if let Some(s) = &h.signer_info {
        x.open("SignerInfo")?;
        x.opt_leaf("Competence", &s.competence)?;
        x.opt_leaf("Position", &s.position)?;
        x.opt_leaf("FullName", &s.full_name)?;
        x.close("SignerInfo")?;
    }
    x.opt_leaf("DueDate", &h.due_date)?;
    if let Some(o) = &h.other_info {
        x.open("OtherInfo")?;
        x.opt_leaf("Priority", &o.priority)?;
        x.opt_leaf("SphereOfPromulgation", &o.sphere_of_promulgation)?;
        x.opt_leaf("TyperNotation", &o.typer_notation)?;
        x.opt_leaf("PromulgationAmount", &o.promulgation_amount)?;
        x.opt_leaf("PageAmount", &o.page_amount)?;
        x.opt_leaf("Direction", &o.direction)?;
        if let Some(list) = &o.appendixes {
            x.list("Appendixes", "Appendix", list)?;
        }
        extras(x, &o.extra)?;
        x.close("OtherInfo")?;
    }
    x.opt_leaf("SteeringType", &h.steering_type)?;
    if let Some(places) = &h.to_places {
        x.list("ToPlaces", "Place", places)?;
    }
    for r in &h.response_for {
        response_for(x, r)?;
    }
    extras(x, &h.extra)?;
    x.close("MessageHeader")
}

fn organization<W: Write>(x: &mut XmlOut<W>, tag: &str, o: &Organization) -> io::Result<()> {
    x.open(tag)?;
    x.leaf("OrganId", &o.organ_id)?;
    x.opt_leaf("OrganizationInCharge", &o.organization_in_charge)?;
    x.opt_leaf("OrganName", &o.organ_name)?;
    x.opt_leaf("OrganAdd", &o.organ_add)?;
    x.opt_leaf("Email", &o.email)?;
    x.opt_leaf("Telephone", &o.telephone)?;
    x.opt_leaf("Fax", &o.fax)?;
    x.opt_leaf("Website", &o.website)?;
    extras(x, &o.extra)?;
    x.close(tag)
}

fn response_for<W: Write>(x: &mut XmlOut<W>, r: &ResponseFor) -> io::Result<()> {
    x.open("ResponseFor")?;
    x.leaf("OrganId", &r.organ_id)?;
    x.leaf("Code", &r.code)?;
    x.leaf("PromulgationDate", &r.promulgation_date)?;
    x.opt_leaf("DocumentId", &r.document_id)?;
    x.close("ResponseFor")
}

fn staff_info<W: Write>(x: &mut XmlOut<W>, s: &StaffInfo) -> io::Result<()> {
    x.open("StaffInfo")?;
    x.opt_leaf("Department", &s.department)?;
    x.opt_leaf("Staff", &s.staff)?;
    x.opt_leaf("Email", &s.email)?;
    x.opt_leaf("Mobile", &s.mobile)?;
    x.close("StaffInfo")
}

fn trace_header_list<W: Write>(x: &mut XmlOut<W>, list: &TraceHeaderList) -> io::Result<()> {
    x.open("TraceHeaderList")?;
    if list.bussiness_placement == BussinessPlacement::First
        && let Some(b) = &list.bussiness
    {
        bussiness(x, b)?;
    }
    for t in &list.trace_header {
        x.open("TraceHeader")?;
        x.leaf("OrganId", &t.organ_id)?;
        x.leaf("Timestamp", &t.timestamp)?;
        extras(x, &t.extra)?;
        x.close("TraceHeader")?;
    }
    if list.bussiness_placement == BussinessPlacement::Last
        && let Some(b) = &list.bussiness
    {
        bussiness(x, b)?;
    }
    x.close("TraceHeaderList")
}

fn bussiness<W: Write>(x: &mut XmlOut<W>, b: &Bussiness) -> io::Result<()> {
    x.open("Bussiness")?;
    x.opt_leaf("DocumentId", &b.document_id)?;
    x.leaf("BussinessDocType", &b.bussiness_doc_type)?;
    x.opt_leaf("BussinessDocReason", &b.bussiness_doc_reason)?;
    x.opt_leaf("Paper", &b.paper)?;
    if let Some(info) = &b.bussiness_document_info {
        x.open("BussinessDocumentInfo")?;
        x.opt_leaf("DocumentInfo", &info.document_info)?;
        x.opt_leaf("DocumentReceiver", &info.document_receiver)?;
        if let Some(receivers) = &info.receiver_list {
            x.open("ReceiverList")?;
            for r in receivers {
                x.open("Receiver")?;
                x.leaf("OrganId", &r.organ_id)?;
                x.leaf("ReceiverType", &r.receiver_type)?;
                x.close("Receiver")?;
            }
            x.close("ReceiverList")?;
        }
        x.close("BussinessDocumentInfo")?;
    }
    if let Some(staff) = &b.staff_info {
        staff_info(x, staff)?;
    }
    if let Some(list) = &b.replacement_info_list {
        x.open("ReplacementInfoList")?;
        for r in list {
            x.open("ReplacementInfo")?;
            x.leaf("DocumentId", &r.document_id)?;
            x.list("OrganIdList", "OrganId", &r.organ_id_list)?;
            x.close("ReplacementInfo")?;
        }
        x.close("ReplacementInfoList")?;
    }
    extras(x, &b.extra)?;
    x.close("Bussiness")
}

fn extras<W: Write>(x: &mut XmlOut<W>, list: &[ExtraElement]) -> io::Result<()> {
    for e in list {
        extra(x, e)?;
    }
    Ok(())
}

fn extra<W: Write>(x: &mut XmlOut<W>, e: &ExtraElement) -> io::Result<()> {
    x.indent()?;
    x.write(b"<")?;
    x.write(e.name.as_bytes())?;
    for (k, v) in &e.attributes {
        x.write(b" ")?;
        x.write(k.as_bytes())?;
        x.write(b"=\"")?;
        x.escaped(v, true)?;
        x.write(b"\"")?;
    }
    x.write(b">")?;
    if e.children.is_empty() {
        x.escaped(&e.text, false)?;
    } else {
        x.write(b"\n")?;
        x.depth += 1;
        extras(x, &e.children)?;
        x.depth -= 1;
        x.indent()?;
    }
    x.write(b"</")?;
    x.write(e.name.as_bytes())?;
    x.write(b">\n")
}

/// A minimal pretty-printing XML emitter: two-space indentation, `edXML:`-prefixed helpers
/// for envelope children and `raw_*` helpers for the unprefixed attachment part.
struct XmlOut<W: Write> {
    out: BufWriter<CountingWriter<W>>,
    depth: usize,
}

impl<W: Write> XmlOut<W> {
    fn new(out: W) -> Self {
        XmlOut {
            out: BufWriter::with_capacity(
                CHUNK,
                CountingWriter {
                    inner: out,
                    count: 0,
                },
            ),
            depth: 0,
        }
    }

    fn prologue(&mut self) -> io::Result<()> {
        self.write(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<edXML xmlns=\"")?;
        self.write(NAMESPACE.as_bytes())?;
        self.write(b"\">\n  <edXML:edXMLEnvelope xmlns:edXML=\"")?;
        self.write(NAMESPACE.as_bytes())?;
        self.write(b"\">\n")?;
        self.depth = 2;
        Ok(())
    }

    fn epilogue(&mut self) -> io::Result<()> {
        self.write(b"</edXML>\n")
    }

    fn finish(self) -> io::Result<u64> {
        let counting = self.out.into_inner().map_err(|e| e.into_error())?;
        let mut counting = counting;
        counting.flush()?;
        Ok(counting.count)
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    fn indent(&mut self) -> io::Result<()> {
        for _ in 0..self.depth {
            self.out.write_all(b"  ")?;
        }
        Ok(())
    }

    fn line(&mut self, text: &str) -> io::Result<()> {
        self.indent()?;
        self.write(text.as_bytes())?;
        self.write(b"\n")
    }

    fn open(&mut self, tag: &str) -> io::Result<()> {
        self.raw_open(&format!("edXML:{tag}"))
    }

    fn close(&mut self, tag: &str) -> io::Result<()> {
        self.raw_close(&format!("edXML:{tag}"))
    }

    fn leaf(&mut self, tag: &str, text: &str) -> io::Result<()> {
        self.raw_leaf(&format!("edXML:{tag}"), text)
    }

    fn opt_leaf(&mut self, tag: &str, text: &Option<String>) -> io::Result<()> {
        match text {
            Some(t) => self.leaf(tag, t),
            None => Ok(()),
        }
    }

    fn list(&mut self, outer: &str, inner: &str, items: &[String]) -> io::Result<()> {
        self.open(outer)?;
        for item in items {
            self.leaf(inner, item)?;
        }
        self.close(outer)
    }

    fn raw_open(&mut self, name: &str) -> io::Result<()> {
        self.indent()?;
        self.write(b"<")?;
        self.write(name.as_bytes())?;
        self.write(b">\n")?;
        self.depth += 1;
        Ok(())
    }

    fn raw_close(&mut self, name: &str) -> io::Result<()> {
        self.depth = self.depth.saturating_sub(1);
        self.indent()?;
        self.write(b"</")?;
        self.write(name.as_bytes())?;
        self.write(b">\n")
    }

    fn raw_leaf(&mut self, name: &str, text: &str) -> io::Result<()> {
        self.indent()?;
        self.write(b"<")?;
        self.write(name.as_bytes())?;
        self.write(b">")?;
        self.escaped(text, false)?;
        self.write(b"</")?;
        self.write(name.as_bytes())?;
        self.write(b">\n")
    }

    /// Text or attribute value with the markup characters escaped; `\r` and (in attributes)
    /// tab/newline as character references so a reader's normalisation gives them back.
    fn escaped(&mut self, text: &str, attribute: bool) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in text.char_indices() {
            let rep: &[u8] = match c {
                '&' => b"&amp;",
                '<' => b"&lt;",
                '>' => b"&gt;",
                '\r' => b"&#13;",
                '"' if attribute => b"&quot;",
                '\n' if attribute => b"&#10;",
                '\t' if attribute => b"&#9;",
                _ => continue,
            };
            self.out.write_all(&text.as_bytes()[start..i])?;
            self.out.write_all(rep)?;
            start = i + c.len_utf8();
        }
        self.out.write_all(&text.as_bytes()[start..])
    }

    /// Copies `content` base64-encoded (one line, as in the samples) and returns its raw size.
    fn base64_from(&mut self, content: &mut dyn Read, content_id: &str) -> Result<u64, WriteError> {
        let mut encoder = base64::write::EncoderWriter::new(
            &mut self.out,
            &base64::engine::general_purpose::STANDARD,
        );
        let mut buf = vec![0u8; CHUNK];
        let mut total = 0u64;
        loop {
            let n = match content.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(WriteError::AttachmentRead {
                        content_id: content_id.to_owned(),
                        source,
                    });
                }
            };
            encoder.write_all(&buf[..n])?;
            total += n as u64;
        }
        encoder.finish()?;
        Ok(total)
    }
}

/// Counts the bytes that reach the caller's writer.
struct CountingWriter<W: Write> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
