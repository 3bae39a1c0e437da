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
use store::{NewParticipant, Store};

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
        let (url, cleanup) = database(&bench.database).await?;
        let result = measure(bench, &url).await;
        cleanup.run().await;
        result
    })
}

enum Cleanup {
    File(std::path::PathBuf),
    Postgres { base: String, name: String },
    Nothing,
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

async fn database(choice: &str) -> Result<(String, Cleanup)> {
    let tag = std::process::id();
    match choice {
        "sqlite" => {
            let path = std::env::temp_dir().join(format!("lvdian-bench-{tag}.db"));
            Ok((format!("sqlite:{}", path.display()), Cleanup::File(path)))
        }
        "postgres" => {
            let base = std::env::var("LVDIAN_TEST_DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
            let name = format!("lvdian_bench_{tag}");
            let url = Store::create_postgres_database(&base, &name).await?;
            Ok((url, Cleanup::Postgres { base, name }))
        }
        url => Ok((url.to_owned(), Cleanup::Nothing)),
    }
}

async fn measure(bench: &HttpBench, url: &str) -> Result<()> {
    let store = Store::connect(url)
        .await
        .with_context(|| format!("cannot open {url}"))?;
    store.migrate().await?;
    let now = api::hub::Clock::now_ms(&SystemClock);
    let operator = store
        .insert_participant(
            &NewParticipant {
                name: format!("bench operator {now}"),
                role: domain::Role::Operator,
                province: domain::Province::parse("ZJ")?,
            },
            now,
        )
        .await?;
    let operator_token = api::auth::new_token();
    store
        .insert_token(
            operator.id,
            &api::auth::token_hash(&operator_token),
            "bench",
            now,
        )
        .await?;
    let state = api::AppState::load(store.clone(), Arc::new(SystemClock))
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/api/v1", listener.local_addr()?);
    let server = tokio::spawn(
        axum::serve(
            listener,
            api::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .into_future(),
    );

    let client = reqwest::Client::new();
    let post = {
        let (client, base) = (client.clone(), base.clone());
        move |path: String, token: String, body: Value| {
            let client = client.clone();
            let url = format!("{base}{path}");
            async move {
                let response = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await?;
                let status = response.status();
                let value: Value = response.json().await?;
                if !status.is_success() {
                    bail!("{status}: {value}");
                }
                Ok::<Value, anyhow::Error>(value)
            }
        }
    };
    let session = post("/sessions".into(), operator_token.clone(), json!({
        "name": "bench", "scope": "intra", "provinces": ["ZJ"], "horizon": "month", "mode": "call_auction",
        "first_month": "2024-03", "last_month": "2024-03", "energy_price_min": "300.00", "energy_price_max": "500.00",
        "lot_mwh": "0.001", "compensation": "50.00"})).await?["id"].as_u64().context("session id")?;
    for action in ["announce", "open"] {
        post(
            format!("/sessions/{session}/{action}"),
            operator_token.clone(),
            json!(null),
        )
        .await?;
    }
    let mut tokens = Vec::new();
    for c in 0..bench.clients {
        let role = if c % 2 == 0 { "generator" } else { "user" };
        let reply = post(
            "/participants".into(),
            operator_token.clone(),
            json!({"name": format!("bench {role} {c} {now}"), "role": role, "province": "ZJ"}),
        )
        .await?;
        tokens.push((c, reply["token"].as_str().context("token")?.to_owned()));
    }

    let per_client = bench.orders / bench.clients;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (c, token) in tokens {
        let post = post.clone();
        let batch = bench.batch;
        tasks.push(tokio::spawn(async move {
            let side = if c % 2 == 0 { "sell" } else { "buy" };
            let order = |n: usize| json!({"side": side, "period": format!("h{:02}", n % 24 + 1), "mwh": format!("{}.{:03}", 1 + n % 9, n % 1000),
                                          "energy_price": format!("{}.{:02}", 350 + n % 100, n % 100), "env_price": "20.00"});
            let mut sent = 0;
            while sent < per_client {
                let n = batch.min(per_client - sent);
                if batch == 1 {
                    post(format!("/sessions/{session}/orders"), token.clone(), order(sent)).await?;
                } else {
                    let orders: Vec<Value> = (sent..sent + n).map(order).collect();
                    let reply = post(format!("/sessions/{session}/orders/batch"), token.clone(), json!({"orders": orders})).await?;
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
    let metrics = client
        .get(format!("{}/metrics", base.trim_end_matches("/api/v1")))
        .send()
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
        backend = if url.starts_with("sqlite") {
            "sqlite"
        } else {
            "postgres"
        },
    );
    server.abort();
    store.close().await;
    Ok(())
}
