//! Enveloped XML-DSig signatures on edXML packages (QCVN 102:2016 §1.1 of vn-standards.md).
//!
//! A package carries one `<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">` as the last
//! child of `edXML:edXMLHeader`; its single `Reference URI=""` covers the whole document with
//! the `enveloped-signature` transform, so the digest is over the canonical document without
//! the Signature element. [`sign_enveloped`] makes such signatures (RSA-SHA256, SHA-256 digest,
//! inclusive C14N 1.0 for SignedInfo, KeyInfo with X509SubjectName and the certificate chain);
//! [`verify_enveloped`] checks them, accepting also the RSA-SHA1/SHA-1 signatures of older
//! packages and an exclusive-C14N transform after the enveloped one.
//!
//! Invariants: both directions stream the package (memory bounded by one text chunk and the
//! Signature element, whatever the attachments weigh); every failure carries a stable code
//! from [`DsigError::code`] naming the signature; nothing here decides whether a certificate
//! is trusted — [`VerifiedSignature`] hands the certificate and its validity window to callers.

mod certificate;
mod sign;
mod verify;

use std::io::{self, Write};
use std::time::SystemTime;

use sha1::Digest as _;
use tinhso_signing::signer::{DigestAlgorithm, SignError};

pub use sign::sign_enveloped;
pub use verify::verify_enveloped;

pub const DSIG_NAMESPACE: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const EDXML_NAMESPACE: &str = "http://www.mic.gov.vn/TBT/QCVN_102_2016";

pub const C14N: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
pub const C14N_WITH_COMMENTS: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
pub const EXC_C14N_WITH_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";
pub const ENVELOPED_SIGNATURE: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
pub const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

/// Why a package's signature could not be made or does not hold.
#[derive(Debug, thiserror::Error)]
pub enum DsigError {
    #[error("the package carries no XML signature")]
    Missing,
    #[error("the package carries more than one XML signature")]
    Multiple,
    #[error("the package was altered after signing: its digest does not match the signature")]
    DigestMismatch,
    #[error("the signature value does not verify with the signer's certificate")]
    ValueInvalid,
    #[error("the signature uses an algorithm that is not supported: {0}")]
    AlgorithmUnsupported(String),
    #[error("the signer's certificate is missing or unusable: {0}")]
    CertificateInvalid(String),
    #[error("the signature or the package is malformed: {0}")]
    Malformed(String),
    #[error("the signer could not sign: {0}")]
    Signer(#[from] SignError),
    #[error("reading or writing the package failed: {0}")]
    Io(#[from] io::Error),
}

impl DsigError {
    /// Stable code, e.g. `edxml.signature.digest_mismatch`.
    pub fn code(&self) -> &'static str {
        match self {
            DsigError::Missing => "edxml.signature.missing",
            DsigError::Multiple => "edxml.signature.multiple",
            DsigError::DigestMismatch => "edxml.signature.digest_mismatch",
            DsigError::ValueInvalid => "edxml.signature.value_invalid",
            DsigError::AlgorithmUnsupported(_) => "edxml.signature.algorithm_unsupported",
            DsigError::CertificateInvalid(_) => "edxml.signature.certificate_invalid",
            DsigError::Malformed(_) => "edxml.signature.malformed",
            DsigError::Signer(_) => "edxml.signature.signer_failed",
            DsigError::Io(_) => "edxml.signature.io",
        }
    }
}

impl From<crate::c14n::C14nError> for DsigError {
    fn from(e: crate::c14n::C14nError) -> Self {
        match e {
            crate::c14n::C14nError::Io(io) => DsigError::Io(io),
            other => DsigError::Malformed(other.to_string()),
        }
    }
}

/// The signature algorithm of a verified signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    RsaSha1,
    RsaSha256,
}

impl SignatureAlgorithm {
    pub fn uri(self) -> &'static str {
        match self {
            SignatureAlgorithm::RsaSha1 => RSA_SHA1,
            SignatureAlgorithm::RsaSha256 => RSA_SHA256,
        }
    }

    pub fn digest(self) -> DigestAlgorithm {
        match self {
            SignatureAlgorithm::RsaSha1 => DigestAlgorithm::Sha1,
            SignatureAlgorithm::RsaSha256 => DigestAlgorithm::Sha256,
        }
    }
}

/// What a valid signature says. Whether its certificate is trusted, and was valid when the
/// package was signed, is the caller's judgement.
#[derive(Clone, Debug)]
pub struct VerifiedSignature {
    pub algorithm: SignatureAlgorithm,
    /// The digest algorithm of the Reference (the package's own digest).
    pub digest_algorithm: DigestAlgorithm,
    /// The CanonicalizationMethod of SignedInfo.
    pub canonicalization: String,
    /// The signer's certificate, DER.
    pub certificate: Vec<u8>,
    /// The signer certificate's subject (RFC 4514).
    pub subject: String,
    /// What X509SubjectName said, if present (not checked against the certificate).
    pub claimed_subject_name: Option<String>,
    /// Other certificates found in KeyInfo (intermediates, usually), DER.
    pub extra_certificates: Vec<Vec<u8>>,
    pub not_before: SystemTime,
    pub not_after: SystemTime,
}

/// A `Write` that hashes what it is given with SHA-1, SHA-256, or both (while the algorithm is
/// still unknown, during verification).
#[derive(Clone, Debug, Default)]
pub(crate) struct DigestSink {
    sha1: Option<sha1::Sha1>,
    sha256: Option<sha2::Sha256>,
}

impl DigestSink {
    pub(crate) fn new(algorithms: &[DigestAlgorithm]) -> Self {
        DigestSink {
            sha1: algorithms
                .contains(&DigestAlgorithm::Sha1)
                .then(sha1::Sha1::new),
            sha256: algorithms
                .contains(&DigestAlgorithm::Sha256)
                .then(sha2::Sha256::new),
        }
    }

    /// Keeps only `algorithm`.
    pub(crate) fn retain(&mut self, algorithm: DigestAlgorithm) {
        match algorithm {
            DigestAlgorithm::Sha1 => self.sha256 = None,
            DigestAlgorithm::Sha256 => self.sha1 = None,
        }
    }

    pub(crate) fn finish(self, algorithm: DigestAlgorithm) -> Option<Vec<u8>> {
        match algorithm {
            DigestAlgorithm::Sha1 => self.sha1.map(|h| h.finalize().to_vec()),
            DigestAlgorithm::Sha256 => self.sha256.map(|h| h.finalize().to_vec()),
        }
    }
}

impl Write for DigestSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if let Some(h) = &mut self.sha1 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha256 {
            h.update(data);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Digest of `data` with `algorithm`.
pub(crate) fn digest(algorithm: DigestAlgorithm, data: &[u8]) -> Vec<u8> {
    let mut sink = DigestSink::new(&[algorithm]);
    // Writing into a hasher cannot fail.
    let _ = sink.write_all(data);
    sink.finish(algorithm).unwrap_or_default()
}
