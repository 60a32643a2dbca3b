//! Streaming parser of edXML packages into the model, with attachments decoded into a
//! caller-given [`AttachmentSink`].
//!
//! Invariants:
//! - Memory is bounded by the header, never by the attachments: quick-xml hands a whole text
//!   node over as one event, so on the start of `ContentTransferEncoded` this module reads the
//!   raw bytes itself from the reader's `BufRead` (through `Reader::stream`, which keeps
//!   quick-xml's byte position right) up to the next `<`, base64-decodes them in fixed chunks
//!   (whitespace and line breaks allowed, padding optional) into the sink, then lets quick-xml
//!   go on with the end tag. Everything outside attachment bodies is gathered into a small
//!   element tree (capped by [`MAX_HEADER_NODES`] and [`MAX_TEXT`]) and mapped onto the model,
//!   so children may come in any order (`Bussiness` before or after the `TraceHeader`s, `From`'s
//!   fields in either order).
//! - Namespace rules are checked, not assumed: the root must be `edXML` in
//!   [`NAMESPACE`](crate::model::NAMESPACE); every element inside `edXMLEnvelope` (except the
//!   `Signature` subtree) must be written `edXML:Name` with the prefix bound to that namespace
//!   (the national axis rejects unprefixed children); the attachment part may use the default
//!   namespace but must resolve to it.
//! - Elements the model does not know are kept (`extra` of MessageHeader, OtherInfo,
//!   Organization, TraceHeader, Bussiness and the status header) or, in the small fixed
//!   containers, skipped and listed in `ignored` — never silently lost.
//!
//! Error codes of [`ReadError::code`] (the `N.`/`R.`/`M.` ones follow the validator convention):
//! `edxml.xml.malformed` (not well-formed XML; `offset` is the byte where it was noticed),
//! `edxml.io` (reading the input or writing to the sink failed), `M.edXML.root` (the root is not
//! `edXML`), `M.edXML.namespace` (an edXML element bound to another namespace URI or to none),
//! `M.edXML.prefix` (an envelope child without the `edXML:` prefix), `N.edXML.edXMLEnvelope`,
//! `N.edXML.edXMLHeader`, `N.edXML.MessageHeader` (a required part is missing),
//! `N.Attachment.ContentId` (attachment bytes before the attachment's `ContentId`),
//! `M.Attachment.ContentTransferEncoded` (invalid base64), `R.edXML.header` (the header is
//! larger than the caps).

use std::io::{self, BufRead, Write};

use base64::Engine as _;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use serde::Serialize;

use crate::model::{
    AttachmentInfo, AttachmentMeta, Bussiness, BussinessDocumentInfo, BussinessPlacement, Code,
    DocumentPackage, DocumentType, ExtraElement, MessageHeader, NAMESPACE, Organization, OtherInfo,
    PREFIX, PromulgationInfo, Receiver, ReplacementInfo, ResponseFor, SignerInfo, StaffInfo,
    StatusPackage, TraceHeader, TraceHeaderList,
};
use crate::validate::Issue;

/// Most elements accepted outside attachment bodies.
pub const MAX_HEADER_NODES: usize = 100_000;
/// Longest text accepted in one element outside attachment bodies (bytes).
pub const MAX_TEXT: usize = 1 << 20;
/// Decoded bytes handed to the sink per write.
const CHUNK: usize = 64 * 1024;

/// Where decoded attachments go.
pub trait AttachmentSink {
    /// Called once per attachment when its bytes start, with the metadata seen so far (the
    /// samples put `ContentId`, `AttachmentName`, `Description`, `ContentType` first).
    fn open(&mut self, meta: &AttachmentMeta) -> io::Result<Box<dyn Write + '_>>;
}

/// Decodes and drops the bytes (sizes are still counted): for `inspect` and validation.
#[derive(Debug, Default)]
pub struct DiscardSink;

impl AttachmentSink for DiscardSink {
    fn open(&mut self, _meta: &AttachmentMeta) -> io::Result<Box<dyn Write + '_>> {
        Ok(Box::new(io::sink()))
    }
}

/// Writes each attachment to its own file in a directory the caller owns (for instance a
/// `tempfile::TempDir`): `NNN.bin` in order of appearance, so a hostile `AttachmentName` never
/// names a path.
#[derive(Debug)]
pub struct DirSink {
    dir: std::path::PathBuf,
    files: Vec<(AttachmentMeta, std::path::PathBuf)>,
}

impl DirSink {
    pub fn new(dir: impl Into<std::path::PathBuf>) -> Self {
        DirSink {
            dir: dir.into(),
            files: Vec::new(),
        }
    }

    /// The files written, with the metadata they were opened with, in order.
    pub fn files(&self) -> &[(AttachmentMeta, std::path::PathBuf)] {
        &self.files
    }
}

impl AttachmentSink for DirSink {
    fn open(&mut self, meta: &AttachmentMeta) -> io::Result<Box<dyn Write + '_>> {
        let path = self.dir.join(format!("{:03}.bin", self.files.len() + 1));
        let file = std::fs::File::create(&path)?;
        self.files.push((meta.clone(), path));
        Ok(Box::new(io::BufWriter::new(file)))
    }
}

/// A parsed package of either kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "Kind")]
pub enum Package {
    Document(Box<ParsedDocument>),
    Status(Box<ParsedStatus>),
}

/// A parsed document package.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParsedDocument {
    pub package: DocumentPackage,
    /// `edXMLManifest/Reference`s.
    pub manifest: Vec<AttachmentMeta>,
    /// `AttachmentEncoded/Attachment`s with their decoded sizes.
    pub attachments: Vec<AttachmentInfo>,
    /// Whether `edXMLHeader` carried a `Signature` (not checked here).
    pub signature_present: bool,
    /// Paths of unknown elements that were skipped.
    pub ignored: Vec<String>,
    /// Problems found while reading that do not stop it (an attachment without content).
    pub issues: Vec<Issue>,
}

/// A parsed status package.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParsedStatus {
    pub package: StatusPackage,
    pub signature_present: bool,
    pub ignored: Vec<String>,
}

/// Why a package could not be read (codes in the module documentation).
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message} (byte {offset})")]
pub struct ReadError {
    pub code: &'static str,
    pub message: String,
    /// Byte offset in the input where the problem was noticed.
    pub offset: u64,
    #[source]
    pub io: Option<io::Error>,
}

impl ReadError {
    fn new(code: &'static str, offset: u64, message: impl Into<String>) -> Self {
        ReadError {
            code,
            message: message.into(),
            offset,
            io: None,
        }
    }

    fn io(offset: u64, e: io::Error) -> Self {
        ReadError {
            code: "edxml.io",
            message: e.to_string(),
            offset,
            io: Some(e),
        }
    }

    /// Stable error code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

/// Line and column (1-based; the column counts bytes) of byte `offset` of `input`, for
/// reporting a [`ReadError`] to a person. Streams, so it works on files of any size.
pub fn line_and_column<R: io::Read>(mut input: R, offset: u64) -> io::Result<(u64, u64)> {
    let mut buf = vec![0u8; CHUNK];
    let (mut line, mut column, mut seen) = (1u64, 1u64, 0u64);
    while seen < offset {
        let want = usize::try_from(offset - seen)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = input.read(&mut buf[..want])?;
        if n == 0 {
            break;
        }
        for &b in &buf[..n] {
            if b == b'\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        seen += n as u64;
    }
    Ok((line, column))
}

/// An element gathered outside attachment bodies.
#[derive(Debug, Default)]
struct Node {
    qname: String,
    local: String,
    attributes: Vec<(String, String)>,
    text: String,
    children: Vec<Node>,
}

/// Where the parser is, as far as the namespace and prefix rules care.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Zone {
    Root,
    Envelope,
    Signature,
    Attachments,
}

struct Open {
    node: Node,
    zone: Zone,
    declared: usize,
}

/// Reads one package from `input`, decoding attachment bodies into `sink`.
pub fn read_package<R: BufRead>(
    input: R,
    sink: &mut dyn AttachmentSink,
) -> Result<Package, ReadError> {
    let mut reader = Reader::from_reader(input);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.trim_text(false);
    let mut state = Parser {
        namespaces: Vec::new(),
        stack: Vec::new(),
        root: None,
        nodes: 0,
        signature_present: false,
        attachments: Vec::new(),
        issues: Vec::new(),
    };
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let offset = reader.buffer_position();
        let event = reader.read_event_into(&mut buf).map_err(|e| {
            let code = match &e {
                quick_xml::Error::Io(_) => "edxml.io",
                _ => "edxml.xml.malformed",
            };
            ReadError::new(code, reader.error_position(), e.to_string())
        })?;
        match event {
            Event::Start(start) => {
                let streaming = state.start(&start, offset)?;
                if streaming {
                    state.stream_attachment(&mut reader, sink)?;
                }
            }
            Event::End(_) => state.end(reader.buffer_position())?,
            Event::Text(text) => state.text(&text.xml10_content(), offset)?,
            Event::CData(data) => state.text(&data.xml10_content(), offset)?,
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => quick_xml::escape::resolve_predefined_entity(&r)
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            ReadError::new(
                                "edxml.xml.malformed",
                                offset,
                                format!("unknown entity &{};", &*r),
                            )
                        })?,
                    Err(e) => {
                        return Err(ReadError::new("edxml.xml.malformed", offset, e.to_string()));
                    }
                };
                state.text(&resolved, offset)?;
            }
            Event::Eof => break,
            Event::Empty(_)
            | Event::Comment(_)
            | Event::Decl(_)
            | Event::PI(_)
            | Event::DocType(_) => {}
        }
    }
    if !state.stack.is_empty() {
        return Err(ReadError::new(
            "edxml.xml.malformed",
            reader.buffer_position(),
            "unexpected end of input",
        ));
    }
    let root = state
        .root
        .take()
        .ok_or_else(|| ReadError::new("M.edXML.root", 0, "no root element"))?;
    state.finish(root, reader.buffer_position())
}

struct Parser {
    /// In-scope namespace declarations: (prefix, URI); `""` is the default namespace.
    namespaces: Vec<(String, String)>,
    stack: Vec<Open>,
    root: Option<Node>,
    nodes: usize,
    signature_present: bool,
    attachments: Vec<(AttachmentInfo, bool)>,
    issues: Vec<Issue>,
}

impl Parser {
    fn resolve(&self, prefix: &str) -> Option<&str> {
        self.namespaces
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, uri)| uri.as_str())
    }

    fn path(&self, local: &str) -> String {
        let mut parts: Vec<&str> = self.stack.iter().map(|o| o.node.local.as_str()).collect();
        parts.push(local);
        parts.join(".")
    }

    /// Handles a start tag; returns true when an attachment body begins.
    fn start(&mut self, start: &BytesStart<'_>, offset: u64) -> Result<bool, ReadError> {
        self.nodes += 1;
        if self.nodes > MAX_HEADER_NODES {
            return Err(ReadError::new(
                "R.edXML.header",
                offset,
                format!("more than {MAX_HEADER_NODES} elements"),
            ));
        }
        let qname = start.name().as_ref().to_owned();
        let (prefix, local) = match qname.split_once(':') {
            Some((p, l)) => (p.to_owned(), l.to_owned()),
            None => (String::new(), qname.clone()),
        };
        let mut attributes = Vec::new();
        let mut declared = 0;
        for attr in start.attributes() {
            let attr =
                attr.map_err(|e| ReadError::new("edxml.xml.malformed", offset, e.to_string()))?;
            let key = attr.key.as_ref().to_owned();
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| ReadError::new("edxml.xml.malformed", offset, e.to_string()))?
                .into_owned();
            if key == "xmlns" {
                self.namespaces.push((String::new(), value.clone()));
                declared += 1;
            } else if let Some(p) = key.strip_prefix("xmlns:") {
                self.namespaces.push((p.to_owned(), value.clone()));
                declared += 1;
            }
            attributes.push((key, value));
        }
        let parent = self.stack.last().map(|o| (o.zone, o.node.local.clone()));
        let uri = self.resolve(&prefix).map(str::to_owned);
        let path = self.path(&local);
        let bound_right = uri.as_deref() == Some(NAMESPACE);
        let zone = match &parent {
            None => {
                if local != "edXML" {
                    return Err(ReadError::new(
                        "M.edXML.root",
                        offset,
                        format!("root element is <{qname}>, expected <edXML>"),
                    ));
                }
                Zone::Root
            }
            Some((Zone::Signature, _)) => Zone::Signature,
            Some((Zone::Envelope, parent_local))
                if parent_local == "edXMLHeader" && local == "Signature" =>
            {
                self.signature_present = true;
                Zone::Signature
            }
            Some((Zone::Envelope, _)) => {
                if prefix != PREFIX {
                    return Err(ReadError::new(
                        "M.edXML.prefix",
                        offset,
                        format!("<{qname}> at {path} must be written <{PREFIX}:{local}>"),
                    ));
                }
                Zone::Envelope
            }
            Some((Zone::Root, _)) if local == "edXMLEnvelope" => {
                if prefix != PREFIX {
                    return Err(ReadError::new(
                        "M.edXML.prefix",
                        offset,
                        format!("<{qname}> must be written <{PREFIX}:edXMLEnvelope>"),
                    ));
                }
                Zone::Envelope
            }
            Some((Zone::Root, _)) | Some((Zone::Attachments, _)) => Zone::Attachments,
        };
        if zone != Zone::Signature && !bound_right {
            return Err(ReadError::new(
                "M.edXML.namespace",
                offset,
                format!(
                    "<{qname}> at {path} is in namespace {}, expected {NAMESPACE}",
                    uri.as_deref().unwrap_or("(none)")
                ),
            ));
        }
        let streaming = zone == Zone::Attachments
            && local == "ContentTransferEncoded"
            && parent.as_ref().is_some_and(|(_, p)| p == "Attachment");
        self.stack.push(Open {
            node: Node {
                qname,
                local,
                attributes,
                ..Node::default()
            },
            zone,
            declared,
        });
        Ok(streaming)
    }

    fn text(&mut self, text: &str, offset: u64) -> Result<(), ReadError> {
        if let Some(open) = self.stack.last_mut() {
            // Attachment bodies are streamed up to the first `<`; text after a comment or
            // CDATA inside one would otherwise land in memory, so such markup is refused.
            if open.zone == Zone::Attachments
                && open.node.local == "ContentTransferEncoded"
                && !text.trim().is_empty()
            {
                return Err(ReadError::new(
                    "M.Attachment.ContentTransferEncoded",
                    offset,
                    "markup inside attachment content",
                ));
            }
            if open.node.text.len() + text.len() > MAX_TEXT {
                return Err(ReadError::new(
                    "R.edXML.header",
                    offset,
                    format!("text of <{}> longer than {MAX_TEXT} bytes", open.node.qname),
                ));
            }
            open.node.text.push_str(text);
        }
        Ok(())
    }

    fn end(&mut self, offset: u64) -> Result<(), ReadError> {
        let open = self
            .stack
            .pop()
            .ok_or_else(|| ReadError::new("edxml.xml.malformed", offset, "unbalanced end tag"))?;
        self.namespaces
            .truncate(self.namespaces.len() - open.declared);
        if open.zone == Zone::Signature {
            // The signature is verified by the dsig module over the file; the model keeps only
            // whether there was one, so its subtree is dropped here.
            return Ok(());
        }
        if open.zone == Zone::Attachments && open.node.local == "Attachment" {
            let seen_body = self.attachments.last().is_some_and(|(_, closed)| !closed);
            let meta = attachment_meta(&open.node);
            if seen_body {
                if let Some((info, closed)) = self.attachments.last_mut() {
                    // Fields that came after the body still count.
                    info.meta = meta;
                    *closed = true;
                }
            } else {
                self.issues.push(Issue::missing(
                    "AttachmentEncoded.Attachment.ContentTransferEncoded",
                    format!("attachment {} has no content", meta.content_id),
                ));
                self.attachments
                    .push((AttachmentInfo { meta, size: 0 }, true));
            }
            return Ok(());
        }
        match self.stack.last_mut() {
            Some(parent) => parent.node.children.push(open.node),
            None => self.root = Some(open.node),
        }
        Ok(())
    }

    /// Decodes the body of the `ContentTransferEncoded` just opened into the sink.
    fn stream_attachment<R: BufRead>(
        &mut self,
        reader: &mut Reader<R>,
        sink: &mut dyn AttachmentSink,
    ) -> Result<(), ReadError> {
        let attachment = self
            .stack
            .iter()
            .rev()
            .nth(1)
            .map(|o| attachment_meta(&o.node))
            .unwrap_or_default();
        let offset = reader.buffer_position();
        if attachment.content_id.is_empty() {
            return Err(ReadError::new(
                "N.Attachment.ContentId",
                offset,
                "attachment content before its ContentId",
            ));
        }
        let mut decoder = Base64Stream::new();
        let size = {
            let mut out = sink
                .open(&attachment)
                .map_err(|e| ReadError::io(offset, e))?;
            let mut stream = reader.stream();
            loop {
                let here = stream.offset();
                let chunk = stream.fill_buf().map_err(|e| ReadError::io(here, e))?;
                if chunk.is_empty() {
                    break;
                }
                let (body, stop) = match chunk.iter().position(|&b| b == b'<') {
                    Some(i) => (&chunk[..i], true),
                    None => (chunk, false),
                };
                let used = body.len();
                decoder
                    .feed(body, &mut out)
                    .map_err(|e| b64_error(e, &attachment.content_id, here))?;
                stream.consume(used);
                if stop {
                    break;
                }
            }
            let end = stream.offset();
            decoder
                .finish(&mut out)
                .map_err(|e| b64_error(e, &attachment.content_id, end))?;
            out.flush().map_err(|e| ReadError::io(end, e))?;
            decoder.total
        };
        self.attachments.push((
            AttachmentInfo {
                meta: attachment,
                size,
            },
            false,
        ));
        Ok(())
    }

    fn finish(mut self, root: Node, end: u64) -> Result<Package, ReadError> {
        let envelope = root
            .children
            .iter()
            .find(|n| n.local == "edXMLEnvelope")
            .ok_or_else(|| ReadError::new("N.edXML.edXMLEnvelope", end, "no edXMLEnvelope"))?;
        let header = envelope
            .children
            .iter()
            .find(|n| n.local == "edXMLHeader")
            .ok_or_else(|| ReadError::new("N.edXML.edXMLHeader", end, "no edXMLHeader"))?;
        let mut ignored = Vec::new();
        let mut h = Fields::new(header, "edXMLHeader", &mut ignored);
        let message = h
            .child("MessageHeader")
            .ok_or_else(|| ReadError::new("N.edXML.MessageHeader", end, "no MessageHeader"))?;
        let is_status = message.children.iter().any(|n| n.local == "StatusCode");
        if is_status {
            h.finish_ignoring();
            let package = status_header(message, &mut ignored);
            return Ok(Package::Status(Box::new(ParsedStatus {
                package,
                signature_present: self.signature_present,
                ignored,
            })));
        }
        let trace = h.child("TraceHeaderList");
        h.finish_ignoring();
        let message_header = message_header(message, &mut ignored);
        let trace_header_list = trace.map(|t| trace_header_list(t, &mut ignored));
        let mut manifest = Vec::new();
        if let Some(body) = envelope.children.iter().find(|n| n.local == "edXMLBody") {
            let mut b = Fields::new(body, "edXMLBody", &mut ignored);
            if let Some(m) = b.child("edXMLManifest") {
                let mut mf = Fields::new(m, "edXMLBody.edXMLManifest", b.ignored);
                manifest = mf
                    .all("Reference")
                    .into_iter()
                    .map(attachment_meta)
                    .collect();
                mf.finish_ignoring();
            }
            b.finish_ignoring();
        }
        let attachments = self.attachments.drain(..).map(|(info, _)| info).collect();
        Ok(Package::Document(Box::new(ParsedDocument {
            package: DocumentPackage {
                message_header,
                trace_header_list,
            },
            manifest,
            attachments,
            signature_present: self.signature_present,
            ignored,
            issues: self.issues,
        })))
    }
}

fn b64_error(e: FeedError, content_id: &str, offset: u64) -> ReadError {
    match e {
        FeedError::Sink(io) => ReadError::io(offset, io),
        // The output buffer is sized for a full chunk, so this cannot happen; reported as
        // bad input rather than trusted.
        FeedError::Decode(base64::DecodeSliceError::OutputSliceTooSmall) => ReadError::new(
            "M.Attachment.ContentTransferEncoded",
            offset,
            format!("attachment {content_id}: base64 chunk did not fit"),
        ),
        FeedError::Decode(base64::DecodeSliceError::DecodeError(d)) => ReadError::new(
            "M.Attachment.ContentTransferEncoded",
            offset,
            format!("attachment {content_id}: invalid base64 ({d})"),
        ),
    }
}

/// Incremental base64 decoder: whitespace skipped, whole quanta decoded as they fill a
/// fixed buffer, the last partial quantum kept for the next feed.
struct Base64Stream {
    pending: Vec<u8>,
    decoded: Vec<u8>,
    total: u64,
    engine: base64::engine::GeneralPurpose,
}

/// Errors of the incremental decoder: bad base64, or the sink failing.
enum FeedError {
    Decode(base64::DecodeSliceError),
    Sink(io::Error),
}

impl Base64Stream {
    fn new() -> Self {
        let config = base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true);
        Base64Stream {
            pending: Vec::with_capacity(CHUNK + 4),
            decoded: vec![0u8; CHUNK / 4 * 3 + 3],
            total: 0,
            engine: base64::engine::GeneralPurpose::new(&base64::alphabet::STANDARD, config),
        }
    }

    fn feed(&mut self, bytes: &[u8], out: &mut dyn Write) -> Result<(), FeedError> {
        for &b in bytes {
            if matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
                continue;
            }
            self.pending.push(b);
            if self.pending.len() == CHUNK {
                self.flush(out, false)?;
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write) -> Result<(), FeedError> {
        self.flush(out, true)
    }

    /// Decodes the whole quanta of `pending` (all of it when `last`).
    fn flush(&mut self, out: &mut dyn Write, last: bool) -> Result<(), FeedError> {
        let usable = if last {
            self.pending.len()
        } else {
            self.pending.len() / 4 * 4
        };
        if usable == 0 {
            return Ok(());
        }
        let n = self
            .engine
            .decode_slice(&self.pending[..usable], &mut self.decoded)
            .map_err(FeedError::Decode)?;
        out.write_all(&self.decoded[..n]).map_err(FeedError::Sink)?;
        self.total += n as u64;
        self.pending.drain(..usable);
        Ok(())
    }
}

/// The children of one element, taken by name; what is not taken is extra.
struct Fields<'a, 'i> {
    node: &'a Node,
    path: String,
    used: Vec<bool>,
    ignored: &'i mut Vec<String>,
}

impl<'a, 'i> Fields<'a, 'i> {
    fn new(node: &'a Node, path: &str, ignored: &'i mut Vec<String>) -> Self {
        Fields {
            node,
            path: path.to_owned(),
            used: vec![false; node.children.len()],
            ignored,
        }
    }

    fn child(&mut self, local: &str) -> Option<&'a Node> {
        let i = self
            .node
            .children
            .iter()
            .enumerate()
            .position(|(i, n)| !self.used[i] && n.local == local)?;
        self.used[i] = true;
        self.node.children.get(i)
    }

    fn all(&mut self, local: &str) -> Vec<&'a Node> {
        let mut found = Vec::new();
        for (i, n) in self.node.children.iter().enumerate() {
            if !self.used[i] && n.local == local {
                self.used[i] = true;
                found.push(n);
            }
        }
        found
    }

    fn text(&mut self, local: &str) -> Option<String> {
        self.child(local).map(|n| n.text.clone())
    }

    fn required(&mut self, local: &str) -> String {
        self.text(local).unwrap_or_default()
    }

    fn texts(&mut self, outer: &str, inner: &str) -> Option<Vec<String>> {
        let path = format!("{}.{outer}", self.path);
        let list = self.child(outer)?;
        let mut f = Fields::new(list, &path, self.ignored);
        let items = f.all(inner).into_iter().map(|n| n.text.clone()).collect();
        f.finish_ignoring();
        Some(items)
    }

    /// Index of the first child called `local`, for order-sensitive containers.
    fn position(&self, local: &str) -> Option<usize> {
        self.node.children.iter().position(|n| n.local == local)
    }

    fn nested<T>(&mut self, local: &str, map: impl FnOnce(&mut Fields<'a, '_>) -> T) -> Option<T> {
        let path = format!("{}.{local}", self.path);
        let node = self.child(local)?;
        let mut f = Fields::new(node, &path, self.ignored);
        let value = map(&mut f);
        f.finish_ignoring();
        Some(value)
    }

    fn finish_extra(self) -> Vec<ExtraElement> {
        self.node
            .children
            .iter()
            .zip(&self.used)
            .filter(|(_, used)| !**used)
            .map(|(n, _)| extra(n))
            .collect()
    }

    fn finish_ignoring(self) {
        for (n, used) in self.node.children.iter().zip(&self.used) {
            if !used {
                self.ignored.push(format!("{}.{}", self.path, n.local));
            }
        }
    }
}

fn extra(n: &Node) -> ExtraElement {
    ExtraElement {
        name: n.qname.clone(),
        attributes: n.attributes.clone(),
        text: if n.children.is_empty() {
            n.text.clone()
        } else {
            String::new()
        },
        children: n.children.iter().map(extra).collect(),
    }
}

fn attachment_meta(n: &Node) -> AttachmentMeta {
    let text = |local: &str| {
        n.children
            .iter()
            .find(|c| c.local == local)
            .map(|c| c.text.clone())
    };
    AttachmentMeta {
        content_id: text("ContentId").unwrap_or_default(),
        content_type: text("ContentType").unwrap_or_default(),
        description: text("Description"),
        attachment_name: text("AttachmentName").unwrap_or_default(),
    }
}

fn organization(f: &mut Fields<'_, '_>) -> Organization {
    Organization {
        organ_id: f.required("OrganId"),
        organization_in_charge: f.text("OrganizationInCharge"),
        organ_name: f.text("OrganName"),
        organ_add: f.text("OrganAdd"),
        email: f.text("Email"),
        telephone: f.text("Telephone"),
        fax: f.text("Fax"),
        website: f.text("Website"),
        extra: Vec::new(),
    }
}

/// An organization with its unknown children kept.
fn organization_node(node: &Node, path: &str, ignored: &mut Vec<String>) -> Organization {
    let mut f = Fields::new(node, path, ignored);
    let mut org = organization(&mut f);
    org.extra = f.finish_extra();
    org
}

fn response_for(f: &mut Fields<'_, '_>) -> ResponseFor {
    ResponseFor {
        organ_id: f.required("OrganId"),
        code: f.required("Code"),
        promulgation_date: f.required("PromulgationDate"),
        document_id: f.text("DocumentId"),
    }
}

fn staff_info(f: &mut Fields<'_, '_>) -> StaffInfo {
    StaffInfo {
        department: f.text("Department"),
        staff: f.text("Staff"),
        email: f.text("Email"),
        mobile: f.text("Mobile"),
    }
}

fn message_header(node: &Node, ignored: &mut Vec<String>) -> MessageHeader {
    let mut f = Fields::new(node, "MessageHeader", ignored);
    let from = f
        .child("From")
        .map(|n| organization_node(n, "MessageHeader.From", f.ignored))
        .unwrap_or_default();
    let to = f
        .all("To")
        .into_iter()
        .map(|n| organization_node(n, "MessageHeader.To", f.ignored))
        .collect();
    let document_id = f.text("DocumentId");
    let code = f.nested("Code", |c| Code {
        code_number: c.required("CodeNumber"),
        code_notation: c.required("CodeNotation"),
    });
    let promulgation_info = f.nested("PromulgationInfo", |p| PromulgationInfo {
        place: p.text("Place"),
        promulgation_date: p.required("PromulgationDate"),
    });
    let document_type = f.nested("DocumentType", |t| DocumentType {
        kind: t.required("Type"),
        type_detail: t.text("TypeDetail"),
        type_name: t.text("TypeName"),
    });
    let subject = f.text("Subject");
    let content = f.text("Content");
    let signer_info = f.nested("SignerInfo", |s| SignerInfo {
        competence: s.text("Competence"),
        position: s.text("Position"),
        full_name: s.text("FullName"),
    });
    let due_date = f.text("DueDate");
    let other_info = f.child("OtherInfo").map(|n| {
        let mut o = Fields::new(n, "MessageHeader.OtherInfo", f.ignored);
        let mut info = OtherInfo {
            priority: o.text("Priority"),
            sphere_of_promulgation: o.text("SphereOfPromulgation"),
            typer_notation: o.text("TyperNotation"),
            promulgation_amount: o.text("PromulgationAmount"),
            page_amount: o.text("PageAmount"),
            direction: o.text("Direction"),
            appendixes: o.texts("Appendixes", "Appendix"),
            extra: Vec::new(),
        };
        info.extra = o.finish_extra();
        info
    });
    let steering_type = f.text("SteeringType");
    let to_places = f.texts("ToPlaces", "Place");
    let response_for = f
        .all("ResponseFor")
        .into_iter()
        .map(|n| {
            let mut r = Fields::new(n, "MessageHeader.ResponseFor", f.ignored);
            let value = response_for(&mut r);
            r.finish_ignoring();
            value
        })
        .collect();
    MessageHeader {
        from,
        to,
        document_id,
        code,
        promulgation_info,
        document_type,
        subject,
        content,
        signer_info,
        due_date,
        other_info,
        steering_type,
        to_places,
        response_for,
        extra: f.finish_extra(),
    }
}

fn trace_header_list(node: &Node, ignored: &mut Vec<String>) -> TraceHeaderList {
    let mut f = Fields::new(node, "TraceHeaderList", ignored);
    let placement = match (f.position("Bussiness"), f.position("TraceHeader")) {
        (Some(b), Some(t)) if b < t => BussinessPlacement::First,
        _ => BussinessPlacement::Last,
    };
    let trace_header = f
        .all("TraceHeader")
        .into_iter()
        .map(|n| {
            let mut t = Fields::new(n, "TraceHeaderList.TraceHeader", f.ignored);
            let mut th = TraceHeader {
                organ_id: t.required("OrganId"),
                timestamp: t.required("Timestamp"),
                extra: Vec::new(),
            };
            th.extra = t.finish_extra();
            th
        })
        .collect();
    let bussiness = f.child("Bussiness").map(|n| bussiness(n, f.ignored));
    f.finish_ignoring();
    TraceHeaderList {
        trace_header,
        bussiness,
        bussiness_placement: placement,
    }
}

fn bussiness(node: &Node, ignored: &mut Vec<String>) -> Bussiness {
    let mut f = Fields::new(node, "TraceHeaderList.Bussiness", ignored);
    let document_id = f.text("DocumentId");
    let bussiness_doc_type = f.required("BussinessDocType");
    let bussiness_doc_reason = f.text("BussinessDocReason");
    let paper = f.text("Paper");
    let bussiness_document_info = f.nested("BussinessDocumentInfo", |i| {
        let document_info = i.text("DocumentInfo");
        let document_receiver = i.text("DocumentReceiver");
        let receiver_list = i.nested("ReceiverList", |l| {
            let path = format!("{}.Receiver", l.path);
            l.all("Receiver")
                .into_iter()
                .map(|n| {
                    let mut r = Fields::new(n, &path, l.ignored);
                    let value = Receiver {
                        organ_id: r.required("OrganId"),
                        receiver_type: r.required("ReceiverType"),
                    };
                    r.finish_ignoring();
                    value
                })
                .collect()
        });
        BussinessDocumentInfo {
            document_info,
            document_receiver,
            receiver_list,
        }
    });
    let staff_info = f.nested("StaffInfo", staff_info);
    let replacement_info_list = f.nested("ReplacementInfoList", |l| {
        let path = format!("{}.ReplacementInfo", l.path);
        l.all("ReplacementInfo")
            .into_iter()
            .map(|n| {
                let mut r = Fields::new(n, &path, l.ignored);
                let value = ReplacementInfo {
                    document_id: r.required("DocumentId"),
                    organ_id_list: r.texts("OrganIdList", "OrganId").unwrap_or_default(),
                };
                r.finish_ignoring();
                value
            })
            .collect()
    });
    let mut b = Bussiness {
        document_id,
        bussiness_doc_type,
        bussiness_doc_reason,
        paper,
        bussiness_document_info,
        staff_info,
        replacement_info_list,
        extra: Vec::new(),
    };
    b.extra = f.finish_extra();
    b
}

fn status_header(node: &Node, ignored: &mut Vec<String>) -> StatusPackage {
    let mut f = Fields::new(node, "MessageHeader", ignored);
    let from = f
        .child("From")
        .map(|n| organization_node(n, "MessageHeader.From", f.ignored))
        .unwrap_or_default();
    let response_for = f.nested("ResponseFor", response_for).unwrap_or_default();
    let staff_info = f.nested("StaffInfo", staff_info);
    let status_code = f.required("StatusCode");
    let description = f.text("Description");
    let timestamp = f.required("Timestamp");
    StatusPackage {
        from,
        response_for,
        staff_info,
        status_code,
        description,
        timestamp,
        extra: f.finish_extra(),
    }
}
