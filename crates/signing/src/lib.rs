//! Digital signatures (chữ ký số).
//!
//! `signer` is the port every signing feature goes through (PAdES on PDFs here, XML-DSig on
//! edXML packages in `tinhso-edxml`): it hands out the certificate chain and signs a digest,
//! so a key in a PKCS#12 file today and a hardware token later are the same to callers.
//! `pki` reads PKCS#12 files and verifies certificate chains; `cades` makes and checks the
//! CMS signatures; `timestamp` speaks RFC 3161; `pades` signs and verifies PDFs; `test_ca`
//! makes the demo's and the tests' certificates. No clock here: every instant is a parameter.

mod ber;
pub mod cades;
pub mod pades;
pub mod pki;
pub mod signer;
pub mod test_ca;
pub mod timestamp;

pub use pades::{SignOptions, SignatureReport, sign_pdf, sign_pdf_timestamped, verify_pdf};
pub use pki::{ChainError, ChainReport, Pkcs12Signer, verify_chain};
pub use signer::{DigestAlgorithm, SignError, Signer};

#[cfg(test)]
mod tests;
