//! Coupled clearing benchmark (省间): 31 provinces × 96 periods, 60 corridors, 20 orders per
//! province and period (59,520 orders).
//!
//! Run with `cargo bench -p exchange --bench coupling`.

use divan::counter::ItemsCount;
use domain::{Kwh, Price, Side};
use exchange::coupling::{Corridor, CoupledOrder, clear};

const PROVINCES: u32 = 31;
const PERIODS: u32 = 96;
const CORRIDORS: usize = 60;
const ORDERS_PER_PROVINCE_PERIOD: u32 = 20;

fn main() {
    divan::main();
}

/// A deterministic network: each province has its own price level (west cheap, east dear),
/// corridors join pseudo-random pairs with capacities of 0–200 MWh.
fn network() -> (Vec<CoupledOrder>, Vec<Corridor>) {
    let mut state: u64 = 0x5eed_c0de;
    let mut next = move || {
        // splitmix64
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut orders = Vec::new();
    for period in 0..PERIODS {
        for province in 0..PROVINCES {
            let level = 25_000 + i64::from(province) * 1_000;
            for _ in 0..ORDERS_PER_PROVINCE_PERIOD {
                let buy = next() % 2 == 0;
                let offset = (next() % 10_000) as i64;
                orders.push(CoupledOrder {
                    period,
                    province,
                    side: if buy { Side::Buy } else { Side::Sell },
                    volume: Kwh(1_000 + (next() % 50_000) as i64),
                    price: Price(if buy {
                        level - 5_000 + offset
                    } else {
                        level + 5_000 - offset
                    }),
                });
            }
        }
    }
    let corridors = (0..CORRIDORS)
        .map(|_| {
            let from = (next() % u64::from(PROVINCES)) as u32;
            let to = (from + 1 + (next() % u64::from(PROVINCES - 1)) as u32) % PROVINCES;
            Corridor {
                from,
                to,
                capacity: (0..PERIODS)
                    .map(|_| Kwh((next() % 200_001) as i64))
                    .collect(),
                loss: (next() % 600) as i64,
                tariff: Price((next() % 6_000) as i64),
            }
        })
        .collect();
    (orders, corridors)
}

#[divan::bench(sample_count = 10)]
fn coupled(bencher: divan::Bencher) {
    let (orders, corridors) = network();
    bencher.counter(ItemsCount::new(orders.len())).bench(|| {
        clear(
            divan::black_box(&orders),
            PROVINCES as usize,
            &corridors,
            PERIODS as usize,
        )
        .unwrap()
    });
}
