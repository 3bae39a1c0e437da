//! `lvdian serve`, `lvdian migrate` and `lvdian admin create-operator`: wiring the store, the
//! market and the HTTP server together.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use api::hub::SystemClock;
use domain::{Province, Role};
use store::{NewParticipant, Store};

/// The database used when none is named: an SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite:lvdian.db";

/// Refuses an SQLite URL whose file is not there: for commands that read a market (`report`,
/// `verify`), a missing file is a mistake, not a new empty market (connecting would create it).
pub fn require_existing_sqlite(url: &str) -> Result<()> {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let path = path.split('?').next().unwrap_or(path);
        if path != ":memory:" && !std::path::Path::new(path).is_file() {
            anyhow::bail!("no database at {path} (--db {url})");
        }
    }
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Logs to stderr: human-readable by default, JSON lines with `json`; `RUST_LOG` filters.
pub fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn open(url: &str) -> Result<Store> {
    let store = Store::connect(url)
        .await
        .with_context(|| format!("cannot open the database {url}"))?;
    store.migrate().await.context("cannot apply migrations")?;
    Ok(store)
}

/// Applies migrations and exits.
pub fn migrate(url: &str) -> Result<()> {
    runtime()?.block_on(async {
        let store = open(url).await?;
        store.close().await;
        println!("migrations applied to {url}");
        Ok(())
    })
}

/// Registers an operator and prints its first token.
pub fn create_operator(url: &str, name: &str, province: &str) -> Result<()> {
    let province = Province::parse(province).context("--province")?;
    runtime()?.block_on(async {
        let store = open(url).await?;
        let (operator, token) = register_operator(&store, name, province, "first token").await?;
        store.close().await;
        eprintln!(
            "operator {} \"{}\" registered; its token (shown only now, keep it safe):",
            operator.id.0, operator.name
        );
        println!("{token}");
        Ok(())
    })
}

/// Registers an operator in the store with a new token (`label` names it); returns both.
pub async fn register_operator(
    store: &Store,
    name: &str,
    province: Province,
    label: &str,
) -> Result<(domain::Participant, String)> {
    let now = api::hub::Clock::now_ms(&SystemClock);
    let operator = store
        .insert_participant(
            &NewParticipant {
                name: name.to_owned(),
                role: Role::Operator,
                province,
            },
            now,
        )
        .await
        .context("cannot register the operator")?;
    let token = api::auth::new_token();
    store
        .insert_token(operator.id, &api::auth::token_hash(&token), label, now)
        .await?;
    Ok((operator, token))
}

/// Serves the API until SIGINT or SIGTERM.
pub fn serve(listen: SocketAddr, url: &str) -> Result<()> {
    runtime()?.block_on(async {
        let store = open(url).await?;
        let started = std::time::Instant::now();
        let state = api::AppState::load(store.clone(), Arc::new(SystemClock))
            .await
            .map_err(|e| anyhow::anyhow!("cannot load the market: {}", e.message))?;
        let sessions = state.hub.all().len();
        for (id, why) in state.hub.unloadable() {
            tracing::error!(session = %id, "left out: {why}");
        }
        tracing::info!(sessions, elapsed_ms = started.elapsed().as_millis() as u64, "market loaded from the journal");
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        tracing::info!(%listen, database = %url, "lvdian serving: dashboard at http://{listen}/, API at /api/v1 (OpenAPI at /api/v1/openapi.json)");
        tokio::spawn(api::idempotency::forget_old_keys(store.clone()));
        // The dashboard's overview reads each published year's figures: they are computed now,
        // in the background, the last year first, so no visitor waits for them.
        if let Some(years) = state.market_years() {
            let state = state.clone();
            tokio::spawn(async move {
                for year in years.rev() {
                    let started = std::time::Instant::now();
                    match state.statistics(year, api::statistics::Freshness::Current).await {
                        Ok(_) => tracing::info!(year, elapsed_ms = started.elapsed().as_millis() as u64, "statistics ready"),
                        Err(e) => tracing::warn!(year, "statistics not computed: {}", e.message),
                    }
                }
                let started = std::time::Instant::now();
                match state.warm_hourly_matching().await {
                    Ok(()) => tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "the last settled month's report and sellers' meter totals ready"),
                    Err(e) => tracing::warn!("the last settled month not read: {}", e.message),
                }
            });
        }
        let app = web::app(api::router(state.clone()), state)
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown())
            .await
            .context("the server failed")?;
        store.close().await;
        tracing::info!("stopped");
        Ok(())
    })
}

async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("can listen for SIGTERM");
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down: finishing requests in flight");
}
