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
//!
//! A statement pushed with the row count it must have ([`Batch::push_expecting`]) is checked
//! where it ran: the batch stops after it when the count is wrong, and the statements after
//! it do not run ([`Outcomes::stopped_at`]). On SQLite the check is SQL in the same call, a
//! guard that inserts into the writer connection's `temp.tinhso_guard` — whose CHECK refuses
//! every row — only when `changes()` is wrong, so the call ends there with the transaction
//! still open. That lets [`Batch::run_and_commit`] send `COMMIT` at the end of the same call:
//! when every check passes the transaction is committed without another hand-off to the
//! connection's thread while SQLite's one write lock is held.

use futures_util::TryStreamExt;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Arguments, Either, Execute, Executor};
use std::borrow::Cow;

use crate::db::{Dialect, GUARD_TABLE, WriteTx};
use crate::error::{Error, Result};

/// A query of the `Any` driver with its values bound.
pub type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, AnyArguments>;

/// Binds one statement's values, `$1` first, onto a query (the batch's, on SQLite).
type Binder<'q> = Box<dyn FnOnce(AnyQuery<'q>) -> AnyQuery<'q> + Send + 'q>;

/// What a batch that commits in its call does once committed, before the write lock is let
/// go (an audit record's guess of the chain's tip moves on).
pub(crate) type OnCommit = Box<dyn FnOnce() + Send>;

struct Statement<'q> {
    sql: Cow<'static, str>,
    parameters: usize,
    bind: Binder<'q>,
    /// The row count it must have for the batch to go on.
    expected: Option<u64>,
}

/// What one part of a joined SQLite call is: a statement of the batch, the guard checking
/// one, or the commit (and the next writer's begin) after them.
#[derive(Clone, Copy)]
enum Part {
    Statement,
    Guard(usize),
    Commit,
    Begin,
}

/// Where a statement's outcome is found in [`Outcomes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct StatementId(usize);

/// The statements of a write transaction, run together by [`Batch::run`].
#[derive(Default)]
pub struct Batch<'q> {
    statements: Vec<Statement<'q>>,
    /// Audit records deferred into this batch, and whether each one's write is complete in
    /// it (see [`crate::audit::defer`]): a commit in the batch's call needs all of them to be.
    audits: usize,
    audits_incomplete: bool,
    on_commit: Vec<OnCommit>,
}

/// What one statement of a batch returned.
pub struct Outcome {
    pub rows: Vec<AnyRow>,
    pub affected: u64,
}

/// Each statement's outcome, in the order the statements were pushed.
pub struct Outcomes {
    ran: Vec<Outcome>,
    /// How many statements the batch held.
    statements: usize,
    stopped_at: Option<StatementId>,
}

/// The outcome of a statement that did not run.
static NOT_RUN: Outcome = Outcome {
    rows: Vec::new(),
    affected: 0,
};

impl Outcomes {
    /// The statement's outcome; one that did not run (the batch stopped before it) returned
    /// no rows and changed none.
    pub fn get(&self, id: StatementId) -> &Outcome {
        self.ran.get(id.0).unwrap_or(&NOT_RUN)
    }

    /// The statement's rows, taken out (a second take finds none).
    pub fn take_rows(&mut self, id: StatementId) -> Vec<AnyRow> {
        self.ran
            .get_mut(id.0)
            .map(|outcome| std::mem::take(&mut outcome.rows))
            .unwrap_or_default()
    }

    /// The statement whose row count was not the one expected: the batch stopped after it,
    /// and none of the statements after it ran.
    pub fn stopped_at(&self) -> Option<StatementId> {
        self.stopped_at
    }

    /// Whether `id` is the last statement of the batch.
    pub fn is_last(&self, id: StatementId) -> bool {
        id.0 + 1 == self.statements
    }
}

/// How [`Batch::run_and_commit`] ended.
pub enum Finished {
    /// Every check passed and the transaction is committed (SQLite).
    Committed(Outcomes),
    /// The transaction is still open for the caller to settle and commit: on PostgreSQL, on
    /// SQLite when an audit record's write was not complete in the batch, or when the batch
    /// stopped at a check ([`Outcomes::stopped_at`]).
    Open(Outcomes, WriteTx),
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
        self.push_statement(sql.into(), Box::new(bind), None)
    }

    /// Like [`Batch::push`], for an INSERT, UPDATE or DELETE that must change exactly `rows`
    /// rows: when it does not, the batch stops after it (see [`Outcomes::stopped_at`]) and
    /// the transaction does not commit unless the caller settles the stop (an audit record's
    /// stale guess does; [`WriteTx::go_on_after_stop`] otherwise). Not for a SELECT: SQLite
    /// counts only rows changed.
    pub fn push_expecting(
        &mut self,
        sql: impl Into<Cow<'static, str>>,
        rows: u64,
        bind: impl FnOnce(AnyQuery<'q>) -> AnyQuery<'q> + Send + 'q,
    ) -> StatementId {
        self.push_statement(sql.into(), Box::new(bind), Some(rows))
    }

    fn push_statement(
        &mut self,
        sql: Cow<'static, str>,
        bind: Binder<'q>,
        expected: Option<u64>,
    ) -> StatementId {
        let parameters = highest_parameter(&sql);
        self.statements.push(Statement {
            sql,
            parameters,
            bind,
            expected,
        });
        StatementId(self.statements.len() - 1)
    }

    /// Counts an audit record deferred into the batch, with what to do once the batch
    /// committed when its write is complete in it (none: it is written after the batch).
    pub(crate) fn count_audit(&mut self, committed: Option<OnCommit>) {
        self.audits += 1;
        match committed {
            Some(then) => self.on_commit.push(then),
            None => self.audits_incomplete = true,
        }
    }

    /// Runs the statements in the transaction, in order; an error of any of them is returned
    /// as it is (the caller's transaction then rolls back). A wrong row count of a statement
    /// pushed with [`Batch::push_expecting`] stops the batch there without an error.
    pub async fn run(self, tx: &mut WriteTx) -> Result<Outcomes> {
        let outcomes = if tx.dialect == Dialect::Sqlite {
            self.run_joined(tx, None).await?.0
        } else {
            self.run_one_by_one(tx).await?
        };
        tx.stopped_batches += usize::from(outcomes.stopped_at.is_some());
        Ok(outcomes)
    }

    /// Runs the statements and, when every check passes, commits: on SQLite in the same call
    /// when it can (every audit record's write complete in the batch), so the transaction
    /// ends without another hand-off under the write lock. Otherwise the transaction comes
    /// back open, after the statements ran or stopped at a check.
    pub async fn run_and_commit(mut self, mut tx: WriteTx) -> Result<Finished> {
        // An earlier batch's stop not settled: this one must not commit it.
        if tx.dialect != Dialect::Sqlite || self.audits_incomplete || tx.stopped_batches > 0 {
            let outcomes = self.run(&mut tx).await?;
            return Ok(Finished::Open(outcomes, tx));
        }
        if tx.unsettled_audits != self.audits {
            return Err(Error::Other(
                "an audit record deferred outside the batch was never settled".into(),
            ));
        }
        let on_commit = std::mem::take(&mut self.on_commit);
        let ending = tx.commit_statements();
        let (outcomes, ended) = self.run_joined(&mut tx, Some(ending)).await?;
        match ended {
            Some(begun) => {
                // Still under the write lock: the next writer sees what these did.
                for then in on_commit {
                    then();
                }
                tx.committed_in_call(ending, begun).await?;
                Ok(Finished::Committed(outcomes))
            }
            None => {
                tx.stopped_batches += usize::from(outcomes.stopped_at.is_some());
                Ok(Finished::Open(outcomes, tx))
            }
        }
    }

    /// PostgreSQL's extended protocol takes one statement per call.
    async fn run_one_by_one(self, tx: &mut WriteTx) -> Result<Outcomes> {
        let statements = self.statements.len();
        let mut ran = Vec::with_capacity(statements);
        let mut stopped_at = None;
        for (index, statement) in self.statements.into_iter().enumerate() {
            let arguments = bind_checked(
                AnyArguments::default(),
                statement.bind,
                statement.parameters,
            )?;
            let query = sqlx::query_with(sqlx::AssertSqlSafe(statement.sql), arguments);
            let before = ran.len();
            collect(tx, query, &mut ran).await?;
            if ran.len() != before + 1 {
                return Err(Error::Other("a batch statement held more than one".into()));
            }
            if statement
                .expected
                .is_some_and(|rows| ran[index].affected != rows)
            {
                stopped_at = Some(StatementId(index));
                break;
            }
        }
        Ok(Outcomes {
            ran,
            statements,
            stopped_at,
        })
    }

    /// Runs the statements, each checked one followed by its guard, as one SQLite call,
    /// ending with `ending` (`COMMIT`, maybe `; BEGIN IMMEDIATE`) when given. Returns the
    /// outcomes and, when the commit ran, whether the next writer's BEGIN ran too.
    async fn run_joined(
        self,
        tx: &mut WriteTx,
        ending: Option<&'static str>,
    ) -> Result<(Outcomes, Option<bool>)> {
        let statements = self.statements.len();
        if statements == 0 && ending.is_none() {
            let nothing = Outcomes {
                ran: Vec::new(),
                statements,
                stopped_at: None,
            };
            return Ok((nothing, None));
        }
        // One outcome per statement is what maps each part of the call to its statement,
        // and must hold before a COMMIT at its end runs.
        if let Some(statement) = self.statements.iter().find(|s| holds_more_than_one(&s.sql)) {
            return Err(Error::Other(format!(
                "a batch statement holds more than one: {}",
                statement.sql
            )));
        }
        let (sql, parts) = joined_sql(&self.statements, ending);
        let mut arguments = AnyArguments::default();
        for statement in self.statements {
            arguments = bind_checked(arguments, statement.bind, statement.parameters)?;
        }
        let query = sqlx::query_with(sqlx::AssertSqlSafe(sql), arguments);
        let mut collected = Vec::with_capacity(parts.len());
        let failure = collect(tx, query, &mut collected).await.err();
        // The part that failed is the one whose outcome never came.
        let failed = failure
            .as_ref()
            .map(|_| parts.get(collected.len()).copied());
        let mut ran = Vec::with_capacity(statements);
        let mut commit_ran = false;
        let mut begun = false;
        for (outcome, part) in collected.into_iter().zip(&parts) {
            match part {
                Part::Statement => ran.push(outcome),
                Part::Guard(_) => {}
                Part::Commit => commit_ran = true,
                Part::Begin => begun = true,
            }
        }
        let stopped_at = match (failed, failure) {
            (None, _) | (_, None) => None,
            (Some(Some(Part::Guard(index))), Some(e)) if is_check_violation(&e) => {
                Some(StatementId(index))
            }
            // The commit ran, the next writer's BEGIN did not: left for its begin to check.
            (Some(Some(Part::Begin)), Some(_)) => None,
            (_, Some(e)) => return Err(e),
        };
        if stopped_at.is_none() && ran.len() != statements {
            return Err(Error::Other(format!(
                "a batch of {statements} statements reported {} outcomes",
                ran.len()
            )));
        }
        let outcomes = Outcomes {
            ran,
            statements,
            stopped_at,
        };
        Ok((outcomes, commit_ran.then_some(begun)))
    }
}

/// The statements as one SQLite call, each one's parameters shifted past those of the
/// statements before it, each checked one followed by its guard, then `ending`; with what
/// each part of the call is, in order.
fn joined_sql(statements: &[Statement<'_>], ending: Option<&str>) -> (String, Vec<Part>) {
    use std::fmt::Write;
    let mut sql = String::with_capacity(statements.iter().map(|s| s.sql.len() + 2).sum());
    let mut parts = Vec::with_capacity(statements.len() + 2);
    let mut offset = 0;
    for (index, statement) in statements.iter().enumerate() {
        if !sql.is_empty() {
            sql.push_str("; ");
        }
        shift_parameters(&statement.sql, offset, &mut sql);
        offset += statement.parameters;
        parts.push(Part::Statement);
        if let Some(rows) = statement.expected {
            // `changes()` is the count of the statement just before.
            let _ = write!(
                sql,
                "; INSERT INTO {GUARD_TABLE} (failed) SELECT 1 WHERE changes() <> {rows}"
            );
            parts.push(Part::Guard(index));
        }
    }
    if let Some(ending) = ending {
        for (n, statement) in ending.split(';').map(str::trim).enumerate() {
            if !sql.is_empty() {
                sql.push_str("; ");
            }
            sql.push_str(statement);
            parts.push(if n == 0 { Part::Commit } else { Part::Begin });
        }
    }
    (sql, parts)
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

/// Whether `sql` has a `;` outside quotes (SQLite would run what follows as another
/// statement of the call).
fn holds_more_than_one(sql: &str) -> bool {
    let mut quote: Option<char> = None;
    sql.chars().any(|c| {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None => return c == ';',
        }
        false
    })
}

/// A guard's refusal (anything else failing in a guard is an error).
fn is_check_violation(e: &Error) -> bool {
    matches!(e, Error::Database(sqlx::Error::Database(db))
        if db.kind() == sqlx::error::ErrorKind::CheckViolation)
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
    fn one_statement_each() {
        assert!(!holds_more_than_one(
            "UPDATE t SET a = ';' WHERE b = \"x;y\""
        ));
        assert!(
            holds_more_than_one("SELECT 1;"),
            "not even an empty one after it"
        );
        assert!(holds_more_than_one("SELECT 1; SELECT 2"));
        assert!(holds_more_than_one("UPDATE t SET a = 'x'; DELETE FROM t"));
    }

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
