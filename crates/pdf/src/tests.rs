#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::Read;

use super::*;

fn sample() -> Document {
    let mut doc = Document::new("Giấy tiếp nhận hồ sơ và hẹn trả kết quả");
    doc.push(Block::Columns(vec![
        (
            0.45,
            vec![
                Paragraph::new("UBND TỈNH KHÁNH HÒA")
                    .center()
                    .size(12.0)
                    .into(),
                Paragraph::new("SỞ TƯ PHÁP")
                    .center()
                    .bold()
                    .size(12.0)
                    .into(),
                Block::Rule {
                    length: 50.0,
                    align: Align::Center,
                },
            ],
        ),
        (
            0.55,
            vec![
                Paragraph::new("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
                    .center()
                    .bold()
                    .size(12.0)
                    .into(),
                Paragraph::new("Độc lập - Tự do - Hạnh phúc")
                    .center()
                    .bold()
                    .into(),
            ],
        ),
    ]));
    // Decomposed input ("e" + combining marks) must come out precomposed.
    doc.push(Paragraph::labelled("Họ và tên: ", "Nguye\u{302}\u{303}n Văn An").space_after(4.0));
    doc.push(Paragraph::new(&"Hồ sơ gồm những giấy tờ sau đây, ".repeat(12)).indent(28.0));
    doc.push(Block::Table(Table {
        columns: vec![0.1, 0.6, 0.3],
        rows: vec![
            vec![
                Paragraph::new("TT").bold().center(),
                Paragraph::new("Thành phần hồ sơ").bold().center(),
                Paragraph::new("Số lượng").bold().center(),
            ],
            vec![
                Paragraph::new("1").center(),
                Paragraph::new("Tờ khai đăng ký khai sinh"),
                Paragraph::new("01 bản chính").center(),
            ],
        ],
        space_after: 6.0,
    }));
    doc.push(Block::Qr(Qr {
        data: "https://dichvucong.khanhhoa.gov.vn/tra-cuu?ma=000.00.31.H32-270203-0001".into(),
        size: 80.0,
        align: Align::Left,
    }));
    doc
}

/// Inflates every Flate stream of the file.
fn streams(pdf: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = pdf;
    while let Some(start) = find(rest, b">>\nstream\n") {
        let body = &rest[start + 10..];
        let end = find(body, b"\nendstream").unwrap();
        let mut inflated = Vec::new();
        if flate2::read::ZlibDecoder::new(&body[..end])
            .read_to_end(&mut inflated)
            .is_ok()
        {
            out.push(inflated);
        } else {
            out.push(body[..end].to_vec());
        }
        rest = &body[end..];
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads the strings shown by `Tj` in a content stream (literal or hex).
fn shown_strings(content: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < content.len() {
        match content[i] {
            b'(' => {
                let mut s = Vec::new();
                let mut depth = 1;
                i += 1;
                while depth > 0 {
                    let b = content[i];
                    match b {
                        b'\\' => {
                            i += 1;
                            match content[i] {
                                b'n' => s.push(b'\n'),
                                b'r' => s.push(b'\r'),
                                b't' => s.push(b'\t'),
                                b'b' => s.push(8),
                                b'f' => s.push(12),
                                d @ b'0'..=b'7' => {
                                    let mut v = u32::from(d - b'0');
                                    for _ in 0..2 {
                                        if matches!(content[i + 1], b'0'..=b'7') {
                                            i += 1;
                                            v = v * 8 + u32::from(content[i] - b'0');
                                        }
                                    }
                                    s.push(v as u8);
                                }
                                other => s.push(other),
                            }
                        }
                        b'(' => {
                            depth += 1;
                            s.push(b);
                        }
                        b')' => {
                            depth -= 1;
                            if depth > 0 {
                                s.push(b);
                            }
                        }
                        _ => s.push(b),
                    }
                    i += 1;
                }
                out.push(s);
            }
            b'<' if content.get(i + 1) != Some(&b'<') => {
                let end = i + content[i..].iter().position(|b| *b == b'>').unwrap();
                let hex = std::str::from_utf8(&content[i + 1..end]).unwrap();
                out.push(hex::decode(hex));
                i = end + 1;
            }
            _ => i += 1,
        }
    }
    out
}

mod hex {
    pub fn decode(s: &str) -> Vec<u8> {
        let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        s.chunks(2)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
            .collect()
    }
}

/// The CID → text pairs of every ToUnicode map (one per font, in font order).
fn to_unicode_maps(streams: &[Vec<u8>]) -> Vec<HashMap<u16, String>> {
    streams
        .iter()
        .filter(|s| find(s, b"beginbfchar").is_some() || find(s, b"beginbfrange").is_some())
        .map(|s| {
            let text = String::from_utf8_lossy(s);
            let mut map = HashMap::new();
            for section in text.split("beginbfchar").skip(1) {
                let body = section.split("endbfchar").next().unwrap();
                let hexes: Vec<&str> = body
                    .split(['<', '>'])
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .collect();
                for pair in hexes.chunks(2) {
                    let cid = u16::from_str_radix(pair[0], 16).unwrap();
                    let units: Vec<u16> = hex::decode(pair[1])
                        .chunks(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]))
                        .collect();
                    map.insert(cid, String::from_utf16(&units).unwrap());
                }
            }
            map
        })
        .collect()
}

#[test]
fn writes_a_well_formed_pdf_with_an_embedded_subset_font() {
    let pdf = sample().render().unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(pdf.ends_with(b"%%EOF\n") || pdf.ends_with(b"%%EOF"));
    // startxref points at the cross-reference table.
    let text = String::from_utf8_lossy(&pdf);
    let offset: usize = text
        .rsplit("startxref")
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(pdf[offset..].starts_with(b"xref"));
    for key in ["/FontFile2", "/ToUnicode", "/CIDFontType2", "/Identity-H"] {
        assert!(text.contains(key), "{key} missing");
    }
    // Subset names are six capitals and a plus sign.
    let tagged = text
        .split("/BaseFont /")
        .skip(1)
        .map(|s| s.split_whitespace().next().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert!(!tagged.is_empty());
    for name in tagged {
        let (tag, base) = name.split_once('+').unwrap();
        assert!(tag.len() == 6 && tag.bytes().all(|b| b.is_ascii_uppercase()));
        assert!(base.starts_with("LiberationSerif"));
    }
    // The whole font is ~390 KB; the subset keeps the file small.
    assert!(pdf.len() < 40_000, "{} bytes", pdf.len());
}

#[test]
fn text_round_trips_through_the_to_unicode_map() {
    let pdf = sample().render().unwrap();
    let streams = streams(&pdf);
    let maps = to_unicode_maps(&streams);
    assert_eq!(maps.len(), 2, "regular and bold");
    let mut extracted = String::new();
    for content in streams.iter().filter(|s| find(s, b" Tj").is_some()) {
        // Font switches (`/F1 13 Tf`) tell which map applies.
        let mut map = &maps[0];
        for chunk in content.split(|b| *b == b'\n') {
            if find(chunk, b"/F1 ").is_some() {
                map = &maps[0];
            }
            if find(chunk, b"/F2 ").is_some() {
                map = &maps[1];
            }
            for s in shown_strings(chunk) {
                for cid in s.chunks(2) {
                    extracted.push_str(&map[&u16::from_be_bytes([cid[0], cid[1]])]);
                }
                extracted.push('|');
            }
        }
    }
    for expected in [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Họ và tên: |Nguyễn Văn An",
        "Tờ khai đăng ký khai sinh",
    ] {
        assert!(
            extracted.contains(expected),
            "{expected} not in {extracted}"
        );
    }
}

#[test]
fn rendering_is_deterministic_and_wraps_long_paragraphs() {
    let a = sample().render().unwrap();
    assert_eq!(a, sample().render().unwrap());
    let mut long = Document::new("dài");
    for _ in 0..120 {
        long.push(Paragraph::new(
            "Một dòng văn bản khá dài để kiểm tra việc ngắt trang.",
        ));
    }
    let pdf = long.render().unwrap();
    assert!(String::from_utf8_lossy(&pdf).contains("/Count 3"));
}

#[test]
fn refuses_oversized_input() {
    let mut doc = Document::new("x");
    doc.push(Block::Qr(Qr {
        data: "x".repeat(5_000),
        size: 50.0,
        align: Align::Left,
    }));
    assert!(matches!(doc.render(), Err(PdfError::TooLarge(_))));
}

/// `TINHSO_PDF_SAMPLE=/tmp/x.pdf cargo test -p tinhso-pdf` writes the sample for a look.
#[test]
fn writes_the_sample_when_asked() {
    if let Ok(path) = std::env::var("TINHSO_PDF_SAMPLE") {
        std::fs::write(path, sample().render().unwrap()).unwrap();
    }
}
