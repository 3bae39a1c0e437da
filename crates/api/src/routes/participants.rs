//! Participants (市场主体), their tokens, projects, and the log of regulators' reads.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use domain::{Participant, ParticipantId, Role};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Body, Path, json_reply, respond_stored};
use crate::AppState;
use crate::auth::{Caller, IdempotencyKey, new_token, token_hash};
use crate::dto::{
    AccessView, NewParticipantRequest, NewProjectRequest, ParticipantView, ParticipantWithToken,
    ProjectView, TokenView,
};
use crate::error::{ApiError, ErrorBody};

pub fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(create_participant, list_participants))
        .routes(routes!(me))
        .routes(routes!(create_token))
        .routes(routes!(create_project, list_projects))
        .routes(routes!(access_log))
}

/// Registers a participant and returns its first API token (shown only here). Operator only.
#[utoipa::path(post, path = "/api/v1/participants", tag = "participants", request_body = NewParticipantRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first result")),
    responses((status = 201, description = "Created", body = ParticipantWithToken), (status = 400, description = "Bad request: the message names the field", body = ErrorBody), (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "This role or participant may not do this", body = ErrorBody), (status = 409, description = "Not possible in the current state of the session", body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_participant(
    State(app): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Body(request): Body<NewParticipantRequest>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Operator], "register participants")?;
    let new = request.parse()?;
    let token = new_token();
    let reply = |participant: &Participant| {
        json_reply(
            StatusCode::CREATED,
            &ParticipantWithToken {
                participant: participant.into(),
                token: token.clone(),
            },
        )
    };
    let participant = app
        .store
        .register_participant(
            &new,
            app.now_ms(),
            &token_hash(&token),
            "first token",
            |p| key.0.as_ref().map(|k| k.remember(&reply(p))),
        )
        .await?;
    tracing::info!(participant = %participant.id, role = %participant.role, "participant registered");
    Ok(respond_stored(reply(&participant), key.0.is_some()))
}

/// Every participant. Operator and regulator.
#[utoipa::path(get, path = "/api/v1/participants", tag = "participants",
    responses((status = 200, description = "OK", body = Vec<ParticipantView>), (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "This role or participant may not do this", body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_participants(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Vec<ParticipantView>>, ApiError> {
    caller.require(&[Role::Operator, Role::Regulator], "list participants")?;
    log_regulator_read(&app, &caller, "GET /api/v1/participants").await?;
    Ok(axum::Json(
        app.store
            .participants()
            .await?
            .iter()
            .map(ParticipantView::from)
            .collect(),
    ))
}

/// The caller itself.
#[utoipa::path(get, path = "/api/v1/participants/me", tag = "participants",
    responses((status = 200, description = "OK", body = ParticipantView), (status = 401, description = "No valid bearer token", body = ErrorBody)),
    security(("bearer" = [])))]
async fn me(caller: Caller) -> axum::Json<ParticipantView> {
    axum::Json(caller.participant().into())
}

/// A new API token for a participant (shown only here). The operator, or the participant itself.
#[utoipa::path(post, path = "/api/v1/participants/{id}/tokens", tag = "participants",
    params(("id" = u64, Path, description = "Participant id")),
    responses((status = 201, description = "Created", body = TokenView), (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "This role or participant may not do this", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_token(
    State(app): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Path(id): Path<u64>,
) -> Result<Response, ApiError> {
    if caller.role() != Role::Operator && caller.participant().id != ParticipantId(id) {
        return Err(ApiError::forbidden(
            "only the operator or the participant itself may create its tokens",
        ));
    }
    let participant = app
        .store
        .participant(ParticipantId(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("participant {id} does not exist")))?;
    let token = new_token();
    let reply = json_reply(
        StatusCode::CREATED,
        &TokenView {
            token: token.clone(),
        },
    );
    let remember = key.0.as_ref().map(|k| k.remember(&reply));
    app.store
        .insert_token_remembered(
            participant.id,
            &token_hash(&token),
            "api",
            app.now_ms(),
            remember.as_ref(),
        )
        .await?;
    Ok(respond_stored(reply, remember.is_some()))
}

/// Registers a project (a generating unit) owned by a generator or aggregator. Operator only.
#[utoipa::path(post, path = "/api/v1/projects", tag = "participants", request_body = NewProjectRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first result")),
    responses((status = 201, description = "Created", body = ProjectView), (status = 400, description = "Bad request: the message names the field", body = ErrorBody), (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "This role or participant may not do this", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Not possible in the current state of the session", body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_project(
    State(app): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Body(request): Body<NewProjectRequest>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Operator], "register projects")?;
    let project = request.parse()?;
    let owner = app.store.participant(project.owner).await?.ok_or_else(|| {
        ApiError::field(
            "owner",
            format!("participant {} does not exist", project.owner.0),
        )
    })?;
    if !owner.role.may_sell() {
        return Err(ApiError::field(
            "owner",
            format!(
                "participant {} is a {}, not a generator or aggregator",
                owner.id.0, owner.role
            ),
        ));
    }
    // A meter keeps the owner its data was first stored under, also when a project claims it.
    let names: Vec<&str> = project.meters.iter().map(String::as_str).collect();
    let mut stored = std::collections::BTreeMap::<String, Vec<String>>::new();
    for (meter, participant) in app.store.meter_owners(&names).await? {
        stored.entry(meter).or_default().push(participant);
    }
    if let Err((i, other)) = settlement::check_project_meters(owner.id, &project.meters, &stored) {
        let message = format!(
            "field `meters[{i}]`: meter `{}` has data stored under participant {}; a meter does \
             not change owner",
            project.meters[i],
            domain::shown(&other)
        );
        return Err(ApiError::new(StatusCode::CONFLICT, "conflict", message));
    }
    let reply = json_reply(StatusCode::CREATED, &ProjectView::from(&project));
    let remember = key.0.as_ref().map(|k| k.remember(&reply));
    app.store
        .insert_project_remembered(&project, app.now_ms(), remember.as_ref())
        .await?;
    Ok(respond_stored(reply, remember.is_some()))
}

/// Projects: all for the operator and regulator, its own for a generator or aggregator.
#[utoipa::path(get, path = "/api/v1/projects", tag = "participants",
    responses((status = 200, description = "OK", body = Vec<ProjectView>), (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "This role or participant may not do this", body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_projects(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Vec<ProjectView>>, ApiError> {
    caller.require(
        &[
            Role::Operator,
            Role::Regulator,
            Role::Generator,
            Role::Aggregator,
        ],
        "list projects",
    )?;
    let access = market::visibility::records_access(caller.viewer());
    // A participant reads its own rows only; an insider reads them all.
    let projects = if caller.is_insider() {
        app.store.projects().await?
    } else {
        app.store.projects_of(caller.participant().id).await?
    };
    Ok(axum::Json(
        projects
            .iter()
            .filter(|p| access.admits(caller.viewer(), &[p.owner]))
            .map(ProjectView::from)
            .collect(),
    ))
}

/// Every logged read by a regulator, in order. Operator and regulator.
#[utoipa::path(get, path = "/api/v1/access-log", tag = "participants",
    responses((status = 200, description = "OK", body = Vec<AccessView>), (status = 401, description = "No valid bearer token", body = ErrorBody), (status = 403, description = "This role or participant may not do this", body = ErrorBody)),
    security(("bearer" = [])))]
async fn access_log(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Vec<AccessView>>, ApiError> {
    caller.require(&[Role::Operator, Role::Regulator], "read the access log")?;
    Ok(axum::Json(
        app.store
            .access_log()
            .await?
            .into_iter()
            .map(|a| AccessView {
                participant: a.participant.0,
                at_ms: a.at_ms,
                what: a.what,
            })
            .collect(),
    ))
}

/// Records a regulator's read of participants' private data (spec §7: every such read is logged).
pub async fn log_regulator_read(
    app: &AppState,
    caller: &Caller,
    what: &str,
) -> Result<(), ApiError> {
    if caller.role() == Role::Regulator {
        app.store
            .log_access(caller.participant().id, app.now_ms(), what)
            .await?;
    }
    Ok(())
}
