//! Digital signatures (chữ ký số).
//!
//! `signer` is the port every signing feature goes through (PAdES on PDFs here, XML-DSig on
//! edXML packages in `tinhso-edxml`): it hands out the certificate chain and signs a digest,
//! so a key in a PKCS#12 file today and a hardware token later are the same to callers.

pub mod signer;
