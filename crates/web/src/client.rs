//! The JSON API, called in-process as the visitor: the same router, middleware and checks as a
//! request from outside, with the visitor's token as its bearer token and the visitor's address
//! as its client address (so failed sign-ins count against it). What a page shows is what the
//! API answered this caller.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower::ServiceExt;

use crate::Web;

/// The most bytes of an API reply a page reads (a consumption certificate's PDF is the largest).
const REPLY_LIMIT: usize = 64 << 20;

/// Who calls: a token, or nobody; and from where.
#[derive(Debug, Clone, Copy)]
pub struct As<'a> {
    /// The bearer token.
    pub token: Option<&'a str>,
    /// The visitor's address.
    pub client: Option<SocketAddr>,
}

/// A refusal or failure of the API, as its error body says.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code, e.g. `not_published`.
    pub code: String,
    /// What was wrong, for a person.
    pub message: String,
}

impl Failure {
    fn internal(message: impl Into<String>) -> Failure {
        Failure {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal".to_owned(),
            message: message.into(),
        }
    }
}

/// A successful reply: its headers and body.
pub struct Reply {
    /// Headers (`Content-Type`, `Link`).
    pub headers: HeaderMap,
    /// The body.
    pub body: axum::body::Bytes,
}

impl Web {
    /// Sends one request to the API.
    pub async fn call(
        &self,
        who: As<'_>,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        idempotency_key: Option<&str>,
    ) -> Result<Reply, Failure> {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = who.token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let mut request = request
            .body(Body::from(body.unwrap_or_default()))
            .map_err(|e| Failure::internal(format!("request: {e}")))?;
        if let Some(addr) = who.client {
            request.extensions_mut().insert(ConnectInfo(addr));
        }
        let response = self
            .api
            .clone()
            .oneshot(request)
            .await
            .map_err(|e| Failure::internal(format!("{e}")))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), REPLY_LIMIT)
            .await
            .map_err(|e| Failure::internal(format!("reply: {e}")))?;
        if status.is_success() {
            return Ok(Reply { headers, body });
        }
        Err(
            match serde_json::from_slice::<api::error::ErrorBody>(&body) {
                Ok(e) => Failure {
                    status,
                    code: e.error,
                    message: e.message,
                },
                Err(_) => Failure {
                    status,
                    code: "http".to_owned(),
                    message: String::from_utf8_lossy(&body).into_owned(),
                },
            },
        )
    }

    /// `GET path`, its JSON read as `T`.
    pub async fn get<T: DeserializeOwned>(&self, who: As<'_>, path: &str) -> Result<T, Failure> {
        let reply = self.call(who, Method::GET, path, None, None).await?;
        parse(&reply.body)
    }

    /// `method path` with a JSON body and an idempotency key, its JSON reply read as `T`.
    pub async fn send<T: DeserializeOwned>(
        &self,
        who: As<'_>,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
        idempotency_key: &str,
    ) -> Result<T, Failure> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| Failure::internal(format!("request: {e}")))?;
        let reply = self
            .call(who, method, path, body, Some(idempotency_key))
            .await?;
        parse(&reply.body)
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(body).map_err(|e| Failure::internal(format!("reply: {e}")))
}
