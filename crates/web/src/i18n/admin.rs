//! Texts of agency administration: the catalogue editor with form schema and steps, notification templates.
//! Part of the one translation table (see `super::TABLE`): keys are unique across all parts.

/// (key, Vietnamese, English)
pub const TABLE: &[(&str, &str, &str)] = &[];
