//! BER to DER for CMS structures other signers produce.
//!
//! NSS (Firefox, poppler, LibreOffice) and some Windows tools write SignedData with
//! indefinite lengths and chunked (constructed) OCTET STRINGs, which BER allows and the
//! `der` decoder refuses. This re-encodes one TLV with definite lengths and joins
//! constructed OCTET STRINGs into primitive ones; everything else is copied byte for byte,
//! so signed attributes, which RFC 5652 requires to be DER already, are unchanged and their
//! signature still verifies. Exact duplicates in a SET OF are dropped: NSS lists the signer's
//! certificate twice in `certificates` ([0] IMPLICIT SET OF), which DER forbids and `der`
//! refuses. Nesting depth is bounded.

/// Deeper than any CMS structure; bounds recursion on hostile input.
const MAX_DEPTH: usize = 64;

const OCTET_STRING_CONSTRUCTED: u8 = 0x24;
const SET: u8 = 0x31;
/// [0] constructed: `certificates` in SignedData (a SET OF), also signed attributes.
const CONTEXT_0_CONSTRUCTED: u8 = 0xa0;

/// Re-encodes the first BER TLV of `input` as DER; bytes after it (a PDF's zero padding)
/// are ignored.
pub(crate) fn to_der(input: &[u8]) -> Result<Vec<u8>, String> {
    let mut pos = 0;
    let mut out = Vec::with_capacity(input.len());
    convert(input, &mut pos, &mut out, 0)?;
    Ok(out)
}

fn byte(data: &[u8], pos: &mut usize) -> Result<u8, String> {
    let b = *data.get(*pos).ok_or("truncated BER")?;
    *pos += 1;
    Ok(b)
}

fn write_length(out: &mut Vec<u8>, length: usize) {
    if length < 0x80 {
        out.push(length as u8);
    } else {
        let bytes = length.to_be_bytes();
        let first = bytes
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - first) as u8);
        out.extend_from_slice(&bytes[first..]);
    }
}

/// Contents of a DER TLV (its tag and length skipped).
fn der_contents(tlv: &[u8]) -> &[u8] {
    let Some(&length_byte) = tlv.get(1) else {
        return &[];
    };
    let header = if length_byte & 0x80 == 0 {
        2
    } else {
        2 + usize::from(length_byte & 0x7f)
    };
    tlv.get(header..).unwrap_or_default()
}

fn convert(data: &[u8], pos: &mut usize, out: &mut Vec<u8>, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("BER nested too deeply".into());
    }
    let tag_start = *pos;
    let first = byte(data, pos)?;
    if first & 0x1f == 0x1f {
        // High tag number: base-128 bytes, the last without its top bit.
        while byte(data, pos)? & 0x80 != 0 {}
    }
    let tag = data[tag_start..*pos].to_vec();
    let constructed = first & 0x20 != 0;
    let length_byte = byte(data, pos)?;
    let definite = if length_byte == 0x80 {
        None
    } else if length_byte & 0x80 == 0 {
        Some(usize::from(length_byte))
    } else {
        let count = usize::from(length_byte & 0x7f);
        if count > 8 {
            return Err("BER length too long".into());
        }
        let mut length = 0usize;
        for _ in 0..count {
            length = (length << 8) | usize::from(byte(data, pos)?);
        }
        Some(length)
    };
    if !constructed {
        let length = definite.ok_or("indefinite length on a primitive value")?;
        let end = pos
            .checked_add(length)
            .filter(|&e| e <= data.len())
            .ok_or("truncated BER")?;
        out.extend_from_slice(&tag);
        write_length(out, length);
        out.extend_from_slice(&data[*pos..end]);
        *pos = end;
        return Ok(());
    }
    let mut children = Vec::new();
    let mut child_tlvs = Vec::new();
    match definite {
        Some(length) => {
            let end = pos
                .checked_add(length)
                .filter(|&e| e <= data.len())
                .ok_or("truncated BER")?;
            while *pos < end {
                let mut child = Vec::new();
                convert(data, pos, &mut child, depth + 1)?;
                children.extend_from_slice(&child);
                child_tlvs.push(child);
            }
            if *pos != end {
                return Err("BER child overruns its parent".into());
            }
        }
        None => loop {
            if data.get(*pos..*pos + 2) == Some(&[0, 0]) {
                *pos += 2;
                break;
            }
            let mut child = Vec::new();
            convert(data, pos, &mut child, depth + 1)?;
            children.extend_from_slice(&child);
            child_tlvs.push(child);
        },
    }
    if tag == [OCTET_STRING_CONSTRUCTED] {
        // A chunked OCTET STRING: DER has one primitive string of all the chunks.
        let joined: Vec<u8> = child_tlvs
            .iter()
            .flat_map(|c| der_contents(c).to_vec())
            .collect();
        out.push(0x04);
        write_length(out, joined.len());
        out.extend_from_slice(&joined);
    } else if tag == [SET] || tag == [CONTEXT_0_CONSTRUCTED] {
        let mut unique: Vec<Vec<u8>> = Vec::with_capacity(child_tlvs.len());
        for child in child_tlvs {
            if !unique.contains(&child) {
                unique.push(child);
            }
        }
        let joined = unique.concat();
        out.extend_from_slice(&tag);
        write_length(out, joined.len());
        out.extend_from_slice(&joined);
    } else {
        out.extend_from_slice(&tag);
        write_length(out, children.len());
        out.extend_from_slice(&children);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::to_der;

    #[test]
    fn indefinite_lengths_and_chunked_strings_become_der() {
        // SEQUENCE (indefinite) { OCTET STRING (constructed, indefinite) { "ab", "c" }, NULL }
        let ber = [
            0x30, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x01, b'c', 0, 0, 0x05, 0x00, 0,
            0, 0, 0,
        ];
        assert_eq!(
            to_der(&ber).unwrap(),
            [0x30, 0x07, 0x04, 0x03, b'a', b'b', b'c', 0x05, 0x00]
        );
        // DER passes through unchanged, trailing padding ignored.
        let der = [0x30, 0x03, 0x02, 0x01, 0x05, 0, 0];
        assert_eq!(to_der(&der).unwrap(), der[..5]);
        assert!(to_der(&[0x30, 0x80, 0x02]).is_err(), "truncated");
        // SET { INTEGER 1, INTEGER 1 } keeps one.
        let set = [0x31, 0x80, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0, 0];
        assert_eq!(to_der(&set).unwrap(), [0x31, 0x03, 0x02, 0x01, 0x01]);
    }
}
