//! The handlers, grouped by what they touch, and the plumbing they share.

pub(crate) mod certificates;
mod network;
mod participants;
mod retail;
mod sessions;
mod system;
mod trading;

pub use trading::MAX_BATCH_ORDERS;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::SessionId;
use exchange::session::{Command, Event, Session};
use serde::de::DeserializeOwned;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::auth::{Caller, IdempotencyKey};
use crate::dto::{CommandResult, contract_view, order_view};
use crate::error::{ApiError, ErrorBody, exchange_status};
use crate::hub::{Outcome, Render, Reply};
use crate::idempotency::Remembered;

/// Every route of the API.
pub fn all(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    let router = system::routes(router);
    let router = participants::routes(router);
    let router = sessions::routes(router);
    let router = trading::routes(router);
    let router = network::routes(router);
    let router = retail::routes(router);
    certificates::routes(router)
}

/// The body limit of an ordinary request (a JSON document of a few orders or a settlement run).
pub const BODY_LIMIT: usize = 2 << 20;
/// The body limit of `POST /sessions/{id}/orders/batch`: room for far more than
/// [`trading::MAX_BATCH_ORDERS`] orders, so that a batch over that count is told about the count.
pub const BATCH_BODY_LIMIT: usize = 32 << 20;
/// The body limit of `POST /meters/{month}` (a province's month is about 2 GB of CSV; split bigger
/// uploads by meter).
pub const METER_UPLOAD_LIMIT: usize = 1 << 30;

/// The body limit of a route, by its path (one place for the limits the routes are given and the
/// ones the idempotency layer reads a body with).
pub fn body_limit(path: &str) -> usize {
    if path.starts_with("/api/v1/meters/") {
        METER_UPLOAD_LIMIT
    } else if path.ends_with("/orders/batch") {
        BATCH_BODY_LIMIT
    } else {
        BODY_LIMIT
    }
}

/// The 413 for a body over its route's limit.
pub fn too_large(path: &str) -> ApiError {
    let what = if path.ends_with("/orders/batch") {
        format!(
            " (a batch holds at most {} orders)",
            trading::MAX_BATCH_ORDERS
        )
    } else {
        String::new()
    };
    ApiError::too_large(body_limit(path), &what)
}

/// A JSON request body whose errors become 400 `bad_request` naming the field, or 413 over the
/// route's body limit.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Body<T>, ApiError> {
        let path = request.uri().path().to_owned();
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(too_large(&path))
            }
            // A body that is not JSON, not of the request's shape, or not declared as JSON
            // (axum says 415 or 422 for some of these) is one kind of refusal here: 400 naming
            // what is wrong; 422 is kept for a reused idempotency key.
            Err(rejection) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                rejection.body_text(),
            )),
        }
    }
}

/// Path parameters whose rejections are the JSON error body (400 naming the parameter).
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Path<T>, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => Err(path_refusal(parts, rejection)),
        }
    }
}

/// A page as JSON, with `Link: <next>; rel="next"` when another page follows (`next` is that
/// page's path and query). A link that is not ASCII (a cursor from stored text) is left out,
/// which ends the pages.
pub(crate) fn paged<T: serde::Serialize>(page: T, next: Option<String>) -> Response {
    let mut response = axum::response::IntoResponse::into_response(axum::Json(page));
    if let Some(next) = next
        && let Ok(value) = axum::http::HeaderValue::from_str(&format!("<{next}>; rel=\"next\""))
    {
        response
            .headers_mut()
            .insert(axum::http::header::LINK, value);
    }
    response
}

/// A page's `limit` query: `default` when absent, refused (naming the field) outside
/// `1..=max`.
pub(crate) fn page_limit(limit: Option<u32>, default: u32, max: u32) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(ApiError::field(
            "limit",
            format!("{limit} is not from 1 to {max}"),
        ));
    }
    Ok(limit)
}

/// The 400 for a path parameter that does not parse, naming the parameter.
fn path_refusal(parts: &Parts, rejection: axum::extract::rejection::PathRejection) -> ApiError {
    use axum::extract::path::ErrorKind;
    use axum::extract::rejection::PathRejection;
    // The route's parameter names, in order, from its pattern (`/sessions/{id}/orders/{order}`).
    let names: Vec<&str> = parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .map(|m| {
            m.as_str()
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect()
        })
        .unwrap_or_default();
    let named = |name: &str, value: &str, expected: &str| {
        ApiError::field(name, format!("`{value}` is not a valid {expected}"))
    };
    if let PathRejection::FailedToDeserializePathParams(failed) = &rejection {
        match failed.kind() {
            ErrorKind::ParseErrorAtKey {
                key,
                value,
                expected_type,
            } => {
                return named(key, value, expected_type);
            }
            ErrorKind::ParseErrorAtIndex {
                index,
                value,
                expected_type,
            } => {
                if let Some(name) = names.get(*index) {
                    return named(name, value, expected_type);
                }
            }
            ErrorKind::ParseError {
                value,
                expected_type,
            } if names.len() == 1 => {
                return named(names[0], value, expected_type);
            }
            _ => {}
        }
    }
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_request",
        format!("path: {}", rejection.body_text()),
    )
}

/// Query parameters whose rejections are the JSON error body (400 naming the parameter).
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Query<T>, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|rejection| {
                // axum says "Failed to deserialize query string: levels: invalid digit …".
                let text = rejection.body_text();
                let detail = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                match detail.split_once(": ") {
                    Some((field, reason))
                        if !field.is_empty()
                            && field
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
                    {
                        ApiError::field(field, reason)
                    }
                    _ => ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "bad_request",
                        format!("query: {detail}"),
                    ),
                }
            })
    }
}

/// A JSON response from a rendered reply.
pub fn respond(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        reply.body,
    )
        .into_response()
}

/// The response of a reply that was stored under the request's idempotency key together with
/// its effect (`stored`), marked so that the idempotency layer does not write it again.
pub fn respond_stored(reply: Reply, stored: bool) -> Response {
    let mut response = respond(reply);
    if stored {
        response.extensions_mut().insert(Remembered);
    }
    response
}

/// A JSON reply.
pub fn json_reply<T: serde::Serialize>(status: StatusCode, value: &T) -> Reply {
    Reply {
        status: status.as_u16(),
        body: serde_json::to_string(value).expect("views serialise"),
    }
}

/// The body of a refused command, with periods written as the session's labels.
pub fn refusal_body(session: &Session, e: &exchange::ExchangeError) -> ErrorBody {
    ErrorBody {
        error: e.code().to_owned(),
        message: e.describe(&session.settings().template),
    }
}

/// The reply to a refused command.
pub fn refusal(session: &Session, e: &exchange::ExchangeError) -> Reply {
    json_reply(exchange_status(e), &refusal_body(session, e))
}

/// Renders the outcome of one command: the refusal, or what it made.
pub fn render_one(success: StatusCode) -> Render {
    Box::new(
        move |session: &Session, outcomes: &[Outcome]| match &outcomes[0] {
            Err(e) => refusal(session, e),
            Ok(events) => json_reply(success, &command_result(session, events)),
        },
    )
}

/// What a command made, from its events.
pub fn command_result(session: &Session, events: &[Event]) -> CommandResult {
    let template = &session.settings().template;
    let mut result = CommandResult {
        state: session.state().as_str().to_owned(),
        order: None,
        created: None,
        contracts: Vec::new(),
    };
    for event in events {
        match event {
            Event::OrderAccepted { order } => result.order = Some(order_view(session, order)),
            Event::ContractMade(c) => result.contracts.push(contract_view(template, c)),
            Event::ListingOpened(l) => result.created = Some(l.id),
            Event::ProposalMade(p) => result.created = Some(p.id),
            _ => {}
        }
    }
    result
}

/// Sends the commands that `build` makes (from the session as it stands) through the session's
/// sequencer, and answers once they are committed.
pub async fn sequenced(
    app: &AppState,
    session: u64,
    caller: &Caller,
    key: IdempotencyKey,
    build: impl FnOnce(&Session) -> Result<Vec<Command>, ApiError>,
    render: Render,
) -> Result<Response, ApiError> {
    let handle = app.hub.session(SessionId(session))?;
    let commands = handle.read(build)?;
    debug_assert!(
        key.0
            .as_ref()
            .is_none_or(|k| k.participant == caller.participant().id)
    );
    let stored = key.0.is_some();
    let reply = handle.submit(commands, key.0, render).await?;
    Ok(respond_stored(reply, stored))
}
