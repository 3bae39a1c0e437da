//! Contracts (合同), and the corridor an inter-provincial one crosses.

use domain::{Contract, PeriodTemplate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::common::{PeriodMwh, volumes_view};

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
