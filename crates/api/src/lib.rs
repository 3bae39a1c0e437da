//! lvdian's HTTP JSON API (axum) under `/api/v1`: the exchange as a service.
//!
//! - [`hub`]: one sequencer per session owns the deterministic engine and group-commits its
//!   journal to the [`store::Store`]; an order is acknowledged only once committed.
//! - [`auth`]: opaque bearer tokens per participant (stored as SHA-256), the [`auth::Caller`]
//!   extractor, roles checked per route, ownership checked by the engine.
//! - [`dto`]: the wire types — decimal strings for MWh and yuan/MWh, period labels — parsed into
//!   engine commands with errors that name the field.
//! - [`routes`]: the handlers; the OpenAPI document at `/api/v1/openapi.json` is generated from
//!   their annotations.
//!
//! Architecture invariant: this crate holds no market rules. It authenticates, parses, routes a
//! command to its session's sequencer and renders what the engine said.

pub mod auth;
pub mod certificates;
pub mod dto;
pub mod error;
pub mod hub;
pub mod idempotency;
pub mod intervals;
pub mod meters;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod settled;
pub mod statistics;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::Router;
use domain::Participant;
use store::Store;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::hub::{Clock, Hub};
use crate::metrics::Metrics;

/// Everything a handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The shared state behind [`AppState`].
pub struct Inner {
    /// The database.
    pub store: Store,
    /// Every session's sequencer.
    pub hub: Hub,
    /// The certificate registry.
    pub certificates: certificates::Certificates,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Token hash → participant, filled on first use (tokens are never revoked yet).
    tokens: RwLock<HashMap<[u8; 32], Participant>>,
    /// One lock per idempotency key in flight.
    idempotency_locks: idempotency::Locks,
    /// The keys of concurrent requests, looked up together.
    idempotency_lookups: idempotency::Lookups,
    /// Failed sign-ins per client address.
    sign_ins: auth::SignInLimiter,
    /// The annual reports computed so far, and the market's generation.
    statistics_cache: statistics::StatisticsCache,
    /// Final settlement reports read so far (never reopened, so never stale).
    settled: settled::SettledCache,
    /// Participants' quarter-hour totals read so far.
    intervals: intervals::IntervalCache,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Loads the market from a migrated store: every session is rebuilt from its journal.
    pub async fn load(store: Store, clock: Arc<dyn Clock>) -> Result<AppState, ApiError> {
        let metrics = Arc::new(Metrics::default());
        let hub = Hub::load(store.clone(), Arc::clone(&clock), Arc::clone(&metrics)).await?;
        let certificates =
            certificates::Certificates::load(store.clone(), Arc::clone(&clock)).await?;
        let idempotency_lookups = idempotency::Lookups::start(store.clone());
        Ok(AppState(Arc::new(Inner {
            store,
            hub,
            certificates,
            clock,
            metrics,
            tokens: RwLock::new(HashMap::new()),
            idempotency_locks: idempotency::Locks::default(),
            idempotency_lookups,
            sign_ins: auth::SignInLimiter::default(),
            statistics_cache: statistics::StatisticsCache::default(),
            settled: settled::SettledCache::default(),
            intervals: intervals::IntervalCache::default(),
        })))
    }

    /// The participant a token belongs to, if any.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Participant>, ApiError> {
        let hash = auth::token_hash(token);
        if let Some(p) = self.tokens.read().expect("token cache poisoned").get(&hash) {
            return Ok(Some(p.clone()));
        }
        let found = self.store.participant_by_token(&hash).await?;
        if let Some(p) = &found {
            self.tokens
                .write()
                .expect("token cache poisoned")
                .insert(hash, p.clone());
        }
        Ok(found)
    }

    /// Counts a failed sign-in from a client address: `refusal` (a 401), or 429 once the
    /// address has spent its allowance.
    pub fn failed_sign_in(&self, client: Option<std::net::IpAddr>, refusal: ApiError) -> ApiError {
        Metrics::inc(&self.metrics.failed_sign_ins);
        self.sign_ins.failed(client, refusal)
    }

    /// The annual report of `year` (spec §8) from everything stored: participants, projects,
    /// final settlement reports, the certificate registry and every session. What
    /// `GET /api/v1/statistics/{year}` answers and `lvdian report` renders.
    pub async fn annual_report(&self, year: u16) -> Result<market::AnnualReport, ApiError> {
        let participants = self.store.participants().await?;
        let projects = self.store.projects().await?;
        // The year's settled volumes and the year before's, for growth.
        let months = year
            .checked_sub(1)
            .into_iter()
            .chain([year])
            .flat_map(|y| (1..=12).filter_map(move |m| domain::YearMonth::new(y, m).ok()));
        let finals = routes::certificates::final_volumes(self, months).await?;
        let retail = self.store.retail_contracts().await?;
        Ok(self
            .certificates
            .read(|registry| {
                self.hub.read_all(|sessions| {
                    market::annual_report(
                        year,
                        &market::MarketFacts {
                            sessions,
                            participants: &participants,
                            projects: &projects,
                            finals: &finals,
                            registry,
                            retail: &retail,
                        },
                    )
                })
            })
            .await)
    }

    /// Milliseconds since the Unix epoch, by the state's clock.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "lvdian",
        description = "lvdian (绿电): a green electricity exchange. Quantities are decimal strings: MWh with up to 3 decimals, yuan/MWh with up to 2. Authenticate with `Authorization: Bearer <token>`; send `Idempotency-Key` to make a POST safe to retry."
    ),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The whole application: API routes, the OpenAPI document, health and metrics.
pub fn router(state: AppState) -> Router {
    let (api, mut openapi) =
        routes::all(OpenApiRouter::with_openapi(ApiDoc::openapi())).split_for_parts();
    openapi::complete(&mut openapi);
    let openapi = Arc::new(openapi);
    api.route(
        "/api/v1/openapi.json",
        axum::routing::get(move || {
            let openapi = Arc::clone(&openapi);
            async move { axum::Json(openapi.as_ref().clone()) }
        }),
    )
    .fallback(|| async { ApiError::not_found("no such route") })
    .method_not_allowed_fallback(|| async {
        ApiError::new(
            axum::http::StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this route does not take this method",
        )
    })
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        idempotency::middleware,
    ))
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        statistics::track_changes,
    ))
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        count_requests,
    ))
    .with_state(state)
}

async fn count_requests(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    Metrics::inc(&state.metrics.http_requests);
    next.run(request).await
}
