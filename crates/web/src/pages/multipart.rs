//! A small `multipart/form-data` reader for the pages' upload forms (documents of an
//! application, supplements, the catalogue import), so they work without JavaScript. The
//! body is already bounded by the request-body limit; this reads parts from it, at most
//! [`MAX_PARTS`].

use axum::http::{HeaderMap, header};

use crate::error::WebResult;

/// Most parts one form may carry.
pub const MAX_PARTS: usize = 120;

/// One part of the form: a field (`filename` none) or a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub data: Vec<u8>,
}

impl Part {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// The parts of a request's `multipart/form-data` body; a clear `invalid_input` error when
/// the body is not one (or has too many parts).
pub fn parts_of(headers: &HeaderMap, body: &[u8]) -> WebResult<Vec<Part>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    boundary(content_type)
        .and_then(|b| parse(body, &b))
        .ok_or_else(|| {
            tinhso_core::DomainError::invalid("expected a multipart/form-data body").into()
        })
}

/// The text of the first field (not a file) named `name`; empty when there is none.
pub fn field(parts: &[Part], name: &str) -> String {
    parts
        .iter()
        .find(|p| p.name == name && p.filename.is_none())
        .map(Part::text)
        .unwrap_or_default()
}

/// The boundary of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        let v = v.trim().trim_matches('"');
        (k.trim().eq_ignore_ascii_case("boundary") && !v.is_empty() && v.len() <= 200)
            .then(|| v.to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() || from > haystack.len() {
        return None;
    }
    let first = needle[0];
    let last_start = haystack.len() - needle.len();
    let mut i = from;
    while i <= last_start {
        match haystack[i..=last_start].iter().position(|b| *b == first) {
            None => return None,
            Some(offset) => {
                i += offset;
                if &haystack[i..i + needle.len()] == needle {
                    return Some(i);
                }
                i += 1;
            }
        }
    }
    None
}

/// `name="…"` and `filename="…"` of a `Content-Disposition: form-data` header.
fn disposition(value: &str) -> Option<(String, Option<String>)> {
    let mut name = None;
    let mut filename = None;
    let mut rest = value.split_once(';')?.1;
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq]
            .trim()
            .trim_start_matches(';')
            .trim()
            .to_ascii_lowercase();
        let after = rest[eq + 1..].trim_start();
        let (val, tail) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (quoted[..end].to_owned(), &quoted[end + 1..])
        } else {
            let end = after.find(';').unwrap_or(after.len());
            (after[..end].trim().to_owned(), &after[end..])
        };
        match key.as_str() {
            "name" => name = Some(val),
            "filename" => filename = Some(val),
            _ => {}
        }
        rest = tail;
    }
    Some((name?, filename))
}

/// The parts of a body, or `None` when it is not well-formed multipart with this boundary.
pub fn parse(body: &[u8], boundary: &str) -> Option<Vec<Part>> {
    let delimiter = format!("--{boundary}").into_bytes();
    let next_delimiter = format!("\r\n--{boundary}").into_bytes();
    let mut pos = find(body, &delimiter, 0)? + delimiter.len();
    let mut parts = Vec::new();
    loop {
        if body.get(pos..pos + 2) == Some(b"--") {
            return Some(parts);
        }
        if body.get(pos..pos + 2) != Some(b"\r\n") || parts.len() >= MAX_PARTS {
            return None;
        }
        pos += 2;
        let headers_end = find(body, b"\r\n\r\n", pos)?;
        let headers = std::str::from_utf8(&body[pos..headers_end]).ok()?;
        let mut field = None;
        for line in headers.split("\r\n") {
            if let Some((k, v)) = line.split_once(':')
                && k.trim().eq_ignore_ascii_case("content-disposition")
            {
                field = disposition(v.trim());
            }
        }
        let (name, filename) = field?;
        let data_start = headers_end + 4;
        let data_end = find(body, &next_delimiter, data_start)?;
        parts.push(Part {
            name,
            filename,
            data: body[data_start..data_end].to_vec(),
        });
        pos = data_end + next_delimiter.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_files() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nabc\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file-0\"; filename=\"gi\xe1\xba\xa5y t\xe1\xbb\x9d.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\r\n\r\nend\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file-1\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--XyZ--\r\n";
        let b = boundary("multipart/form-data; boundary=XyZ").unwrap();
        let parts = parse(body, &b).unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            (parts[0].name.as_str(), parts[0].text()),
            ("csrf_token", "abc".to_owned())
        );
        assert_eq!(parts[1].filename.as_deref(), Some("giấy tờ.pdf"));
        assert_eq!(parts[1].data, b"%PDF-1.4\r\n\r\nend");
        assert_eq!(
            (parts[2].filename.as_deref(), parts[2].data.len()),
            (Some(""), 0)
        );
    }

    #[test]
    fn malformed_bodies_are_refused() {
        assert!(boundary("application/x-www-form-urlencoded").is_none());
        assert!(parse(b"--XyZ\r\nno headers end", "XyZ").is_none());
        assert!(parse(b"nothing here", "XyZ").is_none());
        let unterminated = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue";
        assert!(parse(unterminated, "XyZ").is_none());
    }
}
