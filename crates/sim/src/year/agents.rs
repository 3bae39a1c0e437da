//! Agents: participants that bid from their own positions, not from a script.
//!
//! A [`Position`] is what a participant wants to trade in each month of the year
//! (`target_kwh`) and what its contracts already give it (`contracted_kwh`): a buyer's target
//! is its green demand, a Zhejiang seller's is 85 % of its expected output (it keeps a margin for
//! weather, so that generation covers its contracts), a north-western seller's is its share of
//! the export plan. Before each session the driver asks [`first_round`] (and, for listing and
//! bilateral sessions, [`second_round`]) for the session's commands; after it, the driver
//! passes the contracts the session made to [`Positions::record`]. What remains (`target −
//! contracted`) therefore shrinks as the year trades, and every bid is sized from it.
//!
//! **Volumes.** A session's volume is energy per hourly period over its whole window, and a
//! contract of several months is shared among them by days (spec §4). So the most a participant
//! can take over a window without exceeding its remaining need in any month is
//! `min over months (remaining_M × days_window / days_M)` ([`Position::room`]); each session
//! kind takes a fraction of that room (larger as delivery approaches; the last rolling session
//! of a month bids all that remains). A seller spreads its volume over the hours by its own
//! expected output; a buyer by the expected output of the sellers in the session (the
//! typical curve, 典型曲线, which green contracts follow), so that bids meet offers hour by hour.
//! Volumes are rounded *down* to the 1 MWh lot: nobody ever bids above its room.
//!
//! **Prices.** Each participant has a private price drawn once: buyers an energy price of
//! benchmark +0…+40 yuan/MWh and an environmental value of 10–30 (a retailer: 90 % of its users'
//! agreed average); Zhejiang sellers an energy price of benchmark −45…+5 and an environmental
//! value of 5–20; north-western sellers the floor (332.24) + 0–10 and 3–8, so that after the
//! corridor's tariff (30–45 yuan/MWh) and losses (4–6.5 %) their energy still lands in Zhejiang
//! below every buyer's price: `(350 + 45) / 0.935 < 425`. Each session adds ±5
//! yuan/MWh of jitter. Energy prices stay within the sessions' bounds (benchmark ±20 %). The last
//! rolling round of a month bids at the ceiling and asks at the floor, to close positions.
//!
//! **Who trades where.** Inter-provincial sessions: north-western sellers and Zhejiang buyers
//! (Zhejiang's sellers sell at home). Provincial sessions: Zhejiang sellers and buyers.
//! Bilateral: each Zhejiang seller proposes to up to 8 buyers (in a seeded rotation, each
//! proposal within what the buyer would still accept); buyers confirm what fits their room and
//! their price. Listing: sellers list, buyers take from the cheapest listings, first come first
//! served in a seeded order.

use std::collections::BTreeMap;

use domain::{
    Contract, Kwh, Participant, ParticipantId, Period, PeriodVolume, Price, Side, TimeInForce,
    TwoPartPrice, YearMonth, split_by_weight,
};
use exchange::bilateral::Proposal;
use exchange::listing::Listing;
use exchange::session::{Command, DeliveryWindow, SessionSettings};
use serde::{Deserialize, Serialize};

use super::calendar::{PlannedSession, SessionKind};
use super::profile::{expected_hours_per_kw, expected_month_per_kw, is_western};
use super::{Population, YearTargets, stream};
use crate::BENCHMARK;

/// What a Zhejiang seller offers of its expected output, ‰.
const SELLABLE_PERMILLE: i64 = 850;

/// One participant's position in the year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// The participant.
    pub participant: Participant,
    /// Which side it trades.
    pub side: Side,
    /// What it wants to trade in each month (index 0 = January), kWh.
    pub target_kwh: Vec<i64>,
    /// What its contracts give it in each month so far, kWh.
    pub contracted_kwh: Vec<i64>,
    /// A seller's expected output by hour of day in each month (kWh over the month), the shape
    /// it offers in; empty for buyers.
    pub hours: Vec<[i64; 24]>,
    /// Its energy price, fen/MWh.
    pub energy: Price,
    /// Its environmental value, fen/MWh.
    pub environment: Price,
}

impl Position {
    /// What remains to trade in month `m` (0-based), kWh, never negative.
    pub fn remaining(&self, m: usize) -> i64 {
        (self.target_kwh[m] - self.contracted_kwh[m]).max(0)
    }

    /// The most it can trade over `window` (volume over the whole window, shared among its
    /// months by days) without going beyond what remains in any month of `year`.
    pub fn room(&self, year: u16, window: DeliveryWindow) -> i64 {
        let months: Vec<YearMonth> = window.first_month.through(window.last_month).collect();
        let days: i64 = months.iter().map(|m| i64::from(m.days())).sum();
        months
            .iter()
            .map(|m| {
                if m.year() != year {
                    return 0;
                }
                let r = i128::from(self.remaining(usize::from(m.month()) - 1));
                (r * i128::from(days) / i128::from(m.days())) as i64
            })
            .min()
            .unwrap_or(0)
    }

    /// The seller's expected output by hour over `window` (its offer shape).
    fn shape(&self, window: DeliveryWindow) -> [i64; 24] {
        let mut shape = [0i64; 24];
        for m in window.first_month.through(window.last_month) {
            if let Some(h) = self.hours.get(usize::from(m.month()) - 1) {
                for (s, v) in shape.iter_mut().zip(h) {
                    *s += v;
                }
            }
        }
        shape
    }
}

/// Every trading participant's position in one delivery year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Positions {
    /// The delivery year.
    pub year: u16,
    /// The scenario's seed (for the agents' draws).
    pub seed: u64,
    /// By participant.
    pub entries: BTreeMap<ParticipantId, Position>,
}

impl Positions {
    /// The positions at the start of trading for `year`: buyers' green demand (the year's
    /// traded target shared as in the reference year, each buyer's months by its expected
    /// consumption), Zhejiang sellers' sellable output, the north-west's export plan.
    pub fn new(population: &Population, year: u16, targets: &YearTargets) -> Positions {
        let month = |m: u8| YearMonth::new(year, m).expect("valid month");
        let mut entries = BTreeMap::new();
        let weights: Vec<i64> = population
            .buyers
            .iter()
            .map(|b| b.green_kwh.max(1))
            .collect();
        let green = split_by_weight(targets.traded_kwh(year), &weights);
        for (buyer, &green) in population.buyers.iter().zip(&green) {
            let monthly: Vec<i64> = (1..=12)
                .map(|m| (population.expected_consumption(buyer, month(m)).round() as i64).max(1))
                .collect();
            let participant = population.participant(buyer.participant).clone();
            let mut rng = stream(population.seed, &[2, participant.id.0]);
            entries.insert(
                participant.id,
                Position {
                    energy: Price(BENCHMARK.0 + rng.range(0, 4_000)),
                    environment: buyer.env_price,
                    participant,
                    side: Side::Buy,
                    target_kwh: split_by_weight(green, &monthly),
                    contracted_kwh: vec![0; 12],
                    hours: Vec::new(),
                },
            );
        }
        // Export plan by province: the inter share of the year's target, shared like the
        // population's sizing (by the province's expected output).
        let export = targets.traded_kwh(year) * targets.inter_share_bp / 10_000;
        let capacity = population.capacity_by_owner();
        let expected = |units: &[(domain::Technology, domain::Province, u64)], m: u8| -> f64 {
            units
                .iter()
                .map(|(t, p, kw)| expected_month_per_kw(*t, p, month(m)) * *kw as f64)
                .sum()
        };
        let mut west_year: BTreeMap<String, f64> = BTreeMap::new();
        for units in capacity.values() {
            if let Some((_, p, _)) = units.first()
                && is_western(p)
            {
                *west_year.entry(p.to_string()).or_default() +=
                    (1..=12).map(|m| expected(units, m)).sum::<f64>();
            }
        }
        let west_total: f64 = west_year.values().sum();
        for (owner, units) in &capacity {
            let participant = population.participant(*owner).clone();
            let western = is_western(&participant.province);
            let mut rng = stream(population.seed, &[2, owner.0]);
            let fraction = if western {
                export as f64 / west_total.max(1.0)
            } else {
                SELLABLE_PERMILLE as f64 / 1_000.0
            };
            let target_kwh = (1..=12)
                .map(|m| (expected(units, m) * fraction).floor() as i64)
                .collect();
            let hours = (1..=12)
                .map(|m| {
                    let mut h = [0i64; 24];
                    for (t, p, kw) in units {
                        for (slot, v) in h.iter_mut().zip(expected_hours_per_kw(*t, p, month(m))) {
                            *slot += (v * *kw as f64).round() as i64;
                        }
                    }
                    h
                })
                .collect();
            let (energy, environment) = if western {
                (
                    BENCHMARK.0 * 8 / 10 + rng.range(0, 1_000),
                    rng.range(300, 800),
                )
            } else {
                (BENCHMARK.0 + rng.range(-4_500, 500), rng.range(500, 2_000))
            };
            entries.insert(
                *owner,
                Position {
                    participant,
                    side: Side::Sell,
                    target_kwh,
                    contracted_kwh: vec![0; 12],
                    hours,
                    energy: Price(energy),
                    environment: Price(environment),
                },
            );
        }
        Positions {
            year,
            seed: population.seed,
            entries,
        }
    }

    /// Records the contracts a session with `window` made: each contract's volume is shared
    /// among the window's months by days (spec §4) and added to both parties' months of this
    /// year. Volumes are the energy sent (an inter-provincial buyer counts what it bought).
    pub fn record(&mut self, window: DeliveryWindow, contracts: &[Contract]) {
        let months: Vec<YearMonth> = window.first_month.through(window.last_month).collect();
        let days: Vec<i64> = months.iter().map(|m| i64::from(m.days())).collect();
        for c in contracts {
            let shares = split_by_weight(c.total_volume().0, &days);
            for party in [c.seller, c.buyer] {
                if let Some(p) = self.entries.get_mut(&party) {
                    for (m, share) in months.iter().zip(&shares) {
                        if m.year() == self.year {
                            p.contracted_kwh[usize::from(m.month()) - 1] += share;
                        }
                    }
                }
            }
        }
    }

    /// Buyers' total target and total contracted, kWh.
    pub fn buyers_fill(&self) -> (i64, i64) {
        self.entries
            .values()
            .filter(|p| p.side == Side::Buy)
            .fold((0, 0), |(t, c), p| {
                (
                    t + p.target_kwh.iter().sum::<i64>(),
                    c + p.contracted_kwh.iter().sum::<i64>(),
                )
            })
    }
}

/// How much of its room each side commits in a session of this kind: (buyers, sellers).
fn fractions(kind: SessionKind) -> (f64, f64) {
    match kind {
        SessionKind::AnnualInter => (0.40, 0.50),
        SessionKind::AnnualBilateral => (0.30, 0.30),
        SessionKind::AnnualAuction => (0.40, 0.45),
        SessionKind::MonthlyInter => (0.45, 0.95),
        SessionKind::MonthlyBilateral => (0.25, 0.25),
        SessionKind::MonthlyAuction => (0.50, 0.55),
        SessionKind::MonthlyListing => (0.60, 0.45),
        SessionKind::IntraMonthInter => (0.60, 1.0),
        SessionKind::Rolling { round, rounds } => {
            let left = f64::from(rounds.saturating_sub(round).max(1));
            (1.0 / left, (1.5 / left).min(1.0))
        }
    }
}

/// Whether this is the month's last rolling round (bid to close positions).
fn closing(kind: SessionKind) -> bool {
    matches!(kind, SessionKind::Rolling { round, rounds } if round + 1 == rounds)
}

/// `total` kWh over 24 hourly periods by `shape`, each rounded down to the lot; zero periods
/// left out.
fn spread(total: i64, shape: &[i64; 24], lot: i64) -> Vec<PeriodVolume> {
    let hours: Vec<usize> = (0..24).filter(|&h| shape[h] > 0).collect();
    if total < lot || hours.is_empty() {
        return Vec::new();
    }
    let weights: Vec<i64> = hours.iter().map(|&h| shape[h]).collect();
    split_by_weight(total, &weights)
        .into_iter()
        .zip(hours)
        .filter_map(|(v, h)| {
            let v = (v / lot * lot).min(Kwh::MAX_VOLUME.0 / lot * lot);
            (v > 0).then_some(PeriodVolume {
                period: Period(h as u16),
                volume: Kwh(v),
            })
        })
        .collect()
}

/// The session's view of who trades and how.
struct Plan<'a> {
    settings: &'a SessionSettings,
    kind: SessionKind,
    year: u16,
    rng: crate::Rng,
    buyers: Vec<&'a Position>,
    sellers: Vec<&'a Position>,
    /// The sellers' expected output by hour over the window: the buyers' bidding shape.
    supply: [i64; 24],
}

impl<'a> Plan<'a> {
    fn new(session: &'a PlannedSession, positions: &'a Positions) -> Plan<'a> {
        let inter = session.kind.is_inter();
        let window = session.settings.delivery;
        let sellers: Vec<&Position> = positions
            .entries
            .values()
            .filter(|p| p.side == Side::Sell && is_western(&p.participant.province) == inter)
            .collect();
        let buyers = positions
            .entries
            .values()
            .filter(|p| p.side == Side::Buy)
            .collect();
        let mut supply = [0i64; 24];
        for s in &sellers {
            for (a, b) in supply.iter_mut().zip(s.shape(window)) {
                *a += b;
            }
        }
        Plan {
            settings: &session.settings,
            kind: session.kind,
            year: positions.year,
            rng: stream(
                positions.seed,
                &[4, u64::from(positions.year), session.index as u64],
            ),
            buyers,
            sellers,
            supply,
        }
    }

    fn lot(&self) -> i64 {
        self.settings.lot.0
    }

    /// What a participant commits in this session, kWh over the window.
    fn volume(&self, p: &Position) -> i64 {
        let (buy, sell) = fractions(self.kind);
        let f = if p.side == Side::Buy { buy } else { sell };
        (p.room(self.year, self.settings.delivery) as f64 * f).floor() as i64
    }

    /// A participant's shape in this session.
    fn shape(&self, p: &Position) -> [i64; 24] {
        match p.side {
            Side::Buy => self.supply,
            Side::Sell => p.shape(self.settings.delivery),
        }
    }

    /// A participant's price in this session: its own with ±5 yuan/MWh jitter, within bounds;
    /// at the ceiling (buyers) or floor (sellers) in a month's closing round.
    fn price(&mut self, p: &Position) -> TwoPartPrice {
        let (min, max) = (
            self.settings.energy_price_min,
            self.settings.energy_price_max,
        );
        let energy = if closing(self.kind) {
            if p.side == Side::Buy { max } else { min }
        } else {
            Price((p.energy.0 + self.rng.range(-500, 500)).clamp(min.0, max.0))
        };
        TwoPartPrice {
            energy,
            environment: p.environment,
        }
    }

    /// The most a buyer pays in total.
    fn buyer_limit(p: &Position) -> Price {
        Price(p.energy.0 + 1_500 + p.environment.0)
    }
}

/// The commands of a session's first round: every order of a call auction (coupled or not)
/// or a rolling session (in a seeded random arrival order), the listings of a listing session,
/// the proposals of a bilateral one. Lifecycle commands are the driver's.
pub fn first_round(
    session: &PlannedSession,
    population: &Population,
    positions: &Positions,
) -> Vec<Command> {
    let mut plan = Plan::new(session, positions);
    let lot = plan.lot();
    match session.kind {
        SessionKind::MonthlyListing => {
            let mut commands = Vec::new();
            for s in plan.sellers.clone() {
                let volumes = spread(plan.volume(s), &plan.shape(s), lot);
                if volumes.is_empty() {
                    continue;
                }
                let mut price = plan.price(s);
                price.environment = Price(price.environment.0 + 500);
                commands.push(Command::List {
                    by: s.participant.clone(),
                    side: Side::Sell,
                    volumes,
                    price,
                });
            }
            commands
        }
        SessionKind::AnnualBilateral | SessionKind::MonthlyBilateral => {
            proposals(&mut plan, population)
        }
        _ => orders(&mut plan),
    }
}

/// Sealed or rolling orders: one per participant and period.
fn orders(plan: &mut Plan<'_>) -> Vec<Command> {
    let lot = plan.lot();
    let rolling = matches!(plan.kind, SessionKind::Rolling { .. });
    let mut commands = Vec::new();
    for p in plan.buyers.clone().into_iter().chain(plan.sellers.clone()) {
        let volumes = spread(plan.volume(p), &plan.shape(p), lot);
        for v in volumes {
            let price = plan.price(p);
            let time_in_force = if rolling && p.side == Side::Buy && plan.rng.chance(20) {
                TimeInForce::Ioc
            } else {
                TimeInForce::Limit
            };
            commands.push(Command::SubmitOrder {
                by: p.participant.clone(),
                side: p.side,
                period: v.period,
                volume: v.volume,
                price,
                time_in_force,
            });
        }
    }
    if rolling {
        // Arrival order: a seeded shuffle (Fisher–Yates).
        for i in (1..commands.len()).rev() {
            let j = plan.rng.range(0, i as i64) as usize;
            commands.swap(i, j);
        }
    }
    commands
}

/// Bilateral proposals: each seller proposes to up to 8 buyers.
fn proposals(plan: &mut Plan<'_>, population: &Population) -> Vec<Command> {
    let lot = plan.lot();
    let mut budget: Vec<i64> = plan.buyers.iter().map(|b| plan.volume(b)).collect();
    let mut commands = Vec::new();
    if plan.buyers.is_empty() {
        return commands;
    }
    let mut next = plan.rng.range(0, plan.buyers.len() as i64 - 1) as usize;
    for s in plan.sellers.clone() {
        let mut offer = plan.volume(s);
        let shape = plan.shape(s);
        for _ in 0..8.min(plan.buyers.len()) {
            if offer < lot * 24 {
                break;
            }
            let b = next % plan.buyers.len();
            next += 1;
            let volume = offer.min(budget[b]);
            let volumes = spread(volume, &shape, lot);
            if volumes.is_empty() {
                continue;
            }
            let total: i64 = volumes.iter().map(|v| v.volume.0).sum();
            offer -= total;
            budget[b] -= total;
            let buyer = plan.buyers[b];
            let mut price = plan.price(s);
            price.environment = Price::midpoint(s.environment, buyer.environment);
            commands.push(Command::Propose {
                by: s.participant.clone(),
                counterparty: population.participant(buyer.participant.id).clone(),
                volumes,
                price,
                compensation: plan.settings.compensation,
            });
        }
    }
    commands
}

/// The commands of a session's second round, given what the first made (the session's
/// listings or proposals, as its snapshot or the service reports them): takes of the open
/// listings, or the confirmations of the proposals the buyers accept. Empty for other modes.
pub fn second_round(
    session: &PlannedSession,
    population: &Population,
    positions: &Positions,
    listings: &[Listing],
    proposals: &[Proposal],
) -> Vec<Command> {
    let mut plan = Plan::new(session, positions);
    let lot = plan.lot();
    let year = positions.year;
    let window = session.settings.delivery;
    match session.kind {
        SessionKind::MonthlyListing => {
            let mut left: Vec<(usize, [i64; 24])> = listings
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let mut r = [0i64; 24];
                    for v in &l.remaining {
                        r[usize::from(v.period.0)] = v.volume.0;
                    }
                    (i, r)
                })
                .collect();
            left.sort_by_key(|(i, _)| (listings[*i].price.total(), listings[*i].id));
            let mut order: Vec<&Position> = plan.buyers.clone();
            for i in (1..order.len()).rev() {
                let j = plan.rng.range(0, i as i64) as usize;
                order.swap(i, j);
            }
            let mut commands = Vec::new();
            for b in order {
                let mut want = plan.volume(b);
                let limit = Plan::buyer_limit(b);
                let mut taken = 0;
                for (i, remaining) in left.iter_mut() {
                    let listing = &listings[*i];
                    if want < lot || taken == 5 || listing.price.total() > limit {
                        break;
                    }
                    let available: i64 = remaining.iter().sum();
                    if available < lot {
                        continue;
                    }
                    let volumes: Vec<PeriodVolume> = spread(want.min(available), remaining, lot)
                        .into_iter()
                        .map(|v| {
                            let h = usize::from(v.period.0);
                            let volume = v.volume.0.min(remaining[h]) / lot * lot;
                            PeriodVolume {
                                period: v.period,
                                volume: Kwh(volume),
                            }
                        })
                        .filter(|v| v.volume.0 > 0)
                        .collect();
                    if volumes.is_empty() {
                        continue;
                    }
                    for v in &volumes {
                        remaining[usize::from(v.period.0)] -= v.volume.0;
                        want -= v.volume.0;
                    }
                    taken += 1;
                    commands.push(Command::Take {
                        by: population.participant(b.participant.id).clone(),
                        listing: listing.id,
                        volumes,
                    });
                }
            }
            commands
        }
        SessionKind::AnnualBilateral | SessionKind::MonthlyBilateral => {
            let mut room: BTreeMap<ParticipantId, i64> = BTreeMap::new();
            let mut commands = Vec::new();
            for p in proposals {
                let Some(buyer) = positions.entries.get(&p.buyer) else {
                    continue;
                };
                let r = room
                    .entry(p.buyer)
                    .or_insert_with(|| buyer.room(year, window));
                let volume: i64 = p.volumes.iter().map(|v| v.volume.0).sum();
                if volume <= *r && p.price.total() <= Plan::buyer_limit(buyer) {
                    *r -= volume;
                    commands.push(Command::Confirm {
                        by: p.counterparty,
                        proposal: p.id,
                    });
                }
            }
            commands
        }
        _ => Vec::new(),
    }
}
