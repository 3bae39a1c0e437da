//! Orders for call auctions and rolling matching, one at a time or in batches, and what a
//! command sent to a session made.

use domain::{Order, Participant, PeriodTemplate, TimeInForce, TwoPartPrice, shown};
use exchange::session::Session;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::common::{parse_mwh, parse_period, parse_price, parse_side};
use super::contracts::ContractView;
use crate::error::ApiError;

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
