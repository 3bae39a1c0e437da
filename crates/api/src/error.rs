//! The API's one error type: every failure becomes a status and `{"error": code, "message": text}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use exchange::ExchangeError;
use serde::{Deserialize, Serialize};
use store::StoreError;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// A stable snake_case code, e.g. `bad_request`, `energy_price_out_of_bounds`.
    pub error: String,
    /// What was wrong and where, for a person.
    pub message: String,
}

/// An API failure.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code.
    pub code: String,
    /// The message.
    pub message: String,
    /// Seconds to wait before retrying (sent as `Retry-After` with a 429).
    pub retry_after_s: Option<u64>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_owned(),
            message: message.into(),
            retry_after_s: None,
        }
    }

    /// 429: too many failed attempts; `Retry-After` says when to try again.
    pub fn too_many(retry_after_s: u64, message: impl Into<String>) -> ApiError {
        ApiError {
            retry_after_s: Some(retry_after_s),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message)
        }
    }

    /// 413: the body is larger than the route takes.
    pub fn too_large(limit_bytes: usize, what: &str) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is larger than the limit of {limit_bytes} bytes{what}"),
        )
    }

    /// 400: a field of the request is wrong; the message names it.
    pub fn field(field: &str, reason: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("field `{field}`: {reason}"),
        )
    }

    /// 401: no valid token.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: authenticated, but this role or participant may not do this.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 503: the store failed; nothing was acknowledged.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// The JSON body of this error.
    pub fn body(&self) -> String {
        serde_json::to_string(&ErrorBody {
            error: self.code.clone(),
            message: self.message.clone(),
        })
        .expect("error bodies serialise")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code,
            message: self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after_s {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// The status a refused engine command maps to.
pub fn exchange_status(e: &ExchangeError) -> StatusCode {
    use ExchangeError as E;
    match e {
        E::Unknown(_) => StatusCode::NOT_FOUND,
        E::RoleMayNotTrade { .. }
        | E::ProvinceOutOfScope { .. }
        | E::NotOwner { .. }
        | E::NotCounterparty { .. } => StatusCode::FORBIDDEN,
        E::WrongState { .. }
        | E::WrongMode { .. }
        | E::SequenceNotIncreasing { .. }
        | E::OrderNotLive { .. }
        | E::ListingNotOpen { .. }
        | E::ProposalNotPending { .. }
        | E::ExceedsRemaining { .. }
        | E::SessionFull { .. } => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl From<ExchangeError> for ApiError {
    fn from(e: ExchangeError) -> ApiError {
        ApiError::new(exchange_status(&e), e.code(), e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Conflict { what } => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("{what} already exists"),
            ),
            StoreError::Missing { what } => ApiError::not_found(format!("{what} does not exist")),
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::unavailable(format!("the store failed: {other}"))
            }
        }
    }
}
