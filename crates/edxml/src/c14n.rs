//! XML canonicalisation (W3C Canonical XML 1.0 and Exclusive XML Canonicalization 1.0, both
//! without comments), streaming.
//!
//! Two halves that the XML-DSig code drives separately:
//! - [`XmlStream`] pulls [`Node`]s out of any `BufRead`: quick-xml parses the markup, but text
//!   between tags is read here straight from the underlying reader in chunks of at most
//!   [`TEXT_CHUNK`] bytes (quick-xml would return a whole text node as one event, and an edXML
//!   attachment is one text node of hundreds of megabytes). Line ends are normalised, character
//!   and predefined entity references decoded, attribute values normalised, namespaces
//!   resolved; the byte offset of every event is known, so a caller can splice bytes in.
//! - [`Canonicalizer`] turns those nodes into canonical bytes written to any `Write` (usually a
//!   hasher): namespace declarations only where they change what the output parent has in effect,
//!   sorted with the default namespace first; attributes sorted by (namespace URI, local name);
//!   the canonical escaping of text and attribute values; empty elements expanded; the XML
//!   declaration, the DTD and comments dropped.
//!
//! Invariants: memory is bounded by the largest tag (quick-xml holds one tag) plus one text chunk,
//! whatever the size of the text nodes. Only UTF-8 input is accepted, and a DTD that could change
//! the document (entity or attribute-list declarations) is refused rather than ignored, because
//! canonical bytes that silently differ from another implementation's would break signatures.

use std::io::{self, BufRead, Read, Write};

use quick_xml::events::{BytesStart, Event};

/// The namespace bound to the `xml` prefix by definition.
pub const XML_NAMESPACE: &str = "http://www.w3.org/XML/1998/namespace";

/// Largest piece of text handed out as one [`Node::Text`].
pub const TEXT_CHUNK: usize = 64 * 1024;

/// Longest entity or character reference accepted (`&#x10FFFF;` is 10 bytes).
const MAX_REFERENCE: usize = 32;

/// Why a document could not be canonicalised.
#[derive(Debug, thiserror::Error)]
pub enum C14nError {
    #[error("reading the document failed: {0}")]
    Io(#[from] io::Error),
    #[error("the document is not well-formed XML: {0}")]
    Malformed(String),
    #[error("the document uses an XML feature canonicalisation here does not support: {0}")]
    Unsupported(String),
}

impl C14nError {
    /// Stable code of the error.
    pub fn code(&self) -> &'static str {
        match self {
            C14nError::Io(_) => "xml.c14n.io",
            C14nError::Malformed(_) => "xml.c14n.malformed",
            C14nError::Unsupported(_) => "xml.c14n.unsupported",
        }
    }
}

impl From<quick_xml::Error> for C14nError {
    fn from(e: quick_xml::Error) -> Self {
        match e {
            quick_xml::Error::Io(io) => C14nError::Io(io::Error::new(io.kind(), io.to_string())),
            other => C14nError::Malformed(other.to_string()),
        }
    }
}

impl From<quick_xml::events::attributes::AttrError> for C14nError {
    fn from(e: quick_xml::events::attributes::AttrError) -> Self {
        C14nError::Malformed(e.to_string())
    }
}

/// Which canonicalisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Canonical XML 1.0 (`http://www.w3.org/TR/2001/REC-xml-c14n-20010315`).
    Inclusive,
    /// Exclusive XML Canonicalization 1.0 (`http://www.w3.org/2001/10/xml-exc-c14n#`);
    /// `inclusive_prefixes` is its InclusiveNamespaces PrefixList (`""` for `#default`).
    Exclusive { inclusive_prefixes: Vec<String> },
}

/// An attribute with its value already normalised (references decoded, whitespace folded).
#[derive(Clone, Debug)]
pub struct Attribute {
    pub qname: String,
    pub namespace: String,
    pub value: String,
}

impl Attribute {
    pub fn local_name(&self) -> &str {
        split_qname(&self.qname).1
    }
    pub fn prefix(&self) -> &str {
        split_qname(&self.qname).0
    }
}

/// An element as the stream reports it. Namespace declarations are not attributes here: they
/// live in the [`NsScope`] frame the element opened.
#[derive(Clone, Debug)]
pub struct Element {
    pub qname: String,
    /// The resolved namespace URI, empty when the element is in no namespace.
    pub namespace: String,
    pub attributes: Vec<Attribute>,
}

impl Element {
    pub fn local_name(&self) -> &str {
        split_qname(&self.qname).1
    }
    pub fn prefix(&self) -> &str {
        split_qname(&self.qname).0
    }
    /// Whether this element has the expanded name `{namespace}local`.
    pub fn is(&self, namespace: &str, local: &str) -> bool {
        self.namespace == namespace && self.local_name() == local
    }
    /// The value of the unqualified attribute `name`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.qname == name)
            .map(|a| a.value.as_str())
    }
}

fn split_qname(qname: &str) -> (&str, &str) {
    match qname.split_once(':') {
        Some((prefix, local)) => (prefix, local),
        None => ("", qname),
    }
}

/// The namespace bindings and `xml:*` attributes in effect around a fragment, flattened: what a
/// fragment (an XML-DSig SignedInfo) inherits from the document it sits in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NsContext {
    /// (prefix, URI), one per prefix; `""` is the default namespace.
    pub bindings: Vec<(String, String)>,
    /// (local name, value) of inherited `xml:*` attributes, one per name.
    pub xml_attributes: Vec<(String, String)>,
}

impl NsContext {
    /// Binds `prefix` to `uri`, replacing any earlier binding of that prefix.
    pub fn bind(&mut self, prefix: &str, uri: &str) {
        self.bindings.retain(|(p, _)| p != prefix);
        self.bindings.push((prefix.to_owned(), uri.to_owned()));
    }
}

#[derive(Debug, Default)]
struct Frame {
    bindings: Vec<(String, String)>,
    xml_attributes: Vec<(String, String)>,
}

/// The namespace scope: one frame per open element, under a base frame for the context.
#[derive(Debug)]
pub struct NsScope {
    frames: Vec<Frame>,
}

impl NsScope {
    fn new(context: &NsContext) -> Self {
        NsScope {
            frames: vec![Frame {
                bindings: context.bindings.clone(),
                xml_attributes: context.xml_attributes.clone(),
            }],
        }
    }

    /// The URI bound to `prefix` (`""` = default namespace); `None` when unbound. A default
    /// namespace undeclared with `xmlns=""` is reported as `Some("")`.
    pub fn lookup(&self, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some(XML_NAMESPACE);
        }
        self.frames.iter().rev().find_map(|f| {
            f.bindings
                .iter()
                .find(|(p, _)| p == prefix)
                .map(|(_, u)| u.as_str())
        })
    }

    /// Every binding in effect, nearest declaration winning, in no particular order.
    pub fn in_scope(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = Vec::new();
        for frame in self.frames.iter().rev() {
            for (p, u) in &frame.bindings {
                if !out.iter().any(|(q, _)| q == p) {
                    out.push((p, u));
                }
            }
        }
        out
    }

    /// The bindings declared by the innermost open element.
    pub fn own_bindings(&self) -> Vec<(&str, &str)> {
        self.frames
            .last()
            .map(|f| {
                f.bindings
                    .iter()
                    .map(|(p, u)| (p.as_str(), u.as_str()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `xml:*` attributes the innermost open element inherits from its ancestors (and context).
    pub fn inherited_xml_attributes(&self) -> Vec<(&str, &str)> {
        let ancestors = &self.frames[..self.frames.len().saturating_sub(1)];
        let mut out: Vec<(&str, &str)> = Vec::new();
        for frame in ancestors.iter().rev() {
            for (n, v) in &frame.xml_attributes {
                if !out.iter().any(|(m, _)| m == n) {
                    out.push((n, v));
                }
            }
        }
        out
    }

    /// The flattened context, including (`with_innermost`) or excluding the innermost frame.
    pub fn context(&self, with_innermost: bool) -> NsContext {
        let keep = if with_innermost {
            self.frames.len()
        } else {
            self.frames.len().saturating_sub(1)
        };
        let mut ctx = NsContext::default();
        for frame in &self.frames[..keep] {
            for (p, u) in &frame.bindings {
                ctx.bind(p, u);
            }
            for (n, v) in &frame.xml_attributes {
                ctx.xml_attributes.retain(|(m, _)| m != n);
                ctx.xml_attributes.push((n.clone(), v.clone()));
            }
        }
        ctx
    }
}

/// One piece of the document, in document order.
#[derive(Debug)]
pub enum Node<'a> {
    /// An element opens (an empty element is reported as `Start` then `End`). The scope
    /// already contains the element's own declarations.
    Start {
        element: &'a Element,
        scope: &'a NsScope,
        /// Open elements including this one.
        depth: usize,
    },
    /// An element closes; the scope is still the element's own.
    End {
        element: &'a Element,
        scope: &'a NsScope,
        /// Open elements including this one (the same as at its Start).
        depth: usize,
    },
    /// Character data (references decoded, line ends normalised); a text node may come in
    /// several chunks.
    Text(&'a str),
    ProcessingInstruction {
        target: &'a str,
        data: &'a str,
    },
    Eof,
}

/// Counts the bytes consumed from the inner reader (so callers know where each event starts)
/// and optionally keeps a copy of them (to capture a fragment's exact bytes).
struct Counting<R> {
    inner: R,
    position: u64,
    capture: Option<Vec<u8>>,
}

impl<R: BufRead> Read for Counting<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        if let Some(capture) = &mut self.capture {
            // The bytes being consumed are still in the inner buffer: fill_buf does no I/O here.
            if let Ok(buffered) = self.inner.fill_buf() {
                capture.extend_from_slice(&buffered[..n.min(buffered.len())]);
            }
        }
        self.inner.consume(n);
        self.position += n as u64;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    None,
    /// An empty element was reported as Start: report its End next.
    EndOfEmpty,
    /// An End was reported: drop its element and scope frame before the next node.
    Pop,
}

/// A pull parser producing [`Node`]s with bounded memory (see the module doc).
pub struct XmlStream<R: BufRead> {
    reader: quick_xml::Reader<Counting<R>>,
    event_buf: Vec<u8>,
    scope: NsScope,
    open: Vec<Element>,
    pending: Pending,
    root_seen: bool,
    started: bool,
    /// Decoded text of the current chunk; `text_valid` bytes of it are complete UTF-8, the rest
    /// is the start of a character continued in the next chunk.
    text: Vec<u8>,
    text_valid: usize,
    pending_cr: bool,
    reference: Option<Vec<u8>>,
    pi_target: String,
    pi_data: String,
    raw_tag: String,
    event_start: u64,
    last_empty: bool,
}

impl<R: BufRead> XmlStream<R> {
    /// A stream over a whole document.
    pub fn new(input: R) -> Self {
        Self::with_context(input, &NsContext::default())
    }

    /// A stream over a fragment (or document) whose elements inherit `context`.
    pub fn with_context(input: R, context: &NsContext) -> Self {
        let mut reader = quick_xml::Reader::from_reader(Counting {
            inner: input,
            position: 0,
            capture: None,
        });
        // End-name checks stay on (the default): a mismatched end tag is malformed.
        reader.config_mut().trim_text(false);
        XmlStream {
            reader,
            event_buf: Vec::new(),
            scope: NsScope::new(context),
            open: Vec::new(),
            pending: Pending::None,
            root_seen: false,
            started: false,
            text: Vec::new(),
            text_valid: 0,
            pending_cr: false,
            reference: None,
            pi_target: String::new(),
            pi_data: String::new(),
            raw_tag: String::new(),
            event_start: 0,
            last_empty: false,
        }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.reader.get_ref().position
    }

    /// Byte offset where the markup of the last reported Start, End or processing instruction
    /// began (for an empty element's End: where its `<…/>` began).
    pub fn event_start(&self) -> u64 {
        self.event_start
    }

    /// Whether the element of the last Start or End reported was written `<…/>`.
    pub fn last_element_was_empty(&self) -> bool {
        self.last_empty
    }

    /// Number of open elements.
    pub fn depth(&self) -> usize {
        self.open.len()
    }

    /// The exact text between `<` and `>` of the last start tag reported.
    pub fn raw_start_tag(&self) -> &str {
        &self.raw_tag
    }

    /// Starts keeping a copy of every byte consumed from now on, after `prefix`.
    pub fn start_capture(&mut self, prefix: &[u8]) {
        self.reader.get_mut().capture = Some(prefix.to_vec());
    }

    /// Bytes captured so far (0 when not capturing).
    pub fn captured_len(&self) -> usize {
        self.reader.get_ref().capture.as_ref().map_or(0, Vec::len)
    }

    /// Stops capturing and hands back what was captured.
    pub fn take_capture(&mut self) -> Vec<u8> {
        self.reader.get_mut().capture.take().unwrap_or_default()
    }

    /// The next node.
    pub fn next_node(&mut self) -> Result<Node<'_>, C14nError> {
        match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::EndOfEmpty => {
                self.pending = Pending::Pop;
                return self.end_node();
            }
            Pending::Pop => {
                self.open.pop();
                self.scope.frames.pop();
            }
            Pending::None => {}
        }
        if !self.started {
            self.started = true;
            self.skip_bom()?;
        }
        loop {
            if self.read_text()? {
                if self.open.is_empty()
                    && !self
                        .current_text()
                        .trim_matches([' ', '\t', '\n', '\r'])
                        .is_empty()
                {
                    return Err(C14nError::Malformed(
                        "text outside the document element".into(),
                    ));
                }
                return Ok(Node::Text(self.current_text()));
            }
            self.event_start = self.position();
            self.event_buf.clear();
            let event = self.reader.read_event_into(&mut self.event_buf)?;
            match event {
                Event::Decl(decl) => {
                    if let Some(encoding) = decl.encoding() {
                        let encoding = encoding?;
                        if !encoding.eq_ignore_ascii_case("utf-8") {
                            return Err(C14nError::Unsupported(format!(
                                "encoding {encoding} (only UTF-8 is read)"
                            )));
                        }
                    }
                }
                Event::DocType(doctype) => {
                    // Entity and attribute-list declarations change the document; nothing here
                    // applies them, so refuse instead of producing different canonical bytes.
                    if doctype.contains("<!ENTITY") || doctype.contains("<!ATTLIST") {
                        return Err(C14nError::Unsupported(
                            "a DTD declaring entities or attribute defaults".into(),
                        ));
                    }
                }
                Event::Comment(_) => {}
                Event::Start(start) => {
                    // Owned, so the event no longer borrows the stream's buffer.
                    let start = start.into_owned();
                    let element = self.open_element(&start)?;
                    self.open.push(element);
                    self.last_empty = false;
                    return self.start_node();
                }
                Event::Empty(start) => {
                    let start = start.into_owned();
                    let element = self.open_element(&start)?;
                    self.open.push(element);
                    self.last_empty = true;
                    self.pending = Pending::EndOfEmpty;
                    return self.start_node();
                }
                Event::End(_) => {
                    self.last_empty = false;
                    self.pending = Pending::Pop;
                    return self.end_node();
                }
                Event::CData(cdata) => {
                    if self.open.is_empty() {
                        return Err(C14nError::Malformed(
                            "CDATA outside the document element".into(),
                        ));
                    }
                    let content = normalize_line_ends(&cdata);
                    self.text.clear();
                    self.text.extend_from_slice(content.as_bytes());
                    self.text_valid = self.text.len();
                    if !content.is_empty() {
                        return Ok(Node::Text(self.current_text()));
                    }
                }
                Event::PI(pi) => {
                    self.pi_target = pi.target().to_owned();
                    self.pi_data = normalize_line_ends(
                        pi.content().trim_start_matches([' ', '\t', '\r', '\n']),
                    );
                    return Ok(Node::ProcessingInstruction {
                        target: &self.pi_target,
                        data: &self.pi_data,
                    });
                }
                Event::Text(_) | Event::GeneralRef(_) => {
                    // Text is read before quick-xml gets to it (read_text), so this cannot happen.
                    return Err(C14nError::Malformed("unexpected text event".into()));
                }
                Event::Eof => {
                    if !self.open.is_empty() {
                        return Err(C14nError::Malformed(
                            "unclosed element at end of input".into(),
                        ));
                    }
                    if !self.root_seen {
                        return Err(C14nError::Malformed("no document element".into()));
                    }
                    return Ok(Node::Eof);
                }
            }
        }
    }

    fn start_node(&self) -> Result<Node<'_>, C14nError> {
        match self.open.last() {
            Some(element) => Ok(Node::Start {
                element,
                scope: &self.scope,
                depth: self.open.len(),
            }),
            None => Err(C14nError::Malformed("no open element".into())),
        }
    }

    fn end_node(&self) -> Result<Node<'_>, C14nError> {
        match self.open.last() {
            Some(element) => Ok(Node::End {
                element,
                scope: &self.scope,
                depth: self.open.len(),
            }),
            None => Err(C14nError::Malformed("end tag without start tag".into())),
        }
    }

    fn current_text(&self) -> &str {
        // read_text only ever counts validated UTF-8 into text_valid.
        std::str::from_utf8(&self.text[..self.text_valid]).unwrap_or_default()
    }

    /// Drops a UTF-8 byte order mark, byte by byte: the reader's buffer may be shorter than it.
    fn skip_bom(&mut self) -> Result<(), C14nError> {
        let inner = self.reader.get_mut();
        for (i, expected) in [0xEF, 0xBB, 0xBF].into_iter().enumerate() {
            match inner.fill_buf()?.first() {
                Some(&b) if b == expected => inner.consume(1),
                _ if i == 0 => return Ok(()),
                _ => return Err(C14nError::Malformed("a broken byte order mark".into())),
            }
        }
        Ok(())
    }

    fn open_element(&mut self, start: &BytesStart<'_>) -> Result<Element, C14nError> {
        if self.open.is_empty() {
            if self.root_seen {
                return Err(C14nError::Malformed("a second document element".into()));
            }
            self.root_seen = true;
        }
        self.raw_tag.clear();
        self.raw_tag.push_str(start);
        let qname = start.name().0.to_owned();
        let mut frame = Frame::default();
        let mut attributes = Vec::new();
        for attribute in start.attributes() {
            let attribute = attribute?;
            let key = attribute.key.0;
            let value = normalize_attribute_value(&attribute.value)?;
            if key == "xmlns" {
                frame.bindings.push((String::new(), value));
            } else if let Some(prefix) = key.strip_prefix("xmlns:") {
                if value.is_empty() {
                    return Err(C14nError::Malformed(format!(
                        "prefix {prefix} undeclared (not allowed in XML 1.0 namespaces)"
                    )));
                }
                frame.bindings.push((prefix.to_owned(), value));
            } else {
                if let Some(local) = key.strip_prefix("xml:") {
                    frame.xml_attributes.push((local.to_owned(), value.clone()));
                }
                attributes.push(Attribute {
                    qname: key.to_owned(),
                    namespace: String::new(),
                    value,
                });
            }
        }
        self.scope.frames.push(frame);
        let (prefix, _) = split_qname(&qname);
        let namespace = match self.scope.lookup(prefix) {
            Some(uri) => uri.to_owned(),
            None if prefix.is_empty() => String::new(),
            None => return Err(C14nError::Malformed(format!("unbound prefix {prefix}"))),
        };
        for attribute in &mut attributes {
            let prefix = attribute.prefix();
            if !prefix.is_empty() {
                match self.scope.lookup(prefix) {
                    Some(uri) => attribute.namespace = uri.to_owned(),
                    None => return Err(C14nError::Malformed(format!("unbound prefix {prefix}"))),
                }
            }
        }
        Ok(Element {
            qname,
            namespace,
            attributes,
        })
    }

    /// Reads text up to the next `<` (or end of input, or one chunk), decoding it into
    /// `self.text`. Returns whether there is text to report.
    fn read_text(&mut self) -> Result<bool, C14nError> {
        self.text.drain(..self.text_valid);
        self.text_valid = 0;
        let mut ended = false;
        loop {
            if self.text.len() >= TEXT_CHUNK {
                break;
            }
            let inner = self.reader.get_mut();
            let available = inner.fill_buf()?;
            if available.is_empty() {
                ended = true;
                if self.reference.is_some() {
                    return Err(C14nError::Malformed("unterminated reference".into()));
                }
                if self.pending_cr {
                    self.pending_cr = false;
                    self.text.push(b'\n');
                }
                break;
            }
            if let Some(reference) = &mut self.reference {
                match available.iter().position(|&b| b == b';') {
                    Some(end) => {
                        reference.extend_from_slice(&available[..end]);
                        inner.consume(end + 1);
                        let name = std::str::from_utf8(reference)
                            .map_err(|_| C14nError::Malformed("reference is not UTF-8".into()))?;
                        let decoded = decode_reference(name)?;
                        let mut utf8 = [0u8; 4];
                        self.text
                            .extend_from_slice(decoded.encode_utf8(&mut utf8).as_bytes());
                        self.reference = None;
                    }
                    None => {
                        if reference.len() + available.len() > MAX_REFERENCE {
                            return Err(C14nError::Malformed("unterminated reference".into()));
                        }
                        reference.extend_from_slice(available);
                        let n = available.len();
                        inner.consume(n);
                    }
                }
                continue;
            }
            if self.pending_cr {
                // A CR, or a CR LF pair, is one LF (XML 1.0 §2.11).
                self.pending_cr = false;
                self.text.push(b'\n');
                if available[0] == b'\n' {
                    inner.consume(1);
                }
                continue;
            }
            match available[0] {
                b'<' => {
                    ended = true;
                    break;
                }
                b'&' => {
                    inner.consume(1);
                    self.reference = Some(Vec::new());
                }
                b'\r' if available.get(1) == Some(&b'\n') => {
                    self.text.push(b'\n');
                    inner.consume(2);
                }
                b'\r' => {
                    // Whether an LF follows is known only after the next read.
                    inner.consume(1);
                    self.pending_cr = true;
                }
                _ => {
                    let run =
                        memchr::memchr3(b'<', b'&', b'\r', available).unwrap_or(available.len());
                    let take = run.min(TEXT_CHUNK - self.text.len());
                    self.text.extend_from_slice(&available[..take]);
                    inner.consume(take);
                }
            }
        }
        self.text_valid = match std::str::from_utf8(&self.text) {
            Ok(_) => self.text.len(),
            // A character cut by the chunk boundary: keep its first bytes for the next chunk.
            Err(e) if e.error_len().is_none() && !ended => e.valid_up_to(),
            Err(_) => return Err(C14nError::Malformed("text is not UTF-8".into())),
        };
        Ok(self.text_valid > 0)
    }
}

fn normalize_line_ends(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// Decodes the name of a reference (between `&` and `;`).
fn decode_reference(name: &str) -> Result<char, C14nError> {
    let code = if let Some(hex) = name.strip_prefix("#x") {
        u32::from_str_radix(hex, 16).ok()
    } else if let Some(dec) = name.strip_prefix('#') {
        dec.parse::<u32>().ok()
    } else {
        return match name {
            "amp" => Ok('&'),
            "lt" => Ok('<'),
            "gt" => Ok('>'),
            "quot" => Ok('"'),
            "apos" => Ok('\''),
            other => Err(C14nError::Unsupported(format!(
                "entity &{other}; (no DTD is read)"
            ))),
        };
    };
    code.filter(|&c| c != 0)
        .and_then(char::from_u32)
        .ok_or_else(|| C14nError::Malformed(format!("bad character reference &{name};")))
}

/// Attribute-value normalisation for CDATA attributes (XML 1.0 §3.3.3): a literal CR LF, CR, LF
/// or tab becomes one space; references are replaced by what they stand for (so `&#xA;` stays
/// a line feed).
fn normalize_attribute_value(raw: &str) -> Result<String, C14nError> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find(['&', '\r', '\n', '\t']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("\r\n") {
            out.push(' ');
            rest = after;
        } else if let Some(after) = tail.strip_prefix('&') {
            let end = after.find(';').ok_or_else(|| {
                C14nError::Malformed("unterminated reference in attribute".into())
            })?;
            out.push(decode_reference(&after[..end])?);
            rest = &after[end + 1..];
        } else {
            out.push(' ');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Writes canonical bytes for the nodes it is given (see the module doc). Nodes outside the
/// document element other than processing instructions are dropped; the first element given is
/// the apex of the output (a whole document's root, or a fragment such as SignedInfo).
pub struct Canonicalizer<W: Write> {
    out: W,
    mode: Mode,
    /// Namespace declarations rendered by open output elements: (prefix, URI, depth).
    rendered: Vec<(String, String, usize)>,
    depth: usize,
    root_closed: bool,
}

impl<W: Write> Canonicalizer<W> {
    pub fn new(out: W, mode: Mode) -> Self {
        Canonicalizer {
            out,
            mode,
            rendered: Vec::new(),
            depth: 0,
            root_closed: false,
        }
    }

    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    /// Feeds one node; `Eof` is ignored.
    pub fn node(&mut self, node: &Node<'_>) -> io::Result<()> {
        match node {
            Node::Start { element, scope, .. } => self.start(element, scope),
            Node::End { element, .. } => self.end(element),
            Node::Text(text) => self.text(text),
            Node::ProcessingInstruction { target, data } => {
                self.processing_instruction(target, data)
            }
            Node::Eof => Ok(()),
        }
    }

    fn rendered_uri(&self, prefix: &str) -> &str {
        self.rendered
            .iter()
            .rev()
            .find(|(p, _, _)| p == prefix)
            .map_or("", |(_, u, _)| u.as_str())
    }

    pub fn start(&mut self, element: &Element, scope: &NsScope) -> io::Result<()> {
        let apex = self.depth == 0;
        let candidates: Vec<(&str, &str)> = match &self.mode {
            // A whole document or a whole subtree: an element's output parent is its parent,
            // so only its own declarations can change anything, except at the apex, which
            // renders every binding it has in scope.
            Mode::Inclusive if apex => scope.in_scope(),
            Mode::Inclusive => scope.own_bindings(),
            Mode::Exclusive { inclusive_prefixes } => {
                let mut used: Vec<&str> = vec![element.prefix()];
                for attribute in &element.attributes {
                    let prefix = attribute.prefix();
                    if !prefix.is_empty() {
                        used.push(prefix);
                    }
                }
                for prefix in inclusive_prefixes {
                    if scope.lookup(prefix).is_some() {
                        used.push(prefix);
                    }
                }
                used.into_iter()
                    .map(|p| (p, scope.lookup(p).unwrap_or("")))
                    .collect()
            }
        };
        let mut declarations: Vec<(&str, &str)> = candidates
            .into_iter()
            .filter(|(p, u)| *p != "xml" && self.rendered_uri(p) != *u)
            .collect();
        declarations.sort_unstable();
        declarations.dedup();

        let mut attributes: Vec<(&str, &str, &str, &str)> = element
            .attributes
            .iter()
            .map(|a| {
                (
                    a.namespace.as_str(),
                    a.local_name(),
                    a.qname.as_str(),
                    a.value.as_str(),
                )
            })
            .collect();
        // Canonical XML 1.0 carries xml:* attributes of omitted ancestors onto the apex;
        // exclusive canonicalisation deliberately does not.
        let inherited: Vec<(String, &str)> = if apex && self.mode == Mode::Inclusive {
            scope
                .inherited_xml_attributes()
                .into_iter()
                .filter(|(name, _)| {
                    !element
                        .attributes
                        .iter()
                        .any(|a| a.namespace == XML_NAMESPACE && a.local_name() == *name)
                })
                .map(|(name, value)| (format!("xml:{name}"), value))
                .collect()
        } else {
            Vec::new()
        };
        for (qname, value) in &inherited {
            attributes.push((XML_NAMESPACE, split_qname(qname).1, qname, value));
        }
        attributes.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));

        self.out.write_all(b"<")?;
        self.out.write_all(element.qname.as_bytes())?;
        for (prefix, uri) in &declarations {
            if prefix.is_empty() {
                self.out.write_all(b" xmlns=\"")?;
            } else {
                self.out.write_all(b" xmlns:")?;
                self.out.write_all(prefix.as_bytes())?;
                self.out.write_all(b"=\"")?;
            }
            write_escaped_attribute(&mut self.out, uri)?;
            self.out.write_all(b"\"")?;
        }
        for (_, _, qname, value) in &attributes {
            self.out.write_all(b" ")?;
            self.out.write_all(qname.as_bytes())?;
            self.out.write_all(b"=\"")?;
            write_escaped_attribute(&mut self.out, value)?;
            self.out.write_all(b"\"")?;
        }
        self.out.write_all(b">")?;
        self.depth += 1;
        let depth = self.depth;
        let owned: Vec<(String, String, usize)> = declarations
            .iter()
            .map(|(p, u)| ((*p).to_owned(), (*u).to_owned(), depth))
            .collect();
        self.rendered.extend(owned);
        Ok(())
    }

    pub fn end(&mut self, element: &Element) -> io::Result<()> {
        self.out.write_all(b"</")?;
        self.out.write_all(element.qname.as_bytes())?;
        self.out.write_all(b">")?;
        let depth = self.depth;
        self.rendered.retain(|(_, _, d)| *d < depth);
        self.depth = self.depth.saturating_sub(1);
        if self.depth == 0 {
            self.root_closed = true;
        }
        Ok(())
    }

    pub fn text(&mut self, text: &str) -> io::Result<()> {
        if self.depth == 0 {
            return Ok(());
        }
        write_escaped_text(&mut self.out, text)
    }

    pub fn processing_instruction(&mut self, target: &str, data: &str) -> io::Result<()> {
        // Outside the document element, a PI is separated from the element by a line feed.
        if self.depth == 0 && self.root_closed {
            self.out.write_all(b"\n")?;
        }
        self.out.write_all(b"<?")?;
        self.out.write_all(target.as_bytes())?;
        if !data.is_empty() {
            self.out.write_all(b" ")?;
            self.out.write_all(data.as_bytes())?;
        }
        self.out.write_all(b"?>")?;
        if self.depth == 0 && !self.root_closed {
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Writes character data escaped as canonical XML does (`&`, `<`, `>`, CR); the result is
/// also well-formed element content for documents built by hand (a Signature's texts).
pub fn write_escaped_text<W: Write>(out: &mut W, text: &str) -> io::Result<()> {
    write_escaped(out, text, |b| match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'>' => Some(b"&gt;"),
        b'\r' => Some(b"&#xD;"),
        _ => None,
    })
}

fn write_escaped_attribute<W: Write>(out: &mut W, value: &str) -> io::Result<()> {
    write_escaped(out, value, |b| match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'"' => Some(b"&quot;"),
        b'\t' => Some(b"&#x9;"),
        b'\n' => Some(b"&#xA;"),
        b'\r' => Some(b"&#xD;"),
        _ => None,
    })
}

/// Writes `s`, replacing each byte `escape` maps (all ASCII) and copying runs in between whole.
fn write_escaped<W: Write>(
    out: &mut W,
    s: &str,
    escape: impl Fn(u8) -> Option<&'static [u8]>,
) -> io::Result<()> {
    let bytes = s.as_bytes();
    let mut run_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if let Some(replacement) = escape(b) {
            out.write_all(&bytes[run_start..i])?;
            out.write_all(replacement)?;
            run_start = i + 1;
        }
    }
    out.write_all(&bytes[run_start..])
}

/// Leaves out every element with one expanded name, and everything inside it.
#[derive(Debug)]
pub struct SubtreeFilter {
    namespace: String,
    local: String,
    /// Depth (as [`XmlStream::depth`] reports it at the Start) of the element being left out.
    skipping: Option<usize>,
    found: usize,
}

impl SubtreeFilter {
    pub fn new(namespace: &str, local: &str) -> Self {
        SubtreeFilter {
            namespace: namespace.to_owned(),
            local: local.to_owned(),
            skipping: None,
            found: 0,
        }
    }

    /// Whether `node` belongs in the output.
    pub fn admits(&mut self, node: &Node<'_>) -> bool {
        match (self.skipping, node) {
            (Some(skip), Node::End { depth, .. }) => {
                if *depth == skip {
                    self.skipping = None;
                }
                false
            }
            (Some(_), _) => false,
            (None, Node::Start { element, depth, .. })
                if element.is(&self.namespace, &self.local) =>
            {
                self.found += 1;
                self.skipping = Some(*depth);
                false
            }
            (None, _) => true,
        }
    }

    /// How many subtrees were left out.
    pub fn found(&self) -> usize {
        self.found
    }
}

/// Canonicalises a whole document from `input` into `out`, leaving out the subtrees `exclude`
/// matches. Returns the writer and how many subtrees were left out.
pub fn canonicalize_document<R: BufRead, W: Write>(
    input: R,
    out: W,
    mode: Mode,
    mut exclude: Option<&mut SubtreeFilter>,
) -> Result<W, C14nError> {
    let mut stream = XmlStream::new(input);
    let mut canonicalizer = Canonicalizer::new(out, mode);
    loop {
        let node = stream.next_node()?;
        if let Node::Eof = node {
            break;
        }
        let admitted = match exclude.as_deref_mut() {
            Some(filter) => filter.admits(&node),
            None => true,
        };
        if admitted {
            canonicalizer.node(&node)?;
        }
    }
    Ok(canonicalizer.into_inner())
}

/// Canonicalises a fragment (bytes of one element) that sits in `context`.
pub fn canonicalize_fragment(
    fragment: &[u8],
    context: &NsContext,
    mode: Mode,
) -> Result<Vec<u8>, C14nError> {
    let mut stream = XmlStream::with_context(fragment, context);
    let mut canonicalizer = Canonicalizer::new(Vec::new(), mode);
    loop {
        let node = stream.next_node()?;
        if let Node::Eof = node {
            break;
        }
        canonicalizer.node(&node)?;
    }
    Ok(canonicalizer.into_inner())
}
