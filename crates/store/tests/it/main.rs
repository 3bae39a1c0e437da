//! The store's integration tests: one suite, written once against a [`Store`], run on both
//! backends.
//!
//! Every test is an `async fn(&mut Db)` listed in its module's `on_both_backends!`, which makes
//! two `#[tokio::test]`s of it: `MODULE::sqlite::NAME` on a fresh SQLite file in the temp
//! directory, and `MODULE::postgres::NAME` in a fresh schema of the database named by
//! `LVDIAN_TEST_DATABASE_URL` (skipped, saying so, when the variable is not set). Each test's
//! file or schema is removed when it passes and left behind for inspection when it fails.

mod durability;
mod fixtures;
mod journal;
mod ledger;
mod network;
mod parties;
mod rate;
mod responses;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use store::Store;

/// The variable naming the PostgreSQL database the `postgres` variants run in.
const DATABASE_URL_VAR: &str = "LVDIAN_TEST_DATABASE_URL";

/// Where a test's store lives.
enum Place {
    /// A SQLite file.
    Sqlite { path: PathBuf },
    /// A schema of a PostgreSQL database.
    Postgres { url: String, schema: String },
}

/// A test's own database: a migrated store, and where it lives so it can be reopened and
/// removed.
pub struct Db {
    /// The store, connected and migrated.
    pub store: Store,
    place: Place,
}

impl Db {
    /// A fresh SQLite file for `test`.
    pub async fn sqlite(test: &str) -> Db {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path = std::env::temp_dir().join(format!(
            "lvdian-store-{}-{test}-{nanos}.db",
            std::process::id()
        ));
        let place = Place::Sqlite { path };
        let store = place.open().await;
        Db { store, place }
    }

    /// A fresh schema for `test` in the database of `LVDIAN_TEST_DATABASE_URL`, or `None` (and
    /// a line saying the test is skipped) when the variable is not set.
    pub async fn postgres(test: &str) -> Option<Db> {
        let url = store::testing::database_url()?;
        let schema = format!("lvdian_{}_{test}", std::process::id());
        assert!(schema.len() <= 63, "schema name {schema} is too long");
        Store::drop_postgres_schema(&url, &schema).await.unwrap();
        let place = Place::Postgres { url, schema };
        let store = place.open().await;
        Some(Db { store, place })
    }

    /// Closes the store and opens the same database again, as a restarted server would.
    pub async fn reopen(&mut self) {
        self.store.close().await;
        self.store = self.place.open().await;
    }

    /// Closes the store and removes the database.
    pub async fn finish(self) {
        self.store.close().await;
        match &self.place {
            Place::Sqlite { path } => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Place::Postgres { url, schema } => {
                Store::drop_postgres_schema(url, schema).await.unwrap();
            }
        }
    }

    /// Makes every insert into the ledger fail (a trigger), to inject a failure into a
    /// transaction after its earlier statements ran; [`Db::heal_ledger`] undoes it.
    pub async fn break_ledger(&self) {
        self.raw(
            "CREATE TRIGGER inject_failure BEFORE INSERT ON ledger \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
            "CREATE FUNCTION inject_failure() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$; \
             CREATE TRIGGER inject_failure BEFORE INSERT ON ledger \
             FOR EACH ROW EXECUTE FUNCTION inject_failure()",
        )
        .await;
    }

    /// Removes what [`Db::break_ledger`] made.
    pub async fn heal_ledger(&self) {
        self.raw(
            "DROP TRIGGER inject_failure",
            "DROP TRIGGER inject_failure ON ledger; DROP FUNCTION inject_failure()",
        )
        .await;
    }

    /// Runs SQL of this backend's dialect on the test's database, outside the store.
    async fn raw(&self, sqlite: &str, postgres: &str) {
        use sqlx::Connection;
        match &self.place {
            Place::Sqlite { path } => {
                let mut c =
                    sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                        .await
                        .unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(sqlite))
                    .execute(&mut c)
                    .await
                    .unwrap();
                c.close().await.unwrap();
            }
            Place::Postgres { url, schema } => {
                let mut c = sqlx::PgConnection::connect(url).await.unwrap();
                let sql = format!("SET search_path TO \"{schema}\"; {postgres}");
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut c)
                    .await
                    .unwrap();
                c.close().await.unwrap();
            }
        }
    }

    /// Which backend this is, for printing.
    pub fn name(&self) -> &'static str {
        match self.place {
            Place::Sqlite { .. } => "sqlite",
            Place::Postgres { .. } => "postgres",
        }
    }
}

impl Place {
    /// Connects and migrates.
    async fn open(&self) -> Store {
        let store = match self {
            Place::Sqlite { path } => Store::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap(),
            Place::Postgres { url, schema } => {
                Store::connect_postgres_schema(url, schema).await.unwrap()
            }
        };
        store.migrate().await.unwrap();
        store
    }
}

/// Makes a `sqlite` and a `postgres` test of each `async fn NAME(db: &mut Db)` listed.
#[macro_export]
macro_rules! on_both_backends {
    ($($test:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    let mut db = $crate::Db::sqlite(stringify!($test)).await;
                    super::$test(&mut db).await;
                    db.finish().await;
                }
            )+
        }

        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    let Some(mut db) = $crate::Db::postgres(stringify!($test)).await else {
                        return;
                    };
                    super::$test(&mut db).await;
                    db.finish().await;
                }
            )+
        }
    };
}
