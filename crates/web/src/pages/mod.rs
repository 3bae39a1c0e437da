//! The pages: each handler asks the API for what it shows, as the visitor, and renders a
//! template. Forms post here, are checked ([`crate::visit`]), become one API call, and answer
//! with a redirect to the page that shows the result, or with the API's refusal.

pub mod account;
pub mod me;
pub mod network;
pub mod operator;
pub mod overview;
pub mod sessions;

use askama::Template;
use axum::http::{Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::Web;
use crate::assets;
use crate::client::Failure;
use crate::i18n::{self, Lang, Texts};
use crate::visit::{self, Visit};

/// The signed-in visitor, as the page header shows it.
pub struct Me {
    /// Participant id.
    pub id: u64,
    /// Registered name.
    pub name: String,
    /// The role's code (`user`, `operator`, …).
    pub role_code: String,
    /// The role by name.
    pub role: String,
    /// Whether the visitor runs the exchange.
    pub operator: bool,
}

/// What every page's frame (header, navigation, scripts) needs.
pub struct Frame {
    /// The texts of the page's language.
    pub t: &'static Texts,
    /// The other language's code, for the switch.
    pub other_lang: &'static str,
    /// This page's path, percent-encoded, for the language switch to come back to.
    pub back: String,
    /// The visit's anti-forgery token, for the forms.
    pub csrf: String,
    /// The signed-in visitor.
    pub me: Option<Me>,
    /// The navigation entry of the page.
    pub nav: &'static str,
    /// Whether the page draws charts (loads ECharts).
    pub charts: bool,
    /// Served names of the files.
    pub echarts: &'static str,
    pub js: &'static str,
    pub css: &'static str,
}

impl Frame {
    /// The visitor as an API caller: with its token when the token is valid, else anonymous
    /// (a stale cookie shows the public pages signed out rather than refused).
    pub fn caller<'a>(&self, visit: &'a Visit) -> crate::client::As<'a> {
        if self.me.is_some() {
            visit.as_caller()
        } else {
            visit.anonymous()
        }
    }

    /// A fresh idempotency key for a form.
    pub fn nonce(&self) -> String {
        visit::random_hex()
    }
}

/// The frame of a page: asks the API who the visitor is when a token is set (an unknown or
/// stale token shows the page signed out).
pub async fn frame(web: &Web, visit: &Visit, nav: &'static str) -> Frame {
    let me = match visit.token {
        Some(_) => web
            .get::<api::dto::participants::ParticipantView>(
                visit.as_caller(),
                "/api/v1/participants/me",
            )
            .await
            .ok()
            .map(|p| Me {
                id: p.id,
                role: i18n::role_name(visit.lang, &p.role),
                operator: p.role == "operator",
                role_code: p.role,
                name: p.name,
            }),
        None => None,
    };
    Frame {
        t: visit.lang.texts(),
        other_lang: match visit.lang {
            Lang::Zh => "en",
            Lang::En => "zh",
        },
        back: percent_encode(&visit.path),
        csrf: visit.csrf.clone(),
        me,
        nav,
        charts: false,
        echarts: assets::ECHARTS,
        js: assets::APP_JS,
        css: assets::APP_CSS,
    }
}

/// Renders a page template.
pub fn render(visit: &Visit, page: &impl Template) -> Response {
    render_with(visit, StatusCode::OK, page)
}

/// Renders a page template with a status.
pub fn render_with(visit: &Visit, status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => visit.finish((status, Html(html))),
        Err(e) => {
            tracing::error!("a page did not render: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page did not render").into_response()
        }
    }
}

/// The page that says why something could not be done.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub frame: Frame,
    pub message: String,
    pub back: String,
}

/// Renders a refusal: the API's message (or ours) with a link back.
pub async fn refusal(
    web: &Web,
    visit: &Visit,
    status: StatusCode,
    message: String,
    back: &str,
) -> Response {
    let frame = frame(web, visit, "").await;
    render_with(
        visit,
        status,
        &ErrorPage {
            frame,
            message,
            back: back.to_owned(),
        },
    )
}

/// Renders an API failure.
pub async fn failed(web: &Web, visit: &Visit, failure: Failure, back: &str) -> Response {
    let message = if failure.status == StatusCode::UNAUTHORIZED {
        visit.lang.texts().sign_in_first.to_owned()
    } else {
        failure.message
    };
    refusal(web, visit, failure.status, message, back).await
}

/// The refusal of a form that is not the visit's own.
pub async fn forged(web: &Web, visit: &Visit, back: &str) -> Response {
    let message = visit.lang.texts().forged.to_owned();
    refusal(web, visit, StatusCode::FORBIDDEN, message, back).await
}

/// What every form that acts carries, flattened into it: the visit's anti-forgery token and
/// the form's own idempotency key. A missing one is empty, so the form is refused as forged
/// ([`Visit::check_form`]) rather than as malformed.
#[derive(Debug, Deserialize)]
pub struct Tokens {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub nonce: String,
}

/// A form's one API call as the visitor, with the form's nonce as its idempotency key (so a
/// form sent twice acts once); a refusal becomes the page that says why, linking to `back`.
/// The caller has checked the form ([`Visit::check_form`]) first.
pub async fn send_form<T: DeserializeOwned>(
    web: &Web,
    visit: &Visit,
    tokens: &Tokens,
    method: Method,
    path: &str,
    body: Option<&impl Serialize>,
    back: &str,
) -> Result<T, Response> {
    match web
        .send::<T>(visit.as_caller(), method, path, body, &tokens.nonce)
        .await
    {
        Ok(reply) => Ok(reply),
        Err(f) => Err(failed(web, visit, f, back).await),
    }
}

/// After a form did what it asked: see the page that shows it.
pub fn see(path: &str) -> Response {
    Redirect::to(path).into_response()
}

/// Headers of every page: no framing by other sites, scripts and styles only from here.
pub async fn security_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        axum::http::HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        axum::http::HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        axum::http::HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(
            header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
    }
    response
}

/// Percent-encodes everything of a path and query but unreserved characters and `/`.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A path of this site to go back to: starts with one `/`, no backslash, no control character;
/// anything else is `/` (so a link cannot send the visitor to another site).
pub fn local_path(path: &str) -> &str {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && !path.bytes().any(|b| b == b'\\' || b.is_ascii_control());
    if ok { path } else { "/" }
}

/// Milliseconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS` UTC.
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = domain::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path("/sessions/3"), "/sessions/3");
        assert_eq!(local_path("//evil.example/"), "/");
        assert_eq!(local_path("https://evil.example/"), "/");
        assert_eq!(local_path("/\\evil.example"), "/");
        assert_eq!(local_path(""), "/");
        assert_eq!(percent_encode("/a b?x=1&y"), "/a%20b%3Fx%3D1%26y");
    }

    #[test]
    fn times_are_written_in_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
    }
}
