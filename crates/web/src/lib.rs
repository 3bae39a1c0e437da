//! The web dashboard (交易大厅) that `lvdian serve` serves at `/`: the market's public pages, a
//! participant's own business after signing in, and the operator's controls, in Chinese (by
//! default) and English.
//!
//! - Pages are rendered on the server from askama templates (`templates/`, checked when the
//!   crate compiles); the browser loads only files served from the binary ([`assets`]): the
//!   vendored Apache ECharts for charts and a small script of ours that draws them and follows
//!   a rolling session's depth over server-sent events. Forms are plain HTML forms (post, then
//!   redirect), so every page works without a script library.
//! - Every figure a page shows comes from the JSON API, called in-process with the visitor's
//!   token ([`client`]): a page shows exactly what the API shows that caller, sealed bids
//!   included, and holds no market rule of its own.
//! - The token lives in an HttpOnly, SameSite=Strict cookie; every form carries the
//!   anti-forgery token of the visit ([`visit`]) and its own idempotency key, so a form sent
//!   twice acts once.
//! - The overview's figures are the API's kept statistics ([`api::statistics`]), refreshed in
//!   the background after writes, so the page does not recompute the year on each load.

pub mod assets;
pub mod client;
pub mod i18n;
mod pages;
pub mod visit;

use axum::Router;
use axum::routing::{get, post};

/// What the pages' handlers share.
#[derive(Clone)]
pub struct Web {
    /// The JSON API, called in-process.
    pub api: Router,
    /// The service's state (for the kept statistics and the clock).
    pub app: api::AppState,
}

/// The dashboard's routes in front of the API: a path the dashboard does not serve goes to
/// `api` (whose fallback answers 404 in JSON).
pub fn app(api: Router, state: api::AppState) -> Router {
    let web = Web {
        api: api.clone(),
        app: state,
    };
    Router::new()
        .route("/", get(pages::overview::page))
        .route("/sessions", get(pages::sessions::calendar))
        .route("/sessions/{id}", get(pages::sessions::page))
        .route(
            "/sessions/{id}/depth/events",
            get(pages::sessions::depth_events),
        )
        .route("/sessions/{id}/orders", post(pages::sessions::submit_order))
        .route(
            "/sessions/{id}/orders/{order}/cancel",
            post(pages::sessions::cancel_order),
        )
        .route(
            "/sessions/{id}/action",
            post(pages::operator::session_action),
        )
        .route("/network", get(pages::network::page))
        .route(
            "/signin",
            get(pages::account::signin_page).post(pages::account::signin),
        )
        .route("/signout", post(pages::account::signout))
        .route("/lang/{lang}", get(pages::account::language))
        .route("/me", get(pages::me::page))
        .route("/me/settlement", get(pages::me::settlement_page))
        .route("/me/claim", post(pages::me::claim))
        .route("/me/listings", post(pages::me::list))
        .route("/me/listings/{id}/buy", post(pages::me::buy))
        .route("/me/listings/{id}/delist", post(pages::me::delist))
        .route(
            "/me/consumption/{file}",
            get(pages::me::consumption_certificate),
        )
        .route("/operator", get(pages::operator::page))
        .route("/operator/sessions", post(pages::operator::create_session))
        .route(
            "/operator/participants",
            post(pages::operator::create_participant),
        )
        .route("/operator/tokens", post(pages::operator::create_token))
        .route("/operator/projects", post(pages::operator::create_project))
        .route("/operator/settlements", post(pages::operator::settle))
        .route(
            "/operator/certificates",
            post(pages::operator::certificates),
        )
        .route("/static/{file}", get(assets::serve))
        .layer(axum::middleware::from_fn(pages::security_headers))
        .with_state(web)
        .fallback_service(api)
}
