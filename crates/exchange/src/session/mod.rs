//! 交易场次: the trading session, a state machine that takes commands and makes contracts.
//!
//! A [`Session`] is created from validated [`SessionSettings`] and then driven only by
//! [`Session::apply`], which takes a [`Command`] and the caller's [`Stamp`] (sequence number and
//! timestamp) and returns the [`Event`]s it caused, or an [`ExchangeError`] that changed nothing.
//!
//! Lifecycle (spec §3): `draft → announced → open → closed → cleared → published`, and
//! `cancelled` from any state before `published`. Orders, listings, takes, proposals and
//! confirmations are accepted only while `open`, and only by a session whose [`Mode`] deals in
//! them:
//!
//! - [`Mode::Rolling`]: orders match at once and each trade is a contract; resting orders expire
//!   at close.
//! - [`Mode::CallAuction`]: sealed orders are collected (and may be cancelled) while open; at
//!   clear the auction runs per period and the contracts are made.
//! - [`Mode::Listing`]: listings are opened and taken, each take a contract; open listings lapse
//!   at close.
//! - [`Mode::Bilateral`]: proposals are made and confirmed, each confirmation a contract;
//!   pending proposals lapse at close.
//!
//! Every volume (of an order, a listing, a take, a proposal or a contract) is energy **per
//! period over the whole delivery window**: 100 MWh in period `h09` of a session delivering in
//! 2025-03 is 100 MWh delivered in the hour 08:00–09:00 across all the days of March 2025
//! (settlement spreads it over the days).
//!
//! Contracts (spec §4) are `effective` when made, carry the session's `compensation` price
//! (bilateral ones carry the proposed one) and get ids 1, 2, … in creation order:
//! - a rolling trade: one contract for the trade's period and volume, at the resting order's
//!   two-part price;
//! - a take: one contract at the listed price; a confirmation: one at the proposed price;
//! - a call auction: one contract per (seller, buyer, two-part price), gathering that pair's
//!   slices across periods in order of first appearance (period order, then slice order), priced
//!   by [`SessionSettings::slice_price`]. Orders at the margin share pro rata in whole kWh
//!   (spec §3.3), so these volumes need not be lot multiples. A slice that would take the
//!   contract's volume in its period beyond [`Kwh::MAX_VOLUME`] starts a further contract of
//!   the same pair and price, which gathers that pair's later slices.
//! - a coupled call auction ([`Method::Coupled`](crate::auction::Method::Coupled),
//!   inter-provincial, with [`SessionSettings::corridors`]): cleared by
//!   [`coupling::clear`](crate::coupling::clear); contracts within each province and, across
//!   each corridor that carries energy, between the sending province's sellers and the receiving
//!   province's buyers, recording the corridor and the losses (see `Session::clear_coupled` for
//!   the pairing rule).
//!
//! # Bounds: why no total of a session overflows
//!
//! Every volume the session takes (of an order, a listing, a take, a proposal; a lot; a
//! corridor's capacity in a period) is at most `V = Kwh::MAX_VOLUME` = 10^9 kWh and every price
//! within `±P`, `P = Price::MAX_ABS` = 10^7 fen/MWh (spec §1); the parsers refuse anything else
//! and the session checks again ([`ExchangeError::VolumeAboveBound`],
//! [`ExchangeError::PriceBeyondBound`]), since commands also come from journals. A session takes
//! at most [`MAX_ORDERS`] = 10^8 orders, [`MAX_LISTINGS`] = 10^6 listings and
//! [`MAX_PROPOSALS`] = 10^6 proposals ([`ExchangeError::SessionFull`]). Then, with
//! `i64::MAX` ≈ 9.22·10^18:
//!
//! - any sum of order volumes — a call auction's cumulative volumes and `Q*`, a rolling price
//!   level's aggregate (the public depth), a coupled province's bought and sold, a corridor's
//!   flow, a contract's volume in a period — is at most `10^8 × V = 10^17` kWh, 92 times inside;
//! - a listing or proposal has at most 96 periods, so everything listed or proposed in a
//!   session totals at most `10^6 × 96 × V ≈ 10^17` kWh, and takes and contracts of it less;
//! - a ranking price (a two-part total) is within `±2P`, a contract's energy part
//!   (`slice_price`: a total's midpoint minus an environmental midpoint) within `±3P`, so money
//!   of a contract period, `V × 3P` kWh·fen/MWh = 3·10^16 (÷ 1000 in fen), and of a whole
//!   contract (96 periods) fit `i64` with room; products are formed in `i128` anyway;
//! - a contract's volume in a period is also at most `V`: where a call-auction pair trades more
//!   than `V` in a period (many orders each), the slices beyond go to a further contract of the
//!   same pair and price, so every contract can be written to and read back from files.
//!
//! Totals across sessions (statistics over a year) are formed in `i128` by their callers.
//!
//! Determinism: the session holds only `Vec`s and `BTreeMap`s, never reads a clock and assigns
//! every id from the caller's sequence numbers (orders, listings, proposals) or in creation order
//! (contracts, from 1). Replaying the same commands with the same stamps gives the same events,
//! byte for byte.
//!
//! The code is split by concern, everything public re-exported here: `settings` (the settings
//! and the checks against them), `command` and `event` (what goes in and what comes out),
//! `state` (the lifecycle), `trading` (the commands of an open session), `clearing` (a call
//! auction's contracts) and `trace` (where a coupled period's energy goes).

mod clearing;
mod command;
mod event;
mod settings;
mod state;
mod trace;
mod trading;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use domain::{
    Contract, ContractCorridor, ContractId, ContractStatus, Kwh, Order, OrderId, ParticipantId,
    Period, PeriodVolume, Price, SessionId, Side, TwoPartPrice,
};

use crate::ExchangeError;
use crate::bilateral::Proposal;
use crate::listing::Listing;
use crate::rolling::{self, Book, IdMap};

/// The most orders a session takes (see the module's bounds): 10^8, so that its order volumes
/// total at most 10^17 kWh.
pub const MAX_ORDERS: usize = 100_000_000;

/// The most listings a session takes: 10^6, each of at most 96 periods of at most
/// [`Kwh::MAX_VOLUME`], so that they total below 10^17 kWh.
pub const MAX_LISTINGS: usize = 1_000_000;

/// The most bilateral proposals a session takes: 10^6, bounded like listings.
pub const MAX_PROPOSALS: usize = 1_000_000;

/// A calendar month of the delivery window, `YYYY-MM` in files and the API.
pub use domain::YearMonth;

pub use command::{Command, CommandKind, Stamp, Target};
pub use event::{
    ClearedPeriod, CorridorFlow, Event, LiveOrder, OrderFill, ProvinceResult, SliceFill, Snapshot,
    TradeRecord,
};
pub use settings::{BidOn, DeliveryWindow, Horizon, Mode, Scope, SessionCorridor, SessionSettings};
pub use state::SessionState;

/// 交易场次: one trading session, from draft to publication.
///
/// Contracts are made as soon as they are agreed (a rolling trade, a take, a confirmation) or at
/// clearing (a call auction), with status `effective`. A cancelled session keeps the record of
/// the contracts it made; they bind only once the session is published, so downstream crates
/// take contracts from published sessions only.
pub struct Session {
    id: SessionId,
    settings: SessionSettings,
    state: SessionState,
    last_seq: Option<u64>,
    /// Accepted orders in id (= sequence) order.
    orders: Vec<Order>,
    /// Order id → position in `orders`: one probe instead of a binary search that misses the
    /// cache at every step once a rolling session holds millions of orders.
    order_index: IdMap<u32>,
    /// The side each participant trades in each period, fixed by its first order there: the
    /// self-trade check, in O(log n) however many orders a participant sends.
    sides: BTreeMap<(ParticipantId, Period), Side>,
    /// Call-auction orders cancelled by their owners.
    withdrawn: BTreeSet<OrderId>,
    /// One book per period (rolling sessions only).
    books: Vec<Book>,
    /// Listings in id order.
    listings: Vec<Listing>,
    /// Proposals in id order.
    proposals: Vec<Proposal>,
    /// Contracts in id order; contract `n` is at index `n - 1`.
    contracts: Vec<Contract>,
    /// Call-auction results per period, once cleared.
    clearing: Vec<ClearedPeriod>,
    /// Of a coupled session: each order's province index (in
    /// [`SessionSettings::coupled_provinces`]), from the participant that submitted it.
    order_provinces: BTreeMap<OrderId, u32>,
}

/// Why a journal does not replay: the entry that no longer applies (`None` when the settings
/// themselves are refused), and the engine's refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayError {
    /// The sequence number of the entry refused, if it was an entry.
    pub seq: Option<u64>,
    /// Why.
    pub error: ExchangeError,
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "journal entry {seq} no longer applies: {}", self.error),
            None => write!(f, "its settings are refused: {}", self.error),
        }
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.snapshot().fmt(f)
    }
}

impl Session {
    /// A new session in `draft`, if its settings are valid.
    pub fn new(id: SessionId, settings: SessionSettings) -> Result<Session, ExchangeError> {
        settings.validate()?;
        let books = match settings.mode {
            Mode::Rolling => settings.template.periods().map(|_| Book::new()).collect(),
            _ => Vec::new(),
        };
        Ok(Session {
            id,
            settings,
            state: SessionState::Draft,
            last_seq: None,
            orders: Vec::new(),
            order_index: IdMap::default(),
            sides: BTreeMap::new(),
            withdrawn: BTreeSet::new(),
            books,
            listings: Vec::new(),
            proposals: Vec::new(),
            contracts: Vec::new(),
            clearing: Vec::new(),
            order_provinces: BTreeMap::new(),
        })
    }

    /// A session rebuilt from its journal: a new session of `settings` with every entry
    /// applied in order, each with the stamp it was accepted with. This is how a server starts
    /// a session and how `lvdian verify` checks a stored snapshot.
    pub fn replay(
        id: SessionId,
        settings: SessionSettings,
        journal: impl IntoIterator<Item = (Command, Stamp)>,
    ) -> Result<Session, ReplayError> {
        let mut session =
            Session::new(id, settings).map_err(|error| ReplayError { seq: None, error })?;
        for (command, stamp) in journal {
            session.apply(command, stamp).map_err(|error| ReplayError {
                seq: Some(stamp.seq),
                error,
            })?;
        }
        Ok(session)
    }

    /// A published session restored from its [`Snapshot`], without replaying its journal: what
    /// a server loads at start for a session that no command can change any more. Only a
    /// published snapshot restores (nothing is live in one, and none of the state a replay
    /// needs for trading — books, self-trade sides, withdrawn call-auction orders — matters
    /// after publication); `lvdian verify` checks stored snapshots against their journals.
    ///
    /// Returns `None` if the snapshot is not of a published session, its settings are invalid,
    /// something is still live, or its orders are not in id order.
    pub fn restore_published(snapshot: Snapshot) -> Option<Session> {
        if snapshot.state != SessionState::Published || !snapshot.live.is_empty() {
            return None;
        }
        let mut session = Session::new(snapshot.id, snapshot.settings).ok()?;
        if snapshot.orders.len() > MAX_ORDERS
            || snapshot.orders.windows(2).any(|w| w[0].id >= w[1].id)
        {
            return None;
        }
        for (position, order) in snapshot.orders.iter().enumerate() {
            session.order_index.insert(order.id.0, position as u32);
        }
        session.state = snapshot.state;
        session.last_seq = snapshot.last_seq;
        session.orders = snapshot.orders;
        session.listings = snapshot.listings;
        session.proposals = snapshot.proposals;
        session.contracts = snapshot.contracts;
        session.clearing = snapshot.clearing;
        Some(session)
    }

    /// The session's id.
    pub fn id(&self) -> SessionId {
        self.id
    }

    /// Its settings.
    pub fn settings(&self) -> &SessionSettings {
        &self.settings
    }

    /// Where it is in its life.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// The last sequence number it accepted.
    pub fn last_seq(&self) -> Option<u64> {
        self.last_seq
    }

    /// Every contract made, in id order.
    pub fn contracts(&self) -> &[Contract] {
        &self.contracts
    }

    /// Every order accepted, in id order, live or not. Call-auction orders are sealed: callers
    /// show them only to the operator before clearing and only to the owner after (spec §7).
    pub fn orders(&self) -> &[Order] {
        &self.orders
    }

    /// An accepted order.
    pub fn order(&self, id: OrderId) -> Option<&Order> {
        self.order_index
            .get(&id.0)
            .map(|&i| &self.orders[i as usize])
    }

    /// The live volume of an order: the resting rest of a rolling order; the whole of a
    /// call-auction order not cancelled while the session is open or closed. `None` when the
    /// order is unknown, filled, cancelled, expired or cleared.
    pub fn live_volume(&self, id: OrderId) -> Option<Kwh> {
        let order = self.order(id)?;
        match self.settings.mode {
            Mode::Rolling => self.books[usize::from(order.period.0)]
                .resting(id)
                .map(|(_, _, _, volume)| volume),
            Mode::CallAuction(_) => {
                let collecting = matches!(self.state, SessionState::Open | SessionState::Closed);
                (collecting && !self.withdrawn.contains(&id)).then_some(order.volume)
            }
            Mode::Bilateral | Mode::Listing => None,
        }
    }

    /// Every listing, in id order.
    pub fn listings(&self) -> &[Listing] {
        &self.listings
    }

    /// A listing by id.
    pub fn listing(&self, id: u64) -> Option<&Listing> {
        self.listing_index(id).ok().map(|i| &self.listings[i])
    }

    /// Every proposal, in id order.
    pub fn proposals(&self) -> &[Proposal] {
        &self.proposals
    }

    /// A proposal by id.
    pub fn proposal(&self, id: u64) -> Option<&Proposal> {
        self.proposal_index(id).ok().map(|i| &self.proposals[i])
    }

    /// The public depth of a rolling session's book (spec §3.4): up to `max_levels` price
    /// levels of one side of one period, best first, without owners. Empty for other modes and
    /// unknown periods. The depth is public while the session is open; after close it is empty.
    pub fn depth(&self, period: Period, side: Side, max_levels: usize) -> Vec<rolling::Level> {
        match self.books.get(usize::from(period.0)) {
            Some(book) => book.depth(side, max_levels),
            None => Vec::new(),
        }
    }

    /// A call auction's results per period, once cleared (empty before and for other modes).
    pub fn clearing(&self) -> &[ClearedPeriod] {
        &self.clearing
    }

    /// Everything the session holds, for comparison and storage.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            id: self.id,
            settings: self.settings.clone(),
            state: self.state,
            last_seq: self.last_seq,
            orders: self.orders.clone(),
            live: self
                .orders
                .iter()
                .filter_map(|o| {
                    self.live_volume(o.id).map(|volume| LiveOrder {
                        order: o.id,
                        volume,
                    })
                })
                .collect(),
            listings: self.listings.clone(),
            proposals: self.proposals.clone(),
            contracts: self.contracts.clone(),
            clearing: self.clearing.clone(),
        }
    }

    /// Applies one command stamped by the caller. On success returns the events it caused, in
    /// order; on refusal returns why, and the session is exactly as before (the stamp's sequence
    /// number is not used up).
    ///
    /// Checks run in this order, the first failure wins: sequence; the mode accepts the
    /// command; the state allows it; then the command's own checks (the target exists and is
    /// live, ownership, role, province, volumes, prices, self-trade).
    pub fn apply(&mut self, command: Command, stamp: Stamp) -> Result<Vec<Event>, ExchangeError> {
        if let Some(last) = self.last_seq
            && stamp.seq <= last
        {
            return Err(ExchangeError::SequenceNotIncreasing {
                last,
                got: stamp.seq,
            });
        }
        let action = command.kind();
        if !self.settings.mode.accepts(action) {
            return Err(ExchangeError::WrongMode {
                action,
                mode: self.settings.mode,
            });
        }
        let events = match command {
            Command::Announce
            | Command::Open
            | Command::Close
            | Command::Clear
            | Command::Publish
            | Command::Cancel => self.transition(action, stamp)?,
            Command::SubmitOrder {
                by,
                side,
                period,
                volume,
                price,
                time_in_force,
            } => self.submit(&by, side, period, volume, price, time_in_force, stamp)?,
            Command::CancelOrder { by, order } => self.cancel_order(by, order)?,
            Command::List {
                by,
                side,
                volumes,
                price,
            } => self.list(&by, side, &volumes, price, stamp)?,
            Command::Take {
                by,
                listing,
                volumes,
            } => self.take(&by, listing, &volumes, stamp)?,
            Command::Withdraw { by, listing } => self.withdraw(by, listing)?,
            Command::Propose {
                by,
                counterparty,
                volumes,
                price,
                compensation,
            } => self.propose(&by, &counterparty, &volumes, price, compensation, stamp)?,
            Command::Confirm { by, proposal } => self.confirm(by, proposal, stamp)?,
        };
        self.last_seq = Some(stamp.seq);
        Ok(events)
    }

    /// Records a new contract with the next id and returns a copy.
    fn make_contract(
        &mut self,
        seller: ParticipantId,
        buyer: ParticipantId,
        volumes: Vec<PeriodVolume>,
        price: TwoPartPrice,
        compensation: Price,
        at_ms: i64,
    ) -> Contract {
        self.make_contract_via(seller, buyer, volumes, price, compensation, at_ms, None)
    }

    /// [`Session::make_contract`] with the corridor of an inter-provincial contract.
    #[allow(clippy::too_many_arguments)]
    fn make_contract_via(
        &mut self,
        seller: ParticipantId,
        buyer: ParticipantId,
        volumes: Vec<PeriodVolume>,
        price: TwoPartPrice,
        compensation: Price,
        at_ms: i64,
        corridor: Option<ContractCorridor>,
    ) -> Contract {
        debug_assert!(volumes.windows(2).all(|w| w[0].period < w[1].period));
        debug_assert!(volumes.iter().all(|v| v.volume > Kwh::ZERO));
        let id = ContractId(self.contracts.len() as u64 + 1);
        let contract = Contract {
            id,
            session: self.id,
            seller,
            buyer,
            volumes,
            price,
            compensation,
            status: ContractStatus::Effective,
            created_at_ms: at_ms,
            corridor,
        };
        self.contracts.push(contract.clone());
        contract
    }

    fn listing_index(&self, id: u64) -> Result<usize, ExchangeError> {
        self.listings
            .binary_search_by_key(&id, |l| l.id)
            .map_err(|_| ExchangeError::Unknown(Target::Listing(id)))
    }

    fn proposal_index(&self, id: u64) -> Result<usize, ExchangeError> {
        self.proposals
            .binary_search_by_key(&id, |p| p.id)
            .map_err(|_| ExchangeError::Unknown(Target::Proposal(id)))
    }
}
