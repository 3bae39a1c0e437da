//! lvdian's persistence: the only crate that knows SQL.
//!
//! A [`Store`] is a pool of connections to SQLite (embedded, one file) or PostgreSQL, chosen by
//! the URL given to [`Store::connect`]. Both backends have the same tables and behave the same
//! way through the same methods; only the dialect of the migrations differs
//! (`migrations/sqlite/` and `migrations/postgres/`, embedded in the binary and applied by
//! [`Store::migrate`]).
//!
//! # The journal
//!
//! The `journal` table is the source of truth for trading. Every command a session accepted is
//! one row — `(session_id, seq, at_ms, command)`, the command as the JSON of
//! [`exchange::session::Command`] — and rows are only ever inserted (triggers refuse updates and
//! deletes). Because the engine is deterministic, feeding [`Store::journal`] back through
//! `Session::apply` with the same stamps rebuilds a session exactly, so a restarted server loses
//! nothing it acknowledged.
//!
//! The server commits in groups: a [`Batch`] holds the commands a session accepted since the
//! last commit, together with what they produced — the orders accepted, the contracts made, the
//! session's new state, and the responses to remember for `Idempotency-Key`s — and
//! [`Store::append`] writes all of it in **one transaction**: all or nothing. A batch that fails
//! (a sequence number already taken, an unknown session) writes nothing at all, so the derived
//! tables never disagree with the journal. Rows go in with multi-row `INSERT`s, chunked under
//! each backend's limit of bound variables, so a batch of hundreds of commands costs a handful of
//! statements and one durable commit. On SQLite a write transaction starts with
//! `BEGIN IMMEDIATE`, taking the write lock at once and waiting up to the busy timeout for it,
//! rather than failing when two writers meet; the database runs in WAL mode with
//! `synchronous=FULL`, because an acknowledged order is a legal fact and must survive a power
//! cut. Group commits have a connection of their own, which never checkpoints the WAL inside a
//! commit: a task of the store does, beside it (`writer.rs`).
//!
//! # Tables
//!
//! Every quantity — kWh, fen/MWh, fen, milliseconds since the Unix epoch — is a 64-bit integer
//! column, never a float (SQLite tables are `STRICT`, so they cannot hold one). Enums are stored
//! by their names in files and the API (`generator`, `wind_onshore`, `buy`, `ioc`, `open`,
//! `effective`); JSON documents are `TEXT` written and read by serde_json.
//!
//! | table | key | holds |
//! |---|---|---|
//! | `participants` | `id`, assigned from 1 | name (unique), role, province |
//! | `tokens` | `token_hash` (SHA-256, 32 bytes) | the participant an API token logs in as, a label |
//! | `projects` | `code` (17 digits) | owner, technology, capacity_kw, province, subsidised, meters (JSON) |
//! | `meters` | `meter_id` | the project a meter measures, its position in the project's list |
//! | `sessions` | `id`, assigned from 1 | name, settings (JSON of [`SessionSettings`]), state |
//! | `journal` | `(session_id, seq)` | at_ms, command (JSON of [`Command`]); append-only |
//! | `orders` | `(session_id, id)` | participant, side, period, volume_kwh, energy_price, env_price, time_in_force, submitted_at_ms |
//! | `contracts` | `(session_id, id)` | seller, buyer, volumes (JSON), energy_price, env_price, compensation, status, created_at_ms, corridor (JSON or NULL, migration 0004) |
//! | `idempotency` | `(participant_id, key)` | HTTP status and body of the first response, the SHA-256 of its request (migration 0006); `key` is the route's scope and the client's key |
//! | `access_log` | `id`, in insertion order | who read sealed data, when, what |
//! | `corridors` | `(from_province, to_province)` | the network registry (migration 0005): capacity_kwh, loss (1/10000), tariff (fen/MWh), updated_at_ms, updated_by |
//! | `registry_checkpoints` | `seq` | the certificate registry's state after ledger entry `seq` (migration 0012, Snappy): derived, the latest kept |
//!
//! Foreign keys tie tokens, projects and corridors (their `updated_by`) to participants, and the
//! journal, orders and contracts to their session. The derived tables (`orders`, `contracts`,
//! `idempotency`, `access_log`) do not reference `participants`: they record what the engine
//! and the API already accepted, and a write of an acknowledged fact must not be refused for a
//! bookkeeping reason.
//!
//! Ids are `u64` in the domain and signed 64-bit integers in the database; they are converted
//! with a check both ways, never cast. Rows that cannot be decoded back into domain values are
//! reported as [`StoreError::Corrupt`] naming the table and the row.

mod append;
mod checkpoints;
mod network;
mod registry;
mod retail;
mod rows;
mod snapshots;
pub mod testing;
#[cfg(test)]
mod tests;
mod writer;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use domain::{Contract, Order, Participant, ParticipantId, Project, Province, Role, SessionId};
use exchange::session::{Command, SessionSettings, SessionState};
use sqlx::error::ErrorKind;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Connection};

use crate::rows::{name_of, to_db};
use crate::writer::SqliteWriter;

pub use crate::checkpoints::StoredCheckpoint;
pub use crate::network::NetworkCorridor;
pub use crate::registry::{LedgerRow, MeterMonth};
pub use crate::snapshots::StoredSnapshot;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique value is taken (a participant name, a project code).
    #[error("{what} already exists")]
    Conflict {
        /// What was duplicated, e.g. `participant name "G1"`.
        what: String,
    },
    /// A referenced row does not exist.
    #[error("{what} does not exist")]
    Missing {
        /// What was missing.
        what: String,
    },
    /// The database URL is not one lvdian understands.
    #[error("unsupported database URL `{0}`: use sqlite:PATH or postgres://...")]
    BadUrl(String),
    /// Stored data could not be decoded (a corrupted row).
    #[error("corrupt row in {table}: {reason}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A store result.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Which database is behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, embedded (WAL mode).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A participant to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewParticipant {
    /// Unique registered name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Its province.
    pub province: Province,
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// Its id.
    pub id: SessionId,
    /// Its name (e.g. "2024年3月浙江绿电集中竞价").
    pub name: String,
    /// Its settings.
    pub settings: SessionSettings,
    /// Its state as of the last committed batch.
    pub state: SessionState,
    /// When it was created (ms since the Unix epoch).
    pub created_at_ms: i64,
}

/// One accepted command of a session: what replay feeds back to the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// The sequence number the session accepted it with.
    pub seq: u64,
    /// Its timestamp (ms since the Unix epoch).
    pub at_ms: i64,
    /// The command.
    pub command: Command,
}

impl JournalEntry {
    /// The command with the stamp it was accepted with, as a replay applies it.
    pub fn stamped(self) -> (Command, exchange::session::Stamp) {
        let stamp = exchange::session::Stamp {
            seq: self.seq,
            at_ms: self.at_ms,
        };
        (self.command, stamp)
    }
}

/// A response remembered for an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// The participant whose key it is.
    pub participant: ParticipantId,
    /// The key.
    pub key: String,
    /// HTTP status.
    pub status: u16,
    /// Response body (JSON text).
    pub body: String,
    /// The SHA-256 of the request this response answered (method, path and body), so that a
    /// retry with another request is told apart; `None` for keys remembered before it was kept.
    pub request: Option<[u8; 32]>,
}

/// Everything one group commit of a session writes, in one transaction.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The session.
    pub session: SessionId,
    /// Accepted commands, by increasing seq.
    pub entries: Vec<JournalEntry>,
    /// The session's state after the batch, if it changed.
    pub state: Option<SessionState>,
    /// Orders accepted in the batch.
    pub orders: Vec<Order>,
    /// Contracts made in the batch.
    pub contracts: Vec<Contract>,
    /// Responses to remember for idempotency keys.
    pub responses: Vec<StoredResponse>,
}

impl Batch {
    /// A batch of `session` writing nothing yet.
    pub fn new(session: SessionId) -> Batch {
        Batch {
            session,
            entries: Vec::new(),
            state: None,
            orders: Vec::new(),
            contracts: Vec::new(),
            responses: Vec::new(),
        }
    }
}

/// A logged read of sealed data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRow {
    /// Who read.
    pub participant: ParticipantId,
    /// When.
    pub at_ms: i64,
    /// What (e.g. `GET /api/v1/sessions/3/orders`).
    pub what: String,
}

/// The database: a pool of SQLite or PostgreSQL connections. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
}

/// The connections behind a [`Store`]: on SQLite, the main pool and the group commits' own
/// connection with the WAL's checkpoints (`writer.rs`).
#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool, Arc<SqliteWriter>),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the store's pool, whichever backend it is. The body is
/// written once and compiled once per backend, so each copy is checked against that backend's
/// concrete types: placeholders are `$1..$n`, which both backends bind by number.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            Pool::Sqlite($pool, _) => $body,
            Pool::Postgres($pool) => $body,
        }
    };
}

/// Inserts a [`StoredResponse`] with [`REMEMBER`] inside the transaction `$tx`.
macro_rules! remember_in {
    ($tx:expr, $r:expr) => {{
        let r: &StoredResponse = $r;
        sqlx::query($crate::REMEMBER)
            .bind($crate::rows::to_db(r.participant.0, "participant id")?)
            .bind(r.key.as_str())
            .bind(i64::from(r.status))
            .bind(r.body.as_str())
            .bind($crate::wall_clock_ms())
            .bind(r.request.as_ref().map(|h| h.as_slice()))
            .execute(&mut *$tx)
            .await?;
    }};
}
pub(crate) use on_pool;
pub(crate) use remember_in;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a SQLite connection waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// SQLite serialises writers anyway; a few connections let readers run beside the writer.
const SQLITE_MAX_CONNECTIONS: u32 = 4;
/// Most keys [`Store::idempotent_many`] looks up in one query.
pub const MAX_KEYS_PER_LOOKUP: usize = 128;
/// PostgreSQL connections per pool.
const POSTGRES_MAX_CONNECTIONS: u32 = 8;

impl Store {
    /// Connects to the database a URL names:
    ///
    /// - `sqlite:PATH` or `sqlite://PATH`: the file is created if missing and opened in WAL mode
    ///   with `synchronous=FULL` (every commit is on disk before it returns), foreign keys on and
    ///   a busy timeout of 5 s, in a pool of 4 connections, and one more connection for group
    ///   commits, which leaves checkpoints of the WAL to a task of the store;
    /// - `postgres://...` or `postgresql://...`: a pool of 8 connections.
    ///
    /// Anything else is [`StoreError::BadUrl`]. Connecting does not migrate: call
    /// [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Store> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(StoreError::BadUrl(url.to_owned()));
            }
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(SQLITE_BUSY_TIMEOUT);
            // No ping before each use: the database is a local file, and a ping is one more hop
            // to the connection's thread on every query and every group commit.
            let pool = SqlitePoolOptions::new()
                .max_connections(SQLITE_MAX_CONNECTIONS)
                .test_before_acquire(false)
                .connect_with(options.clone())
                .await?;
            let writer = SqliteWriter::start(options, &pool).await?;
            return Ok(Store {
                pool: Pool::Sqlite(pool, Arc::new(writer)),
            });
        }
        let options = postgres_options(url)?;
        Store::connect_postgres_with(options).await
    }

    /// Connects to PostgreSQL with every pooled connection working in `schema` (its
    /// `search_path`), creating the schema if missing. For tests: each test gets its own schema
    /// of one database, so tests run in parallel without seeing each other's rows. The schema
    /// name must be lower-case ASCII letters, digits and `_`, starting with a letter or `_`, at
    /// most 63 characters; anything else is [`StoreError::BadUrl`].
    pub async fn connect_postgres_schema(url: &str, schema: &str) -> Result<Store> {
        let options = postgres_options(url)?;
        check_name(url, schema)?;
        let mut conn = PgConnection::connect_with(&options).await?;
        sqlx::query(AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
        )))
        .execute(&mut conn)
        .await?;
        conn.close().await?;
        Store::connect_postgres_with(options.options([("search_path", schema)])).await
    }

    /// Drops a schema made by [`Store::connect_postgres_schema`] and everything in it
    /// (`DROP SCHEMA ... CASCADE`). Dropping a schema that does not exist is not an error.
    pub async fn drop_postgres_schema(url: &str, schema: &str) -> Result<()> {
        let options = postgres_options(url)?;
        check_name(url, schema)?;
        let mut conn = PgConnection::connect_with(&options).await?;
        sqlx::query(AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
        )))
        .execute(&mut conn)
        .await?;
        conn.close().await?;
        Ok(())
    }

    /// Creates the PostgreSQL database `name` on the server of `url` if it does not exist, and
    /// returns `url` naming it instead (query parameters kept). For benchmarks and tests that
    /// want a whole database rather than a schema. The name follows the rule of
    /// [`Store::connect_postgres_schema`]; `url` must be `postgres://` or `postgresql://`
    /// ([`StoreError::BadUrl`] otherwise).
    pub async fn create_postgres_database(url: &str, name: &str) -> Result<String> {
        let options = postgres_options(url)?;
        check_name(url, name)?;
        let target = with_database(url, name);
        let mut conn = PgConnection::connect_with(&options).await?;
        let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(name)
            .fetch_optional(&mut conn)
            .await?;
        if exists.is_none() {
            sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(&mut conn)
                .await?;
        }
        conn.close().await?;
        Ok(target)
    }

    /// Drops the PostgreSQL database `name` on the server of `url` (which must name another
    /// database), disconnecting whoever is still connected to it (`WITH (FORCE)`, PostgreSQL
    /// 13 or later). Dropping a database that does not exist is not an error.
    pub async fn drop_postgres_database(url: &str, name: &str) -> Result<()> {
        let options = postgres_options(url)?;
        check_name(url, name)?;
        let mut conn = PgConnection::connect_with(&options).await?;
        sqlx::query(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await?;
        conn.close().await?;
        Ok(())
    }

    async fn connect_postgres_with(options: PgConnectOptions) -> Result<Store> {
        let pool = PgPoolOptions::new()
            .max_connections(POSTGRES_MAX_CONNECTIONS)
            .connect_with(options)
            .await?;
        Ok(Store {
            pool: Pool::Postgres(pool),
        })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_, _) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Brings the schema up to date with the migrations embedded for this backend. Migrations
    /// already applied are skipped, so running it again (or at every start) is harmless.
    pub async fn migrate(&self) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(pool, _) => SQLITE_MIGRATIONS.run(pool).await?,
            Pool::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// Connections to this PostgreSQL database other than the one asking (always 0 on SQLite,
    /// where nothing outlives its process). After a server process is killed, its backends can
    /// still commit what it last sent; a crash test waits until this is 0 before it reads.
    pub async fn other_connections(&self) -> Result<u64> {
        match &self.pool {
            Pool::Sqlite(_, _) => Ok(0),
            Pool::Postgres(pool) => {
                let (others,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM pg_stat_activity \
                     WHERE datname = current_database() AND pid <> pg_backend_pid()",
                )
                .fetch_one(pool)
                .await?;
                Ok(u64::try_from(others).unwrap_or(0))
            }
        }
    }

    /// Closes every connection, waiting for those in use to be returned. On SQLite this is what
    /// checkpoints the WAL into the database file. The store must not be used afterwards.
    pub async fn close(&self) {
        if let Pool::Sqlite(_, writer) = &self.pool {
            writer.close().await;
        }
        on_pool!(self, pool => pool.close().await)
    }

    /// Registers a participant and returns it with the id the database assigned (1, 2, … in
    /// registration order). A refused registration does not use an id up, except that two
    /// registrations of one name racing each other on PostgreSQL may leave a gap.
    ///
    /// A name already registered is [`StoreError::Conflict`] (`participant name "G1"`).
    pub async fn insert_participant(
        &self,
        new: &NewParticipant,
        at_ms: i64,
    ) -> Result<Participant> {
        let id: Option<(i64,)> = on_pool!(self, pool => sqlx::query_as(INSERT_PARTICIPANT)
            .bind(new.name.as_str())
            .bind(new.role.as_str())
            .bind(new.province.as_str())
            .bind(at_ms)
            .fetch_optional(pool)
            .await)
        .map_err(|e| name_refusal(e, new))?;
        registered(new, id)
    }

    /// Registers a participant with its first token in one transaction, remembering the response
    /// that `remember` makes of it (the reply to a request with an idempotency key) in the same
    /// transaction: a crash leaves neither a participant without a token nor a registration whose
    /// retry would run again. A taken name is [`StoreError::Conflict`] and writes nothing.
    pub async fn register_participant(
        &self,
        new: &NewParticipant,
        at_ms: i64,
        token_hash: &[u8; 32],
        token_label: &str,
        remember: impl FnOnce(&Participant) -> Option<StoredResponse>,
    ) -> Result<Participant> {
        macro_rules! write {
            ($pool:expr) => {{
                let mut tx = $pool.begin_with(self.begin_write()).await?;
                let id: Option<(i64,)> = sqlx::query_as(INSERT_PARTICIPANT)
                    .bind(new.name.as_str())
                    .bind(new.role.as_str())
                    .bind(new.province.as_str())
                    .bind(at_ms)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(|e| name_refusal(e, new))?;
                let participant = registered(new, id)?;
                sqlx::query(INSERT_TOKEN)
                    .bind(token_hash.as_slice())
                    .bind(to_db(participant.id.0, "participant id")?)
                    .bind(token_label)
                    .bind(at_ms)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| token_refusal(e, participant.id))?;
                if let Some(r) = remember(&participant) {
                    remember_in!(tx, &r);
                }
                tx.commit().await?;
                Ok(participant)
            }};
        }
        match &self.pool {
            Pool::Sqlite(pool, _) => write!(pool),
            Pool::Postgres(pool) => write!(pool),
        }
    }

    /// The participant with this id, if registered.
    pub async fn participant(&self, id: ParticipantId) -> Result<Option<Participant>> {
        const SQL: &str = "SELECT id, name, role, province FROM participants WHERE id = $1";
        // Ids are stored as signed 64-bit integers: a larger one names no participant.
        let Ok(id) = i64::try_from(id.0) else {
            return Ok(None);
        };
        let row: Option<rows::ParticipantTuple> =
            on_pool!(self, pool => sqlx::query_as(SQL).bind(id).fetch_optional(pool).await)?;
        row.map(rows::participant).transpose()
    }

    /// Every participant, by id.
    pub async fn participants(&self) -> Result<Vec<Participant>> {
        const SQL: &str = "SELECT id, name, role, province FROM participants ORDER BY id";
        let rows: Vec<rows::ParticipantTuple> =
            on_pool!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        rows.into_iter().map(rows::participant).collect()
    }

    /// Stores the SHA-256 hash of an API token that logs in as `participant` (the token itself
    /// is never stored).
    ///
    /// An unknown participant is [`StoreError::Missing`] (`participant P7`); a hash already
    /// stored is [`StoreError::Conflict`] (`token hash`).
    pub async fn insert_token(
        &self,
        participant: ParticipantId,
        token_hash: &[u8; 32],
        label: &str,
        at_ms: i64,
    ) -> Result<()> {
        self.insert_token_remembered(participant, token_hash, label, at_ms, None)
            .await
    }

    /// [`Store::insert_token`], remembering `remember` (the reply to a request with an
    /// idempotency key) in the same transaction.
    pub async fn insert_token_remembered(
        &self,
        participant: ParticipantId,
        token_hash: &[u8; 32],
        label: &str,
        at_ms: i64,
        remember: Option<&StoredResponse>,
    ) -> Result<()> {
        let participant_id = to_db(participant.0, "participant id")?;
        on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            sqlx::query(INSERT_TOKEN)
                .bind(token_hash.as_slice())
                .bind(participant_id)
                .bind(label)
                .bind(at_ms)
                .execute(&mut *tx)
                .await
                .map_err(|e| token_refusal(e, participant))?;
            if let Some(r) = remember {
                remember_in!(tx, r);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The participant a token hash logs in as, if the hash is known.
    pub async fn participant_by_token(&self, token_hash: &[u8; 32]) -> Result<Option<Participant>> {
        const SQL: &str = "SELECT p.id, p.name, p.role, p.province \
                           FROM tokens t JOIN participants p ON p.id = t.participant_id \
                           WHERE t.token_hash = $1";
        let row: Option<rows::ParticipantTuple> = on_pool!(self, pool => sqlx::query_as(SQL)
            .bind(token_hash.as_slice())
            .fetch_optional(pool)
            .await)?;
        row.map(rows::participant).transpose()
    }

    /// Registers a project and its meters, in one transaction.
    ///
    /// A code already registered is [`StoreError::Conflict`] (`project code "3301..."`), as is a
    /// meter that already measures a project (`meter "M1"`, also when a project lists a meter
    /// twice); an unknown owner is [`StoreError::Missing`] (`participant P7`).
    pub async fn insert_project(&self, project: &Project, at_ms: i64) -> Result<()> {
        self.insert_project_remembered(project, at_ms, None).await
    }

    /// [`Store::insert_project`], remembering `remember` (the reply to a request with an
    /// idempotency key) in the same transaction.
    pub async fn insert_project_remembered(
        &self,
        project: &Project,
        at_ms: i64,
        remember: Option<&StoredResponse>,
    ) -> Result<()> {
        const PROJECT: &str = "INSERT INTO projects \
                               (code, owner, technology, capacity_kw, province, subsidised, meters, created_at_ms) \
                               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
        const METER: &str =
            "INSERT INTO meters (meter_id, project_code, position) VALUES ($1, $2, $3)";
        let code = project.code.as_str();
        let owner = to_db(project.owner.0, "participant id")?;
        let capacity_kw = to_db(project.capacity_kw, "capacity_kw")?;
        let technology = name_of(project.technology);
        let meters = serde_json::to_string(&project.meters)
            .map_err(|e| rows::corrupt("projects", format!("project {code:?}: meters: {e}")))?;
        let project_error = |e: sqlx::Error| {
            violation(e, |kind| match kind {
                ErrorKind::UniqueViolation => Some(StoreError::Conflict {
                    what: format!("project code {code:?}"),
                }),
                ErrorKind::ForeignKeyViolation => Some(StoreError::Missing {
                    what: format!("participant {}", project.owner),
                }),
                _ => None,
            })
        };
        on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            sqlx::query(PROJECT)
                .bind(code)
                .bind(owner)
                .bind(technology.as_str())
                .bind(capacity_kw)
                .bind(project.province.as_str())
                .bind(project.subsidised)
                .bind(meters.as_str())
                .bind(at_ms)
                .execute(&mut *tx)
                .await
                .map_err(project_error)?;
            // A project has a handful of meters: one statement each says which one clashed.
            for (position, meter) in project.meters.iter().enumerate() {
                sqlx::query(METER)
                    .bind(meter.as_str())
                    .bind(code)
                    .bind(to_db(position as u64, "meter position")?)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| {
                        violation(e, |kind| (kind == ErrorKind::UniqueViolation).then(|| {
                            StoreError::Conflict { what: format!("meter {meter:?}") }
                        }))
                    })?;
            }
            if let Some(r) = remember {
                remember_in!(tx, r);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Every project, by code.
    pub async fn projects(&self) -> Result<Vec<Project>> {
        const SQL: &str = "SELECT code, owner, technology, capacity_kw, province, subsidised, meters \
                           FROM projects ORDER BY code";
        let rows: Vec<rows::ProjectTuple> =
            on_pool!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        rows.into_iter().map(rows::project).collect()
    }

    /// The projects one participant owns, by filing code.
    pub async fn projects_of(&self, owner: ParticipantId) -> Result<Vec<Project>> {
        const SQL: &str = "SELECT code, owner, technology, capacity_kw, province, subsidised, meters \
                           FROM projects WHERE owner = $1 ORDER BY code";
        let owner = to_db(owner.0, "participant id")?;
        let rows: Vec<rows::ProjectTuple> =
            on_pool!(self, pool => sqlx::query_as(SQL).bind(owner).fetch_all(pool).await)?;
        rows.into_iter().map(rows::project).collect()
    }

    /// Creates a session in state `draft` and returns the id the database assigned (1, 2, …).
    /// The settings are stored as their JSON and read back exactly.
    pub async fn insert_session(
        &self,
        name: &str,
        settings: &SessionSettings,
        at_ms: i64,
    ) -> Result<SessionId> {
        self.insert_session_remembered(name, settings, at_ms, |_| None)
            .await
    }

    /// [`Store::insert_session`], remembering in the same transaction the response that
    /// `remember` makes for the new id (the reply to a request with an idempotency key), so that
    /// a crash never leaves a session whose request a retry would run again.
    pub async fn insert_session_remembered(
        &self,
        name: &str,
        settings: &SessionSettings,
        at_ms: i64,
        remember: impl FnOnce(SessionId) -> Option<StoredResponse>,
    ) -> Result<SessionId> {
        const SQL: &str = "INSERT INTO sessions (name, settings, state, created_at_ms) \
                           VALUES ($1, $2, $3, $4) RETURNING id";
        let settings = serde_json::to_string(settings)
            .map_err(|e| rows::corrupt("sessions", format!("session {name:?}: settings: {e}")))?;
        macro_rules! write {
            ($pool:expr) => {{
                let mut tx = $pool.begin_with(self.begin_write()).await?;
                let (id,): (i64,) = sqlx::query_as(SQL)
                    .bind(name)
                    .bind(settings.as_str())
                    .bind(SessionState::Draft.as_str())
                    .bind(at_ms)
                    .fetch_one(&mut *tx)
                    .await?;
                let id = SessionId(
                    u64::try_from(id)
                        .map_err(|_| rows::corrupt("sessions", format!("assigned id {id}")))?,
                );
                if let Some(r) = remember(id) {
                    remember_in!(tx, &r);
                }
                tx.commit().await?;
                Ok(id)
            }};
        }
        match &self.pool {
            Pool::Sqlite(pool, _) => write!(pool),
            Pool::Postgres(pool) => write!(pool),
        }
    }

    /// Every session, by id, with its settings decoded (a row that does not decode is
    /// [`StoreError::Corrupt`]).
    pub async fn sessions(&self) -> Result<Vec<SessionRow>> {
        const SQL: &str =
            "SELECT id, name, settings, state, created_at_ms FROM sessions ORDER BY id";
        let rows: Vec<rows::SessionTuple> =
            on_pool!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        rows.into_iter().map(rows::session).collect()
    }

    /// Writes a group commit in one transaction: every journal entry, order and contract, the
    /// session's new state if it changed, and every response to remember (a key already
    /// remembered keeps its first response). Either everything is written or nothing is.
    ///
    /// A sequence number, order id or contract id already stored for the session, or given
    /// twice in the batch, is [`StoreError::Conflict`] (`journal entry 3 of session S1`,
    /// `order O7 of session S1`, `contract C2 of session S1`); an unknown session is
    /// [`StoreError::Missing`] (`session S9`). A contract of another session than the batch's is
    /// refused as [`StoreError::Corrupt`].
    pub async fn append(&self, batch: &Batch) -> Result<()> {
        append::append(self, batch).await
    }

    /// Every journal entry of a session, by seq, with its command decoded (an entry that does
    /// not decode is [`StoreError::Corrupt`] naming its seq). An unknown session has none.
    pub async fn journal(&self, session: SessionId) -> Result<Vec<JournalEntry>> {
        const SQL: &str =
            "SELECT seq, at_ms, command FROM journal WHERE session_id = $1 ORDER BY seq";
        let id = to_db(session.0, "session id")?;
        let rows: Vec<rows::JournalTuple> =
            on_pool!(self, pool => sqlx::query_as(SQL).bind(id).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|row| rows::journal_entry(session, row))
            .collect()
    }

    /// The response remembered for a participant's idempotency key, if any.
    pub async fn idempotent(
        &self,
        participant: ParticipantId,
        key: &str,
    ) -> Result<Option<StoredResponse>> {
        const SQL: &str = "SELECT status, body, request_sha256 FROM idempotency WHERE participant_id = $1 AND key = $2";
        let participant_id = to_db(participant.0, "participant id")?;
        let row: Option<rows::ResponseTuple> = on_pool!(self, pool => sqlx::query_as(SQL)
            .bind(participant_id)
            .bind(key)
            .fetch_optional(pool)
            .await)?;
        row.map(|row| rows::response(participant, key, row))
            .transpose()
    }

    /// [`Store::idempotent`] for several keys in one query: the reply remembered for each
    /// (participant, key), in the order asked. At most [`MAX_KEYS_PER_LOOKUP`] keys.
    ///
    /// The server looks up the keys of concurrent requests together (one round trip instead
    /// of one per request: on SQLite each is a hop to the connection's thread and back).
    pub async fn idempotent_many(
        &self,
        keys: &[(ParticipantId, String)],
    ) -> Result<Vec<Option<StoredResponse>>> {
        assert!(
            keys.len() <= MAX_KEYS_PER_LOOKUP,
            "at most {MAX_KEYS_PER_LOOKUP} keys per lookup, not {}",
            keys.len()
        );
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = String::from(
            "SELECT participant_id, key, status, body, request_sha256 FROM idempotency WHERE ",
        );
        for i in 0..keys.len() {
            if i > 0 {
                sql.push_str(" OR ");
            }
            sql.push_str(&format!(
                "(participant_id = ${} AND key = ${})",
                2 * i + 1,
                2 * i + 2
            ));
        }
        let ids = keys
            .iter()
            .map(|(p, _)| to_db(p.0, "participant id"))
            .collect::<Result<Vec<i64>>>()?;
        let rows: Vec<rows::KeyedResponseTuple> = on_pool!(self, pool => {
            let mut query = sqlx::query_as(AssertSqlSafe(sql.as_str()));
            for (id, (_, key)) in ids.iter().zip(keys) {
                query = query.bind(*id).bind(key.as_str());
            }
            query.fetch_all(pool).await
        })?;
        let found: HashMap<(i64, String), rows::ResponseTuple> = rows
            .into_iter()
            .map(|(p, k, status, body, request)| ((p, k), (status, body, request)))
            .collect();
        ids.iter()
            .zip(keys)
            .map(|(id, (participant, key))| {
                found
                    .get(&(*id, key.clone()))
                    .map(|row| rows::response(*participant, key, row.clone()))
                    .transpose()
            })
            .collect()
    }

    /// Forgets the responses remembered before `cutoff_ms` (wall clock), so that the table is
    /// bounded by the traffic of the retention period and old replies (which may hold a token
    /// shown once) do not stay; returns how many were forgotten.
    pub async fn forget_idempotent_before(&self, cutoff_ms: i64) -> Result<u64> {
        const SQL: &str = "DELETE FROM idempotency WHERE created_at_ms < $1";
        on_pool!(self, pool => sqlx::query(SQL)
            .bind(cutoff_ms)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(StoreError::from)
    }

    /// Remembers a response for a participant's idempotency key. A key already remembered keeps
    /// its first response: this one is dropped without error. The row's `created_at_ms` is the
    /// wall clock's (for expiring old keys), not a market time.
    pub async fn remember(&self, response: &StoredResponse) -> Result<()> {
        const SQL: &str = REMEMBER;
        let participant_id = to_db(response.participant.0, "participant id")?;
        on_pool!(self, pool => sqlx::query(SQL)
            .bind(participant_id)
            .bind(response.key.as_str())
            .bind(i64::from(response.status))
            .bind(response.body.as_str())
            .bind(wall_clock_ms())
            .bind(response.request.as_ref().map(|h| h.as_slice()))
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Logs a read of sealed data by a participant (regulators' reads are all logged).
    pub async fn log_access(
        &self,
        participant: ParticipantId,
        at_ms: i64,
        what: &str,
    ) -> Result<()> {
        const SQL: &str =
            "INSERT INTO access_log (participant_id, at_ms, what) VALUES ($1, $2, $3)";
        let participant_id = to_db(participant.0, "participant id")?;
        on_pool!(self, pool => sqlx::query(SQL)
            .bind(participant_id)
            .bind(at_ms)
            .bind(what)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// The whole access log, in the order it was written.
    pub async fn access_log(&self) -> Result<Vec<AccessRow>> {
        const SQL: &str = "SELECT participant_id, at_ms, what FROM access_log ORDER BY id";
        let rows: Vec<rows::AccessTuple> =
            on_pool!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        rows.into_iter().map(rows::access).collect()
    }

    /// Every contract a session made, by id.
    pub async fn contracts(&self, session: SessionId) -> Result<Vec<Contract>> {
        const SQL: &str = "SELECT session_id, id, seller, buyer, volumes, energy_price, env_price, \
                           compensation, status, created_at_ms, corridor \
                           FROM contracts WHERE session_id = $1 ORDER BY id";
        let id = to_db(session.0, "session id")?;
        let rows: Vec<rows::ContractTuple> =
            on_pool!(self, pool => sqlx::query_as(SQL).bind(id).fetch_all(pool).await)?;
        rows.into_iter().map(rows::contract).collect()
    }

    /// Every order a session accepted, by id.
    pub async fn orders(&self, session: SessionId) -> Result<Vec<Order>> {
        const SQL: &str = "SELECT id, participant_id, side, period, volume_kwh, energy_price, \
                           env_price, time_in_force, submitted_at_ms \
                           FROM orders WHERE session_id = $1 ORDER BY id";
        let id = to_db(session.0, "session id")?;
        let rows: Vec<rows::OrderTuple> =
            on_pool!(self, pool => sqlx::query_as(SQL).bind(id).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|row| rows::order(session, row))
            .collect()
    }

    /// The statement that starts a write transaction: on SQLite it takes the write lock at once
    /// (waiting up to the busy timeout), so a transaction never fails half-way for want of it.
    fn begin_write(&self) -> &'static str {
        match self.backend() {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }
}

/// Options for a `postgres://` or `postgresql://` URL; any other URL is [`StoreError::BadUrl`].
fn postgres_options(url: &str) -> Result<PgConnectOptions> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(StoreError::BadUrl(url.to_owned()));
    }
    Ok(PgConnectOptions::from_str(url)?)
}

/// A `postgres://` URL with its database replaced by `name`, keeping the user, host, port and
/// query parameters.
fn with_database(url: &str, name: &str) -> String {
    let (head, query) = url.split_at(url.find('?').unwrap_or(url.len()));
    let authority_start = head.find("://").map_or(0, |i| i + 3);
    let path_start = head[authority_start..]
        .find('/')
        .map_or(head.len(), |i| authority_start + i);
    format!("{}/{name}{query}", &head[..path_start])
}

/// Refuses a schema or database name that would need quoting.
fn check_name(url: &str, schema: &str) -> Result<()> {
    let mut chars = schema.chars();
    let ok = schema.len() <= 63
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::BadUrl(format!(
            "{url} with name {schema:?} (a schema or database name is lower-case letters, digits and _)"
        )))
    }
}

/// Maps a constraint violation to the error `explain` gives for its kind, or keeps the database
/// error as it is.
/// Inserts a participant only when its name is free, returning its id. Rather than letting the
/// unique index refuse the row, this keeps PostgreSQL from spending a sequence value on a
/// refused name, so ids are dense and the same on both backends.
const INSERT_PARTICIPANT: &str = "INSERT INTO participants (name, role, province, created_at_ms) \
                                  SELECT $1, $2, $3, $4 \
                                  WHERE NOT EXISTS (SELECT 1 FROM participants WHERE name = $1) \
                                  RETURNING id";

/// Inserts a token.
const INSERT_TOKEN: &str = "INSERT INTO tokens (token_hash, participant_id, label, created_at_ms) \
                            VALUES ($1, $2, $3, $4)";

/// The participant [`INSERT_PARTICIPANT`] registered, or the conflict of its taken name (no id).
fn registered(new: &NewParticipant, id: Option<(i64,)>) -> Result<Participant> {
    let (id,) = id.ok_or_else(|| name_taken(new))?;
    let id = u64::try_from(id)
        .map_err(|_| rows::corrupt("participants", format!("assigned id {id}")))?;
    Ok(Participant {
        id: ParticipantId(id),
        name: new.name.clone(),
        role: new.role,
        province: new.province.clone(),
    })
}

fn name_taken(new: &NewParticipant) -> StoreError {
    StoreError::Conflict {
        what: format!("participant name {:?}", new.name),
    }
}

/// What a refused [`INSERT_PARTICIPANT`] means.
fn name_refusal(error: sqlx::Error, new: &NewParticipant) -> StoreError {
    violation(error, |kind| {
        (kind == ErrorKind::UniqueViolation).then(|| name_taken(new))
    })
}

/// What a refused [`INSERT_TOKEN`] means.
fn token_refusal(error: sqlx::Error, participant: ParticipantId) -> StoreError {
    violation(error, |kind| match kind {
        ErrorKind::ForeignKeyViolation => Some(StoreError::Missing {
            what: format!("participant {participant}"),
        }),
        ErrorKind::UniqueViolation => Some(StoreError::Conflict {
            what: "token hash".to_owned(),
        }),
        _ => None,
    })
}

fn violation(
    error: sqlx::Error,
    explain: impl FnOnce(ErrorKind) -> Option<StoreError>,
) -> StoreError {
    let explained = match &error {
        sqlx::Error::Database(db) => explain(db.kind()),
        _ => None,
    };
    explained.unwrap_or(StoreError::Database(error))
}

/// Remembers a response for an idempotency key; a key already remembered keeps its first.
pub(crate) const REMEMBER: &str = "INSERT INTO idempotency (participant_id, key, status, body, created_at_ms, request_sha256) \
                                   VALUES ($1, $2, $3, $4, $5, $6) \
                                   ON CONFLICT (participant_id, key) DO NOTHING";

/// Milliseconds since the Unix epoch by the wall clock, for bookkeeping columns only.
pub(crate) fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
