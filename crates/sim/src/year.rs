//! 浙江绿电年: a province-year of Zhejiang green power, generated from a seed.
//!
//! This is the scenario of the annual demo (issue 11): who trades ([`Population`]), what they
//! generate and consume every quarter-hour ([`Population::generation`],
//! [`Population::consumption`]), which sessions the exchange runs ([`Calendar::for_year`]) and
//! how the participants bid in them from what they still need or can still sell
//! ([`Positions`] and the functions of [`agents`]). Everything is pure: no IO, no clock, no
//! iteration over a hash map; the same seed and [`YearTargets`] give the same values on every
//! machine. Floats appear only inside the profile and agent models; every quantity that leaves
//! this module is an exact integer (kWh, fen/MWh).
//!
//! # How the reference figures are reached
//!
//! The targets are inputs ([`YearTargets`], defaults from spec §0), and the scenario is shaped
//! so that what *actually trades* lands near them, not so that they are copied into a report:
//!
//! - **Volume.** Trading is demand-driven. The buyers' green demand of a year adds up to the
//!   year's traded target exactly ([`YearTargets::traded_kwh`]), and an agent never bids or
//!   accepts more than it still needs, so traded volume cannot exceed the target. The sellers
//!   can offer more than is asked (Zhejiang's projects are sized to generate about 1.35 × the
//!   provincial demand and offer 85 % of their expected output), and the last rolling session of
//!   each month bids what is left at the top of the price band, so little demand stays unmet.
//! - **Inter-provincial share.** The western generators plan to export the inter-provincial
//!   share of the year's target (their export plan, spread over the months by their expected
//!   output); the corridors are rated above the plan's peak hour, and Zhejiang's buyers bid
//!   more in the inter-provincial sessions than the plan offers, so the share that arrives over
//!   the corridors is the plan's. Inter-provincial sessions run before the provincial sessions
//!   of the same horizon, as in practice (省间优先).
//! - **Sessions.** [`Calendar::for_year`] lays out [`YearTargets::sessions`] sessions (95 by
//!   default); see [`calendar`] for the count by mode and scope.
//! - **Users.** [`YearTargets::users`] electricity users: a few hundred wholesale users, the rest
//!   retail users of the retailers.
//!
//! [`YearTargets::scale`] shrinks participant counts and volumes together (0.01 for tests), so a
//! small scenario has the same shape as the full one.

pub mod agents;
pub mod calendar;
mod names;
pub mod population;
pub mod profile;

use serde::{Deserialize, Serialize};

pub use agents::{Position, Positions};
pub use calendar::{Calendar, PlannedSession, SessionKind, SimDate};
pub use population::{Buyer, Corridor, Population, RetailContract};

/// The size of the scenario: the reference figures of spec §0 and a scale.
///
/// The population is sized for the reference year; a different year's demand follows from
/// the growth ([`YearTargets::traded_kwh`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YearTargets {
    /// The year whose figures these are: 2023.
    pub reference_year: u16,
    /// Green power traded in the reference year, kWh: 8.213 billion (82.13亿千瓦时).
    pub traded_kwh: i64,
    /// Growth on the year before, in basis points: 21,885 (+218.85 %), so 2022 traded
    /// `8.213 / 3.1885` = 2.576 billion kWh.
    pub growth_bp: i64,
    /// Trading sessions organised in a year: 95.
    pub sessions: usize,
    /// Participating electricity users, wholesale and retail together: 16,200 (the reference
    /// says "more than 16,000"). Retailers buy on the exchange too but are not users.
    pub users: usize,
    /// Of them, wholesale users (一级用户) trading directly; the rest are retail users.
    pub wholesale_users: usize,
    /// Retailers (售电公司) serving the retail users.
    pub retailers: usize,
    /// Aggregators (聚合商) of distributed PV: about 100.
    pub aggregators: usize,
    /// Distributed-PV projects represented by the aggregators: about 20,000.
    pub distributed_projects: usize,
    /// The inter-provincial share of traded volume, in basis points: 2,600 (26 %).
    pub inter_share_bp: i64,
    /// Multiplies participant counts, project counts and volumes (1.0 is the province; 0.01 a
    /// quick test). Counts never fall below one of each kind.
    pub scale: f64,
}

impl Default for YearTargets {
    fn default() -> YearTargets {
        YearTargets {
            reference_year: 2023,
            traded_kwh: 8_213_000_000,
            growth_bp: 21_885,
            sessions: 95,
            users: 16_200,
            wholesale_users: 300,
            retailers: 40,
            aggregators: 100,
            distributed_projects: 20_000,
            inter_share_bp: 2_600,
            scale: 1.0,
        }
    }
}

impl YearTargets {
    /// The reference targets at `scale`.
    pub fn scaled(scale: f64) -> YearTargets {
        YearTargets {
            scale,
            ..YearTargets::default()
        }
    }

    /// The green power to trade in `year`, kWh, scaled: the reference volume, divided by
    /// `1 + growth` for each year before the reference (multiplied for each year after).
    pub fn traded_kwh(&self, year: u16) -> i64 {
        let mut kwh = self.traded_kwh as f64 * self.scale;
        let factor = 1.0 + self.growth_bp as f64 / 10_000.0;
        let years = i32::from(year) - i32::from(self.reference_year);
        kwh *= factor.powi(years);
        kwh.round() as i64
    }

    /// The inter-provincial share as a fraction.
    pub fn inter_share(&self) -> f64 {
        self.inter_share_bp as f64 / 10_000.0
    }

    /// `count` at this scale, at least `min`.
    pub fn count(&self, count: usize, min: usize) -> usize {
        ((count as f64 * self.scale).round() as usize).max(min)
    }
}

/// A stream of random numbers for one purpose, derived from the scenario's seed and tags (a
/// province, a day, a project): values drawn for one day or project do not depend on how many
/// were drawn for another, so profiles can be computed in any order and on demand.
pub(crate) fn stream(seed: u64, tags: &[u64]) -> crate::Rng {
    let mut h = seed ^ 0x6c76_6469_616e_5f79; // "lvdian_y"
    for &t in tags {
        h = crate::Rng::new(h ^ t.wrapping_mul(0x9e37_79b9_7f4a_7c15)).next_u64();
    }
    crate::Rng::new(h)
}

/// A uniform float in `[0, 1)` from 53 random bits.
pub(crate) fn unit(rng: &mut crate::Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A uniform float in `[lo, hi)`.
pub(crate) fn uniform(rng: &mut crate::Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * unit(rng)
}
