//! Property tests of settlement's invariants.

use std::collections::BTreeMap;

use domain::{Kwh, Price};
use proptest::prelude::*;
use settlement::{
    ContractTerms, METERS_HEADER, RetailDemand, YearMonth, allocate_retail, parse_meters,
    parse_meters_with, settle,
};

use crate::may;

fn contract_strategy() -> impl Strategy<Value = ContractTerms> {
    (
        0..4u8,
        0..4u8,
        0i64..5_000,
        0i64..1000,
        -50_000i64..100_000,
        prop_oneof![Just(0i64), 0i64..=300],
    )
        .prop_map(
            |(s, b, volume, carry, price, loss_permille)| ContractTerms {
                id: String::new(),
                seller: format!("S{s}"),
                buyer: format!("B{b}"),
                volume: Kwh(volume),
                energy_price: Price(price),
                env_price: Price(price / 7),
                comp_price: Price(price.abs() / 3),
                carry_in: Kwh(carry),
                // Within a province (most contracts) or losing up to 30% on corridors.
                loss: Kwh(volume * loss_permille / 1000),
            },
        )
}

/// Contracts with ids in a shuffled order, and metered energy for every participant.
fn market() -> impl Strategy<Value = (Vec<ContractTerms>, BTreeMap<String, i64>)> {
    let contracts = proptest::collection::vec(contract_strategy(), 0..12).prop_map(|mut cs| {
        for (i, c) in cs.iter_mut().enumerate() {
            c.id = format!("k{:02}", (i * 7) % 13); // ids unique, not in file order
        }
        cs
    });
    let energy = proptest::collection::vec(0i64..12_000, 8);
    (contracts, energy).prop_map(|(cs, e)| {
        let names = ["S0", "S1", "S2", "S3", "B0", "B1", "B2", "B3"];
        let metered = names
            .iter()
            .zip(e)
            .map(|(n, e)| (n.to_string(), e))
            .collect();
        (cs, metered)
    })
}

proptest! {
    #[test]
    fn settlement_keeps_every_bound((contracts, metered) in market()) {
        let result = settle(may(), &contracts, |p| Kwh(metered[p]));
        prop_assert_eq!(result.lines.len(), contracts.len());
        let by_id: BTreeMap<&str, &ContractTerms> =
            contracts.iter().map(|c| (c.id.as_str(), c)).collect();
        let ids: Vec<&str> = result.lines.iter().map(|l| l.contract.as_str()).collect();
        prop_assert_eq!(ids, by_id.keys().copied().collect::<Vec<_>>());
        let mut seller = BTreeMap::<&str, (i64, i64, i64)>::new(); // Σ C, Σ G_k, Σ D
        let mut buyer = BTreeMap::<&str, (i64, i64, i64)>::new();
        for line in &result.lines {
            let c = by_id[line.contract.as_str()];
            let d = line.delivered;
            // What the buyer receives, and what the seller's share gets to it (losses in
            // proportion to what is sent, half away from zero).
            let received = c.volume - c.loss;
            let lost = |x: Kwh| {
                if c.volume.0 == 0 {
                    0
                } else {
                    let n = 2 * i128::from(x.0) * i128::from(c.loss.0) + i128::from(c.volume.0);
                    (n / (2 * i128::from(c.volume.0))) as i64
                }
            };
            let reaches = line.generation_share - Kwh(lost(line.generation_share));
            // D is within every bound and is the least of them.
            prop_assert!(d <= received && d <= reaches && d <= line.load_share);
            prop_assert_eq!(d, received.min(reaches).min(line.load_share));
            prop_assert!(line.generation_share <= c.volume && line.load_share <= received);
            // Energy money is paid on what was sent for D: all of it when all arrived.
            prop_assert!(d <= line.energy_sent && line.energy_sent <= c.volume);
            if d == received && line.generation_share == c.volume {
                prop_assert_eq!(line.energy_sent, c.volume);
            }
            if c.loss == Kwh::ZERO {
                prop_assert_eq!(line.energy_sent, d);
            }
            // kWh conservation between D, Q_env and the carries.
            prop_assert_eq!(d.0 + c.carry_in.0, line.env_mwh * 1000 + line.carry_out.0);
            prop_assert!((0..1000).contains(&line.carry_out.0));
            prop_assert_eq!(line.shortfall, received - d);
            prop_assert_eq!(line.comp_payer.is_some(), line.shortfall.0 > 0);
            for (map, name, contracted, share, used) in [
                (&mut seller, c.seller.as_str(), c.volume, line.generation_share, line.energy_sent),
                (&mut buyer, c.buyer.as_str(), received, line.load_share, d),
            ] {
                let entry = map.entry(name).or_default();
                entry.0 += contracted.0;
                entry.1 += share.0;
                entry.2 += used.0;
            }
        }
        for map in [seller, buyer] {
            for (name, (contracted, shared, used)) in map {
                let energy = metered[name];
                // Σ G_k = min(G, Σ C_k) (Σ L_k = min(L, Σ R_k)), and no seller is paid for
                // more than it generated, no buyer credited more than it consumed.
                prop_assert_eq!(shared, energy.min(contracted), "{}", name);
                prop_assert!(used <= energy, "{}: {} above {}", name, used, energy);
            }
        }
    }

    #[test]
    fn settlement_does_not_depend_on_contract_order(
        (contracts, metered) in market(),
        seed in any::<u64>(),
    ) {
        let mut shuffled = contracts.clone();
        shuffle(&mut shuffled, seed);
        prop_assert_eq!(
            settle(may(), &contracts, |p| Kwh(metered[p])),
            settle(may(), &shuffled, |p| Kwh(metered[p]))
        );
    }

    #[test]
    fn meter_data_does_not_depend_on_row_order_or_cuts(
        readings in proptest::collection::vec((0usize..3, 0u32..200), 1..4),
        seed in any::<u64>(),
        threads in 1usize..5,
    ) {
        // February 2023: 2,688 intervals per meter; meter i reads (i-th value + interval) % 7 × v.
        let month = YearMonth::parse("2023-02").unwrap();
        let mut rows = Vec::new();
        for (m, (owner, v)) in readings.iter().enumerate() {
            for i in 0..month.intervals() {
                let kwh = (i as u32 % 7) * v;
                rows.push(format!("M{m},P{owner},{},{kwh}", month.interval_start(i)));
            }
        }
        let file = |rows: &[String]| format!("{METERS_HEADER}\n{}\n", rows.join("\n"));
        let sorted = parse_meters(file(&rows).as_bytes(), month).unwrap();
        shuffle(&mut rows, seed);
        let shuffled = file(&rows);
        prop_assert_eq!(&parse_meters_with(shuffled.as_bytes(), month, threads).unwrap(), &sorted);
        let total: i64 = sorted.participants().iter().map(|p| p.total().0).sum();
        let expected: i64 = readings
            .iter()
            .map(|(_, v)| (0..month.intervals()).map(|i| i64::from((i as u32 % 7) * v)).sum::<i64>())
            .sum();
        prop_assert_eq!(total, expected);
    }

    #[test]
    fn retail_serves_higher_prices_first(
        demands in proptest::collection::vec((0i64..50, 0i64..4), 0..8),
        wholesale in 0i64..200,
    ) {
        let users: Vec<RetailDemand> = demands
            .iter()
            .enumerate()
            .map(|(i, &(demand_mwh, level))| RetailDemand {
                user: format!("u{i}"),
                demand_mwh,
                agreed_env_price: Price(level * 1_000),
            })
            .collect();
        let given = allocate_retail(wholesale, &users);
        let total: i64 = given.iter().map(|(_, m)| m).sum();
        let demanded: i64 = users.iter().map(|u| u.demand_mwh).sum();
        prop_assert_eq!(total, wholesale.min(demanded));
        for (u, (name, got)) in users.iter().zip(&given) {
            prop_assert_eq!(name, &u.user);
            prop_assert!(0 <= *got && *got <= u.demand_mwh);
            if *got < u.demand_mwh {
                // Someone short: nobody at a lower price gets anything.
                for (v, (_, other)) in users.iter().zip(&given) {
                    if v.agreed_env_price < u.agreed_env_price {
                        prop_assert_eq!(*other, 0);
                    }
                }
            }
        }
    }
}

/// A deterministic Fisher–Yates shuffle (SplitMix64).
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    let mut next = || {
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for i in (1..items.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}
