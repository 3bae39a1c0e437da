//! The handlers, grouped by what they touch, and the plumbing they share.

mod certificates;
mod network;
mod participants;
mod sessions;
mod system;
mod trading;

use axum::extract::{FromRequest, Request};
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

/// Every route of the API.
pub fn all(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    let router = system::routes(router);
    let router = participants::routes(router);
    let router = sessions::routes(router);
    let router = trading::routes(router);
    let router = network::routes(router);
    certificates::routes(router)
}

/// A JSON request body whose errors become 400 `bad_request` naming the field.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Body<T>, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                rejection.body_text(),
            )),
        }
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
    let key = key.0.map(|k| (caller.participant().id, k));
    let reply = handle.submit(commands, key, render).await?;
    Ok(respond(reply))
}

/// Runs a write that is not sequenced (registering participants, projects, sessions) under an
/// idempotency key: a remembered reply is returned as it was; a new reply is remembered.
pub async fn remembered<F>(
    app: &AppState,
    caller: &Caller,
    key: IdempotencyKey,
    write: F,
) -> Result<Response, ApiError>
where
    F: AsyncFnOnce() -> Result<Reply, ApiError>,
{
    let participant = caller.participant().id;
    if let Some(k) = &key.0
        && let Some(found) = app.store.idempotent(participant, k).await?
    {
        crate::metrics::Metrics::inc(&app.metrics.idempotent_replays);
        return Ok(respond(Reply {
            status: found.status,
            body: found.body,
        }));
    }
    let reply = write().await?;
    if let Some(k) = key.0 {
        app.store
            .remember(&store::StoredResponse {
                participant,
                key: k,
                status: reply.status,
                body: reply.body.clone(),
            })
            .await?;
    }
    Ok(respond(reply))
}
