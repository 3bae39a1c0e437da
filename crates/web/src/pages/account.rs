//! Signing in and out, and the language switch.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Frame, failed, forged, frame, local_path, refusal, render};
use crate::Web;
use crate::client::As;
use crate::i18n::Lang;
use crate::visit::{self, LANG_COOKIE, MAX_TOKEN_LEN, TOKEN_COOKIE, Visit};

#[derive(Template)]
#[template(path = "signin.html")]
pub struct SignIn {
    pub frame: Frame,
}

/// `GET /signin`.
pub async fn signin_page(State(web): State<Web>, visit: Visit) -> Response {
    let frame = frame(&web, &visit, "").await;
    render(&visit, &SignIn { frame })
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
}

/// `POST /signin`: the token is checked with `GET /api/v1/participants/me` (a wrong one counts
/// as a failed sign-in of the visitor's address) and kept in the HttpOnly token cookie.
pub async fn signin(
    State(web): State<Web>,
    visit: Visit,
    axum::Form(form): axum::Form<SignInForm>,
) -> Response {
    if !visit.check_form(&form.csrf) {
        return forged(&web, &visit, "/signin").await;
    }
    let token = form.token.trim();
    if token.is_empty()
        || token.len() > MAX_TOKEN_LEN
        || !token.bytes().all(|b| b.is_ascii_graphic())
    {
        let message = visit.lang.texts().token_hint.to_owned();
        return refusal(&web, &visit, StatusCode::BAD_REQUEST, message, "/signin").await;
    }
    let who = As {
        token: Some(token),
        client: visit.client,
    };
    match web
        .get::<api::dto::participants::ParticipantView>(who, "/api/v1/participants/me")
        .await
    {
        Ok(me) => {
            let to = if me.role == "operator" {
                "/operator"
            } else {
                "/me"
            };
            let mut response = Redirect::to(to).into_response();
            visit::set_cookie(&mut response, visit::cookie(TOKEN_COOKIE, token.to_owned()));
            response
        }
        Err(f) => failed(&web, &visit, f, "/signin").await,
    }
}

#[derive(Deserialize)]
pub struct SignOutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /signout`: forgets the token cookie.
pub async fn signout(
    State(web): State<Web>,
    visit: Visit,
    axum::Form(form): axum::Form<SignOutForm>,
) -> Response {
    if !visit.check_form(&form.csrf) {
        return forged(&web, &visit, "/").await;
    }
    let mut response = Redirect::to("/").into_response();
    visit::set_cookie(&mut response, visit::removal(TOKEN_COOKIE));
    response
}

#[derive(Deserialize)]
pub struct Back {
    back: Option<String>,
}

/// `GET /lang/{zh|en}?back=/path`: remembers the language in a cookie and goes back.
pub async fn language(Path(lang): Path<String>, Query(query): Query<Back>) -> Response {
    let back = query.back.unwrap_or_default();
    let mut response = Redirect::to(local_path(&back)).into_response();
    if let Some(lang) = Lang::parse(&lang) {
        let cookie = visit::cookie(LANG_COOKIE, lang.code().to_owned());
        visit::set_lasting_cookie(&mut response, cookie);
    }
    response
}
