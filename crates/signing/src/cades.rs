//! CMS SignedData: the detached CAdES signature a PAdES signature carries, and the checks
//! shared by PDF signatures and RFC 3161 timestamp tokens.
//!
//! A signature made here is SHA-256 with RSA PKCS#1 v1.5 through the `Signer` port, over the
//! DER of the signed attributes content-type, message-digest and signing-certificate-v2 (ESS,
//! required for PAdES B-B). The claimed signing time lives in the PDF's `/M`, not in a
//! signing-time attribute (ETSI EN 319 142-1). A timestamp token, when there is one, is the
//! unsigned attribute signature-time-stamp-token over the signature value (B-T).

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;

use crate::pki::{self, Hash, OID_RSA_ENCRYPTION, OID_SHA256};
use crate::signer::{DigestAlgorithm, SignError, Signer};

pub(crate) const OID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
pub(crate) const OID_SIGNED_DATA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const OID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const OID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const OID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
const OID_SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
const OID_SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");

/// ESS IssuerSerial (RFC 5035).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

/// ESS ESSCertIDv2 with the hash algorithm left at its default, SHA-256.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    #[asn1(optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

/// ESS SigningCertificateV2 (policies omitted).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// Why a CMS signature could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum CadesError {
    #[error("the signer has no certificate")]
    NoCertificate,
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error("CMS encoding: {0}")]
    Encoding(String),
}

pub(crate) fn encoding<E: std::fmt::Display>(e: E) -> CadesError {
    CadesError::Encoding(e.to_string())
}

fn sha256_algorithm() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: OID_SHA256,
        parameters: None,
    }
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, CadesError> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value]).map_err(encoding)?,
    })
}

/// A detached CMS signature being made: signed, and possibly waiting for its timestamp.
#[derive(Clone, Debug)]
pub struct DetachedSignature {
    signed_data: SignedData,
}

impl DetachedSignature {
    /// Signs `content_digest` (the SHA-256 of the signed content) with `signer`.
    pub fn sign(
        signer: &dyn Signer,
        content_digest: &[u8],
    ) -> Result<DetachedSignature, CadesError> {
        let chain = signer.certificate_chain();
        let leaf_der = chain.first().ok_or(CadesError::NoCertificate)?;
        let leaf = Certificate::from_der(leaf_der).map_err(encoding)?;
        let issuer = leaf.tbs_certificate.issuer.clone();
        let serial = leaf.tbs_certificate.serial_number.clone();

        let ess = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                hash_algorithm: None,
                cert_hash: OctetString::new(Hash::Sha256.digest(leaf_der)).map_err(encoding)?,
                issuer_serial: Some(IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(issuer.clone())],
                    serial_number: serial.clone(),
                }),
            }],
        };
        let signed_attrs = SetOfVec::try_from(vec![
            attribute(
                OID_CONTENT_TYPE,
                Any::encode_from(&OID_DATA).map_err(encoding)?,
            )?,
            attribute(
                OID_MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(content_digest).map_err(encoding)?)
                    .map_err(encoding)?,
            )?,
            attribute(
                OID_SIGNING_CERTIFICATE_V2,
                Any::encode_from(&ess).map_err(encoding)?,
            )?,
        ])
        .map_err(encoding)?;
        // The signature covers the attributes encoded as a SET OF (tag 0x31), not as the
        // [0] IMPLICIT field they are stored in (RFC 5652 §5.4).
        let to_sign = signed_attrs.to_der().map_err(encoding)?;
        let signature =
            signer.sign_digest(DigestAlgorithm::Sha256, &Hash::Sha256.digest(&to_sign))?;

        let certificates = chain
            .iter()
            .map(|der| Certificate::from_der(der).map(CertificateChoices::Certificate))
            .collect::<Result<Vec<_>, _>>()
            .map_err(encoding)?;
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer,
                serial_number: serial,
            }),
            digest_alg: sha256_algorithm(),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: OID_RSA_ENCRYPTION,
                parameters: Some(Any::null()),
            },
            signature: OctetString::new(signature).map_err(encoding)?,
            unsigned_attrs: None,
        };
        let signed_data = SignedData {
            version: CmsVersion::V1,
            digest_algorithms: SetOfVec::try_from(vec![sha256_algorithm()]).map_err(encoding)?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: OID_DATA,
                econtent: None,
            },
            certificates: Some(CertificateSet::try_from(certificates).map_err(encoding)?),
            crls: None,
            signer_infos: SignerInfos::try_from(vec![signer_info]).map_err(encoding)?,
        };
        Ok(DetachedSignature { signed_data })
    }

    fn signer_info(&self) -> Option<&SignerInfo> {
        self.signed_data.signer_infos.0.iter().next()
    }

    /// The RSA signature value: what a timestamp authority stamps for B-T.
    pub fn signature_value(&self) -> &[u8] {
        self.signer_info()
            .map(|s| s.signature.as_bytes())
            .unwrap_or_default()
    }

    /// Adds an RFC 3161 timestamp token (a DER ContentInfo) as the unsigned attribute
    /// signature-time-stamp-token.
    pub fn set_timestamp_token(&mut self, token_der: &[u8]) -> Result<(), CadesError> {
        let token = Any::from_der(token_der).map_err(encoding)?;
        let mut infos: Vec<SignerInfo> = self.signed_data.signer_infos.0.iter().cloned().collect();
        if let Some(info) = infos.first_mut() {
            info.unsigned_attrs = Some(
                SetOfVec::try_from(vec![attribute(OID_SIGNATURE_TIME_STAMP_TOKEN, token)?])
                    .map_err(encoding)?,
            );
        }
        self.signed_data.signer_infos = SignerInfos::try_from(infos).map_err(encoding)?;
        Ok(())
    }

    /// The DER ContentInfo to embed.
    pub fn to_der(&self) -> Result<Vec<u8>, CadesError> {
        ContentInfo {
            content_type: OID_SIGNED_DATA,
            content: Any::encode_from(&self.signed_data).map_err(encoding)?,
        }
        .to_der()
        .map_err(encoding)
    }
}

/// Reads a ContentInfo holding SignedData, ignoring what follows it (a PDF's `/Contents` is
/// zero-padded to its reserved size).
/// BER (indefinite lengths, chunked strings, as NSS writes) is re-encoded as DER first.
pub(crate) fn parse_signed_data(bytes: &[u8]) -> Result<SignedData, String> {
    let decode = |bytes: &[u8]| -> Result<ContentInfo, String> {
        let mut reader = der::SliceReader::new(bytes).map_err(|e| e.to_string())?;
        <ContentInfo as der::Decode>::decode(&mut reader).map_err(|e| e.to_string())
    };
    let info = match decode(bytes) {
        Ok(info) => info,
        Err(first) => crate::ber::to_der(bytes)
            .and_then(|der| decode(&der))
            .map_err(|e| format!("{first}; as BER: {e}"))?,
    };
    if info.content_type != OID_SIGNED_DATA {
        return Err(format!(
            "content type {} is not SignedData",
            info.content_type
        ));
    }
    info.content
        .decode_as::<SignedData>()
        .map_err(|e| e.to_string())
}

/// What checking the (first) signer of a SignedData found.
#[derive(Clone, Debug)]
pub(crate) struct SignerCheck {
    /// Every certificate the SignedData carries.
    pub certificates: Vec<Vec<u8>>,
    /// The signer's certificate, when it is among them.
    pub signer_certificate: Option<Vec<u8>>,
    /// The message-digest attribute (or, without attributes, nothing to compare) equals the
    /// content's digest.
    pub digest_matches: bool,
    /// The RSA signature verifies with the signer certificate's key.
    pub signature_valid: bool,
    /// The ESS signing-certificate(-v2) attribute, when present, names the signer
    /// certificate; `true` when absent.
    pub signing_certificate_matches: bool,
    pub has_signing_certificate_attribute: bool,
    pub signature_value: Vec<u8>,
    pub timestamp_token: Option<Vec<u8>>,
    /// Set when something could not be checked at all (unsupported algorithm, no signer).
    pub unsupported: Option<String>,
}

/// Checks the first signer of `signed_data` over content whose digest `content_digest`
/// computes with the signer's digest algorithm.
pub(crate) fn check_signer(
    signed_data: &SignedData,
    content_digest: &dyn Fn(Hash) -> Vec<u8>,
) -> SignerCheck {
    let certificates: Vec<Vec<u8>> = signed_data
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|choice| match choice {
            CertificateChoices::Certificate(c) => c.to_der().ok(),
            CertificateChoices::Other(_) => None,
        })
        .collect();
    let mut check = SignerCheck {
        certificates: certificates.clone(),
        signer_certificate: None,
        digest_matches: false,
        signature_valid: false,
        signing_certificate_matches: true,
        has_signing_certificate_attribute: false,
        signature_value: Vec::new(),
        timestamp_token: None,
        unsupported: None,
    };
    let Some(info) = signed_data.signer_infos.0.iter().next() else {
        check.unsupported = Some("no signer info".into());
        return check;
    };
    check.signature_value = info.signature.as_bytes().to_vec();
    check.signer_certificate = certificates
        .iter()
        .find(|der| identifies(&info.sid, der))
        .cloned();
    check.timestamp_token = info
        .unsigned_attrs
        .iter()
        .flat_map(|attrs| attrs.iter())
        .find(|a| a.oid == OID_SIGNATURE_TIME_STAMP_TOKEN)
        .and_then(|a| a.values.iter().next())
        .and_then(|v| v.to_der().ok());

    let Some(hash) = Hash::from_digest_oid(&info.digest_alg.oid) else {
        check.unsupported = Some(format!("digest algorithm {}", info.digest_alg.oid));
        return check;
    };
    let Some(signature_hash) = pki::signature_hash(&info.signature_algorithm.oid, Some(hash))
    else {
        check.unsupported = Some(format!(
            "signature algorithm {}",
            info.signature_algorithm.oid
        ));
        return check;
    };
    let digest = content_digest(hash);
    let signed = match &info.signed_attrs {
        Some(attrs) => {
            let message_digest = attrs
                .iter()
                .find(|a| a.oid == OID_MESSAGE_DIGEST)
                .and_then(|a| a.values.iter().next())
                .and_then(|v| v.decode_as::<OctetString>().ok());
            check.digest_matches =
                message_digest.is_some_and(|d| d.as_bytes() == digest.as_slice());
            if let Some(ess) = attrs
                .iter()
                .find(|a| a.oid == OID_SIGNING_CERTIFICATE_V2)
                .and_then(|a| a.values.iter().next())
            {
                check.has_signing_certificate_attribute = true;
                check.signing_certificate_matches = match (
                    &check.signer_certificate,
                    ess.decode_as::<SigningCertificateV2>(),
                ) {
                    (Some(cert), Ok(ess)) => ess.certs.first().is_some_and(|id| {
                        let hash = id
                            .hash_algorithm
                            .as_ref()
                            .map_or(Some(Hash::Sha256), |a| Hash::from_digest_oid(&a.oid));
                        hash.is_some_and(|h| h.digest(cert) == id.cert_hash.as_bytes())
                    }),
                    _ => false,
                };
            }
            match attrs.to_der() {
                Ok(der) => signature_hash.digest(&der),
                Err(e) => {
                    check.unsupported = Some(e.to_string());
                    return check;
                }
            }
        }
        // Without signed attributes the signature is directly over the content.
        None => {
            check.digest_matches = true;
            if signature_hash == hash {
                digest
            } else {
                Vec::new()
            }
        }
    };
    if let Some(cert) = &check.signer_certificate
        && let Ok(cert) = Certificate::from_der(cert)
        && let Ok(spki) = cert.tbs_certificate.subject_public_key_info.to_der()
    {
        check.signature_valid =
            pki::verify_rsa_digest(&spki, signature_hash, &signed, &check.signature_value);
    }
    check
}

/// Whether `cert_der` is the certificate a signer identifier names.
fn identifies(sid: &SignerIdentifier, cert_der: &[u8]) -> bool {
    let Ok(cert) = Certificate::from_der(cert_der) else {
        return false;
    };
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(id) => {
            id.issuer == cert.tbs_certificate.issuer
                && id.serial_number == cert.tbs_certificate.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => cert
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == OID_SUBJECT_KEY_IDENTIFIER)
            .and_then(|e| SubjectKeyIdentifier::from_der(e.extn_value.as_bytes()).ok())
            .is_some_and(|found| found == *ski),
    }
}
