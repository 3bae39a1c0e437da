//! Health and metrics.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router.routes(routes!(healthz)).routes(routes!(metrics))
}

/// Liveness: answers `ok` once the market is loaded.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, description = "The server is up", body = String)))]
async fn healthz() -> &'static str {
    "ok"
}

/// Counters in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "system", responses((status = 200, description = "Prometheus text exposition", body = String)))]
async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    let mut by_state: std::collections::BTreeMap<&'static str, usize> =
        std::collections::BTreeMap::new();
    for session in app.hub.all() {
        // A suspended session counts as such, not as the state it is frozen in.
        let state = match session.failure() {
            Some(_) => "suspended",
            None => session.read(|s| s.state().as_str()),
        };
        *by_state.entry(state).or_default() += 1;
    }
    let unloadable = app.hub.unloadable().len();
    if unloadable > 0 {
        by_state.insert("unloadable", unloadable);
    }
    let states: Vec<(&str, usize)> = by_state.into_iter().collect();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(&states),
    )
}
