//! Hourly matching (24/7 carbon-free score), beyond today's monthly rules: how much of a buyer's
//! consumption, hour by hour, is covered by the generation behind its green contracts.
//!
//! The rule (ours, documented because no market rule defines it yet): in each hour `h` a buyer
//! `b` receives from each of its sellers `s` the share `C_sb / max(G_s, ΣC_s)` of the seller's
//! generation in that hour — `C_sb` what `b` contracted from `s` this month, `ΣC_s` all that `s`
//! contracted, `G_s` all that `s` generated. So a seller that generates more than it sold keeps
//! the surplus (it is not green supply for these buyers), and one that generates less shares its
//! output pro rata, as in monthly settlement. Shares are floored to whole kWh per seller and
//! hour (never more than the seller produced). Then `matched(h) = min(consumption(h),
//! supply(h))`, and the score is `Σ matched / Σ consumption` in basis points, rounded half away
//! from zero.

use std::collections::BTreeMap;

use domain::{Kwh, div_round_half_away};

use crate::{ContractTerms, INTERVALS_PER_DAY, MeterData};

/// One hour of a buyer's month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourMatch {
    /// Hour of the month, from 0 (day 1, 00:00–01:00).
    pub hour: usize,
    /// What the buyer consumed.
    pub consumption: Kwh,
    /// The green generation behind its contracts in that hour.
    pub supply: Kwh,
    /// `min(consumption, supply)`.
    pub matched: Kwh,
}

/// A buyer's hourly matching for a month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourlyMatch {
    /// The buyer.
    pub buyer: String,
    /// Consumption of the month.
    pub consumption: Kwh,
    /// Green supply of the month.
    pub supply: Kwh,
    /// Hourly-matched energy.
    pub matched: Kwh,
    /// Consumption not matched in its hour.
    pub unmatched: Kwh,
    /// Supply in hours when the buyer consumed less (excess generation).
    pub excess: Kwh,
    /// `matched / consumption` in basis points (10,000 = 100%); 0 with no consumption.
    pub score_bp: i64,
    /// Every hour of the month.
    pub hours: Vec<HourMatch>,
}

impl HourlyMatch {
    /// The score as a percentage with 2 decimals (`"72.22"`).
    pub fn score_percent(&self) -> String {
        format!("{}.{:02}", self.score_bp / 100, self.score_bp % 100)
    }
}

/// Hourly sums of a month of 15-minute values.
fn hourly(intervals: &[i64]) -> Vec<i64> {
    intervals
        .chunks(INTERVALS_PER_DAY / 24)
        .map(|q| q.iter().sum())
        .collect()
}

/// The hourly matching of `buyer` for the month of `meters`, behind `contracts`. Returns `None`
/// when the buyer has no meter data.
pub fn hourly_match(
    buyer: &str,
    contracts: &[ContractTerms],
    meters: &MeterData,
) -> Option<HourlyMatch> {
    hourly_match_with(buyer, contracts, |p| meters.participant_intervals(p))
}

/// [`hourly_match`] with the meter data behind a function: a participant's summed 15-minute
/// values of the month (`96 × days` of them), or `None` without data — for callers whose data
/// is not a parsed file (the server's stored meter months).
pub fn hourly_match_with(
    buyer: &str,
    contracts: &[ContractTerms],
    intervals: impl Fn(&str) -> Option<Vec<i64>>,
) -> Option<HourlyMatch> {
    let consumption = hourly(&intervals(buyer)?);
    // What each seller contracted in all, and with this buyer.
    let mut sold: BTreeMap<&str, i64> = BTreeMap::new();
    let mut bought: BTreeMap<&str, i64> = BTreeMap::new();
    for c in contracts {
        *sold.entry(c.seller.as_str()).or_default() += c.volume.0;
        if c.buyer == buyer {
            *bought.entry(c.seller.as_str()).or_default() += c.volume.0;
        }
    }
    let mut supply = vec![0i64; consumption.len()];
    for (seller, &with_buyer) in &bought {
        let Some(generation) = intervals(seller) else {
            continue;
        };
        let generated: i64 = generation.iter().sum();
        let denominator = generated.max(sold[seller]);
        if denominator == 0 {
            continue;
        }
        for (s, g) in supply.iter_mut().zip(hourly(&generation)) {
            *s += (i128::from(g) * i128::from(with_buyer) / i128::from(denominator)) as i64;
        }
    }
    let hours: Vec<HourMatch> = consumption
        .iter()
        .zip(&supply)
        .enumerate()
        .map(|(hour, (&c, &s))| HourMatch {
            hour,
            consumption: Kwh(c),
            supply: Kwh(s),
            matched: Kwh(c.min(s)),
        })
        .collect();
    let total = |f: fn(&HourMatch) -> i64| Kwh(hours.iter().map(f).sum());
    let consumption = total(|h| h.consumption.0);
    let supply = total(|h| h.supply.0);
    let matched = total(|h| h.matched.0);
    let score_bp = if consumption.0 == 0 {
        0
    } else {
        div_round_half_away(i128::from(matched.0) * 10_000, i128::from(consumption.0)) as i64
    };
    Some(HourlyMatch {
        buyer: buyer.to_owned(),
        consumption,
        supply,
        matched,
        unmatched: consumption - matched,
        excess: supply - matched,
        score_bp,
        hours,
    })
}
