//! Call auction benchmark: 10^5 and 10^6 sealed orders over 24 hourly periods.
//!
//! Run with `cargo bench -p exchange --bench auction`.

use divan::counter::ItemsCount;
use domain::{Kwh, Price, Side};
use exchange::auction::{AuctionOrder, Method, clear};

fn main() {
    divan::main();
}

/// A deterministic book: prices around 400 yuan/MWh in 0.01 steps, volumes 0.001–10 MWh.
fn book(orders: usize) -> Vec<AuctionOrder> {
    let mut state: u64 = 0x5eed_1e55;
    let mut next = move || {
        // splitmix64
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    (0..orders)
        .map(|_| {
            let buy = next() % 2 == 0;
            let offset = (next() % 10_000) as i64; // up to 100 yuan/MWh
            AuctionOrder {
                period: (next() % 24) as u32,
                side: if buy { Side::Buy } else { Side::Sell },
                volume: Kwh(1 + (next() % 10_000) as i64),
                price: Price(if buy {
                    35_000 + offset
                } else {
                    45_000 - offset
                }),
            }
        })
        .collect()
}

#[divan::bench(args = [100_000, 1_000_000], sample_count = 20)]
fn uniform(bencher: divan::Bencher, orders: usize) {
    let book = book(orders);
    bencher
        .counter(ItemsCount::new(orders))
        .bench(|| clear(divan::black_box(&book), 24, Method::Uniform));
}

#[divan::bench(args = [100_000, 1_000_000], sample_count = 20)]
fn high_low(bencher: divan::Bencher, orders: usize) {
    let book = book(orders);
    bencher
        .counter(ItemsCount::new(orders))
        .bench(|| clear(divan::black_box(&book), 24, Method::HighLow));
}
