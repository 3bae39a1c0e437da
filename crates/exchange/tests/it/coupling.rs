//! Inter-provincial coupling (省间) cases written out by hand, and its invariants as property
//! tests against a brute-force optimum on tiny networks.

use domain::{Fen, Kwh, Price, Side};
use exchange::auction::{self, AuctionOrder, Fill, Method};
use exchange::coupling::{Corridor, CoupledOrder, CoupledPeriod, LOSS_DENOMINATOR, clear};
use proptest::prelude::*;

use Side::{Buy as B, Sell as S};

/// An order written as in a file: province index, side, MWh, yuan/MWh (all in period 0).
type O = (u32, Side, &'static str, &'static str);

fn orders(list: &[O]) -> Vec<CoupledOrder> {
    list.iter()
        .map(|&(province, side, mwh, price)| CoupledOrder {
            period: 0,
            province,
            side,
            volume: kwh(mwh),
            price: p(price),
        })
        .collect()
}

fn p(yuan: &str) -> Price {
    Price::parse_yuan_per_mwh(yuan).unwrap()
}

fn kwh(mwh: &str) -> Kwh {
    Kwh::parse_mwh(mwh).unwrap()
}

/// A corridor of one period: from, to, capacity MWh, loss in 1/10000, tariff yuan/MWh.
fn corridor(from: u32, to: u32, capacity: &str, loss: i64, tariff: &str) -> Corridor {
    Corridor {
        from,
        to,
        capacity: vec![kwh(capacity)],
        loss,
        tariff: p(tariff),
    }
}

fn clear_one(list: &[O], provinces: usize, corridors: &[Corridor]) -> CoupledPeriod {
    let mut result = clear(&orders(list), provinces, corridors, 1).unwrap();
    assert_eq!(result.len(), 1);
    result.pop().unwrap()
}

/// Checks prices, (bought, sold) per province, (sent, delivered) per corridor and fills.
fn check(
    result: &CoupledPeriod,
    provinces: &[(Option<&str>, &str, &str)],
    flows: &[(&str, &str)],
    fills: &[(usize, &str, &str)],
) {
    let got: Vec<_> = result
        .provinces
        .iter()
        .map(|r| (r.price, r.bought, r.sold))
        .collect();
    let want: Vec<_> = provinces
        .iter()
        .map(|&(price, bought, sold)| (price.map(p), kwh(bought), kwh(sold)))
        .collect();
    assert_eq!(got, want, "provinces (price, bought, sold)");
    let got: Vec<_> = result.flows.iter().map(|f| (f.sent, f.delivered)).collect();
    let want: Vec<_> = flows.iter().map(|&(s, d)| (kwh(s), kwh(d))).collect();
    assert_eq!(got, want, "flows (sent, delivered)");
    let want: Vec<Fill> = fills
        .iter()
        .map(|&(order, mwh, price)| Fill {
            order,
            volume: kwh(mwh),
            price: p(price),
        })
        .collect();
    assert_eq!(result.fills, want, "fills");
    let bought: i64 = result.provinces.iter().map(|r| r.bought.0).sum();
    assert_eq!(result.volume, Kwh(bought), "volume is the total bought");
}

#[test]
fn uncongested_corridor_links_the_prices_through_tariff_and_losses() {
    // QH (0) sells 100 MWh at 200; ZJ (1) buys 50 MWh at 500. Corridor QH→ZJ: 100 MWh, loss 5%,
    // tariff 50. Delivering 50 MWh takes 50 / 0.95 = 52.6316 MWh sent: the LP's 52,631.58 kWh
    // rounds to 52,632; lost = round(2,631.6) = 2,632; delivered = 50,000 exactly.
    // Targets: QH 200 (only a sell fills), ZJ 500 (only a buy fills). The corridor is below
    // capacity and carries energy, so 0.95 p_ZJ = p_QH + 50. Distance |p_QH − 200| + |p_ZJ − 500|
    // = 250 − 0.05 p_ZJ on the line, least at p_ZJ = 500 (its (b) bound), p_QH = 425.
    let result = clear_one(
        &[(0, S, "100.000", "200.00"), (1, B, "50.000", "500.00")],
        2,
        &[corridor(0, 1, "100.000", 500, "50.00")],
    );
    check(
        &result,
        &[
            (Some("425.00"), "0.000", "52.632"),
            (Some("500.00"), "50.000", "0.000"),
        ],
        &[("52.632", "50.000")],
        &[(0, "52.632", "425.00"), (1, "50.000", "500.00")],
    );
    // Rent: 50 × 500 − 52.632 × 425 − 52.632 × 50 = 25,000 − 22,368.60 − 2,631.60 = −0.20
    // yuan: zero but for the 0.6 kWh the rounding of the sent energy lost.
    assert_eq!(result.flows[0].congestion_rent, Some(Fen(-20)));
}

#[test]
fn congested_corridor_splits_the_prices_and_earns_rent() {
    // As above plus a ZJ sell of 10 MWh at 450, and only 20 MWh of capacity. Sent 20 MWh, lost
    // 1 MWh, delivered 19. ZJ: buys 50 at 500 against the import (19) and its own sell (10) →
    // bought 29, sold 10, P = midpoint(500, 450) = 475. QH sells 20 at 200, P = 200. At capacity
    // only p_ZJ × 0.95 ≥ p_QH + 50 applies: 451.25 ≥ 250 holds, so the targets stand.
    let result = clear_one(
        &[
            (0, S, "100.000", "200.00"),
            (1, B, "50.000", "500.00"),
            (1, S, "10.000", "450.00"),
        ],
        2,
        &[corridor(0, 1, "20.000", 500, "50.00")],
    );
    check(
        &result,
        &[
            (Some("200.00"), "0.000", "20.000"),
            (Some("475.00"), "29.000", "10.000"),
        ],
        &[("20.000", "19.000")],
        &[
            (0, "20.000", "200.00"),
            (1, "29.000", "475.00"),
            (2, "10.000", "475.00"),
        ],
    );
    // Rent: 19 × 475 − 20 × 200 − 20 × 50 = 9,025 − 4,000 − 1,000 = 4,025 yuan.
    assert_eq!(result.flows[0].congestion_rent, Some(Fen(402_500)));
}

#[test]
fn three_province_chain() {
    // A (0) sells 100 at 100 and buys 10 at 150; B (1) buys 30 at 400; C (2) buys 100 at 600.
    // A→B: 100 MWh, no loss, tariff 10; B→C: 40 MWh, no loss, tariff 10.
    // Energy from A costs 110 in B and 120 in C: C takes the 40 B→C allows (congested), B its 30,
    // A's buyer its 10, so A sells 80 and A→B carries 70 (below capacity).
    // Targets: A midpoint(150, 100) = 125 within [100, 150]; B 400 (≤ 400); C 600 (≤ 600).
    // A→B links p_B = p_A + 10; B→C needs p_C ≥ p_B + 10. p_C = 600; the distance
    // |p_A − 125| + |p_A + 10 − 400| is 265 for every p_A in [125, 150]; ties go to the lowest
    // prices: p_A = 125, p_B = 135.
    let result = clear_one(
        &[
            (0, S, "100.000", "100.00"),
            (0, B, "10.000", "150.00"),
            (1, B, "30.000", "400.00"),
            (2, B, "100.000", "600.00"),
        ],
        3,
        &[
            corridor(0, 1, "100.000", 0, "10.00"),
            corridor(1, 2, "40.000", 0, "10.00"),
        ],
    );
    check(
        &result,
        &[
            (Some("125.00"), "10.000", "80.000"),
            (Some("135.00"), "30.000", "0.000"),
            (Some("600.00"), "40.000", "0.000"),
        ],
        &[("70.000", "70.000"), ("40.000", "40.000")],
        &[
            (0, "80.000", "125.00"),
            (1, "10.000", "125.00"),
            (2, "30.000", "135.00"),
            (3, "40.000", "600.00"),
        ],
    );
    // A→B: 70 × (135 − 125 − 10) = 0. B→C: 40 × (600 − 135 − 10) = 18,200 yuan.
    assert_eq!(result.flows[0].congestion_rent, Some(Fen(0)));
    assert_eq!(result.flows[1].congestion_rent, Some(Fen(1_820_000)));
}

#[test]
fn ties_in_a_province_share_pro_rata() {
    // ZJ (1) imports 10 MWh (lossless, free, from QH's 10 MWh at 100) and has three buys at 500
    // of 10, 10 and 5 MWh: 10 × (10, 10, 5) / 25 = 4, 4, 2 MWh.
    let result = clear_one(
        &[
            (0, S, "10.000", "100.00"),
            (1, B, "10.000", "500.00"),
            (1, B, "10.000", "500.00"),
            (1, B, "5.000", "500.00"),
        ],
        2,
        &[corridor(0, 1, "50.000", 0, "0.00")],
    );
    assert_eq!(result.flows[0].sent, kwh("10.000"));
    let volumes: Vec<_> = result.fills.iter().map(|f| (f.order, f.volume)).collect();
    assert_eq!(
        volumes,
        [
            (0, kwh("10.000")),
            (1, kwh("4.000")),
            (2, kwh("4.000")),
            (3, kwh("2.000"))
        ]
    );
}

/// The §3.3 uniform auction of one province's orders, with fills renumbered to `list`.
fn separate(list: &[CoupledOrder], province: u32) -> (Option<Price>, Vec<Fill>) {
    let indices: Vec<usize> = (0..list.len())
        .filter(|&i| list[i].province == province)
        .collect();
    let book: Vec<AuctionOrder> = indices
        .iter()
        .map(|&i| AuctionOrder {
            period: list[i].period,
            side: list[i].side,
            volume: list[i].volume,
            price: list[i].price,
        })
        .collect();
    let result = auction::clear(&book, 1, Method::Uniform).remove(0);
    let fills = result
        .fills
        .iter()
        .map(|f| Fill {
            order: indices[f.order],
            ..*f
        })
        .collect();
    (result.price, fills)
}

#[test]
fn zero_capacity_corridor_equals_separate_auctions() {
    let list = orders(&[
        (0, S, "10.000", "200.00"),
        (0, B, "4.000", "250.00"),
        (0, B, "3.000", "250.00"),
        (1, B, "8.000", "500.00"),
        (1, S, "5.000", "480.00"),
        (1, S, "5.000", "480.00"),
    ]);
    let result = clear(&list, 2, &[corridor(0, 1, "0.000", 350, "30.00")], 1)
        .unwrap()
        .remove(0);
    let mut fills = Vec::new();
    for province in 0..2 {
        let (price, province_fills) = separate(&list, province);
        assert_eq!(result.provinces[province as usize].price, price);
        fills.extend(province_fills);
    }
    fills.sort_by_key(|f| f.order);
    assert_eq!(result.fills, fills);
    // By hand: province 0 trades 7 at midpoint(250, 200) = 225; province 1 trades 8 at 490, the
    // two sells at 480 sharing 4 each.
    assert_eq!(result.provinces[0].price, Some(p("225.00")));
    assert_eq!(result.provinces[1].price, Some(p("490.00")));
    assert_eq!(result.fills[4].volume, kwh("4.000"));
    assert_eq!(result.flows[0].sent, Kwh::ZERO);
}

// ---- Property tests -------------------------------------------------------------------------

/// A tiny random network: up to 3 provinces, up to 2 corridors, volumes of a few kWh.
#[derive(Debug, Clone)]
struct Network {
    provinces: usize,
    orders: Vec<CoupledOrder>,
    corridors: Vec<Corridor>,
}

fn network() -> impl Strategy<Value = Network> {
    (2usize..=3).prop_flat_map(|provinces| {
        let order = (0..provinces as u32, any::<bool>(), 1i64..=12, 1i64..=20).prop_map(
            |(province, buy, volume, price)| CoupledOrder {
                period: 0,
                province,
                side: if buy { Side::Buy } else { Side::Sell },
                volume: Kwh(volume),
                // Whole 10 yuan steps, so that ties at a price happen often.
                price: Price(price * 1_000),
            },
        );
        let corridor = (
            0..provinces as u32,
            1..provinces as u32,
            0i64..=15,
            prop_oneof![Just(0i64), 0i64..=3_000],
            0i64..=5_000,
        )
            .prop_map(move |(from, step, capacity, loss, tariff)| Corridor {
                from,
                to: (from + step) % provinces as u32,
                capacity: vec![Kwh(capacity)],
                loss,
                tariff: Price(tariff),
            });
        (
            proptest::collection::vec(order, 0..10),
            proptest::collection::vec(corridor, 0..=2),
        )
            .prop_map(move |(orders, corridors)| Network {
                provinces,
                orders,
                corridors,
            })
    })
}

/// Welfare in fen/MWh × kWh: buyers' value − sellers' cost − tariffs.
fn welfare(net: &Network, result: &CoupledPeriod) -> i128 {
    let trade: i128 = result
        .fills
        .iter()
        .map(|f| {
            let o = &net.orders[f.order];
            let sign = if o.side == Side::Buy { 1 } else { -1 };
            sign * i128::from(o.price.0) * i128::from(f.volume.0)
        })
        .sum();
    let tariffs: i128 = net
        .corridors
        .iter()
        .zip(&result.flows)
        .map(|(c, f)| i128::from(c.tariff.0) * i128::from(f.sent.0))
        .sum();
    trade - tariffs
}

/// A second formulation: a province's best welfare for a given net import, kWh by kWh. Imports
/// serve the dearest buyers' kWh, exports take the cheapest sellers' kWh, then the rest trades
/// while a buyer's kWh is worth at least a seller's. `None` if the book cannot take the import.
fn province_welfare(net: &Network, province: u32, import: i64) -> Option<i128> {
    let mut buys: Vec<i64> = Vec::new();
    let mut sells: Vec<i64> = Vec::new();
    for o in net.orders.iter().filter(|o| o.province == province) {
        let units = std::iter::repeat_n(o.price.0, o.volume.0 as usize);
        match o.side {
            Side::Buy => buys.extend(units),
            Side::Sell => sells.extend(units),
        }
    }
    buys.sort_unstable_by(|a, b| b.cmp(a));
    sells.sort_unstable();
    let (mut b, mut s) = (0usize, 0usize);
    let mut total: i128 = 0;
    if import >= 0 {
        if buys.len() < import as usize {
            return None;
        }
        total += buys[..import as usize]
            .iter()
            .map(|&x| i128::from(x))
            .sum::<i128>();
        b = import as usize;
    } else {
        if sells.len() < (-import) as usize {
            return None;
        }
        total -= sells[..(-import) as usize]
            .iter()
            .map(|&x| i128::from(x))
            .sum::<i128>();
        s = (-import) as usize;
    }
    while b < buys.len() && s < sells.len() && buys[b] >= sells[s] {
        total += i128::from(buys[b] - sells[s]);
        b += 1;
        s += 1;
    }
    Some(total)
}

/// The best welfare over every integer choice of sent energy.
fn brute_force(net: &Network) -> i128 {
    let caps: Vec<i64> = net.corridors.iter().map(|c| c.capacity[0].0).collect();
    let mut sent = vec![0i64; caps.len()];
    let mut best = i128::MIN;
    loop {
        let mut import = vec![0i64; net.provinces];
        let mut value: i128 = 0;
        for (c, &s) in net.corridors.iter().zip(&sent) {
            import[c.from as usize] -= s;
            import[c.to as usize] += c.delivered(Kwh(s)).0;
            value -= i128::from(c.tariff.0) * i128::from(s);
        }
        let provinces: Option<i128> = (0..net.provinces)
            .map(|p| province_welfare(net, p as u32, import[p]))
            .sum();
        if let Some(v) = provinces {
            best = best.max(value + v);
        }
        // Next combination, like an odometer.
        let mut i = 0;
        while i < sent.len() && sent[i] == caps[i] {
            sent[i] = 0;
            i += 1;
        }
        if i == sent.len() {
            return best;
        }
        sent[i] += 1;
    }
}

/// Balance, limits, (b) and (c) of one period's result.
fn check_invariants(net: &Network, result: &CoupledPeriod) -> Result<(), TestCaseError> {
    let mut import = vec![0i64; net.provinces];
    for (c, f) in net.corridors.iter().zip(&result.flows) {
        // No corridor over its limit; losses as the spec rounds them.
        prop_assert!(f.sent.0 >= 0 && f.sent <= c.capacity[0]);
        prop_assert_eq!(f.delivered, f.sent - c.lost(f.sent));
        import[c.from as usize] -= f.sent.0;
        import[c.to as usize] += f.delivered.0;
    }
    let mut bought = vec![0i64; net.provinces];
    let mut sold = vec![0i64; net.provinces];
    let mut last = None;
    for fill in &result.fills {
        prop_assert!(last < Some(fill.order), "one fill per order, in order");
        last = Some(fill.order);
        let o = &net.orders[fill.order];
        let province = &result.provinces[o.province as usize];
        // Fills within limits: volume, and (b) the province's price supports the fill.
        prop_assert!(fill.volume.0 > 0 && fill.volume <= o.volume);
        prop_assert_eq!(Some(fill.price), province.price);
        match o.side {
            Side::Buy => {
                prop_assert!(o.price >= fill.price);
                bought[o.province as usize] += fill.volume.0;
            }
            Side::Sell => {
                prop_assert!(o.price <= fill.price);
                sold[o.province as usize] += fill.volume.0;
            }
        }
    }
    for p in 0..net.provinces {
        // Balance, exactly: bought = sold + delivered in − sent out.
        prop_assert_eq!(result.provinces[p].bought.0, bought[p]);
        prop_assert_eq!(result.provinces[p].sold.0, sold[p]);
        prop_assert_eq!(bought[p], sold[p] + import[p], "balance of province {}", p);
    }
    // (c) along every corridor with capacity, to the fen.
    for (c, f) in net.corridors.iter().zip(&result.flows) {
        let (Some(from), Some(to)) = (
            result.provinces[c.from as usize].price,
            result.provinces[c.to as usize].price,
        ) else {
            continue;
        };
        let lhs = i128::from(to.0) * i128::from(LOSS_DENOMINATOR - c.loss);
        let rhs =
            |slack: i64| i128::from(from.0 + c.tariff.0 + slack) * i128::from(LOSS_DENOMINATOR);
        if f.sent.0 > 0 {
            prop_assert!(
                lhs >= rhs(-1),
                "(c) ≥ on a corridor carrying energy: {:?}",
                result
            );
        }
        if f.sent < c.capacity[0] {
            prop_assert!(
                lhs <= rhs(1),
                "(c) ≤ on a corridor below capacity: {:?}",
                result
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn coupled_clearing_invariants(net in network()) {
        let result = clear(&net.orders, net.provinces, &net.corridors, 1).unwrap().remove(0);
        check_invariants(&net, &result)?;
        // Welfare not below the brute-force optimum, up to the kWh rounding: a kWh of flow is
        // worth at most the widest price span (200 yuan) plus a tariff (50 yuan) per MWh.
        let tolerance = (2 * net.corridors.len() as i128 + 1) * 25_000;
        prop_assert!(
            welfare(&net, &result) + tolerance >= brute_force(&net),
            "welfare {} below brute force {}", welfare(&net, &result), brute_force(&net)
        );
    }

    #[test]
    fn without_capacity_every_province_clears_alone(mut net in network()) {
        for c in &mut net.corridors {
            c.capacity = vec![Kwh::ZERO];
        }
        let result = clear(&net.orders, net.provinces, &net.corridors, 1).unwrap().remove(0);
        let mut fills = Vec::new();
        for p in 0..net.provinces as u32 {
            let (price, province_fills) = separate(&net.orders, p);
            prop_assert_eq!(result.provinces[p as usize].price, price);
            fills.extend(province_fills);
        }
        fills.sort_by_key(|f| f.order);
        prop_assert_eq!(&result.fills, &fills);
    }
}

/// A larger random network, too big for brute force: up to 6 provinces and 8 corridors, volumes
/// up to 100 MWh, prices and tariffs to the fen, losses to 1/10000.
fn larger_network() -> impl Strategy<Value = Network> {
    (2usize..=6).prop_flat_map(|provinces| {
        let order = (
            0..provinces as u32,
            any::<bool>(),
            1i64..=100_000,
            20_000i64..=60_000,
        )
            .prop_map(|(province, buy, volume, price)| CoupledOrder {
                period: 0,
                province,
                side: if buy { Side::Buy } else { Side::Sell },
                volume: Kwh(volume),
                price: Price(price),
            });
        let corridor = (
            0..provinces as u32,
            1..provinces as u32,
            prop_oneof![Just(0i64), 0i64..=200_000],
            0i64..=1_000,
            0i64..=10_000,
        )
            .prop_map(move |(from, step, capacity, loss, tariff)| Corridor {
                from,
                to: (from + step) % provinces as u32,
                capacity: vec![Kwh(capacity)],
                loss,
                tariff: Price(tariff),
            });
        (
            proptest::collection::vec(order, 0..40),
            proptest::collection::vec(corridor, 0..=8),
        )
            .prop_map(move |(orders, corridors)| Network {
                provinces,
                orders,
                corridors,
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn larger_networks_keep_the_invariants(net in larger_network()) {
        let result = clear(&net.orders, net.provinces, &net.corridors, 1).unwrap().remove(0);
        check_invariants(&net, &result)?;
    }
}

/// Regression (found by `larger_networks_keep_the_invariants`): rounding the LP's flows imported
/// one kWh more into province 0, whose exact clearing then filled a 1 kWh buy at 503.18 that the
/// LP had left out; (b) then capped the price below what corridor 0's (c) needed. Rounding now
/// may only use the price levels the LP traded, and cuts a kWh of flow instead.
#[test]
fn rounding_never_fills_an_order_the_lp_left_out() {
    let o = |province, side, volume, price| CoupledOrder {
        period: 0,
        province,
        side,
        volume: Kwh(volume),
        price: Price(price),
    };
    let c = |capacity, loss, tariff| Corridor {
        from: 1,
        to: 0,
        capacity: vec![Kwh(capacity)],
        loss,
        tariff: Price(tariff),
    };
    let net = Network {
        provinces: 2,
        orders: vec![
            o(0, B, 29_606, 51_982),
            o(0, B, 84_332, 51_982),
            o(0, B, 1, 50_318),
            o(1, S, 1, 20_000),
            o(0, S, 27_825, 20_000),
            o(1, S, 6_504, 39_287),
            o(0, B, 46_113, 50_320),
            o(0, B, 63_168, 50_320),
            o(0, S, 14_493, 20_000),
            o(1, S, 54_926, 20_000),
            o(1, S, 55_169, 20_000),
            o(0, S, 13_519, 20_000),
            o(1, S, 53_460, 20_000),
        ],
        corridors: vec![c(9_356, 567, 8_179), c(125_531, 154, 0), c(35_105, 18, 0)],
    };
    let result = clear(&net.orders, net.provinces, &net.corridors, 1)
        .unwrap()
        .remove(0);
    check_invariants(&net, &result).unwrap();
    assert!(result.fills.iter().all(|f| f.order != 2), "{result:?}");
}
