//! The network registry: the corridors (输电通道) between provinces, kept by the operator and
//! public to read. Coupled sessions created without corridors copy the ones joining their
//! provinces (see `NewSessionRequest::corridors`).

use axum::extract::State;
use axum::http::StatusCode;
use domain::Role;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Body, Path};
use crate::AppState;
use crate::auth::Caller;
use crate::dto::{NetworkCorridorRequest, NetworkCorridorView, corridor_ends};
use crate::error::{ApiError, ErrorBody};

pub fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(list_corridors))
        .routes(routes!(put_corridor, delete_corridor))
}

/// Every registered corridor, sorted by (from, to). Public.
#[utoipa::path(get, path = "/api/v1/network/corridors", tag = "network",
    responses((status = 200, description = "OK", body = Vec<NetworkCorridorView>)))]
async fn list_corridors(
    State(app): State<AppState>,
) -> Result<axum::Json<Vec<NetworkCorridorView>>, ApiError> {
    Ok(axum::Json(
        app.store
            .corridors()
            .await?
            .iter()
            .map(NetworkCorridorView::from)
            .collect(),
    ))
}

/// Registers the corridor from `from` to `to`, or replaces its capacity, loss and tariff.
/// Sessions already created keep the corridors they copied. Operator only.
#[utoipa::path(put, path = "/api/v1/network/corridors/{from}/{to}", tag = "network",
    request_body = NetworkCorridorRequest,
    params(("from" = String, Path, description = "Sending province, e.g. QH"), ("to" = String, Path, description = "Receiving province, e.g. ZJ")),
    responses((status = 200, description = "The corridor as registered", body = NetworkCorridorView), (status = 400, description = "Bad request: the message names the field", body = ErrorBody), (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "This role or participant may not do this", body = ErrorBody)),
    security(("bearer" = [])))]
async fn put_corridor(
    State(app): State<AppState>,
    caller: Caller,
    Path((from, to)): Path<(String, String)>,
    Body(request): Body<NetworkCorridorRequest>,
) -> Result<axum::Json<NetworkCorridorView>, ApiError> {
    caller.require(&[Role::Operator], "change the network")?;
    let corridor = request.parse(&from, &to, caller.participant().id, app.now_ms())?;
    app.store.put_corridor(&corridor).await?;
    tracing::info!(from = %corridor.from, to = %corridor.to, "corridor registered");
    Ok(axum::Json(NetworkCorridorView::from(&corridor)))
}

/// Removes the corridor from `from` to `to`. Sessions already created keep the corridors they
/// copied. Operator only.
#[utoipa::path(delete, path = "/api/v1/network/corridors/{from}/{to}", tag = "network",
    params(("from" = String, Path, description = "Sending province, e.g. QH"), ("to" = String, Path, description = "Receiving province, e.g. ZJ")),
    responses((status = 204, description = "Removed"), (status = 400, description = "Bad request: the message names the field", body = ErrorBody), (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "This role or participant may not do this", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_corridor(
    State(app): State<AppState>,
    caller: Caller,
    Path((from, to)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    caller.require(&[Role::Operator], "change the network")?;
    let (from, to) = corridor_ends(&from, &to)?;
    if !app.store.delete_corridor(&from, &to).await? {
        return Err(ApiError::not_found(format!(
            "no corridor from {from} to {to} is registered"
        )));
    }
    tracing::info!(%from, %to, "corridor removed");
    Ok(StatusCode::NO_CONTENT)
}
