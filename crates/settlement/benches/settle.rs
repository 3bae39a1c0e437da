//! Settlement benchmarks on a synthetic Zhejiang month (see `synth`): validating meter data
//! (1/10 of the month in memory: 1,600 users + 200 projects, ~5.4 million rows, ~185 MB, on 1
//! and 2 threads), the same as day rows (96点) for 1,000 meters, writing those day rows, and
//! settling the full month's 20,000 contracts. The end-to-end figure
//! (`lvdian settle` on the full ~54-million-row files) is `bench/peers/run_settle.sh`.
//!
//! Run with `cargo bench -p settlement --bench settle`.

mod synth;

use std::sync::LazyLock;

use divan::counter::{BytesCount, ItemsCount};
use settlement::{
    DAY_ROWS_HEADER, MeterData, YearMonth, parse_contracts, parse_meters, parse_meters_with,
    settle, write_day_rows,
};

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

/// 1,000 meters (900 users, 100 projects) of the synthetic month, 31 days: its data and the
/// same as a file of day rows.
static THOUSAND: LazyLock<(MeterData, Vec<u8>)> = LazyLock::new(|| {
    let scale = synth::Scale {
        users: 900,
        projects: 100,
        sellers: 25,
        contracts: 1000,
        ..synth::Scale::zhejiang()
    };
    let data = parse_meters(&synth::meters_csv(&scale), may()).unwrap();
    let bytes = day_rows(&data);
    (data, bytes)
});

fn day_rows(data: &MeterData) -> Vec<u8> {
    let mut out = format!("{DAY_ROWS_HEADER}\n").into_bytes();
    for meter in data.meters() {
        let participant = data.participants()[meter.participant()].name();
        write_day_rows(
            &mut out,
            meter.name(),
            participant,
            may(),
            meter.intervals(),
        );
    }
    out
}

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

/// Day rows of 1,000 meters × 31 days (31,000 rows, 2,976,000 readings).
#[divan::bench(args = [1, 2], sample_count = 20)]
fn parse_day_rows(bencher: divan::Bencher, threads: usize) {
    let (data, bytes) = &*THOUSAND;
    bencher
        .counter(ItemsCount::new(data.meters().len() * may().intervals()))
        .counter(BytesCount::of_slice(bytes))
        .bench(|| parse_meters_with(divan::black_box(bytes), may(), threads).unwrap());
}

/// The file of `parse_day_rows`, written from its data.
#[divan::bench(sample_count = 20)]
fn write_day_rows_1000(bencher: divan::Bencher) {
    let (data, bytes) = &*THOUSAND;
    bencher
        .counter(BytesCount::of_slice(bytes))
        .bench(|| day_rows(divan::black_box(data)));
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
