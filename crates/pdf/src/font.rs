//! The two embedded faces and the glyphs a document uses from each.
//!
//! Glyphs are numbered in the subset as they are first used (the subsetter's remapper), so
//! text can be encoded while it is laid out; the same numbering becomes the CIDs, the widths
//! array and the ToUnicode map when the PDF is written.

use std::collections::BTreeMap;

use subsetter::GlyphRemapper;
use ttf_parser::{Face, GlyphId};

use crate::PdfError;

static REGULAR: &[u8] = include_bytes!("../fonts/LiberationSerif-Regular.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/LiberationSerif-Bold.ttf");

/// One face and what the document took from it.
pub(crate) struct FontUse {
    pub(crate) data: &'static [u8],
    pub(crate) face: Face<'static>,
    pub(crate) base_name: &'static str,
    pub(crate) bold: bool,
    pub(crate) remapper: GlyphRemapper,
    /// Subset glyph id → the character it shows (for ToUnicode).
    pub(crate) chars: BTreeMap<u16, char>,
    /// Glyph of '?' for characters the face lacks.
    fallback: u16,
}

impl FontUse {
    fn load(data: &'static [u8], base_name: &'static str, bold: bool) -> Result<Self, PdfError> {
        let face = Face::parse(data, 0).map_err(|e| PdfError::Font(e.to_string()))?;
        let fallback = face.glyph_index('?').map_or(0, |g| g.0);
        Ok(Self {
            data,
            face,
            base_name,
            bold,
            remapper: GlyphRemapper::new(),
            chars: BTreeMap::new(),
            fallback,
        })
    }

    /// Whether any text was set in this face.
    pub(crate) fn used(&self) -> bool {
        self.remapper.num_gids() > 1
    }

    fn glyph(&self, c: char) -> u16 {
        self.face.glyph_index(c).map_or(self.fallback, |g| g.0)
    }

    /// Advance of `c` in thousandths of the font size.
    pub(crate) fn advance(&self, c: char) -> f32 {
        self.glyph_advance(self.glyph(c))
    }

    pub(crate) fn glyph_advance(&self, glyph: u16) -> f32 {
        let units = f32::from(self.face.units_per_em());
        f32::from(self.face.glyph_hor_advance(GlyphId(glyph)).unwrap_or(0)) * 1000.0 / units
    }

    /// Width of `text` at `size` points.
    pub(crate) fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.advance(c)).sum::<f32>() * size / 1000.0
    }

    /// Encodes `text` as two-byte subset glyph ids, recording the glyphs used.
    pub(crate) fn encode(&mut self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let glyph = self.glyph(c);
            let new = self.remapper.remap(glyph);
            // The fallback glyph stands for a missing character: extract it as itself anyway.
            self.chars.entry(new).or_insert(c);
            out.extend_from_slice(&new.to_be_bytes());
        }
        out
    }

    /// Thousandths of the font size.
    pub(crate) fn ascender(&self) -> f32 {
        f32::from(self.face.ascender()) * 1000.0 / f32::from(self.face.units_per_em())
    }

    pub(crate) fn descender(&self) -> f32 {
        f32::from(self.face.descender()) * 1000.0 / f32::from(self.face.units_per_em())
    }

    pub(crate) fn scale(&self, units: i16) -> f32 {
        f32::from(units) * 1000.0 / f32::from(self.face.units_per_em())
    }
}

/// Regular and bold.
pub(crate) struct Fonts {
    pub(crate) regular: FontUse,
    pub(crate) bold: FontUse,
}

impl Fonts {
    pub(crate) fn load() -> Result<Self, PdfError> {
        Ok(Self {
            regular: FontUse::load(REGULAR, "LiberationSerif", false)?,
            bold: FontUse::load(BOLD, "LiberationSerif-Bold", true)?,
        })
    }

    pub(crate) fn get(&self, bold: bool) -> &FontUse {
        if bold { &self.bold } else { &self.regular }
    }

    pub(crate) fn get_mut(&mut self, bold: bool) -> &mut FontUse {
        if bold {
            &mut self.bold
        } else {
            &mut self.regular
        }
    }
}
