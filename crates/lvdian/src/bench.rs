//! `lvdian bench http`: acknowledged orders per second over HTTP on loopback.
//!
//! Starts the real server in this process on 127.0.0.1 (a real TCP listener, the real router,
//! the real store), opens a call-auction session, and lets `clients` concurrent HTTP clients
//! send `orders` orders — in batches of `batch` through `/orders/batch`, or one per request when
//! `batch` is 1. An order counts once its reply has arrived, which is after its group commit.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use api::hub::SystemClock;
use serde_json::{Value, json};
use store::Store;

use crate::loadtest::{Api, SessionKind, open_market};

/// What to run.
pub struct HttpBench {
    /// `sqlite` (a fresh temporary file), `postgres` (a fresh database on the server of
    /// `LVDIAN_TEST_DATABASE_URL` or postgres://postgres@127.0.0.1:5432/test), or a full URL to
    /// use as is.
    pub database: String,
    /// Orders in all.
    pub orders: usize,
    /// Concurrent clients.
    pub clients: usize,
    /// Orders per request (1 = the single-order route).
    pub batch: usize,
}

/// Runs the benchmark and prints one result line.
pub fn run(bench: &HttpBench) -> Result<()> {
    if bench.clients == 0 || bench.batch == 0 || bench.orders < bench.clients {
        bail!("--clients and --batch must be positive and --orders at least --clients");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let scratch = ScratchDatabase::create(&bench.database, "bench").await?;
        let result = measure(bench, &scratch.url).await;
        scratch.remove().await;
        result
    })
}

/// A database for one run: a fresh SQLite file or PostgreSQL database, removed afterwards, or
/// a URL given by the user, left as it is.
pub(crate) struct ScratchDatabase {
    /// Its URL.
    pub(crate) url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    Postgres { base: String, name: String },
    Nothing,
}

impl ScratchDatabase {
    /// `sqlite` (a fresh temporary file), `postgres` (a fresh database on the server of
    /// `LVDIAN_TEST_DATABASE_URL` or postgres://postgres@127.0.0.1:5432/test), or a URL to use
    /// as is. `purpose` goes into the name, so two scratch databases of one process differ.
    pub(crate) async fn create(choice: &str, purpose: &str) -> Result<ScratchDatabase> {
        let tag = format!("{purpose}_{}", std::process::id());
        let (url, cleanup) = match choice {
            "sqlite" => {
                let path = std::env::temp_dir().join(format!("lvdian-{tag}.db"));
                Cleanup::File(path.clone()).run().await;
                (format!("sqlite:{}", path.display()), Cleanup::File(path))
            }
            "postgres" => {
                let base = std::env::var("LVDIAN_TEST_DATABASE_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
                let name = format!("lvdian_{tag}");
                let url = Store::create_postgres_database(&base, &name)
                    .await
                    .with_context(|| format!("cannot create the database {name} on {base}"))?;
                (url, Cleanup::Postgres { base, name })
            }
            url if url.starts_with("sqlite:") || url.starts_with("postgres") => {
                (url.to_owned(), Cleanup::Nothing)
            }
            other => bail!("no database {other:?}: use sqlite, postgres or a database URL"),
        };
        Ok(ScratchDatabase { url, cleanup })
    }

    /// Removes the file or drops the database (a URL given as is stays).
    pub(crate) async fn remove(self) {
        self.cleanup.run().await;
    }
}

impl Cleanup {
    async fn run(self) {
        match self {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Postgres { base, name } => {
                if let Err(e) = Store::drop_postgres_database(&base, &name).await {
                    eprintln!("warning: could not drop {name}: {e}");
                }
            }
            Cleanup::Nothing => {}
        }
    }
}

/// The real server in this process on 127.0.0.1 (a real TCP listener, the API's router, the
/// store), with an operator registered directly in the store.
pub(crate) struct InProcessServer {
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    /// The operator's token.
    pub(crate) operator_token: String,
    store: Store,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl InProcessServer {
    /// Migrates the database at `url`, registers an operator and starts serving.
    pub(crate) async fn start(url: &str) -> Result<InProcessServer> {
        let store = Store::connect(url)
            .await
            .with_context(|| format!("cannot open {url}"))?;
        store.migrate().await?;
        let now = api::hub::Clock::now_ms(&SystemClock);
        let (_, operator_token) = crate::server::register_operator(
            &store,
            &format!("bench operator {now}"),
            domain::Province::parse("ZJ")?,
            "bench",
        )
        .await?;
        let state = api::AppState::load(store.clone(), Arc::new(SystemClock))
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let server = tokio::spawn(
            axum::serve(
                listener,
                api::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .into_future(),
        );
        Ok(InProcessServer {
            base,
            operator_token,
            store,
            server,
        })
    }

    /// `sqlite` or `postgres`.
    pub(crate) fn backend(&self) -> &'static str {
        match self.store.backend() {
            store::Backend::Sqlite => "sqlite",
            store::Backend::Postgres => "postgres",
        }
    }

    /// Stops serving and closes the store.
    pub(crate) async fn stop(self) {
        self.server.abort();
        self.store.close().await;
    }
}

async fn measure(bench: &HttpBench, url: &str) -> Result<()> {
    let server = InProcessServer::start(url).await?;
    let api = Api::new(&server.base, std::time::Duration::from_secs(60))?;
    let operator_token = server.operator_token.clone();
    let tag = format!("bench {}", std::process::id());
    let market = open_market(
        &api,
        &operator_token,
        bench.clients,
        SessionKind::CallAuction,
        &tag,
    )
    .await?;
    let session = market.session;
    let backend = server.backend();

    let per_client = bench.orders / bench.clients;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for trader in market.traders {
        let api = api.clone();
        let batch = bench.batch;
        tasks.push(tokio::spawn(async move {
            let side = if trader.sells { "sell" } else { "buy" };
            let order = |n: usize| json!({"side": side, "period": format!("h{:02}", n % 24 + 1), "mwh": format!("{}.{:03}", 1 + n % 9, n % 1000),
                                          "energy_price": format!("{}.{:02}", 350 + n % 100, n % 100), "env_price": "20.00"});
            let mut sent = 0;
            while sent < per_client {
                let n = batch.min(per_client - sent);
                if batch == 1 {
                    api.post_ok(&format!("/sessions/{session}/orders"), &trader.token, &order(sent)).await?;
                } else {
                    let orders: Vec<Value> = (sent..sent + n).map(order).collect();
                    let reply = api.post_ok(&format!("/sessions/{session}/orders/batch"), &trader.token, &json!({"orders": orders})).await?;
                    if reply["accepted"].as_u64() != Some(n as u64) {
                        bail!("batch not fully accepted: {reply}");
                    }
                }
                sent += n;
            }
            Ok::<usize, anyhow::Error>(sent)
        }));
    }
    let mut acknowledged = 0;
    for t in tasks {
        acknowledged += t.await??;
    }
    let elapsed = started.elapsed();
    let metrics = reqwest::get(format!("{}/metrics", server.base))
        .await?
        .text()
        .await?;
    let counter = |name: &str| {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    let commits = counter("lvdian_group_commits_total ");
    let entries = counter("lvdian_journal_entries_total ");
    println!(
        "{backend}: {acknowledged} orders acknowledged in {:.3} s = {:.0} orders/s ({} clients, {} per request; {commits} group commits, {:.1} journal entries each)",
        elapsed.as_secs_f64(),
        acknowledged as f64 / elapsed.as_secs_f64(),
        bench.clients,
        bench.batch,
        entries as f64 / commits.max(1) as f64,
    );
    server.stop().await;
    Ok(())
}
