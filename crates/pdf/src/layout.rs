//! Flow layout on A4 with the margins of Nghị định 30/2020 (top and bottom 20 mm, left 30 mm,
//! right 15 mm): blocks go down the page; paragraphs wrap at spaces (a word wider than the
//! column is broken between letters) and continue on the next page; columns and table rows
//! are kept together.

use qrcode::{EcLevel, QrCode};

use crate::font::Fonts;
use crate::{Align, Block, Paragraph, PdfError, Qr, Table};

pub(crate) const PAGE_WIDTH: f32 = 595.28;
pub(crate) const PAGE_HEIGHT: f32 = 841.89;
const MM: f32 = 72.0 / 25.4;
const MARGIN_TOP: f32 = 20.0 * MM;
const MARGIN_BOTTOM: f32 = 20.0 * MM;
const MARGIN_LEFT: f32 = 30.0 * MM;
const MARGIN_RIGHT: f32 = 15.0 * MM;
/// Line height as a multiple of the font size.
const LEADING: f32 = 1.2;
/// Padding inside table cells.
const CELL_PAD: f32 = 3.0;
const MAX_QR_BYTES: usize = 1_000;

/// A drawing operation in page coordinates (points, origin bottom left).
#[derive(Debug, Clone)]
pub(crate) enum Op {
    /// Encoded glyphs with their baseline origin.
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        glyphs: Vec<u8>,
    },
    Line {
        from: (f32, f32),
        to: (f32, f32),
    },
    /// Stroked rectangle (x, y, width, height).
    Frame([f32; 4]),
    /// Filled rectangles.
    Fill(Vec<[f32; 4]>),
}

#[derive(Debug, Default)]
pub(crate) struct Page {
    pub(crate) ops: Vec<Op>,
}

/// One line of a paragraph: runs of one weight each.
type Line = Vec<(bool, String)>;

/// A word: pieces of possibly different weights with no space between them.
struct Word {
    pieces: Vec<(bool, String)>,
    space_before: bool,
    break_before: bool,
}

pub(crate) fn layout(blocks: &[Block], fonts: &mut Fonts) -> Result<Vec<Page>, PdfError> {
    let mut l = Layouter {
        fonts,
        pages: vec![Page::default()],
        y: PAGE_HEIGHT - MARGIN_TOP,
        breaks: true,
    };
    l.blocks(blocks, MARGIN_LEFT, PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT)?;
    Ok(l.pages)
}

struct Layouter<'f> {
    fonts: &'f mut Fonts,
    pages: Vec<Page>,
    /// Top of the next content on the current page.
    y: f32,
    /// Off while laying out columns, which must stay on one page.
    breaks: bool,
}

impl Layouter<'_> {
    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Page::default());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last].ops
    }

    fn at_page_top(&self) -> bool {
        self.y >= PAGE_HEIGHT - MARGIN_TOP - 0.01
    }

    fn new_page(&mut self) {
        self.pages.push(Page::default());
        self.y = PAGE_HEIGHT - MARGIN_TOP;
    }

    /// Starts a new page if `height` does not fit below the cursor.
    fn ensure(&mut self, height: f32) {
        if self.breaks && self.y - height < MARGIN_BOTTOM && !self.at_page_top() {
            self.new_page();
        }
    }

    fn blocks(&mut self, blocks: &[Block], x: f32, width: f32) -> Result<(), PdfError> {
        for block in blocks {
            self.block(block, x, width)?;
        }
        Ok(())
    }

    fn block(&mut self, block: &Block, x: f32, width: f32) -> Result<(), PdfError> {
        match block {
            Block::Text(p) => self.paragraph(p, x, width),
            Block::Columns(columns) => self.columns(columns, x, width)?,
            Block::Table(t) => self.table(t, x, width),
            Block::Qr(q) => self.qr(q, x, width)?,
            Block::Rule { length, align } => {
                self.ensure(8.0);
                let start = aligned(x, width, *length, *align);
                let y = self.y - 3.0;
                self.ops().push(Op::Line {
                    from: (start, y),
                    to: (start + length, y),
                });
                self.y -= 8.0;
            }
            Block::Space(h) => {
                if self.breaks && self.y - h < MARGIN_BOTTOM {
                    self.new_page();
                } else {
                    self.y -= h;
                }
            }
        }
        Ok(())
    }

    /// Lays each column out from the same top; if the tallest does not fit, the whole set
    /// moves to a new page.
    fn columns(
        &mut self,
        columns: &[(f32, Vec<Block>)],
        x: f32,
        width: f32,
    ) -> Result<(), PdfError> {
        let total: f32 = columns
            .iter()
            .map(|(f, _)| f.max(0.0))
            .sum::<f32>()
            .max(0.001);
        let outer_breaks = self.breaks;
        let page_count = self.pages.len();
        let ops_len = self.ops().len();
        let top = self.y;
        self.breaks = false;
        let mut bottom = top;
        let mut cx = x;
        for (fraction, blocks) in columns {
            let cw = width * fraction.max(0.0) / total;
            self.y = top;
            self.blocks(blocks, cx, cw)?;
            bottom = bottom.min(self.y);
            cx += cw;
        }
        self.breaks = outer_breaks;
        if outer_breaks && bottom < MARGIN_BOTTOM && page_count == self.pages.len() {
            let at_top = top >= PAGE_HEIGHT - MARGIN_TOP - 0.01;
            if !at_top {
                self.ops().truncate(ops_len);
                self.new_page();
                return self.columns(columns, x, width);
            }
        }
        self.y = bottom;
        Ok(())
    }

    fn line_height(size: f32) -> f32 {
        size * LEADING
    }

    fn paragraph(&mut self, p: &Paragraph, x: f32, width: f32) {
        let lines = self.wrap(p, width);
        let lh = Self::line_height(p.size);
        for (i, line) in lines.iter().enumerate() {
            self.ensure(lh);
            let top = self.y;
            let indent = if i == 0 { p.indent } else { 0.0 };
            self.line(line, p, x + indent, width - indent, top);
            self.y -= lh;
        }
        self.y -= p.space_after;
    }

    /// Draws one line whose box starts at `top`.
    fn line(&mut self, line: &Line, p: &Paragraph, x: f32, width: f32, top: f32) {
        let widths: Vec<f32> = line
            .iter()
            .map(|(bold, text)| self.fonts.get(*bold).width(text, p.size))
            .collect();
        let total: f32 = widths.iter().sum();
        let ascender = self.fonts.regular.ascender() * p.size / 1000.0;
        let baseline = top - p.size * (LEADING - 1.0) / 2.0 - ascender;
        let mut cx = aligned(x, width, total, p.align);
        for ((bold, text), w) in line.iter().zip(widths) {
            let glyphs = self.fonts.get_mut(*bold).encode(text);
            self.ops().push(Op::Text {
                x: cx,
                y: baseline,
                size: p.size,
                bold: *bold,
                glyphs,
            });
            cx += w;
        }
    }

    /// Splits a paragraph into lines that fit `width` (the first one less its indent).
    fn wrap(&self, p: &Paragraph, width: f32) -> Vec<Line> {
        let space = self.fonts.regular.width(" ", p.size);
        let word_width = |w: &Word| -> f32 {
            w.pieces
                .iter()
                .map(|(bold, t)| self.fonts.get(*bold).width(t, p.size))
                .sum()
        };
        let mut lines: Vec<Line> = Vec::new();
        let mut line: Line = Vec::new();
        let mut used = 0.0;
        let avail = |lines: &Vec<Line>| {
            if lines.is_empty() {
                (width - p.indent).max(1.0)
            } else {
                width.max(1.0)
            }
        };
        for word in self.split_long(words(p), p, width) {
            let gap = if line.is_empty() || !word.space_before {
                0.0
            } else {
                space
            };
            let w = word_width(&word);
            if !line.is_empty() && (word.break_before || used + gap + w > avail(&lines)) {
                lines.push(std::mem::take(&mut line));
                used = 0.0;
            } else if word.space_before && !line.is_empty() {
                push_run(&mut line, None, " ");
                used += gap;
            }
            for (bold, text) in &word.pieces {
                push_run(&mut line, Some(*bold), text);
            }
            used += w;
        }
        if !line.is_empty() || lines.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// Breaks words wider than the column between letters.
    fn split_long(&self, words: Vec<Word>, p: &Paragraph, width: f32) -> Vec<Word> {
        let limit = (width - p.indent.max(0.0)).max(10.0);
        let mut out = Vec::with_capacity(words.len());
        for word in words {
            let total: f32 = word
                .pieces
                .iter()
                .map(|(b, t)| self.fonts.get(*b).width(t, p.size))
                .sum();
            if total <= limit {
                out.push(word);
                continue;
            }
            let mut current = Word {
                pieces: Vec::new(),
                space_before: word.space_before,
                break_before: word.break_before,
            };
            let mut used = 0.0;
            for (bold, text) in &word.pieces {
                for c in text.chars() {
                    let w = self.fonts.get(*bold).advance(c) * p.size / 1000.0;
                    if used + w > limit && !current.pieces.is_empty() {
                        out.push(std::mem::replace(
                            &mut current,
                            Word {
                                pieces: Vec::new(),
                                space_before: false,
                                break_before: true,
                            },
                        ));
                        used = 0.0;
                    }
                    push_run(&mut current.pieces, Some(*bold), c.encode_utf8(&mut [0; 4]));
                    used += w;
                }
            }
            out.push(current);
        }
        out
    }

    fn table(&mut self, t: &Table, x: f32, width: f32) {
        let total: f32 = t.columns.iter().map(|f| f.max(0.0)).sum::<f32>().max(0.001);
        let widths: Vec<f32> = t
            .columns
            .iter()
            .map(|f| width * f.max(0.0) / total)
            .collect();
        for row in &t.rows {
            let cells: Vec<(Vec<Line>, &Paragraph, f32)> = row
                .iter()
                .zip(&widths)
                .map(|(p, w)| (self.wrap(p, w - 2.0 * CELL_PAD), p, *w))
                .collect();
            let height = cells
                .iter()
                .map(|(lines, p, _)| lines.len() as f32 * Self::line_height(p.size))
                .fold(0.0, f32::max)
                + 2.0 * CELL_PAD;
            self.ensure(height);
            let top = self.y;
            let mut cx = x;
            for (lines, p, w) in &cells {
                self.ops().push(Op::Frame([cx, top - height, *w, height]));
                let mut line_top = top - CELL_PAD;
                for line in lines {
                    self.line(line, p, cx + CELL_PAD, w - 2.0 * CELL_PAD, line_top);
                    line_top -= Self::line_height(p.size);
                }
                cx += w;
            }
            self.y = top - height;
        }
        self.y -= t.space_after;
    }

    fn qr(&mut self, q: &Qr, x: f32, width: f32) -> Result<(), PdfError> {
        if q.data.len() > MAX_QR_BYTES {
            return Err(PdfError::TooLarge("QR data"));
        }
        let code = QrCode::with_error_correction_level(q.data.as_bytes(), EcLevel::M)
            .map_err(|e| PdfError::Qr(e.to_string()))?;
        let n = code.width();
        let colors = code.to_colors();
        // Four modules of quiet zone on each side are part of the square.
        let module = q.size / (n as f32 + 8.0);
        self.ensure(q.size);
        let left = aligned(x, width, q.size, q.align) + 4.0 * module;
        let top = self.y - 4.0 * module;
        let mut rects = Vec::new();
        for (row, line) in colors.chunks(n).enumerate() {
            let mut col = 0;
            while col < n {
                if line[col] == qrcode::Color::Dark {
                    let start = col;
                    while col < n && line[col] == qrcode::Color::Dark {
                        col += 1;
                    }
                    rects.push([
                        left + start as f32 * module,
                        top - (row as f32 + 1.0) * module,
                        (col - start) as f32 * module,
                        module,
                    ]);
                } else {
                    col += 1;
                }
            }
        }
        self.ops().push(Op::Fill(rects));
        self.y -= q.size;
        Ok(())
    }
}

fn aligned(x: f32, width: f32, content: f32, align: Align) -> f32 {
    match align {
        Align::Left => x,
        Align::Center => x + (width - content) / 2.0,
        Align::Right => x + width - content,
    }
}

/// Appends text to the last run if it has the same weight (`None`: whatever the last run
/// has), else starts a run.
fn push_run(line: &mut Line, bold: Option<bool>, text: &str) {
    match line.last_mut() {
        Some((b, t)) if bold.is_none_or(|bold| bold == *b) => t.push_str(text),
        _ => line.push((bold.unwrap_or(false), text.to_owned())),
    }
}

/// Words of a paragraph; a newline forces a line break.
fn words(p: &Paragraph) -> Vec<Word> {
    let mut words: Vec<Word> = Vec::new();
    let mut pending_space = false;
    let mut pending_break = false;
    let mut in_word = false;
    for span in &p.spans {
        for c in span.text.chars() {
            if c == '\n' {
                pending_break = true;
                in_word = false;
            } else if c.is_whitespace() {
                pending_space = true;
                in_word = false;
            } else {
                if !in_word {
                    words.push(Word {
                        pieces: Vec::new(),
                        space_before: pending_space,
                        break_before: pending_break,
                    });
                    pending_space = false;
                    pending_break = false;
                    in_word = true;
                }
                if let Some(word) = words.last_mut() {
                    push_run(
                        &mut word.pieces,
                        Some(span.bold),
                        c.encode_utf8(&mut [0; 4]),
                    );
                }
            }
        }
    }
    words
}
