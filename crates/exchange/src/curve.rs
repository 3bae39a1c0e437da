//! The §3.3 step curves, shared by the call auction ([`auction`](crate::auction)) and every
//! province of a coupled clearing ([`coupling`](crate::coupling)): the merit-order crossing of a
//! bid curve and an offer curve ([`cross`]), and one side's fills for the matched volume, the
//! marginal price level shared pro rata ([`allocate`]).
//!
//! A curve is a slice of [`Step`]s in priority order, best first: buys by price descending,
//! sells ascending, equal prices in submission order. The functions are generic over the step
//! type, so that the auction walks its ranked orders in place (its hot path allocates nothing
//! more for sharing them) while a coupled province puts a price-taking `(price, volume)` step
//! in front of its orders.
//!
//! `cross` and `allocate` are `#[inline]` so that each caller's instance is compiled in the
//! caller's codegen unit, as the private copies they replace were: the call auction's
//! `clear_period` compiles to the same machine code as with its own copies.

use domain::{Price, pro_rata};

/// One step of a curve: a price and the volume at it.
pub(crate) trait Step {
    /// The step's price.
    fn price(&self) -> Price;
    /// The step's volume in kWh, positive.
    fn volume(&self) -> i64;
}

/// A bare step. A coupled province's curves are these: its net import (a sell at
/// `Price(i64::MIN)`) or export (a buy at `Price(i64::MAX)`) ranked before its orders.
impl Step for (Price, i64) {
    #[inline]
    fn price(&self) -> Price {
        self.0
    }

    #[inline]
    fn volume(&self) -> i64 {
        self.1
    }
}

/// An order in its side's priority order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ranked {
    /// The order's index in the caller's input (submission order).
    pub(crate) index: usize,
    /// Its limit price.
    pub(crate) price: Price,
    /// Its volume in kWh, positive.
    pub(crate) volume: i64,
}

impl Step for Ranked {
    #[inline]
    fn price(&self) -> Price {
        self.price
    }

    #[inline]
    fn volume(&self) -> i64 {
        self.volume
    }
}

/// Where a bid curve and an offer curve cross (spec §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Crossing {
    /// `Q*`, the matched volume; positive.
    pub(crate) matched: i64,
    /// The price of the last buy step that trades.
    pub(crate) marginal_buy: Price,
    /// The price of the last sell step that trades.
    pub(crate) marginal_sell: Price,
}

/// Walks the two step curves, best first, while the buy price is at least the sell price.
/// Returns `Q*` and the marginal buy and sell prices (those of the last steps that trade), or
/// `None` when nothing trades (a side is empty or the best buy is below the best sell).
///
/// Bounds: `Q*` is at most either side's total volume; callers keep those within `i64`.
#[inline]
pub(crate) fn cross<B: Step, S: Step>(buys: &[B], sells: &[S]) -> Option<Crossing> {
    let (mut b, mut s) = (0, 0);
    let (mut buy_left, mut sell_left) = (buys.first()?.volume(), sells.first()?.volume());
    let mut matched: i64 = 0;
    let mut marginal = None;
    while buys[b].price() >= sells[s].price() {
        let volume = buy_left.min(sell_left);
        matched += volume;
        marginal = Some((buys[b].price(), sells[s].price()));
        buy_left -= volume;
        sell_left -= volume;
        if buy_left == 0 {
            b += 1;
            match buys.get(b) {
                Some(next) => buy_left = next.volume(),
                None => break,
            }
        }
        if sell_left == 0 {
            s += 1;
            match sells.get(s) {
                Some(next) => sell_left = next.volume(),
                None => break,
            }
        }
    }
    marginal.map(|(marginal_buy, marginal_sell)| Crossing {
        matched,
        marginal_buy,
        marginal_sell,
    })
}

/// Fills of one side (aligned with `side`) for `matched` volume of it: steps strictly better
/// than the marginal price fill completely, steps at it share the rest pro rata to their
/// volumes in whole kWh ([`domain::pro_rata`]: largest remainder, then earlier position — within
/// a level, submission order).
///
/// `matched == 0` gives no fills without looking for `marginal`. A coupled province needs this:
/// when none of its orders on a side trades, the marginal price is that of its price-taking step
/// or, with no crossing at all, none, and is not a price of `side`. The call auction never asks
/// for zero (a [`Crossing`] matches a positive volume), so for it nothing changes.
///
/// # Panics
/// If `matched` is positive and `marginal` is not a price of `side`, or `matched` is below the
/// volume of the steps better than `marginal` or above that plus the marginal level's.
#[inline]
pub(crate) fn allocate<S: Step>(side: &[S], matched: i64, marginal: Price) -> Vec<i64> {
    let mut fills = vec![0i64; side.len()];
    if matched == 0 {
        return fills;
    }
    let level_start = side
        .iter()
        .position(|r| r.price() == marginal)
        .expect("the marginal price is a price of this side");
    let level_end = level_start
        + side[level_start..]
            .iter()
            .take_while(|r| r.price() == marginal)
            .count();
    let mut better: i64 = 0;
    for (fill, r) in fills.iter_mut().zip(&side[..level_start]) {
        *fill = r.volume();
        better += r.volume();
    }
    let weights: Vec<i64> = side[level_start..level_end]
        .iter()
        .map(|r| r.volume())
        .collect();
    for (fill, share) in fills[level_start..level_end]
        .iter_mut()
        .zip(pro_rata(matched - better, &weights))
    {
        *fill = share;
    }
    fills
}
