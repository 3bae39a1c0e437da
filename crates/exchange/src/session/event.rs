//! What comes out of a session: the [`Event`]s a command causes and the records they carry (a
//! rolling trade, a call auction's fills, slices and, of a coupled session, provinces and
//! corridor flows per period), and the [`Snapshot`] of everything a session holds.

use domain::{
    Contract, ContractId, Kwh, Order, OrderId, ParticipantId, Period, PeriodVolume, Price,
    Province, SessionId, TwoPartPrice,
};
use serde::{Deserialize, Serialize};

use super::{SessionSettings, SessionState};
use crate::bilateral::Proposal;
use crate::listing::Listing;

/// One rolling-matching trade, with its period and the two-part price it trades at (the resting
/// order's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeRecord {
    /// The period of both orders.
    pub period: Period,
    /// The buy order.
    pub buy_order: OrderId,
    /// The sell order.
    pub sell_order: OrderId,
    /// The order that was resting (its price is the trade's).
    pub resting: OrderId,
    /// The buy order's owner.
    pub buyer: ParticipantId,
    /// The sell order's owner.
    pub seller: ParticipantId,
    /// Energy traded, positive.
    pub volume: Kwh,
    /// The resting order's two-part price.
    pub price: TwoPartPrice,
}

/// What one call-auction order received in one fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFill {
    /// The order.
    pub order: OrderId,
    /// Energy filled, positive.
    pub volume: Kwh,
    /// The ranking price it trades at.
    pub price: Price,
}

/// A matched call-auction slice: `volume` of a buy order against a sell order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SliceFill {
    /// The buy order.
    pub buy: OrderId,
    /// The sell order.
    pub sell: OrderId,
    /// Energy, positive.
    pub volume: Kwh,
    /// The ranking price of the slice.
    pub price: Price,
}

/// A call auction's result for one period, with the session's order ids. Prices are ranking
/// prices (total or environmental value, per `bid_on`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearedPeriod {
    /// The period.
    pub period: Period,
    /// `Q*`, the matched volume.
    pub volume: Kwh,
    /// `P*` under `uniform` when something traded.
    pub price: Option<Price>,
    /// Fills by order id (under `high_low`, one per slice, in matching order).
    pub fills: Vec<OrderFill>,
    /// Slices, best first, in matching order (of a coupled session: the pairs of its
    /// contracts, including cross-province ones).
    pub slices: Vec<SliceFill>,
    /// Of a coupled session: one entry per province, sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provinces: Vec<ProvinceResult>,
    /// Of a coupled session: one entry per corridor, in settings order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flows: Vec<CorridorFlow>,
}

/// One province's result in one period of a coupled session (ranking prices).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvinceResult {
    /// The province.
    pub province: Province,
    /// Its price; `None` only when nothing trades there and nothing flows in or out.
    pub price: Option<Price>,
    /// Energy bought by its buy orders.
    pub bought: Kwh,
    /// Energy sold by its sell orders.
    pub sold: Kwh,
}

/// One corridor's result in one period of a coupled session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorridorFlow {
    /// The sending province.
    pub from: Province,
    /// The receiving province.
    pub to: Province,
    /// Energy sent.
    pub sent: Kwh,
    /// Energy delivered: sent − lost.
    pub delivered: Kwh,
    /// 阻塞盈余: the receiving province's value of what is delivered, less the sending
    /// province's value of what is sent and the tariff on it, when both have a price.
    #[serde(default)]
    pub congestion_rent: Option<domain::Fen>,
}

/// What happened as a result of a command, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum Event {
    /// The session moved from one state to another.
    StateChanged {
        /// The state before.
        from: SessionState,
        /// The state after.
        to: SessionState,
    },
    /// An order was accepted (sealed in a call auction: only the operator may see it).
    OrderAccepted {
        /// The order as the session holds it.
        order: Order,
    },
    /// Volume of an order was cancelled: by its owner, or the unmatched rest of an IOC order.
    OrderCancelled {
        /// The order.
        order: OrderId,
        /// The volume cancelled.
        volume: Kwh,
    },
    /// A resting rolling order expired when the session closed or was cancelled.
    OrderExpired {
        /// The order.
        order: OrderId,
        /// The volume that was still resting.
        volume: Kwh,
    },
    /// Two rolling orders traded.
    Traded(TradeRecord),
    /// A contract was made.
    ContractMade(Contract),
    /// A call auction cleared a period (one event per period of the template).
    PeriodCleared {
        /// The period.
        period: Period,
        /// `Q*`.
        volume: Kwh,
        /// `P*` under `uniform` when something traded.
        price: Option<Price>,
    },
    /// A listing was opened.
    ListingOpened(Listing),
    /// Part of a listing was taken, making the contract announced just before.
    ListingTaken {
        /// The listing.
        listing: u64,
        /// Who took.
        taker: ParticipantId,
        /// What was taken, per period.
        volumes: Vec<PeriodVolume>,
        /// The contract made.
        contract: ContractId,
    },
    /// The owner withdrew a listing.
    ListingWithdrawn {
        /// The listing.
        listing: u64,
        /// What was left.
        remaining: Vec<PeriodVolume>,
    },
    /// A listing lapsed when the session closed or was cancelled.
    ListingLapsed {
        /// The listing.
        listing: u64,
        /// What was left.
        remaining: Vec<PeriodVolume>,
    },
    /// A bilateral proposal was made.
    ProposalMade(Proposal),
    /// The counterparty confirmed a proposal, making the contract announced just before.
    ProposalConfirmed {
        /// The proposal.
        proposal: u64,
        /// The contract made.
        contract: ContractId,
    },
    /// A pending proposal lapsed when the session closed or was cancelled.
    ProposalLapsed {
        /// The proposal.
        proposal: u64,
    },
}

/// How much of an order is still live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveOrder {
    /// The order.
    pub order: OrderId,
    /// Its live volume (the resting rest of a rolling order, the whole of a call-auction one).
    pub volume: Kwh,
}

/// Everything a session holds, in a serialisable form: two sessions with equal snapshots
/// behave the same from then on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The session's id.
    pub id: SessionId,
    /// Its settings.
    pub settings: SessionSettings,
    /// Its state.
    pub state: SessionState,
    /// The last sequence number it accepted.
    pub last_seq: Option<u64>,
    /// Every order it accepted, by id.
    pub orders: Vec<Order>,
    /// The orders still live, by id.
    pub live: Vec<LiveOrder>,
    /// Every listing, by id.
    pub listings: Vec<Listing>,
    /// Every proposal, by id.
    pub proposals: Vec<Proposal>,
    /// Every contract, by id.
    pub contracts: Vec<Contract>,
    /// The call auction's results, per period, once cleared.
    pub clearing: Vec<ClearedPeriod>,
}
