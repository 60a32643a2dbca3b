//! Texts of the citizen area: online application and drafts, my dossiers, supplements, rating, my documents, my notifications.
//! Part of the one translation table (see `super::TABLE`): keys are unique across all parts.

/// (key, Vietnamese, English)
pub const TABLE: &[(&str, &str, &str)] = &[];
