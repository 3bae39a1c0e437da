//! Retail contracts (零售合同) and what participants may read of final settlements.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use domain::Role;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Body, Path, Query, json_reply, respond_stored};
use crate::AppState;
use crate::auth::{Caller, IdempotencyKey};
use crate::dto::{RetailContractRequest, RetailContractView};
use crate::error::{ApiError, ErrorBody};

pub fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(create_retail_contract, list_retail_contracts))
        .routes(routes!(final_settlement))
}

/// Registers a retail contract of the calling retailer (售电公司) with one of its retail users:
/// a monthly green demand in whole MWh over a span of months at an agreed environmental price.
/// Each month's final settlement shares the retailer's settled environmental value among its
/// retail users by these (higher agreed prices first when short). A retail user has one
/// retailer at a time. Retailers only.
#[utoipa::path(post, path = "/api/v1/retail-contracts", tag = "retail", request_body = RetailContractRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first result")),
    responses((status = 201, description = "Registered", body = RetailContractView), (status = 400, description = "Bad request: the message names the field", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "Retailers only", body = ErrorBody),
        (status = 409, description = "The user buys through another retailer in an overlapping month", body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_retail_contract(
    State(app): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Body(request): Body<RetailContractRequest>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Retailer], "register retail contracts")?;
    let contract = request.parse(caller.participant().id, app.now_ms())?;
    let user = app.store.participant(contract.user).await?.ok_or_else(|| {
        ApiError::field(
            "user",
            format!("participant {} does not exist", contract.user.0),
        )
    })?;
    let existing = app.store.retail_contracts().await?;
    market::retail::check_new(&contract, caller.participant(), &user, &existing).map_err(|e| {
        match e {
            market::retail::RetailError::Overlap { .. } => {
                ApiError::new(StatusCode::CONFLICT, "retail_overlap", e.to_string())
            }
            market::retail::RetailError::Invalid { field, reason } => {
                ApiError::field(field, reason)
            }
        }
    })?;
    let reply = |stored: &domain::RetailContract| {
        json_reply(StatusCode::CREATED, &RetailContractView::from(stored))
    };
    let stored = app
        .store
        .insert_retail_contract_remembered(&contract, |stored| {
            key.0.as_ref().map(|k| k.remember(&reply(stored)))
        })
        .await?;
    Ok(respond_stored(reply(&stored), key.0.is_some()))
}

/// Retail contracts: a retailer's or retail user's own; all for the operator and the regulator
/// (whose read is logged).
#[utoipa::path(get, path = "/api/v1/retail-contracts", tag = "retail",
    responses((status = 200, description = "OK", body = Vec<RetailContractView>), (status = 401, description = "No valid bearer token", body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_retail_contracts(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Vec<RetailContractView>>, ApiError> {
    let viewer = caller.viewer();
    let access = market::visibility::records_access(viewer);
    let contracts = app.store.retail_contracts().await?;
    if access.logged() {
        super::participants::log_regulator_read(&app, &caller, "GET /api/v1/retail-contracts")
            .await?;
    }
    Ok(axum::Json(
        contracts
            .iter()
            .filter(|c| access.admits(viewer, &[c.retailer, c.user]))
            .map(RetailContractView::from)
            .collect(),
    ))
}

/// Query of [`final_settlement`].
#[derive(Debug, Deserialize, IntoParams)]
struct SettlementPageQuery {
    /// Only what comes after this item, written `line:<contract>` or `retail:<retail contract>`:
    /// the `after` of the `Link: <…>; rel="next"` header of the page before.
    after: Option<String>,
    /// At most this many lines and retail allocations (1 to 10000; 1000 when absent).
    limit: Option<u32>,
}

/// Lines and allocations per page when the query does not say.
const SETTLEMENT_PAGE: u32 = 1_000;
/// The most a page may hold.
const SETTLEMENT_PAGE_MAX: u32 = 10_000;

/// A month's final settlement as the caller may read it (spec §7): the lines of its own
/// contracts (as seller or buyer), their certificate transfers and the retail allocations it is
/// party to (as retailer or retail user); everything for the operator and the regulator (whose
/// read is logged). In pages: the lines by contract (each with its transfers), then the retail
/// allocations; when more follow, the `Link` header names the next page
/// (`</api/v1/settlements/2024-03?after=line:S3-C1000&limit=1000>; rel="next"`).
#[utoipa::path(get, path = "/api/v1/settlements/{month}", tag = "certificates",
    params(("month" = String, Path, description = "YYYY-MM"), SettlementPageQuery),
    responses((status = 200, description = "OK", body = market::SettlementReport,
            headers(("Link" = String, description = "The next page, `<url>; rel=\"next\"`, when more follow"))),
        (status = 400, description = "Bad request: the message names the field", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 404, description = "The month has no final settlement", body = ErrorBody)),
    security(("bearer" = [])))]
async fn final_settlement(
    State(app): State<AppState>,
    caller: Caller,
    Path(month): Path<String>,
    Query(query): Query<SettlementPageQuery>,
) -> Result<Response, ApiError> {
    let limit = super::page_limit(query.limit, SETTLEMENT_PAGE, SETTLEMENT_PAGE_MAX)?;
    let after = match &query.after {
        None => None,
        Some(text) => Some(market::SettlementCursor::parse(text).ok_or_else(|| {
            ApiError::field(
                "after",
                format!(
                    "`{}` is not `line:<contract>` or `retail:<retail contract>`",
                    domain::shown(text)
                ),
            )
        })?),
    };
    let ym = super::certificates::month_of("month", &month)?;
    let settled = app.settled_month(ym).await?;
    let viewer = caller.viewer();
    if market::visibility::contracts_access(viewer).logged() {
        super::participants::log_regulator_read(
            &app,
            &caller,
            &format!("GET /api/v1/settlements/{ym}"),
        )
        .await?;
    }
    let visible = market::visibility::visible_settlement(viewer, &settled.report, |contract| {
        settled.parties.get(contract).copied()
    });
    let (page, next) = visible.page(after.as_ref(), limit as usize);
    // Contract keys are ASCII; a cursor that is not (from a stored report) ends the pages.
    let next = next.map(|next| format!("/api/v1/settlements/{ym}?after={next}&limit={limit}"));
    Ok(super::paged(page, next))
}
