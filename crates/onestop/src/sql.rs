//! SQL text shared by the writers that fold several rows into one statement.
//!
//! Every statement is a round trip to the database driver (on SQLite a hand-off to its
//! worker thread), and an action's cost follows their number; a multi-row
//! `INSERT … VALUES (…), (…)` is accepted alike by SQLite and PostgreSQL. Only placeholders
//! are generated here — values are always bound.

/// `($1, $2, $3), ($4, $5, $6)` for `rows` rows of `columns` values each.
pub(crate) fn values_placeholders(rows: usize, columns: usize) -> String {
    values_placeholders_from(1, rows, columns)
}

/// [`values_placeholders`] numbered from `$first`, for rows bound after other values.
pub(crate) fn values_placeholders_from(first: usize, rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (0..columns)
                .map(|c| format!("${}", first + r * columns + c))
                .collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_row_after_row() {
        assert_eq!(values_placeholders(1, 2), "($1, $2)");
        assert_eq!(values_placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values_placeholders(0, 3), "");
        assert_eq!(values_placeholders_from(6, 2, 2), "($6, $7), ($8, $9)");
    }
}
