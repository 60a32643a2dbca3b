//! X.509 certificates, PKCS#12 key files and trust chains.
//!
//! `Pkcs12Signer` is the `Signer` for a key and certificate chain read from a PKCS#12 file
//! (PBES2/AES as written by current tools, and the PBES1 3DES/RC2 encodings of Windows and
//! `openssl pkcs12 -legacy`). `verify_chain` walks from a leaf certificate through the
//! intermediates to one of the caller's trust anchors, checking each signature, each validity
//! period at the instant given (the crate has no clock), CA basic constraints and key usage.
//! Names are decoded to text as written (UTF-8, BMP, printable), so Vietnamese names survive
//! intact for display.

use der::asn1::{Any, ObjectIdentifier};
use der::{Decode, Encode, Tag, Tagged};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha2::Digest;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};
use x509_cert::name::Name;

use crate::signer::{DigestAlgorithm, SignError, Signer};

const OID_CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const OID_O: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
const OID_OU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");
const OID_C: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
const OID_L: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.7");
const OID_ST: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.8");
const OID_EMAIL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1");
const OID_UID: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.9.2342.19200300.100.1.1");
pub(crate) const OID_RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_SHA1_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
const OID_SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const OID_SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
pub(crate) const OID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
pub(crate) const OID_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const OID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const OID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const OID_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
pub(crate) const OID_KP_TIME_STAMPING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");

/// Longest chain walked (leaf, intermediates, anchor): far beyond any real PKI, and a bound
/// on the walk when certificates name each other in a loop.
const MAX_CHAIN_LENGTH: usize = 8;

/// The hash functions a signature we check may use (certificates issued by other CAs still
/// use SHA-1 or SHA-384/512); what we sign uses `signer::DigestAlgorithm`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    /// The hash of a digest algorithm identifier (CMS `digestAlgorithm`, RFC 3161 imprints).
    pub(crate) fn from_digest_oid(oid: &ObjectIdentifier) -> Option<Hash> {
        match *oid {
            OID_SHA1 => Some(Hash::Sha1),
            OID_SHA256 => Some(Hash::Sha256),
            OID_SHA384 => Some(Hash::Sha384),
            OID_SHA512 => Some(Hash::Sha512),
            _ => None,
        }
    }

    /// The hash of a combined "hash with RSA" signature algorithm identifier.
    fn from_signature_oid(oid: &ObjectIdentifier) -> Option<Hash> {
        match *oid {
            OID_SHA1_WITH_RSA => Some(Hash::Sha1),
            OID_SHA256_WITH_RSA => Some(Hash::Sha256),
            OID_SHA384_WITH_RSA => Some(Hash::Sha384),
            OID_SHA512_WITH_RSA => Some(Hash::Sha512),
            _ => None,
        }
    }

    pub(crate) fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Hash::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Hash::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Hash::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    fn padding(self) -> Pkcs1v15Sign {
        match self {
            Hash::Sha1 => Pkcs1v15Sign::new::<sha1::Sha1>(),
            Hash::Sha256 => Pkcs1v15Sign::new::<sha2::Sha256>(),
            Hash::Sha384 => Pkcs1v15Sign::new::<sha2::Sha384>(),
            Hash::Sha512 => Pkcs1v15Sign::new::<sha2::Sha512>(),
        }
    }
}

/// Checks an RSA PKCS#1 v1.5 signature over an already computed `digest` with the public key
/// in `spki_der` (a SubjectPublicKeyInfo). Certificates, CMS signer infos and timestamp tokens
/// all come through here.
pub(crate) fn verify_rsa_digest(
    spki_der: &[u8],
    hash: Hash,
    digest: &[u8],
    signature: &[u8],
) -> bool {
    match RsaPublicKey::from_public_key_der(spki_der) {
        Ok(key) => key.verify(hash.padding(), digest, signature).is_ok(),
        Err(_) => false,
    }
}

/// The hash a signature algorithm identifier implies: a combined sha*WithRSAEncryption, or
/// plain rsaEncryption with the hash named elsewhere (`digest_hash`, as in CMS).
pub(crate) fn signature_hash(
    signature_oid: &ObjectIdentifier,
    digest_hash: Option<Hash>,
) -> Option<Hash> {
    if *signature_oid == OID_RSA_ENCRYPTION {
        digest_hash
    } else {
        Hash::from_signature_oid(signature_oid)
    }
}

/// Why a key file or certificate could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("the PKCS#12 file cannot be opened (wrong password or not PKCS#12): {0}")]
    Pkcs12(String),
    #[error("the PKCS#12 file holds no private key")]
    NoPrivateKey,
    #[error("the private key is not an RSA key: {0}")]
    UnsupportedKey(String),
    #[error("no certificate in the file matches the private key")]
    KeyCertificateMismatch,
    #[error("a certificate cannot be read: {0}")]
    Certificate(String),
}

impl PkiError {
    /// Stable code for the UI and logs.
    pub fn code(&self) -> &'static str {
        match self {
            PkiError::Pkcs12(_) => "pki.pkcs12_unreadable",
            PkiError::NoPrivateKey => "pki.no_private_key",
            PkiError::UnsupportedKey(_) => "pki.unsupported_key",
            PkiError::KeyCertificateMismatch => "pki.key_certificate_mismatch",
            PkiError::Certificate(_) => "pki.certificate_malformed",
        }
    }
}

/// A key and its certificate chain held in memory (read from a PKCS#12 file, or made by the
/// test CA). The key never leaves this value: callers get signatures over digests only.
pub struct Pkcs12Signer {
    key: RsaPrivateKey,
    chain: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Pkcs12Signer {
    // The key is deliberately absent from debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs12Signer")
            .field("certificates", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl Pkcs12Signer {
    /// Reads a PKCS#12 file. The chain is ordered from the certificate matching the key up
    /// through its issuers found in the file; self-signed roots are left out, since a root is
    /// the verifier's trust anchor and not something a signature should carry.
    pub fn from_pkcs12(data: &[u8], password: &str) -> Result<Self, PkiError> {
        let store = p12_keystore::KeyStore::from_pkcs12(data, password)
            .map_err(|e| PkiError::Pkcs12(e.to_string()))?;
        let mut certificates: Vec<Vec<u8>> = Vec::new();
        let mut key_der: Option<Vec<u8>> = None;
        for (_alias, entry) in store.entries() {
            match entry {
                p12_keystore::KeyStoreEntry::PrivateKeyChain(chain) => {
                    if key_der.is_none() {
                        key_der = Some(chain.key().to_vec());
                    }
                    certificates.extend(chain.chain().iter().map(|c| c.as_der().to_vec()));
                }
                p12_keystore::KeyStoreEntry::Certificate(cert) => {
                    certificates.push(cert.as_der().to_vec());
                }
                p12_keystore::KeyStoreEntry::Secret(_) => {}
            }
        }
        let key_der = key_der.ok_or(PkiError::NoPrivateKey)?;
        let key = RsaPrivateKey::from_pkcs8_der(&key_der)
            .map_err(|e| PkiError::UnsupportedKey(e.to_string()))?;
        Self::from_key(key, certificates)
    }

    /// A signer over a key in memory and any certificates that go with it (in any order):
    /// the one whose public key is the key's comes first, then its issuers.
    pub fn from_key(key: RsaPrivateKey, certificates: Vec<Vec<u8>>) -> Result<Self, PkiError> {
        let parsed: Vec<(Vec<u8>, Certificate)> = certificates
            .into_iter()
            .map(|der| {
                Certificate::from_der(&der)
                    .map(|c| (der, c))
                    .map_err(|e| PkiError::Certificate(e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        let public = key.to_public_key();
        let leaf_index = parsed
            .iter()
            .position(|(_, c)| certificate_rsa_key(c).is_some_and(|k| k == public))
            .ok_or(PkiError::KeyCertificateMismatch)?;
        let mut chain = vec![parsed[leaf_index].0.clone()];
        let mut current = parsed[leaf_index].1.clone();
        while chain.len() < MAX_CHAIN_LENGTH && !is_self_issued(&current) {
            let issuer = parsed.iter().find(|(der, c)| {
                c.tbs_certificate.subject == current.tbs_certificate.issuer && !chain.contains(der)
            });
            match issuer {
                Some((der, cert)) if !is_self_issued(cert) => {
                    chain.push(der.clone());
                    current = cert.clone();
                }
                _ => break,
            }
        }
        Ok(Pkcs12Signer { key, chain })
    }
}

impl Signer for Pkcs12Signer {
    fn certificate_chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    fn sign_digest(&self, algorithm: DigestAlgorithm, digest: &[u8]) -> Result<Vec<u8>, SignError> {
        let (padding, length) = match algorithm {
            DigestAlgorithm::Sha1 => (Pkcs1v15Sign::new::<sha1::Sha1>(), 20),
            DigestAlgorithm::Sha256 => (Pkcs1v15Sign::new::<sha2::Sha256>(), 32),
        };
        if digest.len() != length {
            return Err(SignError::Key(format!(
                "a {algorithm:?} digest is {length} bytes, got {}",
                digest.len()
            )));
        }
        self.key
            .sign(padding, digest)
            .map_err(|e| SignError::Key(e.to_string()))
    }
}

fn certificate_rsa_key(cert: &Certificate) -> Option<RsaPublicKey> {
    let spki = cert.tbs_certificate.subject_public_key_info.to_der().ok()?;
    RsaPublicKey::from_public_key_der(&spki).ok()
}

fn is_self_issued(cert: &Certificate) -> bool {
    cert.tbs_certificate.subject == cert.tbs_certificate.issuer
}

/// Reads every certificate of a PEM file (a CA bundle, a chain).
pub fn certificates_from_pem(pem: &[u8]) -> Result<Vec<Vec<u8>>, PkiError> {
    let certs =
        Certificate::load_pem_chain(pem).map_err(|e| PkiError::Certificate(e.to_string()))?;
    certs
        .iter()
        .map(|c| c.to_der().map_err(|e| PkiError::Certificate(e.to_string())))
        .collect()
}

/// A distinguished name as people read it: the common name and organisation pulled out for
/// the UI, and the whole name in RFC 4514 order (most specific first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayName {
    pub common_name: Option<String>,
    pub organization: Option<String>,
    pub full: String,
}

impl DisplayName {
    /// The display form of a certificate name.
    pub fn from_name(name: &Name) -> DisplayName {
        let mut common_name = None;
        let mut organization = None;
        let mut parts = Vec::new();
        for rdn in name.0.iter() {
            for atv in rdn.0.iter() {
                let value = attribute_text(&atv.value);
                let label = match atv.oid {
                    OID_CN => "CN".to_string(),
                    OID_O => "O".to_string(),
                    OID_OU => "OU".to_string(),
                    OID_C => "C".to_string(),
                    OID_L => "L".to_string(),
                    OID_ST => "ST".to_string(),
                    OID_EMAIL => "emailAddress".to_string(),
                    OID_UID => "UID".to_string(),
                    other => other.to_string(),
                };
                if atv.oid == OID_CN && common_name.is_none() {
                    common_name = Some(value.clone());
                }
                if atv.oid == OID_O && organization.is_none() {
                    organization = Some(value.clone());
                }
                parts.push(format!("{label}={value}"));
            }
        }
        parts.reverse();
        DisplayName {
            common_name,
            organization,
            full: parts.join(", "),
        }
    }

    /// The shortest text that names the holder: the common name, else the whole name.
    pub fn short(&self) -> &str {
        self.common_name.as_deref().unwrap_or(&self.full)
    }
}

/// Decodes a directory string. UTF-8, printable, IA5 and (in practice) teletex strings are
/// bytes of UTF-8; BMP strings are UTF-16BE.
fn attribute_text(value: &Any) -> String {
    match value.tag() {
        Tag::BmpString => {
            let units: Vec<u16> = value
                .value()
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => String::from_utf8_lossy(value.value()).into_owned(),
    }
}

/// What the UI shows of one certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateInfo {
    pub subject: DisplayName,
    pub issuer: DisplayName,
    /// Serial number as upper-case hex.
    pub serial: String,
    pub not_before_unix: i64,
    pub not_after_unix: i64,
}

impl CertificateInfo {
    pub fn from_der(der: &[u8]) -> Result<CertificateInfo, PkiError> {
        let cert = Certificate::from_der(der).map_err(|e| PkiError::Certificate(e.to_string()))?;
        Ok(CertificateInfo::of(&cert))
    }

    pub(crate) fn of(cert: &Certificate) -> CertificateInfo {
        let tbs = &cert.tbs_certificate;
        CertificateInfo {
            subject: DisplayName::from_name(&tbs.subject),
            issuer: DisplayName::from_name(&tbs.issuer),
            serial: hex::encode_upper(tbs.serial_number.as_bytes()),
            not_before_unix: unix_seconds(&tbs.validity.not_before),
            not_after_unix: unix_seconds(&tbs.validity.not_after),
        }
    }
}

fn unix_seconds(time: &x509_cert::time::Time) -> i64 {
    i64::try_from(time.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

/// What the leaf certificate must be good for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Signing documents: key usage digitalSignature or nonRepudiation.
    DocumentSigning,
    /// An RFC 3161 timestamp authority: extended key usage timeStamping.
    Timestamping,
}

/// A chain that verified: the leaf first, the trust anchor last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainReport {
    pub certificates: Vec<CertificateInfo>,
}

/// Why a chain did not verify. Each names the certificate (its subject) at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("a certificate cannot be read: {0}")]
    Malformed(String),
    #[error("no chain from \"{0}\" leads to a trusted certificate")]
    Untrusted(String),
    #[error("the signature on the certificate of \"{0}\" does not verify against its issuer")]
    BadSignature(String),
    #[error("the certificate of \"{0}\" has expired")]
    Expired(String),
    #[error("the certificate of \"{0}\" is not yet valid")]
    NotYetValid(String),
    #[error("\"{0}\" issued a certificate but is not a certification authority")]
    NotCa(String),
    #[error("the certificate of \"{0}\" is not allowed for this use (key usage)")]
    KeyUsage(String),
    #[error("the certificate of \"{0}\" uses an algorithm we do not check")]
    UnsupportedAlgorithm(String),
}

impl ChainError {
    /// Stable code for the UI and logs.
    pub fn code(&self) -> &'static str {
        match self {
            ChainError::Malformed(_) => "chain.malformed",
            ChainError::Untrusted(_) => "chain.untrusted",
            ChainError::BadSignature(_) => "chain.bad_signature",
            ChainError::Expired(_) => "chain.expired",
            ChainError::NotYetValid(_) => "chain.not_yet_valid",
            ChainError::NotCa(_) => "chain.not_ca",
            ChainError::KeyUsage(_) => "chain.key_usage",
            ChainError::UnsupportedAlgorithm(_) => "chain.unsupported_algorithm",
        }
    }
}

/// Verifies a document signer's certificate: see `verify_chain_for`.
pub fn verify_chain(
    leaf_der: &[u8],
    intermediates: &[Vec<u8>],
    anchors_der: &[Vec<u8>],
    at_unix_seconds: i64,
) -> Result<ChainReport, ChainError> {
    verify_chain_for(
        Purpose::DocumentSigning,
        leaf_der,
        intermediates,
        anchors_der,
        at_unix_seconds,
    )
}

/// Builds a path from `leaf_der` through `intermediates` (any order, extras ignored) to one
/// of `anchors_der`, checking every signature on the way; then checks every certificate on
/// the path (anchor included) is valid at `at_unix_seconds`, every issuer is a CA allowed to
/// sign certificates (path length included), and the leaf is fit for `purpose`.
pub fn verify_chain_for(
    purpose: Purpose,
    leaf_der: &[u8],
    intermediates: &[Vec<u8>],
    anchors_der: &[Vec<u8>],
    at_unix_seconds: i64,
) -> Result<ChainReport, ChainError> {
    let parse =
        |der: &[u8]| Certificate::from_der(der).map_err(|e| ChainError::Malformed(e.to_string()));
    let leaf = parse(leaf_der)?;
    let intermediates: Vec<Certificate> = intermediates
        .iter()
        .filter_map(|d| Certificate::from_der(d).ok())
        .collect();
    let anchors: Vec<Certificate> = anchors_der
        .iter()
        .filter_map(|d| Certificate::from_der(d).ok())
        .collect();
    let path = build_path(&leaf, &intermediates, &anchors)?;

    for cert in &path {
        let info = CertificateInfo::of(cert);
        if at_unix_seconds < info.not_before_unix {
            return Err(ChainError::NotYetValid(info.subject.short().to_string()));
        }
        if at_unix_seconds > info.not_after_unix {
            return Err(ChainError::Expired(info.subject.short().to_string()));
        }
    }
    // Every certificate above the leaf issued the one below it. A trusted anchor that is the
    // leaf itself (a self-signed signer someone chose to trust) issues nothing.
    for (depth, issuer) in path.iter().enumerate().skip(1) {
        check_ca(issuer, depth - 1)?;
    }
    check_purpose(&leaf, purpose)?;
    Ok(ChainReport {
        certificates: path.iter().map(CertificateInfo::of).collect(),
    })
}

fn build_path(
    leaf: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
) -> Result<Vec<Certificate>, ChainError> {
    let subject_of = |c: &Certificate| {
        DisplayName::from_name(&c.tbs_certificate.subject)
            .short()
            .to_string()
    };
    if anchors.iter().any(|a| a == leaf) {
        return Ok(vec![leaf.clone()]);
    }
    let mut path = vec![leaf.clone()];
    let mut signature_failed = false;
    while path.len() < MAX_CHAIN_LENGTH {
        let current = path
            .last()
            .cloned()
            .ok_or_else(|| ChainError::Malformed("empty path".into()))?;
        let named = |c: &&Certificate| c.tbs_certificate.subject == current.tbs_certificate.issuer;
        let mut verified = |c: &Certificate| match issued_by(&current, c) {
            Ok(true) => true,
            Ok(false) => {
                signature_failed = true;
                false
            }
            Err(_) => false,
        };
        if let Some(anchor) = anchors.iter().filter(named).find(|c| verified(c)) {
            path.push(anchor.clone());
            return Ok(path);
        }
        match intermediates
            .iter()
            .filter(named)
            .find(|c| !path.contains(c) && verified(c))
        {
            Some(next) => path.push(next.clone()),
            None => break,
        }
    }
    if let Err(algorithm) = signature_algorithm(&path[path.len() - 1]) {
        return Err(ChainError::UnsupportedAlgorithm(algorithm));
    }
    let last = subject_of(&path[path.len() - 1]);
    if signature_failed {
        Err(ChainError::BadSignature(last))
    } else {
        Err(ChainError::Untrusted(subject_of(leaf)))
    }
}

fn signature_algorithm(cert: &Certificate) -> Result<Hash, String> {
    let oid = cert.signature_algorithm.oid;
    Hash::from_signature_oid(&oid).ok_or_else(|| oid.to_string())
}

/// Whether `issuer`'s key made the signature on `cert`; `Err` when the algorithm is not one
/// we check.
fn issued_by(cert: &Certificate, issuer: &Certificate) -> Result<bool, String> {
    let hash = signature_algorithm(cert)?;
    let tbs = cert.tbs_certificate.to_der().map_err(|e| e.to_string())?;
    let spki = issuer
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| e.to_string())?;
    let signature = cert.signature.as_bytes().unwrap_or_default();
    Ok(verify_rsa_digest(
        &spki,
        hash,
        &hash.digest(&tbs),
        signature,
    ))
}

fn extension<'a, T: Decode<'a>>(cert: &'a Certificate, oid: ObjectIdentifier) -> Option<T> {
    cert.tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id == oid)
        .and_then(|e| T::from_der(e.extn_value.as_bytes()).ok())
}

/// `below` counts the intermediates (not self-issued) under this CA, for pathLenConstraint.
fn check_ca(cert: &Certificate, below: usize) -> Result<(), ChainError> {
    let subject = || {
        DisplayName::from_name(&cert.tbs_certificate.subject)
            .short()
            .to_string()
    };
    let constraints: Option<BasicConstraints> = extension(cert, OID_BASIC_CONSTRAINTS);
    match constraints {
        Some(bc) if bc.ca => {
            if let Some(limit) = bc.path_len_constraint
                && below > usize::from(limit)
            {
                return Err(ChainError::NotCa(subject()));
            }
        }
        _ => return Err(ChainError::NotCa(subject())),
    }
    if let Some(usage) = extension::<KeyUsage>(cert, OID_KEY_USAGE)
        && !usage.0.contains(KeyUsages::KeyCertSign)
    {
        return Err(ChainError::KeyUsage(subject()));
    }
    Ok(())
}

fn check_purpose(leaf: &Certificate, purpose: Purpose) -> Result<(), ChainError> {
    let subject = || {
        DisplayName::from_name(&leaf.tbs_certificate.subject)
            .short()
            .to_string()
    };
    match purpose {
        Purpose::DocumentSigning => {
            if let Some(usage) = extension::<KeyUsage>(leaf, OID_KEY_USAGE)
                && !usage.0.contains(KeyUsages::DigitalSignature)
                && !usage.0.contains(KeyUsages::NonRepudiation)
            {
                return Err(ChainError::KeyUsage(subject()));
            }
        }
        Purpose::Timestamping => {
            let eku: Option<ExtendedKeyUsage> = extension(leaf, OID_EXT_KEY_USAGE);
            if !eku.is_some_and(|e| e.0.contains(&OID_KP_TIME_STAMPING)) {
                return Err(ChainError::KeyUsage(subject()));
            }
        }
    }
    Ok(())
}
