//! edXML packages (gói tin edXML, QCVN 102:2016/BTTTT) — the envelope documents travel in
//! between agencies.
//!
//! Pure library over `std::io`: no database, no clock (timestamps are passed in). Packages
//! are written and read as streams, so an attachment of hundreds of megabytes is encoded
//! and decoded in chunks and never held whole in memory.

pub mod c14n;
pub mod dsig;
