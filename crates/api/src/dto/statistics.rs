//! Published statistics of a year (spec §8).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Published statistics of a year (spec §8, a first part): contracts of published sessions
/// whose delivery starts in the year.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatisticsView {
    /// The year.
    pub year: i32,
    /// Published sessions counted.
    pub sessions: usize,
    /// Published sessions per mode (with the method of a call auction, e.g.
    /// `call_auction/coupled`) and scope, sorted by mode then scope.
    pub sessions_by_mode: Vec<SessionCount>,
    /// Contracted MWh in total (energy sent at the sellers' end).
    pub traded_mwh: String,
    /// Contracted MWh crossing a corridor.
    pub inter_provincial_mwh: String,
    /// inter_provincial_mwh / traded_mwh, 4 decimals (rounded half away from zero); "0" with
    /// nothing traded.
    pub inter_provincial_share: String,
    /// Distinct participants that are party to a counted contract.
    pub participants: usize,
    /// Average energy price of the contracts, weighted by volume, yuan/MWh (to the fen, half
    /// away from zero); null with nothing traded.
    pub average_energy_price: Option<String>,
    /// Average environmental price (绿色环境价值), weighted by volume; null with nothing traded.
    pub average_env_price: Option<String>,
    /// Per province, sorted by code.
    pub provinces: Vec<ProvinceStatistics>,
    /// Corridors by the energy cleared across them (sent), most first (ties by from, to); at
    /// most 10, only corridors that carried energy.
    pub top_corridors: Vec<CorridorStatistics>,
}

/// The energy cleared across one corridor in a year.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CorridorStatistics {
    /// Sending province.
    pub from: String,
    /// Receiving province.
    pub to: String,
    /// MWh sent.
    pub sent_mwh: String,
    /// MWh delivered (sent less losses).
    pub delivered_mwh: String,
}

/// Sessions of one mode and scope.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionCount {
    /// bilateral, listing, call_auction/uniform, call_auction/high_low, call_auction/coupled or
    /// rolling.
    pub mode: String,
    /// intra or inter.
    pub scope: String,
    /// How many.
    pub sessions: usize,
}

/// One province's traded volume in a year.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProvinceStatistics {
    /// Province code.
    pub province: String,
    /// MWh its sellers contracted to sell (sent).
    pub sold_mwh: String,
    /// MWh its buyers contracted to receive (sent less losses).
    pub bought_mwh: String,
    /// Of `bought_mwh`, MWh received over corridors.
    pub imported_mwh: String,
    /// Of `sold_mwh`, MWh sent over corridors.
    pub exported_mwh: String,
}
