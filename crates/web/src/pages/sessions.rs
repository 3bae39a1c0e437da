//! `/sessions`: the session calendar; `/sessions/{id}`: a session — its settings, its published
//! results (Q* and P* per period, each province's price and each corridor's flow when coupled),
//! the live depth of an open rolling session, and for a signed-in trader its own orders with the
//! forms to submit and cancel; for the operator the lifecycle buttons.

use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{Frame, Tokens, failed, forged, frame, render, see, send_form};
use crate::Web;
use crate::i18n::{self, Lang, grouped};
use crate::visit::Visit;
use api::dto::contracts::ContractView;
use api::dto::orders::{CommandResult, OrderRequest, OrderView};
use api::dto::results::{DepthView, ResultsView};
use api::dto::sessions::SessionView;

/// The most of a visitor's orders a session page lists (newest first).
const ORDERS_SHOWN: usize = 200;
/// The most of a visitor's contracts of a session the page lists.
const CONTRACTS_SHOWN: u32 = 100;
/// Price levels per side of the depth.
const DEPTH_LEVELS: u32 = 10;
/// How often the depth stream looks at the book.
const DEPTH_EVERY: Duration = Duration::from_millis(1000);

/// A session as a row of the calendar.
pub struct Row {
    pub id: u64,
    pub name: String,
    pub mode: String,
    pub scope: String,
    pub horizon: String,
    pub provinces: String,
    pub delivery: String,
    pub state_code: String,
    pub state: String,
}

impl Row {
    pub(super) fn of(lang: Lang, s: &SessionView) -> Row {
        let r = &s.settings;
        let mode = match &r.method {
            Some(m) if r.mode == "call_auction" => format!("call_auction/{m}"),
            _ => r.mode.clone(),
        };
        Row {
            id: s.id,
            name: s.name.clone(),
            mode: i18n::mode_name(lang, &mode),
            scope: i18n::scope_name(lang, &r.scope),
            horizon: i18n::horizon_name(lang, &r.horizon),
            provinces: r
                .provinces
                .iter()
                .map(|p| i18n::province_name(lang, p))
                .collect::<Vec<_>>()
                .join("、"),
            delivery: if r.first_month == r.last_month {
                r.first_month.clone()
            } else {
                format!("{} – {}", r.first_month, r.last_month)
            },
            state_code: s.state.clone(),
            state: i18n::state_name(lang, &s.state),
        }
    }
}

#[derive(Template)]
#[template(path = "sessions.html")]
pub struct Calendar {
    pub frame: Frame,
    pub states: Vec<(&'static str, String)>,
    pub state: String,
    pub rows: Vec<Row>,
}

#[derive(Deserialize)]
pub struct CalendarQuery {
    state: Option<String>,
}

/// `GET /sessions?state=open`: every session the visitor may see, latest delivery first.
pub async fn calendar(
    State(web): State<Web>,
    visit: Visit,
    Query(query): Query<CalendarQuery>,
) -> Response {
    let frame = frame(&web, &visit, "sessions").await;
    let sessions: Vec<SessionView> = match web.get(frame.caller(&visit), "/api/v1/sessions").await {
        Ok(s) => s,
        Err(f) => return failed(&web, &visit, f, "/").await,
    };
    let state = query
        .state
        .filter(|s| i18n::SESSION_STATES.contains(&s.as_str()))
        .unwrap_or_default();
    let mut sessions: Vec<&SessionView> = sessions
        .iter()
        .filter(|s| state.is_empty() || s.state == state)
        .collect();
    sessions.sort_by(|a, b| (&b.settings.first_month, b.id).cmp(&(&a.settings.first_month, a.id)));
    let rows = sessions.iter().map(|s| Row::of(visit.lang, s)).collect();
    let states = i18n::SESSION_STATES
        .iter()
        .map(|s| (*s, i18n::state_name(visit.lang, s)))
        .collect();
    render(
        &visit,
        &Calendar {
            frame,
            states,
            state,
            rows,
        },
    )
}

/// A period's result as the table shows it.
pub struct PeriodRow {
    pub period: String,
    pub volume: String,
    pub price: String,
}

/// One province's price and volumes in one period (coupled sessions).
pub struct ProvinceRow {
    pub period: String,
    pub province: String,
    pub price: String,
    pub buy: String,
    pub sell: String,
}

/// One corridor's flow in one period (coupled sessions).
pub struct FlowRow {
    pub period: String,
    pub corridor: String,
    pub sent: String,
    pub delivered: String,
    pub rent: String,
}

/// The results of a session as the page shows them.
pub struct Results {
    pub participants: usize,
    pub contracts: usize,
    pub total: String,
    pub periods: Vec<PeriodRow>,
    pub provinces: Vec<ProvinceRow>,
    pub flows: Vec<FlowRow>,
    pub chart: String,
}

/// One order of the visitor.
pub struct OrderRow {
    pub id: u64,
    pub side: String,
    pub period: String,
    pub mwh: String,
    pub energy_price: String,
    pub env_price: String,
    pub live: String,
    pub fills: String,
    pub cancellable: bool,
}

/// One contract of the visitor in this session.
pub struct ContractRow {
    pub id: u64,
    pub seller: u64,
    pub buyer: u64,
    pub mwh: String,
    pub energy_price: String,
    pub env_price: String,
}

#[derive(Template)]
#[template(path = "session.html")]
pub struct SessionPage {
    pub frame: Frame,
    pub row: Row,
    pub price_bounds: String,
    pub lot: String,
    pub results: Option<Results>,
    pub results_note: Option<String>,
    pub depth: Option<Depth>,
    pub periods: Vec<String>,
    pub trading: bool,
    pub rolling: bool,
    pub sealed: bool,
    pub orders: Option<Vec<OrderRow>>,
    pub contracts: Vec<ContractRow>,
    pub actions: Vec<(&'static str, &'static str)>,
    pub nonce: String,
}

/// The depth of one period, rendered as its own fragment (the page and the event stream).
#[derive(Template, Clone)]
#[template(path = "depth.html")]
pub struct Depth {
    pub t: &'static i18n::Texts,
    pub period: String,
    pub bids: Vec<(String, String, u32)>,
    pub asks: Vec<(String, String, u32)>,
}

impl Depth {
    fn of(lang: Lang, view: DepthView) -> Depth {
        let levels = |levels: Vec<api::dto::results::LevelView>| {
            levels
                .into_iter()
                .map(|l| (l.price, grouped(&l.mwh), l.orders))
                .collect()
        };
        Depth {
            t: lang.texts(),
            period: view.period,
            bids: levels(view.bids),
            asks: levels(view.asks),
        }
    }
}

#[derive(Deserialize)]
pub struct PeriodQuery {
    period: Option<String>,
}

/// The lifecycle actions the operator may take in a state, with their labels' keys.
pub(super) fn actions(lang: Lang, state: &str) -> Vec<(&'static str, &'static str)> {
    let name = |action: &'static str| -> (&'static str, &'static str) {
        let label = match action {
            "announce" => lang.pick("发布公告", "Announce"),
            "open" => lang.pick("开市", "Open"),
            "close" => lang.pick("闭市", "Close"),
            "clear" => lang.pick("出清", "Clear"),
            "publish" => lang.pick("发布结果", "Publish"),
            _ => lang.pick("取消场次", "Cancel session"),
        };
        (action, label)
    };
    let next: &[&'static str] = match state {
        "draft" => &["announce", "cancel"],
        "announced" => &["open", "cancel"],
        "open" => &["close", "cancel"],
        "closed" => &["clear", "cancel"],
        "cleared" => &["publish"],
        _ => &[],
    };
    next.iter().map(|a| name(a)).collect()
}

/// `GET /sessions/{id}?period=h01`.
pub async fn page(
    State(web): State<Web>,
    visit: Visit,
    Path(id): Path<String>,
    Query(query): Query<PeriodQuery>,
) -> Response {
    let mut frame = frame(&web, &visit, "sessions").await;
    let Ok(id) = id.parse::<u64>() else {
        return super::refusal(
            &web,
            &visit,
            StatusCode::NOT_FOUND,
            format!("{} {}", frame.t.session, domain::shown(&id)),
            "/sessions",
        )
        .await;
    };
    let who = frame.caller(&visit);
    let session: SessionView = match web.get(who, &format!("/api/v1/sessions/{id}")).await {
        Ok(s) => s,
        Err(f) => return failed(&web, &visit, f, "/sessions").await,
    };
    let lang = visit.lang;
    let t = lang.texts();
    let settings = &session.settings;
    let periods: Vec<String> = settings
        .parse()
        .map(|s| {
            s.template
                .periods()
                .map(|p| s.template.label(p).to_string())
                .collect()
        })
        .unwrap_or_default();
    let (results, results_note) = match web
        .get::<ResultsView>(who, &format!("/api/v1/sessions/{id}/results"))
        .await
    {
        Ok(r) => (Some(results(lang, r)), None),
        Err(_) => (None, Some(t.results_hidden.to_owned())),
    };
    frame.charts = results.is_some();
    let rolling = settings.mode == "rolling";
    let open = session.state == "open";
    let period = query
        .period
        .filter(|p| periods.contains(p))
        .or_else(|| periods.first().cloned())
        .unwrap_or_default();
    let depth = if rolling && open {
        depth(&web, &visit, id, &period).await
    } else {
        None
    };
    let me = frame.me.as_ref();
    let trader = me.is_some_and(|m| {
        matches!(
            m.role_code.as_str(),
            "generator" | "aggregator" | "user" | "retailer"
        )
    });
    let operator = me.is_some_and(|m| m.operator);
    let trades_here = matches!(settings.mode.as_str(), "call_auction" | "rolling");
    let orders = if trader && trades_here {
        web.get::<Vec<OrderView>>(who, &format!("/api/v1/sessions/{id}/orders"))
            .await
            .ok()
            .map(|orders| order_rows(lang, orders, open && rolling))
    } else {
        None
    };
    let contracts = if trader {
        web.get::<Vec<ContractView>>(
            who,
            &format!("/api/v1/contracts?session={id}&limit={CONTRACTS_SHOWN}"),
        )
        .await
        .map(|cs| {
            cs.into_iter()
                .map(|c| ContractRow {
                    id: c.id,
                    seller: c.seller,
                    buyer: c.buyer,
                    mwh: grouped(&c.total_mwh),
                    energy_price: c.energy_price,
                    env_price: c.env_price,
                })
                .collect()
        })
        .unwrap_or_default()
    } else {
        Vec::new()
    };
    let page = SessionPage {
        nonce: frame.nonce(),
        row: Row::of(lang, &session),
        price_bounds: format!(
            "{} – {}",
            settings.energy_price_min, settings.energy_price_max
        ),
        lot: settings.lot_mwh.clone(),
        results,
        results_note,
        depth,
        periods,
        trading: trader && trades_here && open,
        rolling,
        sealed: settings.mode == "call_auction",
        orders,
        contracts,
        actions: if operator {
            actions(lang, &session.state)
        } else {
            Vec::new()
        },
        frame,
    };
    render(&visit, &page)
}

async fn depth(web: &Web, visit: &Visit, id: u64, period: &str) -> Option<Depth> {
    let path = format!(
        "/api/v1/sessions/{id}/depth?period={}&levels={DEPTH_LEVELS}",
        super::percent_encode(period)
    );
    web.get::<DepthView>(visit.anonymous(), &path)
        .await
        .ok()
        .map(|d| Depth::of(visit.lang, d))
}

fn results(lang: Lang, r: ResultsView) -> Results {
    let t = lang.texts();
    let dash = || "—".to_owned();
    let chart = json!({
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0, "data": [t.q_star, t.p_star]},
        "grid": {"left": 60, "right": 60, "bottom": 30, "top": 40},
        "xAxis": {"type": "category", "data": r.periods.iter().map(|p| &p.period).collect::<Vec<_>>()},
        "yAxis": [{"type": "value", "name": "MWh"}, {"type": "value", "name": "元/MWh", "scale": true}],
        "series": [
            {"name": t.q_star, "type": "bar", "data": r.periods.iter().map(|p| &p.volume_mwh).collect::<Vec<_>>()},
            {"name": t.p_star, "type": "line", "yAxisIndex": 1, "showSymbol": true, "symbolSize": 8, "data": r.periods.iter().map(|p| p.price.clone()).collect::<Vec<_>>()},
        ]
    });
    let mut provinces = Vec::new();
    let mut flows = Vec::new();
    for p in &r.periods {
        for v in &p.provinces {
            provinces.push(ProvinceRow {
                period: p.period.clone(),
                province: i18n::province_name(lang, &v.province),
                price: v.price.clone().unwrap_or_else(dash),
                buy: grouped(&v.buy_mwh),
                sell: grouped(&v.sell_mwh),
            });
        }
        for f in &p.flows {
            flows.push(FlowRow {
                period: p.period.clone(),
                corridor: format!(
                    "{} → {}",
                    i18n::province_name(lang, &f.from),
                    i18n::province_name(lang, &f.to)
                ),
                sent: grouped(&f.sent_mwh),
                delivered: grouped(&f.delivered_mwh),
                rent: f.congestion_rent_yuan.clone().unwrap_or_else(dash),
            });
        }
    }
    Results {
        participants: r.participants,
        contracts: r.contracts,
        total: grouped(&r.total_mwh),
        periods: r
            .periods
            .into_iter()
            .map(|p| PeriodRow {
                period: p.period,
                volume: grouped(&p.volume_mwh),
                price: p.price.unwrap_or_else(dash),
            })
            .collect(),
        provinces,
        flows,
        chart: chart.to_string(),
    }
}

fn order_rows(lang: Lang, mut orders: Vec<OrderView>, cancellable: bool) -> Vec<OrderRow> {
    orders.sort_by_key(|o| std::cmp::Reverse(o.id));
    orders.truncate(ORDERS_SHOWN);
    orders
        .into_iter()
        .map(|o| OrderRow {
            cancellable: cancellable && o.live_mwh.as_deref().is_some_and(|l| l != "0.000"),
            id: o.id,
            side: i18n::side_name(lang, &o.side),
            period: o.period,
            mwh: grouped(&o.mwh),
            energy_price: o.energy_price,
            env_price: o.env_price,
            live: o.live_mwh.map_or_else(|| "—".to_owned(), |l| grouped(&l)),
            fills: o
                .fills
                .iter()
                .map(|f| format!("{} @ {}", grouped(&f.mwh), f.price))
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect()
}

/// `GET /sessions/{id}/depth/events?period=h01`: the depth as server-sent events, one `depth`
/// event (the rendered table) whenever it changes; the stream ends when the session stops
/// being open.
pub async fn depth_events(
    State(web): State<Web>,
    visit: Visit,
    Path(id): Path<u64>,
    Query(query): Query<PeriodQuery>,
) -> Response {
    let Some(period) = query.period.filter(|p| p.len() <= 8) else {
        return (StatusCode::BAD_REQUEST, "period is missing").into_response();
    };
    let state = (web, visit, period, String::new());
    let stream =
        futures_util::stream::unfold(state, move |(web, visit, period, last)| async move {
            let mut first = last.is_empty();
            loop {
                if !first {
                    tokio::time::sleep(DEPTH_EVERY).await;
                }
                first = false;
                let depth = depth(&web, &visit, id, &period).await?;
                let html = depth.render().ok()?;
                if html != last {
                    let event = Event::default().event("depth").data(html.clone());
                    return Some((Ok::<Event, Infallible>(event), (web, visit, period, html)));
                }
            }
        });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

#[derive(Deserialize)]
pub struct OrderForm {
    #[serde(flatten)]
    tokens: Tokens,
    side: String,
    period: String,
    mwh: String,
    energy_price: String,
    env_price: String,
    time_in_force: Option<String>,
}

/// `POST /sessions/{id}/orders`: the order form, sent to `POST /api/v1/sessions/{id}/orders`.
pub async fn submit_order(
    State(web): State<Web>,
    visit: Visit,
    Path(id): Path<u64>,
    axum::Form(form): axum::Form<OrderForm>,
) -> Response {
    let back = format!("/sessions/{id}");
    if !visit.check_form(&form.tokens.csrf) {
        return forged(&web, &visit, &back).await;
    }
    let order = OrderRequest {
        side: form.side,
        period: form.period,
        mwh: form.mwh.trim().to_owned(),
        energy_price: form.energy_price.trim().to_owned(),
        env_price: form.env_price.trim().to_owned(),
        time_in_force: form.time_in_force.filter(|t| !t.is_empty()),
    };
    let path = format!("/api/v1/sessions/{id}/orders");
    match send_form::<CommandResult>(
        &web,
        &visit,
        &form.tokens,
        Method::POST,
        &path,
        Some(&order),
        &back,
    )
    .await
    {
        Ok(_) => see(&format!("{back}#my-orders")),
        Err(refusal) => refusal,
    }
}

/// `POST /sessions/{id}/orders/{order}/cancel`.
pub async fn cancel_order(
    State(web): State<Web>,
    visit: Visit,
    Path((id, order)): Path<(u64, u64)>,
    axum::Form(tokens): axum::Form<Tokens>,
) -> Response {
    let back = format!("/sessions/{id}");
    if !visit.check_form(&tokens.csrf) {
        return forged(&web, &visit, &back).await;
    }
    let path = format!("/api/v1/sessions/{id}/orders/{order}");
    match send_form::<serde_json::Value>(
        &web,
        &visit,
        &tokens,
        Method::DELETE,
        &path,
        None::<&()>,
        &back,
    )
    .await
    {
        Ok(_) => see(&format!("{back}#my-orders")),
        Err(refusal) => refusal,
    }
}
