//! 省间: inter-provincial coupled clearing (spec §3.5). Province order books are cleared together
//! over corridors that carry energy between provinces, with losses and a transmission tariff.
//!
//! [`clear`] takes every order with its period and province index, the [`Corridor`]s, and returns
//! one [`CoupledPeriod`] per period. Each period is cleared on its own in three steps:
//!
//! 1. **Welfare LP** (floats, inside the solver only). Variables: the volume of each price level
//!    of each province that touches a corridor, and the energy sent on each corridor. Maximise
//!    buyers' value − sellers' cost − tariffs, subject to each province's energy balance
//!    `bought − sold = delivered in − sent out` and the corridors' capacities. The pure-Rust
//!    `microlp` solver of `good_lp` solves it. Only the corridor flows are kept.
//! 2. **Exact flows and books** (integers from here on). Each corridor's sent energy is rounded
//!    half away from zero to a whole kWh within `[0, capacity]`; lost = `sent × loss` rounded half
//!    away from zero, delivered = sent − lost. A province's net import `N` is then exact, and its
//!    book is cleared with the §3.3 merit-order crossing plus `N` as a price-taking order (an
//!    import is a sell ranked before every local sell, an export a buy ranked before every local
//!    buy). Local orders at a side's marginal price share pro rata as in §3.3 (largest remainder,
//!    then earlier submission). So bought = sold + delivered in − sent out exactly, and with
//!    `N = 0` the fills are exactly [`auction::clear`](crate::auction::clear)'s. In a province
//!    the LP couples, only the price levels the LP traded (and better ones) may trade: rounding
//!    must not drag in an order whose limit the LP's prices do not support. When rounding leaves
//!    a province unable to absorb its net import (or to supply its export) from those levels, one
//!    kWh is cut from the first corridor (by index) feeding the excess, preferring corridors
//!    below capacity, repeatedly, until every province is feasible (each cut lowers the total
//!    sent, so this ends).
//! 3. **Prices**, to the fen (see [`CoupledPeriod::provinces`]). Each province with fills has a
//!    target: the §3.3 midpoint `m_p` of its lowest filled buy limit and highest filled sell
//!    limit (or the one of them that exists). If the targets already meet (b) and (c) below,
//!    they are the prices. Otherwise a second LP finds the prices nearest the targets (least
//!    Σ|p − m_p|; among equally near points, the lowest prices) that meet
//!    (b) `highest filled sell limit ≤ p ≤ lowest filled buy limit` in each province, and
//!    (c) for each corridor with capacity between two priced provinces, `p_to(1 − loss) ≥
//!    p_from + tariff` when it carries energy and `≤` when its flow is below capacity.
//!    The LP's prices are rounded half away from zero to the fen: (b) still holds exactly (its
//!    bounds are whole fen) and (c) within the spec's 0.01 yuan/MWh, which the rounding of two
//!    prices cannot exceed. A province energy only passes through gets a price the same way
//!    (with no target); a province with no fills and no flow has none. A corridor of zero
//!    capacity imposes nothing, so a lone province, or one linked only by zero-capacity
//!    corridors, gets exactly its §3.3 uniform `P*`. Step 2 keeps the LP's duals feasible for
//!    (b) and (c) (unless a cut had to take a congested corridor below capacity), so the second
//!    LP finds a point meeting both; should that or floating point ever make it otherwise, (c)
//!    is relaxed at a heavy cost per yuan rather than failing.
//!
//! Architecture invariant: the only floats are inside the two LPs; every quantity, price and sum
//! of money that leaves this module is an exact integer.

use domain::{Fen, Kwh, Price, Side, div_round_half_away};
use good_lp::{Expression, ProblemVariables, Solution, SolverModel, Variable, variable};

use crate::auction::Fill;
use crate::curve::{self, Crossing, Ranked};

/// Losses are given in units of 1/10000 of the energy sent (`loss` "0.035" is 350).
pub const LOSS_DENOMINATOR: i64 = domain::LossRate::DENOMINATOR;

/// One sealed order of a coupled session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoupledOrder {
    /// Index of the order's period, `0..periods`.
    pub period: u32,
    /// Index of the order's province, `0..provinces`.
    pub province: u32,
    /// Buy or sell.
    pub side: Side,
    /// Volume, positive.
    pub volume: Kwh,
    /// Limit price.
    pub price: Price,
}

/// 输电通道: a corridor that carries energy from one province to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corridor {
    /// Index of the sending province.
    pub from: u32,
    /// Index of the receiving province (not `from`).
    pub to: u32,
    /// Available transfer capacity per period index: the most energy that may be *sent*.
    pub capacity: Vec<Kwh>,
    /// Fraction of sent energy lost on the way, in 1/[`LOSS_DENOMINATOR`], `0..10000`.
    pub loss: i64,
    /// Transmission tariff per MWh of sent energy, not negative.
    pub tariff: Price,
}

impl Corridor {
    /// Energy lost when `sent` is sent: `sent × loss` rounded half away from zero to a kWh.
    pub fn lost(&self, sent: Kwh) -> Kwh {
        let lost = div_round_half_away(
            i128::from(sent.0) * i128::from(self.loss),
            i128::from(LOSS_DENOMINATOR),
        );
        Kwh(lost as i64)
    }

    /// Energy delivered when `sent` is sent.
    pub fn delivered(&self, sent: Kwh) -> Kwh {
        sent - self.lost(sent)
    }
}

/// One province's result in one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProvinceClearing {
    /// The province's price; `None` only when none of its orders trades and no corridor carries
    /// energy into or out of it.
    pub price: Option<Price>,
    /// Energy bought by its buy orders.
    pub bought: Kwh,
    /// Energy sold by its sell orders.
    pub sold: Kwh,
}

/// One corridor's result in one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    /// Energy sent, within `[0, capacity]`.
    pub sent: Kwh,
    /// Energy delivered: sent − lost.
    pub delivered: Kwh,
    /// 阻塞盈余: the receiving province's value of what is delivered, less the sending
    /// province's value of what is sent and the tariff on it (each rounded to the fen), when both
    /// provinces have a price. Zero up to rounding on an uncongested corridor.
    pub congestion_rent: Option<Fen>,
}

/// The result of one period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoupledPeriod {
    /// Total energy bought in all provinces.
    pub volume: Kwh,
    /// One entry per province index. Prices follow the rule in the module docs: the point nearest
    /// the provinces' §3.3 midpoints among prices that support the fills and the flows.
    pub provinces: Vec<ProvinceClearing>,
    /// One entry per corridor index.
    pub flows: Vec<Flow>,
    /// Fills ordered by order index, each at its province's price.
    pub fills: Vec<Fill>,
}

/// Why a coupled clearing could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CouplingError {
    /// The LP solver failed (it should not: the welfare LP is always feasible and bounded).
    #[error("LP solver failed in period {period}: {reason}")]
    Solver {
        /// The period index.
        period: usize,
        /// The solver's message.
        reason: String,
    },
}

/// Clears every period of a coupled session. `orders` is in submission order.
///
/// Bounds: with fewer than 2^32 orders of at most [`Kwh::MAX_VOLUME`] (10^9 kWh) each, every
/// sum of volumes here (a province's bought and sold, `Q*`) is below 4.3·10^18 kWh and fits
/// `i64`; a corridor sends at most its capacity, at most [`Kwh::MAX_VOLUME`], so its
/// congestion rent is a few products of 10^9 kWh and a price, formed in `i128`.
///
/// # Panics
/// If an order has a non-positive volume or one above [`Kwh::MAX_VOLUME`] or a period or
/// province index out of range, if there are 2^32 orders or more, or a corridor joins a
/// province to itself, has a capacity list of the wrong length, a negative capacity or one above
/// [`Kwh::MAX_VOLUME`], a loss outside `0..10000` or a negative tariff (callers validate).
pub fn clear(
    orders: &[CoupledOrder],
    provinces: usize,
    corridors: &[Corridor],
    periods: usize,
) -> Result<Vec<CoupledPeriod>, CouplingError> {
    for c in corridors {
        assert!(c.from != c.to, "corridor from a province to itself");
        assert!((c.from as usize) < provinces && (c.to as usize) < provinces);
        assert_eq!(c.capacity.len(), periods, "one capacity per period");
        assert!(c.capacity.iter().all(|k| k.0 >= 0), "negative capacity");
        assert!(
            c.capacity.iter().all(|&k| k <= Kwh::MAX_VOLUME),
            "capacity beyond the bound"
        );
        assert!((0..LOSS_DENOMINATOR).contains(&c.loss), "loss out of range");
        assert!(c.tariff >= Price::ZERO, "negative tariff");
    }
    assert!(u32::try_from(orders.len()).is_ok(), "too many orders");
    let mut by_period: Vec<Vec<usize>> = vec![Vec::new(); periods];
    for (index, o) in orders.iter().enumerate() {
        assert!(o.volume.0 > 0, "order volume must be positive");
        assert!(o.volume <= Kwh::MAX_VOLUME, "order volume beyond the bound");
        assert!((o.province as usize) < provinces, "province out of range");
        by_period[o.period as usize].push(index);
    }
    // Periods are independent: clear them on a few threads, each taking every n-th period, and
    // put the results back in period order. The outcome does not depend on the thread count.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 16)
        .min(periods.max(1));
    let mut results: Vec<Option<Result<CoupledPeriod, CouplingError>>> = vec![None; periods];
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let by_period = &by_period;
                scope.spawn(move || {
                    (t..periods)
                        .step_by(threads)
                        .map(|period| {
                            let input = PeriodInput {
                                period,
                                orders,
                                indices: &by_period[period],
                                provinces,
                                corridors,
                            };
                            (period, input.clear())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            for (period, result) in handle.join().expect("a clearing thread panicked") {
                results[period] = Some(result);
            }
        }
    });
    results
        .into_iter()
        .map(|r| r.expect("every period cleared"))
        .collect()
}

/// One province's book in one period, both sides in priority order.
#[derive(Debug, Default)]
struct Book {
    buys: Vec<Ranked>,
    sells: Vec<Ranked>,
}

/// A province's cleared book: fills aligned with the book's sides.
struct BookFills {
    buys: Vec<i64>,
    sells: Vec<i64>,
    bought: i64,
    sold: i64,
}

/// Rounded flows per corridor, and per province how many buys and sells may trade.
type Flows = (Vec<i64>, Vec<(usize, usize)>);

struct PeriodInput<'a> {
    period: usize,
    orders: &'a [CoupledOrder],
    indices: &'a [usize],
    provinces: usize,
    corridors: &'a [Corridor],
}

impl PeriodInput<'_> {
    fn clear(&self) -> Result<CoupledPeriod, CouplingError> {
        let period = self.period;
        let mut books: Vec<Book> = (0..self.provinces).map(|_| Book::default()).collect();
        for &index in self.indices {
            let o = &self.orders[index];
            let ranked = Ranked {
                index,
                price: o.price,
                volume: o.volume.0,
            };
            let book = &mut books[o.province as usize];
            match o.side {
                Side::Buy => book.buys.push(ranked),
                Side::Sell => book.sells.push(ranked),
            }
        }
        for book in &mut books {
            // Indices are ascending already; a stable sort keeps submission order within a price.
            book.buys.sort_by_key(|r| std::cmp::Reverse(r.price));
            book.sells.sort_by_key(|r| r.price);
        }
        let capacity: Vec<i64> = self
            .corridors
            .iter()
            .map(|c| c.capacity[period].0)
            .collect();

        let (mut sent, usable) = self.welfare_flows(&books, &capacity)?;
        let fills = self.exact_books(&books, &usable, &mut sent, &capacity);
        let prices = self.prices(&books, &fills, &sent, &capacity)?;

        let mut out_fills = Vec::new();
        let mut provinces = Vec::with_capacity(self.provinces);
        for (p, (book, f)) in books.iter().zip(&fills).enumerate() {
            provinces.push(ProvinceClearing {
                price: prices[p],
                bought: Kwh(f.bought),
                sold: Kwh(f.sold),
            });
            for (r, &v) in book
                .buys
                .iter()
                .zip(&f.buys)
                .chain(book.sells.iter().zip(&f.sells))
            {
                if v > 0 {
                    out_fills.push(Fill {
                        order: r.index,
                        volume: Kwh(v),
                        price: prices[p].expect("a province with fills has a price"),
                    });
                }
            }
        }
        out_fills.sort_by_key(|f| f.order);
        let flows = self
            .corridors
            .iter()
            .zip(&sent)
            .map(|(c, &s)| {
                let sent = Kwh(s);
                let delivered = c.delivered(sent);
                let congestion_rent = match (prices[c.from as usize], prices[c.to as usize]) {
                    // `sent` ≤ 10^9 kWh and prices lie among the orders' limits (±2·10^7
                    // fen/MWh), so each term is below 2·10^13 fen; checked all the same, since
                    // the prices come out of a float LP.
                    (Some(from), Some(to)) => Fen::checked_of(delivered, to).and_then(|value| {
                        let cost = Fen::checked_of(sent, from)?.0;
                        let tariff = Fen::checked_of(sent, c.tariff)?.0;
                        value.0.checked_sub(cost)?.checked_sub(tariff).map(Fen)
                    }),
                    _ => None,
                };
                Flow {
                    sent,
                    delivered,
                    congestion_rent,
                }
            })
            .collect();
        Ok(CoupledPeriod {
            volume: Kwh(fills.iter().map(|f| f.bought).sum()),
            provinces,
            flows,
            fills: out_fills,
        })
    }

    /// Step 1: the welfare LP's corridor flows, rounded to whole kWh within capacity, and per
    /// province how many buys and sells (a prefix of each side in priority order) the exact
    /// clearing may use: in a province the LP couples, only the price levels the LP traded.
    fn welfare_flows(&self, books: &[Book], capacity: &[i64]) -> Result<Flows, CouplingError> {
        let mut sent = vec![0i64; self.corridors.len()];
        let mut usable: Vec<(usize, usize)> = books
            .iter()
            .map(|b| (b.buys.len(), b.sells.len()))
            .collect();
        let active: Vec<usize> = (0..self.corridors.len())
            .filter(|&c| capacity[c] > 0)
            .collect();
        if active.is_empty() {
            return Ok((sent, usable));
        }
        // Only provinces a corridor touches need to be in the LP: elsewhere the net import is 0.
        let mut touched = vec![false; self.provinces];
        for &c in &active {
            touched[self.corridors[c].from as usize] = true;
            touched[self.corridors[c].to as usize] = true;
        }
        // Units: MWh and yuan/MWh, so that the objective is in yuan and coefficients stay near 1.
        let mut vars = ProblemVariables::new();
        let mut objective = Expression::default();
        let mut balance: Vec<Expression> = vec![Expression::default(); self.provinces];
        // (province, side, orders up to the end of the level, the level's variable).
        let mut level_vars: Vec<(usize, Side, usize, Variable)> = Vec::new();
        for (p, book) in books.iter().enumerate().filter(|(p, _)| touched[*p]) {
            for (side, list, sign) in [
                (Side::Buy, &book.buys, 1.0),
                (Side::Sell, &book.sells, -1.0),
            ] {
                // One variable per price level: ties are shared exactly later, not by the LP.
                let mut end = 0;
                for level in list.chunk_by(|a, b| a.price == b.price) {
                    let volume: i64 = level.iter().map(|r| r.volume).sum();
                    let x = vars.add(variable().min(0.0).max(volume as f64 / 1000.0));
                    objective.add_mul(sign * level[0].price.0 as f64 / 100.0, x);
                    balance[p].add_mul(sign, x);
                    end += level.len();
                    level_vars.push((p, side, end, x));
                }
            }
            usable[p] = (0, 0);
        }
        let mut flow_vars: Vec<(usize, Variable)> = Vec::with_capacity(active.len());
        for &c in &active {
            let corridor = &self.corridors[c];
            let f = vars.add(variable().min(0.0).max(capacity[c] as f64 / 1000.0));
            objective.add_mul(-(corridor.tariff.0 as f64) / 100.0, f);
            let kept = 1.0 - corridor.loss as f64 / LOSS_DENOMINATOR as f64;
            balance[corridor.to as usize].add_mul(-kept, f);
            balance[corridor.from as usize].add_mul(1.0, f);
            flow_vars.push((c, f));
        }
        let mut model = vars.maximise(objective).using(good_lp::microlp);
        for (p, expr) in balance.into_iter().enumerate() {
            if touched[p] {
                model.add_constraint(expr.eq(0.0));
            }
        }
        let solution = model.solve().map_err(|e| CouplingError::Solver {
            period: self.period,
            reason: e.to_string(),
        })?;
        for (c, f) in flow_vars {
            let kwh = (solution.value(f) * 1000.0).round();
            sent[c] = (kwh.max(0.0) as i64).min(capacity[c]);
        }
        // A level the LP traded (more than a micro-kWh) and every better one may trade; worse
        // levels may not, so that rounding never drags in an order the LP's prices do not support.
        const TRADED_MWH: f64 = 1.0e-9;
        for (p, side, end, x) in level_vars {
            if solution.value(x) > TRADED_MWH {
                let (buys, sells) = &mut usable[p];
                match side {
                    Side::Buy => *buys = end,
                    Side::Sell => *sells = end,
                }
            }
        }
        Ok((sent, usable))
    }

    /// Net import of every province for these flows.
    fn net_imports(&self, sent: &[i64]) -> Vec<i64> {
        let mut net = vec![0i64; self.provinces];
        for (c, &s) in self.corridors.iter().zip(sent) {
            net[c.from as usize] -= s;
            net[c.to as usize] += c.delivered(Kwh(s)).0;
        }
        net
    }

    /// Step 2: makes the flows feasible for the usable part of the books by whole kWh, then
    /// clears every book exactly with its net import.
    fn exact_books(
        &self,
        books: &[Book],
        usable: &[(usize, usize)],
        sent: &mut [i64],
        capacity: &[i64],
    ) -> Vec<BookFills> {
        let total = |side: &[Ranked]| side.iter().map(|r| r.volume).sum::<i64>();
        let buy_total: Vec<i64> = books
            .iter()
            .zip(usable)
            .map(|(b, u)| total(&b.buys[..u.0]))
            .collect();
        let sell_total: Vec<i64> = books
            .iter()
            .zip(usable)
            .map(|(b, u)| total(&b.sells[..u.1]))
            .collect();
        // Each step lowers the total sent by one kWh, so this ends within Σ sent steps.
        let bound = sent.iter().sum::<i64>() + 1;
        for _ in 0..bound {
            let net = self.net_imports(sent);
            let mut cut = None;
            for p in 0..self.provinces {
                let (excess_import, excess_export) =
                    (net[p] > buy_total[p], -net[p] > sell_total[p]);
                if excess_import || excess_export {
                    let feeds = |c: usize| {
                        let corridor = &self.corridors[c];
                        sent[c] > 0
                            && ((excess_import && corridor.to as usize == p)
                                || (excess_export && corridor.from as usize == p))
                    };
                    // Prefer a corridor below capacity: cutting a congested one would make it
                    // uncongested, which its prices may not support.
                    let corridors = 0..self.corridors.len();
                    cut = corridors
                        .clone()
                        .find(|&c| feeds(c) && sent[c] < capacity[c])
                        .or_else(|| corridors.clone().find(|&c| feeds(c)));
                    break;
                }
            }
            match cut {
                Some(c) => sent[c] -= 1,
                None => break,
            }
        }
        let net = self.net_imports(sent);
        books
            .iter()
            .zip(usable)
            .zip(net)
            .map(|((book, &(buys, sells)), n)| {
                let mut fills = clear_book(&book.buys[..buys], &book.sells[..sells], n)
                    .expect("flows were made feasible for every province");
                fills.buys.resize(book.buys.len(), 0);
                fills.sells.resize(book.sells.len(), 0);
                fills
            })
            .collect()
    }

    /// Step 3: the provinces' prices (module docs).
    fn prices(
        &self,
        books: &[Book],
        fills: &[BookFills],
        sent: &[i64],
        capacity: &[i64],
    ) -> Result<Vec<Option<Price>>, CouplingError> {
        // (b)'s bounds and the §3.3 targets.
        let mut low = vec![None; self.provinces];
        let mut high = vec![None; self.provinces];
        let mut target = vec![None; self.provinces];
        for p in 0..self.provinces {
            let filled = |side: &[Ranked], f: &[i64]| -> Vec<Price> {
                side.iter()
                    .zip(f)
                    .filter(|(_, v)| **v > 0)
                    .map(|(r, _)| r.price)
                    .collect()
            };
            high[p] = filled(&books[p].buys, &fills[p].buys).into_iter().min();
            low[p] = filled(&books[p].sells, &fills[p].sells).into_iter().max();
            target[p] = match (high[p], low[p]) {
                (Some(h), Some(l)) => Some(Price::midpoint(h, l)),
                (h, l) => h.or(l),
            };
        }
        // Provinces that get a price: those with fills and those energy flows through.
        let mut priced: Vec<bool> = target.iter().map(Option::is_some).collect();
        for (c, &s) in self.corridors.iter().zip(sent) {
            if s > 0 {
                priced[c.from as usize] = true;
                priced[c.to as usize] = true;
            }
        }
        // The (c) conditions: corridors with capacity between two priced provinces.
        let links: Vec<usize> = (0..self.corridors.len())
            .filter(|&c| {
                let corridor = &self.corridors[c];
                capacity[c] > 0 && priced[corridor.from as usize] && priced[corridor.to as usize]
            })
            .collect();
        if priced.iter().zip(&target).all(|(p, t)| !p || t.is_some()) {
            let prices = target.clone();
            if links
                .iter()
                .all(|&c| self.supports_flow(c, sent[c], capacity[c], &prices))
            {
                return Ok(prices);
            }
        }

        // The nearest prices to the targets, in yuan/MWh.
        const FAR_YUAN: f64 = 1.0e7;
        const SLACK_WEIGHT: f64 = 1.0e4;
        // Breaks ties among the nearest points toward lower prices. Small enough never to trade
        // against the distance: its slope (1e-7 per yuan and province) is far below the smallest
        // slope the distance can have (1 − (1 − loss) ≥ 1e-4 per yuan).
        const TIE_WEIGHT: f64 = 1.0e-7;
        let yuan = |p: Price| p.0 as f64 / 100.0;
        let mut vars = ProblemVariables::new();
        let mut objective = Expression::default();
        let price_vars: Vec<Option<Variable>> = (0..self.provinces)
            .map(|p| {
                priced[p].then(|| {
                    let v = vars.add(
                        variable()
                            .min(low[p].map_or(-FAR_YUAN, yuan))
                            .max(high[p].map_or(FAR_YUAN, yuan)),
                    );
                    objective.add_mul(TIE_WEIGHT, v);
                    v
                })
            })
            .collect();
        let mut constraints = Vec::new();
        for p in 0..self.provinces {
            if let (Some(v), Some(m)) = (price_vars[p], target[p]) {
                let distance = vars.add(variable().min(0.0));
                objective.add_mul(1.0, distance);
                constraints.push((distance - v).geq(-yuan(m)));
                constraints.push((distance + v).geq(yuan(m)));
            }
        }
        for &c in &links {
            let corridor = &self.corridors[c];
            let kept = 1.0 - corridor.loss as f64 / LOSS_DENOMINATOR as f64;
            let to = price_vars[corridor.to as usize].expect("priced");
            let from = price_vars[corridor.from as usize].expect("priced");
            let tariff = yuan(corridor.tariff);
            // Slack keeps the LP feasible whatever the rounding did; it costs far more than any
            // distance to the targets, so it is zero whenever (c) can hold.
            if sent[c] > 0 {
                let slack = vars.add(variable().min(0.0));
                objective.add_mul(SLACK_WEIGHT, slack);
                constraints.push((kept * to - from + slack).geq(tariff));
            }
            if sent[c] < capacity[c] {
                let slack = vars.add(variable().min(0.0));
                objective.add_mul(SLACK_WEIGHT, slack);
                constraints.push((kept * to - from - slack).leq(tariff));
            }
        }
        let mut model = vars.minimise(objective).using(good_lp::microlp);
        for constraint in constraints {
            model.add_constraint(constraint);
        }
        let solution = model.solve().map_err(|e| CouplingError::Solver {
            period: self.period,
            reason: e.to_string(),
        })?;
        Ok((0..self.provinces)
            .map(|p| {
                price_vars[p].map(|v| {
                    let fen = Price((solution.value(v) * 100.0).round() as i64);
                    // Whole-fen bounds survive rounding; clamping guards against solver noise.
                    let fen = high[p].map_or(fen, |h| fen.min(h));
                    low[p].map_or(fen, |l| fen.max(l))
                })
            })
            .collect())
    }

    /// Condition (c) for corridor `c`, exactly: `p_to(1 − loss) ≥ p_from + tariff − 0.01` when it
    /// carries energy and `≤ p_from + tariff + 0.01` when below capacity.
    fn supports_flow(&self, c: usize, sent: i64, capacity: i64, prices: &[Option<Price>]) -> bool {
        let corridor = &self.corridors[c];
        let (Some(from), Some(to)) = (prices[corridor.from as usize], prices[corridor.to as usize])
        else {
            return true;
        };
        let lhs = i128::from(to.0) * i128::from(LOSS_DENOMINATOR - corridor.loss);
        let rhs = |slack: i64| {
            i128::from(from.0 + corridor.tariff.0 + slack) * i128::from(LOSS_DENOMINATOR)
        };
        (sent == 0 || lhs >= rhs(-1)) && (sent >= capacity || lhs <= rhs(1))
    }
}

/// Clears one province's book with net import `net` (negative: export) as a price-taking order
/// ranked first on its side; `None` if the book cannot absorb or supply it.
fn clear_book(book_buys: &[Ranked], book_sells: &[Ranked], net: i64) -> Option<BookFills> {
    let import = net.max(0);
    let export = (-net).max(0);
    let mut buys = Vec::with_capacity(book_buys.len() + 1);
    let mut sells = Vec::with_capacity(book_sells.len() + 1);
    if export > 0 {
        buys.push((Price(i64::MAX), export));
    }
    if import > 0 {
        sells.push((Price(i64::MIN), import));
    }
    buys.extend(book_buys.iter().map(|r| (r.price, r.volume)));
    sells.extend(book_sells.iter().map(|r| (r.price, r.volume)));
    // With no crossing nothing trades; the marginal prices are then never looked at.
    let Crossing {
        matched,
        marginal_buy,
        marginal_sell,
    } = curve::cross(&buys, &sells).unwrap_or(Crossing {
        matched: 0,
        marginal_buy: Price::ZERO,
        marginal_sell: Price::ZERO,
    });
    let bought = matched - export;
    let sold = matched - import;
    if bought < 0 || sold < 0 {
        return None;
    }
    Some(BookFills {
        buys: curve::allocate(book_buys, bought, marginal_buy),
        sells: curve::allocate(book_sells, sold, marginal_sell),
        bought,
        sold,
    })
}
