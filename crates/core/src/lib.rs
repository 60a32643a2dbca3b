//! Domain core of Tỉnh số.
//!
//! Plain types and pure functions: the organisation model, the working-day calendar, access
//! decisions, audit-chain hashing and the stable error codes. Nothing here performs I/O or
//! reads the clock; callers pass "now" in, which is what makes legal deadlines testable to
//! the minute.

pub mod access;
pub mod agency;
pub mod audit;
pub mod calendar;
pub mod error;
pub mod identity;
pub mod units;
pub mod xml;

pub use error::{DomainError, ErrorCode};
