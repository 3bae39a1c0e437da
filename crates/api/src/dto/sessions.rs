//! Sessions (交易场次): the request that creates one, its corridors, and the session as the
//! public sees it, its settings written back in request form.

use std::collections::BTreeMap;

use domain::{Kwh, PeriodTemplate, PeriodVolume, Province, TextRule, shown};
use exchange::auction::Method;
use exchange::session::{
    BidOn, DeliveryWindow, Horizon, Mode, Scope, SessionCorridor, SessionSettings, YearMonth,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::common::{
    loss_text, parse_enum, parse_loss, parse_mwh, parse_period, parse_price, parse_text,
};
use crate::error::ApiError;

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
