//! edXML packages (gói tin edXML, QCVN 102:2016/BTTTT) — the envelope documents travel in
//! between agencies.
//!
//! Pure library over `std::io`: no database, no clock (timestamps are passed in). Packages
//! are written and read as streams, so an attachment of hundreds of megabytes is encoded
//! and decoded in chunks and never held whole in memory.
//!
//! - [`model`]: the document and status packages as plain serde types.
//! - [`validate`]: every field rule, all problems at once, as `N.`/`R.`/`M.` path codes.
//! - [`write`]: the streaming writer (unsigned; the signature goes at the end of
//!   `edXML:edXMLHeader` in a second pass).
//! - [`read`]: the streaming parser with attachment sinks.
//! - [`c14n`], [`dsig`]: streaming canonical XML and the enveloped XML-DSig signature.

pub mod c14n;
pub mod dsig;
pub mod model;
pub mod read;
pub mod validate;
pub mod write;

pub use model::{DocumentPackage, StatusPackage};
pub use read::{AttachmentSink, DirSink, DiscardSink, Package, ReadError, read_package};
pub use validate::Issue;
pub use write::{AttachmentInput, WriteError, write_document, write_status};
