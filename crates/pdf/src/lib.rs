//! Small A4 documents as PDF: paragraphs that wrap, bold spans, centred and right-aligned
//! lines, side-by-side columns, bordered tables, rules and QR codes drawn as vector squares.
//!
//! Text is NFC-normalised (Vietnamese letters then map to the font's precomposed glyphs, so no
//! shaping is needed) and set in Liberation Serif, metric-compatible with Times New Roman as
//! Nghị định 30/2020 asks. The fonts are compiled into the binary; each PDF embeds only the
//! glyphs it uses (a subset TrueType CID font) with a ToUnicode map, so documents stay a few
//! tens of kilobytes and their text extracts exactly. The crate does no I/O and reads no clock:
//! the same document always renders to the same bytes.

mod font;
mod layout;
mod pdfa;
mod write;

use unicode_normalization::UnicodeNormalization;

/// What can go wrong when rendering.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("font: {0}")]
    Font(String),
    #[error("QR code: {0}")]
    Qr(String),
    #[error("the document is too large ({0})")]
    TooLarge(&'static str),
}

/// Horizontal placement of a line within its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    #[default]
    Left,
    Center,
    Right,
}

/// A run of text in one weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub text: String,
    pub bold: bool,
}

impl Span {
    pub fn new(text: &str, bold: bool) -> Self {
        Self {
            text: text.nfc().collect(),
            bold,
        }
    }
}

/// A paragraph: spans wrapped to the column width.
#[derive(Debug, Clone, PartialEq)]
pub struct Paragraph {
    pub spans: Vec<Span>,
    pub align: Align,
    /// Font size in points.
    pub size: f32,
    /// Indent of the first line in points.
    pub indent: f32,
    /// Space below the paragraph in points.
    pub space_after: f32,
}

impl Paragraph {
    /// Regular text, 13 pt, left-aligned.
    pub fn new(text: &str) -> Self {
        Self::spans(vec![Span::new(text, false)])
    }

    pub fn spans(spans: Vec<Span>) -> Self {
        Self {
            spans,
            align: Align::Left,
            size: 13.0,
            indent: 0.0,
            space_after: 0.0,
        }
    }

    /// A bold label followed by regular text ("Họ và tên: Nguyễn Văn An").
    pub fn labelled(label: &str, value: &str) -> Self {
        Self::spans(vec![Span::new(label, true), Span::new(value, false)])
    }

    pub fn bold(mut self) -> Self {
        for span in &mut self.spans {
            span.bold = true;
        }
        self
    }

    pub fn align(mut self, align: Align) -> Self {
        self.align = align;
        self
    }

    pub fn center(self) -> Self {
        self.align(Align::Center)
    }

    pub fn size(mut self, size: f32) -> Self {
        self.size = size;
        self
    }

    pub fn indent(mut self, indent: f32) -> Self {
        self.indent = indent;
        self
    }

    pub fn space_after(mut self, space: f32) -> Self {
        self.space_after = space;
        self
    }
}

/// A table with borders; column widths are fractions of the available width.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<f32>,
    pub rows: Vec<Vec<Paragraph>>,
    pub space_after: f32,
}

/// A QR code of `data`, `size` points square.
#[derive(Debug, Clone, PartialEq)]
pub struct Qr {
    pub data: String,
    pub size: f32,
    pub align: Align,
}

/// One element of the flow.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Text(Paragraph),
    /// Side-by-side columns (width fraction, content); kept on one page.
    Columns(Vec<(f32, Vec<Block>)>),
    Table(Table),
    Qr(Qr),
    /// A horizontal line of the given length in points, placed like text.
    Rule {
        length: f32,
        align: Align,
    },
    /// Vertical space in points.
    Space(f32),
}

impl From<Paragraph> for Block {
    fn from(p: Paragraph) -> Self {
        Self::Text(p)
    }
}

/// A document: a title and date (for the PDF metadata) and the flow of blocks.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document {
    pub title: String,
    /// When the document was made, in milliseconds since the Unix epoch; the caller supplies
    /// it (the crate reads no clock). Without one the metadata carries [`UNDATED_MS`].
    pub date_ms: Option<i64>,
    pub blocks: Vec<Block>,
}

/// The fixed date (2000-01-01T00:00:00Z) written when a document has none, so output stays
/// deterministic.
pub const UNDATED_MS: i64 = 946_684_800_000;

/// Upper bounds that keep a hostile or mistaken input from building a huge file.
const MAX_BLOCKS: usize = 2_000;
const MAX_PAGES: usize = 50;

impl Document {
    pub fn new(title: &str) -> Self {
        Self {
            title: title.nfc().collect(),
            date_ms: None,
            blocks: Vec::new(),
        }
    }

    /// Sets the date written in the metadata (milliseconds since the Unix epoch).
    pub fn dated(mut self, unix_ms: i64) -> Self {
        self.date_ms = Some(unix_ms);
        self
    }

    pub fn push(&mut self, block: impl Into<Block>) -> &mut Self {
        self.blocks.push(block.into());
        self
    }

    /// Lays the document out on A4 pages and writes the PDF.
    pub fn render(&self) -> Result<Vec<u8>, PdfError> {
        if self.blocks.len() > MAX_BLOCKS {
            return Err(PdfError::TooLarge("blocks"));
        }
        let mut fonts = font::Fonts::load()?;
        let pages = layout::layout(&self.blocks, &mut fonts)?;
        if pages.len() > MAX_PAGES {
            return Err(PdfError::TooLarge("pages"));
        }
        let date = pdfa::Moment::from_unix_ms(self.date_ms.unwrap_or(UNDATED_MS));
        write::write(&self.title, date, &pages, &fonts)
    }
}

#[cfg(test)]
mod tests;
