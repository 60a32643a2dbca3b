//! PDF output: pages with compressed content streams, and each face that was used as a
//! Type 0 font over a CIDFontType2 whose FontFile2 is the subset (CID = subset glyph id),
//! with its widths and a ToUnicode map so text extracts as written.

use std::io::Write as _;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use pdf_writer::types::{CidFontType, FontFlags, OutputIntentSubtype, SystemInfo};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::PdfError;
use crate::font::{FontUse, Fonts};
use crate::layout::{Op, PAGE_HEIGHT, PAGE_WIDTH, Page};
use crate::pdfa::{self, Moment};

const REGULAR_NAME: Name<'static> = Name(b"F1");
const BOLD_NAME: Name<'static> = Name(b"F2");

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
    // Writing into a Vec cannot fail; an empty result would only make an invalid stream.
    if encoder.write_all(data).is_err() {
        return Vec::new();
    }
    encoder.finish().unwrap_or_default()
}

struct Ids(i32);

impl Ids {
    fn next(&mut self) -> Ref {
        self.0 += 1;
        Ref::new(self.0)
    }
}

/// Writes the pages as PDF/A-2b (ISO 19005-2, level B): XMP metadata agreeing with the Info
/// dictionary, an sRGB output intent for the DeviceRGB drawing, embedded fonts, and a
/// trailer `/ID`; nothing is encrypted, transparent or scripted.
pub(crate) fn write(
    title: &str,
    date: Moment,
    pages: &[Page],
    fonts: &Fonts,
) -> Result<Vec<u8>, PdfError> {
    let mut ids = Ids(0);
    let catalog_id = ids.next();
    let tree_id = ids.next();
    let info_id = ids.next();
    let regular_id = ids.next();
    let bold_id = ids.next();
    let metadata_id = ids.next();
    let icc_id = ids.next();
    let mut pdf = Pdf::new();
    let mut catalog = pdf.catalog(catalog_id);
    catalog.pages(tree_id).metadata(metadata_id);
    catalog
        .output_intents()
        .push()
        .subtype(OutputIntentSubtype::PDFA)
        .output_condition_identifier(TextStr(pdfa::OUTPUT_CONDITION))
        .info(TextStr(pdfa::OUTPUT_CONDITION))
        .dest_output_profile(icc_id);
    catalog.finish();
    pdf.document_info(info_id)
        .title(TextStr(title))
        .producer(TextStr(pdfa::PRODUCER))
        .creation_date(date.pdf())
        .modified_date(date.pdf());
    // Uncompressed, so archive tools can read the declaration without inflating.
    let xmp = pdfa::xmp(title, date);
    pdf.metadata(metadata_id, &xmp);
    let icc = pdfa::srgb_icc();
    pdf.icc_profile(icc_id, &icc)
        .n(3)
        .range([0.0, 1.0, 0.0, 1.0, 0.0, 1.0]);
    let page_ids: Vec<(Ref, Ref)> = pages.iter().map(|_| (ids.next(), ids.next())).collect();
    pdf.pages(tree_id)
        .kids(page_ids.iter().map(|(page, _)| *page))
        .count(i32::try_from(page_ids.len()).unwrap_or(i32::MAX));
    for (page, (page_id, content_id)) in pages.iter().zip(&page_ids) {
        let mut p = pdf.page(*page_id);
        p.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
            .parent(tree_id)
            .contents(*content_id);
        let mut resources = p.resources();
        let mut font_dict = resources.fonts();
        if fonts.regular.used() {
            font_dict.pair(REGULAR_NAME, regular_id);
        }
        if fonts.bold.used() {
            font_dict.pair(BOLD_NAME, bold_id);
        }
        font_dict.finish();
        resources.finish();
        p.finish();
        let content = deflate(&content(page));
        pdf.stream(*content_id, &content)
            .filter(Filter::FlateDecode);
    }
    for (id, font) in [(regular_id, &fonts.regular), (bold_id, &fonts.bold)] {
        if font.used() {
            write_font(&mut pdf, &mut ids, id, font)?;
        }
    }
    let id = pdfa::file_id(pdf.as_bytes());
    pdf.set_file_id((id.clone(), id));
    Ok(pdf.finish())
}

fn content(page: &Page) -> Vec<u8> {
    let mut c = Content::new();
    c.set_line_width(0.6);
    for op in &page.ops {
        match op {
            Op::Text {
                x,
                y,
                size,
                bold,
                glyphs,
            } => {
                c.begin_text();
                c.set_font(if *bold { BOLD_NAME } else { REGULAR_NAME }, *size);
                c.set_text_matrix([1.0, 0.0, 0.0, 1.0, *x, *y]);
                c.show(Str(glyphs));
                c.end_text();
            }
            Op::Line { from, to } => {
                c.move_to(from.0, from.1);
                c.line_to(to.0, to.1);
                c.stroke();
            }
            Op::Frame([x, y, w, h]) => {
                c.rect(*x, *y, *w, *h);
                c.stroke();
            }
            Op::Fill(rects) => {
                for [x, y, w, h] in rects {
                    c.rect(*x, *y, *w, *h);
                }
                c.fill_nonzero();
            }
        }
    }
    c.finish().to_vec()
}

/// Six capital letters that name the subset (PDF 32000 §9.6.4), derived from the glyph set
/// so the same document always gets the same name.
fn subset_tag(font: &FontUse) -> String {
    let hash = pdfa::fnv1a(
        pdfa::FNV_OFFSET,
        font.remapper.remapped_gids().flat_map(u16::to_be_bytes),
    );
    (0..6)
        .map(|i| char::from(b'A' + ((hash >> (i * 5)) % 26) as u8))
        .collect()
}

fn write_font(pdf: &mut Pdf, ids: &mut Ids, font_id: Ref, font: &FontUse) -> Result<(), PdfError> {
    let cid_id = ids.next();
    let descriptor_id = ids.next();
    let file_id = ids.next();
    let cmap_id = ids.next();
    let base = format!("{}+{}", subset_tag(font), font.base_name);
    let base_name = Name(base.as_bytes());
    let system_info = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };

    pdf.type0_font(font_id)
        .base_font(base_name)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid_id)
        .to_unicode(cmap_id);

    let widths: Vec<f32> = font
        .remapper
        .remapped_gids()
        .map(|g| font.glyph_advance(g))
        .collect();
    let mut cid = pdf.cid_font(cid_id);
    cid.subtype(CidFontType::Type2)
        .base_font(base_name)
        .system_info(system_info)
        .font_descriptor(descriptor_id)
        .default_width(0.0)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    cid.widths().consecutive(0, widths);
    cid.finish();

    let face = &font.face;
    let bbox = face.global_bounding_box();
    let mut flags = FontFlags::SERIF | FontFlags::SYMBOLIC;
    if font.bold {
        flags |= FontFlags::FORCE_BOLD;
    }
    pdf.font_descriptor(descriptor_id)
        .name(base_name)
        .flags(flags)
        .bbox(Rect::new(
            font.scale(bbox.x_min),
            font.scale(bbox.y_min),
            font.scale(bbox.x_max),
            font.scale(bbox.y_max),
        ))
        .italic_angle(0.0)
        .ascent(font.ascender())
        .descent(font.descender())
        .cap_height(font.scale(face.capital_height().unwrap_or(face.ascender())))
        .stem_v(if font.bold { 140.0 } else { 80.0 })
        .font_file2(file_id);

    let program = subsetter::subset(font.data, 0, &font.remapper)
        .map_err(|e| PdfError::Font(e.to_string()))?;
    let compressed = deflate(&program);
    pdf.stream(file_id, &compressed)
        .filter(Filter::FlateDecode)
        .pair(
            Name(b"Length1"),
            i32::try_from(program.len()).unwrap_or(i32::MAX),
        );

    let mut cmap = pdf_writer::types::UnicodeCmap::new(Name(b"Custom"), system_info);
    for (glyph, c) in &font.chars {
        cmap.pair(*glyph, *c);
    }
    pdf.cmap(cmap_id, &cmap.finish());
    Ok(())
}
