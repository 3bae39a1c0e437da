//! Rolling matching (滚动撮合) cases written out by hand, and property tests that compare the book
//! with a naive reference book and check its invariants.

use std::collections::BTreeMap;

use domain::{Kwh, OrderId, ParticipantId, Price, Side, TimeInForce};
use exchange::rolling::*;
use proptest::prelude::*;

use Side::{Buy as B, Sell as S};
use TimeInForce::{Ioc, Limit};

/// An order written as (id, owner, side, kWh, fen/MWh, time in force).
type O = (u64, u64, Side, i64, i64, TimeInForce);

fn incoming(&(id, owner, side, volume_kwh, price, time_in_force): &O) -> Incoming {
    Incoming {
        id: OrderId(id),
        owner: ParticipantId(owner),
        side,
        volume: Kwh(volume_kwh),
        price: Price(price),
        time_in_force,
    }
}

/// A trade written as (resting id, incoming id, buyer, seller, kWh, fen/MWh); the buy and sell
/// order ids follow from the side of the incoming order.
type T = (u64, u64, u64, u64, i64, i64);

fn trades(incoming_side: Side, list: &[T]) -> Vec<Trade> {
    list.iter()
        .map(|&(resting, incoming, buyer, seller, volume_kwh, price)| {
            let (buy_order, sell_order) = match incoming_side {
                Side::Buy => (incoming, resting),
                Side::Sell => (resting, incoming),
            };
            Trade {
                resting: OrderId(resting),
                incoming: OrderId(incoming),
                buyer: ParticipantId(buyer),
                seller: ParticipantId(seller),
                buy_order: OrderId(buy_order),
                sell_order: OrderId(sell_order),
                volume: Kwh(volume_kwh),
                price: Price(price),
            }
        })
        .collect()
}

/// Submits `order` and checks its trades and its outcome, written as (filled, rested,
/// cancelled) kWh.
fn check(
    book: &mut Book,
    order: O,
    expected_trades: &[T],
    (filled, rested, cancelled): (i64, i64, i64),
) {
    let mut got = Vec::new();
    let outcome = book.submit(incoming(&order), &mut got);
    assert_eq!(
        got,
        trades(order.2, expected_trades),
        "trades of order {}",
        order.0
    );
    assert_eq!(
        outcome,
        Outcome {
            filled: Kwh(filled),
            rested: Kwh(rested),
            cancelled: Kwh(cancelled),
        },
        "outcome of order {}",
        order.0
    );
}

/// Submits orders that must not trade.
fn rest_all(book: &mut Book, orders: &[O]) {
    for order in orders {
        let volume_kwh = order.3;
        check(book, *order, &[], (0, volume_kwh, 0));
    }
}

/// Depth written as (fen/MWh, kWh, orders).
fn levels(list: &[(i64, i64, u32)]) -> Vec<Level> {
    list.iter()
        .map(|&(price, volume_kwh, orders)| Level {
            price: Price(price),
            volume: Kwh(volume_kwh),
            orders,
        })
        .collect()
}

#[test]
fn a_cross_trades_at_the_resting_price() {
    // A buy arrives above a resting sell: it pays the sell's 400.00, not its own 410.00.
    let mut book = Book::new();
    rest_all(&mut book, &[(1, 10, S, 100, 40_000, Limit)]);
    check(
        &mut book,
        (2, 20, B, 60, 41_000, Limit),
        &[(1, 2, 20, 10, 60, 40_000)],
        (60, 0, 0),
    );
    assert_eq!(
        book.resting(OrderId(1)),
        Some((ParticipantId(10), S, Price(40_000), Kwh(40)))
    );
    assert_eq!(book.resting(OrderId(2)), None);

    // A sell arrives below a resting buy: it gets the buy's 410.00.
    let mut book = Book::new();
    rest_all(&mut book, &[(1, 20, B, 100, 41_000, Limit)]);
    check(
        &mut book,
        (2, 10, S, 100, 40_000, Limit),
        &[(1, 2, 20, 10, 100, 41_000)],
        (100, 0, 0),
    );
    assert!(book.is_empty());
    assert_eq!(book.best(B), None);

    // Equal prices cross.
    let mut book = Book::new();
    rest_all(&mut book, &[(1, 20, B, 5, 40_000, Limit)]);
    check(
        &mut book,
        (2, 10, S, 5, 40_000, Ioc),
        &[(1, 2, 20, 10, 5, 40_000)],
        (5, 0, 0),
    );
}

#[test]
fn prices_that_do_not_cross_rest() {
    let mut book = Book::new();
    rest_all(
        &mut book,
        &[
            (1, 10, S, 100, 40_001, Limit),
            (2, 20, B, 100, 40_000, Limit),
        ],
    );
    assert_eq!(
        (book.best(B), book.best(S)),
        (Some(Price(40_000)), Some(Price(40_001)))
    );
    assert_eq!(book.len(), 2);
}

#[test]
fn an_incoming_order_sweeps_several_levels_best_first() {
    let mut book = Book::new();
    rest_all(
        &mut book,
        &[
            (1, 11, S, 70, 40_300, Limit),
            (2, 12, S, 100, 40_000, Limit),
            (3, 13, S, 30, 40_500, Limit),
            (4, 14, S, 50, 40_100, Limit),
        ],
    );
    check(
        &mut book,
        (5, 20, B, 200, 40_400, Limit),
        &[
            (2, 5, 20, 12, 100, 40_000),
            (4, 5, 20, 14, 50, 40_100),
            (1, 5, 20, 11, 50, 40_300),
        ],
        (200, 0, 0),
    );
    assert_eq!(
        book.depth(S, 10),
        levels(&[(40_300, 20, 1), (40_500, 30, 1)])
    );

    // A sell sweeping buys walks down from the highest.
    let mut book = Book::new();
    rest_all(
        &mut book,
        &[
            (1, 11, B, 10, 39_000, Limit),
            (2, 12, B, 10, 39_500, Limit),
            (3, 13, B, 10, 38_000, Limit),
        ],
    );
    check(
        &mut book,
        (4, 20, S, 25, 38_500, Ioc),
        &[(2, 4, 12, 20, 10, 39_500), (1, 4, 11, 20, 10, 39_000)],
        (20, 0, 5),
    );
    assert_eq!(book.depth(B, 10), levels(&[(38_000, 10, 1)]));
}

#[test]
fn within_a_level_the_earliest_order_trades_first() {
    let mut book = Book::new();
    rest_all(
        &mut book,
        &[
            (1, 11, S, 30, 40_000, Limit),
            (2, 12, S, 30, 40_000, Limit),
            (3, 13, S, 10, 39_900, Limit),
            (4, 14, S, 30, 40_000, Limit),
        ],
    );
    // The better price comes first even though it arrived later; then 1 before 2 before 4.
    check(
        &mut book,
        (5, 20, B, 50, 40_000, Limit),
        &[
            (3, 5, 20, 13, 10, 39_900),
            (1, 5, 20, 11, 30, 40_000),
            (2, 5, 20, 12, 10, 40_000),
        ],
        (50, 0, 0),
    );
    // Order 2 keeps its place at the head of the queue after a partial fill.
    rest_all(&mut book, &[(6, 16, S, 5, 40_000, Limit)]);
    check(
        &mut book,
        (7, 21, B, 100, 40_000, Ioc),
        &[
            (2, 7, 21, 12, 20, 40_000),
            (4, 7, 21, 14, 30, 40_000),
            (6, 7, 21, 16, 5, 40_000),
        ],
        (55, 0, 45),
    );
    assert!(book.is_empty());
}

#[test]
fn a_partial_fill_rests_the_remainder_at_the_limit() {
    let mut book = Book::new();
    rest_all(&mut book, &[(1, 10, S, 50, 40_000, Limit)]);
    check(
        &mut book,
        (2, 20, B, 80, 40_100, Limit),
        &[(1, 2, 20, 10, 50, 40_000)],
        (50, 30, 0),
    );
    assert_eq!(
        book.resting(OrderId(2)),
        Some((ParticipantId(20), B, Price(40_100), Kwh(30)))
    );
    assert_eq!(book.depth(B, 10), levels(&[(40_100, 30, 1)]));
    assert_eq!(book.depth(S, 10), levels(&[]));
    // The rest is now a resting buy: a later sell trades at its 401.00.
    check(
        &mut book,
        (3, 30, S, 10, 39_000, Limit),
        &[(2, 3, 20, 30, 10, 40_100)],
        (10, 0, 0),
    );
    assert_eq!(
        book.resting(OrderId(2)),
        Some((ParticipantId(20), B, Price(40_100), Kwh(20)))
    );
}

#[test]
fn an_ioc_remainder_is_cancelled_and_never_rests() {
    let mut book = Book::new();
    rest_all(&mut book, &[(1, 10, S, 50, 40_000, Limit)]);
    check(
        &mut book,
        (2, 20, B, 80, 40_100, Ioc),
        &[(1, 2, 20, 10, 50, 40_000)],
        (50, 0, 30),
    );
    assert_eq!(book.resting(OrderId(2)), None);
    assert!(book.is_empty());
    assert_eq!(book.cancel(OrderId(2)), None);
    // A sell that would have crossed it finds nothing.
    check(&mut book, (3, 30, S, 10, 39_000, Limit), &[], (0, 10, 0));
    // An IOC that crosses nothing is cancelled whole.
    check(&mut book, (4, 20, B, 10, 38_000, Ioc), &[], (0, 0, 10));
    assert_eq!(book.len(), 1);
    assert_eq!(book.depth(B, 10), levels(&[]));
}

#[test]
fn a_cancelled_order_leaves_the_depth_and_never_trades() {
    let mut book = Book::new();
    rest_all(
        &mut book,
        &[
            (1, 11, B, 10, 40_000, Limit),
            (2, 12, B, 20, 40_000, Limit),
            (3, 13, B, 5, 39_900, Limit),
            (4, 14, B, 7, 40_000, Limit),
        ],
    );
    // From the middle of a queue.
    assert_eq!(book.cancel(OrderId(2)), Some(Kwh(20)));
    assert_eq!(
        book.depth(B, 10),
        levels(&[(40_000, 17, 2), (39_900, 5, 1)])
    );
    assert_eq!(book.resting(OrderId(2)), None);
    // A whole level.
    assert_eq!(book.cancel(OrderId(3)), Some(Kwh(5)));
    assert_eq!(book.depth(B, 10), levels(&[(40_000, 17, 2)]));
    // New orders join the queue behind the survivors.
    rest_all(&mut book, &[(5, 15, B, 1, 40_000, Limit)]);
    check(
        &mut book,
        (6, 20, S, 100, 39_000, Limit),
        &[
            (1, 6, 11, 20, 10, 40_000),
            (4, 6, 14, 20, 7, 40_000),
            (5, 6, 15, 20, 1, 40_000),
        ],
        (18, 82, 0),
    );
    assert_eq!(book.depth(B, 10), levels(&[]));
    assert_eq!(book.depth(S, 10), levels(&[(39_000, 82, 1)]));

    // Head and tail of a queue, then the last one.
    let mut book = Book::new();
    rest_all(
        &mut book,
        &[
            (1, 11, S, 1, 40_000, Limit),
            (2, 12, S, 2, 40_000, Limit),
            (3, 13, S, 3, 40_000, Limit),
        ],
    );
    assert_eq!(book.cancel(OrderId(1)), Some(Kwh(1)));
    assert_eq!(book.cancel(OrderId(3)), Some(Kwh(3)));
    assert_eq!(book.depth(S, 10), levels(&[(40_000, 2, 1)]));
    rest_all(&mut book, &[(4, 14, S, 4, 40_000, Limit)]);
    check(
        &mut book,
        (5, 20, B, 6, 40_000, Ioc),
        &[(2, 5, 20, 12, 2, 40_000), (4, 5, 20, 14, 4, 40_000)],
        (6, 0, 0),
    );
    assert!(book.is_empty());
}

#[test]
fn cancelling_an_order_that_does_not_rest_returns_none() {
    let mut book = Book::new();
    assert_eq!(book.cancel(OrderId(1)), None);
    rest_all(
        &mut book,
        &[(1, 10, S, 50, 40_000, Limit), (2, 10, S, 50, 40_000, Limit)],
    );
    check(
        &mut book,
        (3, 20, B, 60, 40_000, Limit),
        &[(1, 3, 20, 10, 50, 40_000), (2, 3, 20, 10, 10, 40_000)],
        (60, 0, 0),
    );
    assert_eq!(book.cancel(OrderId(1)), None, "filled");
    assert_eq!(
        book.cancel(OrderId(3)),
        None,
        "filled on arrival, never rested"
    );
    assert_eq!(book.cancel(OrderId(99)), None, "unknown");
    assert_eq!(book.cancel(OrderId(2)), Some(Kwh(40)), "partly filled");
    assert_eq!(book.cancel(OrderId(2)), None, "already cancelled");
    assert!(book.is_empty());
}

#[test]
fn depth_aggregates_levels_best_first() {
    let mut book = Book::new();
    rest_all(
        &mut book,
        &[
            (1, 11, B, 10, 39_000, Limit),
            (2, 12, B, 20, 39_500, Limit),
            (3, 13, B, 30, 39_000, Limit),
            (4, 14, B, 40, 38_000, Limit),
            (5, 15, S, 50, 41_000, Limit),
            (6, 16, S, 60, 40_500, Limit),
            (7, 17, S, 70, 41_000, Limit),
            (8, 18, S, 80, 41_000, Limit),
            (9, 19, S, 90, 42_000, Limit),
        ],
    );
    assert_eq!(
        book.depth(B, 10),
        levels(&[(39_500, 20, 1), (39_000, 40, 2), (38_000, 40, 1)])
    );
    assert_eq!(
        book.depth(S, 10),
        levels(&[(40_500, 60, 1), (41_000, 200, 3), (42_000, 90, 1)])
    );
    assert_eq!(
        book.depth(B, 2),
        levels(&[(39_500, 20, 1), (39_000, 40, 2)])
    );
    assert_eq!(book.depth(S, 1), levels(&[(40_500, 60, 1)]));
    assert_eq!(book.depth(S, 0), levels(&[]));
    assert_eq!(
        (book.best(B), book.best(S)),
        (Some(Price(39_500)), Some(Price(40_500)))
    );
    assert_eq!(book.len(), 9);
    let ids = |side| book.orders(side).map(|(id, ..)| id.0).collect::<Vec<_>>();
    assert_eq!(ids(B), [2, 1, 3, 4]);
    assert_eq!(ids(S), [6, 5, 7, 8, 9]);
}

#[test]
fn negative_prices_rank_like_any_other() {
    let mut book = Book::new();
    rest_all(
        &mut book,
        &[
            (1, 11, S, 10, -500, Limit),
            (2, 12, S, 10, 0, Limit),
            (3, 13, S, 10, -1_000, Limit),
            (4, 14, B, 10, -2_000, Limit),
        ],
    );
    assert_eq!(
        book.depth(S, 10),
        levels(&[(-1_000, 10, 1), (-500, 10, 1), (0, 10, 1)])
    );
    check(
        &mut book,
        (5, 20, B, 25, -100, Limit),
        &[(3, 5, 20, 13, 10, -1_000), (1, 5, 20, 11, 10, -500)],
        (20, 5, 0),
    );
    assert_eq!(book.depth(B, 10), levels(&[(-100, 5, 1), (-2_000, 10, 1)]));
}

#[test]
fn a_default_book_is_a_new_book() {
    let mut book = Book::default();
    rest_all(&mut book, &[(1, 10, S, 5, 40_000, Limit)]);
    check(
        &mut book,
        (2, 20, B, 5, 40_000, Limit),
        &[(1, 2, 20, 10, 5, 40_000)],
        (5, 0, 0),
    );
}

/// The naive reference: every resting order in one `Vec` in arrival order, searched from scratch
/// for the best crossing order at each step.
#[derive(Default)]
struct Reference {
    orders: Vec<(Incoming, i64)>,
}

impl Reference {
    fn submit(&mut self, order: Incoming) -> (Vec<Trade>, Outcome) {
        let mut trades = Vec::new();
        let mut left_kwh = order.volume.0;
        while left_kwh > 0 {
            let crosses = |o: &Incoming| match order.side {
                Side::Buy => o.side == Side::Sell && o.price <= order.price,
                Side::Sell => o.side == Side::Buy && o.price >= order.price,
            };
            let better = |a: &Incoming, b: &Incoming| match order.side {
                Side::Buy => a.price < b.price,
                Side::Sell => a.price > b.price,
            };
            // Strictly better replaces, so among equal prices the earliest (first) stays.
            let mut best: Option<usize> = None;
            for (i, (o, _)) in self.orders.iter().enumerate() {
                if crosses(o) && best.is_none_or(|b| better(o, &self.orders[b].0)) {
                    best = Some(i);
                }
            }
            let Some(i) = best else { break };
            let (resting, remaining_kwh) = &mut self.orders[i];
            let volume_kwh = left_kwh.min(*remaining_kwh);
            let (buy, sell) = match order.side {
                Side::Buy => (&order, &*resting),
                Side::Sell => (&*resting, &order),
            };
            trades.push(Trade {
                resting: resting.id,
                incoming: order.id,
                buyer: buy.owner,
                seller: sell.owner,
                buy_order: buy.id,
                sell_order: sell.id,
                volume: Kwh(volume_kwh),
                price: resting.price,
            });
            *remaining_kwh -= volume_kwh;
            left_kwh -= volume_kwh;
            if *remaining_kwh == 0 {
                self.orders.remove(i);
            }
        }
        let filled = Kwh(order.volume.0 - left_kwh);
        let rests = order.time_in_force == TimeInForce::Limit && left_kwh > 0;
        if rests {
            self.orders.push((order, left_kwh));
        }
        let (rested, cancelled) = if rests { (left_kwh, 0) } else { (0, left_kwh) };
        (
            trades,
            Outcome {
                filled,
                rested: Kwh(rested),
                cancelled: Kwh(cancelled),
            },
        )
    }

    fn cancel(&mut self, id: OrderId) -> Option<Kwh> {
        let i = self.orders.iter().position(|(o, _)| o.id == id)?;
        Some(Kwh(self.orders.remove(i).1))
    }

    /// Resting orders of one side in priority order, as `Book::orders` lists them.
    fn priority(&self, side: Side) -> Vec<(OrderId, ParticipantId, Price, Kwh)> {
        let mut list: Vec<_> = self
            .orders
            .iter()
            .filter(|(o, _)| o.side == side)
            .map(|&(o, remaining_kwh)| (o.id, o.owner, o.price, Kwh(remaining_kwh)))
            .collect();
        // Stable: arrival order within a price.
        match side {
            Side::Buy => list.sort_by_key(|o| std::cmp::Reverse(o.2)),
            Side::Sell => list.sort_by_key(|o| o.2),
        }
        list
    }
}

#[derive(Debug, Clone)]
enum Op {
    Submit {
        owner: u64,
        side: Side,
        volume_kwh: i64,
        price: i64,
        time_in_force: TimeInForce,
    },
    /// Cancels the id this many ids back (possibly unknown, filled or already cancelled).
    Cancel { back: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    let submit = (
        0..4u64,
        prop_oneof![Just(Side::Buy), Just(Side::Sell)],
        1..60i64,
        // A narrow band around zero: many crosses, many ties, negative prices too.
        -8..8i64,
        prop_oneof![3 => Just(TimeInForce::Limit), 1 => Just(TimeInForce::Ioc)],
    )
        .prop_map(
            |(owner, side, volume_kwh, price, time_in_force)| Op::Submit {
                owner,
                side,
                volume_kwh,
                price,
                time_in_force,
            },
        );
    prop_oneof![4 => submit, 1 => (0..12u64).prop_map(|back| Op::Cancel { back })]
}

/// Depth recomputed from `resting` of every id ever used, best first.
fn naive_depth(book: &Book, last_id: u64, side: Side) -> Vec<Level> {
    let mut by_price: BTreeMap<Price, (Kwh, u32)> = BTreeMap::new();
    for id in 1..=last_id {
        if let Some((_, s, price, volume)) = book.resting(OrderId(id))
            && s == side
        {
            let level = by_price.entry(price).or_insert((Kwh::ZERO, 0));
            level.0 += volume;
            level.1 += 1;
        }
    }
    let levels = by_price.into_iter().map(|(price, (volume, orders))| Level {
        price,
        volume,
        orders,
    });
    match side {
        Side::Buy => levels.rev().collect(),
        Side::Sell => levels.collect(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_book_matches_the_reference_and_keeps_its_invariants(
        ops in proptest::collection::vec(op(), 1..200)
    ) {
        let mut book = Book::new();
        let mut reference = Reference::default();
        let mut limits: BTreeMap<OrderId, (Side, Price)> = BTreeMap::new();
        let (mut submitted_kwh, mut accounted_kwh) = (0i64, 0i64);
        let mut trades = Vec::new();
        let mut last_id = 0u64;
        for op in ops {
            // Ids are sequence numbers shared by submissions and cancels, as in a session.
            last_id += 1;
            let id = OrderId(last_id);
            match op {
                Op::Submit { owner, side, volume_kwh, price, time_in_force } => {
                    let order = Incoming {
                        id,
                        owner: ParticipantId(owner),
                        side,
                        volume: Kwh(volume_kwh),
                        price: Price(price),
                        time_in_force,
                    };
                    limits.insert(id, (side, order.price));
                    trades.clear();
                    let outcome = book.submit(order, &mut trades);
                    let (expected_trades, expected_outcome) = reference.submit(order);
                    prop_assert_eq!(&trades, &expected_trades);
                    prop_assert_eq!(outcome, expected_outcome);

                    prop_assert_eq!(outcome.filled + outcome.rested + outcome.cancelled, order.volume);
                    prop_assert_eq!(trades.iter().map(|t| t.volume).sum::<Kwh>(), outcome.filled);
                    for t in &trades {
                        prop_assert!(t.volume > Kwh::ZERO);
                        prop_assert_eq!(t.incoming, id);
                        let (buy_side, buy_limit) = limits[&t.buy_order];
                        let (sell_side, sell_limit) = limits[&t.sell_order];
                        prop_assert_eq!((buy_side, sell_side), (Side::Buy, Side::Sell));
                        prop_assert!(t.price <= buy_limit, "a buy traded above its limit");
                        prop_assert!(t.price >= sell_limit, "a sell traded below its limit");
                        prop_assert_eq!(t.price, limits[&t.resting].1, "not at the resting price");
                    }
                    submitted_kwh += volume_kwh;
                    // Each trade uses up volume of the incoming and of a resting order.
                    accounted_kwh += outcome.filled.0 * 2 + outcome.cancelled.0;
                    if let (Some(bid), Some(ask)) = (book.best(Side::Buy), book.best(Side::Sell)) {
                        prop_assert!(bid < ask, "crossed book: bid {bid:?} ask {ask:?}");
                    }
                }
                Op::Cancel { back } => {
                    let target = OrderId(last_id.saturating_sub(back + 1));
                    let cancelled = book.cancel(target);
                    prop_assert_eq!(cancelled, reference.cancel(target));
                    accounted_kwh += cancelled.map_or(0, |v| v.0);
                }
            }

            for side in [Side::Buy, Side::Sell] {
                let depth = book.depth(side, usize::MAX);
                prop_assert_eq!(&depth, &naive_depth(&book, last_id, side));
                prop_assert_eq!(&book.depth(side, 2)[..], &depth[..depth.len().min(2)]);
                prop_assert_eq!(book.best(side), depth.first().map(|l| l.price));
                prop_assert_eq!(book.orders(side).collect::<Vec<_>>(), reference.priority(side));
            }
            prop_assert_eq!(book.len(), reference.orders.len());
            prop_assert_eq!(book.is_empty(), reference.orders.is_empty());
            let resting_kwh: i64 = [Side::Buy, Side::Sell]
                .into_iter()
                .flat_map(|side| book.depth(side, usize::MAX))
                .map(|level| level.volume.0)
                .sum();
            prop_assert_eq!(submitted_kwh, accounted_kwh + resting_kwh, "volume not conserved");
        }
    }
}
