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

/// The object body `N 0 obj … endobj` whose dictionary contains `key`.
fn object_with<'a>(pdf: &'a [u8], key: &[u8]) -> &'a [u8] {
    let at = find(pdf, key).unwrap();
    let start = pdf[..at].windows(4).rposition(|w| w == b"obj\n").unwrap();
    let end = at + find(&pdf[at..], b"endobj").unwrap();
    &pdf[start..end]
}

#[test]
fn declares_pdfa_2b_in_an_xmp_packet_that_parses() {
    let pdf = sample().dated(1_780_000_000_000).render().unwrap();
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("/Metadata "), "catalog has no /Metadata");
    let object = object_with(&pdf, b"/Subtype /XML");
    assert!(find(object, b"/Type /Metadata").is_some());
    assert!(
        find(object, b"/Filter").is_none(),
        "XMP must stay uncompressed"
    );
    let start = find(&pdf, b"<?xpacket begin").unwrap();
    let end = start + find(&pdf[start..], b"<?xpacket end=\"w\"?>").unwrap() + 19;
    let packet = &pdf[start..end];
    let path = std::env::temp_dir().join(format!("tinhso-pdf-xmp-{}.xml", std::process::id()));
    std::fs::write(&path, packet).unwrap();
    let out = std::process::Command::new("xmllint")
        .args(["--noout"])
        .arg(&path)
        .output()
        .expect("xmllint");
    std::fs::remove_file(&path).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xmp = std::str::from_utf8(packet).unwrap();
    assert!(xmp.contains("<pdfaid:part>2</pdfaid:part>"));
    assert!(xmp.contains("<pdfaid:conformance>B</pdfaid:conformance>"));
    assert!(xmp.contains(">Giấy tiếp nhận hồ sơ và hẹn trả kết quả</rdf:li>"));
    assert!(xmp.contains("<pdf:Producer>Tỉnh số</pdf:Producer>"));
    // 1_780_000_000_000 ms is 2026-05-28T20:26:40Z; the Info dictionary says the same.
    assert!(xmp.contains("<xmp:CreateDate>2026-05-28T20:26:40Z</xmp:CreateDate>"));
    assert!(xmp.contains("<xmp:ModifyDate>2026-05-28T20:26:40Z</xmp:ModifyDate>"));
    assert!(text.contains("/CreationDate (D:20260528202640Z)"));
    assert!(text.contains("/ModDate (D:20260528202640Z)"));
    // Markup in a title is escaped, not injected.
    let pdf = Document::new("A < B & \"C\"").render().unwrap();
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("A &lt; B &amp; &quot;C&quot;"));
    assert!(text.contains("<xmp:CreateDate>2000-01-01T00:00:00Z</xmp:CreateDate>"));
}

#[test]
fn has_an_srgb_output_intent_with_a_valid_icc_profile() {
    let pdf = sample().render().unwrap();
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("/OutputIntents ["));
    assert!(text.contains("/S /GTS_PDFA1"));
    assert!(text.contains("/OutputConditionIdentifier (sRGB IEC61966-2.1)"));
    let icc_ref = text
        .split("/DestOutputProfile ")
        .nth(1)
        .unwrap()
        .split(" R")
        .next()
        .unwrap()
        .to_owned();
    let header = format!("\n{} obj\n", icc_ref);
    let at = find(&pdf, header.as_bytes()).unwrap() + header.len();
    let object = &pdf[at..at + find(&pdf[at..], b"endobj").unwrap()];
    assert!(find(object, b"/N 3").is_some());
    let body_start = find(object, b"stream\n").unwrap() + 7;
    let body_end = find(object, b"\nendstream").unwrap();
    let mut icc = Vec::new();
    let raw = &object[body_start..body_end];
    if find(object, b"/FlateDecode").is_some() {
        flate2::read::ZlibDecoder::new(raw)
            .read_to_end(&mut icc)
            .unwrap();
    } else {
        icc = raw.to_vec();
    }
    let size = u32::from_be_bytes(icc[0..4].try_into().unwrap()) as usize;
    assert_eq!(size, icc.len());
    assert_eq!(&icc[36..40], b"acsp");
    assert_eq!(icc[8], 2, "ICC version 2");
    assert_eq!(&icc[12..24], b"mntrRGB XYZ ");
    let count = u32::from_be_bytes(icc[128..132].try_into().unwrap()) as usize;
    let mut tags = Vec::new();
    for i in 0..count {
        let entry = &icc[132 + 12 * i..144 + 12 * i];
        let offset = u32::from_be_bytes(entry[4..8].try_into().unwrap()) as usize;
        let len = u32::from_be_bytes(entry[8..12].try_into().unwrap()) as usize;
        assert_eq!(offset % 4, 0);
        assert!(offset + len <= icc.len());
        tags.push(std::str::from_utf8(&entry[0..4]).unwrap().to_owned());
    }
    for tag in [
        "desc", "cprt", "wtpt", "rXYZ", "gXYZ", "bXYZ", "rTRC", "gTRC", "bTRC",
    ] {
        assert!(tags.iter().any(|t| t == tag), "{tag} missing");
    }
}

#[test]
fn trailer_carries_a_content_derived_id() {
    let pdf = sample().render().unwrap();
    let text = String::from_utf8_lossy(&pdf);
    let trailer = text.rsplit("trailer").next().unwrap();
    let ids = trailer
        .split("/ID [")
        .nth(1)
        .unwrap()
        .split(']')
        .next()
        .unwrap();
    let parts: Vec<&str> = ids.split_whitespace().collect();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0], parts[1]);
    assert_eq!(parts[0].len(), 34, "sixteen bytes in hex: {}", parts[0]);
    let other = Document::new("khác").render().unwrap();
    assert!(!String::from_utf8_lossy(&other).contains(parts[0]));
}

/// `qpdf --check` accepts the file, where qpdf is installed.
#[test]
fn qpdf_finds_no_structural_fault() {
    let Ok(version) = std::process::Command::new("qpdf").arg("--version").output() else {
        return;
    };
    if !version.status.success() {
        return;
    }
    let path = std::env::temp_dir().join(format!("tinhso-pdf-qpdf-{}.pdf", std::process::id()));
    std::fs::write(&path, sample().render().unwrap()).unwrap();
    let out = std::process::Command::new("qpdf")
        .arg("--check")
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        report.contains("No syntax or stream encoding errors"),
        "{report}"
    );
}
