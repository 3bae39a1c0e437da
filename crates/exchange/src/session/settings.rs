//! What a session is configured with ([`SessionSettings`]): scope, horizon, mode, delivery
//! window, period template, price bounds, lot, `bid_on` and, for a coupled session, its
//! corridors; their validation, and the checks every order, listing, take and proposal passes
//! against them.

use std::collections::BTreeSet;
use std::fmt;

use domain::{
    Kwh, Participant, Period, PeriodTemplate, PeriodVolume, Price, Province, Side, TwoPartPrice,
    YearMonth,
};
use serde::{Deserialize, Serialize};

use super::CommandKind;
use crate::ExchangeError;
use crate::auction::Method;
use crate::coupling;

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
            if !(0..coupling::LOSS_DENOMINATOR).contains(&c.loss) {
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
