//! The X.509 certificates a signature carries in KeyInfo: parsing, picking the signer's among
//! them, and checking an RSA PKCS#1 v1.5 signature with its key.
//!
//! Nothing here judges trust or validity dates; the caller gets the dates.

use std::time::SystemTime;

use der::{Decode, Encode};
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use tinhso_signing::signer::DigestAlgorithm;
use x509_cert::Certificate;

use super::DsigError;

/// A certificate with what the signature code needs of it.
#[derive(Debug)]
pub(crate) struct ParsedCertificate {
    pub der: Vec<u8>,
    pub certificate: Certificate,
    pub subject: String,
    pub not_before: SystemTime,
    pub not_after: SystemTime,
}

pub(crate) fn parse(der: &[u8]) -> Result<ParsedCertificate, DsigError> {
    let certificate = Certificate::from_der(der)
        .map_err(|e| DsigError::CertificateInvalid(format!("not an X.509 certificate: {e}")))?;
    let tbs = &certificate.tbs_certificate;
    Ok(ParsedCertificate {
        der: der.to_vec(),
        subject: tbs.subject.to_string(),
        not_before: tbs.validity.not_before.to_system_time(),
        not_after: tbs.validity.not_after.to_system_time(),
        certificate,
    })
}

impl ParsedCertificate {
    pub fn rsa_public_key(&self) -> Result<RsaPublicKey, DsigError> {
        let spki = self
            .certificate
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| DsigError::CertificateInvalid(e.to_string()))?;
        RsaPublicKey::from_public_key_der(&spki)
            .map_err(|e| DsigError::CertificateInvalid(format!("not an RSA public key: {e}")))
    }

    fn issued(&self, other: &ParsedCertificate) -> bool {
        other.certificate.tbs_certificate.issuer == self.certificate.tbs_certificate.subject
            && other.der != self.der
    }
}

/// Picks the signer's certificate out of KeyInfo's: the one that issued none of the others
/// (the leaf of the chain); with several candidates, the first in document order. Returns the
/// signer and the rest.
pub(crate) fn split_signer(
    mut certificates: Vec<ParsedCertificate>,
) -> Result<(ParsedCertificate, Vec<ParsedCertificate>), DsigError> {
    if certificates.is_empty() {
        return Err(DsigError::CertificateInvalid(
            "KeyInfo carries no X509Certificate".into(),
        ));
    }
    let leaf = (0..certificates.len())
        .find(|&i| {
            !certificates
                .iter()
                .any(|other| certificates[i].issued(other))
        })
        .unwrap_or(0);
    let signer = certificates.remove(leaf);
    Ok((signer, certificates))
}

/// Checks an RSA PKCS#1 v1.5 signature over the already computed `hashed` digest.
pub(crate) fn verify_rsa(
    key: &RsaPublicKey,
    algorithm: DigestAlgorithm,
    hashed: &[u8],
    signature: &[u8],
) -> Result<(), DsigError> {
    let scheme = match algorithm {
        DigestAlgorithm::Sha1 => Pkcs1v15Sign::new::<sha1::Sha1>(),
        DigestAlgorithm::Sha256 => Pkcs1v15Sign::new::<sha2::Sha256>(),
    };
    key.verify(scheme, hashed, signature)
        .map_err(|_| DsigError::ValueInvalid)
}
