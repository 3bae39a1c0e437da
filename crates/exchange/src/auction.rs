//! 集中竞价: centralised bidding, a sealed call auction cleared per period (spec §3.3).
//!
//! [`clear`] takes every order of a session (or of a `lvdian clear` file) with its period index,
//! and returns one [`PeriodClearing`] per period. Array position is submission order.

use domain::{Kwh, Price, Side};
use serde::{Deserialize, Serialize};

use crate::curve::{self, Crossing, Ranked};

/// How matched volume is priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// 边际统一出清: everything trades at the midpoint of the marginal buy and sell prices.
    Uniform,
    /// 高低匹配: each matched slice trades at the midpoint of its own buy and sell prices.
    HighLow,
    /// 省间 coupled clearing (spec §3.5): an inter-provincial session's province books cleared
    /// together over its corridors by [`coupling::clear`](crate::coupling::clear). [`clear`]
    /// itself, which sees one book, clears it exactly as [`Method::Uniform`] (the §3.5 rule for
    /// a lone province).
    Coupled,
}

/// One sealed order as the auction sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuctionOrder {
    /// Index of the order's period, `0..periods`.
    pub period: u32,
    /// Buy or sell.
    pub side: Side,
    /// Volume, positive.
    pub volume: Kwh,
    /// Limit price the auction ranks on.
    pub price: Price,
}

/// What one order received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fill {
    /// Index of the order in the input slice.
    pub order: usize,
    /// Energy filled, positive.
    pub volume: Kwh,
    /// The price it trades at.
    pub price: Price,
}

/// A matched slice: `volume` of one buy order against one sell order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slice {
    /// Index of the buy order in the input slice.
    pub buy: usize,
    /// Index of the sell order in the input slice.
    pub sell: usize,
    /// Energy, positive.
    pub volume: Kwh,
    /// The price of this slice (the period's `P*` under `uniform`).
    pub price: Price,
}

/// The result of one period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodClearing {
    /// `Q*`, the matched volume.
    pub volume: Kwh,
    /// `P*` under `uniform` when something trades; `None` under `high_low` or with no trade.
    pub price: Option<Price>,
    /// Fills ordered by order index; under `high_low` an order has one fill per slice, in
    /// matching order.
    pub fills: Vec<Fill>,
    /// Buy and sell orders paired best first, in matching order.
    pub slices: Vec<Slice>,
}

/// Clears every period. `orders` is in submission order; `periods` is how many periods there
/// are (every order's `period` must be below it). Returns one result per period index.
///
/// Bounds: every volume is at most [`Kwh::MAX_VOLUME`] (10^9 kWh) and there are fewer than
/// 2^32 orders, so any sum of volumes here — the cumulative volumes of the step curves, `Q*`,
/// the volume of better orders at a margin — is below 2^32 × 10^9 ≈ 4.3·10^18 kWh, inside
/// `i64` (≈ 9.2·10^18). A session takes far fewer orders (`session::MAX_ORDERS`, 10^8).
///
/// # Panics
/// If an order has a non-positive volume, one above [`Kwh::MAX_VOLUME`] or a period index out
/// of range (callers validate), or if there are 2^32 orders or more.
pub fn clear(orders: &[AuctionOrder], periods: usize, method: Method) -> Vec<PeriodClearing> {
    assert!(u32::try_from(orders.len()).is_ok(), "too many orders");
    let ranked = rank(orders, periods);
    (0..periods)
        .map(|period| {
            let buys = &ranked.entries[ranked.bounds[2 * period]..ranked.bounds[2 * period + 1]];
            let sells =
                &ranked.entries[ranked.bounds[2 * period + 1]..ranked.bounds[2 * period + 2]];
            clear_period(buys, sells, method)
        })
        .collect()
}

/// Every order, bucketed by (period, side) and sorted within a bucket by priority: buys by price
/// descending, sells ascending, equal prices in submission order.
struct RankedBook {
    entries: Vec<Ranked>,
    /// Bucket `2p` (buys of period p) is `entries[bounds[2p]..bounds[2p+1]]`, bucket `2p+1` its sells.
    bounds: Vec<usize>,
}

fn rank(orders: &[AuctionOrder], periods: usize) -> RankedBook {
    let bucket_of = |o: &AuctionOrder| {
        let period = o.period as usize;
        assert!(
            period < periods,
            "order period {period} out of {periods} periods"
        );
        2 * period + usize::from(o.side == Side::Sell)
    };
    let mut bounds = vec![0usize; 2 * periods + 1];
    for o in orders {
        assert!(o.volume.0 > 0, "order volume must be positive");
        assert!(o.volume <= Kwh::MAX_VOLUME, "order volume beyond the bound");
        bounds[bucket_of(o) + 1] += 1;
    }
    for b in 1..bounds.len() {
        bounds[b] += bounds[b - 1];
    }
    // One 128-bit sort key per order: the price mapped to an order-preserving u64 (inverted for
    // buys, so that ascending keys are best first) above the submission index. Sorting the
    // integers is much faster than comparing structs.
    let mut keys = vec![0u128; orders.len()];
    let mut next = bounds.clone();
    for (index, o) in orders.iter().enumerate() {
        let bucket = bucket_of(o);
        let ascending = (o.price.0 as u64) ^ (1 << 63);
        let key = if o.side == Side::Buy {
            !ascending
        } else {
            ascending
        };
        keys[next[bucket]] = (u128::from(key) << 64) | index as u128;
        next[bucket] += 1;
    }
    for b in 0..2 * periods {
        keys[bounds[b]..bounds[b + 1]].sort_unstable();
    }
    let entries = keys
        .iter()
        .map(|&key| {
            let o = &orders[key as u64 as usize];
            Ranked {
                index: key as u64 as usize,
                price: o.price,
                volume: o.volume.0,
            }
        })
        .collect();
    RankedBook { entries, bounds }
}

/// Clears one period's book, both sides in priority order.
fn clear_period(buys: &[Ranked], sells: &[Ranked], method: Method) -> PeriodClearing {
    let Some(Crossing {
        matched,
        marginal_buy,
        marginal_sell,
    }) = curve::cross(buys, sells)
    else {
        return PeriodClearing {
            volume: Kwh::ZERO,
            price: None,
            fills: Vec::new(),
            slices: Vec::new(),
        };
    };
    let buy_fills = curve::allocate(buys, matched, marginal_buy);
    let sell_fills = curve::allocate(sells, matched, marginal_sell);
    let uniform_price = Price::midpoint(marginal_buy, marginal_sell);

    // Pair the filled buys with the filled sells, best first, volume by volume.
    let mut slices = Vec::new();
    let filled = |side: &[Ranked], fills: &[i64]| -> Vec<(usize, Price, i64)> {
        side.iter()
            .zip(fills)
            .filter(|(_, f)| **f > 0)
            .map(|(r, f)| (r.index, r.price, *f))
            .collect()
    };
    let mut buy_rest = filled(buys, &buy_fills);
    let mut sell_rest = filled(sells, &sell_fills);
    let (mut b, mut s) = (0, 0);
    while b < buy_rest.len() && s < sell_rest.len() {
        let volume = buy_rest[b].2.min(sell_rest[s].2);
        let price = match method {
            Method::Uniform | Method::Coupled => uniform_price,
            Method::HighLow => Price::midpoint(buy_rest[b].1, sell_rest[s].1),
        };
        slices.push(Slice {
            buy: buy_rest[b].0,
            sell: sell_rest[s].0,
            volume: Kwh(volume),
            price,
        });
        buy_rest[b].2 -= volume;
        sell_rest[s].2 -= volume;
        b += usize::from(buy_rest[b].2 == 0);
        s += usize::from(sell_rest[s].2 == 0);
    }
    debug_assert!(
        b == buy_rest.len() && s == sell_rest.len(),
        "both sides fully paired"
    );

    let mut fills: Vec<Fill> = match method {
        Method::Uniform | Method::Coupled => buys
            .iter()
            .zip(&buy_fills)
            .chain(sells.iter().zip(&sell_fills))
            .filter(|(_, f)| **f > 0)
            .map(|(r, f)| Fill {
                order: r.index,
                volume: Kwh(*f),
                price: uniform_price,
            })
            .collect(),
        Method::HighLow => slices
            .iter()
            .flat_map(|slice| {
                [slice.buy, slice.sell].map(|order| Fill {
                    order,
                    volume: slice.volume,
                    price: slice.price,
                })
            })
            .collect(),
    };
    // Stable: an order's slices stay in matching order.
    fills.sort_by_key(|f| f.order);

    PeriodClearing {
        volume: Kwh(matched),
        price: (method != Method::HighLow).then_some(uniform_price),
        fills,
        slices,
    }
}
