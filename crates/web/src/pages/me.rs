//! `/me`: a signed-in participant's own business — contracts, certificates (with the claim
//! form), the month's settlement lines (a retailer's retail allocations too), the hourly matching
//! score and the consumption certificate; an aggregator's member projects. Everything comes from
//! the API as this caller, so nothing of another participant can appear.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{Frame, Tokens, failed, forged, frame, render, see, send_form};
use crate::Web;
use crate::i18n::{self, grouped};
use crate::visit::Visit;
use api::dto::certificates::{CertificateListingView, Holdings, HourlyMatchView};
use api::dto::contracts::ContractView;
use api::dto::participants::ProjectView;

/// Contracts per page.
const CONTRACTS_PAGE: u32 = 100;
/// Settlement lines shown.
const LINES_SHOWN: u32 = 200;
/// Serial ranges shown (of the month's production).
const HOLDINGS_SHOWN: usize = 300;

pub struct ContractRow {
    pub id: u64,
    pub session: u64,
    pub side: String,
    /// The other party's id (both, `seller → buyer`, for an insider reading others').
    pub counterparty: String,
    pub mwh: String,
    pub energy_price: String,
    pub env_price: String,
    pub status: String,
}

pub struct HoldingRow {
    pub range: String,
    pub project: String,
    pub month: String,
    pub count: u32,
    pub state: String,
    /// A buyer may claim (核销) these.
    pub claimable: bool,
    /// Issued to the visitor and not yet moved: may be listed for sale (挂牌).
    pub listable: bool,
}

/// An open certificate listing.
pub struct ListingRow {
    pub id: u64,
    pub own: bool,
    pub project: String,
    pub month: String,
    pub price: String,
    pub remaining: u32,
}

pub struct LineRow {
    pub contract: String,
    pub volume: String,
    pub delivered: String,
    pub env: String,
    pub energy_yuan: String,
    pub env_yuan: String,
    pub comp_yuan: String,
}

pub struct RetailRow {
    pub retail_contract: u64,
    pub user: u64,
    pub demand: String,
    pub env: String,
}

pub struct Hourly {
    pub consumption: String,
    pub green: String,
    pub matched: String,
    pub percent: String,
}

#[derive(Template)]
#[template(path = "me.html")]
pub struct MePage {
    pub frame: Frame,
    pub month: String,
    pub contracts: Vec<ContractRow>,
    pub next_contracts: Option<String>,
    pub holdings: Vec<HoldingRow>,
    /// Ranges of the month not shown.
    pub holdings_more: usize,
    pub listings: Vec<ListingRow>,
    pub lines: Option<Vec<LineRow>>,
    pub retail: Vec<RetailRow>,
    pub hourly: Option<Hourly>,
    pub projects: Vec<ProjectView>,
    pub buyer: bool,
    /// The settlement tab (`/me/settlement`), else the business tab (`/me`).
    pub settlement: bool,
}

#[derive(Deserialize)]
pub struct MeQuery {
    month: Option<String>,
    after: Option<String>,
}

/// `GET /me?month=YYYY-MM&after=S1-C2`: contracts, certificates of the month, listings,
/// projects.
pub async fn page(State(web): State<Web>, visit: Visit, Query(query): Query<MeQuery>) -> Response {
    show(&web, &visit, query, false).await
}

/// `GET /me/settlement?month=YYYY-MM`: the month's settlement lines, retail allocations, hourly
/// matching and consumption certificate.
pub async fn settlement_page(
    State(web): State<Web>,
    visit: Visit,
    Query(query): Query<MeQuery>,
) -> Response {
    show(&web, &visit, query, true).await
}

async fn show(web: &Web, visit: &Visit, query: MeQuery, settlement: bool) -> Response {
    let frame = frame(web, visit, "me").await;
    let Some(me) = frame.me.as_ref() else {
        return super::see("/signin");
    };
    let lang = visit.lang;
    let who = visit.as_caller();
    let my_id = me.id;
    let buyer = matches!(me.role_code.as_str(), "user" | "retailer");
    let month = query
        .month
        .filter(|m| domain::YearMonth::parse(m).is_ok())
        .or_else(|| web.app.market_years().map(|y| format!("{}-12", y.end())))
        .unwrap_or_else(|| "2000-01".to_owned());

    let mut path = format!("/api/v1/contracts?limit={CONTRACTS_PAGE}");
    if let Some(after) = query.after.as_deref().filter(|a| a.len() <= 48) {
        path.push_str("&after=");
        path.push_str(&super::percent_encode(after));
    }
    let (contracts, next_contracts) = if settlement {
        (Vec::new(), None)
    } else {
        match web.call(who, Method::GET, &path, None, None).await {
            Ok(reply) => {
                let next = reply
                    .headers
                    .get(header::LINK)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| l.split("after=").nth(1))
                    .and_then(|rest| rest.split(['&', '>']).next())
                    .map(str::to_owned);
                let rows = serde_json::from_slice::<Vec<ContractView>>(&reply.body)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| {
                        let (side, counterparty) = if c.seller == my_id {
                            (i18n::side_name(lang, "sell"), c.buyer.to_string())
                        } else if c.buyer == my_id {
                            (i18n::side_name(lang, "buy"), c.seller.to_string())
                        } else {
                            ("—".to_owned(), format!("{} → {}", c.seller, c.buyer))
                        };
                        ContractRow {
                            id: c.id,
                            session: c.session,
                            side,
                            counterparty,
                            mwh: grouped(&c.total_mwh),
                            energy_price: c.energy_price,
                            env_price: c.env_price,
                            status: c.status,
                        }
                    })
                    .collect();
                (rows, next)
            }
            Err(f) => return failed(web, visit, f, "/").await,
        }
    };

    let mut holdings_more = 0;
    let holdings = if settlement {
        Vec::new()
    } else {
        web.get::<Holdings>(who, &format!("/api/v1/certificates?month={month}"))
            .await
            .map(|h| {
                holdings_more = h.holdings.len().saturating_sub(HOLDINGS_SHOWN);
                h.holdings
                    .into_iter()
                    .take(HOLDINGS_SHOWN)
                    .map(|h| HoldingRow {
                        claimable: buyer && matches!(h.state.as_str(), "transferred" | "issued"),
                        listable: !buyer && h.state == "issued",
                        state: i18n::certificate_state_name(lang, &h.state),
                        range: h.range,
                        project: h.project,
                        month: h.month,
                        count: h.certificates,
                    })
                    .collect()
            })
            .unwrap_or_default()
    };

    let report = if settlement {
        web.get::<market::SettlementReport>(
            who,
            &format!("/api/v1/settlements/{month}?limit={LINES_SHOWN}"),
        )
        .await
        .ok()
    } else {
        None
    };
    let lines = report.as_ref().map(|r| {
        r.lines
            .iter()
            .map(|l| LineRow {
                contract: l.contract.clone(),
                volume: grouped(&l.volume_mwh),
                delivered: grouped(&l.delivered_mwh),
                env: grouped(&l.env_mwh),
                energy_yuan: grouped(&l.energy_yuan),
                env_yuan: grouped(&l.env_yuan),
                comp_yuan: grouped(&l.comp_yuan),
            })
            .collect()
    });
    let retail = report
        .iter()
        .flat_map(|r| &r.retail)
        .map(|l| RetailRow {
            retail_contract: l.retail_contract,
            user: l.user,
            demand: grouped(&l.demand_mwh),
            env: grouped(&l.env_mwh),
        })
        .collect();
    let hourly = if buyer && settlement {
        web.get::<HourlyMatchView>(who, &format!("/api/v1/hourly-match/{month}"))
            .await
            .ok()
            .map(|h| Hourly {
                consumption: grouped(&h.consumption_mwh),
                green: grouped(&h.green_supply_mwh),
                matched: grouped(&h.matched_mwh),
                percent: h.hourly_matched_percent,
            })
    } else {
        None
    };
    let listings = if settlement {
        Vec::new()
    } else {
        web.get::<Vec<CertificateListingView>>(who, "/api/v1/certificates/listings")
            .await
            .map(|ls| {
                ls.into_iter()
                    .take(HOLDINGS_SHOWN)
                    .map(|l| ListingRow {
                        own: l.owner == my_id,
                        id: l.id,
                        project: l.project,
                        month: l.month,
                        price: l.price_yuan,
                        remaining: l.remaining,
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let projects = if settlement {
        Vec::new()
    } else if me.role_code == "aggregator" || me.role_code == "generator" {
        web.get::<Vec<ProjectView>>(who, "/api/v1/projects")
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    render(
        visit,
        &MePage {
            frame,
            month,
            contracts,
            next_contracts,
            holdings,
            holdings_more,
            listings,
            lines,
            retail,
            hourly,
            projects,
            buyer,
            settlement,
        },
    )
}

#[derive(Deserialize)]
pub struct ClaimForm {
    #[serde(flatten)]
    tokens: Tokens,
    project: String,
    month: String,
    count: String,
    beneficiary: String,
}

/// `POST /me/claim`: claims (核销) certificates for a beneficiary,
/// `POST /api/v1/certificates/claim`.
pub async fn claim(
    State(web): State<Web>,
    visit: Visit,
    axum::Form(form): axum::Form<ClaimForm>,
) -> Response {
    let path = "/api/v1/certificates/claim";
    certificate_form(&web, &visit, &form.tokens, &form.count, path, |count| {
        json!({
            "project": form.project,
            "month": form.month,
            "count": count,
            "beneficiary": form.beneficiary,
        })
    })
    .await
}

#[derive(Deserialize)]
pub struct ListForm {
    #[serde(flatten)]
    tokens: Tokens,
    project: String,
    month: String,
    count: String,
    price_yuan: String,
}

/// `POST /me/listings`: lists certificates for sale (挂牌), `POST /api/v1/certificates/listings`.
pub async fn list(
    State(web): State<Web>,
    visit: Visit,
    axum::Form(form): axum::Form<ListForm>,
) -> Response {
    let path = "/api/v1/certificates/listings";
    certificate_form(&web, &visit, &form.tokens, &form.count, path, |count| {
        json!({
            "project": form.project,
            "month": form.month,
            "count": count,
            "price_yuan": form.price_yuan.trim(),
        })
    })
    .await
}

#[derive(Deserialize)]
pub struct BuyForm {
    #[serde(flatten)]
    tokens: Tokens,
    count: String,
}

/// `POST /me/listings/{id}/buy`: buys certificates of a listing (摘牌).
pub async fn buy(
    State(web): State<Web>,
    visit: Visit,
    Path(id): Path<u64>,
    axum::Form(form): axum::Form<BuyForm>,
) -> Response {
    let path = format!("/api/v1/certificates/listings/{id}/buy");
    certificate_form(
        &web,
        &visit,
        &form.tokens,
        &form.count,
        &path,
        |count| json!({"count": count}),
    )
    .await
}

/// `POST /me/listings/{id}/delist`: withdraws the visitor's listing.
pub async fn delist(
    State(web): State<Web>,
    visit: Visit,
    Path(id): Path<u64>,
    axum::Form(tokens): axum::Form<Tokens>,
) -> Response {
    if !visit.check_form(&tokens.csrf) {
        return forged(&web, &visit, "/me").await;
    }
    let path = format!("/api/v1/certificates/listings/{id}");
    match send_form::<serde_json::Value>(
        &web,
        &visit,
        &tokens,
        Method::DELETE,
        &path,
        None::<&()>,
        "/me",
    )
    .await
    {
        Ok(_) => see("/me#listings"),
        Err(refusal) => refusal,
    }
}

/// A certificate form: checked, its count read as a whole number, then one POST of the body
/// `body` makes of that count; back to the certificates.
async fn certificate_form(
    web: &Web,
    visit: &Visit,
    tokens: &Tokens,
    count: &str,
    path: &str,
    body: impl FnOnce(u32) -> serde_json::Value,
) -> Response {
    if !visit.check_form(&tokens.csrf) {
        return forged(web, visit, "/me").await;
    }
    let Some(count) = whole(count) else {
        return not_whole(web, visit, count).await;
    };
    let body = body(count);
    match send_form::<serde_json::Value>(web, visit, tokens, Method::POST, path, Some(&body), "/me")
        .await
    {
        Ok(_) => see("/me#certificates"),
        Err(refusal) => refusal,
    }
}

/// A count of certificates as typed.
fn whole(text: &str) -> Option<u32> {
    text.trim().parse().ok()
}

async fn not_whole(web: &Web, visit: &Visit, text: &str) -> Response {
    let message = format!("count: `{}` is not a whole number", domain::shown(text));
    super::refusal(web, visit, StatusCode::BAD_REQUEST, message, "/me").await
}

/// `GET /me/consumption/{YYYY-MM}.html` or `.pdf`: the visitor's green power consumption
/// certificate (绿色电力消费凭证), as the API renders it.
pub async fn consumption_certificate(
    State(web): State<Web>,
    visit: Visit,
    Path(file): Path<String>,
) -> Response {
    let (month, format) = match file.rsplit_once('.') {
        Some((m, f @ ("html" | "pdf"))) if domain::YearMonth::parse(m).is_ok() => (m, f),
        _ => {
            let message = format!(
                "`{}` is not YYYY-MM.html or YYYY-MM.pdf",
                domain::shown(&file)
            );
            return super::refusal(&web, &visit, StatusCode::NOT_FOUND, message, "/me").await;
        }
    };
    let path = format!("/api/v1/consumption-certificates/{month}?format={format}");
    match web
        .call(visit.as_caller(), Method::GET, &path, None, None)
        .await
    {
        Ok(reply) => {
            let kind = reply
                .headers
                .get(header::CONTENT_TYPE)
                .cloned()
                .unwrap_or_else(|| header::HeaderValue::from_static("application/octet-stream"));
            let disposition = format!(
                "{}; filename=\"lvdian-consumption-{month}.{format}\"",
                if format == "pdf" {
                    "attachment"
                } else {
                    "inline"
                }
            );
            (
                [
                    (header::CONTENT_TYPE, kind),
                    (
                        header::CONTENT_DISPOSITION,
                        header::HeaderValue::from_str(&disposition)
                            .unwrap_or_else(|_| header::HeaderValue::from_static("inline")),
                    ),
                ],
                reply.body,
            )
                .into_response()
        }
        Err(f) => failed(&web, &visit, f, "/me").await,
    }
}
