//! XML text escaping shared by everything that writes XML by hand (archive metadata, PDF/A
//! XMP packets): one rule for what may stand in XML 1.0 character data and attributes.

/// Escapes `text` for XML character data and double-quoted attribute values. Characters
/// XML 1.0 forbids (the C0 controls other than tab, newline and carriage return) are
/// dropped: they carry nothing in metadata, and emitting them would make the file unreadable.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup_and_drops_forbidden_controls() {
        assert_eq!(
            super::escape("Kế hoạch <số 1> & \"mẫu\"\u{1}\n"),
            "Kế hoạch &lt;số 1&gt; &amp; &quot;mẫu&quot;\n"
        );
    }
}
