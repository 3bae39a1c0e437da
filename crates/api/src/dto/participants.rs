//! Participants, their tokens, projects (generating units) and the log of sealed reads.

use domain::{Participant, Project, ProjectCode, Province, Role, Technology, TextRule, shown};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::common::{parse_enum, parse_text};
use crate::error::ApiError;

/// The most meters one project may list.
pub const MAX_PROJECT_METERS: usize = 1000;

/// Registers a participant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewParticipantRequest {
    /// Unique registered name: 1 to 100 characters, stored NFC; no control characters, no
    /// invisible or direction-changing ones, no leading or trailing white space.
    pub name: String,
    /// generator, aggregator, user, retail_user, retailer, grid, operator or regulator.
    pub role: String,
    /// Province code, e.g. `ZJ`.
    pub province: String,
}

impl NewParticipantRequest {
    /// Checks the request.
    pub fn parse(&self) -> Result<store::NewParticipant, ApiError> {
        Ok(store::NewParticipant {
            name: parse_text(TextRule::NAME, "name", &self.name)?,
            role: self.role.parse::<Role>().map_err(|_| {
                ApiError::field("role", format!("`{}` is not a role (generator, aggregator, user, retail_user, retailer, grid, operator, regulator)", shown(&self.role)))
            })?,
            province: Province::parse(&self.province).map_err(|e| ApiError::field("province", e))?,
        })
    }
}

/// A participant.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ParticipantView {
    /// Its id.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: String,
    /// Its province.
    pub province: String,
}

impl From<&Participant> for ParticipantView {
    fn from(p: &Participant) -> ParticipantView {
        ParticipantView {
            id: p.id.0,
            name: p.name.clone(),
            role: p.role.as_str().to_owned(),
            province: p.province.to_string(),
        }
    }
}

/// A participant with a new API token, shown only in this response.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ParticipantWithToken {
    /// The participant.
    pub participant: ParticipantView,
    /// Its API token: send it as `Authorization: Bearer <token>`. Stored only as a hash.
    pub token: String,
}

/// A new token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenView {
    /// The token, shown once.
    pub token: String,
}

/// Registers a project (a generating unit).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProjectRequest {
    /// 17-digit filing code.
    pub code: String,
    /// wind_onshore, wind_offshore, pv_central, pv_distributed, hydro, biomass or other.
    pub technology: String,
    /// Installed capacity, kW.
    pub capacity_kw: u64,
    /// Province code.
    pub province: String,
    /// The owning generator or aggregator.
    pub owner: u64,
    /// Whether it is subsidised.
    #[serde(default)]
    pub subsidised: bool,
    /// Its meter ids (at most 1,000), each 1 to 64 ASCII letters, digits, `-`, `_`, `.`,
    /// beginning with a letter or digit.
    #[serde(default)]
    pub meters: Vec<String>,
}

impl NewProjectRequest {
    /// Checks the request (the owner's role is checked by the route).
    pub fn parse(&self) -> Result<Project, ApiError> {
        if self.capacity_kw == 0 {
            return Err(ApiError::field("capacity_kw", "must be positive"));
        }
        Ok(Project {
            code: ProjectCode::parse(&self.code).map_err(|e| ApiError::field("code", e))?,
            technology: parse_enum::<Technology>(
                "technology",
                &self.technology,
                "wind_onshore, wind_offshore, pv_central, pv_distributed, hydro, biomass, other",
            )?,
            capacity_kw: self.capacity_kw,
            province: Province::parse(&self.province)
                .map_err(|e| ApiError::field("province", e))?,
            owner: domain::ParticipantId(self.owner),
            subsidised: self.subsidised,
            meters: self.meters()?,
        })
    }

    /// The meter ids, checked.
    fn meters(&self) -> Result<Vec<String>, ApiError> {
        if self.meters.len() > MAX_PROJECT_METERS {
            return Err(ApiError::field(
                "meters",
                format!(
                    "{} meters is more than the limit of {MAX_PROJECT_METERS}",
                    self.meters.len()
                ),
            ));
        }
        self.meters
            .iter()
            .enumerate()
            .map(|(i, m)| parse_text(TextRule::IDENTIFIER, &format!("meters[{i}]"), m))
            .collect()
    }
}

/// A project.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProjectView {
    /// Filing code.
    pub code: String,
    /// Technology.
    pub technology: String,
    /// kW.
    pub capacity_kw: u64,
    /// Province.
    pub province: String,
    /// Owner id.
    pub owner: u64,
    /// Subsidised.
    pub subsidised: bool,
    /// Meter ids.
    pub meters: Vec<String>,
}

impl From<&Project> for ProjectView {
    fn from(p: &Project) -> ProjectView {
        ProjectView {
            code: p.code.to_string(),
            technology: serde_json::to_value(p.technology)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            capacity_kw: p.capacity_kw,
            province: p.province.to_string(),
            owner: p.owner.0,
            subsidised: p.subsidised,
            meters: p.meters.clone(),
        }
    }
}

/// A logged read of sealed data.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccessView {
    /// Who read.
    pub participant: u64,
    /// When.
    pub at_ms: i64,
    /// What.
    pub what: String,
}
