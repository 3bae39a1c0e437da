//! What the public sees of a session: its published results and the depth of a rolling book.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
