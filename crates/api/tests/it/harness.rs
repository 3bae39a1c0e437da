//! A fresh market on a fresh database per test, and calls into it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use api::hub::Clock;
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use store::Store;
use tower::ServiceExt;

/// 2024-03-01T08:00:00+08:00, fixed, so replies are reproducible.
pub const NOW_MS: i64 = 1_709_251_200_000;

struct FixedClock;

impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        NOW_MS
    }
}

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// One test's market.
pub struct Harness {
    pub app: Router,
    /// The state behind `app` (its hub, to reach a session's sequencer directly).
    pub state: api::AppState,
    pub store: Store,
    pub operator: String,
    where_: Where,
}

enum Where {
    Sqlite(std::path::PathBuf),
    Postgres { url: String, schema: String },
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique(name: &str) -> String {
    format!(
        "{name}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl Harness {
    /// A migrated, empty market with one operator, or `None` (printing why) when PostgreSQL is
    /// asked for but not configured.
    pub async fn new(db: Db, name: &str) -> Option<Harness> {
        let (store, where_) = match db {
            Db::Sqlite => {
                let path = std::env::temp_dir().join(format!("lvdian-api-{}.db", unique(name)));
                let store = Store::connect(&format!("sqlite:{}", path.display()))
                    .await
                    .unwrap();
                (store, Where::Sqlite(path))
            }
            Db::Postgres => {
                let url = store::testing::database_url()?;
                let schema = unique(&format!("api_{name}"));
                let store = Store::connect_postgres_schema(&url, &schema).await.unwrap();
                (store, Where::Postgres { url, schema })
            }
        };
        store.migrate().await.unwrap();
        let mut h = Harness::load(store, where_).await;
        let now = NOW_MS;
        let operator = h
            .store
            .insert_participant(
                &store::NewParticipant {
                    name: "浙江电力交易中心".into(),
                    role: domain::Role::Operator,
                    province: domain::Province::parse("ZJ").unwrap(),
                },
                now,
            )
            .await
            .unwrap();
        let token = api::auth::new_token();
        h.store
            .insert_token(operator.id, &api::auth::token_hash(&token), "test", now)
            .await
            .unwrap();
        h.operator = token;
        Some(h)
    }

    async fn load(store: Store, where_: Where) -> Harness {
        let state = api::AppState::load(store.clone(), Arc::new(FixedClock))
            .await
            .unwrap_or_else(|e| panic!("load failed: {}", e.message));
        Harness {
            app: api::router(state.clone()),
            state,
            store,
            operator: String::new(),
            where_,
        }
    }

    /// The same database loaded again, as after a restart.
    pub async fn restart(self) -> Harness {
        let Harness {
            store,
            where_,
            operator,
            ..
        } = self;
        let mut again = Harness::load(store, where_).await;
        again.operator = operator;
        again
    }

    /// Calls the API; returns the status and the JSON body (or the text as a JSON string).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_with(method, path, token, body, None).await
    }

    /// Calls with an `Idempotency-Key`.
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        key: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let request = match body {
            Some(b) => request
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, value)
    }

    /// POST as `token`, expecting `status`; returns the body.
    pub async fn post(&self, path: &str, token: &str, body: Value, status: StatusCode) -> Value {
        let (got, value) = self.call(Method::POST, path, Some(token), Some(body)).await;
        assert_eq!(got, status, "POST {path}: {value}");
        value
    }

    /// GET as `token`, expecting `status`.
    pub async fn get(&self, path: &str, token: Option<&str>, status: StatusCode) -> Value {
        let (got, value) = self.call(Method::GET, path, token, None).await;
        assert_eq!(got, status, "GET {path}: {value}");
        value
    }

    /// Registers a participant; returns (id, token).
    pub async fn participant(&self, name: &str, role: &str) -> (u64, String) {
        let body = self
            .post(
                "/api/v1/participants",
                &self.operator.clone(),
                json!({"name": name, "role": role, "province": "ZJ"}),
                StatusCode::CREATED,
            )
            .await;
        (
            body["participant"]["id"].as_u64().unwrap(),
            body["token"].as_str().unwrap().to_owned(),
        )
    }

    /// Registers the offshore wind project 33010000000000001 of `owner`, metered by `MG1`.
    pub async fn wind_project(&self, owner: u64) {
        self.post(
            "/api/v1/projects",
            &self.operator.clone(),
            json!({"code": "33010000000000001", "technology": "wind_offshore", "capacity_kw": 300000,
                "province": "ZJ", "owner": owner, "meters": ["MG1"]}),
            StatusCode::CREATED,
        )
        .await;
    }

    /// Creates a session of `mode` (and `method`) for March 2024, hours, bounds 332.24–498.36,
    /// lot 0.5 MWh; returns its id.
    pub async fn session(&self, mode: &str, method: Option<&str>) -> u64 {
        let mut body = json!({
            "name": format!("2024年3月 {mode}"), "scope": "intra", "provinces": ["ZJ"], "horizon": "month",
            "mode": mode, "first_month": "2024-03", "last_month": "2024-03",
            "energy_price_min": "332.24", "energy_price_max": "498.36", "lot_mwh": "0.5", "compensation": "50.00"
        });
        if let Some(m) = method {
            body["method"] = json!(m);
        }
        self.post(
            "/api/v1/sessions",
            &self.operator.clone(),
            body,
            StatusCode::CREATED,
        )
        .await["id"]
            .as_u64()
            .unwrap()
    }

    /// Runs lifecycle actions as the operator, each expected to succeed.
    pub async fn actions(&self, session: u64, actions: &[&str]) {
        for action in actions {
            self.post(
                &format!("/api/v1/sessions/{session}/{action}"),
                &self.operator.clone(),
                json!(null),
                StatusCode::OK,
            )
            .await;
        }
    }

    /// Submits orders to a session, each `(token, body)` expected to be accepted.
    pub async fn submit(&self, session: u64, orders: &[(&str, Value)]) {
        let path = format!("/api/v1/sessions/{session}/orders");
        for (token, body) in orders {
            self.post(&path, token, body.clone(), StatusCode::CREATED)
                .await;
        }
    }

    /// Drops the test's database.
    /// A connection to the market's database of its own, beside the store's pools: for a test
    /// that holds a lock while the server writes.
    pub async fn side_connection(&self) -> SideConnection {
        use sqlx::Connection;
        match &self.where_ {
            Where::Sqlite(path) => SideConnection::Sqlite(
                sqlx::SqliteConnection::connect(&format!("sqlite:{}", path.display()))
                    .await
                    .unwrap(),
            ),
            Where::Postgres { url, schema } => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "SET search_path TO \"{schema}\""
                )))
                .execute(&mut conn)
                .await
                .unwrap();
                SideConnection::Postgres(conn)
            }
        }
    }

    pub async fn finish(self) {
        self.store.close().await;
        match self.where_ {
            Where::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Where::Postgres { url, schema } => {
                Store::drop_postgres_schema(&url, &schema).await.unwrap()
            }
        }
    }
}

/// A connection of a test's own to its market's database.
pub enum SideConnection {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl SideConnection {
    /// Runs SQL the test wrote (no parameters), panicking on an error.
    pub async fn execute(&mut self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            SideConnection::Sqlite(conn) => sqlx::raw_sql(sql).execute(conn).await.map(drop),
            SideConnection::Postgres(conn) => sqlx::raw_sql(sql).execute(conn).await.map(drop),
        }
        .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Begins a write transaction: on SQLite it takes the write lock at once.
    pub async fn begin_write(&mut self) {
        match self {
            SideConnection::Sqlite(_) => self.execute("BEGIN IMMEDIATE").await,
            SideConnection::Postgres(_) => self.execute("BEGIN").await,
        }
    }
}

/// Runs an async test body on SQLite and on PostgreSQL (when configured).
#[macro_export]
macro_rules! on_both {
    ($name:ident, $body:path) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(h) =
                    $crate::harness::Harness::new($crate::harness::Db::Sqlite, stringify!($name))
                        .await
                {
                    $body(h).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(h) =
                    $crate::harness::Harness::new($crate::harness::Db::Postgres, stringify!($name))
                        .await
                {
                    $body(h).await;
                }
            }
        }
    };
}

/// `actual` with only the keys `expected` has (through nested objects and arrays), to compare a
/// report against the figures a test writes out while the report carries more.
pub fn only_keys_of(actual: &Value, expected: &Value) -> Value {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => Value::Object(
            e.iter()
                .map(|(k, ev)| {
                    (
                        k.clone(),
                        a.get(k).map_or(Value::Null, |av| only_keys_of(av, ev)),
                    )
                })
                .collect(),
        ),
        (Value::Array(a), Value::Array(e)) if a.len() == e.len() => Value::Array(
            a.iter()
                .zip(e)
                .map(|(av, ev)| only_keys_of(av, ev))
                .collect(),
        ),
        _ => actual.clone(),
    }
}
