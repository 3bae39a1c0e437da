//! Unit tests of what the public API cannot reach: how connections are configured, how
//! placeholders bind, and that the schema refuses what it must.

use std::path::PathBuf;

use domain::SessionId;
use exchange::session::SessionState;

use super::*;

/// A migrated store on a fresh SQLite file, and the file's path.
async fn sqlite(test: &str) -> (Store, PathBuf) {
    let (store, path) = sqlite_unmigrated(test).await;
    store.migrate().await.unwrap();
    (store, path)
}

/// A store on a fresh SQLite file without any table yet, and the file's path.
async fn sqlite_unmigrated(test: &str) -> (Store, PathBuf) {
    let path = std::env::temp_dir().join(format!(
        "lvdian-store-unit-{}-{test}.db",
        std::process::id()
    ));
    remove(&path);
    let store = Store::connect(&format!("sqlite:{}", path.display()))
        .await
        .unwrap();
    (store, path)
}

fn remove(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.to_owned().into_os_string();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

/// What to remove when a test is done.
enum Cleanup {
    File(PathBuf),
    Schema { url: String, schema: String },
}

impl Cleanup {
    async fn run(self) {
        match self {
            Cleanup::File(path) => remove(&path),
            Cleanup::Schema { url, schema } => {
                Store::drop_postgres_schema(&url, &schema).await.unwrap()
            }
        }
    }
}

/// The SQLite store and, when `LVDIAN_TEST_DATABASE_URL` is set, a PostgreSQL one in its own
/// schema, each with what to remove afterwards.
async fn both(test: &str) -> Vec<(Store, Cleanup)> {
    let stores = both_unmigrated(test).await;
    for (store, _) in &stores {
        store.migrate().await.unwrap();
    }
    stores
}

/// [`both`] without any table yet.
async fn both_unmigrated(test: &str) -> Vec<(Store, Cleanup)> {
    let (store, path) = sqlite_unmigrated(test).await;
    let mut stores = vec![(store, Cleanup::File(path))];
    if let Some(url) = crate::testing::database_url() {
        let schema = format!("lvdian_unit_{}_{test}", std::process::id());
        Store::drop_postgres_schema(&url, &schema).await.unwrap();
        let store = Store::connect_postgres_schema(&url, &schema).await.unwrap();
        stores.push((store, Cleanup::Schema { url, schema }));
    }
    stores
}

#[tokio::test]
async fn sqlite_connections_are_durable_and_checked() {
    let (store, path) = sqlite("pragmas").await;
    let Pool::Sqlite(pool, _) = &store.pool else {
        unreachable!()
    };
    let mode: (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .unwrap();
    let synchronous: (i64,) = sqlx::query_as("PRAGMA synchronous")
        .fetch_one(pool)
        .await
        .unwrap();
    let foreign_keys: (i64,) = sqlx::query_as("PRAGMA foreign_keys")
        .fetch_one(pool)
        .await
        .unwrap();
    let busy_timeout: (i64,) = sqlx::query_as("PRAGMA busy_timeout")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(mode.0, "wal");
    assert_eq!(synchronous.0, 2, "synchronous=FULL");
    assert_eq!(foreign_keys.0, 1);
    assert_eq!(busy_timeout.0, 5_000);
    assert_eq!(store.backend(), Backend::Sqlite);
    store.close().await;
    remove(&path);
}

/// Group commits go through a connection of their own that never checkpoints, and the store's
/// task copies what they wrote from the WAL into the database file.
#[tokio::test]
async fn group_commits_leave_checkpoints_to_the_store_task() {
    let (store, path) = sqlite("checkpoints").await;
    let Pool::Sqlite(pool, writer) = &store.pool else {
        unreachable!()
    };
    let commits = &writer.commits;
    let pragma = |name: &'static str, pool: &SqlitePool| {
        let pool = pool.clone();
        async move {
            let (value,): (i64,) = sqlx::query_as(AssertSqlSafe(format!("PRAGMA {name}")))
                .fetch_one(&pool)
                .await
                .unwrap();
            value
        }
    };
    assert_eq!(pragma("wal_autocheckpoint", commits).await, 0);
    assert_eq!(pragma("temp_store", commits).await, 2, "temp_store=memory");
    assert_eq!(pragma("synchronous", commits).await, 2, "synchronous=FULL");
    assert_eq!(pragma("wal_autocheckpoint", pool).await, 1_000);

    let id = store.insert_session("s", &settings(), 0).await.unwrap();
    // Let the task copy what migrating and the session wrote, then measure the file.
    tokio::time::sleep(writer::INTERVAL * 2).await;
    let size = || std::fs::metadata(&path).unwrap().len();
    let before = size();
    for group in 0..20 {
        store
            .append(&Batch {
                session: id,
                entries: (1..=100)
                    .map(|n| JournalEntry {
                        seq: group * 100 + n,
                        at_ms: 5,
                        command: Command::Announce,
                    })
                    .collect(),
                ..Batch::new(id)
            })
            .await
            .unwrap();
    }
    let deadline = std::time::Instant::now() + writer::INTERVAL * 10;
    while size() == before {
        assert!(
            std::time::Instant::now() < deadline,
            "the WAL was not checkpointed"
        );
        tokio::time::sleep(writer::INTERVAL / 10).await;
    }
    assert_eq!(store.journal(id).await.unwrap().len(), 2_000);
    store.close().await;
    remove(&path);
}

/// SQLite binds `$N` by its number, not by where it appears: reused and reordered placeholders
/// get the right values (the store's SQL relies on it, e.g. `$1` twice in insert_participant).
#[tokio::test]
async fn numbered_placeholders_bind_by_number() {
    for (store, cleanup) in both("placeholders").await {
        let row: (i64, String, i64, String) = on_pool!(store, pool => {
            sqlx::query_as("SELECT $3, $2, $1, $2")
                .bind(1_i64)
                .bind("two")
                .bind(3_i64)
                .fetch_one(pool)
                .await
                .unwrap()
        });
        assert_eq!(row, (3, "two".to_owned(), 1, "two".to_owned()));
        store.close().await;
        cleanup.run().await;
    }
}

#[tokio::test]
async fn the_journal_is_append_only() {
    for (store, cleanup) in both("append_only").await {
        let id = store.insert_session("s", &settings(), 0).await.unwrap();
        store
            .append(&Batch {
                session: id,
                entries: vec![JournalEntry {
                    seq: 1,
                    at_ms: 5,
                    command: Command::Announce,
                }],
                state: Some(SessionState::Announced),
                orders: vec![],
                contracts: vec![],
                responses: vec![],
            })
            .await
            .unwrap();
        for sql in [
            "UPDATE journal SET at_ms = 6",
            "DELETE FROM journal",
            "UPDATE journal SET command = '{\"command\":\"open\"}' WHERE seq = 1",
        ] {
            let refused = on_pool!(store, pool => sqlx::query(sql).execute(pool).await.map(drop));
            let message = refused.unwrap_err().to_string();
            assert!(
                message.contains("journal is append-only"),
                "{sql}: {message}"
            );
        }
        assert_eq!(
            store.journal(id).await.unwrap(),
            vec![JournalEntry {
                seq: 1,
                at_ms: 5,
                command: Command::Announce,
            }]
        );
        store.close().await;
        cleanup.run().await;
    }
}

#[tokio::test]
async fn corrupt_rows_are_named() {
    for (store, cleanup) in both("corrupt").await {
        let id = store.insert_session("s", &settings(), 0).await.unwrap();
        assert_eq!(id, SessionId(1));
        on_pool!(store, pool => {
            sqlx::query(
                "INSERT INTO journal (session_id, seq, at_ms, command) VALUES \
                 (1, 1, 0, '{\"command\":\"open\"}'), (1, 2, 0, '{\"command\":\"fly\"}')",
            )
            .execute(pool)
            .await
            .unwrap();
            sqlx::query("UPDATE sessions SET state = 'dormant'")
                .execute(pool)
                .await
                .unwrap();
            sqlx::query(
                "INSERT INTO participants (name, role, province, created_at_ms) \
                 VALUES ('X', 'king', 'ZJ', 0)",
            )
            .execute(pool)
            .await
            .unwrap();
        });
        let journal = store.journal(id).await.unwrap_err();
        assert!(
            matches!(&journal, StoreError::Corrupt { table: "journal", reason }
                if reason.starts_with("session S1 seq 2: command: unknown variant `fly`")),
            "{journal:?}"
        );
        let sessions = store.sessions().await.unwrap_err();
        assert_eq!(
            sessions.to_string(),
            "corrupt row in sessions: session 1: unknown state \"dormant\""
        );
        let participants = store.participants().await.unwrap_err();
        assert_eq!(
            participants.to_string(),
            "corrupt row in participants: participant 1: role: unknown role `king`"
        );
        store.close().await;
        cleanup.run().await;
    }
}

/// The network registry's table refuses what no corridor can be, whatever its caller checked:
/// a province joined to itself, a negative capacity or tariff, a loss of 100 % or more, and (on
/// SQLite, a STRICT table) a fraction of a kWh.
#[tokio::test]
async fn the_corridor_table_refuses_bad_values() {
    for (store, cleanup) in both("corridor_checks").await {
        store
            .insert_participant(
                &NewParticipant {
                    name: "op".to_owned(),
                    role: Role::Operator,
                    province: Province::parse("ZJ").unwrap(),
                },
                0,
            )
            .await
            .unwrap();
        const INSERT: &str = "INSERT INTO corridors \
             (from_province, to_province, capacity_kwh, loss, tariff, updated_at_ms, updated_by) \
             VALUES ";
        let mut refused = vec![
            "('ZJ', 'ZJ', 1, 0, 0, 0, 1)",
            "('QH', 'ZJ', -1, 0, 0, 0, 1)",
            "('QH', 'ZJ', 1, 10000, 0, 0, 1)",
            "('QH', 'ZJ', 1, -1, 0, 0, 1)",
            "('QH', 'ZJ', 1, 0, -1, 0, 1)",
        ];
        if store.backend() == Backend::Sqlite {
            refused.push("('QH', 'ZJ', 1.5, 0, 0, 0, 1)");
        }
        for values in refused {
            let sql = format!("{INSERT}{values}");
            let result = on_pool!(store, pool => sqlx::query(AssertSqlSafe(sql.clone()))
                .execute(pool)
                .await
                .map(drop));
            assert!(result.is_err(), "{sql} was accepted");
        }
        assert_eq!(store.corridors().await.unwrap(), vec![]);
        store.close().await;
        cleanup.run().await;
    }
}

/// Meter months stored before migration 0010, in packings 0 and 1, come through it (on SQLite
/// the table is copied to change its CHECK) and read back beside the packing 2 written now; the
/// table refuses any other packing, and a blob that does not decode is named.
#[tokio::test]
async fn meter_months_of_every_packing_come_through_migration_0010() {
    for (store, cleanup) in both_unmigrated("packings").await {
        match &store.pool {
            Pool::Sqlite(pool, _) => SQLITE_MIGRATIONS.run_to(9, pool).await.unwrap(),
            Pool::Postgres(pool) => POSTGRES_MIGRATIONS.run_to(9, pool).await.unwrap(),
        }
        const INSERT: &str = "INSERT INTO meter_months \
             (meter, month, version, participant, intervals, total_kwh, kwh, imported_at_ms, packing) \
             VALUES ($1, '2024-02', 1, 'G1', 3, 19, $2, 0, $3)";
        let insert = async |meter: &str, kwh: &[u8], packing: i64| {
            on_pool!(store, pool => sqlx::query(INSERT)
                .bind(meter)
                .bind(kwh)
                .bind(packing)
                .execute(pool)
                .await
                .map(drop))
        };
        let first: Vec<u8> = [5i64, 7, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
        insert("M0", &first, 0).await.unwrap();
        insert("M1", &[10, 4, 0], 1).await.unwrap(); // 5, +2, +0
        assert!(
            insert("M9", &[20, 4, 0], 2).await.is_err(),
            "0009 allows 0 and 1 only"
        );
        store.migrate().await.unwrap();

        let month = |meter: &str, kwh: Vec<i64>| MeterMonth {
            meter: meter.into(),
            month: "2024-02".into(),
            participant: "G1".into(),
            kwh,
        };
        let zeros = month("M2", vec![0; 2976]);
        store
            .put_meter_months(std::slice::from_ref(&zeros), 1)
            .await
            .unwrap();
        assert_eq!(
            store.meter_months("2024-02").await.unwrap(),
            vec![
                (month("M0", vec![5, 7, 7]), 1),
                (month("M1", vec![5, 7, 7]), 1),
                (zeros, 1)
            ]
        );
        const PACKINGS: &str =
            "SELECT meter, packing, length(kwh) FROM meter_months ORDER BY meter";
        let packings: Vec<(String, i64, i32)> =
            on_pool!(store, pool => sqlx::query_as(PACKINGS).fetch_all(pool).await.unwrap());
        let expected = [("M0", 0, 24), ("M1", 1, 3), ("M2", 2, 2)];
        let expected: Vec<(String, i64, i32)> = expected
            .iter()
            .map(|&(m, p, n)| (m.to_owned(), p, n))
            .collect();
        assert_eq!(packings, expected);
        assert!(insert("M3", &[20], 3).await.is_err(), "packing 3");
        assert!(insert("M0", &[20], 2).await.is_err(), "the key survives");
        insert("M3", &[20, 4, 1], 2).await.unwrap();

        const DAMAGE: &str = "UPDATE meter_months SET kwh = $1 WHERE meter = 'M3'";
        on_pool!(store, pool => sqlx::query(DAMAGE)
            .bind(&[20u8, 5][..])
            .execute(pool)
            .await
            .map(drop))
        .unwrap();
        let e = store.meter_months("2024-02").await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "corrupt row in meter_months: meter \"M3\": a run of 4 values where 2 of the row's 3 \
             are left"
        );
        store.close().await;
        cleanup.run().await;
    }
}

#[test]
fn inserts_stay_under_the_variable_limits() {
    use crate::append::rows_per_insert;
    assert_eq!(rows_per_insert(4, 32_766), 1_000);
    assert_eq!(rows_per_insert(10, 65_535), 1_000);
    assert_eq!(rows_per_insert(100, 32_766), 327);
    assert!(rows_per_insert(100, 32_766) * 100 <= 32_766);
}

fn settings() -> SessionSettings {
    use domain::{Kwh, PeriodTemplate, Price, Province};
    use exchange::session::{BidOn, DeliveryWindow, Horizon, Mode, Scope, YearMonth};
    let march = YearMonth::new(2025, 3).unwrap();
    SessionSettings {
        scope: Scope::Intra(Province::parse("ZJ").unwrap()),
        horizon: Horizon::Month,
        mode: Mode::Rolling,
        delivery: DeliveryWindow {
            first_month: march,
            last_month: march,
        },
        template: PeriodTemplate::Hours,
        energy_price_min: Price(30_000),
        energy_price_max: Price(50_000),
        env_price_cap: None,
        lot: Kwh(1_000),
        bid_on: BidOn::Total,
        compensation: Price(5_000),
        corridors: Vec::new(),
    }
}

#[test]
fn database_names_replace_the_path_only() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "lvdian_x"),
        "postgres://postgres@127.0.0.1:5432/lvdian_x"
    );
    assert_eq!(
        with_database("postgresql://u:p%2Fw@db:5432?sslmode=disable", "b"),
        "postgresql://u:p%2Fw@db:5432/b?sslmode=disable"
    );
    assert_eq!(
        with_database("postgres://db/a?application_name=x/y", "b"),
        "postgres://db/b?application_name=x/y"
    );
}
