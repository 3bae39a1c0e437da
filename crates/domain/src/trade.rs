//! Orders and contracts: what participants offer, and what the exchange binds them to.

use serde::{Deserialize, Serialize};

use crate::{ContractId, Kwh, OrderId, ParticipantId, Period, Price, Province, SessionId};

/// Which way an order trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Buys energy.
    Buy,
    /// Sells energy.
    Sell,
}

impl Side {
    /// The other side.
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    /// `buy` or `sell`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }

    /// Parses `buy` or `sell`.
    pub fn parse(text: &str) -> Option<Side> {
        match text {
            "buy" => Some(Side::Buy),
            "sell" => Some(Side::Sell),
            _ => None,
        }
    }
}

/// A two-part green power price (spec §3): the energy price (电能量价格) and the environmental
/// value (绿色环境价值), always stated separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TwoPartPrice {
    /// 电能量价格, fen/MWh.
    pub energy: Price,
    /// 绿色环境价值, fen/MWh.
    pub environment: Price,
}

impl TwoPartPrice {
    /// Energy plus environment.
    pub fn total(self) -> Price {
        self.energy + self.environment
    }
}

/// How long an order lives (spec §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeInForce {
    /// What does not match rests in the book.
    Limit,
    /// Immediate or cancel: what does not match at once is cancelled.
    Ioc,
}

/// An order as a session holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Its id (the session's sequence number).
    pub id: OrderId,
    /// Who submitted it.
    pub participant: ParticipantId,
    /// Buy or sell.
    pub side: Side,
    /// The delivery period it is for.
    pub period: Period,
    /// Its volume, always positive.
    pub volume: Kwh,
    /// Its limit price, in two parts.
    pub price: TwoPartPrice,
    /// Limit or IOC (rolling matching only; call auctions treat every order as a limit).
    pub time_in_force: TimeInForce,
    /// When the session accepted it, in the caller's clock (ms since the Unix epoch).
    pub submitted_at_ms: i64,
}

/// The life of a contract (spec §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContractStatus {
    /// Signed, delivery not started.
    Effective,
    /// In delivery.
    Executing,
    /// Settled for every month.
    Settled,
    /// Done.
    Closed,
}

/// Energy of one period in a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PeriodVolume {
    /// The period.
    pub period: Period,
    /// The energy, positive.
    pub volume: Kwh,
}

/// A green power contract (合同): seller, buyer, per-period volumes and two-part price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    /// Its id, given by the session in creation order.
    pub id: ContractId,
    /// The session that made it.
    pub session: SessionId,
    /// Who delivers.
    pub seller: ParticipantId,
    /// Who takes.
    pub buyer: ParticipantId,
    /// Volumes per period, sorted by period, each positive.
    pub volumes: Vec<PeriodVolume>,
    /// The price of energy and of the environmental value.
    pub price: TwoPartPrice,
    /// 偏差补偿价格: compensation per MWh of environmental shortfall.
    pub compensation: Price,
    /// Where it is in its life.
    pub status: ContractStatus,
    /// When it was made, in the caller's clock (ms since the Unix epoch).
    pub created_at_ms: i64,
    /// For an inter-provincial contract of a coupled session: the corridor its energy crosses
    /// and what is lost on the way. `None` for every other contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corridor: Option<ContractCorridor>,
}

/// The corridors an inter-provincial contract's energy crosses (spec §3.5): from the seller's
/// province to the buyer's, directly or through the transit provinces `via`. The contract's
/// `volumes` are the energy *sent* at the seller's end; the buyer receives, in each period, the
/// volume less that period's loss (on all corridors of the path together).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractCorridor {
    /// The sending province (the seller's).
    pub from: Province,
    /// The receiving province (the buyer's).
    pub to: Province,
    /// The provinces the energy passes through, in order; empty for a single corridor.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<Province>,
    /// Energy lost per period, sorted by period, only periods with a positive loss.
    #[serde(default)]
    pub losses: Vec<PeriodVolume>,
}

impl ContractCorridor {
    /// The total energy lost.
    pub fn total_loss(&self) -> Kwh {
        self.losses.iter().map(|v| v.volume).sum()
    }
}

impl Contract {
    /// The contract's total volume.
    pub fn total_volume(&self) -> Kwh {
        self.volumes.iter().map(|v| v.volume).sum()
    }
}

/// A retail contract (零售合同): a retailer (售电公司) sells green value to one of its retail users
/// (二级用户) — `monthly_mwh` whole MWh of environmental value in each month of
/// `first_month..=last_month`, at an agreed environmental price. A retailer's settled wholesale
/// `Q_env` is shared among its retail users by these (spec §5, `settlement::allocate_retail`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetailContract {
    /// Its id, given by the store in registration order.
    pub id: u64,
    /// The retailer.
    pub retailer: ParticipantId,
    /// The retail user.
    pub user: ParticipantId,
    /// The first month it covers.
    pub first_month: crate::YearMonth,
    /// The last month it covers (not before the first).
    pub last_month: crate::YearMonth,
    /// Green demand of each month, whole MWh (positive).
    pub monthly_mwh: i64,
    /// The agreed environmental price: the higher, the earlier served when the retailer is short.
    pub env_price: Price,
    /// When it was registered (ms since the Unix epoch).
    pub created_at_ms: i64,
}

impl RetailContract {
    /// Whether it covers `month`.
    pub fn covers(&self, month: crate::YearMonth) -> bool {
        self.first_month <= month && month <= self.last_month
    }
}
