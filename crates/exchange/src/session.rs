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
//! - a coupled call auction ([`Method::Coupled`], inter-provincial, with
//!   [`SessionSettings::corridors`]): cleared by [`coupling::clear`]; contracts within each
//!   province and, across each corridor that carries energy, between the sending province's
//!   sellers and the receiving province's buyers, recording the corridor and the losses (see
//!   `Session::clear_coupled` for the pairing rule).
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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use domain::{
    Contract, ContractCorridor, ContractId, ContractStatus, Kwh, Order, OrderId, Participant,
    ParticipantId, Period, PeriodTemplate, PeriodVolume, Price, Province, SessionId, Side,
    TimeInForce, TwoPartPrice,
};
use serde::{Deserialize, Serialize};

use crate::ExchangeError;
use crate::auction::{self, AuctionOrder, Method};
use crate::bilateral::{self, Proposal, ProposalStatus};
use crate::coupling::{self, CoupledOrder, CoupledPeriod};
use crate::listing::{Listing, ListingStatus};
use crate::rolling::{self, Book, IdMap, Incoming};

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

/// The months a session's contracts deliver in, first and last inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DeliveryWindow {
    /// The first month of delivery.
    pub first_month: YearMonth,
    /// The last month of delivery (not before the first).
    pub last_month: YearMonth,
}

impl DeliveryWindow {
    /// How many months the window spans (1 when first and last are the same month; zero or
    /// less when the window is reversed, which validation refuses).
    pub fn months(self) -> i64 {
        i64::from(self.last_month.index()) - i64::from(self.first_month.index()) + 1
    }
}

/// Which provinces' participants may trade in a session.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// 省内: one province.
    Intra(Province),
    /// 省间: several provinces (at least two, no repeats).
    Inter(Vec<Province>),
}

impl Scope {
    /// Whether participants of `province` may trade.
    pub fn contains(&self, province: &Province) -> bool {
        match self {
            Scope::Intra(p) => p == province,
            Scope::Inter(ps) => ps.contains(province),
        }
    }
}

/// How far ahead a session trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Horizon {
    /// 多年: several years.
    MultiYear,
    /// 年度: a year (a window of at most 12 months).
    Year,
    /// 月度: a month (a window of exactly one month).
    Month,
    /// 月内: within a month (a window of exactly one month).
    IntraMonth,
}

/// How a session matches buyers and sellers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// 双边协商: bilateral proposals and confirmations.
    Bilateral,
    /// 挂牌/摘牌: listings taken in lots.
    Listing,
    /// 集中竞价: sealed orders cleared per period at close.
    CallAuction(Method),
    /// 滚动撮合: continuous price-time matching.
    Rolling,
}

impl Mode {
    /// Whether a session of this mode accepts a command of this kind (in some state).
    pub fn accepts(self, action: CommandKind) -> bool {
        use CommandKind as K;
        match action {
            K::Announce | K::Open | K::Close | K::Clear | K::Publish | K::Cancel => true,
            K::SubmitOrder | K::CancelOrder => matches!(self, Mode::CallAuction(_) | Mode::Rolling),
            K::List | K::Take | K::Withdraw => self == Mode::Listing,
            K::Propose | K::Confirm => self == Mode::Bilateral,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Bilateral => f.write_str("bilateral"),
            Mode::Listing => f.write_str("listing"),
            Mode::CallAuction(Method::Uniform) => f.write_str("call_auction (uniform)"),
            Mode::CallAuction(Method::HighLow) => f.write_str("call_auction (high_low)"),
            Mode::CallAuction(Method::Coupled) => f.write_str("call_auction (coupled)"),
            Mode::Rolling => f.write_str("rolling"),
        }
    }
}

/// Which price a session's mechanism ranks orders on (spec §3, `bid_on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "on")]
pub enum BidOn {
    /// Rank on energy price + environmental value.
    Total,
    /// Rank on the environmental value alone; the session fixes the energy price, and every
    /// order, listing and proposal must state exactly this energy price.
    Environment {
        /// The energy price every price of the session carries.
        energy_price: Price,
    },
}

/// Everything a session is configured with. Checked once by [`SessionSettings::validate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSettings {
    /// Which provinces may trade.
    pub scope: Scope,
    /// How far ahead.
    pub horizon: Horizon,
    /// How buyers and sellers meet.
    pub mode: Mode,
    /// When the energy is delivered; volumes are per period over this whole window.
    pub delivery: DeliveryWindow,
    /// How a delivery day is divided into periods.
    pub template: PeriodTemplate,
    /// The lowest energy price allowed.
    pub energy_price_min: Price,
    /// The highest energy price allowed.
    pub energy_price_max: Price,
    /// The highest environmental value allowed, if the market caps it.
    pub env_price_cap: Option<Price>,
    /// Every volume must be a positive multiple of this.
    pub lot: Kwh,
    /// Which price auctions and rolling matching rank on.
    pub bid_on: BidOn,
    /// 偏差补偿价格 of every contract the session makes, except bilateral ones (which carry
    /// their own).
    pub compensation: Price,
    /// 输电通道: the corridors of a coupled (`call_auction` with [`Method::Coupled`]),
    /// inter-provincial session; empty for every other session.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub corridors: Vec<SessionCorridor>,
}

/// 输电通道: a corridor of a coupled session (spec §3.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCorridor {
    /// The sending province.
    pub from: Province,
    /// The receiving province.
    pub to: Province,
    /// Available transfer capacity (the most energy that may be *sent*) in every period, unless
    /// `capacity_by_period` names the period.
    pub capacity: Kwh,
    /// Capacities of single periods, overriding `capacity`; sorted by period, no repeats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_by_period: Vec<PeriodVolume>,
    /// Fraction of sent energy lost, in 1/10000 (`0.035` is 350), below 10000.
    pub loss: i64,
    /// Transmission tariff per MWh sent, in the session's ranking price (not negative).
    pub tariff: Price,
}

impl SessionCorridor {
    /// The capacity in `period`.
    pub fn capacity_in(&self, period: Period) -> Kwh {
        self.capacity_by_period
            .iter()
            .find(|v| v.period == period)
            .map_or(self.capacity, |v| v.volume)
    }
}

impl SessionSettings {
    /// Refuses settings that make no sense: a reversed window or one that does not fit the
    /// horizon (a month or intra-month session delivers in exactly one month, a year session in
    /// at most 12); an inter-provincial scope of fewer than two provinces or with a repeat;
    /// `energy_price_min > energy_price_max`; a negative environmental cap; a lot that is not
    /// positive; a fixed energy price (`bid_on = environment`) outside the bounds; a negative
    /// compensation price.
    pub fn validate(&self) -> Result<(), ExchangeError> {
        let invalid = |field: &'static str, reason: String| {
            Err(ExchangeError::InvalidSettings { field, reason })
        };
        if let Scope::Inter(provinces) = &self.scope {
            let distinct: BTreeSet<&Province> = provinces.iter().collect();
            if provinces.len() < 2 {
                return invalid(
                    "scope",
                    format!(
                        "an inter-provincial session needs at least two provinces, got {}",
                        provinces.len()
                    ),
                );
            }
            if distinct.len() != provinces.len() {
                return invalid("scope", "a province is listed twice".to_owned());
            }
        }
        for (end, month) in [
            ("first", self.delivery.first_month),
            ("last", self.delivery.last_month),
        ] {
            // No delivery of this market lies outside its years (and month arithmetic over the
            // window stays small).
            let in_market = domain::MARKET_YEARS.contains(&month.year());
            if !in_market {
                return invalid(
                    "delivery",
                    format!(
                        "{end} month {month} is outside the market's years {}–{}",
                        domain::MARKET_YEARS.start(),
                        domain::MARKET_YEARS.end()
                    ),
                );
            }
        }
        let months = self.delivery.months();
        if months < 1 {
            return invalid(
                "delivery",
                format!(
                    "last month {} is before first month {}",
                    self.delivery.last_month, self.delivery.first_month
                ),
            );
        }
        let fits = match self.horizon {
            Horizon::MultiYear => true,
            Horizon::Year => months <= 12,
            Horizon::Month | Horizon::IntraMonth => months == 1,
        };
        if !fits {
            return invalid(
                "delivery",
                format!(
                    "a window of {months} months does not fit a {:?} horizon",
                    self.horizon
                ),
            );
        }
        let prices = [
            ("energy_price_min", Some(self.energy_price_min)),
            ("energy_price_max", Some(self.energy_price_max)),
            ("env_price_cap", self.env_price_cap),
            ("compensation", Some(self.compensation)),
            (
                "bid_on.energy_price",
                match self.bid_on {
                    BidOn::Environment { energy_price } => Some(energy_price),
                    BidOn::Total => None,
                },
            ),
        ];
        for (field, price) in prices {
            if let Some(price) = price
                && !price.within_bounds()
            {
                return invalid(
                    field,
                    format!("{price} is beyond the bound of {}", Price::MAX_ABS_TEXT),
                );
            }
        }
        if self.energy_price_min > self.energy_price_max {
            return invalid(
                "energy_price_min",
                format!(
                    "{} is above energy_price_max {}",
                    self.energy_price_min, self.energy_price_max
                ),
            );
        }
        if let Some(cap) = self.env_price_cap
            && cap < Price::ZERO
        {
            return invalid("env_price_cap", format!("{cap} is negative"));
        }
        if self.lot <= Kwh::ZERO {
            return invalid("lot", format!("{} is not positive", self.lot));
        }
        if self.lot > Kwh::MAX_VOLUME {
            return invalid(
                "lot",
                format!(
                    "{} MWh is beyond the bound of {}",
                    self.lot.mwh(),
                    Kwh::MAX_VOLUME_TEXT
                ),
            );
        }
        if let BidOn::Environment { energy_price } = self.bid_on
            && !(self.energy_price_min..=self.energy_price_max).contains(&energy_price)
        {
            return invalid(
                "bid_on.energy_price",
                format!(
                    "{energy_price} is outside [{}, {}]",
                    self.energy_price_min, self.energy_price_max
                ),
            );
        }
        if self.compensation < Price::ZERO {
            return invalid("compensation", format!("{} is negative", self.compensation));
        }
        self.validate_corridors()
    }

    /// The corridor rules: corridors only in a coupled session, which must be inter-provincial;
    /// each joins two different provinces of the scope, at most once per direction; capacities
    /// not negative and overrides for template periods, each named once; loss in `0..1`
    /// (1/10000 units), tariff not negative. Energy may pass through provinces and corridors
    /// may run both ways, but where corridors form a loop (both directions of a line, or a
    /// ring) every corridor on it must charge a positive tariff and, under `bid_on = total`,
    /// `energy_price_min` must not be negative: then sending energy round the loop only costs,
    /// so the clearing never does it, and every contract follows one path from seller to buyer.
    fn validate_corridors(&self) -> Result<(), ExchangeError> {
        let invalid = |reason: String| {
            Err(ExchangeError::InvalidSettings {
                field: "corridors",
                reason,
            })
        };
        let coupled = self.mode == Mode::CallAuction(Method::Coupled);
        if !coupled {
            if !self.corridors.is_empty() {
                return invalid("only a coupled call auction has corridors".to_owned());
            }
            return Ok(());
        }
        if !matches!(self.scope, Scope::Inter(_)) {
            return Err(ExchangeError::InvalidSettings {
                field: "scope",
                reason: "a coupled session is inter-provincial".to_owned(),
            });
        }
        let mut seen = BTreeSet::new();
        for (i, c) in self.corridors.iter().enumerate() {
            if c.from == c.to {
                return invalid(format!("corridor {i} joins {} to itself", c.from));
            }
            for p in [&c.from, &c.to] {
                if !self.scope.contains(p) {
                    return invalid(format!("corridor {i}: {p} is not in the scope"));
                }
            }
            if !seen.insert((&c.from, &c.to)) {
                return invalid(format!("corridor {}→{} is listed twice", c.from, c.to));
            }
            if c.capacity < Kwh::ZERO {
                return invalid(format!("corridor {i}: negative capacity"));
            }
            let beyond = |v: Kwh| {
                format!(
                    "corridor {i}: capacity {} MWh is beyond the bound of {}",
                    v.mwh(),
                    Kwh::MAX_VOLUME_TEXT
                )
            };
            if c.capacity > Kwh::MAX_VOLUME {
                return invalid(beyond(c.capacity));
            }
            let mut periods = BTreeSet::new();
            for v in &c.capacity_by_period {
                if !self.template.contains(v.period) {
                    return invalid(format!("corridor {i}: unknown period {}", v.period.0));
                }
                if v.volume < Kwh::ZERO {
                    return invalid(format!("corridor {i}: negative capacity"));
                }
                if v.volume > Kwh::MAX_VOLUME {
                    return invalid(beyond(v.volume));
                }
                if !periods.insert(v.period) {
                    return invalid(format!("corridor {i}: period {} named twice", v.period.0));
                }
            }
            if !(0..crate::coupling::LOSS_DENOMINATOR).contains(&c.loss) {
                return invalid(format!("corridor {i}: loss must be in [0, 1)"));
            }
            if c.tariff < Price::ZERO {
                return invalid(format!("corridor {i}: negative tariff"));
            }
            if !c.tariff.within_bounds() {
                return invalid(format!(
                    "corridor {i}: tariff {} is beyond the bound of {}",
                    c.tariff,
                    Price::MAX_ABS_TEXT
                ));
            }
        }
        let on_loop: Vec<&SessionCorridor> = self
            .corridors
            .iter()
            .filter(|c| self.reaches(&c.to, &c.from))
            .collect();
        if let Some(c) = on_loop.iter().find(|c| c.tariff <= Price::ZERO) {
            return invalid(format!(
                "corridor {}→{} is on a loop of corridors and needs a positive tariff \
                 (else energy could be sent round the loop for nothing)",
                c.from, c.to
            ));
        }
        if !on_loop.is_empty() && self.bid_on == BidOn::Total && self.energy_price_min < Price::ZERO
        {
            return Err(ExchangeError::InvalidSettings {
                field: "energy_price_min",
                reason: format!(
                    "{} is negative, but the corridors form a loop: a seller paid to produce \
                     could have its energy sent round the loop just to be lost",
                    self.energy_price_min
                ),
            });
        }
        Ok(())
    }

    /// Whether energy can go from `from` to `to` over the session's corridors (a province
    /// reaches itself).
    fn reaches(&self, from: &Province, to: &Province) -> bool {
        let mut seen: BTreeSet<&Province> = BTreeSet::from([from]);
        let mut stack = vec![from];
        while let Some(p) = stack.pop() {
            if p == to {
                return true;
            }
            for c in self.corridors.iter().filter(|c| &c.from == p) {
                if seen.insert(&c.to) {
                    stack.push(&c.to);
                }
            }
        }
        false
    }

    /// The provinces of a coupled session, sorted by name; their positions are the province
    /// indexes given to [`coupling::clear`].
    pub fn coupled_provinces(&self) -> Vec<Province> {
        match &self.scope {
            Scope::Inter(list) => {
                let set: BTreeSet<&Province> = list.iter().collect();
                set.into_iter().cloned().collect()
            }
            Scope::Intra(one) => vec![one.clone()],
        }
    }

    /// The price the mechanism ranks on: the total under [`BidOn::Total`], the environmental
    /// value under [`BidOn::Environment`].
    pub fn ranking_price(&self, price: TwoPartPrice) -> Price {
        match self.bid_on {
            BidOn::Total => price.total(),
            BidOn::Environment { .. } => price.environment,
        }
    }

    /// The two-part price of a call-auction slice that trades at ranking price `p` between a
    /// buy order priced `buy` and a sell order priced `sell`.
    ///
    /// - [`BidOn::Environment`]: energy is the session's fixed price, environment is `p`.
    /// - [`BidOn::Total`]: environment is the midpoint of the two orders' environmental values
    ///   (rounded half away from zero to the fen), energy is `p` minus that, so the parts add up
    ///   to the cleared total exactly. The energy part is not re-checked against the bounds.
    pub fn slice_price(&self, p: Price, buy: TwoPartPrice, sell: TwoPartPrice) -> TwoPartPrice {
        match self.bid_on {
            BidOn::Environment { energy_price } => TwoPartPrice {
                energy: energy_price,
                environment: p,
            },
            BidOn::Total => {
                let environment = Price::midpoint(buy.environment, sell.environment);
                TwoPartPrice {
                    energy: p - environment,
                    environment,
                }
            }
        }
    }

    /// Checks that `participant` may trade `side` here: its role may (`Role::may_buy` /
    /// `Role::may_sell`) and its province is in scope.
    pub fn check_participant(
        &self,
        participant: &Participant,
        side: Side,
    ) -> Result<(), ExchangeError> {
        let may = match side {
            Side::Buy => participant.role.may_buy(),
            Side::Sell => participant.role.may_sell(),
        };
        if !may {
            return Err(ExchangeError::RoleMayNotTrade {
                participant: participant.id,
                role: participant.role,
                side,
            });
        }
        self.check_province(participant)
    }

    /// Checks that `participant`'s province is in scope.
    pub fn check_province(&self, participant: &Participant) -> Result<(), ExchangeError> {
        if self.scope.contains(&participant.province) {
            Ok(())
        } else {
            Err(ExchangeError::ProvinceOutOfScope {
                participant: participant.id,
                province: participant.province.clone(),
            })
        }
    }

    /// Checks one period's volume: the period is in the template, the volume is positive, at
    /// most [`Kwh::MAX_VOLUME`] and a multiple of the lot.
    pub fn check_volume(&self, period: Period, volume: Kwh) -> Result<(), ExchangeError> {
        if !self.template.contains(period) {
            return Err(ExchangeError::UnknownPeriod {
                period,
                periods: self.template.len(),
            });
        }
        if volume <= Kwh::ZERO {
            return Err(ExchangeError::VolumeNotPositive { period, volume });
        }
        if volume > Kwh::MAX_VOLUME {
            return Err(ExchangeError::VolumeAboveBound { period, volume });
        }
        if volume.0 % self.lot.0 != 0 {
            return Err(ExchangeError::VolumeNotLotMultiple {
                period,
                volume,
                lot: self.lot,
            });
        }
        Ok(())
    }

    /// Checks a list of per-period volumes (non-empty, each valid, no period twice) and returns
    /// it sorted by period.
    pub fn check_volumes(
        &self,
        volumes: &[PeriodVolume],
    ) -> Result<Vec<PeriodVolume>, ExchangeError> {
        if volumes.is_empty() {
            return Err(ExchangeError::NoVolume);
        }
        for v in volumes {
            self.check_volume(v.period, v.volume)?;
        }
        let mut sorted = volumes.to_vec();
        sorted.sort_by_key(|v| v.period);
        if let Some(pair) = sorted.windows(2).find(|w| w[0].period == w[1].period) {
            return Err(ExchangeError::DuplicatePeriod {
                period: pair[0].period,
            });
        }
        Ok(sorted)
    }

    /// Checks a two-part price: both parts within ±[`Price::MAX_ABS`] (spec §1); the energy
    /// price equals the fixed one (`bid_on = environment`) or lies within the session's bounds;
    /// the environmental value is not negative and not above the cap.
    pub fn check_price(&self, price: TwoPartPrice) -> Result<(), ExchangeError> {
        for (field, part) in [
            ("energy price", price.energy),
            ("environmental value", price.environment),
        ] {
            if !part.within_bounds() {
                return Err(ExchangeError::PriceBeyondBound { field, price: part });
            }
        }
        match self.bid_on {
            BidOn::Environment { energy_price } if price.energy != energy_price => {
                return Err(ExchangeError::EnergyPriceNotFixed {
                    price: price.energy,
                    fixed: energy_price,
                });
            }
            _ => {}
        }
        if !(self.energy_price_min..=self.energy_price_max).contains(&price.energy) {
            return Err(ExchangeError::EnergyPriceOutOfBounds {
                price: price.energy,
                min: self.energy_price_min,
                max: self.energy_price_max,
            });
        }
        if price.environment < Price::ZERO {
            return Err(ExchangeError::EnvironmentNegative {
                price: price.environment,
            });
        }
        if let Some(cap) = self.env_price_cap
            && price.environment > cap
        {
            return Err(ExchangeError::EnvironmentAboveCap {
                price: price.environment,
                cap,
            });
        }
        Ok(())
    }
}

/// Where a session is in its life (spec §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Being set up; invisible to participants.
    Draft,
    /// Announced to the market; not yet taking orders.
    Announced,
    /// Taking orders, listings, takes, proposals and confirmations.
    Open,
    /// No longer taking anything; a call auction waits to be cleared.
    Closed,
    /// Results computed and contracts made.
    Cleared,
    /// Results public. Final.
    Published,
    /// Called off before publication. Final.
    Cancelled,
}

impl SessionState {
    /// All states, in lifecycle order.
    pub const ALL: [SessionState; 7] = [
        SessionState::Draft,
        SessionState::Announced,
        SessionState::Open,
        SessionState::Closed,
        SessionState::Cleared,
        SessionState::Published,
        SessionState::Cancelled,
    ];

    /// The state's name as written in files and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Draft => "draft",
            SessionState::Announced => "announced",
            SessionState::Open => "open",
            SessionState::Closed => "closed",
            SessionState::Cleared => "cleared",
            SessionState::Published => "published",
            SessionState::Cancelled => "cancelled",
        }
    }

    /// The state a lifecycle command leads to from this one, or `None` when the command is not
    /// allowed here (or is not a lifecycle command).
    pub fn after(self, action: CommandKind) -> Option<SessionState> {
        use SessionState as S;
        match (action, self) {
            (CommandKind::Announce, S::Draft) => Some(S::Announced),
            (CommandKind::Open, S::Announced) => Some(S::Open),
            (CommandKind::Close, S::Open) => Some(S::Closed),
            (CommandKind::Clear, S::Closed) => Some(S::Cleared),
            (CommandKind::Publish, S::Cleared) => Some(S::Published),
            (CommandKind::Cancel, S::Published | S::Cancelled) => None,
            (CommandKind::Cancel, _) => Some(S::Cancelled),
            _ => None,
        }
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of a [`Command`], used to name it in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandKind {
    /// [`Command::Announce`].
    Announce,
    /// [`Command::Open`].
    Open,
    /// [`Command::Close`].
    Close,
    /// [`Command::Clear`].
    Clear,
    /// [`Command::Publish`].
    Publish,
    /// [`Command::Cancel`].
    Cancel,
    /// [`Command::SubmitOrder`].
    SubmitOrder,
    /// [`Command::CancelOrder`].
    CancelOrder,
    /// [`Command::List`].
    List,
    /// [`Command::Take`].
    Take,
    /// [`Command::Withdraw`].
    Withdraw,
    /// [`Command::Propose`].
    Propose,
    /// [`Command::Confirm`].
    Confirm,
}

impl CommandKind {
    /// The command's name as written in files, the API and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandKind::Announce => "announce",
            CommandKind::Open => "open",
            CommandKind::Close => "close",
            CommandKind::Clear => "clear",
            CommandKind::Publish => "publish",
            CommandKind::Cancel => "cancel",
            CommandKind::SubmitOrder => "submit_order",
            CommandKind::CancelOrder => "cancel_order",
            CommandKind::List => "list",
            CommandKind::Take => "take",
            CommandKind::Withdraw => "withdraw",
            CommandKind::Propose => "propose",
            CommandKind::Confirm => "confirm",
        }
    }
}

impl fmt::Display for CommandKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something a command can point at by id: an order, a listing or a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// An order, by the id the session gave it.
    Order(OrderId),
    /// A listing, by its id (the sequence number of the command that listed it).
    Listing(u64),
    /// A bilateral proposal, by its id (the sequence number of the command that made it).
    Proposal(u64),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Order(id) => write!(f, "order {id}"),
            Target::Listing(id) => write!(f, "listing {id}"),
            Target::Proposal(id) => write!(f, "proposal {id}"),
        }
    }
}

/// The caller's stamp on a command: the engine never reads a clock or invents an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stamp {
    /// Strictly increasing across every command a session accepts; it becomes the id of the
    /// order, listing or proposal the command creates. A refused command does not use it up.
    pub seq: u64,
    /// When the command arrived, in ms since the Unix epoch; recorded as given.
    pub at_ms: i64,
}

/// What a session can be told to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "command")]
pub enum Command {
    /// `draft → announced`.
    Announce,
    /// `announced → open`.
    Open,
    /// `open → closed`: resting rolling orders expire, open listings and pending proposals lapse.
    Close,
    /// `closed → cleared`: a call auction clears and makes its contracts; other modes already
    /// made theirs while open.
    Clear,
    /// `cleared → published`.
    Publish,
    /// Calls the session off from any state before `published`; from `open`, what `close`
    /// would end ends too.
    Cancel,
    /// A call-auction or rolling order.
    SubmitOrder {
        /// Who submits it.
        by: Participant,
        /// Buy or sell.
        side: Side,
        /// The delivery period.
        period: Period,
        /// The volume, a positive multiple of the lot.
        volume: Kwh,
        /// The limit price in two parts.
        price: TwoPartPrice,
        /// Limit or IOC (rolling only; a call auction treats every order as a limit).
        time_in_force: TimeInForce,
    },
    /// Cancels a live order (a resting rolling order, or a call-auction order before close).
    CancelOrder {
        /// Who asks; only the owner may.
        by: ParticipantId,
        /// The order.
        order: OrderId,
    },
    /// 挂牌: lists volumes per period at a two-part price.
    List {
        /// Who lists.
        by: Participant,
        /// The lister's side: `sell` to offer energy, `buy` to ask for it.
        side: Side,
        /// Volumes per period, each a positive multiple of the lot.
        volumes: Vec<PeriodVolume>,
        /// The price of every take.
        price: TwoPartPrice,
    },
    /// 摘牌: takes part of a listing, making a contract at the listed price.
    Take {
        /// Who takes.
        by: Participant,
        /// The listing's id.
        listing: u64,
        /// Volumes per period, lot multiples, each no more than the listing has left.
        volumes: Vec<PeriodVolume>,
    },
    /// Withdraws what is left of a listing.
    Withdraw {
        /// Who asks; only the owner may.
        by: ParticipantId,
        /// The listing's id.
        listing: u64,
    },
    /// Proposes a bilateral contract to a counterparty.
    Propose {
        /// Who proposes; seller or buyer according to its role.
        by: Participant,
        /// Who must confirm.
        counterparty: Participant,
        /// Volumes per period, each a positive multiple of the lot.
        volumes: Vec<PeriodVolume>,
        /// The contract's two-part price.
        price: TwoPartPrice,
        /// The contract's compensation price, not negative.
        compensation: Price,
    },
    /// Confirms a proposal, making the contract.
    Confirm {
        /// Who confirms; only the counterparty may.
        by: ParticipantId,
        /// The proposal's id.
        proposal: u64,
    },
}

impl Command {
    /// The command's kind.
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::Announce => CommandKind::Announce,
            Command::Open => CommandKind::Open,
            Command::Close => CommandKind::Close,
            Command::Clear => CommandKind::Clear,
            Command::Publish => CommandKind::Publish,
            Command::Cancel => CommandKind::Cancel,
            Command::SubmitOrder { .. } => CommandKind::SubmitOrder,
            Command::CancelOrder { .. } => CommandKind::CancelOrder,
            Command::List { .. } => CommandKind::List,
            Command::Take { .. } => CommandKind::Take,
            Command::Withdraw { .. } => CommandKind::Withdraw,
            Command::Propose { .. } => CommandKind::Propose,
            Command::Confirm { .. } => CommandKind::Confirm,
        }
    }
}

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

    fn require_open(&self, action: CommandKind) -> Result<(), ExchangeError> {
        if self.state == SessionState::Open {
            Ok(())
        } else {
            Err(ExchangeError::WrongState {
                action,
                state: self.state,
            })
        }
    }

    fn transition(
        &mut self,
        action: CommandKind,
        stamp: Stamp,
    ) -> Result<Vec<Event>, ExchangeError> {
        let from = self.state;
        let to = from.after(action).ok_or(ExchangeError::WrongState {
            action,
            state: from,
        })?;
        // A coupled clearing is computed before anything changes, so that a solver failure
        // refuses the command instead of leaving a half-cleared session.
        let coupled = if to == SessionState::Cleared
            && self.settings.mode == Mode::CallAuction(Method::Coupled)
        {
            Some(self.solve_coupled()?)
        } else {
            None
        };
        self.state = to;
        let mut events = vec![Event::StateChanged { from, to }];
        if from == SessionState::Open {
            self.wind_down(&mut events);
        }
        if let Some(clearing) = coupled {
            self.clear_coupled(clearing, stamp, &mut events);
        } else if let (SessionState::Cleared, Mode::CallAuction(method)) = (to, self.settings.mode)
        {
            self.clear_auction(method, stamp, &mut events);
        }
        Ok(events)
    }

    /// Ends what lives only while the session is open: resting rolling orders, open listings,
    /// pending proposals. Call-auction orders wait for clearing.
    fn wind_down(&mut self, events: &mut Vec<Event>) {
        if self.settings.mode == Mode::Rolling {
            for order in &self.orders {
                let book = &mut self.books[usize::from(order.period.0)];
                if let Some(volume) = book.cancel(order.id) {
                    events.push(Event::OrderExpired {
                        order: order.id,
                        volume,
                    });
                }
            }
        }
        for listing in &mut self.listings {
            if listing.status == ListingStatus::Open {
                let remaining = listing.end(ListingStatus::Lapsed);
                events.push(Event::ListingLapsed {
                    listing: listing.id,
                    remaining,
                });
            }
        }
        for proposal in &mut self.proposals {
            if proposal.status == ProposalStatus::Pending {
                proposal.status = ProposalStatus::Lapsed;
                events.push(Event::ProposalLapsed {
                    proposal: proposal.id,
                });
            }
        }
    }

    /// Runs the call auction on the live orders and makes one contract per (seller, buyer,
    /// two-part price), aggregating slices across periods in order of first appearance (period
    /// order, then slice order); see [`SessionSettings::slice_price`] for the price.
    fn clear_auction(&mut self, method: Method, stamp: Stamp, events: &mut Vec<Event>) {
        let live: Vec<usize> = (0..self.orders.len())
            .filter(|&i| !self.withdrawn.contains(&self.orders[i].id))
            .collect();
        let input: Vec<AuctionOrder> = live
            .iter()
            .map(|&i| {
                let o = &self.orders[i];
                AuctionOrder {
                    period: u32::from(o.period.0),
                    side: o.side,
                    volume: o.volume,
                    price: self.settings.ranking_price(o.price),
                }
            })
            .collect();
        let periods = self.settings.template.len();
        let results = auction::clear(&input, periods, method);
        assert_eq!(results.len(), periods, "one result per period");

        type Key = (ParticipantId, ParticipantId, i64, i64);
        let mut drafts: Vec<(Key, TwoPartPrice, Vec<PeriodVolume>)> = Vec::new();
        let mut index: BTreeMap<Key, usize> = BTreeMap::new();
        for (p, result) in results.into_iter().enumerate() {
            let period = Period(u16::try_from(p).expect("templates have at most 96 periods"));
            let order_of = |i: usize| &self.orders[live[i]];
            for slice in &result.slices {
                let (buy, sell) = (order_of(slice.buy), order_of(slice.sell));
                let price = self
                    .settings
                    .slice_price(slice.price, buy.price, sell.price);
                let key = (
                    sell.participant,
                    buy.participant,
                    price.energy.0,
                    price.environment.0,
                );
                let mut at = *index.entry(key).or_insert_with(|| {
                    drafts.push((key, price, Vec::new()));
                    drafts.len() - 1
                });
                if !fits_bound(&drafts[at].2, period, slice.volume) {
                    // The pair's contract is full in this period: a further one takes the rest.
                    drafts.push((key, price, Vec::new()));
                    at = drafts.len() - 1;
                    index.insert(key, at);
                }
                add_volume(&mut drafts[at].2, period, slice.volume);
            }
            events.push(Event::PeriodCleared {
                period,
                volume: result.volume,
                price: result.price,
            });
            self.clearing.push(ClearedPeriod {
                period,
                volume: result.volume,
                price: result.price,
                fills: result
                    .fills
                    .iter()
                    .map(|f| OrderFill {
                        order: order_of(f.order).id,
                        volume: f.volume,
                        price: f.price,
                    })
                    .collect(),
                slices: result
                    .slices
                    .iter()
                    .map(|s| SliceFill {
                        buy: order_of(s.buy).id,
                        sell: order_of(s.sell).id,
                        volume: s.volume,
                        price: s.price,
                    })
                    .collect(),
                provinces: Vec::new(),
                flows: Vec::new(),
            });
        }
        let compensation = self.settings.compensation;
        for ((seller, buyer, _, _), price, volumes) in drafts {
            let contract =
                self.make_contract(seller, buyer, volumes, price, compensation, stamp.at_ms);
            events.push(Event::ContractMade(contract));
        }
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

    /// Accepts a call-auction or rolling order. A participant trades one side of a period in a
    /// session, the side of its first order there (self-trade prevention: an order on the other
    /// side is refused).
    #[allow(clippy::too_many_arguments)]
    fn submit(
        &mut self,
        by: &Participant,
        side: Side,
        period: Period,
        volume: Kwh,
        price: TwoPartPrice,
        time_in_force: TimeInForce,
        stamp: Stamp,
    ) -> Result<Vec<Event>, ExchangeError> {
        self.require_open(CommandKind::SubmitOrder)?;
        if self.orders.len() >= MAX_ORDERS {
            return Err(ExchangeError::SessionFull {
                what: "orders",
                limit: MAX_ORDERS,
            });
        }
        self.settings.check_participant(by, side)?;
        self.settings.check_volume(period, volume)?;
        self.settings.check_price(price)?;
        if self
            .sides
            .get(&(by.id, period))
            .is_some_and(|&first| first != side)
        {
            return Err(ExchangeError::SelfTrade { participant: by.id });
        }

        let order = Order {
            id: OrderId(stamp.seq),
            participant: by.id,
            side,
            period,
            volume,
            price,
            time_in_force,
            submitted_at_ms: stamp.at_ms,
        };
        // Below MAX_ORDERS = 10^8 < 2^32, checked above.
        let position = u32::try_from(self.orders.len()).expect("fewer than 2^32 orders a session");
        self.order_index.insert(order.id.0, position);
        if self.settings.mode == Mode::CallAuction(Method::Coupled) {
            let province = self
                .settings
                .coupled_provinces()
                .iter()
                .position(|p| *p == by.province)
                .expect("the province was checked to be in scope");
            self.order_provinces.insert(order.id, province as u32);
        }
        self.orders.push(order.clone());
        self.sides.insert((by.id, period), side);
        let mut events = vec![Event::OrderAccepted {
            order: order.clone(),
        }];
        if self.settings.mode == Mode::Rolling {
            self.match_rolling(&order, stamp, &mut events);
        }
        Ok(events)
    }

    /// Matches a new rolling order; each trade becomes a contract at the resting order's
    /// two-part price for the trade's period and volume.
    fn match_rolling(&mut self, order: &Order, stamp: Stamp, events: &mut Vec<Event>) {
        let incoming = Incoming {
            id: order.id,
            owner: order.participant,
            side: order.side,
            volume: order.volume,
            price: self.settings.ranking_price(order.price),
            time_in_force: order.time_in_force,
        };
        let mut trades = Vec::new();
        let outcome = self.books[usize::from(order.period.0)].submit(incoming, &mut trades);
        for trade in trades {
            let resting = self
                .order(trade.resting)
                .expect("resting orders are the session's")
                .price;
            debug_assert_eq!(self.settings.ranking_price(resting), trade.price);
            let record = TradeRecord {
                period: order.period,
                buy_order: trade.buy_order,
                sell_order: trade.sell_order,
                resting: trade.resting,
                buyer: trade.buyer,
                seller: trade.seller,
                volume: trade.volume,
                price: resting,
            };
            let contract = self.make_contract(
                trade.seller,
                trade.buyer,
                vec![PeriodVolume {
                    period: order.period,
                    volume: trade.volume,
                }],
                resting,
                self.settings.compensation,
                stamp.at_ms,
            );
            events.push(Event::Traded(record));
            events.push(Event::ContractMade(contract));
        }
        if outcome.cancelled > Kwh::ZERO {
            events.push(Event::OrderCancelled {
                order: order.id,
                volume: outcome.cancelled,
            });
        }
    }

    fn cancel_order(
        &mut self,
        by: ParticipantId,
        id: OrderId,
    ) -> Result<Vec<Event>, ExchangeError> {
        self.require_open(CommandKind::CancelOrder)?;
        let order = self
            .order(id)
            .ok_or(ExchangeError::Unknown(Target::Order(id)))?;
        if order.participant != by {
            return Err(ExchangeError::NotOwner {
                participant: by,
                target: Target::Order(id),
                owner: order.participant,
            });
        }
        let volume = self
            .live_volume(id)
            .ok_or(ExchangeError::OrderNotLive { order: id })?;
        let period = order.period;
        match self.settings.mode {
            Mode::Rolling => {
                let cancelled = self.books[usize::from(period.0)].cancel(id);
                assert_eq!(cancelled, Some(volume), "live order rests in its book");
            }
            _ => {
                self.withdrawn.insert(id);
            }
        }
        Ok(vec![Event::OrderCancelled { order: id, volume }])
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

    fn list(
        &mut self,
        by: &Participant,
        side: Side,
        volumes: &[PeriodVolume],
        price: TwoPartPrice,
        stamp: Stamp,
    ) -> Result<Vec<Event>, ExchangeError> {
        self.require_open(CommandKind::List)?;
        if self.listings.len() >= MAX_LISTINGS {
            return Err(ExchangeError::SessionFull {
                what: "listings",
                limit: MAX_LISTINGS,
            });
        }
        self.settings.check_participant(by, side)?;
        let volumes = self.settings.check_volumes(volumes)?;
        self.settings.check_price(price)?;
        let listing = Listing::new(stamp.seq, by.id, side, price, volumes, stamp.at_ms);
        self.listings.push(listing.clone());
        Ok(vec![Event::ListingOpened(listing)])
    }

    fn take(
        &mut self,
        by: &Participant,
        id: u64,
        volumes: &[PeriodVolume],
        stamp: Stamp,
    ) -> Result<Vec<Event>, ExchangeError> {
        self.require_open(CommandKind::Take)?;
        let at = self.listing_index(id)?;
        let listing = &self.listings[at];
        listing.check_open()?;
        self.settings.check_participant(by, listing.taker_side())?;
        let volumes = self.settings.check_volumes(volumes)?;
        listing.check_take(by.id, &volumes)?;

        let (seller, buyer) = listing.parties(by.id);
        let price = listing.price;
        self.listings[at].take(&volumes);
        let contract = self.make_contract(
            seller,
            buyer,
            volumes.clone(),
            price,
            self.settings.compensation,
            stamp.at_ms,
        );
        let contract_id = contract.id;
        Ok(vec![
            Event::ContractMade(contract),
            Event::ListingTaken {
                listing: id,
                taker: by.id,
                volumes,
                contract: contract_id,
            },
        ])
    }

    fn withdraw(&mut self, by: ParticipantId, id: u64) -> Result<Vec<Event>, ExchangeError> {
        self.require_open(CommandKind::Withdraw)?;
        let at = self.listing_index(id)?;
        let listing = &self.listings[at];
        if listing.owner != by {
            return Err(ExchangeError::NotOwner {
                participant: by,
                target: Target::Listing(id),
                owner: listing.owner,
            });
        }
        listing.check_open()?;
        let remaining = self.listings[at].end(ListingStatus::Withdrawn);
        Ok(vec![Event::ListingWithdrawn {
            listing: id,
            remaining,
        }])
    }

    fn propose(
        &mut self,
        by: &Participant,
        counterparty: &Participant,
        volumes: &[PeriodVolume],
        price: TwoPartPrice,
        compensation: Price,
        stamp: Stamp,
    ) -> Result<Vec<Event>, ExchangeError> {
        self.require_open(CommandKind::Propose)?;
        if self.proposals.len() >= MAX_PROPOSALS {
            return Err(ExchangeError::SessionFull {
                what: "proposals",
                limit: MAX_PROPOSALS,
            });
        }
        let side = bilateral::proposer_side(by, counterparty)?;
        self.settings.check_province(by)?;
        self.settings.check_province(counterparty)?;
        if by.id == counterparty.id {
            return Err(ExchangeError::SelfTrade { participant: by.id });
        }
        let volumes = self.settings.check_volumes(volumes)?;
        self.settings.check_price(price)?;
        if compensation < Price::ZERO {
            return Err(ExchangeError::CompensationNegative {
                price: compensation,
            });
        }
        if !compensation.within_bounds() {
            return Err(ExchangeError::PriceBeyondBound {
                field: "compensation price",
                price: compensation,
            });
        }
        let (seller, buyer) = match side {
            Side::Sell => (by.id, counterparty.id),
            Side::Buy => (counterparty.id, by.id),
        };
        let proposal = Proposal {
            id: stamp.seq,
            proposer: by.id,
            counterparty: counterparty.id,
            seller,
            buyer,
            volumes,
            price,
            compensation,
            status: ProposalStatus::Pending,
            proposed_at_ms: stamp.at_ms,
        };
        self.proposals.push(proposal.clone());
        Ok(vec![Event::ProposalMade(proposal)])
    }

    fn confirm(
        &mut self,
        by: ParticipantId,
        id: u64,
        stamp: Stamp,
    ) -> Result<Vec<Event>, ExchangeError> {
        self.require_open(CommandKind::Confirm)?;
        let at = self.proposal_index(id)?;
        let proposal = &self.proposals[at];
        proposal.check_confirm(by)?;
        let (seller, buyer) = (proposal.seller, proposal.buyer);
        let (volumes, price, compensation) = (
            proposal.volumes.clone(),
            proposal.price,
            proposal.compensation,
        );
        let contract = self.make_contract(seller, buyer, volumes, price, compensation, stamp.at_ms);
        let contract_id = contract.id;
        self.proposals[at].status = ProposalStatus::Confirmed {
            contract: contract_id,
        };
        Ok(vec![
            Event::ContractMade(contract),
            Event::ProposalConfirmed {
                proposal: id,
                contract: contract_id,
            },
        ])
    }
}

/// Energy of one sell order on its way through a coupled period: `amount` kWh of it reach the
/// province being processed along `path` (corridor indexes), `lost` kWh were lost on the way.
#[derive(Debug, Clone)]
struct Parcel {
    seller: usize,
    path: Vec<usize>,
    amount: i64,
    lost: i64,
}

/// Where energy goes in a province: into a corridor (its `sent`) or to a filled buy order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sink {
    Corridor(usize),
    Buy(usize),
}

/// A traced piece of a coupled period: `delivered` kWh of `seller`'s energy reach `buyer`
/// along `path` (empty within a province), `lost` kWh being lost on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    seller: usize,
    buyer: usize,
    path: Vec<usize>,
    delivered: i64,
    lost: i64,
}

/// One cleared period of a coupled session, as the tracing needs it: per province its filled
/// sells and buys (input index, kWh) best first, per corridor its ends and (sent, delivered).
struct PeriodFlows<'a> {
    sells: Vec<Vec<(usize, i64)>>,
    buys: Vec<Vec<(usize, i64)>>,
    ends: &'a [(usize, usize)],
    flows: Vec<(i64, i64)>,
}

/// The provinces in an order where every corridor that carries energy leaves a province before
/// it enters the next (ties by index); `None` if the energy goes round a loop.
fn flow_order(
    provinces: usize,
    ends: &[(usize, usize)],
    flows: &[(i64, i64)],
) -> Option<Vec<usize>> {
    let mut incoming = vec![0usize; provinces];
    for (c, &(_, to)) in ends.iter().enumerate() {
        incoming[to] += usize::from(flows[c].0 > 0);
    }
    let mut ready: BTreeSet<usize> = (0..provinces).filter(|&k| incoming[k] == 0).collect();
    let mut order = Vec::with_capacity(provinces);
    while let Some(k) = ready.pop_first() {
        order.push(k);
        for (c, &(from, to)) in ends.iter().enumerate() {
            if from == k && flows[c].0 > 0 {
                incoming[to] -= 1;
                if incoming[to] == 0 {
                    ready.insert(to);
                }
            }
        }
    }
    (order.len() == provinces).then_some(order)
}

/// Traces where each seller's energy goes in one coupled period (the pairing rule of
/// `Session::clear_coupled`). Returns the pieces within provinces (by province index) followed
/// by those crossing corridors (by the corridor they arrive over), or `None` if energy goes
/// round a loop of corridors.
fn trace_period(period: &PeriodFlows<'_>) -> Option<Vec<Piece>> {
    let PeriodFlows {
        sells,
        buys,
        ends,
        flows,
    } = period;
    let order = flow_order(sells.len(), ends, flows)?;
    let mut inbox: Vec<Vec<Parcel>> = vec![Vec::new(); ends.len()];
    let mut local: Vec<Vec<Piece>> = vec![Vec::new(); sells.len()];
    let mut crossing: Vec<Vec<Piece>> = vec![Vec::new(); ends.len()];
    for k in order {
        let mut supply: Vec<Parcel> = Vec::new();
        for (c, &(_, to)) in ends.iter().enumerate() {
            if to == k {
                supply.append(&mut inbox[c]);
            }
        }
        supply.extend(sells[k].iter().map(|&(seller, amount)| Parcel {
            seller,
            path: Vec::new(),
            amount,
            lost: 0,
        }));
        let mut demand: Vec<(Sink, i64)> = ends
            .iter()
            .enumerate()
            .filter(|&(c, &(from, _))| from == k && flows[c].0 > 0)
            .map(|(c, _)| (Sink::Corridor(c), flows[c].0))
            .collect();
        demand.extend(buys[k].iter().map(|&(b, v)| (Sink::Buy(b), v)));
        // Per outgoing corridor, the parcels sent into it (`amount` being what is sent).
        let mut outgoing: BTreeMap<usize, Vec<Parcel>> = BTreeMap::new();
        let mut d = 0;
        for parcel in supply {
            // This parcel's pieces: (sink, kWh).
            let mut pieces: Vec<(Sink, i64)> = Vec::new();
            let mut want = parcel.amount;
            while want > 0 {
                let (sink, rest) = &mut demand[d];
                let v = want.min(*rest);
                assert!(v > 0, "province {k}: supply exceeds demand");
                pieces.push((*sink, v));
                want -= v;
                *rest -= v;
                if *rest == 0 && d + 1 < demand.len() {
                    d += 1;
                }
            }
            if pieces.is_empty() {
                // Nothing of it arrived: its loss rides with the sink then current.
                match demand.get(d) {
                    Some(&(sink, _)) => pieces.push((sink, 0)),
                    None => continue,
                }
            }
            let weights: Vec<i64> = pieces.iter().map(|p| p.1.max(1)).collect();
            let losses = split(parcel.lost, &weights);
            for (&(sink, v), lost) in pieces.iter().zip(losses) {
                match sink {
                    Sink::Buy(buyer) => {
                        let piece = Piece {
                            seller: parcel.seller,
                            buyer,
                            path: parcel.path.clone(),
                            delivered: v,
                            lost,
                        };
                        match parcel.path.last() {
                            None => local[k].push(piece),
                            Some(&c) => crossing[c].push(piece),
                        }
                    }
                    Sink::Corridor(c) => outgoing.entry(c).or_default().push(Parcel {
                        seller: parcel.seller,
                        path: parcel.path.clone(),
                        amount: v,
                        lost,
                    }),
                }
            }
        }
        debug_assert!(
            demand.iter().all(|s| s.1 == 0),
            "province {k}: supply meets demand exactly"
        );
        for (c, sent) in outgoing {
            let positive: Vec<i64> = sent.iter().map(|s| s.amount).filter(|&v| v > 0).collect();
            let mut shares = domain::pro_rata(flows[c].1, &positive).into_iter();
            for mut parcel in sent {
                let arrives = if parcel.amount > 0 {
                    shares.next().expect("one share per positive piece")
                } else {
                    0
                };
                parcel.path.push(c);
                parcel.lost += parcel.amount - arrives;
                parcel.amount = arrives;
                inbox[c].push(parcel);
            }
        }
    }
    Some(local.into_iter().chain(crossing).flatten().collect())
}

/// Splits `total` whole units across positive `weights` in proportion: floors, then one unit
/// each to the largest remainders, ties to the earlier position. Unlike [`domain::pro_rata`],
/// `total` may exceed the weights' sum (losses above 50% of what is delivered).
fn split(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|&w| i128::from(w)).sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<(i64, i128)> = weights
        .iter()
        .map(|&w| {
            let n = i128::from(total) * i128::from(w);
            ((n / sum) as i64, n % sum)
        })
        .collect();
    let mut shares: Vec<i64> = exact.iter().map(|e| e.0).collect();
    let left = total - shares.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| exact[b].1.cmp(&exact[a].1).then(a.cmp(&b)));
    for &i in order.iter().take(left as usize) {
        shares[i] += 1;
    }
    shares
}

impl Session {
    /// Runs [`coupling::clear`] on the live orders of a coupled session and traces each period's
    /// energy from sellers to buyers (see [`Session::clear_coupled`]); changes nothing.
    fn solve_coupled(&self) -> Result<CoupledClearing, ExchangeError> {
        let provinces = self.settings.coupled_provinces();
        let index = |p: &Province| {
            provinces
                .iter()
                .position(|q| q == p)
                .expect("validated: corridors join provinces of the scope")
        };
        let live: Vec<usize> = (0..self.orders.len())
            .filter(|&i| !self.withdrawn.contains(&self.orders[i].id))
            .collect();
        let input: Vec<CoupledOrder> = live
            .iter()
            .map(|&i| {
                let o = &self.orders[i];
                CoupledOrder {
                    period: u32::from(o.period.0),
                    province: self.order_provinces[&o.id],
                    side: o.side,
                    volume: o.volume,
                    price: self.settings.ranking_price(o.price),
                }
            })
            .collect();
        let periods = self.settings.template.len();
        let corridors: Vec<coupling::Corridor> = self
            .settings
            .corridors
            .iter()
            .map(|c| coupling::Corridor {
                from: index(&c.from) as u32,
                to: index(&c.to) as u32,
                capacity: (0..periods)
                    .map(|p| c.capacity_in(Period(p as u16)))
                    .collect(),
                loss: c.loss,
                tariff: c.tariff,
            })
            .collect();
        let results =
            coupling::clear(&input, provinces.len(), &corridors, periods).map_err(|e| {
                ExchangeError::ClearingFailed {
                    reason: e.to_string(),
                }
            })?;
        let ends: Vec<(usize, usize)> = corridors
            .iter()
            .map(|c| (c.from as usize, c.to as usize))
            .collect();
        let ranking = |i: usize| self.settings.ranking_price(self.orders[live[i]].price);
        let mut pieces = Vec::with_capacity(results.len());
        for (p, result) in results.iter().enumerate() {
            let mut sells = vec![Vec::new(); provinces.len()];
            let mut buys = vec![Vec::new(); provinces.len()];
            for f in &result.fills {
                let k = input[f.order].province as usize;
                match input[f.order].side {
                    Side::Buy => buys[k].push((f.order, f.volume.0)),
                    Side::Sell => sells[k].push((f.order, f.volume.0)),
                }
            }
            for list in &mut buys {
                list.sort_by(|a, b| ranking(b.0).cmp(&ranking(a.0)).then(a.0.cmp(&b.0)));
            }
            for list in &mut sells {
                list.sort_by(|a, b| ranking(a.0).cmp(&ranking(b.0)).then(a.0.cmp(&b.0)));
            }
            let flows = result.flows.iter().map(|f| (f.sent.0, f.delivered.0));
            let traced = trace_period(&PeriodFlows {
                sells,
                buys,
                ends: &ends,
                flows: flows.collect(),
            })
            .ok_or_else(|| ExchangeError::ClearingFailed {
                reason: format!(
                    "in period {}, energy would go round a loop of corridors",
                    self.settings.template.label(Period(p as u16))
                ),
            })?;
            pieces.push(traced);
        }
        Ok(CoupledClearing {
            live,
            results,
            pieces,
        })
    }

    /// Records a coupled clearing and makes its contracts.
    ///
    /// Pairing rule, per period (every price a ranking price): the energy of each filled sell
    /// order is traced to filled buy orders, province by province in the direction the energy
    /// flows (a province is taken once every corridor carrying energy into it has been; the
    /// clearing never sends energy round a loop, see [`SessionSettings::validate`]).
    /// 1. In a province, what arrives over corridors (corridor order; over each corridor in
    ///    the order it was sent) comes first, then the province's filled sells (lower limit,
    ///    then earlier); it is paired volume by volume with the energy going out over corridors
    ///    (corridor order, each its `sent`) first, then the province's filled buys (higher
    ///    limit, then earlier).
    /// 2. The pieces sent into a corridor share its `delivered` energy in proportion to what
    ///    they sent (`domain::pro_rata`); each piece arrives in the next province with the rest
    ///    added to its loss. When a piece of energy is split, its loss is split in proportion to
    ///    the parts (largest remainder, then earlier); energy of which nothing arrives rides,
    ///    with its loss, on the piece being paired when its turn comes (or the last one), and
    ///    makes no contract in a province where nothing at all is bought or sent on.
    /// 3. A piece reaching a buy order is a contract volume of the energy sent (delivered +
    ///    lost), priced at the **seller's** province price (the tariff and any congestion rent
    ///    are not in contracts); across corridors it records the path and the loss.
    ///
    /// Contracts are one per (seller, buyer, two-part price, path), gathered across periods in
    /// order of first appearance: period order; in a period, pairs within provinces by province
    /// name, then those across corridors by the corridor they arrive over.
    /// As in the call auction, a piece that would take a contract's volume in its period
    /// beyond [`Kwh::MAX_VOLUME`] starts a further contract of the same key.
    fn clear_coupled(&mut self, clearing: CoupledClearing, stamp: Stamp, events: &mut Vec<Event>) {
        let CoupledClearing {
            live,
            results,
            pieces,
        } = clearing;
        let provinces = self.settings.coupled_provinces();
        type Key = (ParticipantId, ParticipantId, i64, i64, Vec<usize>);
        type Draft = (Key, TwoPartPrice, Vec<PeriodVolume>, Vec<PeriodVolume>);
        let mut drafts: Vec<Draft> = Vec::new();
        let mut index: BTreeMap<Key, usize> = BTreeMap::new();
        for (p, (result, pieces)) in results.into_iter().zip(pieces).enumerate() {
            let period = Period(u16::try_from(p).expect("templates have at most 96 periods"));
            let order_of = |i: usize| &self.orders[live[i]];
            let province_of = |i: usize| self.order_provinces[&order_of(i).id] as usize;
            let price_of = |k: usize| {
                result.provinces[k]
                    .price
                    .expect("a province with fills has a price")
            };
            let mut slices = Vec::with_capacity(pieces.len());
            for piece in pieces {
                let (bo, so) = (order_of(piece.buyer), order_of(piece.seller));
                let at = price_of(province_of(piece.seller));
                let price = self.settings.slice_price(at, bo.price, so.price);
                let volume = Kwh(piece.delivered + piece.lost);
                slices.push(SliceFill {
                    buy: bo.id,
                    sell: so.id,
                    volume,
                    price: at,
                });
                let key = (
                    so.participant,
                    bo.participant,
                    price.energy.0,
                    price.environment.0,
                    piece.path,
                );
                let at = match index.get(&key) {
                    Some(&at) if fits_bound(&drafts[at].2, period, volume) => at,
                    // New, or full in this period (a further contract takes the rest).
                    _ => {
                        index.insert(key.clone(), drafts.len());
                        drafts.push((key, price, Vec::new(), Vec::new()));
                        drafts.len() - 1
                    }
                };
                add_volume(&mut drafts[at].2, period, volume);
                add_volume(&mut drafts[at].3, period, Kwh(piece.lost));
            }
            events.push(Event::PeriodCleared {
                period,
                volume: result.volume,
                price: None,
            });
            self.clearing.push(ClearedPeriod {
                period,
                volume: result.volume,
                price: None,
                fills: result
                    .fills
                    .iter()
                    .map(|f| OrderFill {
                        order: order_of(f.order).id,
                        volume: f.volume,
                        price: f.price,
                    })
                    .collect(),
                slices,
                provinces: provinces
                    .iter()
                    .zip(&result.provinces)
                    .map(|(name, r)| ProvinceResult {
                        province: name.clone(),
                        price: r.price,
                        bought: r.bought,
                        sold: r.sold,
                    })
                    .collect(),
                flows: self
                    .settings
                    .corridors
                    .iter()
                    .zip(&result.flows)
                    .map(|(c, f)| CorridorFlow {
                        from: c.from.clone(),
                        to: c.to.clone(),
                        sent: f.sent,
                        delivered: f.delivered,
                        congestion_rent: f.congestion_rent,
                    })
                    .collect(),
            });
        }
        let compensation = self.settings.compensation;
        for ((seller, buyer, _, _, path), price, volumes, losses) in drafts {
            let corridor = (!path.is_empty()).then(|| {
                let corridors = &self.settings.corridors;
                ContractCorridor {
                    from: corridors[path[0]].from.clone(),
                    to: corridors[path[path.len() - 1]].to.clone(),
                    via: path[1..]
                        .iter()
                        .map(|&c| corridors[c].from.clone())
                        .collect(),
                    losses,
                }
            });
            let contract = self.make_contract_via(
                seller,
                buyer,
                volumes,
                price,
                compensation,
                stamp.at_ms,
                corridor,
            );
            events.push(Event::ContractMade(contract));
        }
    }
}

/// A coupled session's clearing, computed before the session changes: the live orders'
/// positions in `Session::orders` (the clearing's order indexes), each period's result and its
/// traced pieces.
struct CoupledClearing {
    live: Vec<usize>,
    results: Vec<CoupledPeriod>,
    pieces: Vec<Vec<Piece>>,
}

/// Whether adding `volume` in `period` to a contract's list (kept sorted by period, periods
/// coming in order) keeps its volume in that period within [`Kwh::MAX_VOLUME`]. A slice or a
/// traced piece is part of one order's fill, so it fits alone in an empty period.
fn fits_bound(list: &[PeriodVolume], period: Period, volume: Kwh) -> bool {
    let already = match list.last() {
        Some(last) if last.period == period => last.volume,
        _ => Kwh::ZERO,
    };
    already.0.saturating_add(volume.0) <= Kwh::MAX_VOLUME.0
}

/// Adds a positive `volume` in `period` to a list kept sorted by period (periods come in order).
/// Callers keep each period within [`Kwh::MAX_VOLUME`] ([`fits_bound`]), so the sum fits.
fn add_volume(list: &mut Vec<PeriodVolume>, period: Period, volume: Kwh) {
    if volume <= Kwh::ZERO {
        return;
    }
    match list.last_mut() {
        Some(last) if last.period == period => {
            last.volume = Kwh(last
                .volume
                .0
                .checked_add(volume.0)
                .expect("contract volumes stay within the bound"));
        }
        _ => list.push(PeriodVolume { period, volume }),
    }
}
