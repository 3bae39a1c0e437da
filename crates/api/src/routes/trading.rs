//! Trading: orders (call auction and rolling), listings and takes, proposals and confirmations,
//! and contracts — with the visibility rules of spec §7.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::Response;
use domain::{OrderId, Participant, ParticipantId, SessionId};
use exchange::session::{Command, Session};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use super::participants::log_regulator_read;
use super::{BATCH_BODY_LIMIT, Body, Path, Query, json_reply, refusal_body, render_one, sequenced};
use crate::AppState;
use crate::auth::{Caller, IdempotencyKey, TRADERS};
use crate::dto::{
    BatchItem, BatchResult, CommandResult, ContractView, ListingRequest, ListingView,
    OrderBatchRequest, OrderRequest, OrderView, ProposalRequest, ProposalView, TakeRequest,
    contract_view, listing_view, order_view, proposal_view,
};
use crate::error::{ApiError, ErrorBody, exchange_status};
use crate::hub::{Outcome, Render};

/// The most orders one batch request may carry.
pub const MAX_BATCH_ORDERS: usize = 10_000;

pub fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(submit_order, list_orders))
        .routes(routes!(submit_batch).layer(DefaultBodyLimit::max(BATCH_BODY_LIMIT)))
        .routes(routes!(cancel_order))
        .routes(routes!(create_listing, list_listings))
        .routes(routes!(take_listing))
        .routes(routes!(withdraw_listing))
        .routes(routes!(create_proposal, list_proposals))
        .routes(routes!(confirm_proposal))
        .routes(routes!(list_contracts))
}

/// The common path of a trader's command: the route's role check, one command built from the
/// session's settings and the caller, sequenced, and rendered with `success` or the refusal.
async fn trade(
    app: &AppState,
    caller: &Caller,
    key: IdempotencyKey,
    session: u64,
    action: &str,
    success: StatusCode,
    build: impl FnOnce(&Session, &Participant) -> Result<Command, ApiError>,
) -> Result<Response, ApiError> {
    caller.require(&TRADERS, action)?;
    let by = caller.participant().clone();
    sequenced(
        app,
        session,
        caller,
        key,
        |s| Ok(vec![build(s, &by)?]),
        render_one(success),
    )
    .await
}

/// Submits one order to a call-auction (集中竞价, sealed) or rolling-matching (滚动撮合) session.
/// Generators and aggregators sell; users and retailers buy. Acknowledged once committed.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/orders", tag = "trading", request_body = OrderRequest,
    params(("id" = u64, Path, description = "Session id"), ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key returns the first result and never makes a second order")),
    responses((status = 201, description = "Created", body = CommandResult), (status = 400, description = "Bad request: the message names the field", body = ErrorBody), (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "This role or participant may not do this", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Not possible in the current state of the session", body = ErrorBody)),
    security(("bearer" = [])))]
async fn submit_order(
    State(app): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Path(id): Path<u64>,
    Body(request): Body<OrderRequest>,
) -> Result<Response, ApiError> {
    trade(
        &app,
        &caller,
        key,
        id,
        "submit orders",
        StatusCode::CREATED,
        |s, by| request.command("", &s.settings().template, by),
    )
    .await
}

/// Submits up to 10,000 orders at once. Every order is parsed and checked against the session's
/// settings first; if any is wrong, the answer is 400 naming `orders[i].field` and nothing is
/// submitted. The orders are then sequenced in request order and committed together; the reply
/// says, per order, its id or why the engine refused it.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/orders/batch", tag = "trading", request_body = OrderBatchRequest,
    params(("id" = u64, Path, description = "Session id"), ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key returns the first result")),
    responses((status = 200, description = "OK", body = BatchResult), (status = 400, description = "Bad request: the message names the field", body = ErrorBody), (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "This role or participant may not do this", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = [])))]
async fn submit_batch(
    State(app): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Path(id): Path<u64>,
    Body(request): Body<OrderBatchRequest>,
) -> Result<Response, ApiError> {
    caller.require(&TRADERS, "submit orders")?;
    if request.orders.is_empty() || request.orders.len() > MAX_BATCH_ORDERS {
        return Err(ApiError::field(
            "orders",
            format!(
                "must hold 1 to {MAX_BATCH_ORDERS} orders, not {}",
                request.orders.len()
            ),
        ));
    }
    let by = caller.participant().clone();
    let build = |s: &Session| {
        let settings = s.settings();
        request
            .orders
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let command = o.command(&format!("orders[{i}]."), &settings.template, &by)?;
                if let Command::SubmitOrder {
                    side,
                    period,
                    volume,
                    price,
                    ..
                } = &command
                {
                    let checked = settings
                        .check_participant(&by, *side)
                        .and_then(|()| settings.check_volume(*period, *volume))
                        .and_then(|()| settings.check_price(*price));
                    if let Err(e) = checked {
                        return Err(ApiError::new(
                            exchange_status(&e),
                            e.code(),
                            format!("orders[{i}]: {}", e.describe(&settings.template)),
                        ));
                    }
                }
                Ok(command)
            })
            .collect::<Result<Vec<_>, ApiError>>()
    };
    let render: Render = Box::new(|session: &Session, outcomes: &[Outcome]| {
        let items: Vec<BatchItem> = outcomes
            .iter()
            .enumerate()
            .map(|(index, outcome)| match outcome {
                Ok(events) => BatchItem {
                    index,
                    order: events.iter().find_map(|e| match e {
                        exchange::session::Event::OrderAccepted { order } => Some(order.id.0),
                        _ => None,
                    }),
                    contracts: events
                        .iter()
                        .filter(|e| matches!(e, exchange::session::Event::ContractMade(_)))
                        .count(),
                    error: None,
                },
                Err(e) => BatchItem {
                    index,
                    order: None,
                    contracts: 0,
                    error: Some(refusal_body(session, e)),
                },
            })
            .collect();
        let accepted = items.iter().filter(|i| i.order.is_some()).count();
        json_reply(
            StatusCode::OK,
            &BatchResult {
                accepted,
                refused: items.len() - accepted,
                items,
            },
        )
    });
    sequenced(&app, id, &caller, key, build, render).await
}

/// Cancels a live order (a resting rolling order, or a call-auction order before close). Only
/// its owner may.
#[utoipa::path(delete, path = "/api/v1/sessions/{id}/orders/{order}", tag = "trading",
    params(("id" = u64, Path, description = "Session id"), ("order" = u64, Path, description = "Order id")),
    responses((status = 200, description = "OK", body = CommandResult), (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "This role or participant may not do this", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Not possible in the current state of the session", body = ErrorBody)),
    security(("bearer" = [])))]
async fn cancel_order(
    State(app): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Path((id, order)): Path<(u64, u64)>,
) -> Result<Response, ApiError> {
    trade(
        &app,
        &caller,
        key,
        id,
        "cancel orders",
        StatusCode::OK,
        |_, by| {
            Ok(Command::CancelOrder {
                by: by.id,
                order: OrderId(order),
            })
        },
    )
    .await
}

/// Query of [`list_orders`].
#[derive(Debug, Deserialize, IntoParams)]
struct OrdersQuery {
    /// Only orders with an id above this one: the `after` of the `Link: <…>; rel="next"`
    /// header of the page before.
    after: Option<u64>,
    /// At most this many orders (1 to 10000). Without it, every visible order in one reply.
    limit: Option<u32>,
}

/// The most orders a page may hold.
const ORDERS_PAGE_MAX: u32 = 10_000;

/// Orders of a session, in id order. A participant sees its own. Call-auction orders are
/// sealed: the operator sees all of them until clearing and none of others' afterwards; the
/// regulator sees all, and every such read is logged. In other modes the operator sees all
/// orders. With `limit` the reply is a page, and the `Link` header names the next page when
/// more follow; a session of a million orders is better read so.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/orders", tag = "trading",
    params(("id" = u64, Path, description = "Session id"), OrdersQuery),
    responses((status = 200, description = "OK", body = Vec<OrderView>,
            headers(("Link" = String, description = "With `limit`: the next page, `<url>; rel=\"next\"`, when more orders follow"))),
        (status = 400, description = "Bad request: the message names the field", body = ErrorBody), (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "This role or participant may not do this", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_orders(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<u64>,
    Query(query): Query<OrdersQuery>,
) -> Result<Response, ApiError> {
    // No default page: without `limit`, every order.
    let limit = query
        .limit
        .map(|limit| super::page_limit(Some(limit), limit, ORDERS_PAGE_MAX))
        .transpose()?;
    // One more than the page, to know whether another follows.
    let wanted = limit.map_or(usize::MAX, |l| l as usize + 1);
    let handle = app.hub.session(SessionId(id))?;
    let (mut views, logged) = handle.read(|s| {
        let (orders, logged) = market::visibility::visible_orders_page(
            caller.viewer(),
            s,
            query.after.map(OrderId),
            wanted,
        )
        .map_err(|reason| ApiError::forbidden(format!("session {id}: {reason}")))?;
        Ok::<_, ApiError>((
            orders
                .into_iter()
                .map(|o| order_view(s, o))
                .collect::<Vec<_>>(),
            logged,
        ))
    })?;
    if logged {
        log_regulator_read(&app, &caller, &format!("GET /api/v1/sessions/{id}/orders")).await?;
    }
    let next = match limit {
        Some(limit) if views.len() > limit as usize => {
            views.truncate(limit as usize);
            let last = views.last().expect("a full page").id;
            Some(format!(
                "/api/v1/sessions/{id}/orders?after={last}&limit={limit}"
            ))
        }
        _ => None,
    };
    Ok(super::paged(views, next))
}

/// Lists a lot (挂牌) in a listing session.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/listings", tag = "trading", request_body = ListingRequest,
    params(("id" = u64, Path, description = "Session id"), ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key returns the first result")),
    responses((status = 201, description = "Created", body = CommandResult), (status = 400, description = "Bad request: the message names the field", body = ErrorBody), (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "This role or participant may not do this", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Not possible in the current state of the session", body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_listing(
    State(app): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Path(id): Path<u64>,
    Body(request): Body<ListingRequest>,
) -> Result<Response, ApiError> {
    trade(
        &app,
        &caller,
        key,
        id,
        "list lots",
        StatusCode::CREATED,
        |s, by| request.command(&s.settings().template, by),
    )
    .await
}

/// Listings of a session: open ones for every participant, its own in any state, all for the
/// operator and regulator.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/listings", tag = "trading",
    params(("id" = u64, Path, description = "Session id")),
    responses((status = 200, description = "OK", body = Vec<ListingView>), (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_listings(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<u64>,
) -> Result<axum::Json<Vec<ListingView>>, ApiError> {
    let handle = app.hub.session(SessionId(id))?;
    let viewer = caller.viewer();
    Ok(axum::Json(handle.read(|s| {
        s.listings()
            .iter()
            .filter(|l| {
                let open = l.status == exchange::listing::ListingStatus::Open;
                market::visibility::listing_visible(viewer, l.owner, open)
            })
            .map(|l| listing_view(&s.settings().template, l))
            .collect()
    })))
}

/// Takes part of a listing (摘牌), in lot multiples; first come, first served.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/listings/{listing}/take", tag = "trading", request_body = TakeRequest,
    params(("id" = u64, Path, description = "Session id"), ("listing" = u64, Path, description = "Listing id"), ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key returns the first result")),
    responses((status = 201, description = "Created", body = CommandResult), (status = 400, description = "Bad request: the message names the field", body = ErrorBody), (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "This role or participant may not do this", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Not possible in the current state of the session", body = ErrorBody)),
    security(("bearer" = [])))]
async fn take_listing(
    State(app): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Path((id, listing)): Path<(u64, u64)>,
    Body(request): Body<TakeRequest>,
) -> Result<Response, ApiError> {
    trade(
        &app,
        &caller,
        key,
        id,
        "take listings",
        StatusCode::CREATED,
        |s, by| request.command(&s.settings().template, by, listing),
    )
    .await
}

/// Withdraws what is left of one's own listing.
#[utoipa::path(delete, path = "/api/v1/sessions/{id}/listings/{listing}", tag = "trading",
    params(("id" = u64, Path, description = "Session id"), ("listing" = u64, Path, description = "Listing id")),
    responses((status = 200, description = "OK", body = CommandResult), (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "This role or participant may not do this", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Not possible in the current state of the session", body = ErrorBody)),
    security(("bearer" = [])))]
async fn withdraw_listing(
    State(app): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Path((id, listing)): Path<(u64, u64)>,
) -> Result<Response, ApiError> {
    trade(
        &app,
        &caller,
        key,
        id,
        "withdraw listings",
        StatusCode::OK,
        |_, by| Ok(Command::Withdraw { by: by.id, listing }),
    )
    .await
}

/// Proposes a bilateral contract (双边协商) to a counterparty, who must confirm it while the
/// session is open.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/proposals", tag = "trading", request_body = ProposalRequest,
    params(("id" = u64, Path, description = "Session id"), ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key returns the first result")),
    responses((status = 201, description = "Created", body = CommandResult), (status = 400, description = "Bad request: the message names the field", body = ErrorBody), (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "This role or participant may not do this", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Not possible in the current state of the session", body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_proposal(
    State(app): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Path(id): Path<u64>,
    Body(request): Body<ProposalRequest>,
) -> Result<Response, ApiError> {
    caller.require(&TRADERS, "propose contracts")?;
    let counterparty = app
        .store
        .participant(ParticipantId(request.counterparty))
        .await?
        .ok_or_else(|| {
            ApiError::field(
                "counterparty",
                format!("participant {} does not exist", request.counterparty),
            )
        })?;
    trade(
        &app,
        &caller,
        key,
        id,
        "propose contracts",
        StatusCode::CREATED,
        |s, by| request.command(&s.settings().template, by, counterparty),
    )
    .await
}

/// Proposals the caller made or must confirm (all, for the operator and regulator).
#[utoipa::path(get, path = "/api/v1/sessions/{id}/proposals", tag = "trading",
    params(("id" = u64, Path, description = "Session id")),
    responses((status = 200, description = "OK", body = Vec<ProposalView>), (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_proposals(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<u64>,
) -> Result<axum::Json<Vec<ProposalView>>, ApiError> {
    let handle = app.hub.session(SessionId(id))?;
    let viewer = caller.viewer();
    let views = handle.read(|s| {
        s.proposals()
            .iter()
            .filter(|p| market::visibility::proposal_visible(viewer, p.proposer, p.counterparty))
            .map(|p| proposal_view(&s.settings().template, p))
            .collect()
    });
    log_regulator_read(
        &app,
        &caller,
        &format!("GET /api/v1/sessions/{id}/proposals"),
    )
    .await?;
    Ok(axum::Json(views))
}

/// Confirms a proposal made to the caller, making the contract.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/proposals/{proposal}/confirm", tag = "trading",
    params(("id" = u64, Path, description = "Session id"), ("proposal" = u64, Path, description = "Proposal id"), ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key returns the first result")),
    responses((status = 201, description = "Created", body = CommandResult), (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "This role or participant may not do this", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Not possible in the current state of the session", body = ErrorBody)),
    security(("bearer" = [])))]
async fn confirm_proposal(
    State(app): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Path((id, proposal)): Path<(u64, u64)>,
) -> Result<Response, ApiError> {
    trade(
        &app,
        &caller,
        key,
        id,
        "confirm proposals",
        StatusCode::CREATED,
        |_, by| {
            Ok(Command::Confirm {
                by: by.id,
                proposal,
            })
        },
    )
    .await
}

/// Query of [`list_contracts`].
#[derive(Debug, Deserialize, IntoParams)]
struct ContractsQuery {
    /// Only this session's contracts.
    session: Option<u64>,
    /// Only contracts after this one, written `S<session>-C<contract>`: the `after` of the
    /// `Link: <…>; rel="next"` header of the page before.
    after: Option<String>,
    /// At most this many contracts (1 to 10000; 1000 when absent).
    limit: Option<u32>,
}

/// Contracts per page when the query does not say.
const CONTRACTS_PAGE: u32 = 1_000;
/// The most contracts a page may hold.
const CONTRACTS_PAGE_MAX: u32 = 10_000;

/// Contracts: a participant's own (as seller or buyer); all for the operator and regulator. In
/// pages by session, then contract id: when more follow, the `Link` header names the next page
/// (`</api/v1/contracts?after=S3-C1000&limit=1000>; rel="next"`).
#[utoipa::path(get, path = "/api/v1/contracts", tag = "trading", params(ContractsQuery),
    responses((status = 200, description = "OK", body = Vec<ContractView>,
            headers(("Link" = String, description = "The next page, `<url>; rel=\"next\"`, when more contracts follow"))),
        (status = 400, description = "Bad request: the message names the field", body = ErrorBody), (status = 401, description = "No valid bearer token", body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_contracts(
    State(app): State<AppState>,
    caller: Caller,
    Query(query): Query<ContractsQuery>,
) -> Result<Response, ApiError> {
    let limit = super::page_limit(query.limit, CONTRACTS_PAGE, CONTRACTS_PAGE_MAX)?;
    let after = match &query.after {
        None => None,
        Some(text) => Some(market::parse_contract_key(text).ok_or_else(|| {
            ApiError::field(
                "after",
                format!(
                    "`{}` is not a contract written S<session>-C<contract>",
                    domain::shown(text)
                ),
            )
        })?),
    };
    let viewer = caller.viewer();
    let wanted = limit as usize + 1;
    let mut page: Vec<(String, ContractView)> = Vec::new();
    for handle in app.hub.all() {
        let skip = query.session.is_some_and(|s| s != handle.id.0)
            || after.is_some_and(|(s, _)| handle.id < s);
        if skip || page.len() >= wanted {
            continue;
        }
        handle.read(|s| {
            let template = &s.settings().template;
            let first = match after {
                Some((session, contract)) if session == s.id() => contract.0,
                _ => 0,
            };
            page.extend(
                s.contracts()
                    .iter()
                    .filter(|c| c.id.0 > first && market::visibility::contract_visible(viewer, c))
                    .take(wanted - page.len())
                    .map(|c| {
                        (
                            market::contract_key(s.id(), c.id),
                            contract_view(template, c),
                        )
                    }),
            );
        });
    }
    if market::visibility::contracts_access(viewer).logged() {
        log_regulator_read(&app, &caller, "GET /api/v1/contracts").await?;
    }
    let more = page.len() > limit as usize;
    page.truncate(limit as usize);
    let next = more.then(|| {
        let session = query
            .session
            .map_or(String::new(), |s| format!("&session={s}"));
        let last = &page.last().expect("a full page").0;
        format!("/api/v1/contracts?after={last}&limit={limit}{session}")
    });
    let views: Vec<ContractView> = page.into_iter().map(|(_, v)| v).collect();
    Ok(super::paged(views, next))
}
