//! Connecting, migrating, and what survives closing and reopening the database.

use domain::{ParticipantId, Project, ProjectCode, Role, SessionId, Side, Technology};
use exchange::session::SessionState;
use store::{Backend, Batch, Store, StoreError};

use crate::Db;
use crate::fixtures::{
    contract, elaborate_settings, empty_batch, every_kind_of_command, new_participant, order,
    province, response,
};

crate::on_both_backends!(migrations_run_twice, reopening_keeps_everything);

async fn migrations_run_twice(db: &mut Db) {
    let expected = match db.name() {
        "sqlite" => Backend::Sqlite,
        _ => Backend::Postgres,
    };
    assert_eq!(db.store.backend(), expected);
    // Db::sqlite and Db::postgres migrated once already.
    db.store.migrate().await.unwrap();
    db.store.migrate().await.unwrap();
    let p = db
        .store
        .insert_participant(&new_participant("G1", Role::Generator, "ZJ"), 1)
        .await
        .unwrap();
    assert_eq!(p.id, ParticipantId(1));
    // Migrating a database with rows in it changes nothing.
    db.reopen().await;
    db.store.migrate().await.unwrap();
    assert_eq!(db.store.participants().await.unwrap(), vec![p]);
}

async fn reopening_keeps_everything(db: &mut Db) {
    let s = &db.store;
    let g = s
        .insert_participant(&new_participant("G1", Role::Generator, "ZJ"), 10)
        .await
        .unwrap();
    s.insert_participant(&new_participant("U1", Role::User, "ZJ"), 11)
        .await
        .unwrap();
    s.insert_token(g.id, &[0xab; 32], "laptop", 12)
        .await
        .unwrap();
    let project = Project {
        code: ProjectCode::parse("33010000000000001").unwrap(),
        technology: Technology::WindOnshore,
        capacity_kw: 100_000,
        province: province("ZJ"),
        owner: g.id,
        subsidised: true,
        meters: vec!["M1".to_owned()],
    };
    s.insert_project(&project, 13).await.unwrap();
    let id = s
        .insert_session("year", &elaborate_settings(), 14)
        .await
        .unwrap();
    let entries = every_kind_of_command(1);
    let orders = vec![
        order(3, 1, Side::Sell, 1, 10_000),
        order(4, 2, Side::Buy, 2, 1_000),
    ];
    let contracts = vec![contract(id, 1, 1, 2)];
    s.append(&Batch {
        entries: entries.clone(),
        state: Some(SessionState::Cleared),
        orders: orders.clone(),
        contracts: contracts.clone(),
        responses: vec![response(2, "k", 201, "{\"ok\":true}")],
        ..empty_batch(id)
    })
    .await
    .unwrap();
    s.log_access(ParticipantId(2), 15, "GET /api/v1/sessions/1/orders")
        .await
        .unwrap();

    let participants = s.participants().await.unwrap();
    let sessions = s.sessions().await.unwrap();
    let log = s.access_log().await.unwrap();
    db.reopen().await;
    let s = &db.store;

    assert_eq!(s.participants().await.unwrap(), participants);
    assert_eq!(s.participant_by_token(&[0xab; 32]).await.unwrap(), Some(g));
    assert_eq!(s.projects().await.unwrap(), vec![project]);
    assert_eq!(sessions[0].state, SessionState::Cleared);
    assert_eq!(sessions[0].settings, elaborate_settings());
    assert_eq!(s.sessions().await.unwrap(), sessions);
    assert_eq!(s.journal(id).await.unwrap(), entries);
    assert_eq!(s.orders(id).await.unwrap(), orders);
    assert_eq!(s.contracts(id).await.unwrap(), contracts);
    assert_eq!(
        s.idempotent(ParticipantId(2), "k").await.unwrap(),
        Some(response(2, "k", 201, "{\"ok\":true}"))
    );
    assert_eq!(s.access_log().await.unwrap(), log);
    assert_eq!(log.len(), 1);

    // Ids keep counting from where they were.
    let next = s
        .insert_session("next", &elaborate_settings(), 16)
        .await
        .unwrap();
    assert_eq!(next, SessionId(2));
}

fn assert_bad_url(result: Result<Store, StoreError>, expected: &str) {
    match result {
        Err(StoreError::BadUrl(url)) => assert_eq!(url, expected),
        Err(other) => panic!("expected BadUrl({expected:?}), got {other:?}"),
        Ok(_) => panic!("expected BadUrl({expected:?}), got a store"),
    }
}

#[tokio::test]
async fn bad_urls_are_refused() {
    assert_bad_url(
        Store::connect("mysql://root@localhost/db").await,
        "mysql://root@localhost/db",
    );
    assert_bad_url(Store::connect("").await, "");
    assert_bad_url(Store::connect("sqlite:").await, "sqlite:");
    assert_bad_url(Store::connect("sqlite://").await, "sqlite://");
    assert_bad_url(Store::connect("/tmp/lvdian.db").await, "/tmp/lvdian.db");
    assert_bad_url(
        Store::connect("postgres:/missing-slash").await,
        "postgres:/missing-slash",
    );
    assert_bad_url(
        Store::connect_postgres_schema("sqlite:x.db", "s").await,
        "sqlite:x.db",
    );
    assert_bad_url(
        Store::connect_postgres_schema("postgres://u@127.0.0.1:1/db", "Bad-Name").await,
        "postgres://u@127.0.0.1:1/db with name \"Bad-Name\" (a schema or database name is lower-case letters, digits and _)",
    );
    let e = Store::drop_postgres_schema("https://example.invalid", "s")
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "unsupported database URL `https://example.invalid`: use sqlite:PATH or postgres://..."
    );
}

/// A whole database rather than a schema, as benchmarks use: created, migrated, used, dropped.
#[tokio::test]
async fn postgres_databases_come_and_go() {
    let Ok(base) = std::env::var(crate::DATABASE_URL_VAR) else {
        println!("skipped: {} not set", crate::DATABASE_URL_VAR);
        return;
    };
    let name = format!("lvdian_store_it_{}", std::process::id());
    Store::drop_postgres_database(&base, &name).await.unwrap();
    let url = Store::create_postgres_database(&base, &name).await.unwrap();
    assert!(url.ends_with(&format!("/{name}")), "{url}");
    // Creating it again is harmless.
    assert_eq!(
        Store::create_postgres_database(&base, &name).await.unwrap(),
        url
    );

    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let p = store
        .insert_participant(&new_participant("G1", Role::Generator, "ZJ"), 1)
        .await
        .unwrap();
    assert_eq!(p.id, ParticipantId(1));
    // Dropped while the pool is still connected: FORCE disconnects it.
    Store::drop_postgres_database(&base, &name).await.unwrap();
    assert!(store.participants().await.is_err());
    store.close().await;
    Store::drop_postgres_database(&base, &name).await.unwrap();
}
