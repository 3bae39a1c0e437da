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
use crate::auth::{Caller, IdempotencyKey, MaybeCaller, is_insider};
use crate::dto::{
    CommandResult, CorridorStatistics, DepthView, FlowView, LevelView, NewSessionRequest,
    PeriodResult, ProvincePeriodView, ProvinceStatistics, ResultsView, SessionCount, SessionView,
    StatisticsView, settings_view, takes_network, with_network,
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

/// 年度统计 (spec §8, in part), public: per province the contracted volume sold and bought (and
/// of it, over corridors), the inter-provincial volume and share, sessions by mode and scope,
/// distinct participants, volume-weighted average energy and environmental prices, and the top
/// corridors by energy cleared across them. Counts published sessions whose delivery window
/// starts in `year`, and their contracts (contracts bind once their session is published).
#[utoipa::path(get, path = "/api/v1/statistics/{year}", tag = "sessions",
    params(("year" = i32, Path, description = "Delivery year")),
    responses((status = 200, description = "OK", body = StatisticsView)))]
async fn statistics(
    State(app): State<AppState>,
    Path(year): Path<i32>,
) -> Result<axum::Json<StatisticsView>, ApiError> {
    use std::collections::BTreeMap;

    use domain::{Kwh, Province};
    use exchange::session::Scope;

    let provinces: BTreeMap<u64, Province> = app
        .store
        .participants()
        .await
        .map_err(ApiError::from)?
        .into_iter()
        .map(|p| (p.id.0, p.province))
        .collect();
    let mut counts: BTreeMap<(String, &'static str), usize> = BTreeMap::new();
    // Totals over a year run across any number of sessions, which no bound limits, so every sum
    // here is an i128 of kWh (or of kWh × fen/MWh): each term is below 10^17 (a session's
    // bound) or 3·10^24, so 10^20 sessions would not overflow.
    // Province → (sold, bought, imported, exported).
    let mut volumes: BTreeMap<Province, [i128; 4]> = BTreeMap::new();
    let (mut traded, mut inter) = (0i128, 0i128);
    let mut parties: std::collections::BTreeSet<u64> = std::collections::BTreeSet::new();
    // Σ volume × price (kWh × fen/MWh) for the energy and environmental parts.
    let (mut energy_value, mut env_value) = (0i128, 0i128);
    // (from, to) → (sent, delivered).
    let mut corridors: BTreeMap<(Province, Province), (i128, i128)> = BTreeMap::new();
    let mut sessions = 0;
    let mut handles = app.hub.all();
    handles.sort_by_key(|h| h.read(|s| s.id()));
    for handle in handles {
        handle.read(|s| {
            let settings = s.settings();
            if s.state() != SessionState::Published
                || i32::from(settings.delivery.first_month.year()) != year
            {
                return;
            }
            sessions += 1;
            let mode = match settings.mode {
                Mode::CallAuction(method) => format!(
                    "call_auction/{}",
                    serde_json::to_value(method)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                ),
                Mode::Bilateral => "bilateral".to_owned(),
                Mode::Listing => "listing".to_owned(),
                Mode::Rolling => "rolling".to_owned(),
            };
            let scope = match settings.scope {
                Scope::Intra(_) => "intra",
                Scope::Inter(_) => "inter",
            };
            *counts.entry((mode, scope)).or_default() += 1;
            for period in s.clearing() {
                for f in period.flows.iter().filter(|f| f.sent > Kwh::ZERO) {
                    let entry = corridors.entry((f.from.clone(), f.to.clone())).or_default();
                    entry.0 += i128::from(f.sent.0);
                    entry.1 += i128::from(f.delivered.0);
                }
            }
            for c in s.contracts() {
                // A contract's total is below 96 × 10^9 kWh (96 periods of the bound).
                let sent = i128::from(c.total_volume().0);
                parties.extend([c.seller.0, c.buyer.0]);
                energy_value += sent * i128::from(c.price.energy.0);
                env_value += sent * i128::from(c.price.environment.0);
                let loss = i128::from(c.corridor.as_ref().map_or(Kwh::ZERO, |k| k.total_loss()).0);
                traded += sent;
                let crossing = c.corridor.is_some();
                if crossing {
                    inter += sent;
                }
                if let Some(p) = provinces.get(&c.seller.0) {
                    let v = volumes.entry(p.clone()).or_default();
                    v[0] += sent;
                    if crossing {
                        v[3] += sent;
                    }
                }
                if let Some(p) = provinces.get(&c.buyer.0) {
                    let v = volumes.entry(p.clone()).or_default();
                    v[1] += sent - loss;
                    if crossing {
                        v[2] += sent - loss;
                    }
                }
            }
        });
    }
    let share = if traded == 0 {
        "0".to_owned()
    } else {
        // inter ≤ traded, so the share is at most 10,000 ten-thousandths.
        let tenths = domain::div_round_half_away(inter * 10_000, traded);
        format!("{}.{:04}", tenths / 10_000, tenths % 10_000)
    };
    let mwh = |k: i128| Kwh::total_mwh(k).to_string();
    let average = |value: i128| {
        (traded > 0).then(|| {
            // A volume-weighted average of contract prices lies among them (within ±3·10^7).
            let fen = domain::div_round_half_away(value, traded);
            domain::Price(i64::try_from(fen).unwrap_or(i64::MAX)).to_string()
        })
    };
    let mut top: Vec<((Province, Province), (i128, i128))> = corridors.into_iter().collect();
    top.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| a.0.cmp(&b.0)));
    top.truncate(10);
    Ok(axum::Json(StatisticsView {
        year,
        sessions,
        sessions_by_mode: counts
            .into_iter()
            .map(|((mode, scope), sessions)| SessionCount {
                mode,
                scope: scope.to_owned(),
                sessions,
            })
            .collect(),
        traded_mwh: mwh(traded),
        inter_provincial_mwh: mwh(inter),
        inter_provincial_share: share,
        provinces: volumes
            .into_iter()
            .map(
                |(p, [sold, bought, imported, exported])| ProvinceStatistics {
                    province: p.to_string(),
                    sold_mwh: mwh(sold),
                    bought_mwh: mwh(bought),
                    imported_mwh: mwh(imported),
                    exported_mwh: mwh(exported),
                },
            )
            .collect(),
        participants: parties.len(),
        average_energy_price: average(energy_value),
        average_env_price: average(env_value),
        top_corridors: top
            .into_iter()
            .map(|((from, to), (sent, delivered))| CorridorStatistics {
                from: from.to_string(),
                to: to.to_string(),
                sent_mwh: mwh(sent),
                delivered_mwh: mwh(delivered),
            })
            .collect(),
    }))
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
    session.state() != SessionState::Draft || caller.0.as_ref().is_some_and(|p| is_insider(p.role))
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
    let insider = caller.0.as_ref().is_some_and(|p| is_insider(p.role));
    handle.read(|s| {
        let visible =
            s.state() == SessionState::Published || (insider && s.state() == SessionState::Cleared);
        if !visible {
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
