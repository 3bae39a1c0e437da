//! The annual statistics, kept rather than recomputed on every read.
//!
//! Computing a year's report reads every contract, final settlement and certificate count: about
//! 3 s on the full-year demo database. The market's *generation* counts the writes the service
//! has acknowledged ([`track_changes`] bumps it after every successful state-changing request);
//! a report computed at generation `g` is current while the generation is still `g`.
//!
//! - [`Freshness::Current`] (the JSON route, `lvdian report`): a report of the current
//!   generation, computed now if the kept one is older.
//! - [`Freshness::Kept`] (the dashboard): the kept report at once, however old, with a fresh one
//!   computed in the background when it is stale; computed now only when none is kept yet.
//!
//! One computation runs at a time, so a burst of page loads after a write starts one, not many,
//! and a background refresh starts at most every [`REFRESH_EVERY_MS`], so a busy trading day
//! does not keep a core recomputing the year.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::AppState;
use crate::error::ApiError;

/// The least time between the computations of a kept report that the dashboard starts.
pub const REFRESH_EVERY_MS: i64 = 30_000;

/// A year's report and when it was computed.
#[derive(Debug, Clone)]
pub struct Kept {
    /// The report.
    pub report: Arc<market::AnnualReport>,
    /// The market's generation it was computed at.
    pub generation: u64,
    /// When it was computed, milliseconds since the Unix epoch by the state's clock.
    pub as_of_ms: i64,
}

/// How current a report must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Of the market as it stands now.
    Current,
    /// The kept one if any, refreshed in the background when stale.
    Kept,
}

/// The kept reports, by year.
#[derive(Default)]
pub struct StatisticsCache {
    generation: AtomicU64,
    years: Mutex<BTreeMap<u16, Kept>>,
    computing: tokio::sync::Mutex<()>,
    refreshing: AtomicBool,
}

impl StatisticsCache {
    /// The market's generation.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Marks every kept report stale.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn kept(&self, year: u16) -> Option<Kept> {
        self.years
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&year)
            .cloned()
    }

    fn keep(&self, year: u16, kept: Kept) {
        let mut years = self.years.lock().unwrap_or_else(PoisonError::into_inner);
        // A slower computation of an older generation never replaces a newer one.
        if years
            .get(&year)
            .is_none_or(|k| k.generation <= kept.generation)
        {
            years.insert(year, kept);
        }
    }
}

impl AppState {
    /// The annual report of `year`, as current as `freshness` asks.
    pub async fn statistics(&self, year: u16, freshness: Freshness) -> Result<Kept, ApiError> {
        let cache = &self.statistics_cache;
        if let Some(kept) = cache.kept(year) {
            if kept.generation == cache.generation() {
                return Ok(kept);
            }
            if freshness == Freshness::Kept {
                let due = self.now_ms().saturating_sub(kept.as_of_ms) >= REFRESH_EVERY_MS;
                if due && !cache.refreshing.swap(true, Ordering::AcqRel) {
                    let app = self.clone();
                    tokio::spawn(async move {
                        if let Err(e) = app.compute_statistics(year).await {
                            tracing::warn!(year, "statistics not refreshed: {}", e.message);
                        }
                        app.statistics_cache
                            .refreshing
                            .store(false, Ordering::Release);
                    });
                }
                return Ok(kept);
            }
        }
        self.compute_statistics(year).await
    }

    /// Computes and keeps the report of `year`, unless a computation that finished while this
    /// one waited its turn already kept a current one.
    async fn compute_statistics(&self, year: u16) -> Result<Kept, ApiError> {
        let cache = &self.statistics_cache;
        let _turn = cache.computing.lock().await;
        let generation = cache.generation();
        if let Some(kept) = cache.kept(year).filter(|k| k.generation == generation) {
            return Ok(kept);
        }
        let kept = Kept {
            report: Arc::new(self.annual_report(year).await?),
            generation,
            as_of_ms: self.now_ms(),
        };
        cache.keep(year, kept.clone());
        Ok(kept)
    }

    /// The market's generation: a kept report of an older one is stale.
    pub fn statistics_generation(&self) -> u64 {
        self.statistics_cache.generation()
    }

    /// The delivery years of the published sessions, first to last: the years whose figures a
    /// dashboard offers, the last one first.
    pub fn market_years(&self) -> Option<std::ops::RangeInclusive<u16>> {
        self.hub.read_all(|sessions| {
            let published = || {
                sessions
                    .iter()
                    .filter(|s| s.state() == exchange::session::SessionState::Published)
                    .map(|s| s.settings().delivery)
            };
            let first = published().map(|d| d.first_month.year()).min()?;
            let last = published().map(|d| d.last_month.year()).max()?;
            Some(first..=last)
        })
    }
}

/// Middleware: after a state-changing request (any method but GET, HEAD and OPTIONS) that
/// succeeded, the kept statistics are stale, and after a meter upload the kept meter totals
/// ([`crate::intervals`]).
pub async fn track_changes(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::Method;
    let writes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let meters = writes && request.uri().path().starts_with("/api/v1/meters/");
    let response = next.run(request).await;
    if writes && response.status().is_success() {
        state.statistics_cache.changed();
        if meters {
            state.intervals.changed();
        }
    }
    response
}
