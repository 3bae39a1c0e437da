//! Settlement benchmarks on a synthetic Zhejiang month (see `synth`): validating meter data
//! (1/10 of the month in memory: 1,600 users + 200 projects, ~5.4 million rows, ~185 MB, on 1
//! and 2 threads), and settling the full month's 20,000 contracts. The end-to-end figure
//! (`lvdian settle` on the full ~54-million-row files) is `bench/peers/run_settle.sh`.
//!
//! Run with `cargo bench -p settlement --bench settle`.

mod synth;

use std::sync::LazyLock;

use divan::counter::{BytesCount, ItemsCount};
use settlement::{YearMonth, parse_contracts, parse_meters_with, settle};

fn main() {
    divan::main();
}

fn may() -> YearMonth {
    YearMonth::parse("2023-05").unwrap()
}

static TENTH: LazyLock<Vec<u8>> = LazyLock::new(|| synth::meters_csv(&synth::Scale::fraction(10)));

static TENTH_BY_TIME: LazyLock<Vec<u8>> = LazyLock::new(|| {
    synth::meters_csv(&synth::Scale {
        time_major: true,
        ..synth::Scale::fraction(10)
    })
});

static CONTRACTS: LazyLock<Vec<u8>> =
    LazyLock::new(|| synth::contracts_csv(&synth::Scale::zhejiang()));

#[divan::bench(args = [1, 2], sample_count = 10)]
fn parse_meters_by_meter(bencher: divan::Bencher, threads: usize) {
    let bytes = &*TENTH;
    bencher
        .counter(ItemsCount::new(synth::Scale::fraction(10).rows()))
        .counter(BytesCount::of_slice(bytes))
        .bench(|| parse_meters_with(divan::black_box(bytes), may(), threads).unwrap());
}

#[divan::bench(args = [1, 2], sample_count = 10)]
fn parse_meters_by_time(bencher: divan::Bencher, threads: usize) {
    let bytes = &*TENTH_BY_TIME;
    bencher
        .counter(ItemsCount::new(synth::Scale::fraction(10).rows()))
        .bench(|| parse_meters_with(divan::black_box(bytes), may(), threads).unwrap());
}

#[divan::bench(sample_count = 20)]
fn parse_contracts_zhejiang(bencher: divan::Bencher) {
    let bytes = &*CONTRACTS;
    bencher
        .counter(ItemsCount::new(synth::Scale::zhejiang().contracts))
        .bench(|| parse_contracts(divan::black_box(bytes)).unwrap());
}

/// §5 on 20,000 contracts against the metered totals of the full month's participants (the
/// totals are computed once, from the generator's 1/1 month, by parsing it in pieces).
#[divan::bench(sample_count = 20)]
fn settle_zhejiang(bencher: divan::Bencher) {
    let contracts = parse_contracts(&CONTRACTS).unwrap();
    let scale = synth::Scale::zhejiang();
    let mut parser = settlement::MeterParser::new(may());
    let mut sink = Sink(&mut parser);
    synth::write_meters(&scale, &mut sink).unwrap();
    let data = parser.finish().unwrap();
    bencher.counter(ItemsCount::new(contracts.len())).bench(|| {
        settle(may(), divan::black_box(&contracts), |p| {
            data.participant_total(p)
        })
    });
}

/// Streams the generator's output straight into a parser, so the full month never sits in memory
/// as text.
struct Sink<'a>(&'a mut settlement::MeterParser);

impl std::io::Write for Sink<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.push(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
