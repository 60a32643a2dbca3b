//! Signing a package: two streaming passes over the unsigned file.
//!
//! Pass 1 canonicalises the document into a SHA-256 hasher and notes where
//! `edXML:edXMLHeader` closes and which namespaces are in scope there; SignedInfo is then
//! built, canonicalised in that scope (it is canonicalised where it will sit, as a verifier
//! will), hashed and signed. Pass 2 copies the file byte for byte, writing the Signature element
//! just before the header's end tag. Since nothing else changes, the signed document without its
//! Signature is exactly the document pass 1 digested.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tinhso_signing::signer::{DigestAlgorithm, Signer};

use super::{
    C14N, DSIG_NAMESPACE, DigestSink, DsigError, EDXML_NAMESPACE, ENVELOPED_SIGNATURE, RSA_SHA256,
    SHA256, certificate, digest,
};
use crate::c14n::{
    Canonicalizer, Mode, Node, NsContext, XmlStream, canonicalize_fragment, write_escaped_text,
};

const READ_BUFFER: usize = 64 * 1024;

/// Where the Signature goes: `skip` bytes at `at` are replaced by `bytes`.
struct Splice {
    at: u64,
    skip: u64,
    bytes: Vec<u8>,
}

/// What pass 1 learns.
struct Scan {
    digest: Vec<u8>,
    /// Offset where `</edXML:edXMLHeader>` starts, or where `/>` of an empty header starts.
    header_end: u64,
    /// The header's qualified name when it was an empty element.
    empty_header: Option<String>,
    /// Namespaces (and xml:* attributes) in scope inside the header.
    context: NsContext,
    length: u64,
}

/// Signs the package at `input_path` (RSA-SHA256 over inclusive-C14N SignedInfo, SHA-256
/// digest of the document with the enveloped-signature transform) and writes the signed package
/// to `output`. The input must not be signed already (`edxml.signature.multiple`) and must have
/// one `edXML:edXMLHeader` (`edxml.signature.malformed`).
pub fn sign_enveloped(
    input_path: &Path,
    mut output: impl Write,
    signer: &dyn Signer,
) -> Result<(), DsigError> {
    let chain = signer.certificate_chain();
    let leaf = chain
        .first()
        .ok_or_else(|| DsigError::CertificateInvalid("the signer has no certificate".into()))?;
    let subject = certificate::parse(leaf)?.subject;

    let scan = scan(BufReader::with_capacity(
        READ_BUFFER,
        File::open(input_path)?,
    ))?;

    let signed_info = signed_info(&scan.digest);
    let mut context = scan.context.clone();
    context.bind("", DSIG_NAMESPACE);
    let canonical = canonicalize_fragment(signed_info.as_bytes(), &context, Mode::Inclusive)?;
    let value = signer.sign_digest(
        DigestAlgorithm::Sha256,
        &digest(DigestAlgorithm::Sha256, &canonical),
    )?;

    let mut subject_text = Vec::new();
    write_escaped_text(&mut subject_text, &subject)?;
    let subject_text = String::from_utf8_lossy(&subject_text);
    let mut signature = format!("<Signature xmlns=\"{DSIG_NAMESPACE}\">{signed_info}");
    signature.push_str(&format!(
        "<SignatureValue>{}</SignatureValue><KeyInfo><X509Data><X509SubjectName>{}</X509SubjectName>",
        STANDARD.encode(value),
        subject_text
    ));
    for der in chain {
        signature.push_str(&format!(
            "<X509Certificate>{}</X509Certificate>",
            STANDARD.encode(der)
        ));
    }
    signature.push_str("</X509Data></KeyInfo></Signature>");

    let splice = match &scan.empty_header {
        // `<edXML:edXMLHeader/>` becomes `<edXML:edXMLHeader>Signature</edXML:edXMLHeader>`.
        Some(qname) => Splice {
            at: scan.header_end,
            skip: 2,
            bytes: format!(">{signature}</{qname}>").into_bytes(),
        },
        None => Splice {
            at: scan.header_end,
            skip: 0,
            bytes: signature.into_bytes(),
        },
    };
    copy_with_splice(input_path, scan.length, &splice, &mut output)?;
    output.flush()?;
    Ok(())
}

fn signed_info(digest: &[u8]) -> String {
    format!(
        "<SignedInfo><CanonicalizationMethod Algorithm=\"{C14N}\"/><SignatureMethod Algorithm=\"{RSA_SHA256}\"/>\
         <Reference URI=\"\"><Transforms><Transform Algorithm=\"{ENVELOPED_SIGNATURE}\"/></Transforms>\
         <DigestMethod Algorithm=\"{SHA256}\"/><DigestValue>{}</DigestValue></Reference></SignedInfo>",
        STANDARD.encode(digest)
    )
}

fn scan<R: io::BufRead>(input: R) -> Result<Scan, DsigError> {
    let mut stream = XmlStream::new(input);
    let mut canonicalizer =
        Canonicalizer::new(DigestSink::new(&[DigestAlgorithm::Sha256]), Mode::Inclusive);
    let mut header: Option<(u64, Option<String>, NsContext)> = None;
    loop {
        let node = stream.next_node()?;
        let mut header_closed: Option<(String, NsContext)> = None;
        match &node {
            Node::Eof => break,
            Node::Start { element, .. } if element.is(DSIG_NAMESPACE, "Signature") => {
                return Err(DsigError::Multiple);
            }
            Node::End { element, scope, .. } if element.is(EDXML_NAMESPACE, "edXMLHeader") => {
                if header.is_some() {
                    return Err(DsigError::Malformed(
                        "the package has more than one edXML:edXMLHeader".into(),
                    ));
                }
                header_closed = Some((element.qname.clone(), scope.context(true)));
            }
            _ => {}
        }
        canonicalizer.node(&node)?;
        if let Some((qname, context)) = header_closed {
            header = Some(if stream.last_element_was_empty() {
                (stream.position().saturating_sub(2), Some(qname), context)
            } else {
                (stream.event_start(), None, context)
            });
        }
    }
    let (header_end, empty_header, context) = header
        .ok_or_else(|| DsigError::Malformed("the package has no edXML:edXMLHeader".into()))?;
    let digest = canonicalizer
        .into_inner()
        .finish(DigestAlgorithm::Sha256)
        .unwrap_or_default();
    Ok(Scan {
        digest,
        header_end,
        empty_header,
        context,
        length: stream.position(),
    })
}

fn copy_with_splice(
    path: &Path,
    expected_length: u64,
    splice: &Splice,
    output: &mut impl Write,
) -> Result<(), DsigError> {
    let mut file = File::open(path)?;
    if file.metadata()?.len() != expected_length {
        return Err(DsigError::Malformed(
            "the package changed while it was being signed".into(),
        ));
    }
    let head = io::copy(&mut (&mut file).take(splice.at), output)?;
    let skipped = io::copy(&mut (&mut file).take(splice.skip), &mut io::sink())?;
    if head != splice.at || skipped != splice.skip {
        return Err(DsigError::Malformed(
            "the package changed while it was being signed".into(),
        ));
    }
    output.write_all(&splice.bytes)?;
    io::copy(&mut file, output)?;
    Ok(())
}
