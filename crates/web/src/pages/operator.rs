//! `/operator`: the exchange's controls — the sessions that wait for a step of their lifecycle,
//! a new session, registering participants and issuing tokens, settlement runs, certificate
//! issuance and expiry. Each form is one API call as the operator; the API refuses anyone else.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::sessions::Row;
use super::{Frame, Tokens, failed, forged, frame, render, see, send_form};
use crate::Web;
use crate::visit::Visit;
use api::dto::participants::{ParticipantWithToken, TokenView};
use api::dto::sessions::SessionView;

#[derive(Template)]
#[template(path = "operator.html")]
pub struct Operator {
    pub frame: Frame,
    /// Sessions not yet published or cancelled, with their next actions.
    pub pending: Vec<(Row, Vec<(&'static str, &'static str)>)>,
    /// What the last form did (a new token is shown here once).
    pub done: Option<String>,
}

/// `GET /operator`.
pub async fn page(State(web): State<Web>, visit: Visit) -> Response {
    show(&web, &visit, None).await
}

async fn show(web: &Web, visit: &Visit, done: Option<String>) -> Response {
    let frame = frame(web, visit, "operator").await;
    if !frame.me.as_ref().is_some_and(|m| m.operator) {
        return see("/signin");
    }
    let sessions: Vec<SessionView> = match web.get(visit.as_caller(), "/api/v1/sessions").await {
        Ok(s) => s,
        Err(f) => return failed(web, visit, f, "/").await,
    };
    let pending = sessions
        .iter()
        .filter(|s| !matches!(s.state.as_str(), "published" | "cancelled"))
        .map(|s| {
            (
                Row::of(visit.lang, s),
                super::sessions::actions(visit.lang, &s.state),
            )
        })
        .collect();
    render(
        visit,
        &Operator {
            frame,
            pending,
            done,
        },
    )
}

/// Checks a form and posts its API call as the visitor; on success shows the operator page with
/// `done` (made from the reply), else the refusal.
async fn act(
    web: &Web,
    visit: &Visit,
    tokens: &Tokens,
    path: &str,
    body: Option<Value>,
    done: impl FnOnce(Value) -> String,
) -> Response {
    if !visit.check_form(&tokens.csrf) {
        return forged(web, visit, "/operator").await;
    }
    match send_form::<Value>(
        web,
        visit,
        tokens,
        Method::POST,
        path,
        body.as_ref(),
        "/operator",
    )
    .await
    {
        Ok(reply) => show(web, visit, Some(done(reply))).await,
        Err(refusal) => refusal,
    }
}

/// What the operator page says after a form: "<what> <subject>: done".
fn done(visit: &Visit, what: &str, subject: impl std::fmt::Display) -> String {
    format!("{what} {subject}: {}", visit.lang.texts().done)
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(flatten)]
    tokens: Tokens,
    action: String,
}

/// `POST /sessions/{id}/action`: announce, open, close, clear, publish or cancel; back to the
/// session's page.
pub async fn session_action(
    State(web): State<Web>,
    visit: Visit,
    Path(id): Path<u64>,
    axum::Form(form): axum::Form<ActionForm>,
) -> Response {
    let back = format!("/sessions/{id}");
    if !visit.check_form(&form.tokens.csrf) {
        return forged(&web, &visit, &back).await;
    }
    let action = super::percent_encode(&form.action);
    let path = format!("/api/v1/sessions/{id}/{action}");
    match send_form::<Value>(
        &web,
        &visit,
        &form.tokens,
        Method::POST,
        &path,
        None::<&()>,
        &back,
    )
    .await
    {
        Ok(_) => see(&back),
        Err(refusal) => refusal,
    }
}

#[derive(Deserialize)]
pub struct SessionForm {
    #[serde(flatten)]
    tokens: Tokens,
    name: String,
    scope: String,
    provinces: String,
    horizon: String,
    mode: String,
    #[serde(default)]
    method: String,
    first_month: String,
    last_month: String,
    #[serde(default)]
    periods: String,
    energy_price_min: String,
    energy_price_max: String,
    lot_mwh: String,
    compensation: String,
}

/// `POST /operator/sessions`: a new session in draft (`POST /api/v1/sessions`).
pub async fn create_session(
    State(web): State<Web>,
    visit: Visit,
    axum::Form(f): axum::Form<SessionForm>,
) -> Response {
    let optional = |s: &str| {
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_owned())
    };
    let body = json!({
        "name": f.name.trim(),
        "scope": f.scope,
        "provinces": f.provinces.split([',', '，', ' ', '、']).map(str::trim).filter(|p| !p.is_empty()).collect::<Vec<_>>(),
        "horizon": f.horizon,
        "mode": f.mode,
        "method": optional(&f.method),
        "first_month": f.first_month.trim(),
        "last_month": f.last_month.trim(),
        "periods": optional(&f.periods),
        "energy_price_min": f.energy_price_min.trim(),
        "energy_price_max": f.energy_price_max.trim(),
        "lot_mwh": f.lot_mwh.trim(),
        "compensation": f.compensation.trim(),
    });
    let session = visit.lang.texts().session;
    act(
        &web,
        &visit,
        &f.tokens,
        "/api/v1/sessions",
        Some(body),
        |reply| done(&visit, session, reply["id"].as_u64().unwrap_or_default()),
    )
    .await
}

#[derive(Deserialize)]
pub struct ParticipantForm {
    #[serde(flatten)]
    tokens: Tokens,
    name: String,
    role: String,
    province: String,
}

/// `POST /operator/participants`: registers a participant and shows its first token once.
pub async fn create_participant(
    State(web): State<Web>,
    visit: Visit,
    axum::Form(f): axum::Form<ParticipantForm>,
) -> Response {
    let body = json!({"name": f.name.trim(), "role": f.role, "province": f.province.trim()});
    let note = visit.lang.texts().new_token_note;
    act(
        &web,
        &visit,
        &f.tokens,
        "/api/v1/participants",
        Some(body),
        |reply| match serde_json::from_value::<ParticipantWithToken>(reply) {
            Ok(p) => format!(
                "{} {} {}: {note} {}",
                p.participant.id, p.participant.name, p.participant.role, p.token
            ),
            Err(_) => String::new(),
        },
    )
    .await
}

#[derive(Deserialize)]
pub struct ProjectForm {
    #[serde(flatten)]
    tokens: Tokens,
    code: String,
    technology: String,
    capacity_kw: String,
    province: String,
    owner: String,
    /// A checkbox: present when ticked.
    subsidised: Option<String>,
    #[serde(default)]
    meters: String,
}

/// `POST /operator/projects`: registers a project (its filing code, technology, capacity,
/// owner and meters) with `POST /api/v1/projects`.
pub async fn create_project(
    State(web): State<Web>,
    visit: Visit,
    axum::Form(f): axum::Form<ProjectForm>,
) -> Response {
    let number = |field: &str, text: &str| {
        text.trim()
            .parse::<u64>()
            .map_err(|_| format!("{field}: `{}` is not a whole number", domain::shown(text)))
    };
    let (capacity, owner) = match (
        number("capacity_kw", &f.capacity_kw),
        number("owner", &f.owner),
    ) {
        (Ok(c), Ok(o)) => (c, o),
        (Err(message), _) | (_, Err(message)) => {
            return super::refusal(&web, &visit, StatusCode::BAD_REQUEST, message, "/operator")
                .await;
        }
    };
    let body = json!({
        "code": f.code.trim(),
        "technology": f.technology,
        "capacity_kw": capacity,
        "province": f.province.trim(),
        "owner": owner,
        "subsidised": f.subsidised.is_some(),
        "meters": f.meters.split([',', '，', ' ', '\n']).map(str::trim).filter(|m| !m.is_empty()).collect::<Vec<_>>(),
    });
    let done = done(&visit, visit.lang.texts().project, f.code.trim());
    act(
        &web,
        &visit,
        &f.tokens,
        "/api/v1/projects",
        Some(body),
        |_| done,
    )
    .await
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(flatten)]
    tokens: Tokens,
    participant: String,
}

/// `POST /operator/tokens`: a new token for a participant, shown once.
pub async fn create_token(
    State(web): State<Web>,
    visit: Visit,
    axum::Form(f): axum::Form<TokenForm>,
) -> Response {
    let Ok(id) = f.participant.trim().parse::<u64>() else {
        let message = format!(
            "participant: `{}` is not a participant id",
            domain::shown(&f.participant)
        );
        return super::refusal(&web, &visit, StatusCode::BAD_REQUEST, message, "/operator").await;
    };
    let note = visit.lang.texts().new_token_note;
    let path = format!("/api/v1/participants/{id}/tokens");
    act(
        &web,
        &visit,
        &f.tokens,
        &path,
        None,
        |reply| match serde_json::from_value::<TokenView>(reply) {
            Ok(t) => format!("{id}: {note} {}", t.token),
            Err(_) => String::new(),
        },
    )
    .await
}

#[derive(Deserialize)]
pub struct MonthForm {
    #[serde(flatten)]
    tokens: Tokens,
    month: String,
    /// `draft`/`final` for settlements, `issue`/`expire` for certificates.
    run: String,
}

/// `POST /operator/settlements`: a draft or final settlement run of a month.
pub async fn settle(
    State(web): State<Web>,
    visit: Visit,
    axum::Form(f): axum::Form<MonthForm>,
) -> Response {
    let body = json!({"month": f.month.trim(), "final": f.run == "final"});
    let done = done(&visit, visit.lang.texts().run_settlement, f.month.trim());
    act(
        &web,
        &visit,
        &f.tokens,
        "/api/v1/settlements",
        Some(body),
        |_| done,
    )
    .await
}

/// `POST /operator/certificates`: issues a month's certificates, or expires those of a month.
pub async fn certificates(
    State(web): State<Web>,
    visit: Visit,
    axum::Form(f): axum::Form<MonthForm>,
) -> Response {
    let t = visit.lang.texts();
    let (path, what) = if f.run == "expire" {
        ("/api/v1/certificates/expire", t.expire_certificates)
    } else {
        ("/api/v1/certificates/issue", t.issue_certificates)
    };
    let body = json!({"month": f.month.trim()});
    let done = done(&visit, what, f.month.trim());
    act(&web, &visit, &f.tokens, path, Some(body), |_| done).await
}
