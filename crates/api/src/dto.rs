//! What goes over the wire. Quantities are decimal strings, as in the offline formats: energy in
//! MWh with up to 3 decimals (`"10.000"`), prices in yuan/MWh with up to 2 (`"420.50"`). Periods
//! are labels of the session's template (`"h01"`). Requests are parsed here into engine commands,
//! and every error names its field.

use domain::{
    Contract, Kwh, LossRate, Order, Participant, ParticipantId, PeriodTemplate, PeriodVolume,
    Price, Project, ProjectCode, Province, Role, Side, Technology, TextRule, TimeInForce,
    TwoPartPrice, shown,
};
use exchange::auction::Method;
use exchange::bilateral::Proposal;
use exchange::listing::Listing;
use exchange::session::{
    BidOn, DeliveryWindow, Horizon, Mode, Scope, Session, SessionCorridor, SessionSettings,
    YearMonth,
};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;

/// Checks a text field against its rule (length limit, character policy; names come back NFC),
/// before anything reaches the store: a 400 naming the field and the limit or the character.
pub fn parse_text(rule: TextRule, field: &str, value: &str) -> Result<String, ApiError> {
    rule.parse(field, value)
        .map_err(|e| ApiError::field(&e.field, e.problem))
}

/// The most meters one project may list.
pub const MAX_PROJECT_METERS: usize = 1000;

/// Parses MWh (≤ 3 decimals), positive.
pub fn parse_mwh(field: &str, text: &str) -> Result<Kwh, ApiError> {
    let kwh = Kwh::parse_mwh(text).map_err(|e| ApiError::field(field, e))?;
    if kwh == Kwh::ZERO {
        return Err(ApiError::field(field, "must be positive"));
    }
    Ok(kwh)
}

/// Parses yuan/MWh (≤ 2 decimals).
pub fn parse_price(field: &str, text: &str) -> Result<Price, ApiError> {
    Price::parse_yuan_per_mwh(text).map_err(|e| ApiError::field(field, e))
}

fn parse_enum<T: for<'de> Deserialize<'de>>(
    field: &str,
    text: &str,
    allowed: &str,
) -> Result<T, ApiError> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| ApiError::field(field, format!("`{}` is not one of {allowed}", shown(text))))
}

fn parse_side(field: &str, text: &str) -> Result<Side, ApiError> {
    Side::parse(text).ok_or_else(|| {
        ApiError::field(
            field,
            format!("`{}` is not \"buy\" or \"sell\"", shown(text)),
        )
    })
}

fn parse_period(
    field: &str,
    template: &PeriodTemplate,
    label: &str,
) -> Result<domain::Period, ApiError> {
    template.parse(label).map_err(|e| ApiError::field(field, e))
}

/// A period label of the session's template with a volume.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeriodMwh {
    /// Period label, e.g. `h01`.
    pub period: String,
    /// MWh, up to 3 decimals.
    pub mwh: String,
}

fn parse_volumes(
    field: &str,
    template: &PeriodTemplate,
    list: &[PeriodMwh],
) -> Result<Vec<PeriodVolume>, ApiError> {
    let mut volumes: Vec<PeriodVolume> = list
        .iter()
        .enumerate()
        .map(|(i, v)| {
            Ok(PeriodVolume {
                period: parse_period(&format!("{field}[{i}].period"), template, &v.period)?,
                volume: parse_mwh(&format!("{field}[{i}].mwh"), &v.mwh)?,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    volumes.sort_by_key(|v| v.period);
    Ok(volumes)
}

fn volumes_view(template: &PeriodTemplate, volumes: &[PeriodVolume]) -> Vec<PeriodMwh> {
    volumes
        .iter()
        .map(|v| PeriodMwh {
            period: template.label(v.period).to_string(),
            mwh: v.volume.mwh().to_string(),
        })
        .collect()
}

// ---------------------------------------------------------------- participants and projects

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

// ---------------------------------------------------------------- sessions

/// A corridor of a coupled session, as in formats.md's coupled input.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorridorRequest {
    /// Sending province.
    pub from: String,
    /// Receiving province.
    pub to: String,
    /// The most energy that may be sent in each period, MWh.
    pub capacity_mwh: String,
    /// Overrides of `capacity_mwh` for the periods named (label → MWh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_by_period: Option<BTreeMap<String, String>>,
    /// Fraction of sent energy lost, up to 4 decimals, e.g. "0.035".
    pub loss: String,
    /// Transmission tariff, yuan/MWh of sent energy.
    pub tariff: String,
}

/// Parses a loss fraction (`domain::LossRate`) into 1/10000 units.
fn parse_loss(field: &str, text: &str) -> Result<i64, ApiError> {
    LossRate::parse(text)
        .map(LossRate::ten_thousandths)
        .map_err(|e| ApiError::field(field, e))
}

/// Writes 1/10000 units back as a fraction, e.g. 350 → "0.035".
fn loss_text(loss: i64) -> String {
    LossRate::from_ten_thousandths(loss).map_or_else(|| loss.to_string(), |l| l.to_string())
}

fn parse_corridors(
    corridors: &[CorridorRequest],
    template: &PeriodTemplate,
) -> Result<Vec<SessionCorridor>, ApiError> {
    corridors
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let f = |name: &str| format!("corridors[{i}].{name}");
            let capacity = |field: &str, text: &str| {
                Kwh::parse_mwh(text).map_err(|e| ApiError::field(field, e))
            };
            let mut capacity_by_period = Vec::new();
            for (label, mwh) in c.capacity_by_period.iter().flatten() {
                let field = f(&format!("capacity_by_period.{label}"));
                capacity_by_period.push(PeriodVolume {
                    period: parse_period(&field, template, label)?,
                    volume: capacity(&field, mwh)?,
                });
            }
            capacity_by_period.sort_by_key(|v| v.period);
            Ok(SessionCorridor {
                from: Province::parse(&c.from).map_err(|e| ApiError::field(&f("from"), e))?,
                to: Province::parse(&c.to).map_err(|e| ApiError::field(&f("to"), e))?,
                capacity: capacity(&f("capacity_mwh"), &c.capacity_mwh)?,
                capacity_by_period,
                loss: parse_loss(&f("loss"), &c.loss)?,
                tariff: parse_price(&f("tariff"), &c.tariff)?,
            })
        })
        .collect()
}

/// Creates a session (交易场次) in `draft`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSessionRequest {
    /// A name, e.g. "2024年3月浙江绿电集中竞价": 1 to 100 characters, stored NFC, as for
    /// participants' names.
    pub name: String,
    /// `intra` (省内, one province) or `inter` (省间).
    pub scope: String,
    /// The provinces: exactly one for `intra`, two or more for `inter`.
    pub provinces: Vec<String>,
    /// multi_year, year, month or intra_month.
    pub horizon: String,
    /// bilateral, listing, call_auction or rolling.
    pub mode: String,
    /// For call_auction: uniform (边际统一出清, default), high_low (高低匹配) or coupled (省间
    /// coupled clearing over `corridors`; `scope` must be `inter`).
    #[serde(default)]
    pub method: Option<String>,
    /// For method = coupled: the corridors (输电通道). When omitted or empty, the session takes
    /// a copy of the registered corridors (`/api/v1/network/corridors`) whose two ends are both
    /// among its provinces, sorted by (from, to); if none joins them, the request is refused.
    /// Later changes to the registry do not change the session.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub corridors: Vec<CorridorRequest>,
    /// First delivery month, YYYY-MM.
    pub first_month: String,
    /// Last delivery month, YYYY-MM.
    pub last_month: String,
    /// hours (24, default) or quarter_hours (96).
    #[serde(default)]
    pub periods: Option<String>,
    /// Lowest energy price, yuan/MWh.
    pub energy_price_min: String,
    /// Highest energy price, yuan/MWh.
    pub energy_price_max: String,
    /// Cap on the environmental value, yuan/MWh, if any.
    #[serde(default)]
    pub env_price_cap: Option<String>,
    /// Lot size, MWh.
    pub lot_mwh: String,
    /// total (default) or environment.
    #[serde(default)]
    pub bid_on: Option<String>,
    /// With bid_on = environment: the energy price fixed by the session.
    #[serde(default)]
    pub fixed_energy_price: Option<String>,
    /// Compensation price for environmental shortfall, yuan/MWh.
    pub compensation: String,
}

impl NewSessionRequest {
    /// The session's name, checked and normalised as stored.
    pub fn name(&self) -> Result<String, ApiError> {
        parse_text(TextRule::NAME, "name", &self.name)
    }

    /// Checks the request and builds the settings (which the engine validates again).
    pub fn parse(&self) -> Result<SessionSettings, ApiError> {
        self.name()?;
        let provinces = self
            .provinces
            .iter()
            .enumerate()
            .map(|(i, p)| {
                Province::parse(p).map_err(|e| ApiError::field(&format!("provinces[{i}]"), e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let scope = match (self.scope.as_str(), provinces.as_slice()) {
            ("intra", [one]) => Scope::Intra(one.clone()),
            ("intra", _) => {
                return Err(ApiError::field(
                    "provinces",
                    "an intra session names exactly one province",
                ));
            }
            ("inter", _) => Scope::Inter(provinces),
            (other, _) => {
                return Err(ApiError::field(
                    "scope",
                    format!("`{}` is not \"intra\" or \"inter\"", shown(other)),
                ));
            }
        };
        let method = match self.method.as_deref() {
            None | Some("uniform") => Method::Uniform,
            Some("high_low") => Method::HighLow,
            Some("coupled") => Method::Coupled,
            Some(other) => {
                return Err(ApiError::field(
                    "method",
                    format!(
                        "`{}` is not \"uniform\", \"high_low\" or \"coupled\"",
                        shown(other)
                    ),
                ));
            }
        };
        let mode = match self.mode.as_str() {
            "bilateral" => Mode::Bilateral,
            "listing" => Mode::Listing,
            "call_auction" => Mode::CallAuction(method),
            "rolling" => Mode::Rolling,
            other => {
                return Err(ApiError::field(
                    "mode",
                    format!(
                        "`{}` is not bilateral, listing, call_auction or rolling",
                        shown(other)
                    ),
                ));
            }
        };
        let month = |field: &str, text: &str| {
            text.parse::<YearMonth>()
                .map_err(|e| ApiError::field(field, e))
        };
        let template = match self.periods.as_deref() {
            None | Some("hours") => PeriodTemplate::Hours,
            Some("quarter_hours") => PeriodTemplate::QuarterHours,
            Some(other) => {
                return Err(ApiError::field(
                    "periods",
                    format!("`{}` is not \"hours\" or \"quarter_hours\"", shown(other)),
                ));
            }
        };
        let bid_on = match self.bid_on.as_deref() {
            None | Some("total") => BidOn::Total,
            Some("environment") => BidOn::Environment {
                energy_price: parse_price(
                    "fixed_energy_price",
                    self.fixed_energy_price.as_deref().ok_or_else(|| {
                        ApiError::field(
                            "fixed_energy_price",
                            "is required with bid_on = environment",
                        )
                    })?,
                )?,
            },
            Some(other) => {
                return Err(ApiError::field(
                    "bid_on",
                    format!("`{}` is not \"total\" or \"environment\"", shown(other)),
                ));
            }
        };
        let settings = SessionSettings {
            scope,
            horizon: parse_enum::<Horizon>(
                "horizon",
                &self.horizon,
                "multi_year, year, month, intra_month",
            )?,
            mode,
            delivery: DeliveryWindow {
                first_month: month("first_month", &self.first_month)?,
                last_month: month("last_month", &self.last_month)?,
            },
            energy_price_min: parse_price("energy_price_min", &self.energy_price_min)?,
            energy_price_max: parse_price("energy_price_max", &self.energy_price_max)?,
            env_price_cap: self
                .env_price_cap
                .as_deref()
                .map(|p| parse_price("env_price_cap", p))
                .transpose()?,
            lot: parse_mwh("lot_mwh", &self.lot_mwh)?,
            bid_on,
            compensation: parse_price("compensation", &self.compensation)?,
            corridors: parse_corridors(&self.corridors, &template)?,
            template,
        };
        settings.validate()?;
        Ok(settings)
    }
}

/// A session as the public sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionView {
    /// Its id.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// draft, announced, open, closed, cleared, published or cancelled.
    pub state: String,
    /// Its settings, as created.
    pub settings: NewSessionRequest,
    /// Present and true when the session's engine failed: it keeps its committed state for
    /// reads and refuses commands (503 `session_failed`, naming the fault) until the service is
    /// restarted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspended: bool,
}

/// The settings of a session written back in request form.
pub fn settings_view(name: &str, s: &SessionSettings) -> NewSessionRequest {
    let (scope, provinces) = match &s.scope {
        Scope::Intra(p) => ("intra", vec![p.to_string()]),
        Scope::Inter(list) => ("inter", list.iter().map(ToString::to_string).collect()),
    };
    let (mode, method) = match s.mode {
        Mode::Bilateral => ("bilateral", None),
        Mode::Listing => ("listing", None),
        Mode::CallAuction(Method::Uniform) => ("call_auction", Some("uniform".to_owned())),
        Mode::CallAuction(Method::HighLow) => ("call_auction", Some("high_low".to_owned())),
        Mode::CallAuction(Method::Coupled) => ("call_auction", Some("coupled".to_owned())),
        Mode::Rolling => ("rolling", None),
    };
    let (bid_on, fixed) = match s.bid_on {
        BidOn::Total => ("total", None),
        BidOn::Environment { energy_price } => ("environment", Some(energy_price.to_string())),
    };
    NewSessionRequest {
        name: name.to_owned(),
        scope: scope.to_owned(),
        provinces,
        horizon: serde_json::to_value(s.horizon)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        mode: mode.to_owned(),
        method,
        corridors: s
            .corridors
            .iter()
            .map(|c| CorridorRequest {
                from: c.from.to_string(),
                to: c.to.to_string(),
                capacity_mwh: c.capacity.mwh().to_string(),
                capacity_by_period: (!c.capacity_by_period.is_empty()).then(|| {
                    c.capacity_by_period
                        .iter()
                        .map(|v| {
                            (
                                s.template.label(v.period).to_string(),
                                v.volume.mwh().to_string(),
                            )
                        })
                        .collect()
                }),
                loss: loss_text(c.loss),
                tariff: c.tariff.to_string(),
            })
            .collect(),
        first_month: s.delivery.first_month.to_string(),
        last_month: s.delivery.last_month.to_string(),
        periods: Some(match s.template {
            PeriodTemplate::QuarterHours => "quarter_hours".to_owned(),
            PeriodTemplate::Hours => "hours".to_owned(),
            PeriodTemplate::TimeOfUse(ref t) => t.name().to_owned(),
        }),
        energy_price_min: s.energy_price_min.to_string(),
        energy_price_max: s.energy_price_max.to_string(),
        env_price_cap: s.env_price_cap.map(|p| p.to_string()),
        lot_mwh: s.lot.mwh().to_string(),
        bid_on: Some(bid_on.to_owned()),
        fixed_energy_price: fixed,
        compensation: s.compensation.to_string(),
    }
}

// ---------------------------------------------------------------- network

/// A corridor to register in the network registry, or to replace there; its two provinces are
/// in the path (`/api/v1/network/corridors/{from}/{to}`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkCorridorRequest {
    /// The most energy that may be sent in each period, MWh (up to 3 decimals, not negative).
    pub capacity_mwh: String,
    /// Fraction of sent energy lost, up to 4 decimals, below 1, e.g. "0.035".
    pub loss: String,
    /// Transmission tariff, yuan/MWh of sent energy (not negative).
    pub tariff: String,
}

impl NetworkCorridorRequest {
    /// Checks the request for the corridor `from` → `to` (the path's province codes), written by
    /// `by` at `at_ms`. Fields are checked in the order from, to, capacity_mwh, loss, tariff.
    pub fn parse(
        &self,
        from: &str,
        to: &str,
        by: ParticipantId,
        at_ms: i64,
    ) -> Result<store::NetworkCorridor, ApiError> {
        let (from, to) = corridor_ends(from, to)?;
        if from == to {
            return Err(ApiError::field(
                "to",
                format!("is {to}, the same province as `from`"),
            ));
        }
        let capacity =
            Kwh::parse_mwh(&self.capacity_mwh).map_err(|e| ApiError::field("capacity_mwh", e))?;
        let loss = parse_loss("loss", &self.loss)?;
        let tariff = parse_price("tariff", &self.tariff)?;
        if tariff < Price::ZERO {
            return Err(ApiError::field("tariff", format!("{tariff} is negative")));
        }
        Ok(store::NetworkCorridor {
            from,
            to,
            capacity,
            loss,
            tariff,
            updated_at_ms: at_ms,
            updated_by: by,
        })
    }
}

/// The provinces of a corridor's path, `from` and `to`.
pub fn corridor_ends(from: &str, to: &str) -> Result<(Province, Province), ApiError> {
    Ok((
        Province::parse(from).map_err(|e| ApiError::field("from", e))?,
        Province::parse(to).map_err(|e| ApiError::field("to", e))?,
    ))
}

/// A corridor of the network registry.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NetworkCorridorView {
    /// Sending province.
    pub from: String,
    /// Receiving province.
    pub to: String,
    /// The most energy that may be sent in each period, MWh.
    pub capacity_mwh: String,
    /// Fraction of sent energy lost, e.g. "0.035".
    pub loss: String,
    /// Transmission tariff, yuan/MWh of sent energy.
    pub tariff: String,
    /// When it was last written (ms since the Unix epoch).
    pub updated_at_ms: i64,
}

impl From<&store::NetworkCorridor> for NetworkCorridorView {
    fn from(c: &store::NetworkCorridor) -> NetworkCorridorView {
        NetworkCorridorView {
            from: c.from.to_string(),
            to: c.to.to_string(),
            capacity_mwh: c.capacity.mwh().to_string(),
            loss: loss_text(c.loss),
            tariff: c.tariff.to_string(),
            updated_at_ms: c.updated_at_ms,
        }
    }
}

/// Whether a session takes its corridors from the network registry: a coupled call auction
/// whose request named none.
pub fn takes_network(settings: &SessionSettings) -> bool {
    settings.mode == Mode::CallAuction(Method::Coupled) && settings.corridors.is_empty()
}

/// Settings that [`takes_network`] with a copy of the registered corridors whose two ends are
/// both among the session's provinces, in the registry's order (by from, then to). The copy
/// lives in the settings, which is what the journal replays from, so later changes to the
/// registry leave the session as created. No such corridor is a 400 naming `corridors`; the
/// settings are validated again with their corridors.
pub fn with_network(
    mut settings: SessionSettings,
    network: &[store::NetworkCorridor],
) -> Result<SessionSettings, ApiError> {
    settings.corridors = network
        .iter()
        .filter(|c| settings.scope.contains(&c.from) && settings.scope.contains(&c.to))
        .map(|c| SessionCorridor {
            from: c.from.clone(),
            to: c.to.clone(),
            capacity: c.capacity,
            capacity_by_period: Vec::new(),
            loss: c.loss,
            tariff: c.tariff,
        })
        .collect();
    if settings.corridors.is_empty() {
        return Err(ApiError::field(
            "corridors",
            "none given, and no registered corridor joins the session's provinces",
        ));
    }
    settings.validate()?;
    Ok(settings)
}

// ---------------------------------------------------------------- orders

/// An order for a call auction (集中竞价) or rolling matching (滚动撮合).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    /// buy or sell.
    pub side: String,
    /// Period label, e.g. `h01`.
    pub period: String,
    /// MWh, up to 3 decimals, a multiple of the session's lot.
    pub mwh: String,
    /// Energy price (电能量价格), yuan/MWh.
    pub energy_price: String,
    /// Environmental value (绿色环境价值), yuan/MWh.
    pub env_price: String,
    /// limit (default) or ioc (rolling matching only).
    #[serde(default)]
    pub time_in_force: Option<String>,
}

impl OrderRequest {
    /// Parses into a command for `by`; `at` prefixes field names (`orders[3].`).
    pub fn command(
        &self,
        at: &str,
        template: &PeriodTemplate,
        by: &Participant,
    ) -> Result<exchange::session::Command, ApiError> {
        let f = |name: &str| format!("{at}{name}");
        Ok(exchange::session::Command::SubmitOrder {
            by: by.clone(),
            side: parse_side(&f("side"), &self.side)?,
            period: parse_period(&f("period"), template, &self.period)?,
            volume: parse_mwh(&f("mwh"), &self.mwh)?,
            price: TwoPartPrice {
                energy: parse_price(&f("energy_price"), &self.energy_price)?,
                environment: parse_price(&f("env_price"), &self.env_price)?,
            },
            time_in_force: match self.time_in_force.as_deref() {
                None | Some("limit") => TimeInForce::Limit,
                Some("ioc") => TimeInForce::Ioc,
                Some(other) => {
                    return Err(ApiError::field(
                        &f("time_in_force"),
                        format!("`{}` is not \"limit\" or \"ioc\"", shown(other)),
                    ));
                }
            },
        })
    }
}

/// Several orders at once; all are checked before any is submitted.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderBatchRequest {
    /// The orders, in submission order (at most 10,000).
    pub orders: Vec<OrderRequest>,
}

/// An order as its owner (or the operator, or the regulator) sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderView {
    /// Its id (the session's sequence number).
    pub id: u64,
    /// The session.
    pub session: u64,
    /// Who submitted it.
    pub participant: u64,
    /// buy or sell.
    pub side: String,
    /// Period label.
    pub period: String,
    /// MWh.
    pub mwh: String,
    /// Energy price, yuan/MWh.
    pub energy_price: String,
    /// Environmental value, yuan/MWh.
    pub env_price: String,
    /// limit or ioc.
    pub time_in_force: String,
    /// When it was accepted (ms since the Unix epoch).
    pub submitted_at_ms: i64,
    /// What is still live (resting or waiting for the auction), if anything.
    pub live_mwh: Option<String>,
    /// What it received at clearing (call auctions), as fills.
    pub fills: Vec<FillView>,
}

/// A fill at clearing.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FillView {
    /// MWh.
    pub mwh: String,
    /// Price, yuan/MWh.
    pub price: String,
}

/// Renders an order with what the session knows of it now.
pub fn order_view(session: &Session, order: &Order) -> OrderView {
    let template = &session.settings().template;
    let fills = session
        .clearing()
        .iter()
        .filter(|c| c.period == order.period)
        .flat_map(|c| c.fills.iter().filter(|f| f.order == order.id))
        .map(|f| FillView {
            mwh: f.volume.mwh().to_string(),
            price: f.price.to_string(),
        })
        .collect();
    OrderView {
        id: order.id.0,
        session: session.id().0,
        participant: order.participant.0,
        side: order.side.as_str().to_owned(),
        period: template.label(order.period).to_string(),
        mwh: order.volume.mwh().to_string(),
        energy_price: order.price.energy.to_string(),
        env_price: order.price.environment.to_string(),
        time_in_force: match order.time_in_force {
            TimeInForce::Limit => "limit".to_owned(),
            TimeInForce::Ioc => "ioc".to_owned(),
        },
        submitted_at_ms: order.submitted_at_ms,
        live_mwh: session.live_volume(order.id).map(|v| v.mwh().to_string()),
        fills,
    }
}

// ---------------------------------------------------------------- contracts

/// A contract (合同).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContractView {
    /// Its id within the session.
    pub id: u64,
    /// The session that made it.
    pub session: u64,
    /// Seller id.
    pub seller: u64,
    /// Buyer id.
    pub buyer: u64,
    /// Volumes per period.
    pub volumes: Vec<PeriodMwh>,
    /// Total MWh.
    pub total_mwh: String,
    /// Energy price, yuan/MWh.
    pub energy_price: String,
    /// Environmental value, yuan/MWh.
    pub env_price: String,
    /// Compensation price (偏差补偿价格), yuan/MWh.
    pub compensation: String,
    /// effective, executing, settled or closed.
    pub status: String,
    /// When it was made (ms since the Unix epoch).
    pub created_at_ms: i64,
    /// Inter-provincial contracts: the corridor crossed and the MWh lost (volumes are sent
    /// energy; the buyer receives volumes less losses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corridor: Option<ContractCorridorView>,
}

/// The corridor of an inter-provincial contract.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContractCorridorView {
    /// Sending province.
    pub from: String,
    /// Receiving province.
    pub to: String,
    /// Provinces the energy passes through, in order (omitted for a single corridor).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<String>,
    /// MWh lost per period (periods with a loss), on all corridors of the path.
    pub losses: Vec<PeriodMwh>,
    /// Total MWh lost.
    pub loss_mwh: String,
}

/// Renders a contract.
pub fn contract_view(template: &PeriodTemplate, c: &Contract) -> ContractView {
    ContractView {
        id: c.id.0,
        session: c.session.0,
        seller: c.seller.0,
        buyer: c.buyer.0,
        volumes: volumes_view(template, &c.volumes),
        total_mwh: c.total_volume().mwh().to_string(),
        energy_price: c.price.energy.to_string(),
        env_price: c.price.environment.to_string(),
        compensation: c.compensation.to_string(),
        status: serde_json::to_value(c.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        created_at_ms: c.created_at_ms,
        corridor: c.corridor.as_ref().map(|k| ContractCorridorView {
            from: k.from.to_string(),
            to: k.to.to_string(),
            via: k.via.iter().map(ToString::to_string).collect(),
            losses: volumes_view(template, &k.losses),
            loss_mwh: k.total_loss().mwh().to_string(),
        }),
    }
}

// ---------------------------------------------------------------- listings and proposals

/// Lists a lot (挂牌).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListingRequest {
    /// sell to offer energy, buy to ask for it.
    pub side: String,
    /// Volumes per period.
    pub volumes: Vec<PeriodMwh>,
    /// Energy price, yuan/MWh.
    pub energy_price: String,
    /// Environmental value, yuan/MWh.
    pub env_price: String,
}

impl ListingRequest {
    /// Parses into a command.
    pub fn command(
        &self,
        template: &PeriodTemplate,
        by: &Participant,
    ) -> Result<exchange::session::Command, ApiError> {
        Ok(exchange::session::Command::List {
            by: by.clone(),
            side: parse_side("side", &self.side)?,
            volumes: parse_volumes("volumes", template, &self.volumes)?,
            price: TwoPartPrice {
                energy: parse_price("energy_price", &self.energy_price)?,
                environment: parse_price("env_price", &self.env_price)?,
            },
        })
    }
}

/// Takes part of a listing (摘牌).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TakeRequest {
    /// Volumes per period, lot multiples.
    pub volumes: Vec<PeriodMwh>,
}

/// A listing.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ListingView {
    /// Its id.
    pub id: u64,
    /// Who listed.
    pub owner: u64,
    /// buy or sell.
    pub side: String,
    /// Energy price.
    pub energy_price: String,
    /// Environmental value.
    pub env_price: String,
    /// As listed.
    pub listed: Vec<PeriodMwh>,
    /// Still available.
    pub remaining: Vec<PeriodMwh>,
    /// open, filled, withdrawn or lapsed.
    pub status: String,
}

/// Renders a listing.
pub fn listing_view(template: &PeriodTemplate, l: &Listing) -> ListingView {
    ListingView {
        id: l.id,
        owner: l.owner.0,
        side: l.side.as_str().to_owned(),
        energy_price: l.price.energy.to_string(),
        env_price: l.price.environment.to_string(),
        listed: volumes_view(template, &l.listed),
        remaining: volumes_view(template, &l.remaining),
        status: l.status.to_string(),
    }
}

/// Proposes a bilateral contract (双边协商).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalRequest {
    /// The counterparty's participant id.
    pub counterparty: u64,
    /// Volumes per period.
    pub volumes: Vec<PeriodMwh>,
    /// Energy price.
    pub energy_price: String,
    /// Environmental value.
    pub env_price: String,
    /// Compensation price for environmental shortfall.
    pub compensation: String,
}

/// A proposal.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProposalView {
    /// Its id.
    pub id: u64,
    /// Who proposed.
    pub proposer: u64,
    /// Who must confirm.
    pub counterparty: u64,
    /// Seller.
    pub seller: u64,
    /// Buyer.
    pub buyer: u64,
    /// Volumes.
    pub volumes: Vec<PeriodMwh>,
    /// Energy price.
    pub energy_price: String,
    /// Environmental value.
    pub env_price: String,
    /// Compensation price.
    pub compensation: String,
    /// pending, confirmed as `C<n>`, or lapsed.
    pub status: String,
}

/// Renders a proposal.
pub fn proposal_view(template: &PeriodTemplate, p: &Proposal) -> ProposalView {
    ProposalView {
        id: p.id,
        proposer: p.proposer.0,
        counterparty: p.counterparty.0,
        seller: p.seller.0,
        buyer: p.buyer.0,
        volumes: volumes_view(template, &p.volumes),
        energy_price: p.price.energy.to_string(),
        env_price: p.price.environment.to_string(),
        compensation: p.compensation.to_string(),
        status: p.status.to_string(),
    }
}

impl ProposalRequest {
    /// Parses into a command (the counterparty is looked up by the route).
    pub fn command(
        &self,
        template: &PeriodTemplate,
        by: &Participant,
        counterparty: Participant,
    ) -> Result<exchange::session::Command, ApiError> {
        Ok(exchange::session::Command::Propose {
            by: by.clone(),
            counterparty,
            volumes: parse_volumes("volumes", template, &self.volumes)?,
            price: TwoPartPrice {
                energy: parse_price("energy_price", &self.energy_price)?,
                environment: parse_price("env_price", &self.env_price)?,
            },
            compensation: parse_price("compensation", &self.compensation)?,
        })
    }
}

impl TakeRequest {
    /// Parses into a command.
    pub fn command(
        &self,
        template: &PeriodTemplate,
        by: &Participant,
        listing: u64,
    ) -> Result<exchange::session::Command, ApiError> {
        Ok(exchange::session::Command::Take {
            by: by.clone(),
            listing,
            volumes: parse_volumes("volumes", template, &self.volumes)?,
        })
    }
}

// ---------------------------------------------------------------- public views

/// One period of published results.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PeriodResult {
    /// Period label.
    pub period: String,
    /// Q*, MWh traded.
    pub volume_mwh: String,
    /// P*, yuan/MWh (uniform call auctions; null otherwise or with no trade).
    pub price: Option<String>,
    /// Coupled sessions: per province, sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provinces: Vec<ProvincePeriodView>,
    /// Coupled sessions: per corridor, sorted by (from, to), zero flows included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flows: Vec<FlowView>,
}

/// One province in one period of a coupled session.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProvincePeriodView {
    /// Province code.
    pub province: String,
    /// Its price (ranking price), yuan/MWh; null only with no fills and no flow.
    pub price: Option<String>,
    /// MWh bought by its buyers.
    pub buy_mwh: String,
    /// MWh sold by its sellers.
    pub sell_mwh: String,
}

/// One corridor in one period of a coupled session.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FlowView {
    /// Sending province.
    pub from: String,
    /// Receiving province.
    pub to: String,
    /// MWh sent.
    pub sent_mwh: String,
    /// MWh delivered (sent − lost).
    pub delivered_mwh: String,
    /// 阻塞盈余, yuan: the receiving province's value of what was delivered, less the sending
    /// province's value of what was sent and the tariff (null when a province has no price).
    pub congestion_rent_yuan: Option<String>,
}

/// Published results of a session (public).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ResultsView {
    /// The session.
    pub session: u64,
    /// Per period.
    pub periods: Vec<PeriodResult>,
    /// How many distinct participants hold contracts from it.
    pub participants: usize,
    /// Contracts made.
    pub contracts: usize,
    /// Total MWh contracted.
    pub total_mwh: String,
}

/// One level of public depth.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LevelView {
    /// Price, yuan/MWh.
    pub price: String,
    /// MWh resting at it.
    pub mwh: String,
    /// Orders resting at it.
    pub orders: u32,
}

/// Public book depth of one period of a rolling session (no owners).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DepthView {
    /// Period label.
    pub period: String,
    /// Bids, best first.
    pub bids: Vec<LevelView>,
    /// Asks, best first.
    pub asks: Vec<LevelView>,
}

/// The outcome of a command sent to a session.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CommandResult {
    /// The session's state afterwards.
    pub state: String,
    /// The order accepted, if the command was an order.
    pub order: Option<OrderView>,
    /// The id of a listing or proposal created.
    pub created: Option<u64>,
    /// Contracts made by the command (rolling trades, takes, confirmations, clearing).
    pub contracts: Vec<ContractView>,
}

/// The outcome of one order of a batch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchItem {
    /// The order's index in the request.
    pub index: usize,
    /// The accepted order's id, or null if refused.
    pub order: Option<u64>,
    /// Contracts it made at once (rolling).
    pub contracts: usize,
    /// Why it was refused, if it was: `{"error", "message"}`.
    pub error: Option<crate::error::ErrorBody>,
}

/// The outcome of a batch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchResult {
    /// Orders accepted.
    pub accepted: usize,
    /// Orders refused by the engine (e.g. the session closed in between).
    pub refused: usize,
    /// One item per order, in request order.
    pub items: Vec<BatchItem>,
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
