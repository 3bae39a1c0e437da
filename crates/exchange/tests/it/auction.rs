//! Call auction (集中竞价) cases written out by hand, and its invariants as property tests.

use domain::{Kwh, Price, Side};
use exchange::auction::{AuctionOrder, Fill, Method, PeriodClearing, Slice, clear};
use proptest::prelude::*;

/// An order written as in a file: side, period index, MWh, yuan/MWh.
type O = (Side, u32, &'static str, &'static str);
use Side::{Buy as B, Sell as S};

fn orders(list: &[O]) -> Vec<AuctionOrder> {
    list.iter()
        .map(|&(side, period, mwh, price)| AuctionOrder {
            period,
            side,
            volume: Kwh::parse_mwh(mwh).unwrap(),
            price: Price::parse_yuan_per_mwh(price).unwrap(),
        })
        .collect()
}

fn p(yuan: &str) -> Price {
    Price::parse_yuan_per_mwh(yuan).unwrap()
}

fn kwh(mwh: &str) -> Kwh {
    Kwh::parse_mwh(mwh).unwrap()
}

/// Fills written as (order index, MWh, yuan/MWh).
fn fills(list: &[(usize, &str, &str)]) -> Vec<Fill> {
    list.iter()
        .map(|&(order, mwh, price)| Fill {
            order,
            volume: kwh(mwh),
            price: p(price),
        })
        .collect()
}

/// Checks one period's `Q*`, `P*` and fills.
fn check(
    result: &PeriodClearing,
    volume: &str,
    price: Option<&str>,
    expected: &[(usize, &str, &str)],
) {
    assert_eq!(result.volume, kwh(volume), "Q*");
    assert_eq!(result.price, price.map(p), "P*");
    assert_eq!(result.fills, fills(expected), "fills");
}

#[test]
fn no_crossing_trades_nothing() {
    let book = orders(&[(B, 0, "10.000", "380.00"), (S, 0, "10.000", "380.01")]);
    for method in [Method::Uniform, Method::HighLow] {
        let result = clear(&book, 1, method);
        check(&result[0], "0.000", None, &[]);
        assert!(result[0].slices.is_empty());
    }
}

#[test]
fn one_sided_book_trades_nothing() {
    let book = orders(&[(B, 0, "10.000", "500.00"), (B, 0, "1.000", "400.00")]);
    check(&clear(&book, 1, Method::Uniform)[0], "0.000", None, &[]);
}

#[test]
fn formats_example_uniform() {
    // formats.md: buy 10 MWh at 420.50, sell 6.5 MWh at 380.00 -> 6.5 MWh at 400.25.
    let book = orders(&[(B, 0, "10.000", "420.50"), (S, 0, "6.500", "380.00")]);
    let result = clear(&book, 1, Method::Uniform);
    check(
        &result[0],
        "6.500",
        Some("400.25"),
        &[(0, "6.500", "400.25"), (1, "6.500", "400.25")],
    );
    assert_eq!(
        result[0].slices,
        vec![Slice {
            buy: 0,
            sell: 1,
            volume: kwh("6.500"),
            price: p("400.25")
        }]
    );
}

#[test]
fn exact_crossing_at_one_price() {
    // Both sides at 400.00 with equal volume: everything trades at 400.00.
    let book = orders(&[
        (S, 0, "3.000", "400.00"),
        (B, 0, "5.000", "400.00"),
        (S, 0, "2.000", "400.00"),
    ]);
    for method in [Method::Uniform, Method::HighLow] {
        let result = clear(&book, 1, method);
        let price = (method == Method::Uniform).then_some("400.00");
        let expected: &[(usize, &str, &str)] = match method {
            Method::Uniform | Method::Coupled => &[
                (0, "3.000", "400.00"),
                (1, "5.000", "400.00"),
                (2, "2.000", "400.00"),
            ],
            // The buy is paired with s0 then s2: two slices.
            Method::HighLow => &[
                (0, "3.000", "400.00"),
                (1, "3.000", "400.00"),
                (1, "2.000", "400.00"),
                (2, "2.000", "400.00"),
            ],
        };
        check(&result[0], "5.000", price, expected);
    }
}

#[test]
fn equal_marginal_prices_trade_the_largest_volume() {
    // Q* is the largest volume with marginal buy >= marginal sell: the 400.00 steps meet exactly,
    // so the extra 1 MWh at 400.00 still trades (no welfare gained, but volume is maximal).
    let book = orders(&[
        (B, 0, "4.000", "450.00"),
        (B, 0, "1.000", "400.00"),
        (S, 0, "4.000", "350.00"),
        (S, 0, "3.000", "400.00"),
    ]);
    let result = clear(&book, 1, Method::Uniform);
    // Marginal buy 400.00, marginal sell 400.00 -> P* 400.00.
    check(
        &result[0],
        "5.000",
        Some("400.00"),
        &[
            (0, "4.000", "400.00"),
            (1, "1.000", "400.00"),
            (2, "4.000", "400.00"),
            (3, "1.000", "400.00"),
        ],
    );
}

#[test]
fn pro_rata_at_the_margin_on_the_buy_side_with_remainders() {
    // Sell 9.001 MWh at 300.00. Buys: b0 4.001 @ 500.00 fills whole; at the marginal 450.00,
    // b1 1.000, b2 2.000, b3 4.000 (7 MWh) share the remaining 5.000 MWh = 5000 kWh:
    //   exact 714.285, 1428.571, 2857.142 -> floors 714, 1428, 2857 (4999 kWh),
    //   the 1 kWh left goes to the largest remainder, b2 (.571): 714, 1429, 2857.
    // P* = midpoint(450.00, 300.00) = 375.00.
    let book = orders(&[
        (B, 0, "4.001", "500.00"),
        (B, 0, "1.000", "450.00"),
        (B, 0, "2.000", "450.00"),
        (B, 0, "4.000", "450.00"),
        (S, 0, "9.001", "300.00"),
    ]);
    let uniform = clear(&book, 1, Method::Uniform);
    check(
        &uniform[0],
        "9.001",
        Some("375.00"),
        &[
            (0, "4.001", "375.00"),
            (1, "0.714", "375.00"),
            (2, "1.429", "375.00"),
            (3, "2.857", "375.00"),
            (4, "9.001", "375.00"),
        ],
    );
    // high_low pairs b0 with s4 at midpoint(500, 300) = 400.00, the margin at 375.00.
    let high_low = clear(&book, 1, Method::HighLow);
    check(
        &high_low[0],
        "9.001",
        None,
        &[
            (0, "4.001", "400.00"),
            (1, "0.714", "375.00"),
            (2, "1.429", "375.00"),
            (3, "2.857", "375.00"),
            (4, "4.001", "400.00"),
            (4, "0.714", "375.00"),
            (4, "1.429", "375.00"),
            (4, "2.857", "375.00"),
        ],
    );
}

#[test]
fn pro_rata_at_the_margin_on_the_sell_side_with_remainders() {
    // Buy 7.001 MWh at 500.00. Sells: s1 1.000 @ 300.00 fills whole; at the marginal 350.00,
    // s2, s3, s4 (3.000 each) share 6.001 MWh: 2000.33 each -> 2000 + the 1 kWh left to the
    // earliest of the equal remainders, s2. P* = midpoint(500.00, 350.00) = 425.00.
    let book = orders(&[
        (B, 0, "7.001", "500.00"),
        (S, 0, "3.000", "350.00"),
        (S, 0, "1.000", "300.00"),
        (S, 0, "3.000", "350.00"),
        (S, 0, "3.000", "350.00"),
    ]);
    check(
        &clear(&book, 1, Method::Uniform)[0],
        "7.001",
        Some("425.00"),
        &[
            (0, "7.001", "425.00"),
            (1, "2.001", "425.00"),
            (2, "1.000", "425.00"),
            (3, "2.000", "425.00"),
            (4, "2.000", "425.00"),
        ],
    );
    // high_low: the buy meets s2 first (300.00 -> 400.00), then s1, s3, s4 (350.00 -> 425.00).
    check(
        &clear(&book, 1, Method::HighLow)[0],
        "7.001",
        None,
        &[
            (0, "1.000", "400.00"),
            (0, "2.001", "425.00"),
            (0, "2.000", "425.00"),
            (0, "2.000", "425.00"),
            (1, "2.001", "425.00"),
            (2, "1.000", "400.00"),
            (3, "2.000", "425.00"),
            (4, "2.000", "425.00"),
        ],
    );
}

#[test]
fn several_periods_clear_independently() {
    // Period 0: crosses. Period 1: no crossing. Period 2: no orders. Period 3: sells short.
    let book = orders(&[
        (B, 3, "5.000", "500.00"),
        (S, 0, "2.000", "300.00"),
        (B, 1, "1.000", "200.00"),
        (B, 0, "1.500", "310.00"),
        (S, 1, "1.000", "200.01"),
        (B, 3, "5.000", "500.00"),
        (S, 3, "6.000", "400.00"),
    ]);
    let uniform = clear(&book, 4, Method::Uniform);
    assert_eq!(uniform.len(), 4);
    // Period 0: 1.5 MWh at midpoint(310.00, 300.00) = 305.00.
    check(
        &uniform[0],
        "1.500",
        Some("305.00"),
        &[(1, "1.500", "305.00"), (3, "1.500", "305.00")],
    );
    check(&uniform[1], "0.000", None, &[]);
    check(&uniform[2], "0.000", None, &[]);
    // Period 3: two equal buys at the margin split 6 MWh: 3 each, at midpoint(500, 400) = 450.
    check(
        &uniform[3],
        "6.000",
        Some("450.00"),
        &[
            (0, "3.000", "450.00"),
            (5, "3.000", "450.00"),
            (6, "6.000", "450.00"),
        ],
    );
    let high_low = clear(&book, 4, Method::HighLow);
    check(
        &high_low[0],
        "1.500",
        None,
        &[(1, "1.500", "305.00"), (3, "1.500", "305.00")],
    );
    check(
        &high_low[3],
        "6.000",
        None,
        &[
            (0, "3.000", "450.00"),
            (5, "3.000", "450.00"),
            (6, "3.000", "450.00"),
            (6, "3.000", "450.00"),
        ],
    );
}

#[test]
fn equal_prices_keep_submission_order() {
    // Buys at 450.00 submitted 1st and 3rd, a better one 2nd; sells at two prices.
    // Priority: b1 (480), then b0, b2 (450) in submission order. Sells: s3 (300), s4 (320).
    // Q* = 6: all buys fill (2 + 2 + 2), both sells fill (3 + 3).
    // high_low pairing: b1-s3 2 @ 390.00; b0-s3 1 @ 375.00; b0-s4 1 @ 385.00; b2-s4 2 @ 385.00.
    let book = orders(&[
        (B, 0, "2.000", "450.00"),
        (B, 0, "2.000", "480.00"),
        (B, 0, "2.000", "450.00"),
        (S, 0, "3.000", "300.00"),
        (S, 0, "3.000", "320.00"),
    ]);
    let result = clear(&book, 1, Method::HighLow);
    let slice = |buy, sell, mwh, price| Slice {
        buy,
        sell,
        volume: kwh(mwh),
        price: p(price),
    };
    assert_eq!(
        result[0].slices,
        vec![
            slice(1, 3, "2.000", "390.00"),
            slice(0, 3, "1.000", "375.00"),
            slice(0, 4, "1.000", "385.00"),
            slice(2, 4, "2.000", "385.00"),
        ]
    );
    // With a short sell side, the earlier of two equal remainders gets the odd kWh: 0.003 MWh
    // over two 450.00 buys of 2 MWh each -> 0.002 to b0, 0.001 to b2.
    let short = orders(&[
        (B, 0, "2.000", "450.00"),
        (B, 0, "2.000", "450.00"),
        (S, 0, "0.003", "300.00"),
    ]);
    check(
        &clear(&short, 1, Method::Uniform)[0],
        "0.003",
        Some("375.00"),
        &[
            (0, "0.002", "375.00"),
            (1, "0.001", "375.00"),
            (2, "0.003", "375.00"),
        ],
    );
}

#[test]
fn marginal_prices_are_those_of_the_last_steps_that_trade() {
    // Walk: 420 vs 370 (1 MWh), 400 vs 380 (1 MWh), 390 vs 380 (the last 0.5 MWh of the sell),
    // then buy 390 < sell 395 stops it. The last steps that traded are buy 390 and sell 380, so
    // P* = midpoint(390.00, 380.00) = 385.00 — not involving the untraded 395.00 step.
    let book = orders(&[
        (B, 0, "1.000", "420.00"),
        (B, 0, "1.000", "400.00"),
        (B, 0, "1.000", "390.00"),
        (S, 0, "1.000", "370.00"),
        (S, 0, "1.500", "380.00"),
        (S, 0, "1.000", "395.00"),
    ]);
    check(
        &clear(&book, 1, Method::Uniform)[0],
        "2.500",
        Some("385.00"),
        &[
            (0, "1.000", "385.00"),
            (1, "1.000", "385.00"),
            (2, "0.500", "385.00"),
            (3, "1.000", "385.00"),
            (4, "1.500", "385.00"),
        ],
    );
}

#[test]
fn negative_prices_round_half_away_from_zero() {
    // Midpoint of -0.01 and -0.02 yuan/MWh is -0.015 -> -0.02.
    let book = orders(&[(B, 0, "1.000", "-0.01"), (S, 0, "1.000", "-0.02")]);
    check(
        &clear(&book, 1, Method::Uniform)[0],
        "1.000",
        Some("-0.02"),
        &[(0, "1.000", "-0.02"), (1, "1.000", "-0.02")],
    );
}

// ---- properties ----

fn small_book(
    max_orders: usize,
    max_kwh: i64,
    periods: u32,
) -> impl Strategy<Value = Vec<AuctionOrder>> {
    proptest::collection::vec(
        (0..periods, any::<bool>(), 1..=max_kwh, 90i64..=110),
        0..=max_orders,
    )
    .prop_map(|raw| {
        raw.into_iter()
            .map(|(period, buy, volume, price)| AuctionOrder {
                period,
                side: if buy { Side::Buy } else { Side::Sell },
                volume: Kwh(volume),
                // Coarse prices so that ties at the margin are common.
                price: Price(price * 100),
            })
            .collect()
    })
}

/// Per-order filled volume of one period.
fn filled_by_order(result: &PeriodClearing, orders: usize) -> Vec<i64> {
    let mut filled = vec![0; orders];
    for f in &result.fills {
        filled[f.order] += f.volume.0;
    }
    filled
}

/// Welfare of a fill vector: buyers' value minus sellers' cost at their limit prices.
fn welfare(book: &[AuctionOrder], filled: &[i64]) -> i128 {
    book.iter()
        .zip(filled)
        .map(|(o, &x)| {
            let value = i128::from(o.price.0) * i128::from(x);
            if o.side == Side::Buy { value } else { -value }
        })
        .sum()
}

/// The best welfare of any integer fill vector that balances, by enumerating all of them.
fn brute_force_welfare(book: &[AuctionOrder]) -> i128 {
    fn go(book: &[AuctionOrder], i: usize, filled: &mut Vec<i64>, best: &mut i128) {
        if i == book.len() {
            let net: i64 = book
                .iter()
                .zip(filled.iter())
                .map(|(o, &x)| if o.side == Side::Buy { x } else { -x })
                .sum();
            if net == 0 {
                *best = (*best).max(welfare(book, filled));
            }
            return;
        }
        for x in 0..=book[i].volume.0 {
            filled.push(x);
            go(book, i + 1, filled, best);
            filled.pop();
        }
    }
    let mut best = 0;
    go(book, 0, &mut Vec::new(), &mut best);
    best
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn fills_respect_limits_and_balance(book in small_book(40, 5_000, 3), high_low in any::<bool>()) {
        let method = if high_low { Method::HighLow } else { Method::Uniform };
        let result = clear(&book, 3, method);
        for (period, r) in result.iter().enumerate() {
            let (mut bought, mut sold) = (0i64, 0i64);
            for f in &r.fills {
                let o = &book[f.order];
                prop_assert_eq!(o.period as usize, period);
                prop_assert!(f.volume.0 > 0);
                match o.side {
                    Side::Buy => { prop_assert!(f.price <= o.price); bought += f.volume.0; }
                    Side::Sell => { prop_assert!(f.price >= o.price); sold += f.volume.0; }
                }
            }
            prop_assert_eq!(bought, sold);
            prop_assert_eq!(bought, r.volume.0);
            let filled = filled_by_order(r, book.len());
            for (o, x) in book.iter().zip(&filled) {
                prop_assert!(*x <= o.volume.0);
            }
            let slices: i64 = r.slices.iter().map(|s| s.volume.0).sum();
            prop_assert_eq!(slices, r.volume.0);
        }
    }

    #[test]
    fn uniform_welfare_is_maximal(book in small_book(6, 4, 1)) {
        let result = clear(&book, 1, Method::Uniform);
        let filled = filled_by_order(&result[0], book.len());
        prop_assert_eq!(welfare(&book, &filled), brute_force_welfare(&book));
    }

    #[test]
    fn periods_clear_as_if_alone(book in small_book(60, 3_000, 4), high_low in any::<bool>()) {
        let method = if high_low { Method::HighLow } else { Method::Uniform };
        let together = clear(&book, 4, method);
        for period in 0..4u32 {
            let (alone, index): (Vec<AuctionOrder>, Vec<usize>) = book
                .iter()
                .enumerate()
                .filter(|(_, o)| o.period == period)
                .map(|(i, o)| (AuctionOrder { period: 0, ..*o }, i))
                .unzip();
            let mut result = clear(&alone, 1, method).remove(0);
            for f in &mut result.fills { f.order = index[f.order]; }
            for s in &mut result.slices { s.buy = index[s.buy]; s.sell = index[s.sell]; }
            prop_assert_eq!(&together[period as usize], &result);
        }
    }

    #[test]
    fn marginal_orders_get_their_pro_rata_share(book in small_book(30, 2_000, 1)) {
        let result = &clear(&book, 1, Method::Uniform)[0];
        let filled = filled_by_order(result, book.len());
        for side in [Side::Buy, Side::Sell] {
            let traded: Vec<usize> = (0..book.len()).filter(|&i| book[i].side == side && filled[i] > 0).collect();
            let Some(marginal) = traded.iter().map(|&i| book[i].price).reduce(|a, b| if side == Side::Buy { a.min(b) } else { a.max(b) }) else { continue };
            let level: Vec<usize> = (0..book.len()).filter(|&i| book[i].side == side && book[i].price == marginal).collect();
            let level_volume: i64 = level.iter().map(|&i| book[i].volume.0).sum();
            let level_filled: i64 = level.iter().map(|&i| filled[i]).sum();
            for &i in &level {
                // Within one kWh of the exact share.
                let exact = i128::from(level_filled) * i128::from(book[i].volume.0);
                let given = i128::from(filled[i]) * i128::from(level_volume);
                prop_assert!((given - exact).abs() < i128::from(level_volume));
            }
            for i in 0..book.len() {
                let better = if side == Side::Buy { book[i].price > marginal } else { book[i].price < marginal };
                if book[i].side == side && better {
                    prop_assert_eq!(filled[i], book[i].volume.0);
                }
            }
        }
    }
}
