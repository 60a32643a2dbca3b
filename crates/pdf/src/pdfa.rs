//! What PDF/A-2b asks of our files beyond plain PDF: an XMP packet declaring the part and
//! conformance (and repeating the Info dictionary), an sRGB output intent whose ICC profile we
//! build here (no profile file is shipped), and a file identifier derived from the content.

/// A moment as the PDF Info dictionary and XMP both write it, always in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Moment {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl Moment {
    /// The UTC civil time of milliseconds since the Unix epoch (Hinnant's days-to-civil), so
    /// the crate needs no time library and never reads a clock.
    pub fn from_unix_ms(ms: i64) -> Self {
        let secs = ms.div_euclid(1000);
        let days = secs.div_euclid(86_400);
        let of_day = secs.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        // Years outside 0..=9999 cannot be written in either format; clamp rather than fail.
        let narrow = |v: i64| u8::try_from(v).unwrap_or(0);
        Self {
            year: u16::try_from(year.clamp(0, 9999)).unwrap_or(0),
            month: narrow(month),
            day: narrow(day),
            hour: narrow(of_day / 3600),
            minute: narrow(of_day % 3600 / 60),
            second: narrow(of_day % 60),
        }
    }

    pub fn pdf(self) -> pdf_writer::Date {
        pdf_writer::Date::new(self.year)
            .month(self.month)
            .day(self.day)
            .hour(self.hour)
            .minute(self.minute)
            .second(self.second)
            .utc_offset_hour(0)
    }

    pub fn xmp(self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

pub(crate) const PRODUCER: &str = "Tỉnh số";

/// The XMP packet: the same title, producer and dates as the Info dictionary (PDF/A-2
/// §6.6.3 requires them to agree) and the `pdfaid` declaration of PDF/A-2b.
pub(crate) fn xmp(title: &str, date: Moment) -> Vec<u8> {
    let title = tinhso_core::xml::escape(title);
    let when = date.xmp();
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n\
<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
<rdf:Description rdf:about=\"\" \
xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\" \
xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\" \
xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\">\n\
<dc:format>application/pdf</dc:format>\n\
<dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">{title}</rdf:li></rdf:Alt></dc:title>\n\
<xmp:CreateDate>{when}</xmp:CreateDate>\n\
<xmp:ModifyDate>{when}</xmp:ModifyDate>\n\
<xmp:MetadataDate>{when}</xmp:MetadataDate>\n\
<pdf:Producer>{PRODUCER}</pdf:Producer>\n\
<pdfaid:part>2</pdfaid:part>\n\
<pdfaid:conformance>B</pdfaid:conformance>\n\
</rdf:Description>\n\
</rdf:RDF>\n\
</x:xmpmeta>\n\
<?xpacket end=\"w\"?>"
    )
    .into_bytes()
}

pub(crate) const OUTPUT_CONDITION: &str = "sRGB IEC61966-2.1";

fn s15_fixed16(v: f64) -> [u8; 4] {
    // Values here are small colorimetric constants; the cast cannot overflow.
    ((v * 65536.0).round() as i32).to_be_bytes()
}

fn xyz_tag(xyz: [f64; 3]) -> Vec<u8> {
    let mut tag = b"XYZ \0\0\0\0".to_vec();
    for v in xyz {
        tag.extend(s15_fixed16(v));
    }
    tag
}

/// The sRGB transfer curve (IEC 61966-2-1) as a 256-entry table.
fn srgb_curve() -> Vec<u8> {
    let mut tag = b"curv\0\0\0\0".to_vec();
    tag.extend(256u32.to_be_bytes());
    for i in 0..256u16 {
        let v = f64::from(i) / 255.0;
        let linear = if v <= 0.040_45 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        };
        tag.extend(((linear * 65535.0).round() as u16).to_be_bytes());
    }
    tag
}

fn text_tag(text: &str) -> Vec<u8> {
    let mut tag = b"text\0\0\0\0".to_vec();
    tag.extend(text.as_bytes());
    tag.push(0);
    tag
}

/// ICC v2 textDescriptionType: ASCII, then empty Unicode and ScriptCode parts.
fn desc_tag(text: &str) -> Vec<u8> {
    let mut tag = b"desc\0\0\0\0".to_vec();
    let count = u32::try_from(text.len() + 1).unwrap_or(0);
    tag.extend(count.to_be_bytes());
    tag.extend(text.as_bytes());
    tag.push(0);
    tag.extend([0u8; 8]); // Unicode language code and count
    tag.extend([0u8; 3]); // ScriptCode code and count
    tag.extend([0u8; 67]); // ScriptCode description
    tag
}

/// A minimal ICC v2 display profile for sRGB: D50 white point, the Bradford-adapted sRGB
/// primaries and the sRGB tone curve shared by the three channels.
pub(crate) fn srgb_icc() -> Vec<u8> {
    const D50: [f64; 3] = [0.9642, 1.0, 0.8249];
    let curve = srgb_curve();
    let tags: Vec<(&[u8; 4], Vec<u8>)> = vec![
        (b"desc", desc_tag(OUTPUT_CONDITION)),
        (b"cprt", text_tag("No copyright, use freely")),
        (b"wtpt", xyz_tag(D50)),
        (b"rXYZ", xyz_tag([0.4361, 0.2225, 0.0139])),
        (b"gXYZ", xyz_tag([0.3851, 0.7169, 0.0971])),
        (b"bXYZ", xyz_tag([0.1431, 0.0606, 0.7141])),
        (b"rTRC", curve.clone()),
        (b"gTRC", curve.clone()),
        (b"bTRC", curve),
    ];
    let table_len = 4 + 12 * tags.len();
    let mut data = Vec::new();
    let mut table = Vec::new();
    table.extend(u32::try_from(tags.len()).unwrap_or(0).to_be_bytes());
    for (signature, body) in &tags {
        // Tag data starts on a four-byte boundary (ICC.1 §7.3.1).
        while data.len() % 4 != 0 {
            data.push(0);
        }
        let offset = 128 + table_len + data.len();
        table.extend(*signature);
        table.extend(u32::try_from(offset).unwrap_or(0).to_be_bytes());
        table.extend(u32::try_from(body.len()).unwrap_or(0).to_be_bytes());
        data.extend(body);
    }
    while data.len() % 4 != 0 {
        data.push(0);
    }
    let size = 128 + table_len + data.len();
    let mut header = Vec::with_capacity(128);
    header.extend(u32::try_from(size).unwrap_or(0).to_be_bytes());
    header.extend([0u8; 4]); // preferred CMM
    header.extend([2, 0x10, 0, 0]); // version 2.1
    header.extend(b"mntr");
    header.extend(b"RGB ");
    header.extend(b"XYZ ");
    for field in [2000u16, 1, 1, 0, 0, 0] {
        header.extend(field.to_be_bytes()); // a fixed creation date keeps output deterministic
    }
    header.extend(b"acsp");
    header.extend([0u8; 4]); // primary platform
    header.extend([0u8; 4]); // flags
    header.extend([0u8; 4]); // manufacturer
    header.extend([0u8; 4]); // model
    header.extend([0u8; 8]); // attributes
    header.extend([0u8; 4]); // rendering intent: perceptual
    for v in D50 {
        header.extend(s15_fixed16(v));
    }
    header.extend([0u8; 4]); // creator
    header.resize(128, 0);
    let mut profile = header;
    profile.extend(table);
    profile.extend(data);
    profile
}

/// FNV-1a from `seed`: a small, stable hash for names that must not change between runs.
pub(crate) fn fnv1a(seed: u64, bytes: impl IntoIterator<Item = u8>) -> u64 {
    let mut hash = seed;
    for byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// Sixteen bytes that name the file (trailer `/ID`): two FNV-1a passes with different
/// offsets over everything written, so the same document always gets the same identifier
/// and different ones practically never share it.
pub(crate) fn file_id(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    for seed in [FNV_OFFSET, 0x6c62_272e_07bb_0142] {
        out.extend(fnv1a(seed, bytes.iter().copied()).to_be_bytes());
    }
    out
}
