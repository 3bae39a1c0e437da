//! Sessions (交易场次): creation, the lifecycle, and what the public sees of them.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use domain::{Role, SessionId, Side};
use exchange::session::{Command, Mode, Session, SessionState};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Body, Path, Query, json_reply, render_one, respond_stored, sequenced};
use crate::AppState;
use crate::auth::{Caller, IdempotencyKey, MaybeCaller};
use crate::dto::{
    CommandResult, DepthView, FlowView, LevelView, NewSessionRequest, PeriodResult,
    ProvincePeriodView, ResultsView, SessionView, settings_view, takes_network, with_network,
};
use crate::error::{ApiError, ErrorBody};
use crate::hub::SessionHandle;

pub fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(create_session, list_sessions))
        .routes(routes!(get_session))
        .routes(routes!(session_action))
        .routes(routes!(results))
        .routes(routes!(depth))
        .routes(routes!(statistics))
}

/// 年度统计 (spec §8), public: the year's traded and settled volume and their growth, sessions
/// by mode and scope, participants and users, the inter-provincial share, volume by technology
/// and by source province, average energy and environmental prices, certificates issued,
/// transferred and claimed, and the top corridors — for the market and per province. Every
/// definition is `market::statistics`'s (contracts count in the months they deliver in).
#[utoipa::path(get, path = "/api/v1/statistics/{year}", tag = "sessions",
    params(("year" = u16, Path, description = "Delivery year, 2000–2099")),
    responses((status = 200, description = "OK", body = market::AnnualReport)))]
async fn statistics(
    State(app): State<AppState>,
    Path(year): Path<u16>,
) -> Result<axum::Json<market::AnnualReport>, ApiError> {
    if !domain::MARKET_YEARS.contains(&year) {
        return Err(ApiError::field(
            "year",
            format!("{year} is not a year of the market, 2000 to 2099"),
        ));
    }
    let kept = app
        .statistics(year, crate::statistics::Freshness::Current)
        .await?;
    Ok(axum::Json(kept.report.as_ref().clone()))
}

fn view(handle: &SessionHandle, session: &Session) -> SessionView {
    SessionView {
        id: session.id().0,
        name: handle.name.clone(),
        state: session.state().as_str().to_owned(),
        settings: settings_view(&handle.name, session.settings()),
        suspended: handle.failure().is_some(),
    }
}

/// Drafts are the operator's (and the regulator's) until announced.
fn may_see(caller: &MaybeCaller, session: &Session) -> bool {
    let viewer = caller.0.as_ref().map(|p| market::Viewer {
        id: p.id,
        role: p.role,
    });
    market::visibility::session_visible(viewer, session.state())
}

/// Creates a session in `draft`. A coupled session given no corridors copies the registered
/// corridors joining its provinces into its settings. Operator only.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions", request_body = NewSessionRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first result")),
    responses((status = 201, description = "Created", body = SessionView), (status = 400, description = "Bad request: the message names the field", body = ErrorBody), (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "This role or participant may not do this", body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_session(
    State(app): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Body(request): Body<NewSessionRequest>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Operator], "create sessions")?;
    let settings = request.parse()?;
    let name = request.name()?;
    // Read here, under the key's lock, so that a retry is answered as the first request was even
    // if the network changed in between.
    let settings = if takes_network(&settings) {
        with_network(settings, &app.store.corridors().await?)?
    } else {
        settings
    };
    // Checked before anything is stored.
    settings.validate()?;
    let reply = |id: SessionId| {
        json_reply(
            StatusCode::CREATED,
            &SessionView {
                id: id.0,
                name: name.clone(),
                state: SessionState::Draft.as_str().to_owned(),
                settings: settings_view(&name, &settings),
                suspended: false,
            },
        )
    };
    let id = app
        .store
        .insert_session_remembered(&name, &settings, app.now_ms(), |id| {
            key.0.as_ref().map(|k| k.remember(&reply(id)))
        })
        .await?;
    let answer = reply(id);
    app.hub.start(name, Session::new(id, settings)?);
    tracing::info!(session = %id, "session created");
    Ok(respond_stored(answer, key.0.is_some()))
}

/// Sessions (announcements are public; drafts only for the operator and regulator).
#[utoipa::path(get, path = "/api/v1/sessions", tag = "sessions",
    responses((status = 200, description = "OK", body = Vec<SessionView>)))]
async fn list_sessions(
    State(app): State<AppState>,
    caller: MaybeCaller,
) -> axum::Json<Vec<SessionView>> {
    axum::Json(
        app.hub
            .all()
            .iter()
            .filter_map(|h| h.read(|s| may_see(&caller, s).then(|| view(h, s))))
            .collect(),
    )
}

/// One session.
#[utoipa::path(get, path = "/api/v1/sessions/{id}", tag = "sessions",
    params(("id" = u64, Path, description = "Session id")),
    responses((status = 200, description = "OK", body = SessionView), (status = 404, description = "Not found", body = ErrorBody)))]
async fn get_session(
    State(app): State<AppState>,
    caller: MaybeCaller,
    Path(id): Path<u64>,
) -> Result<axum::Json<SessionView>, ApiError> {
    let handle = app.hub.session(SessionId(id))?;
    handle
        .read(|s| may_see(&caller, s).then(|| view(&handle, s)))
        .map(axum::Json)
        .ok_or_else(|| ApiError::not_found(format!("session {id} does not exist")))
}

/// Moves a session along its lifecycle: `announce`, `open`, `close`, `clear` (a call auction
/// clears here and makes its contracts), `publish`, or `cancel`. Operator only.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/{action}", tag = "sessions",
    params(("id" = u64, Path, description = "Session id"), ("action" = String, Path, description = "announce, open, close, clear, publish or cancel"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first result")),
    responses((status = 200, description = "OK", body = CommandResult), (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "This role or participant may not do this", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Not possible in the current state of the session", body = ErrorBody)),
    security(("bearer" = [])))]
async fn session_action(
    State(app): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Path((id, action)): Path<(u64, String)>,
) -> Result<Response, ApiError> {
    let command = match action.as_str() {
        "announce" => Command::Announce,
        "open" => Command::Open,
        "close" => Command::Close,
        "clear" => Command::Clear,
        "publish" => Command::Publish,
        "cancel" => Command::Cancel,
        other => {
            return Err(ApiError::not_found(format!(
                "no action `{other}`: use announce, open, close, clear, publish or cancel"
            )));
        }
    };
    caller.require(&[Role::Operator], "run sessions")?;
    sequenced(
        &app,
        id,
        &caller,
        key,
        |_| Ok(vec![command]),
        render_one(StatusCode::OK),
    )
    .await
}

/// Published results: Q* and P* per period, the number of participants. Public once published;
/// the operator and regulator see them from clearing on.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/results", tag = "sessions",
    params(("id" = u64, Path, description = "Session id")),
    responses((status = 200, description = "OK", body = ResultsView), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Not possible in the current state of the session", body = ErrorBody)))]
async fn results(
    State(app): State<AppState>,
    caller: MaybeCaller,
    Path(id): Path<u64>,
) -> Result<axum::Json<ResultsView>, ApiError> {
    let handle = app.hub.session(SessionId(id))?;
    let viewer = caller.0.as_ref().map(|p| market::Viewer {
        id: p.id,
        role: p.role,
    });
    handle.read(|s| {
        if !market::visibility::results_visible(viewer, s.state()) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "not_published",
                format!(
                    "session {id} is {}; results are public once published",
                    s.state()
                ),
            ));
        }
        let template = &s.settings().template;
        let periods = if s.clearing().is_empty() {
            // Modes that trade while open: volume per period from the contracts.
            template
                .periods()
                .map(|p| {
                    let volume: domain::Kwh = s
                        .contracts()
                        .iter()
                        .flat_map(|c| &c.volumes)
                        .filter(|v| v.period == p)
                        .map(|v| v.volume)
                        .sum();
                    PeriodResult {
                        period: template.label(p).to_string(),
                        volume_mwh: volume.mwh().to_string(),
                        price: None,
                        provinces: Vec::new(),
                        flows: Vec::new(),
                    }
                })
                .collect()
        } else {
            s.clearing()
                .iter()
                .map(|c| PeriodResult {
                    period: template.label(c.period).to_string(),
                    volume_mwh: c.volume.mwh().to_string(),
                    price: c.price.map(|p| p.to_string()),
                    provinces: c
                        .provinces
                        .iter()
                        .map(|p| ProvincePeriodView {
                            province: p.province.to_string(),
                            price: p.price.map(|p| p.to_string()),
                            buy_mwh: p.bought.mwh().to_string(),
                            sell_mwh: p.sold.mwh().to_string(),
                        })
                        .collect(),
                    flows: {
                        let mut flows: Vec<_> = c.flows.iter().collect();
                        flows.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
                        flows
                            .into_iter()
                            .map(|f| FlowView {
                                from: f.from.to_string(),
                                to: f.to.to_string(),
                                sent_mwh: f.sent.mwh().to_string(),
                                delivered_mwh: f.delivered.mwh().to_string(),
                                congestion_rent_yuan: f.congestion_rent.map(|r| r.to_string()),
                            })
                            .collect()
                    },
                })
                .collect()
        };
        let participants: BTreeSet<u64> = s
            .contracts()
            .iter()
            .flat_map(|c| [c.seller.0, c.buyer.0])
            .collect();
        let total: domain::Kwh = s.contracts().iter().map(|c| c.total_volume()).sum();
        Ok(axum::Json(ResultsView {
            session: id,
            periods,
            participants: participants.len(),
            contracts: s.contracts().len(),
            total_mwh: total.mwh().to_string(),
        }))
    })
}

/// Query of [`depth`].
#[derive(Debug, Deserialize, IntoParams)]
struct DepthQuery {
    /// Period label, e.g. `h01`.
    period: String,
    /// Price levels per side (default 10, at most 100).
    levels: Option<usize>,
}

/// Public order book depth of a rolling-matching session while open: volume per price level,
/// no owners.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/depth", tag = "sessions",
    params(("id" = u64, Path, description = "Session id"), DepthQuery),
    responses((status = 200, description = "OK", body = DepthView), (status = 400, description = "Bad request: the message names the field", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Not possible in the current state of the session", body = ErrorBody)))]
async fn depth(
    State(app): State<AppState>,
    Path(id): Path<u64>,
    Query(query): Query<DepthQuery>,
) -> Result<axum::Json<DepthView>, ApiError> {
    let handle = app.hub.session(SessionId(id))?;
    handle.read(|s| {
        if s.settings().mode != Mode::Rolling {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "not_rolling",
                format!(
                    "session {id} is not a rolling-matching session; call-auction bids are sealed"
                ),
            ));
        }
        if s.state() != SessionState::Open {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "not_open",
                format!("session {id} is {}; depth is public while open", s.state()),
            ));
        }
        let period = s
            .settings()
            .template
            .parse(&query.period)
            .map_err(|e| ApiError::field("period", e))?;
        let levels = query.levels.unwrap_or(10).min(100);
        let side = |side| {
            s.depth(period, side, levels)
                .into_iter()
                .map(|l| LevelView {
                    price: l.price.to_string(),
                    mwh: l.volume.mwh().to_string(),
                    orders: l.orders,
                })
                .collect()
        };
        Ok(axum::Json(DepthView {
            period: query.period.clone(),
            bids: side(Side::Buy),
            asks: side(Side::Sell),
        }))
    })
}
