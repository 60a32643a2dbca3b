//! Statements of one write transaction sent to the database together.
//!
//! Every statement handed to sqlx's SQLite driver is a hand-off to the connection's worker
//! thread and back: two thread wake-ups, which on a small virtual machine cost more than the
//! statement itself, and on SQLite all of it happens while the one write lock is held. A
//! [`Batch`] collects the statements of a transaction whose results are only looked at
//! afterwards, and sends them to SQLite as one multi-statement call (SQLite numbers `$N`
//! parameters across the whole call, so each statement's are shifted past the ones before).
//! PostgreSQL's extended protocol takes one statement per call, so there they run one after
//! another, as before.
//!
//! Either way each statement's rows and row count (of an INSERT, UPDATE or DELETE; on SQLite
//! another statement reports the count of the one before) come back in order, and the caller
//! checks them before it commits. A failed check is an error, the transaction rolls back, and
//! whatever the statements after the failing one did is undone with it: a batch never
//! leaves a partial write behind.

use futures_util::TryStreamExt;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Arguments, Either, Execute, Executor};
use std::borrow::Cow;

use crate::db::{Dialect, WriteTx};
use crate::error::{Error, Result};

/// A query of the `Any` driver with its values bound.
pub type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, AnyArguments>;

/// Binds one statement's values, `$1` first, onto a query (the batch's, on SQLite).
type Binder<'q> = Box<dyn FnOnce(AnyQuery<'q>) -> AnyQuery<'q> + Send + 'q>;

struct Statement<'q> {
    sql: Cow<'static, str>,
    parameters: usize,
    bind: Binder<'q>,
}

/// Where a statement's outcome is found in [`Outcomes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatementId(usize);

/// The statements of a write transaction, run together by [`Batch::run`].
#[derive(Default)]
pub struct Batch<'q> {
    statements: Vec<Statement<'q>>,
}

/// What one statement of a batch returned.
pub struct Outcome {
    pub rows: Vec<AnyRow>,
    pub affected: u64,
}

/// Each statement's outcome, in the order the statements were pushed.
pub struct Outcomes(Vec<Outcome>);

impl Outcomes {
    pub fn get(&self, id: StatementId) -> &Outcome {
        &self.0[id.0]
    }

    /// The statement's rows, taken out (a second take finds none).
    pub fn take_rows(&mut self, id: StatementId) -> Vec<AnyRow> {
        std::mem::take(&mut self.0[id.0].rows)
    }
}

impl<'q> Batch<'q> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one SQL statement (no `;` and no comments inside it: `$N` are found by a scan that
    /// only knows quotes) whose parameters are `$1`…`$N`, with the function that binds exactly
    /// those N values in order (checked when the batch runs).
    pub fn push(
        &mut self,
        sql: impl Into<Cow<'static, str>>,
        bind: impl FnOnce(AnyQuery<'q>) -> AnyQuery<'q> + Send + 'q,
    ) -> StatementId {
        let sql = sql.into();
        let parameters = highest_parameter(&sql);
        self.statements.push(Statement {
            sql,
            parameters,
            bind: Box::new(bind),
        });
        StatementId(self.statements.len() - 1)
    }

    /// Runs the statements in the transaction, in order; an error of any of them is returned
    /// as it is (the caller's transaction then rolls back).
    pub async fn run(self, tx: &mut WriteTx) -> Result<Outcomes> {
        let mut outcomes = Vec::with_capacity(self.statements.len());
        if tx.dialect == Dialect::Sqlite && self.statements.len() > 1 {
            let count = self.statements.len();
            let sql = joined_sql(&self.statements);
            let mut arguments = AnyArguments::default();
            for statement in self.statements {
                arguments = bind_checked(arguments, statement.bind, statement.parameters)?;
            }
            let query = sqlx::query_with(sqlx::AssertSqlSafe(sql), arguments);
            collect(tx, query, &mut outcomes).await?;
            if outcomes.len() != count {
                return Err(Error::Other(format!(
                    "a batch of {count} statements reported {} outcomes",
                    outcomes.len()
                )));
            }
        } else {
            for statement in self.statements {
                let arguments = bind_checked(
                    AnyArguments::default(),
                    statement.bind,
                    statement.parameters,
                )?;
                let query = sqlx::query_with(sqlx::AssertSqlSafe(statement.sql), arguments);
                let before = outcomes.len();
                collect(tx, query, &mut outcomes).await?;
                if outcomes.len() != before + 1 {
                    return Err(Error::Other("a batch statement held more than one".into()));
                }
            }
        }
        Ok(Outcomes(outcomes))
    }
}

/// The statements as one SQLite call, each one's parameters shifted past those of the
/// statements before it.
fn joined_sql(statements: &[Statement<'_>]) -> String {
    let mut sql = String::with_capacity(statements.iter().map(|s| s.sql.len() + 2).sum());
    let mut offset = 0;
    for statement in statements {
        if !sql.is_empty() {
            sql.push_str("; ");
        }
        shift_parameters(&statement.sql, offset, &mut sql);
        offset += statement.parameters;
    }
    sql
}

/// `arguments` with one statement's values bound after them, refused unless it bound
/// exactly its `parameters` (SQLite would take a missing one as NULL without a word, and in
/// a joined call one too many would shift every value after it).
fn bind_checked<'q>(
    arguments: AnyArguments,
    bind: Binder<'q>,
    parameters: usize,
) -> Result<AnyArguments> {
    let before = arguments.len();
    // The SQL plays no part in binding; the statement's own is joined in later.
    let mut query = bind(sqlx::query_with("", arguments));
    let arguments = query
        .take_arguments()
        .map_err(|e| Error::Other(format!("binding a batch: {e}")))?
        .unwrap_or_default();
    let bound = arguments.len().saturating_sub(before);
    if bound != parameters {
        return Err(Error::Other(format!(
            "a batch statement bound {bound} values for {parameters} parameters"
        )));
    }
    Ok(arguments)
}

/// Runs one call and appends an outcome per statement it held: its rows, then its count.
async fn collect(tx: &mut WriteTx, query: AnyQuery<'_>, outcomes: &mut Vec<Outcome>) -> Result<()> {
    let mut stream = (&mut *tx.tx).fetch_many(query);
    let mut rows = Vec::new();
    while let Some(item) = stream.try_next().await? {
        match item {
            Either::Right(row) => rows.push(row),
            Either::Left(done) => outcomes.push(Outcome {
                rows: std::mem::take(&mut rows),
                affected: done.rows_affected(),
            }),
        }
    }
    Ok(())
}

/// A piece of a statement's text: SQL as it is, or a `$N` parameter.
enum Piece<'s> {
    Text(&'s str),
    Parameter(usize),
}

/// Calls `each` with the pieces of `sql` in order; quoted literals and identifiers are text.
fn scan_parameters<'s>(sql: &'s str, mut each: impl FnMut(Piece<'s>)) {
    let bytes = sql.as_bytes();
    let mut quote: Option<u8> = None;
    let (mut i, mut from) = (0, 0);
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'\'' || b == b'"' => quote = Some(b),
            None if b == b'$' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let end = (i + 1..bytes.len())
                    .find(|&j| !bytes[j].is_ascii_digit())
                    .unwrap_or(bytes.len());
                each(Piece::Text(&sql[from..i]));
                each(Piece::Parameter(
                    sql[i + 1..end].parse().unwrap_or(usize::MAX),
                ));
                from = end;
                i = end;
                continue;
            }
            None => {}
        }
        i += 1;
    }
    each(Piece::Text(&sql[from..]));
}

/// The highest `$N` of a statement: how many values it takes.
fn highest_parameter(sql: &str) -> usize {
    let mut highest = 0;
    scan_parameters(sql, |piece| {
        if let Piece::Parameter(n) = piece {
            highest = highest.max(n);
        }
    });
    highest
}

/// Appends `sql` to `out` with every `$N` written as `$(N + offset)`.
fn shift_parameters(sql: &str, offset: usize, out: &mut String) {
    use std::fmt::Write;
    scan_parameters(sql, |piece| match piece {
        Piece::Text(text) => out.push_str(text),
        Piece::Parameter(n) => {
            let _ = write!(out, "${}", n.saturating_add(offset));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_shifted_outside_quotes_only() {
        let sql = "UPDATE t SET a = $1, b = '$2 stays', \"$3\" = $12 WHERE c = $2";
        assert_eq!(highest_parameter(sql), 12);
        let mut out = String::new();
        shift_parameters(sql, 5, &mut out);
        assert_eq!(
            out,
            "UPDATE t SET a = $6, b = '$2 stays', \"$3\" = $17 WHERE c = $7"
        );
        assert_eq!(highest_parameter("SELECT 1"), 0);
        let mut plain = String::new();
        shift_parameters("SELECT $ || 'x'", 3, &mut plain);
        assert_eq!(plain, "SELECT $ || 'x'");
    }
}
