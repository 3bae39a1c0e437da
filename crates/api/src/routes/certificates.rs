//! Meter data, green certificates (绿证) and settlement runs over HTTP.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::YearMonth;
use domain::{Fen, Kwh, ParticipantId, ProjectCode, Role};
use registry::TransferReason;
use serde::{Deserialize, Serialize};
use settlement::ContractTerms;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use super::{Body, METER_UPLOAD_LIMIT, Path, Query, json_reply, respond_stored};
use crate::AppState;
use crate::auth::{Caller, IdempotencyKey, TRADERS};
use crate::dto::{
    CertificateClaim, CertificateListingView, CertificatePurchase, CertificateTransfer, Delisted,
    ExpiredCertificates, HoldingView, Holdings, HourlyMatchView, PdfBytes,
};
use crate::error::{ApiError, ErrorBody};

pub fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(upload_meters).layer(DefaultBodyLimit::max(METER_UPLOAD_LIMIT)))
        .routes(routes!(issue))
        .routes(routes!(holdings))
        .routes(routes!(transfer))
        .routes(routes!(claim))
        .routes(routes!(claim_lots))
        .routes(routes!(list_certificates, open_listings))
        .routes(routes!(buy_listing))
        .routes(routes!(delist))
        .routes(routes!(expire))
        .routes(routes!(settle_month))
        .routes(routes!(hourly_match))
        .routes(routes!(consumption_certificate))
}

/// A month of the market (`domain::MARKET_YEARS`): `9999-12` is well formed but refused.
pub(super) fn month_of(field: &str, text: &str) -> Result<YearMonth, ApiError> {
    let month = YearMonth::parse(text).map_err(|e| ApiError::field(field, e))?;
    settlement::check_market_month(month).map_err(|e| ApiError::field(field, e))?;
    Ok(month)
}

/// The project-month a certificate request names, checked.
fn lot(project: &str, month: &str) -> Result<(ProjectCode, YearMonth), ApiError> {
    let project = ProjectCode::parse(project).map_err(|e| ApiError::field("project", e))?;
    let ym = month_of("month", month)?;
    Ok((project, ym))
}

/// A price per certificate in yuan.
fn price_of(text: &str) -> Result<Fen, ApiError> {
    Fen::parse_yuan(text).map_err(|e| ApiError::field("price_yuan", e))
}

/// An entry's serial ranges as written in replies.
fn range_texts(entry: &registry::Entry) -> Vec<String> {
    entry.ranges().iter().map(ToString::to_string).collect()
}

/// What a meter upload stored.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MeterUpload {
    /// The month.
    pub month: String,
    /// Meters stored.
    pub meters: usize,
    /// 15-minute readings stored.
    pub readings: usize,
    /// Meters whose month was already stored: this upload is their next version.
    pub corrections: usize,
}

/// Uploads a month of 15-minute meter data (计量数据) as CSV, `meter,participant,start,kwh`, the
/// participant column holding participant ids. Grid only. A file with any bad row is refused
/// whole, every bad row named by line and field; a meter already stored for the month gets a new
/// version (a correction). Final settlements already run are not reopened.
///
/// Whose meters a file may hold (`settlement::check_upload`; refused whole, each bad meter
/// named, nothing stored): the month is within 2000-01..2099-12 and the file has data rows;
/// meter ids are 1–64 ASCII letters, digits, `-`, `_`, `.`; the participant column is the id
/// of a registered participant; a meter registered to a project is uploaded under the project's
/// owner only; a meter no project registers is a consumption meter, allowed for a `user`,
/// `retail_user` or `retailer` (sellers meter only their projects' registered meters; the grid,
/// operator and regulator none), and it belongs to the participant of its first upload; a meter
/// never changes owner by upload.
#[utoipa::path(post, path = "/api/v1/meters/{month}", tag = "certificates",
    params(("month" = String, Path, description = "YYYY-MM")),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 201, description = "Stored", body = MeterUpload), (status = 400, description = "Bad rows: the message names each", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "Only the grid uploads meter data", body = ErrorBody)),
    security(("bearer" = [])))]
async fn upload_meters(
    State(app): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Path(month): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Grid], "upload meter data")?;
    let parsed_month = month_of("month", &month)?;
    let bad = |e: &dyn std::fmt::Display| {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_meter_data", e.to_string())
    };
    // Parsing a province's month takes both cores for a second or more: off the async workers.
    let data = tokio::task::spawn_blocking(move || settlement::parse_meters(&body, parsed_month))
        .await
        .map_err(|e| ApiError::unavailable(format!("meter parsing failed: {e}")))?
        .map_err(|e| bad(&e))?;
    let facts = crate::meters::upload_facts(&app.store, &data).await?;
    settlement::check_upload(&data, &facts).map_err(|e| bad(&e))?;
    let (meters, participants) = data.into_parts();
    let months: Vec<store::MeterMonth> = meters
        .into_iter()
        .map(|m| store::MeterMonth {
            meter: m.name().to_owned(),
            month: month.clone(),
            participant: participants[m.participant()].name().to_owned(),
            kwh: m.into_intervals(),
        })
        .collect();
    let reply = |versions: &[u32]| {
        json_reply(
            StatusCode::CREATED,
            &MeterUpload {
                month: month.clone(),
                meters: months.len(),
                readings: months.iter().map(|m| m.kwh.len()).sum(),
                corrections: versions.iter().filter(|v| **v > 1).count(),
            },
        )
    };
    let versions = app
        .store
        .put_meter_months_remembered(&months, app.now_ms(), |versions| {
            key.0.as_ref().map(|k| k.remember(&reply(versions)))
        })
        .await?;
    Ok(respond_stored(reply(&versions), key.0.is_some()))
}

/// A month to act on.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonthRequest {
    /// YYYY-MM.
    pub month: String,
}

/// Every participant's and every meter's metered energy of a month (latest versions), by id
/// text (`market::meters`).
async fn metered(
    app: &AppState,
    month: YearMonth,
) -> Result<(BTreeMap<String, i64>, BTreeMap<String, i64>), ApiError> {
    let stored = app.store.meter_month_totals(&month.to_string()).await?;
    let totals = market::meters::meter_totals(
        month,
        stored
            .iter()
            .map(|(meter, participant, kwh)| market::meters::MeterTotal {
                meter,
                participant,
                kwh: *kwh,
            }),
    )
    .map_err(too_large)?;
    Ok((totals.by_participant, totals.by_meter))
}

/// A stored meter month as `market` reads it.
pub(crate) fn meter_month(m: &store::MeterMonth) -> market::meters::MeterMonth<'_> {
    market::meters::MeterMonth {
        meter: &m.meter,
        participant: &m.participant,
        kwh: &m.kwh,
    }
}

pub(crate) fn too_large(e: market::meters::MeteredTooLarge) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "metered_total_too_large",
        e.to_string(),
    )
}

/// Issues the month's certificates of every project from its meters' on-grid energy (floor to
/// MWh; the rest carries to the project's next month). Operator only.
#[utoipa::path(post, path = "/api/v1/certificates/issue", tag = "certificates", request_body = MonthRequest,
    responses((status = 201, description = "Issued", body = market::IssuanceReport), (status = 400, description = "Bad request: the message names the field", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "Operator only", body = ErrorBody), (status = 409, description = "Already issued for this month", body = ErrorBody)),
    security(("bearer" = [])))]
async fn issue(
    State(app): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Body(request): Body<MonthRequest>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Operator], "issue certificates")?;
    let ym = month_of("month", &request.month)?;
    let (_, by_meter) = metered(&app, ym).await?;
    let projects = app.store.projects().await?;
    app.certificates
        .change_replying(
            &key,
            |registry, now| {
                Ok(market::issue_month(
                    registry, &projects, &by_meter, ym, now,
                )?)
            },
            |report| json_reply(StatusCode::CREATED, &report),
        )
        .await
}

/// Whose data a read is about: the caller's own, or — for the operator and the regulator, the
/// regulator's read logged — another participant's.
async fn subject(
    app: &AppState,
    caller: &Caller,
    other: Option<u64>,
    what: &str,
) -> Result<ParticipantId, ApiError> {
    let whose = other.map_or(caller.participant().id, ParticipantId);
    match market::visibility::participant_data_access(caller.viewer(), whose) {
        market::Access::Denied(reason) => Err(ApiError::forbidden(format!(
            "a {} may not read others' {what}: {reason}",
            caller.role()
        ))),
        access => {
            if access.logged() {
                super::participants::log_regulator_read(
                    app,
                    caller,
                    &format!("{what} of participant {}", whose.0),
                )
                .await?;
            }
            Ok(whose)
        }
    }
}

/// Query of [`holdings`].
#[derive(Debug, Deserialize, IntoParams)]
struct HoldingsQuery {
    /// Another participant's holdings (operator and regulator only).
    participant: Option<u64>,
    /// Only certificates of this production month, YYYY-MM.
    month: Option<String>,
}

/// Certificates held, as serial ranges with their state: the caller's own, or (operator and
/// regulator) any participant's.
#[utoipa::path(get, path = "/api/v1/certificates", tag = "certificates", params(HoldingsQuery),
    responses((status = 200, description = "OK", body = Holdings), (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "Only the operator and regulator read others' certificates", body = ErrorBody)),
    security(("bearer" = [])))]
async fn holdings(
    State(app): State<AppState>,
    caller: Caller,
    Query(query): Query<HoldingsQuery>,
) -> Result<axum::Json<Holdings>, ApiError> {
    let whose = subject(&app, &caller, query.participant, "certificates").await?;
    let month = query
        .month
        .as_deref()
        .map(|m| month_of("month", m))
        .transpose()?;
    let holdings = app
        .certificates
        .read(|r| {
            r.holdings_of(whose, month)
                .iter()
                .map(|h| HoldingView {
                    range: h.range.to_string(),
                    project: h.range.project().to_string(),
                    month: h.range.month().to_string(),
                    certificates: h.range.count(),
                    state: h.state.as_str().to_owned(),
                    listing: h.listing.map(|l| l.0),
                })
                .collect()
        })
        .await;
    Ok(axum::Json(Holdings {
        participant: whose.0,
        holdings,
    }))
}

/// A standalone certificate trade.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The receiving participant.
    pub to: u64,
    /// The project's 17-digit filing code.
    pub project: String,
    /// Production month, YYYY-MM.
    pub month: String,
    /// How many certificates (MWh).
    pub count: u32,
    /// Price per certificate, yuan.
    pub price_yuan: String,
}

/// Transfers the caller's own issued certificates to another participant (a bilateral trade).
/// A certificate transfers at most once: certificates already transferred are refused (409).
#[utoipa::path(post, path = "/api/v1/certificates/transfer", tag = "certificates", request_body = TransferRequest,
    responses((status = 201, description = "Transferred", body = CertificateTransfer), (status = 400, description = "Bad request: the message names the field", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "This role may not trade certificates", body = ErrorBody),
        (status = 404, description = "No such project-month", body = ErrorBody), (status = 409, description = "Not enough transferable certificates", body = ErrorBody)),
    security(("bearer" = [])))]
async fn transfer(
    State(app): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Body(request): Body<TransferRequest>,
) -> Result<Response, ApiError> {
    caller.require(&TRADERS, "trade certificates")?;
    let (project, ym) = lot(&request.project, &request.month)?;
    let price = price_of(&request.price_yuan)?;
    let from = caller.participant().id;
    app.certificates
        .change_replying(
            &key,
            |r, now| {
                let entry = r.transfer(
                    from,
                    ParticipantId(request.to),
                    project,
                    ym,
                    request.count,
                    TransferReason::Bilateral {
                        price_per_cert: price,
                    },
                    now,
                )?;
                Ok(range_texts(entry))
            },
            |ranges| {
                json_reply(
                    StatusCode::CREATED,
                    &CertificateTransfer {
                        from: from.0,
                        to: request.to,
                        certificates: request.count,
                        ranges,
                    },
                )
            },
        )
        .await
}

/// A claim (核销).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    /// The project's filing code.
    pub project: String,
    /// Production month, YYYY-MM.
    pub month: String,
    /// How many certificates.
    pub count: u32,
    /// Whose consumption they cover: 1 to 200 characters, stored NFC, with the character policy
    /// of names (no control, invisible or direction-changing characters, no edge white space).
    pub beneficiary: String,
}

/// Claims (核销) certificates the caller holds for a beneficiary's consumption; claimed is final.
#[utoipa::path(post, path = "/api/v1/certificates/claim", tag = "certificates", request_body = ClaimRequest,
    responses((status = 201, description = "Claimed", body = CertificateClaim), (status = 400, description = "Bad request: the message names the field", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "This role may not claim", body = ErrorBody),
        (status = 404, description = "No such project-month", body = ErrorBody), (status = 409, description = "Not enough claimable certificates", body = ErrorBody)),
    security(("bearer" = [])))]
async fn claim(
    State(app): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Body(request): Body<ClaimRequest>,
) -> Result<Response, ApiError> {
    caller.require(&TRADERS, "claim certificates")?;
    let lot = lot(&request.project, &request.month)?;
    claim_in(
        &app,
        &caller,
        &key,
        &[(lot.0, lot.1, request.count)],
        &request.beneficiary,
        |mut claims| json_reply(StatusCode::CREATED, &claims.remove(0)),
    )
    .await
}

/// Claims `lots` for the caller (a trader, checked by the route before it read the lots) and
/// `beneficiary`, all or none, and renders the reply from each lot's claim (in order): the
/// single claim and the claim of several lots alike.
async fn claim_in(
    app: &AppState,
    caller: &Caller,
    key: &IdempotencyKey,
    lots: &[(ProjectCode, YearMonth, u32)],
    beneficiary: &str,
    render: impl FnOnce(Vec<CertificateClaim>) -> crate::hub::Reply,
) -> Result<Response, ApiError> {
    let beneficiary =
        crate::dto::parse_text(domain::TextRule::BENEFICIARY, "beneficiary", beneficiary)?;
    let holder = caller.participant().id;
    app.certificates
        .change_replying(
            key,
            |r, now| {
                let entries = r.claim_all(holder, lots, &beneficiary, now)?;
                Ok(entries.into_iter().map(range_texts).collect::<Vec<_>>())
            },
            |ranges| {
                render(
                    ranges
                        .into_iter()
                        .zip(lots)
                        .map(|(ranges, &(_, _, count))| CertificateClaim {
                            holder: holder.0,
                            certificates: count,
                            ranges,
                        })
                        .collect(),
                )
            },
        )
        .await
}

/// The most lots one claim request may carry.
const MAX_CLAIM_LOTS: usize = 10_000;

/// One lot of a claim of several: certificates of one project and production month.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimLot {
    /// The project's filing code.
    pub project: String,
    /// Production month, YYYY-MM.
    pub month: String,
    /// How many certificates (at least 1).
    pub count: u32,
}

/// Claims (核销) of several lots for one beneficiary, all or none.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimLotsRequest {
    /// The lots, 1 to 10,000; lots of the same project-month add up.
    pub lots: Vec<ClaimLot>,
    /// Whose consumption they cover (the rules of [`ClaimRequest::beneficiary`]).
    pub beneficiary: String,
}

/// Claims (核销) certificates of several project-months for one beneficiary — a month's green
/// power consumption declared at once: every lot is claimed, or none (the first lot that cannot
/// be is named). The reply lists each lot's claim in request order.
#[utoipa::path(post, path = "/api/v1/certificates/claims", tag = "certificates", request_body = ClaimLotsRequest,
    responses((status = 201, description = "Claimed, every lot", body = Vec<CertificateClaim>), (status = 400, description = "Bad request: the message names the field and lot", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "This role may not claim", body = ErrorBody),
        (status = 404, description = "No such project-month", body = ErrorBody), (status = 409, description = "Not enough claimable certificates; nothing was claimed", body = ErrorBody)),
    security(("bearer" = [])))]
async fn claim_lots(
    State(app): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Body(request): Body<ClaimLotsRequest>,
) -> Result<Response, ApiError> {
    caller.require(&TRADERS, "claim certificates")?;
    if request.lots.is_empty() || request.lots.len() > MAX_CLAIM_LOTS {
        return Err(ApiError::field(
            "lots",
            format!(
                "{} lots: a claim has 1 to {MAX_CLAIM_LOTS}",
                request.lots.len()
            ),
        ));
    }
    let lots = request
        .lots
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let project = ProjectCode::parse(&l.project)
                .map_err(|e| ApiError::field(&format!("lots[{i}].project"), e))?;
            let ym = month_of(&format!("lots[{i}].month"), &l.month)?;
            Ok((project, ym, l.count))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    claim_in(&app, &caller, &key, &lots, &request.beneficiary, |claims| {
        json_reply(StatusCode::CREATED, &claims)
    })
    .await
}

/// Certificates offered for sale (standalone trading, lot = 1 certificate).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateListingRequest {
    /// The project's filing code.
    pub project: String,
    /// Production month, YYYY-MM.
    pub month: String,
    /// How many certificates.
    pub count: u32,
    /// Price per certificate, yuan.
    pub price_yuan: String,
}

/// Lists the caller's own issued certificates for sale at a price per certificate (挂牌). Listed
/// certificates move only through a purchase of the listing, or back by delisting.
#[utoipa::path(post, path = "/api/v1/certificates/listings", tag = "certificates", request_body = CertificateListingRequest,
    responses((status = 201, description = "Listed", body = CertificateListingView), (status = 400, description = "Bad request: the message names the field", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "This role may not trade certificates", body = ErrorBody),
        (status = 404, description = "No such project-month", body = ErrorBody), (status = 409, description = "Not enough issued certificates", body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_certificates(
    State(app): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Body(request): Body<CertificateListingRequest>,
) -> Result<Response, ApiError> {
    caller.require(&TRADERS, "list certificates")?;
    let (project, ym) = lot(&request.project, &request.month)?;
    let price = price_of(&request.price_yuan)?;
    let owner = caller.participant().id;
    app.certificates
        .change_replying(
            &key,
            |r, now| {
                let id = r.list(owner, project, ym, request.count, price, now)?;
                Ok(CertificateListingView::from(
                    r.listing(id).expect("just listed"),
                ))
            },
            |listing| json_reply(StatusCode::CREATED, &listing),
        )
        .await
}

/// Open certificate listings, for every participant.
#[utoipa::path(get, path = "/api/v1/certificates/listings", tag = "certificates",
    responses((status = 200, description = "OK", body = Vec<CertificateListingView>), (status = 401, description = "No valid bearer token", body = ErrorBody)),
    security(("bearer" = [])))]
async fn open_listings(
    State(app): State<AppState>,
    _caller: Caller,
) -> axum::Json<Vec<CertificateListingView>> {
    axum::Json(
        app.certificates
            .read(|r| {
                r.open_listings()
                    .map(CertificateListingView::from)
                    .collect()
            })
            .await,
    )
}

/// How many certificates to buy.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyRequest {
    /// Certificates to buy from the listing.
    pub count: u32,
}

/// Buys certificates from a listing at its price (摘牌): they transfer to the caller, once.
#[utoipa::path(post, path = "/api/v1/certificates/listings/{listing}/buy", tag = "certificates", request_body = BuyRequest,
    params(("listing" = u64, Path, description = "Listing id")),
    responses((status = 201, description = "Bought", body = CertificatePurchase), (status = 400, description = "Bad request: the message names the field", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "This role may not trade certificates", body = ErrorBody),
        (status = 404, description = "No such listing", body = ErrorBody), (status = 409, description = "The listing is closed or has fewer left", body = ErrorBody)),
    security(("bearer" = [])))]
async fn buy_listing(
    State(app): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Path(listing): Path<u64>,
    Body(request): Body<BuyRequest>,
) -> Result<Response, ApiError> {
    caller.require(&TRADERS, "buy certificates")?;
    let buyer = caller.participant().id;
    app.certificates
        .change_replying(
            &key,
            |r, now| {
                let entry =
                    r.buy_listing(registry::ListingId(listing), buyer, request.count, now)?;
                Ok(CertificatePurchase {
                    listing,
                    buyer: buyer.0,
                    certificates: request.count,
                    ranges: range_texts(entry),
                })
            },
            |bought| json_reply(StatusCode::CREATED, &bought),
        )
        .await
}

/// Withdraws the caller's own listing; what is left returns to issued.
#[utoipa::path(delete, path = "/api/v1/certificates/listings/{listing}", tag = "certificates",
    params(("listing" = u64, Path, description = "Listing id")),
    responses((status = 200, description = "Delisted", body = Delisted), (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "Not the caller's listing", body = ErrorBody), (status = 404, description = "No such listing", body = ErrorBody), (status = 409, description = "Already closed", body = ErrorBody)),
    security(("bearer" = [])))]
async fn delist(
    State(app): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Path(listing): Path<u64>,
) -> Result<Response, ApiError> {
    caller.require(&TRADERS, "delist certificates")?;
    let owner = caller.participant().id;
    app.certificates
        .change_replying(
            &key,
            |r, now| {
                r.delist(owner, registry::ListingId(listing), now)
                    .map(drop)
                    .map_err(ApiError::from)
            },
            |()| {
                json_reply(
                    StatusCode::OK,
                    &Delisted {
                        listing,
                        status: "delisted".to_owned(),
                    },
                )
            },
        )
        .await
}

/// Expires every unclaimed certificate more than 2 years old as of `month` (certificates of
/// production month M are valid for M..M+23): they are cancelled, and their listings closed.
/// Operator only.
#[utoipa::path(post, path = "/api/v1/certificates/expire", tag = "certificates", request_body = MonthRequest,
    responses((status = 200, description = "Expired", body = ExpiredCertificates), (status = 400, description = "Bad request: the message names the field", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "Operator only", body = ErrorBody), (status = 409, description = "Nothing new to expire", body = ErrorBody)),
    security(("bearer" = [])))]
async fn expire(
    State(app): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Body(request): Body<MonthRequest>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Operator], "expire certificates")?;
    let ym = month_of("month", &request.month)?;
    app.certificates
        .change_replying(
            &key,
            |r, now| {
                let entry = r.expire(ym, now)?;
                Ok(entry
                    .ranges()
                    .iter()
                    .map(|x| u64::from(x.count()))
                    .sum::<u64>())
            },
            |cancelled| {
                json_reply(
                    StatusCode::OK,
                    &ExpiredCertificates {
                        month: request.month,
                        cancelled,
                    },
                )
            },
        )
        .await
}

/// A settlement run.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettlementRequest {
    /// YYYY-MM.
    pub month: String,
    /// A final run is recorded, moves the certificates (证电合一) and is never reopened; a draft
    /// run only computes.
    #[serde(default, rename = "final")]
    pub is_final: bool,
}

/// Settles a month (spec §5) for the contracts of published sessions of any horizon delivering
/// in it — a contract over several months settles its volume of the month, its window volume
/// shared pro rata to the months' days (spec §4, 月度分解) — against the latest meter data,
/// each contract bringing in the carry of its previous final month. Contract ids read
/// `S<session>-C<contract>`; participants are their ids. A final run moves each contract's
/// `Q_env` certificates of the seller's projects for that production month to the buyer
/// (证电合一), all in one transaction with its record, and is never reopened; it is refused if
/// the month was settled finally before, or while an earlier month in which one of its
/// contracts delivers is not final (carries chain month to month). Operator only.
#[utoipa::path(post, path = "/api/v1/settlements", tag = "certificates", request_body = SettlementRequest,
    responses((status = 200, description = "Draft computed", body = market::SettlementReport), (status = 201, description = "Final run recorded", body = market::SettlementReport),
        (status = 400, description = "Bad request: the message names the field", body = ErrorBody), (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "Operator only", body = ErrorBody), (status = 409, description = "Already settled finally, or an earlier month is not final", body = ErrorBody)),
    security(("bearer" = [])))]
async fn settle_month(
    State(app): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Body(request): Body<SettlementRequest>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Operator], "run settlements")?;
    let ym = month_of("month", &request.month)?;
    let contracts = app
        .hub
        .read_all(|sessions| market::delivering(sessions.iter().copied(), ym));
    let done: BTreeSet<YearMonth> = app
        .store
        .final_settlement_months()
        .await?
        .iter()
        .filter_map(|m| YearMonth::parse(m).ok())
        .collect();
    if request.is_final {
        if done.contains(&ym) {
            return Err(crate::certificates::already_final(&request.month));
        }
        let open = market::open_earlier_months(ym, &contracts, &done);
        if !open.is_empty() {
            let open: Vec<String> = open.iter().map(ToString::to_string).collect();
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "earlier_month_open",
                format!(
                    "{ym} cannot be settled finally before {}: contracts delivering in {ym} deliver then too, and carry their remainders from those months' final runs",
                    open.join(", ")
                ),
            ));
        }
    }
    // Only the reports the carries come from are read: a year of them is large.
    let mut finals = Vec::new();
    for m in market::carry_months(ym, &contracts) {
        let key = m.to_string();
        if let Some(stored) = app.store.final_settlement(&key).await? {
            finals.push(read_report(&key, &stored)?);
        }
    }
    let carries = market::carries_into(ym, &finals);
    let (by_participant, _) = metered(&app, ym).await?;
    let mut report = market::close_month(ym, &contracts, &carries, |p| {
        Kwh(by_participant.get(p).copied().unwrap_or(0))
    });
    let retail = app.store.retail_contracts().await?;
    report.retail = market::retail::allocate_month(&report, &contracts, &retail, ym);
    report.is_final = Some(request.is_final);
    if !request.is_final {
        return Ok((StatusCode::OK, axum::Json(report)).into_response());
    }
    let projects = app.store.projects().await?;
    // The moves, the month's record and the reply commit together, or none of them.
    app.certificates
        .settle_final(
            &key,
            &request.month,
            move |r, now| {
                let transfers =
                    market::settle_certificates(r, &report, &contracts, &projects, ym, now)?;
                Ok(market::SettlementReport {
                    transfers: Some(transfers),
                    ..report
                })
            },
            |done| {
                let record = serde_json::to_string(&done).expect("reports serialise");
                let reply = crate::hub::Reply {
                    status: StatusCode::CREATED.as_u16(),
                    body: record.clone(),
                };
                (record, reply)
            },
        )
        .await
}

/// What the final settlements of `months` settled, in their order (months not settled finally
/// are skipped).
pub(crate) async fn final_volumes(
    app: &AppState,
    months: impl IntoIterator<Item = YearMonth>,
) -> Result<Vec<market::SettledVolumes>, ApiError> {
    let mut parsing = Vec::new();
    for month in months {
        let month = month.to_string();
        if let Some(stored) = app.store.final_settlement(&month).await? {
            // Months parse on the blocking threads side by side.
            parsing.push(tokio::task::spawn_blocking(move || {
                serde_json::from_str::<market::SettledVolumes>(&stored).map_err(|e| {
                    ApiError::unavailable(format!(
                        "the final settlement of {month} is stored unreadably: {e}"
                    ))
                })
            }));
        }
    }
    let mut volumes = Vec::with_capacity(parsing.len());
    for task in parsing {
        volumes
            .push(task.await.map_err(|e| {
                ApiError::unavailable(format!("reading a final settlement: {e}"))
            })??);
    }
    Ok(volumes)
}

/// A stored final settlement record as the report it is.
pub(crate) fn read_report(month: &str, stored: &str) -> Result<market::SettlementReport, ApiError> {
    serde_json::from_str(stored).map_err(|e| {
        ApiError::unavailable(format!(
            "the final settlement of {month} is stored unreadably: {e}"
        ))
    })
}

/// Query of [`hourly_match`].
#[derive(Debug, Deserialize, IntoParams)]
struct HourlyQuery {
    /// Another participant (operator and regulator only).
    participant: Option<u64>,
}

/// Hourly matching (beyond today's monthly rules): how much of a buyer's consumption in the
/// month is covered, hour by hour, by the generation behind its green contracts — the 24/7
/// score, the unmatched consumption and the excess generation. The caller's own, or (operator,
/// regulator) any participant's.
#[utoipa::path(get, path = "/api/v1/hourly-match/{month}", tag = "certificates",
    params(("month" = String, Path, description = "YYYY-MM"), HourlyQuery),
    responses((status = 200, description = "OK", body = HourlyMatchView), (status = 400, description = "Bad request: the message names the field", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "Only the operator and regulator read others'", body = ErrorBody),
        (status = 404, description = "No meter data for the participant in that month", body = ErrorBody)),
    security(("bearer" = [])))]
async fn hourly_match(
    State(app): State<AppState>,
    caller: Caller,
    Path(month): Path<String>,
    Query(query): Query<HourlyQuery>,
) -> Result<axum::Json<HourlyMatchView>, ApiError> {
    let whose = subject(&app, &caller, query.participant, "meter data").await?;
    let ym = month_of("month", &month)?;
    let terms: Vec<ContractTerms> = app
        .hub
        .read_all(|sessions| market::delivering(sessions.iter().copied(), ym))
        .into_iter()
        .map(|c| c.terms)
        .collect();
    // The 15-minute values of the buyer and of the sellers it bought from, each summed over
    // its meters (latest versions); no other meter is read.
    let buyer = whose.0.to_string();
    let mut parties: Vec<String> = terms
        .iter()
        .filter(|c| c.buyer == buyer)
        .map(|c| c.seller.clone())
        .chain([buyer.clone()])
        .collect();
    parties.sort_unstable();
    parties.dedup();
    let totals = app.participant_totals(ym, &parties).await?;
    let m = settlement::hourly_match_with(&buyer, &terms, |p| {
        totals.get(p).cloned().flatten().map(|t| t.as_ref().clone())
    })
    .ok_or_else(|| {
        ApiError::not_found(format!(
            "participant {} has no meter data for {month}",
            whose.0
        ))
    })?;
    Ok(axum::Json(HourlyMatchView {
        month,
        participant: whose.0,
        consumption_mwh: m.consumption.mwh().to_string(),
        green_supply_mwh: m.supply.mwh().to_string(),
        matched_mwh: m.matched.mwh().to_string(),
        unmatched_mwh: m.unmatched.mwh().to_string(),
        excess_mwh: m.excess.mwh().to_string(),
        hourly_matched_percent: m.score_percent(),
    }))
}

/// Query of [`consumption_certificate`].
#[derive(Debug, Deserialize, IntoParams)]
struct DocumentQuery {
    /// `html` (default) or `pdf`.
    format: Option<String>,
}

/// The caller's green power consumption certificate (绿色电力消费凭证) for a settled month:
/// MWh, contracts and certificate serial ranges, as HTML or PDF.
#[utoipa::path(get, path = "/api/v1/consumption-certificates/{month}", tag = "certificates",
    params(("month" = String, Path, description = "Settlement month, YYYY-MM"), DocumentQuery),
    responses((status = 200, description = "The document: HTML, or with `format=pdf` a PDF", content((String = "text/html"), (inline(PdfBytes) = "application/pdf"))), (status = 400, description = "Bad request: the message names the field", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 404, description = "No certificates were transferred to the caller for this month", body = ErrorBody)),
    security(("bearer" = [])))]
async fn consumption_certificate(
    State(app): State<AppState>,
    caller: Caller,
    Path(month): Path<String>,
    Query(query): Query<DocumentQuery>,
) -> Result<Response, ApiError> {
    let ym = month_of("month", &month)?;
    let buyer = caller.participant();
    let lines = app.certificates.consumption_lines(buyer.id, ym).await?;
    if lines.is_empty() {
        return Err(ApiError::not_found(format!(
            "no certificates were transferred to participant {} for {month}",
            buyer.id.0
        )));
    }
    let document = registry::consumption_certificate(buyer.id, &buyer.name, ym, &lines)
        .map_err(|e| ApiError::unavailable(format!("cannot render the certificate: {e}")))?;
    Ok(match query.format.as_deref() {
        None | Some("html") => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            document.html,
        )
            .into_response(),
        Some("pdf") => ([(header::CONTENT_TYPE, "application/pdf")], document.pdf).into_response(),
        Some(other) => {
            return Err(ApiError::field(
                "format",
                format!("`{}` is not \"html\" or \"pdf\"", domain::shown(other)),
            ));
        }
    })
}
