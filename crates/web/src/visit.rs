//! A visit: the visitor's cookies (token, language, anti-forgery token) and address, and the
//! checks every form post passes.
//!
//! - `lvd_token`: the API token the visitor signed in with. HttpOnly (no script reads it),
//!   SameSite=Strict (no other site's page sends it), Path=/.
//! - `lvd_csrf`: 32 random bytes, hex, made on the first visit; every form carries the same
//!   value in a hidden `csrf` field. Another site can neither read the cookie nor send it
//!   (SameSite=Strict), so it cannot make a form that passes [`Visit::check_form`]. A post whose
//!   `Sec-Fetch-Site` says it came from another site is refused as well.
//! - `lvd_lang`: `zh` (default) or `en`.
//!
//! Each form also carries a fresh `nonce` that is sent to the API as the `Idempotency-Key`, so a
//! form sent twice (a double click, a reload after a lost reply) acts once.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};

use crate::client::As;
use crate::i18n::Lang;

/// The token cookie.
pub const TOKEN_COOKIE: &str = "lvd_token";
/// The anti-forgery cookie.
pub const CSRF_COOKIE: &str = "lvd_csrf";
/// The language cookie.
pub const LANG_COOKIE: &str = "lvd_lang";

/// The longest token the sign-in form accepts (an API token is 68 characters).
pub const MAX_TOKEN_LEN: usize = 128;

/// What a request brings.
#[derive(Debug, Clone)]
pub struct Visit {
    /// The page language.
    pub lang: Lang,
    /// The signed-in visitor's API token.
    pub token: Option<String>,
    /// The visit's anti-forgery token.
    pub csrf: String,
    /// Whether `csrf` was made for this request (and must be set as a cookie).
    csrf_is_new: bool,
    /// Whether the browser said the request came from another site.
    cross_site: bool,
    /// The visitor's address.
    pub client: Option<SocketAddr>,
    /// The path and query of this page, for links back to it.
    pub path: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Visit {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Visit, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let lang = jar
            .get(LANG_COOKIE)
            .and_then(|c| Lang::parse(c.value()))
            .unwrap_or_default();
        let token = jar
            .get(TOKEN_COOKIE)
            .map(|c| c.value().to_owned())
            .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN_LEN);
        let (csrf, csrf_is_new) = match jar.get(CSRF_COOKIE).map(|c| c.value()) {
            Some(v) if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) => {
                (v.to_owned(), false)
            }
            _ => (random_hex(), true),
        };
        let cross_site = parts
            .headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes() == b"cross-site");
        let client = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .ok()
            .map(|c| c.0);
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        Ok(Visit {
            lang,
            token,
            csrf,
            csrf_is_new,
            cross_site,
            client,
            path,
        })
    }
}

impl Visit {
    /// The visitor as an API caller.
    pub fn as_caller(&self) -> As<'_> {
        As {
            token: self.token.as_deref(),
            client: self.client,
        }
    }

    /// The visitor as an anonymous API caller (public pages read the public view).
    pub fn anonymous(&self) -> As<'_> {
        As {
            token: None,
            client: self.client,
        }
    }

    /// Whether a posted form is this visit's own: its `csrf` field equals the visit's cookie
    /// (compared in constant time) and the browser did not say it came from another site.
    pub fn check_form(&self, posted: &str) -> bool {
        !self.csrf_is_new && !self.cross_site && same(posted.as_bytes(), self.csrf.as_bytes())
    }

    /// Adds the cookies this visit must set to a response: the anti-forgery token on the first
    /// visit.
    pub fn finish(&self, response: impl IntoResponse) -> Response {
        let mut response = response.into_response();
        if self.csrf_is_new {
            set_cookie(&mut response, cookie(CSRF_COOKIE, self.csrf.clone()));
        }
        response
    }
}

/// A cookie of ours: HttpOnly, SameSite=Strict, for the whole site.
pub fn cookie(name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .build()
}

/// A cookie that removes `name`.
pub fn removal(name: &'static str) -> Cookie<'static> {
    let mut c = cookie(name, String::new());
    c.make_removal();
    c
}

/// Appends a `Set-Cookie` header.
pub fn set_cookie(response: &mut Response, cookie: Cookie<'static>) {
    if let Ok(value) = cookie.encoded().to_string().parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// Appends a `Set-Cookie` header for a cookie kept a year (the language).
pub fn set_lasting_cookie(response: &mut Response, cookie: Cookie<'static>) {
    let value = format!("{}; Max-Age=31536000", cookie.encoded());
    if let Ok(value) = value.parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// 32 random bytes as 64 hex digits.
pub fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system has a random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Equality of two byte strings in time that depends only on their lengths.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_checked_against_the_visits_cookie() {
        let visit = |csrf: &str, cross_site: bool, csrf_is_new: bool| Visit {
            lang: Lang::Zh,
            token: None,
            csrf: csrf.to_owned(),
            csrf_is_new,
            cross_site,
            client: None,
            path: "/".to_owned(),
        };
        let token = "ab".repeat(32);
        assert!(visit(&token, false, false).check_form(&token));
        assert!(!visit(&token, false, false).check_form(""));
        assert!(!visit(&token, false, false).check_form(&"cd".repeat(32)));
        assert!(!visit(&token, false, false).check_form(&token[..63]));
        // Another site's post, and a post from a visit with no cookie yet.
        assert!(!visit(&token, true, false).check_form(&token));
        assert!(!visit(&token, false, true).check_form(&token));
    }
}
