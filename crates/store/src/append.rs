//! [`Store::append`]: one group commit, in one transaction.
//!
//! Rows are encoded before the transaction starts ([`BatchRows::encode`]), then inserted with
//! multi-row `INSERT ... VALUES (...), (...)` statements. A statement binds at most
//! [`MAX_ROWS_PER_INSERT`] rows and stays under the backend's limit of bound variables (32 766
//! on SQLite, 65 535 on PostgreSQL), so any batch size works. When a statement fails the
//! transaction is rolled back (by dropping it) and the failure is explained afterwards: which
//! sequence number or id was already taken, or that the session does not exist.

use domain::{ContractId, OrderId};
use sqlx::error::ErrorKind;
use sqlx::{AssertSqlSafe, Postgres, QueryBuilder, Sqlite};

use crate::rows::BatchRows;
use crate::{Batch, Pool, Result, Store, StoreError, on_pool};

/// Most rows one `INSERT` statement carries: bounds the statement's size and the work lost to a
/// retry, while a batch of a few hundred commands still needs one statement per table.
const MAX_ROWS_PER_INSERT: usize = 1000;

/// SQLite's default `SQLITE_MAX_VARIABLE_NUMBER` (since 3.32).
pub(crate) const SQLITE_MAX_VARIABLES: usize = 32_766;
/// PostgreSQL's limit on bind parameters of one statement (a 16-bit count).
pub(crate) const POSTGRES_MAX_VARIABLES: usize = 65_535;

/// Rows per `INSERT` for a table of `columns` bound columns.
pub(crate) const fn rows_per_insert(columns: usize, max_variables: usize) -> usize {
    let fit = max_variables / columns;
    if fit < MAX_ROWS_PER_INSERT {
        fit
    } else {
        MAX_ROWS_PER_INSERT
    }
}

/// The statement of a batch that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Begin,
    Journal,
    Orders,
    Contracts,
    State,
    Responses,
    Commit,
    /// The inserts and the commit of [`write_sqlite_script`], as one.
    Script,
}

/// Why writing a batch failed.
#[derive(Debug)]
enum Failure {
    /// A statement failed.
    Database(Step, sqlx::Error),
    /// The state update found no session.
    NoSession,
}

impl Failure {
    fn at(step: Step) -> impl FnOnce(sqlx::Error) -> Failure {
        move |error| Failure::Database(step, error)
    }
}

/// Pushes every `INSERT` of a batch's rows (journal, orders, contracts, remembered responses)
/// onto the `QueryBuilder<$db>` `$q`, one statement at a time: after each, `$step` is set to
/// what it writes and `$end` runs (it executes the statement, or appends a separator).
macro_rules! push_inserts {
    ($db:ty, $max_variables:expr, $rows:expr, $q:ident, $step:ident, $end:block) => {{
        let rows: &BatchRows<'_> = $rows;
        for chunk in rows.journal.chunks(rows_per_insert(4, $max_variables)) {
            $q.push("INSERT INTO journal (session_id, seq, at_ms, command) ");
            $q.push_values(chunk, |mut row, e| {
                row.push_bind(rows.session)
                    .push_bind(e.seq)
                    .push_bind(e.at_ms)
                    .push_bind(e.command.as_str());
            });
            $step = Step::Journal;
            $end
        }
        for chunk in rows.orders.chunks(rows_per_insert(10, $max_variables)) {
            $q.push(
                "INSERT INTO orders (session_id, id, participant_id, side, period, volume_kwh, \
                 energy_price, env_price, time_in_force, submitted_at_ms) ",
            );
            $q.push_values(chunk, |mut row, o| {
                row.push_bind(rows.session)
                    .push_bind(o.id)
                    .push_bind(o.participant)
                    .push_bind(o.side)
                    .push_bind(o.period)
                    .push_bind(o.volume_kwh)
                    .push_bind(o.energy_price)
                    .push_bind(o.env_price)
                    .push_bind(o.time_in_force.as_str())
                    .push_bind(o.submitted_at_ms);
            });
            $step = Step::Orders;
            $end
        }
        for chunk in rows.contracts.chunks(rows_per_insert(11, $max_variables)) {
            $q.push(
                "INSERT INTO contracts (session_id, id, seller, buyer, volumes, energy_price, \
                 env_price, compensation, status, created_at_ms, corridor) ",
            );
            $q.push_values(chunk, |mut row, c| {
                row.push_bind(rows.session)
                    .push_bind(c.id)
                    .push_bind(c.seller)
                    .push_bind(c.buyer)
                    .push_bind(c.volumes.as_str())
                    .push_bind(c.energy_price)
                    .push_bind(c.env_price)
                    .push_bind(c.compensation)
                    .push_bind(c.status.as_str())
                    .push_bind(c.created_at_ms)
                    .push_bind(c.corridor.as_deref());
            });
            $step = Step::Contracts;
            $end
        }
        let created_at_ms = crate::wall_clock_ms();
        for chunk in rows.responses.chunks(rows_per_insert(6, $max_variables)) {
            $q.push(
                "INSERT INTO idempotency (participant_id, key, status, body, created_at_ms, \
                 request_sha256) ",
            );
            $q.push_values(chunk, |mut row, r| {
                row.push_bind(r.participant)
                    .push_bind(r.key)
                    .push_bind(r.status)
                    .push_bind(r.body)
                    .push_bind(created_at_ms)
                    .push_bind(r.request);
            });
            $q.push(" ON CONFLICT (participant_id, key) DO NOTHING");
            $step = Step::Responses;
            $end
        }
    }};
}

/// Writes every row of a batch in one transaction on a pool of backend `$db`, a statement at a
/// time. Expands to an expression of type `Result<(), Failure>`; the transaction is committed
/// only if every statement succeeded and is rolled back (dropped) otherwise.
macro_rules! write_batch {
    ($db:ty, $pool:expr, $begin:expr, $max_variables:expr, $rows:expr) => {{
        let rows: &BatchRows<'_> = $rows;
        async {
            let mut tx = $pool
                .begin_with($begin)
                .await
                .map_err(Failure::at(Step::Begin))?;
            let mut q = QueryBuilder::<$db>::new("");
            let mut step;
            push_inserts!($db, $max_variables, rows, q, step, {
                q.build()
                    .execute(&mut *tx)
                    .await
                    .map_err(Failure::at(step))?;
                q.reset();
            });
            if let Some(state) = rows.state {
                let updated = sqlx::query("UPDATE sessions SET state = $1 WHERE id = $2")
                    .bind(state)
                    .bind(rows.session)
                    .execute(&mut *tx)
                    .await
                    .map_err(Failure::at(Step::State))?;
                if updated.rows_affected() != 1 {
                    return Err(Failure::NoSession);
                }
            }
            tx.commit().await.map_err(Failure::at(Step::Commit))?;
            Ok::<(), Failure>(())
        }
        .await
    }};
}

/// Writes a batch without a state change on SQLite as one script, `BEGIN IMMEDIATE; INSERT …;
/// …; COMMIT`, executed in one call: each statement executed on its own is a hop to the
/// connection's thread and back, and under load those hops, not SQLite's work, were most of a
/// group commit's time (`lvdian loadtest`, single orders). On failure the transaction is rolled
/// back on the same connection, which is closed instead if that fails too; which statement
/// failed is not known ([`Step::Script`]).
async fn write_sqlite_script(
    pool: &sqlx::SqlitePool,
    rows: &BatchRows<'_>,
) -> std::result::Result<(), Failure> {
    let mut q = QueryBuilder::<Sqlite>::new("BEGIN IMMEDIATE; ");
    let mut step;
    push_inserts!(Sqlite, SQLITE_MAX_VARIABLES, rows, q, step, {
        q.push("; ");
    });
    let _ = step;
    q.push("COMMIT");
    let mut conn = pool.acquire().await.map_err(Failure::at(Step::Begin))?;
    let result = q.build().execute(&mut *conn).await;
    if let Err(error) = result {
        // A failed ROLLBACK (also when BEGIN itself failed and there is nothing to roll back)
        // retires the connection rather than return it to the pool in an unknown state.
        if sqlx::query("ROLLBACK").execute(&mut *conn).await.is_err() {
            conn.close_on_drop();
        }
        return Err(Failure::Database(Step::Script, error));
    }
    Ok(())
}

pub(crate) async fn append(store: &Store, batch: &Batch) -> Result<()> {
    let rows = BatchRows::encode(batch)?;
    let begin = store.begin_write();
    let written = match &store.pool {
        Pool::Sqlite(_, writer) if rows.state.is_none() => {
            write_sqlite_script(&writer.commits, &rows).await
        }
        Pool::Sqlite(pool, _) => write_batch!(Sqlite, pool, begin, SQLITE_MAX_VARIABLES, &rows),
        Pool::Postgres(pool) => write_batch!(Postgres, pool, begin, POSTGRES_MAX_VARIABLES, &rows),
    };
    match written {
        Ok(()) => Ok(()),
        Err(failure) => Err(explain(store, batch, &rows, failure).await),
    }
}

/// Turns a failed batch into the error the caller can act on. Runs after the rollback: the
/// conflicting row, if any, is one committed before the batch.
async fn explain(
    store: &Store,
    batch: &Batch,
    rows: &BatchRows<'_>,
    failure: Failure,
) -> StoreError {
    let session = batch.session;
    let missing = || StoreError::Missing {
        what: format!("session {session}"),
    };
    let (step, error) = match failure {
        Failure::NoSession => return missing(),
        Failure::Database(step, error) => (step, error),
    };
    let kind = match &error {
        sqlx::Error::Database(db) => db.kind(),
        _ => return StoreError::Database(error),
    };
    // The tables the failed statement may have written: one, or any for a script.
    let keyed: &[Keyed] = match step {
        Step::Journal => &[Keyed::Journal],
        Step::Orders => &[Keyed::Orders],
        Step::Contracts => &[Keyed::Contracts],
        Step::Script => &[Keyed::Journal, Keyed::Orders, Keyed::Contracts],
        Step::Begin | Step::State | Step::Responses | Step::Commit => {
            return StoreError::Database(error);
        }
    };
    match kind {
        ErrorKind::ForeignKeyViolation => missing(),
        ErrorKind::UniqueViolation => {
            for &keyed in keyed {
                let keys: Vec<i64> = match keyed {
                    Keyed::Journal => rows.journal.iter().map(|e| e.seq).collect(),
                    Keyed::Orders => rows.orders.iter().map(|o| o.id).collect(),
                    Keyed::Contracts => rows.contracts.iter().map(|c| c.id).collect(),
                };
                if let Ok(Some(key)) = first_stored(store, keyed, rows.session, &keys).await {
                    return StoreError::Conflict {
                        what: keyed.describe(key, batch),
                    };
                }
            }
            // Nothing to name (the row went away, or the lookup failed): the database's own
            // error is the best account left.
            StoreError::Database(error)
        }
        _ => StoreError::Database(error),
    }
}

/// A table whose rows a batch keys by (session, number).
#[derive(Debug, Clone, Copy)]
enum Keyed {
    Journal,
    Orders,
    Contracts,
}

impl Keyed {
    fn table_and_column(self) -> (&'static str, &'static str) {
        match self {
            Keyed::Journal => ("journal", "seq"),
            Keyed::Orders => ("orders", "id"),
            Keyed::Contracts => ("contracts", "id"),
        }
    }

    fn describe(self, key: i64, batch: &Batch) -> String {
        let session = batch.session;
        // Keys came from u64s, so they are not negative.
        let key = key.unsigned_abs();
        match self {
            Keyed::Journal => format!("journal entry {key} of session {session}"),
            Keyed::Orders => format!("order {} of session {session}", OrderId(key)),
            Keyed::Contracts => format!("contract {} of session {session}", ContractId(key)),
        }
    }
}

/// The first of `keys` (in batch order) already stored for the session.
async fn first_stored(
    store: &Store,
    keyed: Keyed,
    session: i64,
    keys: &[i64],
) -> Result<Option<i64>> {
    let (Some(&low), Some(&high)) = (keys.iter().min(), keys.iter().max()) else {
        return Ok(None);
    };
    let (table, column) = keyed.table_and_column();
    let sql = format!(
        "SELECT {column} FROM {table} WHERE session_id = $1 AND {column} BETWEEN $2 AND $3"
    );
    let stored: Vec<(i64,)> = on_pool!(store, pool => sqlx::query_as(AssertSqlSafe(sql.as_str()))
        .bind(session)
        .bind(low)
        .bind(high)
        .fetch_all(pool)
        .await)?;
    let stored: std::collections::BTreeSet<i64> = stored.into_iter().map(|(k,)| k).collect();
    Ok(keys.iter().copied().find(|k| stored.contains(k)))
}
