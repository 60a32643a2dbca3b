//! Verifying a package's enveloped signature in one streaming pass.
//!
//! The document digest has to be computed from the first byte, before the Signature (and so
//! the Reference's transforms and digest method) has been read. So the document is
//! canonicalised both inclusively and exclusively, each into SHA-1 and SHA-256 at once, until
//! SignedInfo has been read; then all but the one the Reference names are dropped. In an edXML
//! package the Signature sits in the header, so the duplicated work covers a few kilobytes and
//! the attachments are hashed once.
//!
//! SignedInfo's exact bytes are captured as they stream past, with the namespaces in scope
//! around it, and canonicalised afterwards with the CanonicalizationMethod it names — in its
//! in-document context, as the signer did.

use std::io::BufRead;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tinhso_signing::signer::DigestAlgorithm;

use super::certificate::{self, ParsedCertificate};
use super::{
    C14N, C14N_WITH_COMMENTS, DSIG_NAMESPACE, DigestSink, DsigError, ENVELOPED_SIGNATURE, EXC_C14N,
    EXC_C14N_WITH_COMMENTS, RSA_SHA1, RSA_SHA256, SHA1, SHA256, SignatureAlgorithm,
    VerifiedSignature, digest,
};
use crate::c14n::{
    Canonicalizer, Element, Mode, Node, NsContext, XmlStream, canonicalize_fragment,
};

/// Longest SignedInfo accepted (a real one is under 2 KB).
const MAX_SIGNED_INFO: usize = 256 * 1024;
/// Longest text accepted in one Signature element (certificates are a few KB).
const MAX_SIGNATURE_TEXT: usize = 1024 * 1024;

/// What the Signature element says, gathered while it streams past.
#[derive(Debug, Default)]
struct SignatureParts {
    canonicalization: Option<String>,
    canonicalization_prefixes: Vec<String>,
    signature_method: Option<String>,
    references: usize,
    reference_uri: Option<String>,
    transforms: Vec<String>,
    transform_prefixes: Vec<String>,
    digest_method: Option<String>,
    digest_value: String,
    signature_value: String,
    subject_name: Option<String>,
    certificates: Vec<String>,
    signed_info: Option<(Vec<u8>, NsContext)>,
}

impl SignatureParts {
    /// Notes what an element at `path` (below Signature) says in its attributes.
    fn element(&mut self, path: &[&str], element: &Element) {
        let algorithm = element.attribute("Algorithm").map(str::to_owned);
        let prefix_list = || {
            element
                .attribute("PrefixList")
                .unwrap_or("")
                .split_ascii_whitespace()
                .map(|p| if p == "#default" { "" } else { p }.to_owned())
                .collect::<Vec<_>>()
        };
        match path {
            ["SignedInfo", "CanonicalizationMethod"] => self.canonicalization = algorithm,
            [
                "SignedInfo",
                "CanonicalizationMethod",
                "ec:InclusiveNamespaces",
            ] => {
                self.canonicalization_prefixes = prefix_list();
            }
            ["SignedInfo", "SignatureMethod"] => self.signature_method = algorithm,
            ["SignedInfo", "Reference"] => {
                self.references += 1;
                self.reference_uri = element.attribute("URI").map(str::to_owned);
            }
            ["SignedInfo", "Reference", "Transforms", "Transform"] => {
                self.transforms.push(algorithm.unwrap_or_default());
            }
            [
                "SignedInfo",
                "Reference",
                "Transforms",
                "Transform",
                "ec:InclusiveNamespaces",
            ] => {
                self.transform_prefixes.extend(prefix_list());
            }
            ["SignedInfo", "Reference", "DigestMethod"] => self.digest_method = algorithm,
            ["KeyInfo", "X509Data", "X509Certificate"] => self.certificates.push(String::new()),
            ["KeyInfo", "X509Data", "X509SubjectName"] => self.subject_name = Some(String::new()),
            _ => {}
        }
    }

    /// Keeps the text of the elements whose content matters.
    fn text(&mut self, path: &[&str], text: &str) -> Result<(), DsigError> {
        let target = match path {
            ["SignedInfo", "Reference", "DigestValue"] => Some(&mut self.digest_value),
            ["SignatureValue"] => Some(&mut self.signature_value),
            ["KeyInfo", "X509Data", "X509Certificate"] => self.certificates.last_mut(),
            ["KeyInfo", "X509Data", "X509SubjectName"] => self.subject_name.as_mut(),
            _ => None,
        };
        if let Some(target) = target {
            if target.len() + text.len() > MAX_SIGNATURE_TEXT {
                return Err(DsigError::Malformed("oversized Signature content".into()));
            }
            target.push_str(text);
        }
        Ok(())
    }
}

/// Where in the Signature the stream is, by the dsig local names from Signature down
/// (`ec:` for exclusive-c14n elements, `?` for anything else).
#[derive(Debug)]
struct InSignature {
    depth: usize,
    path: Vec<String>,
}

/// The Reference's processing, once SignedInfo has been read.
#[derive(Debug)]
struct ReferencePlan {
    mode: Mode,
    digest: DigestAlgorithm,
}

/// Verifies the one enveloped signature of the package read from `input`: the digest of the
/// document without its Signature, then the RSA signature over SignedInfo with the certificate
/// in KeyInfo. Trust in the certificate is left to the caller.
pub fn verify_enveloped(input: impl BufRead) -> Result<VerifiedSignature, DsigError> {
    let mut stream = XmlStream::new(input);
    let mut documents: Vec<Canonicalizer<DigestSink>> = [
        Mode::Inclusive,
        Mode::Exclusive {
            inclusive_prefixes: Vec::new(),
        },
    ]
    .into_iter()
    .map(|mode| {
        Canonicalizer::new(
            DigestSink::new(&[DigestAlgorithm::Sha1, DigestAlgorithm::Sha256]),
            mode,
        )
    })
    .collect();
    let mut parts = SignatureParts::default();
    let mut seen_signature = false;
    // Some packages in circulation carry `<Signature>` in the edXML namespace: worth naming.
    let mut foreign_signature: Option<String> = None;
    let mut inside: Option<InSignature> = None;
    let mut plan: Option<ReferencePlan> = None;

    loop {
        let node = stream.next_node()?;
        if let Node::Eof = node {
            break;
        }
        let Some(sig) = inside.as_mut() else {
            if let Node::Start { element, depth, .. } = &node
                && element.is(DSIG_NAMESPACE, "Signature")
            {
                if seen_signature {
                    return Err(DsigError::Multiple);
                }
                seen_signature = true;
                inside = Some(InSignature {
                    depth: *depth,
                    path: Vec::new(),
                });
                continue;
            }
            if let Node::Start { element, .. } = &node
                && element.local_name() == "Signature"
            {
                foreign_signature = Some(element.namespace.clone());
            }
            for document in &mut documents {
                document.node(&node)?;
            }
            continue;
        };
        let mut begin_capture = false;
        let mut end_capture = false;
        match &node {
            Node::Start { element, scope, .. } => {
                let name = if element.namespace == DSIG_NAMESPACE {
                    element.local_name().to_owned()
                } else if element.namespace == EXC_C14N {
                    format!("ec:{}", element.local_name())
                } else {
                    "?".to_owned()
                };
                sig.path.push(name);
                let path: Vec<&str> = sig.path.iter().map(String::as_str).collect();
                if let ["SignedInfo"] = path.as_slice() {
                    if parts.signed_info.is_some() {
                        return Err(DsigError::Malformed("two SignedInfo elements".into()));
                    }
                    parts.signed_info = Some((Vec::new(), scope.context(false)));
                    begin_capture = true;
                } else {
                    parts.element(&path, element);
                }
            }
            Node::Text(text) => {
                let path: Vec<&str> = sig.path.iter().map(String::as_str).collect();
                parts.text(&path, text)?;
            }
            Node::End { depth, .. } => {
                if *depth == sig.depth {
                    inside = None;
                } else {
                    end_capture = sig.path.len() == 1 && sig.path[0] == "SignedInfo";
                    sig.path.pop();
                }
            }
            Node::ProcessingInstruction { .. } | Node::Eof => {}
        }
        if begin_capture {
            // No event was read since SignedInfo's start tag: it is still the last one.
            let start_tag = format!("<{}>", stream.raw_start_tag());
            stream.start_capture(start_tag.as_bytes());
        }
        if end_capture {
            let captured = stream.take_capture();
            if let Some((bytes, _)) = &mut parts.signed_info {
                *bytes = captured;
            }
            let chosen = reference_plan(&parts)?;
            documents.retain(|d| *d.mode() == chosen.mode);
            for document in &mut documents {
                document.get_mut().retain(chosen.digest);
            }
            plan = Some(chosen);
        }
        if stream.captured_len() > MAX_SIGNED_INFO {
            return Err(DsigError::Malformed("oversized SignedInfo".into()));
        }
    }

    if !seen_signature {
        return Err(match foreign_signature {
            Some(namespace) => DsigError::Malformed(format!(
                "a Signature element in namespace {namespace:?}, not the XML-DSig namespace"
            )),
            None => DsigError::Missing,
        });
    }
    let (plan, (signed_info, context)) = match (plan, parts.signed_info.take()) {
        (Some(plan), Some(signed_info)) => (plan, signed_info),
        _ => {
            return Err(DsigError::Malformed(
                "the Signature has no SignedInfo".into(),
            ));
        }
    };
    let document = documents
        .pop()
        .ok_or_else(|| DsigError::Malformed("no document digest".into()))?;
    let actual = document
        .into_inner()
        .finish(plan.digest)
        .unwrap_or_default();
    let expected = decode_base64(&parts.digest_value)
        .ok_or_else(|| DsigError::Malformed("DigestValue is not base64".into()))?;
    if actual != expected {
        return Err(DsigError::DigestMismatch);
    }

    let certificates = parts
        .certificates
        .iter()
        .map(|b64| {
            decode_base64(b64)
                .ok_or_else(|| {
                    DsigError::CertificateInvalid("X509Certificate is not base64".into())
                })
                .and_then(|der| certificate::parse(&der))
        })
        .collect::<Result<Vec<ParsedCertificate>, DsigError>>()?;
    let (signer, others) = certificate::split_signer(certificates)?;
    let key = signer.rsa_public_key()?;

    let canonicalization = parts.canonicalization.clone().unwrap_or_default();
    let algorithm = signature_algorithm(&parts)?;
    let signed_info_mode = signed_info_mode(&parts)?;
    let canonical = canonicalize_fragment(&signed_info, &context, signed_info_mode)?;
    let value = decode_base64(&parts.signature_value)
        .ok_or_else(|| DsigError::Malformed("SignatureValue is not base64".into()))?;
    certificate::verify_rsa(
        &key,
        algorithm.digest(),
        &digest(algorithm.digest(), &canonical),
        &value,
    )?;

    Ok(VerifiedSignature {
        algorithm,
        digest_algorithm: plan.digest,
        canonicalization,
        subject: signer.subject.clone(),
        claimed_subject_name: parts.subject_name.clone(),
        not_before: signer.not_before,
        not_after: signer.not_after,
        certificate: signer.der,
        extra_certificates: others.into_iter().map(|c| c.der).collect(),
    })
}

/// Which document canonicalisation and digest the (single, whole-document, enveloped)
/// Reference asks for.
fn reference_plan(parts: &SignatureParts) -> Result<ReferencePlan, DsigError> {
    let unsupported = |what: String| Err(DsigError::AlgorithmUnsupported(what));
    if parts.references != 1 {
        return unsupported(format!(
            "{} References (only one, to the whole document, is supported)",
            parts.references
        ));
    }
    if parts.reference_uri.as_deref() != Some("") {
        return unsupported(format!(
            "Reference URI {:?} (only URI=\"\" is supported)",
            parts.reference_uri.as_deref().unwrap_or("(none)")
        ));
    }
    let rest = match parts.transforms.split_first() {
        Some((first, rest)) if first == ENVELOPED_SIGNATURE => rest,
        _ => {
            return unsupported(
                "a Reference without the enveloped-signature transform first".into(),
            );
        }
    };
    // A same-document reference to "" has no comments, so the WithComments variants of the
    // canonicalisation transforms produce the same bytes as the plain ones.
    let mode = match rest {
        [] => Mode::Inclusive,
        [c] if c == C14N || c == C14N_WITH_COMMENTS => Mode::Inclusive,
        [c] if c == EXC_C14N || c == EXC_C14N_WITH_COMMENTS => {
            if !parts.transform_prefixes.is_empty() {
                return unsupported(
                    "an exclusive-c14n Reference transform with an InclusiveNamespaces PrefixList"
                        .into(),
                );
            }
            Mode::Exclusive {
                inclusive_prefixes: Vec::new(),
            }
        }
        other => return unsupported(format!("Reference transforms {other:?}")),
    };
    let digest = match parts.digest_method.as_deref() {
        Some(SHA1) => DigestAlgorithm::Sha1,
        Some(SHA256) => DigestAlgorithm::Sha256,
        other => return unsupported(format!("DigestMethod {}", other.unwrap_or("(none)"))),
    };
    // Checked here too, so an unsupported signature is reported before the attachments are read.
    signature_algorithm(parts)?;
    signed_info_mode(parts)?;
    Ok(ReferencePlan { mode, digest })
}

fn signature_algorithm(parts: &SignatureParts) -> Result<SignatureAlgorithm, DsigError> {
    match parts.signature_method.as_deref() {
        Some(RSA_SHA1) => Ok(SignatureAlgorithm::RsaSha1),
        Some(RSA_SHA256) => Ok(SignatureAlgorithm::RsaSha256),
        other => Err(DsigError::AlgorithmUnsupported(format!(
            "SignatureMethod {}",
            other.unwrap_or("(none)")
        ))),
    }
}

fn signed_info_mode(parts: &SignatureParts) -> Result<Mode, DsigError> {
    match parts.canonicalization.as_deref() {
        Some(C14N) => Ok(Mode::Inclusive),
        Some(EXC_C14N) => Ok(Mode::Exclusive {
            inclusive_prefixes: parts.canonicalization_prefixes.clone(),
        }),
        other => Err(DsigError::AlgorithmUnsupported(format!(
            "CanonicalizationMethod {}",
            other.unwrap_or("(none)")
        ))),
    }
}

/// Base64 as XML-DSig writes it: line breaks and other whitespace allowed anywhere.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(compact).ok()
}
