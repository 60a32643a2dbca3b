//! The signer port: a certificate chain and an RSA PKCS#1 v1.5 signature over a digest.
//!
//! Callers hash what they sign themselves (a PDF's byte range, an XML SignedInfo), so a
//! signer never sees the document: a hardware token or a remote signing service only ever
//! receives a digest.

/// The digest algorithms a signature can be made or checked with. SHA-1 exists only to
/// verify older edXML packages; nothing new is signed with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigestAlgorithm {
    Sha1,
    Sha256,
}

/// Why a signature could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("the signing key refused: {0}")]
    Key(String),
    #[error("the signing device cannot be reached: {0}")]
    Unavailable(String),
}

/// A signing key with its certificate. Implementations: `Pkcs12Signer` (a key and chain from
/// a PKCS#12 file); tokens and remote signers later.
pub trait Signer: Send + Sync {
    /// The signer's certificate (DER) first, then any intermediates up to (not including) the
    /// trust anchor.
    fn certificate_chain(&self) -> &[Vec<u8>];

    /// RSA PKCS#1 v1.5 signature over `digest`, which was computed with `algorithm`.
    fn sign_digest(&self, algorithm: DigestAlgorithm, digest: &[u8]) -> Result<Vec<u8>, SignError>;
}
