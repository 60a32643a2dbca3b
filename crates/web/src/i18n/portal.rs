//! Texts of the public portal: home and procedure search, procedure pages, status lookup, public statistics.
//! Part of the one translation table (see `super::TABLE`): keys are unique across all parts.

/// (key, Vietnamese, English)
pub const TABLE: &[(&str, &str, &str)] = &[];
