//! Texts of officials at work: the counter (intake, queue tickets, waiting-room display, results), the inbox and the dossier page of specialists and leaders.
//! Part of the one translation table (see `super::TABLE`): keys are unique across all parts.

/// (key, Vietnamese, English)
pub const TABLE: &[(&str, &str, &str)] = &[];
