//! A test certification authority for the demo and the tests.
//!
//! `TestPki::generate(at)` makes fresh RSA-2048 keys and certificates with fixed Vietnamese
//! names: a root CA, a document signer, a timestamp authority (extended key usage
//! timeStamping, critical, as RFC 3161 requires) and a signer whose certificate expired a year
//! before `at`. `write_to` stores them as PKCS#12 (AES-256, password `TEST_PASSWORD`) and PEM.
//! `TlsAuthority` issues TLS certificates for federation over mutual TLS (serverAuth and
//! clientAuth, for 127.0.0.1 and localhost), from the test CA or from an independent CA.
//! It is only for demos and tests: a province configures the CA it really uses.

use std::path::{Path, PathBuf};

use der::asn1::{BitString, GeneralizedTime, OctetString, SetOfVec, UtcTime, Utf8StringRef};
use der::{Any, Encode};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::rand_core::{OsRng, RngCore};
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sha2::Digest;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::pki::{OID_KP_TIME_STAMPING, Pkcs12Signer, PkiError};

/// Password of every PKCS#12 file the test CA writes.
pub const TEST_PASSWORD: &str = "tinhso-demo";
pub const CA_NAME: &str = "Tỉnh số Test CA";
const CA_ORGANIZATION: &str = "Tỉnh số (demo)";
pub const SIGNER_NAME: &str = "Nguyễn Văn A — UBND tỉnh (demo)";
pub const SIGNER_ORGANIZATION: &str = "UBND tỉnh (demo)";
pub const TSA_NAME: &str = "Tỉnh số Test TSA";
pub const EXPIRED_SIGNER_NAME: &str = "Trần Thị B — chứng thư hết hạn (demo)";

const DAY: i64 = 86_400;
const YEAR: i64 = 365 * DAY;

/// Why the test CA could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum TestCaError {
    #[error("key generation failed: {0}")]
    Key(String),
    #[error("encoding failed: {0}")]
    Encoding(String),
    #[error("writing {path} failed: {message}")]
    Io { path: String, message: String },
}

impl TestCaError {
    pub fn code(&self) -> &'static str {
        match self {
            TestCaError::Key(_) => "test_ca.key",
            TestCaError::Encoding(_) => "test_ca.encoding",
            TestCaError::Io { .. } => "test_ca.io",
        }
    }
}

fn encoding<E: std::fmt::Display>(e: E) -> TestCaError {
    TestCaError::Encoding(e.to_string())
}

/// A key and the certificate issued for it.
#[derive(Clone)]
pub struct Issued {
    pub key: RsaPrivateKey,
    pub certificate_der: Vec<u8>,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("certificate_bytes", &self.certificate_der.len())
            .finish_non_exhaustive()
    }
}

/// The whole test PKI.
#[derive(Clone, Debug)]
pub struct TestPki {
    pub ca: Issued,
    pub signer: Issued,
    pub tsa: Issued,
    /// Same key as `signer`, a certificate valid from two years to one year before `at`.
    pub expired_signer: Issued,
}

impl TestPki {
    /// Makes the CA and its certificates, valid around the instant `at_unix_seconds` (the CA
    /// for ten years, the signer and TSA for two, starting a day before `at`).
    pub fn generate(at_unix_seconds: i64) -> Result<TestPki, TestCaError> {
        let ca_key = new_key()?;
        let signer_key = new_key()?;
        let tsa_key = new_key()?;
        let start = at_unix_seconds - DAY;

        let ca_name = name(CA_NAME, CA_ORGANIZATION)?;
        let ca_ski = key_identifier(&ca_key)?;
        let ca_cert = issue(
            &ca_name,
            &ca_key,
            &ca_name,
            &ca_key,
            start,
            start + 10 * YEAR,
            ca_extensions(&ca_ski)?,
        )?;

        let leaf_extensions =
            |key: &RsaPrivateKey, timestamping: bool| -> Result<Vec<Extension>, TestCaError> {
                let mut extensions = vec![
                    ext(
                        true,
                        &BasicConstraints {
                            ca: false,
                            path_len_constraint: None,
                        },
                    )?,
                    ext(
                        true,
                        &KeyUsage(if timestamping {
                            KeyUsages::DigitalSignature.into()
                        } else {
                            KeyUsages::DigitalSignature | KeyUsages::NonRepudiation
                        }),
                    )?,
                    ext(
                        false,
                        &SubjectKeyIdentifier(
                            OctetString::new(key_identifier(key)?).map_err(encoding)?,
                        ),
                    )?,
                    authority_key_identifier(&ca_ski)?,
                ];
                if timestamping {
                    extensions.push(ext(true, &ExtendedKeyUsage(vec![OID_KP_TIME_STAMPING]))?);
                }
                Ok(extensions)
            };

        let signer_name = name(SIGNER_NAME, SIGNER_ORGANIZATION)?;
        let signer_cert = issue(
            &signer_name,
            &signer_key,
            &ca_name,
            &ca_key,
            start,
            start + 2 * YEAR,
            leaf_extensions(&signer_key, false)?,
        )?;
        let tsa_name = name(TSA_NAME, CA_ORGANIZATION)?;
        let tsa_cert = issue(
            &tsa_name,
            &tsa_key,
            &ca_name,
            &ca_key,
            start,
            start + 2 * YEAR,
            leaf_extensions(&tsa_key, true)?,
        )?;
        let expired_name = name(EXPIRED_SIGNER_NAME, SIGNER_ORGANIZATION)?;
        let expired_cert = issue(
            &expired_name,
            &signer_key,
            &ca_name,
            &ca_key,
            at_unix_seconds - 2 * YEAR,
            at_unix_seconds - YEAR,
            leaf_extensions(&signer_key, false)?,
        )?;
        Ok(TestPki {
            ca: Issued {
                key: ca_key,
                certificate_der: ca_cert,
            },
            signer: Issued {
                key: signer_key.clone(),
                certificate_der: signer_cert,
            },
            tsa: Issued {
                key: tsa_key,
                certificate_der: tsa_cert,
            },
            expired_signer: Issued {
                key: signer_key,
                certificate_der: expired_cert,
            },
        })
    }

    /// The test CA as an issuer of TLS certificates (federation listeners and clients).
    pub fn tls_authority(&self) -> Result<TlsAuthority, TestCaError> {
        Ok(TlsAuthority {
            ca: self.ca.clone(),
            name: name(CA_NAME, CA_ORGANIZATION)?,
            key_id: key_identifier(&self.ca.key)?,
        })
    }

    /// The signer of `issued` with the CA certificate as its chain.
    pub fn signer_for(&self, issued: &Issued) -> Result<Pkcs12Signer, PkiError> {
        Pkcs12Signer::from_key(
            issued.key.clone(),
            vec![
                issued.certificate_der.clone(),
                self.ca.certificate_der.clone(),
            ],
        )
    }

    /// A PKCS#12 file (AES-256, `TEST_PASSWORD`) with `issued`'s key, its certificate and
    /// the CA certificate.
    pub fn pkcs12(&self, issued: &Issued) -> Result<Vec<u8>, TestCaError> {
        let key = issued.key.to_pkcs8_der().map_err(encoding)?;
        let certificate = |der: &[u8]| p12_keystore::Certificate::from_der(der).map_err(encoding);
        let chain = p12_keystore::PrivateKeyChain::new(
            key.as_bytes(),
            sha1::Sha1::digest(&issued.certificate_der),
            [
                certificate(&issued.certificate_der)?,
                certificate(&self.ca.certificate_der)?,
            ],
        );
        let mut store = p12_keystore::KeyStore::new();
        store.add_entry(
            "signer",
            p12_keystore::KeyStoreEntry::PrivateKeyChain(chain),
        );
        store.writer(TEST_PASSWORD).write().map_err(encoding)
    }

    /// Writes into `dir` (created if missing): `ca.pem` (the trust anchor), `signer.p12`,
    /// `tsa.p12`, `expired-signer.p12`, each certificate as PEM (`signer.pem`, `tsa.pem`,
    /// `expired-signer.pem`), and the TSA key as `tsa.key` (PKCS#8 PEM, unencrypted, for an
    /// `openssl ts` responder). Returns the paths written.
    pub fn write_to(&self, dir: &Path) -> Result<Vec<std::path::PathBuf>, TestCaError> {
        let write = |file: &str, bytes: &[u8]| write_file(&dir.join(file), bytes);
        create_dir(dir)?;
        let tsa_key = self
            .tsa
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(encoding)?;
        Ok(vec![
            write("ca.pem", pem(&self.ca.certificate_der)?.as_bytes())?,
            write("signer.pem", pem(&self.signer.certificate_der)?.as_bytes())?,
            write("tsa.pem", pem(&self.tsa.certificate_der)?.as_bytes())?,
            write(
                "expired-signer.pem",
                pem(&self.expired_signer.certificate_der)?.as_bytes(),
            )?,
            write("signer.p12", &self.pkcs12(&self.signer)?)?,
            write("tsa.p12", &self.pkcs12(&self.tsa)?)?,
            write("expired-signer.p12", &self.pkcs12(&self.expired_signer)?)?,
            write("tsa.key", tsa_key.as_bytes())?,
        ])
    }
}

/// The certificate and key files of one TLS identity written by [`TlsAuthority::write_tls`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// `<name>.crt.pem`: the leaf certificate.
    pub certificate: PathBuf,
    /// `<name>.key.pem`: its RSA key, PKCS#8 PEM, unencrypted.
    pub key: PathBuf,
}

/// A certification authority issuing TLS certificates for federation tests and demos: the
/// test PKI's own CA ([`TestPki::tls_authority`]) or an independent one
/// ([`TlsAuthority::generate`]) whose certificates the first must refuse.
#[derive(Clone, Debug)]
pub struct TlsAuthority {
    pub ca: Issued,
    name: Name,
    key_id: Vec<u8>,
}

impl TlsAuthority {
    /// A new self-signed CA named `common_name`, valid for ten years from a day before `at`.
    pub fn generate(common_name: &str, at_unix_seconds: i64) -> Result<TlsAuthority, TestCaError> {
        let key = new_key()?;
        let ca_name = name(common_name, CA_ORGANIZATION)?;
        let key_id = key_identifier(&key)?;
        let start = at_unix_seconds - DAY;
        let certificate_der = issue(
            &ca_name,
            &key,
            &ca_name,
            &key,
            start,
            start + 10 * YEAR,
            ca_extensions(&key_id)?,
        )?;
        Ok(TlsAuthority {
            ca: Issued {
                key,
                certificate_der,
            },
            name: ca_name,
            key_id,
        })
    }

    /// A certificate for both ends of a TLS connection (extended key usage serverAuth and
    /// clientAuth), subject CN `common_name`, alternative names IP 127.0.0.1 and DNS
    /// localhost, valid for two years from a day before `at`, with a fresh RSA-2048 key.
    pub fn issue_tls(
        &self,
        common_name: &str,
        at_unix_seconds: i64,
    ) -> Result<Issued, TestCaError> {
        let key = new_key()?;
        let dns = der::asn1::Ia5String::new("localhost").map_err(encoding)?;
        let ip = OctetString::new([127u8, 0, 0, 1]).map_err(encoding)?;
        let extensions = vec![
            ext(
                true,
                &BasicConstraints {
                    ca: false,
                    path_len_constraint: None,
                },
            )?,
            ext(
                true,
                &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment),
            )?,
            ext(
                false,
                &ExtendedKeyUsage(vec![
                    const_oid::db::rfc5280::ID_KP_SERVER_AUTH,
                    const_oid::db::rfc5280::ID_KP_CLIENT_AUTH,
                ]),
            )?,
            ext(
                false,
                &SubjectAltName(vec![GeneralName::IpAddress(ip), GeneralName::DnsName(dns)]),
            )?,
            ext(
                false,
                &SubjectKeyIdentifier(OctetString::new(key_identifier(&key)?).map_err(encoding)?),
            )?,
            authority_key_identifier(&self.key_id)?,
        ];
        let start = at_unix_seconds - DAY;
        let certificate_der = issue(
            &name(common_name, CA_ORGANIZATION)?,
            &key,
            &self.name,
            &self.ca.key,
            start,
            start + 2 * YEAR,
            extensions,
        )?;
        Ok(Issued {
            key,
            certificate_der,
        })
    }

    /// Issues a TLS certificate (see [`issue_tls`](Self::issue_tls)) and writes it into
    /// `dir` (created if missing) as `<file_name>.crt.pem` and `<file_name>.key.pem`.
    pub fn write_tls(
        &self,
        dir: &Path,
        file_name: &str,
        common_name: &str,
        at_unix_seconds: i64,
    ) -> Result<TlsFiles, TestCaError> {
        let issued = self.issue_tls(common_name, at_unix_seconds)?;
        create_dir(dir)?;
        let key = issued.key.to_pkcs8_pem(LineEnding::LF).map_err(encoding)?;
        Ok(TlsFiles {
            certificate: write_file(
                &dir.join(format!("{file_name}.crt.pem")),
                pem(&issued.certificate_der)?.as_bytes(),
            )?,
            key: write_file(&dir.join(format!("{file_name}.key.pem")), key.as_bytes())?,
        })
    }

    /// Writes the CA certificate as PEM at `path` (what the other side trusts).
    pub fn write_ca_pem(&self, path: &Path) -> Result<PathBuf, TestCaError> {
        write_file(path, pem(&self.ca.certificate_der)?.as_bytes())
    }
}

fn new_key() -> Result<RsaPrivateKey, TestCaError> {
    RsaPrivateKey::new(&mut OsRng, 2048).map_err(|e| TestCaError::Key(e.to_string()))
}

fn create_dir(dir: &Path) -> Result<(), TestCaError> {
    std::fs::create_dir_all(dir).map_err(|e| TestCaError::Io {
        path: dir.display().to_string(),
        message: e.to_string(),
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<PathBuf, TestCaError> {
    std::fs::write(path, bytes).map_err(|e| TestCaError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    Ok(path.to_path_buf())
}

fn ca_extensions(key_id: &[u8]) -> Result<Vec<Extension>, TestCaError> {
    Ok(vec![
        ext(
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: None,
            },
        )?,
        ext(true, &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign))?,
        ext(
            false,
            &SubjectKeyIdentifier(OctetString::new(key_id.to_vec()).map_err(encoding)?),
        )?,
    ])
}

fn authority_key_identifier(ca_key_id: &[u8]) -> Result<Extension, TestCaError> {
    ext(
        false,
        &AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(ca_key_id.to_vec()).map_err(encoding)?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        },
    )
}

/// PEM text of a certificate.
pub fn pem(certificate_der: &[u8]) -> Result<String, TestCaError> {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, certificate_der)
        .map_err(encoding)
}

pub(crate) fn name(common_name: &str, organization: &str) -> Result<Name, TestCaError> {
    let rdn =
        |oid: &str, value: &str, utf8: bool| -> Result<RelativeDistinguishedName, TestCaError> {
            let oid = der::asn1::ObjectIdentifier::new(oid).map_err(encoding)?;
            // Country codes are PrintableString by RFC 5280; names are UTF8String so that
            // Vietnamese letters are stored as written.
            let value = if utf8 {
                Any::encode_from(&Utf8StringRef::new(value).map_err(encoding)?).map_err(encoding)?
            } else {
                Any::encode_from(&der::asn1::PrintableStringRef::new(value).map_err(encoding)?)
                    .map_err(encoding)?
            };
            let set =
                SetOfVec::try_from(vec![AttributeTypeAndValue { oid, value }]).map_err(encoding)?;
            Ok(RelativeDistinguishedName(set))
        };
    Ok(RdnSequence(vec![
        rdn("2.5.4.6", "VN", false)?,
        rdn("2.5.4.10", organization, true)?,
        rdn("2.5.4.3", common_name, true)?,
    ]))
}

fn ext<T: Encode + der::oid::AssociatedOid>(
    critical: bool,
    value: &T,
) -> Result<Extension, TestCaError> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der().map_err(encoding)?).map_err(encoding)?,
    })
}

fn spki(key: &RsaPrivateKey) -> Result<SubjectPublicKeyInfoOwned, TestCaError> {
    let der = key.to_public_key().to_public_key_der().map_err(encoding)?;
    SubjectPublicKeyInfoOwned::try_from(der.as_bytes()).map_err(encoding)
}

/// RFC 5280 method 1: SHA-1 of the subject public key bits.
fn key_identifier(key: &RsaPrivateKey) -> Result<Vec<u8>, TestCaError> {
    let spki = spki(key)?;
    Ok(sha1::Sha1::digest(spki.subject_public_key.raw_bytes()).to_vec())
}

fn time(unix_seconds: i64) -> Result<Time, TestCaError> {
    let duration = std::time::Duration::from_secs(u64::try_from(unix_seconds).map_err(encoding)?);
    // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
    if unix_seconds < 2_524_608_000 {
        Ok(Time::UtcTime(
            UtcTime::from_unix_duration(duration).map_err(encoding)?,
        ))
    } else {
        Ok(Time::GeneralTime(
            GeneralizedTime::from_unix_duration(duration).map_err(encoding)?,
        ))
    }
}

fn random_serial() -> Result<SerialNumber, TestCaError> {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    // Positive and exactly 16 bytes long when encoded.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::new(&bytes).map_err(encoding)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn issue(
    subject: &Name,
    subject_key: &RsaPrivateKey,
    issuer: &Name,
    issuer_key: &RsaPrivateKey,
    not_before: i64,
    not_after: i64,
    extensions: Vec<Extension>,
) -> Result<Vec<u8>, TestCaError> {
    let algorithm = AlgorithmIdentifierOwned {
        oid: der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11"),
        parameters: Some(Any::null()),
    };
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: random_serial()?,
        signature: algorithm.clone(),
        issuer: issuer.clone(),
        validity: Validity {
            not_before: time(not_before)?,
            not_after: time(not_after)?,
        },
        subject: subject.clone(),
        subject_public_key_info: spki(subject_key)?,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    let digest = sha2::Sha256::digest(tbs.to_der().map_err(encoding)?);
    let signature = issuer_key
        .sign(Pkcs1v15Sign::new::<sha2::Sha256>(), &digest)
        .map_err(|e| TestCaError::Key(e.to_string()))?;
    let certificate = x509_cert::Certificate {
        tbs_certificate: tbs,
        signature_algorithm: algorithm,
        signature: BitString::from_bytes(&signature).map_err(encoding)?,
    };
    certificate.to_der().map_err(encoding)
}

#[cfg(test)]
pub(crate) mod shared {
    //! One test PKI per test binary: RSA key generation is slow in debug builds.
    #![allow(clippy::panic)]
    use std::sync::OnceLock;

    use super::TestPki;

    /// The instant the shared PKI is valid around: 2026-12-01T00:00:00Z.
    pub const AT: i64 = 1_796_083_200;

    pub fn pki() -> &'static TestPki {
        static PKI: OnceLock<TestPki> = OnceLock::new();
        PKI.get_or_init(|| match TestPki::generate(AT) {
            Ok(pki) => pki,
            Err(e) => panic!("test CA: {e}"),
        })
    }
}
